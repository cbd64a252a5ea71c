use health_axum::prelude::*;

#[derive(Clone, HealthState)]
#[health(checks(primary, replica))]
struct AppState {
    #[health(lifecycle)]
    lifecycle: Lifecycle,
}

#[health_check(name = "database", critical)]
async fn primary(_: &AppState) -> Result<(), String> {
    Ok(())
}

#[health_check(name = "database")]
async fn replica(_: &AppState) -> Result<(), String> {
    Ok(())
}

fn main() {}
