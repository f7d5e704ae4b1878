//! Faults: what can go wrong with a chat API, injected per request (in a
//! script) or at random with seeded rates.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::engine::rng::SimRng;

/// One thing going wrong with one request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Fault {
    /// 429 Too Many Requests with a `Retry-After` header; the request is not
    /// processed, so a rate-drawn 429 does not use up a script turn.
    RateLimited {
        /// The wait the server asks for, in milliseconds.
        #[serde(default = "default_retry_after_ms")]
        retry_after_ms: u64,
    },
    /// 500 Internal Server Error; like a 429, not processed.
    ServerError,
    /// The API is overloaded: 529 `overloaded_error` in Anthropic's format,
    /// 503 in OpenAI's; like a 429, not processed.
    Overloaded,
    /// The first tool call's `arguments` are cut short, so they are not JSON.
    MalformedArguments,
    /// A tool call names a tool that was not offered.
    UnknownTool,
    /// Two tool calls share one id (a single call is repeated).
    DuplicateIds,
    /// The server says nothing for this long, then answers as usual.
    Stall {
        /// The silence, in milliseconds.
        ms: u64,
    },
    /// The connection drops mid-reply: after this many chunks when streaming
    /// (half the reply when not given), before any response when not.
    Disconnect {
        /// Chunks delivered before the drop.
        #[serde(default)]
        after_chunks: Option<usize>,
    },
}

fn default_retry_after_ms() -> u64 {
    1000
}

impl Fault {
    /// A 429 asking to retry after `wait`.
    pub fn rate_limited(wait: Duration) -> Self {
        Fault::RateLimited {
            retry_after_ms: wait.as_millis() as u64,
        }
    }

    /// A stall of `silence` before the reply.
    pub fn stall(silence: Duration) -> Self {
        Fault::Stall {
            ms: silence.as_millis() as u64,
        }
    }

    /// A disconnect after `chunks` streamed chunks.
    pub fn disconnect_after(chunks: usize) -> Self {
        Fault::Disconnect {
            after_chunks: Some(chunks),
        }
    }

    /// Whether the request is refused outright (429, 500): nothing is generated.
    pub fn is_rejection(&self) -> bool {
        matches!(
            self,
            Fault::RateLimited { .. } | Fault::ServerError | Fault::Overloaded
        )
    }

    /// The fault's name, as in the journal and in scripts.
    pub fn name(&self) -> &'static str {
        match self {
            Fault::RateLimited { .. } => "rate_limited",
            Fault::ServerError => "server_error",
            Fault::Overloaded => "overloaded",
            Fault::MalformedArguments => "malformed_arguments",
            Fault::UnknownTool => "unknown_tool",
            Fault::DuplicateIds => "duplicate_ids",
            Fault::Stall { .. } => "stall",
            Fault::Disconnect { .. } => "disconnect",
        }
    }
}

impl std::fmt::Display for Fault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Probabilities of each fault per request, drawn from the simulator's seed.
/// At most one fault hits a request; rates are clamped so they sum to at most 1.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FaultRates {
    /// Chance of a 429.
    pub rate_limited: f64,
    /// Chance of a 500.
    pub server_error: f64,
    /// Chance of malformed arguments (when the reply has calls).
    pub malformed_arguments: f64,
    /// Chance of an unknown tool name (when the reply has calls).
    pub unknown_tool: f64,
    /// Chance of duplicate call ids (when the reply has calls).
    pub duplicate_ids: f64,
    /// Chance of a stall.
    pub stall: f64,
    /// Chance of a mid-reply disconnect.
    pub disconnect: f64,
    /// Chance of an overloaded API (529 in Anthropic's format, 503 in OpenAI's).
    pub overloaded: f64,
    /// `Retry-After` of drawn 429s, in milliseconds.
    pub retry_after_ms: u64,
    /// Length of drawn stalls, in milliseconds.
    pub stall_ms: u64,
}

impl Default for FaultRates {
    fn default() -> Self {
        FaultRates {
            rate_limited: 0.0,
            server_error: 0.0,
            malformed_arguments: 0.0,
            unknown_tool: 0.0,
            duplicate_ids: 0.0,
            stall: 0.0,
            disconnect: 0.0,
            overloaded: 0.0,
            retry_after_ms: default_retry_after_ms(),
            stall_ms: 30_000,
        }
    }
}

impl FaultRates {
    /// No faults (the default).
    pub fn none() -> Self {
        FaultRates::default()
    }

    /// Set the chance of 429s.
    pub fn rate_limited(mut self, p: f64) -> Self {
        self.rate_limited = p;
        self
    }

    /// Set the chance of 500s.
    pub fn server_error(mut self, p: f64) -> Self {
        self.server_error = p;
        self
    }

    /// Set the chance of malformed arguments.
    pub fn malformed_arguments(mut self, p: f64) -> Self {
        self.malformed_arguments = p;
        self
    }

    /// Set the chance of unknown tool names.
    pub fn unknown_tool(mut self, p: f64) -> Self {
        self.unknown_tool = p;
        self
    }

    /// Set the chance of duplicate call ids.
    pub fn duplicate_ids(mut self, p: f64) -> Self {
        self.duplicate_ids = p;
        self
    }

    /// Set the chance and length of stalls.
    pub fn stall(mut self, p: f64, silence: Duration) -> Self {
        self.stall = p;
        self.stall_ms = silence.as_millis() as u64;
        self
    }

    /// Set the chance of disconnects.
    pub fn disconnect(mut self, p: f64) -> Self {
        self.disconnect = p;
        self
    }

    /// Set the chance of an overloaded API.
    pub fn overloaded(mut self, p: f64) -> Self {
        self.overloaded = p;
        self
    }

    /// Whether any rate is above zero.
    pub fn any(&self) -> bool {
        self.table().iter().any(|(p, _)| *p > 0.0)
    }

    fn table(&self) -> [(f64, Fault); 8] {
        [
            (
                self.rate_limited,
                Fault::RateLimited {
                    retry_after_ms: self.retry_after_ms,
                },
            ),
            (self.server_error, Fault::ServerError),
            (self.malformed_arguments, Fault::MalformedArguments),
            (self.unknown_tool, Fault::UnknownTool),
            (self.duplicate_ids, Fault::DuplicateIds),
            (self.stall, Fault::Stall { ms: self.stall_ms }),
            (self.disconnect, Fault::Disconnect { after_chunks: None }),
            // Last, so that adding it shifted no earlier draw.
            (self.overloaded, Fault::Overloaded),
        ]
    }

    /// Draw the fault of one request, if any. Always takes exactly one draw,
    /// so the stream of draws does not depend on the rates.
    pub fn draw(&self, rng: &mut SimRng) -> Option<Fault> {
        let u = rng.next_f64();
        let mut acc = 0.0;
        for (p, fault) in self.table() {
            if p.is_finite() && p > 0.0 {
                acc += p;
                if u < acc {
                    return Some(fault);
                }
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_hit_about_as_often_as_asked() {
        let rates = FaultRates::none().server_error(0.25).unknown_tool(0.25);
        let mut rng = SimRng::new(3);
        let mut errors = 0;
        let mut unknown = 0;
        for _ in 0..4000 {
            match rates.draw(&mut rng) {
                Some(Fault::ServerError) => errors += 1,
                Some(Fault::UnknownTool) => unknown += 1,
                None => {}
                Some(other) => panic!("unexpected {other}"),
            }
        }
        assert!((850..1150).contains(&errors), "{errors}");
        assert!((850..1150).contains(&unknown), "{unknown}");
        assert_eq!(FaultRates::none().draw(&mut rng), None);
    }

    #[test]
    fn parses_scripted_faults() {
        let f: Fault = serde_json::from_str(r#"{"kind": "rate_limited"}"#).expect("parse");
        assert_eq!(
            f,
            Fault::RateLimited {
                retry_after_ms: 1000
            }
        );
        assert!(f.is_rejection());
    }
}
