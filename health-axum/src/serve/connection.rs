//! One accepted connection: served by hyper (HTTP/1.1 or HTTP/2), under deadlines that run from
//! the moment it was accepted, whatever the client sends or does not send.
//!
//! hyper's own timers start too late for a server that must stay answerable: with the auto
//! (HTTP/1 + HTTP/2) builder, HTTP/1's header timer starts only at the first byte, HTTP/2 has no
//! idle bound at all, and a graceful shutdown waits for a connection stuck in the middle of a
//! request head. So each connection is driven by [`drive`], which owns its deadlines, and is
//! tracked through its service ([`Tracked`]):
//!
//! - a request is *in flight* from the moment its head has been read until its response body is
//!   dropped (sent, failed or cut). A connection with no request in flight is *idle*, and is
//!   closed once it has been idle for the listener's `idle_timeout`, counted from its accept or
//!   from the end of its last answer;
//! - a response body is *waiting* while hyper holds data from it that it has not been able to
//!   send (or has not taken its first frame): a client that reads nothing, or an HTTP/2 client
//!   that opens no flow-control window. A connection on which some body has been waiting with
//!   no progress at all for the listener's `send_timeout` is dropped.

use std::convert::Infallible;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::Body;
use axum::http::{header, HeaderValue, Request, Response, StatusCode};
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
    /// A connection whose answer makes no progress for this long (the client reads nothing) is
    /// dropped.
    pub(crate) send_timeout: Duration,
    /// Every connection is dropped this long after its accept, busy or not (the probe port,
    /// whose answers are small and immediate); `None`: no such bound (the application port).
    pub(crate) max_lifetime: Option<Duration>,
    /// The probe port's rules: one request per connection, on HTTP/2 as on HTTP/1 (later
    /// requests on it get a 503 without reaching the router), and `nosniff` on every answer,
    /// whatever route (or fallback) produced it.
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
    /// Every connection closes gracefully: idle ones within the close grace, busy ones after
    /// their answer.
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

/// The bit of [`ConnState::flight`] that marks a connection the accept loop has shed.
const SHED: u32 = 1 << 31;

/// The state of one connection, read by its driver and by the accept loop (which sheds a
/// connection when it must make room). Atomics only: a request costs a few of them, no lock and
/// no wake-up.
#[derive(Debug)]
pub(crate) struct ConnState {
    shared: Arc<Shared>,
    /// When the connection was accepted.
    accepted: Instant,
    /// Requests in flight (whose head was read and whose response body is not yet dropped), and
    /// the [`SHED`] bit, in one word: a connection is shed only while nothing is in flight,
    /// atomically, so a request that starts at that moment is never lost unseen.
    flight: AtomicU32,
    /// Requests started on this connection.
    started: AtomicU32,
    /// When the connection last became idle (its accept, or the end of its last answer), in
    /// milliseconds since the listener's epoch.
    idle_since: AtomicU64,
    /// Response bodies waiting for hyper to send what it holds of them.
    waiting: AtomicU32,
    /// The last send progress (a waiting body polled again), in milliseconds since the epoch.
    progress_at: AtomicU64,
    /// Set when the connection's task ends.
    done: AtomicBool,
    /// Wakes the driver: shed, or (one-answer connections) a request started.
    wake: Notify,
}

impl ConnState {
    pub(crate) fn new(shared: &Arc<Shared>, accepted: Instant) -> Arc<ConnState> {
        let now = shared.millis(accepted);
        Arc::new(ConnState {
            idle_since: AtomicU64::new(now),
            accepted,
            shared: Arc::clone(shared),
            flight: AtomicU32::new(0),
            started: AtomicU32::new(0),
            waiting: AtomicU32::new(0),
            progress_at: AtomicU64::new(now),
            done: AtomicBool::new(false),
            wake: Notify::new(),
        })
    }

    /// When the connection was accepted.
    pub(crate) fn accepted(&self) -> Instant {
        self.accepted
    }

    /// Since when the connection has been idle, or `None` while a request is in flight.
    pub(crate) fn idle_since(&self) -> Option<Instant> {
        if self.flight.load(Ordering::Acquire) & !SHED > 0 {
            return None;
        }
        Some(self.shared.instant(self.idle_since.load(Ordering::Acquire)))
    }

    /// Whether the connection's task has ended.
    pub(crate) fn is_done(&self) -> bool {
        self.done.load(Ordering::Acquire)
    }

    /// Whether the connection was shed (and is closing, or closed).
    pub(crate) fn is_shed(&self) -> bool {
        self.flight.load(Ordering::Acquire) & SHED != 0
    }

    /// Sheds the connection if nothing is in flight on it, atomically with the start of a
    /// request; `false` if a request is in flight (or it was shed already).
    pub(crate) fn try_shed(&self) -> bool {
        let shed = self
            .flight
            .compare_exchange(0, SHED, Ordering::AcqRel, Ordering::Acquire)
            .is_ok();
        if shed {
            self.wake.notify_one();
        }
        shed
    }

    /// Sheds the connection even with a request in flight (the probe port, whose answers are
    /// immediate: a busy connection that is the oldest is a stalled one).
    pub(crate) fn shed_busy(&self) {
        self.flight.fetch_or(SHED, Ordering::AcqRel);
        self.wake.notify_one();
    }

    /// A request starts; whether it is the connection's first.
    fn request_started(&self, one_answer: bool) -> bool {
        self.flight.fetch_add(1, Ordering::AcqRel);
        self.shared.in_flight.fetch_add(1, Ordering::AcqRel);
        let first = self.started.fetch_add(1, Ordering::AcqRel) == 0;
        if one_answer && first {
            self.wake.notify_one();
        }
        first
    }

    fn request_ended(&self) {
        self.idle_since
            .store(self.shared.millis(Instant::now()), Ordering::Release);
        self.shared.in_flight.fetch_sub(1, Ordering::AcqRel);
        // No wake-up: while a request is in flight the driver looks again periodically, and
        // by then the idle deadline (counted from this moment) has not passed yet.
        self.flight.fetch_sub(1, Ordering::AcqRel);
    }

    fn wait_begins(&self) {
        if self.waiting.fetch_add(1, Ordering::AcqRel) == 0 {
            self.progress();
        }
    }

    fn wait_ends(&self) {
        self.waiting.fetch_sub(1, Ordering::AcqRel);
    }

    fn progress(&self) {
        self.progress_at
            .store(self.shared.millis(Instant::now()), Ordering::Release);
    }

    /// Since when a waiting body has made no progress, if one is waiting.
    fn stalled_since(&self) -> Option<Instant> {
        if self.waiting.load(Ordering::Acquire) == 0 {
            return None;
        }
        Some(
            self.shared
                .instant(self.progress_at.load(Ordering::Acquire)),
        )
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
    let mut deadlines = Deadlines::new(Arc::clone(&conn), limits);
    loop {
        // Shed before the driver first ran (or since): close before hyper reads a request.
        if conn.is_shed() {
            return;
        }
        let deadline = deadlines.next(Instant::now());
        // When the connection was told to close, if it was told now.
        let told = tokio::select! {
            biased;
            () = shared.cut.cancelled() => return,
            _ = connection.as_mut() => return,
            // Idle or not, close gracefully: an idle connection within the close grace (hyper
            // closes an idle HTTP/1 connection at once, after flushing what it still holds of
            // the last answer), a busy one after its answer.
            () = shared.drain.cancelled(), if !deadlines.closing() => Some(Instant::now()),
            // HTTP/2: GOAWAY as soon as the first request starts, so that no new stream is
            // opened (HTTP/1 has keep-alive off already).
            () = conn.wake.notified() => deadlines.first_answer_started().then(Instant::now),
            () = tokio::time::sleep_until(deadline) => {
                let now = Instant::now();
                match deadlines.passed(now) {
                    Passed::Drop => return,
                    Passed::Close => Some(now),
                    Passed::Nothing => None,
                }
            }
        };
        if let Some(told) = told {
            deadlines.told_to_close(told);
            connection.as_mut().graceful_shutdown();
        }
    }
}

/// What a deadline that passed means for its connection.
enum Passed {
    /// Nothing yet: look again.
    Nothing,
    /// Tell it to close gracefully.
    Close,
    /// Drop it now.
    Drop,
}

/// The deadlines of one connection: idle, close grace, send progress and lifetime.
struct Deadlines {
    conn: Arc<ConnState>,
    limits: Limits,
    /// When the connection is dropped whatever it does, if it has a lifetime bound.
    end_of_life: Option<Instant>,
    /// While busy, look again this often: for a stalled answer, and for the idle deadline once
    /// the request ends (which does not wake the driver).
    look_again: Duration,
    /// Set once the connection was told to close; it then has `CLOSE_GRACE` from the later of
    /// that moment and the end of its last answer.
    closing: Option<Instant>,
}

impl Deadlines {
    fn new(conn: Arc<ConnState>, limits: Limits) -> Deadlines {
        Deadlines {
            end_of_life: limits.max_lifetime.map(|life| later(conn.accepted, life)),
            look_again: (limits.send_timeout / 2).min(limits.idle_timeout),
            closing: None,
            conn,
            limits,
        }
    }

    /// Whether the connection was told to close.
    fn closing(&self) -> bool {
        self.closing.is_some()
    }

    fn told_to_close(&mut self, now: Instant) {
        self.closing = Some(now);
    }

    /// Whether a wake-up means that the first request of a one-answer connection started (and
    /// the connection, not yet closing, is to close once it is answered).
    fn first_answer_started(&self) -> bool {
        self.limits.one_answer
            && self.closing.is_none()
            && self.conn.started.load(Ordering::Acquire) > 0
    }

    /// When to look at the connection next.
    fn next(&self, now: Instant) -> Instant {
        let deadline = match (self.conn.idle_since(), self.closing) {
            (Some(since), None) => later(since, self.limits.idle_timeout),
            (Some(since), Some(told)) => later(since.max(told), CLOSE_GRACE),
            // A request in flight has no deadline of its own on the application port: the
            // application decides how long a request takes, and the shutdown bound cuts it.
            // An answer that makes no progress does have one.
            (None, _) => {
                let look = later(
                    now,
                    if self.closing.is_some() {
                        CLOSE_GRACE
                    } else {
                        self.look_again
                    },
                );
                self.conn.stalled_since().map_or(look, |since| {
                    look.min(later(since, self.limits.send_timeout))
                })
            }
        };
        self.end_of_life.map_or(deadline, |end| deadline.min(end))
    }

    /// What the deadline that passed at `now` (if any did) means.
    fn passed(&self, now: Instant) -> Passed {
        if self.end_of_life.is_some_and(|end| now >= end) {
            return Passed::Drop;
        }
        let send_timeout = self.limits.send_timeout;
        if self
            .conn
            .stalled_since()
            .is_some_and(|since| now >= later(since, send_timeout))
        {
            tracing::debug!(
                send_timeout_ms = u64::try_from(send_timeout.as_millis()).unwrap_or(u64::MAX),
                "dropping a connection whose answer made no progress (the client reads nothing)"
            );
            return Passed::Drop;
        }
        match (self.conn.idle_since(), self.closing) {
            (Some(since), None) if now >= later(since, self.limits.idle_timeout) => Passed::Close,
            (Some(since), Some(told)) if now >= later(since.max(told), CLOSE_GRACE) => Passed::Drop,
            _ => Passed::Nothing,
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
        let first = self.conn.request_started(self.one_answer);
        // A second request on a one-answer connection (HTTP/2 streams opened before the GOAWAY
        // reached the client) does not reach the router.
        let inner = (first || !self.one_answer).then(|| self.inner.call(request));
        TrackedFuture {
            inner,
            guard: Some(InFlight(Arc::clone(&self.conn))),
            one_answer: self.one_answer,
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
    /// response body (or dropping it, if the future is dropped first). No allocation. `None`:
    /// answer 503 at once (a request past the first on a one-answer connection).
    pub(crate) struct TrackedFuture<F> {
        #[pin]
        inner: Option<F>,
        guard: Option<InFlight>,
        one_answer: bool,
    }
}

impl<F> std::future::Future for TrackedFuture<F>
where
    F: std::future::Future<Output = Result<Response<Body>, Infallible>>,
{
    type Output = Result<Response<TrackedBody>, Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let response = match this.inner.as_pin_mut() {
            Some(inner) => {
                let Ok(response) = std::task::ready!(inner.poll(cx));
                response
            }
            None => one_answer_only(),
        };
        let guard = this.guard.take();
        if let Some(InFlight(conn)) = &guard {
            conn.wait_begins();
        }
        let mut response = response;
        if *this.one_answer {
            // The probe routes set it themselves; this covers unknown paths and routes of
            // yours, with no middleware (and no allocation) on the probe path.
            response
                .headers_mut()
                .entry(header::X_CONTENT_TYPE_OPTIONS)
                .or_insert(HeaderValue::from_static("nosniff"));
        }
        Poll::Ready(Ok(response.map(|body| TrackedBody {
            body,
            waiting: true,
            guard,
        })))
    }
}

/// The answer to a second request on a probe connection.
fn one_answer_only() -> Response<Body> {
    let mut response = Response::new(Body::from(
        "{\"error\":\"the probe port answers one request per connection\"}",
    ));
    *response.status_mut() = StatusCode::SERVICE_UNAVAILABLE;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}

/// A response body that ends its request's time in flight when dropped, and tells its
/// connection while hyper holds data from it that it could not send yet.
pub(crate) struct TrackedBody {
    body: Body,
    /// Handed to hyper (the response head, or the last frame), not polled again since.
    waiting: bool,
    guard: Option<InFlight>,
}

impl TrackedBody {
    fn conn(&self) -> Option<&ConnState> {
        self.guard.as_ref().map(|InFlight(conn)| &**conn)
    }
}

impl hyper::body::Body for TrackedBody {
    type Data = <Body as hyper::body::Body>::Data;
    type Error = <Body as hyper::body::Body>::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        if self.waiting {
            // hyper came back for more: what it held has gone out.
            self.waiting = false;
            if let Some(conn) = self.conn() {
                conn.progress();
                conn.wait_ends();
            }
        }
        let polled = Pin::new(&mut self.body).poll_frame(cx);
        if let Poll::Ready(Some(Ok(_))) = &polled {
            self.waiting = true;
            if let Some(conn) = self.conn() {
                conn.wait_begins();
            }
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

impl Drop for TrackedBody {
    fn drop(&mut self) {
        if self.waiting {
            if let Some(conn) = self.conn() {
                conn.wait_ends();
            }
        }
    }
}
