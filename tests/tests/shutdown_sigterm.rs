//! Graceful shutdown on a real SIGTERM sent to this test process. It lives in its own test
//! binary: the signal reaches the whole process, so no other test binary may share it, and the
//! tests here take turns (each sends exactly one signal to the one server it runs).
//!
//! During the drain delay a client keeps opening new connections: readiness, liveness and an
//! application route in turn, until one is refused. Every time is the client's, on the test's
//! clock; the bounds are lower bounds that no load can break (the server cannot act before the
//! signal is sent), and upper bounds of half a drain delay.

use std::sync::Arc;
use std::time::Duration;

use axum::routing::get as route_get;
use health_axum::prelude::*;
use health_tests::get;
use health_tests::timeline::{assert_drained, until_unanswered};
use tokio::sync::Notify;
use tokio::time::Instant;

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

/// One test at a time: a signal sent by one would reach the other's server too.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

const DRAIN_DELAY: Duration = Duration::from_millis(1000);
/// How late after its due time a step may come on a loaded machine: half the drain delay.
const SLACK: Duration = Duration::from_millis(500);
/// How long `/slow` works: well past the drain delay and its slack.
const SLOW: Duration = Duration::from_millis(2500);

/// The application: `/slow` (tells `started` when it begins), `/fast`, and the probes.
fn app(state: &State, started: Arc<Notify>) -> Router {
    Router::new()
        .route(
            "/slow",
            route_get(move || async move {
                started.notify_one();
                tokio::time::sleep(SLOW).await;
                "slow request done"
            }),
        )
        .route("/fast", route_get(|| async { "fast" }))
        .merge(State::health_router())
        .with_state(state.clone())
}

/// Serves `app` with the drain delay; resolves with what `serve` returned and when.
async fn serve(
    state: &State,
    app: Router,
) -> (
    std::net::SocketAddr,
    tokio::task::JoinHandle<(std::io::Result<()>, Instant)>,
) {
    let (addr, server) = health_tests::serve_in_background(app, state.clone(), |serve| {
        serve
            .drain_delay(DRAIN_DELAY)
            .shutdown_timeout(Duration::from_secs(5))
    })
    .await;
    let returned = tokio::spawn(async move {
        let result = server.await.expect("serve panicked");
        (result, Instant::now())
    });
    (addr, returned)
}

/// Sends SIGTERM to this process, then opens one new connection every 10 ms (readiness,
/// liveness, `/fast` in turn) until one is not answered, and asserts the drain
/// ([`assert_drained`]): all answered until then (`/fast` and liveness 200), readiness 503
/// within half the delay, the listener open through the delay and closed within [`SLACK`] of
/// its end. Returns when the signal was sent.
async fn sigterm_and_watch_the_drain(addr: std::net::SocketAddr) -> Instant {
    let signalled = Instant::now();
    health_tests::send_sigterm(std::process::id());
    let attempts = until_unanswered(
        addr,
        &["/health/ready", "/health/live", "/fast"],
        Duration::from_millis(10),
        Duration::from_secs(10),
    )
    .await;
    assert_drained(&attempts, signalled, "/health/ready", DRAIN_DELAY, SLACK);
    for attempt in attempts.iter().filter(|a| a.path == "/fast") {
        if let Ok(response) = &attempt.answer {
            assert_eq!(response.body, b"fast");
        }
    }
    signalled
}

#[tokio::test(flavor = "multi_thread")]
async fn sigterm_drains_then_finishes_in_flight_requests_and_returns() {
    let _serial = SERIAL.lock().await;
    let state = State {
        lifecycle: Lifecycle::new(),
    };
    let started = Arc::new(Notify::new());
    let (addr, returned) = serve(&state, app(&state, Arc::clone(&started))).await;
    // serve marks the app started; the startup check passes, so readiness is 200.
    assert_eq!(get(addr, "/health/ready").await.status, 200);

    // A slow request in flight when the signal arrives, ending well after the drain delay.
    let slow = tokio::spawn(async move {
        let response = get(addr, "/slow").await;
        (response, Instant::now())
    });
    tokio::time::timeout(Duration::from_secs(10), started.notified())
        .await
        .expect("/slow began");

    let signalled = sigterm_and_watch_the_drain(addr).await;

    // The in-flight request completes normally, after the listener stopped.
    let (slow, slow_done) = slow.await.unwrap();
    assert_eq!(slow.status, 200);
    assert_eq!(slow.body, b"slow request done");

    // serve returns once it has answered, not before and not much later.
    let (result, returned_at) = tokio::time::timeout(Duration::from_secs(10), returned)
        .await
        .expect("serve returned")
        .unwrap();
    assert!(result.is_ok(), "{result:?}");
    let after_slow = returned_at.saturating_duration_since(slow_done);
    assert!(
        returned_at + Duration::from_millis(50) >= slow_done && after_slow < SLACK,
        "serve returned {:?} after the signal; the slow request was answered {:?} after it",
        returned_at - signalled,
        slow_done - signalled
    );

    // And it no longer accepts.
    assert!(tokio::net::TcpStream::connect(addr).await.is_err());
}

#[tokio::test(flavor = "multi_thread")]
async fn sigterm_with_nothing_in_flight_still_waits_out_the_drain_delay() {
    let _serial = SERIAL.lock().await;
    let state = State {
        lifecycle: Lifecycle::new(),
    };
    let (addr, returned) = serve(&state, app(&state, Arc::new(Notify::new()))).await;
    assert_eq!(get(addr, "/health/ready").await.status, 200);

    let signalled = sigterm_and_watch_the_drain(addr).await;

    // Nothing kept it alive but the delay: serve returns when the delay ends, and soon after.
    let (result, returned_at) = tokio::time::timeout(Duration::from_secs(10), returned)
        .await
        .expect("serve returned")
        .unwrap();
    assert!(result.is_ok(), "{result:?}");
    let stopped = returned_at - signalled;
    assert!(
        stopped >= DRAIN_DELAY && stopped < DRAIN_DELAY + SLACK,
        "serve returned {stopped:?} after the signal, with a drain delay of {DRAIN_DELAY:?}"
    );
    assert!(tokio::net::TcpStream::connect(addr).await.is_err());
}
