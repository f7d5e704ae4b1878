//! What current SDKs send and read, as the API answers it: bad parameters
//! get OpenAI's 400s, the `developer` and legacy `function` roles are read,
//! `response_format`, `max_tokens` and a forced `tool_choice` shape the
//! reply, `created` is today, and replies carry `x-ratelimit-*` headers.

mod common;

use common::{chat_body, post_chat, send, tool_def};
use serde_json::{Value, json};
use toolcall_sim::{Answer, Server};

fn weather() -> Value {
    tool_def(
        "get_weather",
        json!({"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"], "additionalProperties": false}),
    )
}

async fn auto() -> Server {
    Server::builder().seed(3).start().await.expect("start")
}

/// A 400 in OpenAI's shape: `{"error": {message, type, param, code}}`.
fn assert_400(reply: &common::Reply, param: &str, code: &str) -> String {
    assert_eq!(reply.status, 400, "{}", reply.text());
    let body = reply.json();
    assert_eq!(body["error"]["type"], "invalid_request_error", "{body}");
    assert_eq!(body["error"]["param"], param, "{body}");
    assert_eq!(body["error"]["code"], code, "{body}");
    body["error"]["message"]
        .as_str()
        .expect("a message")
        .to_owned()
}

#[tokio::test]
async fn bad_parameters_get_openai_400s_and_are_journalled() {
    let server = auto().await;
    let with = |key: &str, value: Value| {
        let mut body = chat_body(&[weather()]);
        body[key] = value;
        body
    };
    let cases = [
        (
            with(
                "tool_choice",
                json!({"type": "function", "function": {"name": "get_time"}}),
            ),
            "tool_choice",
            "invalid_value",
            "get_time",
        ),
        (
            with("stream", json!("yes")),
            "stream",
            "invalid_type",
            "expected a boolean, but got a string",
        ),
        (
            with("messages", json!([])),
            "messages",
            "empty_array",
            "empty array",
        ),
        (
            with("temperature", json!("hot")),
            "temperature",
            "invalid_type",
            "expected a decimal, but got a string",
        ),
        (
            with("temperature", json!(2.5)),
            "temperature",
            "above_max_value",
            "<= 2",
        ),
        (with("n", json!(0)), "n", "below_min_value", ">= 1"),
        (
            with("max_completion_tokens", json!(-5)),
            "max_completion_tokens",
            "below_min_value",
            "but got -5",
        ),
        (
            with("max_tokens", json!("many")),
            "max_tokens",
            "invalid_type",
            "expected an integer",
        ),
        (
            with("logprobs", json!(true)),
            "logprobs",
            "unsupported_parameter",
            "does not simulate",
        ),
        (
            with("n", json!(2)),
            "n",
            "unsupported_parameter",
            "one choice",
        ),
        (
            with("response_format", json!({"type": "xml"})),
            "response_format.type",
            "invalid_value",
            "'xml'",
        ),
    ];
    let count = cases.len();
    for (body, param, code, needle) in cases {
        let reply = post_chat(server.addr(), &body).await.expect("a reply");
        let message = assert_400(&reply, param, code);
        assert!(message.contains(needle), "{param}: {message}");
    }
    let mut no_tools = chat_body(&[]);
    no_tools["tool_choice"] = json!("required");
    let reply = post_chat(server.addr(), &no_tools).await.expect("a reply");
    assert_400(&reply, "tool_choice", "invalid_value");
    // A JSON array is not a body, even one that lines up with the fields.
    let reply = send(
        server.addr(),
        "POST",
        "/v1/chat/completions",
        &[("content-type", "application/json")],
        r#"["gpt-4o-mini", [{"role": "user", "content": "hi"}]]"#,
    )
    .await
    .expect("a reply");
    assert_eq!(reply.status, 400);
    let journal = server.journal();
    assert_eq!(journal.len(), count + 2);
    assert!(journal.entries().iter().all(|e| e.status() == 400));
    // The stream flag is journalled when it could be read.
    let mut streamed = with("stream", json!(true));
    streamed["messages"] = json!([]);
    let reply = post_chat(server.addr(), &streamed).await.expect("a reply");
    assert_eq!(reply.status, 400);
    assert!(server.journal().last().expect("an entry").stream);
}

#[tokio::test]
async fn developer_and_legacy_function_roles_are_read() {
    let server = auto().await;
    let mut body = chat_body(&[weather()]);
    body["messages"] = json!([
        {"role": "developer", "content": "Answer briefly."},
        {"role": "user", "content": "Weather in Paris?"},
        {"role": "assistant", "content": null, "function_call": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}},
        {"role": "function", "name": "get_weather", "content": "sunny"}
    ]);
    let reply = post_chat(server.addr(), &body).await.expect("a reply");
    assert_eq!(reply.status, 200, "{}", reply.text());
    let entry = server.journal().last().expect("an entry");
    let roles: Vec<&str> = entry.messages.iter().map(|m| m.role()).collect();
    assert_eq!(roles, ["system", "user", "assistant", "tool"]);
    assert_eq!(entry.tool_message_ids, ["get_weather"]);
    // The function's result is in: auto mode answers with text.
    assert_eq!(reply.json()["choices"][0]["finish_reason"], "stop");
}

#[tokio::test]
async fn auto_mode_answers_in_the_requested_json_schema() {
    let schema = json!({
        "type": "object",
        "properties": {
            "city": {"type": "string"},
            "temperature": {"type": "number"},
            "conditions": {"type": "string", "enum": ["sunny", "rain", "snow"]},
            "tags": {"type": "array", "items": {"type": "integer"}}
        },
        "required": ["city", "temperature", "conditions", "tags"],
        "additionalProperties": false
    });
    let validator = jsonschema::validator_for(&schema).expect("a valid schema");
    let server = auto().await;
    for seed_request in 0..5 {
        let mut body = chat_body(&[]);
        body["messages"][0]["content"] = json!(format!("question {seed_request}"));
        body["response_format"] = json!({"type": "json_schema", "json_schema": {"name": "weather", "strict": true, "schema": schema}});
        let reply = post_chat(server.addr(), &body).await.expect("a reply");
        assert_eq!(reply.status, 200, "{}", reply.text());
        let content = reply.json()["choices"][0]["message"]["content"]
            .as_str()
            .expect("text content")
            .to_owned();
        let answer: Value = serde_json::from_str(&content).expect("JSON content");
        assert!(validator.is_valid(&answer), "{answer} against {schema}");
    }
    let mut body = chat_body(&[]);
    body["response_format"] = json!({"type": "json_object"});
    let reply = post_chat(server.addr(), &body).await.expect("a reply");
    let content = reply.json()["choices"][0]["message"]["content"]
        .as_str()
        .expect("text")
        .to_owned();
    assert!(
        serde_json::from_str::<Value>(&content)
            .expect("JSON")
            .is_object()
    );
}

#[tokio::test]
async fn max_tokens_cuts_the_reply_with_finish_reason_length() {
    let server = auto().await;
    for key in ["max_tokens", "max_completion_tokens"] {
        let mut body = chat_body(&[weather()]);
        body[key] = json!(2);
        let reply = post_chat(server.addr(), &body).await.expect("a reply");
        let body = reply.json();
        let choice = &body["choices"][0];
        assert_eq!(choice["finish_reason"], "length", "{key}: {body}");
        assert_eq!(body["usage"]["completion_tokens"], 2, "{body}");
        // The call's header and one fragment: its arguments are cut short.
        let arguments = choice["message"]["tool_calls"][0]["function"]["arguments"]
            .as_str()
            .expect("arguments");
        assert!(
            serde_json::from_str::<Value>(arguments).is_err(),
            "{arguments}"
        );
        // Streamed, the finish chunk says the same.
        let mut streamed = chat_body(&[weather()]);
        streamed[key] = json!(2);
        streamed["stream"] = json!(true);
        let reply = post_chat(server.addr(), &streamed).await.expect("a reply");
        let data = reply.sse_data();
        let finish: Value = serde_json::from_str(&data[data.len() - 2]).expect("a chunk");
        assert_eq!(finish["choices"][0]["finish_reason"], "length");
    }
    // Room enough: the reply is whole.
    let mut body = chat_body(&[weather()]);
    body["max_tokens"] = json!(4096);
    let reply = post_chat(server.addr(), &body).await.expect("a reply");
    assert_eq!(reply.json()["choices"][0]["finish_reason"], "tool_calls");
}

#[tokio::test]
async fn only_a_named_tool_choice_ends_with_stop_as_openai_does() {
    let server = auto().await;
    // A named function ends with "stop"; `required`, like a call left to
    // the model, with "tool_calls".
    for (choice, finish) in [
        (
            json!({"type": "function", "function": {"name": "get_weather"}}),
            "stop",
        ),
        (json!("required"), "tool_calls"),
        (json!("auto"), "tool_calls"),
    ] {
        let mut body = chat_body(&[weather()]);
        body["tool_choice"] = choice.clone();
        let reply = post_chat(server.addr(), &body).await.expect("a reply");
        let whole = reply.json();
        assert_eq!(
            whole["choices"][0]["finish_reason"], finish,
            "{choice}: {whole}"
        );
        assert_eq!(
            whole["choices"][0]["message"]["tool_calls"][0]["function"]["name"],
            "get_weather"
        );
        let entry = server.journal().last().expect("an entry");
        assert!(matches!(&entry.answer, Answer::Reply(r) if r.tool_calls.len() == 1));
        body["stream"] = json!(true);
        let reply = post_chat(server.addr(), &body).await.expect("a reply");
        let data = reply.sse_data();
        let last: Value = serde_json::from_str(&data[data.len() - 2]).expect("a chunk");
        assert_eq!(
            last["choices"][0]["finish_reason"], finish,
            "{choice}: {last}"
        );
    }
}

#[tokio::test]
async fn a_forced_tool_ends_with_tool_use_on_anthropic_and_stop_on_gemini() {
    let server = auto().await;
    let schema =
        json!({"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]});
    for choice in [
        json!({"type": "any"}),
        json!({"type": "tool", "name": "get_weather"}),
    ] {
        let body = json!({
            "model": "claude-sonnet-4-5",
            "max_tokens": 1024,
            "messages": [{"role": "user", "content": "Weather in Paris?"}],
            "tools": [{"name": "get_weather", "input_schema": schema}],
            "tool_choice": choice,
        });
        let headers = [
            ("content-type", "application/json"),
            ("anthropic-version", "2023-06-01"),
        ];
        let reply = send(
            server.addr(),
            "POST",
            "/v1/messages",
            &headers,
            body.to_string(),
        )
        .await
        .expect("a reply");
        let reply = reply.json();
        assert_eq!(reply["stop_reason"], "tool_use", "{choice}: {reply}");
        assert_eq!(reply["content"][0]["name"], "get_weather", "{reply}");
    }
    for mode in [
        json!({"mode": "ANY"}),
        json!({"mode": "ANY", "allowedFunctionNames": ["get_weather"]}),
    ] {
        let body = json!({
            "contents": [{"role": "user", "parts": [{"text": "Weather in Paris?"}]}],
            "tools": [{"functionDeclarations": [{"name": "get_weather", "parametersJsonSchema": schema}]}],
            "toolConfig": {"functionCallingConfig": mode},
        });
        let reply = send(
            server.addr(),
            "POST",
            "/v1beta/models/gemini-2.5-flash:generateContent",
            &[("content-type", "application/json")],
            body.to_string(),
        )
        .await
        .expect("a reply");
        let reply = reply.json();
        let candidate = &reply["candidates"][0];
        assert_eq!(candidate["finishReason"], "STOP", "{mode}: {reply}");
        assert_eq!(
            candidate["content"]["parts"][0]["functionCall"]["name"], "get_weather",
            "{reply}"
        );
    }
}

#[tokio::test]
async fn created_is_now_and_rate_limit_headers_are_sent() {
    let server = auto().await;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970")
        .as_secs();
    let reply = post_chat(server.addr(), &chat_body(&[]))
        .await
        .expect("a reply");
    let created = reply.json()["created"].as_u64().expect("created");
    assert!(created.abs_diff(now) <= 5, "created {created}, now {now}");
    for name in [
        "x-ratelimit-limit-requests",
        "x-ratelimit-remaining-requests",
        "x-ratelimit-reset-requests",
        "x-ratelimit-limit-tokens",
        "x-ratelimit-remaining-tokens",
        "x-ratelimit-reset-tokens",
    ] {
        assert!(reply.header(name).is_some_and(|v| !v.is_empty()), "{name}");
    }
    let limit: u64 = reply
        .header("x-ratelimit-limit-requests")
        .and_then(|v| v.parse().ok())
        .expect("a number");
    let remaining: u64 = reply
        .header("x-ratelimit-remaining-requests")
        .and_then(|v| v.parse().ok())
        .expect("a number");
    assert!(remaining < limit);
}

#[tokio::test]
async fn anthropic_max_tokens_stops_the_reply_with_max_tokens() {
    let server = auto().await;
    let body = json!({
        "model": "claude-sonnet-4-5",
        "max_tokens": 2,
        "messages": [{"role": "user", "content": "Weather in Paris?"}],
        "tools": [{"name": "get_weather", "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}]
    });
    let reply = send(
        server.addr(),
        "POST",
        "/v1/messages",
        &[
            ("content-type", "application/json"),
            ("anthropic-version", "2023-06-01"),
        ],
        body.to_string(),
    )
    .await
    .expect("a reply");
    assert_eq!(reply.status, 200, "{}", reply.text());
    let reply = reply.json();
    assert_eq!(reply["stop_reason"], "max_tokens", "{reply}");
    assert_eq!(reply["usage"]["output_tokens"], 2, "{reply}");
}
