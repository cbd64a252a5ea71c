use health_axum::prelude::*;

#[derive(Clone, HealthState)]
struct AppState {
    #[health(lifecycel)]
    lifecycle: Lifecycle,
}

fn main() {}
