//! An MCP server's tools as toolcall tools: rmcp's client, one connection
//! shared by every tool it lists.

use std::sync::Arc;

use rmcp::model::CallToolRequestParams;
use rmcp::service::{RoleClient, RunningService};
use rmcp::transport::{
    StreamableHttpClientTransport, TokioChildProcess,
    streamable_http_client::StreamableHttpClientTransportConfig,
};
use rmcp::{ServiceError, ServiceExt};
use schemars::SchemaGenerator;
use serde_json::Value;
use tokio::io::{AsyncRead, AsyncWrite};

use super::convert;
use crate::output::ToolError;
use crate::state::StateMap;
use crate::tool::{CallError, Tool, ToolAnnotations, ToolFuture, ToolPolicy};

type Connection = RunningService<RoleClient, ()>;

/// A connection to an MCP server, whose tools join a `ToolSet`:
///
/// ```no_run
/// # use toolcall_runtime::{ToolSet, mcp::McpClient};
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// let mut command = tokio::process::Command::new("npx");
/// command.args(["-y", "@modelcontextprotocol/server-everything"]);
/// let server = McpClient::stdio(command).await?;
/// let tools = ToolSet::builder().tools(server.tools().await?).build()?;
/// # Ok(())
/// # }
/// ```
///
/// The connection lives as long as the client or any of its tools; a child
/// process is ended when the last of them is dropped.
#[derive(Clone)]
pub struct McpClient {
    connection: Arc<Connection>,
}

impl std::fmt::Debug for McpClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("McpClient")
            .field("server", &self.connection.peer().peer_info())
            .finish()
    }
}

/// Why an MCP server could not be reached or listed.
#[derive(Debug)]
#[non_exhaustive]
pub enum McpClientError {
    /// The server's process could not be started.
    Spawn(std::io::Error),
    /// The server did not complete the `initialize` handshake.
    Initialize(Box<dyn std::error::Error + Send + Sync>),
    /// A request to the server failed.
    Request(ServiceError),
    /// A tool the server lists cannot be used (its name or schema).
    InvalidTool {
        /// The tool.
        tool: String,
        /// Why.
        reason: String,
    },
}

impl std::fmt::Display for McpClientError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            McpClientError::Spawn(e) => write!(f, "the MCP server could not be started: {e}"),
            McpClientError::Initialize(e) => {
                write!(f, "the MCP server did not complete initialisation: {e}")
            }
            McpClientError::Request(e) => write!(f, "the MCP request failed: {e}"),
            McpClientError::InvalidTool { tool, reason } => {
                write!(f, "the MCP server's tool `{tool}` cannot be used: {reason}")
            }
        }
    }
}

impl std::error::Error for McpClientError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            McpClientError::Spawn(e) => Some(e),
            McpClientError::Initialize(e) => Some(&**e),
            McpClientError::Request(e) => Some(e),
            McpClientError::InvalidTool { .. } => None,
        }
    }
}

impl McpClient {
    /// Start `command` and talk to it over its stdin and stdout (its stderr
    /// is inherited).
    pub async fn stdio(command: tokio::process::Command) -> Result<McpClient, McpClientError> {
        let transport = TokioChildProcess::new(command).map_err(McpClientError::Spawn)?;
        McpClient::connect(().serve(transport).await)
    }

    /// Connect to a streamable HTTP endpoint, such as `http://127.0.0.1:8000/mcp`.
    pub async fn http(url: &str) -> Result<McpClient, McpClientError> {
        // reqwest is built with `rustls-no-provider`: pick ring, once per
        // process (a provider installed by the application wins).
        crate::providers::http::install_ring();
        let http = reqwest::Client::builder()
            .build()
            .map_err(|e| McpClientError::Initialize(Box::new(e)))?;
        let transport = StreamableHttpClientTransport::with_client(
            http,
            StreamableHttpClientTransportConfig::with_uri(url),
        );
        McpClient::connect(().serve(transport).await)
    }

    /// Talk to a server over a byte stream of newline-delimited JSON-RPC
    /// (a socket, a pipe, `tokio::io::duplex` halves in tests).
    pub async fn io<R, W>(read: R, write: W) -> Result<McpClient, McpClientError>
    where
        R: AsyncRead + Send + Unpin + 'static,
        W: AsyncWrite + Send + Unpin + 'static,
    {
        McpClient::connect(().serve((read, write)).await)
    }

    fn connect<E: std::error::Error + Send + Sync + 'static>(
        started: Result<Connection, E>,
    ) -> Result<McpClient, McpClientError> {
        let connection = started.map_err(|e| McpClientError::Initialize(Box::new(e)))?;
        Ok(McpClient {
            connection: Arc::new(connection),
        })
    }

    /// The server's name and version, as it gave them.
    pub fn server_name(&self) -> Option<(String, String)> {
        let info = self.connection.peer().peer_info()?;
        let implementation = info.server_info.as_ref()?;
        Some((implementation.name.clone(), implementation.version.clone()))
    }

    /// Every tool the server lists, each an ordinary [`Tool`] calling the
    /// server, ready for `ToolSet::builder().tools(..)`.
    pub async fn tools(&self) -> Result<Vec<Arc<dyn Tool>>, McpClientError> {
        let listed = self
            .connection
            .peer()
            .list_all_tools()
            .await
            .map_err(McpClientError::Request)?;
        listed
            .into_iter()
            .map(|tool| {
                McpTool::new(self.clone(), tool).map(|tool| Arc::new(tool) as Arc<dyn Tool>)
            })
            .collect()
    }

    /// End the session (and the child process), waiting for it to close.
    pub async fn close(self) {
        if let Ok(mut connection) = Arc::try_unwrap(self.connection) {
            let _ = connection.close().await;
        }
    }
}

/// One tool of an MCP server. Its arguments are checked to be a JSON object
/// and sent as they are; the server checks them against its schema, and its
/// error results come back as the tool's errors. Not offered in OpenAI
/// strict mode: strict mode would make every optional property required
/// (and nullable), and a server may not take `null` for them.
///
/// Dropping a running call (a timeout, a cancelled batch) sends the server
/// `notifications/cancelled`.
pub struct McpTool {
    client: McpClient,
    name: String,
    description: String,
    input_schema: Value,
    output_schema: Option<Value>,
    annotations: ToolAnnotations,
}

impl std::fmt::Debug for McpTool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("McpTool").field("name", &self.name).finish()
    }
}

impl McpTool {
    fn new(client: McpClient, tool: rmcp::model::Tool) -> Result<McpTool, McpClientError> {
        let name = tool.name.into_owned();
        if !crate::ToolDefinition::is_valid_name(&name) {
            return Err(McpClientError::InvalidTool {
                tool: name,
                reason: "the name does not match ^[a-zA-Z0-9_-]{1,64}$, as model APIs require"
                    .into(),
            });
        }
        Ok(McpTool {
            client,
            description: tool
                .description
                .map(|d| d.into_owned())
                .or(tool.title)
                .unwrap_or_default(),
            input_schema: Value::Object((*tool.input_schema).clone()),
            output_schema: tool.output_schema.map(|s| Value::Object((*s).clone())),
            annotations: convert::annotations(tool.annotations.as_ref()),
            name,
        })
    }
}

impl Tool for McpTool {
    fn name(&self) -> &str {
        &self.name
    }

    fn description(&self) -> &str {
        &self.description
    }

    fn policy(&self) -> ToolPolicy {
        ToolPolicy::DEFAULT.with_strict(false)
    }

    fn annotations(&self) -> ToolAnnotations {
        self.annotations
    }

    fn parameters(&self, _: &mut SchemaGenerator) -> Value {
        self.input_schema.clone()
    }

    fn output_schema(&self, _: &mut SchemaGenerator) -> Option<Value> {
        self.output_schema.clone()
    }

    fn call(&self, arguments: &str, _: &StateMap) -> Result<ToolFuture, CallError> {
        let arguments = match serde_json::from_str::<Value>(arguments) {
            Ok(Value::Object(arguments)) => arguments,
            Ok(other) => {
                return Err(CallError::InvalidArguments(format!(
                    "the arguments must be a JSON object, not {}",
                    kind(&other)
                )));
            }
            Err(e) => return Err(CallError::InvalidArguments(e.to_string())),
        };
        let request = CallToolRequestParams::new(self.name.clone()).with_arguments(arguments);
        let connection = Arc::clone(&self.client.connection);
        Ok(Box::pin(async move {
            // The request is cancelled on the server if this future is dropped.
            match connection.peer().call_tool(request).await {
                Ok(answer) => convert::tool_reply(answer),
                Err(error) => {
                    let retryable = matches!(error, ServiceError::TransportSend(_));
                    Err(ToolError::from_error(error).retryable(retryable))
                }
            }
        }))
    }
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}
