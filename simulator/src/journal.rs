//! The request journal: every request the simulator saw, in order, with its
//! time on the (possibly paused) tokio clock, for tests to assert on.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::time::Instant;
use toolcall_runtime::{ChatResponse, Message, ToolChoice};

use crate::fault::Fault;

/// How a request reached the simulator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// Through [`SimModel`](crate::SimModel).
    InProcess,
    /// Through the HTTP server.
    Http,
}

/// What the simulator answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// A completion (maybe cut short by a disconnect: see the entry's `fault`).
    Reply(ChatResponse),
    /// An error status with an OpenAI-shaped body.
    Error {
        /// The HTTP status.
        status: u16,
        /// The error message.
        message: String,
        /// The error code, if any.
        code: Option<String>,
    },
}

impl Answer {
    /// The HTTP status: 200 for a reply.
    pub fn status(&self) -> u16 {
        match self {
            Answer::Reply(_) => 200,
            Answer::Error { status, .. } => *status,
        }
    }

    /// The reply, if the answer was one.
    pub fn reply(&self) -> Option<&ChatResponse> {
        match self {
            Answer::Reply(reply) => Some(reply),
            Answer::Error { .. } => None,
        }
    }
}

/// One request and its answer.
#[derive(Debug, Clone, PartialEq)]
pub struct JournalEntry {
    /// Its position among all requests, from 0.
    pub index: usize,
    /// When it arrived, on tokio's clock.
    pub at: Instant,
    /// When it arrived, from the simulator's creation.
    pub since_start: Duration,
    /// In-process or HTTP.
    pub transport: Transport,
    /// Whether the reply was streamed.
    pub stream: bool,
    /// The model asked for (empty when the request could not be read).
    pub model: String,
    /// The names of the tools offered, in order.
    pub tools_offered: Vec<String>,
    /// The request's `tool_choice`.
    pub tool_choice: Option<ToolChoice>,
    /// The request's `parallel_tool_calls`.
    pub parallel_tool_calls: Option<bool>,
    /// The conversation sent.
    pub messages: Vec<Message>,
    /// The `tool_call_id` of every tool message, in the order sent.
    pub tool_message_ids: Vec<String>,
    /// The script turn that answered (from 0), if a script did.
    pub script_turn: Option<usize>,
    /// The fault injected, if any.
    pub fault: Option<Fault>,
    /// The answer.
    pub answer: Answer,
}

impl JournalEntry {
    /// The status answered: 200 for a reply.
    pub fn status(&self) -> u16 {
        self.answer.status()
    }

    /// The ids of the trailing tool messages: the results this request delivered.
    pub fn delivered_results(&self) -> Vec<&str> {
        let mut ids: Vec<&str> = self
            .messages
            .iter()
            .rev()
            .map_while(|m| match m {
                Message::Tool { tool_call_id, .. } => Some(tool_call_id.as_str()),
                _ => None,
            })
            .collect();
        ids.reverse();
        ids
    }
}

/// A shared, append-only log of requests. Cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct Journal {
    entries: Arc<Mutex<Vec<JournalEntry>>>,
}

impl Journal {
    fn lock(&self) -> MutexGuard<'_, Vec<JournalEntry>> {
        // A panic elsewhere while holding the lock leaves the log readable.
        self.entries
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub(crate) fn push(&self, entry: JournalEntry) {
        self.lock().push(entry);
    }

    /// Every entry so far, in arrival order.
    pub fn entries(&self) -> Vec<JournalEntry> {
        self.lock().clone()
    }

    /// The entry of request `index`.
    pub fn get(&self, index: usize) -> Option<JournalEntry> {
        self.lock().get(index).cloned()
    }

    /// The latest entry.
    pub fn last(&self) -> Option<JournalEntry> {
        self.lock().last().cloned()
    }

    /// The number of requests so far.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether no request came yet.
    pub fn is_empty(&self) -> bool {
        self.lock().is_empty()
    }

    /// Forget every entry.
    pub fn clear(&self) {
        self.lock().clear();
    }
}
