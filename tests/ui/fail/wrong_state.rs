use health_axum::prelude::*;

#[derive(Clone, HealthState)]
#[health(checks(database))]
struct AppState {
    #[health(lifecycle)]
    lifecycle: Lifecycle,
}

#[derive(Clone)]
struct AdminState;

#[health_check]
async fn database(_: &AdminState) -> Result<(), String> {
    Ok(())
}

fn main() {}
