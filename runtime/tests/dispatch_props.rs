//! Properties of gather-style dispatch, on tokio's paused clock: one result
//! per call, in call order, and the exact schedule each policy promises.

mod common;

use std::time::Duration;

use common::{Behaviour, Scripted, paused_runtime, quiet_deliberate_panics};
use proptest::prelude::*;
use toolcall_runtime::{Batch, DispatchOptions, Outcome, ToolCall, ToolSet};

fn behaviour() -> impl Strategy<Value = Behaviour> {
    (0u64..500, 0u8..10).prop_map(|(delay_ms, kind)| Behaviour {
        delay_ms,
        fail: kind == 0,
        panic: kind == 1,
    })
}

/// A call to `work` or, when `exclusive`, to `alone`.
fn calls_of(spec: &[(Behaviour, bool)]) -> Vec<ToolCall> {
    spec.iter()
        .enumerate()
        .map(|(i, (b, exclusive))| {
            let name = if *exclusive { "alone" } else { "work" };
            ToolCall::new(format!("call_{i}"), name, b.arguments())
        })
        .collect()
}

fn tools() -> ToolSet {
    ToolSet::builder()
        .add(Scripted::new("work"))
        .add(Scripted::new("alone").exclusive())
        .build()
        .expect("tool set")
}

fn run(calls: &[ToolCall], options: DispatchOptions) -> Batch {
    let tools = tools();
    paused_runtime().block_on(async { tools.dispatch(calls).options(options).await })
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// Greedy list scheduling on `k` slots in call order: each call's start time.
fn expected_starts(delays: &[u64], k: usize) -> Vec<u64> {
    let mut free_at = vec![0u64; k.min(delays.len()).max(1)];
    delays
        .iter()
        .map(|d| {
            let (slot, &at) = free_at
                .iter()
                .enumerate()
                .min_by_key(|&(i, &t)| (t, i))
                .expect("at least one slot");
            free_at[slot] = at + d;
            at
        })
        .collect()
}

fn check_one_result_per_call_in_order(
    calls: &[ToolCall],
    spec: &[(Behaviour, bool)],
    batch: &Batch,
) {
    assert_eq!(batch.results.len(), calls.len());
    for ((call, (b, _)), result) in calls.iter().zip(spec).zip(&batch.results) {
        assert_eq!(result.call_id, call.id);
        assert_eq!(result.name, call.name);
        let expected = if b.panic {
            Outcome::Panicked
        } else if b.fail {
            Outcome::ToolError
        } else {
            Outcome::Ok
        };
        assert_eq!(result.outcome, expected, "{result:?}");
        assert_eq!(result.elapsed, ms(b.delay_ms), "{result:?}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn parallel_makespan_is_the_longest_call(spec in prop::collection::vec((behaviour(), Just(false)), 0..24)) {
        quiet_deliberate_panics();
        let calls = calls_of(&spec);
        let batch = run(&calls, DispatchOptions::parallel());
        check_one_result_per_call_in_order(&calls, &spec, &batch);
        let longest = spec.iter().map(|(b, _)| b.delay_ms).max().unwrap_or(0);
        prop_assert_eq!(batch.makespan, ms(longest));
        prop_assert!(batch.results.iter().all(|r| r.started == Duration::ZERO));
        prop_assert_eq!(batch.total_call_time(), ms(spec.iter().map(|(b, _)| b.delay_ms).sum()));
    }

    #[test]
    fn sequential_makespan_is_the_sum(spec in prop::collection::vec((behaviour(), Just(false)), 0..16)) {
        quiet_deliberate_panics();
        let calls = calls_of(&spec);
        let batch = run(&calls, DispatchOptions::sequential());
        check_one_result_per_call_in_order(&calls, &spec, &batch);
        let total: u64 = spec.iter().map(|(b, _)| b.delay_ms).sum();
        prop_assert_eq!(batch.makespan, ms(total));
        prop_assert_eq!(batch.saved(), Duration::ZERO);
    }

    #[test]
    fn a_cap_of_k_gives_the_list_schedule(
        spec in prop::collection::vec((behaviour(), Just(false)), 1..20),
        k in 1usize..6,
    ) {
        quiet_deliberate_panics();
        let calls = calls_of(&spec);
        let batch = run(&calls, DispatchOptions::parallel().max_concurrency(k));
        check_one_result_per_call_in_order(&calls, &spec, &batch);
        let delays: Vec<u64> = spec.iter().map(|(b, _)| b.delay_ms).collect();
        let starts = expected_starts(&delays, k);
        for (result, start) in batch.results.iter().zip(&starts) {
            prop_assert_eq!(result.started, ms(*start), "{:?}", result);
        }
        let end = starts.iter().zip(&delays).map(|(s, d)| s + d).max().unwrap_or(0);
        prop_assert_eq!(batch.makespan, ms(end));
    }

    #[test]
    fn exclusive_calls_never_overlap_anything(
        spec in prop::collection::vec((behaviour(), prop::bool::weighted(0.3)), 1..20),
        cap in prop::option::of(1usize..5),
    ) {
        quiet_deliberate_panics();
        let calls = calls_of(&spec);
        let options = match cap {
            Some(k) => DispatchOptions::parallel().max_concurrency(k),
            None => DispatchOptions::parallel(),
        };
        let batch = run(&calls, options);
        check_one_result_per_call_in_order(&calls, &spec, &batch);
        for (i, (_, exclusive)) in spec.iter().enumerate() {
            if !exclusive {
                continue;
            }
            let a = &batch.results[i];
            for (j, b) in batch.results.iter().enumerate() {
                if i == j {
                    continue;
                }
                let overlap = a.started < b.ended() && b.started < a.ended();
                let zero = a.elapsed.is_zero() || b.elapsed.is_zero();
                prop_assert!(!overlap || zero, "exclusive {a:?} overlaps {b:?}");
                // Calls before an exclusive call end before it starts; calls after start after it ends.
                if j < i {
                    prop_assert!(b.ended() <= a.started, "{b:?} should end before {a:?}");
                } else {
                    prop_assert!(b.started >= a.ended(), "{b:?} should start after {a:?}");
                }
            }
        }
    }
}
