//! The OpenAI Responses model against a wiremock server: what it sends
//! (chained or whole), how it reads streams that end badly, and retries.
#![cfg(feature = "openai-responses")]

use std::time::Duration;

use futures_util::StreamExt;
use serde_json::{Value, json};
use toolcall_runtime::{
    ChatRequest, FinishReason, Message, Model, ModelError, OpenAiResponsesModel, StreamEvent,
    ToolCall, ToolDefinition,
};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockBuilder, MockServer, ResponseTemplate};

fn model(server: &MockServer, chain: bool) -> OpenAiResponsesModel {
    OpenAiResponsesModel::builder()
        .base_url(format!("{}/v1", server.uri()))
        .api_key("sk-test")
        .backoff(Duration::from_millis(1), Duration::from_millis(4))
        .chain_responses(chain)
        .build()
        .expect("a model")
}

fn responses() -> MockBuilder {
    Mock::given(method("POST")).and(path("/v1/responses"))
}

fn response(id: &str, output: Value) -> Value {
    json!({
        "id": id, "object": "response", "created_at": 1, "status": "completed", "model": "gpt-test",
        "output": output, "parallel_tool_calls": true, "tool_choice": "auto", "tools": [],
        "usage": {"input_tokens": 10, "input_tokens_details": {"cached_tokens": 0},
                  "output_tokens": 2, "output_tokens_details": {"reasoning_tokens": 0}, "total_tokens": 12}
    })
}

fn calls_reply(id: &str) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(response(
        id,
        json!([
            {"type": "function_call", "id": "fc_1", "call_id": "call_a", "name": "get_weather", "arguments": "{\"city\":\"Paris\"}", "status": "completed"},
            {"type": "function_call", "id": "fc_2", "call_id": "call_b", "name": "get_weather", "arguments": "{\"city\":\"Oslo\"}", "status": "completed"}
        ]),
    ))
}

fn text_reply(id: &str, text: &str) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(response(
        id,
        json!([{"type": "message", "id": "msg_1", "status": "completed", "role": "assistant",
                "content": [{"type": "output_text", "text": text, "annotations": []}]}]),
    ))
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
    let mut request = ChatRequest::new(
        "gpt-test",
        vec![Message::system("be brief"), Message::user("weather?")],
    );
    request.tools = vec![
        ToolDefinition::new(
            "get_weather",
            "Weather in a city.",
            json!({"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"], "additionalProperties": false}),
        )
        .with_strict(true),
    ];
    request
}

/// The agent's next request: the reply, then one result per call.
fn continued(mut request: ChatRequest, reply: &toolcall_runtime::ChatResponse) -> ChatRequest {
    request.messages.push(reply.to_message());
    for call in &reply.tool_calls {
        request.messages.push(Message::tool_result(
            call.id.clone(),
            format!("{} ok", call.id),
        ));
    }
    request
}

fn input_types(body: &Value) -> Vec<String> {
    body["input"]
        .as_array()
        .expect("input items")
        .iter()
        .map(|i| i["type"].as_str().unwrap_or("").to_owned())
        .collect()
}

#[tokio::test]
async fn a_continued_transcript_is_sent_as_previous_response_id_and_the_new_items() {
    let server = MockServer::start().await;
    responses()
        .respond_with(calls_reply("resp_1"))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    responses()
        .respond_with(text_reply("resp_2", "Sunny and cold."))
        .mount(&server)
        .await;
    let model = model(&server, true);
    let first = request();
    let reply = model.complete(&first).await.expect("a reply");
    assert_eq!(
        reply.tool_calls,
        vec![
            ToolCall::new("call_a", "get_weather", "{\"city\":\"Paris\"}"),
            ToolCall::new("call_b", "get_weather", "{\"city\":\"Oslo\"}"),
        ]
    );
    assert_eq!(reply.finish_reason, Some(FinishReason::ToolCalls));
    let second = continued(first, &reply);
    let answer = model.complete(&second).await.expect("an answer");
    assert_eq!(answer.content.as_deref(), Some("Sunny and cold."));

    let bodies = bodies(&server).await;
    assert_eq!(bodies[0]["instructions"], json!("be brief"));
    assert_eq!(bodies[0]["store"], json!(true));
    assert!(bodies[0].get("previous_response_id").is_none());
    assert_eq!(bodies[0]["tools"][0]["strict"], json!(true));
    assert_eq!(bodies[0]["tools"][0]["type"], json!("function"));
    assert_eq!(input_types(&bodies[0]), ["message"]);
    // Only the outputs, after the stored response; the instructions again.
    assert_eq!(bodies[1]["previous_response_id"], json!("resp_1"));
    assert_eq!(bodies[1]["instructions"], json!("be brief"));
    assert_eq!(
        input_types(&bodies[1]),
        ["function_call_output", "function_call_output"]
    );
    assert_eq!(bodies[1]["input"][1]["call_id"], json!("call_b"));
    assert_eq!(bodies[1]["input"][1]["output"], json!("call_b ok"));

    // Without chaining, the whole transcript every time.
    let plain = self::model(&server, false);
    plain.complete(&second).await.expect("an answer");
    let bodies = self::bodies(&server).await;
    assert!(bodies[2].get("previous_response_id").is_none());
    assert!(bodies[2].get("store").is_none());
    assert_eq!(
        input_types(&bodies[2]),
        [
            "message",
            "function_call",
            "function_call",
            "function_call_output",
            "function_call_output"
        ]
    );
}

#[tokio::test]
async fn a_lost_previous_response_gets_the_whole_transcript() {
    let server = MockServer::start().await;
    responses()
        .respond_with(calls_reply("resp_1"))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    responses()
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({"error": {
            "message": "Previous response with id 'resp_1' not found.", "type": "invalid_request_error",
            "param": "previous_response_id", "code": "previous_response_not_found"}})))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    responses()
        .respond_with(text_reply("resp_3", "done"))
        .mount(&server)
        .await;
    let model = model(&server, true);
    let first = request();
    let reply = model.complete(&first).await.expect("a reply");
    let answer = model
        .complete(&continued(first, &reply))
        .await
        .expect("an answer");
    assert_eq!(answer.content.as_deref(), Some("done"));
    let bodies = bodies(&server).await;
    assert_eq!(bodies.len(), 3);
    assert_eq!(bodies[1]["previous_response_id"], json!("resp_1"));
    assert!(bodies[2].get("previous_response_id").is_none());
    assert_eq!(input_types(&bodies[2]).len(), 5);
}

fn sse(events: &[Value]) -> ResponseTemplate {
    let body: String = events
        .iter()
        .map(|e| format!("event: {}\ndata: {e}\n\n", e["type"].as_str().unwrap_or("")))
        .collect();
    ResponseTemplate::new(200)
        .insert_header("content-type", "text/event-stream")
        .set_body_string(body)
}

fn call_events() -> Vec<Value> {
    vec![
        json!({"type": "response.created", "sequence_number": 0, "response": response("resp_s", json!([]))}),
        // A type this async-openai does not know: skipped.
        json!({"type": "response.some_future_event", "sequence_number": 1, "detail": 1}),
        json!({"type": "response.output_item.added", "sequence_number": 2, "output_index": 0,
               "item": {"type": "function_call", "id": "fc_1", "call_id": "call_a", "name": "get_weather", "arguments": "", "status": "in_progress"}}),
        json!({"type": "response.function_call_arguments.delta", "sequence_number": 3, "item_id": "fc_1", "output_index": 0, "delta": "{\"city\":"}),
        json!({"type": "response.function_call_arguments.delta", "sequence_number": 4, "item_id": "fc_1", "output_index": 0, "delta": "\"Paris\"}"}),
        json!({"type": "response.function_call_arguments.done", "sequence_number": 5, "item_id": "fc_1", "output_index": 0, "arguments": "{\"city\":\"Paris\"}"}),
    ]
}

async fn collect(model: &OpenAiResponsesModel) -> Vec<Result<StreamEvent, ModelError>> {
    let request = request();
    model.stream(&request).collect().await
}

#[tokio::test]
async fn a_stream_that_ends_without_completed_is_an_error() {
    let server = MockServer::start().await;
    responses()
        .respond_with(sse(&call_events()))
        .mount(&server)
        .await;
    let events = collect(&model(&server, false)).await;
    assert!(
        events.contains(&Ok(StreamEvent::ToolCallDone(0))),
        "{events:?}"
    );
    assert!(
        matches!(events.last(), Some(Err(ModelError::Transport { message, .. })) if message.contains("response.completed")),
        "{events:?}"
    );
}

#[tokio::test]
async fn failed_and_error_events_end_the_stream_with_an_error() {
    let server = MockServer::start().await;
    let mut failed = response("resp_s", json!([]));
    failed["status"] = json!("failed");
    failed["error"] = json!({"code": "server_error", "message": "the model broke"});
    let mut events = call_events();
    events.push(json!({"type": "response.failed", "sequence_number": 6, "response": failed}));
    responses()
        .respond_with(sse(&events))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    let mut events = call_events();
    events.push(json!({"type": "error", "sequence_number": 6, "code": "server_error", "message": "overloaded", "param": null}));
    responses().respond_with(sse(&events)).mount(&server).await;
    let model = model(&server, false);
    let first = collect(&model).await;
    assert!(
        matches!(first.last(), Some(Err(ModelError::InvalidResponse(m))) if m.contains("the model broke")),
        "{first:?}"
    );
    assert!(
        !first
            .iter()
            .any(|e| matches!(e, Ok(StreamEvent::Finish(_))))
    );
    let second = collect(&model).await;
    assert!(
        matches!(second.last(), Some(Err(ModelError::InvalidResponse(m))) if m.contains("overloaded")),
        "{second:?}"
    );
}

#[tokio::test]
async fn a_completed_stream_is_chained_too() {
    let server = MockServer::start().await;
    let mut events = call_events();
    let mut done = response(
        "resp_s",
        json!([{"type": "function_call", "id": "fc_1", "call_id": "call_a", "name": "get_weather",
                "arguments": "{\"city\":\"Paris\"}", "status": "completed"}]),
    );
    done["status"] = json!("completed");
    events.push(json!({"type": "response.completed", "sequence_number": 6, "response": done}));
    responses()
        .respond_with(sse(&events))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    responses()
        .respond_with(text_reply("resp_2", "ok"))
        .mount(&server)
        .await;
    let model = model(&server, true);
    let first = request();
    let events: Vec<StreamEvent> = model
        .stream(&first)
        .map(|e| e.expect("an event"))
        .collect()
        .await;
    assert_eq!(
        events.last(),
        Some(&StreamEvent::Usage(toolcall_runtime::Usage::new(10, 2)))
    );
    let mut assembler = toolcall_runtime::stream::CallAssembler::new();
    events.into_iter().for_each(|e| assembler.push(e));
    let reply = assembler.into_response();
    model
        .complete(&continued(first, &reply))
        .await
        .expect("an answer");
    let bodies = bodies(&server).await;
    assert_eq!(bodies[0]["stream"], json!(true));
    assert_eq!(bodies[1]["previous_response_id"], json!("resp_s"));
    assert_eq!(input_types(&bodies[1]), ["function_call_output"]);
}

#[tokio::test]
async fn rate_limits_are_retried_as_for_chat() {
    let server = MockServer::start().await;
    responses()
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("retry-after-ms", "5")
                .set_body_json(json!({"error": {"message": "slow down", "type": "requests", "param": null, "code": "rate_limit_exceeded"}})),
        )
        .up_to_n_times(1)
        .mount(&server)
        .await;
    responses()
        .respond_with(text_reply("resp_1", "after the wait"))
        .mount(&server)
        .await;
    let reply = model(&server, false)
        .complete(&request())
        .await
        .expect("a reply");
    assert_eq!(reply.content.as_deref(), Some("after the wait"));
    assert_eq!(bodies(&server).await.len(), 2);
}
