//! The accept loop of every server of the simulator (the API, the replay
//! server and the recording proxy), and the listener of the last two: HTTP/1 on
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
use hyper_util::server::graceful::{GracefulConnection, GracefulShutdown};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};

/// A body, whole or streamed; an error cuts the connection.
pub(crate) type Body = UnsyncBoxBody<Bytes, std::io::Error>;

/// How long replies in flight may finish once a stop is asked.
const GRACE: Duration = Duration::from_secs(1);

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
    let (stop, stopped) = watch::channel(());
    let task = tokio::spawn(accept_loop(listener, stopped, move |stream| {
        let handle = handle.clone();
        let service = service_fn(move |request| {
            let reply = handle(request);
            async move { Ok::<_, Infallible>(reply.await) }
        });
        http1::Builder::new().serve_connection(TokioIo::new(stream), service)
    }));
    Ok(Listening {
        addr,
        stop: Some(stop),
        task: Some(task),
    })
}

/// Accept connections until `stopped` fires, serving each with the
/// connection `connect` makes of it, and back off when out of descriptors;
/// then let replies in flight finish (briefly). The simulator's server and
/// the recorder and replayer all accept this way.
pub(crate) async fn accept_loop<C>(
    listener: TcpListener,
    mut stopped: watch::Receiver<()>,
    mut connect: impl FnMut(TcpStream) -> C,
) where
    C: GracefulConnection + Send + 'static,
    C::Error: Send + 'static,
{
    let graceful = GracefulShutdown::new();
    let mut connections = JoinSet::new();
    let mut backoff = Backoff::default();
    loop {
        tokio::select! {
            _ = stopped.changed() => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    backoff.reset();
                    // Replies are small writes a client waits on: Nagle's delay only adds latency.
                    let _ = stream.set_nodelay(true);
                    connections.spawn(graceful.watch(connect(stream)));
                }
                // The client gave up before we accepted: nothing to wait for.
                Err(error) if is_per_connection(&error) => {}
                // Out of descriptors (or memory): accepting again at once
                // only spins. Wait, or until a connection closes.
                Err(_) => {
                    let pause = backoff.next();
                    tokio::select! {
                        _ = stopped.changed() => break,
                        _ = tokio::time::sleep(pause) => {}
                        Some(_) = connections.join_next(), if !connections.is_empty() => {}
                    }
                }
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
    drop(listener);
    let _ = tokio::time::timeout(GRACE, graceful.shutdown()).await;
    connections.shutdown().await;
}

/// Whether a failed accept concerns one client only (retry at once), not
/// the process (out of descriptors or memory: back off).
fn is_per_connection(error: &std::io::Error) -> bool {
    use std::io::ErrorKind::*;
    matches!(
        error.kind(),
        ConnectionAborted | ConnectionReset | ConnectionRefused | Interrupted | WouldBlock
    )
}

/// The pause after a failed accept: 5 ms, doubling to 1 s, until one succeeds.
#[derive(Debug)]
pub(crate) struct Backoff {
    next: Duration,
}

impl Backoff {
    const FIRST: Duration = Duration::from_millis(5);
    const MAX: Duration = Duration::from_secs(1);

    /// The pause to take now.
    pub(crate) fn next(&mut self) -> Duration {
        let pause = self.next;
        self.next = (self.next * 2).min(Self::MAX);
        pause
    }

    fn reset(&mut self) {
        self.next = Self::FIRST;
    }
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff { next: Self::FIRST }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_to_a_second_and_starts_over_after_an_accept() {
        let mut backoff = Backoff::default();
        let pauses: Vec<u128> = (0..10).map(|_| backoff.next().as_millis()).collect();
        assert_eq!(pauses, [5, 10, 20, 40, 80, 160, 320, 640, 1000, 1000]);
        backoff.reset();
        assert_eq!(backoff.next(), Duration::from_millis(5));
    }

    #[test]
    fn only_a_client_s_own_failure_is_retried_at_once() {
        use std::io::{Error, ErrorKind};
        assert!(is_per_connection(&Error::from(
            ErrorKind::ConnectionAborted
        )));
        // EMFILE (24 on Linux and macOS): the process is out of descriptors.
        assert!(!is_per_connection(&Error::from_raw_os_error(24)));
    }
}
