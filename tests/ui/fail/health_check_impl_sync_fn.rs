// A synchronous `fn check`: a check is awaited under its timeout, so it must be `async fn`.
use health_axum::prelude::*;

struct Upstream;

impl HealthCheck for Upstream {
    fn check(&self) -> CheckOutcome {
        CheckOutcome::healthy()
    }
}

fn main() {}
