// A module named like a `#[health_check]` function of another module, and the fix the error
// gives when the two share a scope: the check function takes a name of its own and keeps its
// check name with `name = "..."`.
#![deny(warnings)]
use health_axum::prelude::*;

mod database {
    pub const URL: &str = "postgres://localhost";
}

mod checks {
    use health_axum::prelude::*;

    #[health_check]
    pub async fn database() -> Result<(), String> {
        let _ = super::database::URL;
        Ok(())
    }

    #[health_check]
    pub async fn cache() -> Result<(), String> {
        Ok(())
    }
}

#[health_check(name = "queue")]
async fn queue_reachable() -> Result<(), String> {
    Ok(())
}

#[allow(dead_code)]
mod queue {}

#[derive(Clone, HealthState)]
#[health(checks(checks::database, checks::cache, queue_reachable))]
struct AppState {
    #[health(lifecycle)]
    lifecycle: Lifecycle,
}

fn main() {
    assert_eq!(AppState::CHECKS[2].name(), "queue");
    let _ = checks::database();
}
