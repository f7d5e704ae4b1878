//! A run you can watch, stop and bound: `Agent::run_stream`'s events,
//! cancellation (dropping the stream, or a handle), and the stop
//! conditions and budgets; against the simulator under tokio's paused clock.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use futures_util::StreamExt;
use proptest::prelude::*;
use serde_json::json;
use toolcall::{
    Agent, AgentErrorKind, AgentRun, Decision, Message, Outcome, RunCancel, RunEvent, State,
    Streaming, ToolCall, ToolSet, tool,
};
use toolcall_sim::{Latency, ModelLatency, Script, ScriptedCall, Simulator};

/// Counts the calls of [`work`] whose future was dropped before it finished.
#[derive(Clone, Default)]
struct Dropped(Arc<AtomicUsize>);

struct Guard(Dropped, bool);

impl Drop for Guard {
    fn drop(&mut self) {
        if !self.1 {
            self.0.0.fetch_add(1, Ordering::SeqCst);
        }
    }
}

/// Sleep `delay_ms` on tokio's clock, then succeed or fail.
#[tool]
async fn work(State(dropped): State<Dropped>, delay_ms: u64, fail: bool) -> Result<String, String> {
    let mut guard = Guard(dropped, false);
    tokio::time::sleep(Duration::from_millis(delay_ms)).await;
    guard.1 = true;
    if fail {
        Err(format!("failed after {delay_ms} ms"))
    } else {
        Ok(format!("done after {delay_ms} ms"))
    }
}

/// The final answer, as a tool.
#[tool]
async fn final_answer(text: String) -> String {
    text
}

fn tools(dropped: &Dropped) -> ToolSet {
    ToolSet::builder()
        .tools(toolcall::tools![work, final_answer])
        .state(dropped.clone())
        .build()
        .expect("tools")
}

fn call(delay_ms: u64, fail: bool) -> ScriptedCall {
    ScriptedCall::new("work", json!({"delay_ms": delay_ms, "fail": fail}))
}

fn simulator(script: Script) -> Simulator {
    Simulator::builder()
        .script(script)
        .model_latency(ModelLatency::new(
            Latency::fixed_ms(40),
            Latency::fixed_ms(2),
        ))
        .build()
}

/// Every event of a run, the last one its end.
async fn events_of(mut stream: toolcall::RunStream<'_>) -> Vec<RunEvent> {
    let mut events = Vec::new();
    while let Some(event) = stream.next().await {
        events.push(event);
    }
    events
}

fn end(events: &[RunEvent]) -> &Result<AgentRun, toolcall::AgentError> {
    match events.last() {
        Some(RunEvent::End(end)) => end,
        other => panic!("the last event is the end, not {other:?}"),
    }
}

/// The events without their timings, as labels.
fn labels(events: &[RunEvent]) -> Vec<String> {
    events
        .iter()
        .map(|event| match event {
            RunEvent::ModelRequest { round } => format!("model {round}"),
            RunEvent::TextDelta { round, .. } => format!("text {round}"),
            RunEvent::ToolCallStarted { round, index, .. } => format!("start {round}.{index}"),
            RunEvent::ToolCallFinished { round, index, .. } => format!("finish {round}.{index}"),
            RunEvent::Usage { round, .. } => format!("usage {round}"),
            RunEvent::RoundFinished { round, .. } => format!("round {round}"),
            RunEvent::End(end) => format!("end ok={}", end.is_ok()),
            other => format!("{other:?}"),
        })
        .collect()
}

#[tokio::test(start_paused = true)]
async fn a_run_tells_its_rounds_calls_and_end_in_causal_order() {
    let script = Script::new()
        .tool_calls([call(200, false), call(100, true)])
        .text("both done");
    let sim = simulator(script);
    let dropped = Dropped::default();
    let agent = Agent::new(sim.model(), tools(&dropped));
    let events = events_of(agent.run_stream("go")).await;
    assert_eq!(
        labels(&events),
        [
            "model 0",
            "start 0.0",
            "start 0.1",
            "finish 0.1",
            "finish 0.0",
            "usage 0",
            "round 0",
            "model 1",
            "text 1",
            "usage 1",
            "round 1",
            "end ok=true"
        ]
    );
    let run = end(&events).as_ref().expect("an answer");
    assert_eq!(run.answer, "both done");
    let RunEvent::ToolCallFinished { result, .. } = &events[3] else {
        panic!("the failed call finishes first");
    };
    assert_eq!(result.outcome, Outcome::ToolError);
    assert_eq!(
        result,
        &run.rounds[0].batch.as_ref().expect("batch").results[1]
    );
}

/// Return at once.
#[tool]
async fn instant(n: u32) -> u32 {
    n
}

/// Hold the thread for `ms` without awaiting: a call that never waits.
#[tool]
async fn busy(ms: u64) -> u64 {
    std::thread::sleep(Duration::from_millis(ms));
    ms
}

/// Calls that finish in the poll that starts them are timed together, a
/// clock read per few of them: on the real clock, the events tell the
/// times the results keep, and no call claims to have ended before a call
/// that ran ahead of it in the same pass.
#[tokio::test]
async fn calls_that_never_wait_are_told_with_the_times_they_keep() {
    let mut calls: Vec<ScriptedCall> = (0..20)
        .map(|n| ScriptedCall::new("instant", json!({"n": n})))
        .collect();
    calls[3] = ScriptedCall::new("busy", json!({"ms": 30}));
    let sim = Simulator::builder()
        .script(Script::new().tool_calls(calls).text("done"))
        .build();
    let tools = ToolSet::builder()
        .tools(toolcall::tools![instant, busy])
        .build()
        .expect("tools");
    let events = events_of(Agent::new(sim.model(), tools).run_stream("go")).await;
    let run = end(&events).as_ref().expect("an answer");
    let results = &run.rounds[0].batch.as_ref().expect("batch").results;
    let mut told = 0;
    for event in &events {
        if let RunEvent::ToolCallFinished { index, result, .. } = event {
            assert_eq!(
                result, &results[*index],
                "call {index} was told another result"
            );
            told += 1;
        }
    }
    assert_eq!(told, 20);
    for (index, result) in results.iter().enumerate().skip(3) {
        assert_eq!(result.outcome, Outcome::Ok);
        assert!(
            result.elapsed >= Duration::from_millis(30),
            "call {index} ended after the busy call ran, yet took {:?}",
            result.elapsed
        );
    }
}

#[tokio::test(start_paused = true)]
async fn the_text_sink_reads_the_events_in_every_mode() {
    for streaming in [Streaming::Off, Streaming::AfterMessage, Streaming::Eager] {
        let sim = simulator(Script::new().text("hello there"));
        let seen = Arc::new(std::sync::Mutex::new(String::new()));
        let sink = {
            let seen = Arc::clone(&seen);
            toolcall::TextSink::new(move |delta| seen.lock().expect("lock").push_str(delta))
        };
        let run = Agent::new(sim.model(), tools(&Dropped::default()))
            .streaming(streaming)
            .on_text(sink)
            .run("hi")
            .await
            .expect("answer");
        assert_eq!(*seen.lock().expect("lock"), run.answer, "{streaming:?}");
    }
}

#[tokio::test(start_paused = true)]
async fn dropping_the_stream_cancels_the_run_and_its_calls() {
    let script = Script::new()
        .tool_calls([call(10_000, false), call(20_000, false)])
        .text("never");
    let sim = simulator(script);
    let dropped = Dropped::default();
    let agent = Agent::new(sim.model(), tools(&dropped)).streaming(Streaming::Eager);
    let mut stream = agent.run_stream("go");
    let mut started = 0;
    while let Some(event) = stream.next().await {
        if matches!(event, RunEvent::ToolCallStarted { .. }) {
            started += 1;
            if started == 2 {
                break;
            }
        }
    }
    assert_eq!(dropped.0.load(Ordering::SeqCst), 0, "both calls run");
    drop(stream);
    assert_eq!(
        dropped.0.load(Ordering::SeqCst),
        2,
        "both calls were dropped"
    );
    assert_eq!(sim.journal().len(), 1, "the model was not asked again");
}

#[tokio::test(start_paused = true)]
async fn a_cancelled_run_answers_every_call_of_its_last_message() {
    for streaming in [Streaming::Off, Streaming::Eager] {
        let script = Script::new()
            .tool_calls([call(50, false), call(10_000, false)])
            .text("never");
        let sim = simulator(script);
        let dropped = Dropped::default();
        let agent = Agent::new(sim.model(), tools(&dropped)).streaming(streaming);
        let mut stream = agent.run_stream("go");
        let cancel = stream.cancel_handle();
        let mut events = Vec::new();
        while let Some(event) = stream.next().await {
            if matches!(event, RunEvent::ToolCallFinished { .. }) {
                cancel.cancel();
            }
            events.push(event);
        }
        let error = end(&events).as_ref().expect_err("cancelled");
        assert_eq!(error.kind, AgentErrorKind::Cancelled, "{streaming:?}");
        let [
            ..,
            Message::Assistant { tool_calls, .. },
            Message::Tool {
                tool_call_id: a, ..
            },
            Message::Tool {
                tool_call_id: b,
                content,
                ..
            },
        ] = &error.transcript[..]
        else {
            panic!(
                "the calls and their results end the transcript: {:?}",
                error.transcript
            );
        };
        assert_eq!([a, b], [&tool_calls[0].id, &tool_calls[1].id]);
        assert!(content.contains("cancelled"), "{content}");
        let outcomes: Vec<Outcome> = error.rounds[0]
            .batch
            .as_ref()
            .expect("batch")
            .results
            .iter()
            .map(|r| r.outcome)
            .collect();
        assert_eq!(outcomes, [Outcome::Ok, Outcome::Cancelled]);
        assert_eq!(dropped.0.load(Ordering::SeqCst), 1);
        assert_eq!(sim.journal().len(), 1);
    }
}

#[tokio::test(start_paused = true)]
async fn a_handle_given_to_the_agent_cancels_while_the_model_thinks() {
    let sim = simulator(Script::new().text("late"));
    let cancel = RunCancel::new();
    let agent = Agent::new(sim.model(), tools(&Dropped::default())).cancel_with(cancel.clone());
    let stopper = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(10)).await;
        cancel.cancel();
    });
    let error = agent.run("hi").await.expect_err("cancelled");
    stopper.await.expect("stopper");
    assert_eq!(error.kind, AgentErrorKind::Cancelled);
    assert!(matches!(
        error.transcript.last(),
        Some(Message::User { .. })
    ));
}

#[tokio::test(start_paused = true)]
async fn stop_after_a_tool_makes_its_result_the_answer() {
    let script = Script::new().tool_calls([
        call(300, false),
        ScriptedCall::new("final_answer", json!({"text": "42"})),
    ]);
    let sim = simulator(script);
    let run = Agent::new(sim.model(), tools(&Dropped::default()))
        .stop_after_tool("final_answer")
        .run("answer")
        .await
        .expect("answer");
    assert_eq!(run.answer, "42");
    let results = &run.rounds[0].batch.as_ref().expect("batch").results;
    assert_eq!(results[0].content, "done after 300 ms", "the sibling ran");
    assert!(matches!(run.transcript.last(), Some(Message::Tool { .. })));
    assert_eq!(sim.journal().len(), 1, "the model was not asked again");
}

#[tokio::test(start_paused = true)]
async fn budgets_end_a_run_with_a_typed_error() {
    // Tool calls: the third call is denied without running.
    let sim = simulator(Script::new().tool_calls([call(1, false), call(1, false), call(1, false)]));
    let error = Agent::new(sim.model(), tools(&Dropped::default()))
        .max_tool_calls(2)
        .run("go")
        .await
        .expect_err("over budget");
    assert_eq!(error.kind, AgentErrorKind::ToolCallBudget(2));
    let results = &error.rounds[0].batch.as_ref().expect("batch").results;
    let outcomes: Vec<Outcome> = results.iter().map(|r| r.outcome).collect();
    assert_eq!(outcomes, [Outcome::Ok, Outcome::Ok, Outcome::Denied]);
    assert!(matches!(
        error.transcript.last(),
        Some(Message::Tool { .. })
    ));

    // Tokens: the first reply already uses more than one.
    let sim = simulator(Script::new().tool_calls([call(1, false)]).text("done"));
    let error = Agent::new(sim.model(), tools(&Dropped::default()))
        .max_total_tokens(1)
        .run("go")
        .await
        .expect_err("over budget");
    assert!(
        matches!(error.kind, AgentErrorKind::TokenBudget { limit: 1, used } if used > 1),
        "{:?}",
        error.kind
    );

    // Invalid calls of one tool: one retry allowed, the second invalid call ends the run.
    let bad = || ScriptedCall::new("work", json!({"delay_ms": "soon", "fail": false}));
    let script = Script::new()
        .tool_calls([bad()])
        .tool_calls([bad()])
        .text("never");
    let sim = simulator(script);
    let error = Agent::new(sim.model(), tools(&Dropped::default()))
        .max_invalid_calls_per_tool(1)
        .run("go")
        .await
        .expect_err("over budget");
    assert_eq!(
        error.kind,
        AgentErrorKind::InvalidCalls {
            tool: Some("work".into()),
            limit: 1
        }
    );
    assert_eq!(error.rounds.len(), 2);

    // Invalid calls in the run: an unknown tool counts too.
    let script = Script::new()
        .tool_calls([ScriptedCall::new("nope", json!({}))])
        .text("never");
    let sim = simulator(script);
    let error = Agent::new(sim.model(), tools(&Dropped::default()))
        .max_invalid_calls(0)
        .run("go")
        .await
        .expect_err("over budget");
    assert_eq!(
        error.kind,
        AgentErrorKind::InvalidCalls {
            tool: None,
            limit: 0
        }
    );
}

/// One generated call: a latency, whether it fails, and whether its
/// arguments are invalid.
#[derive(Debug, Clone)]
struct Gen {
    delay_ms: u64,
    fail: bool,
    invalid: bool,
}

fn gen_call() -> impl Strategy<Value = Gen> {
    (0u64..400, any::<bool>(), prop::bool::weighted(0.15)).prop_map(|(delay_ms, fail, invalid)| {
        Gen {
            delay_ms,
            fail,
            invalid,
        }
    })
}

fn script_of(rounds: &[Vec<Gen>]) -> Script {
    let mut script = Script::new();
    for (r, round) in rounds.iter().enumerate() {
        script = script.tool_calls(round.iter().enumerate().map(|(i, g)| {
            let call = if g.invalid {
                ScriptedCall::new("work", json!({"delay_ms": "later"}))
            } else {
                call(g.delay_ms, g.fail)
            };
            call.id(format!("c{r}_{i}"))
        }));
    }
    script.text("all done")
}

fn agent_for(
    rounds: &[Vec<Gen>],
    streaming: Streaming,
    defer: Option<usize>,
) -> Agent<toolcall_sim::SimModel> {
    let mut agent = Agent::new(
        simulator(script_of(rounds)).model(),
        tools(&Dropped::default()),
    )
    .streaming(streaming)
    .max_rounds(rounds.len() + 1);
    if let Some(defer) = defer {
        // The deferred call is the first round's `defer`th.
        let policy = move |call: &ToolCall| {
            if call.id == format!("c0_{defer}") {
                Decision::Defer
            } else {
                Decision::Approve
            }
        };
        agent = agent.approval(policy);
    }
    agent
}

/// Each call of each round has one start and one finish, the start first;
/// the number of calls told.
fn check_pairs(events: &[RunEvent]) -> Result<usize, TestCaseError> {
    let mut pairs: HashMap<(usize, usize), (Option<usize>, Option<usize>)> = HashMap::new();
    for (at, event) in events.iter().enumerate() {
        match event {
            RunEvent::ToolCallStarted { round, index, .. } => {
                let slot = &mut pairs.entry((*round, *index)).or_default().0;
                prop_assert!(slot.is_none(), "call {round}.{index} started twice");
                *slot = Some(at);
            }
            RunEvent::ToolCallFinished { round, index, .. } => {
                let slot = &mut pairs.entry((*round, *index)).or_default().1;
                prop_assert!(slot.is_none(), "call {round}.{index} finished twice");
                *slot = Some(at);
            }
            _ => {}
        }
    }
    let calls = pairs.len();
    for (key, (start, finish)) in pairs {
        let (Some(start), Some(finish)) = (start, finish) else {
            return Err(TestCaseError::fail(format!("call {key:?} lacks an event")));
        };
        prop_assert!(start < finish, "call {key:?} finished before it started");
    }
    Ok(calls)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn every_call_starts_once_finishes_once_and_the_stream_folds_to_run(
        rounds in prop::collection::vec(prop::collection::vec(gen_call(), 1..5), 1..3),
        mode in 0usize..3,
        defer in prop::option::weighted(0.3, 0usize..4),
    ) {
        let streaming = [Streaming::Off, Streaming::AfterMessage, Streaming::Eager][mode];
        let defer = defer.filter(|d| *d < rounds[0].len());
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .start_paused(true)
            .build()
            .expect("runtime");
        runtime.block_on(async {
            let watched = agent_for(&rounds, streaming, defer);
            let mut events = events_of(watched.run_stream("go")).await;
            let folded = agent_for(&rounds, streaming, defer);
            let mut run = folded.run("go").await;
            if defer.is_some() {
                // Suspended: the deferred call has no events yet; resume it.
                let Err(error) = end(&events) else {
                    return Err(TestCaseError::fail("a deferred call suspends the run"));
                };
                let AgentErrorKind::Suspended(state) = &error.kind else {
                    return Err(TestCaseError::fail(format!("not suspended: {error}")));
                };
                let state = (**state).clone();
                let pending: Vec<(String, Decision)> = state
                    .pending()
                    .iter()
                    .map(|c| (c.id.to_string(), Decision::Approve))
                    .collect();
                prop_assert_eq!(pending.len(), 1);
                events.pop();
                let resumed = watched.resume_stream(state, pending.clone());
                events.extend(events_of(resumed).await);
                let Err(error) = run else {
                    return Err(TestCaseError::fail("run suspends too"));
                };
                let AgentErrorKind::Suspended(state) = error.kind else {
                    return Err(TestCaseError::fail("run suspends too"));
                };
                run = folded.resume(*state, pending).await;
            }
            let told = check_pairs(&events)?;
            let calls: usize = rounds.iter().map(Vec::len).sum();
            prop_assert_eq!(told, calls);
            let streamed = end(&events).as_ref().map(|r| r.transcript.clone()).map_err(|e| e.to_string());
            let folded = run.map(|r| r.transcript).map_err(|e| e.to_string());
            prop_assert_eq!(streamed, folded);
            Ok(())
        })?;
    }
}
