//! One tool call as the model asked for it, and its one result.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// A tool call from an assistant message: the call id, the tool's name and
/// its arguments exactly as the model sent them (JSON text, maybe invalid).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ToolCall {
    /// The call id the tool message must answer.
    pub id: String,
    /// The tool's name.
    pub name: String,
    /// The arguments, as JSON text.
    pub arguments: String,
}

impl ToolCall {
    /// A call with these parts.
    pub fn new(
        id: impl Into<String>,
        name: impl Into<String>,
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
pub struct CallResult {
    /// The id of the call this answers.
    pub call_id: String,
    /// The tool's name as the model sent it.
    pub name: String,
    /// How the call ended.
    pub outcome: Outcome,
    /// What the model sees in the tool message: the result, or an error text
    /// it can act on.
    pub content: String,
    /// When the call started, from the start of the batch.
    pub started: Duration,
    /// How long it ran.
    pub elapsed: Duration,
}

impl CallResult {
    /// When the call ended, from the start of the batch.
    pub fn ended(&self) -> Duration {
        self.started + self.elapsed
    }
}
