//! What the workflow, the tool service and clients send each other: JSON
//! bodies, journaled by Restate.

use serde::{Deserialize, Serialize};
use toolcall_runtime::{
    CallResult, ChatRequest, ChatResponse, Decision, FinishReason, Message, Model, Round, ToolCall,
    Usage,
};

/// The input of a run: the conversation to start from (the worker adds its
/// system prompt in front, as [`Agent::run`](toolcall_runtime::Agent::run) does).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunInput {
    /// The messages after the system prompt (usually one user message).
    pub messages: Vec<Message>,
}

impl RunInput {
    /// A run from one user message: text, or content with images and documents.
    pub fn user(text: impl Into<toolcall_runtime::Content>) -> Self {
        RunInput {
            messages: vec![Message::user(text)],
        }
    }
}

/// A finished run, as the workflow returns it; [`RunOutput::into_agent_run`]
/// gives the in-process [`AgentRun`](toolcall_runtime::AgentRun).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunOutput {
    /// The model's final answer.
    pub answer: String,
    /// Every message, from the system prompt to the answer.
    pub transcript: Vec<Message>,
    /// One entry per model request.
    pub rounds: Vec<Round>,
    /// Tokens used over all rounds.
    pub usage: Usage,
    /// From the run's start to its answer, in microseconds (journaled
    /// clock readings, so a replay gives the same).
    pub elapsed_us: u64,
}

impl RunOutput {
    /// The run in the shape an in-process [`Agent`](toolcall_runtime::Agent) gives.
    pub fn into_agent_run(self) -> toolcall_runtime::AgentRun {
        toolcall_runtime::AgentRun::new(
            self.answer,
            self.transcript,
            self.rounds,
            self.usage,
            std::time::Duration::from_micros(self.elapsed_us),
        )
    }
}

/// A decision about one deferred call, sent to a waiting run:
/// `{"call_id": "call_3", "decision": "approve"}`, or `"deny"` / `"rewrite"`
/// with a `"value"` (the reason, the new arguments).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DecisionInput {
    /// The deferred call's id.
    pub call_id: String,
    /// Approve, deny or rewrite (deferring again is refused).
    #[serde(flatten)]
    pub decision: Decision,
}

/// One call for the tool service, with the limits of the batch it is in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallInput {
    /// The call as it runs (after a rewrite by the approval policy).
    pub call: ToolCall,
    /// The batch's default per-call timeout in microseconds (a tool's own
    /// `timeout` overrides it, as in process).
    pub call_timeout_us: Option<u64>,
    /// The limit on the argument text, in bytes.
    pub max_argument_bytes: usize,
}

/// The tool service's answer: the call's one result and when it started.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallOutput {
    /// The result, timed from the call's own start.
    pub result: CallResult,
    /// When the call started, in microseconds since the Unix epoch.
    pub started_at_us: u64,
}

/// A model reply as journaled.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct ModelReply {
    pub content: Option<String>,
    pub tool_calls: Vec<ToolCall>,
    pub finish_reason: Option<FinishReason>,
    pub usage: Option<Usage>,
    /// The model's error text instead of a reply.
    pub error: Option<String>,
    /// When the request went out and the reply was in, in microseconds
    /// since the Unix epoch: the run's and the batch's clock readings, so
    /// no step of their own is journaled for them.
    pub asked_at_us: u64,
    pub answered_at_us: u64,
}

impl ModelReply {
    /// Ask `model`, reading the clock on both sides.
    pub(crate) async fn ask(model: &dyn Model, request: &ChatRequest) -> Self {
        let asked_at_us = now_us();
        let answer = model.complete(request).await;
        let answered_at_us = now_us().max(asked_at_us);
        let (response, error) = match answer {
            Ok(response) => (response, None),
            Err(error) => (ChatResponse::calls(Vec::new()), Some(error.to_string())),
        };
        ModelReply {
            content: response.content,
            tool_calls: response.tool_calls,
            finish_reason: response.finish_reason,
            usage: response.usage,
            error,
            asked_at_us,
            answered_at_us,
        }
    }

    /// How long the model took.
    pub(crate) fn elapsed(&self) -> std::time::Duration {
        std::time::Duration::from_micros(self.answered_at_us.saturating_sub(self.asked_at_us))
    }
}

/// Microseconds since the Unix epoch (0 before it).
pub(crate) fn now_us() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_micros()).unwrap_or(u64::MAX))
}
