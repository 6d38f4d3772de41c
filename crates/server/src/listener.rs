//! The node's accept loop. It is ours rather than `axum::serve` so that a hostile network cannot
//! exhaust the node: every connection must send its request head within a deadline (idle
//! keep-alive connections included), TLS handshakes have the same deadline, request heads are
//! bounded in size, and open connections are capped. Past the cap a small reserve of
//! connections still gets an immediate answer (`/healthz` as usual, anything else a JSON 503
//! with `Retry-After`) and is then closed; past the reserve a connection is closed unanswered.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::{GracefulShutdown, Watcher};
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_rustls::TlsAcceptor;

/// Time a client has to send a request's head (request line and headers) once the connection
/// is open or idle between requests; a slow or silent client is then disconnected.
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// Time a client has to send a request's whole body once the handler starts reading it.
pub const BODY_READ_TIMEOUT: Duration = Duration::from_secs(30);

/// Connections served at once. EventBridge and Dataverse each hold a handful; a scraper and a
/// load balancer a few more.
pub const MAX_CONNECTIONS: usize = 512;

/// Connections past [`MAX_CONNECTIONS`] still answered (briefly, see the module comment), so
/// a load balancer's `/healthz` gets through while the node is saturated.
pub const OVERFLOW_CONNECTIONS: usize = 64;

/// Head-read deadline of a connection past the cap: it gets one short answer.
const OVERFLOW_HEADER_TIMEOUT: Duration = Duration::from_secs(2);

/// Largest request head (hyper's read buffer), so headers cannot fill memory.
pub const MAX_HEAD_BYTES: usize = 64 * 1024;

/// The listener's limits; [`Default`] is the documented constants above.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ListenerLimits {
    pub header_read_timeout: Duration,
    pub body_read_timeout: Duration,
    pub max_connections: usize,
    pub overflow_connections: usize,
}

impl Default for ListenerLimits {
    fn default() -> Self {
        ListenerLimits {
            header_read_timeout: HEADER_READ_TIMEOUT,
            body_read_timeout: BODY_READ_TIMEOUT,
            max_connections: MAX_CONNECTIONS,
            overflow_connections: OVERFLOW_CONNECTIONS,
        }
    }
}

/// What the accept loop serves.
pub(crate) struct Served {
    /// Every route.
    pub app: Router,
    /// What a connection past the cap gets.
    pub overflow: Router,
    pub limits: ListenerLimits,
    pub tls: Option<TlsAcceptor>,
}

/// Accepts until `shutdown` resolves, then stops accepting, lets requests in flight finish
/// (idle connections close at once) and returns.
pub(crate) async fn serve(
    listener: TcpListener,
    served: Served,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let Served { app, overflow, limits, tls } = served;
    let open = Arc::new(Semaphore::new(limits.max_connections));
    let reserve = Arc::new(Semaphore::new(limits.overflow_connections));
    let graceful = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let accepted = tokio::select! {
            biased;
            () = &mut shutdown => break,
            accepted = listener.accept() => accepted,
        };
        let stream = match accepted {
            Ok((stream, _)) => stream,
            Err(error) => {
                // Per-connection errors (reset before accept) say nothing about the listener;
                // others (too many open files) pass, so wait instead of spinning.
                if !is_connection_error(&error) {
                    tracing::warn!(%error, "accepting a connection failed; retrying in 1s");
                    tokio::select! {
                        () = &mut shutdown => break,
                        () = tokio::time::sleep(Duration::from_secs(1)) => {}
                    }
                }
                continue;
            }
        };
        let (service, permit, header_timeout, keep_alive) = if let Ok(permit) = open.clone().try_acquire_owned() {
            (app.clone(), permit, limits.header_read_timeout, true)
        } else if let Ok(permit) = reserve.clone().try_acquire_owned() {
            (overflow.clone(), permit, limits.header_read_timeout.min(OVERFLOW_HEADER_TIMEOUT), false)
        } else {
            tracing::debug!("connection closed unanswered: the cap and its reserve are full");
            continue;
        };
        let _ = stream.set_nodelay(true);
        let watcher = graceful.watcher();
        let tls = tls.clone();
        tokio::spawn(async move {
            let _permit = permit;
            let connection = Connection { service, header_timeout, keep_alive, watcher };
            match tls {
                None => connection.serve(stream).await,
                Some(acceptor) => match tokio::time::timeout(header_timeout, acceptor.accept(stream)).await {
                    Ok(Ok(stream)) => connection.serve(stream).await,
                    Ok(Err(error)) => tracing::debug!(%error, "TLS handshake failed"),
                    Err(_) => tracing::debug!("TLS handshake not finished in time; connection closed"),
                },
            }
        });
    }
    drop(listener);
    graceful.shutdown().await;
    Ok(())
}

struct Connection {
    service: Router,
    header_timeout: Duration,
    keep_alive: bool,
    watcher: Watcher,
}

impl Connection {
    async fn serve<I>(self, io: I)
    where
        I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let mut builder = http1::Builder::new();
        builder
            .timer(TokioTimer::new())
            .header_read_timeout(self.header_timeout)
            .keep_alive(self.keep_alive)
            .max_buf_size(MAX_HEAD_BYTES);
        let connection = builder.serve_connection(TokioIo::new(io), TowerToHyperService::new(self.service));
        if let Err(error) = self.watcher.watch(connection).await {
            // Timeouts, resets and malformed requests: the client's problem, not the node's.
            tracing::debug!(%error, "connection ended with an error");
        }
    }
}

fn is_connection_error(error: &std::io::Error) -> bool {
    use std::io::ErrorKind;
    matches!(error.kind(), ErrorKind::ConnectionRefused | ErrorKind::ConnectionAborted | ErrorKind::ConnectionReset)
}
