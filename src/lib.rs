//! Declare LLM tools with one attribute and run a model's parallel tool calls
//! concurrently, results in call order.
#![doc = include_str!("../README.md")]

pub use toolcall_macros::tool;
pub use toolcall_runtime::*;

#[cfg(feature = "sim")]
pub use toolcall_sim as sim;
