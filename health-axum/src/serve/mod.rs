//! Serving with Kubernetes-friendly start-up and graceful shutdown, on connections that no
//! client can hold: [`serve`] and its builder [`Serve`].
//!
//! - `policy`: what differs between the application port and the probe port (their
//!   [`Policy`]: cap, which connection is shed at it, deadlines, one answer or many).
//! - `port`: a port's accept loop running as a task, which the shutdown stops, drains and cuts.
//! - `listener`: the one accept loop both ports run (backlog, connection cap with shedding,
//!   accept errors).
//! - `fds`: the descriptor limit, raised, and the caps of the two ports under it.
//! - `connection`: one connection under deadlines that run from its accept.
//! - `signal`: SIGTERM and Ctrl-C, counted.
//!
//! [`Policy`]: policy::Policy

mod connection;
mod fds;
mod listener;
mod policy;
mod port;
mod signal;

use std::future::{Future, IntoFuture};
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use health_core::{
    start_scheduler, AsHealthState, BoxFuture, HealthState, Lifecycle, Phase, Scheduler,
};
use tokio::net::TcpListener;

use crate::router::HealthRouterExt;
use listener::set_backlog;
pub use listener::DEFAULT_BACKLOG;
use policy::Policy;
pub use policy::PROBE_IDLE_TIMEOUT;
use port::Port;

/// Default time between the shutdown signal and the moment the server stops accepting: 5 s.
///
/// Kubernetes removes a terminating pod from the Service's endpoints at the same time as it sends
/// SIGTERM; kube-proxies and load balancers take a few seconds to notice. During this delay
/// readiness answers 503 and requests are still served, so no client sees a refused connection.
pub const DEFAULT_DRAIN_DELAY: Duration = Duration::from_secs(5);

/// Default bound on finishing in-flight requests once accepting stopped: 10 s.
///
/// With the drain delay this makes 15 s, well inside Kubernetes' default
/// `terminationGracePeriodSeconds` of 30.
pub const DEFAULT_SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(10);

/// Default bound on the time a connection may stay idle (no request in flight) on the
/// application port: 30 s, from its accept until its first request head is in, and between
/// answers on a keep-alive connection, HTTP/1 and HTTP/2 alike.
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(30);

/// The error of a failed start-up task.
type StartupError = Box<dyn std::error::Error + Send + Sync>;

/// Serves `app` on `listener` until SIGTERM or Ctrl-C (or until the state's lifecycle starts
/// draining), then shuts down gracefully:
///
/// 1. starts the background scheduler of the state's checks ([`start_scheduler`]) and marks the
///    lifecycle started when serving begins, or, with [`Serve::startup`], when the start-up work
///    completes (the probes answer meanwhile: startup 503, liveness 200);
/// 2. on the signal, readiness turns 503 at once ([`Lifecycle::begin_drain`]), requests are
///    still accepted and served;
/// 3. after the [drain delay](Serve::drain_delay) the server stops accepting, closes idle
///    connections at once and lets in-flight requests finish, for at most the
///    [shutdown timeout](Serve::shutdown_timeout); requests still in flight then are cut, and
///    their number is logged;
/// 4. the future resolves with `Ok(())`.
///
/// A second signal skips what is left of the drain delay; a third cuts the requests in flight
/// at once. A signal during start-up work cancels the work, and `serve` returns `Ok(())` with
/// no drain delay (nothing was ever ready, so no endpoint has to forget the pod).
///
/// `app` is the application's [`Router`] after `.with_state(state)` ([`IntoServedRouter`]).
/// `state` is the `#[derive(HealthState)]` state, an `Arc` of it, or any state that implements
/// [`AsHealthState`]: the same value (or a clone of it) that the router was given.
///
/// **Connections.** Every connection, on both ports, is closed once it has been idle (no request
/// in flight) for [`DEFAULT_IDLE_TIMEOUT`] on the application port and [`PROBE_IDLE_TIMEOUT`] on
/// the probe port, counted from its accept: a client that connects and sends nothing, or sends
/// a request head byte by byte, or only an HTTP/2 preface, cannot hold a connection. At the
/// connection cap, the connection idle the longest is closed to make room for the new one. The
/// listen backlog is raised to [`DEFAULT_BACKLOG`], the descriptor limit to its hard limit,
/// and the application port's cap leaves descriptors for the probe port (see the README).
///
/// ```no_run
/// # use health_axum::prelude::*;
/// # #[derive(Clone, HealthState)]
/// # struct AppState { #[health(lifecycle)] lifecycle: Lifecycle }
/// # async fn run(state: AppState) -> std::io::Result<()> {
/// # let app = Router::new();
/// use std::time::Duration;
///
/// let listener = tokio::net::TcpListener::bind("0.0.0.0:3000").await?;
/// health_axum::serve(listener, app, state)
///     .drain_delay(Duration::from_secs(10))
///     .shutdown_timeout(Duration::from_secs(20))
///     .await?;
/// # Ok(())
/// # }
/// ```
pub fn serve<H: AsHealthState>(
    listener: TcpListener,
    app: impl IntoServedRouter,
    state: H,
) -> Serve {
    let state = state.health_state().clone();
    let probe_state = state.clone();
    Serve {
        listener,
        app: app.into_served_router(),
        lifecycle: state.lifecycle().clone(),
        scheduler: Box::new(move || start_scheduler(&state)),
        default_probes: Box::new(move || {
            let probes = <H::State as HealthRouterExt>::health_router().build();
            // With the `grpc` feature, the probe port answers `grpc:` probes too (`Check` and
            // `List`: its connections take one call each, so `Watch` belongs on the app port).
            #[cfg(feature = "grpc")]
            let probes = probes.merge(
                crate::grpc::HealthService::new(&probe_state)
                    .without_watch()
                    .router(),
            );
            probes.with_state(probe_state)
        }),
        probes: None,
        startup: None,
        drain_delay: DEFAULT_DRAIN_DELAY,
        shutdown_timeout: DEFAULT_SHUTDOWN_TIMEOUT,
        idle_timeout: DEFAULT_IDLE_TIMEOUT,
        max_connections: None,
        backlog: DEFAULT_BACKLOG,
    }
}

/// What [`serve`] and [`Serve::probes_on_with`] take: a [`Router`] that has been given its
/// state, `Router<()>` (which is what `Router` alone names). A `Router<AppState>` still needs its
/// state: `.with_state(state)`, called after every `.merge(...)` and `.route(...)`, gives it.
///
/// Sealed: it is implemented for `Router` only. It exists for the compile error: a router that
/// still needs its state, handed to `serve`, is reported under that argument with the fix,
/// instead of as a mismatch of `Router<AppState>` and `Router`.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be served: a router is served once it has been given its state",
    label = "expected a `Router` given its state with `.with_state(state)`",
    note = "call `.with_state(state)` last, after every `.merge(...)` and `.route(...)`: it turns the `Router<S>` that the routes share into the `Router` (`Router<()>`) that is served"
)]
pub trait IntoServedRouter: sealed::Sealed {
    /// The router to serve.
    fn into_served_router(self) -> Router;
}

// Exactly one impl, for `Router<()>`: with a single candidate, rustc infers a router's state
// from it as it did from the parameter type `Router` (so `Router::new().merge(...)
// .with_state(state)` passed here needs no annotation), and any other type gets the message.
impl IntoServedRouter for Router {
    fn into_served_router(self) -> Router {
        self
    }
}

mod sealed {
    /// Keeps [`IntoServedRouter`](super::IntoServedRouter) to the impls of this crate.
    pub trait Sealed {}

    impl Sealed for axum::Router {}
}

/// A server being configured; `.await` it to run. Created by [`serve`].
#[must_use = "a server does nothing until it is `.await`ed"]
pub struct Serve {
    listener: TcpListener,
    app: Router,
    lifecycle: Lifecycle,
    scheduler: Box<dyn FnOnce() -> Scheduler + Send>,
    default_probes: Box<dyn FnOnce() -> Router + Send>,
    probes: Option<(TcpListener, Option<Router>)>,
    startup: Option<BoxFuture<'static, Result<(), StartupError>>>,
    drain_delay: Duration,
    shutdown_timeout: Duration,
    idle_timeout: Duration,
    max_connections: Option<usize>,
    backlog: u32,
}

impl std::fmt::Debug for Serve {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Serve")
            .field("listener", &self.listener)
            .field("lifecycle", &self.lifecycle)
            .field("drain_delay", &self.drain_delay)
            .field("shutdown_timeout", &self.shutdown_timeout)
            .field("idle_timeout", &self.idle_timeout)
            .field("max_connections", &self.max_connections)
            .field("backlog", &self.backlog)
            .field("startup", &self.startup.is_some())
            .field("probe_listener", &self.probes.as_ref().map(|(l, _)| l))
            .finish_non_exhaustive()
    }
}

impl Serve {
    /// Runs slow start-up work (migrations, cache warm-up) while the server already answers:
    /// the lifecycle stays `starting` (startup and readiness probes 503, liveness 200) until
    /// `work` completes, then turns `started`, and the `startup` checks decide when it is ready.
    ///
    /// If `work` fails, nothing was ever ready: the server stops at once (no drain delay), and
    /// `serve` returns the error, so the process exits and Kubernetes restarts it. If a
    /// shutdown signal arrives first, `work` is cancelled (dropped) and `serve` returns
    /// `Ok(())`: a pod stopped during its start-up did not crash.
    ///
    /// ```no_run
    /// # use health_axum::prelude::*;
    /// # #[derive(Clone, HealthState)]
    /// # struct AppState { db: Database, #[health(lifecycle)] lifecycle: Lifecycle }
    /// # #[derive(Clone)]
    /// # struct Database;
    /// # struct Migrator;
    /// # impl Migrator {
    /// #     async fn run(&self, _: &Database) -> Result<(), std::io::Error> { Ok(()) }
    /// # }
    /// # static MIGRATOR: Migrator = Migrator;
    /// # async fn run(listener: tokio::net::TcpListener, app: Router, state: AppState) -> std::io::Result<()> {
    /// health_axum::serve(listener, app, state.clone())
    ///     .startup(async move { MIGRATOR.run(&state.db).await })
    ///     .await?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn startup<F, E>(mut self, work: F) -> Self
    where
        F: Future<Output = Result<(), E>> + Send + 'static,
        E: Into<StartupError>,
    {
        self.startup = Some(Box::pin(async move { work.await.map_err(Into::into) }));
        self
    }

    /// Serves the probe routes (the state's default [`HealthRouter`](crate::HealthRouter)) on a
    /// listener of their own as well, the usual management-port set-up: probes keep answering
    /// while the application port is saturated (every handler busy, a concurrency limit
    /// reached, a flood of idle connections), and the port can be kept off the Service and the
    /// ingress.
    ///
    /// The probe listener answers from start to finish: through start-up work, the drain delay
    /// and the in-flight shutdown; it closes when `serve` returns. Each of its connections
    /// serves one request (HTTP/1 or HTTP/2) and closes, must bring its request head within
    /// [`PROBE_IDLE_TIMEOUT`] (a client that does not close when told is dropped 1 s later),
    /// and lives 10 s at most. At most 1,024 are open at once (fewer under a low descriptor
    /// limit); at the cap, the oldest is closed for the new one, busy or not, so a probe is
    /// answered while hundreds of silent or stalled connections are held.
    ///
    /// ```no_run
    /// # use health_axum::prelude::*;
    /// # #[derive(Clone, HealthState)]
    /// # struct AppState { #[health(lifecycle)] lifecycle: Lifecycle }
    /// # async fn run(app: Router, state: AppState) -> std::io::Result<()> {
    /// use tokio::net::TcpListener;
    ///
    /// let app_port = TcpListener::bind("0.0.0.0:3000").await?;
    /// let probe_port = TcpListener::bind("0.0.0.0:9000").await?;
    /// health_axum::serve(app_port, app, state).probes_on(probe_port).await?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn probes_on(mut self, listener: TcpListener) -> Self {
        self.probes = Some((listener, None));
        self
    }

    /// As [`Serve::probes_on`], with routes of your own (other paths, [`Details`](crate::Details),
    /// aliases), given their state as the application's router is ([`IntoServedRouter`]):
    /// `AppState::health_router().kubernetes_aliases().build().with_state(state)`.
    pub fn probes_on_with(mut self, listener: TcpListener, probes: impl IntoServedRouter) -> Self {
        self.probes = Some((listener, Some(probes.into_served_router())));
        self
    }

    /// How long to keep accepting (with readiness 503) after the shutdown signal;
    /// default [`DEFAULT_DRAIN_DELAY`]. A second signal ends it early.
    pub fn drain_delay(mut self, delay: Duration) -> Self {
        self.drain_delay = delay;
        self
    }

    /// How long in-flight requests may take to finish once accepting stopped;
    /// default [`DEFAULT_SHUTDOWN_TIMEOUT`]. Requests still in flight after it are cut (their
    /// number is logged); a third signal cuts them at once.
    pub fn shutdown_timeout(mut self, timeout: Duration) -> Self {
        self.shutdown_timeout = timeout;
        self
    }

    /// How long a connection on the application port may stay idle (no request in flight),
    /// from its accept and between answers; default [`DEFAULT_IDLE_TIMEOUT`].
    pub fn idle_timeout(mut self, timeout: Duration) -> Self {
        self.idle_timeout = timeout;
        self
    }

    /// Open connections on the application port at most; at the cap, the connection idle the
    /// longest is closed for the new one. Default: the process's descriptor limit less what the
    /// probe port and the process need (see the README).
    pub fn max_connections(mut self, max: usize) -> Self {
        self.max_connections = Some(max.max(1));
        self
    }

    /// The listen backlog of both listeners; default [`DEFAULT_BACKLOG`] (the kernel caps it at
    /// `net.core.somaxconn`).
    pub fn backlog(mut self, backlog: u32) -> Self {
        self.backlog = backlog;
        self
    }

    /// Runs the server, in the steps the documentation of [`serve`] lists.
    async fn run(self) -> io::Result<()> {
        let mut signals = signal::Signals::new()?;
        let (app_cap, probe_cap) = fds::caps(fds::raise_limit());
        // Before the first probe can arrive: the lifecycle is driven from here on.
        (self.scheduler)();
        // The probe port: its own accept loop, from here until this function returns.
        let probe_port = self.probes.map(|(listener, router)| {
            let router = router.unwrap_or_else(self.default_probes);
            start_probe_port(listener, router, self.backlog, probe_cap)
        });
        let app_cap = self.max_connections.unwrap_or(app_cap);
        let starting = self.startup.is_some();
        let policy = Policy::app(app_cap, self.idle_timeout);
        let mut app_port = start_app_port(self.listener, self.app, self.backlog, policy, starting);
        let started = match self.startup {
            None => {
                self.lifecycle.mark_started();
                Started::Yes
            }
            Some(work) => run_startup(work, &self.lifecycle, &mut signals).await,
        };
        let result = match started {
            Started::Yes => {
                drain(&self.lifecycle, &mut signals, self.drain_delay).await;
                Ok(())
            }
            Started::Cancelled => Ok(()),
            Started::Failed(error) => {
                Err(io::Error::other(format!("start-up work failed: {error}")))
            }
        };
        // Long-lived answers (gRPC health watches) say their last word and end, so that the
        // connections they hold close within the shutdown timeout.
        self.lifecycle.begin_stop();
        finish_in_flight(&mut app_port, self.shutdown_timeout, &mut signals).await;
        if let Some(probe_port) = probe_port {
            probe_port.close().await;
        }
        tracing::info!("server stopped");
        result
    }
}

/// Starts the probe port's accept loop.
fn start_probe_port(listener: TcpListener, router: Router, backlog: u32, cap: usize) -> Port {
    let policy = Policy::probe(cap);
    let listener = listening(listener, backlog);
    if let Ok(addr) = listener.local_addr() {
        tracing::info!(%addr, max_connections = cap, "serving probes on their own listener");
    }
    Port::start(listener, router, policy)
}

/// Starts the application port's accept loop.
fn start_app_port(
    listener: TcpListener,
    app: Router,
    backlog: u32,
    policy: Policy,
    starting: bool,
) -> Port {
    let listener = listening(listener, backlog);
    if let Ok(addr) = listener.local_addr() {
        tracing::info!(%addr, starting, max_connections = policy.max_connections, "serving");
    }
    Port::start(listener, app, policy)
}

/// `listener`, its listen backlog set to `backlog`.
fn listening(listener: TcpListener, backlog: u32) -> TcpListener {
    set_backlog(&listener, backlog);
    listener
}

/// Waits for the shutdown signal (or for the lifecycle to start draining), turns readiness 503,
/// and keeps serving for the drain delay, or until a second signal.
async fn drain(lifecycle: &Lifecycle, signals: &mut signal::Signals, drain_delay: Duration) {
    let signal = tokio::select! {
        name = signals.next() => Some(name),
        () = lifecycle.reached(Phase::Draining) => None,
    };
    match signal {
        Some(name) => tracing::info!(signal = name, "shutdown signal received"),
        None => tracing::info!("lifecycle draining"),
    }
    lifecycle.begin_drain();
    tracing::info!(
        drain_delay_ms = millis(drain_delay),
        "readiness now fails; still serving during the drain delay"
    );
    tokio::select! {
        () = tokio::time::sleep(drain_delay) => {}
        name = signals.next() => tracing::info!(
            signal = name,
            "second shutdown signal: drain delay skipped"
        ),
    }
}

/// Stops accepting on the application port and lets its requests in flight finish within the
/// shutdown timeout; cuts those still in flight then, or at a third signal.
async fn finish_in_flight(
    app_port: &mut Port,
    shutdown_timeout: Duration,
    signals: &mut signal::Signals,
) {
    // Stop accepting; idle connections close now, busy ones after their answer.
    app_port.stop_accepting();
    tracing::info!(
        in_flight_requests = app_port.in_flight(),
        shutdown_timeout_ms = millis(shutdown_timeout),
        "no longer accepting; finishing in-flight requests"
    );
    let finished = tokio::select! {
        done = tokio::time::timeout(shutdown_timeout, app_port.finished()) => done.is_ok(),
        name = signals.next() => {
            tracing::info!(signal = name, "third shutdown signal: cutting requests now");
            false
        }
    };
    if !finished {
        let cut = app_port.in_flight();
        app_port.cut();
        tracing::warn!(
            requests_cut = cut,
            shutdown_timeout_ms = millis(shutdown_timeout),
            "requests still in flight at the shutdown bound were cut without an answer"
        );
        app_port.finished().await;
    }
}

/// How start-up work ended.
enum Started {
    Yes,
    Cancelled,
    Failed(StartupError),
}

/// Runs the start-up work until it completes (the lifecycle turns started), fails, or a
/// shutdown signal (or a drain) cancels it.
async fn run_startup(
    work: BoxFuture<'static, Result<(), StartupError>>,
    lifecycle: &Lifecycle,
    signals: &mut signal::Signals,
) -> Started {
    tokio::select! {
        done = work => match done {
            Ok(()) => {
                tracing::info!("start-up work done");
                lifecycle.mark_started();
                Started::Yes
            }
            Err(error) => {
                tracing::error!(%error, "start-up work failed; stopping");
                lifecycle.begin_drain();
                Started::Failed(error)
            }
        },
        name = signals.next() => {
            tracing::info!(signal = name, "shutdown signal during start-up: start-up work cancelled");
            lifecycle.begin_drain();
            Started::Cancelled
        }
        () = lifecycle.reached(Phase::Draining) => {
            tracing::info!("lifecycle draining during start-up: start-up work cancelled");
            Started::Cancelled
        }
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// The future of a running server: what `.await` on a [`Serve`] runs, obtained through
/// [`IntoFuture`] (`serve(..).into_future()`), for instance to spawn the server as a task.
///
/// It resolves with `Ok(())` once the graceful shutdown is over, or with the error of failed
/// start-up work (or of installing the signal handlers). Dropping it stops the server at once:
/// its listeners close and its connections are dropped.
///
/// ```no_run
/// # use health_axum::prelude::*;
/// # #[derive(Clone, HealthState)]
/// # struct AppState { #[health(lifecycle)] lifecycle: Lifecycle }
/// # async fn run(state: AppState, app: Router) -> std::io::Result<()> {
/// use std::future::IntoFuture;
///
/// let listener = tokio::net::TcpListener::bind("0.0.0.0:3000").await?;
/// let server: health_axum::ServeFuture = health_axum::serve(listener, app, state).into_future();
/// let task = tokio::spawn(server);
/// # task.await.expect("the server task panicked")
/// # }
/// ```
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct ServeFuture(Pin<Box<dyn Future<Output = io::Result<()>> + Send>>);

impl Future for ServeFuture {
    type Output = io::Result<()>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.0.as_mut().poll(cx)
    }
}

impl std::fmt::Debug for ServeFuture {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServeFuture").finish_non_exhaustive()
    }
}

impl IntoFuture for Serve {
    type Output = io::Result<()>;
    type IntoFuture = ServeFuture;

    fn into_future(self) -> Self::IntoFuture {
        ServeFuture(Box::pin(self.run()))
    }
}
