//! Resource keys, per-tool limits and exclusive tools, on tokio's paused
//! clock: the schedule dispatch runs equals, to the millisecond, the greedy
//! schedule the rules in `DispatchOptions`' and `ToolPolicy`'s docs define,
//! and so does `BatchPlan`, the same schedule for calls run elsewhere.

mod common;

use std::num::NonZeroUsize;
use std::time::Duration;

use common::paused_runtime;
use proptest::prelude::*;
use schemars::SchemaGenerator;
use serde::Deserialize;
use serde_json::{Value, json};
use toolcall_runtime::plan::BatchPlan;
use toolcall_runtime::{
    BuildError, CallError, CallResult, DispatchOptions, Outcome, StateMap, Tool, ToolCall,
    ToolFuture, ToolPolicy, ToolSet,
};

/// A tool that sleeps `delay_ms`; its policy names resources by `key`.
struct Keyed {
    name: &'static str,
    policy: ToolPolicy,
}

#[derive(Deserialize)]
struct Args {
    delay_ms: u64,
}

impl Tool for Keyed {
    fn name(&self) -> &str {
        self.name
    }
    fn description(&self) -> &str {
        "sleeps"
    }
    fn policy(&self) -> ToolPolicy {
        self.policy
    }
    fn parameters(&self, _: &mut SchemaGenerator) -> Value {
        json!({
            "type": "object",
            "properties": {"delay_ms": {"type": "integer"}, "key": {"type": "string"}},
            "required": ["delay_ms", "key"]
        })
    }
    fn call(&self, arguments: &str, _: &StateMap) -> Result<ToolFuture, CallError> {
        let args: Args = serde_json::from_str(arguments)
            .map_err(|e| CallError::InvalidArguments(e.to_string()))?;
        Ok(Box::pin(async move {
            tokio::time::sleep(Duration::from_millis(args.delay_ms)).await;
            Ok("done".into())
        }))
    }
}

/// The tools of the property, and the claims the reference model gives each.
struct Kind {
    name: &'static str,
    policy: ToolPolicy,
    /// Keys read and written; `@` stands for the call's `key` argument.
    reads: &'static [&'static str],
    writes: &'static [&'static str],
    exclusive: bool,
    limit: Option<usize>,
}

const fn two() -> Option<NonZeroUsize> {
    NonZeroUsize::new(2)
}

const KINDS: &[Kind] = &[
    Kind {
        name: "plain",
        policy: ToolPolicy::DEFAULT,
        reads: &[],
        writes: &[],
        exclusive: false,
        limit: None,
    },
    Kind {
        name: "reader",
        policy: ToolPolicy::DEFAULT.with_reads(&["file:{key}"]),
        reads: &["file:@"],
        writes: &[],
        exclusive: false,
        limit: None,
    },
    Kind {
        name: "writer",
        policy: ToolPolicy::DEFAULT.with_writes(&["file:{key}"]),
        reads: &[],
        writes: &["file:@"],
        exclusive: false,
        limit: None,
    },
    Kind {
        name: "migrate",
        policy: ToolPolicy::DEFAULT
            .with_writes(&["db"])
            .with_reads(&["file:{key}"]),
        reads: &["file:@"],
        writes: &["db"],
        exclusive: false,
        limit: None,
    },
    Kind {
        name: "query",
        policy: ToolPolicy::DEFAULT
            .with_reads(&["db"])
            .with_max_concurrency(two()),
        reads: &["db"],
        writes: &[],
        exclusive: false,
        limit: Some(2),
    },
    Kind {
        name: "fetch",
        policy: ToolPolicy::DEFAULT.with_max_concurrency(two()),
        reads: &[],
        writes: &[],
        exclusive: false,
        limit: Some(2),
    },
    Kind {
        name: "alone",
        policy: ToolPolicy::DEFAULT.with_exclusive(true),
        reads: &[],
        writes: &[],
        exclusive: true,
        limit: None,
    },
];

fn tools() -> ToolSet {
    KINDS
        .iter()
        .fold(ToolSet::builder(), |b, k| {
            b.add(Keyed {
                name: k.name,
                policy: k.policy,
            })
        })
        .build()
        .expect("tool set")
}

const FILES: &[&str] = &["a", "b", "c"];

/// One call: a kind, a file key, a duration in ms (at least 1).
type Spec = (usize, usize, u64);

fn calls_of(spec: &[Spec]) -> Vec<ToolCall> {
    spec.iter()
        .enumerate()
        .map(|(i, &(kind, file, delay))| {
            let args = json!({"delay_ms": delay, "key": FILES[file]}).to_string();
            ToolCall::new(format!("call_{i}"), KINDS[kind].name, args)
        })
        .collect()
}

/// The schedule the rules define, by simulation: at time 0 and whenever
/// calls finish, the calls not started are considered in call order and
/// each starts if, at that moment, the rules allow it. Returns start times.
fn greedy(spec: &[Spec], cap: Option<usize>) -> Vec<u64> {
    let n = spec.len();
    let keys = |i: usize, of: &[&str]| -> Vec<String> {
        of.iter()
            .map(|k| k.replace('@', FILES[spec[i].1]))
            .collect()
    };
    let writes: Vec<Vec<String>> = (0..n).map(|i| keys(i, KINDS[spec[i].0].writes)).collect();
    let reads: Vec<Vec<String>> = (0..n)
        .map(|i| {
            let mut r = keys(i, KINDS[spec[i].0].reads);
            r.retain(|k| !writes[i].contains(k));
            r
        })
        .collect();
    let touches = |i: usize, k: &String| reads[i].contains(k) || writes[i].contains(k);
    let mut start: Vec<Option<u64>> = vec![None; n];
    let end = |start: &[Option<u64>], i: usize| start[i].map(|s| s + spec[i].2);
    let mut t = 0;
    while start.iter().any(Option::is_none) {
        for i in 0..n {
            if start[i].is_some() {
                continue;
            }
            let finished = |j: usize| end(&start, j).is_some_and(|e| e <= t);
            let running = |j: usize| start[j].is_some() && !finished(j);
            let kind = &KINDS[spec[i].0];
            let allowed = cap.is_none_or(|c| (0..n).filter(|&j| running(j)).count() < c)
                && if kind.exclusive {
                    (0..i).all(finished)
                } else {
                    (0..i).all(|j| !KINDS[spec[j].0].exclusive || finished(j))
                }
                && writes[i]
                    .iter()
                    .all(|k| (0..i).all(|j| !touches(j, k) || finished(j)))
                && reads[i]
                    .iter()
                    .all(|k| (0..i).all(|j| !writes[j].contains(k) || finished(j)))
                && kind.limit.is_none_or(|l| {
                    (0..n)
                        .filter(|&j| spec[j].0 == spec[i].0 && running(j))
                        .count()
                        < l
                });
            if allowed {
                start[i] = Some(t);
            }
        }
        match (0..n)
            .filter_map(|j| end(&start, j))
            .filter(|&e| e > t)
            .min()
        {
            Some(next) => t = next,
            None => break,
        }
    }
    start.into_iter().map(|s| s.unwrap_or(u64::MAX)).collect()
}

/// The start times [`BatchPlan`] gives an engine that runs each call
/// elsewhere (`toolcall-restate`): asked at time 0 and whenever calls
/// finish, those finishing at one instant reported first.
fn planned(spec: &[Spec], cap: Option<usize>) -> Vec<u64> {
    let calls = calls_of(spec);
    let tools = tools();
    let options = cap.map_or_else(DispatchOptions::parallel, |c| {
        DispatchOptions::parallel().max_concurrency(c)
    });
    let mut plan = BatchPlan::new(&tools, &calls, &options, None);
    let mut start = vec![u64::MAX; spec.len()];
    let mut running: Vec<(u64, usize)> = Vec::new();
    let mut t = 0;
    loop {
        for i in plan.start() {
            start[i] = t;
            running.push((t + spec[i].2, i));
        }
        let Some(next) = running.iter().map(|r| r.0).min() else {
            break;
        };
        t = next;
        running.sort_by_key(|&(_, i)| i);
        for &(_, i) in running.iter().filter(|r| r.0 == t) {
            let call = &calls[i];
            plan.finished(
                i,
                CallResult::new(&call.id, &call.name, Outcome::Ok, "done"),
            );
        }
        running.retain(|r| r.0 != t);
    }
    assert!(plan.is_done());
    start
}

fn spec() -> impl Strategy<Value = Vec<Spec>> {
    prop::collection::vec((0..KINDS.len(), 0..FILES.len(), 1u64..40), 0..14)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn the_schedule_is_the_greedy_one(spec in spec(), cap in prop::option::of(1usize..5)) {
        let calls = calls_of(&spec);
        let tools = tools();
        let options = cap.map_or_else(DispatchOptions::parallel, |c| DispatchOptions::parallel().max_concurrency(c));
        let batch = paused_runtime().block_on(async { tools.dispatch(&calls).options(options).await });
        let expected = greedy(&spec, cap);
        prop_assert_eq!(batch.results.len(), calls.len());
        for (i, result) in batch.results.iter().enumerate() {
            prop_assert_eq!(&result.call_id, &calls[i].id);
            prop_assert_eq!(result.outcome, Outcome::Ok);
            prop_assert_eq!(result.started, Duration::from_millis(expected[i]), "call {} of {:?}", i, spec);
            prop_assert_eq!(result.elapsed, Duration::from_millis(spec[i].2));
        }
        prop_assert_eq!(planned(&spec, cap), expected, "BatchPlan of {:?}", spec);
    }
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn starts(spec: &[Spec]) -> Vec<Duration> {
    let calls = calls_of(spec);
    let tools = tools();
    let batch = paused_runtime().block_on(async { tools.dispatch(&calls).await });
    batch.results.iter().map(|r| r.started).collect()
}

#[test]
fn writers_of_one_file_take_turns_and_other_files_run_beside_them() {
    // writer a, writer b, writer a, reader b, reader b: the second write of
    // `a` waits for the first; the readers of `b` wait for its writer and
    // then share it.
    let (writer, reader) = (2, 1);
    let got = starts(&[
        (writer, 0, 100),
        (writer, 1, 50),
        (writer, 0, 100),
        (reader, 1, 30),
        (reader, 1, 30),
    ]);
    assert_eq!(got, [ms(0), ms(0), ms(100), ms(50), ms(50)]);
}

#[test]
fn a_limited_tool_runs_at_most_its_limit_while_others_run_freely() {
    let (fetch, plain) = (5, 0);
    let got = starts(&[
        (fetch, 0, 100),
        (fetch, 0, 100),
        (fetch, 0, 100),
        (plain, 0, 10),
        (fetch, 0, 100),
    ]);
    assert_eq!(got, [ms(0), ms(0), ms(100), ms(0), ms(100)]);
}

#[test]
fn a_key_filled_from_an_argument_that_is_missing_is_null() {
    // Both calls lack `key`: both claim `file:null`, so the writers take turns.
    let tools = tools();
    let calls = [
        ToolCall::new("c1", "writer", r#"{"delay_ms": 10}"#),
        ToolCall::new("c2", "writer", r#"{"delay_ms": 10}"#),
    ];
    let batch = paused_runtime().block_on(async { tools.dispatch(&calls).await });
    // `key` is required by the schema but not by the parser, so both run.
    assert!(batch.all_ok(), "{batch:?}");
    assert_eq!(batch.results[1].started, ms(10));
}

#[test]
fn a_key_naming_an_argument_the_tool_lacks_fails_the_build() {
    let error = ToolSet::builder()
        .add(Keyed {
            name: "bad",
            policy: ToolPolicy::DEFAULT.with_writes(&["file:{path}"]),
        })
        .build()
        .expect_err("no `path` argument");
    assert_eq!(
        error,
        BuildError::UnknownKeyArgument {
            tool: "bad".into(),
            key: "file:{path}",
            argument: "path".into(),
        }
    );
    assert!(error.to_string().contains("`{path}`"), "{error}");
}
