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
        // As the built-in pool check reports, plus a non-standard figure named by a URI, one
        // named by neither, and text.
        _ => Ok(CheckOutcome::healthy().with_details(serde_json::json!({
            "connections": {"open": 3, "idle": 1, "max": 5},
            "round_trip_ms": 1.2,
            "https://example.com/measurements/replication-lag": 0.4,
            "dsn": SECRET
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

    // Authorized: outputs, and the check's details that name a measurement of the draft (a
    // standard name, or a URI) as measurements of their own.
    state.db.set(UP);
    state.cache.set(UP);
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
    // The pool's figures: one `connections` measurement, an entry per figure told apart by
    // `componentId`; counts carry no unit.
    let connections = full["checks"]["database:connections"].as_array().unwrap();
    let figures: Vec<(&str, u64)> = connections
        .iter()
        .map(|entry| {
            assert_eq!(entry["componentType"], "component", "{entry}");
            assert_eq!(entry["status"], "pass", "{entry}");
            assert!(entry.get("observedUnit").is_none(), "{entry}");
            assert!(entry["time"].is_string(), "{entry}");
            (
                entry["componentId"].as_str().unwrap(),
                entry["observedValue"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(figures, [("idle", 1), ("max", 5), ("open", 3)], "{full}");
    let lag = &full["checks"]["database:https://example.com/measurements/replication-lag"][0];
    assert_eq!(lag["observedValue"], 0.4, "{full}");
    // Every key is `component:measurement`, the measurement a standard name or a URI; figures
    // named by neither (`round_trip_ms`) and text (`dsn`) are left to the JSON report.
    for key in full["checks"].as_object().unwrap().keys() {
        let (component, measurement) = key.split_once(':').unwrap();
        assert!(["database", "cache"].contains(&component), "{key}");
        assert!(
            ["responseTime", "connections", "utilization", "uptime"].contains(&measurement)
                || measurement.starts_with("https://"),
            "{key} is not a measurement of the draft"
        );
    }
    assert!(!full.to_string().contains(SECRET), "{full}");
    let json = request_with_headers(authorized, "GET", "/health/ready", &[(name, &value)]).await;
    let details = &check_json(&json.json(), "database")["details"];
    assert_eq!(details["round_trip_ms"], 1.2, "{details}");
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

#[tokio::test(flavor = "multi_thread")]
async fn a_retired_startup_check_says_so_in_every_format() {
    let state = app_state();
    let addr = serve_app(&state, |r| r).await;
    // Ready once: `migrations` gates only the startup probe, so it is no longer run.
    assert_eq!(get(addr, "/health/ready").await.status, 200);
    let body = get(addr, "/health").await.json();
    assert_eq!(body["phase"], "ready");
    let migrations = check_json(&body, "migrations");
    assert_eq!(migrations["retired"], true, "{migrations}");
    assert!(migrations.get("stale").is_none(), "{migrations}");
    assert!(migrations["age_ms"].is_u64(), "{migrations}");
    for name in ["database", "cache"] {
        let check = check_json(&body, name);
        assert!(check.get("retired").is_none(), "only when true: {check}");
    }
    assert_eq!(
        get(addr, "/health?verbose").await.text(),
        "[+]database ok\n[+]cache ok\n[+]migrations ok (retired: startup only)\nfull check passed\n"
    );
    let health_json = request_with_headers(addr, "GET", "/health", &health_json()).await;
    let notes = &health_json.json()["notes"];
    assert_eq!(
        notes,
        &serde_json::json!([
            "no longer run (startup only, the application has been ready; the last result \
             stands): migrations"
        ]),
    );
}

// -- Router state: the state itself, an Arc of it, or a state of one's own ------------------

#[tokio::test(flavor = "multi_thread")]
async fn the_probe_routes_merge_into_a_router_over_an_arc_of_the_state() {
    use axum::extract::State;
    let state = app_state();
    let shared = Arc::new(state.clone());
    // Exactly as a service sharing its state as `Router<Arc<AppState>>` writes it.
    let app = Router::new()
        .route(
            "/orders",
            axum::routing::get(|State(app): State<Arc<App>>| async move {
                format!("db mode {}", app.db.get())
            }),
        )
        .merge(App::health_router())
        .with_state(Arc::clone(&shared));
    let with_options = Router::new()
        .merge(
            App::health_router()
                .kubernetes_aliases()
                .details(Details::Always),
        )
        .with_state(shared);
    state.lifecycle.mark_started();
    let addr = spawn(app).await;
    let aliases = spawn(with_options).await;
    refresh(&state).await;
    assert_eq!(get(addr, "/orders").await.text(), "db mode 0");
    assert_eq!(get(addr, "/health/ready").await.status, 200);
    assert_eq!(get(aliases, "/readyz/database").await.status, 200);
    // The routes read the one state behind the Arc.
    state.db.set(DOWN);
    refresh(&state).await;
    assert_eq!(get(addr, "/orders").await.text(), "db mode 1");
    assert_eq!(get(addr, "/health/ready").await.status, 503);
    let readyz = get(aliases, "/readyz?verbose").await;
    assert_eq!(readyz.status, 503);
    assert!(readyz.text().contains(SECRET), "details: {}", readyz.text());
}

/// A router state of the application's own, which holds the health state.
#[derive(Clone)]
struct Outer {
    app: App,
    greeting: &'static str,
}

impl health_axum::AsHealthState for Outer {
    type State = App;
    fn health_state(&self) -> &App {
        &self.app
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_probe_routes_merge_into_a_router_over_a_state_of_ones_own() {
    use axum::extract::State;
    let state = app_state();
    let outer = Outer {
        app: state.clone(),
        greeting: "hello",
    };
    let app = Router::new()
        .route(
            "/",
            axum::routing::get(|State(outer): State<Outer>| async move { outer.greeting }),
        )
        .merge(App::health_router())
        .with_state(outer.clone());
    // `build` names the state when nothing else does.
    let built = App::health_router().ready_path("/ready").build::<Outer>();
    let built = spawn(built.with_state(outer)).await;
    state.lifecycle.mark_started();
    let addr = spawn(app).await;
    refresh(&state).await;
    assert_eq!(get(addr, "/").await.text(), "hello");
    assert_eq!(get(addr, "/health/ready").await.status, 200);
    assert_eq!(get(built, "/ready").await.status, 200);
    state.db.set(DOWN);
    refresh(&state).await;
    assert_eq!(get(addr, "/health/ready").await.status, 503);
    assert_eq!(get(built, "/ready/database").await.status, 503);
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

    // A name that matches no check of this probe is ignored, with a warning: the verdict alone
    // decides (503 here, as without the parameter).
    let unknown = get(addr, "/health/ready?exclude=databse&exclude=migrations").await;
    assert_eq!(unknown.status, 503);
    let body = unknown.json();
    assert_eq!(
        body["warnings"],
        serde_json::json!([
            "some health checks cannot be excluded: no matches for \"databse\",\"migrations\""
        ])
    );
    assert!(body.get("excluded").is_none(), "{body}");
    let mixed = get(addr, "/health/ready?exclude=database&exclude=cahce").await;
    assert_eq!(mixed.status, 200, "the known name is still excluded");
    assert_eq!(mixed.json()["excluded"], serde_json::json!(["database"]));
    assert_eq!(
        mixed.json()["warnings"][0],
        "some health checks cannot be excluded: no matches for \"cahce\""
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

/// The status of each path of [`every_view`] with the database down and the cache slow (it is
/// degraded, which passes), whoever asks, in whatever format, GET or HEAD.
fn assert_statuses(views: &[(String, Response)]) {
    let expected = |path: &str| match path {
        "/health/live" | "/health/startup" | "/health/ready/cache" => 200,
        _ => 503,
    };
    assert_eq!(views.len(), 11 * 5);
    for (what, response) in views {
        let path = what.split(' ').nth(1).unwrap();
        assert_eq!(response.status, expected(path), "{what}");
    }
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
    // Hiding the error texts never changes a verdict: each path answers its one status in every
    // format, and to HEAD.
    assert_statuses(&anonymous);
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
    assert_statuses(&authorized);
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

/// A request shape: a query, extra headers, and a piece of the warning it must draw.
type Shape = (
    &'static str,
    Vec<(&'static str, &'static str)>,
    &'static str,
);

/// Query strings and `Accept` headers a probe may be configured with (`httpGet.path`,
/// `httpGet.httpHeaders`) that ask for something that cannot be given.
fn odd_shapes() -> Vec<Shape> {
    let no_format = "no format in Accept can be given; answering application/json";
    vec![
        (
            "exclude=nope",
            vec![],
            r#"some health checks cannot be excluded: no matches for "nope""#,
        ),
        ("exclude=", vec![], "1 empty `exclude` parameter ignored"),
        (
            "exclude&exclude=",
            vec![],
            "2 empty `exclude` parameters ignored",
        ),
        ("exclude=%ZZ", vec![], r#"no matches for "%ZZ""#),
        ("exclude=%FF", vec![], "no matches for \"\u{fffd}\""),
        ("x=1", vec![("Accept", "text/html")], no_format),
        ("", vec![("Accept", "application/xml;q=1")], no_format),
        ("", vec![("Accept", "application/json;q=0")], no_format),
        ("", vec![("Accept", ";;;,,,")], no_format),
        ("", vec![("Accept", "*/*;q=7")], no_format),
    ]
}

#[tokio::test(flavor = "multi_thread")]
async fn no_request_shape_fails_a_probe() {
    let state = app_state();
    let addr = serve_app(&state, |r| r.kubernetes_aliases()).await;
    let too_many = vec!["exclude=cache"; 65].join("&");
    let mut shapes = odd_shapes();
    shapes.push((
        too_many.leak(),
        vec![],
        "at most 64 `exclude` parameters are read; 1 more ignored",
    ));
    for (mode, verdict) in [(UP, 200), (DOWN, 503)] {
        state.db.set(mode);
        refresh(&state).await;
        for path in ["/health/ready", "/readyz", "/health", "/health/live"] {
            // `database` gates readiness only: liveness passes whatever it does.
            let verdict = if path == "/health/live" { 200 } else { verdict };
            for (query, headers, warning) in &shapes {
                let target = format!("{path}?{query}");
                let what = format!("{target} {headers:?}");
                let response = request_with_headers(addr, "GET", &target, headers).await;
                assert_eq!(response.status, verdict, "{what}: {}", response.text());
                assert_eq!(response.header("content-type"), Some("application/json"));
                let body = response.json();
                let warnings = body["warnings"].as_array().unwrap_or_else(|| {
                    panic!("{what}: no warnings in {body}");
                });
                assert!(
                    warnings
                        .iter()
                        .any(|w| w.as_str().unwrap().contains(warning)),
                    "{what}: {warnings:?} lacks {warning:?}"
                );
            }
            // The same shapes in the other formats: a `notes` entry, a `warn:` line.
            let target = format!("{path}?exclude=nope");
            let health_json = request_with_headers(addr, "GET", &target, &health_json()).await;
            assert_eq!(health_json.status, verdict);
            let notes = health_json.json()["notes"].to_string();
            assert!(
                notes.contains(
                    r#"warn: some health checks cannot be excluded: no matches for \"nope\""#
                ),
                "{notes}"
            );
            let text = get(addr, &format!("{path}?verbose&exclude=nope&exclude=")).await;
            assert_eq!(text.status, verdict);
            let text = text.text();
            let lines: Vec<&str> = text.lines().collect();
            let n = lines.len();
            assert_eq!(
                lines[n - 3..n - 1],
                [
                    r#"warn: some health checks cannot be excluded: no matches for "nope""#,
                    "warn: 1 empty `exclude` parameter ignored; name a check, e.g. `?exclude=cache`",
                ],
                "{text}"
            );
            assert!(lines[n - 1].ends_with(if verdict == 200 {
                "check passed"
            } else {
                "check failed"
            }));
        }
        // Bytes that are not text in `Accept`.
        let raw = raw_request(
            addr,
            b"GET /health/ready HTTP/1.1\r\nHost: x\r\nAccept: \xff\xfe\r\nConnection: close\r\n\r\n",
        )
        .await;
        assert!(raw.starts_with(&format!("HTTP/1.1 {verdict} ")), "{raw}");
        assert!(raw.contains("no format in Accept can be given"), "{raw}");
        // A per-check path answers for its check whatever is excluded, and says so.
        let one = get(addr, "/health/ready/database?exclude=database").await;
        assert_eq!(one.status, verdict);
        assert_eq!(
            one.json()["warnings"],
            serde_json::json!(["`exclude` has no effect on a per-check path"])
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_quality_parameter_name_is_case_insensitive() {
    let state = app_state();
    let addr = serve_app(&state, |r| r).await;
    let text = request_with_headers(
        addr,
        "GET",
        "/health/ready",
        &[("Accept", "application/json;Q=0.1, text/plain;Q=0.9")],
    )
    .await;
    assert_eq!(
        text.header("content-type"),
        Some("text/plain; charset=utf-8"),
        "{}",
        text.text()
    );
    let json = request_with_headers(
        addr,
        "GET",
        "/health/ready",
        &[("Accept", "text/plain; Q=0, application/json")],
    )
    .await;
    assert_eq!(json.header("content-type"), Some("application/json"));
}

#[tokio::test(flavor = "multi_thread")]
async fn caller_text_in_a_warning_cannot_forge_a_line() {
    let state = app_state();
    let addr = serve_app(&state, |r| r).await;
    state.db.set(DOWN);
    refresh(&state).await;
    // An exclude that, unescaped, would add a passing check line and a passing verdict.
    let forged = "x%0A%5B%2B%5Ddatabase+ok%0D%0Aready+check+passed%0A%E2%80%A8";
    let text = get(addr, &format!("/health/ready?verbose&exclude={forged}")).await;
    assert_eq!(text.status, 503);
    let body = text.text();
    let lines: Vec<&str> = body.lines().collect();
    assert_eq!(
        lines,
        [
            "[-]database failed: reason withheld",
            "[+]cache ok",
            r#"warn: some health checks cannot be excluded: no matches for "x\n[+]database ok\r\nready check passed\n\u{2028}""#,
            "ready check failed",
        ],
        "{body}"
    );
    let json = get(addr, &format!("/health/ready?exclude={forged}")).await;
    assert_eq!(json.status, 503);
    assert!(json.json()["warnings"][0]
        .as_str()
        .unwrap()
        .contains(r#""x\n[+]database ok"#));
}

#[tokio::test(flavor = "multi_thread")]
async fn unknown_checks_and_other_methods_keep_404_and_405() {
    let state = app_state();
    let addr = serve_app(&state, |r| r.kubernetes_aliases()).await;
    for path in [
        "/health/ready/nope",
        "/readyz/nope",
        "/health/ready/%FF%FE",
        "/health/ready/nope?exclude=nope",
    ] {
        let response = get(addr, path).await;
        assert_eq!(response.status, 404, "{path}");
        let body = response.json();
        assert!(
            body["error"].as_str().is_some_and(|e| !e.is_empty()),
            "{body}"
        );
    }
    // An escaped name in the error, cut.
    let long = format!("/health/ready/x%0A{}", "y".repeat(500));
    let error = get(addr, &long).await.json()["error"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        error.starts_with(r#"no check "x\nyyy"#) && error.len() < 300,
        "{error}"
    );
    for (method, path) in [
        ("POST", "/health/ready"),
        ("DELETE", "/health/ready/database"),
        ("PUT", "/readyz"),
        ("OPTIONS", "/health"),
    ] {
        let response = request_with_headers(addr, method, path, &[]).await;
        assert_eq!(response.status, 405, "{method} {path}");
        assert_eq!(
            response.header("allow"),
            Some("GET,HEAD"),
            "{method} {path}"
        );
        assert_eq!(
            response.json()["error"],
            format!("method \"{method}\" not allowed: probes answer GET and HEAD")
        );
    }
    // An enormous query string: refused by hyper before it reaches the router.
    let huge = format!("/health/ready?exclude={}", "a".repeat(100_000));
    let response = request_with_headers(addr, "GET", &huge, &[]).await;
    assert!((400..500).contains(&response.status), "{}", response.status);
    // And the server still serves.
    assert_eq!(get(addr, "/health/ready").await.status, 200);
}

#[tokio::test(flavor = "multi_thread")]
async fn every_answer_of_the_probe_router_says_nosniff() {
    let state = app_state();
    let addr = serve_app(&state, |r| r.kubernetes_aliases()).await;
    state.cache.set(DOWN);
    state.db.set(DOWN);
    refresh(&state).await;
    let mut views = every_view(addr, &[]).await;
    for (method, path, headers) in [
        ("GET", "/health/ready/nope", vec![]),
        ("GET", "/health/ready/", vec![]),
        ("GET", "/health/ready/database/extra", vec![]),
        ("GET", "/readyz/a/b/c", vec![]),
        ("GET", "/health/ready/%FF%FE", vec![]),
        ("HEAD", "/readyz/nope", vec![]),
        ("POST", "/health/ready", vec![]),
        ("DELETE", "/readyz/database", vec![]),
        (
            "GET",
            "/health/ready?exclude=nope",
            vec![("Accept", "image/png")],
        ),
        ("GET", "/health/live", vec![]),
    ] {
        let response = request_with_headers(addr, method, path, &headers).await;
        views.push((format!("{method} {path} {headers:?}"), response));
    }
    let statuses: std::collections::BTreeSet<u16> = views.iter().map(|(_, r)| r.status).collect();
    assert_eq!(
        statuses.into_iter().collect::<Vec<_>>(),
        [200, 404, 405, 503]
    );
    for (what, response) in &views {
        assert_eq!(
            response.header("x-content-type-options"),
            Some("nosniff"),
            "{what}"
        );
    }
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
    use std::sync::atomic::AtomicUsize;
    use std::sync::Arc;
    let state = app_state();
    // The application port admits 4 requests at a time (a concurrency limit, as in production);
    // its handlers hang until released. Counts, not sleeps, say when it is saturated.
    let limit = Arc::new(tokio::sync::Semaphore::new(4));
    let arrived = Arc::new(AtomicUsize::new(0));
    let in_handlers = Arc::new(AtomicUsize::new(0));
    let (release, released) = tokio::sync::watch::channel(false);
    let handler_count = Arc::clone(&in_handlers);
    let middleware_count = Arc::clone(&arrived);
    let app = Router::new()
        .route(
            "/busy",
            axum::routing::get(move || {
                let (count, mut released) = (Arc::clone(&handler_count), released.clone());
                async move {
                    count.fetch_add(1, Ordering::SeqCst);
                    released.wait_for(|r| *r).await.expect("release");
                    "done"
                }
            }),
        )
        .merge(App::health_router())
        .layer(axum::middleware::from_fn(
            move |request, next: axum::middleware::Next| {
                let limit = Arc::clone(&limit);
                middleware_count.fetch_add(1, Ordering::SeqCst);
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
    assert_eq!(arrived.load(Ordering::SeqCst), 1);

    // Saturate the application port: 8 requests, 4 in the handlers and 4 waiting for a permit,
    // then a probe on the application port, waiting behind them.
    let busy: Vec<_> = (0..8)
        .map(|_| tokio::spawn(async move { get(app_addr, "/busy").await }))
        .collect();
    health_tests::dep::eventually(Duration::from_secs(10), "8 requests at the limit", || {
        arrived.load(Ordering::SeqCst) == 9 && in_handlers.load(Ordering::SeqCst) == 4
    })
    .await;
    let queued_probe = tokio::spawn(async move { get(app_addr, "/health/ready").await });
    health_tests::dep::eventually(Duration::from_secs(10), "the probe queued", || {
        arrived.load(Ordering::SeqCst) == 10
    })
    .await;

    // Round after round for about a second of saturation, the probe port answers every path,
    // while the application port answers nothing.
    for round in 0..5 {
        for path in [
            "/health/ready",
            "/health/live",
            "/health/startup",
            "/health",
        ] {
            let response = get(probe_addr, path).await;
            assert_eq!(response.status, 200, "{path}, round {round}");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(
        in_handlers.load(Ordering::SeqCst),
        4,
        "no request got past the limit"
    );
    assert!(
        !queued_probe.is_finished(),
        "the application port answered while saturated"
    );
    assert!(busy.iter().all(|task| !task.is_finished()));

    // Release the handlers: every request on the application port is answered.
    release.send(true).unwrap();
    for task in busy {
        let response = tokio::time::timeout(Duration::from_secs(10), task)
            .await
            .expect("a released request answered within 10 s")
            .expect("a released request");
        assert_eq!(
            response.status,
            200,
            "a released request: {}",
            response.text()
        );
        assert_eq!(response.text(), "done");
    }
    assert_eq!(in_handlers.load(Ordering::SeqCst), 8);
    let queued = tokio::time::timeout(Duration::from_secs(10), queued_probe)
        .await
        .expect("the queued probe answered within 10 s")
        .expect("the queued probe");
    assert_eq!(queued.status, 200);
    assert_eq!(get(app_addr, "/health/live").await.status, 200);
}

// -- The full error goes to the log, once per change --------------------------------------

// One thread, so this thread's capture sees the checks' events too (other tests of this binary
// log from the same callsites on other threads; `capture` keeps their events out).
#[tokio::test(flavor = "current_thread")]
async fn the_full_error_is_logged_once_per_status_change_not_per_probe() {
    let (events, _guard) = health_tests::log::capture();

    let state = app_state();
    let addr = serve_app(&state, |r| r).await;
    // Four runs in each state (healthy, unhealthy, healthy again; `serve_app` ran the first),
    // each followed by probes: one line per run, or per probe, would give more lines than
    // changes.
    for (mode, status, runs) in [(UP, 200, 3), (DOWN, 503, 4), (UP, 200, 4)] {
        state.db.set(mode);
        for _ in 0..runs {
            refresh(&state).await;
            for _ in 0..5 {
                let ready = get(addr, "/health/ready").await;
                assert_eq!(ready.status, status);
                assert!(!ready.text().contains(SECRET));
            }
        }
    }
    let check = health_tests::report(&state).await;
    assert_eq!(check.snapshot.runs, 12, "{check:?}");
    let events = events.all();
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
        "healthy -> unhealthy -> healthy, over 12 runs and 55 probes: {changes:#?}"
    );
    assert!(
        changes[0].contains(SECRET),
        "the log has the full error: {}",
        changes[0]
    );
    assert!(changes[0].contains("to=\"unhealthy\""), "{}", changes[0]);
    assert!(changes[1].contains("to=\"healthy\""), "{}", changes[1]);
}
