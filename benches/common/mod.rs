//! What the dispatch benches share: a tool with no latency and a batch of
//! calls to it.

use toolcall::{ToolCall, ToolSet, tool};

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

/// A current-thread runtime and a set of [`echo`] alone: what the overhead
/// benches run on.
pub fn echo_runtime() -> (tokio::runtime::Runtime, ToolSet) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("a tokio runtime");
    let tools = ToolSet::builder()
        .tools(toolcall::tools![echo])
        .build()
        .expect("the echo tool registers");
    (rt, tools)
}
