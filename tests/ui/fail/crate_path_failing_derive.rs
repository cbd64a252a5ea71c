// A derive that fails under `crate = "..."` reports its own error, once: its fallback
// implementation is reached through the path given, so using the state adds no second error.
mod runtime {
    pub use health_axum as health;
}

use runtime::health::prelude::*;

#[derive(Clone, HealthState)]
#[health(crate = "crate::runtime::health")]
struct AppState {
    lifecycle: Lifecycle,
}

fn main() {
    let _ = AppState::health_router();
    let _ = <AppState as runtime::health::HealthState>::VERSION;
}
