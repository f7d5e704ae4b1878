//! The runtime's OpenAI model (async-openai) against the HTTP server, plain
//! and streaming: the simulator's bytes parse in a real SDK.

use futures_util::StreamExt;
use serde_json::json;
use toolcall_runtime::{
    Agent, ChatRequest, FinishReason, Message, Model, ModelError, OpenAiModel, StreamEvent, ToolSet,
};
use toolcall_sim::{Fault, Script, ScriptedCall, Server, SimTool, Simulator};

fn client(server: &Server) -> OpenAiModel {
    OpenAiModel::builder()
        .base_url(server.base_url())
        .api_key("sk-sim")
        .max_retries(0)
        .build()
        .expect("client")
}

fn tools() -> ToolSet {
    let schema = json!({"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"], "additionalProperties": false});
    ToolSet::builder()
        .add(
            SimTool::new("get_weather", "weather")
                .parameters(schema.clone())
                .returns(json!("sunny")),
        )
        .add(
            SimTool::new("get_time", "time")
                .parameters(schema)
                .returns(json!("noon")),
        )
        .build()
        .expect("tools")
}

#[tokio::test]
async fn agent_runs_over_the_sdk_in_auto_mode() {
    let sim = Simulator::auto(5);
    let server = sim
        .server()
        .api_key("sk-sim")
        .start()
        .await
        .expect("server");
    let run = Agent::new(client(&server), tools())
        .run("weather and time?")
        .await
        .expect("run");
    assert_eq!(run.rounds.len(), 2);
    assert_eq!(
        run.answer,
        "Here is what the tools returned:\n- get_weather: sunny\n- get_time: noon"
    );
    // The same transcript as the in-process model with the same seed.
    let local = Agent::new(Simulator::auto(5).model(), tools())
        .run("weather and time?")
        .await
        .expect("run");
    assert_eq!(run.transcript, local.transcript);
    server.shutdown().await;
}

#[tokio::test]
async fn streaming_through_the_sdk_assembles_the_calls() {
    let script = Script::new().tool_calls([
        ScriptedCall::new("get_weather", json!({"city": "Paris"})).id("call_1"),
        ScriptedCall::new("get_time", json!({"city": "Oslo"})).id("call_2"),
    ]);
    let server = Server::builder()
        .script(script)
        .api_key("sk-sim")
        .start()
        .await
        .expect("server");
    let model = client(&server);
    let mut request = ChatRequest::new("gpt-4o-mini", vec![Message::user("go")]);
    request.tools = tools().definitions().to_vec();
    let events: Vec<StreamEvent> = model
        .stream(&request)
        .map(|e| e.expect("event"))
        .collect()
        .await;
    let mut arguments = [String::new(), String::new()];
    let mut ids = Vec::new();
    for event in &events {
        if let StreamEvent::ToolCall(d) = event {
            ids.extend(d.id.clone());
            arguments[d.index as usize].push_str(d.arguments.as_deref().unwrap_or(""));
        }
    }
    assert_eq!(ids, ["call_1", "call_2"]);
    assert_eq!(arguments, [r#"{"city":"Paris"}"#, r#"{"city":"Oslo"}"#]);
    assert!(events.contains(&StreamEvent::Finish(FinishReason::ToolCalls)));
    assert!(
        events
            .iter()
            .any(|e| matches!(e, StreamEvent::Usage(u) if u.completion_tokens > 0))
    );
    server.assert_consumed();
}

#[tokio::test]
async fn sdk_sees_rate_limits_and_errors() {
    let script = Script::new()
        .fault(Fault::rate_limited(std::time::Duration::from_secs(2)))
        .fault(Fault::ServerError);
    let server = Server::builder()
        .script(script)
        .start()
        .await
        .expect("server");
    let model = client(&server);
    let request = ChatRequest::new("gpt-4o-mini", vec![Message::user("go")]);
    match model.complete(&request).await {
        Err(ModelError::RateLimited { retry_after, .. }) => {
            assert_eq!(retry_after, Some(std::time::Duration::from_secs(2)))
        }
        other => panic!("expected a rate limit, got {other:?}"),
    }
    match model.complete(&request).await {
        Err(ModelError::Api { status: 500, .. }) => {}
        other => panic!("expected a 500, got {other:?}"),
    }
}
