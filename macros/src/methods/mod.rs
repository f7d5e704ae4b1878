//! `#[tool_methods]`: the `#[tool]` methods of an impl block become tools
//! called on a shared service. Parse and model (`ast`), check (`valid`),
//! generate (`expand`), as for `#[tool]` on a free fn, whose pieces the
//! methods reuse.

mod ast;
mod expand;
mod valid;

pub use expand::tool_methods;
