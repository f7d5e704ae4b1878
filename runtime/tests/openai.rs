//! The OpenAI model against a wiremock server.
#![cfg(feature = "openai")]

use std::time::Duration;

use futures_util::StreamExt;
use serde_json::{Value, json};
use toolcall_runtime::{
    CallResult, ChatRequest, FinishReason, Message, Model, ModelError, OpenAiModel, Outcome,
    StreamEvent, ToolCall, ToolCallDelta, ToolChoice, ToolDefinition, Usage,
};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockBuilder, MockServer, ResponseTemplate};

const KEY: &str = "sk-test-very-secret-0123456789";

fn model(server: &MockServer) -> OpenAiModel {
    OpenAiModel::builder()
        .base_url(format!("{}/v1", server.uri()))
        .api_key(KEY)
        .backoff(Duration::from_millis(1), Duration::from_millis(4))
        .build()
        .expect("a model")
}

fn completions() -> MockBuilder {
    Mock::given(method("POST")).and(path("/v1/chat/completions"))
}

fn text_reply(text: &str) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({
        "id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": "gpt-test",
        "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": text}}],
        "usage": {"prompt_tokens": 10, "completion_tokens": 2, "total_tokens": 12}
    }))
}

fn api_error(status: u16, message: &str, code: &str) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_json(json!({
        "error": {"message": message, "type": "invalid_request_error", "param": null, "code": code}
    }))
}

/// How many requests the server received.
async fn requests(server: &MockServer) -> usize {
    server
        .received_requests()
        .await
        .expect("recording is on")
        .len()
}

async fn bodies(server: &MockServer) -> Vec<Value> {
    server
        .received_requests()
        .await
        .expect("recording is on")
        .iter()
        .map(|r| serde_json::from_slice(&r.body).expect("a JSON body"))
        .collect()
}

fn request() -> ChatRequest {
    ChatRequest::new("gpt-test", vec![Message::user("hi")])
}

fn result(id: &str, content: &str) -> CallResult {
    CallResult::new(id, "get_weather", Outcome::Ok, content).timed(Duration::ZERO, Duration::ZERO)
}

#[tokio::test]
async fn request_body_carries_tools_choice_and_tool_call_ids_in_order() {
    let server = MockServer::start().await;
    completions()
        .respond_with(text_reply("sunny"))
        .expect(1)
        .mount(&server)
        .await;

    let calls = vec![
        ToolCall::new("call_a", "get_weather", r#"{"city":"Paris"}"#),
        ToolCall::new("call_b", "get_weather", r#"{"city":"Oslo"}"#),
        ToolCall::new("call_c", "get_time", "{}"),
    ];
    let weather_schema = json!({
        "type": "object", "properties": {"city": {"type": "string"}},
        "required": ["city"], "additionalProperties": false
    });
    let mut request = ChatRequest::new(
        "",
        vec![
            Message::system("be brief"),
            Message::user("weather in Paris and Oslo, and the time?"),
            Message::assistant(None, calls),
            Message::tool(&result("call_a", "18C")),
            Message::tool(&result("call_b", "9C")),
            Message::tool(&result("call_c", "12:00")),
        ],
    );
    request.tools = vec![
        ToolDefinition::new("get_weather", "Weather in a city.", weather_schema.clone())
            .with_strict(true),
        ToolDefinition::new(
            "get_time",
            "The time.",
            json!({"type": "object", "properties": {}}),
        )
        .with_strict(false),
    ];
    request.tool_choice = Some(ToolChoice::Required);
    request.parallel_tool_calls = Some(true);

    let model = OpenAiModel::builder()
        .base_url(format!("{}/v1", server.uri()))
        .api_key(KEY)
        .model("default-model")
        .build()
        .expect("a model");
    let reply = model.complete(&request).await.expect("a reply");
    assert_eq!(reply.content.as_deref(), Some("sunny"));
    assert_eq!(reply.finish_reason, Some(FinishReason::Stop));
    assert_eq!(reply.usage, Some(Usage::new(10, 2)));

    let received = server.received_requests().await.expect("recording is on");
    assert_eq!(
        received[0]
            .headers
            .get("authorization")
            .and_then(|v| v.to_str().ok()),
        Some(format!("Bearer {KEY}").as_str())
    );
    let body = &bodies(&server).await[0];
    // An empty model name in the request falls back to the builder's.
    assert_eq!(body["model"], json!("default-model"));
    assert_eq!(body["tool_choice"], json!("required"));
    assert_eq!(body["parallel_tool_calls"], json!(true));
    assert!(body.get("stream").is_none(), "{body}");
    assert_eq!(
        body["tools"],
        json!([
            {"type": "function", "function": {"name": "get_weather", "description": "Weather in a city.", "parameters": weather_schema, "strict": true}},
            {"type": "function", "function": {"name": "get_time", "description": "The time.", "parameters": {"type": "object", "properties": {}}, "strict": false}}
        ])
    );
    let messages = body["messages"].as_array().expect("messages");
    let roles: Vec<&str> = messages
        .iter()
        .map(|m| m["role"].as_str().unwrap_or("?"))
        .collect();
    assert_eq!(
        roles,
        ["system", "user", "assistant", "tool", "tool", "tool"]
    );
    let asked: Vec<&Value> = messages[2]["tool_calls"]
        .as_array()
        .expect("tool calls")
        .iter()
        .map(|c| &c["id"])
        .collect();
    assert_eq!(
        asked,
        [&json!("call_a"), &json!("call_b"), &json!("call_c")]
    );
    assert_eq!(messages[2]["tool_calls"][0]["type"], json!("function"));
    assert_eq!(
        messages[2]["tool_calls"][0]["function"]["arguments"],
        json!(r#"{"city":"Paris"}"#)
    );
    let answered: Vec<(&Value, &Value)> = messages[3..]
        .iter()
        .map(|m| (&m["tool_call_id"], &m["content"]))
        .collect();
    assert_eq!(
        answered,
        [
            (&json!("call_a"), &json!("18C")),
            (&json!("call_b"), &json!("9C")),
            (&json!("call_c"), &json!("12:00"))
        ]
    );
}

#[tokio::test]
async fn tool_options_are_left_out_without_tools() {
    let server = MockServer::start().await;
    completions()
        .respond_with(text_reply("ok"))
        .mount(&server)
        .await;
    let mut request = request();
    request.tool_choice = Some(ToolChoice::Auto);
    request.parallel_tool_calls = Some(false);
    model(&server).complete(&request).await.expect("a reply");
    let body = &bodies(&server).await[0];
    assert_eq!(body["model"], json!("gpt-test"));
    for field in ["tools", "tool_choice", "parallel_tool_calls"] {
        assert!(body.get(field).is_none(), "{field} in {body}");
    }
}

#[tokio::test]
async fn tool_calls_in_the_reply_are_read_in_order() {
    let server = MockServer::start().await;
    completions()
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": "gpt-test",
            "choices": [{"index": 0, "finish_reason": "tool_calls", "message": {"role": "assistant", "content": null, "tool_calls": [
                {"id": "call_2", "type": "function", "function": {"name": "b", "arguments": "{\"x\":1}"}},
                {"id": "call_1", "type": "function", "function": {"name": "a", "arguments": "{}"}}
            ]}}]
        })))
        .mount(&server)
        .await;
    let reply = model(&server).complete(&request()).await.expect("a reply");
    assert_eq!(
        reply.tool_calls,
        vec![
            ToolCall::new("call_2", "b", "{\"x\":1}"),
            ToolCall::new("call_1", "a", "{}")
        ]
    );
    assert_eq!(reply.finish_reason, Some(FinishReason::ToolCalls));
    assert_eq!(reply.usage, None);
}

#[tokio::test]
async fn rate_limited_with_retry_after_then_ok_is_retried() {
    let server = MockServer::start().await;
    completions()
        .respond_with(
            api_error(429, "Rate limit reached", "rate_limit_exceeded")
                .insert_header("retry-after", "1"),
        )
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    completions()
        .respond_with(text_reply("after the wait"))
        .mount(&server)
        .await;

    let started = std::time::Instant::now();
    let reply = model(&server)
        .complete(&request())
        .await
        .expect("a reply after one retry");
    assert_eq!(reply.content.as_deref(), Some("after the wait"));
    assert_eq!(requests(&server).await, 2);
    // The wait came from Retry-After (1 s), not the 1 ms backoff.
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_retry_after_beyond_the_limit_is_not_waited_for() {
    let server = MockServer::start().await;
    completions()
        .respond_with(
            api_error(429, "Rate limit reached", "rate_limit_exceeded")
                .insert_header("retry-after", "120"),
        )
        .mount(&server)
        .await;
    let error = model(&server)
        .complete(&request())
        .await
        .expect_err("rate limited");
    assert_eq!(
        error,
        ModelError::RateLimited {
            retry_after: Some(Duration::from_secs(120)),
            message: "Rate limit reached".into()
        }
    );
    assert_eq!(requests(&server).await, 1);
}

#[tokio::test]
async fn rate_limits_that_persist_end_as_rate_limited() {
    let server = MockServer::start().await;
    completions()
        .respond_with(
            api_error(429, "Rate limit reached", "rate_limit_exceeded")
                .insert_header("retry-after-ms", "5"),
        )
        .mount(&server)
        .await;
    let model = OpenAiModel::builder()
        .base_url(format!("{}/v1", server.uri()))
        .api_key(KEY)
        .max_retries(2)
        .build()
        .expect("a model");
    let error = model.complete(&request()).await.expect_err("rate limited");
    assert_eq!(
        error,
        ModelError::RateLimited {
            retry_after: Some(Duration::from_millis(5)),
            message: "Rate limit reached".into()
        }
    );
    assert_eq!(requests(&server).await, 3);
}

#[tokio::test]
async fn a_bad_request_is_an_api_error_with_the_api_message() {
    let server = MockServer::start().await;
    let message = "Invalid 'messages[3].tool_call_id': no tool call with this id.";
    completions()
        .respond_with(api_error(400, message, "invalid_value"))
        .mount(&server)
        .await;
    let error = model(&server)
        .complete(&request())
        .await
        .expect_err("a 400");
    assert_eq!(
        error,
        ModelError::Api {
            status: 400,
            message: message.into(),
            code: Some("invalid_value".into())
        }
    );
    assert!(error.to_string().contains(message), "{error}");
    // Client errors are not retried.
    assert_eq!(requests(&server).await, 1);
}

#[tokio::test]
async fn server_errors_are_retried_a_bounded_number_of_times() {
    let server = MockServer::start().await;
    completions()
        .respond_with(ResponseTemplate::new(500).set_body_string("upstream exploded"))
        .mount(&server)
        .await;
    let model = OpenAiModel::builder()
        .base_url(format!("{}/v1", server.uri()))
        .api_key(KEY)
        .max_retries(2)
        .backoff(Duration::from_millis(1), Duration::from_millis(4))
        .build()
        .expect("a model");
    let error = model.complete(&request()).await.expect_err("always 500");
    assert_eq!(
        error,
        ModelError::Api {
            status: 500,
            message: "upstream exploded".into(),
            code: None
        }
    );
    assert_eq!(requests(&server).await, 3);
}

#[tokio::test]
async fn a_server_error_then_ok_succeeds() {
    let server = MockServer::start().await;
    completions()
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(2)
        .with_priority(1)
        .mount(&server)
        .await;
    completions()
        .respond_with(text_reply("back"))
        .mount(&server)
        .await;
    let reply = model(&server).complete(&request()).await.expect("a reply");
    assert_eq!(reply.content.as_deref(), Some("back"));
    assert_eq!(requests(&server).await, 3);
}

#[tokio::test]
async fn a_slow_answer_times_out_without_retries() {
    let server = MockServer::start().await;
    completions()
        .respond_with(text_reply("late").set_delay(Duration::from_secs(5)))
        .mount(&server)
        .await;
    let model = OpenAiModel::builder()
        .base_url(format!("{}/v1", server.uri()))
        .api_key(KEY)
        .timeout(Duration::from_millis(200))
        .build()
        .expect("a model");
    let error = model.complete(&request()).await.expect_err("too slow");
    assert_eq!(error, ModelError::Timeout(Duration::from_millis(200)));
    assert_eq!(requests(&server).await, 1);
}

#[tokio::test]
async fn a_refused_connection_is_a_transport_error_after_retries() {
    // Bind then drop a listener: its port now refuses connections.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let model = OpenAiModel::builder()
        .base_url(format!("http://127.0.0.1:{port}/v1"))
        .api_key(KEY)
        .max_retries(1)
        .backoff(Duration::from_millis(1), Duration::from_millis(1))
        .build()
        .expect("a model");
    let error = model
        .complete(&request())
        .await
        .expect_err("nothing listens");
    assert!(matches!(error, ModelError::Transport { .. }), "{error:?}");
    assert!(!error.to_string().contains(KEY));
}

#[tokio::test]
async fn a_reply_that_is_not_a_completion_is_an_invalid_response() {
    let server = MockServer::start().await;
    completions()
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"hello": "world"})))
        .mount(&server)
        .await;
    let error = model(&server)
        .complete(&request())
        .await
        .expect_err("not a completion");
    assert!(matches!(error, ModelError::InvalidResponse(_)), "{error:?}");
}

fn chunk(delta: Value, finish_reason: Value) -> String {
    let chunk = json!({
        "id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1, "model": "gpt-test",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}]
    });
    format!("data: {chunk}\n\n")
}

fn sse(body: String) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_raw(body, "text/event-stream")
}

#[tokio::test]
async fn streaming_yields_the_deltas_in_order() {
    let server = MockServer::start().await;
    let usage = json!({
        "id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1, "model": "gpt-test",
        "choices": [], "usage": {"prompt_tokens": 20, "completion_tokens": 9, "total_tokens": 29}
    });
    let body = [
        chunk(json!({"role": "assistant", "content": "Checking."}), Value::Null),
        chunk(
            json!({"tool_calls": [{"index": 0, "id": "call_a", "type": "function", "function": {"name": "get_weather", "arguments": ""}}]}),
            Value::Null,
        ),
        chunk(json!({"tool_calls": [{"index": 0, "function": {"arguments": "{\"city\":"}}]}), Value::Null),
        chunk(
            json!({"tool_calls": [{"index": 1, "id": "call_b", "type": "function", "function": {"name": "get_time", "arguments": "{}"}}]}),
            Value::Null,
        ),
        chunk(json!({"tool_calls": [{"index": 0, "function": {"arguments": "\"Paris\"}"}}]}), Value::Null),
        chunk(json!({}), json!("tool_calls")),
        format!("data: {usage}\n\n"),
        "data: [DONE]\n\n".to_owned(),
    ]
    .concat();
    completions().respond_with(sse(body)).mount(&server).await;

    let model = model(&server);
    let request = request();
    let events: Vec<StreamEvent> = model
        .stream(&request)
        .map(|event| event.expect("no error"))
        .collect()
        .await;
    let delta = |index, id: Option<&str>, name: Option<&str>, arguments: &str| {
        StreamEvent::ToolCall(ToolCallDelta {
            index,
            id: id.map(Into::into),
            name: name.map(Into::into),
            arguments: Some(arguments.into()),
        })
    };
    assert_eq!(
        events,
        vec![
            StreamEvent::Text("Checking.".into()),
            delta(0, Some("call_a"), Some("get_weather"), ""),
            delta(0, None, None, "{\"city\":"),
            delta(1, Some("call_b"), Some("get_time"), "{}"),
            delta(0, None, None, "\"Paris\"}"),
            StreamEvent::Finish(FinishReason::ToolCalls),
            StreamEvent::Usage(Usage::new(20, 9)),
        ]
    );

    let body = &bodies(&server).await[0];
    assert_eq!(body["stream"], json!(true));
    assert_eq!(body["stream_options"]["include_usage"], json!(true));
}

#[tokio::test]
async fn a_stream_that_breaks_midway_ends_with_an_error() {
    let server = MockServer::start().await;
    let body = [
        chunk(json!({"content": "Hel"}), Value::Null),
        "data: {\"error\": {\"message\": \"The server had an error\", \"type\": \"server_error\", \"param\": null, \"code\": null}}\n\n".to_owned(),
        chunk(json!({"content": "lo"}), Value::Null),
        "data: [DONE]\n\n".to_owned(),
    ]
    .concat();
    completions().respond_with(sse(body)).mount(&server).await;

    let model = model(&server);
    let request = request();
    let events: Vec<Result<StreamEvent, ModelError>> = model.stream(&request).collect().await;
    assert_eq!(events.len(), 2, "{events:?}");
    assert_eq!(events[0], Ok(StreamEvent::Text("Hel".into())));
    assert!(
        matches!(&events[1], Err(ModelError::InvalidResponse(m)) if m.contains("The server had an error")),
        "{:?}",
        events[1]
    );
}

#[tokio::test]
async fn a_stream_that_cannot_open_yields_the_error() {
    let server = MockServer::start().await;
    completions()
        .respond_with(api_error(
            401,
            "Incorrect API key provided.",
            "invalid_api_key",
        ))
        .mount(&server)
        .await;
    let model = model(&server);
    let request = request();
    let events: Vec<Result<StreamEvent, ModelError>> = model.stream(&request).collect().await;
    assert_eq!(
        events,
        vec![Err(ModelError::Api {
            status: 401,
            message: "Incorrect API key provided.".into(),
            code: Some("invalid_api_key".into())
        })]
    );
}

#[tokio::test]
async fn a_stream_is_retried_before_it_opens() {
    let server = MockServer::start().await;
    completions()
        .respond_with(ResponseTemplate::new(502))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    let body = [
        chunk(json!({"content": "ok"}), json!("stop")),
        "data: [DONE]\n\n".to_owned(),
    ]
    .concat();
    completions().respond_with(sse(body)).mount(&server).await;
    let model = model(&server);
    let request = request();
    let events: Vec<Result<StreamEvent, ModelError>> = model.stream(&request).collect().await;
    assert_eq!(
        events,
        vec![
            Ok(StreamEvent::Text("ok".into())),
            Ok(StreamEvent::Finish(FinishReason::Stop))
        ]
    );
    assert_eq!(requests(&server).await, 2);
}

#[test]
fn debug_does_not_show_the_key() {
    let builder = OpenAiModel::builder()
        .base_url("http://127.0.0.1:9/v1")
        .api_key(KEY);
    let builder_debug = format!("{builder:?}");
    assert!(!builder_debug.contains("secret"), "{builder_debug}");
    let model = builder.model("m").build().expect("a model");
    for debug in [format!("{model:?}"), format!("{model:#?}")] {
        assert!(!debug.contains(KEY) && !debug.contains("secret"), "{debug}");
        assert!(
            debug.contains("127.0.0.1:9") && debug.contains("redacted"),
            "{debug}"
        );
    }
}

/// A tool known only at run time: echoes its `text` argument.
struct Echo;

impl toolcall_runtime::Tool for Echo {
    fn name(&self) -> &str {
        "echo"
    }
    fn description(&self) -> &str {
        "Echo the text."
    }
    fn parameters(&self, _generator: &mut schemars::SchemaGenerator) -> Value {
        json!({"type": "object", "properties": {"text": {"type": "string"}}, "required": ["text"], "additionalProperties": false})
    }
    fn call(
        &self,
        arguments: &str,
        _state: &toolcall_runtime::StateMap,
    ) -> Result<toolcall_runtime::ToolFuture, toolcall_runtime::CallError> {
        let args: Value = serde_json::from_str(arguments)
            .map_err(|e| toolcall_runtime::CallError::InvalidArguments(e.to_string()))?;
        let text = args["text"].as_str().unwrap_or_default().to_owned();
        Ok(Box::pin(async move { Ok(text.into()) }))
    }
}

#[tokio::test]
async fn an_async_openai_user_can_adopt_dispatch_alone() {
    use async_openai::types::chat::{
        ChatCompletionRequestMessage, ChatCompletionTools, CreateChatCompletionRequest,
        CreateChatCompletionResponse,
    };

    let server = MockServer::start().await;
    completions()
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": "gpt-test",
            "choices": [{"index": 0, "finish_reason": "tool_calls", "message": {"role": "assistant", "content": null, "tool_calls": [
                {"id": "call_1", "type": "function", "function": {"name": "echo", "arguments": "{\"text\":\"one\"}"}},
                {"id": "call_2", "type": "function", "function": {"name": "nope", "arguments": "{}"}},
                {"id": "call_3", "type": "function", "function": {"name": "echo", "arguments": "{\"text\":\"three\"}"}}
            ]}}]
        })))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    completions()
        .respond_with(text_reply("done"))
        .mount(&server)
        .await;

    let tools = toolcall_runtime::ToolSet::builder()
        .add(Echo)
        .build()
        .expect("a tool set");
    let model = model(&server);
    let client = model.client();

    // Plain async-openai from here on, with toolcall's dispatch in the middle.
    let mut messages: Vec<ChatCompletionRequestMessage> = vec![Message::user("echo twice").into()];
    let offered: Vec<ChatCompletionTools> = tools.definitions().iter().map(Into::into).collect();
    let request = CreateChatCompletionRequest {
        model: "gpt-test".into(),
        messages: messages.clone(),
        tools: Some(offered.clone()),
        ..Default::default()
    };
    let response: CreateChatCompletionResponse =
        client.chat().create(request).await.expect("first reply");
    let message = response.choices[0].message.clone();
    let calls: Vec<ToolCall> = message
        .tool_calls
        .clone()
        .unwrap_or_default()
        .into_iter()
        .map(Into::into)
        .collect();
    let batch = tools.dispatch(&calls).await;
    messages.push(Message::assistant(message.content.clone(), calls.clone()).into());
    messages.extend(batch.results.iter().map(ChatCompletionRequestMessage::from));
    let request = CreateChatCompletionRequest {
        model: "gpt-test".into(),
        messages,
        tools: Some(offered),
        ..Default::default()
    };
    client.chat().create(request).await.expect("second reply");

    let second = &bodies(&server).await[1];
    let answers: Vec<(&str, &str)> = second["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .filter(|m| m["role"] == "tool")
        .map(|m| {
            (
                m["tool_call_id"].as_str().unwrap_or("?"),
                m["content"].as_str().unwrap_or("?"),
            )
        })
        .collect();
    assert_eq!(answers.len(), 3, "{second}");
    assert_eq!(
        (answers[0], answers[2]),
        (("call_1", "one"), ("call_3", "three"))
    );
    assert_eq!(answers[1].0, "call_2");
    assert!(
        answers[1].1.contains("nope"),
        "the unknown tool's result names it: {}",
        answers[1].1
    );
    assert_eq!(second["tools"][0]["function"]["name"], json!("echo"));
    assert_eq!(second["tools"][0]["function"]["strict"], json!(true));
}

/// A stream that closes cleanly but early (text, then no finish_reason and
/// no `[DONE]`) is an error, never a final answer.
#[tokio::test]
async fn a_stream_cut_short_is_an_error_not_an_answer() {
    let server = MockServer::start().await;
    let body = [
        chunk(
            json!({"role": "assistant", "content": "The dose"}),
            Value::Null,
        ),
        chunk(json!({"content": " is 5"}), Value::Null),
    ]
    .concat();
    completions().respond_with(sse(body)).mount(&server).await;
    let events: Vec<_> = model(&server).stream(&request()).collect().await;
    assert!(
        matches!(events.last(), Some(Err(ModelError::Transport { .. }))),
        "{events:?}"
    );
    let run = toolcall_runtime::Agent::new(
        model(&server),
        toolcall_runtime::ToolSet::builder().build().expect("tools"),
    )
    .streaming(toolcall_runtime::Streaming::Eager)
    .run("dose?")
    .await;
    assert!(run.is_err(), "a cut stream was taken as an answer: {run:?}");
}
