use health_axum::prelude::*;

#[derive(Clone)]
struct Pool;

#[derive(Clone, HealthState)]
struct AppState {
    #[health(check(name = "database", critical))]
    db: Pool,
    #[health(lifecycle)]
    lifecycle: Lifecycle,
}

fn main() {}
