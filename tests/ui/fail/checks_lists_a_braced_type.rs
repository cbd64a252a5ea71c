use health_axum::prelude::*;

struct Database {
    _url: String,
}

#[derive(Clone, HealthState)]
#[health(checks(Database))]
struct AppState {
    #[health(lifecycle)]
    lifecycle: Lifecycle,
}

fn main() {}
