// Code written when `HealthCheck` was an `#[async_trait]` trait: the prelude's `#[async_trait]`
// still compiles on an impl of it (it leaves the impl unchanged), and is still the
// `async-trait` crate's attribute on a trait of the user's own.
use health_axum::prelude::*;

#[derive(Clone)]
struct Upstream;

#[async_trait]
impl HealthCheck for Upstream {
    async fn check(&self) -> CheckOutcome {
        CheckOutcome::healthy()
    }
}

// Through the root path too, with the trait named by its path.
#[derive(Clone)]
struct Cache;

#[health_axum::async_trait]
impl health_axum::HealthCheck for Cache {
    async fn check(&self) -> CheckOutcome {
        CheckOutcome::degraded("cold")
    }
}

#[async_trait]
trait Ping {
    async fn ping(&self) -> bool;
}

// The crate path, for a renamed dependency (`crate = "..."`), with the attribute's own `?Send`.
#[async_trait(crate = "health_axum", ?Send)]
trait Local {
    async fn local(&self) -> u8;
}

#[async_trait(?Send, crate = "::health_axum")]
impl Local for Cache {
    async fn local(&self) -> u8 {
        7
    }
}

#[async_trait]
impl Ping for Upstream {
    async fn ping(&self) -> bool {
        true
    }
}

#[derive(Clone, HealthState)]
struct AppState {
    #[health(check(name = "upstream"))]
    upstream: Upstream,
    #[health(check(name = "cache"))]
    cache: Cache,
    #[health(lifecycle)]
    lifecycle: Lifecycle,
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    assert!(Upstream.ping().await);
    // The real attribute: a trait of the user's own is `dyn`-compatible, as it was.
    let ping: &dyn Ping = &Upstream;
    assert!(ping.ping().await);
    assert_eq!(Cache.local().await, 7);
    assert_eq!(Cache.check().await.status(), Status::Degraded);
    let state = AppState { upstream: Upstream, cache: Cache, lifecycle: Lifecycle::new() };
    let _app: Router = Router::new().merge(AppState::health_router()).with_state(state);
}
