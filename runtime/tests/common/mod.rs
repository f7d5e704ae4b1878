//! Test tools whose behaviour is set by their arguments.
#![allow(dead_code)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use schemars::SchemaGenerator;
use serde::Deserialize;
use serde_json::{Value, json};
use toolcall_runtime::{CallError, StateMap, Tool, ToolFuture, ToolPolicy};

/// What one call of [`Scripted`] does.
#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct Behaviour {
    #[serde(default)]
    pub delay_ms: u64,
    #[serde(default)]
    pub fail: bool,
    #[serde(default)]
    pub panic: bool,
}

impl Behaviour {
    pub fn arguments(&self) -> String {
        json!({"delay_ms": self.delay_ms, "fail": self.fail, "panic": self.panic}).to_string()
    }
}

/// Counts calls started and call futures dropped (finished or cancelled).
#[derive(Default, Debug)]
pub struct Counters {
    pub started: AtomicUsize,
    pub dropped: AtomicUsize,
    pub running: AtomicUsize,
    pub max_running: AtomicUsize,
}

struct Guard(Arc<Counters>);

impl Drop for Guard {
    fn drop(&mut self) {
        self.0.dropped.fetch_add(1, Ordering::SeqCst);
        self.0.running.fetch_sub(1, Ordering::SeqCst);
    }
}

/// A tool that sleeps `delay_ms` on tokio's clock, then succeeds, fails or panics.
pub struct Scripted {
    pub name: &'static str,
    pub policy: ToolPolicy,
    pub counters: Arc<Counters>,
}

impl Scripted {
    pub fn new(name: &'static str) -> Self {
        Scripted {
            name,
            policy: ToolPolicy::DEFAULT,
            counters: Arc::default(),
        }
    }

    pub fn exclusive(mut self) -> Self {
        self.policy.exclusive = true;
        self
    }

    pub fn timeout(mut self, limit: Duration) -> Self {
        self.policy.timeout = Some(limit);
        self
    }
}

impl Tool for Scripted {
    fn name(&self) -> &str {
        self.name
    }
    fn description(&self) -> &str {
        "sleeps, then succeeds, fails or panics as its arguments say"
    }
    fn policy(&self) -> ToolPolicy {
        self.policy
    }
    fn parameters(&self, _: &mut SchemaGenerator) -> Value {
        json!({
            "type": "object",
            "properties": {
                "delay_ms": {"type": "integer"},
                "fail": {"type": "boolean"},
                "panic": {"type": "boolean"}
            },
            "required": ["delay_ms", "fail", "panic"]
        })
    }
    fn call(&self, arguments: &str, _: &StateMap) -> Result<ToolFuture, CallError> {
        let b: Behaviour = serde_json::from_str(arguments)
            .map_err(|e| CallError::InvalidArguments(e.to_string()))?;
        let counters = self.counters.clone();
        Ok(Box::pin(async move {
            counters.started.fetch_add(1, Ordering::SeqCst);
            let now = counters.running.fetch_add(1, Ordering::SeqCst) + 1;
            counters.max_running.fetch_max(now, Ordering::SeqCst);
            let _guard = Guard(counters);
            tokio::time::sleep(Duration::from_millis(b.delay_ms)).await;
            if b.panic {
                panic!("deliberate test panic");
            }
            if b.fail {
                Err(format!("failed after {} ms", b.delay_ms).into())
            } else {
                Ok(format!("done after {} ms", b.delay_ms).into())
            }
        }))
    }
}

/// Silence the panics the tests cause on purpose, keep every other.
pub fn quiet_deliberate_panics() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let deliberate = info
                .payload()
                .downcast_ref::<&str>()
                .is_some_and(|s| s.contains("deliberate"));
            if !deliberate {
                default(info);
            }
        }));
    });
}

/// A current-thread runtime with the clock paused.
pub fn paused_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .expect("runtime")
}
