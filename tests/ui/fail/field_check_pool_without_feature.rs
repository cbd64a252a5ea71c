// A `PgPool` field without the `postgres` feature of health-axum, which is what implements
// `HealthCheck` for it: the error names the feature. (This crate enables the feature, so a
// local type of the same name, not a check, stands in for the pool.)
use health_axum::prelude::*;

#[derive(Clone)]
struct PgPool;

#[derive(Clone, HealthState)]
struct AppState {
    #[health(check(name = "database", critical))]
    db: PgPool,
    #[health(lifecycle)]
    lifecycle: Lifecycle,
}

fn main() {}
