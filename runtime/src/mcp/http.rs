//! Streamable HTTP: rmcp's service at `/mcp`, served by hyper on a socket
//! of ours (127.0.0.1 unless told otherwise).

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use hyper_util::server::graceful::GracefulShutdown;
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::{StreamableHttpServerConfig, StreamableHttpService};
use tokio::net::{TcpListener, ToSocketAddrs};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

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
    /// current runtime, for any number of clients (each a session); bind
    /// `127.0.0.1:PORT` (port 0: any free port) to stay on this machine.
    ///
    /// Requests whose `Host` is not a loopback name are refused, against DNS
    /// rebinding; to serve other hosts, use [`McpServer::serve_http_with`].
    pub async fn serve_http(self, addr: impl ToSocketAddrs) -> Result<HttpServing, McpServerError> {
        self.serve_http_with(addr, StreamableHttpServerConfig::default())
            .await
    }

    /// [`serve_http`](McpServer::serve_http) with rmcp's configuration
    /// (allowed hosts and origins, JSON responses, SSE keep-alive...).
    pub async fn serve_http_with(
        self,
        addr: impl ToSocketAddrs,
        config: StreamableHttpServerConfig,
    ) -> Result<HttpServing, McpServerError> {
        let listener = TcpListener::bind(addr).await.map_err(McpServerError::Io)?;
        let local = listener.local_addr().map_err(McpServerError::Io)?;
        let stop = CancellationToken::new();
        let server = self;
        let service = StreamableHttpService::new(
            move || Ok(server.clone()),
            Arc::new(LocalSessionManager::default()),
            config.with_cancellation_token(stop.child_token()),
        );
        let task = tokio::spawn(accept(listener, service, stop.clone()));
        Ok(HttpServing {
            addr: local,
            stop,
            task: Some(task),
        })
    }
}

type Service = StreamableHttpService<McpServer, LocalSessionManager>;

async fn accept(listener: TcpListener, service: Service, stop: CancellationToken) {
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
            async move { Ok::<_, Infallible>(route(&service, request).await) }
        });
        let connection = http1::Builder::new().serve_connection(TokioIo::new(stream), handler);
        tokio::spawn(graceful.watch(connection));
    }
    let _ = tokio::time::timeout(GRACE, graceful.shutdown()).await;
}

async fn route(
    service: &Service,
    request: Request<Incoming>,
) -> Response<http_body_util::combinators::BoxBody<Bytes, Infallible>> {
    if request.uri().path() == PATH {
        return service.handle(request).await;
    }
    let mut response = Response::new(
        Full::new(Bytes::from(format!(
            "not found: the MCP endpoint is {PATH}"
        )))
        .boxed(),
    );
    *response.status_mut() = StatusCode::NOT_FOUND;
    response
}
