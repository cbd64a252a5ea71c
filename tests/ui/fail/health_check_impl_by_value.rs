// `check(self)`, taking the value: a check borrows it (`&self`), since it runs again and again.
// rustc's own error (E0053), which shows the fix.
use health_axum::prelude::*;

struct Upstream;

impl HealthCheck for Upstream {
    async fn check(self) -> CheckOutcome {
        CheckOutcome::healthy()
    }
}

fn main() {}
