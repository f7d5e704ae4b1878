//! What a tool's run gives back: an output (the text the model sees, maybe
//! the JSON of a structured value, maybe extra content such as an image) or
//! an error that is text for the model and a typed error for the program.

use std::borrow::Cow;
use std::cell::RefCell;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::content::ContentPart;

/// A successful tool run.
///
/// The rule for what the model sees: a tool that returns text (`String`,
/// `&str`, `Cow<str>`) gives that text as it is; any other value gives its
/// compact JSON, and [`ToolOutput::structured`] gives the value back (MCP's
/// `structuredContent`). Extra [`ContentPart`]s ride along for the formats
/// that can show them.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ToolOutput {
    text: String,
    json: bool,
    parts: Vec<ContentPart>,
}

impl ToolOutput {
    /// Text for the model, as it is.
    pub fn text(text: impl Into<String>) -> Self {
        ToolOutput {
            text: text.into(),
            json: false,
            parts: Vec::new(),
        }
    }

    /// A structured value: the model sees its compact JSON.
    pub fn json<T: Serialize + ?Sized>(value: &T) -> Result<Self, ToolError> {
        let text = compact_json(value).map_err(|e| {
            ToolError::new(format!("the tool's result could not be serialised: {e}"))
        })?;
        Ok(ToolOutput::json_text(text))
    }

    /// Text that is already the JSON of a structured value.
    pub fn json_text(text: impl Into<String>) -> Self {
        ToolOutput {
            text: text.into(),
            json: true,
            parts: Vec::new(),
        }
    }

    /// Add a content part (an image) after the text.
    pub fn with_part(mut self, part: ContentPart) -> Self {
        self.parts.push(part);
        self
    }

    /// The text the model sees.
    pub fn as_text(&self) -> &str {
        &self.text
    }

    /// Whether the text is the JSON of a structured value.
    pub fn is_json(&self) -> bool {
        self.json
    }

    /// The structured value, when the tool returned one.
    pub fn structured(&self) -> Option<Value> {
        self.json
            .then(|| serde_json::from_str(&self.text).ok())
            .flatten()
    }

    /// The content parts beyond the text.
    pub fn parts(&self) -> &[ContentPart] {
        &self.parts
    }

    /// The text, whether it is JSON, and the parts.
    pub fn into_parts(self) -> (String, bool, Vec<ContentPart>) {
        (self.text, self.json, self.parts)
    }
}

impl From<String> for ToolOutput {
    fn from(text: String) -> Self {
        ToolOutput::text(text)
    }
}

impl From<&str> for ToolOutput {
    fn from(text: &str) -> Self {
        ToolOutput::text(text)
    }
}

impl From<Cow<'_, str>> for ToolOutput {
    fn from(text: Cow<'_, str>) -> Self {
        ToolOutput::text(text.into_owned())
    }
}

/// A tool's own failure: its message is what the model reads; the cause
/// (`source()`) and whether trying again may help are for the program.
#[derive(Clone)]
pub struct ToolError(Box<ErrorParts>);

/// Boxed: a result holds an `Option<ToolError>`, and most results hold none.
#[derive(Clone)]
struct ErrorParts {
    message: String,
    source: Option<Arc<dyn std::error::Error + Send + Sync>>,
    retryable: bool,
}

impl ToolError {
    /// An error with this message for the model.
    pub fn new(message: impl Into<String>) -> Self {
        ToolError(Box::new(ErrorParts {
            message: message.into(),
            source: None,
            retryable: false,
        }))
    }

    /// An error caused by `error`: the model reads its `Display`, the
    /// program gets it back from [`source`](std::error::Error::source).
    pub fn from_error(error: impl std::error::Error + Send + Sync + 'static) -> Self {
        ToolError(Box::new(ErrorParts {
            message: error.to_string(),
            source: Some(Arc::new(error)),
            retryable: false,
        }))
    }

    /// Mark whether the same call may succeed if tried again.
    pub fn retryable(mut self, yes: bool) -> Self {
        self.0.retryable = yes;
        self
    }

    /// Whether the same call may succeed if tried again.
    pub fn is_retryable(&self) -> bool {
        self.0.retryable
    }

    /// The message for the model.
    pub fn message(&self) -> &str {
        &self.0.message
    }
}

impl std::fmt::Debug for ToolError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ToolError")
            .field("message", &self.0.message)
            .field("source", &self.0.source)
            .field("retryable", &self.0.retryable)
            .finish()
    }
}

impl std::fmt::Display for ToolError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0.message)
    }
}

impl std::error::Error for ToolError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.0
            .source
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

/// Equal when the message and the retry flag are; the cause is not compared.
impl PartialEq for ToolError {
    fn eq(&self, other: &Self) -> bool {
        self.0.message == other.0.message && self.0.retryable == other.0.retryable
    }
}

impl Eq for ToolError {}

impl From<String> for ToolError {
    fn from(message: String) -> Self {
        ToolError::new(message)
    }
}

impl From<&str> for ToolError {
    fn from(message: &str) -> Self {
        ToolError::new(message)
    }
}

/// Serialised as its message and retry flag; the cause stays in the process.
impl Serialize for ToolError {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        ErrorRepr {
            message: Cow::Borrowed(&self.0.message),
            retryable: self.0.retryable,
        }
        .serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for ToolError {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let repr = ErrorRepr::deserialize(deserializer)?;
        Ok(ToolError::new(repr.message).retryable(repr.retryable))
    }
}

#[derive(Serialize, Deserialize)]
struct ErrorRepr<'a> {
    message: Cow<'a, str>,
    #[serde(default)]
    retryable: bool,
}

thread_local! {
    /// Where a result's JSON is written first, so the text kept is
    /// allocated once at its own length: `serde_json::to_string` starts at
    /// 128 bytes, which a batch of small results holds for nothing.
    static SCRATCH: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// The most the scratch buffer keeps between results.
const SCRATCH_KEPT: usize = 64 * 1024;

/// `value`'s compact JSON, in a string of its own length.
fn compact_json<T: Serialize + ?Sized>(value: &T) -> serde_json::Result<String> {
    let written = SCRATCH.try_with(|scratch| {
        // A `Serialize` impl that makes a tool output of its own finds the
        // buffer taken, and writes as serde_json would.
        let mut buf = scratch.try_borrow_mut().ok()?;
        buf.clear();
        let text = serde_json::to_writer(&mut *buf, value).and_then(|()| {
            std::str::from_utf8(&buf)
                .map(str::to_owned)
                .map_err(serde::ser::Error::custom)
        });
        if buf.capacity() > SCRATCH_KEPT {
            *buf = Vec::new();
        }
        Some(text)
    });
    match written {
        Ok(Some(text)) => text,
        _ => serde_json::to_string(value),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::error::Error as _;

    #[test]
    fn json_output_gives_its_value_back() {
        let output = ToolOutput::json(&serde_json::json!({"a": [1, 2]})).expect("json");
        assert_eq!(output.as_text(), r#"{"a":[1,2]}"#);
        assert_eq!(output.structured(), Some(serde_json::json!({"a": [1, 2]})));
        assert_eq!(ToolOutput::text("{}").structured(), None);
    }

    #[test]
    fn no_error_costs_a_result_one_pointer() {
        // A `CallResult` holds an `Option<ToolError>`: 100,000 results
        // should not carry a message, a cause and a flag each for nothing.
        assert_eq!(size_of::<Option<ToolError>>(), size_of::<usize>());
    }

    #[test]
    fn an_error_keeps_its_cause() {
        let io = std::io::Error::other("disk full");
        let error = ToolError::from_error(io).retryable(true);
        assert_eq!(error.message(), "disk full");
        assert!(error.is_retryable());
        let cause = error.source().expect("a cause");
        assert!(cause.downcast_ref::<std::io::Error>().is_some());
        let back: ToolError =
            serde_json::from_str(&serde_json::to_string(&error).expect("ser")).expect("de");
        assert_eq!(back, error);
    }
}
