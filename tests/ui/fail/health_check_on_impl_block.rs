// `#[health_check]` on the `impl HealthCheck` block, with another attribute after it.
use health_axum::prelude::*;

struct Upstream;

#[health_check]
#[allow(clippy::all)]
impl HealthCheck for Upstream {
    async fn check(&self) -> CheckOutcome {
        CheckOutcome::healthy()
    }
}

fn main() {}
