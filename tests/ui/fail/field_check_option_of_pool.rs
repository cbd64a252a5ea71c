// An optional database pool: the pool is a check, `Option<PgPool>` is not (what would `None`
// report?).
use health_axum::prelude::*;

#[derive(Clone, HealthState)]
struct AppState {
    #[health(check(name = "database", critical))]
    db: Option<sqlx::PgPool>,
    #[health(lifecycle)]
    lifecycle: Lifecycle,
}

fn main() {}
