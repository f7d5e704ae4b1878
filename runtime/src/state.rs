//! Shared state injected into tools: `State<T>` taken from the `ToolSet`.

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::sync::Arc;

use crate::tool::CallError;

/// Extracts shared state of type `T` from the `ToolSet` (a database pool, a
/// client). A `State<T>` parameter of a `#[tool]` fn is injected, not part of
/// the schema. Supply the value with `ToolSetBuilder::state`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct State<T>(pub T);

impl<T> std::ops::Deref for State<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

/// A state type a tool needs, checked when the `ToolSet` is built.
#[derive(Debug, Clone, Copy)]
pub struct StateNeed {
    /// The type's id.
    pub id: TypeId,
    /// The type's name, for the error message.
    pub type_name: &'static str,
}

impl StateNeed {
    /// The need for a `T`.
    pub fn of<T: 'static>() -> StateNeed {
        StateNeed {
            id: TypeId::of::<T>(),
            type_name: std::any::type_name::<T>(),
        }
    }
}

/// The state values of a `ToolSet`, one per type.
#[derive(Default, Clone)]
pub struct StateMap {
    values: HashMap<TypeId, Arc<dyn Any + Send + Sync>>,
}

impl std::fmt::Debug for StateMap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StateMap")
            .field("types", &self.values.len())
            .finish()
    }
}

impl StateMap {
    /// Insert a value, replacing one of the same type.
    pub fn insert<T: Clone + Send + Sync + 'static>(&mut self, value: T) {
        self.values.insert(TypeId::of::<T>(), Arc::new(value));
    }

    /// Whether a value of this type id is present.
    pub fn contains(&self, id: TypeId) -> bool {
        self.values.contains_key(&id)
    }

    /// A clone of the `T` held, or the error that names the missing type.
    pub fn get<T: Clone + Send + Sync + 'static>(&self) -> Result<T, CallError> {
        self.values
            .get(&TypeId::of::<T>())
            .and_then(|v| v.downcast_ref::<T>())
            .cloned()
            .ok_or(CallError::MissingState(std::any::type_name::<T>()))
    }
}
