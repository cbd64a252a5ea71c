//! A small notes service with Kubernetes probes.
//!
//! `cargo run -p quickstart` serves on `0.0.0.0:3000` (`PORT` changes the port) with a SQLite
//! database in `./quickstart.db`, created and migrated at start. Set
//! `DATABASE_URL=postgres://user:pass@host/db` to use PostgreSQL instead.
//!
//! Health checks: `database` (critical: the framework's built-in pool check, a `SELECT 1` round
//! trip with the pool's size in its details), `migrations` (gates the startup probe) and `cache`
//! (not critical: the in-memory note cache is usable). The server answers probes while the
//! migrations run (startup 503, liveness 200); a database that is not reachable yet is waited
//! for, retrying, for at most `STARTUP_BUDGET_MS` (default 5 minutes), then the process exits 1.
//! TLS to PostgreSQL (`?sslmode=require`, `verify-full`) works: sqlx is built with rustls and
//! the Mozilla root certificates.
//!
//! Probes answer on `/health/...` and on the Kubernetes names `/livez`, `/readyz`, `/startupz`
//! and `/healthz`. `PROBE_PORT=9000` moves them to a port of their own (the management-port
//! set-up). Check messages are withheld from callers unless they send
//! `Authorization: Bearer $HEALTH_TOKEN` (when `HEALTH_TOKEN` is set).
//!
//! gRPC health checking (`grpc.health.v1.Health`: Check, Watch, List) answers on the
//! application port, HTTP/2 beside HTTP/1.1, and on the probe port when there is one, for
//! Kubernetes `grpc:` probes, meshes and load balancers. Its service names: `startup`,
//! `liveness`, `readiness`, each check's name, and `""` (the liveness verdict).
//!
//! Prometheus metrics (the framework's `metrics` feature, recorded by
//! `metrics-exporter-prometheus`) answer `GET /metrics` on the probe port when there is one, else
//! on the application port: each check's status, last result, run durations (a histogram),
//! consecutive failures, last success and circuit, Kubernetes' `kubernetes_healthcheck` series,
//! the lifecycle phase and the probes' answers by status code.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Json;
use health_axum::grpc::HealthService;
use health_axum::prelude::*;
use metrics_exporter_prometheus::{BuildError, Matcher, PrometheusBuilder, PrometheusHandle};
use serde::{Deserialize, Serialize};
use sqlx::any::AnyPoolOptions;
use sqlx::migrate::Migrator;
use sqlx::AnyPool;
use tracing::Level;

static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("./migrations/postgres");

/// The application state: the pool the handlers use, and the lifecycle the probes read.
#[derive(Clone, HealthState)]
#[health(checks(migrations))]
struct AppState {
    /// The pool checks itself (feature `postgres` of `health-axum`): critical, because without
    /// the database no request can be served, so readiness fails and the Service stops routing
    /// here (liveness is unaffected). Refreshed every 5 s in the background; two failures in a
    /// row turn it unhealthy.
    #[health(check(name = "database", critical, timeout_ms = 500, degraded_ms = 100))]
    db: AnyPool,
    /// Not critical: without the cache, notes are read from the database, only slower.
    #[health(check(name = "cache", timeout_ms = 200))]
    cache: NoteCache,
    backend: Backend,
    #[health(lifecycle)]
    lifecycle: Lifecycle,
}

#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
#[serde(rename_all = "lowercase")]
enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    fn migrator(self) -> &'static Migrator {
        match self {
            Backend::Sqlite => &SQLITE_MIGRATIONS,
            Backend::Postgres => &POSTGRES_MIGRATIONS,
        }
    }
}

/// Every migration shipped with this binary is applied. Gates the startup probe only.
#[health_check(name = "migrations", startup, timeout_ms = 2000)]
async fn migrations(state: &AppState) -> Result<CheckOutcome, sqlx::Error> {
    let expected = state.backend.migrator().iter().count() as i64;
    let applied: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM _sqlx_migrations WHERE success")
        .fetch_one(&state.db)
        .await?;
    Ok(if applied >= expected {
        CheckOutcome::healthy()
    } else {
        CheckOutcome::unhealthy(format!("{} of {expected} migrations applied", applied))
    })
}

/// The notes read by id, kept in memory (notes never change once written).
#[derive(Clone, Default)]
struct NoteCache(Arc<Mutex<HashMap<i64, Note>>>);

impl NoteCache {
    /// Entries kept at most; a full cache starts over (a small example needs no LRU).
    const CAPACITY: usize = 1000;

    fn get(&self, id: i64) -> Option<Note> {
        self.0.lock().ok()?.get(&id).cloned()
    }

    fn put(&self, note: &Note) {
        // The lock is never held across an `.await`, so a std `Mutex` is the right tool.
        if let Ok(mut notes) = self.0.lock() {
            if notes.len() >= Self::CAPACITY {
                notes.clear();
            }
            notes.insert(note.id, note.clone());
        }
    }
}

/// The cache is usable: its lock is not poisoned by a panic. Details: its size.
impl HealthCheck for NoteCache {
    async fn check(&self) -> CheckOutcome {
        match self.0.lock() {
            Ok(notes) => CheckOutcome::healthy().with_details(serde_json::json!({
                "entries": notes.len(),
                "capacity": Self::CAPACITY,
            })),
            Err(_) => CheckOutcome::unhealthy("note cache unusable: a request panicked holding it"),
        }
    }
}

#[derive(Clone, Serialize)]
struct Note {
    id: i64,
    body: String,
    created_at: String,
}

#[derive(Deserialize)]
struct NewNote {
    body: String,
}

type ApiError = (StatusCode, Json<serde_json::Value>);

fn api_error(status: StatusCode, message: &str) -> ApiError {
    (status, Json(serde_json::json!({ "error": message })))
}

fn db_error(error: sqlx::Error) -> ApiError {
    // SQLSTATE class 22, "data exception": the database rejected a value it was given, which
    // came from the client. The handlers validate first; this is the net behind them.
    let code = error.as_database_error().and_then(|e| e.code());
    if code.is_some_and(|code| code.starts_with("22")) {
        tracing::info!(%error, "the database rejected client input");
        return api_error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "the database rejects this value",
        );
    }
    tracing::error!(%error, "database error");
    api_error(StatusCode::SERVICE_UNAVAILABLE, "database unavailable")
}

/// Why a note body cannot be stored, if it cannot.
fn invalid_body(body: &str) -> Option<&'static str> {
    if body.is_empty() || body.len() > 10_000 {
        Some("body must be 1 to 10000 bytes")
    } else if body.contains('\0') {
        // PostgreSQL text cannot hold U+0000 (it would answer "invalid byte sequence").
        Some("body must not contain U+0000 (NUL)")
    } else {
        None
    }
}

async fn index(State(state): State<AppState>) -> Json<serde_json::Value> {
    Json(serde_json::json!({
        "service": "quickstart",
        "version": env!("CARGO_PKG_VERSION"),
        "backend": state.backend,
        "endpoints": ["GET /notes", "POST /notes", "GET /notes/{id}", "GET /work?ms=N"],
    }))
}

async fn list_notes(State(state): State<AppState>) -> Result<Json<Vec<Note>>, ApiError> {
    let rows: Vec<(i64, String, String)> =
        sqlx::query_as("SELECT id, body, created_at FROM notes ORDER BY id DESC LIMIT 100")
            .fetch_all(&state.db)
            .await
            .map_err(db_error)?;
    Ok(Json(
        rows.into_iter()
            .map(|(id, body, created_at)| Note {
                id,
                body,
                created_at,
            })
            .collect(),
    ))
}

async fn create_note(
    State(state): State<AppState>,
    Json(new): Json<NewNote>,
) -> Result<(StatusCode, Json<Note>), ApiError> {
    let body = new.body.trim();
    if let Some(problem) = invalid_body(body) {
        return Err(api_error(StatusCode::UNPROCESSABLE_ENTITY, problem));
    }
    let (id, created_at): (i64, String) =
        sqlx::query_as("INSERT INTO notes (body) VALUES ($1) RETURNING id, created_at")
            .bind(body)
            .fetch_one(&state.db)
            .await
            .map_err(db_error)?;
    let note = Note {
        id,
        body: body.to_string(),
        created_at,
    };
    state.cache.put(&note);
    Ok((StatusCode::CREATED, Json(note)))
}

async fn get_note(
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> Result<Json<Note>, ApiError> {
    if let Some(note) = state.cache.get(id) {
        return Ok(Json(note));
    }
    let row: Option<(i64, String, String)> =
        sqlx::query_as("SELECT id, body, created_at FROM notes WHERE id = $1")
            .bind(id)
            .fetch_optional(&state.db)
            .await
            .map_err(db_error)?;
    let (id, body, created_at) =
        row.ok_or_else(|| api_error(StatusCode::NOT_FOUND, "no such note"))?;
    let note = Note {
        id,
        body,
        created_at,
    };
    state.cache.put(&note);
    Ok(Json(note))
}

#[derive(Deserialize)]
struct Work {
    ms: Option<u64>,
}

/// Simulated slow work (at most 30 s), to watch a graceful shutdown finish a request.
async fn work(Query(work): Query<Work>) -> Json<serde_json::Value> {
    let ms = work.ms.unwrap_or(1000).min(30_000);
    tokio::time::sleep(Duration::from_millis(ms)).await;
    Json(serde_json::json!({ "worked_ms": ms }))
}

/// The upper bounds of the run-duration histogram's buckets, in seconds: 1 ms to 10 s, around
/// the checks' timeouts (200 ms to 2 s).
const RUN_DURATION_BUCKETS: [f64; 13] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// Installs the Prometheus recorder as the `metrics` facade's global recorder. It must come
/// before the probe routes and the gRPC service are built and before `serve` (or a probe) first
/// uses the state: the framework registers its series then, with whatever recorder is
/// installed, and a recorder installed later sees none of them.
fn install_metrics() -> Result<PrometheusHandle, BuildError> {
    let handle = PrometheusBuilder::new()
        // Without buckets the exporter renders a histogram as a summary (quantiles computed in
        // the process, which Prometheus cannot aggregate across pods): buckets make it a real
        // histogram, for `histogram_quantile(...)` over `rate(..._bucket[5m])`.
        .set_buckets_for_metric(
            Matcher::Full(health_axum::metrics::CHECK_RUN_DURATION_SECONDS.into()),
            &RUN_DURATION_BUCKETS,
        )?
        .install_recorder()?;
    // With no HTTP listener of the exporter's own, nothing else drains the histograms' samples
    // between scrapes (a scrape drains them too): an upkeep every few seconds bounds their memory
    // when nobody scrapes.
    let upkeep = handle.clone();
    tokio::spawn(async move {
        let mut every = tokio::time::interval(Duration::from_secs(5));
        loop {
            every.tick().await;
            upkeep.run_upkeep();
        }
    });
    Ok(handle)
}

/// `GET /metrics`: every series, in the Prometheus text format (version 0.0.4).
async fn render_metrics(State(handle): State<PrometheusHandle>) -> impl IntoResponse {
    let content_type = "text/plain; version=0.0.4; charset=utf-8";
    ([(header::CONTENT_TYPE, content_type)], handle.render())
}

/// The `/metrics` route, given its state: merged into either port's router.
fn metrics_route(handle: PrometheusHandle) -> Router {
    Router::new()
        .route("/metrics", get(render_metrics))
        .with_state(handle)
}

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> Result<T, String> {
    match std::env::var(name) {
        Ok(value) => value
            .parse()
            .map_err(|_| format!("{name}={value:?} is not valid")),
        Err(_) => Ok(default),
    }
}

/// Whether a failed migration run means the database is not reachable (yet): not up, not
/// resolvable, still starting, or out of connection slots. Anything else (bad credentials, a
/// failing migration, a TLS misconfiguration) does not heal by waiting.
fn database_unreachable(error: &sqlx::migrate::MigrateError) -> bool {
    let sqlx::migrate::MigrateError::Execute(error) = error else {
        return false;
    };
    match error {
        sqlx::Error::Io(_) | sqlx::Error::PoolTimedOut => true,
        sqlx::Error::Database(error) => matches!(
            error.code().as_deref(),
            // cannot_connect_now (starting up, shutting down), too_many_connections
            Some("57P03" | "53300")
        ),
        _ => false,
    }
}

/// Start-up work that did not finish.
#[derive(Debug)]
enum StartupFailed {
    /// The database was not reachable within the budget.
    Budget {
        budget: Duration,
        last: sqlx::migrate::MigrateError,
    },
    /// The migrations failed for a reason waiting does not fix.
    Migrations(sqlx::migrate::MigrateError),
}

impl std::fmt::Display for StartupFailed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StartupFailed::Budget { budget, last } => write!(
                f,
                "the database was not reachable within the start-up budget of {} ms \
                 (STARTUP_BUDGET_MS); last error: {last}",
                budget.as_millis()
            ),
            StartupFailed::Migrations(error) => write!(f, "migrations failed: {error}"),
        }
    }
}

impl std::error::Error for StartupFailed {}

/// Runs the migrations, waiting for the database while it is unreachable: retries with a
/// back-off (100 ms, doubling, at most 5 s) for at most `budget`. A retry that would start
/// past the budget is not made.
async fn migrate_when_reachable(
    migrator: &'static Migrator,
    db: AnyPool,
    budget: Duration,
) -> Result<(), StartupFailed> {
    let deadline = tokio::time::Instant::now() + budget;
    let mut backoff = Duration::from_millis(100);
    loop {
        match migrator.run(&db).await {
            Ok(()) => return Ok(()),
            Err(error) if database_unreachable(&error) => {
                if tokio::time::Instant::now() + backoff > deadline {
                    return Err(StartupFailed::Budget {
                        budget,
                        last: error,
                    });
                }
                tracing::warn!(
                    %error,
                    retry_in_ms = backoff.as_millis() as u64,
                    "database not reachable yet; migrations wait for it"
                );
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(5));
            }
            Err(error) => return Err(StartupFailed::Migrations(error)),
        }
    }
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    match run().await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("quickstart: {error}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), Box<dyn std::error::Error>> {
    let level = env_or("LOG_LEVEL", Level::INFO)?;
    tracing_subscriber::fmt()
        .with_max_level(level)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stdout()))
        .init();
    // First: the framework's series are registered when `serve` starts the checks.
    let metrics = install_metrics()?;

    let url = std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| "sqlite://quickstart.db?mode=rwc".to_string());
    let backend = if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Backend::Postgres
    } else if url.starts_with("sqlite:") {
        Backend::Sqlite
    } else {
        return Err("DATABASE_URL must start with postgres://, postgresql:// or sqlite:".into());
    };
    let port: u16 = env_or("PORT", 3000)?;
    let drain_delay = Duration::from_millis(env_or("DRAIN_DELAY_MS", 5000)?);
    let shutdown_timeout = Duration::from_millis(env_or("SHUTDOWN_TIMEOUT_MS", 10_000)?);
    let startup_budget = Duration::from_millis(env_or("STARTUP_BUDGET_MS", 300_000)?);

    sqlx::any::install_default_drivers();
    // Lazy: connections open on first use, so the server (and its probes) come up even while
    // the database is still starting.
    let db = AnyPoolOptions::new()
        .max_connections(5)
        .acquire_timeout(Duration::from_secs(3))
        .connect_lazy(&url)?;

    let state = AppState {
        db,
        cache: NoteCache::default(),
        backend,
        lifecycle: Lifecycle::new(),
    };
    let details = match std::env::var("HEALTH_TOKEN") {
        Ok(token) if !token.is_empty() => Details::bearer_token(token),
        _ => Details::Never,
    };
    let probes = || {
        AppState::health_router()
            .kubernetes_aliases()
            .details(details.clone())
    };
    let probe_port: Option<u16> = match std::env::var("PROBE_PORT") {
        Ok(_) => Some(env_or("PROBE_PORT", 0)?),
        Err(_) => None,
    };
    let mut app = Router::new()
        .route("/", get(index))
        .route("/notes", get(list_notes).post(create_note))
        .route("/notes/{id}", get(get_note))
        .route("/work", get(work));
    if probe_port.is_none() {
        app = app.merge(probes());
    }
    // gRPC health, on the application port whether or not the HTTP probes moved: meshes and
    // load balancers ask the port they route to. Its routes have their own state already, so
    // they are merged after `with_state`.
    let grpc = HealthService::new(&state);
    let mut app = app.with_state(state.clone()).merge(grpc.router());
    // /metrics goes where the probes are: the probe port, kept off the Service and the ingress,
    // is where Prometheus scrapes the pod; without one, the application port.
    if probe_port.is_none() {
        app = app.merge(metrics_route(metrics.clone()));
    }

    let listener = tokio::net::TcpListener::bind(("0.0.0.0", port)).await?;
    let db = state.db.clone();
    let mut server = health_axum::serve(listener, app, state.clone());
    if let Some(probe_port) = probe_port {
        let probe_listener = tokio::net::TcpListener::bind(("0.0.0.0", probe_port)).await?;
        // Routes of our own (aliases, details) replace `serve`'s default probe routes, which
        // hold gRPC health already: so it is merged here too, for `grpc:` probes on this port
        // (`Check` and `List`; this port's connections take one call each, so `Watch` is
        // answered on the application port).
        let probe_grpc = HealthService::new(&state).without_watch();
        let probe_routes = probes()
            .build()
            .with_state(state)
            .merge(probe_grpc.router())
            .merge(metrics_route(metrics));
        server = server.probes_on_with(probe_listener, probe_routes);
    }
    server
        .drain_delay(drain_delay)
        .shutdown_timeout(shutdown_timeout)
        // Start-up work runs while the probes already answer; `started` flips when it is done.
        .startup(async move {
            migrate_when_reachable(backend.migrator(), db, startup_budget).await?;
            tracing::info!(?backend, "migrations applied");
            Ok::<_, StartupFailed>(())
        })
        .await?;
    Ok(())
}
