use health_axum::prelude::*;

#[derive(Clone, HealthState)]
#[health(checks(check))]
struct AppState {
    #[health(lifecycle)]
    lifecycle: Lifecycle,
}

#[health_check(backoff_ms = 10000, max_backoff_ms = 5000)]
async fn check(_: &AppState) -> Result<(), String> {
    Ok(())
}

fn main() {}
