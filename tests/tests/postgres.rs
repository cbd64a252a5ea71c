//! The built-in PostgreSQL check and the engine against a real PostgreSQL server that each test
//! starts itself (`initdb` and `pg_ctl` in a temporary directory, on a free port), then stops,
//! kills, freezes with SIGSTOP and restarts. What the server executed is counted on the server,
//! from its statement log.
//!
//! Without the PostgreSQL server binaries these tests fail with instructions; they never skip.
//! Bounds on time are generous; exact figures belong in benchmarks.

use std::net::SocketAddr;
use std::ops::Range;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use health_axum::engine::Circuit;
use health_axum::prelude::*;
use health_axum::refresh;
use health_tests::dep::{Dependency, Mode};
use health_tests::pg::PgServer;
use health_tests::{
    check_json, get, report, report_until, serve_probes, spawn, storm, wait_for_status,
};
use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::Connection;
use tokio::time::Instant;

/// A state whose only check is the built-in pool check, configured by `$args`.
macro_rules! db_state {
    ($name:ident, $($args:tt)*) => {
        health_tests::one_check_state!($name, db: PgPool, name = "database", $($args)*);
    };
}

/// A lazy pool with sqlx's defaults (an acquire may wait 30 s): the check's timeout must bound it.
fn pool(url: &str, max: u32) -> PgPool {
    PgPoolOptions::new()
        .max_connections(max)
        .connect_lazy(url)
        .expect("pool options")
}

/// Runs a blocking server operation (`pg_ctl`, signals) off the runtime that serves the probes,
/// so probe latencies are not distorted by it.
async fn on_pg(pg: &Arc<PgServer>, op: impl FnOnce(&PgServer) + Send + 'static) {
    let pg = Arc::clone(pg);
    tokio::task::spawn_blocking(move || op(&pg))
        .await
        .expect("server operation");
}

/// A kubelet-like prober running beside a fault: one liveness and one readiness probe at a
/// time, each on a new connection, every probe recorded.
struct Prober {
    stop: Arc<AtomicBool>,
    task: tokio::task::JoinHandle<Vec<Probed>>,
}

/// One probe of a [`Prober`], on the test's clock.
#[derive(Debug, Clone, Copy)]
struct Probed {
    ready: bool,
    begun: Instant,
    took: Duration,
    status: u16,
}

impl Prober {
    fn start(addr: SocketAddr) -> Prober {
        let stop = Arc::new(AtomicBool::new(false));
        let stopping = Arc::clone(&stop);
        let task = tokio::spawn(async move {
            let mut probed = Vec::new();
            while !stopping.load(Ordering::SeqCst) {
                for path in ["/health/live", "/health/ready"] {
                    let begun = Instant::now();
                    let response = get(addr, path).await;
                    probed.push(Probed {
                        ready: path == "/health/ready",
                        begun,
                        took: begun.elapsed(),
                        status: response.status,
                    });
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            probed
        });
        Prober { stop, task }
    }

    /// Stops the prober and asserts what it saw: liveness 200 throughout, and probes that never
    /// waited on the dependency while `fault` lasted.
    ///
    /// A probe that waited on the dependency would take as long as a run of the check: during
    /// these faults a run lasts from half the check's `timeout` (the database refuses: the pool
    /// retries, then the check's own connection is refused) to all of it (nothing answers). So:
    ///
    /// - of the readiness probes begun during `fault`, at most one in twenty took a tenth of
    ///   `timeout` or more. Probes that joined each run in flight would exceed that about one
    ///   time in five, and probes that ran the check every time, always. A count, not the single
    ///   slowest probe: one probe descheduled on a busy machine must not fail the test;
    /// - no probe took half as long as the fault: one that waited for the dependency itself, not
    ///   for a run, would last until the dependency came back.
    async fn finish(self, fault: Range<Instant>, timeout: Duration) {
        self.stop.store(true, Ordering::SeqCst);
        let probed = self.task.await.unwrap();
        let live_failures = probed
            .iter()
            .filter(|p| !p.ready && p.status != 200)
            .count();
        let during: Vec<Duration> = probed
            .iter()
            .filter(|p| p.ready && fault.contains(&p.begun))
            .map(|p| p.took)
            .collect();
        let at_once = timeout / 10;
        let late = during.iter().filter(|took| **took >= at_once).count();
        let slowest = probed.iter().map(|p| p.took).max().unwrap_or_default();
        let stall = fault.end - fault.start;
        println!(
            "prober: {} probes, {live_failures} liveness failures; {} readiness probes during the \
             fault ({stall:?}), {late} of them {at_once:?} or more; slowest probe {slowest:?}",
            probed.len(),
            during.len()
        );
        assert!(
            probed.len() >= 20,
            "the prober ran: {} probes",
            probed.len()
        );
        assert_eq!(live_failures, 0, "liveness stayed 200 throughout");
        assert!(
            during.len() >= 10,
            "only {} readiness probes during the fault",
            during.len()
        );
        assert!(
            late * 20 <= during.len(),
            "{late} of {} readiness probes during the fault took {at_once:?} or more: probes \
             must answer from the snapshot at once, not wait on a run",
            during.len()
        );
        assert!(
            slowest < stall / 2,
            "a probe took {slowest:?}, during a fault of {stall:?}"
        );
    }
}

// -- Outage: stopped or crashed, then restarted -------------------------------------------

const INTERVAL: u64 = 300;
const TIMEOUT: u64 = 300;
const THRESHOLD: u64 = 2;
const MAX_BACKOFF: u64 = 1000;

db_state!(
    Outage,
    interval_ms = 300,
    timeout_ms = 300,
    failure_threshold = 2,
    backoff_ms = 300,
    max_backoff_ms = 1000
);

#[derive(Clone, Copy, Debug)]
enum Fault {
    /// `pg_ctl stop -m fast`: clients are disconnected, the port refuses.
    Stop,
    /// SIGKILL to every server process: a crash.
    Kill,
}

async fn outage_and_recovery(fault: Fault) {
    let pg = Arc::new(PgServer::start());
    let state = Outage::new(pool(&pg.url(), 2));
    let addr = serve_probes(&state).await;
    wait_for_status(addr, "/health/ready", 200, Duration::from_secs(10)).await;
    let prober = Prober::start(addr);

    let fault_begun = Instant::now();
    on_pg(&pg, move |pg| match fault {
        Fault::Stop => pg.stop(),
        Fault::Kill => pg.kill(),
    })
    .await;
    let down = Instant::now();
    let ready = wait_for_status(addr, "/health/ready", 503, Duration::from_secs(5)).await;
    let took = down.elapsed();
    // One interval until the next run, its timeout at most, then damping: one more interval.
    let bound = Duration::from_millis(INTERVAL + TIMEOUT + THRESHOLD * INTERVAL + 700);
    println!("{fault:?}: readiness 503 after {took:?} (bound {bound:?})");
    assert!(
        took < bound,
        "{fault:?}: readiness turned 503 after {took:?}"
    );
    let check = check_json(&ready.json(), "database");
    assert_eq!(check["status"], "unhealthy", "{check}");
    assert_eq!(check["raw_status"], "unhealthy", "{check}");
    // The real cause, not "timed out": sqlx retries a refused connection inside the acquire
    // and keeps the error to itself; the check finds it out.
    let message = check["message"].as_str().unwrap_or_default();
    assert!(
        message.starts_with("cannot connect to the database: ")
            && message.contains("Connection refused"),
        "{fault:?}: {check}"
    );
    // Stay down until the breaker opens (three failures in a row): restarting then proves the
    // half-open trial brings it back.
    report_until(&state, Duration::from_secs(3), "circuit opens", |c| {
        matches!(c.circuit, Circuit::Open { .. })
    })
    .await;

    on_pg(&pg, |pg| pg.start_again()).await;
    let up = Instant::now();
    wait_for_status(addr, "/health/ready", 200, Duration::from_secs(5)).await;
    let recovered = Instant::now();
    let took = up.elapsed();
    let bound = Duration::from_millis(MAX_BACKOFF + INTERVAL + TIMEOUT + 1500);
    println!("{fault:?}: readiness 200 after {took:?} (bound {bound:?})");
    assert!(
        took < bound,
        "{fault:?}: readiness recovered after {took:?}"
    );

    // No stale-connection error after the first successful check: every later run is healthy.
    let first = report(&state).await.snapshot.runs;
    let watch_until = Instant::now() + Duration::from_millis(6 * INTERVAL);
    while Instant::now() < watch_until {
        let check = report(&state).await;
        assert_eq!(
            check.raw().status,
            Status::Healthy,
            "run {} after recovery failed: {:?}",
            check.snapshot.runs,
            check.raw().message
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let later = report(&state).await.snapshot.runs;
    assert!(later >= first + 4, "runs went on: {first} -> {later}");
    // The application's own queries work on the same pool.
    sqlx::query("SELECT 2")
        .execute(&state.db)
        .await
        .expect("the pool serves queries after the restart");

    prober
        .finish(fault_begun..recovered, Duration::from_millis(TIMEOUT))
        .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stopped_database_fails_readiness_not_liveness_and_recovers_on_restart() {
    outage_and_recovery(Fault::Stop).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_crashed_database_fails_readiness_not_liveness_and_recovers_on_restart() {
    outage_and_recovery(Fault::Kill).await;
}

// -- Frozen: accepts, never answers -------------------------------------------------------

db_state!(
    Frozen,
    interval_ms = 500,
    timeout_ms = 500,
    failure_threshold = 1,
    max_backoff_ms = 1000
);

#[tokio::test(flavor = "multi_thread")]
async fn a_frozen_database_is_reported_within_the_timeout_while_probes_answer_at_once() {
    let pg = Arc::new(PgServer::start());
    let state = Frozen::new(pool(&pg.url(), 2));
    let addr = serve_probes(&state).await;
    wait_for_status(addr, "/health/ready", 200, Duration::from_secs(10)).await;
    let prober = Prober::start(addr);

    let fault_begun = Instant::now();
    on_pg(&pg, |pg| pg.freeze()).await;
    let frozen = Instant::now();
    let ready = wait_for_status(addr, "/health/ready", 503, Duration::from_secs(4)).await;
    let took = frozen.elapsed();
    assert!(
        took < Duration::from_millis(500 + 500 + 1000),
        "readiness turned 503 {took:?} after the freeze"
    );
    let check = check_json(&ready.json(), "database");
    let message = check["message"].as_str().unwrap_or_default();
    assert!(
        message.starts_with("the database does not answer"),
        "{check}"
    );
    let latency = check["latency_ms"].as_f64().unwrap();
    assert!(
        (250.0..500.0).contains(&latency),
        "the check said so within its 500 ms timeout: {latency} ms"
    );
    // While frozen the breaker opens: the dead server is not hammered with connections.
    report_until(&state, Duration::from_secs(3), "circuit opens", |c| {
        matches!(c.circuit, Circuit::Open { .. })
    })
    .await;

    on_pg(&pg, |pg| pg.thaw()).await;
    let thawed = Instant::now();
    wait_for_status(addr, "/health/ready", 200, Duration::from_secs(5)).await;
    let recovered = Instant::now();
    println!(
        "frozen: 503 after {took:?}, 200 again {:?} after thawing",
        thawed.elapsed()
    );
    prober
        .finish(fault_begun..recovered, Duration::from_millis(500))
        .await;
}

db_state!(
    Unanswered,
    interval_ms = 500,
    timeout_ms = 300,
    failure_threshold = 1,
    no_breaker
);

#[tokio::test(flavor = "multi_thread")]
async fn a_listener_that_accepts_and_never_replies_is_reported_within_the_timeout() {
    // Not PostgreSQL at all: a socket that accepts the connection and never says a word, where
    // sqlx would wait for its 30 s acquire timeout.
    let silent = Dependency::start(Mode::Hang).await;
    let url = format!("postgres://postgres@{}/postgres", silent.addr);
    let state = Unanswered::new(pool(&url, 2));
    let begun = Instant::now();
    let addr = serve_probes(&state).await;
    // Until the first run has a result, a probe waits for it (at most its timeout); from then
    // on probes answer from the snapshot.
    let ready = wait_for_status(addr, "/health/ready", 503, Duration::from_secs(3)).await;
    assert!(
        begun.elapsed() < Duration::from_secs(2),
        "{:?}",
        begun.elapsed()
    );
    let prober = Prober::start(addr);
    let probing = Instant::now();
    // It says that the database does not answer, within its timeout: not a bare "timed out".
    let check = check_json(&ready.json(), "database");
    let message = check["message"].as_str().unwrap_or_default();
    assert!(
        message.starts_with("the database does not answer: no connection opened within "),
        "{check}"
    );
    let latency = check["latency_ms"].as_f64().unwrap();
    assert!(latency < 300.0, "{check}");

    // Counted at the listener, on the test's clock, while the prober probes: every interval one
    // run connects twice (the pool's attempt, then, at half the check's time, the check's own
    // connection to learn why), and the run's timeout closes both. Over five intervals, no more
    // than six runs can begin (one interval apart at least) and, on a loaded machine, no fewer
    // than three. Runs back to back (one per timeout) would make 18; a probe that ran the check
    // would add two connections of its own.
    let interval = Duration::from_millis(500);
    let timeout = Duration::from_millis(300);
    let intervals = 5;
    let watched = Instant::now();
    let watch = interval * intervals;
    tokio::time::sleep(watch).await;
    let log = silent.call_log();
    let origin = log.first().map_or(watched, |c| c.accepted);
    let at = |t: Instant| t.saturating_duration_since(origin);
    let listing = || {
        let calls: Vec<String> = log
            .iter()
            .map(|c| format!("  +{:?} held {:?}", at(c.accepted), c.held()))
            .collect();
        format!(
            "watched from +{:?} for {watch:?}:\n{}",
            at(watched),
            calls.join("\n")
        )
    };
    let seen = log
        .iter()
        .filter(|c| (watched..watched + watch).contains(&c.accepted))
        .count();
    let (fewest, most) = (2 * (intervals - 2), 2 * (intervals + 1));
    println!("the listener accepted {seen} connections in {watch:?} (allowed {fewest}..={most})");
    assert!(
        (fewest..=most).contains(&(seen as u32)),
        "the listener accepted {seen} connections in {watch:?}, not {fewest} to {most}:\n{}",
        listing()
    );
    // Each one closed by the check within its timeout (plus the slack of a loaded machine),
    // where sqlx alone would hold it for its 30 s acquire timeout; only the last run's may be
    // open still.
    let close_bound = timeout + Duration::from_millis(200);
    let now = Instant::now();
    for call in log.iter().filter(|c| c.accepted + close_bound <= now) {
        assert!(
            call.held().is_some_and(|held| held < close_bound),
            "a connection accepted at +{:?} was held {:?} (bound {close_bound:?}):\n{}",
            at(call.accepted),
            call.held(),
            listing()
        );
    }
    let open = log.iter().filter(|c| c.ended.is_none()).count();
    assert!(open <= 2, "{open} connections open at once:\n{}", listing());
    // And the check still says why.
    let check = report(&state).await;
    let message = check.raw().message.as_deref().unwrap_or_default();
    assert!(
        message.starts_with("the database does not answer: no connection opened within "),
        "{message}"
    );
    prober.finish(probing..Instant::now(), timeout).await;
}

db_state!(
    Refused,
    interval_ms = 60000,
    timeout_ms = 400,
    failure_threshold = 1
);

#[tokio::test(flavor = "multi_thread")]
async fn a_port_nobody_listens_on_is_reported_as_refused_within_the_timeout() {
    let port = health_tests::free_port();
    let state = Refused::new(pool(
        &format!("postgres://postgres@127.0.0.1:{port}/postgres"),
        2,
    ));
    let begun = Instant::now();
    refresh(&state).await;
    let took = begun.elapsed();
    let check = report(&state).await;
    assert_eq!(check.status, Status::Unhealthy);
    let message = check.raw().message.as_deref().unwrap_or_default();
    assert!(
        message.starts_with("cannot connect to the database: ")
            && message.contains("Connection refused"),
        "{message}"
    );
    assert!(took < Duration::from_millis(400), "{took:?}");
    let details = check.raw().details.clone().expect("details");
    assert_eq!(details["connections"]["open"], 0, "{details}");
    assert_eq!(details["connections"]["max"], 2, "{details}");
}

db_state!(
    SlowConnect,
    interval_ms = 60000,
    timeout_ms = 800,
    failure_threshold = 1
);

/// A TCP proxy in front of `target` that holds every new connection for `delay` before it
/// connects it through: a database far away, or behind a slow TLS handshake.
async fn slow_proxy(target: u16, delay: Duration) -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((mut client, _)) = listener.accept().await {
            tokio::spawn(async move {
                tokio::time::sleep(delay).await;
                if let Ok(mut server) = tokio::net::TcpStream::connect(("127.0.0.1", target)).await
                {
                    let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                }
            });
        }
    });
    port
}

#[tokio::test(flavor = "multi_thread")]
async fn a_slow_first_connection_still_wins_while_the_cause_is_looked_for() {
    // Opening a connection takes 500 ms of the 800 ms: past the half-way point at which the
    // check starts a connection of its own to diagnose, yet within its time. The pool keeps
    // trying meanwhile, so the check is healthy, not "no pooled connection".
    let pg = PgServer::start();
    let port = slow_proxy(pg.port, Duration::from_millis(500)).await;
    let state = SlowConnect::new(pool(
        &format!("postgres://postgres@127.0.0.1:{port}/postgres"),
        2,
    ));
    refresh(&state).await;
    let check = report(&state).await;
    assert_eq!(check.status, Status::Healthy, "{:?}", check.raw().message);
    assert!(
        check.raw().latency >= Duration::from_millis(500),
        "{:?}",
        check.raw().latency
    );
}

// -- The pool itself: acquire bounded by the timeout, details ------------------------------

db_state!(
    Bounded,
    interval_ms = 60000,
    timeout_ms = 300,
    failure_threshold = 1
);

#[tokio::test(flavor = "multi_thread")]
async fn the_pool_check_is_bounded_by_its_timeout_and_reports_the_pool() {
    let pg = Arc::new(PgServer::start());
    let state = Bounded::new(pool(&pg.url(), 1));

    refresh(&state).await;
    let check = report(&state).await;
    assert_eq!(check.status, Status::Healthy, "{:?}", check.raw().message);
    let details = check.raw().details.clone().expect("details");
    let connections = &details["connections"];
    assert_eq!(connections["open"], 1, "{details}");
    // Measured during the round trip, on the pool's only connection: none is idle.
    assert_eq!(connections["idle"], 0, "{details}");
    assert_eq!(connections["max"], 1, "{details}");
    // And PostgreSQL counts that one connection, besides the one counting.
    let mut counting = sqlx::PgConnection::connect(&pg.url()).await.unwrap();
    let backends: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM pg_stat_activity \
         WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()",
    )
    .fetch_one(&mut counting)
    .await
    .unwrap();
    assert_eq!(backends, 1, "client connections PostgreSQL counts");
    counting.close().await.unwrap();
    assert!(
        details["round_trip_ms"].as_f64().unwrap() > 0.0,
        "{details}"
    );

    // The application holds the only connection: acquiring one would wait 30 s.
    let held = state.db.acquire().await.unwrap();
    let begun = Instant::now();
    refresh(&state).await;
    let took = begun.elapsed();
    let check = report(&state).await;
    assert_eq!(check.status, Status::Unhealthy);
    // The check tells a full pool from a dead database: it opened a connection of its own.
    let message = check.raw().message.as_deref().unwrap_or_default();
    assert!(
        message.starts_with("no pooled connection within ")
            && message.ends_with(
                " ms: all 1 connections are in use (the database itself accepts new connections)"
            ),
        "{message}"
    );
    let connections = &check.raw().details.as_ref().unwrap()["connections"];
    assert_eq!(connections["open"], 1, "{connections}");
    assert_eq!(
        connections["idle"], 0,
        "the application holds it: {connections}"
    );
    assert!(
        took >= Duration::from_millis(250) && took < Duration::from_secs(2),
        "{took:?}"
    );
    drop(held);
    refresh(&state).await;
    assert_eq!(report(&state).await.status, Status::Healthy);
}

// -- Probe storm, counted on the server ---------------------------------------------------

db_state!(StormScheduled, interval_ms = 1000, timeout_ms = 500);
db_state!(StormOnDemand, interval_ms = 1000, timeout_ms = 500);

async fn storm_counted_on_the_server(pg: &PgServer, addr: SocketAddr, what: &str) {
    wait_for_status(addr, "/health/ready", 200, Duration::from_secs(10)).await;
    let before = pg.count_queries("SELECT 1");
    let duration = Duration::from_secs(3);
    let stats = storm(addr, "/health/ready", 200, duration).await;
    // Let the server's log catch up with what it executed.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let executed = pg.count_queries("SELECT 1") - before;
    let allowed = duration.as_secs() as usize + 2;
    println!(
        "{what}: {} probes ({:?}); PostgreSQL executed SELECT 1 {executed} times (allowed {allowed})",
        stats.requests, stats.codes
    );
    assert!(
        stats.requests >= 500,
        "the storm was not a storm: {stats:?}"
    );
    assert_eq!(stats.count(200), stats.requests, "{stats:?}");
    assert!(
        executed <= allowed,
        "{what}: PostgreSQL executed the check {executed} times for {} probes in {duration:?}",
        stats.requests
    );
    assert!(executed >= 1, "{what}: the check kept running");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_probe_storm_costs_postgres_one_query_per_interval() {
    let pg = PgServer::start();

    let scheduled = StormScheduled::new(pool(&pg.url(), 2));
    let addr = serve_probes(&scheduled).await;
    storm_counted_on_the_server(&pg, addr, "scheduler").await;
    // Its scheduler would go on querying the same server: stop it before counting the next.
    health_axum::start_scheduler(&scheduled).stop();

    let on_demand = StormOnDemand::new(pool(&pg.url(), 2));
    on_demand.lifecycle.mark_started();
    let addr = spawn(
        StormOnDemand::health_router()
            .build()
            .with_state(on_demand.clone()),
    )
    .await;
    storm_counted_on_the_server(&pg, addr, "on demand").await;
}
