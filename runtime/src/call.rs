//! One tool call as the model asked for it, and its one result.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::content::ContentPart;
use crate::output::ToolError;
use crate::shared_str::SharedStr;

/// A tool call from an assistant message: the call id, the tool's name and
/// its arguments exactly as the model sent them (JSON text, maybe invalid).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ToolCall {
    /// The call id the tool message must answer.
    pub id: SharedStr,
    /// The tool's name.
    pub name: SharedStr,
    /// The arguments, as JSON text.
    pub arguments: String,
}

impl ToolCall {
    /// A call with these parts.
    pub fn new(
        id: impl Into<SharedStr>,
        name: impl Into<SharedStr>,
        arguments: impl Into<String>,
    ) -> Self {
        ToolCall {
            id: id.into(),
            name: name.into(),
            arguments: arguments.into(),
        }
    }
}

/// How a call ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Outcome {
    /// The tool ran and returned a value.
    Ok,
    /// The arguments were not JSON, too large, or did not fit the schema; or
    /// the call itself was malformed (empty name, duplicate id).
    InvalidArguments,
    /// No tool has that name.
    UnknownTool,
    /// The tool ran and returned an error.
    ToolError,
    /// The call's timeout or the batch deadline passed.
    TimedOut,
    /// The tool panicked; the other calls were not affected.
    Panicked,
    /// The batch was cancelled before the call finished.
    Cancelled,
    /// The approval policy denied the call; the result says why.
    Denied,
    /// The approval policy deferred the call: it has not run, and waits
    /// for a decision (see [`Suspended`](crate::Suspended)).
    Deferred,
}

impl Outcome {
    /// Whether the call succeeded.
    pub fn is_ok(self) -> bool {
        self == Outcome::Ok
    }

    /// The outcome's name, as in logs and reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::InvalidArguments => "invalid_arguments",
            Outcome::UnknownTool => "unknown_tool",
            Outcome::ToolError => "tool_error",
            Outcome::TimedOut => "timed_out",
            Outcome::Panicked => "panicked",
            Outcome::Cancelled => "cancelled",
            Outcome::Denied => "denied",
            Outcome::Deferred => "deferred",
        }
    }
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The one result of one call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct CallResult {
    /// The id of the call this answers.
    pub call_id: SharedStr,
    /// The tool's name as the model sent it.
    pub name: SharedStr,
    /// How the call ended.
    pub outcome: Outcome,
    /// What the model sees in the tool message: the result, or an error text
    /// it can act on.
    pub content: String,
    /// Whether `content` is the JSON of the tool's structured result.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub json: bool,
    /// Content beyond the text (images), for the formats that carry it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub parts: Vec<ContentPart>,
    /// The arguments the call ran with, when an approval policy rewrote
    /// them ([`Decision::Rewrite`](crate::Decision::Rewrite)); `None` when
    /// it ran with the model's. The transcript's assistant message keeps
    /// the model's own arguments, as the APIs expect the model's turn back
    /// as it was sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arguments: Option<String>,
    /// The tool's own error, with its cause, when it returned one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ToolError>,
    /// When the call started, from the start of the batch.
    pub started: Duration,
    /// How long it ran.
    pub elapsed: Duration,
}

impl CallResult {
    /// A result with this outcome and text, at offset zero, taking no time.
    pub fn new(
        call_id: impl Into<SharedStr>,
        name: impl Into<SharedStr>,
        outcome: Outcome,
        content: impl Into<String>,
    ) -> Self {
        CallResult {
            call_id: call_id.into(),
            name: name.into(),
            outcome,
            content: content.into(),
            json: false,
            parts: Vec::new(),
            arguments: None,
            error: None,
            started: Duration::ZERO,
            elapsed: Duration::ZERO,
        }
    }

    /// The same result, started at `started` (from the batch's start) and running for `elapsed`.
    pub fn timed(mut self, started: Duration, elapsed: Duration) -> Self {
        self.started = started;
        self.elapsed = elapsed;
        self
    }

    /// When the call ended, from the start of the batch.
    pub fn ended(&self) -> Duration {
        self.started + self.elapsed
    }

    /// The structured value of a successful result, when the tool returned one.
    pub fn structured(&self) -> Option<Value> {
        (self.outcome.is_ok() && self.json)
            .then(|| serde_json::from_str(&self.content).ok())
            .flatten()
    }
}
