// `const async fn`: one error, under `const`.
use health_axum::prelude::*;

#[derive(Clone, HealthState)]
#[health(checks(database))]
struct AppState {
    #[health(lifecycle)]
    lifecycle: Lifecycle,
}

#[health_check]
const async fn database() -> Result<(), String> {
    Ok(())
}

fn main() {}
