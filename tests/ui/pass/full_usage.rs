// Everything a user writes: function checks with and without the state, an outcome-returning
// check, a field check, the lifecycle, the router merged into an app.
use health_axum::prelude::*;

#[derive(Clone)]
struct Pool;

#[async_trait]
impl HealthCheck for Pool {
    async fn check(&self) -> CheckOutcome {
        CheckOutcome::healthy()
    }
}

#[derive(Clone, HealthState)]
#[health(checks(database, cache, migrations, clock))]
struct AppState {
    #[health(check(name = "pool", timeout_ms = 250, critical))]
    pool: Pool,
    #[health(lifecycle)]
    lifecycle: Lifecycle,
}

#[health_check(name = "database", timeout_ms = 500, critical)]
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
    assert_eq!(<AppState as HealthState>::CHECKS.len(), 5);
}
