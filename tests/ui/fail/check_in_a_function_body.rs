// A check declared inside a function body, listed by a state at module level.
use health_axum::prelude::*;

#[derive(Clone, HealthState)]
#[health(checks(database))]
struct AppState {
    #[health(lifecycle)]
    lifecycle: Lifecycle,
}

fn main() {
    #[health_check]
    async fn database() -> Result<(), String> {
        Ok(())
    }
}
