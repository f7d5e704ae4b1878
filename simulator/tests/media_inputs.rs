//! Images and documents through each provider's wire, against the
//! simulator: a user turn's image and PDF reach every format in its own
//! shape and show in the journal, counted in usage with the simulator's
//! estimate (85 tokens an image, 258 a PDF page); a tool's image goes back
//! in each format's own place (Chat: a user message after the results);
//! malformed parts are refused in each format's own error shape. The
//! official SDKs make the same checks in `sdk_media.rs`.

mod common;

use serde_json::{Value, json};
use toolcall_runtime::{
    Agent, ChatRequest, Content, ContentPart, Message, StateMap, Tool, ToolFuture, ToolOutput,
    ToolSet,
};
use toolcall_sim::Server;

const KEY: &str = "sk-sim";
const IMAGE_TOKENS: u32 = 85;
const PAGE_TOKENS: u32 = 258;
/// The first bytes of a PNG, base64: the simulator does not decode images.
const PNG: &str = "iVBORw0KGgoAAAANSUhEUg==";

/// A two-page PDF (its page objects are what the simulator counts).
fn pdf() -> Vec<u8> {
    b"%PDF-1.4\n1 0 obj << /Type /Pages /Kids [2 0 R 3 0 R] /Count 2 >> endobj\n\
      2 0 obj << /Type /Page /Parent 1 0 R >> endobj\n\
      3 0 obj << /Type/Page /Parent 1 0 R >> endobj\n%%EOF\n"
        .to_vec()
}

async fn server() -> Server {
    Server::builder()
        .seed(3)
        .api_key(KEY)
        .start()
        .await
        .expect("server")
}

/// The kind and inline data of each part of a message that is not text.
fn media(message: &Message) -> Vec<(&'static str, Option<String>)> {
    let parts = match message {
        Message::User { content } => content.parts(),
        Message::Tool { parts, .. } => parts,
        _ => &[],
    };
    parts
        .iter()
        .filter(|p| p.as_text().is_none())
        .map(|p| {
            let data = match p {
                ContentPart::Image { data, .. } | ContentPart::Document { data, .. } => {
                    Some(data.clone())
                }
                _ => None,
            };
            (p.kind(), data)
        })
        .collect()
}

#[tokio::test]
async fn an_image_and_a_pdf_reach_every_format_counted_in_usage() {
    let server = server().await;
    let turn = Content::new()
        .text("Describe these.")
        .image_base64(PNG, "image/png")
        .pdf_bytes(pdf());
    let pdf_base64 = match &turn.parts()[2] {
        ContentPart::Document { data, .. } => data.clone(),
        other => panic!("{other:?}"),
    };
    for (format, model) in common::models(&server, KEY) {
        let plain = model
            .complete(&ChatRequest::new(
                "m",
                vec![Message::user("Describe these.")],
            ))
            .await
            .unwrap_or_else(|e| panic!("{format}: {e}"));
        let with_media = model
            .complete(&ChatRequest::new("m", vec![Message::user(turn.clone())]))
            .await
            .unwrap_or_else(|e| panic!("{format}: {e}"));
        let counted = |reply: &toolcall_runtime::ChatResponse| {
            reply.usage.map(|u| u.prompt_tokens).unwrap_or_default()
        };
        assert_eq!(
            counted(&with_media) - counted(&plain),
            IMAGE_TOKENS + 2 * PAGE_TOKENS,
            "{format}"
        );
        let entry = server.journal().last().expect("journalled");
        assert_eq!(
            media(&entry.messages[0]),
            vec![
                ("image", Some(PNG.to_owned())),
                ("document", Some(pdf_base64.clone()))
            ],
            "{format}"
        );
        assert_eq!(
            entry.messages[0].clone(),
            match format {
                // Chat and Responses send a file name; Anthropic, none
                // unless the part has one; Gemini cannot.
                "chat" | "responses" => Message::user(Content::from_parts(
                    turn.parts()[..2]
                        .iter()
                        .cloned()
                        .chain([turn.parts()[2].clone().named("document.pdf")]),
                )),
                _ => Message::user(turn.clone()),
            },
            "{format}"
        );
    }
}

#[tokio::test]
async fn urls_reach_the_formats_that_take_them() {
    let server = server().await;
    for (format, model) in common::models(&server, KEY) {
        let mut turn = Content::new()
            .text("Describe these.")
            .image_url("https://example.com/a.png");
        if format != "chat" {
            turn = turn.document_url("https://example.com/r.pdf");
        }
        let reply = model
            .complete(&ChatRequest::new("m", vec![Message::user(turn.clone())]))
            .await;
        assert!(reply.is_ok(), "{format}: {reply:?}");
        let entry = server.journal().last().expect("journalled");
        assert_eq!(entry.messages[0], Message::user(turn), "{format}");
    }
    // Chat has no document URL: refused by name, nothing sent.
    let (_, chat) = common::models(&server, KEY).swap_remove(0);
    let sent = server.journal().len();
    let refused = chat
        .complete(&ChatRequest::new(
            "m",
            vec![Message::user(ContentPart::document_url(
                "https://example.com/r.pdf",
            ))],
        ))
        .await;
    assert_eq!(
        refused.map(|_| ()),
        Err(toolcall_runtime::ModelError::Unsupported {
            setting: "document_url",
            provider: "OpenAI Chat Completions"
        })
    );
    assert_eq!(server.journal().len(), sent);
}

/// A chart tool: some text and a PNG.
struct Chart;

impl Tool for Chart {
    fn name(&self) -> &str {
        "chart"
    }
    fn description(&self) -> &str {
        "A patient's chart as an image"
    }
    fn parameters(&self, _: &mut schemars::SchemaGenerator) -> Value {
        json!({"type": "object", "properties": {"patient_id": {"type": "string"}}, "required": ["patient_id"], "additionalProperties": false})
    }
    fn call(
        &self,
        _arguments: &str,
        _state: &StateMap,
    ) -> Result<ToolFuture, toolcall_runtime::CallError> {
        Ok(Box::pin(async {
            Ok(ToolOutput::text("the chart").with_part(ContentPart::image(PNG, "image/png")))
        }))
    }
}

#[tokio::test]
async fn an_agent_sends_a_user_image_and_a_tools_image_in_each_format() {
    let server = server().await;
    for (format, model) in common::models(&server, KEY) {
        let tools = ToolSet::builder()
            .tools([std::sync::Arc::new(Chart) as std::sync::Arc<dyn Tool>])
            .build()
            .expect("tools");
        let start = server.journal().len();
        let run = Agent::new(model, tools)
            .run(
                Content::new()
                    .text("Show the chart of P-00001 next to this one.")
                    .image_url("https://example.com/old-chart.png"),
            )
            .await
            .unwrap_or_else(|e| panic!("{format}: {e}"));
        assert!(!run.answer.is_empty(), "{format}");
        let journal = server.journal();
        let entries: Vec<_> = journal.entries().into_iter().skip(start).collect();
        assert_eq!(entries.len(), 2, "{format}");
        assert_eq!(
            media(&entries[0].messages[0]),
            vec![("image_url", None)],
            "{format}"
        );
        let after = &entries[1].messages;
        let tool = after
            .iter()
            .position(|m| matches!(m, Message::Tool { .. }))
            .unwrap_or_else(|| panic!("{format}: no tool message in {after:?}"));
        let image = vec![("image", Some(PNG.to_owned()))];
        if format == "chat" {
            // The tool message is text; the image follows in a user message.
            assert_eq!(media(&after[tool]), vec![], "{format}");
            assert_eq!(media(&after[tool + 1]), image, "{format}");
            let Message::User { content } = &after[tool + 1] else {
                panic!("{format}: {after:?}");
            };
            assert!(content.to_text().contains("tool call"), "{format}");
        } else {
            assert_eq!(media(&after[tool]), image, "{format}");
        }
    }
}

/// A request body in each format whose one user part is `part`.
fn body(format: &str, part: Value) -> (&'static str, Value) {
    match format {
        "chat" => (
            "/v1/chat/completions",
            json!({"model": "m", "messages": [{"role": "user", "content": [part]}]}),
        ),
        "responses" => (
            "/v1/responses",
            json!({"model": "m", "input": [{"role": "user", "content": [part]}]}),
        ),
        "anthropic" => (
            "/v1/messages",
            json!({"model": "m", "max_tokens": 100, "messages": [{"role": "user", "content": [part]}]}),
        ),
        _ => (
            "/v1beta/models/m:generateContent",
            json!({"contents": [{"role": "user", "parts": [part]}]}),
        ),
    }
}

#[tokio::test]
async fn malformed_parts_are_refused_in_each_formats_own_error() {
    let server = server().await;
    let cases = [
        ("chat", json!({"type": "image_url", "image_url": {}})),
        (
            "chat",
            json!({"type": "image_url", "image_url": {"url": "data:image/png;base64,!!"}}),
        ),
        (
            "chat",
            json!({"type": "file", "file": {"file_data": "data:application/pdf;base64,JVBE", "file_id": "f"}}),
        ),
        (
            "chat",
            json!({"type": "input_audio", "input_audio": {"data": "", "format": "wav"}}),
        ),
        (
            "responses",
            json!({"type": "input_image", "detail": "auto"}),
        ),
        (
            "responses",
            json!({"type": "input_file", "file_data": "not base64!"}),
        ),
        (
            "anthropic",
            json!({"type": "image", "source": {"type": "base64", "media_type": "image/tiff", "data": PNG}}),
        ),
        (
            "anthropic",
            json!({"type": "document", "source": {"type": "base64", "data": "JVBE"}}),
        ),
        (
            "anthropic",
            json!({"type": "image", "source": {"type": "url"}}),
        ),
        ("gemini", json!({"inlineData": {"data": PNG}})),
        ("gemini", json!({"fileData": {"mimeType": "image/png"}})),
        (
            "gemini",
            json!({"inlineData": {"mimeType": "image/png", "data": "!!"}}),
        ),
    ];
    for (format, part) in cases {
        let (path, body) = body(format, part.clone());
        let reply = common::send(
            server.addr(),
            "POST",
            path,
            &[
                ("content-type", "application/json"),
                ("authorization", "Bearer sk-sim"),
                ("x-api-key", KEY),
                ("x-goog-api-key", KEY),
            ],
            body.to_string(),
        )
        .await
        .expect("a reply");
        assert_eq!(reply.status, 400, "{format} {part}: {}", reply.text());
        let error = reply.json();
        match format {
            "anthropic" => {
                assert_eq!(error["type"], "error", "{part}");
                assert_eq!(error["error"]["type"], "invalid_request_error", "{part}");
            }
            "gemini" => {
                assert_eq!(error["error"]["code"], 400, "{part}");
                assert_eq!(error["error"]["status"], "INVALID_ARGUMENT", "{part}");
            }
            _ => assert_eq!(error["error"]["type"], "invalid_request_error", "{part}"),
        }
    }
}

#[tokio::test]
async fn a_chat_tool_message_with_an_image_is_refused_as_the_api_does() {
    let server = server().await;
    let body = json!({"model": "m", "messages": [
        {"role": "user", "content": "hi"},
        {"role": "assistant", "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}]},
        {"role": "tool", "tool_call_id": "c1", "content": [{"type": "image_url", "image_url": {"url": "https://example.com/a.png"}}]},
    ]});
    let reply = common::send(
        server.addr(),
        "POST",
        "/v1/chat/completions",
        &[
            ("content-type", "application/json"),
            ("authorization", "Bearer sk-sim"),
        ],
        body.to_string(),
    )
    .await
    .expect("a reply");
    assert_eq!(reply.status, 400, "{}", reply.text());
    assert_eq!(reply.json()["error"]["type"], "invalid_request_error");
}
