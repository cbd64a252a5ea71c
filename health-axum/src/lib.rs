//! Kubernetes startup, liveness and readiness probes for [axum] services, generated at compile
//! time from attributes.
//!
//! ```no_run
//! use health_axum::prelude::*;
//!
//! #[derive(Clone, HealthState)]
//! #[health(checks(database))]
//! struct AppState {
//!     db: Database,
//!     #[health(lifecycle)]
//!     lifecycle: Lifecycle,
//! }
//!
//! #[health_check(name = "database", timeout_ms = 500, critical)]
//! async fn database(state: &AppState) -> Result<(), std::io::Error> {
//!     state.db.ping().await
//! }
//!
//! # /// A database client (a stand-in here, such as a `sqlx::PgPool`).
//! # #[derive(Clone)]
//! # struct Database;
//! # impl Database {
//! #     fn connect() -> Database { Database }
//! #     async fn ping(&self) -> Result<(), std::io::Error> { Ok(()) }
//! # }
//! # async fn run() -> std::io::Result<()> {
//! let state = AppState { db: Database::connect(), lifecycle: Lifecycle::new() };
//! let app = Router::new().merge(AppState::health_router()).with_state(state.clone());
//! let listener = tokio::net::TcpListener::bind("0.0.0.0:3000").await?;
//! health_axum::serve(listener, app, state).await?;
//! # Ok(())
//! # }
//! ```
//!
//! One dependency and one `use` suffice: this crate re-exports the macros (`health-macros`) and
//! the runtime (`health-core`). See the repository's README for the HTTP contract and the
//! semantics of each probe.

mod answers;
#[cfg(feature = "grpc")]
pub mod grpc;
mod policy;
mod request;
mod response;
mod router;
mod serve;

// What a service uses, at the root.
pub use health_core::events;
pub use health_core::metrics;
pub use health_core::{
    next_unannounced_change, overview, refresh, return_to_service, start_scheduler,
    take_out_of_service, AsHealthState, AsLifecycle, CheckFuture, CheckOutcome, HealthCheck,
    HealthState, IntoCheckOutcome, Lifecycle, Overview, Phase, Probe, Scheduler, Scope, Status,
    UnknownCheck,
};
pub use health_macros::{async_trait, health_check, HealthState};
pub use policy::Details;
pub use response::{BODY_BUDGET, MESSAGE_LIMIT};
pub use router::{HealthRouter, HealthRouterExt, ProbeRouterState};
pub use serve::{
    serve, IntoServedRouter, Serve, ServeFuture, DEFAULT_BACKLOG, DEFAULT_DRAIN_DELAY,
    DEFAULT_IDLE_TIMEOUT, DEFAULT_SHUTDOWN_TIMEOUT, PROBE_IDLE_TIMEOUT,
};

/// The engine's own vocabulary, for code that evaluates probes or builds specs without the
/// router and the macros: check specs and their defaults, one run of a check, the snapshots,
/// reports and aggregation the probes answer from.
pub mod engine {
    pub use health_core::{
        aggregate, check_deadline, evaluate, evaluate_check, evaluate_excluding, latest, run_check,
        run_checks, BoxFuture, Breaker, CheckFn, CheckOverview, CheckReport, CheckResult,
        CheckSnapshot, CheckSpec, Circuit, Damping, Message, Probes, Report, RunEnd, Scope,
        CHECK_SPAN_NAME, DEFAULT_FAILURE_THRESHOLD, DEFAULT_INTERVAL_MS, DEFAULT_MAX_BACKOFF_MS,
        DEFAULT_SUCCESS_THRESHOLD, DEFAULT_TIMEOUT_MS,
    };
}

/// What a service needs in one import: the macros, the state and check types, the router
/// extension and axum's `Router`.
pub mod prelude {
    pub use crate::{
        async_trait, health_check, AsHealthState, CheckOutcome, Details, HealthCheck,
        HealthRouterExt, HealthState, Lifecycle, Phase, Probe, Status,
    };
    pub use axum::Router;
}

/// Paths used by the code the macros generate. Not public API.
#[doc(hidden)]
pub use health_core::__private;
