//! One accepted connection: served by hyper (HTTP/1.1 or HTTP/2), under deadlines that run from
//! the moment it was accepted, whatever the client sends or does not send.
//!
//! hyper's own timers start too late for a server that must stay answerable: with the auto
//! (HTTP/1 + HTTP/2) builder, HTTP/1's header timer starts only at the first byte, HTTP/2 has no
//! idle bound at all, and a graceful shutdown waits for a connection stuck in the middle of a
//! request head. So each connection is driven by [`drive`], which owns its deadlines, and is
//! tracked through its service ([`Tracked`]): a request is *in flight* from the moment its head
//! has been read until its response body is dropped (sent, failed or cut). A connection with no
//! request in flight is *idle*, and an idle connection is closed once it has been idle for the
//! listener's `idle_timeout`, counted from its accept or from the end of its last answer.

use std::convert::Infallible;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, Response};
use hyper::body::{Frame, Incoming, SizeHint};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder;
use tokio::net::TcpStream;
use tokio::sync::Notify;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// The deadlines and rules of one listener's connections.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    /// An idle connection (no request in flight) is closed after this long: from its accept
    /// until its first request head is in, and between answers.
    pub(crate) idle_timeout: Duration,
    /// Every connection is dropped this long after its accept, busy or not (the probe port,
    /// whose answers are small and immediate); `None`: no such bound (the application port).
    pub(crate) max_lifetime: Option<Duration>,
    /// Close the connection after its first answer (the probe port: one probe, one
    /// connection), on HTTP/2 as on HTTP/1.
    pub(crate) one_answer: bool,
}

/// How long a connection told to close (idle deadline, shutdown) may take to finish writing its
/// last answer and close by itself, once nothing is in flight, before it is dropped.
const CLOSE_GRACE: Duration = Duration::from_secs(1);

/// What every connection of one listener shares: the signals from the server, and the count of
/// requests in flight across its connections.
#[derive(Debug)]
pub(crate) struct Shared {
    /// When the listener started: instants are stored as milliseconds since then.
    epoch: Instant,
    /// Requests in flight on every connection of the listener.
    in_flight: AtomicUsize,
    /// Every connection closes gracefully: idle ones at once, busy ones after their answer.
    pub(crate) drain: CancellationToken,
    /// Every connection is dropped now, requests in flight or not.
    pub(crate) cut: CancellationToken,
}

impl Shared {
    pub(crate) fn new() -> Arc<Shared> {
        Arc::new(Shared {
            epoch: Instant::now(),
            in_flight: AtomicUsize::new(0),
            drain: CancellationToken::new(),
            cut: CancellationToken::new(),
        })
    }

    /// Requests in flight right now, on every connection of the listener.
    pub(crate) fn in_flight(&self) -> usize {
        self.in_flight.load(Ordering::Acquire)
    }

    fn millis(&self, t: Instant) -> u64 {
        u64::try_from(t.saturating_duration_since(self.epoch).as_millis()).unwrap_or(u64::MAX)
    }

    fn instant(&self, millis: u64) -> Instant {
        self.epoch + Duration::from_millis(millis)
    }
}

/// The state of one connection, read by its driver and by the accept loop (which sheds the
/// longest idle connection when it must make room). Atomics only: a request costs a few of
/// them, no lock.
#[derive(Debug)]
pub(crate) struct ConnState {
    shared: Arc<Shared>,
    /// When the connection was accepted.
    accepted: Instant,
    /// Requests whose head was read and whose response body is not yet dropped.
    in_flight: AtomicU32,
    /// Requests started on this connection.
    started: AtomicU32,
    /// When the connection last became idle (its accept, or the end of its last answer), in
    /// milliseconds since the listener's epoch.
    idle_since: AtomicU64,
    /// Set by the accept loop: close now if still idle.
    shed: AtomicBool,
    /// Set when the connection's task ends.
    done: AtomicBool,
    /// Wakes the driver: shed, or (one-answer connections) a request started.
    wake: Notify,
}

impl ConnState {
    pub(crate) fn new(shared: &Arc<Shared>, accepted: Instant) -> Arc<ConnState> {
        Arc::new(ConnState {
            idle_since: AtomicU64::new(shared.millis(accepted)),
            accepted,
            shared: Arc::clone(shared),
            in_flight: AtomicU32::new(0),
            started: AtomicU32::new(0),
            shed: AtomicBool::new(false),
            done: AtomicBool::new(false),
            wake: Notify::new(),
        })
    }

    /// Since when the connection has been idle, or `None` while a request is in flight.
    pub(crate) fn idle_since(&self) -> Option<Instant> {
        if self.in_flight.load(Ordering::Acquire) > 0 {
            return None;
        }
        Some(self.shared.instant(self.idle_since.load(Ordering::Acquire)))
    }

    /// Whether the connection's task has ended.
    pub(crate) fn is_done(&self) -> bool {
        self.done.load(Ordering::Acquire)
    }

    /// Asks the driver to drop the connection if it is (still) idle.
    pub(crate) fn shed(&self) {
        self.shed.store(true, Ordering::Release);
        self.wake.notify_one();
    }

    fn request_started(&self, one_answer: bool) {
        self.in_flight.fetch_add(1, Ordering::AcqRel);
        self.shared.in_flight.fetch_add(1, Ordering::AcqRel);
        self.started.fetch_add(1, Ordering::AcqRel);
        if one_answer {
            self.wake.notify_one();
        }
    }

    fn request_ended(&self) {
        self.idle_since
            .store(self.shared.millis(Instant::now()), Ordering::Release);
        self.shared.in_flight.fetch_sub(1, Ordering::AcqRel);
        // No wake-up: while a request is in flight the driver looks again one idle period
        // later, and by then the idle deadline (counted from this moment) has not passed yet.
        self.in_flight.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Marks a connection done when its task ends, however it ends (returned, cut or aborted).
struct DoneOnDrop(Arc<ConnState>);

impl Drop for DoneOnDrop {
    fn drop(&mut self) {
        self.0.done.store(true, Ordering::Release);
    }
}

/// Serves `stream` with `service` until the connection ends, the server cuts it, or one of its
/// deadlines passes.
pub(crate) async fn drive<S>(
    builder: &Builder<TokioExecutor>,
    stream: TcpStream,
    service: S,
    conn: Arc<ConnState>,
    limits: Limits,
) where
    S: hyper::service::Service<Request<Incoming>, Response = Response<Body>, Error = Infallible>
        + Send
        + 'static,
    S::Future: Send + 'static,
{
    let _done = DoneOnDrop(Arc::clone(&conn));
    let tracked = Tracked {
        inner: service,
        conn: Arc::clone(&conn),
        one_answer: limits.one_answer,
    };
    let connection = builder.serve_connection_with_upgrades(TokioIo::new(stream), tracked);
    tokio::pin!(connection);
    let shared = Arc::clone(&conn.shared);
    let end_of_life = limits.max_lifetime.map(|life| later(conn.accepted, life));
    // Set once the connection was told to close; it then has `CLOSE_GRACE` from the later of
    // that moment and the end of its last answer.
    let mut closing: Option<Instant> = None;
    loop {
        let now = Instant::now();
        let deadline = match (conn.idle_since(), closing) {
            (Some(since), None) => later(since, limits.idle_timeout),
            (Some(since), Some(told)) => later(since.max(told), CLOSE_GRACE),
            // A request in flight has no deadline of its own: the application decides how long
            // a request takes, and the shutdown bound cuts it. Look again one idle period later
            // (the idle deadline, counted from the request's end, cannot have passed by then),
            // or one close grace later once the connection was told to close.
            (None, None) => later(now, limits.idle_timeout),
            (None, Some(_)) => later(now, CLOSE_GRACE),
        };
        let deadline = end_of_life.map_or(deadline, |end| deadline.min(end));
        tokio::select! {
            biased;
            () = shared.cut.cancelled() => return,
            _ = connection.as_mut() => return,
            () = shared.drain.cancelled(), if closing.is_none() => {
                if conn.idle_since().is_some() {
                    // Nothing in flight: an idle keep-alive connection must not hold the
                    // shutdown (axum#991). Close it now.
                    return;
                }
                closing = Some(Instant::now());
                connection.as_mut().graceful_shutdown();
            }
            () = conn.wake.notified() => {
                if conn.shed.swap(false, Ordering::AcqRel) && conn.idle_since().is_some() {
                    return;
                }
                if limits.one_answer
                    && closing.is_none()
                    && conn.started.load(Ordering::Acquire) > 0
                {
                    // HTTP/2: GOAWAY now, so the stream in flight is the last one (HTTP/1 has
                    // keep-alive off already).
                    closing = Some(Instant::now());
                    connection.as_mut().graceful_shutdown();
                }
            }
            () = tokio::time::sleep_until(deadline) => {
                let now = Instant::now();
                if end_of_life.is_some_and(|end| now >= end) {
                    return;
                }
                match (conn.idle_since(), closing) {
                    (Some(since), None) if now >= later(since, limits.idle_timeout) => {
                        closing = Some(now);
                        connection.as_mut().graceful_shutdown();
                    }
                    (Some(since), Some(told)) if now >= later(since.max(told), CLOSE_GRACE) => {
                        return;
                    }
                    _ => {}
                }
            }
        }
    }
}

/// `t + d`, saturating far in the future instead of overflowing.
fn later(t: Instant, d: Duration) -> Instant {
    t.checked_add(d)
        .unwrap_or_else(|| t + Duration::from_secs(86_400 * 365))
}

/// The connection's service: the application's, with each request counted in flight from the
/// moment hyper hands it over until its response body is dropped.
struct Tracked<S> {
    inner: S,
    conn: Arc<ConnState>,
    one_answer: bool,
}

impl<S> hyper::service::Service<Request<Incoming>> for Tracked<S>
where
    S: hyper::service::Service<Request<Incoming>, Response = Response<Body>, Error = Infallible>,
{
    type Response = Response<TrackedBody>;
    type Error = Infallible;
    type Future = TrackedFuture<S::Future>;

    fn call(&self, request: Request<Incoming>) -> Self::Future {
        self.conn.request_started(self.one_answer);
        TrackedFuture {
            inner: self.inner.call(request),
            guard: Some(InFlight(Arc::clone(&self.conn))),
        }
    }
}

/// One request in flight; ends it when dropped.
struct InFlight(Arc<ConnState>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.request_ended();
    }
}

pin_project_lite::pin_project! {
    /// The application's response future, carrying the request's [`InFlight`] guard over to the
    /// response body (or dropping it, if the future is dropped first). No allocation.
    pub(crate) struct TrackedFuture<F> {
        #[pin]
        inner: F,
        guard: Option<InFlight>,
    }
}

impl<F> std::future::Future for TrackedFuture<F>
where
    F: std::future::Future<Output = Result<Response<Body>, Infallible>>,
{
    type Output = Result<Response<TrackedBody>, Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let Ok(response) = std::task::ready!(this.inner.poll(cx));
        let guard = this.guard.take();
        Poll::Ready(Ok(response.map(|body| TrackedBody {
            body,
            _guard: guard,
        })))
    }
}

/// A response body that ends its request's time in flight when dropped.
pub(crate) struct TrackedBody {
    body: Body,
    _guard: Option<InFlight>,
}

impl hyper::body::Body for TrackedBody {
    type Data = <Body as hyper::body::Body>::Data;
    type Error = <Body as hyper::body::Body>::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        Pin::new(&mut self.body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}
