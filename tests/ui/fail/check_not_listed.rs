// A `#[health_check]` function that no `checks(...)` lists: it would never run.
// (trybuild allows `dead_code` on the command line: the attribute turns it back on.)
#![deny(dead_code)]
use health_axum::prelude::*;

#[health_check]
async fn database() -> Result<(), String> {
    Ok(())
}

#[health_check]
async fn cache(_: &AppState) -> Result<(), String> {
    Ok(())
}

#[derive(Clone, HealthState)]
#[health(checks(cache))]
struct AppState {
    #[health(lifecycle)]
    lifecycle: Lifecycle,
}

fn main() {}
