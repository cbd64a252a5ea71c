// A check function, and a check method, named like the parameter the generated code passes the
// state through: `state`.
#![deny(warnings)]
use health_axum::prelude::*;

#[health_check]
async fn state(state: &AppState) -> Result<(), String> {
    let _ = state;
    Ok(())
}

#[derive(Clone, HealthState)]
#[health(checks(state, Self::r#state_of_mind))]
struct AppState {
    #[health(lifecycle)]
    lifecycle: Lifecycle,
}

impl AppState {
    #[health_check]
    async fn state_of_mind(&self) -> Result<(), String> {
        Ok(())
    }
}

fn main() {
    assert_eq!(AppState::CHECKS[0].name(), "state");
    assert_eq!(AppState::CHECKS[1].name(), "state_of_mind");
}
