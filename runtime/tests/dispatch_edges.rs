//! Dispatch at its edges: timeouts too far away to be instants, panics in a
//! cancelled call's `Drop`, a cancel signal that fired before the batch, the
//! boundary of a deadline, slow synchronous launches, and huge echoed names.

mod common;

use std::sync::atomic::Ordering;
use std::time::Duration;

use common::{Behaviour, Scripted, quiet_deliberate_panics};
use schemars::SchemaGenerator;
use serde_json::{Value, json};
use toolcall_runtime::{
    CallError, DispatchOptions, Outcome, StateMap, Tool, ToolCall, ToolFuture, ToolPolicy, ToolSet,
};

const MS: fn(u64) -> Duration = Duration::from_millis;

fn call(id: &str, name: &str, delay_ms: u64) -> ToolCall {
    let b = Behaviour {
        delay_ms,
        fail: false,
        panic: false,
    };
    ToolCall::new(id, name, b.arguments())
}

/// A tool that sleeps `delay_ms`, and whose future panics when dropped
/// before it finished; its synchronous start takes `launch` of real time.
struct Awkward {
    name: &'static str,
    panic_on_drop: bool,
    launch: Duration,
}

struct PanicOnDrop(bool);

impl Drop for PanicOnDrop {
    fn drop(&mut self) {
        if self.0 {
            panic!("deliberate panic in drop");
        }
    }
}

impl Tool for Awkward {
    fn name(&self) -> &str {
        self.name
    }
    fn description(&self) -> &str {
        "awkward"
    }
    fn policy(&self) -> ToolPolicy {
        ToolPolicy::DEFAULT
    }
    fn parameters(&self, _: &mut SchemaGenerator) -> Value {
        json!({"type": "object", "properties": {"delay_ms": {"type": "integer"}}})
    }
    fn call(&self, arguments: &str, _: &StateMap) -> Result<ToolFuture, CallError> {
        let b: Behaviour = serde_json::from_str(arguments)
            .map_err(|e| CallError::InvalidArguments(e.to_string()))?;
        // A slow synchronous start (a blocking lookup before the future).
        std::thread::sleep(self.launch);
        let armed = PanicOnDrop(self.panic_on_drop);
        Ok(Box::pin(async move {
            // The whole guard moves in (not just its field).
            let mut armed = armed;
            tokio::time::sleep(Duration::from_millis(b.delay_ms)).await;
            armed.0 = false;
            Ok("done".into())
        }))
    }
}

fn tools() -> ToolSet {
    ToolSet::builder()
        .add(Scripted::new("work"))
        .add(Awkward {
            name: "explosive",
            panic_on_drop: true,
            launch: Duration::ZERO,
        })
        .add(Awkward {
            name: "slow_start",
            panic_on_drop: false,
            launch: MS(300),
        })
        .build()
        .expect("tools")
}

#[tokio::test(start_paused = true)]
async fn timeouts_too_far_away_are_no_timeouts() {
    let tools = tools();
    let calls = [call("a", "work", 50), call("b", "work", 10)];
    for options in [
        DispatchOptions::parallel().call_timeout(Duration::MAX),
        DispatchOptions::parallel().batch_timeout(Duration::MAX),
        DispatchOptions::parallel().call_timeout(Duration::from_secs(u64::MAX / 2)),
        DispatchOptions::sequential()
            .call_timeout(Duration::MAX)
            .batch_timeout(Duration::MAX),
    ] {
        let batch = tools.dispatch(&calls).options(options.clone()).await;
        assert!(
            batch.results.iter().all(|r| r.outcome == Outcome::Ok),
            "{options:?}: {:?}",
            batch.results
        );
    }
}

#[tokio::test(start_paused = true)]
async fn a_panic_in_a_cancelled_calls_drop_stays_with_that_call() {
    quiet_deliberate_panics();
    let tools = tools();
    let calls = [
        call("a", "work", 10),
        call("b", "explosive", 1_000),
        call("c", "work", 20),
    ];
    // Its own timeout.
    let batch = tools
        .dispatch(&calls)
        .options(DispatchOptions::parallel().call_timeout(MS(100)))
        .await;
    let outcomes: Vec<Outcome> = batch.results.iter().map(|r| r.outcome).collect();
    assert_eq!(outcomes, [Outcome::Ok, Outcome::TimedOut, Outcome::Ok]);
    assert!(
        batch.results[1].content.contains("panicked when cancelled"),
        "{}",
        batch.results[1].content
    );
    // The batch deadline.
    let batch = tools
        .dispatch(&calls)
        .options(DispatchOptions::parallel().batch_timeout(MS(100)))
        .await;
    let outcomes: Vec<Outcome> = batch.results.iter().map(|r| r.outcome).collect();
    assert_eq!(outcomes, [Outcome::Ok, Outcome::TimedOut, Outcome::Ok]);
}

#[tokio::test(start_paused = true)]
async fn a_signal_that_already_fired_starts_nothing() {
    let work = Scripted::new("work");
    let counters = work.counters.clone();
    let tools = ToolSet::builder().add(work).build().expect("tools");
    let calls = [call("a", "work", 0), call("b", "work", 10)];
    let batch = tools
        .dispatch(&calls)
        .cancel_on(std::future::ready(()))
        .await;
    assert!(
        batch
            .results
            .iter()
            .all(|r| r.outcome == Outcome::Cancelled)
    );
    assert_eq!(counters.started.load(Ordering::SeqCst), 0);
    assert_eq!(batch.results[1].call_id, "b");
}

/// One rule for both limits: a call that finishes at its deadline made it.
#[tokio::test(start_paused = true)]
async fn a_call_finishing_at_the_deadline_made_it_for_either_limit() {
    let tools = tools();
    let calls = [call("a", "work", 100)];
    for (limit, expected) in [(100, Outcome::Ok), (99, Outcome::TimedOut)] {
        for options in [
            DispatchOptions::parallel().call_timeout(MS(limit)),
            DispatchOptions::parallel().batch_timeout(MS(limit)),
        ] {
            let batch = tools.dispatch(&calls).options(options.clone()).await;
            assert_eq!(batch.results[0].outcome, expected, "{options:?}");
        }
    }
}

/// Real time: a call's timeout counts from its own launch, not from the
/// pass that launched an earlier, slow-starting call before it.
#[tokio::test]
async fn a_slow_launch_does_not_use_up_the_next_calls_timeout() {
    let tools = tools();
    let calls = [call("a", "slow_start", 0), call("b", "work", 20)];
    let batch = tools
        .dispatch(&calls)
        .options(DispatchOptions::parallel().call_timeout(MS(250)))
        .await;
    let outcomes: Vec<Outcome> = batch.results.iter().map(|r| r.outcome).collect();
    assert_eq!(outcomes, [Outcome::Ok, Outcome::Ok], "{:?}", batch.results);
    assert!(
        batch.results[1].started >= MS(300),
        "{:?}",
        batch.results[1].started
    );
}

#[tokio::test(start_paused = true)]
async fn huge_names_and_ids_are_not_echoed_whole() {
    let tools = tools();
    let huge = "x".repeat(10 << 20);
    let calls = [
        ToolCall::new("a", huge.clone(), "{}"),
        ToolCall::new(huge.clone(), "work", call("", "", 0).arguments),
        ToolCall::new(huge.clone(), "work", call("", "", 0).arguments),
    ];
    let batch = tools.dispatch(&calls).await;
    let outcomes: Vec<Outcome> = batch.results.iter().map(|r| r.outcome).collect();
    assert_eq!(
        outcomes,
        [Outcome::UnknownTool, Outcome::Ok, Outcome::InvalidArguments]
    );
    for result in [&batch.results[0], &batch.results[2]] {
        assert!(
            result.content.len() < 1024,
            "{} bytes",
            result.content.len()
        );
        assert!(result.content.contains(&format!("({} bytes)", huge.len())));
    }
    // The id itself stays whole: the API pairs results by it.
    assert_eq!(batch.results[2].call_id.len(), huge.len());
}
