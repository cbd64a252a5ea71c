// A check in a module spelled like the state, listed through it: a free function, not a method
// of the state.
#![allow(non_snake_case)]
use health_axum::prelude::*;

mod checks {
    pub mod AppState {
        use health_axum::prelude::*;

        #[health_check]
        pub async fn database(_: &crate::AppState) -> Result<(), String> {
            Ok(())
        }
    }
}

#[derive(Clone, HealthState)]
#[health(checks(checks::AppState::database))]
struct AppState {
    #[health(lifecycle)]
    lifecycle: Lifecycle,
}

fn main() {}
