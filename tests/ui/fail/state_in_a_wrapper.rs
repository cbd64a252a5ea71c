// The state taken the way an axum handler takes it, or in an `Arc`: the fix names the state as
// written, borrowed.
use std::sync::Arc;

use axum::extract::State;
use health_axum::prelude::*;

#[derive(Clone, HealthState)]
#[health(checks(by_extractor, by_arc))]
struct AppState {
    #[health(lifecycle)]
    lifecycle: Lifecycle,
}

#[health_check(name = "by_extractor")]
async fn by_extractor(state: State<AppState>) -> Result<(), String> {
    let _ = state;
    Ok(())
}

#[health_check(name = "by_arc")]
async fn by_arc(state: Arc<AppState>) -> Result<(), String> {
    let _ = state;
    Ok(())
}

fn main() {}
