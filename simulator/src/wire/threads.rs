//! Anthropic Messages with server-held threads (the `message-threads`
//! beta the official SDKs' tool runners use): a request with
//! `thread: {"type": "create"}` asks the server to keep its conversation
//! under the reply's id; one with `{"type": "continue", "previous_message_id"}`
//! sends only the new turn (the tool results), without `system` and `tools`,
//! which the thread keeps. The server reads it as the kept conversation plus
//! the new messages, as `/v1/responses` does with `previous_response_id`:
//! the engine sees, pairs and journals the whole transcript.

use std::collections::VecDeque;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use hyper::HeaderMap;
use serde_json::{Map, Value, json};

use super::anthropic::{self, Anthropic};
use super::responses::STORED_RESPONSES;
use super::{ApiError, Blanks, Envelope, Format, Frames, Parsed};
use crate::engine::{Engine, ReplyPlan};

/// Request fields a `continue` takes from its thread and may not repeat.
const CREATE_ONLY_FIELDS: [&str; 2] = ["system", "tools"];

/// `POST /v1/messages`, with the threads it keeps.
#[derive(Debug, Default)]
pub(crate) struct Messages {
    threads: Mutex<VecDeque<Kept>>,
}

/// A thread as its last reply left it: the request body's `system`, `tools`
/// and `messages` with that reply appended, ready for the next turn.
#[derive(Debug, Clone)]
struct Kept {
    id: String,
    body: Map<String, Value>,
    /// A reply is continued once; the next turn continues from the newer one.
    continued: bool,
}

/// What a threaded request leaves for its reply to keep.
#[derive(Debug, Clone, Default)]
pub(crate) struct ThreadOptions {
    /// The whole conversation as sent (for a `create` or `continue`).
    keep: Option<Map<String, Value>>,
    /// The reply this request continued from.
    previous: Option<String>,
}

impl Messages {
    fn lock(&self) -> MutexGuard<'_, VecDeque<Kept>> {
        self.threads
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The request with its thread's history folded in, and what to keep.
    fn resolve(&self, mut value: Value) -> Result<(Value, ThreadOptions), ApiError> {
        let Some(thread) = value.get("thread").filter(|t| !t.is_null()).cloned() else {
            return Ok((value, ThreadOptions::default()));
        };
        let keep_fields = |value: &Value| {
            let mut body = Map::new();
            for field in CREATE_ONLY_FIELDS.iter().chain(&["messages"]) {
                if let Some(v) = value.get(*field).filter(|v| !v.is_null()) {
                    body.insert((*field).to_owned(), v.clone());
                }
            }
            body
        };
        match thread.get("type").and_then(Value::as_str) {
            Some("create") => {
                let keep = keep_fields(&value);
                Ok((
                    value,
                    ThreadOptions {
                        keep: Some(keep),
                        previous: None,
                    },
                ))
            }
            Some("continue") => {
                let id = thread
                    .get("previous_message_id")
                    .and_then(Value::as_str)
                    .ok_or_else(|| invalid("thread.continue.previous_message_id: Field required"))?
                    .to_owned();
                if let Some(field) = CREATE_ONLY_FIELDS
                    .iter()
                    .find(|f| value.get(**f).is_some_and(|v| !v.is_null()))
                {
                    return Err(invalid(format!(
                        "{field}: a thread `continue` takes `{field}` from the thread; do not send it again"
                    )));
                }
                let kept = self
                    .lock()
                    .iter()
                    .find(|k| k.id == id)
                    .cloned()
                    .ok_or_else(|| thread_not_found(&id))?;
                if kept.continued {
                    return Err(ApiError {
                        code: Some("thread_already_continued".into()),
                        ..invalid(format!(
                            "thread.continue.previous_message_id: `{id}` was already continued; continue from the thread's most recent message"
                        ))
                    });
                }
                let new = match value.get("messages") {
                    Some(Value::Array(new)) => new.clone(),
                    None | Some(Value::Null) => Vec::new(),
                    Some(_) => return Err(invalid("messages: Input should be a valid list")),
                };
                let mut body = kept.body;
                if let Some(Value::Array(messages)) = body.get_mut("messages") {
                    messages.extend(new);
                }
                if let Value::Object(request) = &mut value {
                    for (field, v) in &body {
                        request.insert(field.clone(), v.clone());
                    }
                }
                Ok((
                    value,
                    ThreadOptions {
                        keep: Some(body),
                        previous: Some(id),
                    },
                ))
            }
            _ => Err(invalid(
                "thread.type: Input should be 'create' or 'continue'",
            )),
        }
    }
}

fn invalid(message: impl Into<String>) -> ApiError {
    ApiError::invalid_request(message, None)
}

/// 404 `thread_not_found`: the SDKs then replay the whole history under a
/// new thread.
fn thread_not_found(id: &str) -> ApiError {
    ApiError {
        status: 404,
        kind: "not_found_error".into(),
        code: Some("thread_not_found".into()),
        ..invalid(format!(
            "thread.continue.previous_message_id: no thread holds message `{id}`"
        ))
    }
}

impl Format for Messages {
    type Options = ThreadOptions;
    const SLOT: usize = Anthropic::SLOT;
    const ENDPOINT: crate::engine::fixture::Endpoint = Anthropic::ENDPOINT;
    const REPLY_HEADERS: &'static [&'static str] = Anthropic::REPLY_HEADERS;

    fn id_prefix(&self) -> &'static str {
        Anthropic.id_prefix()
    }

    fn call_id_prefix(&self) -> &'static str {
        Anthropic.call_id_prefix()
    }

    fn authorize(&self, headers: &HeaderMap, key: &str) -> Result<(), ApiError> {
        Anthropic.authorize(headers, key)
    }

    fn parse(&self, engine: &Engine, body: &[u8]) -> Result<Parsed<ThreadOptions>, ApiError> {
        let value: Value = match serde_json::from_slice(body) {
            Ok(value @ Value::Object(_)) => value,
            // Not an object: the plain format words the refusal.
            _ => {
                return Anthropic
                    .parse(engine, body)
                    .map(with(ThreadOptions::default()));
            }
        };
        let (value, options) = match self.resolve(value.clone()) {
            Ok(resolved) => resolved,
            Err(error) => {
                let model = value.get("model").and_then(Value::as_str).unwrap_or("");
                engine.reject(&error, model, false);
                return Err(error);
            }
        };
        anthropic::parse_value(engine, &value).map(with(options))
    }

    fn reply(&self, envelope: &Envelope, plan: &ReplyPlan, _: &ThreadOptions) -> Vec<u8> {
        Anthropic.reply(envelope, plan, &())
    }

    fn frames(&self, envelope: &Envelope, plan: &ReplyPlan, _: &ThreadOptions) -> Frames {
        Anthropic.frames(envelope, plan, &())
    }

    fn error_body(&self, error: &ApiError) -> Value {
        Anthropic.error_body(error)
    }

    fn reply_headers(&self, envelope: &Envelope, processing: Duration, blanks: &mut Blanks<'_>) {
        Anthropic.reply_headers(envelope, processing, blanks);
    }

    fn remember(&self, envelope: &Envelope, plan: &ReplyPlan, options: &ThreadOptions) {
        // A reply cut short by a disconnect is not held.
        let Some(mut body) = options.keep.clone().filter(|_| plan.drop_at().is_none()) else {
            return;
        };
        let reply = anthropic::message(envelope, &plan.response);
        let turn = json!({"role": "assistant", "content": reply["content"].clone()});
        match body.get_mut("messages") {
            Some(Value::Array(messages)) => messages.push(turn),
            _ => {
                body.insert("messages".into(), json!([turn]));
            }
        }
        let mut threads = self.lock();
        if let Some(previous) = &options.previous
            && let Some(kept) = threads.iter_mut().find(|k| &k.id == previous)
        {
            kept.continued = true;
        }
        if threads.len() >= STORED_RESPONSES {
            threads.pop_front();
        }
        threads.push_back(Kept {
            id: envelope.id.clone(),
            body,
            continued: false,
        });
    }
}

/// Swap a parsed request's options for `options`.
fn with(options: ThreadOptions) -> impl FnOnce(Parsed<()>) -> Parsed<ThreadOptions> {
    move |parsed| Parsed {
        request: parsed.request,
        tools: parsed.tools,
        stream: parsed.stream,
        options,
        asks: parsed.asks,
    }
}
