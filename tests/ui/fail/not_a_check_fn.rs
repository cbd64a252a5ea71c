use health_axum::prelude::*;

#[derive(Clone, HealthState)]
#[health(checks(plain))]
struct AppState {
    #[health(lifecycle)]
    lifecycle: Lifecycle,
}

async fn plain(_: &AppState) -> Result<(), String> {
    Ok(())
}

fn main() {
    let _ = plain;
}
