// A check of another module listed by its bare name, without importing it.
use health_axum::prelude::*;

mod checks {
    use health_axum::prelude::*;

    #[health_check]
    pub async fn database() -> Result<(), String> {
        Ok(())
    }
}

#[derive(Clone, HealthState)]
#[health(checks(database))]
struct AppState {
    #[health(lifecycle)]
    lifecycle: Lifecycle,
}

fn main() {}
