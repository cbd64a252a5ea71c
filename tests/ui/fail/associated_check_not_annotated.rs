// A method listed in `checks(...)` without `#[health_check]`.
use health_axum::prelude::*;

#[derive(Clone, HealthState)]
#[health(checks(AppState::database))]
struct AppState {
    #[health(lifecycle)]
    lifecycle: Lifecycle,
}

impl AppState {
    async fn database(&self) -> Result<(), String> {
        Ok(())
    }
}

fn main() {}
