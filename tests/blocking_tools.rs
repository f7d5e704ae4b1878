//! Plain (blocking) `#[tool]` fns on tokio's blocking pool: a call that
//! times out while it waits for a blocking thread never starts, and one
//! whose body was already running says it could not be stopped.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use toolcall::{DispatchOptions, Outcome, ToolCall, ToolSet, tool};

static SLOW_RAN: AtomicUsize = AtomicUsize::new(0);
static QUICK_RAN: AtomicUsize = AtomicUsize::new(0);

/// Holds the only blocking thread for a while.
#[tool]
fn hold_the_pool() -> String {
    SLOW_RAN.fetch_add(1, Ordering::SeqCst);
    std::thread::sleep(Duration::from_millis(300));
    "held".into()
}

/// Counts its runs.
#[tool]
fn count() -> String {
    QUICK_RAN.fetch_add(1, Ordering::SeqCst);
    "counted".into()
}

/// Real time, one blocking thread: `hold_the_pool` takes it for 300 ms, so
/// `count` waits in the queue when the 50 ms timeout answers both.
#[test]
fn a_timed_out_blocking_call_never_starts_and_a_running_one_says_so() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .max_blocking_threads(1)
        .enable_time()
        .build()
        .expect("a runtime");
    runtime.block_on(async {
        let tools = ToolSet::builder()
            .tools(toolcall::tools![hold_the_pool, count])
            .build()
            .expect("tools");
        assert!(tools.policy("count").is_some_and(|p| p.blocking));
        let calls = [
            ToolCall::new("a", "hold_the_pool", "{}"),
            ToolCall::new("b", "count", "{}"),
        ];
        let batch = tools
            .dispatch(&calls)
            .options(DispatchOptions::parallel().call_timeout(Duration::from_millis(50)))
            .await;
        let outcomes: Vec<Outcome> = batch.results.iter().map(|r| r.outcome).collect();
        assert_eq!(outcomes, [Outcome::TimedOut, Outcome::TimedOut]);
        assert!(
            batch.results[0].content.contains("cannot be stopped"),
            "{}",
            batch.results[0].content
        );
        // Long after the pool is free again, the queued body has not run.
        tokio::time::sleep(Duration::from_millis(600)).await;
    });
    assert_eq!(SLOW_RAN.load(Ordering::SeqCst), 1);
    assert_eq!(
        QUICK_RAN.load(Ordering::SeqCst),
        0,
        "a cancelled call started"
    );
}
