// The probe router merged into a router whose state is not the health state and does not lead to it.
use axum::extract::State;
use axum::routing::get;
use health_axum::prelude::*;
use tokio::net::TcpListener;

#[derive(Clone, HealthState)]
struct AppState {
    #[health(lifecycle)]
    lifecycle: Lifecycle,
}

#[derive(Clone)]
struct Templates;

async fn index(State(_): State<Templates>) -> &'static str {
    "hello"
}

async fn run(listener: TcpListener, state: AppState) -> std::io::Result<()> {
    let app = Router::new()
        .route("/", get(index))
        .merge(AppState::health_router())
        .with_state(Templates);
    health_axum::serve(listener, app, state).await
}

fn main() {
    let _ = run;
}
