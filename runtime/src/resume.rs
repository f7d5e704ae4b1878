//! Resuming a suspended run: the state and the decisions are checked whole
//! before anything runs, and a state is resumed at most once in a process.
//!
//! What is guaranteed, and what is not:
//! - In one process, a state is resumed at most once, by its
//!   [`Suspended::id`]: clones and copies deserialised from the same text
//!   share the id, and every resume after the first (even concurrent ones,
//!   through any agent) runs nothing and fails with
//!   [`ResumeErrorKind::AlreadyResumed`]. The process remembers the ids of
//!   the last [`REMEMBERED`] states it resumed.
//! - Across processes nothing is shared: two processes that resume copies
//!   of the same saved state both run its approved calls. Keep one copy and
//!   claim it atomically in the store it lives in (for example delete it,
//!   or mark it resumed, with a compare-and-set on its id) before resuming;
//!   cross-process exactly-once is a durable runner's job.
//! - A refused resume ([`ResumeError`]) runs nothing, claims nothing, and
//!   gives the state back untouched.
//! - A stored state is trusted as it is: the checks make sure it holds
//!   together (so a damaged or edited state cannot run a call and only then
//!   fail), not that nobody forged it. Whoever can write a saved state can
//!   make the agent run any of its tools with any arguments on resume, so
//!   protect it like a credential.

use std::collections::{HashMap, HashSet, VecDeque};
use std::hash::{BuildHasher, RandomState};
use std::sync::{Mutex, PoisonError};

use crate::agent::{Round, Suspended};
use crate::approval::Decision;
use crate::call::{CallResult, Outcome, ToolCall};
use crate::dispatch::DispatchOptions;
use crate::message::Message;
use crate::run::{Emitter, RunCancel};
use crate::toolset::ToolSet;

/// How many resumed states' ids a process remembers.
pub const REMEMBERED: usize = 65_536;

/// Why [`Agent::resume`](crate::Agent::resume) refused a state, with the
/// state given back as it came: nothing ran.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ResumeError {
    /// Why.
    pub kind: ResumeErrorKind,
    /// The state, untouched: fix the decisions and resume it again.
    pub state: Box<Suspended>,
}

/// Why a resume was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ResumeErrorKind {
    /// This state (by its id) was resumed already in this process; its
    /// calls ran then, and do not run again.
    AlreadyResumed,
    /// The state does not hold together (an edited or damaged copy).
    InvalidState(String),
    /// The decisions do not fit the calls that wait.
    InvalidDecisions(String),
}

impl std::fmt::Display for ResumeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.kind {
            ResumeErrorKind::AlreadyResumed => write!(
                f,
                "state `{}` was resumed already; nothing ran",
                self.state.id
            ),
            ResumeErrorKind::InvalidState(why) => write!(f, "the state does not fit: {why}"),
            ResumeErrorKind::InvalidDecisions(why) => write!(f, "the decisions do not fit: {why}"),
        }
    }
}

impl std::error::Error for ResumeError {}

/// A fresh state id: 128 random bits (std's randomly keyed hasher, seeded
/// by the OS), in hex.
pub(crate) fn new_id() -> String {
    let a = RandomState::new().hash_one(0u8);
    let b = RandomState::new().hash_one(1u8);
    format!("{a:016x}{b:016x}")
}

/// A state checked with its decisions, ready to run: nothing has run yet.
pub(crate) struct Ready {
    state: Suspended,
    /// The decision for each call that waits and got one, by index.
    decided: Vec<(usize, Decision)>,
}

/// Check the state and the decisions, then claim the state: the only step
/// that can fail does so before anything runs.
pub(crate) fn prepare(
    state: Suspended,
    decisions: impl IntoIterator<Item = (String, Decision)>,
) -> Result<Ready, ResumeError> {
    let refuse = |kind, state| {
        Err(ResumeError {
            kind,
            state: Box::new(state),
        })
    };
    if let Err(why) = check_state(&state) {
        return refuse(ResumeErrorKind::InvalidState(why), state);
    }
    let decided = match match_decisions(&state, decisions) {
        Ok(decided) => decided,
        Err(why) => return refuse(ResumeErrorKind::InvalidDecisions(why), state),
    };
    if !claim(&state.id) {
        return refuse(ResumeErrorKind::AlreadyResumed, state);
    }
    Ok(Ready { state, decided })
}

impl Ready {
    /// Apply the decisions: denied calls get their result, approved and
    /// rewritten ones run now (a rewrite's arguments kept on its result).
    /// The state comes back with a fresh id when calls still wait.
    /// Run the approved calls, telling `watch` each call's start and
    /// result, and stopping when `cancel` says so.
    pub(crate) async fn run(
        self,
        tools: &ToolSet,
        options: DispatchOptions,
        watch: &Emitter,
        cancel: &RunCancel,
    ) -> Suspended {
        let Ready { mut state, decided } = self;
        let Some(Round {
            tool_calls,
            batch: Some(batch),
            ..
        }) = state.rounds.last_mut()
        else {
            return state;
        };
        let mut to_run = Vec::new();
        let mut slots = Vec::new();
        for (index, decision) in decided {
            let call = &tool_calls[index];
            match decision {
                Decision::Approve => to_run.push(call.clone()),
                Decision::Rewrite(arguments) => {
                    to_run.push(ToolCall::new(call.id.clone(), call.name.clone(), arguments));
                }
                Decision::Deny(reason) => {
                    batch.results[index] = CallResult::new(
                        call.id.clone(),
                        call.name.clone(),
                        Outcome::Denied,
                        format!("the call was denied: {reason}"),
                    );
                    watch.started(index, call);
                    watch.finished(index, &batch.results[index]);
                    continue;
                }
                Decision::Defer => continue,
            }
            slots.push(index);
        }
        if !to_run.is_empty() {
            let ran = tools
                .dispatch(&to_run)
                .options(options)
                .events(Some(watch.clone().with_indices(slots.clone())))
                .cancel_on(cancel.cancelled())
                .await;
            for ((index, mut result), call) in slots.into_iter().zip(ran.results).zip(&to_run) {
                if call.arguments != tool_calls[index].arguments {
                    result.set_arguments(call.arguments.clone());
                }
                batch.results[index] = result;
            }
        }
        if batch.results.iter().any(|r| r.outcome == Outcome::Deferred) {
            state.id = new_id();
        }
        state
    }
}

/// Whether the state holds together: its last round's calls wait with one
/// result each, answering them by id, and the transcript ends with the
/// assistant message that made them.
fn check_state(state: &Suspended) -> Result<(), String> {
    let Some((
        Round {
            tool_calls,
            batch: Some(batch),
            ..
        },
        earlier,
    )) = state.rounds.split_last()
    else {
        return Err("its last round has no tool calls".into());
    };
    if tool_calls.len() != batch.results.len() {
        return Err(format!(
            "its last round has {} calls and {} results",
            tool_calls.len(),
            batch.results.len()
        ));
    }
    for (index, (call, result)) in tool_calls.iter().zip(&batch.results).enumerate() {
        if result.call_id != call.id || result.name != call.name {
            return Err(format!(
                "result {index} answers `{}` ({}), not call `{}` ({})",
                crate::runner::echo(&result.call_id),
                crate::runner::echo(&result.name),
                crate::runner::echo(&call.id),
                crate::runner::echo(&call.name)
            ));
        }
    }
    let waiting: Vec<&ToolCall> = waiting(tool_calls, &batch.results)
        .map(|(_, c)| c)
        .collect();
    if waiting.is_empty() {
        return Err("no call of its last round waits for a decision".into());
    }
    let mut ids: HashMap<&str, usize> = HashMap::with_capacity(tool_calls.len());
    for call in tool_calls {
        *ids.entry(call.id.as_str()).or_default() += 1;
    }
    if let Some(call) = waiting.iter().find(|c| ids[c.id.as_str()] > 1) {
        return Err(format!(
            "call id `{}` is used by more than one call of its last round",
            crate::runner::echo(&call.id)
        ));
    }
    let deferred_before = earlier.iter().position(|round| {
        round
            .batch
            .as_ref()
            .is_some_and(|b| b.results.iter().any(|r| r.outcome == Outcome::Deferred))
    });
    if let Some(round) = deferred_before {
        return Err(format!(
            "round {} has a deferred call; only the last round's calls can wait",
            round + 1
        ));
    }
    match state.transcript.last() {
        Some(Message::Assistant { tool_calls: sent, .. }) if sent == tool_calls => Ok(()),
        _ => Err(
            "the transcript does not end with the assistant message whose calls its last round holds"
                .into(),
        ),
    }
}

/// The calls of a batch that wait for a decision, with their index.
fn waiting<'a>(
    calls: &'a [ToolCall],
    results: &'a [CallResult],
) -> impl Iterator<Item = (usize, &'a ToolCall)> {
    calls
        .iter()
        .zip(results)
        .enumerate()
        .filter(|(_, (_, r))| r.outcome == Outcome::Deferred)
        .map(|(i, (c, _))| (i, c))
}

/// Each decision matched to the call that waits for it, in call order; a
/// decision for a call that does not wait, or a second one for a call, is
/// refused.
fn match_decisions(
    state: &Suspended,
    decisions: impl IntoIterator<Item = (String, Decision)>,
) -> Result<Vec<(usize, Decision)>, String> {
    let Some(Round {
        tool_calls,
        batch: Some(batch),
        ..
    }) = state.rounds.last()
    else {
        return Ok(Vec::new());
    };
    let index: HashMap<&str, usize> = waiting(tool_calls, &batch.results)
        .map(|(i, c)| (c.id.as_str(), i))
        .collect();
    let mut decided: HashMap<usize, Decision> = HashMap::new();
    for (id, decision) in decisions {
        let Some(&i) = index.get(id.as_str()) else {
            return Err(format!(
                "call `{}` does not wait for a decision",
                crate::runner::echo(&id)
            ));
        };
        if decided.insert(i, decision).is_some() {
            return Err(format!(
                "call `{}` has more than one decision",
                crate::runner::echo(&id)
            ));
        }
    }
    let mut decided: Vec<(usize, Decision)> = decided.into_iter().collect();
    decided.sort_by_key(|(i, _)| *i);
    Ok(decided)
}

/// The ids of the states this process resumed, the oldest forgotten first.
struct Resumed {
    ids: HashSet<String>,
    order: VecDeque<String>,
}

static RESUMED: Mutex<Option<Resumed>> = Mutex::new(None);

/// Claim state `id` for this resume: `false` when it was claimed before.
fn claim(id: &str) -> bool {
    let mut guard = RESUMED.lock().unwrap_or_else(PoisonError::into_inner);
    let resumed = guard.get_or_insert_with(|| Resumed {
        ids: HashSet::new(),
        order: VecDeque::new(),
    });
    if !resumed.ids.insert(id.to_owned()) {
        return false;
    }
    resumed.order.push_back(id.to_owned());
    if resumed.order.len() > REMEMBERED
        && let Some(oldest) = resumed.order.pop_front()
    {
        resumed.ids.remove(&oldest);
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_differ_and_a_claim_holds_once() {
        let (a, b) = (new_id(), new_id());
        assert_ne!(a, b);
        assert_eq!(a.len(), 32);
        assert!(claim(&a));
        assert!(!claim(&a));
        assert!(claim(&b));
    }
}
