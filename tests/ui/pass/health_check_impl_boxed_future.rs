// Valid forms other than `async fn`: a boxed future written by hand (as `#[async_trait]` used
// to generate), and `impl Future` with an `async` block; both are registered as field checks.
use std::future::Future;
use std::pin::Pin;

use health_axum::prelude::*;

#[derive(Clone)]
struct Boxed;

impl HealthCheck for Boxed {
    // A named return type is more specific than the trait's `impl CheckFuture + Send`, which
    // rustc's `refining_impl_trait` lint warns about; here it is meant.
    #[allow(refining_impl_trait)]
    fn check(&self) -> Pin<Box<dyn Future<Output = CheckOutcome> + Send + '_>> {
        Box::pin(async { CheckOutcome::healthy() })
    }
}

#[derive(Clone)]
struct Block(&'static str);

impl HealthCheck for Block {
    fn check(&self) -> impl Future<Output = CheckOutcome> + Send {
        let name = self.0;
        async move { CheckOutcome::degraded(name) }
    }
}

#[derive(Clone, HealthState)]
struct AppState {
    #[health(check(name = "boxed"))]
    boxed: Boxed,
    #[health(check(name = "block"))]
    block: Block,
    #[health(lifecycle)]
    lifecycle: Lifecycle,
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    assert_eq!(Boxed.check().await.status(), Status::Healthy);
    assert_eq!(Block("cold").check().await.message(), Some("cold"));
    let state = AppState { boxed: Boxed, block: Block("cold"), lifecycle: Lifecycle::new() };
    let _app: Router = Router::new().merge(AppState::health_router()).with_state(state);
}
