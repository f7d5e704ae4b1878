//! The Gemini API's shapes (`generateContent`) and their conversions to and
//! from the provider-neutral transcript: the request body, the
//! `GenerateContentResponse` reply (whole, or one per SSE `data:` frame),
//! and errors as `{"error": {"code", "message", "status", "details"}}`.
//!
//! Field names follow the official `google-genai` SDK's types in their
//! JSON (camelCase) spelling.

use crate::providers::shared::{arguments_object, push_user};
use std::collections::HashMap;
use std::time::Duration;

use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::content::{ContentPart, PDF, joined_text};
use crate::message::{ChatRequest, ChatResponse, FinishReason, Message, ToolChoice, Usage};
use crate::model::{ModelError, StreamEvent, ToolCallDelta};
use crate::settings::unsupported;
use crate::telemetry::spans;
use crate::toolset::ToolDefinition;

/// The prefix of the ids this client gives calls that came without one:
/// such a call goes back without an `id`, answered by name and position.
pub(crate) const ASSIGNED_ID_PREFIX: &str = "gemini_call_";

/// The thought signatures of calls, by call id, as replies gave them: each
/// goes back on its call's part.
pub(crate) trait Signatures {
    /// The signature the reply gave the call with this id.
    fn signature(&self, call_id: &str) -> Option<String>;
}

impl Signatures for HashMap<String, String> {
    fn signature(&self, call_id: &str) -> Option<String> {
        self.get(call_id).cloned()
    }
}

/// The request body for `models/{model}:generateContent` (and
/// `:streamGenerateContent`, the same body): system messages as
/// `systemInstruction`, a turn's calls as `functionCall` parts of ONE
/// `model` content and their results as `functionResponse` parts of ONE
/// `user` content, in call order.
pub(crate) fn request_body(
    request: &ChatRequest,
    signatures: &dyn Signatures,
) -> Result<Value, ModelError> {
    if request.parallel_tool_calls == Some(false) {
        return Err(ModelError::Config(
            "Gemini has no `parallel_tool_calls`: it cannot be asked for one call at a time (leave `parallel_tool_calls` unset)".into(),
        ));
    }
    let mut system: Vec<&str> = Vec::new();
    let mut contents: Vec<Value> = Vec::new();
    // The calls of the last model turn, by id: a result names its call's function.
    let mut names: HashMap<&str, &str> = HashMap::new();
    for message in &request.messages {
        match message {
            Message::System { content } => system.push(content),
            Message::User { content } => {
                for part in content.parts() {
                    let part = user_part(part).map_err(|name| unsupported(name, PROVIDER))?;
                    push_user(&mut contents, "parts", part);
                }
            }
            Message::Assistant {
                content,
                tool_calls,
            } => {
                let mut parts: Vec<Value> = Vec::new();
                if let Some(text) = content.as_deref().filter(|t| !t.is_empty()) {
                    parts.push(json!({"text": text}));
                }
                names.clear();
                for call in tool_calls {
                    names.insert(&call.id, &call.name);
                    let mut function =
                        json!({"name": call.name, "args": arguments_object(&call.arguments)});
                    if !call.id.starts_with(ASSIGNED_ID_PREFIX) {
                        function["id"] = json!(call.id);
                    }
                    let mut part = json!({"functionCall": function});
                    if let Some(signature) = signatures.signature(&call.id) {
                        part["thoughtSignature"] = json!(signature);
                    }
                    parts.push(part);
                }
                if parts.is_empty() {
                    parts.push(json!({"text": ""}));
                }
                contents.push(json!({"role": "model", "parts": parts}));
            }
            Message::Tool {
                tool_call_id,
                content,
                parts,
                is_error,
            } => {
                let name = names.get(tool_call_id.as_str()).ok_or_else(|| {
                    ModelError::Config(format!(
                        "the tool result for `{tool_call_id}` answers no call of the model message before it: Gemini names each result by its call's function"
                    ))
                })?;
                let content = joined_text(content, parts);
                let response = if *is_error {
                    json!({"error": content})
                } else {
                    json!({"output": result_value(&content)})
                };
                let mut function = json!({"name": name, "response": response});
                let media = result_parts(parts)?;
                if !media.is_empty() {
                    function["parts"] = Value::Array(media);
                }
                if !tool_call_id.starts_with(ASSIGNED_ID_PREFIX) {
                    function["id"] = json!(tool_call_id);
                }
                push_user(
                    &mut contents,
                    "parts",
                    json!({"functionResponse": function}),
                );
            }
        }
    }
    let mut body = json!({ "contents": contents });
    if !system.is_empty() {
        body["systemInstruction"] = json!({"parts": [{"text": system.join("\n\n")}]});
    }
    if !request.tools.is_empty() {
        let declarations: Vec<Value> = request
            .tools
            .iter()
            .map(ToolDefinition::to_gemini)
            .collect();
        body["tools"] = json!([{ "functionDeclarations": declarations }]);
    }
    if let Some(choice) = &request.tool_choice {
        let config = match choice {
            ToolChoice::Auto => json!({"mode": "AUTO"}),
            ToolChoice::None => json!({"mode": "NONE"}),
            ToolChoice::Required => json!({"mode": "ANY"}),
            ToolChoice::Function(name) => json!({"mode": "ANY", "allowedFunctionNames": [name]}),
        };
        body["toolConfig"] = json!({ "functionCallingConfig": config });
    }
    settings_into(request, &mut body)?;
    Ok(body)
}

/// The provider's name in refusals.
const PROVIDER: &str = "Gemini";

/// A user part as a `Part`: `text`, `inlineData` (images and documents
/// inline) or `fileData` (a URL, with the media type its extension names; a
/// document URL without one is taken as a PDF), or the name of a part
/// Gemini cannot take (an image URL whose media type is unknown: `fileData`
/// requires one).
fn user_part(part: &ContentPart) -> Result<Value, &'static str> {
    Ok(match part {
        ContentPart::Text { text } => json!({"text": text}),
        ContentPart::Image { data, mime_type }
        | ContentPart::Document {
            data, mime_type, ..
        } => {
            json!({"inlineData": {"mimeType": mime_type, "data": data}})
        }
        ContentPart::ImageUrl { url } => {
            let mime_type = media_type_of(url)
                .filter(|m| m.starts_with("image/"))
                .ok_or("image_url (without a known image extension)")?;
            json!({"fileData": {"mimeType": mime_type, "fileUri": url}})
        }
        ContentPart::DocumentUrl { url } => {
            let mime_type = media_type_of(url).unwrap_or(PDF);
            json!({"fileData": {"mimeType": mime_type, "fileUri": url}})
        }
    })
}

/// A tool result's images and documents as `FunctionResponsePart`s
/// (`inlineData`); its text parts are in `response`. URLs are refused: the
/// Gemini API does not take `fileData` in a function response.
fn result_parts(parts: &[ContentPart]) -> Result<Vec<Value>, ModelError> {
    parts
        .iter()
        .filter_map(|part| match part {
            ContentPart::Text { .. } => None,
            ContentPart::Image { data, mime_type }
            | ContentPart::Document {
                data, mime_type, ..
            } => Some(Ok(
                json!({"inlineData": {"mimeType": mime_type, "data": data}}),
            )),
            ContentPart::ImageUrl { .. } => {
                Some(Err(unsupported("tool_result.image_url", PROVIDER)))
            }
            ContentPart::DocumentUrl { .. } => {
                Some(Err(unsupported("tool_result.document_url", PROVIDER)))
            }
        })
        .collect()
}

/// The media type a URL's file extension names (as the SDK's
/// `mimetypes.guess_type`), for the types Gemini reads.
fn media_type_of(url: &str) -> Option<&'static str> {
    let path = url.split(['?', '#']).next().unwrap_or(url);
    let (_, extension) = path.rsplit_once('/')?.1.rsplit_once('.')?;
    Some(match extension.to_ascii_lowercase().as_str() {
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "webp" => "image/webp",
        "gif" => "image/gif",
        "heic" => "image/heic",
        "heif" => "image/heif",
        "pdf" => PDF,
        "txt" => "text/plain",
        _ => return None,
    })
}

/// The request's settings and output schema in `generationConfig`, or the
/// setting Gemini does not have: the one place Gemini maps
/// [`Settings`](crate::Settings).
pub(crate) fn settings_into(request: &ChatRequest, body: &mut Value) -> Result<(), ModelError> {
    use crate::settings::Reasoning;
    let settings = &request.settings;
    if settings.user.is_some() {
        return Err(unsupported("user", PROVIDER));
    }
    let mut config = Map::new();
    if let Some(t) = settings.temperature {
        config.insert("temperature".into(), json!(t));
    }
    if let Some(p) = settings.top_p {
        config.insert("topP".into(), json!(p));
    }
    if let Some(max) = settings.max_tokens {
        config.insert("maxOutputTokens".into(), json!(max));
    }
    if let Some(seed) = settings.seed {
        config.insert("seed".into(), json!(seed));
    }
    if !settings.stop.is_empty() {
        config.insert("stopSequences".into(), json!(settings.stop));
    }
    match settings.reasoning {
        None => {}
        Some(Reasoning::BudgetTokens(budget)) => {
            config.insert("thinkingConfig".into(), json!({"thinkingBudget": budget}));
        }
        Some(Reasoning::Effort(effort)) => {
            let level = effort.as_str().to_ascii_uppercase();
            config.insert("thinkingConfig".into(), json!({"thinkingLevel": level}));
        }
    }
    if let Some(format) = &request.output {
        config.insert("responseMimeType".into(), json!("application/json"));
        config.insert("responseJsonSchema".into(), format.schema.clone());
    }
    if !config.is_empty() {
        body["generationConfig"] = Value::Object(config);
    }
    Ok(())
}

/// A result's text as the value of `output`: its JSON when it is JSON
/// (a structured result), else the text.
fn result_value(content: &str) -> Value {
    match serde_json::from_str::<Value>(content) {
        Ok(value) => value,
        Err(_) => Value::String(content.to_owned()),
    }
}

// ---- replies --------------------------------------------------------------------

/// A `GenerateContentResponse`: a whole reply, or one chunk of a stream.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct WireResponse {
    #[serde(default)]
    candidates: Vec<WireCandidate>,
    #[serde(default)]
    usage_metadata: Option<WireUsage>,
    #[serde(default)]
    prompt_feedback: Option<WirePromptFeedback>,
    #[serde(default)]
    response_id: Option<String>,
    #[serde(default)]
    model_version: Option<String>,
}

impl WireResponse {
    /// The reply's id and model, for the request's `chat` span.
    pub(crate) fn tell_meta(&self) {
        spans::response_meta(
            self.response_id.as_deref().unwrap_or_default(),
            self.model_version.as_deref().unwrap_or_default(),
        );
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireCandidate {
    #[serde(default)]
    content: Option<WireContent>,
    #[serde(default)]
    finish_reason: Option<String>,
    #[serde(default)]
    finish_message: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct WireContent {
    #[serde(default)]
    parts: Vec<WirePart>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct WirePart {
    #[serde(default)]
    text: Option<String>,
    /// A thought summary, not part of the answer.
    #[serde(default)]
    thought: Option<bool>,
    #[serde(default)]
    function_call: Option<WireFunctionCall>,
    #[serde(default)]
    thought_signature: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct WireFunctionCall {
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    name: String,
    #[serde(default)]
    args: Option<Value>,
}

#[derive(Debug, Default, Clone, Copy, Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireUsage {
    #[serde(default)]
    prompt_token_count: u32,
    #[serde(default)]
    candidates_token_count: u32,
    #[serde(default)]
    thoughts_token_count: u32,
    #[serde(default)]
    tool_use_prompt_token_count: u32,
    #[serde(default)]
    cached_content_token_count: u32,
}

impl From<WireUsage> for Usage {
    /// Thinking tokens are billed as output, tool-use prompt tokens as input.
    fn from(u: WireUsage) -> Self {
        let prompt_tokens = u.prompt_token_count + u.tool_use_prompt_token_count;
        let completion_tokens = u.candidates_token_count + u.thoughts_token_count;
        Usage::new(prompt_tokens, completion_tokens).with_cache(u.cached_content_token_count, 0)
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct WirePromptFeedback {
    #[serde(default)]
    block_reason: Option<String>,
}

/// What a `finishReason` means for the run: an ending, or an error for the
/// reasons that say the model's call went wrong.
pub(crate) fn finish_reason(
    reason: &str,
    message: Option<&str>,
) -> Result<FinishReason, ModelError> {
    match reason {
        "MAX_TOKENS" => Ok(FinishReason::Length),
        "SAFETY"
        | "RECITATION"
        | "LANGUAGE"
        | "BLOCKLIST"
        | "PROHIBITED_CONTENT"
        | "SPII"
        | "IMAGE_SAFETY"
        | "IMAGE_PROHIBITED_CONTENT"
        | "IMAGE_RECITATION" => Ok(FinishReason::ContentFilter),
        "MALFORMED_FUNCTION_CALL" | "UNEXPECTED_TOOL_CALL" | "TOO_MANY_TOOL_CALLS" => {
            Err(ModelError::InvalidResponse(match message {
                Some(message) if !message.is_empty() => {
                    format!("Gemini ended the reply with `{reason}`: {message}")
                }
                _ => format!("Gemini ended the reply with `{reason}`"),
            }))
        }
        _ => Ok(FinishReason::Stop),
    }
}

/// The call's arguments: `args` as JSON text (absent: no arguments).
fn arguments(args: Option<Value>) -> String {
    match args {
        None | Some(Value::Null) => "{}".to_owned(),
        Some(Value::String(text)) => text,
        Some(other) => other.to_string(),
    }
}

/// The id of a call: its own, else `gemini_call_{turn}_{position}`.
fn call_id(id: Option<String>, turn: &str, position: usize) -> String {
    match id {
        Some(id) if !id.is_empty() => id,
        _ => format!("{ASSIGNED_ID_PREFIX}{turn}_{position}"),
    }
}

/// Reads replies: whole, or chunk by chunk. A call arrives whole in its
/// part, so it is done at once; calls without an id get `turn`-scoped ones.
#[derive(Debug)]
pub(crate) struct Decoder {
    turn: String,
    calls: u32,
    finished: bool,
    usage: Option<Usage>,
    /// Thought signatures seen, by call id.
    pub signatures: Vec<(String, String)>,
}

impl Decoder {
    /// A decoder whose assigned ids carry `turn` (unique per reply).
    pub fn new(turn: impl Into<String>) -> Self {
        Decoder {
            turn: turn.into(),
            calls: 0,
            finished: false,
            usage: None,
            signatures: Vec::new(),
        }
    }

    /// Whether a chunk with a `finishReason` arrived: a stream that ends
    /// before it was cut short.
    pub fn is_complete(&self) -> bool {
        self.finished
    }

    /// The events of one response (a stream's chunk, or a whole reply).
    pub fn decode(&mut self, response: WireResponse) -> Result<Vec<StreamEvent>, ModelError> {
        let mut events = Vec::new();
        if let Some(usage) = response.usage_metadata {
            self.usage = Some(usage.into());
        }
        if response.candidates.is_empty()
            && let Some(reason) = response.prompt_feedback.and_then(|f| f.block_reason)
        {
            // The prompt itself was blocked: no candidate comes.
            tracing::warn!(block_reason = %reason, "Gemini blocked the prompt");
            self.finished = true;
            events.push(StreamEvent::Finish(FinishReason::ContentFilter));
        }
        if let Some(candidate) = response.candidates.into_iter().next() {
            for part in candidate.content.map(|c| c.parts).unwrap_or_default() {
                if let Some(call) = part.function_call {
                    let index = self.calls;
                    self.calls += 1;
                    let id = call_id(call.id, &self.turn, index as usize);
                    if let Some(signature) = part.thought_signature {
                        self.signatures.push((id.clone(), signature));
                    }
                    events.push(StreamEvent::ToolCall(ToolCallDelta {
                        index,
                        id: Some(id),
                        name: Some(call.name),
                        arguments: Some(arguments(call.args)),
                    }));
                    events.push(StreamEvent::ToolCallDone(index));
                } else if let Some(text) = part.text.filter(|t| !t.is_empty())
                    && part.thought != Some(true)
                {
                    events.push(StreamEvent::Text(text));
                }
            }
            if let Some(reason) = candidate
                .finish_reason
                .filter(|r| r != "FINISH_REASON_UNSPECIFIED")
            {
                let reason = finish_reason(&reason, candidate.finish_message.as_deref())?;
                self.finished = true;
                events.push(StreamEvent::Finish(
                    if self.calls > 0 && reason == FinishReason::Stop {
                        FinishReason::ToolCalls
                    } else {
                        reason
                    },
                ));
            }
        }
        Ok(events)
    }

    /// The usage of the whole reply: the last count the chunks gave.
    pub fn usage(&self) -> Option<Usage> {
        self.usage
    }
}

/// A whole reply as the neutral response.
pub(crate) fn response(
    decoder: &mut Decoder,
    wire: WireResponse,
) -> Result<ChatResponse, ModelError> {
    let mut assembled = crate::assemble::CallAssembler::new();
    for event in decoder.decode(wire)? {
        assembled.push(event);
    }
    let mut response = assembled.into_response();
    response.usage = decoder.usage();
    if response.finish_reason.is_none() {
        response.finish_reason = Some(if response.tool_calls.is_empty() {
            FinishReason::Stop
        } else {
            FinishReason::ToolCalls
        });
    }
    Ok(response)
}

// ---- errors ---------------------------------------------------------------------

/// `{"error": {"code", "message", "status", "details"}}`.
#[derive(Debug, Deserialize)]
pub(crate) struct WireError {
    pub error: WireErrorDetail,
}

/// The error's code, message, status name and details.
#[derive(Debug, Deserialize)]
pub(crate) struct WireErrorDetail {
    #[serde(default)]
    pub code: Option<u16>,
    #[serde(default)]
    pub message: String,
    #[serde(default)]
    pub status: String,
    #[serde(default)]
    pub details: Vec<Value>,
}

impl WireErrorDetail {
    /// The wait a `google.rpc.RetryInfo` detail asks for (`"37s"`, `"1.5s"`).
    pub fn retry_delay(&self) -> Option<Duration> {
        self.details
            .iter()
            .filter(|d| {
                d.get("@type")
                    .and_then(Value::as_str)
                    .is_some_and(|t| t.ends_with("google.rpc.RetryInfo"))
            })
            .find_map(|d| d.get("retryDelay").and_then(Value::as_str))
            .and_then(|delay| delay.trim().strip_suffix('s'))
            .and_then(|secs| secs.parse::<f64>().ok())
            .and_then(|secs| Duration::try_from_secs_f64(secs).ok())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::call::ToolCall;

    /// The shapes of python-genai's `Part` (`inlineData` {mimeType, data},
    /// `fileData` {mimeType, fileUri}) and `FunctionResponse.parts`
    /// (`FunctionResponsePart.inlineData`).
    #[test]
    fn images_and_pdfs_are_inline_or_file_data_parts() {
        use crate::content::{Content, ContentPart};
        let request = ChatRequest::new(
            "",
            vec![
                Message::user(
                    Content::new()
                        .text("What is this?")
                        .image_url("https://x/y.PNG?size=2")
                        .image_base64("AAAA", "image/png")
                        .pdf_base64("JVBE")
                        .document_url("https://arxiv.org/pdf/2401.00001"),
                ),
                Message::assistant(None, vec![ToolCall::new("c1", "f", "{}")]),
                Message::Tool {
                    tool_call_id: "c1".into(),
                    content: "a chart".into(),
                    parts: vec![
                        ContentPart::image("AAAA", "image/png"),
                        ContentPart::text("caption"),
                    ],
                    is_error: false,
                },
            ],
        );
        let body = request_body(&request, &HashMap::new()).expect("a body");
        assert_eq!(
            body["contents"][0]["parts"],
            json!([
                {"text": "What is this?"},
                {"fileData": {"mimeType": "image/png", "fileUri": "https://x/y.PNG?size=2"}},
                {"inlineData": {"mimeType": "image/png", "data": "AAAA"}},
                {"inlineData": {"mimeType": "application/pdf", "data": "JVBE"}},
                {"fileData": {"mimeType": "application/pdf", "fileUri": "https://arxiv.org/pdf/2401.00001"}},
            ])
        );
        assert_eq!(
            body["contents"][2]["parts"][0],
            json!({"functionResponse": {"name": "f", "id": "c1",
                "response": {"output": "a chart\ncaption"},
                "parts": [{"inlineData": {"mimeType": "image/png", "data": "AAAA"}}]}})
        );
    }

    #[test]
    fn urls_gemini_cannot_take_are_refused_by_name() {
        use crate::content::ContentPart;
        let request = ChatRequest::new(
            "",
            vec![Message::user(ContentPart::image_url("https://x/image"))],
        );
        assert_eq!(
            request_body(&request, &HashMap::new()),
            Err(ModelError::Unsupported {
                setting: "image_url (without a known image extension)",
                provider: "Gemini"
            })
        );
        let request = ChatRequest::new(
            "",
            vec![
                Message::assistant(None, vec![ToolCall::new("c1", "f", "{}")]),
                Message::Tool {
                    tool_call_id: "c1".into(),
                    content: "see".into(),
                    parts: vec![ContentPart::image_url("https://x/y.png")],
                    is_error: false,
                },
            ],
        );
        assert_eq!(
            request_body(&request, &HashMap::new()),
            Err(ModelError::Unsupported {
                setting: "tool_result.image_url",
                provider: "Gemini"
            })
        );
    }

    #[test]
    fn a_turn_is_one_model_content_and_one_user_content_in_call_order() {
        let calls = vec![
            ToolCall::new("c1", "f", r#"{"x": 1}"#),
            ToolCall::new("gemini_call_t_1", "g", "not json"),
        ];
        let mut request = ChatRequest::new(
            "",
            vec![
                Message::system("be brief"),
                Message::user("hi"),
                Message::assistant(Some("calling".into()), calls),
                Message::tool_result("c1", r#"{"a": 2}"#),
                Message::Tool {
                    tool_call_id: "gemini_call_t_1".into(),
                    content: "bad arguments".into(),
                    parts: Vec::new(),
                    is_error: true,
                },
                Message::user("and then?"),
            ],
        );
        request.tools = vec![ToolDefinition::new(
            "f",
            "F",
            json!({"type": "object", "properties": {}}),
        )];
        request.tool_choice = Some(ToolChoice::Function("f".into()));
        let mut signatures = HashMap::new();
        signatures.insert("c1".to_owned(), "c2lnbmF0dXJl".to_owned());
        let body = request_body(&request, &signatures).expect("a body");
        assert_eq!(body["systemInstruction"]["parts"][0]["text"], "be brief");
        let contents = body["contents"].as_array().expect("contents");
        assert_eq!(contents.len(), 3, "{contents:?}");
        let model = &contents[1];
        assert_eq!(model["role"], "model");
        assert_eq!(model["parts"][0], json!({"text": "calling"}));
        assert_eq!(
            model["parts"][1],
            json!({"functionCall": {"name": "f", "args": {"x": 1}, "id": "c1"}, "thoughtSignature": "c2lnbmF0dXJl"})
        );
        // An id this client assigned is not sent; nor a signature it never got.
        assert_eq!(
            model["parts"][2],
            json!({"functionCall": {"name": "g", "args": {}}})
        );
        let results = &contents[2]["parts"];
        assert_eq!(
            results[0],
            json!({"functionResponse": {"name": "f", "response": {"output": {"a": 2}}, "id": "c1"}})
        );
        assert_eq!(
            results[1],
            json!({"functionResponse": {"name": "g", "response": {"error": "bad arguments"}}})
        );
        assert_eq!(results[2], json!({"text": "and then?"}));
        assert_eq!(
            body["tools"][0]["functionDeclarations"][0]["parametersJsonSchema"],
            json!({"type": "object", "properties": {}})
        );
        assert_eq!(
            body["toolConfig"],
            json!({"functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": ["f"]}})
        );
    }

    #[test]
    fn settings_and_output_go_to_generation_config() {
        use crate::settings::{Effort, Settings};
        let mut request = ChatRequest::new("", vec![Message::user("hi")]);
        request.settings = Settings::new()
            .temperature(0.5)
            .top_p(0.9)
            .max_tokens(64)
            .seed(7)
            .stop(["END"])
            .effort(Effort::Low);
        let body = request_body(&request, &HashMap::new()).expect("a body");
        assert_eq!(
            body["generationConfig"],
            json!({
                "temperature": 0.5, "topP": 0.8999999761581421, "maxOutputTokens": 64,
                "seed": 7, "stopSequences": ["END"], "thinkingConfig": {"thinkingLevel": "LOW"}
            })
        );
        request.settings = Settings::new().thinking_budget(512);
        let body = request_body(&request, &HashMap::new()).expect("a body");
        assert_eq!(
            body["generationConfig"]["thinkingConfig"],
            json!({"thinkingBudget": 512})
        );
        request.settings = Settings::new().user("u-1");
        let error = request_body(&request, &HashMap::new()).expect_err("refused");
        assert!(
            matches!(
                error,
                ModelError::Unsupported {
                    setting: "user",
                    ..
                }
            ),
            "{error}"
        );
    }

    #[test]
    fn what_gemini_lacks_is_refused_by_name() {
        let mut request = ChatRequest::new("", vec![Message::user("hi")]);
        request.parallel_tool_calls = Some(false);
        let error = request_body(&request, &HashMap::new()).expect_err("refused");
        assert!(error.to_string().contains("parallel_tool_calls"), "{error}");
        let stray = ChatRequest::new("", vec![Message::tool_result("nope", "x")]);
        assert!(matches!(
            request_body(&stray, &HashMap::new()),
            Err(ModelError::Config(_))
        ));
    }

    fn chunk(value: Value) -> WireResponse {
        serde_json::from_value(value).expect("a response")
    }

    #[test]
    fn calls_split_over_chunks_are_each_done_at_once_with_ids_assigned() {
        let mut decoder = Decoder::new("r1");
        let mut events = Vec::new();
        events.extend(
            decoder
                .decode(chunk(json!({"candidates": [{"content": {"role": "model", "parts": [
                    {"text": "Let me"},
                    {"functionCall": {"name": "f", "args": {"a": 1}}, "thoughtSignature": "c2ln"}
                ]}}]})))
                .expect("decodes"),
        );
        assert!(!decoder.is_complete());
        events.extend(
            decoder
                .decode(chunk(json!({"candidates": [{"content": {"role": "model", "parts": [
                    {"functionCall": {"id": "x9", "name": "g"}}
                ]}, "finishReason": "STOP"}],
                "usageMetadata": {"promptTokenCount": 10, "candidatesTokenCount": 4, "thoughtsTokenCount": 3, "totalTokenCount": 17}})))
                .expect("decodes"),
        );
        assert!(decoder.is_complete());
        let call = |index, id: &str, name: &str, arguments: &str| {
            StreamEvent::ToolCall(ToolCallDelta {
                index,
                id: Some(id.into()),
                name: Some(name.into()),
                arguments: Some(arguments.into()),
            })
        };
        assert_eq!(
            events,
            vec![
                StreamEvent::Text("Let me".into()),
                call(0, "gemini_call_r1_0", "f", r#"{"a":1}"#),
                StreamEvent::ToolCallDone(0),
                call(1, "x9", "g", "{}"),
                StreamEvent::ToolCallDone(1),
                StreamEvent::Finish(FinishReason::ToolCalls),
            ]
        );
        assert_eq!(
            decoder.signatures,
            vec![("gemini_call_r1_0".to_owned(), "c2ln".to_owned())]
        );
        assert_eq!(decoder.usage(), Some(Usage::new(10, 7)));
    }

    #[test]
    fn finish_reasons_map_to_endings_or_errors() {
        assert_eq!(finish_reason("MAX_TOKENS", None), Ok(FinishReason::Length));
        assert_eq!(
            finish_reason("SAFETY", None),
            Ok(FinishReason::ContentFilter)
        );
        assert_eq!(finish_reason("STOP", None), Ok(FinishReason::Stop));
        for reason in ["MALFORMED_FUNCTION_CALL", "UNEXPECTED_TOOL_CALL"] {
            let error = finish_reason(reason, Some("bad call")).expect_err("an error");
            assert!(
                matches!(&error, ModelError::InvalidResponse(m) if m.contains(reason) && m.contains("bad call")),
                "{error}"
            );
        }
        let mut decoder = Decoder::new("r");
        let whole = response(
            &mut decoder,
            chunk(json!({"candidates": [{"content": {"parts": [{"text": "cut"}]}, "finishReason": "MAX_TOKENS"}]})),
        )
        .expect("a reply");
        assert_eq!(whole.finish_reason, Some(FinishReason::Length));
        assert_eq!(whole.content.as_deref(), Some("cut"));
    }

    #[test]
    fn retry_info_gives_the_wait() {
        let error: WireError = serde_json::from_value(json!({"error": {
            "code": 429, "message": "quota", "status": "RESOURCE_EXHAUSTED",
            "details": [
                {"@type": "type.googleapis.com/google.rpc.QuotaFailure", "violations": []},
                {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "1.5s"}
            ]
        }}))
        .expect("an error");
        assert_eq!(error.error.retry_delay(), Some(Duration::from_millis(1500)));
        assert_eq!(error.error.status, "RESOURCE_EXHAUSTED");
    }

    #[test]
    fn cached_content_tokens_are_read() {
        let usage: WireUsage = serde_json::from_value(serde_json::json!({
            "promptTokenCount": 3000, "candidatesTokenCount": 12,
            "cachedContentTokenCount": 2048, "thoughtsTokenCount": 8
        }))
        .expect("usage");
        assert_eq!(Usage::from(usage), Usage::new(3000, 20).with_cache(2048, 0));
    }
}
