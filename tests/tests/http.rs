//! The HTTP contract, over real sockets with kubelet-like requests (a new connection each,
//! `User-Agent: kube-probe/1.31`, `Accept: */*`, `Connection: close`): the three formats,
//! per-check paths, `?exclude`, who sees error texts, the degraded mapping, out-of-service
//! checks, the Kubernetes aliases, the body budget with 100 checks, bad input, and probes on a
//! listener of their own while every application handler is busy.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;
use std::time::Duration;

use health_axum::prelude::*;
use health_axum::{refresh, return_to_service, take_out_of_service, BODY_BUDGET};
use health_tests::{check_json, get, request, request_with_headers, spawn, Response};
use tokio::time::Instant;

/// The secret a failing check's error text carries: it must never reach an anonymous caller.
const SECRET: &str = "postgres://admin:hunter2@db-primary.internal:5432/orders";
const TOKEN: &str = "monitoring-token-7f3a";

const UP: u8 = 0;
const DOWN: u8 = 1;
const SLOW: u8 = 2;

#[derive(Clone, Default)]
struct Switch(Arc<AtomicU8>);

impl Switch {
    fn set(&self, mode: u8) {
        self.0.store(mode, Ordering::SeqCst);
    }
    fn get(&self) -> u8 {
        self.0.load(Ordering::SeqCst)
    }
}

#[derive(Clone, HealthState)]
#[health(checks(database, cache, migrations))]
struct App {
    db: Switch,
    cache: Switch,
    #[health(lifecycle)]
    lifecycle: Lifecycle,
}

#[health_check(critical, failure_threshold = 1, timeout_ms = 300, no_breaker)]
async fn database(app: &App) -> Result<CheckOutcome, String> {
    match app.db.get() {
        DOWN => Err(format!("connection to {SECRET} refused")),
        _ => Ok(CheckOutcome::healthy().with_details(serde_json::json!({
            "pool_size": 5, "idle": 3, "dsn": SECRET
        }))),
    }
}

#[health_check(failure_threshold = 1)]
async fn cache(app: &App) -> CheckOutcome {
    match app.cache.get() {
        DOWN => CheckOutcome::unhealthy(format!("redis at {SECRET} is down")),
        SLOW => CheckOutcome::degraded(format!("{SECRET} answers slowly")),
        _ => CheckOutcome::healthy(),
    }
}

#[health_check(startup, failure_threshold = 1)]
async fn migrations() -> Result<(), String> {
    Ok(())
}

fn app_state() -> App {
    App {
        db: Switch::default(),
        cache: Switch::default(),
        lifecycle: Lifecycle::new(),
    }
}

/// The probe routes with the default policy plus `extra`, started and refreshed.
async fn serve_app(
    state: &App,
    configure: impl FnOnce(health_axum::HealthRouter<App>) -> health_axum::HealthRouter<App>,
) -> SocketAddr {
    let router = configure(App::health_router())
        .build()
        .with_state(state.clone());
    state.lifecycle.mark_started();
    let addr = spawn(router).await;
    refresh(state).await;
    addr
}

fn health_json() -> [(&'static str, &'static str); 1] {
    [("Accept", "application/health+json")]
}

fn bearer() -> (&'static str, String) {
    ("Authorization", format!("Bearer {TOKEN}"))
}

// -- Formats ------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread")]
async fn json_is_the_default_format() {
    let state = app_state();
    let addr = serve_app(&state, |r| r).await;
    let ready = get(addr, "/health/ready").await;
    assert_eq!(ready.status, 200);
    assert_eq!(ready.header("content-type"), Some("application/json"));
    assert_eq!(ready.header("cache-control"), Some("no-store"));
    let body = ready.json();
    assert_eq!(body["status"], "healthy");
    assert_eq!(body["probe"], "ready");
    assert_eq!(body["version"], "0.9.3");
    let db = check_json(&body, "database");
    assert_eq!(db["status"], "healthy");
    assert!(
        db["latency_ms"].is_number() && db["age_ms"].is_number(),
        "{db}"
    );
    assert!(
        db.get("details").is_none(),
        "details are withheld by default: {db}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn health_json_follows_the_ietf_draft() {
    let state = app_state();
    let addr = serve_app(&state, |r| r).await;

    let ready = request_with_headers(addr, "GET", "/health/ready", &health_json()).await;
    assert_eq!(ready.status, 200);
    assert_eq!(
        ready.header("content-type"),
        Some("application/health+json")
    );
    let body = ready.json();
    assert_eq!(body["status"], "pass", "{body}");
    assert_eq!(body["version"], "0.9.3");
    let db = &body["checks"]["database:responseTime"][0];
    assert_eq!(db["componentType"], "component", "{body}");
    assert!(db["observedValue"].is_number(), "{db}");
    assert_eq!(db["observedUnit"], "ms");
    assert_eq!(db["status"], "pass");
    let time = db["time"].as_str().unwrap();
    assert!(
        time.len() == 24 && time.ends_with('Z') && time.as_bytes()[10] == b'T',
        "RFC 3339 time: {time}"
    );
    assert!(db.get("output").is_none(), "no output on pass: {db}");

    // warn: a degraded non-critical check; fail: a critical one down.
    state.cache.set(SLOW);
    refresh(&state).await;
    let warn = request_with_headers(addr, "GET", "/health/ready", &health_json()).await;
    assert_eq!(warn.status, 200);
    let body = warn.json();
    assert_eq!(body["status"], "warn");
    assert_eq!(body["checks"]["cache:responseTime"][0]["status"], "warn");
    assert_eq!(
        body["checks"]["cache:responseTime"][0]["output"],
        "reason withheld"
    );

    state.db.set(DOWN);
    refresh(&state).await;
    let fail = request_with_headers(addr, "GET", "/health/ready", &health_json()).await;
    assert_eq!(fail.status, 503);
    assert_eq!(fail.json()["status"], "fail");
    assert_eq!(
        fail.json()["checks"]["database:responseTime"][0]["status"],
        "fail"
    );

    // Authorized: outputs, and the check's numeric details as measurements of their own.
    state.db.set(UP);
    refresh(&state).await;
    let authorized = serve_app(&state, |r| r.details(Details::bearer_token(TOKEN))).await;
    let (name, value) = bearer();
    let full = request_with_headers(
        authorized,
        "GET",
        "/health/ready",
        &[("Accept", "application/health+json"), (name, &value)],
    )
    .await
    .json();
    assert_eq!(
        full["checks"]["database:pool_size"][0]["observedValue"], 5,
        "{full}"
    );
    assert_eq!(
        full["checks"]["database:idle"][0]["observedValue"], 3,
        "{full}"
    );
    assert!(
        full["checks"].get("database:dsn").is_none(),
        "only numbers: {full}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn verbose_is_plain_text_in_the_style_of_readyz() {
    let state = app_state();
    let addr = serve_app(&state, |r| r).await;
    // Before start-up completed as after it, readiness lists its own checks only: the startup
    // gate's `migrations` decides the first answer but is never listed in it.
    assert_eq!(
        get(addr, "/health/ready?verbose").await.text(),
        "[+]database ok\n[+]cache ok\nready check passed\n"
    );
    let ok = get(addr, "/health/ready?verbose").await;
    assert_eq!(ok.status, 200);
    assert_eq!(ok.header("content-type"), Some("text/plain; charset=utf-8"));
    assert_eq!(
        ok.text(),
        "[+]database ok\n[+]cache ok\nready check passed\n"
    );

    state.cache.set(DOWN);
    state.db.set(DOWN);
    refresh(&state).await;
    let failed = get(addr, "/health/ready?verbose&exclude=cache").await;
    assert_eq!(failed.status, 503);
    assert_eq!(
        failed.text(),
        "[-]database failed: reason withheld\n[+]cache excluded: ok\nready check failed\n"
    );

    state.lifecycle.begin_drain();
    let draining = get(addr, "/health/ready?verbose").await;
    assert_eq!(draining.status, 503);
    assert_eq!(
        draining.text(),
        "[-]lifecycle failed: the application is draining\nready check failed\n"
    );
}

// -- Per-check paths and exclude ----------------------------------------------------------

#[tokio::test(flavor = "multi_thread")]
async fn per_check_paths_answer_for_one_check() {
    let state = app_state();
    let addr = serve_app(&state, |r| r).await;
    state.cache.set(DOWN);
    refresh(&state).await;

    let db = get(addr, "/health/ready/database").await;
    assert_eq!(db.status, 200);
    let body = db.json();
    assert_eq!(body["checks"].as_array().unwrap().len(), 1);
    assert_eq!(check_json(&body, "database")["status"], "healthy");

    let cache = get(addr, "/health/ready/cache").await;
    assert_eq!(cache.status, 503, "the check alone is unhealthy");
    assert_eq!(
        get(addr, "/health/ready/cache?verbose").await.text(),
        "[-]cache failed: reason withheld\nready check failed\n"
    );
    assert_eq!(get(addr, "/health/startup/migrations").await.status, 200);
    assert_eq!(
        get(addr, "/health/migrations").await.status,
        200,
        "full report: any check"
    );

    // The lifecycle still decides first: a draining pod fails every readiness path.
    state.lifecycle.begin_drain();
    let draining = get(addr, "/health/ready/database").await;
    assert_eq!(draining.status, 503);
    assert_eq!(draining.json()["reason"], "the application is draining");
    assert_eq!(get(addr, "/health/live/nope").await.status, 404);

    for (path, probe) in [
        ("/health/ready/nope", "ready"),
        ("/health/ready/migrations", "ready"),
        ("/health/live/database", "live"),
    ] {
        let missing = get(addr, path).await;
        assert_eq!(missing.status, 404, "{path}");
        assert_eq!(missing.header("content-type"), Some("application/json"));
        let error = missing.json()["error"].as_str().unwrap().to_string();
        assert!(error.contains(&format!("in the {probe} probe")), "{error}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn exclude_leaves_checks_out_but_never_overrides_the_lifecycle() {
    let state = app_state();
    let router = App::health_router().build().with_state(state.clone());
    let addr = spawn(router).await;

    // Starting: excluding every check still answers 503.
    let all = "/health/ready?exclude=database&exclude=cache&exclude=migrations";
    assert_eq!(get(addr, all).await.status, 503);
    assert_eq!(
        get(addr, "/health/startup?exclude=migrations").await.status,
        503
    );

    state.lifecycle.mark_started();
    state.db.set(DOWN);
    refresh(&state).await;
    assert_eq!(get(addr, "/health/ready").await.status, 503);
    let excluded = get(addr, "/health/ready?exclude=database").await;
    assert_eq!(
        excluded.status, 200,
        "the failing critical check is left out"
    );
    let body = excluded.json();
    assert_eq!(body["excluded"], serde_json::json!(["database"]));
    assert!(body["checks"]
        .as_array()
        .unwrap()
        .iter()
        .all(|c| c["name"] != "database"));
    assert_eq!(
        get(addr, "/health/ready?exclude=database&exclude=database")
            .await
            .status,
        200
    );

    let unknown = get(addr, "/health/ready?exclude=databse").await;
    assert_eq!(unknown.status, 400);
    let error = unknown.json()["error"].as_str().unwrap().to_string();
    assert!(
        error.contains("\"databse\"") && error.contains("database, cache, migrations"),
        "{error}"
    );

    // Draining: excluding the failing check does not make it ready.
    state.lifecycle.begin_drain();
    assert_eq!(
        get(addr, "/health/ready?exclude=database").await.status,
        503
    );
}

// -- Who sees error texts -----------------------------------------------------------------

/// Every anonymous view of a failing service: all paths, all formats, HEAD.
async fn every_view(addr: SocketAddr, extra: &[(&str, &str)]) -> Vec<(String, Response)> {
    let mut seen = Vec::new();
    for path in [
        "/health",
        "/health/ready",
        "/health/live",
        "/health/startup",
        "/health/ready/database",
        "/health/ready/cache",
        "/health/database",
        "/health/ready?verbose",
        "/health?verbose",
        "/health/ready/database?verbose",
        "/health/ready?exclude=cache",
    ] {
        for accept in [
            "*/*",
            "application/json",
            "application/health+json",
            "text/plain",
        ] {
            let mut headers = vec![("Accept", accept)];
            headers.extend_from_slice(extra);
            let response = request_with_headers(addr, "GET", path, &headers).await;
            seen.push((format!("GET {path} Accept: {accept}"), response));
        }
        let response = request_with_headers(addr, "HEAD", path, extra).await;
        seen.push((format!("HEAD {path}"), response));
    }
    seen
}

#[tokio::test(flavor = "multi_thread")]
async fn error_texts_never_reach_anonymous_callers_and_do_reach_authorized_ones() {
    let state = app_state();
    let addr = serve_app(&state, |r| r.details(Details::bearer_token(TOKEN))).await;
    state.db.set(DOWN);
    state.cache.set(SLOW);
    refresh(&state).await;

    let leaks = |views: &[(String, Response)], needle: &str| -> Vec<String> {
        views
            .iter()
            .filter(|(_, r)| {
                r.text().contains(needle) || r.headers.iter().any(|(_, v)| v.contains(needle))
            })
            .map(|(what, _)| what.clone())
            .collect()
    };
    let anonymous = every_view(addr, &[]).await;
    assert!(anonymous.len() > 50);
    assert!(anonymous
        .iter()
        .all(|(_, r)| r.status == 200 || r.status == 503));
    for needle in [SECRET, "hunter2", "db-primary.internal"] {
        assert_eq!(
            leaks(&anonymous, needle),
            Vec::<String>::new(),
            "{needle} leaked"
        );
    }
    assert!(
        anonymous
            .iter()
            .any(|(_, r)| r.text().contains("reason withheld")),
        "anonymous callers are told a reason exists"
    );

    // A wrong token is anonymous too.
    let wrong = every_view(addr, &[("Authorization", "Bearer not-the-token")]).await;
    assert_eq!(leaks(&wrong, SECRET), Vec::<String>::new());

    // The right token sees the error texts, in every format.
    let (name, value) = bearer();
    let authorized = every_view(addr, &[(name, value.as_str())]).await;
    let shown = leaks(&authorized, SECRET);
    for view in [
        "GET /health/ready Accept: */*",
        "GET /health/ready Accept: application/health+json",
        "GET /health/ready?verbose Accept: */*",
        "GET /health/ready/database Accept: */*",
    ] {
        assert!(
            shown.iter().any(|s| s == view),
            "{view} shows the error: {shown:?}"
        );
    }
    let ready = request_with_headers(addr, "GET", "/health/ready", &[(name, value.as_str())]).await;
    let db = check_json(&ready.json(), "database");
    assert_eq!(db["message"], format!("connection to {SECRET} refused"));

    // Never: not even with the token. Always: everybody.
    let never = serve_app(&state, |r| r.details(Details::Never)).await;
    assert_eq!(
        leaks(&every_view(never, &[(name, value.as_str())]).await, SECRET),
        Vec::<String>::new()
    );
    let always = serve_app(&state, |r| r.details(Details::Always)).await;
    assert!(!leaks(&every_view(always, &[]).await, SECRET).is_empty());

    // A predicate of one's own: requests from a monitoring header.
    let custom = serve_app(&state, |r| {
        r.details(Details::when_authorized(|parts| {
            parts.headers.contains_key("x-monitor")
        }))
    })
    .await;
    let ready = request_with_headers(custom, "GET", "/health/ready", &[("X-Monitor", "1")]).await;
    assert!(ready.text().contains(SECRET));
    assert!(!get(custom, "/health/ready").await.text().contains(SECRET));
}

// -- Status mapping and out of service ----------------------------------------------------

#[tokio::test(flavor = "multi_thread")]
async fn degraded_answers_200_unless_mapped_to_503() {
    let state = app_state();
    let default = serve_app(&state, |r| r).await;
    let strict = serve_app(&state, |r| r.fail_when_degraded(Probe::Ready)).await;
    state.cache.set(SLOW);
    refresh(&state).await;
    assert_eq!(get(default, "/health/ready").await.status, 200);
    let ready = get(strict, "/health/ready").await;
    assert_eq!(ready.status, 503);
    assert_eq!(ready.json()["status"], "degraded");
    assert_eq!(
        get(strict, "/health").await.status,
        200,
        "mapped for readiness only"
    );
    assert_eq!(get(strict, "/health/ready/cache").await.status, 503);
    state.cache.set(UP);
    refresh(&state).await;
    assert_eq!(get(strict, "/health/ready").await.status, 200);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_check_taken_out_of_service_fails_readiness_with_its_reason() {
    let state = app_state();
    let addr = serve_app(&state, |r| r).await;
    assert_eq!(get(addr, "/health/ready").await.status, 200);

    let operators = serve_app(&state, |r| r.details(Details::bearer_token(TOKEN))).await;
    let reason = format!("failover of {SECRET} until 14:00 UTC");
    take_out_of_service(&state, "cache", reason.as_str()).unwrap();
    let ready = get(addr, "/health/ready").await;
    assert_eq!(
        ready.status, 503,
        "even a non-critical check fails readiness"
    );
    let cache = check_json(&ready.json(), "cache");
    assert_eq!(cache["status"], "unhealthy");
    // Anonymous callers learn that it is out of service, not the application's words.
    assert_eq!(cache["out_of_service"], true);
    assert_eq!(cache["message"], "out of service: reason withheld");
    assert!(!ready.text().contains(SECRET));
    assert_eq!(
        get(addr, "/health/ready?verbose").await.text(),
        "[+]database ok\n[-]cache failed: out of service: reason withheld\nready check failed\n"
    );
    let (name, value) = bearer();
    let seen =
        request_with_headers(operators, "GET", "/health/ready", &[(name, value.as_str())]).await;
    let cache = check_json(&seen.json(), "cache");
    assert_eq!(cache["out_of_service"], reason.as_str());
    assert_eq!(cache["message"], format!("out of service: {reason}"));
    assert_eq!(get(addr, "/health/live").await.status, 200);

    return_to_service(&state, "cache").unwrap();
    assert_eq!(get(addr, "/health/ready").await.status, 200);
    let error = take_out_of_service(&state, "cahce", "x").unwrap_err();
    assert_eq!(
        error.to_string(),
        "no health check is named \"cahce\"; the checks are: database, cache, migrations"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn kubernetes_aliases_with_one_builder_call() {
    let state = app_state();
    let addr = serve_app(&state, |r| r.kubernetes_aliases()).await;
    for path in [
        "/livez",
        "/readyz",
        "/startupz",
        "/healthz",
        "/readyz/database",
        "/health/ready",
    ] {
        assert_eq!(get(addr, path).await.status, 200, "{path}");
    }
    assert_eq!(
        get(addr, "/readyz?verbose").await.text(),
        "[+]database ok\n[+]cache ok\nready check passed\n"
    );
    let plain = serve_app(&state, |r| r).await;
    assert_eq!(
        get(plain, "/readyz").await.status,
        404,
        "aliases are opt-in"
    );
}

// -- Kubelet-like requests and bad input --------------------------------------------------

#[tokio::test(flavor = "multi_thread")]
async fn kubelet_requests_get_the_documented_codes() {
    let state = app_state();
    let addr = serve_app(&state, |r| r).await;
    // Each `request` opens a new connection with the kubelet's headers.
    for _ in 0..3 {
        for (path, code) in [
            ("/health/startup", 200),
            ("/health/live", 200),
            ("/health/ready", 200),
        ] {
            let response = request(addr, "GET", path).await;
            assert_eq!(response.status, code, "{path}");
            assert!(response.body.len() < 10 * 1024);
        }
    }
    state.db.set(DOWN);
    refresh(&state).await;
    assert_eq!(request(addr, "GET", "/health/ready").await.status, 503);
    assert_eq!(request(addr, "GET", "/health/live").await.status, 200);
}

/// A path, extra headers, a method and the status it must get.
type BadCase = (String, Vec<(&'static str, &'static str)>, &'static str, u16);

#[tokio::test(flavor = "multi_thread")]
async fn bad_input_gets_a_clear_4xx_never_a_5xx() {
    let state = app_state();
    let addr = serve_app(&state, |r| r.kubernetes_aliases()).await;
    let huge = format!("/health/ready?exclude={}", "a".repeat(100_000));
    let many = format!("/health/ready?{}", vec!["exclude=cache"; 65].join("&"));
    let cases: Vec<BadCase> = vec![
        ("/health/ready/nope".into(), vec![], "GET", 404),
        ("/readyz/nope".into(), vec![], "GET", 404),
        ("/health/ready/%FF%FE".into(), vec![], "GET", 404),
        ("/health/ready?exclude=nope".into(), vec![], "GET", 400),
        ("/health/ready?exclude=".into(), vec![], "GET", 400),
        ("/health/ready?exclude=%ZZ".into(), vec![], "GET", 400),
        (many, vec![], "GET", 400),
        (
            "/health/ready".into(),
            vec![("Accept", "text/html")],
            "GET",
            406,
        ),
        (
            "/health/ready".into(),
            vec![("Accept", "application/xml;q=1")],
            "GET",
            406,
        ),
        (
            "/health/ready".into(),
            vec![("Accept", "application/json;q=0")],
            "GET",
            406,
        ),
        (
            "/health/ready".into(),
            vec![("Accept", ";;;,,,")],
            "GET",
            406,
        ),
        (
            "/health/ready".into(),
            vec![("Accept", "*/*;q=7")],
            "GET",
            406,
        ),
        ("/health/ready".into(), vec![], "POST", 405),
        ("/health/ready/database".into(), vec![], "DELETE", 405),
        ("/readyz".into(), vec![], "PUT", 405),
        ("/health".into(), vec![], "OPTIONS", 405),
    ];
    for (path, headers, method, code) in &cases {
        let response = request_with_headers(addr, method, path, headers).await;
        assert_eq!(
            response.status,
            *code,
            "{method} {path} {headers:?}: {}",
            response.text()
        );
        if *code != 405 {
            let body = response.json();
            assert!(
                body["error"].as_str().is_some_and(|e| !e.is_empty()),
                "{body}"
            );
        } else {
            assert_eq!(
                response.header("allow"),
                Some("GET,HEAD"),
                "{method} {path}"
            );
        }
    }
    // An enormous query string: refused before it reaches the router.
    let response = request_with_headers(addr, "GET", &huge, &[]).await;
    assert!((400..500).contains(&response.status), "{}", response.status);
    // Bytes that are not text in Accept.
    let raw = raw_request(
        addr,
        b"GET /health/ready HTTP/1.1\r\nHost: x\r\nAccept: \xff\xfe\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert!(raw.starts_with("HTTP/1.1 400"), "{raw}");
    // And the server still serves.
    assert_eq!(get(addr, "/health/ready").await.status, 200);
}

async fn raw_request(addr: SocketAddr, bytes: &[u8]) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream.write_all(bytes).await.unwrap();
    let mut raw = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut raw)).await;
    String::from_utf8_lossy(&raw).into_owned()
}

// -- 100 checks: bodies stay under the kubelet's 10 KB -------------------------------------

macro_rules! many_checks {
    ($($name:ident),*) => {
        #[derive(Clone, HealthState)]
        #[health(checks($($name),*))]
        struct Many {
            down: Switch,
            #[health(lifecycle)]
            lifecycle: Lifecycle,
        }
        $(
            #[health_check(critical, failure_threshold = 1)]
            async fn $name(state: &Many) -> Result<(), String> {
                match state.down.get() {
                    DOWN => Err(format!("{} failed: connection to {SECRET} refused after 3 attempts; {}", stringify!($name), "x".repeat(300))),
                    _ => Ok(()),
                }
            }
        )*
    };
}
many_checks!(
    dependency_with_a_rather_long_descriptive_name_number_000,
    dependency_with_a_rather_long_descriptive_name_number_001,
    dependency_with_a_rather_long_descriptive_name_number_002,
    dependency_with_a_rather_long_descriptive_name_number_003,
    dependency_with_a_rather_long_descriptive_name_number_004,
    dependency_with_a_rather_long_descriptive_name_number_005,
    dependency_with_a_rather_long_descriptive_name_number_006,
    dependency_with_a_rather_long_descriptive_name_number_007,
    dependency_with_a_rather_long_descriptive_name_number_008,
    dependency_with_a_rather_long_descriptive_name_number_009,
    dependency_with_a_rather_long_descriptive_name_number_010,
    dependency_with_a_rather_long_descriptive_name_number_011,
    dependency_with_a_rather_long_descriptive_name_number_012,
    dependency_with_a_rather_long_descriptive_name_number_013,
    dependency_with_a_rather_long_descriptive_name_number_014,
    dependency_with_a_rather_long_descriptive_name_number_015,
    dependency_with_a_rather_long_descriptive_name_number_016,
    dependency_with_a_rather_long_descriptive_name_number_017,
    dependency_with_a_rather_long_descriptive_name_number_018,
    dependency_with_a_rather_long_descriptive_name_number_019,
    dependency_with_a_rather_long_descriptive_name_number_020,
    dependency_with_a_rather_long_descriptive_name_number_021,
    dependency_with_a_rather_long_descriptive_name_number_022,
    dependency_with_a_rather_long_descriptive_name_number_023,
    dependency_with_a_rather_long_descriptive_name_number_024,
    dependency_with_a_rather_long_descriptive_name_number_025,
    dependency_with_a_rather_long_descriptive_name_number_026,
    dependency_with_a_rather_long_descriptive_name_number_027,
    dependency_with_a_rather_long_descriptive_name_number_028,
    dependency_with_a_rather_long_descriptive_name_number_029,
    dependency_with_a_rather_long_descriptive_name_number_030,
    dependency_with_a_rather_long_descriptive_name_number_031,
    dependency_with_a_rather_long_descriptive_name_number_032,
    dependency_with_a_rather_long_descriptive_name_number_033,
    dependency_with_a_rather_long_descriptive_name_number_034,
    dependency_with_a_rather_long_descriptive_name_number_035,
    dependency_with_a_rather_long_descriptive_name_number_036,
    dependency_with_a_rather_long_descriptive_name_number_037,
    dependency_with_a_rather_long_descriptive_name_number_038,
    dependency_with_a_rather_long_descriptive_name_number_039,
    dependency_with_a_rather_long_descriptive_name_number_040,
    dependency_with_a_rather_long_descriptive_name_number_041,
    dependency_with_a_rather_long_descriptive_name_number_042,
    dependency_with_a_rather_long_descriptive_name_number_043,
    dependency_with_a_rather_long_descriptive_name_number_044,
    dependency_with_a_rather_long_descriptive_name_number_045,
    dependency_with_a_rather_long_descriptive_name_number_046,
    dependency_with_a_rather_long_descriptive_name_number_047,
    dependency_with_a_rather_long_descriptive_name_number_048,
    dependency_with_a_rather_long_descriptive_name_number_049,
    dependency_with_a_rather_long_descriptive_name_number_050,
    dependency_with_a_rather_long_descriptive_name_number_051,
    dependency_with_a_rather_long_descriptive_name_number_052,
    dependency_with_a_rather_long_descriptive_name_number_053,
    dependency_with_a_rather_long_descriptive_name_number_054,
    dependency_with_a_rather_long_descriptive_name_number_055,
    dependency_with_a_rather_long_descriptive_name_number_056,
    dependency_with_a_rather_long_descriptive_name_number_057,
    dependency_with_a_rather_long_descriptive_name_number_058,
    dependency_with_a_rather_long_descriptive_name_number_059,
    dependency_with_a_rather_long_descriptive_name_number_060,
    dependency_with_a_rather_long_descriptive_name_number_061,
    dependency_with_a_rather_long_descriptive_name_number_062,
    dependency_with_a_rather_long_descriptive_name_number_063,
    dependency_with_a_rather_long_descriptive_name_number_064,
    dependency_with_a_rather_long_descriptive_name_number_065,
    dependency_with_a_rather_long_descriptive_name_number_066,
    dependency_with_a_rather_long_descriptive_name_number_067,
    dependency_with_a_rather_long_descriptive_name_number_068,
    dependency_with_a_rather_long_descriptive_name_number_069,
    dependency_with_a_rather_long_descriptive_name_number_070,
    dependency_with_a_rather_long_descriptive_name_number_071,
    dependency_with_a_rather_long_descriptive_name_number_072,
    dependency_with_a_rather_long_descriptive_name_number_073,
    dependency_with_a_rather_long_descriptive_name_number_074,
    dependency_with_a_rather_long_descriptive_name_number_075,
    dependency_with_a_rather_long_descriptive_name_number_076,
    dependency_with_a_rather_long_descriptive_name_number_077,
    dependency_with_a_rather_long_descriptive_name_number_078,
    dependency_with_a_rather_long_descriptive_name_number_079,
    dependency_with_a_rather_long_descriptive_name_number_080,
    dependency_with_a_rather_long_descriptive_name_number_081,
    dependency_with_a_rather_long_descriptive_name_number_082,
    dependency_with_a_rather_long_descriptive_name_number_083,
    dependency_with_a_rather_long_descriptive_name_number_084,
    dependency_with_a_rather_long_descriptive_name_number_085,
    dependency_with_a_rather_long_descriptive_name_number_086,
    dependency_with_a_rather_long_descriptive_name_number_087,
    dependency_with_a_rather_long_descriptive_name_number_088,
    dependency_with_a_rather_long_descriptive_name_number_089,
    dependency_with_a_rather_long_descriptive_name_number_090,
    dependency_with_a_rather_long_descriptive_name_number_091,
    dependency_with_a_rather_long_descriptive_name_number_092,
    dependency_with_a_rather_long_descriptive_name_number_093,
    dependency_with_a_rather_long_descriptive_name_number_094,
    dependency_with_a_rather_long_descriptive_name_number_095,
    dependency_with_a_rather_long_descriptive_name_number_096,
    dependency_with_a_rather_long_descriptive_name_number_097,
    dependency_with_a_rather_long_descriptive_name_number_098,
    dependency_with_a_rather_long_descriptive_name_number_099
);

#[tokio::test(flavor = "multi_thread")]
async fn bodies_stay_under_10_kb_with_100_checks() {
    let state = Many {
        down: Switch::default(),
        lifecycle: Lifecycle::new(),
    };
    state.lifecycle.mark_started();
    let anonymous = spawn(Many::health_router().build().with_state(state.clone())).await;
    let authorized = spawn(
        Many::health_router()
            .details(Details::Always)
            .build()
            .with_state(state.clone()),
    )
    .await;
    assert_eq!(Many::CHECKS.len(), 100);
    for mode in [UP, DOWN] {
        state.down.set(mode);
        refresh(&state).await;
        for addr in [anonymous, authorized] {
            for path in ["/health", "/health/ready", "/health/ready?verbose"] {
                for accept in ["application/json", "application/health+json", "text/plain"] {
                    let response =
                        request_with_headers(addr, "GET", path, &[("Accept", accept)]).await;
                    let expected = if mode == UP { 200 } else { 503 };
                    assert_eq!(response.status, expected, "{path} {accept}");
                    assert!(
                        response.body.len() <= BODY_BUDGET,
                        "{path} {accept} mode {mode}: {} bytes",
                        response.body.len()
                    );
                    if accept != "text/plain" && !path.contains("verbose") {
                        response.json(); // still valid JSON after trimming
                    }
                }
            }
        }
    }
    // Many exclusions: the notes count against the budget too.
    let excludes: Vec<String> = Many::CHECKS[..64]
        .iter()
        .map(|spec| format!("exclude={}", spec.name()))
        .collect();
    let path = format!("/health/ready?{}", excludes.join("&"));
    for accept in ["application/json", "application/health+json", "text/plain"] {
        let response = request_with_headers(authorized, "GET", &path, &[("Accept", accept)]).await;
        assert!(
            response.body.len() <= BODY_BUDGET,
            "{accept}: {} bytes",
            response.body.len()
        );
    }

    // When everything fails, what did not fit is counted, not silently dropped.
    let body = request_with_headers(authorized, "GET", "/health/ready", &[])
        .await
        .json();
    let shown = body["checks"].as_array().unwrap().len();
    let omitted = body["omitted"].as_u64().unwrap_or(0) as usize;
    assert_eq!(shown + omitted, 100, "{shown} shown, {omitted} omitted");
    let text = get(authorized, "/health/ready?verbose").await.text();
    assert!(
        text.ends_with("ready check failed\n"),
        "the verdict line always comes last"
    );
}

// -- A probe port of its own --------------------------------------------------------------

#[tokio::test(flavor = "multi_thread")]
async fn probes_on_their_own_listener_answer_while_the_app_port_is_saturated() {
    use std::sync::Arc;
    let state = app_state();
    // The application port admits 4 requests at a time (a concurrency limit, as in production);
    // its handlers hang until released.
    let limit = Arc::new(tokio::sync::Semaphore::new(4));
    let release = Arc::new(tokio::sync::Notify::new());
    let handler_release = Arc::clone(&release);
    let app = Router::new()
        .route(
            "/busy",
            axum::routing::get(move || {
                let release = Arc::clone(&handler_release);
                async move {
                    release.notified().await;
                    "done"
                }
            }),
        )
        .merge(App::health_router())
        .layer(axum::middleware::from_fn(
            move |request, next: axum::middleware::Next| {
                let limit = Arc::clone(&limit);
                async move {
                    let _permit = limit.acquire_owned().await.unwrap();
                    next.run(request).await
                }
            },
        ))
        .with_state(state.clone());
    let app_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let probe_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let app_addr = app_listener.local_addr().unwrap();
    let probe_addr = probe_listener.local_addr().unwrap();
    let served = state.clone();
    tokio::spawn(async move {
        health_axum::serve(app_listener, app, served)
            .probes_on(probe_listener)
            .await
    });
    health_tests::wait_for_status(probe_addr, "/health/ready", 200, Duration::from_secs(5)).await;
    assert_eq!(
        get(app_addr, "/health/ready").await.status,
        200,
        "both ports serve probes"
    );

    // Saturate the application port.
    let busy: Vec<_> = (0..8)
        .map(|_| tokio::spawn(async move { get(app_addr, "/busy").await }))
        .collect();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let on_app_port =
        tokio::time::timeout(Duration::from_millis(500), get(app_addr, "/health/ready")).await;
    assert!(on_app_port.is_err(), "the application port is saturated");

    for path in [
        "/health/ready",
        "/health/live",
        "/health/startup",
        "/health",
    ] {
        let begun = Instant::now();
        let response = get(probe_addr, path).await;
        assert_eq!(response.status, 200, "{path}");
        assert!(
            begun.elapsed() < Duration::from_millis(500),
            "{path} took {:?}",
            begun.elapsed()
        );
    }

    // Release the handlers: the application port recovers.
    for _ in 0..20 {
        release.notify_waiters();
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    for task in busy {
        let _ = tokio::time::timeout(Duration::from_secs(5), task).await;
    }
    assert_eq!(get(app_addr, "/health/live").await.status, 200);
}

// -- The full error goes to the log, once per change --------------------------------------

/// Collects every event's fields as `name=value` text (a minimal `tracing` subscriber).
struct Capture(Arc<std::sync::Mutex<Vec<String>>>);

struct Fields(String);

impl tracing::field::Visit for Fields {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        self.0.push_str(&format!("{}={:?} ", field.name(), value));
    }
}

impl tracing::Subscriber for Capture {
    fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, _: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        tracing::span::Id::from_u64(1)
    }
    fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, event: &tracing::Event<'_>) {
        let mut fields = Fields(String::new());
        event.record(&mut fields);
        self.0.lock().unwrap().push(fields.0);
    }
    fn enter(&self, _: &tracing::span::Id) {}
    fn exit(&self, _: &tracing::span::Id) {}
}

// One thread, so the thread-local subscriber sees the checks' events too.
#[tokio::test(flavor = "current_thread")]
async fn the_full_error_is_logged_once_per_status_change_not_per_probe() {
    let events = Arc::new(std::sync::Mutex::new(Vec::new()));
    let _guard = tracing::subscriber::set_default(Capture(Arc::clone(&events)));
    let state = app_state();
    let addr = serve_app(&state, |r| r).await;
    // Several runs in each state, each followed by probes: one line per run would give more
    // lines than changes.
    state.db.set(DOWN);
    for _ in 0..4 {
        refresh(&state).await;
        for _ in 0..5 {
            let ready = get(addr, "/health/ready").await;
            assert_eq!(ready.status, 503);
            assert!(!ready.text().contains(SECRET));
        }
    }
    state.db.set(UP);
    for _ in 0..4 {
        refresh(&state).await;
        for _ in 0..5 {
            assert_eq!(get(addr, "/health/ready").await.status, 200);
        }
    }
    let events = events.lock().unwrap();
    let changes: Vec<&String> = events
        .iter()
        .filter(|e| e.contains("health check status changed") && e.contains("check=\"database\""))
        .collect();
    // The first result is not a change "from none": it is logged as a first result.
    let firsts = events
        .iter()
        .filter(|e| e.contains("health check first result") && e.contains("check=\"database\""))
        .count();
    assert_eq!(firsts, 1, "{events:#?}");
    assert!(
        !changes.iter().any(|e| e.contains("from=\"none\"")),
        "{changes:#?}"
    );
    assert_eq!(
        changes.len(),
        2,
        "healthy -> unhealthy -> healthy: {changes:#?}"
    );
    assert!(
        changes[0].contains(SECRET),
        "the log has the full error: {}",
        changes[0]
    );
    assert!(changes[0].contains("to=\"unhealthy\""), "{}", changes[0]);
    assert!(changes[1].contains("to=\"healthy\""), "{}", changes[1]);
}
