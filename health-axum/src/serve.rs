//! Serving with Kubernetes-friendly graceful shutdown.

use std::future::{Future, IntoFuture};
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::time::Duration;

use axum::Router;
use health_core::{start_scheduler, BoxFuture, HealthState, Lifecycle, Phase, Scheduler};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;
use tower_service::Service;

use crate::HealthRouterExt;

/// The connection future for an accepted `stream` from `remote`, served by `make_service`'s
/// service over HTTP/1.1 (upgrades allowed). A macro because the connection's concrete type,
/// which `GracefulShutdown::watch` needs, cannot be named.
macro_rules! http_connection {
    ($builder:expr, $make_service:expr, $stream:expr, $remote:expr) => {{
        let stream: TcpStream = $stream;
        let _ = stream.set_nodelay(true);
        let service = $make_service
            .call($remote)
            .await
            .unwrap_or_else(|never| match never {});
        $builder
            .serve_connection_with_upgrades(TokioIo::new(stream), TowerToHyperService::new(service))
            .into_owned()
    }};
}

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
/// 3. after the [drain delay](Serve::drain_delay) the server stops accepting and lets in-flight
///    requests finish, for at most the [shutdown timeout](Serve::shutdown_timeout);
/// 4. the future resolves.
///
/// ```ignore
/// let listener = tokio::net::TcpListener::bind("0.0.0.0:3000").await?;
/// health_axum::serve(listener, app, state).await?;
/// // or, with other bounds:
/// health_axum::serve(listener, app, state)
///     .drain_delay(Duration::from_secs(10))
///     .shutdown_timeout(Duration::from_secs(20))
///     .await?;
/// ```
pub fn serve<S: HealthState>(listener: TcpListener, app: Router, state: S) -> Serve {
    let probe_state = state.clone();
    Serve {
        listener,
        app,
        lifecycle: state.lifecycle().clone(),
        scheduler: Box::new(move || start_scheduler(&state)),
        default_probes: Box::new(move || S::health_router().build().with_state(probe_state)),
        probes: None,
        startup: None,
        drain_delay: DEFAULT_DRAIN_DELAY,
        shutdown_timeout: DEFAULT_SHUTDOWN_TIMEOUT,
    }
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
}

impl std::fmt::Debug for Serve {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Serve")
            .field("listener", &self.listener)
            .field("lifecycle", &self.lifecycle)
            .field("drain_delay", &self.drain_delay)
            .field("shutdown_timeout", &self.shutdown_timeout)
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
    /// `serve` returns the error, so the process exits and Kubernetes restarts it.
    ///
    /// ```ignore
    /// health_axum::serve(listener, app, state.clone())
    ///     .startup(async move { MIGRATOR.run(&state.db).await })
    ///     .await?;
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
    /// reached), and the port can be kept off the Service and the ingress.
    ///
    /// The probe listener answers from start to finish: through start-up work, the drain delay
    /// and the in-flight shutdown; it closes when `serve` returns.
    ///
    /// ```ignore
    /// let app_port = TcpListener::bind("0.0.0.0:3000").await?;
    /// let probe_port = TcpListener::bind("0.0.0.0:9000").await?;
    /// health_axum::serve(app_port, app, state).probes_on(probe_port).await?;
    /// ```
    pub fn probes_on(mut self, listener: TcpListener) -> Self {
        self.probes = Some((listener, None));
        self
    }

    /// As [`Serve::probes_on`], with routes of your own (other paths, [`Details`](crate::Details),
    /// aliases): `AppState::health_router().kubernetes_aliases().build().with_state(state)`.
    pub fn probes_on_with(mut self, listener: TcpListener, probes: Router) -> Self {
        self.probes = Some((listener, Some(probes)));
        self
    }

    /// How long to keep accepting (with readiness 503) after the shutdown signal;
    /// default [`DEFAULT_DRAIN_DELAY`].
    pub fn drain_delay(mut self, delay: Duration) -> Self {
        self.drain_delay = delay;
        self
    }

    /// How long in-flight requests may take to finish once accepting stopped;
    /// default [`DEFAULT_SHUTDOWN_TIMEOUT`]. Connections still open after it are closed.
    pub fn shutdown_timeout(mut self, timeout: Duration) -> Self {
        self.shutdown_timeout = timeout;
        self
    }

    async fn run(self) -> io::Result<()> {
        let Serve {
            listener,
            app,
            lifecycle,
            scheduler,
            default_probes,
            probes,
            mut startup,
            drain_delay,
            shutdown_timeout,
        } = self;
        // The probe port: its own accept loop, stopped when this function returns.
        let _probe_server = probes.map(|(listener, router)| {
            let router = router.unwrap_or_else(default_probes);
            if let Ok(addr) = listener.local_addr() {
                tracing::info!(%addr, "serving probes on their own listener");
            }
            AbortOnDrop(tokio::spawn(probe_server(listener, router)))
        });
        let signal = shutdown_signal()?;
        let drain = {
            let lifecycle = lifecycle.clone();
            async move {
                tokio::select! {
                    name = signal => tracing::info!(signal = name, "shutdown signal received"),
                    () = lifecycle.reached(Phase::Draining) => tracing::info!("lifecycle draining"),
                }
                lifecycle.begin_drain();
                tracing::info!(
                    drain_delay_ms = drain_delay.as_millis() as u64,
                    "readiness now fails; still serving during the drain delay"
                );
                tokio::time::sleep(drain_delay).await;
            }
        };
        tokio::pin!(drain);

        scheduler();
        if let Ok(addr) = listener.local_addr() {
            tracing::info!(%addr, starting = startup.is_some(), "serving");
        }
        if startup.is_none() {
            lifecycle.mark_started();
        }
        let mut failed = None;

        let mut make_service = app.into_make_service_with_connect_info::<SocketAddr>();
        let builder = http_builder(APP_HEADER_READ_TIMEOUT, true);
        let graceful = GracefulShutdown::new();
        let mut connections = JoinSet::new();
        loop {
            tokio::select! {
                () = &mut drain => break,
                done = async {
                    match startup.as_mut() {
                        Some(work) => work.await,
                        None => std::future::pending().await,
                    }
                } => {
                    startup = None;
                    match done {
                        Ok(()) => {
                            tracing::info!("start-up work done");
                            lifecycle.mark_started();
                        }
                        Err(error) => {
                            tracing::error!(%error, "start-up work failed; stopping");
                            lifecycle.begin_drain();
                            failed = Some(error);
                            break;
                        }
                    }
                }
                accepted = listener.accept() => match accepted {
                    Ok((stream, remote)) => {
                        let connection = http_connection!(builder, make_service, stream, remote);
                        connections.spawn(graceful.watch(connection));
                    }
                    Err(error) => accept_error(error).await,
                },
                Some(_) = connections.join_next(), if !connections.is_empty() => {}
            }
        }

        // Stop accepting: from here on new connections are refused.
        drop(listener);
        tracing::info!(
            in_flight_connections = connections.len(),
            shutdown_timeout_ms = shutdown_timeout.as_millis() as u64,
            "no longer accepting; finishing in-flight requests"
        );
        let finished = tokio::time::timeout(shutdown_timeout, async {
            // Each connection finishes the request it is serving, then closes.
            graceful.shutdown().await;
            while connections.join_next().await.is_some() {}
        })
        .await;
        if finished.is_err() {
            tracing::warn!(
                open_connections = connections.len(),
                shutdown_timeout_ms = shutdown_timeout.as_millis() as u64,
                "requests still in flight after the shutdown timeout; closing their connections"
            );
            connections.shutdown().await;
        }
        tracing::info!("server stopped");
        match failed {
            None => Ok(()),
            Some(error) => Err(io::Error::other(format!("start-up work failed: {error}"))),
        }
    }
}

/// A client that has not sent its request head within this time on the application port is
/// disconnected (hyper's usual bound, which needs a timer to apply).
const APP_HEADER_READ_TIMEOUT: Duration = Duration::from_secs(30);

/// The same on the probe port, where requests are tiny: 5 s.
const PROBE_HEADER_READ_TIMEOUT: Duration = Duration::from_secs(5);

/// Open connections the probe port serves at once; more are closed on accept.
const MAX_PROBE_CONNECTIONS: usize = 256;

/// The HTTP/1.1 connection builder: a Tokio timer, so the header read timeout applies.
fn http_builder(header_read_timeout: Duration, keep_alive: bool) -> Builder<TokioExecutor> {
    let mut builder = Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(header_read_timeout)
        .keep_alive(keep_alive);
    builder
}

/// The probe listener's accept loop; its connections end with it (they are short requests).
async fn probe_server(listener: TcpListener, router: Router) {
    let mut make_service = router.into_make_service_with_connect_info::<SocketAddr>();
    // Probes are one short request per connection: no keep-alive, a short header timeout, and
    // a cap, so idle or slow clients cannot tie the probe port up.
    let builder = http_builder(PROBE_HEADER_READ_TIMEOUT, false);
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, remote)) => {
                    if connections.len() >= MAX_PROBE_CONNECTIONS {
                        drop(stream);
                        continue;
                    }
                    connections.spawn(http_connection!(builder, make_service, stream, remote));
                }
                Err(error) => accept_error(error).await,
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
}

/// Aborts a task when dropped.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Errors from `accept`: a connection that failed before it was accepted is skipped; anything
/// else (e.g. out of file descriptors) is logged and retried after a pause instead of spinning.
async fn accept_error(error: io::Error) {
    use io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    if matches!(
        error.kind(),
        ConnectionAborted | ConnectionRefused | ConnectionReset
    ) {
        return;
    }
    tracing::error!(%error, "accept failed; retrying in 100 ms");
    tokio::time::sleep(Duration::from_millis(100)).await;
}

impl IntoFuture for Serve {
    type Output = io::Result<()>;
    type IntoFuture = Pin<Box<dyn Future<Output = io::Result<()>> + Send>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.run())
    }
}

/// Resolves with the signal's name on SIGTERM or SIGINT (Ctrl-C). The handlers are installed
/// before this returns, so a signal arriving from now on is never lost.
fn shutdown_signal() -> io::Result<impl Future<Output = &'static str>> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let mut term = signal(SignalKind::terminate())?;
        let mut int = signal(SignalKind::interrupt())?;
        Ok(async move {
            tokio::select! {
                _ = term.recv() => "SIGTERM",
                _ = int.recv() => "SIGINT",
            }
        })
    }
    #[cfg(not(unix))]
    {
        Ok(async {
            let _ = tokio::signal::ctrl_c().await;
            "Ctrl-C"
        })
    }
}
