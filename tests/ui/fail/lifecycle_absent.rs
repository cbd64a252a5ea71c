// No lifecycle field at all: the error says which field to add.
use health_axum::prelude::*;

#[derive(Clone, HealthState)]
struct AppState {
    name: String,
}

fn main() {
    let _ = AppState::health_router();
}
