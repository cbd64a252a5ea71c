use health_axum::prelude::*;

#[derive(Clone, HealthState)]
#[health(check(database))]
struct AppState {
    #[health(lifecycle)]
    lifecycle: Lifecycle,
}

fn main() {}
