//! The accept loop of the replay server and the recording proxy: HTTP/1 on
//! the caller's tokio runtime (so a paused clock drives their timing), a
//! graceful stop, and the body type they answer with.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};

/// A body, whole or streamed; an error cuts the connection.
pub(crate) type Body = UnsyncBoxBody<Bytes, std::io::Error>;

/// How long replies in flight may finish once a stop is asked.
const GRACE: Duration = Duration::from_secs(2);

/// A whole body.
pub(crate) fn full(bytes: impl Into<Bytes>) -> Body {
    Full::new(bytes.into())
        .map_err(|never: Infallible| match never {})
        .boxed_unsync()
}

/// A listening server: its address and the handle that stops it.
#[derive(Debug)]
pub(crate) struct Listening {
    pub addr: SocketAddr,
    stop: Option<watch::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl Listening {
    /// Stop accepting, let replies in flight finish (briefly), and wait.
    pub async fn shutdown(mut self) {
        self.stop.take();
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for Listening {
    fn drop(&mut self) {
        self.stop.take();
    }
}

/// Bind `addr` and answer every request with `handle`, on this runtime.
pub(crate) async fn listen<H, F>(addr: SocketAddr, handle: H) -> std::io::Result<Listening>
where
    H: Fn(Request<Incoming>) -> F + Clone + Send + Sync + 'static,
    F: Future<Output = Response<Body>> + Send + 'static,
{
    let listener = TcpListener::bind(addr).await?;
    let addr = listener.local_addr()?;
    let (stop, mut stopped) = watch::channel(());
    let task = tokio::spawn(async move {
        let graceful = GracefulShutdown::new();
        let mut connections = JoinSet::new();
        loop {
            tokio::select! {
                _ = stopped.changed() => break,
                accepted = listener.accept() => {
                    // A failed accept affects one client only.
                    let Ok((stream, _)) = accepted else { continue };
                    let _ = stream.set_nodelay(true);
                    let handle = handle.clone();
                    let service = service_fn(move |request| {
                        let reply = handle(request);
                        async move { Ok::<_, Infallible>(reply.await) }
                    });
                    let connection = http1::Builder::new().serve_connection(TokioIo::new(stream), service);
                    connections.spawn(graceful.watch(connection));
                }
                Some(_) = connections.join_next(), if !connections.is_empty() => {}
            }
        }
        drop(listener);
        let _ = tokio::time::timeout(GRACE, graceful.shutdown()).await;
        connections.shutdown().await;
    });
    Ok(Listening {
        addr,
        stop: Some(stop),
        task: Some(task),
    })
}
