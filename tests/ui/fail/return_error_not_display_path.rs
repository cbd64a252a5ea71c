use health_axum::prelude::*;

#[derive(Clone, HealthState)]
#[health(checks(check))]
struct AppState {
    #[health(lifecycle)]
    lifecycle: Lifecycle,
}

mod errors {
    #[derive(Debug)]
    pub struct Opaque;
}

#[health_check]
async fn check(_: &AppState) -> std::result::Result<(), errors::Opaque> {
    Ok(())
}

fn main() {}
