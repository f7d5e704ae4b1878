//! Method tools under the lints a user's crate may forbid, beside a free
//! fn tool, with state, every option, and the methods called as written.
#![forbid(
    dead_code,
    missing_docs,
    missing_debug_implementations,
    non_camel_case_types,
    non_local_definitions,
    non_snake_case,
    non_upper_case_globals,
    unused_imports,
    unused_mut,
    unused_variables
)]
#![deny(warnings, unused, unused_qualifications)]

use std::sync::Arc;

use toolcall::{State, ToolSet, tool, tool_methods};

/// Configuration shared through the tool set.
#[derive(Clone, Debug)]
pub struct Config {
    /// A prefix for answers.
    pub prefix: String,
}

/// A service with state of its own.
#[derive(Debug)]
pub struct Service {
    name: String,
}

#[tool_methods]
impl Service {
    /// Look a patient up.
    #[tool(
        name = "lookup_patient",
        description = "Look up a patient.",
        timeout = "2s",
        spawn,
        reads = "patient:{id}",
        max_concurrency = 2,
        strict = false,
        title = "Lookup",
        read_only,
        idempotent,
        open_world = false
    )]
    pub async fn lookup(
        &self,
        State(config): State<Config>,
        /// The patient's id.
        id: String,
    ) -> Result<String, std::io::Error> {
        Ok(format!("{}{}: {id}", config.prefix, self.name))
    }

    /// Write a note.
    #[tool(exclusive, writes = "notes", destructive)]
    pub fn write_note(&self, note: String) -> usize {
        note.len() + self.name.len()
    }

    /// Not a tool: a plain method beside them.
    pub fn name(&self) -> &str {
        &self.name
    }
}

/// A free fn tool.
#[tool]
pub async fn ping() -> &'static str {
    "pong"
}

fn main() {
    let service = Arc::new(Service { name: "s".into() });
    let _ = service.name();
    let _ = service.write_note("n".into());
    let _future = service.lookup(State(Config { prefix: String::new() }), "P-1".into());
    let tools = ToolSet::builder()
        .tools(service.tools())
        .tools(toolcall::tools![ping])
        .state(Config { prefix: "> ".into() })
        .build();
    assert!(tools.is_ok());
}
