//! Conversions between async-openai's Responses types and ours: the
//! transcript to `instructions` and input items, tools and tool choice, a
//! [`oa::Response`] to a [`ChatResponse`], and stream events to
//! [`StreamEvent`]s ([`EventMapper`]).
//!
//! A parallel turn is one assistant message with N calls and N results in
//! our transcript; in the Responses API it is N `function_call` input items
//! followed by N `function_call_output` items, in call order.

use std::collections::HashMap;

use async_openai::types::responses as oa;

use crate::call::{CallResult, ToolCall};
use crate::content::{Content, ContentPart, data_url, file_name};
use crate::message::{ChatRequest, ChatResponse, FinishReason, Message, ToolChoice, Usage};
use crate::model::{ModelError, StreamEvent, ToolCallDelta};
use crate::toolset::ToolDefinition;

/// Why a Responses value has no equivalent among our types.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConvertError {
    /// The response failed (`status: failed`).
    Failed {
        /// The error's code.
        code: String,
        /// The error's message.
        message: String,
    },
    /// The response is not finished (`queued`, `in_progress`, `cancelled`).
    Unfinished(String),
}

impl std::fmt::Display for ConvertError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ConvertError::Failed { code, message } => {
                write!(f, "the response failed ({code}): {message}")
            }
            ConvertError::Unfinished(status) => {
                write!(f, "the response is not finished: its status is `{status}`")
            }
        }
    }
}

impl std::error::Error for ConvertError {}

impl From<ConvertError> for ModelError {
    fn from(error: ConvertError) -> Self {
        ModelError::InvalidResponse(error.to_string())
    }
}

// ---- transcript -> input ------------------------------------------------------

/// The leading system messages (joined by a blank line, sent as
/// `instructions`), and the rest of the transcript.
pub fn split_instructions(messages: &[Message]) -> (Option<String>, &[Message]) {
    let leading = messages
        .iter()
        .take_while(|m| matches!(m, Message::System { .. }))
        .count();
    let texts: Vec<&str> = messages[..leading]
        .iter()
        .filter_map(|m| match m {
            Message::System { content } => Some(content.as_str()),
            _ => None,
        })
        .collect();
    let instructions = (!texts.is_empty()).then(|| texts.join("\n\n"));
    (instructions, &messages[leading..])
}

fn easy_message(role: oa::Role, text: String) -> oa::InputItem {
    oa::InputItem::EasyMessage(oa::EasyInputMessage {
        role,
        content: oa::EasyInputContent::Text(text),
        ..Default::default()
    })
}

/// The input items of these messages: a system message (past the leading
/// ones, which are `instructions`) keeps its role, an assistant message
/// becomes its text (if any) then one `function_call` item per call, a tool
/// message a `function_call_output`.
pub fn input_items(messages: &[Message]) -> Vec<oa::InputItem> {
    let mut items = Vec::with_capacity(messages.len());
    for message in messages {
        match message {
            Message::System { content } => {
                items.push(easy_message(oa::Role::System, content.clone()));
            }
            Message::User { content } => items.push(user_message(content)),
            Message::Assistant {
                content,
                tool_calls,
            } => {
                if let Some(text) = content.as_ref().filter(|t| !t.is_empty()) {
                    items.push(easy_message(oa::Role::Assistant, text.clone()));
                }
                items.extend(tool_calls.iter().map(oa::InputItem::from));
            }
            Message::Tool {
                tool_call_id,
                content,
                parts,
                ..
            } => items.push(function_call_output(tool_call_id, content, parts)),
        }
    }
    items
}

/// A part as a Responses input content part: `input_text`, `input_image`
/// (a URL or a `data:` URL), `input_file` (`file_data` as a `data:` URL
/// with its file name, or `file_url`). Every part has one.
fn input_content(part: &ContentPart) -> oa::InputContent {
    let image = |url| {
        oa::InputContent::InputImage(oa::InputImageContent {
            detail: oa::ImageDetail::Auto,
            image_url: Some(url),
            ..Default::default()
        })
    };
    match part {
        ContentPart::Text { text } => oa::InputContent::InputText(oa::InputTextContent {
            text: text.clone(),
            ..Default::default()
        }),
        ContentPart::Image { data, mime_type } => image(data_url(mime_type, data)),
        ContentPart::ImageUrl { url } => image(url.clone()),
        ContentPart::Document {
            data,
            mime_type,
            name,
        } => oa::InputContent::InputFile(oa::InputFileContent {
            file_data: Some(data_url(mime_type, data)),
            filename: Some(file_name(name, mime_type).into_owned()),
            ..Default::default()
        }),
        ContentPart::DocumentUrl { url } => oa::InputContent::InputFile(oa::InputFileContent {
            file_url: Some(url.clone()),
            ..Default::default()
        }),
    }
}

/// A user message: its text as a string, or its parts as a content list.
fn user_message(content: &Content) -> oa::InputItem {
    match content.parts() {
        [ContentPart::Text { text }] => easy_message(oa::Role::User, text.clone()),
        parts => oa::InputItem::EasyMessage(oa::EasyInputMessage {
            role: oa::Role::User,
            content: oa::EasyInputContent::ContentList(parts.iter().map(input_content).collect()),
            ..Default::default()
        }),
    }
}

/// A result's `function_call_output`: the text as a string, or (with
/// images or documents) the array form, its text first.
fn function_call_output(call_id: &str, output: &str, parts: &[ContentPart]) -> oa::InputItem {
    let output = if parts.is_empty() {
        oa::FunctionCallOutput::Text(output.to_owned())
    } else {
        let text = ContentPart::text(output);
        oa::FunctionCallOutput::Content(
            std::iter::once(&text)
                .chain(parts)
                .map(input_content)
                .collect(),
        )
    };
    oa::InputItem::Item(oa::Item::FunctionCallOutput(
        oa::FunctionCallOutputItemParam {
            call_id: Some(call_id.to_owned()),
            output,
            id: None,
            status: None,
            name: None,
            namespace: None,
            caller: None,
        },
    ))
}

/// A call as the `function_call` item that replays it.
impl From<&ToolCall> for oa::InputItem {
    fn from(call: &ToolCall) -> Self {
        oa::InputItem::Item(oa::Item::FunctionCall(oa::FunctionToolCall {
            arguments: call.arguments.clone(),
            call_id: call.id.to_string(),
            name: call.name.to_string(),
            ..Default::default()
        }))
    }
}

/// A result as the `function_call_output` item that answers its call.
impl From<&CallResult> for oa::InputItem {
    fn from(result: &CallResult) -> Self {
        function_call_output(&result.call_id, &result.content, result.parts())
    }
}

impl From<oa::FunctionToolCall> for ToolCall {
    fn from(call: oa::FunctionToolCall) -> Self {
        ToolCall {
            id: call.call_id.into(),
            name: call.name.into(),
            arguments: call.arguments,
        }
    }
}

// ---- tools and tool choice ----------------------------------------------------

impl From<&ToolDefinition> for oa::Tool {
    fn from(tool: &ToolDefinition) -> Self {
        oa::Tool::Function(oa::FunctionTool {
            name: tool.name.clone(),
            parameters: Some(tool.parameters.clone()),
            // The Responses API defaults `strict` to true: always say.
            strict: Some(tool.strict),
            description: (!tool.description.is_empty()).then(|| tool.description.clone()),
            ..Default::default()
        })
    }
}

impl From<&ToolChoice> for oa::ToolChoiceParam {
    fn from(choice: &ToolChoice) -> Self {
        use oa::ToolChoiceParam as P;
        match choice {
            ToolChoice::Auto => P::Option(oa::ToolChoiceOptions::Auto),
            ToolChoice::None => P::Option(oa::ToolChoiceOptions::None),
            ToolChoice::Required => P::Option(oa::ToolChoiceOptions::Required),
            ToolChoice::Function(name) => {
                P::Function(oa::ToolChoiceFunction { name: name.clone() })
            }
        }
    }
}

// ---- requests -------------------------------------------------------------------

/// The whole transcript as one request: leading system messages as
/// `instructions`, the rest as input items. `tool_choice` and
/// `parallel_tool_calls` are sent only with tools.
impl From<&ChatRequest> for oa::CreateResponse {
    fn from(request: &ChatRequest) -> Self {
        request_from(request, 0)
    }
}

/// The request with only the messages from `from` on as input (the earlier
/// ones are on the server, behind `previous_response_id`); the
/// instructions are always the transcript's, since the API does not carry
/// them over.
pub(crate) fn request_from(request: &ChatRequest, from: usize) -> oa::CreateResponse {
    let (instructions, rest) = split_instructions(&request.messages);
    let skipped = request.messages.len() - rest.len();
    let input = &request.messages[from.max(skipped).min(request.messages.len())..];
    let has_tools = !request.tools.is_empty();
    let mut body = oa::CreateResponse {
        model: (!request.model.is_empty()).then(|| request.model.clone()),
        instructions,
        input: oa::InputParam::Items(input_items(input)),
        tools: has_tools.then(|| request.tools.iter().map(Into::into).collect()),
        tool_choice: request
            .tool_choice
            .as_ref()
            .filter(|_| has_tools)
            .map(Into::into),
        parallel_tool_calls: request.parallel_tool_calls.filter(|_| has_tools),
        ..Default::default()
    };
    // The settings Responses lacks are refused by the model (`settings_into`);
    // this plain conversion leaves them out.
    let _ = settings_into(request, &mut body);
    body
}

/// The request's settings and output schema in the Responses fields, or
/// the setting Responses does not have: the one place it maps
/// [`Settings`](crate::Settings).
pub(crate) fn settings_into(
    request: &ChatRequest,
    body: &mut oa::CreateResponse,
) -> Result<(), ModelError> {
    use crate::settings::{Effort, Reasoning, unsupported};
    const PROVIDER: &str = "OpenAI Responses";
    let settings = &request.settings;
    body.temperature = settings.temperature;
    body.top_p = settings.top_p;
    body.max_output_tokens = settings.max_tokens;
    body.safety_identifier.clone_from(&settings.user);
    body.text = request.output.as_ref().map(|format| oa::ResponseTextParam {
        format: oa::TextResponseFormatConfiguration::JsonSchema(oa::ResponseFormatJsonSchema {
            description: None,
            name: format.name.clone(),
            schema: format.schema.clone(),
            strict: Some(format.strict),
        }),
        verbosity: None,
    });
    if let Some(Reasoning::Effort(effort)) = settings.reasoning {
        body.reasoning = Some(oa::Reasoning {
            effort: Some(match effort {
                Effort::Minimal => oa::ReasoningEffort::Minimal,
                Effort::Low => oa::ReasoningEffort::Low,
                Effort::Medium => oa::ReasoningEffort::Medium,
                Effort::High => oa::ReasoningEffort::High,
            }),
            ..Default::default()
        });
    }
    if settings.seed.is_some() {
        return Err(unsupported("seed", PROVIDER));
    }
    if !settings.stop.is_empty() {
        return Err(unsupported("stop", PROVIDER));
    }
    if let Some(Reasoning::BudgetTokens(_)) = settings.reasoning {
        return Err(unsupported("thinking_budget", PROVIDER));
    }
    Ok(())
}

// ---- responses --------------------------------------------------------------------

impl From<&oa::ResponseUsage> for Usage {
    fn from(usage: &oa::ResponseUsage) -> Self {
        let details = &usage.input_tokens_details;
        let written = details
            .cache_write_tokens
            .and_then(|n| u32::try_from(n).ok())
            .unwrap_or(0);
        Usage::new(usage.input_tokens, usage.output_tokens)
            .with_total(usage.total_tokens)
            .with_cache(details.cached_tokens, written)
    }
}

fn code_text(code: &oa::ResponseErrorCode) -> String {
    match serde_json::to_value(code) {
        Ok(serde_json::Value::String(text)) => text,
        _ => format!("{code:?}"),
    }
}

fn status_text(status: &oa::Status) -> String {
    match serde_json::to_value(status) {
        Ok(serde_json::Value::String(text)) => text,
        _ => format!("{status:?}"),
    }
}

/// Why the model stopped: tool calls when it made any, else what the status says.
fn finish_reason(response: &oa::Response, has_calls: bool) -> Result<FinishReason, ConvertError> {
    match response.status {
        oa::Status::Failed => Err(match &response.error {
            Some(error) => ConvertError::Failed {
                code: code_text(&error.code),
                message: error.message.clone(),
            },
            None => ConvertError::Failed {
                code: "unknown".into(),
                message: "no error was given".into(),
            },
        }),
        oa::Status::Completed | oa::Status::Incomplete if has_calls => Ok(FinishReason::ToolCalls),
        oa::Status::Completed => Ok(FinishReason::Stop),
        oa::Status::Incomplete => Ok(match response.incomplete_details.as_ref() {
            Some(details) if details.reason == "content_filter" => FinishReason::ContentFilter,
            _ => FinishReason::Length,
        }),
        ref other => Err(ConvertError::Unfinished(status_text(other))),
    }
}

/// The text of a response's messages (refusals included, so the caller
/// sees why there is no answer), and its function calls in order.
fn output_parts(output: &[oa::OutputItem]) -> (Option<String>, Vec<ToolCall>) {
    let mut text: Option<String> = None;
    let mut calls = Vec::new();
    for item in output {
        match item {
            oa::OutputItem::Message(message) => {
                for part in &message.content {
                    let piece = match part {
                        oa::OutputMessageContent::OutputText(t) => &t.text,
                        oa::OutputMessageContent::Refusal(r) => &r.refusal,
                    };
                    text.get_or_insert_with(String::new).push_str(piece);
                }
            }
            oa::OutputItem::FunctionCall(call) => calls.push(ToolCall::from(call.clone())),
            _ => {}
        }
    }
    (text, calls)
}

/// A finished response: its text, its function calls, why it stopped and
/// the usage; an error when it failed or is not finished.
impl TryFrom<&oa::Response> for ChatResponse {
    type Error = ConvertError;

    fn try_from(response: &oa::Response) -> Result<Self, ConvertError> {
        let (content, tool_calls) = output_parts(&response.output);
        let finish_reason = finish_reason(response, !tool_calls.is_empty())?;
        Ok(ChatResponse {
            content,
            tool_calls,
            finish_reason: Some(finish_reason),
            usage: response.usage.as_ref().map(Usage::from),
        })
    }
}

// ---- streams ---------------------------------------------------------------------

/// The stream events whose shape we rely on; an event of another type that
/// does not parse (one this async-openai does not know yet) is skipped.
const READ_EVENTS: &[&str] = &[
    "response.output_item.added",
    "response.output_item.done",
    "response.output_text.delta",
    "response.refusal.delta",
    "response.function_call_arguments.delta",
    "response.function_call_arguments.done",
    "response.completed",
    "response.incomplete",
    "response.failed",
    "error",
];

/// Whether an event that did not parse may be skipped: it is JSON of a type
/// that we do not read.
pub(crate) fn skippable(content: &str) -> bool {
    serde_json::from_str::<serde_json::Value>(content)
        .ok()
        .and_then(|v| v.get("type").and_then(|t| t.as_str()).map(str::to_owned))
        .is_some_and(|kind| !READ_EVENTS.contains(&kind.as_str()))
}

#[derive(Debug, Default)]
struct CallState {
    arguments: String,
    done: bool,
}

/// Turns the events of a streamed response into [`StreamEvent`]s: a
/// `function_call` output item's `added` is the call's header (the call's
/// index is its `output_index`), `function_call_arguments.delta` its
/// fragments, `function_call_arguments.done` (or the item's `done`) marks it
/// complete, text deltas are text, and `response.completed` (or
/// `incomplete`) gives the finish reason and the usage. `response.failed` and
/// `error` are errors, and so is a stream that ends without a final event
/// ([`EventMapper::finish`]).
#[derive(Debug, Default)]
pub struct EventMapper {
    calls: HashMap<u32, CallState>,
    /// Message items whose text came as deltas.
    streamed_text: Vec<u32>,
    finished: Option<oa::Response>,
}

impl EventMapper {
    /// A mapper for a new stream.
    pub fn new() -> Self {
        Self::default()
    }

    /// The events one stream event stands for.
    pub fn push(&mut self, event: oa::ResponseStreamEvent) -> Result<Vec<StreamEvent>, ModelError> {
        use oa::ResponseStreamEvent as E;
        let mut out = Vec::new();
        match event {
            E::ResponseOutputItemAdded(added) => {
                if let oa::OutputItem::FunctionCall(call) = added.item {
                    self.header(added.output_index, call, &mut out);
                }
            }
            E::ResponseFunctionCallArgumentsDelta(delta) => {
                // A fragment for a call whose header never came is left to its item's `done`.
                if let Some(call) = self.calls.get_mut(&delta.output_index)
                    && !call.done
                {
                    call.arguments.push_str(&delta.delta);
                    out.push(fragment(delta.output_index, delta.delta));
                }
            }
            E::ResponseFunctionCallArgumentsDone(done) => {
                self.complete(done.output_index, &done.arguments, &mut out);
            }
            E::ResponseOutputItemDone(done) => match done.item {
                oa::OutputItem::FunctionCall(call) => {
                    let arguments = call.arguments.clone();
                    if !self.calls.contains_key(&done.output_index) {
                        self.header(done.output_index, call, &mut out);
                    }
                    self.complete(done.output_index, &arguments, &mut out);
                }
                oa::OutputItem::Message(message)
                    if !self.streamed_text.contains(&done.output_index) =>
                {
                    // A message whose text never came as deltas.
                    let (text, _) = output_parts(&[oa::OutputItem::Message(message)]);
                    out.extend(text.filter(|t| !t.is_empty()).map(StreamEvent::Text));
                }
                _ => {}
            },
            E::ResponseOutputTextDelta(delta) => {
                self.streamed_text.push(delta.output_index);
                out.push(StreamEvent::Text(delta.delta));
            }
            E::ResponseRefusalDelta(delta) => {
                self.streamed_text.push(delta.output_index);
                out.push(StreamEvent::Text(delta.delta));
            }
            E::ResponseCompleted(oa::ResponseCompletedEvent { response, .. })
            | E::ResponseIncomplete(oa::ResponseIncompleteEvent { response, .. }) => {
                let has_calls = !self.calls.is_empty()
                    || response
                        .output
                        .iter()
                        .any(|i| matches!(i, oa::OutputItem::FunctionCall(_)));
                let reason = finish_reason(&response, has_calls)?;
                out.push(StreamEvent::Finish(reason));
                if let Some(usage) = &response.usage {
                    out.push(StreamEvent::Usage(usage.into()));
                }
                self.finished = Some(response);
            }
            E::ResponseFailed(failed) => {
                return Err(finish_reason(&failed.response, false)
                    .err()
                    .unwrap_or(ConvertError::Failed {
                        code: "unknown".into(),
                        message: "no error was given".into(),
                    })
                    .into());
            }
            E::ResponseError(error) => {
                let code = error.code.as_deref().unwrap_or("error");
                return Err(ModelError::InvalidResponse(format!(
                    "the API reported an error ({code}): {}",
                    error.message
                )));
            }
            _ => {}
        }
        Ok(out)
    }

    fn header(&mut self, index: u32, call: oa::FunctionToolCall, out: &mut Vec<StreamEvent>) {
        if self.calls.contains_key(&index) {
            return;
        }
        self.calls.insert(
            index,
            CallState {
                arguments: call.arguments.clone(),
                done: false,
            },
        );
        out.push(StreamEvent::ToolCall(ToolCallDelta {
            index,
            id: Some(call.call_id),
            name: Some(call.name),
            arguments: Some(call.arguments),
        }));
    }

    /// The call's arguments are complete: send what the deltas left out (a
    /// server may send no deltas at all), then say so.
    fn complete(&mut self, index: u32, arguments: &str, out: &mut Vec<StreamEvent>) {
        let Some(call) = self.calls.get_mut(&index) else {
            return;
        };
        if call.done {
            return;
        }
        if let Some(rest) = arguments.strip_prefix(call.arguments.as_str())
            && !rest.is_empty()
        {
            call.arguments.push_str(rest);
            out.push(fragment(index, rest.to_owned()));
        }
        call.done = true;
        out.push(StreamEvent::ToolCallDone(index));
    }

    /// The final response, once `response.completed` (or `incomplete`) came.
    pub fn finished(&self) -> Option<&oa::Response> {
        self.finished.as_ref()
    }

    /// At the end of the stream: an error unless a final event came.
    pub fn finish(&self) -> Result<(), ModelError> {
        match self.finished {
            Some(_) => Ok(()),
            None => Err(ModelError::transport_message(
                "the stream ended before `response.completed`",
            )),
        }
    }
}

fn fragment(index: u32, arguments: String) -> StreamEvent {
    StreamEvent::ToolCall(ToolCallDelta {
        index,
        id: None,
        name: None,
        arguments: Some(arguments),
    })
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use serde_json::{Value, json};

    use super::*;
    use crate::call::Outcome;

    fn event(value: Value) -> oa::ResponseStreamEvent {
        serde_json::from_value(value).expect("an event")
    }

    fn response(status: &str, output: Value) -> Value {
        json!({
            "id": "resp_1", "object": "response", "created_at": 1, "status": status,
            "model": "m", "output": output, "parallel_tool_calls": true, "tool_choice": "auto", "tools": [],
            "usage": {"input_tokens": 5, "input_tokens_details": {"cached_tokens": 0},
                      "output_tokens": 7, "output_tokens_details": {"reasoning_tokens": 0}, "total_tokens": 12}
        })
    }

    #[test]
    fn a_transcript_becomes_instructions_and_items() {
        let mut request = ChatRequest::new(
            "m",
            vec![
                Message::system("be brief"),
                Message::system("be kind"),
                Message::user("hi"),
                Message::assistant(
                    Some("let me look".into()),
                    vec![
                        ToolCall::new("c1", "f", "{}"),
                        ToolCall::new("c2", "g", "{\"x\":1}"),
                    ],
                ),
                Message::tool_result("c1", "one"),
                Message::tool_result("c2", "two"),
                Message::system("late note"),
            ],
        );
        request.tools.push(
            ToolDefinition::new("f", "Does f.", json!({"type": "object", "properties": {}}))
                .with_strict(false),
        );
        request.tool_choice = Some(ToolChoice::Function("f".into()));
        request.parallel_tool_calls = Some(false);
        let wire = serde_json::to_value(oa::CreateResponse::from(&request)).expect("serialise");
        assert_eq!(
            wire,
            json!({
                "model": "m",
                "instructions": "be brief\n\nbe kind",
                "input": [
                    {"type": "message", "role": "user", "content": "hi"},
                    {"type": "message", "role": "assistant", "content": "let me look"},
                    {"type": "function_call", "call_id": "c1", "name": "f", "arguments": "{}"},
                    {"type": "function_call", "call_id": "c2", "name": "g", "arguments": "{\"x\":1}"},
                    {"type": "function_call_output", "call_id": "c1", "output": "one"},
                    {"type": "function_call_output", "call_id": "c2", "output": "two"},
                    {"type": "message", "role": "system", "content": "late note"},
                ],
                "tools": [{"type": "function", "name": "f", "description": "Does f.",
                           "parameters": {"type": "object", "properties": {}}, "strict": false}],
                "tool_choice": {"type": "function", "name": "f"},
                "parallel_tool_calls": false,
            })
        );
        // Chained from the assistant message on: the instructions stay.
        let chained = serde_json::to_value(request_from(&request, 4)).expect("serialise");
        assert_eq!(chained["instructions"], json!("be brief\n\nbe kind"));
        assert_eq!(chained["input"].as_array().map(Vec::len), Some(3));
        assert_eq!(chained["input"][0]["type"], json!("function_call_output"));
    }

    #[test]
    fn tool_options_are_sent_only_with_tools() {
        let mut request = ChatRequest::new("m", vec![Message::user("hi")]);
        request.tool_choice = Some(ToolChoice::Required);
        request.parallel_tool_calls = Some(true);
        let wire = serde_json::to_value(oa::CreateResponse::from(&request)).expect("serialise");
        assert_eq!(
            wire,
            json!({"model": "m", "input": [{"type": "message", "role": "user", "content": "hi"}]})
        );
        for (choice, expected) in [
            (ToolChoice::Auto, json!("auto")),
            (ToolChoice::None, json!("none")),
            (ToolChoice::Required, json!("required")),
        ] {
            let theirs = oa::ToolChoiceParam::from(&choice);
            assert_eq!(serde_json::to_value(theirs).expect("serialise"), expected);
        }
    }

    #[test]
    fn results_become_function_call_outputs() {
        let result =
            CallResult::new("c9", "f", Outcome::Ok, "sunny").timed(Duration::ZERO, Duration::ZERO);
        let item = oa::InputItem::from(&result);
        assert_eq!(
            serde_json::to_value(item).expect("serialise"),
            json!({"type": "function_call_output", "call_id": "c9", "output": "sunny"})
        );
    }

    /// The shapes of openai-python's `ResponseInputImageParam` (`detail`
    /// required, `image_url` a URL or a `data:` URL), `ResponseInputFileParam`
    /// (`file_data` with `filename`, or `file_url`), and a
    /// `function_call_output`'s array form (`input_text`, `input_image`).
    #[test]
    fn images_and_files_are_input_parts() {
        let request = ChatRequest::new(
            "m",
            vec![Message::user(
                Content::new()
                    .text("What is this?")
                    .image_url("https://x/y.png")
                    .image_base64("AAAA", "image/png")
                    .part(ContentPart::pdf("JVBE").named("r.pdf"))
                    .document_url("https://x/r.pdf"),
            )],
        );
        let wire = serde_json::to_value(oa::CreateResponse::from(&request)).expect("serialise");
        assert_eq!(
            wire["input"],
            json!([{"type": "message", "role": "user", "content": [
                {"type": "input_text", "text": "What is this?"},
                {"type": "input_image", "detail": "auto", "image_url": "https://x/y.png"},
                {"type": "input_image", "detail": "auto", "image_url": "data:image/png;base64,AAAA"},
                {"type": "input_file", "file_data": "data:application/pdf;base64,JVBE", "filename": "r.pdf"},
                {"type": "input_file", "file_url": "https://x/r.pdf"},
            ]}])
        );
        let mut result = CallResult::new("c9", "f", Outcome::Ok, "a chart")
            .timed(Duration::ZERO, Duration::ZERO);
        result = result.with_parts(vec![ContentPart::image("AAAA", "image/png")]);
        assert_eq!(
            serde_json::to_value(oa::InputItem::from(&result)).expect("serialise"),
            json!({"type": "function_call_output", "call_id": "c9", "output": [
                {"type": "input_text", "text": "a chart"},
                {"type": "input_image", "detail": "auto", "image_url": "data:image/png;base64,AAAA"},
            ]})
        );
        assert_eq!(
            serde_json::to_value(&input_items(&[Message::tool(&result)])[0]).expect("serialise"),
            serde_json::to_value(oa::InputItem::from(&result)).expect("serialise"),
        );
    }

    #[test]
    fn responses_become_replies() {
        let body = response(
            "completed",
            json!([
                {"type": "message", "id": "msg_1", "status": "completed", "role": "assistant",
                 "content": [{"type": "output_text", "text": "Let me check.", "annotations": []}]},
                {"type": "function_call", "id": "fc_1", "call_id": "call_a", "name": "f",
                 "arguments": "{\"x\":1}", "status": "completed"}
            ]),
        );
        let response: oa::Response = serde_json::from_value(body).expect("a response");
        let reply = ChatResponse::try_from(&response).expect("convert");
        assert_eq!(
            reply,
            ChatResponse {
                content: Some("Let me check.".into()),
                tool_calls: vec![ToolCall::new("call_a", "f", "{\"x\":1}")],
                finish_reason: Some(FinishReason::ToolCalls),
                usage: Some(Usage::new(5, 7)),
            }
        );

        let mut failed = response.clone();
        failed.status = oa::Status::Failed;
        failed.error = Some(oa::ResponseError {
            code: oa::ResponseErrorCode::ServerError,
            message: "boom".into(),
            misalignment: None,
            param: None,
            r#type: None,
        });
        assert_eq!(
            ChatResponse::try_from(&failed),
            Err(ConvertError::Failed {
                code: "server_error".into(),
                message: "boom".into()
            })
        );
        let mut queued = response;
        queued.status = oa::Status::Queued;
        assert_eq!(
            ChatResponse::try_from(&queued),
            Err(ConvertError::Unfinished("queued".into()))
        );
    }

    #[test]
    fn stream_events_map_to_calls_that_complete_at_their_done() {
        let mut mapper = EventMapper::new();
        let mut events = Vec::new();
        let mut push = |value: Value| {
            events.extend(mapper.push(event(value)).expect("events"));
        };
        push(
            json!({"type": "response.output_text.delta", "sequence_number": 1, "item_id": "msg_1", "output_index": 0, "content_index": 0, "delta": "Hm", "logprobs": []}),
        );
        push(
            json!({"type": "response.output_item.added", "sequence_number": 2, "output_index": 1,
                    "item": {"type": "function_call", "id": "fc_1", "call_id": "call_a", "name": "f", "arguments": "", "status": "in_progress"}}),
        );
        push(
            json!({"type": "response.function_call_arguments.delta", "sequence_number": 3, "item_id": "fc_1", "output_index": 1, "delta": "{\"x\""}),
        );
        // The done event carries the whole text: the rest is sent, then done.
        push(
            json!({"type": "response.function_call_arguments.done", "sequence_number": 4, "item_id": "fc_1", "output_index": 1, "arguments": "{\"x\":1}"}),
        );
        push(
            json!({"type": "response.output_item.done", "sequence_number": 5, "output_index": 1,
                    "item": {"type": "function_call", "id": "fc_1", "call_id": "call_a", "name": "f", "arguments": "{\"x\":1}", "status": "completed"}}),
        );
        // A call that comes only as a finished item.
        push(
            json!({"type": "response.output_item.done", "sequence_number": 6, "output_index": 2,
                    "item": {"type": "function_call", "id": "fc_2", "call_id": "call_b", "name": "g", "arguments": "{}", "status": "completed"}}),
        );
        assert!(mapper.finish().is_err(), "no response.completed yet");
        let completed = json!({"type": "response.completed", "sequence_number": 7, "response": response("completed", json!([]))});
        events.extend(mapper.push(event(completed)).expect("events"));
        assert!(mapper.finish().is_ok());
        assert_eq!(
            events,
            vec![
                StreamEvent::Text("Hm".into()),
                StreamEvent::ToolCall(ToolCallDelta {
                    index: 1,
                    id: Some("call_a".into()),
                    name: Some("f".into()),
                    arguments: Some(String::new()),
                }),
                fragment(1, "{\"x\"".into()),
                fragment(1, ":1}".into()),
                StreamEvent::ToolCallDone(1),
                StreamEvent::ToolCall(ToolCallDelta {
                    index: 2,
                    id: Some("call_b".into()),
                    name: Some("g".into()),
                    arguments: Some("{}".into()),
                }),
                StreamEvent::ToolCallDone(2),
                StreamEvent::Finish(FinishReason::ToolCalls),
                StreamEvent::Usage(Usage::new(5, 7)),
            ]
        );
    }

    #[test]
    fn failures_and_error_events_are_errors() {
        let mut failed = response("failed", json!([]));
        failed["error"] = json!({"code": "server_error", "message": "boom"});
        let mut mapper = EventMapper::new();
        let error = mapper
            .push(event(
                json!({"type": "response.failed", "sequence_number": 3, "response": failed}),
            ))
            .expect_err("failed");
        assert!(error.to_string().contains("boom"), "{error}");
        let error = EventMapper::new()
            .push(event(json!({"type": "error", "sequence_number": 1, "code": "rate_limit_exceeded", "message": "slow down", "param": null})))
            .expect_err("error");
        assert!(error.to_string().contains("slow down"), "{error}");
        assert!(skippable(r#"{"type": "response.new_thing", "x": 1}"#));
        assert!(!skippable(r#"{"type": "response.completed"}"#));
        assert!(!skippable("not json"));
    }

    #[test]
    fn cached_and_written_input_tokens_are_read() {
        let mut body = response("completed", json!([]));
        body["usage"]["input_tokens_details"] =
            json!({"cached_tokens": 1024, "cache_write_tokens": 256});
        let response: oa::Response = serde_json::from_value(body).expect("a response");
        let usage = response.usage.as_ref().map(Usage::from);
        assert_eq!(usage, Some(Usage::new(5, 7).with_cache(1024, 256)));
    }
}
