// An optional dependency: `Option<T>` is not a check, even when `T` is one.
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
    #[health(check(name = "upstream"))]
    upstream: Option<Upstream>,
    #[health(lifecycle)]
    lifecycle: Lifecycle,
}

fn main() {}
