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
///
/// What few results carry (content parts, rewritten arguments, the tool's
/// own error) sits behind one pointer, so a batch of many results stays
/// small; read it with [`parts`](Self::parts),
/// [`arguments`](Self::arguments) and [`error`](Self::error).
#[derive(Debug, Clone, PartialEq, Eq)]
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
    pub json: bool,
    /// When the call started, from the start of the batch.
    pub started: Duration,
    /// How long it ran.
    pub elapsed: Duration,
    /// `None` when every part of it is empty.
    pub(crate) extra: Option<Box<Extra>>,
}

/// The parts of a result few results have.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Extra {
    parts: Vec<ContentPart>,
    arguments: Option<String>,
    error: Option<ToolError>,
}

impl Extra {
    /// A finished call's parts and error, boxed only when there are any.
    pub(crate) fn of(parts: Vec<ContentPart>, error: Option<ToolError>) -> Option<Box<Extra>> {
        (!parts.is_empty() || error.is_some()).then(|| {
            Box::new(Extra {
                parts,
                arguments: None,
                error,
            })
        })
    }
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
            started: Duration::ZERO,
            elapsed: Duration::ZERO,
            extra: None,
        }
    }

    /// The same result, started at `started` (from the batch's start) and running for `elapsed`.
    pub fn timed(mut self, started: Duration, elapsed: Duration) -> Self {
        self.started = started;
        self.elapsed = elapsed;
        self
    }

    /// Content beyond the text (images), for the formats that carry it.
    pub fn parts(&self) -> &[ContentPart] {
        self.extra.as_ref().map_or(&[], |extra| &extra.parts)
    }

    /// The arguments the call ran with, when an approval policy rewrote
    /// them ([`Decision::Rewrite`](crate::Decision::Rewrite)); `None` when
    /// it ran with the model's. The transcript's assistant message keeps
    /// the model's own arguments, as the APIs expect the model's turn back
    /// as it was sent.
    pub fn arguments(&self) -> Option<&str> {
        self.extra.as_ref()?.arguments.as_deref()
    }

    /// The tool's own error, with its cause, when it returned one.
    pub fn error(&self) -> Option<&ToolError> {
        self.extra.as_ref()?.error.as_ref()
    }

    /// The same result with these content parts after its text.
    #[inline]
    pub fn with_parts(mut self, parts: Vec<ContentPart>) -> Self {
        if !parts.is_empty() || self.extra.is_some() {
            self.extra_mut().parts = parts;
        }
        self
    }

    /// The same result, recording that the call ran with `arguments`.
    pub fn with_arguments(mut self, arguments: impl Into<String>) -> Self {
        self.extra_mut().arguments = Some(arguments.into());
        self
    }

    /// The same result, keeping the tool's own error.
    pub fn with_error(mut self, error: ToolError) -> Self {
        self.extra_mut().error = Some(error);
        self
    }

    /// Record that the call ran with `arguments`, in place.
    pub(crate) fn set_arguments(&mut self, arguments: String) {
        self.extra_mut().arguments = Some(arguments);
    }

    /// Take the content parts out, leaving none.
    #[cfg(feature = "mcp")]
    pub(crate) fn take_parts(&mut self) -> Vec<ContentPart> {
        self.extra
            .as_mut()
            .map(|e| std::mem::take(&mut e.parts))
            .unwrap_or_default()
    }

    /// Take the tool's own error out, leaving none.
    #[cfg(feature = "mcp")]
    pub(crate) fn take_error(&mut self) -> Option<ToolError> {
        self.extra.as_mut()?.error.take()
    }

    fn extra_mut(&mut self) -> &mut Extra {
        self.extra.get_or_insert_with(Box::default)
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

/// A result as it is written: every field at the top level, as it was
/// before the rare ones moved behind a pointer.
#[derive(Serialize)]
struct ResultOut<'a> {
    call_id: &'a SharedStr,
    name: &'a SharedStr,
    outcome: Outcome,
    content: &'a str,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    json: bool,
    #[serde(skip_serializing_if = "<[ContentPart]>::is_empty")]
    parts: &'a [ContentPart],
    #[serde(skip_serializing_if = "Option::is_none")]
    arguments: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<&'a ToolError>,
    started: Duration,
    elapsed: Duration,
}

/// A result as it is read.
#[derive(Deserialize)]
struct ResultIn {
    call_id: SharedStr,
    name: SharedStr,
    outcome: Outcome,
    content: String,
    #[serde(default)]
    json: bool,
    #[serde(default)]
    parts: Vec<ContentPart>,
    #[serde(default)]
    arguments: Option<String>,
    #[serde(default)]
    error: Option<ToolError>,
    started: Duration,
    elapsed: Duration,
}

impl Serialize for CallResult {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        ResultOut {
            call_id: &self.call_id,
            name: &self.name,
            outcome: self.outcome,
            content: &self.content,
            json: self.json,
            parts: self.parts(),
            arguments: self.arguments(),
            error: self.error(),
            started: self.started,
            elapsed: self.elapsed,
        }
        .serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for CallResult {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let r = ResultIn::deserialize(deserializer)?;
        let mut result = CallResult::new(r.call_id, r.name, r.outcome, r.content)
            .timed(r.started, r.elapsed)
            .with_parts(r.parts);
        result.json = r.json;
        if let Some(arguments) = r.arguments {
            result = result.with_arguments(arguments);
        }
        if let Some(error) = r.error {
            result = result.with_error(error);
        }
        Ok(result)
    }
}

#[cfg(test)]
mod tests {
    use super::{CallResult, Outcome};
    use crate::{ContentPart, ToolError};

    /// A batch of 100,000 results is 100,000 of these: keep the rare parts
    /// behind their pointer.
    #[test]
    #[cfg(target_pointer_width = "64")]
    fn a_result_is_small() {
        assert!(
            size_of::<CallResult>() <= 104,
            "{}",
            size_of::<CallResult>()
        );
    }

    #[test]
    fn rare_parts_round_trip_in_the_flat_serialised_shape() {
        let plain = CallResult::new("c1", "t", Outcome::Ok, "done");
        let text = serde_json::to_string(&plain).unwrap_or_default();
        assert!(!text.contains("parts") && !text.contains("arguments") && !text.contains("error"));
        let full = CallResult::new("c2", "t", Outcome::ToolError, "error: no")
            .with_parts(vec![ContentPart::image("AAAA", "image/png")])
            .with_arguments("{\"x\":1}")
            .with_error(ToolError::new("no"));
        let value = serde_json::to_value(&full).unwrap_or_default();
        assert_eq!(value["arguments"], "{\"x\":1}");
        assert_eq!(value["parts"].as_array().map(Vec::len), Some(1));
        let back: Result<CallResult, _> = serde_json::from_value(value);
        assert_eq!(back.ok(), Some(full));
        // An empty extra is no extra: equal to a result that never had one.
        assert_eq!(plain.clone().with_parts(Vec::new()), plain);
    }
}
