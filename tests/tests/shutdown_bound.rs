//! Shutdown started from inside the application (the lifecycle enters draining), and the bound
//! on requests that would outlive the shutdown timeout.

use std::time::{Duration, Instant};

use health_axum::prelude::*;
use health_tests::{get, wait_for_status, Entered};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

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
    let entered = Entered::new();
    let app = Router::new()
        .route("/stuck", entered.stuck_route())
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
    // Started (serve marks it so once its listener runs): ready.
    wait_for_status(addr, "/health/ready", 200, Duration::from_secs(5)).await;
    let stuck = health_tests::stuck_request(addr);
    entered.wait_for(1, Duration::from_secs(5)).await;

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

/// An idle keep-alive connection (HTTP/1 or HTTP/2) does not hold the shutdown for the
/// shutdown timeout: with nothing in flight, it is closed at once.
#[tokio::test(flavor = "multi_thread")]
async fn idle_keep_alive_connections_do_not_hold_the_shutdown() {
    let state = State {
        lifecycle: Lifecycle::new(),
    };
    let app = Router::new()
        .merge(State::health_router())
        .with_state(state.clone());
    let (addr, server) = health_tests::serve_in_background(app, state.clone(), |s| {
        s.drain_delay(Duration::ZERO)
            .shutdown_timeout(Duration::from_secs(30))
    })
    .await;
    assert_eq!(get(addr, "/health/live").await.status, 200);
    // HTTP/1.1 keep-alive: one answered request, then idle.
    let mut h1 = tokio::net::TcpStream::connect(addr).await.unwrap();
    h1.write_all(b"GET /health/live HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut buf = [0u8; 1024];
    let n = h1.read(&mut buf).await.unwrap();
    assert!(buf[..n].starts_with(b"HTTP/1.1 200"));
    // HTTP/2: the preface and SETTINGS, then idle; the server's own SETTINGS frame (9-byte
    // header, type 0x4) shows it serves the connection.
    let mut h2 = tokio::net::TcpStream::connect(addr).await.unwrap();
    h2.write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x00\x04\x00\x00\x00\x00\x00")
        .await
        .unwrap();
    let mut settings = [0u8; 9];
    tokio::time::timeout(Duration::from_secs(5), h2.read_exact(&mut settings))
        .await
        .expect("the server's SETTINGS within 5 s")
        .unwrap();
    assert_eq!(settings[3], 0x4, "a SETTINGS frame first: {settings:?}");

    let begun = Instant::now();
    state.lifecycle.begin_drain();
    let result = tokio::time::timeout(Duration::from_secs(10), server)
        .await
        .expect("idle connections held the shutdown")
        .unwrap();
    assert!(result.is_ok());
    let took = begun.elapsed();
    assert!(took < Duration::from_secs(3), "{took:?}");
    // Both connections were closed by the server.
    for stream in [&mut h1, &mut h2] {
        let closed = tokio::time::timeout(Duration::from_secs(2), async {
            loop {
                match stream.read(&mut buf).await {
                    Ok(0) | Err(_) => return,
                    Ok(_) => continue,
                }
            }
        })
        .await;
        assert!(closed.is_ok(), "a connection is still open");
    }
}
