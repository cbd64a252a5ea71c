// A probe key misspelled once: one error, with the key it most likely meant.
use health_axum::prelude::*;

#[derive(Clone, HealthState)]
#[health(checks(database))]
struct AppState {
    #[health(lifecycle)]
    lifecycle: Lifecycle,
}

#[health_check(readyness)]
async fn database() -> Result<(), String> {
    Ok(())
}

fn main() {}
