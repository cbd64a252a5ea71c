use health_axum::prelude::*;

#[derive(Clone, HealthState)]
#[health(checks(check))]
struct AppState {
    #[health(lifecycle)]
    lifecycle: Lifecycle,
}

#[health_check(no_breaker, backoff_ms = 1000, breaker_threshold = 5)]
async fn check(_: &AppState) -> Result<(), String> {
    Ok(())
}

fn main() {}
