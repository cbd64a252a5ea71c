//! The engine against a real TCP dependency that counts every call it receives (a counting
//! listener, on the server side, never inside the framework): background refresh, single flight
//! under a probe storm, damping of a flapping dependency, the circuit breaker's states, a
//! panicking check inside the scheduler, a stalled scheduler, and start-up work running while the
//! probes answer.
//!
//! Over real sockets, bounds on time are generous (a behaviour due at 400 ms is asserted before
//! 1.5 s), and counts are asserted where a window would leave room to flake; exact figures belong
//! in benchmarks. The breaker's timeline and the panicking check run on Tokio's paused clock,
//! against in-process counting checks, where every instant is exact.

use std::future::IntoFuture;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use health_axum::engine::{evaluate, BoxFuture, CheckReport, CheckSpec, Circuit};
use health_axum::prelude::*;
use health_axum::Scope;
use health_axum::{refresh, start_scheduler};
use health_tests::dep::{Dependency, Mode, FLAP_SCRIPT};
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

// A timeout of a whole interval: on a loaded two-core machine, the 100 ms call can take several
// times as long while 200 clients storm the same process; a timed-out check would fail the
// probes for a reason that is not the engine's.
dep_state!(StormScheduled, interval_ms = 1000, timeout_ms = 1000);
dep_state!(StormOnDemand, interval_ms = 1000, timeout_ms = 1000);

/// Held by each test that storms the probes: two storms in one process at once on two cores
/// would measure each other's load (a check starved past its timeout), not the engine.
static STORMS: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Hundreds of concurrent readiness probes for 4 s; the dependency counts its calls.
async fn storm_against(addr: SocketAddr, dep: &Dependency, interval: Duration) {
    wait_for_status(addr, "/health/ready", 200, Duration::from_secs(5)).await;
    let before = dep.calls();
    let duration = Duration::from_secs(4);
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
    let _storm = STORMS.lock().await;
    let dep = Dependency::start(Mode::Up).await;
    // Each call takes 100 ms: a probe that ran the check would take as long.
    dep.set_delay(Duration::from_millis(100));
    let state = StormScheduled::new(dep.clone());
    let addr = serve_probes(&state).await;
    storm_against(addr, &dep, Duration::from_millis(1000)).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_probe_storm_costs_one_check_per_interval_without_a_scheduler() {
    let _storm = STORMS.lock().await;
    let dep = Dependency::start(Mode::Up).await;
    dep.set_delay(Duration::from_millis(100));
    let state = StormOnDemand::new(dep.clone());
    let addr = serve_on_demand(&state).await;
    assert_eq!(dep.calls(), 0, "nothing runs before the first probe");
    storm_against(addr, &dep, Duration::from_millis(1000)).await;
}

// A first interval (10 s) far longer than the storm, so that one call is the exact count.
dep_state!(StormCold, interval_ms = 10000, timeout_ms = 2000);

#[tokio::test(flavor = "multi_thread")]
async fn a_probe_storm_on_a_cold_cache_shares_one_run_without_a_scheduler() {
    let _storm = STORMS.lock().await;
    let dep = Dependency::start(Mode::Up).await;
    // The one run takes 300 ms: the probes of the first wave all arrive while it is under way.
    let delay = Duration::from_millis(300);
    dep.set_delay(delay);
    let state = StormCold::new(dep.clone());
    let addr = serve_on_demand(&state).await;
    assert_eq!(dep.calls(), 0, "nothing runs before the first probe");

    // 200 probes at once on the cold cache, then a storm of 50 clients for 1 s.
    let begun = Instant::now();
    let wave: Vec<_> = (0..200)
        .map(|_| {
            tokio::spawn(async move {
                let sent = Instant::now();
                let status = get(addr, "/health/ready").await.status;
                (status, sent.elapsed())
            })
        })
        .collect();
    let mut waited = 0;
    for probe in wave {
        let (status, latency) = probe.await.expect("probe of the first wave");
        assert_eq!(status, 200, "every probe of the cold wave passed");
        // A probe that took most of the run's 300 ms arrived while the cache was cold.
        waited += usize::from(latency >= delay - Duration::from_millis(50));
    }
    let stats = storm(addr, "/health/ready", 50, Duration::from_secs(1)).await;
    let calls = dep.calls();
    println!(
        "cold wave: {waited} of 200 probes waited for the first run; then {} probes ({:?}); \
         dependency calls {calls}; {:?} in all",
        stats.requests,
        stats.codes,
        begun.elapsed()
    );
    assert!(
        waited >= 2,
        "the wave did not storm the cold cache: {waited} probes waited for the first run"
    );
    assert_eq!(stats.count(200), stats.requests, "{stats:?}");
    assert!(
        stats.requests >= 200,
        "the storm was not a storm: {stats:?}"
    );
    assert!(
        begun.elapsed() < Duration::from_secs(10),
        "the storm outlasted the first interval; the count below would not hold"
    );
    assert_eq!(calls, 1, "one dependency call for the first interval");
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

fn retry_in(check: &CheckReport) -> Duration {
    match check.circuit {
        Circuit::Open { retry_in } => retry_in,
        other => panic!("circuit is {other:?}, not open"),
    }
}

/// An in-process dependency for tests on the paused clock: up or down, it records the (virtual)
/// instant of every call it receives.
#[derive(Clone, Default)]
struct Fake(Arc<FakeInner>);

#[derive(Default)]
struct FakeInner {
    down: AtomicBool,
    calls: Mutex<Vec<Instant>>,
}

impl Fake {
    fn down() -> Fake {
        let fake = Fake::default();
        fake.0.down.store(true, Ordering::SeqCst);
        fake
    }

    fn set_up(&self) {
        self.0.down.store(false, Ordering::SeqCst);
    }

    /// When each call came, in milliseconds after `t0`.
    fn calls_ms(&self, t0: Instant) -> Vec<u128> {
        let calls = self.0.calls.lock().unwrap();
        calls.iter().map(|at| (*at - t0).as_millis()).collect()
    }
}

impl HealthCheck for Fake {
    async fn check(&self) -> CheckOutcome {
        self.0.calls.lock().unwrap().push(Instant::now());
        if self.0.down.load(Ordering::SeqCst) {
            CheckOutcome::unhealthy("connection refused")
        } else {
            CheckOutcome::healthy()
        }
    }
}

#[derive(Clone)]
struct Breaking {
    dep: Fake,
    lifecycle: Lifecycle,
}

fn breaking_dep(state: &Breaking) -> BoxFuture<'_, CheckOutcome> {
    Box::pin(state.dep.check())
}

/// The configuration of the breaker tests, written out with the builder (the check is a field's
/// `HealthCheck`, its state one the test owns). On the paused clock the fake answers at once, so
/// its 50 ms timeout never cuts it; the hung trial is tested over a real socket below.
impl HealthState for Breaking {
    const CHECKS: &'static [CheckSpec<Self>] = &[CheckSpec::new("dep", breaking_dep)
        .critical(true)
        .interval_ms(100)
        .timeout_ms(50)
        .failure_threshold(1)
        .breaker_threshold(2)
        .backoff_ms(400)
        .max_backoff_ms(1000)];
    const VERSION: &'static str = "test";
    fn lifecycle(&self) -> &Lifecycle {
        &self.lifecycle
    }
}

#[tokio::test(start_paused = true)]
async fn the_circuit_breaker_opens_admits_one_trial_per_back_off_and_caps_it() {
    let fake = Fake::down();
    let state = Breaking {
        dep: fake.clone(),
        lifecycle: Lifecycle::new(),
    };
    state.lifecycle.mark_started();
    let t0 = Instant::now();
    let at = |ms: u64| t0 + Duration::from_millis(ms);
    let scheduler = start_scheduler(&state);
    // 20 probes read readiness every 5 ms throughout: none of them may reach the dependency.
    let hammering = Arc::new(AtomicBool::new(true));
    let probes: Vec<_> = (0..20)
        .map(|_| {
            let (state, hammering) = (state.clone(), Arc::clone(&hammering));
            tokio::spawn(async move {
                let mut answers = 0_usize;
                while hammering.load(Ordering::SeqCst) {
                    evaluate(&state, Scope::Probe(Probe::Ready)).await;
                    answers += 1;
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
                answers
            })
        })
        .collect();

    // Runs at 0 and 100 ms fail; the second opens the circuit for backoff_ms = 400.
    tokio::time::sleep_until(at(450)).await;
    assert_eq!(
        fake.calls_ms(t0),
        [0, 100],
        "no call while the circuit is open"
    );
    let open = report(&state).await;
    assert_eq!(open.status, Status::Unhealthy);
    assert_eq!(open.snapshot.consecutive_failures, 2);
    assert_eq!(open.snapshot.retry_at, Some(at(500)), "{open:?}");
    assert_eq!(retry_in(&open), Duration::from_millis(50));

    // One trial at 500 ms; it fails and the back-off doubles to 800 ms.
    tokio::time::sleep_until(at(1250)).await;
    assert_eq!(fake.calls_ms(t0), [0, 100, 500], "one trial call");
    let reopened = report(&state).await;
    assert_eq!(reopened.snapshot.retry_at, Some(at(1300)), "{reopened:?}");
    assert_eq!(reopened.snapshot.runs, 3);

    // One trial at 1300 ms; it fails and the back-off (1600 ms) is capped at 1000 ms.
    tokio::time::sleep_until(at(2250)).await;
    assert_eq!(fake.calls_ms(t0), [0, 100, 500, 1300], "one trial call");
    let capped = report(&state).await;
    assert_eq!(capped.snapshot.retry_at, Some(at(2300)), "{capped:?}");

    // The dependency recovers: the trial at 2300 ms closes the circuit, and runs resume each
    // interval.
    fake.set_up();
    tokio::time::sleep_until(at(2550)).await;
    assert_eq!(
        fake.calls_ms(t0),
        [0, 100, 500, 1300, 2300, 2400, 2500],
        "one successful trial, then one run per interval"
    );
    let closed = report(&state).await;
    assert_eq!(closed.circuit, Circuit::Closed);
    assert_eq!(closed.status, Status::Healthy);
    assert_eq!(closed.snapshot.runs, 7);

    hammering.store(false, Ordering::SeqCst);
    let mut answers = 0;
    for probe in probes {
        answers += probe.await.unwrap();
    }
    assert!(answers >= 20 * 500, "the probes kept reading: {answers}");
    scheduler.stop();
}

dep_state!(
    BrokenOverHttp,
    interval_ms = 300,
    timeout_ms = 300,
    failure_threshold = 1,
    breaker_threshold = 2,
    backoff_ms = 3000,
    max_backoff_ms = 3000
);

#[tokio::test(flavor = "multi_thread")]
async fn an_open_circuit_keeps_a_probe_storm_off_the_dependency_and_a_hung_trial_is_cut() {
    let _storm = STORMS.lock().await;
    // Real sockets: the counts are exact, and the windows are the 3 s back-off (the storm lasts
    // 500 ms of it).
    let dep = Dependency::start(Mode::Down).await;
    let state = BrokenOverHttp::new(dep.clone());
    let addr = serve_probes(&state).await;
    let open = report_until(&state, Duration::from_secs(5), "circuit opens", |c| {
        matches!(c.circuit, Circuit::Open { .. })
    })
    .await;
    let opened = Instant::now();
    assert_eq!(dep.calls(), 2, "opened after breaker_threshold = 2 calls");
    assert_eq!(open.status, Status::Unhealthy);
    assert!(retry_in(&open) <= Duration::from_millis(3000), "{open:?}");

    // While it is open, 20 clients storm readiness over HTTP: all fail, none reaches the
    // dependency.
    let stats = storm(addr, "/health/ready", 20, Duration::from_millis(500)).await;
    let calls = dep.calls();
    let stormed = opened.elapsed();
    println!("open circuit: {stats:?} in {stormed:?}; dependency calls {calls}");
    assert!(
        stormed < Duration::from_millis(2900),
        "the storm outlasted the back-off ({stormed:?}): the count below would prove nothing"
    );
    assert_eq!(calls, 2, "no call while the circuit is open");
    assert!(stats.requests >= 20, "{stats:?}");
    assert_eq!(stats.count(503), stats.requests, "{stats:?}");
    let body = get(addr, "/health/ready").await;
    assert_eq!(body.status, 503);
    let check = check_json(&body.json(), "dep");
    assert_eq!(check["circuit"], "open", "{check}");
    let message = check["message"].as_str().unwrap();
    assert!(
        message.starts_with("circuit open after 2 consecutive failures; next trial in "),
        "{message}"
    );

    // The trial hangs: it is cut at its 300 ms timeout, and the circuit reopens.
    dep.set(Mode::Hang);
    let half_open = report_until(&state, Duration::from_secs(5), "the trial", |c| {
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
        Duration::from_secs(5),
        "hung trial times out",
        |c| c.snapshot.runs == 3 && matches!(c.circuit, Circuit::Open { .. }),
    )
    .await;
    assert_eq!(
        reopened.raw().message.as_deref(),
        Some("timed out after 300 ms")
    );
    let latency = reopened.raw().latency;
    assert!(
        latency >= Duration::from_millis(300) && latency < Duration::from_millis(900),
        "the hung trial is cut at its 300 ms timeout: {latency:?}"
    );
    assert_eq!(dep.calls(), 3, "one call for the hung trial");
    assert!(retry_in(&reopened) <= Duration::from_millis(3000));
}

// -- A panicking check inside the scheduler -----------------------------------------------

/// Runs of [`panics_every_other_run`], counted by the check itself (outside the framework).
static PANIC_RUNS: AtomicUsize = AtomicUsize::new(0);

#[derive(Clone)]
struct Panicky {
    lifecycle: Lifecycle,
}

fn panics_every_other_run(_: &Panicky) -> BoxFuture<'_, CheckOutcome> {
    Box::pin(async {
        if PANIC_RUNS.fetch_add(1, Ordering::SeqCst) % 2 == 1 {
            panic!("index out of bounds in the check");
        }
        CheckOutcome::healthy()
    })
}

/// Written out with the builder, like `Breaking`.
impl HealthState for Panicky {
    const CHECKS: &'static [CheckSpec<Self>] =
        &[
            CheckSpec::new("panics_every_other_run", panics_every_other_run)
                .interval_ms(20)
                .timeout_ms(10)
                .failure_threshold(1)
                .no_breaker(),
        ];
    const VERSION: &'static str = "test";
    fn lifecycle(&self) -> &Lifecycle {
        &self.lifecycle
    }
}

#[tokio::test(start_paused = true)]
async fn a_panicking_check_does_not_kill_the_scheduler() {
    let state = Panicky {
        lifecycle: Lifecycle::new(),
    };
    let t0 = Instant::now();
    let scheduler = start_scheduler(&state);
    // Runs at 0, 20, 40... ms; look halfway between two runs, twelve times: run n (from 1) has
    // just been recorded, and every even one panicked.
    for n in 1..=12_u64 {
        tokio::time::sleep_until(t0 + Duration::from_millis(20 * n - 10)).await;
        let check = report(&state).await;
        let panicked = n % 2 == 0;
        assert_eq!(
            PANIC_RUNS.load(Ordering::SeqCst),
            n as usize,
            "the check itself counted {n} runs"
        );
        assert_eq!(check.snapshot.runs, n, "{check:?}");
        if panicked {
            assert_eq!(
                check.raw().message.as_deref(),
                Some("check panicked: index out of bounds in the check"),
                "run {n}"
            );
            assert_eq!(check.status, Status::Unhealthy, "run {n}");
        } else {
            assert_eq!(check.raw().message, None, "run {n}");
            assert_eq!(check.status, Status::Healthy, "recovered at run {n}");
        }
        assert!(scheduler.is_running(), "the scheduler survived the panics");
    }
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

// Timeout 1 s: a 100 ms one timed out on a loaded machine, and the circuit then reopened for 10 s.
dep_state!(
    MigratesSlowly,
    interval_ms = 1000,
    timeout_ms = 1000,
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
