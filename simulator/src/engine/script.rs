//! Scripts: the replies a test expects the model to give, turn by turn.
//!
//! Built in code with [`Script::new`] or read from JSON/YAML through serde:
//!
//! ```json
//! {"turns": [
//!   {"tool_calls": [{"name": "get_weather", "arguments": {"city": "Paris"}}]},
//!   {"fault": {"kind": "rate_limited", "retry_after_ms": 2000}},
//!   {"text": "It is sunny in Paris."}
//! ]}
//! ```

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

use crate::engine::fault::Fault;

/// One tool call a script makes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScriptedCall {
    /// The call id; generated (`call_...`, seeded) when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The tool's name.
    pub name: String,
    /// The arguments as sent: a JSON object in a script file becomes its
    /// text; a string is sent as is (so it may be malformed on purpose).
    #[serde(default = "empty_object", deserialize_with = "arguments_text")]
    pub arguments: String,
}

fn empty_object() -> String {
    "{}".to_owned()
}

fn arguments_text<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    Ok(match Value::deserialize(deserializer)? {
        Value::String(text) => text,
        other => other.to_string(),
    })
}

impl ScriptedCall {
    /// A call of `name` with these arguments.
    pub fn new(name: impl Into<String>, arguments: Value) -> Self {
        ScriptedCall {
            id: None,
            name: name.into(),
            arguments: arguments.to_string(),
        }
    }

    /// A call whose argument text is sent exactly as given (even if not JSON).
    pub fn raw(name: impl Into<String>, arguments: impl Into<String>) -> Self {
        ScriptedCall {
            id: None,
            name: name.into(),
            arguments: arguments.into(),
        }
    }

    /// Set the call id.
    pub fn id(mut self, id: impl Into<String>) -> Self {
        self.id = Some(id.into());
        self
    }
}

/// What the model says in one turn.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// A final text answer.
    Text(String),
    /// Tool calls, with optional text beside them.
    ToolCalls {
        /// Text sent before the calls.
        text: Option<String>,
        /// The calls, in order.
        calls: Vec<ScriptedCall>,
    },
    /// Whatever auto mode would say to this request.
    Auto,
}

/// One scripted turn: a reply, and maybe a fault.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "TurnRepr")]
pub struct Turn {
    /// The reply.
    pub reply: Reply,
    /// What goes wrong with it, if anything. A 429 or 500 replaces the reply.
    pub fault: Option<Fault>,
}

impl Turn {
    /// A final text answer.
    pub fn text(text: impl Into<String>) -> Self {
        Turn {
            reply: Reply::Text(text.into()),
            fault: None,
        }
    }

    /// Tool calls.
    pub fn tool_calls(calls: impl IntoIterator<Item = ScriptedCall>) -> Self {
        Turn {
            reply: Reply::ToolCalls {
                text: None,
                calls: calls.into_iter().collect(),
            },
            fault: None,
        }
    }

    /// What auto mode would say.
    pub fn auto() -> Self {
        Turn {
            reply: Reply::Auto,
            fault: None,
        }
    }

    /// A fault alone (the reply, if any is generated, is auto mode's).
    pub fn fault(fault: Fault) -> Self {
        Turn {
            reply: Reply::Auto,
            fault: Some(fault),
        }
    }

    /// Add text beside tool calls (or replace a text answer).
    pub fn with_text(mut self, text: impl Into<String>) -> Self {
        self.reply = match self.reply {
            Reply::ToolCalls { calls, .. } => Reply::ToolCalls {
                text: Some(text.into()),
                calls,
            },
            Reply::Text(_) | Reply::Auto => Reply::Text(text.into()),
        };
        self
    }

    /// Make this fault happen to this turn.
    pub fn with_fault(mut self, fault: Fault) -> Self {
        self.fault = Some(fault);
        self
    }
}

/// A turn as written in a file: any of `text`, `tool_calls`, `auto`, `fault`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TurnRepr {
    #[serde(default)]
    text: Option<String>,
    #[serde(default)]
    tool_calls: Option<Vec<ScriptedCall>>,
    #[serde(default)]
    auto: bool,
    #[serde(default)]
    fault: Option<Fault>,
}

/// Why a turn in a file does not make sense.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TurnError {
    /// None of `text`, `tool_calls`, `auto`, `fault`.
    Empty,
    /// `auto` beside `text` or `tool_calls`.
    AutoWithReply,
    /// `tool_calls: []`.
    NoCalls,
}

impl std::fmt::Display for TurnError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TurnError::Empty => f.write_str("a turn needs `text`, `tool_calls`, `auto` or `fault`"),
            TurnError::AutoWithReply => {
                f.write_str("`auto: true` cannot be combined with `text` or `tool_calls`")
            }
            TurnError::NoCalls => {
                f.write_str("`tool_calls` is empty: give at least one call, or use `text`")
            }
        }
    }
}

impl std::error::Error for TurnError {}

impl TryFrom<TurnRepr> for Turn {
    type Error = TurnError;

    fn try_from(repr: TurnRepr) -> Result<Self, TurnError> {
        let reply = match (repr.text, repr.tool_calls, repr.auto) {
            (_, Some(calls), _) if calls.is_empty() => return Err(TurnError::NoCalls),
            (Some(_), _, true) | (_, Some(_), true) => return Err(TurnError::AutoWithReply),
            (text, Some(calls), false) => Reply::ToolCalls { text, calls },
            (Some(text), None, false) => Reply::Text(text),
            (None, None, true) => Reply::Auto,
            (None, None, false) if repr.fault.is_some() => Reply::Auto,
            (None, None, false) => return Err(TurnError::Empty),
        };
        Ok(Turn {
            reply,
            fault: repr.fault,
        })
    }
}

/// Replies matched to requests in order. A request past the last turn gets an
/// error saying the script ran out, and `Simulator::assert_consumed` fails a
/// test that left turns unused.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Script {
    /// The turns, in order.
    pub turns: Vec<Turn>,
}

impl Script {
    /// An empty script.
    pub fn new() -> Self {
        Script::default()
    }

    /// Add a turn.
    pub fn turn(mut self, turn: Turn) -> Self {
        self.turns.push(turn);
        self
    }

    /// Add a turn of tool calls.
    pub fn tool_calls(self, calls: impl IntoIterator<Item = ScriptedCall>) -> Self {
        self.turn(Turn::tool_calls(calls))
    }

    /// Add a turn with one tool call.
    pub fn tool_call(self, name: impl Into<String>, arguments: Value) -> Self {
        self.turn(Turn::tool_calls([ScriptedCall::new(name, arguments)]))
    }

    /// Add a final text answer.
    pub fn text(self, text: impl Into<String>) -> Self {
        self.turn(Turn::text(text))
    }

    /// Add a turn answered as auto mode would.
    pub fn auto(self) -> Self {
        self.turn(Turn::auto())
    }

    /// Add a turn that is only a fault (a 429, a 500, a stall...).
    pub fn fault(self, fault: Fault) -> Self {
        self.turn(Turn::fault(fault))
    }

    /// The number of turns.
    pub fn len(&self) -> usize {
        self.turns.len()
    }

    /// Whether the script has no turns.
    pub fn is_empty(&self) -> bool {
        self.turns.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parses_every_turn_form() {
        let script: Script = serde_json::from_value(json!({"turns": [
            {"tool_calls": [{"name": "f", "arguments": {"a": 1}}, {"id": "x", "name": "g", "arguments": "{bad"}]},
            {"fault": {"kind": "server_error"}},
            {"auto": true},
            {"text": "done", "fault": {"kind": "stall", "ms": 5}},
        ]}))
        .expect("parse");
        assert_eq!(script.len(), 4);
        assert_eq!(
            script.turns[0].reply,
            Reply::ToolCalls {
                text: None,
                calls: vec![
                    ScriptedCall::new("f", json!({"a": 1})),
                    ScriptedCall::raw("g", "{bad").id("x")
                ]
            }
        );
        assert_eq!(script.turns[1], Turn::fault(Fault::ServerError));
        assert_eq!(script.turns[2], Turn::auto());
        assert_eq!(
            script.turns[3],
            Turn::text("done").with_fault(Fault::Stall { ms: 5 })
        );
    }

    #[test]
    fn refuses_nonsense_turns() {
        for bad in [
            json!({}),
            json!({"auto": true, "text": "x"}),
            json!({"tool_calls": []}),
            json!({"txt": "x"}),
        ] {
            let err =
                serde_json::from_value::<Script>(json!({"turns": [bad]})).expect_err("must fail");
            assert!(!err.to_string().is_empty());
        }
    }
}
