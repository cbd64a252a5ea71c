use health_axum::prelude::*;

#[derive(Clone, HealthState)]
struct AppState<Db> {
    db: Db,
    #[health(lifecycle)]
    lifecycle: Lifecycle,
}

fn main() {}
