//! One listener's accept loop: a generous listen backlog, a cap on open connections that sheds
//! the longest-idle connection to make room for a new one, and accept errors that are retried
//! with a rate-limited log line.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::connect_info::IntoMakeServiceWithConnectInfo;
use axum::Router;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::task::JoinSet;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tower_service::Service;

use super::connection::{drive, ConnState, Limits, Shared};

/// The listen backlog `serve` sets on its listeners: 4096 pending connections (the kernel caps
/// it at `net.core.somaxconn`, 4096 by default since Linux 5.4). A burst of new connections,
/// such as a herd of probes at start, waits in it instead of being dropped and retried a
/// second later.
pub const DEFAULT_BACKLOG: u32 = 4096;

/// How one listener accepts and keeps connections.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Policy {
    /// Open connections at most; at the cap, the longest-idle connection is shed for the new
    /// one.
    pub(crate) max_connections: usize,
    pub(crate) limits: Limits,
    /// Which port, for log lines.
    pub(crate) port: &'static str,
}

/// Sets the listen backlog of an already listening socket (`listen(2)` again updates it).
pub(crate) fn set_backlog(listener: &TcpListener, backlog: u32) {
    let backlog = i32::try_from(backlog).unwrap_or(i32::MAX);
    if let Err(error) = socket2::SockRef::from(listener).listen(backlog) {
        tracing::warn!(%error, backlog, "could not set the listen backlog");
    }
}

/// The HTTP/1.1 + HTTP/2 connection builder. hyper's own header timer is left off: the
/// connection driver's idle deadline covers the head, from the accept on.
pub(crate) fn http_builder(keep_alive: bool) -> Builder<TokioExecutor> {
    let mut builder = Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .keep_alive(keep_alive);
    builder.http2().timer(TokioTimer::new());
    builder
}

/// Runs the accept loop of `listener` until `stop` is cancelled, then waits for its open
/// connections to end (they drain or are cut through `shared`).
pub(crate) async fn accept_loop(
    listener: TcpListener,
    router: Router,
    policy: Policy,
    shared: Arc<Shared>,
    stop: CancellationToken,
) {
    let mut make_service: IntoMakeServiceWithConnectInfo<Router, SocketAddr> =
        router.into_make_service_with_connect_info::<SocketAddr>();
    let builder = Arc::new(http_builder(!policy.limits.one_answer));
    let mut open: Vec<Arc<ConnState>> = Vec::new();
    let mut tasks = JoinSet::new();
    let mut errors = ErrorLog::new(policy.port);
    loop {
        tokio::select! {
            biased;
            () = stop.cancelled() => break,
            Some(_) = tasks.join_next(), if !tasks.is_empty() => {}
            accepted = listener.accept() => match accepted {
                Ok((stream, remote)) => {
                    let now = Instant::now();
                    if !make_room(&mut open, policy.max_connections) {
                        errors.full(policy.max_connections);
                        drop(stream);
                        continue;
                    }
                    let _ = stream.set_nodelay(true);
                    let Ok(service) = make_service.call(remote).await;
                    let service = TowerToHyperService::new(service);
                    let conn = ConnState::new(&shared, now);
                    open.push(Arc::clone(&conn));
                    let builder = Arc::clone(&builder);
                    let limits = policy.limits;
                    tasks.spawn(async move {
                        drive(&builder, stream, service, conn, limits).await;
                    });
                }
                Err(error) => errors.accept_failed(error).await,
            },
        }
    }
    // Stop accepting: new connections are refused from here on.
    drop(listener);
    shared.drain.cancel();
    while tasks.join_next().await.is_some() {}
}

/// Makes room for one more connection: forgets those that ended, and at the cap sheds the one
/// idle the longest (a connection that sends nothing, a slow head, an idle keep-alive), never
/// the newest. `false` when every open connection has a request in flight.
fn make_room(open: &mut Vec<Arc<ConnState>>, max: usize) -> bool {
    if open.len() < max {
        return true;
    }
    open.retain(|conn| !conn.is_done());
    if open.len() < max {
        return true;
    }
    let oldest = open
        .iter()
        .enumerate()
        .filter_map(|(i, conn)| conn.idle_since().map(|since| (since, i)))
        .min();
    match oldest {
        Some((_, i)) => {
            open.swap_remove(i).shed();
            true
        }
        None => false,
    }
}

/// Accept errors and refusals, logged at most once per [`ErrorLog::EVERY`] with a count of
/// those not logged, instead of ten lines a second.
struct ErrorLog {
    port: &'static str,
    last: Option<Instant>,
    suppressed: u64,
}

impl ErrorLog {
    const EVERY: Duration = Duration::from_secs(10);

    fn new(port: &'static str) -> ErrorLog {
        ErrorLog {
            port,
            last: None,
            suppressed: 0,
        }
    }

    /// Whether to log now; counts the event otherwise.
    fn due(&mut self) -> Option<u64> {
        let now = Instant::now();
        if self.last.is_some_and(|last| now < last + Self::EVERY) {
            self.suppressed += 1;
            return None;
        }
        self.last = Some(now);
        Some(std::mem::take(&mut self.suppressed))
    }

    fn full(&mut self, max: usize) {
        if let Some(suppressed) = self.due() {
            tracing::warn!(
                port = self.port,
                max_connections = max,
                suppressed,
                "every connection has a request in flight; a new connection was closed"
            );
        }
    }

    /// A connection that failed before it was accepted is skipped; anything else (out of file
    /// descriptors, say) is retried after a pause instead of spinning.
    async fn accept_failed(&mut self, error: io::Error) {
        use io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
        if matches!(
            error.kind(),
            ConnectionAborted | ConnectionRefused | ConnectionReset
        ) {
            return;
        }
        if let Some(suppressed) = self.due() {
            tracing::error!(
                port = self.port,
                %error,
                suppressed,
                "accept failed; retrying (logged at most once per 10 s)"
            );
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// File descriptors: `serve` raises the soft limit to the hard one (as Go's runtime does), and
/// caps the application port so that a flood of connections on it always leaves descriptors for
/// the probe port and the application's own files and dependency connections.
pub(crate) mod fds {
    /// Descriptors kept out of the application port's reach, beyond the probe port's cap: for
    /// the process's files, dependency connections and listeners.
    const SPARE: u64 = 64;

    /// The probe port's cap on open connections, with descriptors to spare.
    pub(crate) const MAX_PROBE_CONNECTIONS: usize = 1024;

    /// The descriptor limit in force, after raising the soft limit to the hard one; `None`
    /// where it cannot be read.
    pub(crate) fn raise_limit() -> Option<u64> {
        #[cfg(unix)]
        {
            let (soft, hard) = rlimit::Resource::NOFILE.get().ok()?;
            if soft < hard {
                match rlimit::increase_nofile_limit(hard) {
                    Ok(raised) => {
                        tracing::debug!(from = soft, to = raised, "raised the descriptor limit");
                        return Some(raised);
                    }
                    Err(error) => {
                        tracing::debug!(%error, "could not raise the descriptor limit");
                    }
                }
            }
            Some(soft)
        }
        #[cfg(not(unix))]
        {
            None
        }
    }

    /// `(application port, probe port)` caps for a descriptor limit: the probe port gets at most
    /// an eighth of the limit, and the application port what is left after the probe port and
    /// [`SPARE`].
    pub(crate) fn caps(limit: Option<u64>) -> (usize, usize) {
        let Some(limit) = limit else {
            return (usize::MAX, MAX_PROBE_CONNECTIONS);
        };
        let probe = (limit / 8).clamp(8, MAX_PROBE_CONNECTIONS as u64);
        let app = limit.saturating_sub(probe + SPARE).max(8);
        (
            usize::try_from(app).unwrap_or(usize::MAX),
            usize::try_from(probe).unwrap_or(MAX_PROBE_CONNECTIONS),
        )
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn caps_leave_the_probe_port_its_descriptors() {
            assert_eq!(caps(Some(1 << 20)), ((1 << 20) - 1024 - 64, 1024));
            assert_eq!(caps(Some(1024)), (1024 - 128 - 64, 128));
            let (app, probe) = caps(Some(200));
            assert_eq!(probe, 25);
            assert_eq!(app, 200 - 25 - 64);
            assert!(caps(Some(10)).0 >= 8);
        }
    }
}
