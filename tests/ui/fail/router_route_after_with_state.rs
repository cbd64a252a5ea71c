// A `.route(...)` whose handler takes the state, added after `.with_state(state)`, and the router served.
use axum::extract::State;
use axum::routing::get;
use health_axum::prelude::*;
use tokio::net::TcpListener;

#[derive(Clone, HealthState)]
struct AppState {
    #[health(lifecycle)]
    lifecycle: Lifecycle,
}

async fn orders(State(_): State<AppState>) -> &'static str {
    "[]"
}

async fn run(listener: TcpListener, state: AppState) -> std::io::Result<()> {
    let app = Router::new()
        .merge(AppState::health_router())
        .with_state(state.clone())
        .route("/orders", get(orders));
    health_axum::serve(listener, app, state).await
}

fn main() {
    let _ = run;
}
