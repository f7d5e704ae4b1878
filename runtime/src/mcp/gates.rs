//! What a `tools/call` waits for before it runs, across every request and
//! client of one server: an exclusive tool runs alone, calls that write a
//! resource key take turns (readers share), a tool's `max_concurrency`
//! holds, and at most the server's cap of calls run. The locks are fair, so
//! calls that conflict run in the order they arrived, as a batch's calls
//! run in call order.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use futures_util::future::Either;
use tokio::sync::{
    OwnedRwLockReadGuard, OwnedRwLockWriteGuard, OwnedSemaphorePermit, RwLock, RwLockReadGuard,
    RwLockWriteGuard, Semaphore, SemaphorePermit,
};

use crate::schedule::{Access, claimed_keys};
use crate::tool::ToolPolicy;
use crate::toolset::ToolSet;

/// One lock per resource key in use.
type KeyLocks = Mutex<HashMap<String, Arc<RwLock<()>>>>;

/// A key's lock, held to write or to read.
type KeyGuard = Either<OwnedRwLockWriteGuard<()>, OwnedRwLockReadGuard<()>>;

pub(super) struct Gates {
    /// Ordinary calls share it, an exclusive call holds it alone.
    alone: RwLock<()>,
    keys: KeyLocks,
    /// Per tool with a `max_concurrency`.
    limits: HashMap<String, Arc<Semaphore>>,
    /// Free slots under the server's cap.
    slots: Option<Semaphore>,
}

/// Held while a call runs; dropping it lets the next calls in.
pub(super) struct Pass<'a> {
    _slot: Option<SemaphorePermit<'a>>,
    _limit: Option<OwnedSemaphorePermit>,
    _keys: Keys<'a>,
    _alone: Either<RwLockWriteGuard<'a, ()>, RwLockReadGuard<'a, ()>>,
}

/// The key locks a call holds; on drop, locks no one else holds or waits
/// for leave the map, so keys drawn from arguments do not pile up.
struct Keys<'a> {
    locks: &'a KeyLocks,
    held: Vec<(String, KeyGuard)>,
}

impl Drop for Keys<'_> {
    fn drop(&mut self) {
        let held = std::mem::take(&mut self.held);
        let Ok(mut locks) = self.locks.lock() else {
            return;
        };
        for (key, guard) in held {
            drop(guard);
            if locks
                .get(&key)
                .is_some_and(|lock| Arc::strong_count(lock) == 1)
            {
                locks.remove(&key);
            }
        }
    }
}

impl Gates {
    pub(super) fn new(tools: &ToolSet, cap: Option<usize>) -> Gates {
        let limits = tools
            .names()
            .filter_map(|name| {
                let n = tools.policy(name)?.max_concurrency?;
                Some((name.to_owned(), Arc::new(Semaphore::new(n.get()))))
            })
            .collect();
        Gates {
            alone: RwLock::new(()),
            keys: Mutex::default(),
            limits,
            slots: cap.map(Semaphore::new),
        }
    }

    /// Wait until a call of `name` with these arguments may run.
    pub(super) async fn enter(&self, name: &str, policy: &ToolPolicy, arguments: &str) -> Pass<'_> {
        // Exclusivity first, then keys, the tool's limit, and a slot under
        // the cap last, so a call waiting on a key holds no slot.
        let alone = if policy.exclusive {
            Either::Left(self.alone.write().await)
        } else {
            Either::Right(self.alone.read().await)
        };
        let mut wanted = claimed_keys(policy, arguments);
        // One order for every call: two calls never wait on each other's keys.
        wanted.sort();
        let mut keys = Keys {
            locks: &self.keys,
            held: Vec::with_capacity(wanted.len()),
        };
        for (key, access) in wanted {
            let lock = {
                let Ok(mut locks) = self.keys.lock() else {
                    continue;
                };
                Arc::clone(locks.entry(key.clone()).or_default())
            };
            let guard = match access {
                Access::Write => Either::Left(lock.write_owned().await),
                Access::Read => Either::Right(lock.read_owned().await),
            };
            keys.held.push((key, guard));
        }
        let limit = match self.limits.get(name) {
            Some(limit) => Arc::clone(limit).acquire_owned().await.ok(),
            None => None,
        };
        let slot = match &self.slots {
            Some(slots) => slots.acquire().await.ok(),
            None => None,
        };
        Pass {
            _slot: slot,
            _limit: limit,
            _keys: keys,
            _alone: alone,
        }
    }
}
