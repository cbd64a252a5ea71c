use health_axum::prelude::*;

#[derive(Clone, HealthState)]
#[health(checks(check))]
struct AppState {
    #[health(lifecycle)]
    lifecycle: Lifecycle,
}

#[health_check(timeout_ms = 2000, interval_ms = 1000)]
async fn check(_: &AppState) -> Result<(), String> {
    Ok(())
}

fn main() {}
