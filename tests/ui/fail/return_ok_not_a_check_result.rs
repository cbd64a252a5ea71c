use health_axum::prelude::*;

#[derive(Clone, HealthState)]
#[health(checks(check))]
struct AppState {
    #[health(lifecycle)]
    lifecycle: Lifecycle,
}

#[health_check]
async fn check(_: &AppState) -> Result<u32, String> {
    Ok(1)
}

fn main() {}
