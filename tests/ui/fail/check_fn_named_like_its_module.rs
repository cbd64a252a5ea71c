// A check function listed under a name that a module of the same scope also takes.
use health_axum::prelude::*;

mod database {
    pub const URL: &str = "postgres://localhost";
}

#[health_check]
async fn database() -> Result<(), String> {
    let _ = database::URL;
    Ok(())
}

#[derive(Clone, HealthState)]
#[health(checks(database))]
struct AppState {
    #[health(lifecycle)]
    lifecycle: Lifecycle,
}

fn main() {}
