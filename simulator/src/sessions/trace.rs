//! Traces: an agent run saved as a file (its rounds, calls, their start
//! offsets and durations, and the model's time per round), for `whatif`
//! and for comparing runs.
//!
//! ```no_run
//! # async fn demo(run: toolcall_runtime::AgentRun) -> Result<(), Box<dyn std::error::Error>> {
//! use toolcall_sim::Trace;
//!
//! Trace::from_run(&run).save("session.trace.json")?;
//! // later, or on another machine: `toolcall-sim whatif session.trace.json`
//! let trace = Trace::load("session.trace.json")?;
//! assert_eq!(trace.rounds.len(), run.rounds.len());
//! # Ok(()) }
//! ```

use std::path::Path;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use toolcall_runtime::{AgentRun, Round};

use crate::sessions::session_file::{SessionFileError, parse_json, write_atomically};

/// The version written in every trace file (`"trace": 1`).
pub const TRACE_VERSION: u32 = 1;

/// An agent run as a file: the rounds with their timings, the answer and
/// the whole run's time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Trace {
    /// The file format's version; [`TRACE_VERSION`].
    pub trace: u32,
    /// The model's final answer, when the run finished.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answer: Option<String>,
    /// One entry per model request, in order.
    pub rounds: Vec<Round>,
    /// The whole run's time.
    pub elapsed: Duration,
}

impl Trace {
    /// The trace of a finished run.
    pub fn from_run(run: &AgentRun) -> Self {
        Trace {
            trace: TRACE_VERSION,
            answer: Some(run.answer.clone()),
            rounds: run.rounds.clone(),
            elapsed: run.elapsed,
        }
    }

    /// A trace of these rounds (a run that stopped early, say); its time is
    /// the sum of theirs.
    pub fn from_rounds(rounds: Vec<Round>) -> Self {
        Trace {
            trace: TRACE_VERSION,
            answer: None,
            elapsed: rounds.iter().map(|r| r.elapsed).sum(),
            rounds,
        }
    }

    /// The trace as pretty JSON.
    pub fn to_json(&self) -> String {
        // A trace is plain data (strings, numbers, lists): it always serialises.
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// Write the trace to `path` as JSON (whole, or not at all).
    pub fn save(&self, path: impl AsRef<Path>) -> Result<(), SessionFileError> {
        write_atomically(path.as_ref(), &self.to_json())
    }

    /// Read a trace file; a bad one is reported as `FILE:LINE:COLUMN: problem`.
    pub fn load(path: impl AsRef<Path>) -> Result<Trace, SessionFileError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| SessionFileError::Read {
            path: path.to_owned(),
            source,
        })?;
        Trace::parse(&text, path)
    }

    /// Parse a trace's JSON text; `path` only names it in errors.
    pub fn parse(text: &str, path: impl AsRef<Path>) -> Result<Trace, SessionFileError> {
        let path = path.as_ref();
        let trace: Trace = parse_json(text, path)?;
        if trace.trace != TRACE_VERSION {
            return Err(SessionFileError::Version {
                path: path.to_owned(),
                found: trace.trace,
                supported: TRACE_VERSION,
            });
        }
        Ok(trace)
    }
}
