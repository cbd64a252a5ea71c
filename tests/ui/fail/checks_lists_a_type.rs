use health_axum::prelude::*;

struct Database;

#[derive(Clone, HealthState)]
#[health(checks(Database))]
struct AppState {
    #[health(lifecycle)]
    lifecycle: Lifecycle,
}

fn main() {
    let _ = Database;
}
