// A check method that borrows the state mutably.
use health_axum::prelude::*;

#[derive(Clone, HealthState)]
#[health(checks(Self::database))]
struct AppState {
    #[health(lifecycle)]
    lifecycle: Lifecycle,
}

impl AppState {
    #[health_check]
    async fn database(&mut self) -> Result<(), String> {
        Ok(())
    }
}

fn main() {}
