use health_axum::prelude::*;

#[derive(Clone, HealthState)]
struct AppState {
    #[health(lifecycle)]
    lifecycle: Lifecycle,
    #[health(lifecycle)]
    other: Lifecycle,
}

fn main() {}
