//! The Model Context Protocol, through the official SDK [`rmcp`] (feature `mcp`).
//!
//! - [`McpServer`]: any [`ToolSet`](crate::ToolSet), with its state, served to
//!   MCP clients (desktop assistants, IDEs, other agents) over stdio
//!   ([`McpServer::serve_stdio`]) or streamable HTTP ([`McpServer::serve_http`]).
//!   `tools/call` runs through the same dispatcher as the agent: timeouts,
//!   exclusive tools, a concurrency cap shared by every request, panics
//!   caught, and the call dropped when the client cancels it.
//! - [`McpClient`]: the tools of an MCP server (a command over stdio, or an
//!   HTTP URL) as ordinary [`Tool`](crate::Tool)s that join a `ToolSet`, so an
//!   agent dispatches them with its other tools, concurrently, in call order.
//!
//! ```no_run
//! use toolcall_runtime::ToolSet;
//! use toolcall_runtime::mcp::{McpClient, McpServer};
//!
//! # async fn demo(local: ToolSet) -> Result<(), Box<dyn std::error::Error>> {
//! // Serve a tool set over stdio until the client hangs up.
//! McpServer::new(local.clone())?.serve_stdio().await?;
//!
//! // Or use another server's tools beside local ones.
//! let remote = McpClient::stdio(tokio::process::Command::new("some-mcp-server")).await?;
//! let tools = ToolSet::builder().tools(remote.tools().await?).build()?;
//! # Ok(())
//! # }
//! ```
//!
//! How results map: a successful call answers with its text as a text block
//! (and its image parts as image blocks); when the tool declares an output
//! schema, the structured value goes in `structuredContent` too. MCP before
//! the 2026-07-28 revision wants that value to be a JSON object, so a tool
//! whose result is not an object (a list, a number) has its schema and value
//! wrapped as `{"result": ...}`, as the official Python SDK does. Failures the
//! model should read (arguments that do not fit, the tool's own error, a
//! timeout, a panic) are results with `isError: true`; an unknown tool
//! name is a protocol error (`-32602`, as the MCP specification shows, the
//! name cut to 256 bytes as the dispatcher echoes it), and so are params
//! that do not read (`-32602`) and, over stdio, a line that is not JSON or
//! is over [`McpServer::max_message_bytes`] (`-32700`): every request gets
//! an answer.

mod client;
mod convert;
mod gates;
mod http;
mod lines;
mod server;

pub use client::{McpClient, McpClientError, McpTool};
pub use http::HttpServing;
pub use server::{DEFAULT_MAX_MESSAGE_BYTES, McpServer, McpServerError};

/// The MCP SDK this module is built on, for transports and types beyond
/// what it wraps.
pub use rmcp;
