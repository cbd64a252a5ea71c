// A pool the built-in check does not cover (here: a pool type of another crate, as a
// `sqlx::Pool` is without the `postgres` feature of health-axum): the error names the feature.
use health_axum::prelude::*;

mod other_sqlx {
    #[derive(Clone)]
    pub struct PgPool;
}

#[derive(Clone, HealthState)]
struct AppState {
    #[health(check(name = "database", critical))]
    db: other_sqlx::PgPool,
    #[health(lifecycle)]
    lifecycle: Lifecycle,
}

fn main() {}
