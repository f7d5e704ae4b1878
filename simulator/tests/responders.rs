//! The wiremock responders, each mounted on a real `wiremock::MockServer` and
//! asked with a real HTTP request.
#![cfg(feature = "wiremock")]

mod common;

use std::time::Duration;

use common::{Reply, chat_body, post_chat, send, tool_def};
use serde_json::{Value, json};
use toolcall_sim::responders::{CannedCompletion, ChatResponder, ErrorResponder};
use toolcall_sim::{Fault, Script, ScriptError, ScriptedCall};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Respond};

async fn mounted(responder: impl Respond + 'static) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .respond_with(responder)
        .mount(&server)
        .await;
    server
}

fn weather() -> Value {
    tool_def(
        "get_weather",
        json!({"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}),
    )
}

fn streaming(mut body: Value, include_usage: bool) -> Value {
    body["stream"] = json!(true);
    if include_usage {
        body["stream_options"] = json!({"include_usage": true});
    }
    body
}

/// The chunks of a buffered SSE body, checking it ends with `[DONE]`.
fn chunks(reply: &Reply) -> Vec<Value> {
    assert_eq!(
        reply.header("content-type"),
        Some("text/event-stream; charset=utf-8")
    );
    let data = reply.sse_data();
    assert_eq!(data.last().map(String::as_str), Some("[DONE]"), "{data:?}");
    data[..data.len() - 1]
        .iter()
        .map(|d| serde_json::from_str(d).expect("a JSON chunk"))
        .collect()
}

/// Reassemble streamed tool calls: (id, name, arguments) by index.
fn streamed_calls(chunks: &[Value]) -> Vec<(String, String, String)> {
    let mut calls: Vec<(String, String, String)> = Vec::new();
    for chunk in chunks {
        for call in chunk["choices"][0]["delta"]["tool_calls"]
            .as_array()
            .into_iter()
            .flatten()
        {
            let index = call["index"].as_u64().expect("index") as usize;
            if let Some(id) = call["id"].as_str() {
                assert_eq!(index, calls.len(), "headers in index order");
                let name = call["function"]["name"].as_str().expect("name");
                calls.push((id.to_owned(), name.to_owned(), String::new()));
            }
            calls[index]
                .2
                .push_str(call["function"]["arguments"].as_str().unwrap_or(""));
        }
    }
    calls
}

fn assert_error_body(reply: &Reply, status: u16, kind: &str, code: Value) -> String {
    assert_eq!(reply.status, status, "{}", reply.text());
    assert_eq!(reply.header("content-type"), Some("application/json"));
    let body = reply.json();
    let mut keys: Vec<&String> = body["error"]
        .as_object()
        .expect("an error")
        .keys()
        .collect();
    keys.sort_unstable();
    assert_eq!(keys, ["code", "message", "param", "type"]);
    assert_eq!(body["error"]["type"], json!(kind));
    assert_eq!(body["error"]["code"], code);
    body["error"]["message"]
        .as_str()
        .expect("a message")
        .to_owned()
}

#[tokio::test]
async fn canned_text_answers_every_request() {
    let canned = CannedCompletion::text("Hello from the mock.");
    let counter = canned.clone();
    let server = mounted(canned).await;
    for _ in 0..2 {
        let reply = post_chat(*server.address(), &chat_body(&[]))
            .await
            .expect("a reply");
        assert_eq!(reply.status, 200, "{}", reply.text());
        assert_eq!(reply.header("content-type"), Some("application/json"));
        let body = reply.json();
        assert_eq!(body["object"], "chat.completion");
        assert_eq!(body["model"], "gpt-4o-mini");
        assert!(body["id"].as_str().expect("id").starts_with("chatcmpl-"));
        let choice = &body["choices"][0];
        assert_eq!(choice["message"]["role"], "assistant");
        assert_eq!(choice["message"]["content"], "Hello from the mock.");
        assert!(choice["message"].get("tool_calls").is_none());
        assert_eq!(choice["finish_reason"], "stop");
        assert!(body["usage"]["total_tokens"].as_u64().expect("usage") > 0);
    }
    assert_eq!(counter.requests(), 2);
}

#[tokio::test]
async fn canned_tool_calls_plain_and_buffered_sse() {
    let server = mounted(
        CannedCompletion::tool_calls([
            ScriptedCall::new("get_weather", json!({"city": "Paris"})).id("call_paris"),
            ScriptedCall::new("get_weather", json!({"city": "Oslo"})),
        ])
        .seed(5),
    )
    .await;
    let reply = post_chat(*server.address(), &chat_body(&[weather()]))
        .await
        .expect("a reply");
    let body = reply.json();
    let calls = body["choices"][0]["message"]["tool_calls"]
        .as_array()
        .expect("calls");
    assert_eq!(calls.len(), 2);
    assert_eq!(calls[0]["id"], "call_paris");
    assert_eq!(calls[0]["type"], "function");
    assert_eq!(calls[0]["function"]["arguments"], r#"{"city":"Paris"}"#);
    assert!(calls[1]["id"].as_str().expect("id").starts_with("call_"));
    assert_eq!(body["choices"][0]["finish_reason"], "tool_calls");
    assert_eq!(body["choices"][0]["message"]["content"], Value::Null);

    let reply = post_chat(*server.address(), &streaming(chat_body(&[weather()]), true))
        .await
        .expect("a reply");
    assert_eq!(reply.status, 200);
    assert_eq!(reply.header("cache-control"), Some("no-cache"));
    let chunks = chunks(&reply);
    assert_eq!(chunks[0]["choices"][0]["delta"]["role"], "assistant");
    assert!(
        chunks
            .iter()
            .all(|c| c["object"] == "chat.completion.chunk")
    );
    let calls = streamed_calls(&chunks);
    assert_eq!(calls.len(), 2);
    assert_eq!(calls[0].0, "call_paris");
    assert_eq!(calls[0].2, r#"{"city":"Paris"}"#);
    assert_eq!(calls[1].2, r#"{"city":"Oslo"}"#);
    // The finish chunk, then the usage chunk with no choices.
    let finish = &chunks[chunks.len() - 2];
    assert_eq!(finish["choices"][0]["finish_reason"], "tool_calls");
    let usage = &chunks[chunks.len() - 1];
    assert_eq!(usage["choices"], json!([]));
    assert!(usage["usage"]["completion_tokens"].as_u64().expect("usage") > 0);
}

#[tokio::test]
async fn streamed_responders_answer_sse_to_plain_requests() {
    let server = mounted(CannedCompletion::text("always a stream").streamed()).await;
    let reply = post_chat(*server.address(), &chat_body(&[]))
        .await
        .expect("a reply");
    let chunks = chunks(&reply);
    let text: String = chunks
        .iter()
        .filter_map(|c| c["choices"][0]["delta"]["content"].as_str())
        .collect();
    assert_eq!(text, "always a stream");
    // No include_usage: no usage chunk, every chunk has one choice.
    assert!(
        chunks
            .iter()
            .all(|c| c["choices"].as_array().map(Vec::len) == Some(1))
    );
    assert!(chunks.iter().all(|c| c.get("usage").is_none()));
}

#[tokio::test]
async fn requests_are_read_as_the_api_does() {
    let server = mounted(CannedCompletion::text("unused")).await;
    let reply = send(
        *server.address(),
        "POST",
        "/v1/chat/completions",
        &[("content-type", "application/json")],
        "{not json",
    )
    .await
    .expect("a reply");
    assert_error_body(&reply, 400, "invalid_request_error", Value::Null);
    let reply = post_chat(*server.address(), &json!({"model": "gpt-4o-mini"}))
        .await
        .expect("a reply");
    let message = assert_error_body(
        &reply,
        400,
        "invalid_request_error",
        json!("missing_required_parameter"),
    );
    assert!(message.contains("messages"), "{message}");
}

#[tokio::test]
async fn scripted_responder_answers_turn_after_turn_then_says_it_ran_out() {
    let responder = ChatResponder::scripted(
        Script::new()
            .tool_calls([ScriptedCall::new("get_weather", json!({"city": "Paris"})).id("c1")])
            .text("Sunny in Paris."),
    );
    let server = mounted(responder.clone()).await;
    let addr = *server.address();

    let first = post_chat(addr, &chat_body(&[weather()]))
        .await
        .expect("reply");
    assert_eq!(first.status, 200);
    assert_eq!(
        first.json()["choices"][0]["message"]["tool_calls"][0]["function"]["name"],
        "get_weather"
    );
    assert_eq!(responder.simulator().remaining_turns(), 1);

    let mut body = chat_body(&[weather()]);
    body["messages"] = json!([
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": null, "tool_calls": [
            {"id": "c1", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}}
        ]},
        {"role": "tool", "tool_call_id": "c1", "content": "{\"sky\":\"clear\"}"}
    ]);
    let second = post_chat(addr, &streaming(body.clone(), false))
        .await
        .expect("reply");
    let text: String = chunks(&second)
        .iter()
        .filter_map(|c| c["choices"][0]["delta"]["content"].as_str())
        .collect();
    assert_eq!(text, "Sunny in Paris.");
    responder.assert_consumed();

    let third = post_chat(addr, &body).await.expect("reply");
    let message = assert_error_body(&third, 500, "server_error", json!("script_exhausted"));
    assert!(message.contains("the script ran out"), "{message}");
    assert_eq!(
        responder.check_consumed(),
        Err(ScriptError::RanOut { requests: vec![2] })
    );

    let journal = responder.journal();
    assert_eq!(journal.len(), 3);
    assert_eq!(journal.entries()[1].tool_message_ids, ["c1"]);
    assert!(journal.entries()[1].stream);
}

#[tokio::test]
async fn scripted_faults_and_pairing_errors() {
    let responder = ChatResponder::scripted(
        Script::new()
            .fault(Fault::rate_limited(Duration::from_millis(1500)))
            .text("hello")
            .turn(
                toolcall_sim::Turn::tool_calls([ScriptedCall::new("get_weather", json!({}))])
                    .with_fault(Fault::Disconnect {
                        after_chunks: Some(2),
                    }),
            ),
    )
    .without_delay();
    let server = mounted(responder.clone()).await;
    let addr = *server.address();

    let limited = post_chat(addr, &chat_body(&[])).await.expect("reply");
    assert_error_body(&limited, 429, "requests", json!("rate_limit_exceeded"));
    assert_eq!(limited.header("retry-after"), Some("2"));
    assert_eq!(limited.header("retry-after-ms"), Some("1500"));

    // A tool message that answers no call: 400, and no turn used.
    let mut orphan = chat_body(&[]);
    orphan["messages"] = json!([
        {"role": "user", "content": "hi"},
        {"role": "tool", "tool_call_id": "nope", "content": "x"}
    ]);
    let refused = post_chat(addr, &orphan).await.expect("reply");
    let message = assert_error_body(&refused, 400, "invalid_request_error", Value::Null);
    assert!(message.contains("nope"), "{message}");

    let hello = post_chat(addr, &chat_body(&[])).await.expect("reply");
    assert_eq!(hello.json()["choices"][0]["message"]["content"], "hello");

    // A disconnect cannot cut wiremock's connection: the stream ends early.
    let cut = post_chat(addr, &streaming(chat_body(&[weather()]), false))
        .await
        .expect("reply");
    let data = cut.sse_data();
    assert_eq!(data.len(), 3, "the role chunk and two more: {data:?}");
    assert!(!data.contains(&"[DONE]".to_owned()));
    responder.assert_consumed();
}

#[tokio::test]
async fn auto_responder_calls_the_offered_tools() {
    let server = mounted(ChatResponder::auto(11)).await;
    let reply = post_chat(*server.address(), &chat_body(&[weather()]))
        .await
        .expect("reply");
    let body = reply.json();
    let call = &body["choices"][0]["message"]["tool_calls"][0];
    assert_eq!(call["function"]["name"], "get_weather");
    let arguments: Value =
        serde_json::from_str(call["function"]["arguments"].as_str().expect("text"))
            .expect("JSON arguments");
    assert!(arguments["city"].is_string(), "{arguments}");
}

#[tokio::test]
async fn error_responders() {
    let server = mounted(ErrorResponder::rate_limited(Duration::from_millis(2500))).await;
    let reply = post_chat(*server.address(), &chat_body(&[]))
        .await
        .expect("reply");
    let message = assert_error_body(&reply, 429, "requests", json!("rate_limit_exceeded"));
    assert!(message.contains("try again in 2.500s"), "{message}");
    assert_eq!(reply.header("retry-after"), Some("3"));
    assert_eq!(reply.header("retry-after-ms"), Some("2500"));

    let server = mounted(ErrorResponder::server_error()).await;
    let reply = post_chat(*server.address(), &chat_body(&[]))
        .await
        .expect("reply");
    assert_error_body(&reply, 500, "server_error", Value::Null);
    assert_eq!(reply.header("retry-after"), None);

    let server = mounted(ErrorResponder::bad_request(
        "Invalid value for 'temperature'",
        Some("temperature"),
    ))
    .await;
    let reply = post_chat(*server.address(), &chat_body(&[]))
        .await
        .expect("reply");
    let message = assert_error_body(&reply, 400, "invalid_request_error", Value::Null);
    assert_eq!(message, "Invalid value for 'temperature'");
    assert_eq!(reply.json()["error"]["param"], "temperature");
}
