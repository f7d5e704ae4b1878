//! Chat messages and requests in the OpenAI Chat Completions wire format,
//! the lingua franca between the agent loop, the models and the simulator.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

use crate::call::{CallResult, ToolCall};
use crate::content::{Content, ContentPart};
use crate::settings::Settings;
use crate::toolset::ToolDefinition;
use crate::typed_output::OutputFormat;

/// One message of a conversation, provider-neutral: each model converts
/// it to its wire format at its edge. Serialised, it is the Chat Completions
/// shape (plus `is_error` and `parts` on tool messages, and a document URL
/// as `{"type": "file", "file": {"file_url"}}`, which Chat itself lacks).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "role", rename_all = "lowercase")]
#[non_exhaustive]
pub enum Message {
    /// Instructions for the model.
    System {
        /// The text.
        #[serde(deserialize_with = "text_content")]
        content: String,
    },
    /// The user's turn: text, images and documents, in order.
    User {
        /// The parts (text alone is one text part).
        #[serde(with = "chat_content")]
        content: Content,
    },
    /// The model's turn: text, tool calls, or both.
    Assistant {
        /// The text, if any.
        #[serde(default, deserialize_with = "optional_text_content")]
        content: Option<String>,
        /// The tool calls, in the order the model made them.
        #[serde(default, skip_serializing_if = "Vec::is_empty", with = "wire_calls")]
        tool_calls: Vec<ToolCall>,
    },
    /// The result of one tool call.
    Tool {
        /// The id of the call this answers.
        tool_call_id: String,
        /// The result text.
        #[serde(deserialize_with = "text_content")]
        content: String,
        /// Content after the text (images, documents), as the tool gave it
        /// ([`CallResult::parts`]). Chat tool messages carry text only: the
        /// Chat model sends these in a user message after the turn's results.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        parts: Vec<ContentPart>,
        /// Whether the call failed (Anthropic's `is_error`; other formats
        /// carry only the text).
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        is_error: bool,
    },
}

impl Message {
    /// A system message.
    pub fn system(content: impl Into<String>) -> Self {
        Message::System {
            content: content.into(),
        }
    }

    /// A user message: text, or [`Content`] with images and documents.
    pub fn user(content: impl Into<Content>) -> Self {
        Message::User {
            content: content.into(),
        }
    }

    /// An assistant message.
    pub fn assistant(content: Option<String>, tool_calls: Vec<ToolCall>) -> Self {
        Message::Assistant {
            content,
            tool_calls,
        }
    }

    /// The tool message answering one call.
    pub fn tool(result: &CallResult) -> Self {
        Message::Tool {
            tool_call_id: result.call_id.to_string(),
            content: result.content.clone(),
            parts: result.parts().to_vec(),
            is_error: !result.outcome.is_ok(),
        }
    }

    /// A tool message answering the call `tool_call_id` with this text.
    pub fn tool_result(tool_call_id: impl Into<String>, content: impl Into<String>) -> Self {
        Message::Tool {
            tool_call_id: tool_call_id.into(),
            content: content.into(),
            parts: Vec::new(),
            is_error: false,
        }
    }

    /// The message's role as the API names it.
    pub fn role(&self) -> &'static str {
        match self {
            Message::System { .. } => "system",
            Message::User { .. } => "user",
            Message::Assistant { .. } => "assistant",
            Message::Tool { .. } => "tool",
        }
    }
}

/// Accepts a content string or an array of text parts, as the SDKs send either.
fn text_content<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    Ok(optional_text_content(deserializer)?.unwrap_or_default())
}

fn optional_text_content<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<String>, D::Error> {
    match Option::<Value>::deserialize(deserializer)? {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        // Only a user message takes images and files: elsewhere a part that
        // is not text is refused, as the API refuses it.
        Some(Value::Array(parts)) => parts
            .iter()
            .map(|p| match p.get("type").and_then(Value::as_str) {
                Some("text") => p.get("text").and_then(Value::as_str).ok_or_else(|| {
                    serde::de::Error::custom("a `text` content part needs its `text`")
                }),
                Some("refusal") => p.get("refusal").and_then(Value::as_str).ok_or_else(|| {
                    serde::de::Error::custom("a `refusal` content part needs its `refusal`")
                }),
                other => Err(serde::de::Error::custom(format!(
                    "only a user message takes `{}` content parts: this one takes text",
                    other.unwrap_or("untyped")
                ))),
            })
            .collect::<Result<String, D::Error>>()
            .map(Some),
        Some(other) => Err(serde::de::Error::custom(format!(
            "content must be a string or an array of text parts, not {other}"
        ))),
    }
}

/// A user message's content in the Chat Completions shape: a string when
/// it is one text part, else an array of `text`, `image_url` and `file`
/// parts (inline media as `data:` URLs).
pub(crate) mod chat_content {
    use std::borrow::Cow;

    use super::*;
    use crate::content::{PDF, data_url, parse_data_url};

    #[derive(Serialize, Deserialize)]
    #[serde(tag = "type", rename_all = "snake_case")]
    enum ChatPart<'a> {
        Text { text: Cow<'a, str> },
        ImageUrl { image_url: ChatImage<'a> },
        File { file: ChatFile<'a> },
    }

    #[derive(Serialize, Deserialize)]
    struct ChatImage<'a> {
        url: Cow<'a, str>,
    }

    #[derive(Serialize, Deserialize)]
    struct ChatFile<'a> {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        file_data: Option<Cow<'a, str>>,
        /// Not Chat's: a document URL (Responses' `input_file` name).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        file_url: Option<Cow<'a, str>>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        filename: Option<Cow<'a, str>>,
        #[serde(default, skip_serializing)]
        file_id: Option<String>,
    }

    fn chat_part(part: &ContentPart) -> ChatPart<'_> {
        let file = |file_data, file_url, filename| ChatPart::File {
            file: ChatFile {
                file_data,
                file_url,
                filename,
                file_id: None,
            },
        };
        match part {
            ContentPart::Text { text } => ChatPart::Text { text: text.into() },
            ContentPart::Image { data, mime_type } => ChatPart::ImageUrl {
                image_url: ChatImage {
                    url: data_url(mime_type, data).into(),
                },
            },
            ContentPart::ImageUrl { url } => ChatPart::ImageUrl {
                image_url: ChatImage { url: url.into() },
            },
            ContentPart::Document {
                data,
                mime_type,
                name,
            } => file(
                Some(data_url(mime_type, data).into()),
                None,
                name.as_deref().map(Cow::Borrowed),
            ),
            ContentPart::DocumentUrl { url } => file(None, Some(url.into()), None),
        }
    }

    fn content_part(part: ChatPart<'_>) -> Result<ContentPart, String> {
        match part {
            ChatPart::Text { text } => Ok(ContentPart::text(text)),
            ChatPart::ImageUrl { image_url } => Ok(ContentPart::image_url(image_url.url)),
            ChatPart::File { file } => match (file.file_data, file.file_url, file.file_id) {
                (Some(data), None, None) => {
                    let (mime_type, data) = parse_data_url(&data).unwrap_or((PDF, &data));
                    let part = ContentPart::document(data, mime_type);
                    Ok(match file.filename {
                        Some(name) => part.named(name),
                        None => part,
                    })
                }
                (None, Some(url), None) => Ok(ContentPart::DocumentUrl { url: url.into() }),
                (None, None, Some(_)) => {
                    Err("a `file` part with a `file_id` (an uploaded file) is not supported: send `file_data`".into())
                }
                _ => Err("a `file` part needs exactly one of `file_data` and `file_id`".into()),
            },
        }
    }

    pub fn serialize<S: Serializer>(content: &Content, serializer: S) -> Result<S::Ok, S::Error> {
        match content.parts() {
            [ContentPart::Text { text }] => serializer.serialize_str(text),
            parts => serializer.collect_seq(parts.iter().map(chat_part)),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Content, D::Error> {
        deserializer.deserialize_any(ContentVisitor)
    }

    /// A string, null (no text), or an array of parts: read in one pass.
    struct ContentVisitor;

    impl<'de> serde::de::Visitor<'de> for ContentVisitor {
        type Value = Content;

        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a string or an array of content parts")
        }

        fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<Content, E> {
            Ok(Content::from(text))
        }

        fn visit_string<E: serde::de::Error>(self, text: String) -> Result<Content, E> {
            Ok(Content::from(text))
        }

        fn visit_unit<E: serde::de::Error>(self) -> Result<Content, E> {
            Ok(Content::from(""))
        }

        fn visit_none<E: serde::de::Error>(self) -> Result<Content, E> {
            Ok(Content::from(""))
        }

        fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Content, A::Error> {
            let mut content = Content::new();
            while let Some(part) = seq.next_element::<ChatPart<'_>>()? {
                content.extend([content_part(part).map_err(serde::de::Error::custom)?]);
            }
            Ok(content)
        }
    }
}

/// Tool calls in the wire shape `{"id", "type": "function", "function": {"name", "arguments"}}`.
pub(crate) mod wire_calls {
    use super::*;

    #[derive(Serialize, Deserialize)]
    struct WireCall<'a> {
        #[serde(borrow)]
        id: std::borrow::Cow<'a, str>,
        #[serde(rename = "type", default = "function")]
        kind: std::borrow::Cow<'a, str>,
        function: WireFunction<'a>,
    }

    #[derive(Serialize, Deserialize)]
    struct WireFunction<'a> {
        #[serde(borrow)]
        name: std::borrow::Cow<'a, str>,
        #[serde(default)]
        arguments: String,
    }

    fn function() -> std::borrow::Cow<'static, str> {
        "function".into()
    }

    pub fn serialize<S: Serializer>(calls: &[ToolCall], serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(calls.iter().map(|c| WireCall {
            id: c.id.as_str().into(),
            kind: "function".into(),
            function: WireFunction {
                name: c.name.as_str().into(),
                arguments: c.arguments.clone(),
            },
        }))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Vec<ToolCall>, D::Error> {
        let wire = Option::<Vec<WireCall<'_>>>::deserialize(deserializer)?.unwrap_or_default();
        Ok(wire
            .into_iter()
            .map(|w| ToolCall {
                id: w.id.into(),
                name: w.function.name.into(),
                arguments: w.function.arguments,
            })
            .collect())
    }
}

/// Which tools the model may or must call.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ToolChoice {
    /// The model decides (the API's default when tools are offered).
    Auto,
    /// No tool calls.
    None,
    /// At least one tool call.
    Required,
    /// This tool.
    Function(String),
}

impl Serialize for ToolChoice {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            ToolChoice::Auto => serializer.serialize_str("auto"),
            ToolChoice::None => serializer.serialize_str("none"),
            ToolChoice::Required => serializer.serialize_str("required"),
            ToolChoice::Function(name) => {
                serde_json::json!({"type": "function", "function": {"name": name}})
                    .serialize(serializer)
            }
        }
    }
}

impl<'de> Deserialize<'de> for ToolChoice {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = Value::deserialize(deserializer)?;
        match &value {
            Value::String(s) if s == "auto" => Ok(ToolChoice::Auto),
            Value::String(s) if s == "none" => Ok(ToolChoice::None),
            Value::String(s) if s == "required" => Ok(ToolChoice::Required),
            _ => value
                .pointer("/function/name")
                .and_then(Value::as_str)
                .map(|name| ToolChoice::Function(name.to_owned()))
                .ok_or_else(|| {
                    serde::de::Error::custom(format!(
                        "tool_choice must be \"auto\", \"none\", \"required\" or {{\"type\": \"function\", \"function\": {{\"name\": ...}}}}, not {value}"
                    ))
                }),
        }
    }
}

/// A tool definition in the request's wire shape.
#[derive(Serialize, Deserialize)]
struct WireTool {
    #[serde(rename = "type", default)]
    kind: String,
    function: WireToolFunction,
}

#[derive(Serialize, Deserialize)]
struct WireToolFunction {
    name: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    parameters: Value,
    #[serde(default)]
    strict: Option<bool>,
}

mod wire_tools {
    use super::*;

    pub fn serialize<S: Serializer>(
        tools: &[ToolDefinition],
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(tools.iter().map(ToolDefinition::to_openai))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Vec<ToolDefinition>, D::Error> {
        let wire = Option::<Vec<WireTool>>::deserialize(deserializer)?.unwrap_or_default();
        Ok(wire
            .into_iter()
            .map(|t| {
                ToolDefinition::new(
                    t.function.name,
                    t.function.description,
                    t.function.parameters,
                )
                .with_strict(t.function.strict.unwrap_or(false))
            })
            .collect())
    }
}

/// A chat completion request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatRequest {
    /// The model's name.
    pub model: String,
    /// The conversation so far.
    pub messages: Vec<Message>,
    /// The tools offered.
    #[serde(default, skip_serializing_if = "Vec::is_empty", with = "wire_tools")]
    pub tools: Vec<ToolDefinition>,
    /// Which tools the model may call.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_choice: Option<ToolChoice>,
    /// Whether the model may make several calls in one message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parallel_tool_calls: Option<bool>,
    /// Generation settings; each provider maps them to its own fields.
    #[serde(default, skip_serializing_if = "Settings::is_empty")]
    pub settings: Settings,
    /// The answer's JSON Schema, for the provider's native structured
    /// output (Chat `response_format`, Responses `text.format`, Anthropic
    /// `output_config.format`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<OutputFormat>,
}

impl ChatRequest {
    /// A request with these messages and no tools.
    pub fn new(model: impl Into<String>, messages: Vec<Message>) -> Self {
        ChatRequest {
            model: model.into(),
            messages,
            tools: Vec::new(),
            tool_choice: None,
            parallel_tool_calls: None,
            settings: Settings::default(),
            output: None,
        }
    }
}

/// Token counts as the API reports them.
///
/// `prompt_tokens` counts every input token, cached or not (Anthropic's
/// three input counts are summed); the cache counts say how many of them
/// were read from or written to the provider's prompt cache, where the
/// provider reports it (0 otherwise).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Usage {
    /// Tokens in the prompt.
    pub prompt_tokens: u32,
    /// Tokens in the completion.
    pub completion_tokens: u32,
    /// Both.
    pub total_tokens: u32,
    /// Prompt tokens read from the prompt cache (OpenAI `cached_tokens`,
    /// Anthropic `cache_read_input_tokens`, Gemini
    /// `cachedContentTokenCount`).
    #[serde(default)]
    pub cache_read_tokens: u32,
    /// Prompt tokens written to the prompt cache (Anthropic
    /// `cache_creation_input_tokens`, OpenAI Responses `cache_write_tokens`).
    #[serde(default)]
    pub cache_creation_tokens: u32,
}

impl Usage {
    /// A prompt and a completion count; the total is their sum.
    pub const fn new(prompt_tokens: u32, completion_tokens: u32) -> Self {
        Usage {
            prompt_tokens,
            completion_tokens,
            total_tokens: prompt_tokens.saturating_add(completion_tokens),
            cache_read_tokens: 0,
            cache_creation_tokens: 0,
        }
    }

    /// The same, with a total the provider counted otherwise.
    pub const fn with_total(mut self, total_tokens: u32) -> Self {
        self.total_tokens = total_tokens;
        self
    }

    /// The same, with the prompt tokens read from and written to the
    /// provider's prompt cache.
    pub const fn with_cache(mut self, read: u32, creation: u32) -> Self {
        self.cache_read_tokens = read;
        self.cache_creation_tokens = creation;
        self
    }
}

impl std::ops::AddAssign for Usage {
    fn add_assign(&mut self, other: Usage) {
        self.prompt_tokens += other.prompt_tokens;
        self.completion_tokens += other.completion_tokens;
        self.total_tokens += other.total_tokens;
        self.cache_read_tokens += other.cache_read_tokens;
        self.cache_creation_tokens += other.cache_creation_tokens;
    }
}

/// Why the model stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum FinishReason {
    /// A final answer.
    Stop,
    /// Tool calls to run.
    ToolCalls,
    /// The token limit.
    Length,
    /// The content filter.
    ContentFilter,
}

/// The model's reply to one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChatResponse {
    /// The text, if any.
    pub content: Option<String>,
    /// The tool calls, in order.
    pub tool_calls: Vec<ToolCall>,
    /// Why the model stopped, when it says.
    pub finish_reason: Option<FinishReason>,
    /// Token counts, when reported.
    pub usage: Option<Usage>,
}

impl ChatResponse {
    /// A final text answer.
    pub fn text(content: impl Into<String>) -> Self {
        ChatResponse {
            content: Some(content.into()),
            tool_calls: Vec::new(),
            finish_reason: Some(FinishReason::Stop),
            usage: None,
        }
    }

    /// A reply that calls tools.
    pub fn calls(tool_calls: Vec<ToolCall>) -> Self {
        ChatResponse {
            content: None,
            tool_calls,
            finish_reason: Some(FinishReason::ToolCalls),
            usage: None,
        }
    }

    /// The assistant message to append to the conversation.
    pub fn to_message(&self) -> Message {
        Message::assistant(self.content.clone(), self.tool_calls.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn messages_round_trip_in_the_wire_shape() {
        let messages = vec![
            Message::system("be brief"),
            Message::user("hi"),
            Message::assistant(None, vec![ToolCall::new("c1", "f", "{}")]),
            Message::tool_result("c1", "ok"),
        ];
        let wire = serde_json::to_value(&messages).expect("serialise");
        assert_eq!(wire[2]["tool_calls"][0]["function"]["name"], json!("f"));
        assert_eq!(wire[2]["tool_calls"][0]["type"], json!("function"));
        let back: Vec<Message> = serde_json::from_value(wire).expect("deserialise");
        assert_eq!(back, messages);
    }

    #[test]
    fn user_content_parts_keep_their_order_and_shape() {
        let m: Message = serde_json::from_value(json!({"role": "user", "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]})).expect("parts");
        assert_eq!(
            m,
            Message::user([ContentPart::text("a"), ContentPart::text("b")])
        );
        let turn = Message::user(
            Content::new()
                .text("look")
                .image_url("https://x/y.png")
                .image_base64("AAAA", "image/png")
                .part(ContentPart::pdf("JVBE").named("r.pdf"))
                .document_url("https://x/r.pdf"),
        );
        let wire = serde_json::to_value(&turn).expect("serialise");
        assert_eq!(
            wire["content"],
            json!([
                {"type": "text", "text": "look"},
                {"type": "image_url", "image_url": {"url": "https://x/y.png"}},
                {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}},
                {"type": "file", "file": {"file_data": "data:application/pdf;base64,JVBE", "filename": "r.pdf"}},
                {"type": "file", "file": {"file_url": "https://x/r.pdf"}},
            ])
        );
        let back: Message = serde_json::from_value(wire).expect("deserialise");
        assert_eq!(back, turn);
        // Text alone stays a string, as before.
        assert_eq!(
            serde_json::to_value(Message::user("hi")).expect("serialise"),
            json!({"role": "user", "content": "hi"})
        );
    }

    #[test]
    fn user_parts_a_chat_server_refuses_are_errors() {
        for part in [
            json!({"type": "input_audio", "input_audio": {"data": "", "format": "wav"}}),
            json!({"type": "file", "file": {"file_id": "file-1"}}),
            json!({"type": "image_url", "image_url": "https://x/y.png"}),
        ] {
            let wire = json!({"role": "user", "content": [part]});
            assert!(serde_json::from_value::<Message>(wire).is_err(), "{part}");
        }
    }

    #[test]
    fn tool_message_parts_ride_along() {
        let mut result = CallResult::new("c1", "chart", crate::Outcome::Ok, "a chart");
        result = result.with_parts(vec![ContentPart::image("AAAA", "image/png")]);
        let message = Message::tool(&result);
        let wire = serde_json::to_value(&message).expect("serialise");
        assert_eq!(
            wire["parts"],
            json!([{"type": "image", "data": "AAAA", "mime_type": "image/png"}])
        );
        assert_eq!(
            serde_json::from_value::<Message>(wire).expect("back"),
            message
        );
    }

    #[test]
    fn tool_choice_forms() {
        for choice in [
            ToolChoice::Auto,
            ToolChoice::None,
            ToolChoice::Required,
            ToolChoice::Function("f".into()),
        ] {
            let wire = serde_json::to_value(&choice).expect("serialise");
            assert_eq!(
                serde_json::from_value::<ToolChoice>(wire).expect("back"),
                choice
            );
        }
    }
}
