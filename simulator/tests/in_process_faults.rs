//! Faults through the in-process model map onto the runtime's `ModelError`.

use std::time::Duration;

use futures_util::StreamExt;
use serde_json::json;
use tokio::time::Instant;
use toolcall_runtime::{ChatRequest, Message, Model, ModelError, StreamEvent};
use toolcall_sim::{Fault, FaultRates, ModelLatency, Script, ScriptedCall, Simulator, Turn};

fn request() -> ChatRequest {
    ChatRequest::new("m", vec![Message::user("go")])
}

#[tokio::test(start_paused = true)]
async fn rejections_become_model_errors() {
    let model = Simulator::scripted(
        Script::new()
            .fault(Fault::rate_limited(Duration::from_secs(3)))
            .fault(Fault::ServerError),
    )
    .model();
    match model.complete(&request()).await {
        Err(ModelError::RateLimited { retry_after, .. }) => {
            assert_eq!(retry_after, Some(Duration::from_secs(3)))
        }
        other => panic!("{other:?}"),
    }
    match model.complete(&request()).await {
        Err(ModelError::Api { status: 500, .. }) => {}
        other => panic!("{other:?}"),
    }
    match model.complete(&request()).await {
        Err(ModelError::Api {
            status: 500,
            code: Some(code),
            ..
        }) => assert_eq!(code, "script_exhausted"),
        other => panic!("{other:?}"),
    }
    assert!(model.simulator().check_consumed().is_err());
}

#[tokio::test(start_paused = true)]
async fn disconnect_mid_stream_ends_in_a_transport_error() {
    let turn = Turn::tool_calls([ScriptedCall::new("f", json!({"a": "0123456789"}))])
        .with_fault(Fault::disconnect_after(2));
    let sim = Simulator::builder()
        .script(Script::new().turn(turn.clone()).turn(turn))
        .model_latency(ModelLatency::new(
            Duration::from_millis(100),
            Duration::from_millis(10),
        ))
        .build();
    let model = sim.model();
    let start = Instant::now();
    let events: Vec<_> = model.stream(&request()).collect().await;
    assert_eq!(events.len(), 3, "{events:?}");
    assert!(matches!(&events[0], Ok(StreamEvent::ToolCall(d)) if d.id.is_some()));
    assert!(matches!(&events[1], Ok(StreamEvent::ToolCall(d)) if d.id.is_none()));
    assert!(matches!(&events[2], Err(ModelError::Transport { .. })));
    assert_eq!(start.elapsed(), Duration::from_millis(120));
    let start = Instant::now();
    assert!(matches!(
        model.complete(&request()).await,
        Err(ModelError::Transport { .. })
    ));
    assert_eq!(start.elapsed(), Duration::from_millis(120));
}

#[tokio::test(start_paused = true)]
async fn fault_rates_are_seeded() {
    let outcomes = |seed| async move {
        let model = Simulator::builder()
            .seed(seed)
            .faults(FaultRates::none().server_error(0.3).rate_limited(0.2))
            .model();
        let mut statuses = Vec::new();
        for _ in 0..40 {
            statuses.push(match model.complete(&request()).await {
                Ok(_) => 200,
                Err(ModelError::RateLimited { .. }) => 429,
                Err(ModelError::Api { status, .. }) => status,
                Err(other) => panic!("{other:?}"),
            });
        }
        statuses
    };
    let a = outcomes(8).await;
    assert_eq!(a, outcomes(8).await);
    assert_ne!(a, outcomes(9).await);
    for status in [200, 429, 500] {
        assert!(a.contains(&status), "{a:?}");
    }
}
