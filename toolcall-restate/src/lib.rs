//! Durable [toolcall](https://docs.rs/toolcall) agent runs on
//! [Restate](https://restate.dev): a crash loses no finished tool call,
//! an approval may wait for days without holding a process, and tools
//! scale out over processes and machines.
//!
//! - [`ToolcallRun`]: the agent loop as a Restate workflow keyed by run id.
//!   Each model request runs in `ctx.run` (journaled, never asked twice);
//!   each batch fans out as one durable invocation per call, all at once
//!   within the batch's schedule, results put back in call order. The
//!   transcript and rounds are those of an in-process
//!   [`AgentRun`](toolcall_runtime::AgentRun).
//! - [`ToolcallTools`]: the tool service. A call runs inside `ctx.run` as
//!   `tools.dispatch(&[call])`, so its outcome, texts, argument limit and
//!   timeout are in-process dispatch's.
//! - [`RunClient`]: start a run, list and decide its deferred calls, wait
//!   for its answer, from any process.
//!
//! # Guarantees
//!
//! - A finished call's result is journaled once and never runs again,
//!   whatever crashes after it.
//! - A call in flight when its process dies runs again (at least once),
//!   with the same [`idempotency_key`] (its call id): key the tool's effect
//!   on it to make the effect exactly once.
//! - A deferred call waits for a durable promise (`decision:<call id>`);
//!   decisions come through [`RunClient::decide`] or Restate's ingress
//!   (`POST /ToolcallRun/<run id>/decide`). Nothing that finished runs again.
//! - The approval policy must decide from the call alone, as a replay asks
//!   it again.
//!
//! # Why one invocation per call
//!
//! The Rust SDK's `ctx.run` must be awaited at once: two side effects may
//! not be in flight in one handler. So each call is its own invocation of
//! `ToolcallTools/call` (which runs it in `ctx.run`), and the workflow
//! awaits those invocations together with `DurableFuturesUnordered`, whose
//! completion order Restate journals, so a replay starts later calls
//! (resource keys, limits) exactly as the first execution did.
//!
//! # Rust version
//!
//! This crate needs Rust 1.90 (restate-sdk 0.13's), newer than the core
//! toolcall crates (1.88); it adds no dependency to them.
//!
//! Not offered: streaming modes (a journaled reply is a whole reply) and
//! `batch_timeout` (a durable call is not cancelled half way; per-call
//! timeouts apply). Each handler invocation has its own `tracing` spans;
//! they do not continue across a restart.

mod client;
mod key;
mod tools;
mod wire;
mod workflow;

pub use client::{HttpExecutor, RunClient, TransportError};
pub use key::idempotency_key;
pub use tools::ToolcallTools;
pub use wire::{CallInput, CallOutput, DecisionInput, RunInput, RunOutput};
pub use workflow::ToolcallRun;

/// Restate's SDK, as this crate uses it (serve with
/// `restate::prelude::{Endpoint, HttpServer}`).
pub use restate_sdk as restate;
