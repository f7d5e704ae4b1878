//! What the dispatch benches share: a tool with no latency and a batch of
//! calls to it.

use toolcall::{ToolCall, tool};

/// Echo a number: a tool with no latency, so only the dispatch costs.
#[tool]
pub async fn echo(
    /// The number.
    x: u32,
) -> u32 {
    x
}

/// `n` calls to [`echo`], ids `call_0`, `call_1`, ...
pub fn calls(n: usize) -> Vec<ToolCall> {
    (0..n)
        .map(|i| ToolCall::new(format!("call_{i}"), "echo", format!("{{\"x\":{i}}}")))
        .collect()
}
