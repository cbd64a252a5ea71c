// A pool written `sqlx::Pool<...>` without the `postgres` feature of health-axum: the error
// names the feature. (This crate enables the feature, so a local `sqlx` module, whose pool is
// not a check, stands in for the crate.)
use health_axum::prelude::*;

mod sqlx {
    #[derive(Clone)]
    pub struct Pool<DB>(pub DB);
    #[derive(Clone)]
    pub struct Postgres;
}

#[derive(Clone, HealthState)]
struct AppState {
    #[health(check(name = "database", critical))]
    db: sqlx::Pool<sqlx::Postgres>,
    #[health(lifecycle)]
    lifecycle: Lifecycle,
}

fn main() {}
