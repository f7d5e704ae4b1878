//! "What would parallel dispatch save on my workload?": a session's rounds
//! replayed on tokio's clock under several dispatch policies, with the
//! recorded latencies, through the runtime's own dispatcher.
//!
//! ```
//! # use std::time::Duration;
//! use toolcall_sim::{Policy, Session, SessionCall, SessionRound, whatif};
//!
//! let call = |name: &str, ms| SessionCall {
//!     id: format!("call_{name}"),
//!     name: name.into(),
//!     arguments: "{}".into(),
//!     latency: Duration::from_millis(ms),
//!     ready: None,
//! };
//! let session = Session {
//!     rounds: vec![SessionRound {
//!         model_time: Duration::from_millis(400),
//!         calls: vec![call("a", 200), call("b", 180), call("c", 150)],
//!     }],
//!     notes: Vec::new(),
//! };
//! let report = whatif::run_blocking(&session, &Policy::all(2));
//! assert_eq!(report.rounds[0].tools(Policy::Sequential), Duration::from_millis(530));
//! assert_eq!(report.rounds[0].tools(Policy::Parallel), Duration::from_millis(200));
//! println!("{report}");
//! ```

use std::collections::{HashMap, VecDeque};
use std::fmt::Write as _;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::future::join_all;
use schemars::SchemaGenerator;
use serde_json::{Value, json};
use tokio::time::{Instant, sleep};
use toolcall_runtime::{
    Batch, CallError, CallResult, DispatchOptions, Outcome, StateMap, Tool, ToolCall, ToolFuture,
    ToolOutput, ToolPolicy, ToolSet,
};

use crate::sessions::session::{Session, SessionCall, SessionRound};
use crate::sessions::timeline::Timeline;

/// How a round's calls are run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Policy {
    /// One call after another, after the whole reply.
    Sequential,
    /// All calls at once, after the whole reply.
    Parallel,
    /// Streamed reply, all calls at once after the message ends (the
    /// runtime's `Streaming::AfterMessage`).
    AfterMessage,
    /// Streamed reply, each call started as soon as its arguments are
    /// complete (`Streaming::Eager`).
    Eager,
    /// At most this many calls at once, after the whole reply.
    Capped(usize),
}

impl Policy {
    /// Every policy, with this cap for [`Policy::Capped`].
    pub fn all(cap: usize) -> Vec<Policy> {
        vec![
            Policy::Sequential,
            Policy::Parallel,
            Policy::AfterMessage,
            Policy::Eager,
            Policy::Capped(cap.max(1)),
        ]
    }

    /// A short name for reports and file names (`sequential`, `cap-2`, ...).
    pub fn name(self) -> String {
        match self {
            Policy::Sequential => "sequential".into(),
            Policy::Parallel => "parallel".into(),
            Policy::AfterMessage => "after-message".into(),
            Policy::Eager => "eager".into(),
            Policy::Capped(n) => format!("cap-{n}"),
        }
    }
}

/// One policy on one round.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyRun {
    /// The policy.
    pub policy: Policy,
    /// From the request to the last result (or the reply's end, if later).
    pub round: Duration,
    /// The calls, timed from the request (the reply's start).
    pub batch: Batch,
}

/// One round under every policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoundReport {
    /// The model's time.
    pub model_time: Duration,
    /// The calls' names and recorded latencies, in call order.
    pub calls: Vec<(String, Duration)>,
    /// One run per policy, in the order asked.
    pub runs: Vec<PolicyRun>,
}

impl RoundReport {
    /// The round's time under `policy` (zero if it was not run).
    pub fn round(&self, policy: Policy) -> Duration {
        self.run(policy).map_or(Duration::ZERO, |r| r.round)
    }

    /// What the tools add after the model's reply under `policy`.
    pub fn tools(&self, policy: Policy) -> Duration {
        self.round(policy).saturating_sub(self.model_time)
    }

    /// The run of `policy`, if it was run.
    pub fn run(&self, policy: Policy) -> Option<&PolicyRun> {
        self.runs.iter().find(|r| r.policy == policy)
    }
}

/// A session under every policy: per round and in total.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// The policies, in the order asked.
    pub policies: Vec<Policy>,
    /// One report per round.
    pub rounds: Vec<RoundReport>,
    /// Whether the eager figures know when each call was ready; if not,
    /// every call is taken as ready when the reply ends.
    pub eager_known: bool,
}

impl Report {
    /// The whole session's time under `policy`.
    pub fn total(&self, policy: Policy) -> Duration {
        self.rounds.iter().map(|r| r.round(policy)).sum()
    }

    /// Whether some round has more than one call (else only eager
    /// streaming can save anything).
    pub fn parallelism_can_help(&self) -> bool {
        self.rounds.iter().any(|r| r.calls.len() > 1)
    }

    /// The SVG timeline of `policy`: a lane per round with calls, a bar per
    /// call (and one for the model's reply), on one time axis.
    pub fn svg(&self, policy: Policy) -> String {
        let lanes: Vec<(String, &Batch)> = self
            .rounds
            .iter()
            .enumerate()
            .filter(|(_, r)| !r.calls.is_empty())
            .filter_map(|(i, r)| Some((format!("round {}", i + 1), &r.run(policy)?.batch)))
            .collect();
        let title = format!(
            "whatif · {} · total {}",
            policy.name(),
            ms(self.total(policy))
        );
        lanes
            .iter()
            .fold(Timeline::new(title), |t, (name, batch)| {
                t.lane(name.clone(), batch)
            })
            .to_svg()
    }
}

impl std::fmt::Display for Report {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let baseline = Policy::Sequential;
        let has_baseline = self.policies.contains(&baseline);
        for (i, round) in self.rounds.iter().enumerate() {
            if round.calls.is_empty() {
                writeln!(f, "round {}: answer, model {}", i + 1, ms(round.model_time))?;
                continue;
            }
            let calls: Vec<String> = round
                .calls
                .iter()
                .map(|(name, latency)| format!("{name} {}", ms(*latency)))
                .collect();
            writeln!(
                f,
                "round {}: {} call(s) ({}), model {}",
                i + 1,
                round.calls.len(),
                calls.join(", "),
                ms(round.model_time)
            )?;
            for &policy in &self.policies {
                let mut line = format!(
                    "  {:<14} tools {:>9}   round {:>9}",
                    policy.name(),
                    ms(round.tools(policy)),
                    ms(round.round(policy))
                );
                if has_baseline && policy != baseline {
                    line.push_str(&saving(round.round(baseline), round.round(policy)));
                }
                writeln!(f, "{line}")?;
            }
        }
        writeln!(f, "total ({} round(s)):", self.rounds.len())?;
        for &policy in &self.policies {
            let mut line = format!("  {:<14} {:>9}", policy.name(), ms(self.total(policy)));
            if has_baseline && policy != baseline {
                line.push_str(&saving(self.total(baseline), self.total(policy)));
            }
            writeln!(f, "{line}")?;
        }
        if !self.parallelism_can_help() {
            writeln!(
                f,
                "every round has at most one call: parallel dispatch cannot help this session; only eager streaming can overlap a call with the reply"
            )?;
        }
        if !self.eager_known && self.policies.contains(&Policy::Eager) {
            writeln!(
                f,
                "eager: this file does not say when each call's arguments were complete, so every call is taken as ready at the reply's end (record a streamed session to know)"
            )?;
        }
        Ok(())
    }
}

/// `  saves 330 ms (32%)`, or nothing when nothing is saved.
fn saving(baseline: Duration, this: Duration) -> String {
    let saved = baseline.saturating_sub(this);
    if saved.is_zero() || baseline.is_zero() {
        return String::new();
    }
    let share = 100.0 * saved.as_secs_f64() / baseline.as_secs_f64();
    format!("   saves {} ({share:.0}%)", ms(saved))
}

/// A duration in milliseconds, to the microsecond when not whole.
pub(crate) fn ms(d: Duration) -> String {
    let micros = d.as_micros();
    if micros.is_multiple_of(1000) {
        format!("{} ms", micros / 1000)
    } else {
        let mut s = String::new();
        let _ = write!(s, "{:.3} ms", d.as_secs_f64() * 1000.0);
        s
    }
}

/// Replay `session` under each policy. Run it under a paused clock (as
/// [`run_blocking`] does) and the figures are exact.
pub async fn run(session: &Session, policies: &[Policy]) -> Report {
    let mut rounds = Vec::with_capacity(session.rounds.len());
    for round in &session.rounds {
        let mut runs = Vec::with_capacity(policies.len());
        for &policy in policies {
            runs.push(replay_round(round, policy).await);
        }
        rounds.push(RoundReport {
            model_time: round.model_time,
            calls: round
                .calls
                .iter()
                .map(|c| (c.name.clone(), c.latency))
                .collect(),
            runs,
        });
    }
    Report {
        policies: policies.to_vec(),
        rounds,
        eager_known: session
            .rounds
            .iter()
            .flat_map(|r| &r.calls)
            .all(|c| c.ready.is_some()),
    }
}

/// [`run`] on a fresh current-thread runtime whose clock is paused, so a
/// session of minutes replays in microseconds, exactly.
pub fn run_blocking(session: &Session, policies: &[Policy]) -> Report {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build();
    match runtime {
        Ok(runtime) => runtime.block_on(run(session, policies)),
        // Without a runtime nothing can be replayed; say so in the report.
        Err(_) => Report {
            policies: policies.to_vec(),
            rounds: Vec::new(),
            eager_known: false,
        },
    }
}

/// One round under one policy: the model's reply takes its recorded time,
/// then (or, eagerly, as each call is ready) the runtime dispatches the
/// calls to tools that take their recorded latencies.
async fn replay_round(round: &SessionRound, policy: Policy) -> PolicyRun {
    let model = CallResult::new("model", "model reply", Outcome::Ok, "")
        .timed(Duration::ZERO, round.model_time);
    if round.calls.is_empty() {
        return PolicyRun {
            policy,
            round: round.model_time,
            batch: Batch::new(vec![model], round.model_time),
        };
    }
    // The names are checked and unique and the schema is any object, so
    // building cannot fail; if it ever did, the round has no tool time.
    let Ok(tools) = recorded_tools(&round.calls) else {
        return PolicyRun {
            policy,
            round: round.model_time,
            batch: Batch::new(vec![model], round.model_time),
        };
    };
    let calls: Vec<ToolCall> = round
        .calls
        .iter()
        .map(|c| ToolCall::new(c.id.clone(), c.name.clone(), c.arguments.clone()))
        .collect();
    let start = Instant::now();
    let mut results = match policy {
        Policy::Eager => {
            let started = calls.iter().zip(&round.calls).map(|(call, recorded)| {
                let ready = recorded.ready.unwrap_or(round.model_time);
                let tools = &tools;
                async move {
                    sleep(ready).await;
                    let batch = tools.dispatch(std::slice::from_ref(call)).await;
                    batch.results.into_iter().map(move |r| {
                        let (s, e) = (r.started, r.elapsed);
                        r.timed(ready + s, e)
                    })
                }
            });
            join_all(started).await.into_iter().flatten().collect()
        }
        other => {
            let options = match other {
                Policy::Sequential => DispatchOptions::sequential(),
                Policy::Capped(n) => DispatchOptions::parallel().max_concurrency(n),
                _ => DispatchOptions::parallel(),
            };
            sleep(round.model_time).await;
            let batch = tools.dispatch(&calls).options(options).await;
            batch
                .results
                .into_iter()
                .map(|r| {
                    let (s, e) = (r.started, r.elapsed);
                    r.timed(round.model_time + s, e)
                })
                .collect::<Vec<_>>()
        }
    };
    let elapsed = start.elapsed().max(round.model_time);
    results.insert(0, model);
    PolicyRun {
        policy,
        round: elapsed,
        batch: Batch::new(results, elapsed),
    }
}

/// One tool per name, each call taking its recorded latency.
fn recorded_tools(calls: &[SessionCall]) -> Result<ToolSet, toolcall_runtime::BuildError> {
    let mut by_name: Vec<RecordedTool> = Vec::new();
    for call in calls {
        let tool = match by_name.iter_mut().find(|t| t.name == call.name) {
            Some(tool) => tool,
            None => {
                by_name.push(RecordedTool::new(&call.name));
                let last = by_name.len() - 1;
                &mut by_name[last]
            }
        };
        tool.push(&call.arguments, call.latency);
    }
    // Names the runtime refuses (recorded from a faulty model) come back as
    // unknown-tool results at once, as they did then.
    ToolSet::builder()
        .tools(
            by_name
                .into_iter()
                .filter(|t| toolcall_runtime::ToolDefinition::is_valid_name(&t.name))
                .map(|t| Arc::new(t) as Arc<dyn Tool>),
        )
        .relaxed()
        .build()
}

/// What a recorded call took and returned.
type Recorded = (Duration, Option<String>);

/// A tool that takes, for each call, the latency recorded for a call with
/// the same arguments (in the order they were recorded; zero beyond) and
/// returns the result recorded for it, if known.
pub struct RecordedTool {
    pub(crate) name: String,
    description: String,
    parameters: Value,
    strict: bool,
    repeating: bool,
    latencies: Mutex<HashMap<String, VecDeque<Recorded>>>,
}

impl std::fmt::Debug for RecordedTool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RecordedTool")
            .field("name", &self.name)
            .finish()
    }
}

impl RecordedTool {
    /// A tool named `name` with no recorded calls.
    pub fn new(name: impl Into<String>) -> Self {
        RecordedTool {
            name: name.into(),
            description: "A recorded tool: each call takes the latency it took in the recording."
                .into(),
            parameters: json!({"type": "object"}),
            strict: false,
            repeating: false,
            latencies: Mutex::new(HashMap::new()),
        }
    }

    /// Start over from the first recorded call once the calls with the
    /// same arguments are used up (for benchmarks, which run a round many
    /// times), instead of taking no time.
    pub fn repeating(mut self) -> Self {
        self.repeating = true;
        self
    }

    /// Offer the tool as recorded: its description, its arguments' JSON
    /// Schema, and whether it was offered in strict mode.
    pub fn offered_as(mut self, description: &str, parameters: Value, strict: bool) -> Self {
        self.description = description.to_owned();
        self.parameters = parameters;
        self.strict = strict;
        self
    }

    /// Record that a call with these arguments took `latency`.
    pub fn push(&mut self, arguments: &str, latency: Duration) {
        self.push_result(arguments, latency, None);
    }

    /// Record that a call with these arguments took `latency` and returned
    /// `result` (the text the model saw).
    pub fn push_result(&mut self, arguments: &str, latency: Duration, result: Option<String>) {
        self.latencies
            .get_mut()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .entry(arguments.to_owned())
            .or_default()
            .push_back((latency, result));
    }

    /// Add a recorded call (builder style).
    pub fn with_call(mut self, arguments: &str, latency: Duration) -> Self {
        self.push(arguments, latency);
        self
    }
}

impl Tool for RecordedTool {
    fn name(&self) -> &str {
        &self.name
    }

    fn description(&self) -> &str {
        &self.description
    }

    fn policy(&self) -> ToolPolicy {
        ToolPolicy::DEFAULT.with_strict(self.strict)
    }

    fn parameters(&self, _generator: &mut SchemaGenerator) -> Value {
        self.parameters.clone()
    }

    fn call(&self, arguments: &str, _state: &StateMap) -> Result<ToolFuture, CallError> {
        let (delay, result) = {
            let mut latencies = self
                .latencies
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            let queue = latencies.get_mut(arguments);
            let next = queue.and_then(|q| {
                let next = q.pop_front()?;
                if self.repeating {
                    q.push_back(next.clone());
                }
                Some(next)
            });
            next.unwrap_or_default()
        };
        let text = result.unwrap_or_else(|| format!("{}: replayed", self.name));
        Ok(Box::pin(async move {
            sleep(delay).await;
            Ok(ToolOutput::text(text))
        }))
    }
}
