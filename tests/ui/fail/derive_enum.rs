use health_axum::prelude::*;

#[derive(Clone, HealthState)]
enum AppState {
    Starting,
    Running,
}

fn main() {}
