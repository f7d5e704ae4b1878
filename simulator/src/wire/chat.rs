//! The OpenAI Chat Completions wire format: the request body, completion and
//! chunk bodies and their SSE frames, and OpenAI-shaped errors,
//! byte-compatible with what the real API sends.

use std::sync::LazyLock;
use std::time::Duration;

use hyper::HeaderMap;
use hyper::body::Bytes;
use hyper::header::{self, HeaderValue};
use serde::Serialize;
use serde_json::value::RawValue;
use serde_json::{Value, json};
use toolcall_runtime::{ChatResponse, FinishReason, StreamEvent, ToolCallDelta, Usage};

pub(crate) use super::chat_body::ChatOptions;
use super::{ApiError, Around, Blanks, Envelope, Format, Frames, Parsed, Sse, fields, write_str};
use crate::engine::{Engine, ReplyPlan};

/// `POST /v1/chat/completions`.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Chat;

impl Format for Chat {
    type Options = ChatOptions;
    const SLOT: usize = 0;
    const ENDPOINT: crate::engine::fixture::Endpoint = crate::engine::fixture::Endpoint::Chat;
    const FIXED_HEADERS: &'static [(&'static str, &'static str)] = RATE_LIMITS;
    const REPLY_HEADERS: &'static [&'static str] = OPENAI_REPLY_HEADERS;
    const REREAD: Option<crate::engine::journal::Reread> = Some(super::chat_body::reread);

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

    fn reply(&self, envelope: &Envelope, plan: &ReplyPlan, options: &ChatOptions) -> Vec<u8> {
        // Room for a typical reply: growing it on the way copies it each time.
        let mut bytes = Vec::with_capacity(1024);
        completion(envelope, &plan.response, options).write(&mut bytes);
        bytes
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

    fn reply_headers(&self, envelope: &Envelope, processing: Duration, blanks: &mut Blanks<'_>) {
        openai_reply_headers(self.id_prefix(), envelope, processing, blanks);
    }
}

/// The headers OpenAI's replies carry: the request id (from the reply's id
/// without its `prefix`) and the processing time.
pub(crate) fn openai_reply_headers(
    prefix: &str,
    envelope: &Envelope,
    processing: Duration,
    blanks: &mut Blanks<'_>,
) {
    // Ids are the prefix and alphanumerics: one strip is the whole prefix.
    let id = envelope.id.strip_prefix(prefix).unwrap_or(&envelope.id);
    let mut request_id = Vec::with_capacity(4 + id.len());
    request_id.extend_from_slice(b"req_");
    request_id.extend_from_slice(id.as_bytes());
    blanks.fill(HeaderValue::from_maybe_shared(Bytes::from(request_id)).ok());
    blanks.fill(Some(super::millis(processing)));
}

/// What [`openai_reply_headers`] sets, in order.
pub(crate) const OPENAI_REPLY_HEADERS: &[&str] = &["x-request-id", "openai-processing-ms"];

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

/// The wire name of a finish reason; calls to the function `tool_choice`
/// names end with "stop", as the API's do.
fn finish_name(reason: FinishReason, forced: bool) -> &'static str {
    match reason {
        FinishReason::ToolCalls if forced => "stop",
        FinishReason::ToolCalls => "tool_calls",
        FinishReason::Length => "length",
        FinishReason::ContentFilter => "content_filter",
        _ => "stop",
    }
}

/// The `usage` object: typed, so a reply is written straight to bytes.
#[derive(Serialize)]
struct UsageOut {
    prompt_tokens: u32,
    completion_tokens: u32,
    total_tokens: u32,
    /// Always zeros here: written as they are, not field by field.
    prompt_tokens_details: &'static RawValue,
    completion_tokens_details: &'static RawValue,
}

/// The token details a simulated reply has: none cached, reasoning, audio or predicted.
static ZERO_DETAILS: LazyLock<[Box<RawValue>; 2]> = LazyLock::new(|| {
    [
        r#"{"cached_tokens":0,"audio_tokens":0}"#,
        r#"{"reasoning_tokens":0,"audio_tokens":0,"accepted_prediction_tokens":0,"rejected_prediction_tokens":0}"#,
    ]
    .map(|json| RawValue::from_string(json.to_owned()).unwrap_or_else(|_| unreachable!("valid JSON")))
});

impl UsageOut {
    /// The object `serde_json` writes for it, its names copied as they are.
    fn write(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(br#"{"prompt_tokens":"#);
        write_number(out, self.prompt_tokens);
        out.extend_from_slice(br#","completion_tokens":"#);
        write_number(out, self.completion_tokens);
        out.extend_from_slice(br#","total_tokens":"#);
        write_number(out, self.total_tokens);
        out.extend_from_slice(br#","prompt_tokens_details":"#);
        out.extend_from_slice(self.prompt_tokens_details.get().as_bytes());
        out.extend_from_slice(br#","completion_tokens_details":"#);
        out.extend_from_slice(self.completion_tokens_details.get().as_bytes());
        out.push(b'}');
    }
}

impl From<Usage> for UsageOut {
    fn from(usage: Usage) -> Self {
        let [prompt, completion] = &*ZERO_DETAILS;
        UsageOut {
            prompt_tokens: usage.prompt_tokens,
            completion_tokens: usage.completion_tokens,
            total_tokens: usage.total_tokens,
            prompt_tokens_details: prompt,
            completion_tokens_details: completion,
        }
    }
}

/// A whole `chat.completion` body.
#[derive(Serialize)]
pub(crate) struct Completion<'a> {
    id: &'a str,
    object: &'static str,
    created: u64,
    model: &'a str,
    choices: [CompletionChoice<'a>; 1],
    usage: Option<UsageOut>,
    service_tier: &'static str,
    system_fingerprint: &'a str,
}

#[derive(Serialize)]
struct CompletionChoice<'a> {
    index: u32,
    message: MessageOut<'a>,
    logprobs: Option<()>,
    finish_reason: Option<&'static str>,
}

#[derive(Serialize)]
struct MessageOut<'a> {
    role: &'static str,
    content: Option<&'a str>,
    refusal: Option<()>,
    annotations: [(); 0],
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    tool_calls: Vec<CallOut<'a>>,
}

#[derive(Serialize)]
struct CallOut<'a> {
    id: &'a str,
    #[serde(rename = "type")]
    kind: &'static str,
    function: FunctionOut<'a>,
}

#[derive(Serialize)]
struct FunctionOut<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    arguments: Option<&'a str>,
}

impl Completion<'_> {
    /// The body `serde_json` writes for it, its fixed names and words
    /// copied as they are: only the reply's own strings are escaped.
    fn write(&self, out: &mut Vec<u8>) {
        let [choice] = &self.choices;
        let message = &choice.message;
        out.extend_from_slice(br#"{"id":"#);
        write_str(out, self.id);
        out.extend_from_slice(br#","object":"#);
        write_plain(out, self.object);
        out.extend_from_slice(br#","created":"#);
        write_number(out, self.created);
        out.extend_from_slice(br#","model":"#);
        write_str(out, self.model);
        out.extend_from_slice(br#","choices":[{"index":"#);
        write_number(out, choice.index);
        out.extend_from_slice(br#","message":{"role":"#);
        write_plain(out, message.role);
        out.extend_from_slice(br#","content":"#);
        write_option_str(out, message.content);
        out.extend_from_slice(br#","refusal":null,"annotations":[]"#);
        for (i, call) in message.tool_calls.iter().enumerate() {
            out.extend_from_slice(if i == 0 { br#","tool_calls":["# } else { b"," });
            out.extend_from_slice(br#"{"id":"#);
            write_str(out, call.id);
            out.extend_from_slice(br#","type":"#);
            write_plain(out, call.kind);
            out.extend_from_slice(br#","function":"#);
            let mut sep = b'{';
            for (name, value) in [
                ("name", call.function.name),
                ("arguments", call.function.arguments),
            ] {
                if let Some(value) = value {
                    out.push(sep);
                    write_plain(out, name);
                    out.push(b':');
                    write_str(out, value);
                    sep = b',';
                }
            }
            if sep == b'{' {
                out.push(b'{');
            }
            out.extend_from_slice(b"}}");
        }
        if !message.tool_calls.is_empty() {
            out.push(b']');
        }
        out.extend_from_slice(br#"},"logprobs":null,"finish_reason":"#);
        write_option_str(out, choice.finish_reason);
        out.extend_from_slice(br#"}],"usage":"#);
        match &self.usage {
            // Plain data into a vector: writing cannot fail.
            Some(usage) => usage.write(out),
            None => out.extend_from_slice(b"null"),
        }
        out.extend_from_slice(br#","service_tier":"#);
        write_plain(out, self.service_tier);
        out.extend_from_slice(br#","system_fingerprint":"#);
        write_str(out, self.system_fingerprint);
        out.push(b'}');
    }
}

/// A constant of the format (a type, a role, a key) as a JSON string: it
/// has nothing to escape, so it is not scanned for it.
fn write_plain(out: &mut Vec<u8>, text: &'static str) {
    debug_assert!(super::json_scan::special(text.as_bytes()).is_none());
    out.push(b'"');
    out.extend_from_slice(text.as_bytes());
    out.push(b'"');
}

/// A number as JSON (writing into a vector cannot fail).
fn write_number(out: &mut Vec<u8>, number: impl Into<u64>) {
    let _ = serde_json::to_writer(&mut *out, &number.into());
}

/// A string or `null`.
fn write_option_str(out: &mut Vec<u8>, text: Option<&str>) {
    match text {
        Some(text) => write_str(out, text),
        None => out.extend_from_slice(b"null"),
    }
}

/// A whole `chat.completion` body.
pub(crate) fn completion<'a>(
    envelope: &'a Envelope,
    response: &'a ChatResponse,
    options: &ChatOptions,
) -> Completion<'a> {
    Completion {
        id: &envelope.id,
        object: "chat.completion",
        created: envelope.created,
        model: &envelope.model,
        choices: [CompletionChoice {
            index: 0,
            message: MessageOut {
                role: "assistant",
                content: response.content.as_deref(),
                refusal: None,
                annotations: [],
                tool_calls: response
                    .tool_calls
                    .iter()
                    .map(|c| CallOut {
                        id: &c.id,
                        kind: "function",
                        function: FunctionOut {
                            name: Some(&c.name),
                            arguments: Some(&c.arguments),
                        },
                    })
                    .collect(),
            },
            logprobs: None,
            finish_reason: response
                .finish_reason
                .map(|r| finish_name(r, options.forced)),
        }],
        usage: response.usage.map(UsageOut::from),
        service_tier: "default",
        system_fingerprint: &envelope.fingerprint,
    }
}

/// The fields every `chat.completion.chunk` of a reply starts with, the
/// same in each: written once a reply.
#[derive(Serialize)]
struct ChunkHead<'a> {
    id: &'a str,
    object: &'static str,
    created: u64,
    model: &'a str,
    service_tier: &'static str,
    system_fingerprint: &'a str,
}

/// The rest of one `chat.completion.chunk`.
#[derive(Serialize)]
struct Chunk<'a> {
    /// One choice, or none (the usage chunk): an array either way.
    #[serde(serialize_with = "one_or_none")]
    choices: Option<ChunkChoice<'a>>,
    /// Absent without include_usage; `null` on every chunk but the last with it.
    #[serde(skip_serializing_if = "Option::is_none")]
    usage: Option<Option<UsageOut>>,
}

#[derive(Serialize)]
struct ChunkChoice<'a> {
    index: u32,
    delta: Delta<'a>,
    logprobs: Option<()>,
    finish_reason: Option<&'static str>,
}

/// A chunk's delta; fields left out are absent.
#[derive(Serialize, Default)]
struct Delta<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    role: Option<&'static str>,
    /// `Some(None)`: `"content": null`.
    #[serde(skip_serializing_if = "Option::is_none")]
    content: Option<Option<&'a str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    refusal: Option<Option<()>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tool_calls: Option<[CallDelta<'a>; 1]>,
}

#[derive(Serialize)]
struct CallDelta<'a> {
    index: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<&'a str>,
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    kind: Option<&'static str>,
    function: FunctionOut<'a>,
}

/// `[choice]` or `[]`, without a vector for it.
fn one_or_none<S: serde::Serializer>(
    choice: &Option<ChunkChoice<'_>>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.collect_seq(choice)
}

/// The head of every chunk of a reply.
fn chunk_head(envelope: &Envelope) -> ChunkHead<'_> {
    ChunkHead {
        id: &envelope.id,
        object: "chat.completion.chunk",
        created: envelope.created,
        model: &envelope.model,
        service_tier: "default",
        system_fingerprint: &envelope.fingerprint,
    }
}

/// One `chat.completion.chunk` with one choice.
fn chunk<'a>(delta: Delta<'a>, finish: Option<&'static str>, with_usage: bool) -> Chunk<'a> {
    Chunk {
        choices: Some(ChunkChoice {
            index: 0,
            delta,
            logprobs: None,
            finish_reason: finish,
        }),
        // With include_usage, every chunk carries `usage: null` until the last.
        usage: with_usage.then_some(None),
    }
}

/// The first chunk: the role (content `""` before text, `null` before calls).
fn role_chunk(text_first: bool, with_usage: bool) -> Chunk<'static> {
    let delta = Delta {
        role: Some("assistant"),
        content: Some(text_first.then_some("")),
        refusal: Some(None),
        tool_calls: None,
    };
    chunk(delta, None, with_usage)
}

/// The chunk of one text or tool-call event; `None` for finish and usage.
fn event_chunk(event: &StreamEvent, with_usage: bool) -> Option<Chunk<'_>> {
    let delta = match event {
        StreamEvent::Text(text) => Delta {
            content: Some(Some(text)),
            ..Delta::default()
        },
        StreamEvent::ToolCall(delta) => Delta {
            tool_calls: Some([CallDelta {
                index: delta.index,
                id: delta.id.as_deref(),
                kind: delta.id.as_ref().map(|_| "function"),
                function: FunctionOut {
                    name: delta.name.as_deref(),
                    arguments: delta.arguments.as_deref(),
                },
            }]),
            ..Delta::default()
        },
        _ => return None,
    };
    Some(chunk(delta, None, with_usage))
}

/// The chunk that says why the model stopped (the reason's wire name).
fn finish_chunk(name: &'static str, with_usage: bool) -> Chunk<'static> {
    chunk(Delta::default(), Some(name), with_usage)
}

/// The last chunk with `stream_options.include_usage`: no choices, the usage.
fn usage_chunk(usage: Usage) -> Chunk<'static> {
    Chunk {
        choices: None,
        usage: Some(Some(usage.into())),
    }
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

/// The chunks every reply with the same options writes alike, each
/// without and with `usage: null` ([`fields`]): written once a process.
struct Fixed {
    /// The role chunk, before calls and before text.
    role: [[Vec<u8>; 2]; 2],
    /// The finish chunk of each reason's wire name.
    finish: Vec<(&'static str, [Vec<u8>; 2])>,
}

static FIXED: LazyLock<Fixed> = LazyLock::new(|| {
    let both = |chunk: &dyn Fn(bool) -> Chunk<'static>| [false, true].map(|u| fields(&chunk(u)));
    Fixed {
        role: [false, true].map(|text_first| both(&|u| role_chunk(text_first, u))),
        finish: ["stop", "tool_calls", "length", "content_filter"]
            .into_iter()
            .map(|name| (name, both(&|u| finish_chunk(name, u))))
            .collect(),
    }
});

/// A text fragment (`None`) or a call's arguments fragment (its index),
/// and its text: the events whose chunks differ only in that text.
fn fragment(event: &StreamEvent) -> Option<(Option<u32>, &str)> {
    match event {
        StreamEvent::Text(text) => Some((None, text)),
        StreamEvent::ToolCall(ToolCallDelta {
            index,
            id: None,
            name: None,
            arguments: Some(arguments),
        }) => Some((Some(*index), arguments)),
        _ => None,
    }
}

/// The frame shapes of one reply's fragments, built on first use.
#[derive(Default)]
struct Shapes(Vec<(Option<u32>, Option<Around>)>);

impl Shapes {
    fn of(&mut self, key: Option<u32>, head: &[u8], with_usage: bool) -> Option<&Around> {
        let at = match self.0.iter().position(|(k, _)| *k == key) {
            Some(at) => at,
            None => {
                let placeholder = Around::PLACEHOLDER.to_owned();
                let event = match key {
                    None => StreamEvent::Text(placeholder),
                    Some(index) => StreamEvent::ToolCall(ToolCallDelta {
                        index,
                        id: None,
                        name: None,
                        arguments: Some(placeholder),
                    }),
                };
                let around = event_chunk(&event, with_usage)
                    .and_then(|chunk| Around::data_after(head, &chunk));
                self.0.push((key, around));
                self.0.len() - 1
            }
        };
        self.0[at].1.as_ref()
    }
}

/// The last frame of a stream that ended normally.
pub(crate) const DONE: &[u8] = b"data: [DONE]\n\n";

/// The frames of a reply (`data: {chunk}` and `[DONE]`), each with its
/// offset from the request's arrival; the second value is when the
/// connection drops, for a disconnect.
pub(crate) fn frames(envelope: &Envelope, reply: &ReplyPlan, options: &ChatOptions) -> Frames {
    let include_usage = options.include_usage;
    let head = Sse::head(&chunk_head(envelope));
    // A fragment's frame is the head and about 120 bytes.
    let mut sse = Sse::sized((reply.chunks.len() + 4) * (head.len() + 128));
    let usage = usize::from(include_usage);
    sse.data_fields(
        reply.role_at,
        &head,
        &FIXED.role[usize::from(reply.text_first())][usage],
    );
    let keep = reply.disconnect_after.unwrap_or(usize::MAX);
    let mut shapes = Shapes::default();
    for (at, event) in reply.chunks.iter().take(keep) {
        if let Some((key, text)) = fragment(event)
            && let Some(around) = shapes.of(key, &head, include_usage)
        {
            sse.data_around(*at, around, text);
        } else if let Some(chunk) = event_chunk(event, include_usage) {
            sse.data_after(*at, &head, &chunk);
        }
    }
    if let Some(drop) = reply.drop_at() {
        return (sse.finish(), Some(drop));
    }
    if let Some(reason) = reply.response.finish_reason {
        let name = finish_name(reason, options.forced);
        match FIXED.finish.iter().find(|(n, _)| *n == name) {
            Some((_, fields)) => sse.data_fields(reply.end, &head, &fields[usage]),
            None => sse.data_after(reply.end, &head, &finish_chunk(name, include_usage)),
        }
    }
    if include_usage && let Some(usage) = reply.response.usage {
        sse.data_after(reply.end, &head, &usage_chunk(usage));
    }
    sse.raw(reply.end, DONE);
    (sse.finish(), None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_completion_is_written_as_serde_writes_it() {
        let envelope = crate::wire::sample::envelope();
        for text in [true, false] {
            let mut reply = crate::wire::sample::reply(text);
            for forced in [false, true] {
                let options = ChatOptions {
                    include_usage: false,
                    forced,
                };
                let body = completion(&envelope, &reply.response, &options);
                let mut written = Vec::new();
                body.write(&mut written);
                let expected = serde_json::to_string(&body).expect("JSON");
                assert_eq!(String::from_utf8_lossy(&written), expected);
            }
            // No usage, no reason, no calls.
            reply.response.usage = None;
            reply.response.finish_reason = None;
            reply.response.tool_calls.clear();
            let body = completion(&envelope, &reply.response, &ChatOptions::default());
            let mut written = Vec::new();
            body.write(&mut written);
            assert_eq!(
                String::from_utf8_lossy(&written),
                serde_json::to_string(&body).expect("JSON")
            );
        }
    }

    #[test]
    fn fragment_frames_are_the_serialized_chunks() {
        let envelope = crate::wire::sample::envelope();
        for text in [true, false] {
            let reply = crate::wire::sample::reply(text);
            for include_usage in [false, true] {
                let options = ChatOptions {
                    include_usage,
                    // Both finish chunks: "tool_calls", and "stop" when forced.
                    forced: !text,
                };
                check_frames(&envelope, &reply, &options);
            }
        }
    }

    /// The frames of `reply` are each chunk serialized whole, as written
    /// before shapes and fixed chunks, in the same pieces.
    fn check_frames(envelope: &Envelope, reply: &ReplyPlan, options: &ChatOptions) {
        let include_usage = options.include_usage;
        let (pieces, drop) = frames(envelope, reply, options);
        assert_eq!(drop, None);
        let head = Sse::head(&chunk_head(envelope));
        let mut expected = Sse::default();
        let role = role_chunk(reply.text_first(), include_usage);
        expected.data_after(reply.role_at, &head, &role);
        for (at, event) in &reply.chunks {
            let chunk = event_chunk(event, include_usage).expect("a chunk");
            expected.data_after(*at, &head, &chunk);
        }
        let reason = reply.response.finish_reason.expect("a reason");
        let finish = finish_chunk(finish_name(reason, options.forced), include_usage);
        expected.data_after(reply.end, &head, &finish);
        if include_usage {
            let usage = reply.response.usage.expect("usage");
            expected.data_after(reply.end, &head, &usage_chunk(usage));
        }
        expected.raw(reply.end, DONE);
        let expected = expected.finish();
        let bytes = |p: &[(Duration, Bytes)]| p.iter().flat_map(|(_, b)| b.to_vec()).collect();
        let (written, wanted): (Vec<u8>, Vec<u8>) = (bytes(&pieces), bytes(&expected));
        assert_eq!(
            String::from_utf8_lossy(&written),
            String::from_utf8_lossy(&wanted)
        );
        let times = |p: &[(Duration, Bytes)]| p.iter().map(|(at, _)| *at).collect::<Vec<_>>();
        assert_eq!(times(&pieces), times(&expected));
        // And the fragments read back as they were.
        let text = String::from_utf8(written).expect("UTF-8");
        let fragments: Vec<Value> = text
            .split("\n\n")
            .filter_map(|frame| frame.strip_prefix("data: "))
            .filter(|data| *data != "[DONE]")
            .map(|data| serde_json::from_str::<Value>(data).expect("JSON"))
            .map(|chunk| chunk["choices"][0]["delta"].clone())
            .collect();
        for ((_, event), delta) in reply.chunks.iter().zip(&fragments[1..]) {
            match event {
                StreamEvent::Text(text) => assert_eq!(delta["content"], *text),
                StreamEvent::ToolCall(call) => {
                    let arguments = &delta["tool_calls"][0]["function"]["arguments"];
                    assert_eq!(arguments.as_str(), call.arguments.as_deref());
                }
                _ => unreachable!("only fragments here"),
            }
        }
    }
}
