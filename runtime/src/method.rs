//! Tools that are methods: `#[toolcall::tool_methods]` on an impl block
//! implements [`ToolMethod`] for each `#[tool]` method, and a tool object
//! holds the service it is called on.

use std::sync::Arc;

use schemars::SchemaGenerator;
use serde_json::Value;

use crate::state::{StateMap, StateNeed};
use crate::tool::{CallError, Tool, ToolAnnotations, ToolFuture, ToolPolicy};

/// What `#[toolcall::tool_methods]` implements for each `#[tool]` method, on
/// a hidden type of its own: [`crate::ToolFn`] with a service to call.
pub trait ToolMethod: 'static {
    /// The type the impl block is for.
    type Service: Send + Sync + 'static;
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
    fn output_schema(generator: &mut SchemaGenerator) -> Option<Value>;
    /// The state the tool takes.
    fn state_needs() -> Vec<StateNeed>;
    /// Parse and start a call on `service`.
    fn call(
        service: &Arc<Self::Service>,
        arguments: &str,
        state: &StateMap,
    ) -> Result<ToolFuture, CallError>;
}

/// A method tool bound to its service.
struct MethodTool<T: ToolMethod>(Arc<T::Service>);

impl<T: ToolMethod> Tool for MethodTool<T> {
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
        T::call(&self.0, arguments, state)
    }
}

/// The method tool `T` called on `service`, as a tool object.
pub fn method_tool<T: ToolMethod>(service: &Arc<T::Service>) -> Arc<dyn Tool> {
    Arc::new(MethodTool::<T>(Arc::clone(service)))
}
