//! A session as `whatif` and replay see it, whatever file it came from: per
//! round, the model's time and the calls with their latencies and, when the
//! file knows it, when each call's arguments were complete in the reply.

use std::time::Duration;

use crate::sessions::trace::Trace;

/// One call of a session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionCall {
    /// The call id.
    pub id: String,
    /// The tool's name.
    pub name: String,
    /// The arguments, as sent.
    pub arguments: String,
    /// How long the tool took.
    pub latency: Duration,
    /// When its arguments were complete, from the start of the model's
    /// reply (known from a streamed recording or an eager trace).
    pub ready: Option<Duration>,
}

/// One round of a session: a model reply and the calls it asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRound {
    /// From the request to the end of the reply.
    pub model_time: Duration,
    /// The calls, in call order (none for the final answer).
    pub calls: Vec<SessionCall>,
}

/// A session: its rounds, in order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Session {
    /// The rounds.
    pub rounds: Vec<SessionRound>,
    /// What had to be assumed to read the file (shown by `whatif`).
    pub notes: Vec<String>,
}

impl Session {
    /// The session of a trace. A round whose calls overlapped the reply
    /// (eager streaming: its time is less than the model's plus the batch's)
    /// counts its offsets from the reply's start, so they tell when each
    /// call's arguments were ready; otherwise that is unknown.
    pub fn from_trace(trace: &Trace) -> Session {
        let rounds = trace
            .rounds
            .iter()
            .map(|round| {
                let batch = round.batch.as_ref();
                let overlapped =
                    batch.is_some_and(|b| round.elapsed < round.model_time + b.makespan);
                let calls = round
                    .tool_calls
                    .iter()
                    .enumerate()
                    .map(|(i, call)| {
                        let result = batch.and_then(|b| b.results.get(i));
                        SessionCall {
                            id: call.id.to_string(),
                            name: call.name.to_string(),
                            arguments: call.arguments.clone(),
                            latency: result.map_or(Duration::ZERO, |r| r.elapsed),
                            ready: result.filter(|_| overlapped).map(|r| r.started),
                        }
                    })
                    .collect();
                SessionRound {
                    model_time: round.model_time,
                    calls,
                }
            })
            .collect();
        Session {
            rounds,
            notes: Vec::new(),
        }
    }

    /// The most calls in one round.
    pub fn widest_round(&self) -> usize {
        self.rounds.iter().map(|r| r.calls.len()).max().unwrap_or(0)
    }
}
