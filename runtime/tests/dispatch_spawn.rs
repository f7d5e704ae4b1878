//! Calls run as tasks (`DispatchOptions::spawn`, `#[tool(spawn)]`): every
//! guarantee of the inline dispatch holds, and calls use every worker.

mod common;

use std::future::IntoFuture;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use common::{Behaviour, Scripted, quiet_deliberate_panics};
use schemars::SchemaGenerator;
use serde_json::{Value, json};
use toolcall_runtime::{
    CallError, DispatchOptions, Outcome, StateMap, Tool, ToolCall, ToolFuture, ToolPolicy, ToolSet,
};

const MS: fn(u64) -> Duration = Duration::from_millis;

fn call(id: &str, delay_ms: u64, panic: bool) -> ToolCall {
    let b = Behaviour {
        delay_ms,
        fail: false,
        panic,
    };
    ToolCall::new(id, "work", b.arguments())
}

#[tokio::test(start_paused = true)]
async fn spawned_calls_keep_order_timing_panics_and_timeouts() {
    quiet_deliberate_panics();
    let tools = ToolSet::builder()
        .add(Scripted::new("work"))
        .build()
        .expect("tools");
    let calls = [
        call("a", 200, false),
        call("b", 180, false),
        call("c", 150, false),
    ];
    let parallel = tools
        .dispatch(&calls)
        .options(DispatchOptions::parallel().spawn(true))
        .await;
    assert_eq!(parallel.makespan, MS(200));
    let ids: Vec<&str> = parallel
        .results
        .iter()
        .map(|r| r.call_id.as_str())
        .collect();
    assert_eq!(ids, ["a", "b", "c"]);
    let sequential = tools
        .dispatch(&calls)
        .options(DispatchOptions::sequential().spawn(true))
        .await;
    assert_eq!(sequential.makespan, MS(530));

    let mixed = [
        call("a", 10, true),
        call("b", 100, false),
        call("c", 20, false),
    ];
    let batch = tools
        .dispatch(&mixed)
        .options(DispatchOptions::parallel().spawn(true).call_timeout(MS(50)))
        .await;
    let outcomes: Vec<Outcome> = batch.results.iter().map(|r| r.outcome).collect();
    assert_eq!(
        outcomes,
        [Outcome::Panicked, Outcome::TimedOut, Outcome::Ok]
    );
    assert!(
        batch.results[0].content.contains("deliberate"),
        "{}",
        batch.results[0].content
    );
}

#[tokio::test(start_paused = true)]
async fn dropping_the_dispatch_aborts_the_tasks() {
    let work = Scripted::new("work");
    let counters = work.counters.clone();
    let tools = ToolSet::builder().add(work).build().expect("tools");
    let calls: Vec<ToolCall> = (0..4)
        .map(|i| call(&format!("c{i}"), 10_000, false))
        .collect();
    let dispatch = tools
        .dispatch(&calls)
        .options(DispatchOptions::parallel().spawn(true))
        .into_future();
    // Let the tasks start, then give up on the batch.
    let _ = tokio::time::timeout(MS(100), dispatch).await;
    for _ in 0..10 {
        tokio::task::yield_now().await;
    }
    assert_eq!(counters.started.load(Ordering::SeqCst), 4);
    assert_eq!(
        counters.dropped.load(Ordering::SeqCst),
        4,
        "every task aborted"
    );
    assert_eq!(counters.running.load(Ordering::SeqCst), 0);
}

/// Blocks its thread until `n` calls are in at once (at most 10 s): it can
/// only pass when the calls run on as many threads.
struct Rendezvous {
    n: usize,
    arrived: Arc<(Mutex<usize>, Condvar)>,
    policy: ToolPolicy,
}

impl Tool for Rendezvous {
    fn name(&self) -> &str {
        "rendezvous"
    }
    fn description(&self) -> &str {
        "waits, blocking its thread, for the others"
    }
    fn policy(&self) -> ToolPolicy {
        self.policy
    }
    fn parameters(&self, _: &mut SchemaGenerator) -> Value {
        json!({"type": "object", "properties": {}})
    }
    fn call(&self, _: &str, _: &StateMap) -> Result<ToolFuture, CallError> {
        let (arrived, n) = (self.arrived.clone(), self.n);
        Ok(Box::pin(async move {
            let (count, all_in) = &*arrived;
            let mut count = count.lock().map_err(|_| "poisoned")?;
            *count += 1;
            all_in.notify_all();
            let (count, timeout) = all_in
                .wait_timeout_while(count, Duration::from_secs(10), |c| *c < n)
                .map_err(|_| "poisoned")?;
            if timeout.timed_out() {
                return Err(format!("only {} of {n} calls ran at once", *count).into());
            }
            Ok("all in".into())
        }))
    }
}

/// Two CPU-bound calls on a 2-worker runtime run at the same time when the
/// tool opts in with its policy (`#[tool(spawn)]`).
#[test]
fn spawned_calls_run_on_every_worker() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_time()
        .build()
        .expect("a runtime");
    let tool = Rendezvous {
        n: 2,
        arrived: Arc::default(),
        policy: ToolPolicy::DEFAULT.with_spawn(true),
    };
    let tools = ToolSet::builder().add(tool).build().expect("tools");
    let calls = [
        ToolCall::new("a", "rendezvous", "{}"),
        ToolCall::new("b", "rendezvous", "{}"),
    ];
    let batch = runtime.block_on(tools.dispatch(&calls).into_future());
    for result in &batch.results {
        assert_eq!(result.outcome, Outcome::Ok, "{}", result.content);
    }
}
