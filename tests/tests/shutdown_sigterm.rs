//! Graceful shutdown on a real SIGTERM sent to this test process. It lives in its own test
//! binary: the signal reaches the whole process, so no other test may share it.

use std::time::{Duration, Instant};

use axum::routing::get as route_get;
use health_axum::prelude::*;
use health_tests::get;

#[derive(Clone, HealthState)]
#[health(checks(ok))]
struct State {
    #[health(lifecycle)]
    lifecycle: Lifecycle,
}

#[health_check(critical)]
async fn ok() -> Result<(), String> {
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn sigterm_drains_then_finishes_in_flight_requests_and_returns() {
    let state = State {
        lifecycle: Lifecycle::new(),
    };
    let app = Router::new()
        .route(
            "/slow",
            route_get(|| async {
                tokio::time::sleep(Duration::from_millis(1500)).await;
                "slow request done"
            }),
        )
        .merge(State::health_router())
        .with_state(state.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let drain_delay = Duration::from_millis(800);
    let served = state.clone();
    let server = tokio::spawn(async move {
        health_axum::serve(listener, app, served)
            .drain_delay(drain_delay)
            .shutdown_timeout(Duration::from_secs(5))
            .await
    });

    // serve marks the app started; the startup check passes, so readiness is 200.
    assert_eq!(get(addr, "/health/ready").await.status, 200);

    // A slow request in flight when the signal arrives.
    let slow = tokio::spawn(async move { get(addr, "/slow").await });
    tokio::time::sleep(Duration::from_millis(100)).await;

    let signalled = Instant::now();
    health_tests::send_sigterm(std::process::id());

    // Readiness turns 503 at once, while new connections are still accepted and served.
    let mut ready = get(addr, "/health/ready").await;
    while ready.status == 200 && signalled.elapsed() < Duration::from_secs(2) {
        tokio::time::sleep(Duration::from_millis(5)).await;
        ready = get(addr, "/health/ready").await;
    }
    let turned = signalled.elapsed();
    assert_eq!(ready.status, 503);
    assert_eq!(ready.json()["phase"], "draining");
    assert!(
        turned < Duration::from_millis(500),
        "readiness took {turned:?} to fail"
    );
    assert_eq!(
        get(addr, "/health/live").await.status,
        200,
        "live during drain"
    );

    // The in-flight request completes normally.
    let slow = slow.await.unwrap();
    assert_eq!(slow.status, 200);
    assert_eq!(slow.body, b"slow request done");

    // serve returns, after the drain delay and within the bound.
    let result = tokio::time::timeout(Duration::from_secs(10), server)
        .await
        .expect("serve returned")
        .unwrap();
    assert!(result.is_ok(), "{result:?}");
    let stopped = signalled.elapsed();
    assert!(
        stopped >= drain_delay,
        "stopped before the drain delay: {stopped:?}"
    );
    assert!(stopped < Duration::from_secs(6), "{stopped:?}");

    // And it no longer accepts.
    assert!(tokio::net::TcpStream::connect(addr).await.is_err());
}
