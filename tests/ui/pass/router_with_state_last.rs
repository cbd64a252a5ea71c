// The fix the router errors give, applied: `.with_state(state)` last, after every `.merge(...)` and `.route(...)`.
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

async fn index(State(_): State<AppState>) -> &'static str {
    "hello"
}

async fn index_arc(State(_): State<Arc<AppState>>) -> &'static str {
    "hello"
}

// router_served_without_state, router_with_state_before_merge, router_route_after_with_state.
async fn serve_state(listener: TcpListener, state: AppState) -> std::io::Result<()> {
    let app = Router::new()
        .route("/", get(index))
        .merge(AppState::health_router())
        .route("/orders", get(index))
        .with_state(state.clone());
    health_axum::serve(listener, app, state).await
}

// router_served_without_state_arc, router_with_state_before_merge_arc.
async fn serve_arc(listener: TcpListener, state: Arc<AppState>) -> std::io::Result<()> {
    let app = Router::new()
        .route("/", get(index_arc))
        .merge(AppState::health_router().kubernetes_aliases())
        .with_state(Arc::clone(&state));
    health_axum::serve(listener, app, state).await
}

// router_probes_built_without_state, router_probes_of_state_without_state.
async fn serve_probes(
    app: TcpListener,
    probes: TcpListener,
    state: AppState,
) -> std::io::Result<()> {
    let probe_routes: Router<AppState> = AppState::health_router().kubernetes_aliases().build();
    health_axum::serve(app, Router::new(), state.clone())
        .probes_on_with(probes, probe_routes.with_state(state.clone()))
        .await?;
    let app = TcpListener::bind("127.0.0.1:0").await?;
    let probes = TcpListener::bind("127.0.0.1:0").await?;
    health_axum::serve(app, Router::new(), state.clone())
        .probes_on_with(
            probes,
            AppState::health_router()
                .kubernetes_aliases()
                .build()
                .with_state(state),
        )
        .await
}

// router_with_state_before_merge_annotated.
fn annotated(state: AppState) -> Router {
    Router::new()
        .merge(AppState::health_router())
        .with_state(state)
}

fn main() {
    let _ = (serve_state, serve_arc, serve_probes, annotated);
}
