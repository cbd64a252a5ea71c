// The fix the merge errors give for a router state of your own that holds the health state, applied.
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

// router_merged_into_state_leading_elsewhere: `Outer` now leads to the `AppState` it holds.
#[derive(Clone)]
struct Outer {
    app: AppState,
    admin: AdminState,
}

impl AsHealthState for Outer {
    type State = AppState;
    fn health_state(&self) -> &AppState {
        &self.app
    }
}

async fn run(listener: TcpListener, outer: Outer) -> std::io::Result<()> {
    let _ = &outer.admin;
    let app = Router::new()
        .merge(AppState::health_router())
        .with_state(outer.clone());
    health_axum::serve(listener, app, outer).await
}

fn main() {
    let _ = run;
    let _: Router<Outer> = AppState::health_router().build::<Outer>();
}
