use health_axum::prelude::*;

#[derive(Clone, HealthState)]
#[health(checks(check))]
struct AppState {
    #[health(lifecycle)]
    lifecycle: Lifecycle,
}

#[health_check(timeout_ms = 200, degraded_ms = 200)]
async fn check(_: &AppState) -> Result<(), String> {
    Ok(())
}

fn main() {}
