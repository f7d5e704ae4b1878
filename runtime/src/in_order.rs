//! A batch's results by call index, kept in call order as they come.
//!
//! A result whose earlier calls all have theirs is appended to the vector
//! the batch returns, so a batch whose calls finish in order (most of
//! them: calls that finish at once, or as fast as each other) writes each
//! result once and never copies them again. A result that comes early
//! waits in a map until the gap before it closes.

use std::collections::HashMap;

use rustc_hash::FxBuildHasher;

use crate::call::CallResult;

pub(crate) struct InOrder {
    /// The results of calls `0..done.len()`.
    done: Vec<CallResult>,
    /// Results of later calls, until every call before them has one.
    early: HashMap<usize, CallResult, FxBuildHasher>,
    /// How many calls the batch has.
    calls: usize,
}

impl InOrder {
    /// Room for `calls` results, none of them known.
    pub(crate) fn new(calls: usize) -> Self {
        InOrder {
            done: Vec::with_capacity(calls),
            early: HashMap::default(),
            calls,
        }
    }

    /// One more call, without a result.
    pub(crate) fn add_call(&mut self) {
        self.calls += 1;
    }

    /// How many calls there are.
    pub(crate) fn len(&self) -> usize {
        self.calls
    }

    /// Call `index`'s result, if it has one.
    pub(crate) fn get(&self, index: usize) -> Option<&CallResult> {
        match self.done.get(index) {
            Some(result) => Some(result),
            None if self.early.is_empty() => None,
            None => self.early.get(&index),
        }
    }

    /// Whether call `index` has a result.
    pub(crate) fn has(&self, index: usize) -> bool {
        self.get(index).is_some()
    }

    /// Set (or replace) call `index`'s result.
    #[inline]
    pub(crate) fn set(&mut self, index: usize, result: CallResult) {
        // The common case inline: the next result in order, none early.
        if index == self.done.len() && self.early.is_empty() {
            self.done.push(result);
        } else {
            self.set_out_of_order(index, result);
        }
    }

    fn set_out_of_order(&mut self, index: usize, result: CallResult) {
        if let Some(slot) = self.done.get_mut(index) {
            *slot = result;
        } else if index == self.done.len() {
            self.done.push(result);
            while !self.early.is_empty() {
                match self.early.remove(&self.done.len()) {
                    Some(next) => self.done.push(next),
                    None => break,
                }
            }
        } else {
            self.early.insert(index, result);
        }
    }

    /// Every call's result, in call order; `missing` makes those of calls
    /// without one.
    pub(crate) fn into_vec(
        mut self,
        mut missing: impl FnMut(usize) -> CallResult,
    ) -> Vec<CallResult> {
        while self.done.len() < self.calls {
            let index = self.done.len();
            let result = self.early.remove(&index).unwrap_or_else(|| missing(index));
            self.done.push(result);
        }
        self.done
    }
}

#[cfg(test)]
mod tests {
    use super::InOrder;
    use crate::call::{CallResult, Outcome};

    fn result(id: &str) -> CallResult {
        CallResult::new(id, "t", Outcome::Ok, "")
    }

    fn ids(results: &[CallResult]) -> Vec<&str> {
        results.iter().map(|r| r.call_id.as_str()).collect()
    }

    #[test]
    fn results_in_any_order_come_out_in_call_order() {
        let mut results = InOrder::new(4);
        results.set(2, result("c"));
        assert!(results.has(2) && !results.has(0));
        results.set(0, result("a"));
        results.set(0, result("a2"));
        assert_eq!(results.get(0).map(|r| r.call_id.as_str()), Some("a2"));
        results.set(1, result("b"));
        results.add_call();
        results.set(4, result("e"));
        assert_eq!(results.len(), 5);
        let all = results.into_vec(|i| result(&format!("missing {i}")));
        assert_eq!(ids(&all), ["a2", "b", "c", "missing 3", "e"]);
    }
}
