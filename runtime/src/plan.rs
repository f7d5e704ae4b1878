//! A batch's admission and schedule without the runner: for engines that
//! run each call elsewhere (a durable invocation per call, as
//! `toolcall-restate` does) yet must keep in-process dispatch's rules.
//!
//! [`BatchPlan`] asks the approval policy about each call, refuses
//! duplicate ids, and says which calls may start whenever calls finish,
//! by the same schedule the runner uses (exclusive tools, resource
//! keys, per-tool and per-batch limits). Running one call is then
//! `tools.dispatch(&[call])` wherever the call runs, which gives the same
//! outcomes, messages and per-call timeouts as a call of a local batch.
//! Decisions and starts depend only on the calls and on the order results
//! are reported in, so a journaled replay makes the same ones.
//!
//! [`Round::new`](crate::Round::new) and [`AgentRun::new`](crate::AgentRun::new)
//! assemble such an engine's run in the shape [`Agent`](crate::Agent) gives.

use crate::approval::{Approval, Decision};
use crate::call::{CallResult, Outcome, ToolCall};
use crate::dispatch::DispatchOptions;
use crate::runner::{DEFERRED, NO_NAME, denied, duplicate_id};
use crate::schedule::Schedule;
use crate::toolset::ToolSet;

use std::num::NonZeroUsize;

/// The plan of one batch whose calls run outside this process (see the
/// [module docs](self)).
///
/// ```
/// use toolcall_runtime::plan::BatchPlan;
/// use toolcall_runtime::{CallResult, DispatchOptions, Outcome, ToolCall, ToolSet};
///
/// # fn main() -> Result<(), toolcall_runtime::BuildError> {
/// let tools = ToolSet::builder().build()?;
/// let calls = [ToolCall::new("a", "f", "{}"), ToolCall::new("a", "f", "{}")];
/// let mut plan = BatchPlan::new(&tools, &calls, &DispatchOptions::default(), None);
/// // The duplicate id is answered at once; the first call may start.
/// assert_eq!(plan.start(), vec![0]);
/// plan.finished(0, CallResult::new("a", "f", Outcome::Ok, "done"));
/// assert!(plan.start().is_empty() && plan.is_done());
/// let results = plan.into_results();
/// assert_eq!(results[1].outcome, Outcome::InvalidArguments);
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct BatchPlan<'a> {
    calls: Vec<ToolCall>,
    results: Vec<Option<CallResult>>,
    schedule: Schedule<'a>,
    /// Admitted calls not started yet, in call order.
    waiting: Vec<usize>,
    running: usize,
    cap: usize,
}

impl<'a> BatchPlan<'a> {
    /// Admit `calls` in call order: the policy's denials and deferrals,
    /// and duplicate ids, are answered at once (with the texts in-process
    /// dispatch gives); a rewrite changes the call's arguments.
    pub fn new(
        tools: &'a ToolSet,
        calls: &[ToolCall],
        options: &DispatchOptions,
        approval: Option<&dyn Approval>,
    ) -> Self {
        let mut plan = BatchPlan {
            calls: calls.to_vec(),
            results: vec![None; calls.len()],
            schedule: Schedule::default(),
            waiting: Vec::with_capacity(calls.len()),
            running: 0,
            cap: options
                .max_concurrency
                .map_or(usize::MAX, NonZeroUsize::get),
        };
        for index in 0..plan.calls.len() {
            // As in process: a call without a name or with an earlier
            // call's id is refused whatever the policy says.
            let call = &plan.calls[index];
            let malformed = if call.name.is_empty() {
                Some((Outcome::InvalidArguments, NO_NAME.to_owned()))
            } else if plan.calls[..index]
                .iter()
                .any(|earlier| earlier.id == call.id)
            {
                Some((Outcome::InvalidArguments, duplicate_id(&call.id)))
            } else {
                None
            };
            let refusal = malformed.or_else(|| {
                let decision = approval.map(|policy| {
                    let call = &plan.calls[index];
                    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| policy.decide(call)))
                });
                match decision {
                    None | Some(Ok(Decision::Approve)) => None,
                    Some(Ok(Decision::Rewrite(arguments))) => {
                        plan.calls[index].arguments = arguments;
                        None
                    }
                    Some(Ok(Decision::Deny(reason))) => Some((Outcome::Denied, denied(&reason))),
                    Some(Ok(Decision::Defer)) => Some((Outcome::Deferred, DEFERRED.to_owned())),
                    Some(Err(_)) => Some((Outcome::Denied, denied("the approval policy panicked"))),
                }
            });
            let call = &plan.calls[index];
            if let Some((outcome, content)) = refusal {
                plan.results[index] = Some(CallResult::new(
                    call.id.clone(),
                    call.name.clone(),
                    outcome,
                    content,
                ));
                continue;
            }
            if let Some(entry) = tools.entry(&call.name) {
                plan.schedule
                    .register(index, entry.tool.name(), &entry.policy, &call.arguments);
            }
            plan.waiting.push(index);
        }
        plan
    }

    /// The calls that may start now, in call order; each is taken as
    /// running until [`finished`](Self::finished) is called for it.
    pub fn start(&mut self) -> Vec<usize> {
        let mut started = Vec::new();
        let mut i = 0;
        while i < self.waiting.len() && self.running < self.cap {
            let index = self.waiting[i];
            let running = self.running;
            let first_waiting = self.waiting.first().copied();
            let may = self.schedule.may_start(index, || {
                running == 0 && first_waiting.is_none_or(|w| w >= index)
            });
            if may {
                self.waiting.remove(i);
                self.schedule.started(index);
                self.running += 1;
                started.push(index);
            } else {
                i += 1;
            }
        }
        started
    }

    /// Call `index` finished with `result` (from wherever it ran).
    pub fn finished(&mut self, index: usize, result: CallResult) {
        let Some(slot) = self.results.get_mut(index) else {
            return;
        };
        if slot.is_none() {
            self.schedule.finished(index);
            self.running = self.running.saturating_sub(1);
            *slot = Some(result);
        }
    }

    /// Call `index` as it runs (after a rewrite by the policy).
    pub fn call(&self, index: usize) -> &ToolCall {
        &self.calls[index]
    }

    /// The calls, as they run.
    pub fn calls(&self) -> &[ToolCall] {
        &self.calls
    }

    /// Whether every call has its result.
    pub fn is_done(&self) -> bool {
        self.results.iter().all(Option::is_some)
    }

    /// One result per call, in call order; a call never reported gets a
    /// `Cancelled` result saying it was not run.
    pub fn into_results(self) -> Vec<CallResult> {
        self.results
            .into_iter()
            .zip(&self.calls)
            .map(|(slot, call)| {
                slot.unwrap_or_else(|| crate::runner::unanswered(call, std::time::Duration::ZERO))
            })
            .collect()
    }
}

/// A round assembled by an engine that ran it elsewhere (a journal's
/// replay), in the shape [`Agent`](crate::Agent) gives.
impl crate::Round {
    /// A round of this model time, these calls and their batch, taking `elapsed`.
    pub fn new(
        model_time: std::time::Duration,
        tool_calls: Vec<ToolCall>,
        batch: Option<crate::Batch>,
        elapsed: std::time::Duration,
    ) -> Self {
        crate::Round {
            model_time,
            tool_calls,
            batch,
            elapsed,
        }
    }
}

/// A finished run assembled by an engine that ran it elsewhere.
impl crate::AgentRun {
    /// A run that answered `answer` after these messages and rounds.
    pub fn new(
        answer: String,
        transcript: Vec<crate::Message>,
        rounds: Vec<crate::Round>,
        usage: crate::Usage,
        elapsed: std::time::Duration,
    ) -> Self {
        crate::AgentRun {
            answer,
            transcript,
            rounds,
            usage,
            elapsed,
        }
    }
}
