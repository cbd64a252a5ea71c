use health_axum::prelude::*;

#[derive(Clone, HealthState)]
#[health(checks(check))]
struct AppState {
    #[health(lifecycle)]
    lifecycle: Lifecycle,
}

#[health_check]
async fn check<T: Default>(_: &AppState) -> Result<(), String> {
    let _ = T::default();
    Ok(())
}

fn main() {}
