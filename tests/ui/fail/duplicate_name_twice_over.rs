use health_axum::prelude::*;

// Three checks with one name: each later one is reported once, against the first.
#[derive(Clone, HealthState)]
#[health(checks(a, b, c))]
struct AppState {
    #[health(lifecycle)]
    lifecycle: Lifecycle,
}

#[health_check(name = "same")]
async fn a() -> Result<(), String> {
    Ok(())
}

#[health_check(name = "same")]
async fn b() -> Result<(), String> {
    Ok(())
}

#[health_check(name = "same")]
async fn c() -> Result<(), String> {
    Ok(())
}

fn main() {}
