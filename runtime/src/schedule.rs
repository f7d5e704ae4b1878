//! Who may start when: exclusive tools, resource keys and per-tool limits.
//!
//! The rules, for a call at index `i` of a batch:
//! - an exclusive call starts once every earlier call has finished, and
//!   every later call waits for it to finish (so it runs alone);
//! - a call that writes key `k` starts once every earlier call that reads
//!   or writes `k` has finished; a call that reads `k` starts once every
//!   earlier call that writes `k` has finished (readers share);
//! - a tool with `max_concurrency = n` has at most `n` calls running;
//! - the batch's own `max_concurrency` caps all calls.
//!
//! Whenever calls finish, the waiting calls are considered in call order
//! and each starts if the rules allow it then: a greedy schedule. Only
//! earlier calls hold a call back, so call order is kept between calls that
//! conflict, and a batch with nothing running always has a call it can
//! start.

use std::collections::VecDeque;
use std::num::NonZeroUsize;

use rustc_hash::FxHashMap;
use serde_json::{Map, Value};

use crate::tool::ToolPolicy;

/// How a call touches a resource key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Access {
    Read,
    Write,
}

/// What one call holds while it runs.
#[derive(Debug, Default)]
struct Claims<'a> {
    exclusive: bool,
    keys: Vec<(String, Access)>,
    /// The tool's name and its limit.
    limit: Option<(&'a str, NonZeroUsize)>,
    running: bool,
}

/// The scheduling state of one batch: only calls of tools with a
/// scheduling policy are tracked, so a batch of plain tools pays nothing.
#[derive(Debug, Default)]
pub(crate) struct Schedule<'a> {
    claims: FxHashMap<usize, Claims<'a>>,
    /// Unfinished exclusive calls, in call order.
    exclusive: VecDeque<usize>,
    /// Per key, the unfinished calls that touch it, in call order.
    keys: FxHashMap<String, VecDeque<(usize, Access)>>,
    /// Running calls per limited tool.
    running: FxHashMap<&'a str, usize>,
}

impl<'a> Schedule<'a> {
    /// Record what call `index` of tool `name` will hold, with the keys
    /// its arguments select. Calls register in call order.
    #[inline]
    pub(crate) fn register(
        &mut self,
        index: usize,
        name: &'a str,
        policy: &ToolPolicy,
        arguments: &str,
    ) {
        // Inline, so a batch of plain tools pays one test a call.
        if policy.is_scheduled() {
            self.register_scheduled(index, name, policy, arguments);
        }
    }

    #[cold]
    fn register_scheduled(
        &mut self,
        index: usize,
        name: &'a str,
        policy: &ToolPolicy,
        arguments: &str,
    ) {
        let keys = claimed_keys(policy, arguments);
        for (key, access) in &keys {
            self.keys
                .entry(key.clone())
                .or_default()
                .push_back((index, *access));
        }
        if policy.exclusive {
            self.exclusive.push_back(index);
        }
        let claims = Claims {
            exclusive: policy.exclusive,
            keys,
            limit: policy.max_concurrency.map(|n| (name, n)),
            running: false,
        };
        self.claims.insert(index, claims);
    }

    /// Whether call `index` may start now. `alone` says whether every
    /// earlier call has finished; it is asked only of an exclusive call.
    #[inline]
    pub(crate) fn may_start(&self, index: usize, alone: impl FnOnce() -> bool) -> bool {
        self.claims.is_empty() || self.may_start_scheduled(index, alone)
    }

    fn may_start_scheduled(&self, index: usize, alone: impl FnOnce() -> bool) -> bool {
        if self.exclusive.front().is_some_and(|&first| first < index) {
            return false;
        }
        let Some(claims) = self.claims.get(&index) else {
            return true;
        };
        if claims.exclusive && !alone() {
            return false;
        }
        let keys_free = claims.keys.iter().all(|(key, access)| {
            let Some(queue) = self.keys.get(key) else {
                return true;
            };
            let mut earlier = queue.iter().take_while(|(i, _)| *i != index);
            match access {
                Access::Write => earlier.next().is_none(),
                Access::Read => earlier.all(|(_, a)| *a == Access::Read),
            }
        });
        keys_free
            && claims
                .limit
                .is_none_or(|(name, n)| self.running.get(name).copied().unwrap_or(0) < n.get())
    }

    /// Call `index` started.
    #[inline]
    pub(crate) fn started(&mut self, index: usize) {
        if !self.claims.is_empty() {
            self.started_scheduled(index);
        }
    }

    fn started_scheduled(&mut self, index: usize) {
        let Some(claims) = self.claims.get_mut(&index) else {
            return;
        };
        claims.running = true;
        if let Some((name, _)) = claims.limit {
            *self.running.entry(name).or_default() += 1;
        }
    }

    /// Call `index` finished (or never ran): what it held is free.
    #[inline]
    pub(crate) fn finished(&mut self, index: usize) {
        if !self.claims.is_empty() {
            self.finished_scheduled(index);
        }
    }

    fn finished_scheduled(&mut self, index: usize) {
        let Some(claims) = self.claims.remove(&index) else {
            return;
        };
        if let (true, Some((name, _))) = (claims.running, claims.limit)
            && let Some(n) = self.running.get_mut(name)
        {
            *n = n.saturating_sub(1);
        }
        if claims.exclusive {
            self.exclusive.retain(|&i| i != index);
        }
        for (key, _) in claims.keys {
            if let Some(queue) = self.keys.get_mut(&key) {
                queue.retain(|(i, _)| *i != index);
                if queue.is_empty() {
                    self.keys.remove(&key);
                }
            }
        }
    }
}

/// The keys a call claims: each template with its `{argument}`s filled in,
/// a key both read and written claimed once, as written.
pub(crate) fn claimed_keys(policy: &ToolPolicy, arguments: &str) -> Vec<(String, Access)> {
    let templated = policy
        .reads
        .iter()
        .chain(policy.writes)
        .any(|t| t.contains('{'));
    // Arguments that are not an object leave placeholders `null`: the tool
    // refuses such a call at once, so it holds nothing for long.
    let args = if templated {
        serde_json::from_str::<Map<String, Value>>(arguments).unwrap_or_default()
    } else {
        Map::new()
    };
    let mut keys: Vec<(String, Access)> = Vec::new();
    let all = (policy.writes.iter().map(|t| (t, Access::Write)))
        .chain(policy.reads.iter().map(|t| (t, Access::Read)));
    for (template, access) in all {
        let key = fill(template, &args);
        if !keys.iter().any(|(k, _)| *k == key) {
            keys.push((key, access));
        }
    }
    keys
}

/// `template` with every `{name}` replaced by argument `name`.
fn fill(template: &str, args: &Map<String, Value>) -> String {
    let mut key = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        let Some(close) = rest[open..].find('}') else {
            break;
        };
        key.push_str(&rest[..open]);
        match args.get(&rest[open + 1..open + close]) {
            Some(Value::String(s)) => key.push_str(s),
            Some(other) => canonical(other, &mut key),
            None => key.push_str("null"),
        }
        rest = &rest[open + close + 1..];
    }
    key.push_str(rest);
    key
}

/// `value` as canonical JSON text, so equal values make one key however the
/// model wrote them: object keys sorted, no spaces, and a number by its
/// value (`1`, `1.0` and `1e0` are all `1`; `-0` is `0`; other numbers as
/// the shortest decimal that reads back as the same `f64`).
fn canonical(value: &Value, out: &mut String) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => {
            if let Some(i) = n.as_u64() {
                out.push_str(&i.to_string());
            } else if let Some(i) = n.as_i64() {
                out.push_str(&i.to_string());
            } else if let Some(f) = n.as_f64() {
                // Display writes an integral float without a fraction and
                // never in exponent form: 1.0 and 1e0 are "1" as 1 is.
                let f = if f == 0.0 { 0.0 } else { f };
                out.push_str(&f.to_string());
            } else {
                out.push_str(&n.to_string());
            }
        }
        Value::String(s) => out.push_str(&Value::String(s.clone()).to_string()),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                canonical(item, out);
            }
            out.push(']');
        }
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_unstable_by(|a, b| a.0.cmp(b.0));
            out.push('{');
            for (i, (k, v)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                canonical(&Value::String(k.clone()), out);
                out.push(':');
                canonical(v, out);
            }
            out.push('}');
        }
    }
}

/// The argument names a key template uses, for checking them at build time.
pub(crate) fn placeholders(template: &str) -> impl Iterator<Item = &str> {
    template
        .split('{')
        .skip(1)
        .filter_map(|s| s.split_once('}'))
        .map(|(name, _)| name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_fill_arguments_as_text() {
        let args = serde_json::json!({"path": "/tmp/a", "n": 3, "o": {"k": 1}});
        let Value::Object(args) = args else {
            unreachable!()
        };
        assert_eq!(fill("file:{path}", &args), "file:/tmp/a");
        assert_eq!(fill("{n}-{o}", &args), r#"3-{"k":1}"#);
        assert_eq!(fill("{path}", &args), "/tmp/a", "a string as it is");
        assert_eq!(fill("x:{missing}", &args), "x:null");
        assert_eq!(fill("plain", &args), "plain");
        assert_eq!(fill("open{path", &args), "open{path");
        assert_eq!(placeholders("a{b}c{d}").collect::<Vec<_>>(), ["b", "d"]);
    }

    /// Equal values make one key however they are written: numbers by
    /// value, object keys in any order, spaces or none.
    #[test]
    fn keys_from_equal_values_are_equal() {
        let key = |args: &str| {
            let args: Map<String, Value> = serde_json::from_str(args).unwrap_or_default();
            fill("k:{v}", &args)
        };
        let same = [
            (r#"{"v": 1}"#, r#"{"v": 1.0}"#),
            (r#"{"v": 1}"#, r#"{"v": 1e0}"#),
            (r#"{"v": 100}"#, r#"{"v": 1E2}"#),
            (r#"{"v": 0}"#, r#"{"v": -0.0}"#),
            (r#"{"v": -3}"#, r#"{"v": -3.00}"#),
            (r#"{"v": 2.5}"#, r#"{"v": 25e-1}"#),
            (
                r#"{"v": {"a": 1, "b": [1, {"y": 2, "x": 1}]}}"#,
                r#"{"v": {"b": [1.0, {"x": 1, "y": 2.0}], "a": 1}}"#,
            ),
            (r#"{"v": "x\u0041"}"#, r#"{"v": "xA"}"#),
        ];
        for (a, b) in same {
            assert_eq!(key(a), key(b), "{a} and {b}");
        }
        assert_eq!(key(r#"{"v": 1.0}"#), "k:1");
        assert_eq!(key(r#"{"v": {"b": 1, "a": " "}}"#), r#"k:{"a":" ","b":1}"#);
        assert_eq!(key(r#"{"v": 1e20}"#), "k:100000000000000000000");
        let different = [
            (r#"{"v": 1}"#, r#"{"v": 1.5}"#),
            (r#"{"v": [1, 2]}"#, r#"{"v": [2, 1]}"#),
            (r#"{"v": {"a": 1}}"#, r#"{"v": {"a": 2}}"#),
            (r#"{"v": true}"#, r#"{"v": 1}"#),
        ];
        for (a, b) in different {
            assert_ne!(key(a), key(b), "{a} and {b}");
        }
    }

    #[test]
    fn a_key_read_and_written_is_claimed_once_as_written() {
        let policy = ToolPolicy::DEFAULT
            .with_reads(&["fs", "db"])
            .with_writes(&["fs"]);
        assert_eq!(
            claimed_keys(&policy, "{}"),
            [
                ("fs".to_owned(), Access::Write),
                ("db".to_owned(), Access::Read)
            ]
        );
    }

    #[test]
    fn readers_share_and_a_writer_waits_for_earlier_ones() {
        let read = ToolPolicy::DEFAULT.with_reads(&["fs"]);
        let write = ToolPolicy::DEFAULT.with_writes(&["fs"]);
        let mut s = Schedule::default();
        s.register(0, "r", &read, "{}");
        s.register(1, "r", &read, "{}");
        s.register(2, "w", &write, "{}");
        s.register(3, "r", &read, "{}");
        let may = |s: &Schedule<'_>, i| s.may_start(i, || true);
        assert!(may(&s, 0) && may(&s, 1));
        assert!(!may(&s, 2) && !may(&s, 3));
        s.finished(0);
        assert!(!may(&s, 2));
        s.finished(1);
        assert!(may(&s, 2) && !may(&s, 3));
        s.finished(2);
        assert!(may(&s, 3));
    }
}
