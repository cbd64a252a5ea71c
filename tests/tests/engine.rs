//! The runtime's guarantees, driven through the macros: each aggregation rule, timeouts, panic
//! isolation, concurrency and `degraded_ms`. Bounds on time are generous on purpose (a 500 ms
//! timeout must answer well before 2 s); exact figures belong in benchmarks.

use std::time::{Duration, Instant};

use health_axum::prelude::*;
use health_axum::{aggregate, evaluate, run_checks, CheckResult, Probe, Scope};
use health_tests::{get, spawn};

#[derive(Clone, HealthState)]
#[health(checks(
    hangs,
    panics,
    fine,
    slow_a,
    slow_b,
    slow_c,
    slow_d,
    slow_e,
    sluggish,
    reports_degraded
))]
struct Engine {
    #[health(lifecycle)]
    lifecycle: Lifecycle,
}

#[health_check(timeout_ms = 500, critical, startup)]
async fn hangs() -> Result<(), String> {
    tokio::time::sleep(Duration::from_secs(3600)).await;
    Ok(())
}

#[health_check(live)]
async fn panics(_: &Engine) -> Result<(), String> {
    panic!("boom in a check");
}

#[health_check(live)]
async fn fine() -> Result<(), String> {
    Ok(())
}

macro_rules! slow_check {
    ($($name:ident),*) => {$(
        #[health_check(timeout_ms = 5000, live)]
        async fn $name() -> Result<(), String> {
            tokio::time::sleep(Duration::from_millis(400)).await;
            Ok(())
        }
    )*};
}
slow_check!(slow_a, slow_b, slow_c, slow_d, slow_e);

#[health_check(timeout_ms = 2000, degraded_ms = 50, startup)]
async fn sluggish() -> Result<(), String> {
    tokio::time::sleep(Duration::from_millis(250)).await;
    Ok(())
}

#[health_check(startup)]
async fn reports_degraded() -> CheckOutcome {
    CheckOutcome::degraded("queue backlog 1200")
        .with_details(serde_json::json!({ "backlog": 1200 }))
}

fn state() -> Engine {
    Engine {
        lifecycle: Lifecycle::new(),
    }
}

async fn run_one(name: &str) -> CheckResult {
    let mut results = run_checks(&state(), |spec| spec.name() == name).await;
    assert_eq!(results.len(), 1, "no check named {name}");
    results.pop().unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_hung_check_times_out_at_its_timeout() {
    let begun = Instant::now();
    let result = run_one("hangs").await;
    let took = begun.elapsed();
    assert_eq!(result.status, Status::Unhealthy);
    assert_eq!(result.message.as_deref(), Some("timed out after 500 ms"));
    assert!(
        took >= Duration::from_millis(500),
        "answered before the timeout: {took:?}"
    );
    assert!(
        took < Duration::from_secs(2),
        "500 ms timeout answered after {took:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_panicking_check_is_unhealthy_and_the_server_keeps_serving() {
    let result = run_one("panics").await;
    assert_eq!(result.status, Status::Unhealthy);
    assert_eq!(
        result.message.as_deref(),
        Some("check panicked: boom in a check")
    );

    // Over HTTP: the liveness probe includes the panicking check; the process keeps answering.
    let s = state();
    let addr = spawn(Engine::health_router().build().with_state(s)).await;
    for _ in 0..3 {
        let live = get(addr, "/health/live").await;
        assert_eq!(live.status, 200, "non-critical panic only degrades");
        assert_eq!(live.check_status("panics").as_deref(), Some("unhealthy"));
        assert_eq!(live.check_status("fine").as_deref(), Some("healthy"));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn checks_run_concurrently() {
    // Five checks of 400 ms each: the sum is 2 s, the slowest 400 ms.
    let begun = Instant::now();
    let results = run_checks(&state(), |spec| spec.name().starts_with("slow_")).await;
    let took = begun.elapsed();
    assert_eq!(results.len(), 5);
    assert!(results.iter().all(|r| r.status == Status::Healthy));
    assert!(took >= Duration::from_millis(400), "{took:?}");
    assert!(
        took < Duration::from_millis(1200),
        "five 400 ms checks took {took:?}: they ran one after another"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_aggregate_never_waits_longer_than_the_slowest_timeout() {
    // The startup probe runs the hung check (timeout 500 ms) with the others.
    let s = state();
    s.lifecycle.mark_started();
    let begun = Instant::now();
    let report = evaluate(&s, Scope::Probe(Probe::Startup)).await;
    let took = begun.elapsed();
    assert!(!report.passing);
    assert!(took < Duration::from_secs(2), "{took:?}");
    assert_eq!(report.checks.len(), 3);
}

#[tokio::test(flavor = "multi_thread")]
async fn slower_than_degraded_ms_is_degraded() {
    let result = run_one("sluggish").await;
    assert_eq!(result.status, Status::Degraded);
    let message = result.message.unwrap();
    assert!(message.starts_with("slow: took "), "{message}");
    assert!(message.ends_with("above degraded_ms = 50"), "{message}");
    assert!(result.latency >= Duration::from_millis(250));
}

#[tokio::test(flavor = "multi_thread")]
async fn outcomes_keep_their_message_and_details() {
    let result = run_one("reports_degraded").await;
    assert_eq!(result.status, Status::Degraded);
    assert_eq!(result.message.as_deref(), Some("queue backlog 1200"));
    assert_eq!(result.details, Some(serde_json::json!({ "backlog": 1200 })));
}

#[test]
fn aggregation_rules() {
    use Status::*;
    let cases: &[(&[(bool, Status)], Status)] = &[
        (&[], Healthy),
        (&[(true, Healthy), (false, Healthy)], Healthy),
        (&[(true, Healthy), (false, Degraded)], Degraded),
        (&[(true, Degraded), (false, Healthy)], Degraded),
        (&[(false, Unhealthy), (true, Healthy)], Degraded),
        (&[(true, Unhealthy), (false, Healthy)], Unhealthy),
        (
            &[(false, Degraded), (true, Unhealthy), (false, Unhealthy)],
            Unhealthy,
        ),
    ];
    for (inputs, expected) in cases {
        let pairs = inputs.iter().map(|(critical, status)| (*status, *critical));
        assert_eq!(aggregate(pairs), *expected, "{inputs:?}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_critical_startup_check_that_hangs_keeps_startup_failing_with_the_reason() {
    let s = state();
    s.lifecycle.mark_started();
    let addr = spawn(
        Engine::health_router()
            .details(Details::Always)
            .build()
            .with_state(s.clone()),
    )
    .await;
    let startup = get(addr, "/health/startup").await;
    assert_eq!(startup.status, 503);
    let body = startup.json();
    let hangs = body["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "hangs")
        .unwrap()
        .clone();
    assert_eq!(hangs["message"], "timed out after 500 ms");
    assert_eq!(s.lifecycle.phase(), Phase::Started);
}
