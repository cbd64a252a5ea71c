//! The body budget with 1,000 checks, over real sockets: when the bodies are trimmed, the checks
//! that decide the verdict are the ones named (unhealthy and critical, then unhealthy, then
//! degraded, then healthy), in every format, with the verdict line last, and hostile request
//! warnings stay inside the budget too.
//!
//! The state implements `HealthState` by hand, its `CHECKS` a const array of 1,000 specs built at
//! compile time, so the registry order is explicit: the checks that fail are near its end.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use health_axum::engine::{BoxFuture, CheckSpec};
use health_axum::prelude::*;
use health_axum::{refresh, BODY_BUDGET};
use health_tests::{request_with_headers, spawn, Response};

/// How many checks the registry holds.
const COUNT: usize = 1_000;
/// The critical check that fails.
const CRITICAL: usize = 900;
/// A non-critical check that fails.
const UNHEALTHY: usize = 950;
/// A degraded check.
const DEGRADED: usize = 990;

/// Every name is this long: `dependency_with_a_rather_long_descriptive_name_0000`.
const NAME_LEN: usize = 51;
const PREFIX: &[u8] = b"dependency_with_a_rather_long_descriptive_name_";

/// The names, one after another, built at compile time.
const NAME_BYTES: &[u8] = &{
    let mut bytes = [0u8; COUNT * NAME_LEN];
    let mut i = 0;
    while i < COUNT {
        let at = i * NAME_LEN;
        let mut p = 0;
        while p < PREFIX.len() {
            bytes[at + p] = PREFIX[p];
            p += 1;
        }
        let digits = [i / 1000, i / 100 % 10, i / 10 % 10, i % 10];
        let mut d = 0;
        while d < 4 {
            bytes[at + PREFIX.len() + d] = b'0' + digits[d] as u8;
            d += 1;
        }
        i += 1;
    }
    bytes
};

/// The name of check `i`.
const fn name(i: usize) -> &'static str {
    let (_, rest) = NAME_BYTES.split_at(i * NAME_LEN);
    let (this, _) = rest.split_at(NAME_LEN);
    match std::str::from_utf8(this) {
        Ok(name) => name,
        Err(_) => panic!("names are ASCII"),
    }
}

#[derive(Clone)]
struct Large {
    /// Whether every check but the three special ones fails too (non-critically).
    all_fail: Arc<AtomicBool>,
    lifecycle: Lifecycle,
}

fn ordinary(state: &Large) -> BoxFuture<'_, CheckOutcome> {
    let fail = state.all_fail.load(Ordering::SeqCst);
    Box::pin(async move {
        if fail {
            CheckOutcome::unhealthy(format!("refused; {}", "x".repeat(300)))
        } else {
            CheckOutcome::healthy()
        }
    })
}

fn failing(_: &Large) -> BoxFuture<'_, CheckOutcome> {
    Box::pin(async { CheckOutcome::unhealthy(format!("connection refused; {}", "y".repeat(300))) })
}

fn slow(_: &Large) -> BoxFuture<'_, CheckOutcome> {
    Box::pin(async { CheckOutcome::degraded("answers slowly") })
}

/// A placeholder, overwritten for every index.
const UNSET: CheckSpec<Large> = CheckSpec::new("unset", ordinary);

static SPECS: [CheckSpec<Large>; COUNT] = {
    let mut specs = [UNSET; COUNT];
    let mut i = 0;
    while i < COUNT {
        let run = match i {
            CRITICAL | UNHEALTHY => failing,
            DEGRADED => slow,
            _ => ordinary,
        };
        specs[i] = CheckSpec::new(name(i), run)
            .gates(Probe::Ready)
            .critical(i == CRITICAL)
            .failure_threshold(1)
            .no_breaker();
        i += 1;
    }
    specs
};

impl HealthState for Large {
    const CHECKS: &'static [CheckSpec<Self>] = &SPECS;
    const VERSION: &'static str = "1.0.0";
    fn lifecycle(&self) -> &Lifecycle {
        &self.lifecycle
    }
}

/// Anonymous and authorized routers over one started, refreshed state.
async fn serve_large(all_fail: bool) -> [SocketAddr; 2] {
    let state = Large {
        all_fail: Arc::new(AtomicBool::new(all_fail)),
        lifecycle: Lifecycle::new(),
    };
    state.lifecycle.mark_started();
    state.lifecycle.mark_ready();
    let anonymous = spawn(Large::health_router().build().with_state(state.clone())).await;
    let authorized = spawn(
        Large::health_router()
            .details(Details::Always)
            .build()
            .with_state(state.clone()),
    )
    .await;
    refresh(&state).await;
    [anonymous, authorized]
}

/// The check names a body shows, in order, whatever its format.
fn shown(response: &Response, format: &str) -> Vec<String> {
    match format {
        "application/json" => response.json()["checks"]
            .as_array()
            .unwrap()
            .iter()
            .map(|check| check["name"].as_str().unwrap().to_string())
            .collect(),
        "application/health+json" => response.json()["checks"]
            .as_object()
            .unwrap()
            .keys()
            .filter_map(|key| key.strip_suffix(":responseTime"))
            .map(str::to_string)
            .collect(),
        _ => response
            .text()
            .lines()
            .filter_map(|line| line.strip_prefix("[-]").or(line.strip_prefix("[+]")))
            .map(|rest| rest.split(' ').next().unwrap().to_string())
            .collect(),
    }
}

const FORMATS: [(&str, &str); 4] = [
    ("/health/ready", "application/json"),
    ("/health/ready", "application/health+json"),
    ("/health/ready?verbose", "text/plain"),
    ("/health/ready", "text/plain"),
];

/// Asserts the trimmed body of `path` in `accept` fits, fails, and names `expected` first, in
/// that order.
async fn assert_trimmed(addr: SocketAddr, path: &str, accept: &str, expected: &[usize]) {
    let response = request_with_headers(addr, "GET", path, &[("Accept", accept)]).await;
    let what = format!("{path} {accept}");
    assert_eq!(response.status, 503, "{what}");
    assert!(
        response.body.len() <= BODY_BUDGET,
        "{what}: {} bytes",
        response.body.len()
    );
    let names = shown(&response, accept);
    let expected: Vec<&str> = expected.iter().map(|&i| name(i)).collect();
    if accept == "application/health+json" {
        // An object: its keys come sorted, so only membership can be asserted.
        for name in &expected {
            assert!(names.iter().any(|n| n == name), "{what}: {name} not named");
        }
    } else {
        assert_eq!(names[..expected.len()], expected, "{what}");
    }
    assert!(names.len() < COUNT, "{what}: trimmed");
    if accept == "text/plain" {
        let text = response.text();
        assert!(text.ends_with("ready check failed\n"), "{what}: {text}");
        assert!(text.contains("more lines omitted"), "{what}");
    } else if accept == "application/json" {
        let body = response.json();
        let omitted = body["omitted"].as_u64().unwrap() as usize;
        assert_eq!(names.len() + omitted, COUNT, "{what}");
    } else {
        let notes = response.json()["notes"].to_string();
        assert!(notes.contains("checks omitted"), "{what}: {notes}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_trimmed_body_names_the_checks_that_decide_the_verdict() {
    assert_eq!(Large::CHECKS.len(), COUNT);
    let [anonymous, authorized] = serve_large(false).await;
    for addr in [anonymous, authorized] {
        for (path, accept) in FORMATS {
            assert_trimmed(addr, path, accept, &[CRITICAL, UNHEALTHY, DEGRADED]).await;
        }
    }
    // The deciding check keeps its fields; the healthy ones are names only.
    let body = request_with_headers(authorized, "GET", "/health/ready", &[])
        .await
        .json();
    let critical = &body["checks"][0];
    assert_eq!(critical["critical"], true, "{critical}");
    assert!(
        critical["message"]
            .as_str()
            .unwrap()
            .starts_with("connection refused"),
        "{critical}"
    );
    let text = request_with_headers(authorized, "GET", "/health/ready?verbose", &[])
        .await
        .text();
    assert!(
        text.starts_with(&format!("[-]{} failed: connection refused", name(CRITICAL))),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn when_every_check_fails_the_critical_one_comes_first() {
    let [anonymous, authorized] = serve_large(true).await;
    for addr in [anonymous, authorized] {
        for (path, accept) in FORMATS {
            // Then the unhealthy ones in registry order.
            assert_trimmed(addr, path, accept, &[CRITICAL, 0, 1, 2]).await;
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn hostile_warnings_stay_inside_the_budget() {
    let [_, authorized] = serve_large(true).await;
    // 70 long names of control characters (escaped to several bytes each; the query stays under
    // hyper's 64 KiB URI limit), more parameters than are read, an empty one, and an Accept that
    // admits nothing.
    let hostile = "%01%E2%80%A8%C2%85".repeat(40);
    let mut query: Vec<String> = (0..70).map(|i| format!("exclude={i}{hostile}")).collect();
    query.push("exclude=".into());
    let query = query.join("&");
    for (accept, verbose) in [
        ("image/png", ""),
        ("application/health+json", ""),
        ("text/plain", "verbose&"),
    ] {
        let path = format!("/health/ready?{verbose}{query}");
        let response = request_with_headers(authorized, "GET", &path, &[("Accept", accept)]).await;
        assert_eq!(response.status, 503, "{accept}");
        assert!(
            response.body.len() <= BODY_BUDGET,
            "{accept}: {} bytes",
            response.body.len()
        );
        let body = response.text();
        for warning in [
            "no matches for",
            "at most 64 `exclude` parameters are read; 6 more ignored",
            "1 empty `exclude` parameter ignored",
        ] {
            assert!(body.contains(warning), "{accept}: no {warning:?} in {body}");
        }
        let format = if accept == "image/png" {
            "application/json"
        } else {
            accept
        };
        assert!(
            shown(&response, format).iter().any(|n| n == name(CRITICAL)),
            "{accept}: the critical check is named"
        );
    }
}
