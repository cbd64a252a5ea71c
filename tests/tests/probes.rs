//! A crate that uses the framework the way the README says (one dependency, one `use`, the
//! attributes, the derive and the router call), served over a real socket: every probe in every
//! lifecycle phase, aggregation seen over HTTP, HEAD, 405, headers, version and paths.
//!
//! The checks here have no damping (`failure_threshold = 1`), and each change of a dependency is
//! followed by `refresh`, so a probe sees it without waiting for the interval: the engine's own
//! timing is tested in `engine.rs` and `background.rs`.

use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;

use health_axum::prelude::*;
use health_axum::refresh;
use health_tests::{get, request, spawn};

/// What a controllable check answers next.
const OK: u8 = 0;
const FAIL: u8 = 1;
const DEGRADED: u8 = 2;

#[derive(Clone, Default)]
struct Switch(Arc<AtomicU8>);

impl Switch {
    fn set(&self, mode: u8) {
        self.0.store(mode, Ordering::SeqCst);
    }
    fn outcome(&self, what: &str) -> CheckOutcome {
        match self.0.load(Ordering::SeqCst) {
            OK => CheckOutcome::healthy(),
            FAIL => CheckOutcome::unhealthy(format!("{what} is down")),
            _ => CheckOutcome::degraded(format!("{what} is slow")),
        }
    }
}

/// A value that checks itself, registered through a field attribute.
#[derive(Clone, Default)]
struct Upstream(Switch);

impl HealthCheck for Upstream {
    async fn check(&self) -> CheckOutcome {
        self.0.outcome("upstream")
    }
}

#[derive(Clone, HealthState)]
#[health(checks(database, cache, migrations, event_loop))]
struct AppState {
    db: Switch,
    cache: Switch,
    migrations: Switch,
    event_loop: Switch,
    #[health(check(name = "upstream", timeout_ms = 300, failure_threshold = 1))]
    upstream: Upstream,
    #[health(lifecycle)]
    lifecycle: Lifecycle,
}

#[derive(Debug)]
struct DbError(&'static str);

impl std::fmt::Display for DbError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "database error: {}", self.0)
    }
}

/// How long the failing database check takes (a connect attempt, then the refusal): the
/// latency it reports is at least this.
const REFUSED_AFTER: std::time::Duration = std::time::Duration::from_millis(30);

#[health_check(name = "database", timeout_ms = 500, critical, failure_threshold = 1)]
async fn database(state: &AppState) -> Result<(), DbError> {
    match state.db.outcome("db").status() {
        Status::Healthy => Ok(()),
        _ => {
            tokio::time::sleep(REFUSED_AFTER).await;
            Err(DbError("connection refused"))
        }
    }
}

#[health_check(timeout_ms = 200, failure_threshold = 1)]
async fn cache(state: &AppState) -> CheckOutcome {
    state.cache.outcome("cache")
}

#[health_check(startup, failure_threshold = 1)]
async fn migrations(state: &AppState) -> Result<(), String> {
    match state.migrations.outcome("migrations").status() {
        Status::Healthy => Ok(()),
        _ => Err("2 migrations pending".to_string()),
    }
}

#[health_check(name = "event-loop", live, critical, failure_threshold = 1)]
async fn event_loop(state: &AppState) -> CheckOutcome {
    state.event_loop.outcome("event loop")
}

fn new_state() -> AppState {
    AppState {
        db: Switch::default(),
        cache: Switch::default(),
        migrations: Switch::default(),
        event_loop: Switch::default(),
        upstream: Upstream::default(),
        lifecycle: Lifecycle::new(),
    }
}

async fn app(state: &AppState) -> std::net::SocketAddr {
    let app = Router::new()
        .route("/", axum::routing::get(|| async { "hello" }))
        .merge(AppState::health_router().details(Details::Always))
        .with_state(state.clone());
    spawn(app).await
}

async fn codes(addr: std::net::SocketAddr) -> [u16; 4] {
    let mut out = [0; 4];
    for (i, path) in [
        "/health/startup",
        "/health/live",
        "/health/ready",
        "/health",
    ]
    .iter()
    .enumerate()
    {
        out[i] = get(addr, path).await.status;
    }
    out
}

#[tokio::test(flavor = "multi_thread")]
async fn each_lifecycle_phase_on_each_probe() {
    let state = new_state();
    let addr = app(&state).await;

    // starting: startup and readiness fail, liveness passes.
    assert_eq!(state.lifecycle.phase(), Phase::Starting);
    assert_eq!(codes(addr).await, [503, 200, 503, 503]);
    let ready = get(addr, "/health/ready").await.json();
    assert_eq!(ready["phase"], "starting");
    assert_eq!(ready["status"], "unhealthy");

    // started, but a startup check fails: still not started as far as Kubernetes knows.
    state.migrations.set(FAIL);
    refresh(&state).await;
    state.lifecycle.mark_started();
    assert_eq!(codes(addr).await, [503, 200, 503, 503]);
    let startup = get(addr, "/health/startup").await;
    assert_eq!(
        startup.check_status("migrations").as_deref(),
        Some("unhealthy")
    );
    assert_eq!(state.lifecycle.phase(), Phase::Started);

    // startup check passes: startup 200 moves the lifecycle to ready.
    state.migrations.set(OK);
    refresh(&state).await;
    assert_eq!(get(addr, "/health/startup").await.status, 200);
    assert_eq!(state.lifecycle.phase(), Phase::Ready);
    assert_eq!(codes(addr).await, [200, 200, 200, 200]);

    // A startup check failing after start-up no longer matters to any probe but the full report.
    state.migrations.set(FAIL);
    refresh(&state).await;
    assert_eq!(codes(addr).await, [200, 200, 200, 200]);
    state.migrations.set(OK);
    refresh(&state).await;

    // draining: readiness fails at once, liveness and (latched) startup pass.
    state.lifecycle.begin_drain();
    assert_eq!(codes(addr).await, [200, 200, 503, 503]);
    let ready = get(addr, "/health/ready").await.json();
    assert_eq!(ready["phase"], "draining");
    assert_eq!(ready["reason"], "the application is draining");
}

#[tokio::test(flavor = "multi_thread")]
async fn readiness_probe_completes_startup_when_no_startup_probe_is_configured() {
    let state = new_state();
    let addr = app(&state).await;
    state.lifecycle.mark_started();
    state.migrations.set(FAIL);
    refresh(&state).await;
    let ready = get(addr, "/health/ready").await;
    assert_eq!(ready.status, 503);
    assert_eq!(
        ready.json()["reason"],
        "startup check \"migrations\" has not passed"
    );
    state.migrations.set(OK);
    refresh(&state).await;
    assert_eq!(get(addr, "/health/ready").await.status, 200);
    assert_eq!(state.lifecycle.phase(), Phase::Ready);
}

#[tokio::test(flavor = "multi_thread")]
async fn aggregation_rules_over_http() {
    let state = new_state();
    state.lifecycle.mark_started();
    state.lifecycle.mark_ready();
    let addr = app(&state).await;

    let ready = get(addr, "/health/ready").await;
    assert_eq!(ready.status, 200);
    assert_eq!(ready.json()["status"], "healthy");

    // A non-critical check unhealthy: degraded, still 200.
    state.cache.set(FAIL);
    refresh(&state).await;
    let ready = get(addr, "/health/ready").await;
    assert_eq!(ready.status, 200);
    assert_eq!(ready.json()["status"], "degraded");
    assert_eq!(ready.check_status("cache").as_deref(), Some("unhealthy"));

    // A check reporting degraded: degraded, 200.
    state.cache.set(DEGRADED);
    refresh(&state).await;
    let ready = get(addr, "/health/ready").await;
    assert_eq!(
        (ready.status, ready.json()["status"].clone()),
        (200, "degraded".into())
    );

    // The field check, non-critical, failing: degraded.
    state.cache.set(OK);
    refresh(&state).await;
    state.upstream.0.set(FAIL);
    refresh(&state).await;
    let ready = get(addr, "/health/ready").await;
    assert_eq!(
        (ready.status, ready.json()["status"].clone()),
        (200, "degraded".into())
    );
    assert_eq!(ready.check_status("upstream").as_deref(), Some("unhealthy"));
    state.upstream.0.set(OK);
    refresh(&state).await;

    // A critical check unhealthy: unhealthy, 503, with the error's Display text as message.
    state.db.set(FAIL);
    refresh(&state).await;
    let ready = get(addr, "/health/ready").await;
    assert_eq!(ready.status, 503);
    let body = ready.json();
    assert_eq!(body["status"], "unhealthy");
    let db = body["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "database")
        .unwrap()
        .clone();
    assert_eq!(db["critical"], true);
    assert_eq!(db["message"], "database error: connection refused");
    // The run's own duration: at least the 30 ms the check took, under its 500 ms timeout.
    let latency_ms = db["latency_ms"].as_f64().unwrap();
    assert!(
        latency_ms >= REFUSED_AFTER.as_secs_f64() * 1000.0 && latency_ms < 500.0,
        "latency_ms {latency_ms}: {db}"
    );

    // Liveness does not look at the database.
    assert_eq!(get(addr, "/health/live").await.status, 200);
}

#[tokio::test(flavor = "multi_thread")]
async fn liveness_checks_only_what_opted_in() {
    let state = new_state();
    let addr = app(&state).await;
    let live = get(addr, "/health/live").await.json();
    let names: Vec<_> = live["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(names, ["event-loop"]);
    state.db.set(FAIL);
    refresh(&state).await;
    state.cache.set(FAIL);
    refresh(&state).await;
    assert_eq!(get(addr, "/health/live").await.status, 200);
    state.event_loop.set(FAIL);
    refresh(&state).await;
    assert_eq!(get(addr, "/health/live").await.status, 503);
}

#[tokio::test(flavor = "multi_thread")]
async fn full_report_lists_every_check() {
    let state = new_state();
    state.lifecycle.mark_started();
    let addr = app(&state).await;
    let full = get(addr, "/health").await;
    assert_eq!(full.status, 200);
    let body = full.json();
    assert_eq!(body["probe"], "full");
    let names: Vec<_> = body["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        names,
        ["database", "cache", "migrations", "event-loop", "upstream"]
    );
    assert_eq!(state.lifecycle.phase(), Phase::Ready);
}

#[tokio::test(flavor = "multi_thread")]
async fn head_answers_like_get_without_a_body_and_other_methods_get_405() {
    let state = new_state();
    let addr = app(&state).await;
    for path in [
        "/health",
        "/health/live",
        "/health/ready",
        "/health/startup",
    ] {
        let get_code = get(addr, path).await.status;
        let head = request(addr, "HEAD", path).await;
        assert_eq!(head.status, get_code, "HEAD {path}");
        assert!(head.body.is_empty(), "HEAD {path} has a body");
        for method in ["POST", "PUT", "DELETE", "PATCH"] {
            let resp = request(addr, method, path).await;
            assert_eq!(resp.status, 405, "{method} {path}");
            let allow = resp
                .header("allow")
                .unwrap_or_default()
                .to_ascii_uppercase();
            assert!(
                allow.contains("GET") && allow.contains("HEAD"),
                "Allow: {allow}"
            );
        }
    }
    state.lifecycle.mark_started();
    assert_eq!(request(addr, "HEAD", "/health/ready").await.status, 200);
    assert_eq!(get(addr, "/health/nope").await.status, 404);
}

#[tokio::test(flavor = "multi_thread")]
async fn headers_and_version() {
    let state = new_state();
    let addr = app(&state).await;
    for path in [
        "/health",
        "/health/live",
        "/health/ready",
        "/health/startup",
    ] {
        let resp = get(addr, path).await;
        assert_eq!(resp.header("cache-control"), Some("no-store"), "{path}");
        assert_eq!(
            resp.header("content-type"),
            Some("application/json"),
            "{path}"
        );
        // The application's version (this test crate's), not the framework's.
        assert_eq!(resp.json()["version"], env!("CARGO_PKG_VERSION"));
        assert_ne!(resp.json()["version"], "0.1.0");
    }
}

#[derive(Clone, HealthState)]
#[health(checks(always_ok), version = "2024.06.1")]
struct Versioned {
    #[health(lifecycle)]
    lifecycle: Lifecycle,
}

#[health_check]
async fn always_ok() -> Result<(), std::convert::Infallible> {
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn version_and_paths_are_configurable() {
    let state = Versioned {
        lifecycle: Lifecycle::new(),
    };
    state.lifecycle.mark_started();
    let attr_addr = spawn(Versioned::health_router().build().with_state(state.clone())).await;
    assert_eq!(
        get(attr_addr, "/health/live").await.json()["version"],
        "2024.06.1"
    );

    let app = Router::new()
        .merge(
            Versioned::health_router()
                .report_path("/status")
                .live_path("/livez")
                .ready_path("/readyz")
                .startup_path("/startupz")
                .version("9.9.9"),
        )
        .with_state(state);
    let addr = spawn(app).await;
    for path in ["/status", "/livez", "/readyz", "/startupz"] {
        let resp = get(addr, path).await;
        assert_eq!(resp.status, 200, "{path}");
        assert_eq!(resp.json()["version"], "9.9.9");
    }
    assert_eq!(get(addr, "/health/ready").await.status, 404);
    let checks = get(addr, "/readyz").await.json()["checks"].clone();
    assert_eq!(checks[0]["name"], "always_ok");
}

#[tokio::test]
async fn check_functions_stay_callable() {
    let state = new_state();
    assert!(database(&state).await.is_ok());
    state.db.set(FAIL);
    refresh(&state).await;
    assert_eq!(
        database(&state).await.unwrap_err().to_string(),
        "database error: connection refused"
    );
    assert_eq!(cache(&state).await.status(), Status::Healthy);
    assert!(always_ok().await.is_ok());
}

#[test]
fn registry_is_built_at_compile_time() {
    const CHECKS: &[health_axum::engine::CheckSpec<AppState>] = <AppState as HealthState>::CHECKS;
    let summary: Vec<_> = CHECKS
        .iter()
        .map(|c| {
            (
                c.name(),
                c.timeout().as_millis(),
                c.is_critical(),
                c.probes(),
            )
        })
        .collect();
    use health_axum::engine::Probes;
    use health_axum::Probe;
    assert_eq!(
        summary,
        [
            ("database", 500, true, Probes::READY),
            ("cache", 200, false, Probes::READY),
            ("migrations", 1000, false, Probes::only(Probe::Startup)),
            ("event-loop", 1000, true, Probes::only(Probe::Live)),
            ("upstream", 300, false, Probes::READY),
        ]
    );
}

/// Sends raw bytes on a new connection and returns the status code of the answer.
async fn raw_status(addr: std::net::SocketAddr, request: &[u8]) -> u16 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream.write_all(request).await.unwrap();
    let mut raw = Vec::new();
    let read = tokio::time::timeout(
        std::time::Duration::from_secs(5),
        stream.read_to_end(&mut raw),
    )
    .await
    .expect("the server answered and closed within 5 s");
    let text = String::from_utf8_lossy(&raw);
    // The server reads the whole request before it answers, so the answer ends with a clean
    // close: a reset or other read error is reported, with whatever came before it.
    if let Err(error) = read {
        panic!("reading the answer failed ({error}) after {text:?}");
    }
    text.split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status line in {text:?}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_requests_get_a_4xx_and_the_server_keeps_serving() {
    let state = new_state();
    state.lifecycle.mark_started();
    let addr = app(&state).await;
    let long_path = format!(
        "GET /health/ready?{} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        "x".repeat(200_000)
    );
    let cases: [(&[u8], &str); 5] = [
        (b"NOT-HTTP\r\n\r\n", "garbage request line"),
        (
            b"BREW /health/ready HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
            "unknown method",
        ),
        (
            b"GET /health/ready HTTP/1.1\r\nHost: x\r\nContent-Length: nope\r\n\r\n",
            "bad header",
        ),
        (
            b"GET /health/%ZZ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
            "bad escape",
        ),
        (long_path.as_bytes(), "200 KB query string"),
    ];
    for (request, what) in cases {
        let status = raw_status(addr, request).await;
        assert!((400..500).contains(&status), "{what}: got {status}");
    }
    // A query string the probes do not know is ignored, not an error.
    assert_eq!(get(addr, "/health/ready?foo=bar").await.status, 200);
    assert_eq!(get(addr, "/health/ready").await.status, 200);
}
