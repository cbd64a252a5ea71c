use health_axum::prelude::*;

#[derive(Clone, HealthState)]
#[health(checks(check))]
struct AppState {
    #[health(lifecycle)]
    lifecycle: Lifecycle,
}

#[derive(Debug)]
struct OpaqueError;

#[health_check]
async fn check(_: &AppState) -> Result<(), OpaqueError> {
    Ok(())
}

fn main() {}
