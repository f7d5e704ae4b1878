//! Virtual time: under a paused clock every simulated delay is exact.

mod common;

use std::time::Duration;

use futures_util::StreamExt;
use serde_json::json;
use tokio::time::Instant;
use toolcall_runtime::{
    Agent, ChatRequest, DispatchOptions, FinishReason, Message, Model, StreamEvent, ToolSet,
};
use toolcall_sim::{
    Latency, ModelLatency, Script, ScriptedCall, SimModel, SimTool, Simulator, with_latency,
};

const MS: fn(u64) -> Duration = Duration::from_millis;

fn tools() -> ToolSet {
    let schema = json!({"type": "object", "properties": {"patient_id": {"type": "string"}}, "required": ["patient_id"]});
    ToolSet::builder()
        .add(
            SimTool::new("get_demographics", "demographics")
                .parameters(schema.clone())
                .latency(Latency::fixed_ms(200)),
        )
        .add(
            SimTool::new("get_medications", "medications")
                .parameters(schema.clone())
                .latency(Latency::fixed_ms(180)),
        )
        .add(
            SimTool::new("get_allergies", "allergies")
                .parameters(schema)
                .latency(Latency::fixed_ms(150)),
        )
        .build()
        .expect("tools")
}

fn script() -> Script {
    let p = json!({"patient_id": "P-00042"});
    Script::new()
        .tool_calls([
            ScriptedCall::new("get_demographics", p.clone()),
            ScriptedCall::new("get_medications", p.clone()),
            ScriptedCall::new("get_allergies", p),
        ])
        .text("The patient is fine.")
}

/// The model time of each request: TTFT plus one per-token delay per chunk.
fn model_times(sim: &Simulator, ttft: Duration, per_token: Duration) -> Vec<Duration> {
    sim.journal()
        .entries()
        .iter()
        .map(|e| {
            let usage = e.answer.reply().and_then(|r| r.usage).expect("usage");
            ttft + per_token * usage.completion_tokens
        })
        .collect()
}

async fn run(
    options: DispatchOptions,
    per_token: Duration,
) -> (Duration, Vec<Duration>, toolcall_runtime::AgentRun) {
    let ttft = MS(300);
    let sim = Simulator::builder()
        .script(script())
        .model_latency(ModelLatency::new(ttft, per_token))
        .build();
    let agent = Agent::new(sim.model(), tools()).dispatch_options(options);
    let start = Instant::now();
    let run = agent.run("summarise patient P-00042").await.expect("run");
    let elapsed = start.elapsed();
    sim.assert_consumed();
    (elapsed, model_times(&sim, ttft, per_token), run)
}

#[tokio::test(start_paused = true)]
async fn parallel_turn_takes_the_longest_tool() {
    let (elapsed, _, run) = run(DispatchOptions::parallel(), Duration::ZERO).await;
    // Two model rounds of 300 ms TTFT, and the tools' batch takes max(200, 180, 150).
    assert_eq!(elapsed, MS(300 + 200 + 300));
    assert_eq!(run.elapsed, elapsed);
    assert_eq!(
        run.rounds[0].batch.as_ref().map(|b| b.makespan),
        Some(MS(200))
    );
    assert_eq!(run.answer, "The patient is fine.");
}

#[tokio::test(start_paused = true)]
async fn sequential_turn_takes_the_sum() {
    let (elapsed, _, _) = run(DispatchOptions::sequential(), Duration::ZERO).await;
    assert_eq!(elapsed, MS(300 + 200 + 180 + 150 + 300));
}

#[tokio::test(start_paused = true)]
async fn per_token_time_adds_up_exactly() {
    let per_token = MS(10);
    let (parallel, times, agent_run) = run(DispatchOptions::parallel(), per_token).await;
    assert_eq!(times.len(), 2);
    assert!(
        times[0] > MS(300 + 30),
        "three calls take more than three chunks"
    );
    assert_eq!(agent_run.rounds[0].model_time, times[0]);
    assert_eq!(agent_run.rounds[1].model_time, times[1]);
    assert_eq!(parallel, times[0] + MS(200) + times[1]);
    let (sequential, times, _) = run(DispatchOptions::sequential(), per_token).await;
    assert_eq!(sequential, times[0] + MS(530) + times[1]);
}

#[tokio::test(start_paused = true)]
async fn streamed_chunks_arrive_at_the_simulated_times() {
    let model = Simulator::builder()
        .script(Script::new().text("one two three four"))
        .model_latency(ModelLatency::new(MS(100), MS(20)))
        .build()
        .model();
    let request = ChatRequest::new("m", vec![Message::user("count")]);
    let start = Instant::now();
    let mut events = model.stream(&request);
    let mut seen = Vec::new();
    while let Some(event) = events.next().await {
        seen.push((start.elapsed(), event.expect("event")));
    }
    let texts: Vec<_> = seen
        .iter()
        .filter_map(|(t, e)| match e {
            StreamEvent::Text(s) => Some((*t, s.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(
        texts,
        vec![
            (MS(120), "one".to_owned()),
            (MS(140), " two".into()),
            (MS(160), " three".into()),
            (MS(180), " four".into())
        ]
    );
    let (t, last) = &seen[seen.len() - 2];
    assert_eq!(
        (*t, last),
        (MS(180), &StreamEvent::Finish(FinishReason::Stop))
    );
    assert!(
        matches!(seen.last(), Some((t, StreamEvent::Usage(u))) if *t == MS(180) && u.completion_tokens == 4)
    );
}

#[tokio::test(start_paused = true)]
async fn streamed_tool_calls_have_headers_then_fragments_on_time() {
    let script = Script::new().tool_calls([
        ScriptedCall::new("a", json!({"x": "hello world"})).id("call_a"),
        ScriptedCall::new("b", json!({"y": 1})).id("call_b"),
    ]);
    let model = Simulator::builder()
        .script(script)
        .model_latency(ModelLatency::new(MS(50), MS(5)))
        .build()
        .model();
    let request = ChatRequest::new("m", vec![Message::user("go")]);
    let start = Instant::now();
    let events: Vec<_> = model.stream(&request).collect().await;
    let end = start.elapsed();
    let mut arguments = [String::new(), String::new()];
    let mut headers = Vec::new();
    let mut count = 0u64;
    for event in events {
        match event.expect("event") {
            StreamEvent::ToolCall(d) => {
                count += 1;
                if let Some(id) = d.id {
                    headers.push((d.index, id, d.name.expect("name with id")));
                }
                arguments[d.index as usize].push_str(d.arguments.as_deref().unwrap_or(""));
            }
            StreamEvent::Finish(reason) => assert_eq!(reason, FinishReason::ToolCalls),
            StreamEvent::Usage(_) => {}
            other => panic!("no other event expected, got {other:?}"),
        }
    }
    assert_eq!(
        headers,
        vec![
            (0, "call_a".into(), "a".into()),
            (1, "call_b".into(), "b".into())
        ]
    );
    assert_eq!(
        arguments,
        [r#"{"x":"hello world"}"#.to_owned(), r#"{"y":1}"#.to_owned()]
    );
    assert_eq!(end, MS(50) + MS(5) * count as u32);
}

#[tokio::test(start_paused = true)]
async fn complete_ends_when_the_stream_would() {
    let config = || {
        Simulator::builder()
            .seed(11)
            .model_latency(ModelLatency::new(
                Latency::uniform(MS(100), MS(400)),
                Latency::uniform(MS(5), MS(30)),
            ))
            .build()
    };
    let request = ChatRequest::new("m", vec![Message::user("tell me something long enough")]);
    let start = Instant::now();
    let whole = config().model().complete(&request).await.expect("reply");
    let complete_time = start.elapsed();
    let start = Instant::now();
    let events: Vec<_> = config().model().stream(&request).collect().await;
    assert_eq!(start.elapsed(), complete_time);
    let text: String = events
        .into_iter()
        .filter_map(|e| match e {
            Ok(StreamEvent::Text(t)) => Some(t),
            _ => None,
        })
        .collect();
    assert_eq!(Some(text), whole.content);
}

#[tokio::test(start_paused = true)]
async fn with_latency_delays_a_real_tool() {
    let tools = ToolSet::builder()
        .add(with_latency(
            SimTool::new("fast", "no latency of its own"),
            Latency::fixed_ms(250),
        ))
        .build()
        .expect("tools");
    let start = Instant::now();
    let calls = [toolcall_runtime::ToolCall::new("c1", "fast", "{}")];
    let batch = tools.dispatch(&calls).await;
    assert_eq!(start.elapsed(), MS(250));
    assert!(batch.all_ok());
    let content: serde_json::Value =
        serde_json::from_str(&batch.results[0].content).expect("JSON result");
    assert_eq!(content, json!({"arguments": {}, "tool": "fast"}));
}

#[tokio::test(start_paused = true)]
async fn sim_tool_failures_are_seeded() {
    let tool = || {
        SimTool::new("flaky", "fails half the time")
            .failure_rate(0.5)
            .seed(3)
    };
    let outcomes = |tools: ToolSet| async move {
        let calls: Vec<_> = (0..20)
            .map(|i| toolcall_runtime::ToolCall::new(format!("c{i}"), "flaky", "{}"))
            .collect();
        tools
            .dispatch(&calls)
            .await
            .results
            .iter()
            .map(|r| r.outcome.is_ok())
            .collect::<Vec<_>>()
    };
    let a = outcomes(ToolSet::builder().add(tool()).build().expect("tools")).await;
    let b = outcomes(ToolSet::builder().add(tool()).build().expect("tools")).await;
    assert_eq!(a, b);
    assert!(a.iter().any(|ok| *ok) && a.iter().any(|ok| !ok), "{a:?}");
}

#[tokio::test(start_paused = true)]
async fn sim_model_shortcut_constructors_work() {
    let model = SimModel::auto(1);
    let reply = model
        .complete(&ChatRequest::new("m", vec![Message::user("hello")]))
        .await
        .expect("reply");
    assert_eq!(
        reply.content.as_deref(),
        Some("This is a simulated reply to: \"hello\"")
    );
    assert_eq!(model.journal().len(), 1);
}
