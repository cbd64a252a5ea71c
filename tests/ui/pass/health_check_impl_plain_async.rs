// The fix for a sync `fn check` or an `#[async_trait]` of the `async-trait` crate: a plain
// `async fn check(&self) -> CheckOutcome`, no attribute; registered as a field check, and
// called directly (the trait is in the prelude).
use health_axum::prelude::*;

#[derive(Clone)]
struct Upstream {
    reachable: bool,
}

impl HealthCheck for Upstream {
    async fn check(&self) -> CheckOutcome {
        tokio::task::yield_now().await;
        if self.reachable {
            CheckOutcome::healthy()
        } else {
            CheckOutcome::unhealthy("unreachable")
        }
    }
}

#[derive(Clone, HealthState)]
struct AppState {
    #[health(check(name = "upstream", critical))]
    upstream: Upstream,
    #[health(check(name = "shared"))]
    shared: std::sync::Arc<Upstream>,
    #[health(lifecycle)]
    lifecycle: Lifecycle,
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let upstream = Upstream { reachable: false };
    assert_eq!(upstream.check().await.status(), Status::Unhealthy);
    let state = AppState {
        upstream,
        shared: std::sync::Arc::new(Upstream { reachable: true }),
        lifecycle: Lifecycle::new(),
    };
    let checks = <AppState as HealthState>::CHECKS;
    assert_eq!(checks.len(), 2);
    let _app: Router = Router::new().merge(AppState::health_router()).with_state(state);
}
