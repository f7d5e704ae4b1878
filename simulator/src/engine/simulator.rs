//! The simulator handle and its builder: one engine, shared by any number of
//! in-process models and HTTP servers.

use std::sync::Arc;

use crate::engine::fault::FaultRates;
use crate::engine::fixture::{Fixture, Fixtures, Unmatched};
use crate::engine::journal::Journal;
use crate::engine::latency::ModelLatency;
use crate::engine::script::Script;
use crate::engine::{Chunking, Config, Engine};

/// A simulated chat API: a script (or auto mode), model latency, faults and
/// chunking, all from one seed. Cheap to clone: clones share the script
/// position, the random draws and the journal.
#[derive(Clone)]
pub struct Simulator {
    pub(crate) engine: Arc<Engine>,
}

impl std::fmt::Debug for Simulator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Simulator")
            .field("seed", &self.engine.config.seed)
            .field("scripted", &self.engine.config.script.is_some())
            .field("requests", &self.engine.journal.stats().requests)
            .finish()
    }
}

impl Simulator {
    /// Answer from these fixtures from now on (before the script), every
    /// use count at zero.
    pub fn reset_fixtures(&self, fixtures: Fixtures) {
        self.engine.reset_fixtures(fixtures);
    }

    /// Start configuring a simulator.
    pub fn builder() -> SimBuilder {
        SimBuilder::default()
    }

    /// Auto mode with this seed, no latency, no faults.
    pub fn auto(seed: u64) -> Self {
        SimBuilder::default().seed(seed).build()
    }

    /// This script, no latency, no faults.
    pub fn scripted(script: Script) -> Self {
        SimBuilder::default().script(script).build()
    }

    /// The requests seen so far, by every model and server of this simulator.
    pub fn journal(&self) -> Journal {
        self.engine.journal.clone()
    }

    /// Follow `script` from its first turn, as if new (the journal stays).
    pub fn reset_script(&self, script: Script) {
        self.engine.reset_script(Some(script));
    }

    /// Switch to auto mode (the journal stays).
    pub fn reset_auto(&self) {
        self.engine.reset_script(None);
    }

    /// The seed.
    pub fn seed(&self) -> u64 {
        self.engine.config.seed
    }

    /// How many requests each fixture has answered, in fixture order, and
    /// the journal indices of requests no fixture matched (that got an error).
    pub fn fixture_uses(&self) -> (Vec<usize>, Vec<usize>) {
        self.engine.fixture_uses()
    }

    /// Script turns not used yet (0 in auto mode).
    pub fn remaining_turns(&self) -> usize {
        self.engine
            .script_status()
            .map_or(0, |(turns, next, _)| turns - next)
    }

    /// Check that every script turn was used and no request came after the
    /// script ran out; the error says which turns or requests.
    pub fn check_consumed(&self) -> Result<(), ScriptError> {
        match self.engine.script_status() {
            None => Ok(()),
            Some((_, _, overruns)) if !overruns.is_empty() => {
                Err(ScriptError::RanOut { requests: overruns })
            }
            Some((turns, next, _)) if next < turns => {
                Err(ScriptError::Unused { used: next, turns })
            }
            Some(_) => Ok(()),
        }
    }

    /// Panic (failing the test) unless every script turn was used and no
    /// request came after the script ran out.
    #[track_caller]
    pub fn assert_consumed(&self) {
        if let Err(error) = self.check_consumed() {
            panic!("{error}");
        }
    }
}

/// How a script was not followed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScriptError {
    /// Turns left unused.
    Unused {
        /// Turns used.
        used: usize,
        /// Turns in the script.
        turns: usize,
    },
    /// Requests that came after the last turn (by index, from 0).
    RanOut {
        /// The requests.
        requests: Vec<usize>,
    },
}

impl std::fmt::Display for ScriptError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ScriptError::Unused { used, turns } => write!(
                f,
                "the script was not consumed: {used} of {turns} turn(s) used, turn(s) {}..{} never requested",
                used + 1,
                turns
            ),
            ScriptError::RanOut { requests } => write!(
                f,
                "the script ran out: request(s) {} came after the last turn",
                requests
                    .iter()
                    .map(|r| format!("#{}", r + 1))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }
    }
}

impl std::error::Error for ScriptError {}

/// Configures a [`Simulator`].
#[derive(Debug, Clone, Default)]
pub struct SimBuilder {
    pub(crate) config: Config,
}

impl SimBuilder {
    /// The seed of every random draw (0 by default).
    pub fn seed(mut self, seed: u64) -> Self {
        self.config.seed = seed;
        self
    }

    /// Follow this script instead of auto mode.
    pub fn script(mut self, script: Script) -> Self {
        self.config.script = Some(script);
        self
    }

    /// The model's time to first token and time per token.
    pub fn model_latency(mut self, latency: ModelLatency) -> Self {
        self.config.model_latency = latency;
        self
    }

    /// Faults at random, by rate.
    pub fn faults(mut self, rates: FaultRates) -> Self {
        self.config.faults = rates;
        self
    }

    /// How replies are cut into streamed chunks.
    pub fn chunking(mut self, chunking: Chunking) -> Self {
        self.config.chunking = chunking;
        self
    }

    /// The names `GET /v1/models` lists (default: `gpt-4o-mini`, `gpt-4o`).
    pub fn models(mut self, names: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.config.models = names.into_iter().map(Into::into).collect();
        self
    }

    /// Keep the latest `limit` journal entries (default
    /// [`DEFAULT_JOURNAL_LIMIT`](crate::DEFAULT_JOURNAL_LIMIT)); counts stay
    /// exact. 0 keeps none, which spares building them.
    pub fn journal_limit(mut self, limit: usize) -> Self {
        self.config.journal_limit = Some(limit);
        self
    }

    /// How the Gemini format shapes its replies (call ids, calls per
    /// stream chunk, thought signatures).
    pub fn gemini(mut self, options: crate::GeminiOptions) -> Self {
        self.config.gemini = options;
        self
    }

    /// Add a fixture: a reply chosen by what the request looks like, tried
    /// in the order added and before the script.
    pub fn fixture(mut self, fixture: Fixture) -> Self {
        self.config.fixtures.fixtures.push(fixture);
        self
    }

    /// Use these fixtures (and their `unmatched` rule), replacing any added.
    pub fn fixtures(mut self, fixtures: Fixtures) -> Self {
        self.config.fixtures = fixtures;
        self
    }

    /// Let auto mode answer a request no fixture matches when there is no
    /// script (by default it gets an error naming the closest fixture).
    pub fn unmatched(mut self, unmatched: Unmatched) -> Self {
        self.config.fixtures.unmatched = unmatched;
        self
    }

    /// Real time per simulated time, for clients in other processes: at
    /// 0.01 every latency passes 100 times faster, and replies
    /// (`x-sim-time-ms`, `x-sim-elapsed-ms`) and the journal carry the
    /// simulated times. Not finite or not above zero: 1 (real time).
    pub fn time_scale(mut self, scale: f64) -> Self {
        self.config.time_scale = Some(scale);
        self
    }

    /// Build the simulator. Its clock starts now (for journal times).
    pub fn build(self) -> Simulator {
        Simulator {
            engine: Arc::new(Engine::new(self.config)),
        }
    }
}
