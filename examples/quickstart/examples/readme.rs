use std::time::Duration;

use health_axum::prelude::*; // the macros, the types, the router extension, Router
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

// The state your handlers already share. The derive builds, at compile time, the table of
// checks (`AppState::CHECKS`), the lifecycle accessor and `AppState::health_router()`.
#[derive(Clone, HealthState)]
#[health(checks(database, migrations, cache))] // #[health_check] functions, by path
struct AppState {
    db: sqlx::PgPool,

    // A value that checks itself (it implements `HealthCheck`) is registered on its field,
    // with the same arguments as #[health_check]; the name defaults to the field's name.
    #[health(check(timeout_ms = 300))]
    upstream: Upstream,

    // Exactly one field holds the lifecycle: starting -> started -> ready -> draining.
    // Clones of the state share it.
    #[health(lifecycle)]
    lifecycle: Lifecycle,
}

// Critical: when it fails, readiness fails (503) and the Service stops routing here.
// Liveness is not affected: a database outage must never restart your pods.
#[health_check(name = "database", timeout_ms = 500, degraded_ms = 100, critical)]
async fn database(state: &AppState) -> Result<(), sqlx::Error> {
    sqlx::query("SELECT 1").execute(&state.db).await.map(|_| ())
}

// Gates the startup probe only: the pod is not "started" until the schema is in place.
#[health_check(startup, timeout_ms = 2000)]
async fn migrations(state: &AppState) -> Result<CheckOutcome, sqlx::Error> {
    let applied: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM _sqlx_migrations WHERE success")
        .fetch_one(&state.db)
        .await?;
    Ok(match applied {
        0 => CheckOutcome::unhealthy("no migration applied yet"),
        _ => CheckOutcome::healthy(),
    })
}

// Not critical: failing (or reporting degraded) only degrades readiness; it stays 200.
// Return `CheckOutcome` to report degraded, or to attach details. No argument is needed.
#[health_check(name = "cache", timeout_ms = 200)]
async fn cache() -> CheckOutcome {
    CheckOutcome::degraded("cache is cold").with_details(serde_json::json!({ "hit_rate": 0.12 }))
}

// A check as a value: the upstream accepts TCP connections.
#[derive(Clone)]
struct Upstream {
    addr: String,
}

impl HealthCheck for Upstream {
    async fn check(&self) -> CheckOutcome {
        match tokio::net::TcpStream::connect(&self.addr).await {
            Ok(_) => CheckOutcome::healthy(),
            Err(error) => CheckOutcome::unhealthy(error.to_string()),
        }
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Lazy: no connection is opened here, so the service starts while the database is down
    // (startup and readiness answer 503, liveness 200) and connects once it is up. Without
    // DATABASE_URL, libpq's variables apply (PGHOST, PGPORT, PGUSER, ...; localhost:5432).
    let db = match std::env::var("DATABASE_URL") {
        Ok(url) => PgPoolOptions::new().connect_lazy(&url)?,
        Err(_) => PgPoolOptions::new().connect_lazy_with(PgConnectOptions::new()),
    };
    let port: u16 = match std::env::var("PORT") {
        Ok(port) => port
            .parse()
            .map_err(|_| format!("PORT={port:?} is not a port"))?,
        Err(_) => 3000,
    };
    let state = AppState {
        db,
        upstream: Upstream {
            addr: "payments.internal:443".into(),
        },
        lifecycle: Lifecycle::new(),
    };
    let app = Router::new()
        .route("/", axum::routing::get(|| async { "hello" }))
        .merge(AppState::health_router()) // /health, /health/{live,ready,startup}
        .with_state(state.clone());
    let listener = tokio::net::TcpListener::bind(("0.0.0.0", port)).await?;
    // Marks the app started, serves, and on SIGTERM drains gracefully (see below).
    health_axum::serve(listener, app, state)
        .drain_delay(Duration::from_secs(5))
        .await?;
    Ok(())
}
