//! Benchmark sequential against parallel dispatch on your own tools, with
//! recorded or modelled latencies, in a few lines of criterion
//! (`criterion` feature).
//!
//! ```no_run
//! use criterion::{Criterion, criterion_group, criterion_main};
//! use toolcall_sim::{Latency, Session, bench, with_latency};
//!
//! fn dispatch(c: &mut Criterion) {
//!     // Recorded: the widest round of a session, its calls taking their latencies.
//!     let session = Session::load("session.recording.json").expect("recording");
//!     let (tools, calls) = bench::widest_round(&session).expect("tools");
//!     bench::sequential_vs_parallel(c, "recorded", &tools, &calls);
//! }
//!
//! criterion_group!(benches, dispatch);
//! criterion_main!(benches);
//! ```
//!
//! With modelled latencies, wrap your own tools (`with_latency(tool,
//! Latency::lognormal(...))`) into a `ToolSet` and pass it with the calls.

use std::hint::black_box;
use std::sync::Arc;

use criterion::Criterion;
use toolcall_runtime::{BuildError, DispatchOptions, Tool, ToolCall, ToolSet};

use crate::sessions::session::{Session, SessionRound};
use crate::sessions::whatif::RecordedTool;

/// Two criterion benchmarks in group `name`, `sequential` and `parallel`:
/// `calls` dispatched on `tools`, one after another and all at once, on a
/// current-thread runtime (real time: criterion measures what you would
/// wait). Ten samples, so slow tools stay bearable.
pub fn sequential_vs_parallel(c: &mut Criterion, name: &str, tools: &ToolSet, calls: &[ToolCall]) {
    let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
    else {
        return;
    };
    let mut group = c.benchmark_group(name);
    group.sample_size(10);
    for (label, options) in [
        ("sequential", DispatchOptions::sequential()),
        ("parallel", DispatchOptions::parallel()),
    ] {
        group.bench_function(label, |b| {
            b.to_async(&runtime)
                .iter(|| async { black_box(tools.dispatch(calls).options(options.clone()).await) });
        });
    }
    group.finish();
}

/// The tools and calls of one recorded round: a [`RecordedTool`] per name,
/// each call taking its recorded latency (again on every iteration).
pub fn round(round: &SessionRound) -> Result<(ToolSet, Vec<ToolCall>), BuildError> {
    let calls: Vec<ToolCall> = round
        .calls
        .iter()
        .map(|c| ToolCall::new(c.id.clone(), c.name.clone(), c.arguments.clone()))
        .collect();
    let mut names: Vec<&str> = round.calls.iter().map(|c| c.name.as_str()).collect();
    names.sort_unstable();
    names.dedup();
    let tools = names.into_iter().map(|name| {
        // A bench runs the round again and again: the latencies come round.
        let mut tool = RecordedTool::new(name).repeating();
        for call in round.calls.iter().filter(|c| c.name == name) {
            tool.push(&call.arguments, call.latency);
        }
        Arc::new(tool) as Arc<dyn Tool>
    });
    let tools = ToolSet::builder().tools(tools).relaxed().build()?;
    Ok((tools, calls))
}

/// The round with the most calls (the first of them), as [`round`] gives
/// it; no tools and no calls for a session without rounds.
pub fn widest_round(session: &Session) -> Result<(ToolSet, Vec<ToolCall>), BuildError> {
    let widest = session
        .rounds
        .iter()
        .rev()
        .max_by_key(|r| r.calls.len())
        .cloned()
        .unwrap_or(SessionRound {
            model_time: Default::default(),
            calls: Vec::new(),
        });
    round(&widest)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sessions::session::SessionCall;
    use std::time::Duration;

    #[tokio::test(start_paused = true)]
    async fn the_widest_round_replays_its_latencies_on_every_run() {
        let call = |name: &str, ms| SessionCall {
            id: format!("call_{name}_{ms}"),
            name: name.into(),
            arguments: "{}".into(),
            latency: Duration::from_millis(ms),
            ready: None,
        };
        let session = Session {
            rounds: vec![
                SessionRound {
                    model_time: Duration::ZERO,
                    calls: vec![call("x", 999)],
                },
                SessionRound {
                    model_time: Duration::ZERO,
                    calls: vec![call("a", 200), call("b", 180), call("a", 150)],
                },
            ],
            notes: Vec::new(),
        };
        let (tools, calls) = widest_round(&session).expect("tools");
        assert_eq!(tools.len(), 2);
        assert_eq!(calls.len(), 3);
        for _ in 0..3 {
            let sequential = tools.dispatch(&calls).sequential().await;
            assert_eq!(sequential.makespan, Duration::from_millis(530));
            let parallel = tools.dispatch(&calls).await;
            assert_eq!(parallel.makespan, Duration::from_millis(200));
        }
    }
}
