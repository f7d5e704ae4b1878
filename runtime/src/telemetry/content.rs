//! Content in the shapes the conventions give it (the input and output
//! messages JSON schemas, `gen-ai-input-messages.json` and
//! `gen-ai-output-messages.json`): a message is a role and parts, a part is
//! `text`, `tool_call` or `tool_call_response`. Recorded on spans as JSON
//! text, which the conventions allow where attributes cannot be structured.

use serde::Serialize;
use serde_json::{Value, json};

use crate::call::ToolCall;
use crate::content::{Content, ContentPart};
use crate::message::{FinishReason, Message};
use crate::model::StreamEvent;
use crate::toolset::ToolDefinition;

/// Any value as JSON text (serialising our own types cannot fail).
pub(super) fn json(value: &impl Serialize) -> String {
    serde_json::to_string(value).unwrap_or_default()
}

/// Arguments as the object they are, or as the text when they are not JSON.
fn arguments(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.to_owned()))
}

fn text(content: &str) -> Value {
    json!({ "type": "text", "content": content })
}

fn call_part(call: &ToolCall) -> Value {
    json!({
        "type": "tool_call",
        "id": call.id,
        "name": call.name,
        "arguments": arguments(&call.arguments),
    })
}

/// `gen_ai.system_instructions` (the system messages before the first other
/// message) and `gen_ai.input.messages` (the rest).
pub(super) fn input(messages: &[Message]) -> (Option<String>, String) {
    let leading = messages
        .iter()
        .take_while(|m| matches!(m, Message::System { .. }))
        .count();
    let system: Vec<Value> = messages[..leading]
        .iter()
        .filter_map(|m| match m {
            Message::System { content } => Some(text(content)),
            _ => None,
        })
        .collect();
    let input: Vec<Value> = messages[leading..].iter().map(message).collect();
    ((!system.is_empty()).then(|| json(&system)), json(&input))
}

fn message(m: &Message) -> Value {
    match m {
        Message::System { content } => json!({ "role": "system", "parts": [text(content)] }),
        Message::User { content } => json!({ "role": "user", "parts": user_parts(content) }),
        Message::Assistant {
            content,
            tool_calls,
        } => {
            json!({ "role": "assistant", "parts": assistant_parts(content.as_deref(), tool_calls) })
        }
        Message::Tool {
            tool_call_id,
            content,
            ..
        } => json!({
            "role": "tool",
            "parts": [{ "type": "tool_call_response", "id": tool_call_id, "response": content }],
        }),
    }
}

/// A user turn's parts in the conventions' shapes: `text`, `blob` for inline
/// bytes, `uri` for a URL the provider fetches.
fn user_parts(content: &Content) -> Vec<Value> {
    content
        .parts()
        .iter()
        .map(|part| match part {
            ContentPart::Text { text: t } => text(t),
            ContentPart::Image { data, mime_type } => {
                json!({ "type": "blob", "modality": "image", "mime_type": mime_type, "content": data })
            }
            ContentPart::ImageUrl { url } => json!({ "type": "uri", "modality": "image", "uri": url }),
            ContentPart::Document {
                data, mime_type, ..
            } => {
                json!({ "type": "blob", "modality": "document", "mime_type": mime_type, "content": data })
            }
            ContentPart::DocumentUrl { url } => {
                json!({ "type": "uri", "modality": "document", "uri": url })
            }
        })
        .collect()
}

fn assistant_parts(content: Option<&str>, calls: &[ToolCall]) -> Vec<Value> {
    content
        .filter(|t| !t.is_empty())
        .map(text)
        .into_iter()
        .chain(calls.iter().map(call_part))
        .collect()
}

/// `gen_ai.output.messages` of a whole reply.
pub(super) fn output(content: Option<&str>, calls: &[ToolCall]) -> String {
    output_with(content, calls, None)
}

fn output_with(content: Option<&str>, calls: &[ToolCall], finish: Option<FinishReason>) -> String {
    let mut message = json!({ "role": "assistant", "parts": assistant_parts(content, calls) });
    if let Some(reason) = finish {
        message["finish_reason"] = json!(reason);
    }
    json(&[message])
}

/// `gen_ai.tool.definitions`: the function tools offered.
pub(super) fn tool_definitions(tools: &[ToolDefinition]) -> String {
    let tools: Vec<Value> = tools
        .iter()
        .map(|t| {
            json!({
                "type": "function",
                "name": t.name,
                "description": t.description,
                "parameters": t.parameters,
            })
        })
        .collect();
    json(&tools)
}

/// A streamed reply put together for `gen_ai.output.messages`.
#[derive(Default)]
pub(super) struct Assembly {
    text: String,
    calls: Vec<ToolCall>,
    finish: Option<FinishReason>,
}

impl Assembly {
    pub(super) fn push(&mut self, event: &StreamEvent) {
        match event {
            StreamEvent::Text(t) => self.text.push_str(t),
            StreamEvent::ToolCall(delta) => {
                let index = delta.index as usize;
                if index >= self.calls.len() {
                    self.calls.resize_with(index + 1, || {
                        ToolCall::new(String::new(), String::new(), String::new())
                    });
                }
                let call = &mut self.calls[index];
                if let Some(id) = &delta.id {
                    call.id = id.into();
                }
                if let Some(name) = &delta.name {
                    call.name = name.into();
                }
                if let Some(more) = &delta.arguments {
                    call.arguments.push_str(more);
                }
            }
            StreamEvent::Finish(reason) => self.finish = Some(*reason),
            _ => {}
        }
    }

    pub(super) fn finish(self) -> String {
        let text = (!self.text.is_empty()).then_some(self.text.as_str());
        output_with(text, &self.calls, self.finish)
    }
}
