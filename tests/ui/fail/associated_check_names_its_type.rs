// A check in the state's `impl` that names the state type instead of `Self`.
use health_axum::prelude::*;

#[derive(Clone, HealthState)]
#[health(checks(AppState::database))]
struct AppState {
    #[health(lifecycle)]
    lifecycle: Lifecycle,
}

impl AppState {
    #[health_check]
    async fn database(state: &AppState) -> Result<(), String> {
        let _ = state;
        Ok(())
    }
}

fn main() {}
