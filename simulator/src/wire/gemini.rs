//! Google's Gemini API (`POST /v1beta/models/{model}:generateContent` and
//! `:streamGenerateContent?alt=sse`, the same under `/v1`): the request
//! body read into the neutral transcript (function responses paired with
//! the calls of the turn before, by id or by position, checked as the API
//! checks them), the `GenerateContentResponse` body, its SSE chunks
//! (`data:` frames, no event names, no `[DONE]`), and errors as
//! `{"error": {"code", "message", "status", "details"}}`.
//!
//! The shapes follow the API reference and the official `google-genai`
//! SDK's types. That SDK writes some nested objects (function declarations,
//! function responses) with its Python field names, so every field is read
//! in both spellings (`parametersJsonSchema` and `parameters_json_schema`).

use std::time::Duration;

use hyper::HeaderMap;
use serde_json::{Value, json};
use toolcall_runtime::{
    ChatRequest, ChatResponse, Content, ContentPart, FinishReason, Message, StreamEvent, ToolCall,
    ToolCallDelta, ToolChoice, ToolDefinition, Usage,
};

use super::media::{inline, is_base64, linked};
use super::{
    ApiError, Blanks, Envelope, Format, Frames, NotStrings, Parsed, Sse, block_events, kept,
    string_list,
};
pub use crate::engine::GeminiOptions;
use crate::engine::{Asks, Engine, ReplyPlan, ResponseFormat, Tools};

/// The thought signature the simulator gives a reply's first call, named
/// `name`: base64 text (hex digits), the same each time for the same name.
pub(crate) fn signature(name: &str) -> String {
    // FNV-1a: a stable value with no dependency.
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in name.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{hash:016x}")
}

/// One Gemini request: the model and method come in the path.
#[derive(Debug, Clone)]
pub(crate) struct Gemini {
    /// The model named in the path.
    pub model: String,
    /// `streamGenerateContent` rather than `generateContent`.
    pub stream: bool,
}

impl Format for Gemini {
    const SLOT: usize = 3;
    const ENDPOINT: crate::engine::fixture::Endpoint = crate::engine::fixture::Endpoint::Gemini;
    const REPLY_HEADERS: &'static [&'static str] = &["server-timing"];
    type Options = GeminiOptions;

    fn id_prefix(&self) -> &'static str {
        ""
    }

    fn call_id_prefix(&self) -> &'static str {
        "fc_"
    }

    /// The real API answers 503 `UNAVAILABLE` when overloaded.
    fn status(&self, error: &ApiError) -> u16 {
        match error.status {
            529 => 503,
            status => status,
        }
    }

    /// The key comes in `x-goog-api-key` (what the SDKs send) or as a
    /// bearer token.
    fn authorize(&self, headers: &HeaderMap, key: &str) -> Result<(), ApiError> {
        let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
        let given = header("x-goog-api-key")
            .or_else(|| header("authorization").map(|v| v.strip_prefix("Bearer ").unwrap_or(v)));
        match given.map(str::trim) {
            Some(given) if given == key => Ok(()),
            Some(_) => Err(invalid("API key not valid. Please pass a valid API key.")),
            None => Err(ApiError {
                status: 403,
                kind: "PERMISSION_DENIED".into(),
                ..invalid(
                    "Method doesn't allow unregistered callers (callers without established identity). Please use API Key or other form of API consumer identity to call this API.",
                )
            }),
        }
    }

    fn parse(&self, engine: &Engine, body: &[u8]) -> Result<Parsed<GeminiOptions>, ApiError> {
        let options = engine.config.gemini;
        let value: Value = match serde_json::from_slice(body) {
            Ok(value @ Value::Object(_)) => value,
            Ok(_) => {
                return Err(reject(
                    engine,
                    invalid("Invalid JSON payload received. Expected an object."),
                    &self.model,
                ));
            }
            Err(e) => {
                return Err(reject(
                    engine,
                    invalid(format!("Invalid JSON payload received. {e}")),
                    &self.model,
                ));
            }
        };
        match read_request(&value, &self.model, options) {
            Ok((mut request, asks)) => Ok(Parsed {
                tools: std::sync::Arc::new(Tools::new(std::mem::take(&mut request.tools))),
                request,
                stream: self.stream,
                options,
                asks,
            }),
            Err(error) => Err(reject(engine, error, &self.model)),
        }
    }

    fn reply(&self, envelope: &Envelope, plan: &ReplyPlan, options: &GeminiOptions) -> Vec<u8> {
        super::to_json(&whole(envelope, &plan.response, *options))
    }

    fn frames(&self, envelope: &Envelope, plan: &ReplyPlan, options: &GeminiOptions) -> Frames {
        frames(envelope, plan, *options)
    }

    fn error_body(&self, error: &ApiError) -> Value {
        let status = self.status(error);
        let mut details: Vec<Value> = Vec::new();
        if let Some(wait) = error.retry_after {
            details.push(json!({
                "@type": "type.googleapis.com/google.rpc.RetryInfo",
                "retryDelay": format!("{}s", wait.as_secs_f64()),
            }));
        }
        let mut body = json!({"error": {
            "code": status,
            "message": error.message,
            "status": status_name(status, &error.kind),
        }});
        if !details.is_empty() {
            body["error"]["details"] = Value::Array(details);
        }
        body
    }

    fn reply_headers(&self, _: &Envelope, processing: Duration, blanks: &mut Blanks<'_>) {
        blanks.fill(
            format!("gfet4t7; dur={}", processing.as_millis())
                .parse()
                .ok(),
        );
    }
}

fn reject(engine: &Engine, error: ApiError, model: &str) -> ApiError {
    engine.reject(&error, model, false);
    error
}

/// 400 `INVALID_ARGUMENT`.
fn invalid(message: impl Into<String>) -> ApiError {
    ApiError {
        kind: "INVALID_ARGUMENT".into(),
        ..ApiError::invalid_request(message, None)
    }
}

/// The `status` name of an HTTP status in Google's vocabulary (a kind the
/// error already has in it wins).
fn status_name(status: u16, kind: &str) -> String {
    if kind.chars().all(|c| c.is_ascii_uppercase() || c == '_') && !kind.is_empty() {
        return kind.to_owned();
    }
    match status {
        400 | 413 => "INVALID_ARGUMENT",
        401 => "UNAUTHENTICATED",
        403 => "PERMISSION_DENIED",
        404 => "NOT_FOUND",
        405 => "UNIMPLEMENTED",
        408 | 504 => "DEADLINE_EXCEEDED",
        409 => "ABORTED",
        429 => "RESOURCE_EXHAUSTED",
        503 => "UNAVAILABLE",
        _ => "INTERNAL",
    }
    .to_owned()
}

// ---- the request ----------------------------------------------------------------

/// A field in either spelling: the JSON name, or the SDK's Python name.
fn field<'v>(object: &'v Value, camel: &str, snake: &str) -> Option<&'v Value> {
    object
        .get(camel)
        .or_else(|| object.get(snake))
        .filter(|v| !v.is_null())
}

/// The neutral request, and what it asks of the reply, or the 400 the API answers.
fn read_request(
    body: &Value,
    model: &str,
    options: GeminiOptions,
) -> Result<(ChatRequest, Asks), ApiError> {
    let mut messages = Vec::new();
    if let Some(system) = field(body, "systemInstruction", "system_instruction") {
        let text = match system {
            Value::String(text) => text.clone(),
            content => parts_text(content, "system_instruction")?,
        };
        messages.push(Message::system(text));
    }
    let contents = match field(body, "contents", "contents") {
        Some(Value::Array(contents)) if !contents.is_empty() => contents,
        Some(Value::Array(_)) | None => {
            return Err(invalid(
                "* GenerateContentRequest.contents: contents is not specified\n",
            ));
        }
        Some(_) => {
            return Err(invalid(
                "Invalid JSON payload received. Unknown name \"contents\": Proto field is not repeating, cannot start list.",
            ));
        }
    };
    read_contents(contents, &mut messages, options)?;
    let mut tools = Vec::new();
    if let Some(list) = field(body, "tools", "tools") {
        let Value::Array(list) = list else {
            return Err(invalid(
                "Invalid JSON payload received. Unknown name \"tools\": Proto field is not repeating, cannot start list.",
            ));
        };
        for (i, tool) in list.iter().enumerate() {
            read_tool(i, tool, &mut tools)?;
        }
    }
    let tool_choice = read_tool_config(body, &mut tools)?;
    let mut request = ChatRequest::new(model, messages);
    request.tools = tools;
    request.tool_choice = tool_choice;
    let asks = read_generation_config(body)?;
    request.settings = read_settings(body)?;
    Ok((request, asks))
}

/// The text of a content's parts (text parts only).
fn parts_text(content: &Value, at: &str) -> Result<String, ApiError> {
    let parts = match content.get("parts") {
        Some(Value::Array(parts)) => parts,
        _ => {
            return Err(invalid(format!(
                "* GenerateContentRequest.{at}.parts: contents.parts must not be empty.\n"
            )));
        }
    };
    let mut text = String::new();
    for (j, part) in parts.iter().enumerate() {
        match part.get("text").and_then(Value::as_str) {
            Some(piece) => text.push_str(piece),
            None => {
                return Err(invalid(format!(
                    "{at}.parts[{j}]: toolcall-sim supports text parts here"
                )));
            }
        }
    }
    Ok(text)
}

/// Read the contents, pairing each turn's function responses with the
/// calls of the `model` content just before, as the API does: by id when
/// the response has one, else by position; as many responses as calls.
fn read_contents(
    contents: &[Value],
    out: &mut Vec<Message>,
    options: GeminiOptions,
) -> Result<(), ApiError> {
    // The calls of the previous content (ids as the transcript will name them).
    let mut open: Vec<ToolCall> = Vec::new();
    // Where the current turn (after the last user text) begins.
    let mut turn_start = 0;
    let mut model_turns: Vec<(usize, Vec<Value>)> = Vec::new();
    for (i, content) in contents.iter().enumerate() {
        let at = format!("contents[{i}]");
        let parts = match content.get("parts") {
            Some(Value::Array(parts)) if !parts.is_empty() => parts,
            _ => {
                return Err(invalid(format!(
                    "* GenerateContentRequest.{at}.parts: contents.parts must not be empty.\n"
                )));
            }
        };
        match content
            .get("role")
            .and_then(Value::as_str)
            .unwrap_or("user")
        {
            "model" => {
                let mut text: Option<String> = None;
                let mut calls = Vec::new();
                let mut call_parts = Vec::new();
                for (j, part) in parts.iter().enumerate() {
                    if let Some(call) = field(part, "functionCall", "function_call") {
                        let name = call.get("name").and_then(Value::as_str).ok_or_else(|| {
                            invalid(format!("* GenerateContentRequest.{at}.parts[{j}].function_call.name: Name cannot be empty.\n"))
                        })?;
                        let id = match call.get("id").and_then(Value::as_str) {
                            Some(id) if !id.is_empty() => id.to_owned(),
                            _ => format!("fc_{i}_{}", calls.len()),
                        };
                        let args = call
                            .get("args")
                            .filter(|a| !a.is_null())
                            .cloned()
                            .unwrap_or(json!({}));
                        calls.push(ToolCall::new(id, name, args.to_string()));
                        call_parts.push(part.clone());
                    } else if let Some(piece) = part.get("text").and_then(Value::as_str) {
                        if part.get("thought").and_then(Value::as_bool) != Some(true) {
                            text.get_or_insert_default().push_str(piece);
                        }
                    } else {
                        return Err(invalid(format!(
                            "{at}.parts[{j}]: toolcall-sim supports text and functionCall parts in model contents"
                        )));
                    }
                }
                if !call_parts.is_empty() {
                    model_turns.push((i, call_parts));
                }
                open = calls.clone();
                out.push(Message::assistant(text, calls));
            }
            "user" | "function" => {
                let mut turn = Content::new();
                let mut responses: Vec<(usize, &Value)> = Vec::new();
                for (j, part) in parts.iter().enumerate() {
                    if let Some(response) = field(part, "functionResponse", "function_response") {
                        responses.push((j, response));
                    } else if let Some(piece) = part.get("text").and_then(Value::as_str) {
                        turn.extend([ContentPart::text(piece)]);
                    } else if let Some(media) = media_part(part, &format!("{at}.parts[{j}]"))? {
                        turn.extend([media]);
                    } else {
                        return Err(invalid(format!(
                            "{at}.parts[{j}]: toolcall-sim supports text, inlineData, fileData and functionResponse parts in user contents"
                        )));
                    }
                }
                if !responses.is_empty() {
                    if open.is_empty() {
                        return Err(invalid(
                            "Please ensure that function response turn comes immediately after a function call turn.",
                        ));
                    }
                    if responses.len() != open.len() {
                        return Err(invalid(
                            "Please ensure that the number of function response parts is equal to the number of function call parts of the function call turn.",
                        ));
                    }
                    for (position, (j, response)) in responses.into_iter().enumerate() {
                        out.push(read_response(&at, j, response, position, &open)?);
                    }
                }
                open.clear();
                // Text parts alone are one text; with media, the parts in order.
                if !turn.is_text() {
                    turn_start = i;
                    out.push(Message::user(turn));
                } else if !turn.to_text().is_empty() {
                    turn_start = i;
                    out.push(Message::user(turn.to_text().into_owned()));
                }
            }
            other => {
                return Err(invalid(format!(
                    "* GenerateContentRequest.{at}.role: Please use a valid role: user, model. (got `{other}`)\n"
                )));
            }
        }
    }
    if options.thought_signature {
        check_signatures(&model_turns, turn_start)?;
    }
    Ok(())
}

/// The tool message of one function response: the call it answers by id,
/// else the one at its position.
fn read_response(
    at: &str,
    j: usize,
    response: &Value,
    position: usize,
    open: &[ToolCall],
) -> Result<Message, ApiError> {
    let name = response.get("name").and_then(Value::as_str).ok_or_else(|| {
        invalid(format!(
            "* GenerateContentRequest.{at}.parts[{j}].function_response.name: Name cannot be empty.\n"
        ))
    })?;
    let call = match response.get("id").and_then(Value::as_str).filter(|id| !id.is_empty()) {
        Some(id) => open.iter().find(|c| c.id == id).ok_or_else(|| {
            invalid(format!(
                "{at}.parts[{j}]: the function response id `{id}` matches no function call of the turn before"
            ))
        })?,
        None => &open[position],
    };
    if call.name != name {
        return Err(invalid(format!(
            "{at}.parts[{j}]: the function response for `{name}` answers the call of `{}`",
            call.name
        )));
    }
    let body = response.get("response").cloned().unwrap_or(json!({}));
    let (content, is_error) = match (body.get("output"), body.get("error")) {
        (_, Some(error)) => (text_of(error), true),
        (Some(output), None) => (text_of(output), false),
        (None, None) => (body.to_string(), false),
    };
    let mut parts = Vec::new();
    if let Some(media) = response.get("parts").filter(|p| !p.is_null()) {
        let media = media.as_array().ok_or_else(|| {
            invalid(format!("Invalid JSON payload received. {at}.parts[{j}].function_response.parts: Proto field is not repeating, cannot start list."))
        })?;
        for (k, part) in media.iter().enumerate() {
            let here = format!("{at}.parts[{j}].function_response.parts[{k}]");
            if field(part, "fileData", "file_data").is_some() {
                return Err(invalid(format!(
                    "* GenerateContentRequest.{here}.file_data: file_data is not supported in function responses of the Gemini API.\n"
                )));
            }
            parts.push(media_part(part, &here)?.ok_or_else(|| {
                invalid(format!(
                    "* GenerateContentRequest.{here}: a function response part holds inline_data\n"
                ))
            })?);
        }
    }
    Ok(Message::Tool {
        tool_call_id: call.id.to_string(),
        content,
        parts,
        is_error,
    })
}

/// An `inlineData` part (its `mimeType` and base64 `data`) or a `fileData`
/// part (its `mimeType` and `fileUri`) as a content part; `None` for a part
/// of another kind. Each field is required, as the API requires it.
fn media_part(part: &Value, at: &str) -> Result<Option<ContentPart>, ApiError> {
    let required = |object: &Value, camel: &str, snake: &str, what: &str| {
        field(object, camel, snake)
            .and_then(Value::as_str)
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
            .ok_or_else(|| {
                invalid(format!(
                    "* GenerateContentRequest.{at}.{what}.{snake}: {} is required.\n",
                    camel
                ))
            })
    };
    if let Some(blob) = field(part, "inlineData", "inline_data") {
        let mime_type = required(blob, "mimeType", "mime_type", "inline_data")?;
        // Proto JSON bytes: standard or URL-safe base64 (the SDK sends the
        // latter); kept in the standard alphabet.
        let data: String = required(blob, "data", "data", "inline_data")?
            .chars()
            .map(|c| match c {
                '-' => '+',
                '_' => '/',
                c => c,
            })
            .collect();
        if !is_base64(&data) {
            return Err(invalid(format!(
                "Invalid value at '{at}.inline_data.data' (TYPE_BYTES), Base64 decoding failed"
            )));
        }
        return Ok(Some(inline(&mime_type, &data, None)));
    }
    if let Some(file) = field(part, "fileData", "file_data") {
        let mime_type = required(file, "mimeType", "mime_type", "file_data")?;
        let uri = required(file, "fileUri", "file_uri", "file_data")?;
        return Ok(Some(linked(&mime_type, &uri)));
    }
    Ok(None)
}

fn text_of(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

/// Each function-call turn since the last user text carries, on its first
/// call part, the signature the simulator gave it.
fn check_signatures(
    model_turns: &[(usize, Vec<Value>)],
    turn_start: usize,
) -> Result<(), ApiError> {
    for (i, parts) in model_turns.iter().filter(|(i, _)| *i > turn_start) {
        let Some(first) = parts.first() else { continue };
        let name = field(first, "functionCall", "function_call")
            .and_then(|c| c.get("name"))
            .and_then(Value::as_str)
            .unwrap_or("");
        match field(first, "thoughtSignature", "thought_signature").and_then(Value::as_str) {
            None => {
                return Err(invalid(format!(
                    "Function call is missing a thought_signature in functionCall parts. This is required for tools to work correctly, and missing thought_signature may lead to degraded model performance. Additional data, function call `default_api:{name}` , position {}. Please refer to https://ai.google.dev/gemini-api/docs/thought-signatures for more details.",
                    i + 1
                )));
            }
            Some(given) if given != signature(name) => {
                return Err(invalid(format!(
                    "Corrupted thought signature on contents[{i}], function call `{name}`."
                )));
            }
            Some(_) => {}
        }
    }
    Ok(())
}

/// The function declarations of one `Tool`.
fn read_tool(i: usize, tool: &Value, out: &mut Vec<ToolDefinition>) -> Result<(), ApiError> {
    let at = format!("tools[{i}]");
    if let Some(other) = tool.as_object().and_then(|o| {
        o.keys()
            .find(|k| !matches!(k.as_str(), "functionDeclarations" | "function_declarations"))
    }) {
        return Err(invalid(format!(
            "{at}: toolcall-sim simulates function declarations, not `{other}`"
        )));
    }
    let Some(Value::Array(declarations)) =
        field(tool, "functionDeclarations", "function_declarations")
    else {
        return Ok(());
    };
    for (j, declaration) in declarations.iter().enumerate() {
        let at = format!("{at}.function_declarations[{j}]");
        let name = declaration
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or("");
        if !ToolDefinition::is_valid_name(name) {
            return Err(invalid(format!(
                "* GenerateContentRequest.{at}.name: Invalid function name. Must start with a letter or an underscore. Must be alphameric (a-z, A-Z, 0-9), underscores (_), dots (.), colons (:), or dashes (-), with a maximum length of 64.\n"
            )));
        }
        let json_schema = field(
            declaration,
            "parametersJsonSchema",
            "parameters_json_schema",
        );
        let schema = field(declaration, "parameters", "parameters");
        let parameters = match (json_schema, schema) {
            (Some(_), Some(_)) => {
                return Err(invalid(format!(
                    "* GenerateContentRequest.{at}: parameters and parameters_json_schema cannot both be set.\n"
                )));
            }
            (Some(schema), None) => schema.clone(),
            (None, Some(schema)) => openapi_to_json_schema(schema),
            (None, None) => json!({"type": "object", "properties": {}}),
        };
        if parameters.get("type").and_then(Value::as_str) != Some("object") {
            return Err(invalid(format!(
                "* GenerateContentRequest.{at}.parameters: the schema of a function's parameters must have `type: object`.\n"
            )));
        }
        let description = declaration
            .get("description")
            .and_then(Value::as_str)
            .unwrap_or("");
        out.push(ToolDefinition::new(name, description, parameters));
    }
    Ok(())
}

/// Gemini's `Schema` (OpenAPI's subset, types in capitals) as JSON Schema.
fn openapi_to_json_schema(schema: &Value) -> Value {
    match schema {
        Value::Object(fields) => Value::Object(
            fields
                .iter()
                .map(|(key, value)| match (key.as_str(), value) {
                    ("type", Value::String(kind)) => (key.clone(), json!(kind.to_lowercase())),
                    // Property names are not schemas, their values are.
                    ("properties", Value::Object(properties)) => (
                        key.clone(),
                        Value::Object(
                            properties
                                .iter()
                                .map(|(name, s)| (name.clone(), openapi_to_json_schema(s)))
                                .collect(),
                        ),
                    ),
                    _ => (key.clone(), openapi_to_json_schema(value)),
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(openapi_to_json_schema).collect()),
        other => other.clone(),
    }
}

/// `toolConfig.functionCallingConfig` as the neutral choice; allowed names
/// narrow the tools offered.
fn read_tool_config(
    body: &Value,
    tools: &mut Vec<ToolDefinition>,
) -> Result<Option<ToolChoice>, ApiError> {
    let Some(config) = field(body, "toolConfig", "tool_config")
        .and_then(|c| field(c, "functionCallingConfig", "function_calling_config"))
    else {
        return Ok(None);
    };
    let allowed: Option<Vec<&str>> =
        field(config, "allowedFunctionNames", "allowed_function_names")
            .and_then(Value::as_array)
            .map(|names| names.iter().filter_map(Value::as_str).collect());
    let mode = config.get("mode").and_then(Value::as_str).unwrap_or("AUTO");
    let choice = match mode {
        "AUTO" | "MODE_UNSPECIFIED" => ToolChoice::Auto,
        "NONE" => ToolChoice::None,
        "ANY" | "VALIDATED" => ToolChoice::Required,
        other => {
            return Err(invalid(format!(
                "Invalid value at 'tool_config.function_calling_config.mode' (type.googleapis.com/google.ai.generativelanguage.v1beta.FunctionCallingConfig.Mode), \"{other}\""
            )));
        }
    };
    let Some(allowed) = allowed.filter(|a| !a.is_empty()) else {
        return Ok(Some(choice));
    };
    if choice != ToolChoice::Required {
        return Err(invalid(
            "* GenerateContentRequest.tool_config.function_calling_config.allowed_function_names: allowed_function_names should be set only when mode is ANY or VALIDATED.\n",
        ));
    }
    if let Some(unknown) = allowed
        .iter()
        .find(|n| !tools.iter().any(|t| t.name == **n))
    {
        return Err(invalid(format!(
            "* GenerateContentRequest.tool_config.function_calling_config.allowed_function_names: `{unknown}` is not the name of a declared function.\n"
        )));
    }
    tools.retain(|t| allowed.contains(&t.name.as_str()));
    Ok(Some(match tools.as_slice() {
        [one] => ToolChoice::Function(one.name.clone()),
        _ => ToolChoice::Required,
    }))
}

/// `generationConfig`: the token limit and the answer's JSON shape;
/// settings the simulator does not simulate are refused by name.
fn read_generation_config(body: &Value) -> Result<Asks, ApiError> {
    let mut asks = Asks::default();
    let Some(config) = field(body, "generationConfig", "generation_config") else {
        return Ok(asks);
    };
    if let Some(tokens) = field(config, "maxOutputTokens", "max_output_tokens") {
        let n = tokens.as_u64().filter(|n| *n >= 1).ok_or_else(|| {
            invalid("* GenerateContentRequest.generation_config.max_output_tokens: max_output_tokens must be positive.\n")
        })?;
        asks.max_tokens = Some(u32::try_from(n).unwrap_or(u32::MAX));
    }
    if let Some(count) = field(config, "candidateCount", "candidate_count")
        && count.as_u64() != Some(1)
    {
        return Err(ApiError::unsupported("candidate_count", "one candidate"));
    }
    let json_mime = field(config, "responseMimeType", "response_mime_type").and_then(Value::as_str)
        == Some("application/json");
    let schema = field(config, "responseJsonSchema", "response_json_schema")
        .cloned()
        .or_else(|| field(config, "responseSchema", "response_schema").map(openapi_to_json_schema));
    if json_mime {
        asks.response_format = Some(match schema {
            Some(schema) => ResponseFormat::JsonSchema(schema),
            None => ResponseFormat::JsonObject,
        });
    }
    Ok(asks)
}

/// The settings `generationConfig` sent, in neutral form for the journal
/// and the engine (stop sequences end the text, as the API's do).
fn read_settings(body: &Value) -> Result<toolcall_runtime::Settings, ApiError> {
    let mut settings = toolcall_runtime::Settings::default();
    let Some(config) = field(body, "generationConfig", "generation_config") else {
        return Ok(settings);
    };
    let number = |camel: &str, snake: &str| -> Result<Option<f64>, ApiError> {
        match field(config, camel, snake) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Number(n)) => Ok(n.as_f64()),
            Some(_) => Err(invalid(format!(
                "* GenerateContentRequest.generation_config.{snake}: a number is expected.\n"
            ))),
        }
    };
    settings.temperature = number("temperature", "temperature")?.map(|t| t as f32);
    settings.top_p = number("topP", "top_p")?.map(|p| p as f32);
    settings.seed = number("seed", "seed")?.map(|s| s as i64);
    settings.max_tokens = field(config, "maxOutputTokens", "max_output_tokens")
        .and_then(Value::as_u64)
        .map(|n| u32::try_from(n).unwrap_or(u32::MAX));
    settings.stop = string_list(field(config, "stopSequences", "stop_sequences")).map_err(
        |wrong| {
            invalid(match wrong {
                NotStrings::NotAList => {
                    "* GenerateContentRequest.generation_config.stop_sequences: a list is expected.\n"
                }
                NotStrings::NotAString => {
                    "* GenerateContentRequest.generation_config.stop_sequences: strings are expected.\n"
                }
            })
        },
    )?;
    Ok(settings)
}

// ---- the reply ------------------------------------------------------------------

fn finish_reason(reason: Option<FinishReason>) -> &'static str {
    match reason {
        Some(FinishReason::Length) => "MAX_TOKENS",
        Some(FinishReason::ContentFilter) => "SAFETY",
        _ => "STOP",
    }
}

fn usage_json(usage: Usage) -> Value {
    json!({
        "promptTokenCount": usage.prompt_tokens,
        "candidatesTokenCount": usage.completion_tokens,
        "totalTokenCount": usage.total_tokens,
        "promptTokensDetails": [{"modality": "TEXT", "tokenCount": usage.prompt_tokens}],
    })
}

/// A call's `args`: its arguments as JSON, or (a malformed-arguments fault)
/// the text as it is.
fn args(call: &ToolCall) -> Value {
    match serde_json::from_str::<Value>(&call.arguments) {
        Ok(value @ Value::Object(_)) => value,
        Ok(_) | Err(_) if call.arguments.trim().is_empty() => json!({}),
        Ok(_) | Err(_) => Value::String(call.arguments.clone()),
    }
}

/// The `functionCall` part of the reply's call at `index`.
fn call_part(call: &ToolCall, index: usize, options: GeminiOptions) -> Value {
    let mut function = json!({"name": call.name, "args": args(call)});
    if options.call_ids {
        function["id"] = json!(call.id);
    }
    let mut part = json!({"functionCall": function});
    if options.thought_signature && index == 0 {
        part["thoughtSignature"] = json!(signature(&call.name));
    }
    part
}

/// A `GenerateContentResponse` of these parts.
fn response_json(envelope: &Envelope, parts: Vec<Value>, end: Option<(&str, Usage)>) -> Value {
    let mut candidate = json!({"content": {"parts": parts, "role": "model"}, "index": 0});
    let mut body = json!({
        "candidates": [],
        "modelVersion": envelope.model,
        "responseId": envelope.id,
    });
    if let Some((reason, usage)) = end {
        candidate["finishReason"] = json!(reason);
        body["usageMetadata"] = usage_json(usage);
    }
    body["candidates"] = json!([candidate]);
    body
}

/// The whole reply.
pub(crate) fn whole(envelope: &Envelope, response: &ChatResponse, options: GeminiOptions) -> Value {
    let mut parts: Vec<Value> = Vec::new();
    if let Some(text) = response.content.as_ref().filter(|t| !t.is_empty()) {
        parts.push(json!({"text": text}));
    }
    for (i, call) in response.tool_calls.iter().enumerate() {
        parts.push(call_part(call, i, options));
    }
    if parts.is_empty() {
        parts.push(json!({"text": ""}));
    }
    let reason = finish_reason(response.finish_reason);
    response_json(
        envelope,
        parts,
        Some((reason, response.usage.unwrap_or_default())),
    )
}

/// The reply's events as Gemini streams them: text as it comes, and each
/// call whole, at once, when its last fragment would have gone out (all of
/// them at the last one's time with `calls_in_one_chunk`). Both the SSE
/// frames and the in-process model in this format are drawn from these.
pub(crate) fn events(reply: &ReplyPlan, options: GeminiOptions) -> Vec<(Duration, StreamEvent)> {
    let blocks = block_events(reply);
    let mut out: Vec<(Duration, StreamEvent)> = Vec::with_capacity(blocks.len());
    let mut index = 0u32;
    for (at, event) in blocks {
        match event {
            StreamEvent::Text(text) if !text.is_empty() => out.push((at, StreamEvent::Text(text))),
            StreamEvent::ToolCallDone(_) => {
                let Some(call) = reply.response.tool_calls.get(index as usize) else {
                    continue;
                };
                out.push((
                    at,
                    StreamEvent::ToolCall(ToolCallDelta {
                        index,
                        id: Some(call.id.to_string()),
                        name: Some(call.name.to_string()),
                        arguments: Some(call.arguments.clone()),
                    }),
                ));
                out.push((at, StreamEvent::ToolCallDone(index)));
                index += 1;
            }
            _ => {}
        }
    }
    if options.calls_in_one_chunk
        && let Some(last) = out
            .iter()
            .rev()
            .find(|(_, e)| matches!(e, StreamEvent::ToolCallDone(_)))
            .map(|(at, _)| *at)
    {
        for (at, event) in &mut out {
            if matches!(
                event,
                StreamEvent::ToolCall(_) | StreamEvent::ToolCallDone(_)
            ) {
                *at = last;
            }
        }
        // Text after the calls' first fragment still comes before them.
        out.sort_by_key(|(at, _)| *at);
    }
    out
}

/// How many of the Gemini events go out before a disconnect after `keep`
/// of the plan's chunks: a call is sent whole or not at all.
pub(crate) fn kept_events(
    reply: &ReplyPlan,
    events: &[(Duration, StreamEvent)],
    keep: usize,
) -> usize {
    let blocks = block_events(reply);
    let cut = kept(&blocks, keep);
    let text_sent = blocks[..cut]
        .iter()
        .filter(|(_, e)| matches!(e, StreamEvent::Text(_)))
        .count();
    let calls_sent = blocks[..cut]
        .iter()
        .filter(|(_, e)| matches!(e, StreamEvent::ToolCallDone(_)))
        .count();
    let (mut texts, mut calls) = (0, 0);
    events
        .iter()
        .position(|(_, e)| match e {
            StreamEvent::Text(_) => {
                texts += 1;
                texts > text_sent
            }
            StreamEvent::ToolCall(_) => {
                calls += 1;
                calls > calls_sent
            }
            _ => false,
        })
        .unwrap_or(events.len())
}

/// One `data:` frame of a response chunk (Google ends frames with CRLFs).
fn frame(
    sse: &mut Sse,
    envelope: &Envelope,
    at: Duration,
    parts: Vec<Value>,
    end: Option<(&str, Usage)>,
) {
    let mut bytes = b"data: ".to_vec();
    bytes.extend_from_slice(&super::to_json(&response_json(envelope, parts, end)));
    bytes.extend_from_slice(b"\r\n\r\n");
    sse.raw(at, &bytes);
}

/// The SSE frames: one `data:` frame per text fragment and per call (or
/// one for all the calls), the last with the `finishReason` and the usage.
pub(crate) fn frames(envelope: &Envelope, reply: &ReplyPlan, options: GeminiOptions) -> Frames {
    let events = events(reply, options);
    let keep = match reply.disconnect_after {
        Some(n) => kept_events(reply, &events, n),
        None => events.len(),
    };
    let mut sse = Sse::default();
    // Each event is a chunk of its own (a zero-latency reply's calls still
    // come one a chunk), but for calls in one chunk, which share theirs.
    let is_call = |part: &Value| part.get("functionCall").is_some();
    let mut pending: Option<(Duration, Vec<Value>)> = None;
    for (at, event) in &events[..keep] {
        let part = match event {
            StreamEvent::Text(text) if !text.is_empty() => json!({"text": text}),
            StreamEvent::ToolCall(delta) => {
                let index = delta.index as usize;
                match reply.response.tool_calls.get(index) {
                    Some(call) => call_part(call, index, options),
                    None => continue,
                }
            }
            _ => continue,
        };
        if let Some((when, parts)) = pending.as_mut()
            && *when == *at
            && options.calls_in_one_chunk
            && is_call(&part)
            && parts.iter().all(is_call)
        {
            parts.push(part);
            continue;
        }
        if let Some((when, parts)) = pending.take() {
            frame(&mut sse, envelope, when, parts, None);
        }
        pending = Some((*at, vec![part]));
    }
    if let Some(drop) = reply.drop_at() {
        if let Some((when, parts)) = pending.take() {
            frame(&mut sse, envelope, when, parts, None);
        }
        return (sse.finish(), Some(drop));
    }
    let end = Some((
        finish_reason(reply.response.finish_reason),
        reply.response.usage.unwrap_or_default(),
    ));
    match pending.take() {
        // The last parts go with the ending when they are due with it.
        Some((when, parts)) if when == reply.end => frame(&mut sse, envelope, when, parts, end),
        other => {
            if let Some((when, parts)) = other {
                frame(&mut sse, envelope, when, parts, None);
            }
            frame(
                &mut sse,
                envelope,
                reply.end,
                vec![json!({"text": ""})],
                end,
            );
        }
    }
    (sse.finish(), None)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(body: Value, options: GeminiOptions) -> Result<ChatRequest, ApiError> {
        read_request(&body, "gemini-2.5-flash", options).map(|(r, _)| r)
    }

    #[test]
    fn responses_pair_by_position_without_ids_and_by_id_with_them() {
        let body = json!({"contents": [
            {"role": "user", "parts": [{"text": "hi"}]},
            {"role": "model", "parts": [
                {"functionCall": {"name": "f", "args": {"a": 1}}},
                {"functionCall": {"name": "g", "args": {}}}
            ]},
            {"role": "user", "parts": [
                {"functionResponse": {"name": "f", "response": {"output": "one"}}},
                {"function_response": {"name": "g", "response": {"error": "bad"}}}
            ]}
        ]});
        let request = read(body, GeminiOptions::default()).expect("a request");
        assert_eq!(request.messages[2], Message::tool_result("fc_1_0", "one"),);
        assert_eq!(
            request.messages[3],
            Message::Tool {
                tool_call_id: "fc_1_1".into(),
                content: "bad".into(),
                parts: Vec::new(),
                is_error: true
            }
        );
        let by_id = json!({"contents": [
            {"role": "model", "parts": [
                {"functionCall": {"id": "a", "name": "f"}},
                {"functionCall": {"id": "b", "name": "f"}}
            ]},
            {"role": "user", "parts": [
                {"functionResponse": {"id": "b", "name": "f", "response": {"x": 1}}},
                {"functionResponse": {"id": "a", "name": "f", "response": {"output": {"y": 2}}}}
            ]}
        ]});
        let request = read(by_id, GeminiOptions::default()).expect("a request");
        assert_eq!(request.messages[1], Message::tool_result("b", r#"{"x":1}"#));
        assert_eq!(request.messages[2], Message::tool_result("a", r#"{"y":2}"#));
    }

    #[test]
    fn stray_and_missing_responses_are_invalid_arguments() {
        let stray = json!({"contents": [
            {"role": "user", "parts": [{"functionResponse": {"name": "f", "response": {}}}]}
        ]});
        let error = read(stray, GeminiOptions::default()).expect_err("stray");
        assert_eq!(error.status, 400);
        assert!(
            error
                .message
                .contains("immediately after a function call turn")
        );
        let short = json!({"contents": [
            {"role": "model", "parts": [{"functionCall": {"name": "f"}}, {"functionCall": {"name": "g"}}]},
            {"role": "user", "parts": [{"functionResponse": {"name": "f", "response": {}}}]}
        ]});
        let error = read(short, GeminiOptions::default()).expect_err("short");
        assert!(error.message.contains("number of function response parts"));
    }

    #[test]
    fn both_spellings_of_a_declaration_are_read_and_allowed_names_narrow_the_tools() {
        let body = json!({
            "contents": [{"parts": [{"text": "hi"}]}],
            "tools": [{"function_declarations": [
                {"name": "f", "parameters_json_schema": {"type": "object", "properties": {"a": {"type": "string"}}}},
                {"name": "g", "parametersJsonSchema": {"type": "object"}},
                {"name": "h", "parameters": {"type": "OBJECT", "properties": {"type": {"type": "INTEGER"}}}}
            ]}],
            "toolConfig": {"functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": ["h"]}}
        });
        let request = read(body, GeminiOptions::default()).expect("a request");
        assert_eq!(request.tools.len(), 1);
        assert_eq!(
            request.tools[0].parameters,
            json!({"type": "object", "properties": {"type": {"type": "integer"}}})
        );
        assert_eq!(request.tool_choice, Some(ToolChoice::Function("h".into())));
    }

    #[test]
    fn a_missing_signature_is_refused_in_the_current_turn_only() {
        let turn = |signature: Option<&str>| {
            let mut part = json!({"functionCall": {"name": "f", "args": {}}});
            if let Some(s) = signature {
                part["thoughtSignature"] = json!(s);
            }
            json!({"contents": [
                {"role": "user", "parts": [{"text": "hi"}]},
                {"role": "model", "parts": [part]},
                {"role": "user", "parts": [{"functionResponse": {"name": "f", "response": {}}}]}
            ]})
        };
        let options = GeminiOptions {
            thought_signature: true,
            ..GeminiOptions::default()
        };
        let error = read(turn(None), options).expect_err("missing");
        assert!(
            error.message.contains("missing a thought_signature"),
            "{}",
            error.message
        );
        assert!(read(turn(Some("wrong")), options).is_err());
        assert!(read(turn(Some(&signature("f"))), options).is_ok());
        assert!(read(turn(None), GeminiOptions::default()).is_ok());
    }

    #[test]
    fn calls_stream_whole_one_chunk_each_or_all_in_one() {
        let reply = crate::wire::sample::reply(true);
        let envelope = crate::wire::sample::envelope();
        let chunks = |options| {
            let (pieces, drop) = frames(&envelope, &reply, options);
            assert_eq!(drop, None);
            let text: String = pieces
                .iter()
                .map(|(_, b)| String::from_utf8(b.to_vec()).expect("UTF-8"))
                .collect();
            text.split_terminator("\r\n\r\n")
                .map(|f| {
                    serde_json::from_str::<Value>(f.strip_prefix("data: ").expect("data"))
                        .expect("JSON")
                })
                .collect::<Vec<_>>()
        };
        let calls_per_chunk = |chunks: &[Value]| {
            chunks
                .iter()
                .map(|c| {
                    c["candidates"][0]["content"]["parts"]
                        .as_array()
                        .map_or(0, |p| {
                            p.iter().filter(|p| p.get("functionCall").is_some()).count()
                        })
                })
                .filter(|n| *n > 0)
                .collect::<Vec<_>>()
        };
        let split = chunks(GeminiOptions::default());
        assert_eq!(calls_per_chunk(&split), [1, 1]);
        let last = split.last().expect("a last chunk");
        assert_eq!(last["candidates"][0]["finishReason"], "STOP");
        assert_eq!(last["usageMetadata"]["totalTokenCount"], 3);
        let text: String = split
            .iter()
            .filter_map(|c| c["candidates"][0]["content"]["parts"][0]["text"].as_str())
            .collect();
        assert_eq!(Some(text.as_str()), reply.response.content.as_deref());
        let one = chunks(GeminiOptions {
            calls_in_one_chunk: true,
            call_ids: false,
            thought_signature: true,
        });
        assert_eq!(calls_per_chunk(&one), [2]);
        let call = one
            .iter()
            .find_map(|c| {
                c["candidates"][0]["content"]["parts"]
                    .as_array()
                    .and_then(|p| p.iter().find(|p| p.get("functionCall").is_some()))
                    .cloned()
            })
            .expect("a call");
        assert_eq!(call["functionCall"].get("id"), None);
        assert_eq!(call["thoughtSignature"], json!(signature("get_weather")));
        assert_eq!(call["functionCall"]["args"], json!({"city": "Oslo\u{7f}"}));
    }
}
