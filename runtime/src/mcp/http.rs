//! Streamable HTTP: rmcp's service at `/mcp`, served by hyper on a socket
//! of ours (127.0.0.1 unless told otherwise), statelessly by default.
//!
//! Why stateless: this server only answers requests (it never calls the
//! client back, and has no subscriptions), so a session holds nothing a
//! request needs, while it ties every client to the one process that made
//! it: behind a load balancer without affinity the next request lands on
//! another instance, which answers 404 (unknown session). Without sessions
//! any instance answers any request, as MCP's 2026-07-28 revision has it.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use http_body_util::{BodyExt, Full, LengthLimitError, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use hyper_util::server::graceful::GracefulShutdown;
use rmcp::model::{ErrorData, JsonRpcError};
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::{StreamableHttpServerConfig, StreamableHttpService};
use tokio::net::{TcpListener, ToSocketAddrs};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::lines::leading_id;
use super::server::{McpServer, McpServerError};

/// The path the MCP endpoint answers at.
const PATH: &str = "/mcp";

/// How long connections get to finish when the server stops.
const GRACE: Duration = Duration::from_secs(5);

/// A streamable HTTP MCP server running on its own task; stop it with
/// [`shutdown`](HttpServing::shutdown) (dropping the handle stops it too).
#[derive(Debug)]
pub struct HttpServing {
    addr: SocketAddr,
    stop: CancellationToken,
    task: Option<JoinHandle<()>>,
}

impl HttpServing {
    /// The address the server listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The MCP endpoint, `http://ADDR/mcp`, as clients are configured with.
    pub fn url(&self) -> String {
        format!("http://{}{PATH}", self.addr)
    }

    /// Stop accepting, end the sessions, and wait (a few seconds at most)
    /// for the connections to close.
    pub async fn shutdown(mut self) {
        self.stop.cancel();
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }

    /// Wait until the server stops (it runs until shut down).
    pub async fn wait(mut self) -> Result<(), McpServerError> {
        match self.task.take() {
            Some(task) => task.await.map_err(McpServerError::Serve),
            None => Ok(()),
        }
    }
}

impl Drop for HttpServing {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

impl McpServer {
    /// Serve over streamable HTTP at `http://ADDR/mcp` on a task of the
    /// current runtime, for any number of clients; bind `127.0.0.1:PORT`
    /// (port 0: any free port) to stay on this machine.
    ///
    /// Stateless: no session, each request stands alone, so any number of
    /// instances of one server can run behind a load balancer that sends
    /// each request anywhere (no affinity). A request the client cancels
    /// (it closes the connection) stops its call.
    ///
    /// Requests whose `Host` is not a loopback name are refused, against DNS
    /// rebinding; to serve other hosts, use [`McpServer::serve_http_with`].
    /// A body that is not JSON gets `400` with a parse error (`-32700`), one
    /// over [`max_message_bytes`](McpServer::max_message_bytes) `413`.
    pub async fn serve_http(self, addr: impl ToSocketAddrs) -> Result<HttpServing, McpServerError> {
        self.serve_http_with(addr, McpServer::http_config()).await
    }

    /// The configuration [`serve_http`](McpServer::serve_http) uses: rmcp's
    /// default, without sessions (`legacy_session_mode: false`). Start from
    /// it to change hosts, origins or keep-alives and stay stateless; rmcp's
    /// own default keeps a session per client, which one instance alone
    /// must serve.
    pub fn http_config() -> StreamableHttpServerConfig {
        StreamableHttpServerConfig::default().with_legacy_session_mode(false)
    }

    /// [`serve_http`](McpServer::serve_http) with rmcp's configuration
    /// (allowed hosts and origins, sessions, JSON responses, SSE
    /// keep-alive...); the body limit is
    /// [`max_message_bytes`](McpServer::max_message_bytes), whatever the
    /// configuration says.
    pub async fn serve_http_with(
        self,
        addr: impl ToSocketAddrs,
        config: StreamableHttpServerConfig,
    ) -> Result<HttpServing, McpServerError> {
        let listener = TcpListener::bind(addr).await.map_err(McpServerError::Io)?;
        let local = listener.local_addr().map_err(McpServerError::Io)?;
        let stop = CancellationToken::new();
        let limit = self.message_limit();
        let server = self;
        let service = StreamableHttpService::new(
            move || Ok(server.clone()),
            Arc::new(LocalSessionManager::default()),
            config
                .with_cancellation_token(stop.child_token())
                .with_max_request_body_bytes(limit),
        );
        let task = tokio::spawn(accept(listener, service, limit, stop.clone()));
        Ok(HttpServing {
            addr: local,
            stop,
            task: Some(task),
        })
    }
}

type Service = StreamableHttpService<McpServer, LocalSessionManager>;

async fn accept(listener: TcpListener, service: Service, limit: usize, stop: CancellationToken) {
    let graceful = GracefulShutdown::new();
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = stop.cancelled() => break,
        };
        let Ok((stream, _)) = accepted else {
            // A connection that failed before it was accepted; keep serving.
            continue;
        };
        let _ = stream.set_nodelay(true);
        let service = service.clone();
        let handler = service_fn(move |request: Request<Incoming>| {
            let service = service.clone();
            async move { Ok::<_, Infallible>(route(&service, request, limit).await) }
        });
        let connection = http1::Builder::new().serve_connection(TokioIo::new(stream), handler);
        tokio::spawn(graceful.watch(connection));
    }
    let _ = tokio::time::timeout(GRACE, graceful.shutdown()).await;
}

type Body = http_body_util::combinators::BoxBody<Bytes, Infallible>;

async fn route(service: &Service, request: Request<Incoming>, limit: usize) -> Response<Body> {
    if request.uri().path() != PATH {
        return plain(
            StatusCode::NOT_FOUND,
            format!("not found: the MCP endpoint is {PATH}"),
        );
    }
    if request.method() != Method::POST {
        return service.handle(request).await;
    }
    // The message read here, so that one rmcp cannot read gets a JSON-RPC
    // answer (rmcp answers `415` in plain text).
    let (parts, body) = request.into_parts();
    let bytes = match Limited::new(body, limit).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(e) if e.is::<LengthLimitError>() => {
            return rpc_error(
                StatusCode::PAYLOAD_TOO_LARGE,
                ErrorData::parse_error(
                    format!("the message is longer than this server's limit of {limit} bytes"),
                    None,
                ),
                &[],
            );
        }
        Err(e) => {
            return plain(
                StatusCode::BAD_REQUEST,
                format!("the request's body could not be read: {e}"),
            );
        }
    };
    if let Err(e) = serde_json::from_slice::<serde::de::IgnoredAny>(&bytes) {
        return rpc_error(
            StatusCode::BAD_REQUEST,
            ErrorData::parse_error(format!("not JSON: {e}"), None),
            &bytes,
        );
    }
    service
        .handle(Request::from_parts(parts, Full::new(bytes)))
        .await
}

fn plain(status: StatusCode, text: String) -> Response<Body> {
    let mut response = Response::new(Full::new(Bytes::from(text)).boxed());
    *response.status_mut() = status;
    response
}

/// A JSON-RPC error answer to the message `body`, with its id when it
/// starts with one.
fn rpc_error(status: StatusCode, error: ErrorData, body: &[u8]) -> Response<Body> {
    let answer = JsonRpcError::new(leading_id(body), error);
    let mut response = Response::new(
        Full::new(Bytes::from(serde_json::to_vec(&answer).unwrap_or_default())).boxed(),
    );
    *response.status_mut() = status;
    response.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("application/json"),
    );
    response
}
