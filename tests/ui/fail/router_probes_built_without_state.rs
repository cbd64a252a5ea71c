// The probe port's routes built with `.build()` and handed to `probes_on_with` without `.with_state(state)`.
use health_axum::prelude::*;
use tokio::net::TcpListener;

#[derive(Clone, HealthState)]
struct AppState {
    #[health(lifecycle)]
    lifecycle: Lifecycle,
}

async fn run(app: TcpListener, probes: TcpListener, state: AppState) -> std::io::Result<()> {
    health_axum::serve(app, Router::new(), state)
        .probes_on_with(
            probes,
            AppState::health_router().kubernetes_aliases().build(),
        )
        .await
}

fn main() {
    let _ = run;
}
