// `checks(...)` given twice, in one attribute or in two: the lists are merged, so no check is
// dropped.
use health_axum::prelude::*;

#[derive(Clone, HealthState)]
#[health(checks(database), version = "1.2.3")]
#[health(checks(cache), checks(queue))]
struct AppState {
    #[health(lifecycle)]
    lifecycle: Lifecycle,
}

#[health_check]
async fn database() -> Result<(), String> {
    Ok(())
}

#[health_check]
async fn cache() -> Result<(), String> {
    Ok(())
}

#[health_check]
async fn queue() -> Result<(), String> {
    Ok(())
}

fn main() {
    let names: Vec<&str> = AppState::CHECKS.iter().map(|c| c.name()).collect();
    assert_eq!(names, ["database", "cache", "queue"]);
}
