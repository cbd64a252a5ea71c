// Checks and modules named like crates the program depends on (`tokio`, `serde_json`), and a check
// declared inside a function that shadows one of the module: each name means the nearest item,
// as everywhere in Rust.
#![deny(warnings)]
use health_axum::prelude::*;

#[derive(Clone, HealthState)]
#[health(checks(tokio, serde_json::reachable))]
struct AppState {
    #[health(lifecycle)]
    lifecycle: Lifecycle,
}

#[health_check]
async fn tokio() -> Result<(), String> {
    Ok(())
}

mod serde_json {
    #[health_axum::health_check]
    pub async fn reachable() -> Result<(), String> {
        Ok(())
    }
}


fn main() {
    #[derive(Clone, HealthState)]
    #[health(checks(tokio))]
    struct Inner {
        #[health(lifecycle)]
        lifecycle: Lifecycle,
    }

    #[health_check(name = "inner")]
    async fn tokio() -> Result<(), String> {
        Ok(())
    }

    assert_eq!(AppState::CHECKS.len(), 2);
    assert_eq!(Inner::CHECKS[0].name(), "inner");
}
