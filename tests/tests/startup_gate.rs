//! The startup gate as the probes report it: the checks that hold readiness are named, and
//! the startup probe lists the same checks before and after start-up.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use health_axum::prelude::*;
use health_tests::get;
use std::future::IntoFuture;

#[health_check(critical)]
async fn ok() -> Result<(), String> {
    Ok(())
}

#[derive(Clone, HealthState)]
#[health(checks(ok))]
struct AppState {
    #[health(lifecycle)]
    lifecycle: Lifecycle,
}

#[tokio::test(flavor = "multi_thread")]
async fn serve_takes_an_arc_of_the_state() {
    let state = Arc::new(AppState {
        lifecycle: Lifecycle::new(),
    });
    let app = Router::new()
        .merge(AppState::health_router())
        .with_state(AppState::clone(&state));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(health_axum::serve(listener, app, Arc::clone(&state)).into_future());
    let deadline = Instant::now() + Duration::from_secs(5);
    while get(addr, "/health/ready").await.status != 200 {
        assert!(Instant::now() < deadline, "never ready");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(state.lifecycle.phase(), Phase::Ready);
}

#[derive(Clone, HealthState)]
#[health(checks(schema, ok))]
struct Gated {
    schema_ready: Arc<AtomicBool>,
    #[health(lifecycle)]
    lifecycle: Lifecycle,
}

#[health_check(startup, interval_ms = 100, timeout_ms = 50, failure_threshold = 1)]
async fn schema(app: &Gated) -> Result<(), String> {
    if app.schema_ready.load(Ordering::SeqCst) {
        Ok(())
    } else {
        Err("no such table".into())
    }
}

/// While a startup check holds readiness, readiness does not list it but names it in its
/// reason; after start-up, the startup probe lists the same checks as before (retired).
#[tokio::test(flavor = "multi_thread")]
async fn the_check_holding_readiness_is_named_and_the_startup_probe_keeps_its_list() {
    let app = Gated {
        schema_ready: Arc::default(),
        lifecycle: Lifecycle::new(),
    };
    let addr = health_tests::serve_probes(&app).await;
    // Until `serve` marks the application started, the reason is that it has not started;
    // then the startup check (failing) holds it. Poll for that reason, keeping what was seen.
    let expected = "startup check \"schema\" has not passed";
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut seen = Vec::new();
    let ready = loop {
        let ready = get(addr, "/health/ready").await;
        let reason = ready.json()["reason"].clone();
        if reason == expected {
            break ready;
        }
        if seen.last() != Some(&reason) {
            seen.push(reason);
        }
        assert!(
            Instant::now() < deadline,
            "readiness never gave the reason {expected:?}; reasons seen: {seen:?}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    assert_eq!(ready.status, 503);
    let body = ready.json();
    assert_eq!(body["reason"], expected, "{body}");
    assert!(
        body["checks"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["name"] != "schema"),
        "{body}"
    );
    let before = get(addr, "/health/startup").await.json();
    assert_eq!(
        before["reason"], "startup check \"schema\" has not passed",
        "{before}"
    );

    app.schema_ready.store(true, Ordering::SeqCst);
    while get(addr, "/health/startup").await.status != 200 {
        assert!(
            Instant::now() < deadline + Duration::from_secs(5),
            "never started"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(get(addr, "/health/ready").await.status, 200);
    let after = get(addr, "/health/startup").await.json();
    let names = |body: &serde_json::Value| -> Vec<String> {
        body["checks"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["name"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(names(&after), names(&before), "{after}");
    assert_eq!(
        health_tests::check_json(&after, "schema")["retired"],
        true,
        "{after}"
    );
}
