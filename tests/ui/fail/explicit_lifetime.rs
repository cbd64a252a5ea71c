// An explicit lifetime on the state parameter: one error, under the lifetime.
use health_axum::prelude::*;

#[derive(Clone, HealthState)]
#[health(checks(database))]
struct AppState {
    #[health(lifecycle)]
    lifecycle: Lifecycle,
}

#[health_check]
async fn database<'a>(state: &'a AppState) -> Result<(), String> {
    let _ = state;
    Ok(())
}

fn main() {}
