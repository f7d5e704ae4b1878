//! The Messages API's shapes and their conversions to and from the
//! provider-neutral transcript: the request body, the `message` reply, and
//! the decoding of its named SSE events into [`StreamEvent`]s.

use crate::providers::shared::{arguments_object, push_user};
use std::collections::HashMap;

use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::call::ToolCall;
use crate::content::{ContentPart, PDF};
use crate::message::{ChatRequest, ChatResponse, FinishReason, Message, ToolChoice, Usage};
use crate::model::{ModelError, StreamEvent, ToolCallDelta};
use crate::telemetry::spans;
use crate::toolset::ToolDefinition;

const PROVIDER: &str = "Anthropic Messages";

/// The image media types the Messages API reads.
const IMAGE_TYPES: [&str; 4] = ["image/jpeg", "image/png", "image/gif", "image/webp"];

/// A part as a content block: `text`, `image` and `document` (a PDF) with a
/// `base64` or `url` source; or the name of a part the API does not read
/// (an image of another media type, a document other than a PDF).
fn block(part: &ContentPart) -> Result<Value, &'static str> {
    Ok(match part {
        ContentPart::Text { text } => json!({"type": "text", "text": text}),
        ContentPart::Image { data, mime_type } => {
            if !IMAGE_TYPES.contains(&mime_type.as_str()) {
                return Err("image (other than jpeg, png, gif, webp)");
            }
            json!({"type": "image", "source": {"type": "base64", "media_type": mime_type, "data": data}})
        }
        ContentPart::ImageUrl { url } => {
            json!({"type": "image", "source": {"type": "url", "url": url}})
        }
        ContentPart::Document {
            data,
            mime_type,
            name,
        } => {
            if mime_type != PDF {
                return Err("document (other than application/pdf)");
            }
            let mut block = json!({"type": "document", "source": {"type": "base64", "media_type": PDF, "data": data}});
            if let Some(name) = name {
                block["title"] = json!(name);
            }
            block
        }
        ContentPart::DocumentUrl { url } => {
            json!({"type": "document", "source": {"type": "url", "url": url}})
        }
    })
}

/// The blocks of these parts, or the refusal naming the first the API does not read.
fn blocks<'a>(parts: impl IntoIterator<Item = &'a ContentPart>) -> Result<Vec<Value>, ModelError> {
    parts
        .into_iter()
        .map(|part| block(part).map_err(|name| crate::settings::unsupported(name, PROVIDER)))
        .collect()
}

/// The request body for `POST /v1/messages`: the system prompt as `system`,
/// each turn's tool results as `tool_result` blocks of ONE user message, in
/// call order; a user turn's parts and a result's images and documents as
/// content blocks. A part the API does not read is refused.
pub(crate) fn request_body(
    request: &ChatRequest,
    model: &str,
    max_tokens: u32,
    stream: bool,
) -> Result<Value, ModelError> {
    let mut system: Vec<&str> = Vec::new();
    let mut messages: Vec<Value> = Vec::new();
    for message in &request.messages {
        match message {
            Message::System { content } => system.push(content),
            Message::User { content } => {
                for block in blocks(content.parts())? {
                    push_user(&mut messages, "content", block);
                }
            }
            Message::Assistant {
                content,
                tool_calls,
            } => {
                let mut blocks: Vec<Value> = Vec::new();
                if let Some(text) = content.as_deref().filter(|t| !t.is_empty()) {
                    blocks.push(json!({"type": "text", "text": text}));
                }
                for call in tool_calls {
                    blocks.push(json!({"type": "tool_use", "id": call.id, "name": call.name, "input": arguments_object(&call.arguments)}));
                }
                messages.push(json!({"role": "assistant", "content": blocks}));
            }
            Message::Tool {
                tool_call_id,
                content,
                parts,
                is_error,
            } => {
                let content = if parts.is_empty() {
                    json!(content)
                } else {
                    let text = ContentPart::text(content.as_str());
                    Value::Array(blocks(std::iter::once(&text).chain(parts))?)
                };
                let mut block =
                    json!({"type": "tool_result", "tool_use_id": tool_call_id, "content": content});
                if *is_error {
                    block["is_error"] = json!(true);
                }
                push_user(&mut messages, "content", block);
            }
        }
    }
    let mut body = json!({
        "model": model,
        "max_tokens": max_tokens,
        "messages": messages,
    });
    if !system.is_empty() {
        body["system"] = json!(system.join("\n\n"));
    }
    if !request.tools.is_empty() {
        body["tools"] = request
            .tools
            .iter()
            .map(ToolDefinition::to_anthropic)
            .collect();
    }
    if let Some(choice) = tool_choice(request) {
        body["tool_choice"] = choice;
    }
    if stream {
        body["stream"] = json!(true);
    }
    Ok(body)
}

/// The request's settings and output schema in the Messages API's own
/// fields, or the setting it does not have: the one place Anthropic maps
/// [`Settings`](crate::Settings). `max_tokens` replaces the model's default.
pub(crate) fn settings_into(request: &ChatRequest, body: &mut Value) -> Result<(), ModelError> {
    use crate::settings::{Effort, Reasoning, unsupported};
    let settings = &request.settings;
    if let Some(max) = settings.max_tokens {
        body["max_tokens"] = json!(max);
    }
    if let Some(t) = settings.temperature {
        body["temperature"] = json!(t);
    }
    if let Some(p) = settings.top_p {
        body["top_p"] = json!(p);
    }
    if !settings.stop.is_empty() {
        body["stop_sequences"] = json!(settings.stop);
    }
    if let Some(user) = &settings.user {
        body["metadata"] = json!({"user_id": user});
    }
    let mut output_config = Map::new();
    if let Some(format) = &request.output {
        output_config.insert(
            "format".into(),
            json!({"type": "json_schema", "schema": crate::schema::anthropic_strict(&format.schema)}),
        );
    }
    match settings.reasoning {
        None => {}
        Some(Reasoning::BudgetTokens(budget)) => {
            body["thinking"] = json!({"type": "enabled", "budget_tokens": budget});
        }
        Some(Reasoning::Effort(Effort::Minimal)) => {
            return Err(unsupported("effort (minimal)", PROVIDER));
        }
        Some(Reasoning::Effort(effort)) => {
            output_config.insert("effort".into(), json!(effort.as_str()));
        }
    }
    if !output_config.is_empty() {
        body["output_config"] = Value::Object(output_config);
    }
    if settings.seed.is_some() {
        return Err(unsupported("seed", PROVIDER));
    }
    Ok(())
}

/// `tool_choice`, with `disable_parallel_tool_use` for `parallel_tool_calls: false`.
fn tool_choice(request: &ChatRequest) -> Option<Value> {
    let one_at_a_time = request.parallel_tool_calls == Some(false) && !request.tools.is_empty();
    let mut choice = match &request.tool_choice {
        None if one_at_a_time => json!({"type": "auto"}),
        None => return None,
        Some(ToolChoice::None) => return Some(json!({"type": "none"})),
        Some(ToolChoice::Auto) => json!({"type": "auto"}),
        Some(ToolChoice::Required) => json!({"type": "any"}),
        Some(ToolChoice::Function(name)) => json!({"type": "tool", "name": name}),
    };
    if one_at_a_time {
        choice["disable_parallel_tool_use"] = json!(true);
    }
    Some(choice)
}

// ---- replies --------------------------------------------------------------------

/// A `message` body.
#[derive(Debug, Deserialize)]
pub(crate) struct WireMessage {
    #[serde(default)]
    pub(crate) id: String,
    #[serde(default)]
    pub(crate) model: String,
    #[serde(default)]
    content: Vec<WireBlock>,
    #[serde(default)]
    stop_reason: Option<String>,
    #[serde(default)]
    usage: Option<WireUsage>,
}

#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum WireBlock {
    Text {
        text: String,
    },
    ToolUse {
        id: String,
        name: String,
        #[serde(default)]
        input: Value,
    },
    /// Thinking, server tools' blocks...: not part of the neutral transcript.
    #[serde(other)]
    Other,
}

#[derive(Debug, Default, Clone, Copy, Deserialize)]
struct WireUsage {
    #[serde(default)]
    input_tokens: Option<u32>,
    #[serde(default)]
    output_tokens: Option<u32>,
    #[serde(default)]
    cache_creation_input_tokens: Option<u32>,
    #[serde(default)]
    cache_read_input_tokens: Option<u32>,
}

impl WireUsage {
    /// Input is the sum of the three input counts, as the API documents.
    fn usage(&self) -> Usage {
        let (read, creation) = (
            self.cache_read_input_tokens.unwrap_or(0),
            self.cache_creation_input_tokens.unwrap_or(0),
        );
        let input = self.input_tokens.unwrap_or(0) + creation + read;
        Usage::new(input, self.output_tokens.unwrap_or(0)).with_cache(read, creation)
    }

    /// A `message_delta`'s counts are cumulative: each one it gives wins.
    fn update(&mut self, delta: WireUsage) {
        let keep = |old: &mut Option<u32>, new: Option<u32>| {
            if new.is_some() {
                *old = new;
            }
        };
        keep(&mut self.input_tokens, delta.input_tokens);
        keep(&mut self.output_tokens, delta.output_tokens);
        keep(
            &mut self.cache_creation_input_tokens,
            delta.cache_creation_input_tokens,
        );
        keep(
            &mut self.cache_read_input_tokens,
            delta.cache_read_input_tokens,
        );
    }
}

pub(crate) fn finish_reason(stop_reason: &str) -> FinishReason {
    match stop_reason {
        "tool_use" => FinishReason::ToolCalls,
        "max_tokens" | "model_context_window_exceeded" => FinishReason::Length,
        "refusal" => FinishReason::ContentFilter,
        _ => FinishReason::Stop,
    }
}

/// The call's arguments: `input` as JSON text (a string `input`, which only
/// a faulty server sends, is passed on as it is, to fail at dispatch).
fn arguments(input: Value) -> String {
    match input {
        Value::String(text) => text,
        Value::Null => "{}".to_owned(),
        other => other.to_string(),
    }
}

impl From<WireMessage> for ChatResponse {
    fn from(message: WireMessage) -> Self {
        let mut text: Option<String> = None;
        let mut tool_calls = Vec::new();
        for block in message.content {
            match block {
                WireBlock::Text { text: t } => text.get_or_insert_default().push_str(&t),
                WireBlock::ToolUse { id, name, input } => {
                    tool_calls.push(ToolCall::new(id, name, arguments(input)));
                }
                WireBlock::Other => {}
            }
        }
        ChatResponse {
            content: text,
            tool_calls,
            finish_reason: message.stop_reason.as_deref().map(finish_reason),
            usage: message.usage.map(|u| u.usage()),
        }
    }
}

// ---- errors ---------------------------------------------------------------------

/// `{"type": "error", "error": {"type", "message"}}`.
#[derive(Debug, Deserialize)]
pub(crate) struct WireError {
    pub error: WireErrorDetail,
}

/// The error's kind and message.
#[derive(Debug, Deserialize)]
pub(crate) struct WireErrorDetail {
    #[serde(rename = "type", default)]
    pub kind: String,
    #[serde(default)]
    pub message: String,
}

/// The status an error type stands for, for errors that arrive inside a stream.
pub(crate) fn error_status(kind: &str) -> u16 {
    match kind {
        "invalid_request_error" => 400,
        "authentication_error" => 401,
        "permission_error" => 403,
        "not_found_error" => 404,
        "request_too_large" => 413,
        "rate_limit_error" => 429,
        "overloaded_error" => 529,
        _ => 500,
    }
}

// ---- streams --------------------------------------------------------------------

/// Turns the Messages API's named SSE events into [`StreamEvent`]s. A
/// `tool_use` block's index is its call's index; its `content_block_stop`
/// becomes [`StreamEvent::ToolCallDone`], so the call can start then.
#[derive(Debug, Default)]
pub(crate) struct StreamDecoder {
    /// Open `tool_use` blocks: whether each got argument text yet.
    calls: HashMap<u32, bool>,
    usage: WireUsage,
    stopped: bool,
}

impl StreamDecoder {
    /// Whether `message_stop` arrived: a stream that ends before it was cut short.
    pub fn is_complete(&self) -> bool {
        self.stopped
    }

    /// The events for one SSE event (`event:` name and `data:` text).
    pub fn decode(&mut self, event: &str, data: &str) -> Result<Vec<StreamEvent>, ModelError> {
        if matches!(event, "ping" | "") {
            return Ok(Vec::new());
        }
        let value: Value = serde_json::from_str(data).map_err(|e| {
            ModelError::InvalidResponse(format!("a `{event}` event that is not JSON ({e}): {data}"))
        })?;
        let index = || {
            value["index"]
                .as_u64()
                .and_then(|i| u32::try_from(i).ok())
                .ok_or_else(|| {
                    ModelError::InvalidResponse(format!(
                        "a `{event}` event without an index: {data}"
                    ))
                })
        };
        let mut events = Vec::new();
        match event {
            "message_start" => {
                let message = &value["message"];
                spans::response_meta(
                    message["id"].as_str().unwrap_or_default(),
                    message["model"].as_str().unwrap_or_default(),
                );
                if let Ok(u) = WireUsage::deserialize(&value["message"]["usage"]) {
                    self.usage = u;
                }
            }
            "content_block_start" => {
                let block = &value["content_block"];
                match block["type"].as_str() {
                    Some("tool_use") => {
                        let index = index()?;
                        let (Some(id), Some(name)) = (block["id"].as_str(), block["name"].as_str())
                        else {
                            return Err(ModelError::InvalidResponse(format!(
                                "a `tool_use` block without id or name: {data}"
                            )));
                        };
                        self.calls.insert(index, false);
                        events.push(StreamEvent::ToolCall(ToolCallDelta {
                            index,
                            id: Some(id.to_owned()),
                            name: Some(name.to_owned()),
                            arguments: Some(String::new()),
                        }));
                    }
                    Some("text") => {
                        if let Some(text) = block["text"].as_str().filter(|t| !t.is_empty()) {
                            events.push(StreamEvent::Text(text.to_owned()));
                        }
                    }
                    _ => {}
                }
            }
            "content_block_delta" => {
                let delta = &value["delta"];
                match delta["type"].as_str() {
                    Some("text_delta") => {
                        if let Some(text) = delta["text"].as_str() {
                            events.push(StreamEvent::Text(text.to_owned()));
                        }
                    }
                    Some("input_json_delta") => {
                        let index = index()?;
                        let fragment = delta["partial_json"].as_str().unwrap_or("");
                        if let Some(got_text) = self.calls.get_mut(&index)
                            && !fragment.is_empty()
                        {
                            *got_text = true;
                            events.push(StreamEvent::ToolCall(ToolCallDelta {
                                index,
                                id: None,
                                name: None,
                                arguments: Some(fragment.to_owned()),
                            }));
                        }
                    }
                    _ => {}
                }
            }
            "content_block_stop" => {
                let index = index()?;
                if let Some(got_text) = self.calls.remove(&index) {
                    if !got_text {
                        // A call without input text takes no arguments.
                        events.push(StreamEvent::ToolCall(ToolCallDelta {
                            index,
                            id: None,
                            name: None,
                            arguments: Some("{}".to_owned()),
                        }));
                    }
                    events.push(StreamEvent::ToolCallDone(index));
                }
            }
            "message_delta" => {
                if let Some(reason) = value["delta"]["stop_reason"].as_str() {
                    events.push(StreamEvent::Finish(finish_reason(reason)));
                }
                if let Ok(u) = WireUsage::deserialize(&value["usage"]) {
                    self.usage.update(u);
                }
            }
            "message_stop" => {
                self.stopped = true;
                events.push(StreamEvent::Usage(self.usage.usage()));
            }
            "error" => {
                let error = WireError::deserialize(&value).map_err(|e| {
                    ModelError::InvalidResponse(format!(
                        "an `error` event that cannot be read ({e}): {data}"
                    ))
                })?;
                return Err(ModelError::Api {
                    status: error_status(&error.error.kind),
                    message: error.error.message,
                    code: Some(error.error.kind),
                });
            }
            // Events added later are skipped, as the API asks of clients.
            _ => {}
        }
        Ok(events)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_turn_of_results_is_one_user_message_in_call_order() {
        let calls = vec![
            ToolCall::new("toolu_a", "f", r#"{"x": 1}"#),
            ToolCall::new("toolu_b", "g", "not json"),
        ];
        let mut request = ChatRequest::new(
            "",
            vec![
                Message::system("be brief"),
                Message::user("hi"),
                Message::assistant(Some("calling".into()), calls),
                Message::tool_result("toolu_a", "one"),
                Message::Tool {
                    tool_call_id: "toolu_b".into(),
                    content: "bad arguments".into(),
                    parts: Vec::new(),
                    is_error: true,
                },
                Message::user("and then?"),
            ],
        );
        request.parallel_tool_calls = Some(false);
        request.tools = vec![ToolDefinition::new(
            "f",
            "F",
            json!({"type": "object", "properties": {}}),
        )];
        let body = request_body(&request, "claude", 100, true).expect("a body");
        assert_eq!(body["system"], "be brief");
        assert_eq!(body["max_tokens"], 100);
        assert_eq!(body["stream"], true);
        let messages = body["messages"].as_array().expect("messages");
        assert_eq!(messages.len(), 3, "{messages:?}");
        assert_eq!(messages[1]["content"][1]["input"], json!({"x": 1}));
        assert_eq!(messages[1]["content"][2]["input"], json!({}));
        let results = &messages[2]["content"];
        assert_eq!(results[0]["tool_use_id"], "toolu_a");
        assert_eq!(results[1]["tool_use_id"], "toolu_b");
        assert_eq!(results[1]["is_error"], true);
        assert_eq!(results[2], json!({"type": "text", "text": "and then?"}));
        assert_eq!(
            body["tool_choice"],
            json!({"type": "auto", "disable_parallel_tool_use": true})
        );
    }

    /// The shapes of anthropic-sdk-python's `ImageBlockParam` and
    /// `DocumentBlockParam` (`base64` and `url` sources), and a
    /// `tool_result`'s content blocks.
    #[test]
    fn images_and_pdfs_are_blocks_in_turns_and_results() {
        use crate::content::{Content, ContentPart};
        let request = ChatRequest::new(
            "",
            vec![
                Message::user(
                    Content::new()
                        .text("What is this?")
                        .image_url("https://x/y.png")
                        .image_base64("AAAA", "image/png")
                        .part(ContentPart::pdf("JVBE").named("r.pdf"))
                        .document_url("https://x/r.pdf"),
                ),
                Message::assistant(None, vec![ToolCall::new("toolu_a", "f", "{}")]),
                Message::Tool {
                    tool_call_id: "toolu_a".into(),
                    content: "a chart".into(),
                    parts: vec![ContentPart::image("AAAA", "image/png")],
                    is_error: false,
                },
            ],
        );
        let body = request_body(&request, "claude", 100, false).expect("a body");
        assert_eq!(
            body["messages"][0]["content"],
            json!([
                {"type": "text", "text": "What is this?"},
                {"type": "image", "source": {"type": "url", "url": "https://x/y.png"}},
                {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "AAAA"}},
                {"type": "document", "source": {"type": "base64", "media_type": "application/pdf", "data": "JVBE"}, "title": "r.pdf"},
                {"type": "document", "source": {"type": "url", "url": "https://x/r.pdf"}},
            ])
        );
        assert_eq!(
            body["messages"][2]["content"],
            json!([{"type": "tool_result", "tool_use_id": "toolu_a", "content": [
                {"type": "text", "text": "a chart"},
                {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "AAAA"}},
            ]}])
        );
    }

    #[test]
    fn media_the_api_does_not_read_is_refused_by_name() {
        use crate::content::ContentPart;
        for (part, name) in [
            (
                ContentPart::image("AAAA", "image/tiff"),
                "image (other than jpeg, png, gif, webp)",
            ),
            (
                ContentPart::document("AAAA", "text/csv"),
                "document (other than application/pdf)",
            ),
        ] {
            let request = ChatRequest::new("", vec![Message::user(part)]);
            assert_eq!(
                request_body(&request, "claude", 100, false),
                Err(ModelError::Unsupported {
                    setting: name,
                    provider: "Anthropic Messages"
                })
            );
        }
    }

    #[test]
    fn a_stream_of_blocks_decodes_with_a_done_per_call() {
        let mut decoder = StreamDecoder::default();
        let mut events = Vec::new();
        for (name, data) in [
            (
                "message_start",
                r#"{"type":"message_start","message":{"usage":{"input_tokens":10,"output_tokens":1}}}"#,
            ),
            ("ping", r#"{"type":"ping"}"#),
            (
                "content_block_start",
                r#"{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}"#,
            ),
            (
                "content_block_delta",
                r#"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Let me"}}"#,
            ),
            (
                "content_block_stop",
                r#"{"type":"content_block_stop","index":0}"#,
            ),
            (
                "content_block_start",
                r#"{"type":"content_block_start","index":1,"content_block":{"type":"tool_use","id":"toolu_1","name":"f","input":{}}}"#,
            ),
            (
                "content_block_delta",
                r#"{"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"{\"a\":"}}"#,
            ),
            (
                "content_block_delta",
                r#"{"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":" 1}"}}"#,
            ),
            (
                "content_block_stop",
                r#"{"type":"content_block_stop","index":1}"#,
            ),
            (
                "content_block_start",
                r#"{"type":"content_block_start","index":2,"content_block":{"type":"tool_use","id":"toolu_2","name":"g","input":{}}}"#,
            ),
            (
                "content_block_stop",
                r#"{"type":"content_block_stop","index":2}"#,
            ),
            (
                "message_delta",
                r#"{"type":"message_delta","delta":{"stop_reason":"tool_use"},"usage":{"output_tokens":7}}"#,
            ),
        ] {
            events.extend(decoder.decode(name, data).expect("decodes"));
        }
        assert!(!decoder.is_complete());
        events.extend(
            decoder
                .decode("message_stop", r#"{"type":"message_stop"}"#)
                .expect("stop"),
        );
        assert!(decoder.is_complete());
        let delta = |index, id: Option<&str>, name: Option<&str>, arguments: &str| {
            StreamEvent::ToolCall(ToolCallDelta {
                index,
                id: id.map(Into::into),
                name: name.map(Into::into),
                arguments: Some(arguments.into()),
            })
        };
        assert_eq!(
            events,
            vec![
                StreamEvent::Text("Let me".into()),
                delta(1, Some("toolu_1"), Some("f"), ""),
                delta(1, None, None, "{\"a\":"),
                delta(1, None, None, " 1}"),
                StreamEvent::ToolCallDone(1),
                delta(2, Some("toolu_2"), Some("g"), ""),
                delta(2, None, None, "{}"),
                StreamEvent::ToolCallDone(2),
                StreamEvent::Finish(FinishReason::ToolCalls),
                StreamEvent::Usage(Usage::new(10, 7)),
            ]
        );
    }

    #[test]
    fn an_error_event_is_an_api_error() {
        let mut decoder = StreamDecoder::default();
        let error = decoder
            .decode(
                "error",
                r#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#,
            )
            .expect_err("an error");
        assert_eq!(
            error,
            ModelError::Api {
                status: 529,
                message: "Overloaded".into(),
                code: Some("overloaded_error".into())
            }
        );
        assert!(error.is_retryable());
    }

    #[test]
    fn a_message_converts() {
        let message: WireMessage = serde_json::from_value(json!({
            "id": "msg_1", "type": "message", "role": "assistant", "model": "m",
            "content": [
                {"type": "thinking", "thinking": "hmm", "signature": "x"},
                {"type": "text", "text": "Sure."},
                {"type": "tool_use", "id": "toolu_1", "name": "f", "input": {"a": [1]}}
            ],
            "stop_reason": "tool_use", "stop_sequence": null,
            "usage": {"input_tokens": 5, "output_tokens": 3, "cache_read_input_tokens": 2}
        }))
        .expect("a message");
        let response = ChatResponse::from(message);
        assert_eq!(response.content.as_deref(), Some("Sure."));
        assert_eq!(
            response.tool_calls,
            vec![ToolCall::new("toolu_1", "f", r#"{"a":[1]}"#)]
        );
        assert_eq!(response.finish_reason, Some(FinishReason::ToolCalls));
        assert_eq!(response.usage, Some(Usage::new(7, 3).with_cache(2, 0)));
    }

    #[test]
    fn a_streams_cache_counts_come_from_its_start_and_cumulative_deltas() {
        let mut decoder = StreamDecoder::default();
        let events = [
            (
                "message_start",
                r#"{"type":"message_start","message":{"usage":{"input_tokens":4,"cache_creation_input_tokens":100,"cache_read_input_tokens":0,"output_tokens":1}}}"#,
            ),
            (
                "message_delta",
                r#"{"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":9,"cache_read_input_tokens":50}}"#,
            ),
            ("message_stop", r#"{"type":"message_stop"}"#),
        ];
        let mut usage = None;
        for (name, data) in events {
            for event in decoder.decode(name, data).expect("an event") {
                if let StreamEvent::Usage(u) = event {
                    usage = Some(u);
                }
            }
        }
        assert_eq!(usage, Some(Usage::new(154, 9).with_cache(50, 100)));
    }
}
