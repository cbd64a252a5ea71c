// `#[health_check]` on the state's `impl` block instead of on its check methods.
use health_axum::prelude::*;

#[derive(Clone, HealthState)]
struct AppState {
    #[health(lifecycle)]
    lifecycle: Lifecycle,
}

#[health_check]
impl AppState {
    async fn database(&self) -> Result<(), String> {
        Ok(())
    }
}

fn main() {}
