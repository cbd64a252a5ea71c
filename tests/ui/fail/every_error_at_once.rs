use health_axum::prelude::*;

#[derive(Clone, HealthState)]
#[health(checks(check))]
struct AppState {
    #[health(lifecycle)]
    lifecycle: Lifecycle,
}

#[health_check(name = "Bad Name", timeout_ms = -1, degraded_ms = 10, retries = 3)]
async fn check(_: &AppState, _: u32) -> Result<(), String> {
    Ok(())
}

fn main() {}
