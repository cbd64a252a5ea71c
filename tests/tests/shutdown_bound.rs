//! Shutdown started from inside the application (the lifecycle enters draining), and the bound
//! on requests that would outlive the shutdown timeout.

use std::time::{Duration, Instant};

use axum::routing::get as route_get;
use health_axum::prelude::*;
use health_tests::get;

#[derive(Clone, HealthState)]
struct State {
    #[health(lifecycle)]
    lifecycle: Lifecycle,
}

#[tokio::test(flavor = "multi_thread")]
async fn a_request_outliving_the_shutdown_timeout_does_not_hold_the_process() {
    let state = State {
        lifecycle: Lifecycle::new(),
    };
    let app = Router::new()
        .route(
            "/stuck",
            route_get(|| async {
                tokio::time::sleep(Duration::from_secs(3600)).await;
                "never"
            }),
        )
        .merge(State::health_router())
        .with_state(state.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let served = state.clone();
    let server = tokio::spawn(async move {
        health_axum::serve(listener, app, served)
            .drain_delay(Duration::from_millis(200))
            .shutdown_timeout(Duration::from_millis(500))
            .await
    });
    assert_eq!(get(addr, "/health/ready").await.status, 200);
    let stuck = tokio::spawn(async move {
        let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        s.write_all(b"GET /stuck HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .unwrap();
        let mut buf = Vec::new();
        let _ = s.read_to_end(&mut buf).await;
        buf
    });
    tokio::time::sleep(Duration::from_millis(100)).await;

    let begun = Instant::now();
    state.lifecycle.begin_drain();
    assert_eq!(get(addr, "/health/ready").await.status, 503);
    let result = tokio::time::timeout(Duration::from_secs(5), server)
        .await
        .expect("serve returned within the bound")
        .unwrap();
    assert!(result.is_ok());
    let took = begun.elapsed();
    assert!(took >= Duration::from_millis(700), "{took:?}");
    assert!(took < Duration::from_secs(3), "{took:?}");
    // The stuck connection was closed without a response.
    let reply = tokio::time::timeout(Duration::from_secs(2), stuck)
        .await
        .unwrap()
        .unwrap();
    assert!(reply.is_empty(), "{}", String::from_utf8_lossy(&reply));
}
