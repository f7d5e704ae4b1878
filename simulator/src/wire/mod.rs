//! The wire formats the server speaks, one module each, over one engine: a
//! format reads its request body into the neutral `ChatRequest`, and writes
//! the engine's timed reply (whole or streamed) and its errors in its own
//! shapes.

pub(crate) mod anthropic;
pub(crate) mod anthropic_routes;
pub(crate) mod chat;
pub(crate) mod chat_body;
mod chat_messages;
pub(crate) mod gemini;
mod json_scan;
mod media;
pub(crate) mod responses;
mod sse;
pub(crate) mod threads;

use std::sync::Arc;
use std::time::Duration;

use hyper::HeaderMap;
use hyper::body::Bytes;
use hyper::header::{HeaderName, HeaderValue, ValuesMut};
use serde_json::Value;
use toolcall_runtime::{ChatRequest, StreamEvent, ToolCallDelta};

pub(crate) use crate::engine::Envelope;
use crate::engine::{Asks, Engine, ReplyPlan, Tools};

pub use crate::engine::ApiError;
pub(crate) use sse::{Around, Sse, fields, write_str};

/// A request body read by a format.
pub(crate) struct Parsed<O> {
    /// The neutral request the engine plans from (its `tools` left empty).
    pub request: ChatRequest,
    /// The tools offered: shared, as the same list comes every turn.
    pub tools: Arc<Tools>,
    /// Whether the reply streams.
    pub stream: bool,
    /// What else the request asked of its reply's shape.
    pub options: O,
    /// What it asked of the reply's content (length, format).
    pub asks: Asks,
}

/// Frames of a streamed reply, each with its offset from the request's
/// arrival, and when the connection drops (a simulated disconnect).
pub(crate) type Frames = (Vec<(Duration, Bytes)>, Option<Duration>);

/// One wire format of the simulated API.
pub(crate) trait Format: Send + Sync + 'static {
    /// What a request asks of its reply beyond the neutral request.
    type Options: Send + Sync;

    /// Its place in per-format tables (0, 1, 2).
    const SLOT: usize;
    /// The format's name in a fixture's `endpoint` match.
    const ENDPOINT: crate::engine::fixture::Endpoint;

    /// Headers every reply carries, the same each time (rate limits).
    const FIXED_HEADERS: &'static [(&'static str, &'static str)] = &[];

    /// The headers [`reply_headers`](Self::reply_headers) sets, in its
    /// order: a reply's header map is built with room for them (each then
    /// replaces a blank), so that setting them grows nothing.
    const REPLY_HEADERS: &'static [&'static str] = &[];
    /// How the journal reads a request's own fields again from its body,
    /// for a format whose reading depends on the body alone (`None`: the
    /// journal keeps them as read).
    const REREAD: Option<crate::engine::journal::Reread> = None;

    /// The prefix of reply ids (`chatcmpl-`, `msg_`, `resp_`).
    fn id_prefix(&self) -> &'static str;

    /// The prefix of tool call ids (`call_`, `toolu_`).
    fn call_id_prefix(&self) -> &'static str {
        "call_"
    }

    /// The HTTP status this format answers `error` with.
    fn status(&self, error: &ApiError) -> u16 {
        error.status
    }

    /// Whether the request's credentials match `key`; the error to answer if not.
    fn authorize(&self, headers: &HeaderMap, key: &str) -> Result<(), ApiError>;

    /// Read a request body as the API does. A refused body is journalled
    /// (`engine.reject`) and comes back as the error to answer.
    fn parse(&self, engine: &Engine, body: &[u8]) -> Result<Parsed<Self::Options>, ApiError>;

    /// The whole reply's JSON body.
    fn reply(&self, envelope: &Envelope, plan: &ReplyPlan, options: &Self::Options) -> Vec<u8>;

    /// The streamed reply's frames.
    fn frames(&self, envelope: &Envelope, plan: &ReplyPlan, options: &Self::Options) -> Frames;

    /// The JSON body of an error.
    fn error_body(&self, error: &ApiError) -> Value;

    /// Headers a reply carries besides the content type and the fixed
    /// ones (request id, timing): one value for each of
    /// [`REPLY_HEADERS`](Self::REPLY_HEADERS), in its order.
    fn reply_headers(&self, envelope: &Envelope, processing: Duration, blanks: &mut Blanks<'_>);

    /// Keep a planned reply, for a format whose server stores responses
    /// (Responses: `previous_response_id`, `GET /v1/responses/{id}`).
    fn remember(&self, _envelope: &Envelope, _plan: &ReplyPlan, _options: &Self::Options) {}
}

/// A header's count of milliseconds; zero, the common value at zero
/// latency, without the allocation a number's text takes.
pub(crate) fn millis(time: Duration) -> HeaderValue {
    match time.as_millis() {
        0 => HeaderValue::from_static("0"),
        ms => HeaderValue::from(u64::try_from(ms).unwrap_or(u64::MAX)),
    }
}

/// The blank values a reply's header map ends with, filled in order by
/// place: no name is hashed again, as each `insert` would.
pub(crate) struct Blanks<'a> {
    values: ValuesMut<'a, HeaderValue>,
    /// A value that could not be one was left blank.
    missed: bool,
}

impl<'a> Blanks<'a> {
    /// The last `count` values of `headers`, to fill.
    pub(crate) fn new(headers: &'a mut HeaderMap, count: usize) -> Blanks<'a> {
        let before = headers.len().saturating_sub(count);
        let mut values = headers.values_mut();
        for _ in 0..before {
            values.next();
        }
        Blanks {
            values,
            missed: false,
        }
    }

    /// Fill the next blank; `None` (bytes a header cannot hold) leaves it
    /// blank, and [`drop_blank`] then removes it.
    pub(crate) fn fill(&mut self, value: Option<HeaderValue>) {
        match (self.values.next(), value) {
            (Some(slot), Some(value)) => *slot = value,
            _ => self.missed = true,
        }
    }

    /// Whether a blank was left unfilled.
    pub(crate) fn missed(&self) -> bool {
        self.missed
    }
}

/// Remove the headers of `names` whose value is still blank: a header
/// without a value is left out, not sent empty.
pub(crate) fn drop_blank(headers: &mut HeaderMap, names: impl IntoIterator<Item = HeaderName>) {
    for name in names {
        if headers.get(&name).is_some_and(HeaderValue::is_empty) {
            headers.remove(&name);
        }
    }
}

/// What is wrong with a list of strings (stop sequences): each format
/// words its own error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NotStrings {
    /// Not an array.
    NotAList,
    /// An array with an item that is not a string.
    NotAString,
}

/// A parameter that is a list of strings: empty when absent or `null`.
pub(crate) fn string_list(value: Option<&Value>) -> Result<Vec<String>, NotStrings> {
    match value {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .map(|s| s.as_str().map(str::to_owned))
            .collect::<Option<_>>()
            .ok_or(NotStrings::NotAString),
        Some(_) => Err(NotStrings::NotAList),
    }
}

/// The first top-level key of a body object that is not in `known`: the
/// parameter the API refuses as unknown.
pub(crate) fn unknown_key<'a>(body: &'a Value, known: &[&str]) -> Option<&'a str> {
    body.as_object()?
        .keys()
        .map(String::as_str)
        .find(|key| !known.contains(key))
}

pub(crate) fn to_json(value: &impl serde::Serialize) -> Vec<u8> {
    // Room for a typical reply: growing it on the way copies it each time.
    let mut bytes = Vec::with_capacity(2048);
    // The bodies are plain data with string keys: writing them cannot fail;
    // an empty object is the safe fallback.
    if serde_json::to_writer(&mut bytes, value).is_err() {
        bytes.clear();
        bytes.extend_from_slice(b"{}");
    }
    bytes
}

/// The reply's events as the formats that send one block (Anthropic) or
/// output item (Responses) after another present them: a block is whole
/// before the next starts (the fragments of interleaved calls go call by
/// call, on the same clock ticks), a call's index is its block's (after a
/// text block, one more), and its block's stop, [`StreamEvent::ToolCallDone`],
/// comes with its last fragment: that is when a client may run it. Both the
/// SSE frames and the in-process model in those formats are drawn from these.
pub(crate) fn block_events(reply: &ReplyPlan) -> Vec<(Duration, StreamEvent)> {
    let mut events: Vec<&StreamEvent> = reply.chunks.iter().map(|(_, e)| e).collect();
    events.sort_by_key(|event| match event {
        StreamEvent::ToolCall(delta) => 1 + u64::from(delta.index),
        _ => 0,
    });
    let shift = u32::from(matches!(events.first(), Some(StreamEvent::Text(_))));
    let mut out = Vec::with_capacity(events.len() + reply.response.tool_calls.len());
    for (i, (at, event)) in reply
        .chunks
        .iter()
        .map(|(at, _)| *at)
        .zip(&events)
        .enumerate()
    {
        match event {
            StreamEvent::ToolCall(delta) => {
                let index = delta.index + shift;
                out.push((
                    at,
                    StreamEvent::ToolCall(ToolCallDelta {
                        index,
                        ..delta.clone()
                    }),
                ));
                let last = !matches!(events.get(i + 1), Some(StreamEvent::ToolCall(next)) if next.index == delta.index);
                if last {
                    out.push((at, StreamEvent::ToolCallDone(index)));
                }
            }
            other => out.push((at, (*other).clone())),
        }
    }
    out
}

/// The events sent before a disconnect after `keep` of the plan's chunks
/// (a block's stop goes with its last fragment).
pub(crate) fn kept(events: &[(Duration, StreamEvent)], keep: usize) -> usize {
    let mut sent = 0;
    events
        .iter()
        .position(|(_, e)| {
            if !matches!(e, StreamEvent::ToolCallDone(_)) {
                sent += 1;
            }
            sent > keep
        })
        .unwrap_or(events.len())
}

/// A reply with escapes in its text and arguments, for the formats' tests.
#[cfg(test)]
pub(crate) mod sample {
    use std::time::Duration;

    use toolcall_runtime::{
        ChatResponse, FinishReason, StreamEvent, ToolCall, ToolCallDelta, Usage,
    };

    use super::Envelope;
    use crate::engine::ReplyPlan;

    pub fn envelope() -> Envelope {
        Envelope {
            id: "chatcmpl-1".into(),
            created: 7,
            model: "gpt-4o-mini".into(),
            fingerprint: "fp_1".into(),
        }
    }

    fn call(index: u32, first: bool, arguments: &str) -> StreamEvent {
        StreamEvent::ToolCall(ToolCallDelta {
            index,
            id: first.then(|| format!("call_{index}")),
            name: first.then(|| "get_weather".to_owned()),
            arguments: Some(arguments.to_owned()),
        })
    }

    /// Text, then two calls whose fragments interleave; with `text` false,
    /// the calls alone.
    pub fn reply(text: bool) -> ReplyPlan {
        let at = Duration::from_millis;
        let mut chunks = vec![
            (at(1), StreamEvent::Text("hé \"quoted\"\n\u{1} \\".into())),
            (at(1), StreamEvent::Text(String::new())),
            (at(2), call(0, true, "")),
            (at(2), call(0, false, "{\"city\":")),
            (at(3), call(1, true, "{}")),
            (at(3), call(0, false, "\"Oslo\u{7f}\"}")),
            (at(4), call(1, false, "")),
        ];
        if !text {
            chunks.drain(..2);
        }
        let calls = [("call_0", "{\"city\":\"Oslo\u{7f}\"}"), ("call_1", "{}")];
        ReplyPlan {
            response: ChatResponse {
                content: text.then(|| "hé \"quoted\"\n\u{1} \\".to_owned()),
                tool_calls: calls
                    .map(|(id, arguments)| ToolCall::new(id, "get_weather", arguments))
                    .into(),
                finish_reason: Some(FinishReason::ToolCalls),
                usage: Some(Usage::new(1, 2)),
            },
            stall: Duration::ZERO,
            role_at: at(0),
            chunks,
            end: at(5),
            disconnect_after: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_string_list_is_strings_or_nothing() {
        assert_eq!(string_list(None), Ok(Vec::new()));
        assert_eq!(string_list(Some(&Value::Null)), Ok(Vec::new()));
        assert_eq!(
            string_list(Some(&json!(["a", "b"]))),
            Ok(vec!["a".to_owned(), "b".to_owned()])
        );
        assert_eq!(
            string_list(Some(&json!(["a", 1]))),
            Err(NotStrings::NotAString)
        );
        assert_eq!(string_list(Some(&json!("a"))), Err(NotStrings::NotAList));
    }
}
