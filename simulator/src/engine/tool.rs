//! Simulated tools, and a wrapper that gives any real tool a latency.

use std::sync::{Arc, Mutex};

use schemars::SchemaGenerator;
use serde_json::{Value, json};
use toolcall_runtime::{
    CallError, StateMap, StateNeed, Tool, ToolAnnotations, ToolError, ToolFuture, ToolOutput,
    ToolPolicy,
};

use crate::engine::latency::Latency;
use crate::engine::rng::SimRng;

type Responder = Arc<dyn Fn(&Value) -> Result<Value, String> + Send + Sync>;

#[derive(Clone)]
enum Behaviour {
    /// `{"tool": name, "arguments": ...}`.
    Echo,
    /// Always this text.
    Text(String),
    /// Computed from the arguments.
    Responder(Responder),
    /// Always this error.
    Fail(String),
}

/// A tool that exists only in the simulation: a name, a schema, a latency
/// and a result (or a failure), with seeded draws.
///
/// ```
/// # use toolcall_sim::{SimTool, Latency};
/// # use serde_json::json;
/// let weather = SimTool::new("get_weather", "Current weather in a city")
///     .parameters(json!({"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}))
///     .latency(Latency::fixed_ms(200))
///     .returns(json!({"temp_c": 21}));
/// ```
#[derive(Clone)]
pub struct SimTool {
    name: String,
    description: String,
    parameters: Value,
    latency: Latency,
    behaviour: Behaviour,
    failure_rate: f64,
    policy: ToolPolicy,
    rng: Arc<Mutex<SimRng>>,
}

impl std::fmt::Debug for SimTool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimTool")
            .field("name", &self.name)
            .field("latency", &self.latency)
            .field("failure_rate", &self.failure_rate)
            .finish()
    }
}

impl SimTool {
    /// A tool with no parameters, no latency, that echoes its arguments.
    /// Offered in non-strict mode unless [`SimTool::strict`] says otherwise.
    pub fn new(name: impl Into<String>, description: impl Into<String>) -> Self {
        let name = name.into();
        SimTool {
            rng: Arc::new(Mutex::new(SimRng::derive(0, &name))),
            name,
            description: description.into(),
            parameters: json!({"type": "object", "properties": {}, "additionalProperties": false}),
            latency: Latency::Zero,
            behaviour: Behaviour::Echo,
            failure_rate: 0.0,
            policy: ToolPolicy::DEFAULT.with_strict(false),
        }
    }

    /// The JSON Schema of the arguments object.
    pub fn parameters(mut self, schema: Value) -> Self {
        self.parameters = schema;
        self
    }

    /// How long each call takes.
    pub fn latency(mut self, latency: impl Into<Latency>) -> Self {
        self.latency = latency.into();
        self
    }

    /// Return this value (a JSON string is sent as its text).
    pub fn returns(mut self, value: Value) -> Self {
        self.behaviour = Behaviour::Text(match value {
            Value::String(text) => text,
            other => other.to_string(),
        });
        self
    }

    /// Compute the result from the arguments.
    pub fn responds(
        mut self,
        f: impl Fn(&Value) -> Result<Value, String> + Send + Sync + 'static,
    ) -> Self {
        self.behaviour = Behaviour::Responder(Arc::new(f));
        self
    }

    /// Always fail with this message.
    pub fn fails_with(mut self, message: impl Into<String>) -> Self {
        self.behaviour = Behaviour::Fail(message.into());
        self
    }

    /// Fail this share of calls (seeded) with a simulated error.
    pub fn failure_rate(mut self, p: f64) -> Self {
        self.failure_rate = p;
        self
    }

    /// Seed the tool's draws (latency, failures); by default from its name.
    pub fn seed(self, seed: u64) -> Self {
        let rng = SimRng::derive(seed, &self.name);
        if let Ok(mut guard) = self.rng.lock() {
            *guard = rng;
        }
        self
    }

    /// Offer the schema in OpenAI strict mode.
    pub fn strict(mut self, yes: bool) -> Self {
        self.policy.strict = yes;
        self
    }

    /// The tool must run alone (a barrier in dispatch).
    pub fn exclusive(mut self, yes: bool) -> Self {
        self.policy.exclusive = yes;
        self
    }

    /// The tool's own timeout.
    pub fn timeout(mut self, limit: std::time::Duration) -> Self {
        self.policy.timeout = Some(limit);
        self
    }
}

impl Tool for SimTool {
    fn name(&self) -> &str {
        &self.name
    }

    fn description(&self) -> &str {
        &self.description
    }

    fn policy(&self) -> ToolPolicy {
        self.policy
    }

    fn parameters(&self, _generator: &mut SchemaGenerator) -> Value {
        self.parameters.clone()
    }

    fn call(&self, arguments: &str, _state: &StateMap) -> Result<ToolFuture, CallError> {
        let args: Value = serde_json::from_str(arguments)
            .map_err(|e| CallError::InvalidArguments(e.to_string()))?;
        if !args.is_object() {
            return Err(CallError::InvalidArguments(format!(
                "expected a JSON object, got {args}"
            )));
        }
        // Drawn at call time, so the draws follow the order calls start in.
        let (delay, failed) = {
            let mut rng = self
                .rng
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            (self.latency.sample(&mut rng), rng.chance(self.failure_rate))
        };
        let reply = if failed {
            Err(ToolError::new(format!("{}: simulated failure", self.name)))
        } else {
            match &self.behaviour {
                Behaviour::Echo => Ok(ToolOutput::json_text(
                    json!({"tool": self.name, "arguments": args}).to_string(),
                )),
                Behaviour::Text(text) => Ok(ToolOutput::text(text.clone())),
                Behaviour::Responder(f) => f(&args)
                    .map(|v| match v {
                        Value::String(text) => ToolOutput::text(text),
                        other => ToolOutput::json_text(other.to_string()),
                    })
                    .map_err(ToolError::new),
                Behaviour::Fail(message) => Err(ToolError::new(message.clone())),
            }
        };
        Ok(Box::pin(async move {
            if !delay.is_zero() {
                tokio::time::sleep(delay).await;
            }
            reply
        }))
    }
}

/// A real tool with a simulated latency added before it runs.
pub struct WithLatency<T> {
    inner: T,
    latency: Latency,
    rng: Mutex<SimRng>,
}

/// Add `latency` to every call of `tool` (seeded from the tool's name).
pub fn with_latency<T: Tool>(tool: T, latency: impl Into<Latency>) -> WithLatency<T> {
    let rng = Mutex::new(SimRng::derive(0, tool.name()));
    WithLatency {
        inner: tool,
        latency: latency.into(),
        rng,
    }
}

impl<T> WithLatency<T> {
    /// Seed the latency draws.
    pub fn seed(self, seed: u64) -> Self
    where
        T: Tool,
    {
        let rng = Mutex::new(SimRng::derive(seed, self.inner.name()));
        WithLatency { rng, ..self }
    }

    /// The wrapped tool.
    pub fn into_inner(self) -> T {
        self.inner
    }
}

impl<T: Tool> Tool for WithLatency<T> {
    fn name(&self) -> &str {
        self.inner.name()
    }

    fn description(&self) -> &str {
        self.inner.description()
    }

    fn policy(&self) -> ToolPolicy {
        self.inner.policy()
    }

    fn annotations(&self) -> ToolAnnotations {
        self.inner.annotations()
    }

    fn parameters(&self, generator: &mut SchemaGenerator) -> Value {
        self.inner.parameters(generator)
    }

    fn output_schema(&self, generator: &mut SchemaGenerator) -> Option<Value> {
        self.inner.output_schema(generator)
    }

    fn state_needs(&self) -> Vec<StateNeed> {
        self.inner.state_needs()
    }

    fn call(&self, arguments: &str, state: &StateMap) -> Result<ToolFuture, CallError> {
        let running = self.inner.call(arguments, state)?;
        let delay = self.latency.sample(
            &mut self
                .rng
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner()),
        );
        Ok(Box::pin(async move {
            tokio::time::sleep(delay).await;
            running.await
        }))
    }
}
