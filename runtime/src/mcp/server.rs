//! A `ToolSet` as an MCP server: rmcp's `ServerHandler` over the dispatcher.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;

use futures_util::future::{Either, select};
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, CustomRequest,
    CustomResult, ErrorCode, Implementation, ListToolsResult, PaginatedRequestParams,
    ServerCapabilities, ServerConfig,
};
use rmcp::service::{RequestContext, RoleServer};
use rmcp::{ErrorData, ServerHandler, ServiceExt};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_util::sync::CancellationToken;

use super::convert::{self, Structured};
use super::gates::Gates;
use super::lines::Lines;
use crate::call::ToolCall;
use crate::dispatch::DispatchOptions;
use crate::runner::echo;
use crate::toolset::ToolSet;

/// The default of [`McpServer::max_message_bytes`]: 16 MiB, rmcp's own
/// limit on a line.
pub const DEFAULT_MAX_MESSAGE_BYTES: usize = 16 * 1024 * 1024;

/// The methods this server answers, whose params rmcp may fail to read.
const METHODS: &[&str] = &["initialize", "ping", "tools/list", "tools/call"];

/// A [`ToolSet`] served to MCP clients; build it with [`McpServer::new`],
/// then serve it with [`serve_stdio`](McpServer::serve_stdio),
/// [`serve_http`](McpServer::serve_http) or [`serve_io`](McpServer::serve_io).
///
/// Every `tools/call` goes through [`ToolSet::dispatch`], as the agent's
/// calls do: the tool's timeout (or [`DispatchOptions::call_timeout`]),
/// panics caught, the call dropped when the client cancels it. Requests run
/// concurrently; across all of them, and across every client of one server,
/// at most [`DispatchOptions::max_concurrency`] calls run at once, an
/// exclusive tool runs alone (the calls already running finish first, the
/// calls that come after it wait), calls that write one resource key
/// (`#[tool(writes = "file:{path}")]`) take turns in the order they came
/// while readers share, and a tool's `max_concurrency` holds.
///
/// Cheap to clone: clones serve the same tools and share the cap.
#[derive(Clone)]
pub struct McpServer {
    inner: Arc<Inner>,
}

struct Inner {
    tools: ToolSet,
    listed: Vec<rmcp::model::Tool>,
    structured: HashMap<String, Structured>,
    options: DispatchOptions,
    /// What calls wait for, shared by every request.
    gates: Gates,
    implementation: Implementation,
    instructions: Option<String>,
    max_message_bytes: usize,
}

impl std::fmt::Debug for McpServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("McpServer")
            .field("name", &self.inner.implementation.name)
            .field("tools", &self.inner.tools)
            .field("options", &self.inner.options)
            .finish()
    }
}

/// Why an MCP server could not be built or served.
#[derive(Debug)]
#[non_exhaustive]
pub enum McpServerError {
    /// A tool cannot be listed over MCP.
    InvalidTool {
        /// The tool.
        tool: String,
        /// Why.
        reason: String,
    },
    /// The connection with the client failed before it was initialised.
    Initialize(Box<dyn std::error::Error + Send + Sync>),
    /// Binding or serving a socket failed.
    Io(std::io::Error),
    /// The task serving the connection failed.
    Serve(tokio::task::JoinError),
}

impl std::fmt::Display for McpServerError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            McpServerError::InvalidTool { tool, reason } => {
                write!(f, "tool `{tool}` cannot be served over MCP: {reason}")
            }
            McpServerError::Initialize(e) => {
                write!(f, "the MCP client could not be initialised: {e}")
            }
            McpServerError::Io(e) => write!(f, "the MCP server's socket failed: {e}"),
            McpServerError::Serve(e) => write!(f, "the MCP connection's task failed: {e}"),
        }
    }
}

impl std::error::Error for McpServerError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            McpServerError::InvalidTool { .. } => None,
            McpServerError::Initialize(e) => Some(&**e),
            McpServerError::Io(e) => Some(e),
            McpServerError::Serve(e) => Some(e),
        }
    }
}

impl McpServer {
    /// Serve these tools, listed in their registration order. Fails when a
    /// tool's arguments schema is not an object schema, which MCP requires.
    pub fn new(tools: ToolSet) -> Result<McpServer, McpServerError> {
        let mut listed = Vec::with_capacity(tools.len());
        let mut structured = HashMap::with_capacity(tools.len());
        for definition in tools.definitions() {
            let tool =
                convert::listed_tool(definition).map_err(|reason| McpServerError::InvalidTool {
                    tool: definition.name.clone(),
                    reason,
                })?;
            listed.push(tool);
            structured.insert(definition.name.clone(), Structured::of(definition));
        }
        Ok(McpServer {
            inner: Arc::new(Inner {
                gates: Gates::new(&tools, None),
                tools,
                listed,
                structured,
                options: DispatchOptions::default(),
                implementation: Implementation::new("toolcall", env!("CARGO_PKG_VERSION")),
                instructions: None,
                max_message_bytes: DEFAULT_MAX_MESSAGE_BYTES,
            }),
        })
    }

    /// The name and version the server gives clients (default: `toolcall`
    /// and this crate's version).
    pub fn named(self, name: impl Into<String>, version: impl Into<String>) -> Self {
        self.with_inner(|inner| inner.implementation = Implementation::new(name, version))
    }

    /// Instructions for the client's model about using these tools.
    pub fn instructions(self, text: impl Into<String>) -> Self {
        let text = text.into();
        self.with_inner(|inner| inner.instructions = Some(text))
    }

    /// How calls run: [`DispatchOptions::max_concurrency`] caps the calls
    /// running at once across every request and client;
    /// `call_timeout`, `batch_timeout` and `max_argument_bytes` apply to each
    /// call.
    pub fn dispatch_options(self, options: DispatchOptions) -> Self {
        self.with_inner(|inner| {
            inner.gates = Gates::new(&inner.tools, options.max_concurrency.map(|n| n.get()));
            inner.options = options;
        })
    }

    /// The largest message a client may send, in bytes (default
    /// [`DEFAULT_MAX_MESSAGE_BYTES`], 16 MiB). Over stdio a longer line is
    /// dropped unread and answered with a parse error (`-32700`, with the
    /// request's id when the line starts with it); over HTTP a larger body
    /// gets `413 Payload Too Large`.
    pub fn max_message_bytes(self, bytes: usize) -> Self {
        self.with_inner(|inner| inner.max_message_bytes = bytes)
    }

    /// The limit set by [`max_message_bytes`](McpServer::max_message_bytes).
    pub fn message_limit(&self) -> usize {
        self.inner.max_message_bytes
    }

    /// The tools served.
    pub fn tools(&self) -> &ToolSet {
        &self.inner.tools
    }

    /// Configure before the first clone is shared (clones made earlier keep
    /// the old settings).
    fn with_inner(self, change: impl FnOnce(&mut Inner)) -> Self {
        let mut inner = Arc::try_unwrap(self.inner).unwrap_or_else(|shared| Inner {
            tools: shared.tools.clone(),
            listed: shared.listed.clone(),
            structured: shared.structured.clone(),
            options: shared.options.clone(),
            gates: Gates::new(
                &shared.tools,
                shared.options.max_concurrency.map(|n| n.get()),
            ),
            implementation: shared.implementation.clone(),
            instructions: shared.instructions.clone(),
            max_message_bytes: shared.max_message_bytes,
        });
        change(&mut inner);
        McpServer {
            inner: Arc::new(inner),
        }
    }

    /// Serve one client over this process's stdin and stdout, until it
    /// closes them. Log to stderr: stdout carries the protocol.
    pub async fn serve_stdio(self) -> Result<(), McpServerError> {
        self.serve_io(tokio::io::stdin(), tokio::io::stdout()).await
    }

    /// Serve one client over a byte stream of newline-delimited JSON-RPC
    /// (what stdio carries; `tokio::io::duplex` halves in tests), until it
    /// closes the stream.
    ///
    /// Every line gets an answer: one that is not JSON, or is longer than
    /// [`max_message_bytes`](McpServer::max_message_bytes), a parse error
    /// (`-32700`); JSON that is not a JSON-RPC message an invalid request
    /// (`-32600`); `tools/call` params that do not read (`arguments` not an
    /// object, no `name`) invalid params (`-32602`).
    pub async fn serve_io<R, W>(self, read: R, write: W) -> Result<(), McpServerError>
    where
        R: AsyncRead + Send + Unpin + 'static,
        W: AsyncWrite + Send + Unpin + 'static,
    {
        let transport = Lines::new(read, write, self.inner.max_message_bytes);
        let running = self
            .serve(transport)
            .await
            .map_err(|e| McpServerError::Initialize(Box::new(e)))?;
        running.waiting().await.map_err(McpServerError::Serve)?;
        Ok(())
    }

    async fn call(
        &self,
        request: CallToolRequestParams,
        id: String,
        cancelled: CancellationToken,
    ) -> Result<CallToolResult, ErrorData> {
        let inner = &self.inner;
        let name = request.name.as_ref();
        let (Some(policy), Some(&structured)) =
            (inner.tools.policy(name), inner.structured.get(name))
        else {
            // As the dispatcher says it: the name cut short, 32 names at most.
            let names: Vec<&str> = inner.tools.names().take(32).collect();
            return Err(ErrorData::invalid_params(
                format!(
                    "unknown tool `{}`; the tools are: {}",
                    echo(name),
                    names.join(", ")
                ),
                None,
            ));
        };
        let arguments = match &request.arguments {
            Some(arguments) => serde_json::to_string(arguments)
                .map_err(|e| ErrorData::invalid_params(e.to_string(), None))?,
            None => "{}".to_owned(),
        };
        let cancelled_answer = || {
            CallToolResult::error(vec![ContentBlock::text(
                "the client cancelled the call before it finished",
            )])
        };
        let Some(_pass) = until(&cancelled, inner.gates.enter(name, &policy, &arguments)).await
        else {
            return Ok(cancelled_answer());
        };
        let call = [ToolCall::new(id, name, arguments)];
        let batch = inner
            .tools
            .dispatch(&call)
            .options(inner.options.clone())
            .cancel_on(cancelled.cancelled_owned())
            .await;
        let result = batch
            .results
            .into_iter()
            .next()
            .ok_or_else(|| ErrorData::internal_error("the call got no result", None))?;
        Ok(convert::call_tool_result(result, structured))
    }
}

/// `future`'s output, or `None` when `cancelled` fires first.
async fn until<F: Future>(cancelled: &CancellationToken, future: F) -> Option<F::Output> {
    let future = std::pin::pin!(future);
    let stop = std::pin::pin!(cancelled.cancelled());
    match select(future, stop).await {
        Either::Left((output, _)) => Some(output),
        Either::Right(_) => None,
    }
}

impl ServerHandler for McpServer {
    fn get_info(&self) -> ServerConfig {
        let mut config = ServerConfig::new(ServerCapabilities::builder().enable_tools().build());
        config.server_info = self.inner.implementation.clone();
        config.instructions = self.inner.instructions.clone();
        config
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        Ok(ListToolsResult::with_all_items(self.inner.listed.clone()))
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        self.call(request, context.id.to_string(), context.ct)
            .await
            .map(CallToolResponse::Complete)
    }

    /// rmcp hands over as a custom request a method it knows whose params
    /// it could not read (`tools/call` with array `arguments`, or no
    /// `name`): that is invalid params (`-32602`), not an unknown method.
    async fn on_custom_request(
        &self,
        request: CustomRequest,
        _context: RequestContext<RoleServer>,
    ) -> Result<CustomResult, ErrorData> {
        let method = request.method.as_str();
        if !METHODS.contains(&method) {
            return Err(ErrorData::new(
                ErrorCode::METHOD_NOT_FOUND,
                format!("unknown method `{}`", echo(method)),
                None,
            ));
        }
        let params = request.params.unwrap_or(serde_json::Value::Null);
        let problem = match method {
            "tools/call" => serde_json::from_value::<CallToolRequestParams>(params)
                .err()
                .map(|e| e.to_string()),
            _ => None,
        };
        let why = problem.unwrap_or_else(|| "they do not fit the method".to_owned());
        Err(ErrorData::invalid_params(
            format!("invalid params for `{method}`: {}", echo(&why)),
            None,
        ))
    }
}
