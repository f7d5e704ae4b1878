//! The floor dispatch is measured against: the same parse, run and
//! serialise as a call to [`echo`](super::echo), gathered with a bare `join_all`.

use futures_util::future::join_all;
use serde::Deserialize;
use toolcall::ToolCall;

use super::common::echo;

#[derive(Deserialize)]
struct EchoArgs {
    x: u32,
}

/// One text (or error) per call, in call order.
pub async fn join_all_floor(batch: &[ToolCall]) -> Vec<Result<String, String>> {
    join_all(batch.iter().map(|call| async move {
        let args: EchoArgs = serde_json::from_str(&call.arguments).map_err(|e| e.to_string())?;
        let out = echo(args.x).await;
        serde_json::to_string(&out).map_err(|e| e.to_string())
    }))
    .await
}
