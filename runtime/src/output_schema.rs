//! The schema of a tool's successful value (MCP's `outputSchema`), chosen
//! in the code `#[tool]` generates by autoref specialisation, where the
//! concrete return type is known: `Result<T, E>` gives `T`'s schema, any
//! other `T: JsonSchema` its own, and a type that is not `JsonSchema` none.
//! A value that serialises as a JSON string reaches the model as plain
//! text, so a string schema is no output schema either.

use std::marker::PhantomData;

use schemars::generate::Contract;
use schemars::{JsonSchema, SchemaGenerator};
use serde_json::Value;

/// A return type, named for the autoref dispatch below.
#[doc(hidden)]
pub struct OutputType<T: ?Sized>(PhantomData<fn() -> PhantomData<T>>);

impl<T: ?Sized> OutputType<T> {
    /// The marker.
    #[allow(clippy::new_without_default)]
    pub fn new() -> Self {
        OutputType(PhantomData)
    }
}

/// Chosen first: `Result<T, E>` with `T: JsonSchema`.
#[doc(hidden)]
pub trait OutputOfResult {
    fn __toolcall_output_schema(&self, generator: &mut SchemaGenerator) -> Option<Value>;
}

impl<T: JsonSchema, E> OutputOfResult for &&OutputType<Result<T, E>> {
    fn __toolcall_output_schema(&self, generator: &mut SchemaGenerator) -> Option<Value> {
        output_schema_of::<T>(generator)
    }
}

/// Chosen next: any `T: JsonSchema`.
#[doc(hidden)]
pub trait OutputOfValue {
    fn __toolcall_output_schema(&self, generator: &mut SchemaGenerator) -> Option<Value>;
}

impl<T: JsonSchema + ?Sized> OutputOfValue for &OutputType<T> {
    fn __toolcall_output_schema(&self, generator: &mut SchemaGenerator) -> Option<Value> {
        output_schema_of::<T>(generator)
    }
}

/// Chosen last: no schema.
#[doc(hidden)]
pub trait NoOutput {
    fn __toolcall_output_schema(&self, generator: &mut SchemaGenerator) -> Option<Value>;
}

impl<T: ?Sized> NoOutput for OutputType<T> {
    fn __toolcall_output_schema(&self, _: &mut SchemaGenerator) -> Option<Value> {
        None
    }
}

/// The schema of `T` as it serialises (the generator's settings, with the
/// serialisation contract), without `$schema` and title; `None` for a
/// string, which the model gets as plain text, and for a schema that allows
/// any value (`serde_json::Value`), which describes nothing.
pub fn output_schema_of<T: JsonSchema + ?Sized>(generator: &SchemaGenerator) -> Option<Value> {
    let mut settings = generator.settings().clone();
    settings.contract = Contract::Serialize;
    let mut schema = settings.into_generator().root_schema_for::<T>().to_value();
    if schema.get("type").and_then(Value::as_str) == Some("string") {
        return None;
    }
    if let Value::Object(root) = &mut schema {
        root.remove("$schema");
        root.remove("title");
    }
    match &schema {
        Value::Bool(true) => None,
        Value::Object(root) if root.is_empty() => None,
        _ => Some(schema),
    }
}
