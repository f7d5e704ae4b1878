//! Dispatch overhead per call against a bare `join_all` of the same work,
//! sequential against parallel for the seed's three tools (200/180/150 ms),
//! and CPU-bound tools inline against spawned on a 2-worker runtime.
//!
//! Criterion times each row apart, so on a machine whose speed drifts the
//! two overhead rows can be measured in different states: for their ratio,
//! `cargo bench --bench dispatch_ratio` interleaves them round by round.

use std::hint::black_box;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use toolcall::{ToolCall, ToolSet, tool};

mod common;
use common::{calls, echo_runtime};
#[path = "common/floor.rs"]
mod floor;

/// Sleep for a while, as a remote call would.
#[tool]
async fn wait(
    /// How long, in milliseconds.
    ms: u64,
) -> String {
    tokio::time::sleep(Duration::from_millis(ms)).await;
    format!("waited {ms} ms")
}

/// Burn about `ms` of one core, without awaiting: a CPU-bound tool.
async fn burn(ms: u64) -> u64 {
    let until = std::time::Instant::now() + Duration::from_millis(ms);
    let mut spins = 0u64;
    while std::time::Instant::now() < until {
        spins = black_box(spins.wrapping_add(1));
    }
    spins
}

/// A CPU-bound tool that runs inside the dispatch future.
#[tool]
async fn crunch(
    /// How long, in milliseconds.
    ms: u64,
) -> u64 {
    burn(ms).await
}

/// The same, run as its own task: it can use every worker.
#[tool(spawn)]
async fn crunch_spawned(
    /// How long, in milliseconds.
    ms: u64,
) -> u64 {
    burn(ms).await
}

fn overhead(c: &mut Criterion) {
    let (rt, tools) = echo_runtime();
    let mut group = c.benchmark_group("dispatch_overhead");
    for n in [1usize, 10, 100, 1_000, 10_000, 100_000] {
        let batch = calls(n);
        group.throughput(Throughput::Elements(n as u64));
        group.bench_with_input(BenchmarkId::new("toolcall", n), &batch, |b, batch| {
            b.to_async(&rt)
                .iter(|| async { black_box(tools.dispatch(batch).await) });
        });
        // The floor: the same parse, run and serialise, gathered with a bare join_all.
        group.bench_with_input(BenchmarkId::new("join_all", n), &batch, |b, batch| {
            b.to_async(&rt)
                .iter(|| async { black_box(floor::join_all_floor(batch).await) });
        });
    }
    group.finish();
}

fn seed_tools(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("runtime");
    let tools = ToolSet::builder()
        .tools(toolcall::tools![wait])
        .build()
        .expect("tools");
    let batch: Vec<ToolCall> = [200, 180, 150]
        .iter()
        .enumerate()
        .map(|(i, ms)| ToolCall::new(format!("call_{i}"), "wait", format!("{{\"ms\":{ms}}}")))
        .collect();
    let mut group = c.benchmark_group("seed_tools_200_180_150ms");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(8));
    group.bench_function("sequential", |b| {
        b.to_async(&rt)
            .iter(|| async { black_box(tools.dispatch(&batch).sequential().await) });
    });
    group.bench_function("parallel", |b| {
        b.to_async(&rt)
            .iter(|| async { black_box(tools.dispatch(&batch).await) });
    });
    group.finish();
}

/// Four CPU-bound calls of ~100 ms each on a 2-worker runtime: inline they
/// share the dispatch future's one thread (~400 ms); spawned, both workers
/// (~200 ms is the floor).
fn cpu_bound(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_time()
        .build()
        .expect("runtime");
    let tools = ToolSet::builder()
        .tools(toolcall::tools![crunch, crunch_spawned])
        .build()
        .expect("tools");
    let batch = |name: &str| -> Vec<ToolCall> {
        (0..4)
            .map(|i| ToolCall::new(format!("call_{i}"), name, "{\"ms\":100}"))
            .collect()
    };
    let (inline, spawned) = (batch("crunch"), batch("crunch_spawned"));
    let mut group = c.benchmark_group("cpu_bound_4x100ms_2_workers");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(6));
    group.bench_function("inline", |b| {
        b.to_async(&rt)
            .iter(|| async { black_box(tools.dispatch(&inline).await) });
    });
    group.bench_function("spawn", |b| {
        b.to_async(&rt)
            .iter(|| async { black_box(tools.dispatch(&spawned).await) });
    });
    group.finish();
}

criterion_group!(benches, overhead, seed_tools, cpu_bound);
criterion_main!(benches);
