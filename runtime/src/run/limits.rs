//! Stop conditions and budgets of a run, checked by the loop after each
//! round (the tool-call budget also before each call starts).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use crate::approval::{Approval, Decision};
use crate::call::{CallResult, Outcome, ToolCall};
use crate::message::Usage;

/// The stop conditions and budgets set on an agent.
#[derive(Debug, Clone, Default)]
pub(crate) struct Limits {
    /// Tools whose successful result ends the run as its answer.
    pub(crate) stop_after: Vec<String>,
    /// Most total tokens in one run.
    pub(crate) max_tokens: Option<u64>,
    /// Most tool calls started in one run.
    pub(crate) max_tool_calls: Option<usize>,
    /// Most invalid calls (unknown tool, invalid arguments) of one tool.
    pub(crate) max_invalid_per_tool: Option<usize>,
    /// Most invalid calls in one run.
    pub(crate) max_invalid: Option<usize>,
}

/// Why a budget stopped a run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Spent {
    Tokens { limit: u64, used: u64 },
    ToolCalls { limit: usize },
    InvalidCalls { tool: Option<String>, limit: usize },
}

/// What one run has spent of its budgets.
#[derive(Debug, Default)]
pub(crate) struct Budget {
    tool_calls: AtomicUsize,
    over: AtomicBool,
    invalid: HashMap<crate::SharedStr, usize>,
    invalid_total: usize,
}

/// The answer a stop-after tool gives, when one of the batch's calls is one
/// and succeeded: its result's text.
pub(crate) fn stop_answer(limits: &Limits, results: &[CallResult]) -> Option<String> {
    if limits.stop_after.is_empty() {
        return None;
    }
    results
        .iter()
        .find(|r| r.outcome == Outcome::Ok && limits.stop_after.iter().any(|name| *name == r.name))
        .map(|r| r.content.clone())
}

impl Budget {
    /// Whether one more call may start; counts it when it may.
    fn take_call(&self, limits: &Limits) -> bool {
        let Some(limit) = limits.max_tool_calls else {
            return true;
        };
        // Calls are decided one at a time, in call order.
        let used = self.tool_calls.load(Ordering::Relaxed);
        if used >= limit {
            self.over.store(true, Ordering::Relaxed);
            return false;
        }
        self.tool_calls.store(used + 1, Ordering::Relaxed);
        true
    }

    /// After a round: the budget it overspent, if any.
    pub(crate) fn check(
        &mut self,
        limits: &Limits,
        usage: Usage,
        results: &[CallResult],
    ) -> Option<Spent> {
        for result in results {
            if matches!(
                result.outcome,
                Outcome::InvalidArguments | Outcome::UnknownTool
            ) {
                self.invalid_total += 1;
                let count = self.invalid.entry(result.name.clone()).or_default();
                *count += 1;
                if let Some(limit) = limits.max_invalid_per_tool
                    && *count > limit
                {
                    return Some(Spent::InvalidCalls {
                        tool: Some(result.name.to_string()),
                        limit,
                    });
                }
            }
        }
        if let Some(limit) = limits.max_invalid
            && self.invalid_total > limit
        {
            return Some(Spent::InvalidCalls { tool: None, limit });
        }
        if self.over.swap(false, Ordering::Relaxed)
            && let Some(limit) = limits.max_tool_calls
        {
            return Some(Spent::ToolCalls { limit });
        }
        if let Some(limit) = limits.max_tokens
            && u64::from(usage.total_tokens) > limit
        {
            return Some(Spent::Tokens {
                limit,
                used: u64::from(usage.total_tokens),
            });
        }
        None
    }
}

/// The approval a run's calls go through: the agent's policy, then the
/// tool-call budget, so a call over budget never starts.
pub(crate) struct Gate<'a> {
    pub(crate) policy: Option<&'a dyn Approval>,
    pub(crate) limits: &'a Limits,
    pub(crate) budget: &'a Budget,
}

impl Approval for Gate<'_> {
    fn decide(&self, call: &ToolCall) -> Decision {
        let decision = match self.policy {
            Some(policy) => policy.decide(call),
            None => Decision::Approve,
        };
        match decision {
            Decision::Approve | Decision::Rewrite(_) if !self.budget.take_call(self.limits) => {
                Decision::Deny(format!(
                    "the run's budget of {} tool calls is spent",
                    self.limits.max_tool_calls.unwrap_or_default()
                ))
            }
            other => other,
        }
    }
}
