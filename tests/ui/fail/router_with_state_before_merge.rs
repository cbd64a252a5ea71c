// `.with_state(state)` called before `.merge(AppState::health_router())`, and the router served.
use axum::extract::State;
use axum::routing::get;
use health_axum::prelude::*;
use tokio::net::TcpListener;

#[derive(Clone, HealthState)]
struct AppState {
    #[health(lifecycle)]
    lifecycle: Lifecycle,
}

async fn index(State(_): State<AppState>) -> &'static str {
    "hello"
}

async fn run(listener: TcpListener, state: AppState) -> std::io::Result<()> {
    let app = Router::new()
        .route("/", get(index))
        .with_state(state.clone())
        .merge(AppState::health_router());
    health_axum::serve(listener, app, state).await
}

fn main() {
    let _ = run;
}
