//! The built-in database check (feature `postgres`): a `sqlx` pool checks itself.

use std::time::Duration;

use async_trait::async_trait;
use sqlx::{ConnectOptions, Connection};
use tokio::time::Instant;

use crate::{check_deadline, CheckOutcome, HealthCheck, DEFAULT_TIMEOUT_MS};

/// A pool is healthy when one statement makes a round trip through it: `SELECT 1`, sent with the
/// simple-query protocol (one round trip, no prepared statement), on a connection from the pool.
///
/// Register it as a field check; the check's timeout bounds it even when acquiring a connection
/// would wait longer (`sqlx` waits up to 30 s by default):
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
/// **The real cause, not "timed out".** While the database refuses connections, `sqlx` retries
/// inside the acquire and keeps the error to itself, so a bare query would only ever time out.
/// This check therefore waits for a pooled connection for at most half of its time, and uses
/// the rest to open one connection of its own, with the pool's options, to learn why none came:
/// `cannot connect to the database: ... Connection refused`, or that the database accepts
/// connections while every pooled one is in use, or that it does not answer at all. That one
/// extra connection is opened only when the pool could not hand one out in time, and is closed
/// at once.
///
/// The outcome's details report the pool, `{"connections": {"open": 3, "idle": 1, "max": 5}}`
/// (open connections, idle ones, the pool's maximum), and, after a successful round trip,
/// `round_trip_ms`. Written for `PgPool`; any `sqlx::Pool` (`AnyPool`, `SqlitePool`) works the
/// same way.
#[async_trait]
impl<DB> HealthCheck for sqlx::Pool<DB>
where
    DB: sqlx::Database,
    for<'c> &'c mut DB::Connection: sqlx::Executor<'c, Database = DB>,
{
    async fn check(&self) -> CheckOutcome {
        let begun = Instant::now();
        let deadline =
            check_deadline().unwrap_or_else(|| begun + Duration::from_millis(DEFAULT_TIMEOUT_MS));
        let budget = deadline.saturating_duration_since(begun);
        let outcome = match tokio::time::timeout(budget / 2, self.acquire()).await {
            Ok(Ok(mut connection)) => {
                let sent = Instant::now();
                // `SELECT 1` with the simple-query protocol, through the `Executor` method (a
                // boxed `Send` future): `RawSql::execute` is an `async fn` that is `Send` only
                // under a higher-ranked bound rustc cannot prove inside `#[async_trait]`.
                let select_one = sqlx::raw_sql("SELECT 1");
                match sqlx::Executor::execute(&mut *connection, select_one).await {
                    Ok(_) => {
                        let round_trip = sent.elapsed().as_secs_f64() * 1000.0;
                        return CheckOutcome::healthy().with_details(serde_json::json!({
                            "connections": connections(self),
                            "round_trip_ms": round_trip,
                        }));
                    }
                    Err(error) => CheckOutcome::unhealthy(format!("SELECT 1 failed: {error}")),
                }
            }
            // `PoolTimedOut` (an acquire timeout shorter than half the check's) hides the cause
            // as much as our own timeout does; any other error is the cause.
            Ok(Err(sqlx::Error::PoolTimedOut)) | Err(_) => {
                diagnose(self, begun.elapsed(), deadline).await
            }
            Ok(Err(error)) => {
                CheckOutcome::unhealthy(format!("cannot get a pooled connection: {error}"))
            }
        };
        outcome.with_details(serde_json::json!({ "connections": connections(self) }))
    }
}

/// The pool's figures, as a `connections` measurement.
fn connections<DB: sqlx::Database>(pool: &sqlx::Pool<DB>) -> serde_json::Value {
    serde_json::json!({
        "open": pool.size(),
        "idle": pool.num_idle(),
        "max": pool.options().get_max_connections(),
    })
}

/// Why the pool handed out no connection within `waited`: opens one connection with the pool's
/// own options, finishing a little before `deadline` so the answer is not cut.
async fn diagnose<DB: sqlx::Database>(
    pool: &sqlx::Pool<DB>,
    waited: Duration,
    deadline: Instant,
) -> CheckOutcome {
    let left = deadline.saturating_duration_since(Instant::now());
    let margin = (left / 10).max(Duration::from_millis(5));
    let limit = left.saturating_sub(margin);
    let waited_ms = waited.as_millis();
    let options = pool.connect_options();
    match tokio::time::timeout(limit, options.connect()).await {
        Ok(Ok(connection)) => {
            // Closing is polite, not needed: do not let it take the answer's time.
            tokio::spawn(async move {
                let _ = connection.close().await;
            });
            let max = pool.options().get_max_connections();
            if pool.size() >= max {
                CheckOutcome::unhealthy(format!(
                    "no pooled connection within {waited_ms} ms: all {max} connections are in \
                     use (the database itself accepts new connections)"
                ))
            } else {
                CheckOutcome::unhealthy(format!(
                    "no pooled connection within {waited_ms} ms, although the database accepts \
                     new connections"
                ))
            }
        }
        Ok(Err(error)) => {
            CheckOutcome::unhealthy(format!("cannot connect to the database: {error}"))
        }
        Err(_) => CheckOutcome::unhealthy(format!(
            "no pooled connection within {waited_ms} ms, and a new connection did not open \
             within {} ms either: the database does not answer",
            limit.as_millis()
        )),
    }
}
