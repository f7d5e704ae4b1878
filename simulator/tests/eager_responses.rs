//! Eager streaming dispatch over the Responses API: the runtime's
//! `OpenAiResponsesModel` against the simulator's server streaming at a set
//! rate, on tokio's paused clock. Each call starts at its
//! `response.function_call_arguments.done`, so the turn ends at max over calls
//! of (that time + the call's latency); after the message, at (end of message
//! + the longest latency); sequentially, at the end plus the sum.

use std::time::Duration;

use futures_util::StreamExt;
use serde_json::json;
use tokio::time::Instant;
use toolcall_runtime::{
    Agent, ChatRequest, DispatchOptions, Message, Model, OpenAiResponsesModel, StreamEvent,
    Streaming, ToolSet,
};
use toolcall_sim::{
    Chunking, Latency, ModelLatency, Script, ScriptedCall, Server, SimTool, Simulator, Turn, Wire,
};

// The slowest tool is called first, so starting it early pays off.
const LATENCIES: [(&str, u64); 4] = [
    ("get_recent_labs", 220),
    ("get_patient_demographics", 200),
    ("get_active_medications", 180),
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

fn model(server: &Server) -> OpenAiResponsesModel {
    OpenAiResponsesModel::builder()
        .base_url(server.base_url())
        .api_key("sk-sim")
        .max_retries(0)
        .build()
        .expect("a model")
}

fn request() -> ChatRequest {
    ChatRequest {
        tools: tools().definitions().to_vec(),
        ..ChatRequest::new("sim", vec![Message::user("summarise")])
    }
}

/// When each call's `function_call_arguments.done` arrived, and when the
/// stream ended, over HTTP.
async fn done_times() -> (Vec<Duration>, Duration) {
    let server = simulator().server().start().await.expect("server");
    let model = model(&server);
    let request = request();
    let start = Instant::now();
    let mut stream = model.stream(&request);
    let mut done = Vec::new();
    while let Some(event) = stream.next().await {
        if let StreamEvent::ToolCallDone(index) = event.expect("an event") {
            done.push((index, start.elapsed()));
        }
    }
    let end = start.elapsed();
    let indexes: Vec<u32> = done.iter().map(|(i, _)| *i).collect();
    assert_eq!(indexes, [0, 1, 2, 3], "one done per call, in order");
    (done.into_iter().map(|(_, at)| at).collect(), end)
}

/// When each call's arguments closed in the in-process (Chat Completions)
/// stream of the same simulator: the engine plans the same chunks at the
/// same times whatever the format.
async fn closing_times_in_process() -> Vec<Duration> {
    let model = simulator().model();
    let request = request();
    let start = Instant::now();
    let mut stream = model.stream(&request);
    let mut text = vec![String::new(); LATENCIES.len()];
    let mut closed = vec![None; LATENCIES.len()];
    while let Some(event) = stream.next().await {
        if let Ok(StreamEvent::ToolCall(delta)) = event {
            let i = delta.index as usize;
            text[i].push_str(delta.arguments.as_deref().unwrap_or(""));
            if closed[i].is_none() && serde_json::from_str::<serde_json::Value>(&text[i]).is_ok() {
                closed[i] = Some(start.elapsed());
            }
        }
    }
    closed
        .into_iter()
        .map(|c| c.expect("every call closes"))
        .collect()
}

async fn turn(mode: Streaming, options: DispatchOptions) -> Duration {
    let sim = simulator();
    let server = sim.server().start().await.expect("server");
    let agent = Agent::new(model(&server), tools())
        .streaming(mode)
        .dispatch_options(options);
    let run = agent.run("summarise").await.expect("answer");
    sim.assert_consumed();
    assert_eq!(run.answer, "done");
    // The first round: the streamed message and its calls.
    run.rounds[0].elapsed
}

#[tokio::test(start_paused = true)]
async fn eager_after_message_and_sequential_end_exactly_when_they_should() {
    let (done, end) = done_times().await;
    assert!(
        done.windows(2).all(|w| w[0] < w[1]),
        "calls complete one after another: {done:?}"
    );
    assert!(*done.last().expect("calls") <= end);
    assert_eq!(done, closing_times_in_process().await);
    let latency = LATENCIES.map(|(_, ms)| Duration::from_millis(ms));

    let eager = turn(Streaming::Eager, DispatchOptions::parallel()).await;
    let expected = done
        .iter()
        .zip(&latency)
        .map(|(d, l)| *d + *l)
        .max()
        .expect("calls");
    assert_eq!(eager, expected);

    let after = turn(Streaming::AfterMessage, DispatchOptions::parallel()).await;
    assert_eq!(after, end + *latency.iter().max().expect("calls"));

    let sequential = turn(Streaming::AfterMessage, DispatchOptions::sequential()).await;
    assert_eq!(sequential, end + latency.iter().sum::<Duration>());

    assert!(eager < after && after < sequential);
}

/// Text before the calls, and the calls' fragments interleaved in the plan.
fn interleaved_simulator() -> Simulator {
    let p = json!({"patient_id": "P-00042", "note": "a longer argument to cut"});
    let calls = LATENCIES.map(|(name, _)| ScriptedCall::new(name, p.clone()));
    Simulator::builder()
        .seed(11)
        .script(
            Script::new()
                .turn(Turn::tool_calls(calls).with_text("Let me look that up."))
                .text("done"),
        )
        .model_latency(ModelLatency::new(
            Latency::fixed_ms(300),
            Latency::fixed_ms(20),
        ))
        .chunking(Chunking::default().interleaved(true))
        .build()
}

async fn timed(model: &dyn Model, request: &ChatRequest) -> Vec<(Duration, StreamEvent)> {
    let start = Instant::now();
    let mut stream = model.stream(request);
    let mut events = Vec::new();
    while let Some(event) = stream.next().await {
        events.push((start.elapsed(), event.expect("an event")));
    }
    events
}

#[tokio::test(start_paused = true)]
async fn the_in_process_responses_model_streams_what_the_http_model_reads() {
    let request = request();
    let server = interleaved_simulator()
        .server()
        .start()
        .await
        .expect("server");
    let over_http = timed(&model(&server), &request).await;
    let in_process = timed(
        &interleaved_simulator().model().wire(Wire::Responses),
        &request,
    )
    .await;
    assert_eq!(in_process, over_http);
    assert!(matches!(&over_http[0].1, StreamEvent::Text(_)));
    // Output items one after another, as the API sends them: after the
    // message (output 0), each call's header, fragments and done in turn.
    let mut calls = Vec::new();
    for (_, event) in &over_http {
        match event {
            StreamEvent::ToolCall(delta) if delta.id.is_some() => calls.push((delta.index, false)),
            StreamEvent::ToolCall(delta) => {
                assert_eq!(calls.last(), Some(&(delta.index, false)), "{over_http:?}");
            }
            StreamEvent::ToolCallDone(index) => {
                let last = calls.last_mut().expect("a call");
                assert_eq!(last.0, *index);
                last.1 = true;
            }
            _ => {}
        }
    }
    assert_eq!(calls, [(1, true), (2, true), (3, true), (4, true)]);

    // The agent's rounds take the same virtual time both ways.
    let in_process = Agent::new(
        interleaved_simulator().model().wire(Wire::Responses),
        tools(),
    )
    .streaming(Streaming::Eager)
    .run("summarise")
    .await
    .expect("an answer");
    let server = interleaved_simulator()
        .server()
        .start()
        .await
        .expect("server");
    let over_http = Agent::new(model(&server), tools())
        .streaming(Streaming::Eager)
        .run("summarise")
        .await
        .expect("an answer");
    let elapsed =
        |run: &toolcall_runtime::AgentRun| run.rounds.iter().map(|r| r.elapsed).collect::<Vec<_>>();
    assert_eq!(elapsed(&in_process), elapsed(&over_http));
    assert_eq!(in_process.transcript.len(), over_http.transcript.len());
    assert_eq!(over_http.answer, "done");
}
