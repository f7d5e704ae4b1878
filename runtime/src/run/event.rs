//! The events of a run, and the queue the loop pushes them on.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, PoisonError};

use crate::agent::{AgentError, AgentRun, Round};
use crate::call::{CallResult, ToolCall};
use crate::message::Usage;

/// What happens in an agent run, in causal order: a round's model request,
/// its text, its tool calls starting and finishing, its usage, the round
/// itself, and at last the end. Every provider and the simulator give the
/// same events, streaming or not (a whole reply's text is one delta).
///
/// Each call of a round gets one [`RunEvent::ToolCallStarted`], when it
/// really starts (at once, or when the schedule or approval lets it), then
/// one [`RunEvent::ToolCallFinished`]; a call refused without running
/// (unknown tool, invalid arguments, denied) gets both at the same instant.
/// A call deferred by the approval policy gets neither in the run that
/// suspends: it gets them in the run that [resumes](crate::Agent::resume_stream) it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RunEvent {
    /// Round `round` (from 0) asks the model.
    ModelRequest {
        /// The round.
        round: usize,
    },
    /// Text of the model's reply, as it arrives.
    TextDelta {
        /// The round.
        round: usize,
        /// The new text.
        text: String,
    },
    /// A tool call started.
    ToolCallStarted {
        /// The round.
        round: usize,
        /// The call's place in its assistant message.
        index: usize,
        /// The call, as it runs (an approval policy may have rewritten it).
        call: ToolCall,
    },
    /// A tool call finished, with its result.
    ToolCallFinished {
        /// The round.
        round: usize,
        /// The call's place in its assistant message.
        index: usize,
        /// Its result, as the model will read it.
        result: CallResult,
    },
    /// The tokens a round's reply used.
    Usage {
        /// The round.
        round: usize,
        /// Its tokens.
        usage: Usage,
    },
    /// A round finished: its reply and its batch.
    RoundFinished {
        /// The round.
        round: usize,
        /// What it did.
        info: Box<Round>,
    },
    /// The run ended: the last event. A run suspended for approval ends
    /// with an error of kind `Suspended`.
    End(Box<Result<AgentRun, AgentError>>),
}

/// Where the loop puts its events: a queue the [`crate::RunStream`] drains
/// each time it polls the run. It needs no waker: events are only pushed
/// while the stream polls the run.
#[derive(Clone, Default)]
pub(crate) struct Emitter {
    queue: Arc<Mutex<VecDeque<RunEvent>>>,
    /// The round of the tool events pushed through this emitter.
    round: usize,
    /// The call indices of a batch that runs some of a message's calls
    /// (a resume): batch index -> message index.
    indices: Option<Arc<[usize]>>,
}

impl Emitter {
    pub(crate) fn emit(&self, event: RunEvent) {
        self.queue
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push_back(event);
    }

    pub(crate) fn pop(&self) -> Option<RunEvent> {
        self.queue
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop_front()
    }

    /// This emitter, for the tool events of `round`.
    pub(crate) fn for_round(&self, round: usize) -> Emitter {
        Emitter {
            queue: Arc::clone(&self.queue),
            round,
            indices: None,
        }
    }

    /// This emitter, for a batch of some of a message's calls.
    pub(crate) fn with_indices(mut self, indices: Vec<usize>) -> Emitter {
        self.indices = Some(indices.into());
        self
    }

    fn index(&self, index: usize) -> usize {
        self.indices
            .as_ref()
            .and_then(|map| map.get(index).copied())
            .unwrap_or(index)
    }

    pub(crate) fn started(&self, index: usize, call: &ToolCall) {
        self.emit(RunEvent::ToolCallStarted {
            round: self.round,
            index: self.index(index),
            call: call.clone(),
        });
    }

    pub(crate) fn finished(&self, index: usize, result: &CallResult) {
        self.emit(RunEvent::ToolCallFinished {
            round: self.round,
            index: self.index(index),
            result: result.clone(),
        });
    }
}
