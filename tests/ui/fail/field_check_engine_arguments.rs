use health_axum::prelude::*;

#[derive(Clone)]
struct Upstream;

impl HealthCheck for Upstream {
    async fn check(&self) -> CheckOutcome {
        CheckOutcome::healthy()
    }
}

#[derive(Clone, HealthState)]
struct AppState {
    #[health(check(interval_ms = 0, succes_threshold = 2, no_breaker = true))]
    upstream: Upstream,
    #[health(lifecycle)]
    lifecycle: Lifecycle,
}

fn main() {}
