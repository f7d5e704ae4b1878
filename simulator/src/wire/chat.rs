//! The OpenAI Chat Completions wire format: the request body, completion and
//! chunk bodies and their SSE frames, and OpenAI-shaped errors,
//! byte-compatible with what the real API sends.

use std::time::Duration;

use hyper::HeaderMap;
use hyper::body::Bytes;
use hyper::header::{self, HeaderValue};
use serde_json::{Value, json};
use toolcall_runtime::{ChatResponse, FinishReason, StreamEvent, Usage};

use super::{ApiError, Envelope, Format, Frames, Parsed, data_frame};
use crate::engine::{Engine, ReplyPlan};

/// `POST /v1/chat/completions`.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Chat;

/// What a chat request asks of its reply's shape.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct ChatOptions {
    /// `stream_options.include_usage: true`.
    pub include_usage: bool,
    /// `tool_choice` forces a call (a named function, or `required`): the
    /// API then ends with `finish_reason: "stop"`, not `"tool_calls"`.
    pub forced: bool,
}

impl Format for Chat {
    type Options = ChatOptions;

    fn id_prefix(&self) -> &'static str {
        "chatcmpl-"
    }

    fn authorize(&self, headers: &HeaderMap, key: &str) -> Result<(), ApiError> {
        let given = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok());
        let bearer = given.map(|v| v.strip_prefix("Bearer ").unwrap_or(v).trim());
        if bearer == Some(key) {
            Ok(())
        } else {
            Err(ApiError::unauthorized(bearer))
        }
    }

    fn parse(&self, engine: &Engine, body: &[u8]) -> Result<Parsed<ChatOptions>, ApiError> {
        super::chat_body::read_chat_body(engine, body)
    }

    fn reply(&self, envelope: &Envelope, plan: &ReplyPlan, options: &ChatOptions) -> Value {
        completion(envelope, &plan.response, options)
    }

    fn frames(&self, envelope: &Envelope, plan: &ReplyPlan, options: &ChatOptions) -> Frames {
        frames(envelope, plan, options)
    }

    fn status(&self, error: &ApiError) -> u16 {
        // OpenAI says "overloaded" with a 503.
        if error.status == 529 {
            503
        } else {
            error.status
        }
    }

    fn error_body(&self, error: &ApiError) -> Value {
        error.body()
    }

    fn reply_headers(&self, envelope: &Envelope, processing: Duration, headers: &mut HeaderMap) {
        openai_reply_headers(self.id_prefix(), envelope, processing, headers);
    }
}

/// The headers OpenAI's replies carry: the request id (from the reply's id
/// without its `prefix`) and the processing time.
pub(crate) fn openai_reply_headers(
    prefix: &str,
    envelope: &Envelope,
    processing: Duration,
    headers: &mut HeaderMap,
) {
    let request_id = format!("req_{}", envelope.id.trim_start_matches(prefix));
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        headers.insert("x-request-id", value);
    }
    headers.insert(
        "openai-processing-ms",
        HeaderValue::from(processing.as_millis() as u64),
    );
    for (name, value) in RATE_LIMITS {
        headers.insert(*name, HeaderValue::from_static(value));
    }
}

/// The `x-ratelimit-*` headers of a reply: a generous fixed quota, never
/// used up (a 429 fault says `remaining-requests: 0` instead).
pub(crate) const RATE_LIMITS: &[(&str, &str)] = &[
    ("x-ratelimit-limit-requests", "10000"),
    ("x-ratelimit-remaining-requests", "9999"),
    ("x-ratelimit-reset-requests", "6ms"),
    ("x-ratelimit-limit-tokens", "30000000"),
    ("x-ratelimit-remaining-tokens", "29999000"),
    ("x-ratelimit-reset-tokens", "2ms"),
];

/// The wire name of a finish reason; calls forced by `tool_choice` end
/// with "stop", as the API's do.
fn finish_name(reason: FinishReason, forced: bool) -> &'static str {
    match reason {
        FinishReason::ToolCalls if forced => "stop",
        FinishReason::ToolCalls => "tool_calls",
        FinishReason::Length => "length",
        FinishReason::ContentFilter => "content_filter",
        _ => "stop",
    }
}

fn usage_json(usage: Usage) -> Value {
    json!({
        "prompt_tokens": usage.prompt_tokens,
        "completion_tokens": usage.completion_tokens,
        "total_tokens": usage.total_tokens,
        "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
        "completion_tokens_details": {
            "reasoning_tokens": 0,
            "audio_tokens": 0,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0
        }
    })
}

/// A whole `chat.completion` body.
pub(crate) fn completion(
    envelope: &Envelope,
    response: &ChatResponse,
    options: &ChatOptions,
) -> Value {
    let mut message = json!({
        "role": "assistant",
        "content": response.content,
        "refusal": null,
        "annotations": [],
    });
    if !response.tool_calls.is_empty() {
        message["tool_calls"] = response
            .tool_calls
            .iter()
            .map(|c| json!({"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}}))
            .collect();
    }
    json!({
        "id": envelope.id,
        "object": "chat.completion",
        "created": envelope.created,
        "model": envelope.model,
        "choices": [{
            "index": 0,
            "message": message,
            "logprobs": null,
            "finish_reason": response.finish_reason.map(|r| finish_name(r, options.forced)),
        }],
        "usage": response.usage.map(usage_json),
        "service_tier": "default",
        "system_fingerprint": envelope.fingerprint,
    })
}

/// One `chat.completion.chunk` with one choice.
fn chunk(
    envelope: &Envelope,
    delta: Value,
    finish: Option<&'static str>,
    with_usage: bool,
) -> Value {
    let mut chunk = json!({
        "id": envelope.id,
        "object": "chat.completion.chunk",
        "created": envelope.created,
        "model": envelope.model,
        "service_tier": "default",
        "system_fingerprint": envelope.fingerprint,
        "choices": [{"index": 0, "delta": delta, "logprobs": null, "finish_reason": finish}],
    });
    // With include_usage, every chunk carries `usage: null` until the last.
    if with_usage {
        chunk["usage"] = Value::Null;
    }
    chunk
}

/// The first chunk: the role (content `""` before text, `null` before calls).
pub(crate) fn role_chunk(envelope: &Envelope, text_first: bool, with_usage: bool) -> Value {
    let content = if text_first { json!("") } else { Value::Null };
    chunk(
        envelope,
        json!({"role": "assistant", "content": content, "refusal": null}),
        None,
        with_usage,
    )
}

/// The chunk of one text or tool-call event; `None` for finish and usage.
pub(crate) fn event_chunk(
    envelope: &Envelope,
    event: &StreamEvent,
    with_usage: bool,
) -> Option<Value> {
    let delta = match event {
        StreamEvent::Text(text) => json!({"content": text}),
        StreamEvent::ToolCall(delta) => {
            let mut call = json!({"index": delta.index});
            if let Some(id) = &delta.id {
                call["id"] = json!(id);
                call["type"] = json!("function");
            }
            let mut function = serde_json::Map::new();
            if let Some(name) = &delta.name {
                function.insert("name".into(), json!(name));
            }
            if let Some(arguments) = &delta.arguments {
                function.insert("arguments".into(), json!(arguments));
            }
            call["function"] = Value::Object(function);
            json!({"tool_calls": [call]})
        }
        _ => return None,
    };
    Some(chunk(envelope, delta, None, with_usage))
}

/// The chunk that says why the model stopped.
pub(crate) fn finish_chunk(
    envelope: &Envelope,
    reason: FinishReason,
    options: &ChatOptions,
) -> Value {
    chunk(
        envelope,
        json!({}),
        Some(finish_name(reason, options.forced)),
        options.include_usage,
    )
}

/// The last chunk with `stream_options.include_usage`: no choices, the usage.
pub(crate) fn usage_chunk(envelope: &Envelope, usage: Usage) -> Value {
    json!({
        "id": envelope.id,
        "object": "chat.completion.chunk",
        "created": envelope.created,
        "model": envelope.model,
        "service_tier": "default",
        "system_fingerprint": envelope.fingerprint,
        "choices": [],
        "usage": usage_json(usage),
    })
}

/// The `GET /v1/models` body.
pub(crate) fn models(names: &[String], created: u64) -> Value {
    json!({
        "object": "list",
        "data": names.iter().map(|n| model(n, created)).collect::<Vec<_>>(),
    })
}

/// One model object.
pub(crate) fn model(name: &str, created: u64) -> Value {
    json!({"id": name, "object": "model", "created": created, "owned_by": "toolcall-sim"})
}

/// The last frame of a stream that ended normally.
pub(crate) const DONE: &[u8] = b"data: [DONE]\n\n";

/// The frames of a reply (`data: {chunk}` and `[DONE]`), each with its
/// offset from the request's arrival; the second value is when the
/// connection drops, for a disconnect.
pub(crate) fn frames(envelope: &Envelope, reply: &ReplyPlan, options: &ChatOptions) -> Frames {
    let include_usage = options.include_usage;
    let mut frames = Vec::with_capacity(reply.chunks.len() + 4);
    frames.push((
        reply.role_at,
        data_frame(&role_chunk(envelope, reply.text_first(), include_usage)),
    ));
    let keep = reply.disconnect_after.unwrap_or(usize::MAX);
    for (at, event) in reply.chunks.iter().take(keep) {
        if let Some(chunk) = event_chunk(envelope, event, include_usage) {
            frames.push((*at, data_frame(&chunk)));
        }
    }
    if let Some(drop) = reply.drop_at() {
        return (frames, Some(drop));
    }
    if let Some(reason) = reply.response.finish_reason {
        frames.push((
            reply.end,
            data_frame(&finish_chunk(envelope, reason, options)),
        ));
    }
    if include_usage && let Some(usage) = reply.response.usage {
        frames.push((reply.end, data_frame(&usage_chunk(envelope, usage))));
    }
    frames.push((reply.end, Bytes::from_static(DONE)));
    (frames, None)
}
