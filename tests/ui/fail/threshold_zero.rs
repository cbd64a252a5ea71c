use health_axum::prelude::*;

#[derive(Clone, HealthState)]
#[health(checks(check))]
struct AppState {
    #[health(lifecycle)]
    lifecycle: Lifecycle,
}

#[health_check(failure_threshold = 0, success_threshold = 0, breaker_threshold = 0)]
async fn check(_: &AppState) -> Result<(), String> {
    Ok(())
}

fn main() {}
