//! The tool abstraction: what a registered tool declares and how it is called.

use std::future::Future;
use std::num::NonZeroUsize;
use std::pin::Pin;
use std::time::Duration;

use schemars::SchemaGenerator;
use serde_json::Value;

use crate::output::{ToolError, ToolOutput};
use crate::state::{StateMap, StateNeed};

/// A boxed, sendable future, as the object-safe traits of this crate return.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// What a tool's run produced: an output for the model, or an error the
/// model reads as a failed call.
pub type ToolReply = Result<ToolOutput, ToolError>;

/// The future of one running tool call.
pub type ToolFuture = BoxFuture<'static, ToolReply>;

/// Per-tool policy, set in `#[tool(...)]` and honoured by the dispatcher.
/// Build one from [`ToolPolicy::DEFAULT`] with its `const` setters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct ToolPolicy {
    /// Longest a call may run; overrides the dispatcher's default per-call timeout.
    pub timeout: Option<Duration>,
    /// The tool must run alone: calls before it finish first, calls after it wait.
    pub exclusive: bool,
    /// Offer the schema in OpenAI strict mode (the default).
    pub strict: bool,
    /// The tool is a plain (blocking) fn run on tokio's blocking pool: once
    /// its body runs it cannot be stopped, so a timeout answers the call but
    /// the body runs on until it returns (its result is then discarded).
    pub blocking: bool,
    /// Run each call as its own task on the runtime (CPU-bound tools on a
    /// multi-thread runtime use every worker), not inside the dispatch future.
    pub spawn: bool,
    /// Resources a call reads: it waits for earlier calls in the batch that
    /// write one of them, and shares them with other readers. A key may
    /// name a top-level argument, `"file:{path}"`: see [`ToolPolicy::with_reads`].
    pub reads: &'static [&'static str],
    /// Resources a call writes: it waits for every earlier call in the batch
    /// that reads or writes one of them, and later calls that touch one wait
    /// for it.
    pub writes: &'static [&'static str],
    /// At most this many calls of this tool run at once (a rate-limited
    /// backend); further calls wait for one to finish.
    ///
    /// Keys and limits hold within a batch (an agent runs one batch at a
    /// time) and, in the MCP server (`mcp::McpServer`), across every
    /// request; separate dispatches of one `ToolSet` do not wait on each
    /// other.
    pub max_concurrency: Option<NonZeroUsize>,
}

impl Default for ToolPolicy {
    /// [`ToolPolicy::DEFAULT`]: strict, as `#[tool]` is unless told otherwise
    /// (a derived default would have said `strict: false`).
    fn default() -> Self {
        ToolPolicy::DEFAULT
    }
}

impl ToolPolicy {
    /// The default policy: no timeout of its own, not exclusive, strict.
    pub const DEFAULT: ToolPolicy = ToolPolicy {
        timeout: None,
        exclusive: false,
        strict: true,
        blocking: false,
        spawn: false,
        reads: &[],
        writes: &[],
        max_concurrency: None,
    };

    /// With this per-call timeout (`None`: the dispatcher's default).
    pub const fn with_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.timeout = timeout;
        self
    }

    /// Whether the tool must run alone.
    pub const fn with_exclusive(mut self, exclusive: bool) -> Self {
        self.exclusive = exclusive;
        self
    }

    /// Whether the schema is offered in strict mode.
    pub const fn with_strict(mut self, strict: bool) -> Self {
        self.strict = strict;
        self
    }

    /// Whether the tool is a plain fn on the blocking pool.
    pub const fn with_blocking(mut self, blocking: bool) -> Self {
        self.blocking = blocking;
        self
    }

    /// Whether each call runs as its own task.
    pub const fn with_spawn(mut self, spawn: bool) -> Self {
        self.spawn = spawn;
        self
    }

    /// The resources each call reads. A key is text compared as written;
    /// `{name}` in it is replaced by the call's top-level argument `name`
    /// (a string as it is, any other value as its JSON text, a missing
    /// one as `null`), so `"file:{path}"` keys calls by the file they touch.
    /// Calls that only read a key run together; a write waits for them.
    pub const fn with_reads(mut self, keys: &'static [&'static str]) -> Self {
        self.reads = keys;
        self
    }

    /// The resources each call writes, with keys as in
    /// [`ToolPolicy::with_reads`]. Calls that touch a key one of them
    /// writes run one at a time, in call order; unrelated calls still run
    /// in parallel.
    pub const fn with_writes(mut self, keys: &'static [&'static str]) -> Self {
        self.writes = keys;
        self
    }

    /// At most `n` calls of this tool at once (`None`: no limit of its own).
    pub const fn with_max_concurrency(mut self, n: Option<NonZeroUsize>) -> Self {
        self.max_concurrency = n;
        self
    }

    /// Whether a call of this tool can wait for another than the batch's
    /// concurrency limit: it is exclusive, names resources, or has a limit.
    pub(crate) const fn is_scheduled(&self) -> bool {
        self.exclusive
            || !self.reads.is_empty()
            || !self.writes.is_empty()
            || self.max_concurrency.is_some()
    }
}

/// Hints about a tool's behaviour for clients that show or gate tools (MCP
/// `annotations`); none of them changes how toolcall runs the tool.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct ToolAnnotations {
    /// A human-readable title.
    pub title: Option<&'static str>,
    /// The tool does not change its environment.
    pub read_only: Option<bool>,
    /// The tool may destroy or overwrite data (meaningful when not read-only).
    pub destructive: Option<bool>,
    /// Calling it again with the same arguments has no further effect.
    pub idempotent: Option<bool>,
    /// The tool reaches an open world (the web) rather than a closed domain.
    pub open_world: Option<bool>,
}

impl ToolAnnotations {
    /// No hints.
    pub const NONE: ToolAnnotations = ToolAnnotations {
        title: None,
        read_only: None,
        destructive: None,
        idempotent: None,
        open_world: None,
    };

    /// With this title.
    pub const fn with_title(mut self, title: &'static str) -> Self {
        self.title = Some(title);
        self
    }

    /// Whether the tool only reads.
    pub const fn with_read_only(mut self, yes: bool) -> Self {
        self.read_only = Some(yes);
        self
    }

    /// Whether the tool may destroy data.
    pub const fn with_destructive(mut self, yes: bool) -> Self {
        self.destructive = Some(yes);
        self
    }

    /// Whether repeating a call has no further effect.
    pub const fn with_idempotent(mut self, yes: bool) -> Self {
        self.idempotent = Some(yes);
        self
    }

    /// Whether the tool reaches an open world.
    pub const fn with_open_world(mut self, yes: bool) -> Self {
        self.open_world = Some(yes);
        self
    }

    /// Whether no hint is set.
    pub fn is_empty(&self) -> bool {
        *self == ToolAnnotations::NONE
    }
}

/// Why a call could not start: the dispatcher turns it into the call's result.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CallError {
    /// The arguments are not JSON or do not fit the tool's parameters;
    /// the text is serde's message, with the path of the offending field.
    InvalidArguments(String),
    /// State the tool needs was not supplied to the `ToolSet`.
    MissingState(&'static str),
}

impl std::fmt::Display for CallError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CallError::InvalidArguments(msg) => write!(f, "invalid arguments: {msg}"),
            CallError::MissingState(ty) => {
                write!(f, "the tool set has no state of type `{ty}`")
            }
        }
    }
}

impl std::error::Error for CallError {}

/// A tool as the registry holds it. `#[tool]` implements it for you; implement
/// it by hand for tools known only at run time.
///
/// ```
/// use schemars::SchemaGenerator;
/// use serde_json::{Value, json};
/// use toolcall_runtime::{CallError, StateMap, Tool, ToolFuture, ToolOutput, ToolSet};
///
/// /// Adds two numbers; its schema is written by hand.
/// struct Add;
///
/// impl Tool for Add {
///     fn name(&self) -> &str {
///         "add"
///     }
///     fn description(&self) -> &str {
///         "Add two numbers."
///     }
///     fn parameters(&self, _: &mut SchemaGenerator) -> Value {
///         json!({
///             "type": "object",
///             "properties": {"a": {"type": "number"}, "b": {"type": "number"}},
///             "required": ["a", "b"],
///             "additionalProperties": false
///         })
///     }
///     fn call(&self, arguments: &str, _: &StateMap) -> Result<ToolFuture, CallError> {
///         let args: Value = serde_json::from_str(arguments)
///             .map_err(|e| CallError::InvalidArguments(e.to_string()))?;
///         let sum = args["a"].as_f64().unwrap_or(0.0) + args["b"].as_f64().unwrap_or(0.0);
///         Ok(Box::pin(async move { ToolOutput::json(&sum) }))
///     }
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), toolcall_runtime::BuildError> {
/// let tools = ToolSet::builder().add(Add).build()?;
/// let result = tools.call("add", r#"{"a": 1.5, "b": 2}"#).await;
/// assert_eq!(result.content, "3.5");
/// # Ok(())
/// # }
/// ```
pub trait Tool: Send + Sync + 'static {
    /// The name the model calls it by (`^[a-zA-Z0-9_-]{1,64}$`).
    fn name(&self) -> &str;
    /// What the tool does, for the model.
    fn description(&self) -> &str;
    /// Timeout, exclusivity and strictness.
    fn policy(&self) -> ToolPolicy {
        ToolPolicy::DEFAULT
    }
    /// Hints for clients that show or gate tools (MCP annotations).
    fn annotations(&self) -> ToolAnnotations {
        ToolAnnotations::NONE
    }
    /// The JSON Schema of the arguments object, as generated (before strict
    /// mode is applied). Called once, when the `ToolSet` is built.
    fn parameters(&self, generator: &mut SchemaGenerator) -> Value;
    /// The JSON Schema of a successful result's structured value, when the
    /// tool returns one (MCP `outputSchema`). Called once, at build.
    fn output_schema(&self, generator: &mut SchemaGenerator) -> Option<Value> {
        let _ = generator;
        None
    }
    /// The state types the tool takes from the `ToolSet`, checked at build time.
    fn state_needs(&self) -> Vec<StateNeed> {
        Vec::new()
    }
    /// Parse `arguments` (a JSON object as text) and start the call.
    fn call(&self, arguments: &str, state: &StateMap) -> Result<ToolFuture, CallError>;
}

/// A shared tool is a tool, so wrappers (a latency, a log) take `Arc<dyn Tool>`s
/// as `toolcall::tools![..]` makes them.
impl<T: Tool + ?Sized> Tool for std::sync::Arc<T> {
    fn name(&self) -> &str {
        (**self).name()
    }
    fn description(&self) -> &str {
        (**self).description()
    }
    fn policy(&self) -> ToolPolicy {
        (**self).policy()
    }
    fn annotations(&self) -> ToolAnnotations {
        (**self).annotations()
    }
    fn parameters(&self, generator: &mut SchemaGenerator) -> Value {
        (**self).parameters(generator)
    }
    fn output_schema(&self, generator: &mut SchemaGenerator) -> Option<Value> {
        (**self).output_schema(generator)
    }
    fn state_needs(&self) -> Vec<StateNeed> {
        (**self).state_needs()
    }
    fn call(&self, arguments: &str, state: &StateMap) -> Result<ToolFuture, CallError> {
        (**self).call(arguments, state)
    }
}

/// What `#[tool]` implements on the hidden type named after the function;
/// register it with `ToolSet::builder().tool::<my_fn>()` or `toolcall::tools![my_fn]`.
pub trait ToolFn: Send + Sync + 'static {
    /// The tool's name.
    const NAME: &'static str;
    /// The tool's description.
    const DESCRIPTION: &'static str;
    /// The tool's policy.
    const POLICY: ToolPolicy;
    /// The tool's annotations.
    const ANNOTATIONS: ToolAnnotations = ToolAnnotations::NONE;
    /// The arguments schema.
    fn parameters(generator: &mut SchemaGenerator) -> Value;
    /// The result's schema, when the result is a structured value.
    fn output_schema(generator: &mut SchemaGenerator) -> Option<Value> {
        let _ = generator;
        None
    }
    /// The state the tool takes.
    fn state_needs() -> Vec<StateNeed>;
    /// Parse and start a call.
    fn call(arguments: &str, state: &StateMap) -> Result<ToolFuture, CallError>;
}

/// Adapts a [`ToolFn`] type to the [`Tool`] trait object.
pub(crate) struct FnTool<T>(std::marker::PhantomData<fn() -> T>);

impl<T> FnTool<T> {
    pub(crate) fn new() -> Self {
        FnTool(std::marker::PhantomData)
    }
}

impl<T: ToolFn> Tool for FnTool<T> {
    fn name(&self) -> &str {
        T::NAME
    }
    fn description(&self) -> &str {
        T::DESCRIPTION
    }
    fn policy(&self) -> ToolPolicy {
        T::POLICY
    }
    fn annotations(&self) -> ToolAnnotations {
        T::ANNOTATIONS
    }
    fn parameters(&self, generator: &mut SchemaGenerator) -> Value {
        T::parameters(generator)
    }
    fn output_schema(&self, generator: &mut SchemaGenerator) -> Option<Value> {
        T::output_schema(generator)
    }
    fn state_needs(&self) -> Vec<StateNeed> {
        T::state_needs()
    }
    fn call(&self, arguments: &str, state: &StateMap) -> Result<ToolFuture, CallError> {
        T::call(arguments, state)
    }
}
