use health_axum::prelude::*;

#[derive(Clone, HealthState)]
struct AppState {
    lifecycle: Lifecycle,
}

fn main() {}
