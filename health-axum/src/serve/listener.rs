//! The accept loop that every port runs: a generous listen backlog, a cap on open connections
//! that sheds one of them (as the port's [`Shedding`] says) to make room for a new one, and
//! accept errors that are retried with a rate-limited log line.

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

use super::connection::{drive, ConnState, Shared};
use super::policy::{Policy, Shedding};

/// The listen backlog `serve` sets on its listeners: 4096 pending connections (the kernel caps
/// it at `net.core.somaxconn`, 4096 by default since Linux 5.4). A burst of new connections,
/// such as a herd of probes at start, waits in it instead of being dropped and retried a
/// second later.
pub const DEFAULT_BACKLOG: u32 = 4096;

/// Sets the listen backlog of an already listening socket (`listen(2)` again updates it).
pub(crate) fn set_backlog(listener: &TcpListener, backlog: u32) {
    let backlog = i32::try_from(backlog).unwrap_or(i32::MAX);
    if let Err(error) = socket2::SockRef::from(listener).listen(backlog) {
        tracing::warn!(%error, backlog, "could not set the listen backlog");
    }
}

/// The HTTP/1.1 + HTTP/2 connection builder. hyper's own header timer is turned off: the
/// connection driver's idle deadline covers the head, from the accept on. A one-answer
/// connection has no HTTP/1 keep-alive and one HTTP/2 stream at a time.
pub(crate) fn http_builder(one_answer: bool) -> Builder<TokioExecutor> {
    let mut builder = Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(None)
        .keep_alive(!one_answer);
    let mut http2 = builder.http2();
    http2
        .timer(TokioTimer::new())
        // A peer that vanished without a FIN (a node lost, a NAT entry expired) is found by a
        // ping it does not answer, so a long-lived stream (a gRPC health `Watch`) does not hold
        // its connection for ever.
        .keep_alive_interval(Some(HTTP2_KEEP_ALIVE))
        .keep_alive_timeout(HTTP2_KEEP_ALIVE)
        // Streams reset by the client before the server answered (the "rapid reset" flood)
        // close the connection beyond a few.
        .max_pending_accept_reset_streams(Some(HTTP2_MAX_PENDING_RESETS));
    http2.max_concurrent_streams(if one_answer { 1 } else { HTTP2_MAX_STREAMS });
    builder
}

/// Concurrent HTTP/2 streams per connection on the application port (the probe port allows
/// one): enough for a gRPC client's multiplexed calls and watches, bounded per connection.
pub(crate) const HTTP2_MAX_STREAMS: u32 = 256;

/// Time between HTTP/2 keep-alive pings on an idle connection, and how long a ping may go
/// unanswered before the connection is closed.
pub(crate) const HTTP2_KEEP_ALIVE: std::time::Duration = std::time::Duration::from_secs(20);

/// Streams the client may reset before the server accepted them, before the connection is
/// closed (hyper's default, written here so that it is seen).
pub(crate) const HTTP2_MAX_PENDING_RESETS: usize = 20;

/// Runs the accept loop of `listener` until `stop` is cancelled, then waits for its open
/// connections to end (they drain or are cut through `shared`).
///
/// Connections are counted as tasks, from their accept until their task has ended, so the cap
/// holds descriptors too: a shed connection counts until it is closed. A connection accepted at
/// the cap sheds another ([`make_room`]), and nothing more is accepted until a task ends; new
/// connections wait in the listen backlog meanwhile.
pub(crate) async fn accept_loop(
    listener: TcpListener,
    router: Router,
    policy: Policy,
    shared: Arc<Shared>,
    stop: CancellationToken,
) {
    let mut make_service: IntoMakeServiceWithConnectInfo<Router, SocketAddr> =
        router.into_make_service_with_connect_info::<SocketAddr>();
    let builder = Arc::new(http_builder(policy.limits.one_answer));
    let mut open: Vec<Arc<ConnState>> = Vec::new();
    let mut tasks = JoinSet::new();
    let mut errors = ErrorLog::new(policy.port);
    loop {
        // One over the cap at most: the connection accepted last, while the one shed for it
        // closes. Nothing more is accepted until a task ends.
        let room = tasks.len() <= policy.max_connections;
        tokio::select! {
            biased;
            () = stop.cancelled() => break,
            Some(_) = tasks.join_next(), if !tasks.is_empty() => {}
            accepted = listener.accept(), if room => match accepted {
                Ok((stream, remote)) => {
                    let now = Instant::now();
                    let _ = stream.set_nodelay(true);
                    let Ok(service) = make_service.call(remote).await;
                    let service = TowerToHyperService::new(service);
                    let conn = ConnState::new(&shared, now);
                    // Forget ended connections now and then, so the list stays about as long
                    // as the number of open ones.
                    if open.len() >= 2 * tasks.len() + 64 {
                        open.retain(|conn| !conn.is_done());
                    }
                    if tasks.len() >= policy.max_connections {
                        make_room(&mut open, policy.shedding);
                    }
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

/// At the cap, for a new connection: sheds one of the open ones, never the new one.
///
/// - [`Shedding::IdleLongest`] (the application port): the one idle the longest (a connection
///   that sends nothing, a slow head, an idle keep-alive); none while every one has a request
///   in flight (the new connection then waits for one to end, one over the cap).
/// - [`Shedding::Oldest`] (the probe port): the oldest one, idle or not: its answers are
///   immediate, so the oldest connection is a silent, slow or stalled one, never a probe being
///   answered.
fn make_room(open: &mut Vec<Arc<ConnState>>, shedding: Shedding) {
    open.retain(|conn| !conn.is_done() && !conn.is_shed());
    match shedding {
        Shedding::Oldest => shed_oldest(open),
        Shedding::IdleLongest => shed_idle_longest(open),
    }
}

/// Sheds the oldest connection, busy or not.
fn shed_oldest(open: &[Arc<ConnState>]) {
    if let Some(oldest) = open.iter().min_by_key(|conn| conn.accepted()) {
        if !oldest.try_shed() {
            oldest.shed_busy();
        }
    }
}

/// Sheds the connection idle the longest, if any is idle.
fn shed_idle_longest(open: &[Arc<ConnState>]) {
    let mut idle: Vec<(Instant, usize)> = open
        .iter()
        .enumerate()
        .filter_map(|(i, conn)| conn.idle_since().map(|since| (since, i)))
        .collect();
    idle.sort_unstable();
    // A request may start between the look and the shed: then try the next one.
    let _ = idle.iter().any(|&(_, i)| open[i].try_shed());
}

/// Accept errors, logged at most once per [`ErrorLog::EVERY`] with a count of those not
/// logged, instead of ten lines a second.
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The log line says "at most once per 10 s": the period is asserted as that literal, not
    /// as `ErrorLog::EVERY`, on the paused clock.
    #[tokio::test(start_paused = true)]
    async fn accept_errors_are_logged_once_per_period_with_a_count_of_the_rest() {
        let begun = Instant::now();
        let mut log = ErrorLog::new("app");
        assert_eq!(log.due(), Some(0), "the first error is logged");
        for _ in 0..99 {
            tokio::time::advance(Duration::from_millis(50)).await;
            assert_eq!(log.due(), None, "within 10 s of the last line");
        }
        tokio::time::advance(
            (begun + Duration::from_millis(9_999)).saturating_duration_since(Instant::now()),
        )
        .await;
        assert_eq!(log.due(), None, "1 ms before 10 s: still not due");
        tokio::time::advance(Duration::from_millis(1)).await;
        assert_eq!(begun.elapsed(), Duration::from_secs(10));
        assert_eq!(
            log.due(),
            Some(100),
            "at 10 s, a line counting those not logged"
        );
        assert_eq!(log.due(), None, "and the next period begins");
        tokio::time::advance(Duration::from_millis(9_999)).await;
        assert_eq!(log.due(), None, "1 ms before the next 10 s");
        tokio::time::advance(Duration::from_millis(1)).await;
        assert_eq!(log.due(), Some(2));
    }

    #[tokio::test(start_paused = true)]
    async fn an_accept_error_pauses_the_loop_instead_of_spinning() {
        let mut log = ErrorLog::new("probe");
        let begun = Instant::now();
        log.accept_failed(io::Error::from_raw_os_error(24)).await; // EMFILE
        assert!(begun.elapsed() >= Duration::from_millis(20));
        let begun = Instant::now();
        log.accept_failed(io::Error::from(io::ErrorKind::ConnectionAborted))
            .await;
        assert_eq!(
            begun.elapsed(),
            Duration::ZERO,
            "a failed handshake is skipped"
        );
        assert_eq!(log.suppressed, 0);
    }
}
