//! The registry: a `ToolSet` maps names to tools, holds their state, and
//! caches their definitions in the formats the model APIs expect.

use std::collections::HashMap;
use std::sync::Arc;

use serde::Serialize;
use serde_json::{Value, json};

use crate::schema::{self, StrictError};
use crate::shared_str::SharedStr;
use crate::state::StateMap;
use crate::tool::{FnTool, Tool, ToolAnnotations, ToolFn, ToolPolicy};

/// A tool as offered to a model: name, description and arguments schema,
/// computed once when the `ToolSet` is built.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct ToolDefinition {
    /// The tool's name.
    pub name: String,
    /// What it does.
    pub description: String,
    /// The JSON Schema of its arguments object.
    pub parameters: Value,
    /// Whether `parameters` is offered in OpenAI strict mode.
    pub strict: bool,
    /// The JSON Schema of a successful result's structured value, when the
    /// tool returns one (MCP `outputSchema`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output_schema: Option<Value>,
    /// Hints for clients that show or gate tools.
    #[serde(skip)]
    pub annotations: ToolAnnotations,
}

impl ToolDefinition {
    /// A definition with this name, description and arguments schema; not
    /// strict, no output schema, no annotations.
    pub fn new(name: impl Into<String>, description: impl Into<String>, parameters: Value) -> Self {
        ToolDefinition {
            name: name.into(),
            description: description.into(),
            parameters,
            strict: false,
            output_schema: None,
            annotations: ToolAnnotations::NONE,
        }
    }

    /// Whether `name` is a valid tool name: `^[a-zA-Z0-9_-]{1,64}$`, what
    /// every wire format accepts.
    pub fn is_valid_name(name: &str) -> bool {
        is_valid_tool_name(name)
    }

    /// The same definition, offered in strict mode or not.
    pub fn with_strict(mut self, strict: bool) -> Self {
        self.strict = strict;
        self
    }

    /// OpenAI Chat Completions function-tool format.
    pub fn to_openai(&self) -> Value {
        json!({
            "type": "function",
            "function": {
                "name": self.name,
                "description": self.description,
                "parameters": self.parameters,
                "strict": self.strict,
            }
        })
    }

    /// Anthropic Messages API tool format (`input_schema`). A strict
    /// definition is offered with `strict: true` and its schema rewritten as
    /// Anthropic's strict tool use accepts it ([`crate::schema::anthropic_strict`]),
    /// unless it is recursive (a `$ref` is left only by recursion), which
    /// Anthropic's strict mode does not support: that one is offered as is.
    pub fn to_anthropic(&self) -> Value {
        if self.strict && !schema::has_ref(&self.parameters) {
            json!({
                "name": self.name,
                "description": self.description,
                "input_schema": schema::anthropic_strict(&self.parameters),
                "strict": true,
            })
        } else {
            json!({"name": self.name, "description": self.description, "input_schema": self.parameters})
        }
    }

    /// Gemini function declaration (`parametersJsonSchema`, which takes
    /// JSON Schema as it is, `$ref`s and `$defs` included). Strict mode is
    /// OpenAI's and Anthropic's: Gemini has none, and the schema says the
    /// same either way.
    pub fn to_gemini(&self) -> Value {
        json!({"name": self.name, "description": self.description, "parametersJsonSchema": self.parameters})
    }

    /// Model Context Protocol tool format (`inputSchema`, and `outputSchema`
    /// when the tool returns a structured value: one that is not a JSON
    /// object is described wrapped as `{"result": value}`, since MCP before
    /// its 2026-07-28 revision wants object results).
    pub fn to_mcp(&self) -> Value {
        let mut tool = json!({"name": self.name, "description": self.description, "inputSchema": self.parameters});
        if let Some(schema) = &self.output_schema {
            tool["outputSchema"] = mcp_output_schema(schema);
        }
        let a = &self.annotations;
        if !a.is_empty() {
            let mut hints = serde_json::Map::new();
            for (key, value) in [
                ("readOnlyHint", a.read_only),
                ("destructiveHint", a.destructive),
                ("idempotentHint", a.idempotent),
                ("openWorldHint", a.open_world),
            ] {
                if let Some(value) = value {
                    hints.insert(key.into(), value.into());
                }
            }
            if let Some(title) = a.title {
                hints.insert("title".into(), title.into());
            }
            tool["annotations"] = Value::Object(hints);
        }
        tool
    }
}

/// Whether MCP carries a structured result with this schema wrapped as
/// `{"result": value}`: the schema's root is not a plain object.
pub(crate) fn mcp_wraps_output(schema: &Value) -> bool {
    schema.get("type").and_then(Value::as_str) != Some("object")
}

/// The output schema as MCP lists it: as it is when its root is an object,
/// else an object with one required property `result` holding it (its
/// `$defs` moved to the root, where its `$ref`s point).
fn mcp_output_schema(schema: &Value) -> Value {
    if !mcp_wraps_output(schema) {
        return schema.clone();
    }
    let mut inner = schema.clone();
    let mut root = serde_json::Map::new();
    root.insert("type".into(), "object".into());
    if let Value::Object(fields) = &mut inner {
        for key in ["$schema", "$defs", "definitions"] {
            if let Some(value) = fields.remove(key) {
                root.insert(key.into(), value);
            }
        }
    }
    root.insert("properties".into(), json!({ "result": inner }));
    root.insert("required".into(), json!(["result"]));
    Value::Object(root)
}

/// Why a `ToolSet` could not be built.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum BuildError {
    /// Two tools share a name.
    DuplicateName(String),
    /// A name outside `^[a-zA-Z0-9_-]{1,64}$`.
    InvalidName(String),
    /// A tool takes `State<T>` and no `T` was supplied.
    MissingState {
        /// The tool.
        tool: String,
        /// The state type.
        type_name: &'static str,
    },
    /// A tool's schema cannot be offered in strict mode.
    NotStrict {
        /// The tool.
        tool: String,
        /// Where and why.
        error: StrictError,
    },
    /// A resource key (`reads`/`writes`) names an argument the tool does
    /// not have.
    UnknownKeyArgument {
        /// The tool.
        tool: String,
        /// The key template.
        key: &'static str,
        /// The argument it names.
        argument: String,
    },
}

impl std::fmt::Display for BuildError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BuildError::DuplicateName(name) => write!(f, "two tools are named `{name}`"),
            BuildError::InvalidName(name) => write!(
                f,
                "tool name `{name}` does not match ^[a-zA-Z0-9_-]{{1,64}}$"
            ),
            BuildError::MissingState { tool, type_name } => write!(
                f,
                "tool `{tool}` takes `State<{type_name}>`, but the tool set has no such state: add it with `.state(value)`"
            ),
            BuildError::NotStrict { tool, error } => write!(
                f,
                "tool `{tool}` cannot be offered in strict mode: {error}; change the type, or opt out with `#[tool(strict = false)]`"
            ),
            BuildError::UnknownKeyArgument {
                tool,
                key,
                argument,
            } => write!(
                f,
                "tool `{tool}`: resource key `{key}` names `{{{argument}}}`, which is not one of its arguments"
            ),
        }
    }
}

impl std::error::Error for BuildError {}

/// Every `{argument}` in the policy's resource keys is a top-level
/// property of the arguments schema.
fn check_key_arguments(
    tool: &str,
    policy: &ToolPolicy,
    parameters: &Value,
) -> Result<(), BuildError> {
    let properties = parameters.get("properties");
    for key in policy.reads.iter().chain(policy.writes) {
        for argument in crate::schedule::placeholders(key) {
            if properties.and_then(|p| p.get(argument)).is_none() {
                return Err(BuildError::UnknownKeyArgument {
                    tool: tool.to_owned(),
                    key,
                    argument: argument.to_owned(),
                });
            }
        }
    }
    Ok(())
}

/// Whether a name is a valid tool name for the OpenAI API.
pub(crate) fn is_valid_tool_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

pub(crate) struct Entry {
    pub(crate) tool: Arc<dyn Tool>,
    pub(crate) policy: ToolPolicy,
    /// The tool's name, shared by every result of a call to it.
    pub(crate) name: SharedStr,
}

pub(crate) struct Inner {
    pub(crate) entries: Vec<Entry>,
    pub(crate) index: HashMap<Box<str>, usize, rustc_hash::FxBuildHasher>,
    pub(crate) state: StateMap,
    pub(crate) definitions: Vec<ToolDefinition>,
    /// `definitions` in OpenAI format, built once: requests send them every round.
    pub(crate) openai: Vec<Value>,
}

/// A set of tools with their state, ready to be offered and dispatched.
/// Cheap to clone: clones share one registry.
#[derive(Clone)]
pub struct ToolSet {
    pub(crate) inner: Arc<Inner>,
}

impl std::fmt::Debug for ToolSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ToolSet")
            .field("tools", &self.names().collect::<Vec<_>>())
            .finish()
    }
}

impl ToolSet {
    /// Start building a tool set.
    pub fn builder() -> ToolSetBuilder {
        ToolSetBuilder::default()
    }

    /// The definitions of every tool, in registration order; computed once at build.
    pub fn definitions(&self) -> &[ToolDefinition] {
        &self.inner.definitions
    }

    /// The definitions in OpenAI function-tool format; built once, at build time.
    pub fn openai_tools(&self) -> &[Value] {
        &self.inner.openai
    }

    /// The definitions in Anthropic format.
    pub fn anthropic_tools(&self) -> Vec<Value> {
        self.definitions()
            .iter()
            .map(ToolDefinition::to_anthropic)
            .collect()
    }

    /// The definitions as Gemini function declarations, for a request's
    /// `tools: [{"functionDeclarations": [...]}]`.
    pub fn gemini_tools(&self) -> Vec<Value> {
        self.definitions()
            .iter()
            .map(ToolDefinition::to_gemini)
            .collect()
    }

    /// The definitions in MCP format.
    pub fn mcp_tools(&self) -> Vec<Value> {
        self.definitions()
            .iter()
            .map(ToolDefinition::to_mcp)
            .collect()
    }

    /// The tools' names, in registration order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.inner.definitions.iter().map(|d| d.name.as_str())
    }

    /// The number of tools.
    pub fn len(&self) -> usize {
        self.inner.entries.len()
    }

    /// Whether the set has no tools.
    pub fn is_empty(&self) -> bool {
        self.inner.entries.is_empty()
    }

    /// The policy of the named tool.
    pub fn policy(&self, name: &str) -> Option<ToolPolicy> {
        self.entry(name).map(|e| e.policy)
    }

    pub(crate) fn entry(&self, name: &str) -> Option<&Entry> {
        self.entry_named(name).map(|(_, entry)| entry)
    }

    /// The tool named `name`, with the name as the set holds it.
    pub(crate) fn entry_named(&self, name: &str) -> Option<(&str, &Entry)> {
        self.inner
            .index
            .get_key_value(name)
            .map(|(name, &i)| (&**name, &self.inner.entries[i]))
    }
}

/// Builds a [`ToolSet`]: name the tools, supply their state, then `build()`.
#[derive(Default)]
pub struct ToolSetBuilder {
    tools: Vec<Arc<dyn Tool>>,
    state: StateMap,
    strict_fallback: bool,
    all_relaxed: bool,
}

impl ToolSetBuilder {
    /// Add a `#[tool]` fn by its name: `.tool::<get_weather>()`.
    pub fn tool<T: ToolFn>(mut self) -> Self {
        self.tools.push(Arc::new(FnTool::<T>::new()));
        self
    }

    /// Add a hand-written tool.
    #[allow(clippy::should_implement_trait)] // a builder step, not arithmetic
    pub fn add(mut self, tool: impl Tool) -> Self {
        self.tools.push(Arc::new(tool));
        self
    }

    /// Add several tools, as `toolcall::tools![a, b, c]` lists them.
    pub fn tools(mut self, tools: impl IntoIterator<Item = Arc<dyn Tool>>) -> Self {
        self.tools.extend(tools);
        self
    }

    /// Add every `#[tool]` registered automatically in any linked crate
    /// (feature `auto-register`), in name order.
    #[cfg(feature = "auto-register")]
    pub fn registered(mut self) -> Self {
        let mut found: Vec<Arc<dyn Tool>> = inventory::iter::<crate::registry::Registration>
            .into_iter()
            .map(|r| (r.make)())
            .collect();
        found.sort_by(|a, b| a.name().cmp(b.name()));
        self.tools.extend(found);
        self
    }

    /// Supply state of type `T`, injected into tools that take `State<T>`.
    pub fn state<T: Clone + Send + Sync + 'static>(mut self, value: T) -> Self {
        self.state.insert(value);
        self
    }

    /// Offer a tool whose schema cannot be strict in non-strict mode instead of
    /// failing the build.
    pub fn strict_fallback(mut self, yes: bool) -> Self {
        self.strict_fallback = yes;
        self
    }

    /// Offer every tool in non-strict mode, whatever their attributes say.
    pub fn relaxed(mut self) -> Self {
        self.all_relaxed = true;
        self
    }

    /// Check names, state and schemas, and cache the definitions.
    pub fn build(self) -> Result<ToolSet, BuildError> {
        let mut index =
            HashMap::with_capacity_and_hasher(self.tools.len(), rustc_hash::FxBuildHasher);
        let mut entries = Vec::with_capacity(self.tools.len());
        let mut definitions = Vec::with_capacity(self.tools.len());
        for tool in self.tools {
            let name = tool.name().to_owned();
            if !is_valid_tool_name(&name) {
                return Err(BuildError::InvalidName(name));
            }
            if index
                .insert(name.clone().into_boxed_str(), entries.len())
                .is_some()
            {
                return Err(BuildError::DuplicateName(name));
            }
            for need in tool.state_needs() {
                if !self.state.contains(need.id) {
                    return Err(BuildError::MissingState {
                        tool: name,
                        type_name: need.type_name,
                    });
                }
            }
            let mut policy = tool.policy();
            let mut generator = schema::generator();
            let mut generated = tool.parameters(&mut generator);
            check_key_arguments(&name, &policy, &generated)?;
            schema::add_ranges(&mut generated);
            let output_schema = tool.output_schema(&mut generator);
            let parameters = if policy.strict && !self.all_relaxed {
                match schema::to_strict(generated.clone()) {
                    Ok(strict) => strict,
                    Err(_) if self.strict_fallback => {
                        policy.strict = false;
                        generated
                    }
                    Err(error) => return Err(BuildError::NotStrict { tool: name, error }),
                }
            } else {
                policy.strict = false;
                generated
            };
            definitions.push(ToolDefinition {
                name,
                description: tool.description().to_owned(),
                parameters,
                strict: policy.strict,
                output_schema,
                annotations: tool.annotations(),
            });
            let name = SharedStr::from(tool.name());
            entries.push(Entry { tool, policy, name });
        }
        Ok(ToolSet {
            inner: Arc::new(Inner {
                entries,
                index,
                state: self.state,
                openai: definitions.iter().map(ToolDefinition::to_openai).collect(),
                definitions,
            }),
        })
    }
}
