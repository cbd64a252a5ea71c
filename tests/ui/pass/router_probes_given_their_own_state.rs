// The other fix the merge errors give, applied: probe routes given their own state, merged into a router of any state.
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

#[derive(Clone, HealthState)]
struct AdminState {
    #[health(lifecycle)]
    lifecycle: Lifecycle,
}

#[derive(Clone)]
struct Templates;

async fn index(State(_): State<Templates>) -> &'static str {
    "hello"
}

// router_merged_into_another_state: a router of a state that does not hold the health state.
async fn other_state(listener: TcpListener, state: AppState) -> std::io::Result<()> {
    let app = Router::new()
        .route("/", get(index))
        .merge(AppState::health_router().build().with_state(state.clone()))
        .with_state(Templates);
    health_axum::serve(listener, app, state).await
}

// router_merged_into_arc_of_another_state, router_merged_into_another_health_state.
fn arc_and_health_states(state: Arc<AppState>, admin: AdminState) -> (Router, Router) {
    let arc: Router = Router::<Arc<Templates>>::new()
        .merge(
            AppState::health_router()
                .kubernetes_aliases()
                .build()
                .with_state(state),
        )
        .with_state(Arc::new(Templates));
    let admin: Router = Router::new()
        .merge(AdminState::health_router())
        .merge(
            AppState::health_router()
                .report_path("/app/health")
                .live_path("/app/live")
                .ready_path("/app/ready")
                .startup_path("/app/startup")
                .build()
                .with_state(AppState {
                    lifecycle: Lifecycle::new(),
                }),
        )
        .with_state(admin);
    (arc, admin)
}

// router_with_state_before_merge: the probe routes, given their state, merged after `.with_state`.
async fn after_with_state(listener: TcpListener, state: AppState) -> std::io::Result<()> {
    let app = Router::new()
        .route("/", get(index))
        .with_state(Templates)
        .merge(AppState::health_router().build().with_state(state.clone()));
    health_axum::serve(listener, app, state).await
}

fn main() {
    let _ = (other_state, arc_and_health_states, after_with_state);
}
