//! Real signals sent to this test process (its own test binary: a signal reaches the whole
//! process, so the scenarios run one after another in one test):
//! - SIGTERM during start-up work cancels the work, and `serve` returns `Ok(())` at once;
//! - a second SIGTERM during the drain delay skips what is left of it;
//! - a third signal cuts the requests in flight at once.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use health_axum::prelude::*;
use health_tests::{get, send_sigterm, serve_in_background, wait_for_status, Entered};

#[derive(Clone, HealthState)]
struct State {
    #[health(lifecycle)]
    lifecycle: Lifecycle,
}

fn state() -> State {
    State {
        lifecycle: Lifecycle::new(),
    }
}

/// Sets its flag when dropped: the start-up work was cancelled.
struct Dropped(Arc<AtomicBool>);

impl Drop for Dropped {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn signals_cancel_start_up_and_shorten_the_shutdown() {
    sigterm_during_start_up_cancels_the_work_and_returns_ok().await;
    a_second_signal_skips_the_drain_delay().await;
    a_third_signal_cuts_requests_in_flight().await;
}

async fn sigterm_during_start_up_cancels_the_work_and_returns_ok() {
    let state = state();
    let app = Router::new()
        .merge(State::health_router())
        .with_state(state.clone());
    let cancelled = Arc::new(AtomicBool::new(false));
    let guard = Dropped(Arc::clone(&cancelled));
    let (addr, server) = serve_in_background(app, state.clone(), |s| {
        s.drain_delay(Duration::from_secs(30)).startup(async move {
            let _guard = guard;
            // Start-up work that would fail long after the signal (a database that never
            // comes up): it must be cancelled, not awaited.
            tokio::time::sleep(Duration::from_secs(60)).await;
            Err::<(), _>("gave up waiting for the database")
        })
    })
    .await;
    assert_eq!(get(addr, "/health/startup").await.status, 503);
    assert_eq!(get(addr, "/health/live").await.status, 200);
    let signalled = Instant::now();
    send_sigterm(std::process::id());
    let result = tokio::time::timeout(Duration::from_secs(5), server)
        .await
        .expect("serve returned soon after SIGTERM during start-up")
        .unwrap();
    assert!(
        result.is_ok(),
        "a stop during start-up is not a crash: {result:?}"
    );
    assert!(
        signalled.elapsed() < Duration::from_secs(3),
        "no drain delay: nothing was ever ready ({:?})",
        signalled.elapsed()
    );
    assert!(
        cancelled.load(Ordering::SeqCst),
        "the start-up work was cancelled"
    );
}

async fn a_second_signal_skips_the_drain_delay() {
    let state = state();
    let app = Router::new()
        .merge(State::health_router())
        .with_state(state.clone());
    let (addr, server) = serve_in_background(app, state.clone(), |s| {
        s.drain_delay(Duration::from_secs(30))
    })
    .await;
    // Started (serve marks it so once its listener runs): ready.
    wait_for_status(addr, "/health/ready", 200, Duration::from_secs(5)).await;
    send_sigterm(std::process::id());
    // The first signal: draining, and still accepting during the delay.
    wait_for_status(addr, "/health/ready", 503, Duration::from_secs(3)).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        get(addr, "/health/live").await.status,
        200,
        "still accepting"
    );
    assert!(!server.is_finished(), "the 30 s drain delay is under way");
    let second = Instant::now();
    send_sigterm(std::process::id());
    let result = tokio::time::timeout(Duration::from_secs(5), server)
        .await
        .expect("a second signal ends the drain delay")
        .unwrap();
    assert!(result.is_ok());
    assert!(
        second.elapsed() < Duration::from_secs(3),
        "{:?}",
        second.elapsed()
    );
}

async fn a_third_signal_cuts_requests_in_flight() {
    let state = state();
    let entered = Entered::new();
    let app = Router::new()
        .route("/stuck", entered.stuck_route())
        .merge(State::health_router())
        .with_state(state.clone());
    let (addr, server) = serve_in_background(app, state.clone(), |s| {
        s.drain_delay(Duration::from_secs(30))
            .shutdown_timeout(Duration::from_secs(30))
    })
    .await;
    wait_for_status(addr, "/health/ready", 200, Duration::from_secs(5)).await;
    let stuck = health_tests::stuck_request(addr);
    entered.wait_for(1, Duration::from_secs(5)).await;
    // Each signal is waited on until its effect shows, so that two are never delivered as one.
    // The first: draining.
    send_sigterm(std::process::id());
    wait_for_status(addr, "/health/ready", 503, Duration::from_secs(3)).await;
    // The second skips the drain delay: the listener closes, new connections are refused.
    send_sigterm(std::process::id());
    let deadline = Instant::now() + Duration::from_secs(3);
    while tokio::net::TcpStream::connect(addr).await.is_ok() {
        assert!(
            Instant::now() < deadline,
            "still accepting 3 s after the second signal"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(
        !server.is_finished(),
        "the stuck request holds the 30 s shutdown bound"
    );
    assert_eq!(entered.count(), 1);
    let third = Instant::now();
    send_sigterm(std::process::id());
    let result = tokio::time::timeout(Duration::from_secs(5), server)
        .await
        .expect("a third signal cuts the requests in flight")
        .unwrap();
    assert!(result.is_ok());
    assert!(
        third.elapsed() < Duration::from_secs(3),
        "{:?}",
        third.elapsed()
    );
    let reply = tokio::time::timeout(Duration::from_secs(2), stuck)
        .await
        .unwrap()
        .unwrap();
    assert!(reply.is_empty(), "{}", String::from_utf8_lossy(&reply));
}
