use health_axum::prelude::*;

#[derive(Clone, HealthState)]
struct AppState {
    lifecycle: Lifecycle,
}

fn main() {
    // The derive failed, yet its fallback keeps this line free of a second error.
    let _ = AppState::health_router();
}
