//! The state the probes read and the state `serve` drives must be one: a state built twice (one
//! copy for the router, another for `serve`) is never silent. Its own test binary: it captures
//! the log, and no other test may run beside it.

use std::future::IntoFuture;
use std::time::Duration;

use health_axum::prelude::*;
use health_tests::get;

#[derive(Clone, HealthState)]
#[health(checks(ok))]
struct AppState {
    #[health(lifecycle)]
    lifecycle: Lifecycle,
}

#[health_check(critical)]
async fn ok() -> Result<(), String> {
    Ok(())
}

fn new_state() -> AppState {
    AppState {
        lifecycle: Lifecycle::new(),
    }
}

// One thread, so the spawned server's events reach this test's subscriber.
#[tokio::test(flavor = "current_thread")]
async fn a_state_built_twice_says_so_in_the_answer_and_in_the_log() {
    let (events, _guard) = health_tests::log::capture();
    // The mistake: one state for the router, another (with its own lifecycle) for `serve`.
    let app = Router::new()
        .merge(AppState::health_router())
        .with_state(new_state());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(health_axum::serve(listener, app, new_state()).into_future());

    // Within a short grace (the state may still be on its way to `serve`): not started.
    let ready = get(addr, "/health/ready?verbose").await;
    assert_eq!(ready.status, 503);
    assert!(ready.text().contains("has not started"), "{}", ready.text());
    assert!(events.matching(&["lifecycle nothing starts"]).is_empty());

    // After it, the answer names the cause and the fix, and the mistake is logged once, at
    // ERROR, with the fix.
    tokio::time::sleep(Duration::from_millis(3100)).await;
    let ready = get(addr, "/health/ready?verbose").await;
    assert_eq!(ready.status, 503);
    let text = ready.text();
    assert!(
        text.contains("nothing will start it") && text.contains("pass clones of it to both"),
        "the answer names the cause and the fix: {text}"
    );
    for _ in 0..5 {
        assert_eq!(get(addr, "/health/ready").await.status, 503);
    }
    let logged = events.matching(&["lifecycle nothing starts", "built twice"]);
    assert_eq!(logged.len(), 1, "{:#?}", events.all());
}
