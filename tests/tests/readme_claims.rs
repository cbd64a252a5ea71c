//! README claims that no other test held, over real sockets:
//!
//! - "a run started for a probe completes and is recorded even if that probe's request is
//!   dropped";
//! - "`Cache-Control: no-store` ... on every answer of the probe routes, 404 and 405 included";
//! - "Messages are cut at 256 bytes", in every format.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use health_axum::prelude::*;
use health_tests::{get, request_with_headers};
use tokio::io::AsyncWriteExt;

// -- A run started by a probe survives the probe's request -----------------------------------

/// A check that counts its runs, then waits at `gate` before it reports `run N`.
#[derive(Clone, HealthState)]
#[health(checks(gated))]
struct Gated {
    gate: Arc<tokio::sync::Semaphore>,
    runs: Arc<AtomicUsize>,
    finished: Arc<AtomicUsize>,
    #[health(lifecycle)]
    lifecycle: Lifecycle,
}

#[health_check(critical, timeout_ms = 10000, interval_ms = 60000)]
async fn gated(state: &Gated) -> CheckOutcome {
    let run = state.runs.fetch_add(1, Ordering::SeqCst) + 1;
    state.gate.acquire().await.expect("gate").forget();
    state.finished.fetch_add(1, Ordering::SeqCst);
    CheckOutcome::degraded(format!("run {run}"))
}

/// Sets its flag when dropped: the server dropped the request's future.
struct SetOnDrop(Arc<AtomicBool>);

impl Drop for SetOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

/// Polls `condition` every 5 ms for at most `within`.
async fn until(within: Duration, what: &str, condition: impl Fn() -> bool) {
    let deadline = Instant::now() + within;
    while !condition() {
        assert!(Instant::now() < deadline, "{what}: not within {within:?}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// No scheduler (a plain `axum::serve`): the probe itself starts the check's run. Its client
/// hangs up while the run is waiting; the server drops the request; the run still completes,
/// and the next probe reads its result instead of running the check again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_started_by_a_probe_is_recorded_after_its_request_is_dropped() {
    let state = Gated {
        gate: Arc::new(tokio::sync::Semaphore::new(0)),
        runs: Arc::new(AtomicUsize::new(0)),
        finished: Arc::new(AtomicUsize::new(0)),
        lifecycle: Lifecycle::new(),
    };
    state.lifecycle.mark_started();
    let dropped = Arc::new(AtomicBool::new(false));
    let seen = Arc::clone(&dropped);
    let app = Gated::health_router()
        .details(Details::Always)
        .build()
        .with_state(state.clone())
        .layer(axum::middleware::from_fn(
            move |request, next: axum::middleware::Next| {
                let guard = SetOnDrop(Arc::clone(&seen));
                async move {
                    let response = next.run(request).await;
                    std::mem::forget(guard);
                    response
                }
            },
        ));
    let addr = health_tests::spawn(app).await;

    let mut client = tokio::net::TcpStream::connect(addr).await.unwrap();
    client
        .write_all(b"GET /health/ready HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    until(Duration::from_secs(5), "the probe started a run", || {
        state.runs.load(Ordering::SeqCst) == 1
    })
    .await;
    drop(client);
    until(
        Duration::from_secs(5),
        "the server dropped the request",
        || dropped.load(Ordering::SeqCst),
    )
    .await;
    assert_eq!(
        state.finished.load(Ordering::SeqCst),
        0,
        "the run is waiting"
    );

    // The run goes on without its request.
    state.gate.add_permits(1);
    until(
        Duration::from_secs(5),
        "the run completed after its request was dropped",
        || state.finished.load(Ordering::SeqCst) == 1,
    )
    .await;
    // Any later run would not wait.
    state.gate.add_permits(100);
    for _ in 0..3 {
        let ready = get(addr, "/health/ready").await;
        assert_eq!(ready.status, 200, "{}", ready.text());
        let check = health_tests::check_json(&ready.json(), "gated");
        assert_eq!(check["message"], "run 1", "{check}");
    }
    assert_eq!(
        state.runs.load(Ordering::SeqCst),
        1,
        "the probes read the recorded run instead of running the check again"
    );
}

// -- no-store on refusals ------------------------------------------------------------------

#[derive(Clone, HealthState)]
#[health(checks(database, migrations))]
struct Plain {
    #[health(lifecycle)]
    lifecycle: Lifecycle,
}

#[health_check(critical)]
async fn database() -> Result<(), String> {
    Ok(())
}

#[health_check(startup)]
async fn migrations() -> Result<(), String> {
    Ok(())
}

/// Every refusal of the probe routes: 404s of every kind (an unknown check, a check that does
/// not gate that probe, a name that is not UTF-8, a trailing `/`, more segments; GET and HEAD;
/// the aliases) and 405s.
const REFUSALS: &[(&str, &str, u16)] = &[
    ("GET", "/health/ready/nope", 404),
    ("HEAD", "/health/ready/nope", 404),
    ("GET", "/health/live/database", 404),
    ("GET", "/health/ready/migrations", 404),
    ("GET", "/health/ready/%FF%FE", 404),
    ("GET", "/health/ready/", 404),
    ("GET", "/health/ready/database/extra", 404),
    ("GET", "/readyz/nope", 404),
    ("GET", "/healthz/a/b", 404),
    ("POST", "/health/ready", 405),
    ("PUT", "/health", 405),
    ("DELETE", "/health/ready/database", 405),
    ("OPTIONS", "/startupz", 405),
    ("PATCH", "/livez/nope", 405),
];

async fn refusals_say_no_store(addr: std::net::SocketAddr, port: &str) {
    for &(method, path, status) in REFUSALS {
        let answer = request_with_headers(addr, method, path, &[]).await;
        assert_eq!(answer.status, status, "{port}: {method} {path}");
        assert_eq!(
            answer.header("cache-control"),
            Some("no-store"),
            "{port}: {method} {path} ({status})"
        );
    }
}

/// On a router merged into the application, and on a probe port of its own.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_of_the_probe_routes_say_no_store() {
    let state = Plain {
        lifecycle: Lifecycle::new(),
    };
    let probes = || {
        Plain::health_router()
            .kubernetes_aliases()
            .build()
            .with_state(state.clone())
    };
    let app_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let probe_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let (app, probe_port) = (
        app_listener.local_addr().unwrap(),
        probe_listener.local_addr().unwrap(),
    );
    tokio::spawn(std::future::IntoFuture::into_future(
        health_axum::serve(app_listener, probes(), state.clone())
            .probes_on_with(probe_listener, probes()),
    ));
    health_tests::wait_for_status(probe_port, "/health/ready", 200, Duration::from_secs(10)).await;
    refusals_say_no_store(app, "application port").await;
    refusals_say_no_store(probe_port, "probe port").await;
}

// -- Messages cut at 256 bytes ---------------------------------------------------------------

#[derive(Clone, HealthState)]
#[health(checks(wordy))]
struct Wordy {
    message: Arc<Mutex<String>>,
    #[health(lifecycle)]
    lifecycle: Lifecycle,
}

#[health_check(critical, failure_threshold = 1, no_breaker)]
async fn wordy(state: &Wordy) -> CheckOutcome {
    CheckOutcome::unhealthy(state.message.lock().unwrap().clone())
}

/// The message of the one check, as each format shows it (details visible).
async fn shown(addr: std::net::SocketAddr) -> [(&'static str, String); 3] {
    let json = get(addr, "/health/ready").await;
    assert_eq!(json.status, 503);
    let json = health_tests::check_json(&json.json(), "wordy")["message"]
        .as_str()
        .expect("a message")
        .to_string();
    let health = request_with_headers(
        addr,
        "GET",
        "/health/ready",
        &[("Accept", "application/health+json")],
    )
    .await
    .json();
    let health = health["checks"]["wordy:responseTime"][0]["output"]
        .as_str()
        .expect("an output")
        .to_string();
    let text = get(addr, "/health/ready?verbose").await.text();
    let text = text
        .lines()
        .find_map(|line| line.strip_prefix("[-]wordy failed: "))
        .unwrap_or_else(|| panic!("no line for the check in {text:?}"))
        .to_string();
    [("json", json), ("health+json", health), ("text", text)]
}

/// A message longer than 256 bytes is cut to at most 256 bytes, at a character boundary, with
/// `…`, keeping as much of its start as fits; one of 256 bytes is shown whole.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_are_cut_at_256_bytes_in_every_format() {
    let state = Wordy {
        message: Arc::new(Mutex::new(String::new())),
        lifecycle: Lifecycle::new(),
    };
    let app = Wordy::health_router()
        .details(Details::Always)
        .build()
        .with_state(state.clone());
    let addr = health_tests::spawn(app).await;
    state.lifecycle.mark_started();

    let whole = "w".repeat(256);
    let ascii = format!("{}TAIL", "a".repeat(253));
    // Two-byte characters: byte 253 falls inside one, so the cut must step back.
    let accented = format!("{}TAIL", "é".repeat(300));
    for (original, longest_kept) in [(&whole, 256), (&ascii, 253), (&accented, 252)] {
        original.clone_into(&mut state.message.lock().unwrap());
        health_axum::refresh(&state).await;
        for (format, message) in shown(addr).await {
            if original.len() <= 256 {
                assert_eq!(&message, original, "{format}: a 256-byte message is whole");
                continue;
            }
            assert!(
                message.len() <= 256,
                "{format}: {} bytes: {message:?}",
                message.len()
            );
            let kept = message
                .strip_suffix('…')
                .unwrap_or_else(|| panic!("{format}: cut without `…`: {message:?}"));
            assert!(original.starts_with(kept), "{format}: {message:?}");
            assert_eq!(kept.len(), longest_kept, "{format}: {message:?}");
        }
    }
}
