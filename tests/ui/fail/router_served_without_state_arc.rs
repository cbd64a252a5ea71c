// A `Router<Arc<AppState>>` handed to `serve` without `.with_state(state)`.
use std::sync::Arc;

use axum::extract::State;
use axum::routing::get;
use health_axum::prelude::*;
use tokio::net::TcpListener;

#[derive(Clone, HealthState)]
struct AppState {
    #[health(lifecycle)]
    lifecycle: Lifecycle,
}

async fn index(State(_): State<Arc<AppState>>) -> &'static str {
    "hello"
}

async fn run(listener: TcpListener, state: Arc<AppState>) -> std::io::Result<()> {
    let app = Router::new()
        .merge(AppState::health_router())
        .route("/", get(index));
    health_axum::serve(listener, app, state).await
}

fn main() {
    let _ = run;
}
