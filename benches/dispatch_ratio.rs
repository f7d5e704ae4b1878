//! Dispatch against a bare `join_all`, the two contenders interleaved.
//!
//! On a shared or virtual machine the CPU's speed moves by a third for
//! seconds at a time, so two rows timed one after the other (as criterion
//! does) can land in different states and their ratio says more about the
//! machine than the code. Here every round times a slice of calls under
//! each contender back to back, in alternating order, and the ratio is taken
//! per round: what is printed is the median round's and the spread of the
//! middle half of the rounds, each measured in this one run.
//!
//! ```text
//! cargo bench --bench dispatch_ratio
//! TOOLCALL_BENCH_ROUNDS=61 cargo bench --bench dispatch_ratio
//! ```

use std::hint::black_box;
use std::time::{Duration, Instant};

use toolcall::{ToolCall, ToolSet};

mod common;
use common::{calls, echo_runtime};
#[path = "common/floor.rs"]
mod floor;

/// Calls a contender runs in a round: ~20-40 ms of work, short enough to
/// stay inside one of the machine's states, long enough to hide the clock.
const CALLS_A_ROUND: usize = 100_000;

fn main() {
    let rounds: usize = std::env::var("TOOLCALL_BENCH_ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .filter(|&r| r > 0)
        .unwrap_or(41);
    let (rt, tools) = echo_runtime();
    println!(
        "{:>8}  {:>17}  {:>17}  {:>7}  {:>13}  ({rounds} rounds interleaved)",
        "calls", "toolcall ns/call", "join_all ns/call", "ratio", "middle half"
    );
    for n in [100usize, 1_000, 10_000, 100_000] {
        let batch = calls(n);
        let reps = (CALLS_A_ROUND / n).max(1);
        let per_call = |elapsed: Duration| elapsed.as_nanos() as f64 / (reps * n) as f64;
        let time = |toolcall: bool| {
            rt.block_on(async {
                let start = Instant::now();
                for _ in 0..reps {
                    run(&tools, &batch, toolcall).await;
                }
                per_call(start.elapsed())
            })
        };
        // Warm both up: the allocator's pages, the caches, the branch tables.
        time(true);
        time(false);
        let mut ours = Vec::with_capacity(rounds);
        let mut floor = Vec::with_capacity(rounds);
        let mut ratios = Vec::with_capacity(rounds);
        for round in 0..rounds {
            let (t, j) = if round % 2 == 0 {
                let t = time(true);
                (t, time(false))
            } else {
                let j = time(false);
                (time(true), j)
            };
            ours.push(t);
            floor.push(j);
            ratios.push(t / j);
        }
        let (ratio, low, high) = quartiles(&mut ratios);
        println!(
            "{n:>8}  {:>17.0}  {:>17.0}  {ratio:>6.2}x  {low:>5.2}-{high:<5.2}x",
            quartiles(&mut ours).0,
            quartiles(&mut floor).0,
        );
    }
}

async fn run(tools: &ToolSet, batch: &[ToolCall], toolcall: bool) {
    if toolcall {
        black_box(tools.dispatch(batch).await);
    } else {
        black_box(floor::join_all_floor(batch).await);
    }
}

/// Median, first and third quartiles.
fn quartiles(values: &mut [f64]) -> (f64, f64, f64) {
    values.sort_by(f64::total_cmp);
    let at = |q: usize| values[(values.len() - 1) * q / 4];
    (at(2), at(1), at(3))
}
