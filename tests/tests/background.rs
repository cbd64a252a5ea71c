//! The engine against a real TCP dependency that counts every call it receives (a counting
//! listener, on the server side, never inside the framework): background refresh, single flight
//! under a probe storm, damping of a flapping dependency, the circuit breaker's states, a
//! panicking check inside the scheduler, a stalled scheduler, and start-up work running while the
//! probes answer.
//!
//! Bounds on time are generous (a behaviour due at 400 ms is asserted before 1.5 s); exact
//! figures belong in benchmarks.

use std::future::IntoFuture;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use health_axum::prelude::*;
use health_axum::{refresh, start_scheduler, CheckReport, Circuit};
use health_tests::dep::{eventually, Dependency, Mode, FLAP_SCRIPT};
use health_tests::{
    check_json, get, report, report_until, serve_probes, spawn, storm, wait_for_status,
};
use tokio::time::Instant;

/// A state with one critical check `dep` against a [`Dependency`], configured by `$args`.
macro_rules! dep_state {
    ($name:ident, $($args:tt)*) => {
        health_tests::one_check_state!($name, dep: Dependency, name = "dep", $($args)*);
    };
}

/// The probe routes of `state` on a plain `axum::serve`: no scheduler, checks run on demand.
async fn serve_on_demand<S: HealthState + HealthRouterExt>(state: &S) -> SocketAddr {
    state.lifecycle().mark_started();
    spawn(
        S::health_router()
            .details(Details::Always)
            .build()
            .with_state(state.clone()),
    )
    .await
}

// -- Probe storm: one execution per interval, however many probes -------------------------

dep_state!(StormScheduled, interval_ms = 500, timeout_ms = 400);
dep_state!(StormOnDemand, interval_ms = 500, timeout_ms = 400);

/// Hundreds of concurrent readiness probes for 3 s; the dependency counts its calls.
async fn storm_against(addr: SocketAddr, dep: &Dependency, interval: Duration) {
    wait_for_status(addr, "/health/ready", 200, Duration::from_secs(5)).await;
    let before = dep.calls();
    let duration = Duration::from_secs(3);
    let stats = storm(addr, "/health/ready", 200, duration).await;
    let calls = dep.calls() - before;
    let allowed = (duration.as_millis() / interval.as_millis()) as usize + 2;
    println!(
        "storm: {} probes ({:?}), dependency calls {calls} (allowed {allowed}), slowest {:?}",
        stats.requests, stats.codes, stats.max_latency
    );
    assert!(
        stats.requests >= 500,
        "the storm was not a storm: {stats:?}"
    );
    assert_eq!(
        stats.count(200),
        stats.requests,
        "every probe passed: {stats:?}"
    );
    assert!(
        calls <= allowed,
        "{calls} dependency calls during {} probes in {duration:?}: more than one per interval",
        stats.requests
    );
    assert!(
        calls >= 2,
        "the check kept running during the storm ({calls} calls)"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_probe_storm_costs_one_check_per_interval_with_the_scheduler() {
    let dep = Dependency::start(Mode::Up).await;
    // Each call takes 100 ms: a probe that ran the check would take as long.
    dep.set_delay(Duration::from_millis(100));
    let state = StormScheduled::new(dep.clone());
    let addr = serve_probes(&state).await;
    storm_against(addr, &dep, Duration::from_millis(500)).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_probe_storm_on_a_cold_cache_shares_one_run_without_a_scheduler() {
    let dep = Dependency::start(Mode::Up).await;
    dep.set_delay(Duration::from_millis(100));
    let state = StormOnDemand::new(dep.clone());
    let addr = serve_on_demand(&state).await;
    assert_eq!(dep.calls(), 0, "nothing runs before the first probe");
    storm_against(addr, &dep, Duration::from_millis(500)).await;
}

// -- Damping ------------------------------------------------------------------------------

dep_state!(
    Damped,
    interval_ms = 60000,
    failure_threshold = 3,
    success_threshold = 3,
    no_breaker
);
dep_state!(
    Undamped,
    interval_ms = 60000,
    failure_threshold = 1,
    success_threshold = 1,
    no_breaker
);

/// Runs the check `runs` times against a flapping dependency; returns how often the raw result
/// and the reported status changed.
async fn flips<S: HealthState>(state: &S, runs: usize) -> (usize, usize) {
    let (mut raw_flips, mut reported_flips) = (0, 0);
    let mut last: Option<(Status, Status)> = None;
    for run in 1..=runs {
        refresh(state).await;
        let check = report(state).await;
        assert_eq!(check.snapshot.runs, run as u64, "one run per refresh");
        let now = (check.raw().status, check.status);
        if let Some((raw, reported)) = last {
            raw_flips += usize::from(raw != now.0);
            reported_flips += usize::from(reported != now.1);
        }
        last = Some(now);
    }
    (raw_flips, reported_flips)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_flapping_dependency_flips_the_reported_status_far_less_than_the_raw_result() {
    let runs = FLAP_SCRIPT.len() * 3;

    let dep = Dependency::start(Mode::Flap).await;
    let damped = Damped::new(dep.clone());
    let (raw, reported) = flips(&damped, runs).await;
    println!("damped: raw result flipped {raw} times, reported status {reported} times");
    assert!(raw >= 30, "the dependency flapped ({raw} raw flips)");
    assert!(
        reported * 5 <= raw,
        "damping let {reported} of {raw} flips through"
    );
    assert!(
        reported >= 2,
        "a sustained change (three in a row) still gets through ({reported} flips)"
    );

    // The same dependency without damping: every raw flip is reported (the test can fail).
    let dep = Dependency::start(Mode::Flap).await;
    let undamped = Undamped::new(dep.clone());
    let (raw, reported) = flips(&undamped, runs).await;
    assert_eq!(
        raw, reported,
        "no damping: the report follows the raw result"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_report_shows_the_raw_last_result_beside_the_damped_status() {
    let dep = Dependency::start(Mode::Up).await;
    let state = Damped::new(dep.clone());
    let addr = serve_on_demand(&state).await;
    refresh(&state).await;
    dep.set(Mode::Down);
    refresh(&state).await;
    let ready = get(addr, "/health/ready").await;
    assert_eq!(ready.status, 200, "one failure is damped");
    let check = check_json(&ready.json(), "dep");
    assert_eq!(check["status"], "healthy", "{check}");
    assert_eq!(check["raw_status"], "unhealthy", "{check}");
    assert_eq!(check["consecutive_failures"], 1, "{check}");
    assert!(
        check["age_ms"].is_u64(),
        "the result's age is reported: {check}"
    );

    refresh(&state).await;
    refresh(&state).await;
    let ready = get(addr, "/health/ready").await;
    assert_eq!(
        ready.status, 503,
        "three failures in a row turn it unhealthy"
    );
    assert_eq!(check_json(&ready.json(), "dep")["status"], "unhealthy");
}

// -- Circuit breaker ----------------------------------------------------------------------

dep_state!(
    Broken,
    interval_ms = 100,
    timeout_ms = 100,
    failure_threshold = 1,
    breaker_threshold = 2,
    backoff_ms = 400,
    max_backoff_ms = 1000
);

fn retry_in(check: &CheckReport) -> Duration {
    match check.circuit {
        Circuit::Open { retry_in } => retry_in,
        other => panic!("circuit is {other:?}, not open"),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_circuit_breaker_opens_admits_one_trial_and_backs_off() {
    let dep = Dependency::start(Mode::Down).await;
    let state = Broken::new(dep.clone());
    let addr = serve_probes(&state).await;
    // Probes hammer the service throughout: none of them may reach the dependency.
    let hammer = tokio::spawn(storm(
        addr,
        "/health/ready",
        20,
        Duration::from_millis(4500),
    ));

    // Closed -> open after two consecutive failures.
    let open = report_until(&state, Duration::from_secs(2), "circuit opens", |c| {
        matches!(c.circuit, Circuit::Open { .. })
    })
    .await;
    let opened_at = Instant::now();
    assert_eq!(dep.calls(), 2, "opened after breaker_threshold = 2 calls");
    assert_eq!(open.status, Status::Unhealthy);
    let first_backoff = retry_in(&open);
    assert!(
        first_backoff > Duration::from_millis(250) && first_backoff <= Duration::from_millis(400),
        "first back-off is backoff_ms = 400: {first_backoff:?}"
    );
    let body = get(addr, "/health/ready").await;
    assert_eq!(body.status, 503);
    let check = check_json(&body.json(), "dep");
    assert_eq!(check["circuit"], "open", "{check}");
    let message = check["message"].as_str().unwrap();
    assert!(
        message.starts_with("circuit open after 2 consecutive failures; next trial in "),
        "{message}"
    );

    // While open, the dependency receives no call.
    tokio::time::sleep_until(opened_at + first_backoff - Duration::from_millis(80)).await;
    assert_eq!(dep.calls(), 2, "no call while the circuit is open");

    // Half-open: exactly one trial; it fails, and the circuit reopens with the back-off doubled.
    let reopened = report_until(&state, Duration::from_secs(2), "first trial", |c| {
        c.snapshot.runs == 3 && matches!(c.circuit, Circuit::Open { .. })
    })
    .await;
    assert_eq!(dep.calls(), 3, "one trial call");
    let second_backoff = retry_in(&reopened);
    assert!(
        second_backoff > Duration::from_millis(500) && second_backoff <= Duration::from_millis(800),
        "second back-off is doubled to 800 ms: {second_backoff:?}"
    );

    // A trial that hangs is cut at the timeout and reopens the circuit; the back-off is capped.
    dep.set(Mode::Hang);
    let half_open = report_until(&state, Duration::from_secs(2), "second trial", |c| {
        c.circuit == Circuit::HalfOpen
    })
    .await;
    assert_eq!(
        half_open.status,
        Status::Unhealthy,
        "half-open is not healthy yet"
    );
    let reopened = report_until(
        &state,
        Duration::from_secs(2),
        "hung trial times out",
        |c| c.snapshot.runs == 4 && matches!(c.circuit, Circuit::Open { .. }),
    )
    .await;
    assert_eq!(
        reopened.raw().message.as_deref(),
        Some("timed out after 100 ms")
    );
    assert!(reopened.raw().latency < Duration::from_millis(600));
    assert_eq!(dep.calls(), 4, "one call for the hung trial");
    let third_backoff = retry_in(&reopened);
    assert!(
        third_backoff > Duration::from_millis(700) && third_backoff <= Duration::from_millis(1000),
        "third back-off (1600 ms) is capped at max_backoff_ms = 1000: {third_backoff:?}"
    );

    // The dependency recovers: the next trial closes the circuit, and runs resume.
    dep.set(Mode::Up);
    let closed = report_until(&state, Duration::from_secs(2), "trial closes it", |c| {
        c.circuit == Circuit::Closed
    })
    .await;
    assert_eq!(closed.status, Status::Healthy);
    assert_eq!(dep.calls(), 5, "one successful trial");
    wait_for_status(addr, "/health/ready", 200, Duration::from_secs(1)).await;
    eventually(Duration::from_secs(2), "runs resume each interval", || {
        dep.calls() >= 8
    })
    .await;

    let hammer = hammer.await.unwrap();
    assert!(hammer.requests > 100, "{hammer:?}");
}

// -- A panicking check inside the scheduler -----------------------------------------------

static PANIC_RUNS: AtomicUsize = AtomicUsize::new(0);

#[derive(Clone, HealthState)]
#[health(checks(panics_every_other_run))]
struct Panicky {
    #[health(lifecycle)]
    lifecycle: Lifecycle,
}

#[health_check(interval_ms = 20, timeout_ms = 20, failure_threshold = 1, no_breaker)]
async fn panics_every_other_run() -> Result<(), String> {
    if PANIC_RUNS.fetch_add(1, Ordering::SeqCst) % 2 == 1 {
        panic!("index out of bounds in the check");
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_panicking_check_does_not_kill_the_scheduler() {
    let state = Panicky {
        lifecycle: Lifecycle::new(),
    };
    let scheduler = start_scheduler(&state);
    let mut saw_panic = false;
    let mut saw_recovery = false;
    let deadline = Instant::now() + Duration::from_secs(3);
    while !(saw_panic && saw_recovery) || report(&state).await.snapshot.runs < 10 {
        let check = report(&state).await;
        if check.raw().message.as_deref()
            == Some("check panicked: index out of bounds in the check")
        {
            saw_panic = true;
        } else if saw_panic && check.status == Status::Healthy {
            saw_recovery = true;
        }
        assert!(
            Instant::now() < deadline,
            "panic seen: {saw_panic}, recovery seen: {saw_recovery}, runs: {}",
            check.snapshot.runs
        );
        tokio::time::sleep(Duration::from_millis(3)).await;
    }
    assert!(scheduler.is_running(), "the scheduler survived the panics");
    scheduler.stop();
    assert!(!scheduler.is_running());
}

// -- A stalled scheduler ------------------------------------------------------------------

static STALL: AtomicBool = AtomicBool::new(false);

#[derive(Clone, HealthState)]
#[health(checks(blocks_its_thread))]
struct Stalling {
    #[health(lifecycle)]
    lifecycle: Lifecycle,
}

/// While `STALL` is set, blocks the thread it runs on: the scheduler's runtime, which has only
/// that thread, makes no progress at all (not even its timeouts fire).
#[health_check(interval_ms = 100, timeout_ms = 100, critical, failure_threshold = 1)]
async fn blocks_its_thread() -> Result<(), String> {
    while STALL.load(Ordering::SeqCst) {
        std::thread::sleep(Duration::from_millis(5));
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn results_of_a_stalled_scheduler_turn_stale_and_unhealthy() {
    let state = Stalling {
        lifecycle: Lifecycle::new(),
    };
    state.lifecycle.mark_started();
    // The scheduler runs on a runtime of its own, on one thread; the probes on this one.
    let (started, scheduler_started) = std::sync::mpsc::channel();
    let (finish, finished) = tokio::sync::oneshot::channel::<()>();
    let scheduler_state = state.clone();
    let scheduler_thread = std::thread::spawn(move || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(async move {
                let _ = started.send(start_scheduler(&scheduler_state));
                let _ = finished.await;
            });
    });
    let scheduler = scheduler_started.recv().unwrap();
    let addr = spawn(
        Stalling::health_router()
            .details(Details::Always)
            .build()
            .with_state(state.clone()),
    )
    .await;
    wait_for_status(addr, "/health/ready", 200, Duration::from_secs(2)).await;

    STALL.store(true, Ordering::SeqCst);
    let stalled = Instant::now();
    let ready = wait_for_status(addr, "/health/ready", 503, Duration::from_secs(3)).await;
    let took = stalled.elapsed();
    // max_age = 2 x interval + timeout = 300 ms after the last result.
    assert!(
        took < Duration::from_millis(1500),
        "turned stale after {took:?}"
    );
    let check = check_json(&ready.json(), "blocks_its_thread");
    assert_eq!(check["stale"], true, "{check}");
    let message = check["message"].as_str().unwrap();
    assert!(
        message.starts_with("stale: the last result is ") && message.contains("stalled"),
        "{message}"
    );
    assert_eq!(
        check["raw_status"], "healthy",
        "the last result itself was fine"
    );

    // The scheduler's thread is free again: fresh results, readiness recovers.
    STALL.store(false, Ordering::SeqCst);
    wait_for_status(addr, "/health/ready", 200, Duration::from_secs(2)).await;
    scheduler.stop();
    finish.send(()).unwrap();
    scheduler_thread.join().unwrap();
}

// -- Start-up work while the probes answer ------------------------------------------------

dep_state!(Starting, interval_ms = 100, timeout_ms = 100, startup);

#[tokio::test(flavor = "multi_thread")]
async fn slow_startup_work_runs_while_probes_answer() {
    let dep = Dependency::start(Mode::Up).await;
    let state = Starting::new(dep.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = Starting::health_router().build().with_state(state.clone());
    let (done, work) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(
        health_axum::serve(listener, app, state.clone())
            .startup(async move { work.await.map_err(|_| "start-up work was abandoned") })
            .into_future(),
    );

    // Migrations are "running": startup and readiness 503, liveness 200.
    let live = wait_for_status(addr, "/health/live", 200, Duration::from_secs(2)).await;
    assert_eq!(live.json()["phase"], "starting");
    for _ in 0..5 {
        assert_eq!(get(addr, "/health/startup").await.status, 503);
        assert_eq!(get(addr, "/health/ready").await.status, 503);
        assert_eq!(get(addr, "/health/live").await.status, 200);
        tokio::time::sleep(Duration::from_millis(40)).await;
    }
    assert_eq!(state.lifecycle.phase(), Phase::Starting);

    // The work completes: started, then ready once the startup check passes.
    done.send(()).unwrap();
    let startup = wait_for_status(addr, "/health/startup", 200, Duration::from_secs(2)).await;
    assert_eq!(startup.json()["phase"], "ready");
    assert_eq!(get(addr, "/health/ready").await.status, 200);
}

dep_state!(FailsToStart, interval_ms = 100, timeout_ms = 100, startup);

#[tokio::test(flavor = "multi_thread")]
async fn failed_startup_work_stops_the_server_with_its_error() {
    let dep = Dependency::start(Mode::Up).await;
    let state = FailsToStart::new(dep.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let app = FailsToStart::health_router()
        .build()
        .with_state(state.clone());
    let served = tokio::time::timeout(
        Duration::from_secs(5),
        health_axum::serve(listener, app, state.clone()).startup(async {
            tokio::time::sleep(Duration::from_millis(100)).await;
            Err::<(), _>("migration 3 failed: relation \"notes\" already exists")
        }),
    )
    .await
    .expect("serve returns at once when start-up work fails");
    let error = served.expect_err("the start-up error is returned");
    assert!(error.to_string().contains("migration 3 failed"), "{error}");
    assert_eq!(state.lifecycle.phase(), Phase::Draining);
}

dep_state!(
    MigratesSlowly,
    interval_ms = 100,
    timeout_ms = 100,
    startup,
    failure_threshold = 1,
    breaker_threshold = 1,
    backoff_ms = 10000
);

#[tokio::test(flavor = "multi_thread")]
async fn the_end_of_startup_work_reruns_startup_checks_even_through_an_open_circuit() {
    // The startup check fails while the migrations run, and its circuit opens with a 10 s
    // back-off. When the work completes the check is run again at once, not 10 s later.
    let dep = Dependency::start(Mode::Down).await;
    let state = MigratesSlowly::new(dep.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = MigratesSlowly::health_router()
        .build()
        .with_state(state.clone());
    let (done, work) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(
        health_axum::serve(listener, app, state.clone())
            .startup(async move { work.await.map_err(|_| "start-up work was abandoned") })
            .into_future(),
    );
    report_until(&state, Duration::from_secs(2), "circuit opens", |c| {
        matches!(c.circuit, Circuit::Open { .. })
    })
    .await;

    dep.set(Mode::Up);
    done.send(()).unwrap();
    let completed = Instant::now();
    wait_for_status(addr, "/health/startup", 200, Duration::from_secs(5)).await;
    assert!(
        completed.elapsed() < Duration::from_secs(2),
        "startup passed {:?} after the work completed",
        completed.elapsed()
    );
}
