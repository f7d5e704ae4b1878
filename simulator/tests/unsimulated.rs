//! What the simulator does not simulate gets a clear answer in the
//! vendor's shape, never a silent ignore: a body parameter no API has is a
//! 400 in each format's words (every parameter the official SDKs send is
//! accepted), Anthropic's `count_tokens` is simulated, Message Batches are
//! refused by name, and `/v1/models` answers in the shape of the client
//! that asks.

mod common;

use common::{Reply, chat_body, post_chat, send};
use serde_json::{Value, json};
use toolcall_sim::{Server, Simulator};

async fn server() -> Server {
    Server::builder().seed(2).start().await.expect("start")
}

const ANTHROPIC: [(&str, &str); 2] = [
    ("content-type", "application/json"),
    ("anthropic-version", "2023-06-01"),
];

fn message_body() -> Value {
    json!({
        "model": "claude-sonnet-4-5",
        "max_tokens": 1024,
        "system": "You look up the weather.",
        "messages": [{"role": "user", "content": "Weather in Paris and in Rome?"}],
        "tools": [{"name": "get_weather", "description": "The weather of a city", "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}],
    })
}

async fn post(server: &Server, path: &str, headers: &[(&str, &str)], body: &Value) -> Reply {
    send(server.addr(), "POST", path, headers, body.to_string())
        .await
        .expect("a reply")
}

/// An Anthropic error: `{"type": "error", "error": {"type", "message"}}`.
fn anthropic_error(reply: &Reply, status: u16, kind: &str) -> String {
    assert_eq!(reply.status, status, "{}", reply.text());
    let body = reply.json();
    assert_eq!(body["type"], "error", "{body}");
    assert_eq!(body["error"]["type"], kind, "{body}");
    body["error"]["message"]
        .as_str()
        .expect("a message")
        .to_owned()
}

#[tokio::test]
async fn unknown_parameters_are_refused_in_each_vendors_words() {
    let server = server().await;
    // Chat Completions.
    let mut chat = chat_body(&[]);
    chat["frobnicate"] = json!(true);
    let reply = post_chat(server.addr(), &chat).await.expect("a reply");
    assert_eq!(reply.status, 400, "{}", reply.text());
    let error = &reply.json()["error"];
    assert_eq!(
        error["message"], "Unrecognized request argument supplied: frobnicate",
        "{error}"
    );
    assert_eq!(error["type"], "invalid_request_error");
    // Responses.
    let body = json!({"model": "gpt-4.1", "input": "hi", "frobnicate": 1});
    let reply = post(
        &server,
        "/v1/responses",
        &[("content-type", "application/json")],
        &body,
    )
    .await;
    assert_eq!(reply.status, 400, "{}", reply.text());
    let error = &reply.json()["error"];
    assert_eq!(
        error["message"], "Unknown parameter: 'frobnicate'.",
        "{error}"
    );
    assert_eq!(error["param"], "frobnicate");
    assert_eq!(error["code"], "unknown_parameter");
    // Anthropic Messages.
    let mut body = message_body();
    body["frobnicate"] = json!({});
    let reply = post(&server, "/v1/messages", &ANTHROPIC, &body).await;
    let message = anthropic_error(&reply, 400, "invalid_request_error");
    assert_eq!(message, "frobnicate: Extra inputs are not permitted");
    // Each refusal is journalled, as every refused request is.
    let journal = server.journal();
    assert_eq!(journal.stats().requests, 3);
    assert_eq!(journal.stats().errors, 3);
}

/// Every parameter the official SDKs can send (openai-python's
/// `CompletionCreateParamsBase`, `ResponseCreateParamsBase`,
/// anthropic-sdk-python's `MessageCreateParamsBase` with beta) is accepted,
/// whether the simulator uses it or not.
#[tokio::test]
async fn every_parameter_of_the_official_sdks_is_accepted() {
    let server = server().await;
    let mut chat = chat_body(&[]);
    for (name, value) in [
        ("audio", Value::Null),
        ("frequency_penalty", json!(0.5)),
        ("function_call", json!("auto")),
        (
            "functions",
            json!([{"name": "f", "parameters": {"type": "object"}}]),
        ),
        ("logit_bias", json!({"50256": -100})),
        ("metadata", json!({"k": "v"})),
        ("modalities", json!(["text"])),
        ("moderation", Value::Null),
        ("prediction", Value::Null),
        ("presence_penalty", json!(0.1)),
        ("prompt_cache_key", json!("k")),
        ("prompt_cache_options", json!({"mode": "implicit"})),
        ("prompt_cache_retention", json!("24h")),
        ("service_tier", json!("auto")),
        ("store", json!(false)),
        ("verbosity", json!("low")),
        ("web_search_options", json!({})),
        ("safety_identifier", json!("u-1")),
        ("user", json!("u-1")),
        ("n", json!(1)),
    ] {
        chat[name] = value;
    }
    let reply = post_chat(server.addr(), &chat).await.expect("a reply");
    assert_eq!(reply.status, 200, "{}", reply.text());

    let mut responses = json!({"model": "gpt-4.1", "input": "hi"});
    for (name, value) in [
        ("background", json!(false)),
        ("context_management", Value::Null),
        ("conversation", Value::Null),
        ("include", json!([])),
        ("instructions", json!("Be brief.")),
        ("max_tool_calls", json!(4)),
        ("metadata", json!({})),
        ("moderation", Value::Null),
        ("prompt", Value::Null),
        ("prompt_cache_key", json!("k")),
        ("prompt_cache_options", json!({})),
        ("prompt_cache_retention", json!("in_memory")),
        ("safety_identifier", json!("u")),
        ("service_tier", json!("auto")),
        ("store", json!(true)),
        ("stream_options", Value::Null),
        ("top_logprobs", Value::Null),
        ("truncation", json!("auto")),
        ("user", json!("u")),
    ] {
        responses[name] = value;
    }
    let reply = post(
        &server,
        "/v1/responses",
        &[("content-type", "application/json")],
        &responses,
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.text());

    let mut message = message_body();
    for (name, value) in [
        ("cache_control", Value::Null),
        ("container", Value::Null),
        ("context_management", Value::Null),
        ("diagnostics", Value::Null),
        ("fallback_credit_token", Value::Null),
        ("fallbacks", Value::Null),
        ("inference_geo", Value::Null),
        ("mcp_servers", json!([])),
        ("metadata", json!({"user_id": "u"})),
        ("service_tier", json!("auto")),
        ("speed", Value::Null),
        ("top_k", json!(5)),
    ] {
        message[name] = value;
    }
    let reply = post(&server, "/v1/messages", &ANTHROPIC, &message).await;
    assert_eq!(reply.status, 200, "{}", reply.text());
}

#[tokio::test]
async fn count_tokens_counts_as_the_usage_of_a_reply_does() {
    let server = server().await;
    let body = message_body();
    let reply = post(&server, "/v1/messages", &ANTHROPIC, &body).await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    let used = reply.json()["usage"]["input_tokens"].clone();
    assert!(used.as_u64().is_some_and(|n| n > 10), "{used}");

    let mut count = body.clone();
    count
        .as_object_mut()
        .expect("an object")
        .remove("max_tokens");
    let reply = post(&server, "/v1/messages/count_tokens", &ANTHROPIC, &count).await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(reply.json(), json!({"input_tokens": used}));
    // More text, more tokens.
    count["messages"][0]["content"] =
        json!("Weather in Paris, Rome, Oslo, Lima, Nairobi and Hanoi?");
    let reply = post(&server, "/v1/messages/count_tokens", &ANTHROPIC, &count).await;
    let more = reply.json()["input_tokens"].as_u64().expect("a count");
    assert!(more > used.as_u64().unwrap_or(0), "{more} vs {used}");
    // Counting is no request for a reply: the journal holds the one message.
    assert_eq!(server.journal().stats().requests, 1);

    // Checked as the API checks it: no `max_tokens` here, and the same
    // checks as `/v1/messages` otherwise.
    let reply = post(&server, "/v1/messages/count_tokens", &ANTHROPIC, &body).await;
    let message = anthropic_error(&reply, 400, "invalid_request_error");
    assert_eq!(message, "max_tokens: Extra inputs are not permitted");
    let reply = post(
        &server,
        "/v1/messages/count_tokens",
        &ANTHROPIC,
        &json!({"model": "claude-sonnet-4-5"}),
    )
    .await;
    let message = anthropic_error(&reply, 400, "invalid_request_error");
    assert_eq!(message, "messages: Field required");
    let reply = send(
        server.addr(),
        "GET",
        "/v1/messages/count_tokens",
        &ANTHROPIC,
        "",
    )
    .await
    .expect("a reply");
    anthropic_error(&reply, 405, "invalid_request_error");
}

#[tokio::test]
async fn message_batches_are_refused_by_name_and_not_retried() {
    let server = server().await;
    let create = json!({"requests": [{"custom_id": "a", "params": message_body()}]});
    for (method, path) in [
        ("POST", "/v1/messages/batches"),
        ("GET", "/v1/messages/batches"),
        ("GET", "/v1/messages/batches/msgbatch_01/results"),
        ("POST", "/v1/messages/batches/msgbatch_01/cancel"),
        ("DELETE", "/v1/messages/batches/msgbatch_01"),
    ] {
        let reply = send(server.addr(), method, path, &ANTHROPIC, create.to_string())
            .await
            .expect("a reply");
        let message = anthropic_error(&reply, 501, "api_error");
        assert!(
            message.contains("Message Batches") && message.contains("/v1/messages"),
            "{method} {path}: {message}"
        );
        // The SDKs retry a 5xx unless told not to.
        assert_eq!(reply.header("x-should-retry"), Some("false"), "{path}");
    }
}

#[tokio::test]
async fn models_answer_in_the_shape_of_the_client_that_asks() {
    let server = server().await;
    // OpenAI's shape by default.
    let reply = send(server.addr(), "GET", "/v1/models", &[], "")
        .await
        .expect("a reply");
    let list = reply.json();
    assert_eq!(list["object"], "list", "{list}");
    assert_eq!(list["data"][0]["object"], "model", "{list}");
    assert!(list.get("has_more").is_none(), "{list}");

    // Anthropic's `ModelInfo` page when the client sends its version or key.
    for header in [("anthropic-version", "2023-06-01"), ("x-api-key", "sk-ant")] {
        let reply = send(server.addr(), "GET", "/v1/models", &[header], "")
            .await
            .expect("a reply");
        let page = reply.json();
        assert_eq!(page["has_more"], false, "{page}");
        let data = page["data"].as_array().expect("data");
        assert!(!data.is_empty());
        assert_eq!(page["first_id"], data[0]["id"]);
        assert_eq!(page["last_id"], data[data.len() - 1]["id"]);
        for model in data {
            assert_eq!(model["type"], "model", "{model}");
            assert!(model["display_name"].is_string(), "{model}");
            let created = model["created_at"].as_str().expect("created_at");
            // RFC 3339, UTC: 2026-12-07T03:04:05Z.
            assert_eq!(created.len(), 20, "{created}");
            assert!(
                created.ends_with('Z') && created.as_bytes()[10] == b'T',
                "{created}"
            );
        }
        let id = data[0]["id"].as_str().expect("an id");
        let reply = send(
            server.addr(),
            "GET",
            &format!("/v1/models/{id}"),
            &[header],
            "",
        )
        .await
        .expect("a reply");
        assert_eq!(reply.json(), data[0]);
        let reply = send(
            server.addr(),
            "GET",
            "/v1/models/claude-none",
            &[header],
            "",
        )
        .await
        .expect("a reply");
        let message = anthropic_error(&reply, 404, "not_found_error");
        assert_eq!(message, "model: claude-none");
    }

    // Configured models are listed in both shapes.
    let server = Simulator::builder()
        .models(["claude-opus-4-1"])
        .server()
        .start()
        .await
        .expect("start");
    let reply = send(server.addr(), "GET", "/v1/models", &ANTHROPIC, "")
        .await
        .expect("a reply");
    assert_eq!(reply.json()["data"][0]["id"], "claude-opus-4-1");
}
