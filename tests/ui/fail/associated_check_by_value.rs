// A check method that takes the state by value, or in an `Arc`.
use health_axum::prelude::*;
use std::sync::Arc;

#[derive(Clone, HealthState)]
#[health(checks(Self::database, Self::cache))]
struct AppState {
    #[health(lifecycle)]
    lifecycle: Lifecycle,
}

impl AppState {
    #[health_check]
    async fn database(self) -> Result<(), String> {
        Ok(())
    }

    #[health_check]
    async fn cache(self: Arc<Self>) -> Result<(), String> {
        Ok(())
    }
}

fn main() {}
