// A `Router<AppState>` of probe routes handed to `probes_on_with` without `.with_state(state)`.
use health_axum::prelude::*;
use tokio::net::TcpListener;

#[derive(Clone, HealthState)]
struct AppState {
    #[health(lifecycle)]
    lifecycle: Lifecycle,
}

async fn run(app: TcpListener, probes: TcpListener, state: AppState) -> std::io::Result<()> {
    let probe_routes: Router<AppState> = AppState::health_router().kubernetes_aliases().build();
    health_axum::serve(app, Router::new(), state)
        .probes_on_with(probes, probe_routes)
        .await
}

fn main() {
    let _ = run;
}
