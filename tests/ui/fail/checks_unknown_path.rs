use health_axum::prelude::*;

// A misspelt path: the compiler's own "unresolved import", and nothing more.
#[derive(Clone, HealthState)]
#[health(checks(databse))]
struct AppState {
    #[health(lifecycle)]
    lifecycle: Lifecycle,
}

#[health_check]
async fn database(_: &AppState) -> Result<(), String> {
    Ok(())
}

fn main() {}
