use health_axum::prelude::*;

#[derive(Clone, HealthState)]
#[health(checks("database"))]
struct AppState {
    #[health(lifecycle)]
    lifecycle: Lifecycle,
}

fn main() {}
