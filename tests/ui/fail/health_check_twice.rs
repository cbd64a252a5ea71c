// `#[health_check]` applied twice to one function, arguments split between the two.
use health_axum::prelude::*;

#[health_check(critical)]
#[health_check(timeout_ms = 500)]
async fn database() -> Result<(), String> {
    Ok(())
}

#[derive(Clone, HealthState)]
#[health(checks(database))]
struct AppState {
    #[health(lifecycle)]
    lifecycle: Lifecycle,
}

fn main() {}
