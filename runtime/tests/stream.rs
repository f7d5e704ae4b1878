//! Streamed replies: assembly of tool-call fragments, and eager dispatch on
//! tokio's paused clock, where every simulated millisecond is exact.

mod common;

use std::future::IntoFuture;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{Behaviour, Scripted};
use futures_util::StreamExt;
use toolcall_runtime::{
    DispatchOptions, EventStream, FinishReason, ModelError, Outcome, StreamEvent, TextSink,
    ToolCall, ToolCallDelta, ToolSet,
};

const MS: Duration = Duration::from_millis(1);

/// Events, each after a pause on tokio's clock.
fn timed(events: Vec<(u64, Result<StreamEvent, ModelError>)>) -> EventStream<'static> {
    Box::pin(
        futures_util::stream::iter(events).then(|(pause, event)| async move {
            tokio::time::sleep(MS * pause as u32).await;
            event
        }),
    )
}

fn fragment(index: u32, id: Option<&str>, name: Option<&str>, args: &str) -> StreamEvent {
    StreamEvent::ToolCall(ToolCallDelta {
        index,
        id: id.map(str::to_owned),
        name: name.map(str::to_owned),
        arguments: Some(args.to_owned()),
    })
}

fn args(delay_ms: u64) -> String {
    Behaviour {
        delay_ms,
        fail: false,
        panic: false,
    }
    .arguments()
}

/// A message streaming three calls, one after another: each call's argument
/// text arrives in two fragments `tick` ms apart.
fn three_calls(tick: u64, latencies: [u64; 3]) -> Vec<(u64, Result<StreamEvent, ModelError>)> {
    let mut events = vec![(100, Ok(StreamEvent::Text(String::new())))];
    for (i, latency) in latencies.iter().enumerate() {
        let text = args(*latency);
        let (head, tail) = text.split_at(text.len() / 2);
        let id = format!("call_{i}");
        events.push((tick, Ok(fragment(i as u32, Some(&id), Some("work"), head))));
        events.push((tick, Ok(fragment(i as u32, None, None, tail))));
    }
    events.push((tick, Ok(StreamEvent::Finish(FinishReason::ToolCalls))));
    events
}

fn tools() -> ToolSet {
    ToolSet::builder()
        .add(Scripted::new("work"))
        .add(Scripted::new("alone").exclusive())
        .build()
        .expect("tools")
}

#[tokio::test(start_paused = true)]
async fn eager_dispatch_ends_at_the_latest_completion_plus_latency() {
    let tools = tools();
    // Call i's arguments complete at 100 + 40 (i + 1) ms; the message ends at 240 ms.
    let turn = tools
        .dispatch_stream(timed(three_calls(20, [200, 180, 150])))
        .await;
    assert_eq!(turn.message_end, MS * 240);
    let completed = [140, 180, 220];
    let starts: Vec<Duration> = turn.batch.results.iter().map(|r| r.started).collect();
    assert_eq!(starts, completed.map(|c| MS * c));
    // max(140 + 200, 180 + 180, 220 + 150) = 370
    assert_eq!(turn.batch.makespan, MS * 370);
    let ids: Vec<&str> = turn
        .batch
        .results
        .iter()
        .map(|r| r.call_id.as_str())
        .collect();
    assert_eq!(ids, ["call_0", "call_1", "call_2"]);
    assert!(turn.batch.all_ok());
    assert_eq!(turn.response.tool_calls.len(), 3);
    assert_eq!(turn.response.finish_reason, Some(FinishReason::ToolCalls));
}

#[tokio::test(start_paused = true)]
async fn after_the_message_it_ends_at_the_end_plus_the_longest() {
    let tools = tools();
    let turn = tools
        .dispatch_stream(timed(three_calls(20, [200, 180, 150])))
        .eager(false)
        .await;
    assert_eq!(turn.batch.makespan, MS * (240 + 200));
    let turn = tools
        .dispatch_stream(timed(three_calls(20, [200, 180, 150])))
        .eager(false)
        .options(DispatchOptions::sequential())
        .await;
    assert_eq!(turn.batch.makespan, MS * (240 + 530));
}

#[tokio::test(start_paused = true)]
async fn eager_dispatch_honours_exclusive_tools_and_the_cap() {
    let tools = tools();
    // work(100) completes at 10, alone(50) at 20, work(10) at 30.
    let events = vec![
        (10, Ok(fragment(0, Some("a"), Some("work"), &args(100)))),
        (10, Ok(fragment(1, Some("b"), Some("alone"), &args(50)))),
        (10, Ok(fragment(2, Some("c"), Some("work"), &args(10)))),
    ];
    let turn = tools.dispatch_stream(timed(events)).await;
    let spans = spans(&turn.batch);
    // `alone` waits for `a` to finish; `c` waits for `alone`.
    assert_eq!(spans, [(10, 110), (110, 160), (160, 170)]);

    let events = vec![
        (10, Ok(fragment(0, Some("a"), Some("work"), &args(100)))),
        (10, Ok(fragment(1, Some("b"), Some("work"), &args(100)))),
    ];
    let turn = tools
        .dispatch_stream(timed(events))
        .options(DispatchOptions::parallel().max_concurrency(1))
        .await;
    let starts: Vec<u128> = turn
        .batch
        .results
        .iter()
        .map(|r| r.started.as_millis())
        .collect();
    assert_eq!(starts, [10, 110]);
}

#[tokio::test(start_paused = true)]
async fn interleaved_indexes_and_text_between_calls() {
    let tools = tools();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let sink = {
        let seen = seen.clone();
        TextSink::new(move |t| seen.lock().expect("lock").push(t.to_owned()))
    };
    let (a, b) = (args(5), args(7));
    let events = vec![
        (1, Ok(StreamEvent::Text("Looking ".into()))),
        (1, Ok(fragment(0, Some("a"), Some("work"), &a[..4]))),
        (1, Ok(fragment(1, Some("b"), Some("work"), &b[..9]))),
        (1, Ok(StreamEvent::Text("it up.".into()))),
        (1, Ok(fragment(0, None, None, &a[4..]))),
        (1, Ok(fragment(1, None, None, &b[9..]))),
    ];
    let turn = tools.dispatch_stream(timed(events)).on_text(sink).await;
    assert_eq!(turn.response.content.as_deref(), Some("Looking it up."));
    assert_eq!(*seen.lock().expect("lock"), ["Looking ", "it up."]);
    assert_eq!(
        turn.response.tool_calls,
        [ToolCall::new("a", "work", a), ToolCall::new("b", "work", b)]
    );
    assert!(turn.batch.all_ok());
    // a completes at 5 ms, b at 6 ms.
    assert_eq!(turn.batch.results[0].started, MS * 5);
    assert_eq!(turn.batch.results[1].started, MS * 6);
}

#[tokio::test(start_paused = true)]
async fn a_stream_that_ends_without_finishing_still_runs_every_call() {
    let tools = tools();
    let events = vec![
        (1, Ok(fragment(0, Some("a"), Some("work"), &args(3)))),
        (
            1,
            Ok(fragment(1, Some("b"), Some("work"), "{\"delay_ms\": 1")),
        ),
    ];
    let turn = tools.dispatch_stream(timed(events)).await;
    assert!(turn.error.is_none());
    let outcomes: Vec<Outcome> = turn.batch.results.iter().map(|r| r.outcome).collect();
    assert_eq!(outcomes, [Outcome::Ok, Outcome::InvalidArguments]);
    assert!(turn.response.finish_reason.is_none());
}

#[tokio::test(start_paused = true)]
async fn a_disconnect_mid_call_gives_that_call_an_error_result() {
    let tools = tools();
    let events = vec![
        (1, Ok(fragment(0, Some("a"), Some("work"), &args(3)))),
        (
            1,
            Ok(fragment(1, Some("b"), Some("work"), "{\"delay_ms\":")),
        ),
        (1, Err(ModelError::transport_message("connection reset"))),
    ];
    let turn = tools.dispatch_stream(timed(events)).await;
    assert_eq!(
        turn.error,
        Some(ModelError::transport_message("connection reset"))
    );
    let results = &turn.batch.results;
    assert_eq!(
        (results[0].outcome, results[1].outcome),
        (Outcome::Ok, Outcome::InvalidArguments)
    );
    assert!(
        results[1].content.contains("stream broke")
            && results[1].content.contains("connection reset")
    );
}

#[tokio::test(start_paused = true)]
async fn a_server_reusing_index_zero_keeps_the_calls_apart() {
    let tools = tools();
    let events = vec![
        (1, Ok(fragment(0, Some("a"), Some("work"), &args(2)))),
        (1, Ok(fragment(0, Some("b"), Some("work"), &args(4)))),
        (1, Ok(fragment(0, Some("c"), Some("work"), &args(6)))),
    ];
    let turn = tools.dispatch_stream(timed(events)).await;
    let ids: Vec<&str> = turn
        .batch
        .results
        .iter()
        .map(|r| r.call_id.as_str())
        .collect();
    assert_eq!(ids, ["a", "b", "c"]);
    assert!(turn.batch.all_ok());
    assert_eq!(turn.batch.makespan, MS * 9);
}

#[tokio::test(start_paused = true)]
async fn dropping_a_streamed_dispatch_stops_its_calls() {
    let tool = Scripted::new("work");
    let counters = tool.counters.clone();
    let tools = ToolSet::builder().add(tool).build().expect("tools");
    let events = vec![
        (1, Ok(fragment(0, Some("a"), Some("work"), &args(10_000)))),
        (10_000, Ok(StreamEvent::Finish(FinishReason::ToolCalls))),
    ];
    let run = tools.dispatch_stream(timed(events)).into_future();
    assert!(tokio::time::timeout(MS * 50, run).await.is_err());
    assert_eq!(counters.started.load(Ordering::SeqCst), 1);
    assert_eq!(counters.running.load(Ordering::SeqCst), 0);
}

/// Text after a call's closing brace makes the whole call invalid however
/// the text was split: eagerly started at the brace, its result is replaced
/// by the error the whole text gives, as in one fragment or after the message.
#[tokio::test(start_paused = true)]
async fn text_after_the_closing_brace_gives_the_same_error_however_split() {
    let whole = format!("{} trailing", args(50));
    let (head, tail) = whole.split_at(args(50).len());
    let split = vec![
        (0, Ok(fragment(0, Some("c0"), Some("work"), head))),
        (10, Ok(fragment(0, None, None, tail))),
        (10, Ok(StreamEvent::Finish(FinishReason::ToolCalls))),
    ];
    let one = vec![
        (0, Ok(fragment(0, Some("c0"), Some("work"), &whole))),
        (20, Ok(StreamEvent::Finish(FinishReason::ToolCalls))),
    ];
    let mut seen = Vec::new();
    for (events, eager) in [
        (split.clone(), true),
        (split, false),
        (one.clone(), true),
        (one, false),
    ] {
        let work = Scripted::new("work");
        let tools = ToolSet::builder().add(work).build().expect("tools");
        let turn = tools.dispatch_stream(timed(events)).eager(eager).await;
        let result = &turn.batch.results[0];
        assert_eq!(result.outcome, Outcome::InvalidArguments, "{result:?}");
        assert_eq!(turn.response.tool_calls[0].arguments, whole);
        seen.push(result.content.clone());
    }
    assert!(seen.windows(2).all(|w| w[0] == w[1]), "{seen:#?}");
    assert!(seen[0].contains("trailing characters"), "{}", seen[0]);
}

#[tokio::test(start_paused = true)]
async fn eager_dispatch_honours_per_tool_limits_while_others_start() {
    let mut limited = Scripted::new("limited");
    limited.policy = limited
        .policy
        .with_max_concurrency(std::num::NonZeroUsize::new(1));
    let tools = ToolSet::builder()
        .add(Scripted::new("work"))
        .add(limited)
        .build()
        .expect("tools");
    let events = vec![
        (10, Ok(fragment(0, Some("a"), Some("limited"), &args(100)))),
        (10, Ok(fragment(1, Some("b"), Some("work"), &args(10)))),
        (10, Ok(fragment(2, Some("c"), Some("limited"), &args(10)))),
        (10, Ok(fragment(3, Some("d"), Some("work"), &args(10)))),
        (0, Ok(StreamEvent::Finish(FinishReason::ToolCalls))),
    ];
    let turn = tools.dispatch_stream(timed(events)).await;
    let spans = spans(&turn.batch);
    // `c` waits for `a`, the other `limited` call; `d`, pushed after it,
    // does not wait for `c`.
    assert_eq!(spans, [(10, 110), (20, 30), (110, 120), (40, 50)]);
}

/// Each call's start and end (ms into the batch), in call order.
fn spans(batch: &toolcall_runtime::Batch) -> Vec<(u128, u128)> {
    batch
        .results
        .iter()
        .map(|r| (r.started.as_millis(), r.ended().as_millis()))
        .collect()
}
