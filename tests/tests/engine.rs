//! The runtime's guarantees, driven through the macros: each aggregation rule, timeouts, panic
//! isolation, concurrency and `degraded_ms`. Bounds on real time are generous on purpose (a
//! 500 ms timeout must answer well before 2 s); where the bound must be tight (the aggregate
//! waits for the slowest check, not the sum) the test runs on Tokio's paused clock instead.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use health_axum::engine::{aggregate, evaluate, run_checks, CheckResult, Circuit};
use health_axum::prelude::*;
use health_axum::Scope;
use health_axum::{refresh, start_scheduler, Probe};
use health_tests::dep::eventually;
use health_tests::{get, report, report_until, spawn};

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

/// Runs of [`panics_each_run`], counted by the check itself (outside the framework).
static PANICKING_RUNS: AtomicUsize = AtomicUsize::new(0);

#[derive(Clone, HealthState)]
#[health(checks(panics_each_run, also_fine))]
struct KeepsServing {
    #[health(lifecycle)]
    lifecycle: Lifecycle,
}

#[health_check(live)]
async fn panics_each_run() -> Result<(), String> {
    PANICKING_RUNS.fetch_add(1, Ordering::SeqCst);
    panic!("boom in a check");
}

#[health_check(live)]
async fn also_fine() -> Result<(), String> {
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_panicking_check_is_unhealthy_and_the_server_keeps_serving() {
    let result = run_one("panics").await;
    assert_eq!(result.status, Status::Unhealthy);
    assert_eq!(
        result.message.as_deref(),
        Some("check panicked: boom in a check")
    );

    // Over HTTP: the check panics again before every request, and the process keeps answering
    // the liveness probe with each new result.
    let s = KeepsServing {
        lifecycle: Lifecycle::new(),
    };
    let addr = spawn(KeepsServing::health_router().build().with_state(s.clone())).await;
    for round in 1..=3 {
        refresh(&s).await;
        assert_eq!(
            PANICKING_RUNS.load(Ordering::SeqCst),
            round,
            "the panicking check ran again before request {round}"
        );
        let live = get(addr, "/health/live").await;
        assert_eq!(live.status, 200, "non-critical panic only degrades");
        assert_eq!(
            live.check_status("panics_each_run").as_deref(),
            Some("unhealthy")
        );
        assert_eq!(live.check_status("also_fine").as_deref(), Some("healthy"));
        let check = report(&s).await;
        assert_eq!(check.snapshot.runs, round as u64, "{check:?}");
        assert_eq!(
            check.raw().message.as_deref(),
            Some("check panicked: boom in a check")
        );
    }
    // The requests themselves ran nothing: every result was fresh.
    assert_eq!(PANICKING_RUNS.load(Ordering::SeqCst), 3);
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

// The paused clock: the checks' sleeps and the timeout advance virtual time only, so a loaded
// machine cannot stretch them and the bound is exact.
#[tokio::test(start_paused = true)]
async fn the_aggregate_never_waits_longer_than_the_slowest_timeout() {
    // The startup probe runs the hung check (cut at its 500 ms timeout), `sluggish` (250 ms) and
    // `reports_degraded` (at once): together 500 ms, one after another 750 ms.
    let s = state();
    s.lifecycle.mark_started();
    let begun = tokio::time::Instant::now();
    let report = evaluate(&s, Scope::Probe(Probe::Startup)).await;
    let took = begun.elapsed();
    println!("startup probe answered after {took:?} (virtual)");
    assert!(!report.passing);
    assert_eq!(report.checks.len(), 3);
    let hangs = report.checks.iter().find(|c| c.name == "hangs").unwrap();
    assert_eq!(
        hangs.raw().message.as_deref(),
        Some("timed out after 500 ms")
    );
    assert!(
        took >= Duration::from_millis(500),
        "answered before the slowest check's timeout: {took:?}"
    );
    // Tokio's timer has a 1 ms resolution.
    assert!(
        took <= Duration::from_millis(501),
        "took {took:?}: longer than the slowest check, so the checks did not all run at once"
    );
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

// -- Huge durations -----------------------------------------------------------------------

/// Runs of [`fails_with_huge_durations`], counted by the check itself.
static HUGE_RUNS: AtomicUsize = AtomicUsize::new(0);

#[derive(Clone, HealthState)]
#[health(checks(fails_with_huge_durations))]
struct Huge {
    #[health(lifecycle)]
    lifecycle: Lifecycle,
}

/// Every duration at `u64::MAX` ms: "practically never".
#[health_check(
    critical,
    interval_ms = 18446744073709551615,
    timeout_ms = 18446744073709551615,
    failure_threshold = 1,
    breaker_threshold = 1,
    backoff_ms = 18446744073709551615,
    max_backoff_ms = 18446744073709551615
)]
async fn fails_with_huge_durations() -> Result<(), String> {
    HUGE_RUNS.fetch_add(1, Ordering::SeqCst);
    Err("down".into())
}

// One thread: once this test sees the scheduler's result, the scheduler's task has gone on to
// compute its next wake-up (interval and back-off at `u64::MAX` ms) and is asleep, or has
// panicked.
#[tokio::test]
async fn huge_durations_saturate_instead_of_panicking() {
    let state = Huge {
        lifecycle: Lifecycle::new(),
    };
    state.lifecycle.mark_started();
    let scheduler = start_scheduler(&state);
    eventually(
        Duration::from_secs(5),
        "the scheduler runs the check",
        || HUGE_RUNS.load(Ordering::SeqCst) == 1,
    )
    .await;
    let check = report_until(&state, Duration::from_secs(5), "its result", |c| {
        c.snapshot.runs == 1
    })
    .await;
    assert!(
        scheduler.is_running(),
        "the scheduler's task survived its huge interval and back-off"
    );
    assert_eq!(check.status, Status::Unhealthy);
    assert!(matches!(check.circuit, Circuit::Open { .. }), "{check:?}");
    assert!(!check.stale, "{check:?}");

    // A probe and a refresh read the open circuit; neither runs the check.
    let ready = evaluate(&state, Scope::Probe(Probe::Ready)).await;
    assert!(!ready.passing);
    assert!(matches!(ready.checks[0].circuit, Circuit::Open { .. }));
    refresh(&state).await;
    tokio::task::yield_now().await;
    assert!(scheduler.is_running());
    assert_eq!(HUGE_RUNS.load(Ordering::SeqCst), 1, "one run in all");
    scheduler.stop();
}
