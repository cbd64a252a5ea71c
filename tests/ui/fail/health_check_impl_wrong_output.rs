// An `async fn check` returning a `Result`, as a `#[health_check]` fn may: a `HealthCheck`
// reports a `CheckOutcome`.
use health_axum::prelude::*;

struct Upstream;

impl HealthCheck for Upstream {
    async fn check(&self) -> Result<(), String> {
        Ok(())
    }
}

fn main() {}
