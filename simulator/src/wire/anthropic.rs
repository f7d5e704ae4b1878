//! The Anthropic Messages wire format (`POST /v1/messages`): the request
//! body read into the neutral transcript (tool results grouped in one user
//! message, checked as the API checks them), the `message` body, the named
//! SSE events (`message_start`, `content_block_*`, `message_delta`,
//! `message_stop`), and errors as `{"type": "error", "error": {..}}`.
//!
//! The shapes follow the API reference and the official SDK's types.

use std::collections::HashSet;
use std::time::Duration;

use hyper::HeaderMap;
use hyper::header::{self, HeaderValue};
use serde_json::{Value, json};
use toolcall_runtime::{
    ChatRequest, ChatResponse, Content, ContentPart, Effort, FinishReason, Message, OutputFormat,
    Reasoning, Settings, StreamEvent, ToolCall, ToolChoice, ToolDefinition, Usage,
};

use super::media::{is_base64, is_http_url};
use super::{
    ApiError, Around, Blanks, Envelope, Format, Frames, NotStrings, Parsed, Sse, block_events,
    kept, string_list,
};
use crate::engine::{Asks, Engine, ReplyPlan, ResponseFormat, Tools};

/// `POST /v1/messages`.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Anthropic;

/// Every body parameter of `messages.create` in the official SDKs
/// (anthropic-sdk-python's `MessageCreateParamsBase`, beta included, and
/// `stream`), and the beta `thread` of their tool runners; the simulator
/// uses some and accepts the rest, and refuses any other.
const PARAMETERS: &[&str] = &[
    "cache_control",
    "container",
    "context_management",
    "diagnostics",
    "fallback_credit_token",
    "fallbacks",
    "inference_geo",
    "max_tokens",
    "mcp_servers",
    "messages",
    "metadata",
    "model",
    "output_config",
    "output_format",
    "service_tier",
    "speed",
    "stop_sequences",
    "stream",
    "system",
    "temperature",
    "thinking",
    "tool_choice",
    "tools",
    "top_k",
    "top_p",
    "thread",
];

impl Format for Anthropic {
    const SLOT: usize = 2;
    const ENDPOINT: crate::engine::fixture::Endpoint = crate::engine::fixture::Endpoint::Messages;
    const REPLY_HEADERS: &'static [&'static str] = &["request-id"];
    type Options = ();

    fn id_prefix(&self) -> &'static str {
        "msg_"
    }

    fn call_id_prefix(&self) -> &'static str {
        "toolu_"
    }

    /// The key comes in `x-api-key` (the API reference) or as a bearer
    /// token (what current SDKs send).
    fn authorize(&self, headers: &HeaderMap, key: &str) -> Result<(), ApiError> {
        let header = |name| {
            headers
                .get(name)
                .and_then(|v: &HeaderValue| v.to_str().ok())
        };
        let given = header("x-api-key").or_else(|| {
            header(header::AUTHORIZATION.as_str()).map(|v| v.strip_prefix("Bearer ").unwrap_or(v))
        });
        match given.map(str::trim) {
            Some(given) if given == key => Ok(()),
            Some(_) => Err(authentication("invalid x-api-key")),
            None => Err(authentication("x-api-key header is required")),
        }
    }

    fn parse(&self, engine: &Engine, body: &[u8]) -> Result<Parsed<()>, ApiError> {
        let value: Value = match serde_json::from_slice(body) {
            Ok(value @ Value::Object(_)) => value,
            Ok(_) => return Err(reject(engine, invalid("Input should be an object"), "")),
            Err(e) => {
                return Err(reject(
                    engine,
                    invalid(format!("There was an issue with your request body: {e}")),
                    "",
                ));
            }
        };
        parse_value(engine, &value)
    }

    fn reply(&self, envelope: &Envelope, plan: &ReplyPlan, _: &()) -> Vec<u8> {
        super::to_json(&message(envelope, &plan.response))
    }

    fn frames(&self, envelope: &Envelope, plan: &ReplyPlan, _: &()) -> Frames {
        frames(envelope, plan)
    }

    fn error_body(&self, error: &ApiError) -> Value {
        let mut body = json!({
            "type": "error",
            "error": {"type": error_type(error), "message": error.message},
        });
        // The thread errors carry their code where the SDKs look for it.
        if let Some(code) = error.code.as_deref().filter(|c| c.starts_with("thread_")) {
            body["error"]["details"] = json!({"error_code": code});
        }
        body
    }

    fn reply_headers(&self, envelope: &Envelope, _: Duration, blanks: &mut Blanks<'_>) {
        let request_id = format!("req_{}", envelope.id.trim_start_matches("msg_"));
        blanks.fill(HeaderValue::from_str(&request_id).ok());
    }
}

/// Read a request body (a JSON object) as the API does; a refused body is
/// journalled and comes back as the error to answer.
pub(crate) fn parse_value(engine: &Engine, value: &Value) -> Result<Parsed<()>, ApiError> {
    {
        let model = value.get("model").and_then(Value::as_str).unwrap_or("");
        if let Some(name) = super::unknown_key(value, PARAMETERS) {
            return Err(reject(engine, extra_input(name), model));
        }
        match read_request(value) {
            Ok((mut request, stream, asks)) => Ok(Parsed {
                tools: std::sync::Arc::new(Tools::new(std::mem::take(&mut request.tools))),
                request,
                stream,
                options: (),
                asks,
            }),
            Err(error) => Err(reject(engine, error, model)),
        }
    }
}

fn reject(engine: &Engine, error: ApiError, model: &str) -> ApiError {
    engine.reject(&error, model, false);
    error
}

/// The 400 for a body parameter the API does not have, in its words.
pub(crate) fn extra_input(name: &str) -> ApiError {
    invalid(format!("{name}: Extra inputs are not permitted"))
}

fn invalid(message: impl Into<String>) -> ApiError {
    ApiError::invalid_request(message, None)
}

fn authentication(message: &str) -> ApiError {
    ApiError {
        status: 401,
        kind: "authentication_error".into(),
        ..ApiError::invalid_request(message, None)
    }
}

/// The error's `type` in Anthropic's vocabulary, from its status.
fn error_type(error: &ApiError) -> &'static str {
    match error.status {
        400 | 405 => "invalid_request_error",
        401 => "authentication_error",
        403 => "permission_error",
        404 => "not_found_error",
        413 => "request_too_large",
        429 => "rate_limit_error",
        529 => "overloaded_error",
        _ => "api_error",
    }
}

// ---- the request ----------------------------------------------------------------

/// The neutral request and whether to stream, or the 400 the API answers.
pub(crate) fn read_request(body: &Value) -> Result<(ChatRequest, bool, Asks), ApiError> {
    let model = match body.get("model") {
        Some(Value::String(model)) if !model.is_empty() => model.clone(),
        Some(Value::String(_)) | None | Some(Value::Null) => {
            return Err(invalid("model: Field required"));
        }
        Some(_) => return Err(invalid("model: Input should be a valid string")),
    };
    let max_tokens = match body.get("max_tokens") {
        None | Some(Value::Null) => return Err(invalid("max_tokens: Field required")),
        Some(tokens) => match tokens.as_u64().filter(|n| *n >= 1) {
            Some(n) => u32::try_from(n).unwrap_or(u32::MAX),
            None => {
                return Err(invalid(
                    "max_tokens: Input should be a valid integer greater than or equal to 1",
                ));
            }
        },
    };
    match body.get("temperature") {
        None | Some(Value::Null) => {}
        Some(Value::Number(t)) if t.as_f64().is_some_and(|t| (0.0..=1.0).contains(&t)) => {}
        Some(Value::Number(_)) => {
            return Err(invalid(
                "temperature: Input should be greater than or equal to 0 and less than or equal to 1",
            ));
        }
        Some(_) => return Err(invalid("temperature: Input should be a valid number")),
    }
    let stream = match body.get("stream") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(stream)) => *stream,
        Some(_) => return Err(invalid("stream: Input should be a valid boolean")),
    };
    let mut messages = Vec::new();
    if let Some(system) = body.get("system").filter(|s| !s.is_null()) {
        messages.push(Message::system(text_of(system, "system")?));
    }
    let wire = match body.get("messages") {
        Some(Value::Array(wire)) if wire.is_empty() => {
            return Err(invalid("messages: at least one message is required"));
        }
        Some(Value::Array(wire)) => wire,
        None | Some(Value::Null) => return Err(invalid("messages: Field required")),
        Some(_) => return Err(invalid("messages: Input should be a valid list")),
    };
    read_messages(wire, &mut messages)?;
    let tools = match body.get("tools") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(tools)) => tools
            .iter()
            .enumerate()
            .map(|(i, tool)| read_tool(i, tool))
            .collect::<Result<_, _>>()?,
        Some(_) => return Err(invalid("tools: Input should be a valid list")),
    };
    let (tool_choice, parallel_tool_calls) = read_tool_choice(body.get("tool_choice"), &tools)?;
    let mut request = ChatRequest::new(model, messages);
    request.tools = tools;
    request.tool_choice = tool_choice;
    request.parallel_tool_calls = parallel_tool_calls;
    request.settings = read_settings(body, max_tokens)?;
    let format = body
        .pointer("/output_config/format")
        .filter(|f| !f.is_null());
    let response_format = match format {
        None => None,
        Some(format) => match (
            format.get("type").and_then(Value::as_str),
            format.get("schema"),
        ) {
            (Some("json_schema"), Some(schema @ Value::Object(_))) => {
                request.output = Some(OutputFormat {
                    name: String::new(),
                    schema: schema.clone(),
                    strict: true,
                });
                Some(ResponseFormat::JsonSchema(schema.clone()))
            }
            (Some("json_schema"), _) => {
                return Err(invalid("output_config.format.schema: Field required"));
            }
            _ => {
                return Err(invalid(
                    "output_config.format.type: Input should be 'json_schema'",
                ));
            }
        },
    };
    // `max_tokens` is required here: a reply longer stops with "max_tokens".
    let asks = Asks {
        max_tokens: Some(max_tokens),
        response_format,
        ..Asks::default()
    };
    Ok((request, stream, asks))
}

/// The settings the request sent, in neutral form for the journal.
fn read_settings(body: &Value, max_tokens: u32) -> Result<Settings, ApiError> {
    let mut settings = Settings::default();
    settings.max_tokens = Some(max_tokens);
    settings.temperature = body
        .get("temperature")
        .and_then(Value::as_f64)
        .map(|t| t as f32);
    match body.get("top_p") {
        None | Some(Value::Null) => {}
        Some(Value::Number(p)) => settings.top_p = p.as_f64().map(|p| p as f32),
        Some(_) => return Err(invalid("top_p: Input should be a valid number")),
    }
    settings.stop = string_list(body.get("stop_sequences")).map_err(|wrong| {
        invalid(match wrong {
            NotStrings::NotAList => "stop_sequences: Input should be a valid list",
            NotStrings::NotAString => "stop_sequences: Input should be a valid list of strings",
        })
    })?;
    match body.get("thinking").filter(|t| !t.is_null()) {
        None => {}
        Some(thinking) if thinking.get("type").and_then(Value::as_str) == Some("enabled") => {
            let budget = thinking
                .get("budget_tokens")
                .and_then(Value::as_u64)
                .filter(|b| *b >= 1024)
                .ok_or_else(|| {
                    invalid("thinking.enabled.budget_tokens: Input should be greater than or equal to 1024")
                })?;
            if budget >= u64::from(max_tokens) {
                return Err(invalid(
                    "`max_tokens` must be greater than `thinking.budget_tokens`",
                ));
            }
            settings.reasoning = Some(Reasoning::BudgetTokens(
                u32::try_from(budget).unwrap_or(u32::MAX),
            ));
        }
        Some(_) => {}
    }
    if let Some(effort) = body
        .pointer("/output_config/effort")
        .filter(|e| !e.is_null())
    {
        let effort = serde_json::from_value::<Effort>(effort.clone())
            .ok()
            .filter(|e| *e != Effort::Minimal)
            .ok_or_else(|| {
                invalid("output_config.effort: Input should be 'low', 'medium', 'high', 'xhigh' or 'max'")
            })?;
        settings.reasoning = Some(Reasoning::Effort(effort));
    }
    settings.user = body
        .pointer("/metadata/user_id")
        .and_then(Value::as_str)
        .map(str::to_owned);
    Ok(settings)
}

/// A string, or an array of text blocks, as one text.
fn text_of(value: &Value, at: &str) -> Result<String, ApiError> {
    match value {
        Value::String(text) => Ok(text.clone()),
        Value::Array(blocks) => blocks
            .iter()
            .enumerate()
            .map(
                |(i, block)| match block.get("type").and_then(Value::as_str) {
                    Some("text") => block
                        .get("text")
                        .and_then(Value::as_str)
                        .ok_or_else(|| invalid(format!("{at}.{i}.text: Field required"))),
                    Some(other) => Err(invalid(format!(
                        "{at}.{i}: toolcall-sim supports text blocks here, not `{other}`"
                    ))),
                    None => Err(invalid(format!("{at}.{i}.type: Field required"))),
                },
            )
            .collect(),
        _ => Err(invalid(format!(
            "{at}: Input should be a valid string or a list of content blocks"
        ))),
    }
}

/// The image media types the API reads.
const IMAGE_TYPES: [&str; 4] = ["image/jpeg", "image/png", "image/gif", "image/webp"];

/// An `image` or `document` block as a part: a `base64` source (an image
/// of one of [`IMAGE_TYPES`], a PDF), a `url` source, or a document's
/// plain `text` source; each refused as the API refuses it.
fn media_block(block: &Value, kind: &str, at: &str) -> Result<ContentPart, ApiError> {
    let source = block
        .get("source")
        .filter(|s| s.is_object())
        .ok_or_else(|| invalid(format!("{at}.source: Field required")))?;
    let field = |name: &str, source_kind: &str| {
        source.get(name).and_then(Value::as_str).ok_or_else(|| {
            invalid(format!(
                "{at}.{kind}.source.{source_kind}.{name}: Field required"
            ))
        })
    };
    match (kind, source.get("type").and_then(Value::as_str)) {
        (_, Some("base64")) => {
            let media_type = field("media_type", "base64")?;
            let data = field("data", "base64")?;
            let expected = if kind == "image" {
                IMAGE_TYPES.contains(&media_type).then_some(())
            } else {
                (media_type == "application/pdf").then_some(())
            };
            if expected.is_none() {
                let allowed = if kind == "image" {
                    "'image/jpeg', 'image/png', 'image/gif' or 'image/webp'"
                } else {
                    "'application/pdf'"
                };
                return Err(invalid(format!(
                    "{at}.{kind}.source.base64.media_type: Input should be {allowed}"
                )));
            }
            if !is_base64(data) {
                return Err(invalid(format!(
                    "{at}.{kind}.source.base64.data: The {kind} data is not valid base64"
                )));
            }
            let part = if kind == "image" {
                ContentPart::image(data, media_type)
            } else {
                ContentPart::pdf(data)
            };
            Ok(match block.get("title").and_then(Value::as_str) {
                Some(title) => part.named(title),
                None => part,
            })
        }
        (_, Some("url")) => {
            let url = field("url", "url")?;
            if !is_http_url(url) {
                return Err(invalid(format!(
                    "{at}.{kind}.source.url.url: Only HTTP and HTTPS URLs are supported"
                )));
            }
            Ok(if kind == "image" {
                ContentPart::image_url(url)
            } else {
                ContentPart::document_url(url)
            })
        }
        ("document", Some("text")) => {
            use base64::Engine as _;
            let data = field("data", "text")?;
            Ok(ContentPart::document(
                base64::engine::general_purpose::STANDARD.encode(data),
                "text/plain",
            ))
        }
        (_, other) => Err(invalid(format!(
            "{at}.{kind}.source: Input tag '{}' found using 'type' does not match any of the expected tags: 'base64', 'url'{}",
            other.unwrap_or("none"),
            if kind == "document" { ", 'text'" } else { "" }
        ))),
    }
}

/// A `tool_result`'s content: a string, or text, image and document
/// blocks (the text joined, the others its parts).
fn result_content(value: &Value, at: &str) -> Result<(String, Vec<ContentPart>), ApiError> {
    let Value::Array(blocks) = value else {
        return text_of(value, at).map(|text| (text, Vec::new()));
    };
    let mut text = String::new();
    let mut parts = Vec::new();
    for (i, block) in blocks.iter().enumerate() {
        let at = format!("{at}.{i}");
        match block.get("type").and_then(Value::as_str) {
            Some("text") => text.push_str(
                block
                    .get("text")
                    .and_then(Value::as_str)
                    .ok_or_else(|| invalid(format!("{at}.text: Field required")))?,
            ),
            Some(kind @ ("image" | "document")) => parts.push(media_block(block, kind, &at)?),
            Some(other) => {
                return Err(invalid(format!(
                    "{at}: toolcall-sim supports text, image and document blocks in a tool_result, not `{other}`"
                )));
            }
            None => return Err(invalid(format!("{at}.type: Field required"))),
        }
    }
    Ok((text, parts))
}

/// Read the messages, checking tool pairing as the API does: the message
/// after an assistant turn with `tool_use` blocks is a user message that
/// answers every one of them with a `tool_result`, and a `tool_result`
/// answers a `tool_use` of the message just before.
fn read_messages(wire: &[Value], out: &mut Vec<Message>) -> Result<(), ApiError> {
    // The `tool_use` ids of the previous message, and where it was.
    let mut open: Option<(usize, Vec<String>)> = None;
    for (i, message) in wire.iter().enumerate() {
        let role = message.get("role").and_then(Value::as_str);
        let content = message
            .get("content")
            .filter(|c| !c.is_null())
            .ok_or_else(|| invalid(format!("messages.{i}.content: Field required")))?;
        let mut answered: HashSet<String> = HashSet::new();
        match role {
            Some("user") => {
                let blocks = match content {
                    Value::String(text) => {
                        out.push(Message::user(text.clone()));
                        &Vec::new()
                    }
                    Value::Array(blocks) => blocks,
                    _ => {
                        return Err(invalid(format!(
                            "messages.{i}.content: Input should be a valid string or list"
                        )));
                    }
                };
                let mut turn = Content::new();
                for (j, block) in blocks.iter().enumerate() {
                    let at = format!("messages.{i}.content.{j}");
                    match block.get("type").and_then(Value::as_str) {
                        Some("tool_result") => {
                            let id = block
                                .get("tool_use_id")
                                .and_then(Value::as_str)
                                .ok_or_else(|| {
                                    invalid(format!("{at}.tool_use_id: Field required"))
                                })?;
                            let expected = open
                                .as_ref()
                                .is_some_and(|(_, ids)| ids.iter().any(|x| x == id));
                            if !expected || !answered.insert(id.to_owned()) {
                                return Err(invalid(format!(
                                    "{at}: unexpected `tool_use_id` found in `tool_result` blocks: {id}. Each `tool_result` block must have a corresponding `tool_use` block in the previous message."
                                )));
                            }
                            let (content, parts) = match block.get("content") {
                                None | Some(Value::Null) => (String::new(), Vec::new()),
                                Some(content) => result_content(content, &format!("{at}.content"))?,
                            };
                            let is_error = block
                                .get("is_error")
                                .and_then(Value::as_bool)
                                .unwrap_or(false);
                            out.push(Message::Tool {
                                tool_call_id: id.to_owned(),
                                content,
                                parts,
                                is_error,
                            });
                        }
                        Some("text") => {
                            turn.extend([ContentPart::text(
                                block
                                    .get("text")
                                    .and_then(Value::as_str)
                                    .ok_or_else(|| invalid(format!("{at}.text: Field required")))?,
                            )]);
                        }
                        Some(kind @ ("image" | "document")) => {
                            turn.extend([media_block(block, kind, &at)?]);
                        }
                        Some(other) => {
                            return Err(invalid(format!(
                                "{at}: toolcall-sim supports `text`, `image`, `document` and `tool_result` blocks in user messages, not `{other}`"
                            )));
                        }
                        None => return Err(invalid(format!("{at}.type: Field required"))),
                    }
                }
                // Text blocks alone are one text; with media, the parts in order.
                if !turn.is_text() {
                    out.push(Message::user(turn));
                } else if !turn.to_text().is_empty() {
                    out.push(Message::user(turn.to_text().into_owned()));
                }
            }
            Some("assistant") => {
                let mut text: Option<String> = None;
                let mut calls = Vec::new();
                match content {
                    Value::String(s) => text = Some(s.clone()),
                    Value::Array(blocks) => {
                        for (j, block) in blocks.iter().enumerate() {
                            let at = format!("messages.{i}.content.{j}");
                            match block.get("type").and_then(Value::as_str) {
                                Some("text") => text.get_or_insert_default().push_str(
                                    block.get("text").and_then(Value::as_str).unwrap_or(""),
                                ),
                                Some("tool_use") => {
                                    let field = |name: &str| {
                                        block.get(name).and_then(Value::as_str).ok_or_else(|| {
                                            invalid(format!("{at}.{name}: Field required"))
                                        })
                                    };
                                    let input = block
                                        .get("input")
                                        .filter(|v| v.is_object())
                                        .ok_or_else(|| {
                                            invalid(format!(
                                                "{at}.input: Input should be a valid dictionary"
                                            ))
                                        })?;
                                    calls.push(ToolCall::new(
                                        field("id")?,
                                        field("name")?,
                                        input.to_string(),
                                    ));
                                }
                                Some(other) => {
                                    return Err(invalid(format!(
                                        "{at}: toolcall-sim supports `text` and `tool_use` blocks in assistant messages, not `{other}`"
                                    )));
                                }
                                None => return Err(invalid(format!("{at}.type: Field required"))),
                            }
                        }
                    }
                    _ => {
                        return Err(invalid(format!(
                            "messages.{i}.content: Input should be a valid string or list"
                        )));
                    }
                }
                check_answered(open.take(), &answered)?;
                if !calls.is_empty() {
                    open = Some((i, calls.iter().map(|c| c.id.to_string()).collect()));
                }
                out.push(Message::assistant(text, calls));
                continue;
            }
            Some("system") => out.push(Message::system(text_of(
                content,
                &format!("messages.{i}.content"),
            )?)),
            Some(other) => {
                return Err(invalid(format!(
                    "messages.{i}.role: Input should be 'user' or 'assistant', not '{other}'"
                )));
            }
            None => return Err(invalid(format!("messages.{i}.role: Field required"))),
        }
        check_answered(open.take(), &answered)?;
    }
    check_answered(open, &HashSet::new())
}

/// Every `tool_use` of the message at `open` is answered in the next one.
fn check_answered(
    open: Option<(usize, Vec<String>)>,
    answered: &HashSet<String>,
) -> Result<(), ApiError> {
    let Some((at, ids)) = open else { return Ok(()) };
    let missing: Vec<&str> = ids
        .iter()
        .filter(|id| !answered.contains(*id))
        .map(String::as_str)
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    Err(invalid(format!(
        "messages.{at}: `tool_use` ids were found without `tool_result` blocks immediately after: {}. Each `tool_use` block must have a corresponding `tool_result` block in the next message.",
        missing.join(", ")
    )))
}

fn read_tool(i: usize, tool: &Value) -> Result<ToolDefinition, ApiError> {
    let at = format!("tools.{i}");
    match tool.get("type").and_then(Value::as_str) {
        None | Some("custom") => {}
        Some(other) => {
            return Err(invalid(format!(
                "{at}: toolcall-sim simulates custom tools, not the server tool `{other}`"
            )));
        }
    }
    let name = tool
        .get("name")
        .and_then(Value::as_str)
        .ok_or_else(|| invalid(format!("{at}.name: Field required")))?;
    if !ToolDefinition::is_valid_name(name) {
        return Err(invalid(format!(
            "{at}.name: String should match pattern '^[a-zA-Z0-9_-]{{1,128}}$'"
        )));
    }
    let schema = tool
        .get("input_schema")
        .filter(|s| s.get("type").and_then(Value::as_str) == Some("object"))
        .ok_or_else(|| {
            invalid(format!(
                "{at}.input_schema: Field required, with `type: \"object\"`"
            ))
        })?;
    let description = tool
        .get("description")
        .and_then(Value::as_str)
        .unwrap_or("");
    Ok(ToolDefinition::new(name, description, schema.clone())
        .with_strict(tool.get("strict").and_then(Value::as_bool) == Some(true)))
}

/// `tool_choice` as the neutral choice and `parallel_tool_calls`.
fn read_tool_choice(
    choice: Option<&Value>,
    tools: &[ToolDefinition],
) -> Result<(Option<ToolChoice>, Option<bool>), ApiError> {
    let Some(choice) = choice.filter(|c| !c.is_null()) else {
        return Ok((None, None));
    };
    let parallel = choice
        .get("disable_parallel_tool_use")
        .and_then(Value::as_bool)
        .map(|disable| !disable);
    let choice = match choice.get("type").and_then(Value::as_str) {
        Some("auto") => ToolChoice::Auto,
        Some("any") => ToolChoice::Required,
        Some("none") => ToolChoice::None,
        Some("tool") => {
            let name = choice
                .get("name")
                .and_then(Value::as_str)
                .ok_or_else(|| invalid("tool_choice.tool.name: Field required"))?;
            if !tools.iter().any(|t| t.name == name) {
                return Err(invalid(format!(
                    "tool_choice: tool `{name}` was not found in `tools`"
                )));
            }
            ToolChoice::Function(name.to_owned())
        }
        _ => {
            return Err(invalid(
                "tool_choice: Input tag should be one of 'auto', 'any', 'tool', 'none'",
            ));
        }
    };
    Ok((Some(choice), parallel))
}

// ---- the reply ------------------------------------------------------------------

fn stop_reason(reason: Option<FinishReason>) -> &'static str {
    match reason {
        Some(FinishReason::ToolCalls) => "tool_use",
        Some(FinishReason::Length) => "max_tokens",
        Some(FinishReason::ContentFilter) => "refusal",
        _ => "end_turn",
    }
}

fn usage_json(usage: Usage) -> Value {
    // The API's `input_tokens` leaves out the tokens the cache read or wrote.
    let cached = usage.cache_read_tokens + usage.cache_creation_tokens;
    json!({
        "input_tokens": usage.prompt_tokens.saturating_sub(cached),
        "output_tokens": usage.completion_tokens,
        "cache_creation_input_tokens": usage.cache_creation_tokens,
        "cache_read_input_tokens": usage.cache_read_tokens,
        "service_tier": "standard",
    })
}

/// A call's `input`: its arguments as JSON, or (a malformed-arguments fault)
/// the text as it is.
fn input(call: &ToolCall) -> Value {
    match serde_json::from_str::<Value>(&call.arguments) {
        Ok(value @ Value::Object(_)) => value,
        Ok(_) | Err(_) if call.arguments.trim().is_empty() => json!({}),
        Ok(_) | Err(_) => Value::String(call.arguments.clone()),
    }
}

/// The whole `message` body.
pub(crate) fn message(envelope: &Envelope, response: &ChatResponse) -> Value {
    let mut content: Vec<Value> = Vec::new();
    if let Some(text) = response.content.as_ref().filter(|t| !t.is_empty()) {
        content.push(json!({"type": "text", "text": text}));
    }
    for call in &response.tool_calls {
        content.push(
            json!({"type": "tool_use", "id": call.id, "name": call.name, "input": input(call)}),
        );
    }
    json!({
        "id": envelope.id,
        "type": "message",
        "role": "assistant",
        "model": envelope.model,
        "content": content,
        "stop_reason": stop_reason(response.finish_reason),
        "stop_sequence": null,
        "usage": usage_json(response.usage.unwrap_or_default()),
    })
}

/// Builds the events of a streamed reply, block by block.
struct Blocks {
    frames: Sse,
    /// The open block: its index, and whether it is a tool call that got
    /// argument text.
    open: Option<(usize, bool)>,
    next: usize,
    /// The open block's delta frame around its text (built at its first
    /// delta): the deltas of a block differ only in it.
    shape: Option<(usize, Option<Around>)>,
}

/// The event name of a block's delta.
const DELTA: &str = "content_block_delta";

/// What a block's deltas carry.
#[derive(Clone, Copy)]
enum Fragment {
    Text,
    Json,
}

impl Blocks {
    fn push(&mut self, at: Duration, event: &str, data: Value) {
        self.frames.event(at, event, &data);
    }

    fn start(&mut self, at: Duration, block: Value) {
        self.stop(at);
        let index = self.next;
        self.next += 1;
        self.push(
            at,
            "content_block_start",
            json!({"type": "content_block_start", "index": index, "content_block": block}),
        );
        self.open = Some((index, false));
    }

    /// Close the open block.
    fn stop(&mut self, at: Duration) {
        if let Some((index, _)) = self.open.take() {
            self.push(
                at,
                "content_block_stop",
                json!({"type": "content_block_stop", "index": index}),
            );
        }
    }

    /// A delta of the open block.
    fn delta(&mut self, at: Duration, kind: Fragment, text: &str) {
        let Some((index, _)) = self.open else {
            return;
        };
        let delta = |text: &str| {
            let delta = match kind {
                Fragment::Text => json!({"type": "text_delta", "text": text}),
                Fragment::Json => json!({"type": "input_json_delta", "partial_json": text}),
            };
            json!({"type": "content_block_delta", "index": index, "delta": delta})
        };
        if self.shape.as_ref().is_none_or(|(of, _)| *of != index) {
            let around = Around::event(DELTA, &delta(Around::PLACEHOLDER));
            self.shape = Some((index, around));
        }
        match &self.shape {
            Some((_, Some(around))) => self.frames.data_around(at, around, text),
            _ => self.push(at, DELTA, delta(text)),
        }
    }
}

/// The frames of a streamed reply, each with its offset from the request's
/// arrival; the second value is when the connection drops, for a disconnect.
pub(crate) fn frames(envelope: &Envelope, reply: &ReplyPlan) -> Frames {
    let usage = reply.response.usage.unwrap_or_default();
    let mut blocks = Blocks {
        frames: Sse::default(),
        open: None,
        next: 0,
        shape: None,
    };
    let start = json!({
        "type": "message_start",
        "message": {
            "id": envelope.id,
            "type": "message",
            "role": "assistant",
            "model": envelope.model,
            "content": [],
            "stop_reason": null,
            "stop_sequence": null,
            "usage": usage_json(Usage::new(usage.prompt_tokens, 1).with_cache(
                usage.cache_read_tokens,
                usage.cache_creation_tokens,
            )),
        }
    });
    blocks.push(reply.role_at, "message_start", start);
    blocks.push(reply.role_at, "ping", json!({"type": "ping"}));
    let events = block_events(reply);
    let keep = kept(&events, reply.disconnect_after.unwrap_or(usize::MAX));
    let mut text_open = false;
    for (at, event) in &events[..keep] {
        let at = *at;
        match event {
            StreamEvent::Text(text) => {
                if !text_open {
                    blocks.start(at, json!({"type": "text", "text": ""}));
                    text_open = true;
                }
                blocks.delta(at, Fragment::Text, text);
            }
            StreamEvent::ToolCall(delta) => {
                if let (Some(id), Some(name)) = (&delta.id, &delta.name) {
                    text_open = false;
                    blocks.start(
                        at,
                        json!({"type": "tool_use", "id": id, "name": name, "input": {}}),
                    );
                }
                if let Some(arguments) = delta.arguments.as_ref().filter(|a| !a.is_empty()) {
                    if let Some((_, got_text)) = blocks.open.as_mut() {
                        *got_text = true;
                    }
                    blocks.delta(at, Fragment::Json, arguments);
                }
            }
            StreamEvent::ToolCallDone(_) => {
                if blocks.open.is_some_and(|(_, got)| !got) {
                    blocks.delta(at, Fragment::Json, "");
                }
                blocks.stop(at);
            }
            _ => {}
        }
    }
    if let Some(drop) = reply.drop_at() {
        return (blocks.frames.finish(), Some(drop));
    }
    blocks.stop(reply.end);
    blocks.push(
        reply.end,
        "message_delta",
        json!({
            "type": "message_delta",
            "delta": {"stop_reason": stop_reason(reply.response.finish_reason), "stop_sequence": null},
            "usage": {"output_tokens": usage.completion_tokens},
        }),
    );
    blocks.push(reply.end, "message_stop", json!({"type": "message_stop"}));
    (blocks.frames.finish(), None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn delta_frames_are_the_serialized_events() {
        let reply = crate::wire::sample::reply(true);
        let (pieces, drop) = frames(&crate::wire::sample::envelope(), &reply);
        assert_eq!(drop, None);
        let bytes: Vec<u8> = pieces.iter().flat_map(|(_, b)| b.to_vec()).collect();
        let text = String::from_utf8(bytes).expect("UTF-8");
        // Each block's deltas, joined.
        let mut joined: BTreeMap<u64, String> = BTreeMap::new();
        for frame in text.split_terminator("\n\n") {
            let (event, data) = frame
                .strip_prefix("event: ")
                .and_then(|f| f.split_once("\ndata: "))
                .expect("an event frame");
            let value: Value = serde_json::from_str(data).expect("JSON");
            // Written as the event's value serializes, byte for byte.
            assert_eq!(serde_json::to_string(&value).expect("JSON"), data);
            if event == DELTA {
                let delta = &value["delta"];
                let piece = match delta["type"].as_str() {
                    Some("text_delta") => &delta["text"],
                    Some("input_json_delta") => &delta["partial_json"],
                    other => panic!("a delta of type {other:?}"),
                };
                let index = value["index"].as_u64().expect("an index");
                joined
                    .entry(index)
                    .or_default()
                    .push_str(piece.as_str().expect("a string"));
            }
        }
        let mut wanted = BTreeMap::new();
        wanted.insert(0, reply.response.content.clone().expect("text"));
        for (i, call) in reply.response.tool_calls.iter().enumerate() {
            wanted.insert(i as u64 + 1, call.arguments.clone());
        }
        assert_eq!(joined, wanted);
    }
}
