use health_axum::prelude::*;

mod probes {
    pub async fn cache(_: &super::AppState) -> Result<(), String> {
        Ok(())
    }
}

#[derive(Clone, HealthState)]
#[health(checks(probes::cache))]
struct AppState {
    #[health(lifecycle)]
    lifecycle: Lifecycle,
}

fn main() {}
