//! Dispatch: every call gets exactly one result, whatever happens to it.

mod common;

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use common::{Behaviour, Scripted, quiet_deliberate_panics};
use toolcall_runtime::{DispatchOptions, Outcome, ToolCall, ToolSet};

fn call(id: &str, name: &str, delay_ms: u64) -> ToolCall {
    let b = Behaviour {
        delay_ms,
        fail: false,
        panic: false,
    };
    ToolCall::new(id, name, b.arguments())
}

fn work() -> (ToolSet, Arc<common::Counters>) {
    let tool = Scripted::new("work");
    let counters = tool.counters.clone();
    let set = ToolSet::builder()
        .add(tool)
        .add(Scripted::new("slow_limit").timeout(Duration::from_millis(50)))
        .build()
        .expect("tool set");
    (set, counters)
}

#[tokio::test(start_paused = true)]
async fn the_seed_tools_take_the_longest_not_the_sum() {
    let (tools, _) = work();
    let calls = [
        call("a", "work", 200),
        call("b", "work", 180),
        call("c", "work", 150),
    ];
    let parallel = tools.dispatch(&calls).await;
    assert_eq!(parallel.makespan, Duration::from_millis(200));
    assert_eq!(parallel.total_call_time(), Duration::from_millis(530));
    assert_eq!(parallel.saved(), Duration::from_millis(330));
    let sequential = tools.dispatch(&calls).sequential().await;
    assert_eq!(sequential.makespan, Duration::from_millis(530));
    let starts: Vec<u64> = sequential
        .results
        .iter()
        .map(|r| r.started.as_millis() as u64)
        .collect();
    assert_eq!(starts, [0, 200, 380]);
}

#[tokio::test(start_paused = true)]
async fn dropping_the_dispatch_stops_every_running_call() {
    let (tools, counters) = work();
    let calls: Vec<ToolCall> = (0..5)
        .map(|i| call(&format!("c{i}"), "work", 10_000))
        .collect();
    let dispatch = tools.dispatch(&calls).into_future();
    let outcome = tokio::time::timeout(Duration::from_millis(10), dispatch).await;
    assert!(
        outcome.is_err(),
        "the calls take 10 s, the dispatch cannot finish in 10 ms"
    );
    // The timeout dropped the dispatch future, and with it every call future.
    assert_eq!(counters.started.load(Ordering::SeqCst), 5);
    assert_eq!(counters.dropped.load(Ordering::SeqCst), 5);
    assert_eq!(counters.running.load(Ordering::SeqCst), 0);
}

#[tokio::test(start_paused = true)]
async fn cancel_on_answers_unfinished_calls_as_cancelled() {
    let (tools, counters) = work();
    let calls = [
        call("fast", "work", 10),
        call("slow", "work", 1_000),
        call("later", "work", 5),
    ];
    let batch = tools
        .dispatch(&calls)
        .options(DispatchOptions::parallel().max_concurrency(2))
        .cancel_on(tokio::time::sleep(Duration::from_millis(100)))
        .await;
    let outcomes: Vec<Outcome> = batch.results.iter().map(|r| r.outcome).collect();
    assert_eq!(outcomes, [Outcome::Ok, Outcome::Cancelled, Outcome::Ok]);
    assert_eq!(batch.makespan, Duration::from_millis(100));
    assert_eq!(batch.results[1].elapsed, Duration::from_millis(100));
    assert_eq!(counters.running.load(Ordering::SeqCst), 0);
}

#[tokio::test(start_paused = true)]
async fn timeouts_per_call_per_tool_and_per_batch() {
    let (tools, _) = work();
    let calls = [
        call("a", "work", 30),
        call("b", "work", 300),
        call("c", "slow_limit", 80),
    ];
    let batch = tools
        .dispatch(&calls)
        .options(DispatchOptions::parallel().call_timeout(Duration::from_millis(200)))
        .await;
    let outcomes: Vec<Outcome> = batch.results.iter().map(|r| r.outcome).collect();
    assert_eq!(
        outcomes,
        [Outcome::Ok, Outcome::TimedOut, Outcome::TimedOut]
    );
    assert_eq!(batch.results[1].elapsed, Duration::from_millis(200));
    // The tool's own 50 ms timeout wins over the default of 200 ms.
    assert_eq!(batch.results[2].elapsed, Duration::from_millis(50));
    assert!(
        batch.results[1].content.contains("timed out after 200ms"),
        "{}",
        batch.results[1].content
    );

    let batch = tools
        .dispatch(&calls)
        .options(DispatchOptions::sequential().batch_timeout(Duration::from_millis(100)))
        .await;
    let outcomes: Vec<Outcome> = batch.results.iter().map(|r| r.outcome).collect();
    assert_eq!(
        outcomes,
        [Outcome::Ok, Outcome::TimedOut, Outcome::TimedOut]
    );
    assert_eq!(batch.makespan, Duration::from_millis(100));
    assert!(
        batch.results[1]
            .content
            .contains("before this call finished")
    );
    assert!(
        batch.results[2]
            .content
            .contains("before this call started")
    );
}

#[tokio::test(start_paused = true)]
async fn malformed_calls_each_get_their_one_result() {
    quiet_deliberate_panics();
    let (tools, _) = work();
    let panicking = Behaviour {
        delay_ms: 5,
        fail: false,
        panic: true,
    }
    .arguments();
    let failing = Behaviour {
        delay_ms: 5,
        fail: true,
        panic: false,
    }
    .arguments();
    let calls = [
        call("ok", "work", 20),
        ToolCall::new(
            "dup",
            "work",
            "{\"delay_ms\": 1, \"fail\": false, \"panic\": false}",
        ),
        ToolCall::new(
            "dup",
            "work",
            "{\"delay_ms\": 1, \"fail\": false, \"panic\": false}",
        ),
        ToolCall::new("empty", "", "{}"),
        ToolCall::new("notjson", "work", "{delay_ms: 1"),
        ToolCall::new("unknown", "nope", "{}"),
        ToolCall::new(
            "big",
            "work",
            format!("{{\"pad\": \"{}\"}}", "x".repeat(100)),
        ),
        ToolCall::new("panics", "work", panicking),
        ToolCall::new("fails", "work", failing),
    ];
    let batch = tools
        .dispatch(&calls)
        .options(DispatchOptions::parallel().max_argument_bytes(64))
        .await;
    let got: Vec<(&str, Outcome)> = batch
        .results
        .iter()
        .map(|r| (r.call_id.as_str(), r.outcome))
        .collect();
    assert_eq!(
        got,
        [
            ("ok", Outcome::Ok),
            ("dup", Outcome::Ok),
            ("dup", Outcome::InvalidArguments),
            ("empty", Outcome::InvalidArguments),
            ("notjson", Outcome::InvalidArguments),
            ("unknown", Outcome::UnknownTool),
            ("big", Outcome::InvalidArguments),
            ("panics", Outcome::Panicked),
            ("fails", Outcome::ToolError),
        ]
    );
    let text = |i: usize| batch.results[i].content.as_str();
    assert!(text(2).contains("duplicate call id `dup`"), "{}", text(2));
    assert!(text(3).contains("no tool name"), "{}", text(3));
    assert!(
        text(4).starts_with("invalid arguments for `work`"),
        "{}",
        text(4)
    );
    assert!(
        text(5).contains("unknown tool `nope`") && text(5).contains("work"),
        "{}",
        text(5)
    );
    assert!(
        text(6).contains("over the limit of 64 bytes"),
        "{}",
        text(6)
    );
    assert_eq!(text(7), "the tool panicked: deliberate test panic");
    assert_eq!(text(8), "error: failed after 5 ms");
    assert_eq!(batch.makespan, Duration::from_millis(20));
}

#[tokio::test(start_paused = true)]
async fn every_later_call_with_an_earlier_id_is_refused_however_far_apart() {
    let (tools, counters) = work();
    // 3,000 calls; four reuse an earlier id, one of them twice, far apart.
    let mut calls: Vec<ToolCall> = (0..3_000)
        .map(|i| call(&format!("c{i}"), "work", 1))
        .collect();
    let reused = [
        (2_999, 0),
        (1_501, 1_500),
        (2_000, 17),
        (2_500, 17),
        (40, 39),
    ];
    for &(later, earlier) in &reused {
        calls[later] = call(&format!("c{earlier}"), "work", 1);
    }
    for cap in [None, Some(7)] {
        let before = counters.started.load(Ordering::SeqCst);
        let mut options = DispatchOptions::parallel();
        if let Some(cap) = cap {
            options = options.max_concurrency(cap);
        }
        let batch = tools.dispatch(&calls).options(options).await;
        let refused: Vec<usize> = (0..calls.len())
            .filter(|&i| batch.results[i].outcome != Outcome::Ok)
            .collect();
        assert_eq!(refused, [40, 1_501, 2_000, 2_500, 2_999], "cap {cap:?}");
        for &(later, earlier) in &reused {
            let text = &batch.results[later].content;
            assert!(
                text.contains(&format!("duplicate call id `c{earlier}`")),
                "{text}"
            );
        }
        assert_eq!(
            counters.started.load(Ordering::SeqCst) - before,
            calls.len() - reused.len()
        );
    }
}

#[tokio::test(start_paused = true)]
async fn an_empty_batch_is_empty() {
    let (tools, _) = work();
    let batch = tools.dispatch(&[]).await;
    assert!(batch.results.is_empty());
    assert_eq!(batch.makespan, Duration::ZERO);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cap_bounds_the_calls_running_at_once() {
    let (tools, counters) = work();
    let calls: Vec<ToolCall> = (0..12).map(|i| call(&format!("c{i}"), "work", 2)).collect();
    let batch = tools
        .dispatch(&calls)
        .options(DispatchOptions::parallel().max_concurrency(3))
        .await;
    assert!(batch.all_ok());
    assert_eq!(counters.max_running.load(Ordering::SeqCst), 3);
}
