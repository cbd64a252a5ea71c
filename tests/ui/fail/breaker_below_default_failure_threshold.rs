use health_axum::prelude::*;

#[derive(Clone, HealthState)]
#[health(checks(check))]
struct AppState {
    #[health(lifecycle)]
    lifecycle: Lifecycle,
}

#[health_check(breaker_threshold = 1)]
async fn check(_: &AppState) -> Result<(), String> {
    Ok(())
}

fn main() {}
