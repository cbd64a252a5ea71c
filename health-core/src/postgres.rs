//! The built-in database check (feature `postgres`): a `sqlx` pool checks itself.

use std::time::Instant;

use async_trait::async_trait;

use crate::{CheckOutcome, HealthCheck};

/// A pool is healthy when one statement makes a round trip through it: `SELECT 1`, sent with the
/// simple-query protocol (one round trip, no prepared statement), on a connection from the pool.
///
/// Register it as a field check; the check's timeout bounds it even when acquiring a connection
/// would wait longer (`sqlx` waits up to 30 s by default), because the engine cancels the run at
/// its timeout:
///
/// ```ignore
/// #[derive(Clone, HealthState)]
/// struct AppState {
///     #[health(check(name = "database", critical, timeout_ms = 500))]
///     db: sqlx::PgPool,
///     #[health(lifecycle)]
///     lifecycle: Lifecycle,
/// }
/// ```
///
/// The outcome's details report the pool: `size` (open connections), `idle` and `max`, and the
/// round trip's `round_trip_ms`. Written for `PgPool`; any `sqlx::Pool` (`AnyPool`, `SqlitePool`)
/// works the same way.
#[async_trait]
impl<DB> HealthCheck for sqlx::Pool<DB>
where
    DB: sqlx::Database,
    for<'c> &'c mut DB::Connection: sqlx::Executor<'c, Database = DB>,
{
    async fn check(&self) -> CheckOutcome {
        let begun = Instant::now();
        let result = sqlx::raw_sql("SELECT 1").execute(self).await;
        let round_trip = begun.elapsed();
        let outcome = match result {
            Ok(_) => CheckOutcome::healthy(),
            Err(error) => CheckOutcome::unhealthy(error.to_string()),
        };
        outcome.with_details(serde_json::json!({
            "size": self.size(),
            "idle": self.num_idle(),
            "max": self.options().get_max_connections(),
            "round_trip_ms": round_trip.as_secs_f64() * 1000.0,
        }))
    }
}
