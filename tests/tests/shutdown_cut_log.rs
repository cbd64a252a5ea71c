//! Requests cut at the shutdown bound are counted in the log. Its own test binary: it captures
//! the log, and no other test may run beside it.

use std::time::Duration;

use health_axum::prelude::*;
use health_tests::Entered;

#[derive(Clone, HealthState)]
struct State {
    #[health(lifecycle)]
    lifecycle: Lifecycle,
}

/// Requests cut at the shutdown bound are counted in the log.
#[tokio::test(flavor = "current_thread")]
async fn requests_cut_at_the_bound_are_counted_in_the_log() {
    let (events, _guard) = health_tests::log::capture();
    let state = State {
        lifecycle: Lifecycle::new(),
    };
    let entered = Entered::new();
    let app = Router::new()
        .route("/stuck", entered.stuck_route())
        .with_state(state.clone());
    let (addr, server) = health_tests::serve_in_background(app, state.clone(), |s| {
        s.drain_delay(Duration::ZERO)
            .shutdown_timeout(Duration::from_millis(300))
    })
    .await;
    let _stuck: Vec<_> = (0..3).map(|_| health_tests::stuck_request(addr)).collect();
    // The three requests are in the handlers (each counts itself on entering).
    entered.wait_for(3, Duration::from_secs(5)).await;
    state.lifecycle.begin_drain();
    let result = tokio::time::timeout(Duration::from_secs(5), server)
        .await
        .expect("serve returned within the bound")
        .unwrap();
    assert!(result.is_ok(), "{result:?}");
    let cut = events.matching(&["requests_cut=3"]);
    assert_eq!(cut.len(), 1, "{:#?}", events.all());
}
