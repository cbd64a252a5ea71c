use health_axum::prelude::*;

#[derive(Clone, Copy, HealthState)]
union AppState {
    a: u32,
    b: f32,
}

fn main() {}
