// `crate = "..."` points the generated code at a re-export of the runtime.
mod runtime {
    pub use health_axum as health;
}

use runtime::health::{health_check, HealthState, Lifecycle};

#[derive(Clone, HealthState)]
#[health(crate = "crate::runtime::health", checks(ping))]
struct AppState {
    #[health(lifecycle)]
    lifecycle: Lifecycle,
}

#[health_check(crate = "crate::runtime::health", timeout_ms = 100)]
async fn ping(_: &AppState) -> Result<(), String> {
    Ok(())
}

fn main() {
    assert_eq!(<AppState as runtime::health::HealthState>::CHECKS[0].name(), "ping");
}
