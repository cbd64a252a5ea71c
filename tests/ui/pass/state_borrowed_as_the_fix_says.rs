// The fix `state_in_a_wrapper` gives, applied.
use health_axum::prelude::*;

#[derive(Clone, HealthState)]
#[health(checks(by_extractor, by_arc))]
struct AppState {
    #[health(lifecycle)]
    lifecycle: Lifecycle,
}

#[health_check(name = "by_extractor")]
async fn by_extractor(state: &AppState) -> Result<(), String> {
    let _ = state;
    Ok(())
}

#[health_check(name = "by_arc")]
async fn by_arc(state: &AppState) -> Result<(), String> {
    let _ = state;
    Ok(())
}

fn main() {}
