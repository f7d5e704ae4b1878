//! The lints a user's crate may forbid hold for the code `#[tool]` makes:
//! none of these is allowed by the expansion of a tool whose parameters
//! carry no `#[serde]` attribute nor `#[cfg]` (see the `tool` docs, Lints).
#![forbid(
    dead_code,
    missing_docs,
    missing_debug_implementations,
    non_camel_case_types,
    non_local_definitions,
    non_snake_case,
    non_upper_case_globals,
    unreachable_pub,
    unused_imports,
    unused_mut,
    unused_variables
)]
#![deny(warnings, unused, unused_qualifications)]

use toolcall::{State, ToolSet, tool};

/// A database handle.
#[derive(Clone, Debug)]
pub struct Db;

/// Look a patient up.
#[tool]
pub async fn lookup(
    /// The patient's id.
    #[schemars(length(max = 16))]
    id: String,
    State(_db): State<Db>,
) -> String {
    id
}

/// No parameters, a plain fn.
#[tool]
pub fn count() -> u32 {
    1
}

/// An old tool.
#[deprecated = "use `lookup`"]
#[tool]
pub async fn old_lookup(r#type: Option<String>) -> String {
    r#type.unwrap_or_default()
}

mod private {
    /// A tool of a private module.
    #[toolcall::tool]
    async fn private_tool(n: u8) -> u8 {
        n
    }

    /// Its tool object.
    pub(crate) fn tools() -> [std::sync::Arc<dyn toolcall::Tool>; 1] {
        toolcall::tools![private_tool]
    }
}

fn main() {
    let tools = ToolSet::builder()
        .tools(toolcall::tools![lookup, count, old_lookup])
        .tools(private::tools())
        .state(Db)
        .build()
        .expect("the tool set builds");
    assert_eq!(tools.definitions().len(), 4);
}
