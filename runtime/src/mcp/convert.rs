//! Between toolcall's types and MCP's: definitions to listed tools, a call's
//! result to a `tools/call` answer, and an answer back to a tool's reply.

use rmcp::model::{CallToolResult, ContentBlock, Resource, ResourceContents};
use serde_json::{Value, json};

use crate::call::CallResult;
use crate::content::ContentPart;
use crate::output::{ToolError, ToolOutput};
use crate::tool::{ToolAnnotations, ToolReply};
use crate::toolset::{ToolDefinition, mcp_wraps_output};

/// How a tool's structured result travels in `structuredContent`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Structured {
    /// The tool declares no output schema: text only.
    No,
    /// The value is a JSON object: as it is.
    Plain,
    /// The value is wrapped as `{"result": value}`.
    Wrapped,
}

impl Structured {
    pub(crate) fn of(definition: &ToolDefinition) -> Structured {
        match &definition.output_schema {
            None => Structured::No,
            Some(schema) if mcp_wraps_output(schema) => Structured::Wrapped,
            Some(_) => Structured::Plain,
        }
    }
}

/// A definition as `tools/list` gives it: [`ToolDefinition::to_mcp`] read
/// into rmcp's type; the arguments schema must be an object schema.
pub(crate) fn listed_tool(definition: &ToolDefinition) -> Result<rmcp::model::Tool, String> {
    if definition.parameters.get("type").and_then(Value::as_str) != Some("object") {
        return Err("its arguments schema is not an object schema (`\"type\": \"object\"`), as MCP requires".into());
    }
    serde_json::from_value(definition.to_mcp()).map_err(|e| e.to_string())
}

/// One call's result as the answer to `tools/call`: text (and image parts)
/// as content, the structured value when the tool declares one, and
/// `isError` for every outcome but success.
pub(crate) fn call_tool_result(mut result: CallResult, structured: Structured) -> CallToolResult {
    if !result.outcome.is_ok() {
        // `isError` says it failed: the tool's own message, without the
        // `error: ` the chat formats put before it.
        let text = match result.take_error() {
            Some(error) => error.message().to_owned(),
            None => result.content,
        };
        return CallToolResult::error(vec![ContentBlock::text(text)]);
    }
    let value = match structured {
        Structured::No => None,
        Structured::Plain => result.structured(),
        Structured::Wrapped => result.structured().map(|v| json!({ "result": v })),
    };
    let parts = result.take_parts();
    let mut content = Vec::with_capacity(1 + parts.len());
    content.push(ContentBlock::text(result.content));
    content.extend(parts.into_iter().map(content_block));
    let mut answer = CallToolResult::success(content);
    answer.structured_content = value;
    answer
}

/// A part as an MCP content block: text and images as themselves, an
/// inline document as an embedded blob resource, a URL as a resource link.
fn content_block(part: ContentPart) -> ContentBlock {
    match part {
        ContentPart::Text { text } => ContentBlock::text(text),
        ContentPart::Image { data, mime_type } => ContentBlock::image(data, mime_type),
        ContentPart::Document {
            data,
            mime_type,
            name,
        } => ContentBlock::resource(ResourceContents::BlobResourceContents {
            uri: format!("file:///{}", name.as_deref().unwrap_or("document")),
            mime_type: Some(mime_type),
            blob: data,
            meta: None,
        }),
        ContentPart::ImageUrl { url } | ContentPart::DocumentUrl { url } => {
            ContentBlock::resource_link(Resource::new(url.clone(), url))
        }
    }
}

/// A server's answer as the reply of a toolcall tool: an error result is the
/// tool's error (its text for the model); otherwise the structured value
/// when there is one (the model reads its JSON), else the text blocks; image
/// blocks ride along as parts, other blocks as their JSON text.
pub(crate) fn tool_reply(answer: CallToolResult) -> ToolReply {
    let mut texts = Vec::new();
    let mut parts = Vec::new();
    for block in answer.content {
        match block {
            ContentBlock::Text(text) => texts.push(text.text),
            ContentBlock::Image(image) => {
                parts.push(ContentPart::image(image.data, image.mime_type));
            }
            other => texts.push(serde_json::to_string(&other).unwrap_or_default()),
        }
    }
    let text = texts.join("\n");
    if answer.is_error == Some(true) {
        return Err(ToolError::new(if text.is_empty() {
            "the MCP server reported an error without a message".to_owned()
        } else {
            text
        }));
    }
    let mut output = match answer.structured_content {
        Some(value) => ToolOutput::json(&value)?,
        None => ToolOutput::text(text),
    };
    for part in parts {
        output = output.with_part(part);
    }
    Ok(output)
}

/// MCP tool annotations as toolcall's hints (the title, text known only at
/// run time, is left out: toolcall's hints hold `&'static str`).
pub(crate) fn annotations(hints: Option<&rmcp::model::ToolAnnotations>) -> ToolAnnotations {
    let Some(hints) = hints else {
        return ToolAnnotations::NONE;
    };
    ToolAnnotations {
        title: None,
        read_only: hints.read_only_hint,
        destructive: hints.destructive_hint,
        idempotent: hints.idempotent_hint,
        open_world: hints.open_world_hint,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::call::Outcome;

    #[test]
    fn failures_are_error_results_with_their_text() {
        for outcome in [
            Outcome::InvalidArguments,
            Outcome::ToolError,
            Outcome::TimedOut,
            Outcome::Panicked,
            Outcome::Cancelled,
        ] {
            let answer = call_tool_result(
                CallResult::new("1", "t", outcome, "what went wrong"),
                Structured::Plain,
            );
            assert_eq!(answer.is_error, Some(true));
            assert_eq!(answer.structured_content, None);
            assert_eq!(
                answer.content[0].as_text().map(|t| t.text.as_str()),
                Some("what went wrong")
            );
        }
    }

    #[test]
    fn structured_values_are_wrapped_when_not_objects() {
        let mut ok = CallResult::new("1", "t", Outcome::Ok, "[1,2]");
        ok.json = true;
        let answer = call_tool_result(ok.clone(), Structured::Wrapped);
        assert_eq!(answer.structured_content, Some(json!({"result": [1, 2]})));
        assert_eq!(answer.is_error, Some(false));
        let answer = call_tool_result(ok.clone(), Structured::No);
        assert_eq!(answer.structured_content, None);
        ok.content = r#"{"a":1}"#.into();
        let answer = call_tool_result(ok, Structured::Plain);
        assert_eq!(answer.structured_content, Some(json!({"a": 1})));
    }

    #[test]
    fn answers_become_replies() {
        let reply = tool_reply(CallToolResult::error(vec![ContentBlock::text("no")]));
        assert_eq!(reply.map_err(|e| e.message().to_owned()), Err("no".into()));
        let mut answer = CallToolResult::success(vec![
            ContentBlock::text("{\"a\":1}"),
            ContentBlock::image("AAAA", "image/png"),
        ]);
        answer.structured_content = Some(json!({"a": 1}));
        let output = tool_reply(answer).expect("ok");
        assert_eq!(output.structured(), Some(json!({"a": 1})));
        assert_eq!(output.parts(), &[ContentPart::image("AAAA", "image/png")]);
        let output =
            tool_reply(CallToolResult::success(vec![ContentBlock::text("plain")])).expect("ok");
        assert_eq!((output.as_text(), output.is_json()), ("plain", false));
    }
}
