//! Declare LLM tools with one attribute and run a model's parallel tool calls
//! concurrently, results in call order.
#![doc = include_str!("../README.md")]
#![cfg_attr(docsrs, feature(doc_cfg))]

// The docs are the macro crate's own: a doc comment here would be shown
// before them, a second copy on the same page.
#[doc(inline)]
pub use toolcall_macros::{tool, tool_methods};
pub use toolcall_runtime::*;

#[cfg(feature = "sim")]
pub use toolcall_sim as sim;

/// OTLP export of the GenAI spans and metrics (`toolcall::otel::init()`),
/// from the `toolcall-otel` crate.
#[cfg(feature = "otel")]
pub use toolcall_otel as otel;
