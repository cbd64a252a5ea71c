// A private check of another module, listed by its path.
use health_axum::prelude::*;

mod checks {
    use health_axum::prelude::*;

    #[health_check]
    async fn database() -> Result<(), String> {
        Ok(())
    }
}

#[derive(Clone, HealthState)]
#[health(checks(checks::database))]
struct AppState {
    #[health(lifecycle)]
    lifecycle: Lifecycle,
}

fn main() {}
