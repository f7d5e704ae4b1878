//! Conversions between async-openai's chat types and ours, so an async-openai
//! user can adopt dispatch alone:
//!
//! ```no_run
//! # use async_openai::types::chat::{ChatChoice, ChatCompletionRequestMessage};
//! # use toolcall_runtime::{ToolCall, ToolSet};
//! # async fn demo(choice: ChatChoice, tools: ToolSet) {
//! let calls: Vec<ToolCall> = choice.message.tool_calls.unwrap_or_default().into_iter().map(Into::into).collect();
//! let batch = tools.dispatch(&calls).await;
//! let messages: Vec<ChatCompletionRequestMessage> = batch.results.iter().map(Into::into).collect();
//! # drop(messages);
//! # }
//! ```

use async_openai::types::chat as oa;

use crate::call::{CallResult, ToolCall};
use crate::content::{Content, ContentPart, data_url, file_name, joined_text};
use crate::message::{ChatRequest, ChatResponse, FinishReason, Message, ToolChoice, Usage};
use crate::model::{ModelError, StreamEvent, ToolCallDelta};
use crate::toolset::ToolDefinition;

/// Why an async-openai value has no equivalent among our types.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConvertError {
    /// A response without any choice.
    NoChoices,
    /// A message content part our transcript does not carry (audio, an
    /// uploaded file's id, a non-text part in a system, assistant or tool
    /// message).
    UnsupportedContent {
        /// The message's role.
        role: &'static str,
        /// The part's type.
        part: &'static str,
    },
    /// A message of the deprecated `function` role.
    FunctionMessage,
}

impl std::fmt::Display for ConvertError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ConvertError::NoChoices => f.write_str("the response has no choices"),
            ConvertError::UnsupportedContent { role, part } => {
                write!(
                    f,
                    "a `{role}` message with a `{part}` content part is not supported"
                )
            }
            ConvertError::FunctionMessage => f.write_str(
                "`function` messages are deprecated and not supported: use `tool` messages",
            ),
        }
    }
}

impl std::error::Error for ConvertError {}

impl From<ConvertError> for ModelError {
    fn from(error: ConvertError) -> Self {
        ModelError::InvalidResponse(error.to_string())
    }
}

// ---- tool calls -------------------------------------------------------------

impl From<oa::ChatCompletionMessageToolCall> for ToolCall {
    fn from(call: oa::ChatCompletionMessageToolCall) -> Self {
        ToolCall {
            id: call.id.into(),
            name: call.function.name.into(),
            arguments: call.function.arguments,
        }
    }
}

impl From<&oa::ChatCompletionMessageToolCall> for ToolCall {
    fn from(call: &oa::ChatCompletionMessageToolCall) -> Self {
        call.clone().into()
    }
}

/// A custom (free-form) tool call keeps its input text as the arguments, so
/// it still gets its one result (most likely "invalid arguments") instead of
/// being dropped.
impl From<oa::ChatCompletionMessageToolCalls> for ToolCall {
    fn from(call: oa::ChatCompletionMessageToolCalls) -> Self {
        match call {
            oa::ChatCompletionMessageToolCalls::Function(call) => call.into(),
            oa::ChatCompletionMessageToolCalls::Custom(call) => ToolCall {
                id: call.id.into(),
                name: call.custom_tool.name.into(),
                arguments: call.custom_tool.input,
            },
        }
    }
}

impl From<&oa::ChatCompletionMessageToolCalls> for ToolCall {
    fn from(call: &oa::ChatCompletionMessageToolCalls) -> Self {
        call.clone().into()
    }
}

impl From<&ToolCall> for oa::ChatCompletionMessageToolCall {
    fn from(call: &ToolCall) -> Self {
        oa::ChatCompletionMessageToolCall {
            id: call.id.to_string(),
            function: oa::FunctionCall {
                name: call.name.to_string(),
                arguments: call.arguments.clone(),
            },
        }
    }
}

impl From<ToolCall> for oa::ChatCompletionMessageToolCall {
    fn from(call: ToolCall) -> Self {
        oa::ChatCompletionMessageToolCall {
            id: call.id.to_string(),
            function: oa::FunctionCall {
                name: call.name.to_string(),
                arguments: call.arguments,
            },
        }
    }
}

impl From<&ToolCall> for oa::ChatCompletionMessageToolCalls {
    fn from(call: &ToolCall) -> Self {
        oa::ChatCompletionMessageToolCalls::Function(call.into())
    }
}

impl From<ToolCall> for oa::ChatCompletionMessageToolCalls {
    fn from(call: ToolCall) -> Self {
        oa::ChatCompletionMessageToolCalls::Function(call.into())
    }
}

impl From<&oa::ChatCompletionMessageToolCallChunk> for ToolCallDelta {
    fn from(chunk: &oa::ChatCompletionMessageToolCallChunk) -> Self {
        ToolCallDelta {
            index: chunk.index,
            id: chunk.id.clone(),
            name: chunk.function.as_ref().and_then(|f| f.name.clone()),
            arguments: chunk.function.as_ref().and_then(|f| f.arguments.clone()),
        }
    }
}

impl From<oa::ChatCompletionMessageToolCallChunk> for ToolCallDelta {
    fn from(chunk: oa::ChatCompletionMessageToolCallChunk) -> Self {
        let (name, arguments) = chunk
            .function
            .map_or((None, None), |f| (f.name, f.arguments));
        ToolCallDelta {
            index: chunk.index,
            id: chunk.id,
            name,
            arguments,
        }
    }
}

// ---- tool results -----------------------------------------------------------

impl From<&CallResult> for oa::ChatCompletionRequestToolMessage {
    fn from(result: &CallResult) -> Self {
        oa::ChatCompletionRequestToolMessage {
            content: oa::ChatCompletionRequestToolMessageContent::Text(result.content.clone()),
            tool_call_id: result.call_id.to_string(),
        }
    }
}

impl From<CallResult> for oa::ChatCompletionRequestToolMessage {
    fn from(result: CallResult) -> Self {
        oa::ChatCompletionRequestToolMessage {
            content: oa::ChatCompletionRequestToolMessageContent::Text(result.content),
            tool_call_id: result.call_id.to_string(),
        }
    }
}

impl From<&CallResult> for oa::ChatCompletionRequestMessage {
    fn from(result: &CallResult) -> Self {
        oa::ChatCompletionRequestMessage::Tool(result.into())
    }
}

impl From<CallResult> for oa::ChatCompletionRequestMessage {
    fn from(result: CallResult) -> Self {
        oa::ChatCompletionRequestMessage::Tool(result.into())
    }
}

// ---- messages ---------------------------------------------------------------

/// The provider's name in refusals.
const PROVIDER: &str = "OpenAI Chat Completions";

/// A part as a Chat user content part, or the name of the part Chat cannot
/// carry (a document URL: Chat's `file` takes inline data or a file id).
fn user_part(
    part: &ContentPart,
) -> Result<oa::ChatCompletionRequestUserMessageContentPart, &'static str> {
    use oa::ChatCompletionRequestUserMessageContentPart as P;
    Ok(match part {
        ContentPart::Text { text } => P::Text(text.as_str().into()),
        ContentPart::Image { data, mime_type } => {
            P::ImageUrl(oa::ImageUrl::from(data_url(mime_type, data)).into())
        }
        ContentPart::ImageUrl { url } => P::ImageUrl(oa::ImageUrl::from(url.as_str()).into()),
        ContentPart::Document {
            data,
            mime_type,
            name,
        } => P::File(oa::ChatCompletionRequestMessageContentPartFile {
            file: oa::FileObject {
                file_data: Some(data_url(mime_type, data)),
                file_id: None,
                filename: Some(file_name(name, mime_type).into_owned()),
            },
            prompt_cache_breakpoint: None,
        }),
        ContentPart::DocumentUrl { .. } => return Err("document_url"),
    })
}

/// A user message's content: a string for text alone, else its parts; a
/// part Chat cannot carry is left out and named.
fn user_content(
    content: &Content,
    refused: &mut Option<&'static str>,
) -> oa::ChatCompletionRequestUserMessageContent {
    match content.parts() {
        [ContentPart::Text { text }] => {
            oa::ChatCompletionRequestUserMessageContent::Text(text.clone())
        }
        parts => oa::ChatCompletionRequestUserMessageContent::Array(
            parts
                .iter()
                .filter_map(|part| {
                    user_part(part)
                        .map_err(|name| *refused = refused.or(Some(name)))
                        .ok()
                })
                .collect(),
        ),
    }
}

/// A tool message: Chat's carries text only, so its text parts join the
/// text and its other parts wait for [`tool_parts_message`].
fn tool_message(
    tool_call_id: &str,
    content: &str,
    parts: &[ContentPart],
) -> oa::ChatCompletionRequestMessage {
    oa::ChatCompletionRequestMessage::Tool(oa::ChatCompletionRequestToolMessage {
        content: oa::ChatCompletionRequestToolMessageContent::Text(
            joined_text(content, parts).into_owned(),
        ),
        tool_call_id: tool_call_id.to_owned(),
    })
}

/// The images and documents of a turn's tool results, which a Chat tool
/// message cannot carry: one user message after the turn's tool messages,
/// each result's parts after a line naming its call.
fn tool_parts_message(
    results: &[(&str, &[ContentPart])],
    refused: &mut Option<&'static str>,
) -> Option<oa::ChatCompletionRequestMessage> {
    let mut parts = Vec::new();
    for (call_id, media) in results {
        let mut media = media.iter().filter(|p| p.as_text().is_none()).peekable();
        if media.peek().is_none() {
            continue;
        }
        parts.push(oa::ChatCompletionRequestUserMessageContentPart::Text(
            format!("The result of tool call `{call_id}` comes with:").into(),
        ));
        for part in media {
            match user_part(part) {
                Ok(part) => parts.push(part),
                Err(_) => *refused = refused.or(Some("tool_result.document_url")),
            }
        }
    }
    (!parts.is_empty()).then_some(oa::ChatCompletionRequestMessage::User(
        oa::ChatCompletionRequestUserMessage {
            content: oa::ChatCompletionRequestUserMessageContent::Array(parts),
            name: None,
        },
    ))
}

/// The transcript as Chat messages, and the first part Chat cannot carry
/// (left out). A turn's tool results that carry images or documents are
/// followed by one user message holding them (see [`tool_parts_message`]).
pub(crate) fn messages(
    messages: &[Message],
) -> (Vec<oa::ChatCompletionRequestMessage>, Option<&'static str>) {
    let mut out = Vec::with_capacity(messages.len());
    let mut refused = None;
    let mut pending: Vec<(&str, &[ContentPart])> = Vec::new();
    for message in messages {
        if !matches!(message, Message::Tool { .. }) {
            out.extend(tool_parts_message(&pending, &mut refused));
            pending.clear();
        }
        out.push(match message {
            Message::User { content } => {
                oa::ChatCompletionRequestMessage::User(oa::ChatCompletionRequestUserMessage {
                    content: user_content(content, &mut refused),
                    name: None,
                })
            }
            Message::Tool {
                tool_call_id,
                content,
                parts,
                ..
            } => {
                pending.push((tool_call_id, parts));
                tool_message(tool_call_id, content, parts)
            }
            other => other.into(),
        });
    }
    out.extend(tool_parts_message(&pending, &mut refused));
    (out, refused)
}

/// One message as Chat's. A tool message's images and documents are left
/// out (Chat's tool messages are text: a whole request, through
/// [`CreateChatCompletionRequest`](oa::CreateChatCompletionRequest), sends
/// them in a user message after the turn's results), as is a document URL.
impl From<&Message> for oa::ChatCompletionRequestMessage {
    fn from(message: &Message) -> Self {
        match message {
            Message::System { content } => {
                oa::ChatCompletionRequestMessage::System(oa::ChatCompletionRequestSystemMessage {
                    content: oa::ChatCompletionRequestSystemMessageContent::Text(content.clone()),
                    name: None,
                })
            }
            Message::User { content } => {
                oa::ChatCompletionRequestMessage::User(oa::ChatCompletionRequestUserMessage {
                    content: user_content(content, &mut None),
                    name: None,
                })
            }
            Message::Assistant {
                content,
                tool_calls,
            } => {
                oa::ChatCompletionRequestMessage::Assistant(
                    oa::ChatCompletionRequestAssistantMessage {
                        content: content
                            .clone()
                            .map(oa::ChatCompletionRequestAssistantMessageContent::Text),
                        // An empty `tool_calls` array is rejected by the API: omit it.
                        tool_calls: (!tool_calls.is_empty())
                            .then(|| tool_calls.iter().map(Into::into).collect()),
                        ..Default::default()
                    },
                )
            }
            Message::Tool {
                tool_call_id,
                content,
                parts,
                ..
            } => tool_message(tool_call_id, content, parts),
        }
    }
}

impl From<Message> for oa::ChatCompletionRequestMessage {
    fn from(message: Message) -> Self {
        (&message).into()
    }
}

fn join_text<'a>(
    parts: impl IntoIterator<Item = Result<&'a str, ConvertError>>,
) -> Result<String, ConvertError> {
    parts.into_iter().collect()
}

/// Developer messages become system messages (their older name); content
/// parts are joined when they are all text.
impl TryFrom<oa::ChatCompletionRequestMessage> for Message {
    type Error = ConvertError;

    fn try_from(message: oa::ChatCompletionRequestMessage) -> Result<Self, ConvertError> {
        use oa::ChatCompletionRequestMessage as M;
        Ok(match message {
            M::Developer(m) => Message::System {
                content: match m.content {
                    oa::ChatCompletionRequestDeveloperMessageContent::Text(text) => text,
                    oa::ChatCompletionRequestDeveloperMessageContent::Array(parts) => {
                        join_text(parts.iter().map(|p| match p {
                            oa::ChatCompletionRequestDeveloperMessageContentPart::Text(t) => {
                                Ok(t.text.as_str())
                            }
                        }))?
                    }
                },
            },
            M::System(m) => Message::System {
                content: match m.content {
                    oa::ChatCompletionRequestSystemMessageContent::Text(text) => text,
                    oa::ChatCompletionRequestSystemMessageContent::Array(parts) => {
                        join_text(parts.iter().map(|p| match p {
                            oa::ChatCompletionRequestSystemMessageContentPart::Text(t) => {
                                Ok(t.text.as_str())
                            }
                        }))?
                    }
                },
            },
            M::User(m) => Message::User {
                content: match m.content {
                    oa::ChatCompletionRequestUserMessageContent::Text(text) => text.into(),
                    oa::ChatCompletionRequestUserMessageContent::Array(parts) => parts
                        .into_iter()
                        .map(ContentPart::try_from)
                        .collect::<Result<Content, ConvertError>>()?,
                },
            },
            M::Assistant(m) => Message::Assistant {
                content: match m.content {
                    None => m.refusal,
                    Some(oa::ChatCompletionRequestAssistantMessageContent::Text(text)) => {
                        Some(text)
                    }
                    Some(oa::ChatCompletionRequestAssistantMessageContent::Array(parts)) => {
                        Some(join_text(parts.iter().map(|p| match p {
                            oa::ChatCompletionRequestAssistantMessageContentPart::Text(t) => {
                                Ok(t.text.as_str())
                            }
                            oa::ChatCompletionRequestAssistantMessageContentPart::Refusal(r) => {
                                Ok(r.refusal.as_str())
                            }
                        }))?)
                    }
                },
                tool_calls: m
                    .tool_calls
                    .unwrap_or_default()
                    .into_iter()
                    .map(Into::into)
                    .collect(),
            },
            M::Tool(m) => Message::Tool {
                is_error: false,
                parts: Vec::new(),
                tool_call_id: m.tool_call_id,
                content: match m.content {
                    oa::ChatCompletionRequestToolMessageContent::Text(text) => text,
                    oa::ChatCompletionRequestToolMessageContent::Array(parts) => {
                        join_text(parts.iter().map(|p| match p {
                            oa::ChatCompletionRequestToolMessageContentPart::Text(t) => {
                                Ok(t.text.as_str())
                            }
                        }))?
                    }
                },
            },
            M::Function(_) => return Err(ConvertError::FunctionMessage),
        })
    }
}

/// A Chat user content part as ours: an image URL (a `data:` URL is read
/// into an inline image), a file's inline data as a document (raw base64
/// is taken as a PDF); audio and uploaded file ids have no equivalent.
impl TryFrom<oa::ChatCompletionRequestUserMessageContentPart> for ContentPart {
    type Error = ConvertError;

    fn try_from(
        part: oa::ChatCompletionRequestUserMessageContentPart,
    ) -> Result<Self, ConvertError> {
        use oa::ChatCompletionRequestUserMessageContentPart as P;
        let unsupported = |part| ConvertError::UnsupportedContent { role: "user", part };
        match part {
            P::Text(t) => Ok(ContentPart::text(t.text)),
            P::ImageUrl(image) => Ok(ContentPart::image_url(image.image_url.url)),
            P::InputAudio(_) => Err(unsupported("input_audio")),
            P::File(file) => match (file.file.file_data, file.file.file_id) {
                (Some(data), None) => {
                    let part = match crate::content::parse_data_url(&data) {
                        Some((mime_type, data)) => ContentPart::document(data, mime_type),
                        None => ContentPart::pdf(data),
                    };
                    Ok(match file.file.filename {
                        Some(name) => part.named(name),
                        None => part,
                    })
                }
                _ => Err(unsupported("file (file_id)")),
            },
        }
    }
}

// ---- tools and tool choice --------------------------------------------------

impl From<&ToolDefinition> for oa::ChatCompletionTool {
    fn from(tool: &ToolDefinition) -> Self {
        oa::ChatCompletionTool {
            function: oa::FunctionObject {
                name: tool.name.clone(),
                description: (!tool.description.is_empty()).then(|| tool.description.clone()),
                parameters: Some(tool.parameters.clone()),
                strict: Some(tool.strict),
            },
        }
    }
}

impl From<&ToolDefinition> for oa::ChatCompletionTools {
    fn from(tool: &ToolDefinition) -> Self {
        oa::ChatCompletionTools::Function(tool.into())
    }
}

impl From<oa::ChatCompletionTool> for ToolDefinition {
    fn from(tool: oa::ChatCompletionTool) -> Self {
        let f = tool.function;
        ToolDefinition::new(
            f.name,
            f.description.unwrap_or_default(),
            // The API reads a missing `parameters` as "no arguments".
            f.parameters
                .unwrap_or_else(|| serde_json::json!({"type": "object", "properties": {}})),
        )
        .with_strict(f.strict.unwrap_or(false))
    }
}

impl From<&ToolChoice> for oa::ChatCompletionToolChoiceOption {
    fn from(choice: &ToolChoice) -> Self {
        use oa::ChatCompletionToolChoiceOption as O;
        match choice {
            ToolChoice::Auto => O::Mode(oa::ToolChoiceOptions::Auto),
            ToolChoice::None => O::Mode(oa::ToolChoiceOptions::None),
            ToolChoice::Required => O::Mode(oa::ToolChoiceOptions::Required),
            ToolChoice::Function(name) => O::Function(oa::ChatCompletionNamedToolChoice {
                function: oa::FunctionName { name: name.clone() },
            }),
        }
    }
}

// ---- requests ---------------------------------------------------------------

/// `tool_choice` and `parallel_tool_calls` are sent only with tools: the API
/// rejects them otherwise.
/// A setting or a content part Chat lacks is left out; [`request_body`]
/// (which `OpenAiModel` sends) refuses it instead.
impl From<&ChatRequest> for oa::CreateChatCompletionRequest {
    fn from(request: &ChatRequest) -> Self {
        request_body(request).0
    }
}

/// The request in Chat's shape, and whether it carries everything asked:
/// the first setting or content part Chat lacks is the error.
pub(crate) fn request_body(
    request: &ChatRequest,
) -> (oa::CreateChatCompletionRequest, Result<(), ModelError>) {
    let (messages, refused) = messages(&request.messages);
    let has_tools = !request.tools.is_empty();
    let mut body = oa::CreateChatCompletionRequest {
        model: request.model.clone(),
        messages,
        tools: has_tools.then(|| request.tools.iter().map(Into::into).collect()),
        tool_choice: request
            .tool_choice
            .as_ref()
            .filter(|_| has_tools)
            .map(Into::into),
        parallel_tool_calls: request.parallel_tool_calls.filter(|_| has_tools),
        ..Default::default()
    };
    let checked = settings_into(request, &mut body).and(match refused {
        Some(part) => Err(crate::settings::unsupported(part, PROVIDER)),
        None => Ok(()),
    });
    (body, checked)
}

/// The request's settings and output schema in Chat's own fields, or the
/// setting Chat does not have: the one place Chat maps [`Settings`](crate::Settings).
pub(crate) fn settings_into(
    request: &ChatRequest,
    body: &mut oa::CreateChatCompletionRequest,
) -> Result<(), ModelError> {
    use crate::settings::{Effort, Reasoning, unsupported};
    let settings = &request.settings;
    body.temperature = settings.temperature;
    body.top_p = settings.top_p;
    body.max_completion_tokens = settings.max_tokens;
    // Deprecated by OpenAI (best effort, no guarantee) but still taken.
    #[allow(deprecated)]
    {
        body.seed = settings.seed;
    }
    body.stop = (!settings.stop.is_empty())
        .then(|| oa::StopConfiguration::StringArray(settings.stop.clone()));
    body.safety_identifier.clone_from(&settings.user);
    body.response_format = request
        .output
        .as_ref()
        .map(|format| oa::ResponseFormat::JsonSchema {
            json_schema: oa::ResponseFormatJsonSchema {
                description: None,
                name: format.name.clone(),
                schema: format.schema.clone(),
                strict: Some(format.strict),
            },
        });
    match settings.reasoning {
        None => {}
        Some(Reasoning::Effort(effort)) => {
            body.reasoning_effort = Some(match effort {
                Effort::Minimal => oa::ReasoningEffort::Minimal,
                Effort::Low => oa::ReasoningEffort::Low,
                Effort::Medium => oa::ReasoningEffort::Medium,
                Effort::High => oa::ReasoningEffort::High,
            });
        }
        Some(Reasoning::BudgetTokens(_)) => {
            return Err(unsupported("thinking_budget", PROVIDER));
        }
    }
    Ok(())
}

// ---- responses --------------------------------------------------------------

impl From<oa::CompletionUsage> for Usage {
    fn from(usage: oa::CompletionUsage) -> Self {
        let cached = usage
            .prompt_tokens_details
            .as_ref()
            .and_then(|d| d.cached_tokens)
            .unwrap_or(0);
        Usage::new(usage.prompt_tokens, usage.completion_tokens)
            .with_total(usage.total_tokens)
            .with_cache(cached, 0)
    }
}

impl From<Usage> for oa::CompletionUsage {
    fn from(usage: Usage) -> Self {
        oa::CompletionUsage {
            prompt_tokens: usage.prompt_tokens,
            completion_tokens: usage.completion_tokens,
            total_tokens: usage.total_tokens,
            prompt_tokens_details: (usage.cache_read_tokens > 0).then(|| oa::PromptTokensDetails {
                cached_tokens: Some(usage.cache_read_tokens),
                ..Default::default()
            }),
            ..Default::default()
        }
    }
}

/// The deprecated `function_call` reason counts as `tool_calls`.
impl From<oa::FinishReason> for FinishReason {
    fn from(reason: oa::FinishReason) -> Self {
        match reason {
            oa::FinishReason::Stop => FinishReason::Stop,
            oa::FinishReason::Length => FinishReason::Length,
            oa::FinishReason::ToolCalls | oa::FinishReason::FunctionCall => FinishReason::ToolCalls,
            oa::FinishReason::ContentFilter => FinishReason::ContentFilter,
        }
    }
}

impl From<FinishReason> for oa::FinishReason {
    fn from(reason: FinishReason) -> Self {
        match reason {
            FinishReason::Stop => oa::FinishReason::Stop,
            FinishReason::Length => oa::FinishReason::Length,
            FinishReason::ToolCalls => oa::FinishReason::ToolCalls,
            FinishReason::ContentFilter => oa::FinishReason::ContentFilter,
        }
    }
}

/// One choice, without usage (that is on the response). A refusal with no
/// content becomes the content, so the caller sees why there is no answer.
impl From<oa::ChatChoice> for ChatResponse {
    fn from(choice: oa::ChatChoice) -> Self {
        let message = choice.message;
        ChatResponse {
            content: message.content.or(message.refusal),
            tool_calls: message
                .tool_calls
                .unwrap_or_default()
                .into_iter()
                .map(Into::into)
                .collect(),
            finish_reason: choice.finish_reason.map(Into::into),
            usage: None,
        }
    }
}

/// The first choice (index 0) and the usage; an error when there is no choice.
impl TryFrom<oa::CreateChatCompletionResponse> for ChatResponse {
    type Error = ConvertError;

    fn try_from(response: oa::CreateChatCompletionResponse) -> Result<Self, ConvertError> {
        let usage = response.usage.map(Usage::from);
        let mut choices = response.choices;
        let at = choices.iter().position(|c| c.index == 0).unwrap_or(0);
        if at >= choices.len() {
            return Err(ConvertError::NoChoices);
        }
        let mut reply = ChatResponse::from(choices.swap_remove(at));
        reply.usage = usage;
        Ok(reply)
    }
}

/// The events of one streamed chunk, in the order a reader would apply them:
/// text, tool-call fragments, finish reason, usage. Only the first choice
/// (index 0) is read; fragments are forwarded as they are, not assembled.
pub fn chunk_events(chunk: oa::CreateChatCompletionStreamResponse) -> Vec<StreamEvent> {
    let mut events = Vec::new();
    for choice in chunk.choices.into_iter().filter(|c| c.index == 0) {
        let delta = choice.delta;
        // A refusal streams in place of content: forward it as text.
        if let Some(text) = delta.content.or(delta.refusal).filter(|t| !t.is_empty()) {
            events.push(StreamEvent::Text(text));
        }
        for call in delta.tool_calls.unwrap_or_default() {
            events.push(StreamEvent::ToolCall(call.into()));
        }
        if let Some(reason) = choice.finish_reason {
            events.push(StreamEvent::Finish(reason.into()));
        }
    }
    if let Some(usage) = chunk.usage {
        events.push(StreamEvent::Usage(usage.into()));
    }
    events
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use serde_json::json;

    use super::*;
    use crate::call::Outcome;

    fn result(id: &str, content: &str) -> CallResult {
        CallResult::new(id, "f", Outcome::Ok, content).timed(Duration::ZERO, Duration::ZERO)
    }

    #[test]
    fn tool_calls_round_trip() {
        let call = ToolCall::new("call_1", "get_weather", r#"{"city":"Paris"}"#);
        let theirs: oa::ChatCompletionMessageToolCalls = (&call).into();
        let wire = serde_json::to_value(&theirs).expect("serialise");
        assert_eq!(
            wire,
            json!({"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}})
        );
        assert_eq!(ToolCall::from(theirs), call);
    }

    #[test]
    fn custom_tool_calls_keep_their_input() {
        let custom =
            oa::ChatCompletionMessageToolCalls::Custom(oa::ChatCompletionMessageCustomToolCall {
                id: "c".into(),
                custom_tool: oa::CustomTool {
                    name: "sql".into(),
                    input: "select 1".into(),
                },
            });
        assert_eq!(
            ToolCall::from(custom),
            ToolCall::new("c", "sql", "select 1")
        );
    }

    #[test]
    fn call_results_become_tool_messages() {
        let msg: oa::ChatCompletionRequestMessage = (&result("call_9", "sunny")).into();
        assert_eq!(
            serde_json::to_value(&msg).expect("serialise"),
            json!({"role": "tool", "content": "sunny", "tool_call_id": "call_9"})
        );
        // The same shape as our own tool message.
        assert_eq!(
            serde_json::to_value(&msg).expect("serialise"),
            serde_json::to_value(Message::tool(&result("call_9", "sunny"))).expect("serialise")
        );
    }

    #[test]
    fn messages_round_trip_with_the_same_wire_shape() {
        let messages = vec![
            Message::system("be brief"),
            Message::user("hi"),
            Message::assistant(
                None,
                vec![
                    ToolCall::new("a", "f", "{}"),
                    ToolCall::new("b", "g", "{\"x\":1}"),
                ],
            ),
            Message::tool_result("a", "1"),
            Message::tool_result("b", "2"),
            Message::assistant(Some("done".into()), Vec::new()),
        ];
        let theirs: Vec<oa::ChatCompletionRequestMessage> =
            messages.iter().map(Into::into).collect();
        // Their wire form reads back as ours.
        let wire = serde_json::to_value(&theirs).expect("serialise");
        assert_eq!(
            serde_json::from_value::<Vec<Message>>(wire).expect("deserialise"),
            messages
        );
        let back: Vec<Message> = theirs
            .into_iter()
            .map(Message::try_from)
            .collect::<Result<_, _>>()
            .expect("convert back");
        assert_eq!(back, messages);
    }

    #[test]
    fn user_parts_convert_both_ways_and_audio_is_refused() {
        let parts = oa::ChatCompletionRequestMessage::User(oa::ChatCompletionRequestUserMessage {
            content: oa::ChatCompletionRequestUserMessageContent::Array(vec![
                oa::ChatCompletionRequestUserMessageContentPart::Text("a".into()),
                oa::ChatCompletionRequestUserMessageContentPart::ImageUrl(
                    oa::ImageUrl::from("https://x/y.png").into(),
                ),
            ]),
            name: None,
        });
        let ours = Message::user(Content::new().text("a").image_url("https://x/y.png"));
        assert_eq!(Message::try_from(parts.clone()), Ok(ours.clone()));
        assert_eq!(oa::ChatCompletionRequestMessage::from(&ours), parts);
        let audio = oa::ChatCompletionRequestMessage::User(oa::ChatCompletionRequestUserMessage {
            content: oa::ChatCompletionRequestUserMessageContent::Array(vec![
                oa::ChatCompletionRequestUserMessageContentPart::InputAudio(
                    oa::ChatCompletionRequestMessageContentPartAudio {
                        input_audio: oa::InputAudio {
                            data: String::new(),
                            format: oa::InputAudioFormat::Wav,
                        },
                        prompt_cache_breakpoint: None,
                    },
                ),
            ]),
            name: None,
        });
        assert_eq!(
            Message::try_from(audio),
            Err(ConvertError::UnsupportedContent {
                role: "user",
                part: "input_audio"
            })
        );
    }

    /// The shapes of openai-python's `ChatCompletionContentPartImageParam`
    /// (`image_url.url`, a URL or a `data:` URL) and `File` (`file.file_data`
    /// as a `data:` URL, `file.filename`); a tool message's image follows
    /// the turn's tool messages in a user message.
    #[test]
    fn a_request_writes_images_and_pdfs_in_chat_shape() {
        let mut chart = result("c1", "a chart");
        chart = chart.with_parts(vec![ContentPart::image("AAAA", "image/png")]);
        let request = ChatRequest::new(
            "m",
            vec![
                Message::user(
                    Content::new()
                        .text("What is this?")
                        .image_url("https://x/y.png")
                        .image_base64("AAAA", "image/png")
                        .part(ContentPart::pdf("JVBE").named("r.pdf"))
                        .pdf_base64("JVBE"),
                ),
                Message::assistant(
                    None,
                    vec![
                        ToolCall::new("c1", "f", "{}"),
                        ToolCall::new("c2", "f", "{}"),
                    ],
                ),
                Message::tool(&chart),
                Message::tool(&result("c2", "no chart")),
            ],
        );
        let (body, checked) = request_body(&request);
        assert_eq!(checked, Ok(()));
        let wire = serde_json::to_value(&body).expect("serialise");
        assert_eq!(
            wire["messages"][0]["content"],
            json!([
                {"type": "text", "text": "What is this?"},
                {"type": "image_url", "image_url": {"url": "https://x/y.png"}},
                {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}},
                {"type": "file", "file": {"file_data": "data:application/pdf;base64,JVBE", "filename": "r.pdf"}},
                {"type": "file", "file": {"file_data": "data:application/pdf;base64,JVBE", "filename": "document.pdf"}},
            ])
        );
        assert_eq!(
            wire["messages"][2],
            json!({"role": "tool", "tool_call_id": "c1", "content": "a chart"})
        );
        assert_eq!(wire["messages"][3]["tool_call_id"], json!("c2"));
        assert_eq!(
            wire["messages"][4],
            json!({"role": "user", "content": [
                {"type": "text", "text": "The result of tool call `c1` comes with:"},
                {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}},
            ]})
        );
        assert_eq!(wire["messages"].as_array().map(Vec::len), Some(5));
    }

    #[test]
    fn a_document_url_is_refused_by_name() {
        let request = ChatRequest::new(
            "m",
            vec![Message::user(
                Content::new().text("read").document_url("https://x/r.pdf"),
            )],
        );
        let (body, checked) = request_body(&request);
        assert_eq!(
            checked,
            Err(ModelError::Unsupported {
                setting: "document_url",
                provider: "OpenAI Chat Completions"
            })
        );
        // The plain conversion leaves it out.
        let wire = serde_json::to_value(&body).expect("serialise");
        assert_eq!(
            wire["messages"][0]["content"],
            json!([{"type": "text", "text": "read"}])
        );
        let mut linked = result("c1", "see");
        linked = linked.with_parts(vec![ContentPart::document_url("https://x/r.pdf")]);
        let request = ChatRequest::new(
            "m",
            vec![
                Message::assistant(None, vec![ToolCall::new("c1", "f", "{}")]),
                Message::tool(&linked),
            ],
        );
        assert_eq!(
            request_body(&request).1,
            Err(ModelError::Unsupported {
                setting: "tool_result.document_url",
                provider: "OpenAI Chat Completions"
            })
        );
    }

    #[test]
    fn tool_definitions_round_trip_with_strict() {
        let def = ToolDefinition::new("get_weather", "Weather in a city.", json!({"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"], "additionalProperties": false})).with_strict(true);
        let theirs: oa::ChatCompletionTools = (&def).into();
        assert_eq!(
            serde_json::to_value(&theirs).expect("serialise"),
            def.to_openai()
        );
        let oa::ChatCompletionTools::Function(tool) = theirs else {
            panic!("a function tool");
        };
        assert_eq!(ToolDefinition::from(tool), def);
    }

    #[test]
    fn tool_choice_matches_our_wire_form() {
        for choice in [
            ToolChoice::Auto,
            ToolChoice::None,
            ToolChoice::Required,
            ToolChoice::Function("f".into()),
        ] {
            let theirs = oa::ChatCompletionToolChoiceOption::from(&choice);
            assert_eq!(
                serde_json::to_value(&theirs).expect("serialise"),
                serde_json::to_value(&choice).expect("serialise")
            );
        }
    }

    #[test]
    fn requests_send_tool_options_only_with_tools() {
        let mut request = ChatRequest::new("m", vec![Message::user("hi")]);
        request.tool_choice = Some(ToolChoice::Required);
        request.parallel_tool_calls = Some(false);
        let theirs = oa::CreateChatCompletionRequest::from(&request);
        assert_eq!(
            (theirs.tools, theirs.tool_choice, theirs.parallel_tool_calls),
            (None, None, None)
        );

        request.tools.push(
            ToolDefinition::new(
                "f",
                String::new(),
                json!({"type": "object", "properties": {}}),
            )
            .with_strict(false),
        );
        let wire = serde_json::to_value(oa::CreateChatCompletionRequest::from(&request))
            .expect("serialise");
        assert_eq!(wire["model"], json!("m"));
        assert_eq!(wire["tool_choice"], json!("required"));
        assert_eq!(wire["parallel_tool_calls"], json!(false));
        assert_eq!(wire["tools"][0]["function"]["strict"], json!(false));
        assert!(wire["tools"][0]["function"].get("description").is_none());
    }

    #[test]
    fn responses_take_the_first_choice_and_usage() {
        let response: oa::CreateChatCompletionResponse = serde_json::from_value(json!({
            "id": "x", "object": "chat.completion", "created": 0, "model": "m",
            "choices": [{"index": 0, "finish_reason": "tool_calls", "message": {
                "role": "assistant", "content": null,
                "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}]
            }}],
            "usage": {"prompt_tokens": 3, "completion_tokens": 4, "total_tokens": 7}
        }))
        .expect("a response");
        let reply = ChatResponse::try_from(response).expect("convert");
        assert_eq!(
            reply,
            ChatResponse {
                content: None,
                tool_calls: vec![ToolCall::new("c1", "f", "{}")],
                finish_reason: Some(FinishReason::ToolCalls),
                usage: Some(Usage::new(3, 4)),
            }
        );
        let empty = oa::CreateChatCompletionResponse::default();
        assert_eq!(ChatResponse::try_from(empty), Err(ConvertError::NoChoices));
    }

    #[test]
    fn finish_reasons_round_trip() {
        for reason in [
            FinishReason::Stop,
            FinishReason::ToolCalls,
            FinishReason::Length,
            FinishReason::ContentFilter,
        ] {
            assert_eq!(FinishReason::from(oa::FinishReason::from(reason)), reason);
        }
        assert_eq!(
            FinishReason::from(oa::FinishReason::FunctionCall),
            FinishReason::ToolCalls
        );
    }

    #[test]
    fn chunks_become_events_in_order() {
        let chunk: oa::CreateChatCompletionStreamResponse = serde_json::from_value(json!({
            "id": "x", "object": "chat.completion.chunk", "created": 0, "model": "m",
            "choices": [
                {"index": 1, "delta": {"content": "other choice"}},
                {"index": 0, "delta": {"content": "hm", "tool_calls": [
                    {"index": 0, "id": "c1", "type": "function", "function": {"name": "f", "arguments": ""}},
                    {"index": 1, "function": {"arguments": "{\"a\""}}
                ]}, "finish_reason": "tool_calls"}
            ],
            "usage": {"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3}
        }))
        .expect("a chunk");
        assert_eq!(
            chunk_events(chunk),
            vec![
                StreamEvent::Text("hm".into()),
                StreamEvent::ToolCall(ToolCallDelta {
                    index: 0,
                    id: Some("c1".into()),
                    name: Some("f".into()),
                    arguments: Some(String::new()),
                }),
                StreamEvent::ToolCall(ToolCallDelta {
                    index: 1,
                    id: None,
                    name: None,
                    arguments: Some("{\"a\"".into())
                }),
                StreamEvent::Finish(FinishReason::ToolCalls),
                StreamEvent::Usage(Usage::new(1, 2)),
            ]
        );
    }

    #[test]
    fn cached_prompt_tokens_are_read() {
        let usage: oa::CompletionUsage = serde_json::from_value(json!({
            "prompt_tokens": 2048, "completion_tokens": 10, "total_tokens": 2058,
            "prompt_tokens_details": {"cached_tokens": 1920, "audio_tokens": 0}
        }))
        .expect("usage");
        let usage = Usage::from(usage);
        assert_eq!(usage, Usage::new(2048, 10).with_cache(1920, 0));
        let back = oa::CompletionUsage::from(usage);
        assert_eq!(
            back.prompt_tokens_details.and_then(|d| d.cached_tokens),
            Some(1920)
        );
    }
}
