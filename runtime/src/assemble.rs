//! Assembly of streamed tool-call fragments into whole calls.
//!
//! The first fragment of a call carries its id and name, later ones only
//! argument text split anywhere; fragments of several calls may interleave by
//! `index`. Some OpenAI-compatible servers send every call at index 0: a new
//! id at a known index starts a new call. A call is complete when its
//! format says so (`StreamEvent::ToolCallDone`), when its argument text
//! closes a JSON object or array, or when the stream ends. The
//! "next index started" signal is not used: on a stream that interleaves
//! indexes it would start a call whose arguments are still arriving.

use std::collections::HashMap;

use rustc_hash::FxBuildHasher;

use crate::call::ToolCall;
use crate::message::{ChatResponse, FinishReason, Usage};
use crate::model::{StreamEvent, ToolCallDelta};

/// Finds where a JSON object or array closes, fed one fragment at a time.
#[derive(Debug, Default, Clone)]
struct JsonEnd {
    depth: u32,
    in_string: bool,
    escaped: bool,
    opened: bool,
    closed: bool,
    /// The text did not start with `{` or `[`: only the stream's end completes it.
    scalar: bool,
}

impl JsonEnd {
    fn feed(&mut self, text: &str) {
        for byte in text.bytes() {
            if self.closed || self.scalar {
                return;
            }
            if self.in_string {
                match byte {
                    _ if self.escaped => self.escaped = false,
                    b'\\' => self.escaped = true,
                    b'"' => self.in_string = false,
                    _ => {}
                }
                continue;
            }
            match byte {
                b'{' | b'[' => {
                    self.opened = true;
                    self.depth += 1;
                }
                b'}' | b']' if self.opened => {
                    self.depth = self.depth.saturating_sub(1);
                    self.closed = self.depth == 0;
                }
                b'"' if self.opened => self.in_string = true,
                b' ' | b'\n' | b'\r' | b'\t' => {}
                _ if !self.opened => self.scalar = true,
                _ => {}
            }
        }
    }
}

#[derive(Debug, Clone)]
struct Partial {
    id: String,
    name: String,
    arguments: String,
    end: JsonEnd,
    /// The stream said the arguments are complete (`ToolCallDone`).
    done: bool,
}

impl Partial {
    fn is_complete(&self) -> bool {
        self.done || self.end.closed
    }
}

/// Assembles a streamed reply: text, tool calls in the order they began,
/// finish reason and usage.
#[derive(Debug, Default)]
pub struct CallAssembler {
    calls: Vec<Partial>,
    /// Stream index -> the call it currently feeds.
    by_index: HashMap<u32, usize, FxBuildHasher>,
    text: String,
    saw_text: bool,
    finish_reason: Option<FinishReason>,
    usage: Option<Usage>,
    /// The calls handed out by `take_ready`/`take_rest`, as they were then:
    /// they run, so the reply must report them as run.
    handed: Vec<ToolCall>,
    /// Handed-out calls that got more than whitespace after their arguments
    /// closed, not reported yet: their result must be the error the whole
    /// text gives.
    spoiled: Vec<usize>,
    /// Every handed-out call that ever got such text.
    ever_spoiled: Vec<usize>,
}

impl CallAssembler {
    /// An empty assembler.
    pub fn new() -> Self {
        Self::default()
    }

    /// Take in one event.
    pub fn push(&mut self, event: StreamEvent) {
        match event {
            StreamEvent::Text(text) => {
                self.saw_text = true;
                self.text.push_str(&text);
            }
            StreamEvent::ToolCall(delta) => self.push_delta(delta),
            StreamEvent::ToolCallDone(index) => {
                if let Some(&slot) = self.by_index.get(&index) {
                    self.calls[slot].done = true;
                }
            }
            StreamEvent::Finish(reason) => self.finish_reason = Some(reason),
            StreamEvent::Usage(usage) => self.usage = Some(usage),
        }
    }

    fn push_delta(&mut self, delta: ToolCallDelta) {
        let current = self.by_index.get(&delta.index).copied();
        let starts_new = match (current, delta.id.as_deref()) {
            (None, _) => true,
            // A different id at a known index: a server that reuses the index.
            (Some(slot), Some(id)) => {
                !id.is_empty() && !self.calls[slot].id.is_empty() && self.calls[slot].id != id
            }
            (Some(_), None) => false,
        };
        let slot = if starts_new {
            self.calls.push(Partial {
                id: String::new(),
                name: String::new(),
                arguments: String::new(),
                end: JsonEnd::default(),
                done: false,
            });
            let slot = self.calls.len() - 1;
            self.by_index.insert(delta.index, slot);
            slot
        } else {
            current.unwrap_or_default()
        };
        if slot < self.handed.len() {
            // The call already runs with the arguments it had. Whitespace
            // after them changes nothing; anything else makes the whole text
            // invalid, as it would have been in one fragment.
            if let Some(more) = delta.arguments {
                let spoils = !more.trim().is_empty();
                if spoils || self.ever_spoiled.contains(&slot) {
                    self.handed[slot].arguments.push_str(&more);
                }
                if spoils && !self.spoiled.contains(&slot) {
                    self.spoiled.push(slot);
                    if !self.ever_spoiled.contains(&slot) {
                        self.ever_spoiled.push(slot);
                    }
                }
            }
            return;
        }
        let call = &mut self.calls[slot];
        if let Some(id) = delta.id
            && call.id.is_empty()
        {
            call.id = id;
        }
        if let Some(name) = delta.name
            && call.name.is_empty()
        {
            call.name = name;
        }
        if let Some(arguments) = delta.arguments {
            call.end.feed(&arguments);
            call.arguments.push_str(&arguments);
        }
    }

    /// The text so far.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// How many calls have begun.
    pub fn calls_begun(&self) -> usize {
        self.calls.len()
    }

    /// The calls whose arguments are complete and whose id has arrived, not
    /// handed out yet, in call order: a call is handed out only after every
    /// earlier one.
    pub fn take_ready(&mut self) -> Vec<ToolCall> {
        let ready = self.calls[self.handed.len()..]
            .iter()
            .take_while(|c| c.is_complete() && !c.id.is_empty())
            .count();
        self.hand_out(ready)
    }

    /// Calls handed out whose text went on after their arguments closed,
    /// each with its index and whole text, once: they ran with a prefix of
    /// what the model sent, so their result must be replaced.
    pub fn take_spoiled(&mut self) -> Vec<(usize, ToolCall)> {
        std::mem::take(&mut self.spoiled)
            .into_iter()
            .map(|i| (i, self.handed[i].clone()))
            .collect()
    }

    /// Every call not handed out yet, complete or not (the stream has ended).
    pub fn take_rest(&mut self) -> Vec<ToolCall> {
        self.hand_out(self.calls.len() - self.handed.len())
    }

    fn hand_out(&mut self, n: usize) -> Vec<ToolCall> {
        let first = self.handed.len();
        let calls: Vec<ToolCall> = (first..first + n).map(|i| self.call(i)).collect();
        self.handed.extend(calls.iter().cloned());
        calls
    }

    fn call(&self, index: usize) -> ToolCall {
        if let Some(handed) = self.handed.get(index) {
            return handed.clone();
        }
        let partial = &self.calls[index];
        let id = if partial.id.is_empty() {
            // The tool message must answer some id; the server gave none.
            crate::SharedStr::from(format!("call_{index}"))
        } else {
            crate::SharedStr::from(partial.id.as_str())
        };
        ToolCall::new(id, partial.name.as_str(), partial.arguments.clone())
    }

    /// Whether call `index`'s arguments are complete.
    pub fn is_complete(&self, index: usize) -> bool {
        self.calls.get(index).is_some_and(Partial::is_complete)
    }

    /// The whole reply.
    pub fn into_response(self) -> ChatResponse {
        let tool_calls = (0..self.calls.len()).map(|i| self.call(i)).collect();
        ChatResponse {
            content: self.saw_text.then_some(self.text),
            tool_calls,
            finish_reason: self.finish_reason,
            usage: self.usage,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn delta(index: u32, id: Option<&str>, name: Option<&str>, args: &str) -> StreamEvent {
        StreamEvent::ToolCall(ToolCallDelta {
            index,
            id: id.map(str::to_owned),
            name: name.map(str::to_owned),
            arguments: Some(args.to_owned()),
        })
    }

    #[test]
    fn a_call_is_ready_when_its_object_closes() {
        let mut a = CallAssembler::new();
        a.push(delta(0, Some("a"), Some("f"), "{\"x\": \"}"));
        assert!(a.take_ready().is_empty(), "the brace is inside a string");
        a.push(delta(0, None, None, "\\\"\"}"));
        let ready = a.take_ready();
        assert_eq!(ready, [ToolCall::new("a", "f", "{\"x\": \"}\\\"\"}")]);
        assert!(a.take_ready().is_empty());
    }

    #[test]
    fn a_call_is_ready_when_its_format_says_so() {
        let mut a = CallAssembler::new();
        // A tool without arguments streams no argument text at all.
        a.push(delta(0, Some("a"), Some("now"), ""));
        a.push(delta(1, Some("b"), Some("f"), "{\"x\": 1"));
        assert!(a.take_ready().is_empty());
        a.push(StreamEvent::ToolCallDone(0));
        assert_eq!(a.take_ready(), [ToolCall::new("a", "now", "")]);
        // Done is the format's word even when the text never closed.
        a.push(StreamEvent::ToolCallDone(1));
        assert_eq!(a.take_ready(), [ToolCall::new("b", "f", "{\"x\": 1")]);
        assert!(a.is_complete(1));
        // Done for an index no call has is ignored.
        a.push(StreamEvent::ToolCallDone(7));
        assert_eq!(a.calls_begun(), 2);
    }

    #[test]
    fn calls_are_handed_out_in_call_order() {
        let mut a = CallAssembler::new();
        a.push(delta(0, Some("a"), Some("f"), "{\"x\":"));
        a.push(delta(1, Some("b"), Some("g"), "{}"));
        assert!(a.take_ready().is_empty(), "b waits for a");
        a.push(delta(0, None, None, "1}"));
        let ids: Vec<String> = a
            .take_ready()
            .into_iter()
            .map(|c| c.id.to_string())
            .collect();
        assert_eq!(ids, ["a", "b"]);
    }

    #[test]
    fn a_reused_index_with_a_new_id_is_a_new_call() {
        let mut a = CallAssembler::new();
        a.push(delta(0, Some("a"), Some("f"), "{}"));
        a.push(delta(0, Some("b"), Some("g"), "{\"y\""));
        a.push(delta(0, None, None, ": 2}"));
        let r = a.into_response();
        assert_eq!(
            r.tool_calls,
            [
                ToolCall::new("a", "f", "{}"),
                ToolCall::new("b", "g", "{\"y\": 2}")
            ]
        );
    }

    #[test]
    fn scalars_and_empty_arguments_wait_for_the_end() {
        let mut a = CallAssembler::new();
        a.push(delta(0, Some("a"), Some("f"), ""));
        a.push(delta(1, Some("b"), Some("g"), "42"));
        assert!(a.take_ready().is_empty());
        let rest = a.take_rest();
        assert_eq!(rest.len(), 2);
        assert_eq!(rest[0].id, "a");
    }

    #[test]
    fn a_missing_id_gets_a_stable_one() {
        let mut a = CallAssembler::new();
        a.push(delta(3, None, Some("f"), "{}"));
        assert!(a.take_ready().is_empty(), "its id may still come");
        assert_eq!(a.take_rest()[0].id, "call_0");
    }
}
