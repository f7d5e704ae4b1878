//! The OpenAI Responses wire format (`POST /v1/responses`, `GET
//! /v1/responses/{id}`): input items read into the neutral transcript,
//! response bodies and their typed SSE events (with `sequence_number`), as
//! the API reference and the official SDK's `types/responses` define them.
//!
//! The server keeps the last [`STORED_RESPONSES`] responses (unless a
//! request says `store: false`), each with the conversation it ended, so a
//! request with `previous_response_id` is read as that conversation plus its
//! new input: the engine sees, pairs and journals the whole transcript.

use std::collections::VecDeque;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use hyper::HeaderMap;
use serde_json::{Map, Value, json};
use toolcall_runtime::{
    ChatRequest, Content, ContentPart, Effort, FinishReason, Message, OutputFormat, Reasoning,
    Settings, StreamEvent, ToolCall, ToolChoice, ToolDefinition, Usage,
};

use super::chat::Chat;
use super::chat_body::{in_range, json_kind};
use super::media::{inline, is_base64, is_http_url};
use super::{ApiError, Blanks, Envelope, Format, Frames, Parsed, Sse, block_events, kept};
use crate::engine::{Asks, Engine, ReplyPlan, ResponseFormat, Tools, Unpaired, check_pairing};

/// The prefix of response ids.
pub(crate) const ID_PREFIX: &str = "resp_";

/// How many responses the server keeps for `previous_response_id` and `GET`.
pub(crate) const STORED_RESPONSES: usize = 1024;

/// `POST /v1/responses`, with the responses it keeps.
#[derive(Debug, Default)]
pub(crate) struct Responses {
    store: Mutex<VecDeque<Stored>>,
}

/// A kept response: its body, and the conversation it ended (without the
/// instructions, which the API does not carry over).
#[derive(Debug, Clone)]
struct Stored {
    id: String,
    conversation: Vec<Message>,
    body: Value,
}

/// What a Responses request asks of its reply beyond the neutral request.
#[derive(Debug, Clone, Default)]
pub(crate) struct ResponsesOptions {
    /// The conversation before this request's input (from
    /// `previous_response_id`) and the input, without the instructions.
    conversation: Vec<Message>,
    instructions: Option<String>,
    previous_response_id: Option<String>,
    store: bool,
    /// The request's function tools and settings, echoed in the response.
    tools: Vec<Value>,
    tool_choice: Value,
    parallel_tool_calls: bool,
    /// `max_output_tokens`: past it, the response is `incomplete`.
    max_output_tokens: Option<u32>,
}

impl Responses {
    fn lock(&self) -> MutexGuard<'_, VecDeque<Stored>> {
        self.store
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The body of a kept response (`GET /v1/responses/{id}`).
    pub(crate) fn retrieve(&self, id: &str) -> Result<Value, ApiError> {
        self.lock()
            .iter()
            .find(|s| s.id == id)
            .map(|s| s.body.clone())
            .ok_or_else(|| response_not_found(id))
    }

    fn conversation(&self, id: &str) -> Option<Vec<Message>> {
        self.lock()
            .iter()
            .find(|s| s.id == id)
            .map(|s| s.conversation.clone())
    }
}

/// Every parameter of `responses.create` in the official SDKs
/// (openai-python's `ResponseCreateParamsBase`, and `stream`); the
/// simulator uses some and accepts the rest, and refuses any other.
const PARAMETERS: &[&str] = &[
    "background",
    "context_management",
    "conversation",
    "include",
    "input",
    "instructions",
    "max_output_tokens",
    "max_tool_calls",
    "metadata",
    "model",
    "moderation",
    "parallel_tool_calls",
    "previous_response_id",
    "prompt",
    "prompt_cache_key",
    "prompt_cache_options",
    "prompt_cache_retention",
    "reasoning",
    "safety_identifier",
    "service_tier",
    "store",
    "stream",
    "stream_options",
    "temperature",
    "text",
    "tool_choice",
    "tools",
    "top_logprobs",
    "top_p",
    "truncation",
    "user",
];

impl Format for Responses {
    type Options = ResponsesOptions;
    const SLOT: usize = 1;
    const ENDPOINT: crate::engine::fixture::Endpoint = crate::engine::fixture::Endpoint::Responses;
    const FIXED_HEADERS: &'static [(&'static str, &'static str)] = super::chat::RATE_LIMITS;
    const REPLY_HEADERS: &'static [&'static str] = super::chat::OPENAI_REPLY_HEADERS;

    fn id_prefix(&self) -> &'static str {
        ID_PREFIX
    }

    fn authorize(&self, headers: &HeaderMap, key: &str) -> Result<(), ApiError> {
        Chat.authorize(headers, key)
    }

    fn parse(&self, engine: &Engine, body: &[u8]) -> Result<Parsed<ResponsesOptions>, ApiError> {
        let value: Value = match serde_json::from_slice(body) {
            Ok(value @ Value::Object(_)) => value,
            Ok(_) | Err(_) => {
                let error = ApiError::invalid_json();
                engine.reject(&error, "", false);
                return Err(error);
            }
        };
        let stream = value.get("stream").and_then(Value::as_bool) == Some(true);
        let model = value
            .get("model")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned();
        let read = match super::unknown_key(&value, PARAMETERS) {
            Some(name) => Err(ApiError::unknown_parameter(
                format!("Unknown parameter: '{name}'."),
                name,
                Some("unknown_parameter"),
            )),
            None => self.read(&value, model.clone(), stream),
        };
        match read {
            Ok(parsed) => Ok(parsed),
            Err(error) => {
                engine.reject(&error, &model, stream);
                Err(error)
            }
        }
    }

    fn reply(&self, envelope: &Envelope, plan: &ReplyPlan, options: &ResponsesOptions) -> Vec<u8> {
        super::to_json(&completed_body(envelope, plan, options))
    }

    fn frames(&self, envelope: &Envelope, plan: &ReplyPlan, options: &ResponsesOptions) -> Frames {
        frames(envelope, plan, options)
    }

    fn error_body(&self, error: &ApiError) -> Value {
        error.body()
    }

    fn reply_headers(&self, envelope: &Envelope, processing: Duration, blanks: &mut Blanks<'_>) {
        super::chat::openai_reply_headers(self.id_prefix(), envelope, processing, blanks);
    }

    fn remember(&self, envelope: &Envelope, plan: &ReplyPlan, options: &ResponsesOptions) {
        // A reply cut short by a disconnect never completes.
        if !options.store || plan.drop_at().is_some() {
            return;
        }
        let mut conversation = options.conversation.clone();
        conversation.push(plan.response.to_message());
        let body = completed_body(envelope, plan, options);
        let mut store = self.lock();
        if store.len() >= STORED_RESPONSES {
            store.pop_front();
        }
        store.push_back(Stored {
            id: envelope.id.clone(),
            conversation,
            body,
        });
    }
}

/// The body of a finished response: `completed`, or `incomplete` when
/// `max_output_tokens` cut it.
fn completed_body(envelope: &Envelope, plan: &ReplyPlan, options: &ResponsesOptions) -> Value {
    let output = Layout::of(envelope, plan).output(plan);
    response_body(
        envelope,
        options,
        end_status(plan),
        output,
        plan.response.usage,
    )
}

/// How a response that ran to its end ends.
fn end_status(plan: &ReplyPlan) -> &'static str {
    if plan.response.finish_reason == Some(FinishReason::Length) {
        "incomplete"
    } else {
        "completed"
    }
}

// ---- requests ---------------------------------------------------------------------

fn invalid(message: impl Into<String>, param: &str) -> ApiError {
    ApiError::invalid_request(message, Some(param.to_owned()))
}

/// 400 for a `previous_response_id` the server does not have.
fn previous_not_found(id: &str) -> ApiError {
    ApiError {
        code: Some("previous_response_not_found".into()),
        ..invalid(
            format!("Previous response with id '{id}' not found."),
            "previous_response_id",
        )
    }
}

/// 404 for `GET /v1/responses/{id}` of a response the server does not have.
fn response_not_found(id: &str) -> ApiError {
    ApiError {
        status: 404,
        ..ApiError::invalid_request(format!("Response with id '{id}' not found."), None)
    }
}

/// The Responses wording of a transcript whose calls and outputs do not pair.
fn pairing_error(unpaired: Unpaired) -> ApiError {
    match unpaired {
        Unpaired::Stray { id, .. } => invalid(
            format!("No tool call found for function call output with call_id {id}."),
            "input",
        ),
        Unpaired::Unanswered { ids, .. } => invalid(
            format!(
                "No tool output found for function call {}.",
                ids.first().map_or("", String::as_str)
            ),
            "input",
        ),
    }
}

/// The text of a content field: a string, or the `text` of its parts
/// (`input_text`, `output_text`; a refusal's `refusal`).
fn text_of(content: &Value, param: &str) -> Result<String, ApiError> {
    match content {
        Value::String(text) => Ok(text.clone()),
        Value::Null => Ok(String::new()),
        Value::Array(parts) => {
            let mut text = String::new();
            for (i, part) in parts.iter().enumerate() {
                match part.get("type").and_then(Value::as_str) {
                    Some("input_text" | "output_text" | "text") => {
                        text.push_str(part.get("text").and_then(Value::as_str).unwrap_or(""));
                    }
                    Some("refusal") => {
                        text.push_str(part.get("refusal").and_then(Value::as_str).unwrap_or(""));
                    }
                    other => {
                        return Err(invalid(
                            format!(
                                "toolcall-sim reads text content only, not a `{}` part",
                                other.unwrap_or("untyped")
                            ),
                            &format!("{param}[{i}].type"),
                        ));
                    }
                }
            }
            Ok(text)
        }
        other => Err(invalid(
            format!(
                "Invalid type for '{param}': expected a string or an array of content parts, but got {other}."
            ),
            param,
        )),
    }
}

/// A user message's content or a `function_call_output`'s output: a
/// string, or `input_text`, `input_image` and `input_file` parts. The text
/// joined, and every part in order when there is an image or a file
/// (else an empty `Content`).
fn read_parts(content: &Value, param: &str) -> Result<(String, Content), ApiError> {
    let Value::Array(items) = content else {
        return Ok((text_of(content, param)?, Content::new()));
    };
    let mut text = String::new();
    let mut parts = Content::new();
    let mut media = false;
    for (i, part) in items.iter().enumerate() {
        let at = format!("{param}[{i}]");
        let read = match part.get("type").and_then(Value::as_str) {
            Some("input_image") => input_image(part, &at)?,
            Some("input_file") => input_file(part, &at)?,
            _ => {
                let piece = text_of(&Value::Array(vec![part.clone()]), param).map_err(|_| {
                    invalid(
                        format!(
                            "Invalid value: '{}'. Supported values are: 'input_text', 'input_image', and 'input_file'.",
                            part.get("type").and_then(Value::as_str).unwrap_or("none")
                        ),
                        &format!("{at}.type"),
                    )
                })?;
                text.push_str(&piece);
                ContentPart::text(piece)
            }
        };
        media |= read.as_text().is_none();
        parts.extend([read]);
    }
    Ok((text, if media { parts } else { Content::new() }))
}

/// An `input_image`: its `image_url` (a URL, or a base64 `data:` URL).
fn input_image(part: &Value, at: &str) -> Result<ContentPart, ApiError> {
    if part.get("file_id").is_some_and(|f| !f.is_null()) {
        return Err(invalid(
            "toolcall-sim has no uploaded files: send the image as `image_url`.",
            &format!("{at}.file_id"),
        ));
    }
    let url = part
        .get("image_url")
        .and_then(Value::as_str)
        .ok_or_else(|| {
            invalid(
                format!("Missing required parameter: '{at}.image_url'."),
                &format!("{at}.image_url"),
            )
        })?;
    match ContentPart::image_url(url) {
        ContentPart::Image { data, .. } if !is_base64(&data) => Err(invalid(
            format!(
                "Invalid '{at}.image_url'. Expected a base64-encoded data URL with an image MIME type, but got an invalid value."
            ),
            &format!("{at}.image_url"),
        )),
        ContentPart::ImageUrl { url } if !is_http_url(&url) => Err(invalid(
            format!(
                "Invalid '{at}.image_url'. Expected a valid URL, but got a value with an invalid format."
            ),
            &format!("{at}.image_url"),
        )),
        image => Ok(image),
    }
}

/// An `input_file`: its `file_data` (a base64 `data:` URL, or bare base64
/// taken as a PDF) with its `filename`, or its `file_url`.
fn input_file(part: &Value, at: &str) -> Result<ContentPart, ApiError> {
    let text = |name: &str| part.get(name).and_then(Value::as_str);
    if part.get("file_id").is_some_and(|f| !f.is_null()) {
        return Err(invalid(
            "toolcall-sim has no uploaded files: send the file as `file_data` or `file_url`.",
            &format!("{at}.file_id"),
        ));
    }
    match (text("file_data"), text("file_url")) {
        (Some(data), None) => {
            let (mime_type, data) = match data
                .strip_prefix("data:")
                .and_then(|d| d.split_once(";base64,"))
            {
                Some((mime_type, data)) => (mime_type, data),
                None => ("application/pdf", data),
            };
            if !is_base64(data) {
                return Err(invalid(
                    format!("Invalid '{at}.file_data'. Expected base64-encoded file data."),
                    &format!("{at}.file_data"),
                ));
            }
            Ok(inline(mime_type, data, text("filename").map(str::to_owned)))
        }
        (None, Some(url)) if is_http_url(url) => Ok(ContentPart::DocumentUrl {
            url: url.to_owned(),
        }),
        (None, Some(_)) => Err(invalid(
            format!("Invalid '{at}.file_url'. Expected a valid URL."),
            &format!("{at}.file_url"),
        )),
        _ => Err(invalid(
            format!("Invalid input: '{at}' needs exactly one of 'file_data' and 'file_url'."),
            at,
        )),
    }
}

fn string_field(item: &Value, field: &str, param: &str) -> Result<String, ApiError> {
    item.get(field)
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| {
            invalid(
                format!("Missing required parameter: '{param}.{field}'."),
                &format!("{param}.{field}"),
            )
        })
}

/// The input items as neutral messages: consecutive `function_call` items
/// (after an assistant message, if any) are one assistant message with
/// several calls; each `function_call_output` a tool message.
fn read_input(input: Option<&Value>) -> Result<Vec<Message>, ApiError> {
    let items = match input {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::String(text)) => return Ok(vec![Message::user(text.clone())]),
        Some(Value::Array(items)) => items,
        Some(other) => {
            return Err(invalid(
                format!(
                    "Invalid type for 'input': expected a string or an array of input items, but got {other}."
                ),
                "input",
            ));
        }
    };
    let mut messages: Vec<Message> = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let param = format!("input[{i}]");
        let kind = item.get("type").and_then(Value::as_str);
        match kind {
            Some("message") | None if item.get("role").is_some() => {
                let role = item.get("role").and_then(Value::as_str).unwrap_or("");
                let content = item.get("content").unwrap_or(&Value::Null);
                if role == "user" {
                    let (turn, media) = read_parts(content, &format!("{param}.content"))?;
                    messages.push(Message::user(if media.parts().is_empty() {
                        Content::from(turn)
                    } else {
                        media
                    }));
                    continue;
                }
                let text = text_of(content, &format!("{param}.content"))?;
                messages.push(match role {
                    "system" | "developer" => Message::system(text),
                    "assistant" => Message::assistant(Some(text), Vec::new()),
                    other => {
                        return Err(invalid(
                            format!("Invalid value: '{other}'. Supported values are: 'user', 'assistant', 'system', and 'developer'."),
                            &format!("{param}.role"),
                        ));
                    }
                });
            }
            Some("function_call") => {
                let call = ToolCall::new(
                    string_field(item, "call_id", &param)?,
                    string_field(item, "name", &param)?,
                    item.get("arguments")
                        .and_then(Value::as_str)
                        .unwrap_or("")
                        .to_owned(),
                );
                match messages.last_mut() {
                    Some(Message::Assistant { tool_calls, .. }) => tool_calls.push(call),
                    _ => messages.push(Message::assistant(None, vec![call])),
                }
            }
            Some("function_call_output") => {
                let call_id = string_field(item, "call_id", &param)?;
                let (output, all) = read_parts(
                    item.get("output").unwrap_or(&Value::Null),
                    &format!("{param}.output"),
                )?;
                let parts: Vec<ContentPart> = all
                    .into_parts()
                    .into_iter()
                    .filter(|p| p.as_text().is_none())
                    .collect();
                messages.push(Message::Tool {
                    tool_call_id: call_id,
                    content: output,
                    parts,
                    is_error: false,
                });
            }
            // A reasoning model's thoughts: nothing the simulator reads.
            Some("reasoning") => {}
            other => {
                return Err(invalid(
                    format!(
                        "Invalid value: '{}'. toolcall-sim supports the input item types 'message', 'function_call', 'function_call_output' and 'reasoning'.",
                        other.unwrap_or("none")
                    ),
                    &format!("{param}.type"),
                ));
            }
        }
    }
    Ok(messages)
}

/// The function tools (hosted tools are not simulated and left out), and
/// their echo in the response.
fn read_tools(tools: Option<&Value>) -> Result<(Vec<ToolDefinition>, Vec<Value>), ApiError> {
    let mut definitions = Vec::new();
    let mut echo = Vec::new();
    let tools = match tools {
        None | Some(Value::Null) => return Ok((definitions, echo)),
        Some(Value::Array(tools)) => tools,
        Some(other) => {
            return Err(ApiError::invalid_type(
                "tools",
                "an array",
                json_kind(&other.to_string()),
            ));
        }
    };
    for (i, tool) in tools.iter().enumerate() {
        if tool.get("type").and_then(Value::as_str) != Some("function") {
            continue;
        }
        let param = format!("tools[{i}]");
        let name = string_field(tool, "name", &param)?;
        let description = tool.get("description").and_then(Value::as_str);
        let parameters = tool
            .get("parameters")
            .cloned()
            .filter(|p| !p.is_null())
            .unwrap_or_else(|| json!({"type": "object", "properties": {}}));
        // The Responses API makes function tools strict unless told otherwise.
        let strict = tool.get("strict").and_then(Value::as_bool).unwrap_or(true);
        echo.push(json!({
            "type": "function",
            "name": name,
            "description": description,
            "parameters": parameters,
            "strict": strict,
        }));
        definitions.push(
            ToolDefinition::new(name, description.unwrap_or(""), parameters).with_strict(strict),
        );
    }
    Ok((definitions, echo))
}

fn read_tool_choice(choice: Option<&Value>) -> Option<ToolChoice> {
    match choice? {
        Value::String(mode) => match mode.as_str() {
            "none" => Some(ToolChoice::None),
            "required" => Some(ToolChoice::Required),
            _ => Some(ToolChoice::Auto),
        },
        Value::Object(choice) if choice.get("type").and_then(Value::as_str) == Some("function") => {
            choice
                .get("name")
                .and_then(Value::as_str)
                .map(|name| ToolChoice::Function(name.to_owned()))
        }
        _ => Some(ToolChoice::Auto),
    }
}

/// `max_output_tokens`: absent, `null`, or a whole number of 16 or more,
/// as the API takes it.
fn read_max_output_tokens(value: Option<&Value>) -> Result<Option<u32>, ApiError> {
    const PARAM: &str = "max_output_tokens";
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => match n.as_i64() {
            Some(n) if n < MIN_OUTPUT_TOKENS => {
                Err(ApiError::below_minimum(PARAM, MIN_OUTPUT_TOKENS, n))
            }
            Some(n) => Ok(Some(u32::try_from(n).unwrap_or(u32::MAX))),
            None => Err(ApiError::invalid_type(PARAM, "an integer", "a decimal")),
        },
        Some(other) => Err(ApiError::invalid_type(
            PARAM,
            "an integer",
            json_kind(&other.to_string()),
        )),
    }
}

/// The sampling settings (`temperature`, `top_p` checked as the API
/// checks them), `reasoning.effort` and the user tag, for the journal.
fn read_settings(value: &Value) -> Result<Settings, ApiError> {
    let mut settings = Settings::default();
    for (name, max) in [("temperature", 2.0), ("top_p", 1.0)] {
        let number = match value.get(name) {
            None | Some(Value::Null) => continue,
            Some(Value::Number(n)) => n.as_f64().unwrap_or(0.0),
            Some(other) => {
                return Err(ApiError::invalid_type(
                    name,
                    "a decimal",
                    json_kind(&other.to_string()),
                ));
            }
        };
        in_range(name, number, 0.0, max)?;
        let slot = if name == "temperature" {
            &mut settings.temperature
        } else {
            &mut settings.top_p
        };
        *slot = Some(number as f32);
    }
    if let Some(effort) = value.pointer("/reasoning/effort").filter(|e| !e.is_null()) {
        let effort = serde_json::from_value::<Effort>(effort.clone()).map_err(|_| {
            ApiError::invalid_value(
                "reasoning.effort",
                format!("Invalid value: {effort}. Supported values are: 'minimal', 'low', 'medium', and 'high'."),
            )
        })?;
        settings.reasoning = Some(Reasoning::Effort(effort));
    }
    settings.user = ["safety_identifier", "user"]
        .iter()
        .find_map(|k| value.get(*k).and_then(Value::as_str))
        .map(str::to_owned);
    Ok(settings)
}

/// `text.format`: plain text, any JSON object, or a value of a schema.
fn read_text_format(
    format: Option<&Value>,
) -> Result<(Option<ResponseFormat>, Option<OutputFormat>), ApiError> {
    let Some(format) = format.filter(|f| !f.is_null()) else {
        return Ok((None, None));
    };
    match format.get("type").and_then(Value::as_str) {
        Some("text") => Ok((None, None)),
        Some("json_object") => Ok((Some(ResponseFormat::JsonObject), None)),
        Some("json_schema") => match format.get("schema").filter(|s| s.is_object()) {
            Some(schema) => Ok((
                Some(ResponseFormat::JsonSchema(schema.clone())),
                Some(OutputFormat {
                    name: format
                        .get("name")
                        .and_then(Value::as_str)
                        .unwrap_or("")
                        .to_owned(),
                    schema: schema.clone(),
                    strict: format.get("strict").and_then(Value::as_bool) == Some(true),
                }),
            )),
            None => Err(invalid(
                "Missing required parameter: 'text.format.schema'.",
                "text.format.schema",
            )),
        },
        other => Err(invalid(
            format!(
                "Invalid value: '{}'. Supported values are: 'text', 'json_object', and 'json_schema'.",
                other.unwrap_or("none")
            ),
            "text.format.type",
        )),
    }
}

/// The least `max_output_tokens` the API takes.
const MIN_OUTPUT_TOKENS: i64 = 16;

impl Responses {
    /// Read a request body (an object) into the neutral request.
    fn read(
        &self,
        value: &Value,
        model: String,
        stream: bool,
    ) -> Result<Parsed<ResponsesOptions>, ApiError> {
        if model.is_empty() {
            return Err(ApiError::missing_model());
        }
        let previous_response_id = match value.get("previous_response_id") {
            None | Some(Value::Null) => None,
            Some(Value::String(id)) => Some(id.clone()),
            Some(other) => {
                return Err(invalid(
                    format!(
                        "Invalid type for 'previous_response_id': expected a string, but got {other}."
                    ),
                    "previous_response_id",
                ));
            }
        };
        let mut conversation = match &previous_response_id {
            Some(id) => self
                .conversation(id)
                .ok_or_else(|| previous_not_found(id))?,
            None => Vec::new(),
        };
        conversation.extend(read_input(value.get("input"))?);
        let instructions = value
            .get("instructions")
            .and_then(Value::as_str)
            .map(str::to_owned);
        if let Some(stream) = value
            .get("stream")
            .filter(|s| !s.is_null() && !s.is_boolean())
        {
            return Err(ApiError::invalid_type(
                "stream",
                "a boolean",
                json_kind(&stream.to_string()),
            ));
        }
        let (tools, tool_echo) = read_tools(value.get("tools"))?;
        let tool_choice = read_tool_choice(value.get("tool_choice"));
        let parallel_tool_calls = value.get("parallel_tool_calls").and_then(Value::as_bool);
        let max_output_tokens = read_max_output_tokens(value.get("max_output_tokens"))?;
        let mut settings = read_settings(value)?;
        settings.max_tokens = max_output_tokens;
        let (response_format, output) = read_text_format(value.pointer("/text/format"))?;
        let mut messages = Vec::with_capacity(conversation.len() + 1);
        messages.extend(instructions.clone().map(Message::system));
        messages.extend(conversation.iter().cloned());
        check_pairing(&messages).map_err(pairing_error)?;
        let request = ChatRequest {
            model,
            messages,
            tools: Vec::new(),
            tool_choice: tool_choice.clone(),
            parallel_tool_calls,
            settings,
            output,
        };
        Ok(Parsed {
            request,
            tools: std::sync::Arc::new(Tools::new(tools)),
            stream,
            options: ResponsesOptions {
                conversation,
                instructions,
                previous_response_id,
                store: value.get("store").and_then(Value::as_bool) != Some(false),
                tools: tool_echo,
                tool_choice: value
                    .get("tool_choice")
                    .cloned()
                    .filter(|c| !c.is_null())
                    .unwrap_or_else(|| json!("auto")),
                parallel_tool_calls: parallel_tool_calls.unwrap_or(true),
                max_output_tokens,
            },
            asks: Asks {
                max_tokens: max_output_tokens,
                response_format,
                ..Asks::default()
            },
        })
    }
}

// ---- responses ----------------------------------------------------------------------

fn usage_json(usage: Usage) -> Value {
    json!({
        "input_tokens": usage.prompt_tokens,
        "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
        "output_tokens": usage.completion_tokens,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": usage.total_tokens,
    })
}

/// A response object; `status` is `in_progress` (then no output nor usage
/// yet), `completed` or `incomplete` (cut by `max_output_tokens`).
fn response_body(
    envelope: &Envelope,
    options: &ResponsesOptions,
    status: &str,
    output: Vec<Value>,
    usage: Option<Usage>,
) -> Value {
    let finished = status != "in_progress";
    let incomplete = (status == "incomplete").then(|| json!({"reason": "max_output_tokens"}));
    json!({
        "id": envelope.id,
        "object": "response",
        "created_at": envelope.created,
        "status": status,
        "background": false,
        "completed_at": (status == "completed").then_some(envelope.created),
        "error": null,
        "incomplete_details": incomplete,
        "instructions": options.instructions,
        "max_output_tokens": options.max_output_tokens,
        "max_tool_calls": null,
        "model": envelope.model,
        "output": output,
        "parallel_tool_calls": options.parallel_tool_calls,
        "previous_response_id": options.previous_response_id,
        "reasoning": {"effort": null, "summary": null},
        "service_tier": "default",
        "store": options.store,
        "temperature": 1.0,
        "text": {"format": {"type": "text"}, "verbosity": "medium"},
        "tool_choice": options.tool_choice,
        "tools": options.tools,
        "top_logprobs": 0,
        "top_p": 1.0,
        "truncation": "disabled",
        "usage": if finished { usage.map(usage_json) } else { None },
        "user": null,
        "metadata": {},
    })
}

/// Where each part of a reply goes in `output`: the message (when there is
/// text) first, then one item per call; and the ids of those items.
struct Layout {
    message_id: String,
    call_ids: Vec<String>,
    /// The output index of call 0.
    first_call: usize,
}

impl Layout {
    fn of(envelope: &Envelope, plan: &ReplyPlan) -> Self {
        let suffix = envelope.id.trim_start_matches("resp_");
        Layout {
            message_id: format!("msg_{suffix}"),
            call_ids: (0..plan.response.tool_calls.len())
                .map(|i| format!("fc_{suffix}_{i}"))
                .collect(),
            first_call: usize::from(plan.response.content.is_some()),
        }
    }

    fn message(&self, text: &str, status: &str) -> Value {
        let content = if status != "in_progress" {
            json!([text_part(text)])
        } else {
            json!([])
        };
        json!({"id": self.message_id, "type": "message", "status": status, "content": content, "role": "assistant"})
    }

    fn call(&self, index: usize, call: &ToolCall, arguments: &str, status: &str) -> Value {
        json!({
            "id": self.call_ids[index],
            "type": "function_call",
            "status": status,
            "arguments": arguments,
            "call_id": call.id,
            "name": call.name,
        })
    }

    /// The whole `output` of a finished reply.
    fn output(&self, plan: &ReplyPlan) -> Vec<Value> {
        let mut output = Vec::new();
        if let Some(text) = &plan.response.content {
            output.push(self.message(text, "completed"));
        }
        for (i, call) in plan.response.tool_calls.iter().enumerate() {
            output.push(self.call(i, call, &call.arguments, "completed"));
        }
        // A cut reply ends in the item it was cut in.
        if end_status(plan) == "incomplete"
            && let Some(Value::Object(last)) = output.last_mut()
        {
            last.insert("status".into(), json!("incomplete"));
        }
        output
    }
}

fn text_part(text: &str) -> Value {
    json!({"type": "output_text", "annotations": [], "logprobs": [], "text": text})
}

/// Numbered SSE events at their times.
struct Events {
    frames: Sse,
    sequence: u64,
}

impl Events {
    /// An event `kind` with these fields, then its `sequence_number`.
    fn push(&mut self, at: Duration, kind: &str, fields: Value) {
        let mut event = Map::new();
        event.insert("type".into(), json!(kind));
        if let Value::Object(fields) = fields {
            event.extend(fields);
        }
        event.insert("sequence_number".into(), json!(self.sequence));
        self.sequence += 1;
        self.frames.event(at, kind, &Value::Object(event));
    }
}

/// The events of a reply: `response.created` and `.in_progress`, then per
/// output item its `added`, deltas and `done` events, one item after
/// another (as the API sends them, and as `block_events` orders the
/// plan's chunks), and at the end `response.completed`. A call's
/// `function_call_arguments.done` goes out with its last fragment. A
/// disconnect cuts the events after the chunks it keeps.
fn frames(envelope: &Envelope, plan: &ReplyPlan, options: &ResponsesOptions) -> Frames {
    let layout = Layout::of(envelope, plan);
    let mut events = Events {
        frames: Sse::default(),
        sequence: 0,
    };
    let snapshot = response_body(envelope, options, "in_progress", Vec::new(), None);
    events.push(
        plan.role_at,
        "response.created",
        json!({"response": snapshot}),
    );
    events.push(
        plan.role_at,
        "response.in_progress",
        json!({"response": snapshot}),
    );
    let items = block_events(plan);
    let keep = kept(&items, plan.disconnect_after.unwrap_or(usize::MAX));
    let first_call = layout.first_call as u32;
    let mut arguments = vec![String::new(); plan.response.tool_calls.len()];
    // The text of the open message item, if one is open.
    let mut text: Option<String> = None;
    for (at, event) in &items[..keep] {
        let at = *at;
        match event {
            StreamEvent::Text(delta) => {
                let open = text.get_or_insert_with(|| {
                    open_message(&mut events, &layout, at);
                    String::new()
                });
                open.push_str(delta);
                events.push(
                    at,
                    "response.output_text.delta",
                    json!({"item_id": layout.message_id, "output_index": 0, "content_index": 0, "delta": delta, "logprobs": []}),
                );
            }
            StreamEvent::ToolCall(delta) => {
                let output_index = delta.index;
                let i = output_index.saturating_sub(first_call) as usize;
                let Some(call) = plan.response.tool_calls.get(i) else {
                    continue;
                };
                if let Some(open) = text.take() {
                    close_message(&mut events, &layout, at, &open, "completed");
                }
                if delta.id.is_some() {
                    events.push(
                        at,
                        "response.output_item.added",
                        json!({"output_index": output_index, "item": layout.call(i, call, "", "in_progress")}),
                    );
                }
                if let Some(fragment) = delta.arguments.as_deref().filter(|a| !a.is_empty()) {
                    arguments[i].push_str(fragment);
                    events.push(
                        at,
                        "response.function_call_arguments.delta",
                        json!({"item_id": layout.call_ids[i], "output_index": output_index, "delta": fragment}),
                    );
                }
            }
            StreamEvent::ToolCallDone(output_index) => {
                let i = output_index.saturating_sub(first_call) as usize;
                let Some(call) = plan.response.tool_calls.get(i) else {
                    continue;
                };
                events.push(
                    at,
                    "response.function_call_arguments.done",
                    json!({"item_id": layout.call_ids[i], "output_index": output_index, "arguments": arguments[i]}),
                );
                events.push(
                    at,
                    "response.output_item.done",
                    json!({"output_index": output_index, "item": layout.call(i, call, &arguments[i], "completed")}),
                );
            }
            _ => {}
        }
    }
    if let Some(drop) = plan.drop_at() {
        return (events.frames.finish(), Some(drop));
    }
    let status = end_status(plan);
    if let Some(open) = text.take() {
        close_message(&mut events, &layout, plan.end, &open, status);
    }
    let body = response_body(
        envelope,
        options,
        status,
        layout.output(plan),
        plan.response.usage,
    );
    let kind = if status == "incomplete" {
        "response.incomplete"
    } else {
        "response.completed"
    };
    events.push(plan.end, kind, json!({"response": body}));
    (events.frames.finish(), None)
}

fn open_message(events: &mut Events, layout: &Layout, at: Duration) {
    events.push(
        at,
        "response.output_item.added",
        json!({"output_index": 0, "item": layout.message("", "in_progress")}),
    );
    events.push(
        at,
        "response.content_part.added",
        json!({"item_id": layout.message_id, "output_index": 0, "content_index": 0, "part": text_part("")}),
    );
}

fn close_message(events: &mut Events, layout: &Layout, at: Duration, text: &str, status: &str) {
    events.push(
        at,
        "response.output_text.done",
        json!({"item_id": layout.message_id, "output_index": 0, "content_index": 0, "text": text, "logprobs": []}),
    );
    events.push(
        at,
        "response.content_part.done",
        json!({"item_id": layout.message_id, "output_index": 0, "content_index": 0, "part": text_part(text)}),
    );
    events.push(
        at,
        "response.output_item.done",
        json!({"output_index": 0, "item": layout.message(text, status)}),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn input_items_group_calls_into_one_assistant_message() {
        let input = json!([
            {"role": "user", "content": "hi"},
            {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "Looking."}]},
            {"type": "function_call", "call_id": "a", "name": "f", "arguments": "{}"},
            {"type": "function_call", "call_id": "b", "name": "g", "arguments": "{}"},
            {"type": "reasoning", "id": "rs_1", "summary": []},
            {"type": "function_call_output", "call_id": "a", "output": "1"},
            {"type": "function_call_output", "call_id": "b", "output": [{"type": "input_text", "text": "2"}]},
        ]);
        let messages = read_input(Some(&input)).expect("read");
        assert_eq!(
            messages,
            vec![
                Message::user("hi"),
                Message::assistant(
                    Some("Looking.".into()),
                    vec![ToolCall::new("a", "f", "{}"), ToolCall::new("b", "g", "{}")]
                ),
                Message::tool_result("a", "1"),
                Message::tool_result("b", "2"),
            ]
        );
        let bad = read_input(Some(
            &json!([{"type": "computer_call_output", "call_id": "x"}]),
        ))
        .expect_err("unsupported");
        assert_eq!(bad.param.as_deref(), Some("input[0].type"));
    }

    #[test]
    fn pairing_errors_are_worded_as_the_responses_api_does() {
        let stray = pairing_error(Unpaired::Stray {
            at: 1,
            id: "call_x".into(),
        });
        assert_eq!(
            (stray.status, stray.message.as_str(), stray.param.as_deref()),
            (
                400,
                "No tool call found for function call output with call_id call_x.",
                Some("input")
            )
        );
        let open = pairing_error(Unpaired::Unanswered {
            at: 1,
            ids: vec!["call_y".into(), "call_z".into()],
        });
        assert_eq!(
            open.message,
            "No tool output found for function call call_y."
        );
    }
}
