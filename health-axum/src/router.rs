//! The probe router: GET and HEAD on `/health`, `/health/live`, `/health/ready` and
//! `/health/startup`, answered from the state's compile-time check registry.

use std::borrow::Cow;
use std::marker::PhantomData;
use std::sync::Arc;

use axum::extract::State;
use axum::routing::get;
use axum::Router;
use health_core::{evaluate, HealthState, Probe, Scope};

use crate::response;

/// Builds the probe routes of a state type; obtained from [`HealthRouterExt::health_router`].
///
/// It converts into an [`axum::Router`], so it can be passed to [`Router::merge`] as it is, or
/// after changing paths or the version:
///
/// ```ignore
/// let app = Router::new()
///     .route("/", get(index))
///     .merge(AppState::health_router().ready_path("/readyz").version("2024.06.1"))
///     .with_state(state);
/// ```
#[must_use = "merge the probe routes into your router with `.merge(...)`"]
pub struct HealthRouter<S> {
    report: Cow<'static, str>,
    live: Cow<'static, str>,
    ready: Cow<'static, str>,
    startup: Cow<'static, str>,
    version: Option<Cow<'static, str>>,
    state: PhantomData<fn() -> S>,
}

impl<S> std::fmt::Debug for HealthRouter<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HealthRouter")
            .field("report", &self.report)
            .field("live", &self.live)
            .field("ready", &self.ready)
            .field("startup", &self.startup)
            .field("version", &self.version)
            .finish()
    }
}

impl<S: HealthState> Default for HealthRouter<S> {
    fn default() -> Self {
        HealthRouter {
            report: Cow::Borrowed("/health"),
            live: Cow::Borrowed("/health/live"),
            ready: Cow::Borrowed("/health/ready"),
            startup: Cow::Borrowed("/health/startup"),
            version: None,
            state: PhantomData,
        }
    }
}

impl<S: HealthState> HealthRouter<S> {
    /// Path of the full report (default `/health`).
    pub fn report_path(mut self, path: impl Into<Cow<'static, str>>) -> Self {
        self.report = path.into();
        self
    }

    /// Path of the liveness probe (default `/health/live`).
    pub fn live_path(mut self, path: impl Into<Cow<'static, str>>) -> Self {
        self.live = path.into();
        self
    }

    /// Path of the readiness probe (default `/health/ready`).
    pub fn ready_path(mut self, path: impl Into<Cow<'static, str>>) -> Self {
        self.ready = path.into();
        self
    }

    /// Path of the startup probe (default `/health/startup`).
    pub fn startup_path(mut self, path: impl Into<Cow<'static, str>>) -> Self {
        self.startup = path.into();
        self
    }

    /// Overrides the version reported in bodies (default: the state's `HealthState::VERSION`,
    /// the version of the crate that derived it).
    pub fn version(mut self, version: impl Into<Cow<'static, str>>) -> Self {
        self.version = Some(version.into());
        self
    }

    /// The routes, ready to be merged into the application's router.
    ///
    /// # Panics
    /// If a path does not start with `/` or two probes share a path: both are programming
    /// errors, reported when the router is built at start-up.
    pub fn build(self) -> Router<S> {
        let paths = [&self.report, &self.live, &self.ready, &self.startup];
        for (i, path) in paths.iter().enumerate() {
            assert!(
                path.starts_with('/'),
                "health probe path {path:?} must start with `/`"
            );
            assert!(
                !paths[..i].contains(path),
                "health probe path {path:?} is used for two probes"
            );
        }
        let version: Arc<str> = Arc::from(self.version.as_deref().unwrap_or(S::VERSION));
        let route = |scope: Scope| {
            let version = Arc::clone(&version);
            get(move |State(state): State<S>| async move {
                response::json(&evaluate(&state, scope).await, &version)
            })
        };
        Router::new()
            .route(&self.report, route(Scope::Full))
            .route(&self.live, route(Scope::Probe(Probe::Live)))
            .route(&self.ready, route(Scope::Probe(Probe::Ready)))
            .route(&self.startup, route(Scope::Probe(Probe::Startup)))
    }
}

impl<S: HealthState> From<HealthRouter<S>> for Router<S> {
    fn from(builder: HealthRouter<S>) -> Self {
        builder.build()
    }
}

/// Adds `health_router()` to every [`HealthState`] type: `AppState::health_router()`.
pub trait HealthRouterExt: HealthState {
    /// The probe routes for this state, with the default paths; see [`HealthRouter`].
    fn health_router() -> HealthRouter<Self> {
        HealthRouter::default()
    }
}

impl<S: HealthState> HealthRouterExt for S {}
