// A check method that no `checks(...)` lists: it would never run.
// (trybuild allows `dead_code` on the command line: the attribute turns it back on.)
#![deny(dead_code)]
use health_axum::prelude::*;

#[derive(Clone, HealthState)]
struct AppState {
    #[health(lifecycle)]
    lifecycle: Lifecycle,
}

impl AppState {
    #[health_check]
    async fn database(&self) -> Result<(), String> {
        Ok(())
    }
}

fn main() {}
