//! Server-held Messages threads (the `message-threads` beta) in raw HTTP,
//! with the bodies the official SDKs' tool runners send
//! (`tests/sdk_anthropic.rs` and `tests/sdk_node.rs` run the runners
//! themselves): a `create` turn, then a `continue` that carries only the tool
//! results and no `system` nor `tools`; and the errors the SDKs recover
//! from (`thread_not_found`, `thread_already_continued`).

mod common;

use common::{Reply, send};
use serde_json::{Value, json};
use toolcall_sim::Server;

const KEY: &str = "sk-ant-sim";

async fn server() -> Server {
    Server::builder()
        .seed(5)
        .api_key(KEY)
        .start()
        .await
        .expect("server")
}

async fn post(server: &Server, body: &Value) -> Reply {
    let headers = [
        ("content-type", "application/json"),
        ("x-api-key", KEY),
        ("anthropic-version", "2023-06-01"),
        ("anthropic-beta", "message-threads-2026-08-12"),
        ("x-stainless-helper", "BetaToolRunner"),
    ];
    send(
        server.addr(),
        "POST",
        "/v1/messages?beta=true",
        &headers,
        body.to_string(),
    )
    .await
    .expect("a reply")
}

fn tool(name: &str) -> Value {
    json!({
        "name": name,
        "description": format!("The {name} of a city."),
        "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    })
}

/// The runner's first request: the whole question, under a new thread.
fn create() -> Value {
    json!({
        "model": "claude-sonnet-5-5",
        "max_tokens": 1024,
        "system": "Answer briefly.",
        "messages": [{"role": "user", "content": "Weather and time in Oslo?"}],
        "tools": [tool("get_weather"), tool("get_time")],
        "thread": {"type": "create"},
    })
}

/// A later request: the tool results alone, continuing from `previous`.
fn continue_with(previous: &str, uses: &[Value]) -> Value {
    let results: Vec<Value> = uses
        .iter()
        .map(|u| json!({"type": "tool_result", "tool_use_id": u["id"], "content": format!("{} ok", u["name"])}))
        .collect();
    json!({
        "model": "claude-sonnet-5-5",
        "max_tokens": 1024,
        "messages": [{"role": "user", "content": results}],
        "thread": {"type": "continue", "previous_message_id": previous},
    })
}

fn tool_uses(message: &Value) -> Vec<Value> {
    message["content"]
        .as_array()
        .map(|blocks| {
            blocks
                .iter()
                .filter(|b| b["type"] == "tool_use")
                .cloned()
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn a_continue_with_only_the_tool_results_completes_a_two_tool_run() {
    let server = server().await;
    let first = post(&server, &create()).await;
    assert_eq!(first.status, 200, "{}", first.text());
    let first = first.json();
    assert_eq!(first["stop_reason"], "tool_use", "{first}");
    let uses = tool_uses(&first);
    let mut names: Vec<&str> = uses.iter().filter_map(|u| u["name"].as_str()).collect();
    names.sort_unstable();
    assert_eq!(names, ["get_time", "get_weather"]);
    let id = first["id"].as_str().expect("an id");

    let last = post(&server, &continue_with(id, &uses)).await;
    assert_eq!(last.status, 200, "{}", last.text());
    let last = last.json();
    assert_eq!(last["stop_reason"], "end_turn", "{last}");
    assert!(tool_uses(&last).is_empty(), "{last}");
    assert_eq!(last["content"][0]["type"], "text", "{last}");

    // The same reply cannot be continued twice: the thread moved on.
    let again = post(&server, &continue_with(id, &uses)).await;
    assert_eq!(again.status, 400, "{}", again.text());
    let again = again.json();
    assert_eq!(again["error"]["type"], "invalid_request_error");
    assert_eq!(
        again["error"]["details"]["error_code"],
        "thread_already_continued"
    );
}

#[tokio::test]
async fn an_unknown_previous_message_gets_thread_not_found() {
    let server = server().await;
    let reply = post(&server, &continue_with("msg_unknown", &[])).await;
    assert_eq!(reply.status, 404, "{}", reply.text());
    let body = reply.json();
    assert_eq!(body["type"], "error");
    assert_eq!(body["error"]["type"], "not_found_error");
    assert_eq!(body["error"]["details"]["error_code"], "thread_not_found");
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("msg_unknown")),
        "{body}"
    );
}

#[tokio::test]
async fn a_continue_may_not_repeat_the_threads_tools() {
    let server = server().await;
    let first = post(&server, &create()).await.json();
    let mut body = continue_with(first["id"].as_str().expect("an id"), &tool_uses(&first));
    body["tools"] = json!([tool("get_weather")]);
    let reply = post(&server, &body).await;
    assert_eq!(reply.status, 400, "{}", reply.text());
    assert!(reply.text().contains("tools"), "{}", reply.text());
}

#[tokio::test]
async fn without_a_thread_nothing_is_kept() {
    let server = server().await;
    let mut body = create();
    body.as_object_mut().map(|b| b.remove("thread"));
    let first = post(&server, &body).await.json();
    let id = first["id"].as_str().expect("an id");
    let reply = post(&server, &continue_with(id, &tool_uses(&first))).await;
    assert_eq!(reply.status, 404, "{}", reply.text());
}
