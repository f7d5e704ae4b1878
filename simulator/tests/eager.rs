//! Eager streaming dispatch against the simulator streaming at a set rate,
//! on tokio's paused clock: the turn ends at max over calls of (the time the
//! call's arguments completed + its latency); after the message, at (end of
//! message + the longest latency); sequentially, at the end plus the sum.

use std::time::Duration;

use futures_util::StreamExt;
use serde_json::json;
use tokio::time::Instant;
use toolcall_runtime::{
    Agent, ChatRequest, DispatchOptions, Message, Model, StreamEvent, Streaming, ToolSet,
};
use toolcall_sim::{Latency, ModelLatency, Script, ScriptedCall, SimTool, Simulator};

// The slowest tool is called first, so starting it early pays off.
const LATENCIES: [(&str, u64); 4] = [
    ("get_labs", 220),
    ("get_demographics", 200),
    ("get_medications", 180),
    ("get_allergies", 150),
];

fn simulator() -> Simulator {
    let p = json!({"patient_id": "P-00042"});
    let calls = LATENCIES.map(|(name, _)| ScriptedCall::new(name, p.clone()));
    Simulator::builder()
        .seed(3)
        .script(Script::new().tool_calls(calls).text("done"))
        // 50 tokens/s after a 300 ms time to first token.
        .model_latency(ModelLatency::new(
            Latency::fixed_ms(300),
            Latency::fixed_ms(20),
        ))
        .build()
}

fn tools() -> ToolSet {
    let schema = json!({"type": "object", "properties": {"patient_id": {"type": "string"}}, "required": ["patient_id"]});
    LATENCIES
        .iter()
        .fold(ToolSet::builder(), |b, (name, ms)| {
            b.add(
                SimTool::new(*name, "a clinical lookup")
                    .parameters(schema.clone())
                    .latency(Latency::fixed_ms(*ms)),
            )
        })
        .build()
        .expect("tools")
}

/// When each call's arguments closed, and when the message ended, read off
/// the simulator's own stream (same seed, same timing).
async fn stream_times() -> (Vec<Duration>, Duration) {
    let sim = simulator();
    let request = ChatRequest {
        tools: tools().definitions().to_vec(),
        ..ChatRequest::new("sim", vec![Message::user("summarise")])
    };
    let model = sim.model();
    let start = Instant::now();
    let mut stream = model.stream(&request);
    let mut text: Vec<String> = Vec::new();
    let mut closed: Vec<Option<Duration>> = Vec::new();
    while let Some(event) = stream.next().await {
        if let Ok(StreamEvent::ToolCall(delta)) = event {
            let i = delta.index as usize;
            if text.len() <= i {
                text.resize(i + 1, String::new());
                closed.resize(i + 1, None);
            }
            text[i].push_str(delta.arguments.as_deref().unwrap_or(""));
            if closed[i].is_none() && serde_json::from_str::<serde_json::Value>(&text[i]).is_ok() {
                closed[i] = Some(start.elapsed());
            }
        }
    }
    let end = start.elapsed();
    (
        closed
            .into_iter()
            .map(|c| c.expect("every call closes"))
            .collect(),
        end,
    )
}

async fn turn(mode: Streaming, options: DispatchOptions) -> Duration {
    let sim = simulator();
    let agent = Agent::new(sim.model(), tools())
        .streaming(mode)
        .dispatch_options(options);
    let run = agent.run("summarise").await.expect("answer");
    // The first round: the streamed message and its calls.
    run.rounds[0].elapsed
}

#[tokio::test(start_paused = true)]
async fn eager_after_message_and_sequential_end_exactly_when_they_should() {
    let (closed, end) = stream_times().await;
    assert!(
        closed.windows(2).all(|w| w[0] < w[1]),
        "calls close one after another: {closed:?}"
    );
    assert!(*closed.last().expect("calls") <= end);
    let latency = LATENCIES.map(|(_, ms)| Duration::from_millis(ms));

    let eager = turn(Streaming::Eager, DispatchOptions::parallel()).await;
    let expected = closed
        .iter()
        .zip(&latency)
        .map(|(c, l)| *c + *l)
        .max()
        .expect("calls");
    assert_eq!(eager, expected);

    let after = turn(Streaming::AfterMessage, DispatchOptions::parallel()).await;
    assert_eq!(after, end + *latency.iter().max().expect("calls"));

    let sequential = turn(Streaming::AfterMessage, DispatchOptions::sequential()).await;
    assert_eq!(sequential, end + latency.iter().sum::<Duration>());

    assert!(eager < after && after < sequential);
}
