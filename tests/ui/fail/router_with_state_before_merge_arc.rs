// `.with_state(Arc::clone(&state))` called before `.merge(AppState::health_router())`, and the router served.
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
        .route("/", get(index))
        .with_state(Arc::clone(&state))
        .merge(AppState::health_router().kubernetes_aliases());
    health_axum::serve(listener, app, state).await
}

fn main() {
    let _ = run;
}
