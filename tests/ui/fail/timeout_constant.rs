use health_axum::prelude::*;

#[derive(Clone, HealthState)]
#[health(checks(check))]
struct AppState {
    #[health(lifecycle)]
    lifecycle: Lifecycle,
}

const TIMEOUT: u64 = 500;

#[health_check(timeout_ms = TIMEOUT)]
async fn check(_: &AppState) -> Result<(), String> {
    let _ = TIMEOUT;
    Ok(())
}

fn main() {}
