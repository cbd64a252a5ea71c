// Everything a user writes: function checks with and without the state, an outcome-returning
// check, a field check, the lifecycle, the router merged into an app.
use health_axum::prelude::*;

#[derive(Clone)]
struct Pool;

impl HealthCheck for Pool {
    async fn check(&self) -> CheckOutcome {
        CheckOutcome::healthy()
    }
}

#[derive(Clone, HealthState)]
#[health(checks(database, cache, migrations, clock))]
struct AppState {
    #[health(check(name = "pool", timeout_ms = 250, critical, interval_ms = 2000, no_breaker))]
    pool: Pool,
    #[health(lifecycle)]
    lifecycle: Lifecycle,
}

#[health_check(
    name = "database",
    timeout_ms = 500,
    critical,
    interval_ms = 1000,
    failure_threshold = 3,
    success_threshold = 2,
    breaker_threshold = 5,
    backoff_ms = 2000,
    max_backoff_ms = 60_000
)]
async fn database(_state: &AppState) -> Result<(), std::io::Error> {
    Ok(())
}

#[health_check(name = "cache", timeout_ms = 200, degraded_ms = 50)]
async fn cache(_state: &AppState) -> CheckOutcome {
    CheckOutcome::degraded("cold")
}

#[health_check(name = "migrations", startup)]
async fn migrations(_: &AppState) -> Result<CheckOutcome, String> {
    Ok(CheckOutcome::healthy())
}

#[health_check(live, ready, startup)]
async fn clock() -> Result<(), &'static str> {
    Ok(())
}

fn main() {
    let state = AppState { pool: Pool, lifecycle: Lifecycle::new() };
    let _app: Router = Router::new().merge(AppState::health_router()).with_state(state);
    let checks = <AppState as HealthState>::CHECKS;
    assert_eq!(checks.len(), 5);
    let database = &checks[0];
    assert_eq!(database.interval(), std::time::Duration::from_millis(1000));
    assert_eq!(database.damping().failure_threshold, 3);
    assert_eq!(database.damping().success_threshold, 2);
    let breaker = database.breaker().unwrap();
    assert_eq!(breaker.threshold, 5);
    assert_eq!(breaker.backoff, std::time::Duration::from_millis(2000));
    assert_eq!(breaker.max_backoff, std::time::Duration::from_secs(60));
    let pool = &checks[4];
    assert!(pool.breaker().is_none());
    assert_eq!(pool.interval(), std::time::Duration::from_secs(2));
}
