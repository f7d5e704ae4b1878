//! The tool service: one durable invocation per tool call, the call run
//! inside `ctx.run` by the runtime's own dispatch.

use std::time::Duration;

use restate_sdk::prelude::*;
use toolcall_runtime::{DispatchOptions, ToolSet};

use crate::key::with_key;
use crate::wire::{CallInput, CallOutput, now_us};

/// The Restate service that runs tool calls (`ToolcallTools/call`). Serve
/// it in the worker that runs the workflow, or in processes of its own
/// (other machines), and add deployments to scale it out; each needs the
/// same tools.
///
/// A call runs as `tools.dispatch(&[call])` inside `ctx.run`: outcomes,
/// messages, argument limits and per-call timeouts are those of in-process
/// dispatch. Its result is journaled once it returns, so a finished call
/// never runs again; a call cut off by a crash runs again (at least once),
/// with the same [`idempotency_key`](crate::idempotency_key).
#[derive(Clone)]
pub struct ToolcallTools {
    tools: ToolSet,
}

impl ToolcallTools {
    /// The service over these tools.
    pub fn new(tools: ToolSet) -> Self {
        ToolcallTools { tools }
    }
}

#[restate_sdk::service]
impl ToolcallTools {
    /// Run one call and journal its result.
    #[handler]
    async fn call(
        &self,
        ctx: Context<'_>,
        input: Json<CallInput>,
    ) -> Result<Json<CallOutput>, HandlerError> {
        let CallInput {
            call,
            call_timeout_us,
            max_argument_bytes,
        } = input.into_inner();
        let name = call.id.clone();
        let tools = self.tools.clone();
        let output = ctx
            .run(|| async move {
                let mut options = DispatchOptions::default().max_argument_bytes(max_argument_bytes);
                if let Some(us) = call_timeout_us {
                    options = options.call_timeout(Duration::from_micros(us));
                }
                let started_at_us = now_us();
                let id = call.id.clone();
                let calls = [call];
                let batch = with_key(
                    id.to_string(),
                    tools.dispatch(&calls).options(options).into_future(),
                )
                .await;
                let result = batch.results.into_iter().next().ok_or_else(|| {
                    HandlerError::from(TerminalError::new("the dispatch returned no result"))
                })?;
                Ok(Json(CallOutput {
                    result,
                    started_at_us,
                }))
            })
            .name(name)
            .await?;
        Ok(output)
    }
}
