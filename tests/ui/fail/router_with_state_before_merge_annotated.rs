// `.with_state(state)` called before `.merge(AppState::health_router())`, into a router annotated as `Router`.
use health_axum::prelude::*;

#[derive(Clone, HealthState)]
struct AppState {
    #[health(lifecycle)]
    lifecycle: Lifecycle,
}

fn main() {
    let state = AppState {
        lifecycle: Lifecycle::new(),
    };
    let _app: Router = Router::new()
        .with_state(state)
        .merge(AppState::health_router());
}
