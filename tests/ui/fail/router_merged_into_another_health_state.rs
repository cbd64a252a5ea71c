// The probe routes of one health state merged into a router of another health state.
use health_axum::prelude::*;

#[derive(Clone, HealthState)]
struct AppState {
    #[health(lifecycle)]
    lifecycle: Lifecycle,
}

#[derive(Clone, HealthState)]
struct AdminState {
    #[health(lifecycle)]
    lifecycle: Lifecycle,
}

fn main() {
    let admin = AdminState {
        lifecycle: Lifecycle::new(),
    };
    let _app: Router = Router::new()
        .merge(AppState::health_router())
        .with_state(admin);
}
