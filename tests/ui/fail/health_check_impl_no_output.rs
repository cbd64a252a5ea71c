// An `async fn check` with its return type left out (so it returns `()`).
use health_axum::prelude::*;

struct Upstream;

impl HealthCheck for Upstream {
    async fn check(&self) {}
}

fn main() {}
