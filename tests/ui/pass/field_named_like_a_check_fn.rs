// A field that is not a check may share its name with a `#[health_check]` function, and the
// fix `field_check_listed_in_checks` gives (drop the field from `checks(...)`) compiles.
use health_axum::prelude::*;

#[derive(Clone)]
struct Upstream;

impl HealthCheck for Upstream {
    async fn check(&self) -> CheckOutcome {
        CheckOutcome::healthy()
    }
}

#[derive(Clone, HealthState)]
#[health(checks(database))]
struct AppState {
    database: String,
    #[health(check(name = "upstream"))]
    upstream: Upstream,
    #[health(lifecycle)]
    lifecycle: Lifecycle,
}

#[health_check]
async fn database(state: &AppState) -> Result<(), String> {
    let _ = &state.database;
    Ok(())
}

fn main() {
    let names: Vec<&str> = AppState::CHECKS.iter().map(|c| c.name()).collect();
    assert_eq!(names, ["database", "upstream"]);
}
