//! The built-in database check (feature `postgres`): a `sqlx` pool checks itself.

use std::time::Duration;

use sqlx::{ConnectOptions, Connection};
use tokio::time::Instant;

use crate::check::HealthCheck;
use crate::defaults::DEFAULT_TIMEOUT_MS;
use crate::execution::check_deadline;
use crate::outcome::CheckOutcome;

/// A pool is healthy when one statement makes a round trip through it: `SELECT 1`, sent with the
/// simple-query protocol (one round trip, no prepared statement), on a connection from the pool.
///
/// Register it as a field check; the check's timeout bounds it even when acquiring a connection
/// would wait longer (`sqlx` waits up to 30 s by default):
///
/// ```no_run
/// use health_axum::prelude::*;
///
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
/// This check therefore gives the pool half of its time alone; if no connection has come by
/// then, it opens one connection of its own with the pool's options, *while the pool keeps
/// trying*, to learn why: `cannot connect to the database: ... Connection refused`, that the
/// database does not answer at all, or that it accepts connections while every pooled one is
/// in use. A pool that is merely slow (a cold connection over TLS) still wins the race. That one
/// extra connection is opened only when the pool is late, and is closed at once. The check
/// answers a little before its timeout, so its reason, not `timed out after N ms`, is reported;
/// a `SELECT 1` that gets no reply is reported as `the database does not answer`.
///
/// The outcome's details report the pool, `{"connections": {"open": 3, "idle": 1, "max": 5}}`
/// (open connections, idle ones, the pool's maximum), and, after a successful round trip,
/// `round_trip_ms`. Written for `PgPool`; any `sqlx::Pool` (`AnyPool`, `SqlitePool`) works the
/// same way.
impl<DB> HealthCheck for sqlx::Pool<DB>
where
    DB: sqlx::Database,
    for<'c> &'c mut DB::Connection: sqlx::Executor<'c, Database = DB>,
{
    async fn check(&self) -> CheckOutcome {
        let begun = Instant::now();
        let deadline =
            check_deadline().unwrap_or_else(|| begun + Duration::from_millis(DEFAULT_TIMEOUT_MS));
        // Finish a little before the runtime cuts the run, so that the reason given here, not
        // a bare "timed out", is what gets reported.
        let budget = deadline.saturating_duration_since(begun);
        let end = deadline - (budget / 10).max(Duration::from_millis(5)).min(budget);
        let outcome = match pooled_connection(self, begun, end).await {
            Ok(mut connection) => {
                let sent = Instant::now();
                // `SELECT 1` with the simple-query protocol, through the `Executor` method (a
                // boxed `Send` future): `RawSql::execute` is an `async fn` that is `Send` only
                // under a higher-ranked bound rustc cannot prove for the `Send` bound of
                // `HealthCheck::check`'s future (E0308, "lifetime mismatch" on the return type).
                // This generic impl's future is proved `Send` where it is defined, for every
                // `DB` its bounds admit.
                let select_one = sqlx::raw_sql("SELECT 1");
                let sent_one = sqlx::Executor::execute(&mut *connection, select_one);
                match tokio::time::timeout_at(end, sent_one).await {
                    Ok(Ok(_)) => {
                        let round_trip = sent.elapsed().as_secs_f64() * 1000.0;
                        return CheckOutcome::healthy().with_details(serde_json::json!({
                            "connections": connections(self),
                            "round_trip_ms": round_trip,
                        }));
                    }
                    Ok(Err(error)) => CheckOutcome::unhealthy(format!("SELECT 1 failed: {error}")),
                    Err(_) => CheckOutcome::unhealthy(format!(
                        "the database does not answer: no reply to SELECT 1 within {} ms",
                        end.saturating_duration_since(sent).as_millis()
                    )),
                }
            }
            Err(reason) => CheckOutcome::unhealthy(reason),
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

/// A connection from the pool by `end`, or why there is none.
///
/// The pool gets half of the time alone. If it has not handed out a connection by then, one
/// connection of our own is opened with the pool's options *while the pool keeps trying*: a
/// pool that is merely slow (a cold connection over TLS, say) still wins, and a database that
/// refuses, rejects or ignores new connections is reported as such.
async fn pooled_connection<DB: sqlx::Database>(
    pool: &sqlx::Pool<DB>,
    begun: Instant,
    end: Instant,
) -> Result<sqlx::pool::PoolConnection<DB>, String> {
    let acquire = pool.acquire();
    tokio::pin!(acquire);
    let halfway = begun + end.saturating_duration_since(begun) / 2;
    match tokio::time::timeout_at(halfway, &mut acquire).await {
        Ok(Ok(connection)) => return Ok(connection),
        // `PoolTimedOut` (an acquire timeout shorter than half the check's) hides the cause;
        // any other error is the cause.
        Ok(Err(sqlx::Error::PoolTimedOut)) => {
            return Err(explain(pool, begun, end, open_one(pool, end).await));
        }
        Ok(Err(error)) => return Err(format!("cannot get a pooled connection: {error}")),
        Err(_) => {}
    }
    let opening = open_one(pool, end);
    tokio::pin!(opening);
    let opened = tokio::select! {
        acquired = &mut acquire => match acquired {
            Ok(connection) => return Ok(connection),
            Err(sqlx::Error::PoolTimedOut) => opening.await,
            Err(error) => return Err(format!("cannot get a pooled connection: {error}")),
        },
        opened = &mut opening => {
            if let Opened::Accepted = opened {
                // The database takes new connections: give the pool the rest of the time.
                match tokio::time::timeout_at(end, &mut acquire).await {
                    Ok(Ok(connection)) => return Ok(connection),
                    Ok(Err(sqlx::Error::PoolTimedOut)) | Err(_) => {}
                    Ok(Err(error)) => {
                        return Err(format!("cannot get a pooled connection: {error}"))
                    }
                }
            }
            opened
        }
    };
    Err(explain(pool, begun, end, opened))
}

/// What opening one connection of our own taught us.
enum Opened {
    /// It opened (and is being closed): the database accepts new connections.
    Accepted,
    /// It failed, with the database's or the network's own error.
    Failed(sqlx::Error),
    /// It did not open by the end of the check's time.
    NoAnswer,
}

/// Opens one connection with the pool's own options, bounded by `end`, and closes it again.
async fn open_one<DB: sqlx::Database>(pool: &sqlx::Pool<DB>, end: Instant) -> Opened {
    let options = pool.connect_options();
    match tokio::time::timeout_at(end, options.connect()).await {
        Ok(Ok(connection)) => {
            // Closing politely (a `Terminate` message, so the server logs no broken
            // connection) must not take the check's time: it goes on in the background,
            // bounded in case the server stops answering right now.
            tokio::spawn(tokio::time::timeout(CLOSE_BOUND, connection.close()));
            Opened::Accepted
        }
        Ok(Err(error)) => Opened::Failed(error),
        Err(_) => Opened::NoAnswer,
    }
}

/// How long closing the diagnostic connection may take in the background.
const CLOSE_BOUND: Duration = Duration::from_secs(5);

/// The reason no pooled connection came, given what opening one of our own taught us.
fn explain<DB: sqlx::Database>(
    pool: &sqlx::Pool<DB>,
    begun: Instant,
    end: Instant,
    opened: Opened,
) -> String {
    let waited_ms = end.saturating_duration_since(begun).as_millis();
    match opened {
        Opened::Failed(error) => format!("cannot connect to the database: {error}"),
        Opened::NoAnswer => {
            format!("the database does not answer: no connection opened within {waited_ms} ms")
        }
        Opened::Accepted => {
            let max = pool.options().get_max_connections();
            if pool.size() >= max {
                format!(
                    "no pooled connection within {waited_ms} ms: all {max} connections are in \
                     use (the database itself accepts new connections)"
                )
            } else {
                format!(
                    "no pooled connection within {waited_ms} ms, although the database accepts \
                     new connections"
                )
            }
        }
    }
}
