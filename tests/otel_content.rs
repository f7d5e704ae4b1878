//! Content capture, switched on for this whole test binary (the switch is
//! process-wide; `tests/otel.rs` checks that it is off by default): the
//! `chat` spans carry the system instructions, the input and output
//! messages and the tool definitions in the conventions' shapes, the
//! `execute_tool` spans the arguments and results; and the API key is
//! recorded nowhere. The example runs over HTTP against the simulator in
//! Anthropic's wire format, whole replies and streamed.

#[path = "../examples/patient_summary/app.rs"]
#[allow(dead_code)]
mod app;
#[path = "../examples/patient_summary/db.rs"]
#[allow(dead_code)]
mod db;
#[path = "../examples/patient_summary/summary.rs"]
#[allow(dead_code)]
mod summary;
#[path = "support/otel.rs"]
mod support;
#[path = "../examples/patient_summary/tools.rs"]
#[allow(dead_code)]
mod tools;

use opentelemetry::Value;
use opentelemetry_sdk::trace::SpanData;
use serde_json::Value as Json;

use support::{agent_trace, attr, example, int, text};

fn json(span: &SpanData, key: &str) -> Json {
    let raw = text(span, key);
    serde_json::from_str(&raw).unwrap_or_else(|e| panic!("{key} is not JSON ({e}): {raw}"))
}

async fn captured(args: &[&str]) {
    toolcall::telemetry::set_capture_content(true);
    let recorded = example(args).await;
    let (_, tree) = agent_trace(&recorded.spans);

    // The key the example sends the simulator: in no attribute of any span.
    for span in &recorded.spans {
        for kv in &span.attributes {
            assert!(
                !kv.value.as_str().contains("sk-ant-sim"),
                "{} records the API key in {}",
                span.name,
                kv.key
            );
        }
    }

    let mut chats: Vec<&SpanData> = tree
        .iter()
        .copied()
        .filter(|s| s.name.starts_with("chat "))
        .collect();
    chats.sort_by_key(|s| s.start_time);
    assert_eq!(chats.len(), 2);
    for chat in &chats {
        assert_eq!(text(chat, "gen_ai.provider.name"), "anthropic");
        assert_eq!(text(chat, "server.address"), "127.0.0.1");
        assert!(int(chat, "server.port") > 0);
        let system = json(chat, "gen_ai.system_instructions");
        assert_eq!(system[0]["type"], "text");
        assert!(system[0]["content"].as_str().is_some_and(|s| !s.is_empty()));
        let tools = json(chat, "gen_ai.tool.definitions");
        assert_eq!(tools.as_array().map(Vec::len), Some(4));
        assert_eq!(tools[0]["type"], "function");
        assert!(tools[0]["parameters"].is_object());
    }
    let input = json(chats[0], "gen_ai.input.messages");
    assert_eq!(input[0]["role"], "user");
    assert!(
        input[0]["parts"][0]["content"]
            .as_str()
            .is_some_and(|s| s.contains("P-00001"))
    );
    let output = json(chats[0], "gen_ai.output.messages");
    assert_eq!(output[0]["role"], "assistant");
    let parts = output[0]["parts"].as_array().expect("parts");
    let calls: Vec<&Json> = parts.iter().filter(|p| p["type"] == "tool_call").collect();
    assert_eq!(calls.len(), 4, "{output}");
    assert_eq!(calls[0]["arguments"]["patient_id"], "P-00001");
    // The second request sends the four results back.
    let input = json(chats[1], "gen_ai.input.messages");
    let responses = input
        .as_array()
        .expect("messages")
        .iter()
        .filter(|m| m["role"] == "tool")
        .count();
    assert_eq!(responses, 4, "{input}");
    let answer = json(chats[1], "gen_ai.output.messages");
    assert_eq!(answer[0]["parts"][0]["type"], "text");

    let calls: Vec<&SpanData> = tree
        .iter()
        .copied()
        .filter(|s| s.name.starts_with("execute_tool "))
        .collect();
    assert_eq!(calls.len(), 4);
    for call in calls {
        let arguments = json(call, "gen_ai.tool.call.arguments");
        assert_eq!(arguments["patient_id"], "P-00001");
        assert!(
            matches!(attr(call, "gen_ai.tool.call.result"), Some(Value::String(s)) if !s.as_str().is_empty())
        );
    }
}

#[tokio::test]
async fn whole_replies_are_captured_when_asked_for() {
    captured(&["--provider", "anthropic"]).await;
}

#[tokio::test]
async fn streamed_replies_are_captured_when_asked_for() {
    captured(&["--provider", "anthropic", "--stream"]).await;
}
