// `#[health_check]` applied twice, once through the prelude and once by its full path.
use health_axum::prelude::*;

#[derive(Clone, HealthState)]
#[health(checks(Self::database))]
struct AppState {
    #[health(lifecycle)]
    lifecycle: Lifecycle,
}

impl AppState {
    #[health_check]
    #[health_axum::health_check]
    async fn database(&self) -> Result<(), String> {
        Ok(())
    }
}

fn main() {}
