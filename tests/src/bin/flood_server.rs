//! A small service for the connection-flood tests: the application port and the probe port,
//! as `health_axum::serve` runs them, in a process of its own (so that a test can give it a low
//! descriptor limit). Usage: `flood_server APP_PORT PROBE_PORT`; prints `listening` once both
//! ports are bound, and logs to standard error.

use std::net::SocketAddr;

use axum::routing::get;
use health_axum::prelude::*;

// One check that always passes: these tests are about connections, not checks.
use health_tests::OneCheck as State;

#[tokio::main]
async fn main() -> std::io::Result<()> {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .init();
    let mut ports = std::env::args()
        .skip(1)
        .map(|p| p.parse::<u16>().expect("a port"));
    let (app_port, probe_port) = (
        ports.next().expect("APP_PORT"),
        ports.next().expect("PROBE_PORT"),
    );
    let state = State {
        lifecycle: Lifecycle::new(),
    };
    let app = Router::new()
        .route("/", get(|| async { "hello" }))
        .merge(State::health_router())
        .with_state(state.clone());
    let app_listener =
        tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], app_port))).await?;
    let probe_listener =
        tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], probe_port))).await?;
    println!("listening");
    health_axum::serve(app_listener, app, state)
        .probes_on(probe_listener)
        .await
}
