// A state and its checks declared inside a function, beside a check of the module.
#![deny(warnings)]
use health_axum::prelude::*;

fn main() {
    #[derive(Clone, HealthState)]
    #[health(checks(local, self::top))]
    struct AppState {
        #[health(lifecycle)]
        lifecycle: Lifecycle,
    }

    #[health_check]
    async fn local(_: &AppState) -> Result<(), String> {
        Ok(())
    }

    assert_eq!(AppState::CHECKS.len(), 2);
    assert_eq!(AppState::CHECKS[0].name(), "local");
}

#[health_check]
async fn top() -> Result<(), String> {
    Ok(())
}
