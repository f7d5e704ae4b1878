//! Automatic registration of `#[tool]`s across crates (feature `auto-register`).

use std::sync::Arc;

use crate::tool::Tool;

/// One registered tool; `#[tool]` submits these.
pub struct Registration {
    /// Makes the tool object.
    pub make: fn() -> Arc<dyn Tool>,
}

inventory::collect!(Registration);
