use health_axum::prelude::*;

#[derive(Clone, HealthState)]
#[health(checks(check))]
struct AppState {
    #[health(lifecycle)]
    lifecycle: Lifecycle,
}

// Without `backoff_ms`, the first back-off is the default interval (`DEFAULT_INTERVAL_MS`).
#[health_check(max_backoff_ms = 3000)]
async fn check(_: &AppState) -> Result<(), String> {
    Ok(())
}

fn main() {}
