//! A probe request allocates no more with a metrics recorder installed than without one: the
//! answer is counted through a handle registered when the router was built, one atomic
//! increment, and the evaluation reads snapshots whose series were registered with the engine.
//!
//! Allocation counts are deterministic (no timing): a counting global allocator counts, per
//! thread, the allocations made while the router is called in-process (request built, answer
//! rendered and dropped), on a current-thread runtime, after a warm-up. The same requests are
//! counted on a state whose engine and router were created with no recorder (the facade's no-op
//! handles) and on one created under the Prometheus exporter's recorder, as an application
//! installs it; the counts must be equal, and the exporter must have counted the answers.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use axum::body::Body;
use axum::http::{Method, Request};
use health_axum::prelude::*;
use health_axum::refresh;
use tower_service::Service;

/// Counts the allocations (and reallocations) of the thread that makes them.
struct Counting;

thread_local! {
    /// Allocations made by this thread so far.
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
}

fn count() {
    // `try_with`: a thread being torn down still allocates.
    let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
}

fn allocations() -> u64 {
    ALLOCATIONS.with(Cell::get)
}

// SAFETY: every method forwards to the system allocator unchanged; counting touches a
// const-initialised thread-local without destructor, which never allocates.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count();
        // SAFETY: forwarded with the caller's guarantees.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded with the caller's guarantees.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count();
        // SAFETY: forwarded with the caller's guarantees.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Checks that answer every way: the probes answer 200, 503, and with messages to render.
#[derive(Clone, HealthState)]
#[health(checks(
    database,
    cache,
    queue,
    search,
    mailer,
    worker,
    scheduler_heartbeat,
    disk
))]
struct Probed {
    #[health(lifecycle)]
    lifecycle: Lifecycle,
}

/// An hour: the snapshots of one refresh stay fresh, nothing runs during the requests.
macro_rules! checks {
    ($($name:ident $(, $arg:ident)* => $outcome:expr;)*) => {$(
        #[health_check($($arg,)* interval_ms = 3600000)]
        async fn $name() -> CheckOutcome {
            $outcome
        }
    )*};
}

checks! {
    database, critical => CheckOutcome::healthy();
    cache => CheckOutcome::healthy();
    queue => CheckOutcome::degraded("backlog 1200 messages");
    search => CheckOutcome::unhealthy("connection refused");
    mailer => CheckOutcome::healthy();
    worker, live, critical => CheckOutcome::unhealthy("worker pool exhausted");
    scheduler_heartbeat, live => CheckOutcome::healthy();
    disk, startup, live => CheckOutcome::healthy();
}

/// Requests per path, counted.
const REQUESTS: u64 = 500;

/// Each path, its method and the code it answers.
const PATHS: [(&str, &str, u16); 8] = [
    ("GET", "/health/ready", 200),
    ("GET", "/health/live", 503),
    ("GET", "/health/startup", 200),
    ("GET", "/health", 503),
    ("GET", "/health/ready/database", 200),
    ("GET", "/health/ready/no_such_check", 404),
    ("POST", "/health/ready", 405),
    ("GET", "/health/live/worker?verbose", 503),
];

/// The allocations of [`REQUESTS`] requests to each of [`PATHS`], on a state and router created
/// on a new current-thread runtime on this thread (under this thread's recorder, if any),
/// after ten requests to each path.
fn allocations_per_path() -> Vec<u64> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let state = Probed {
            lifecycle: Lifecycle::new(),
        };
        state.lifecycle.mark_started();
        refresh(&state).await;
        let mut router: Router = Probed::health_router()
            .details(Details::Always)
            .build()
            .with_state(state);
        let request = |method: &str, path: &str| {
            Request::builder()
                .method(Method::from_bytes(method.as_bytes()).unwrap())
                .uri(path)
                .body(Body::empty())
                .unwrap()
        };
        for (method, path, code) in PATHS {
            for _ in 0..10 {
                let response = router.call(request(method, path)).await.unwrap();
                assert_eq!(response.status(), code, "{method} {path}");
            }
        }
        let mut counts = Vec::new();
        for (method, path, code) in PATHS {
            let before = allocations();
            for _ in 0..REQUESTS {
                let response = router.call(request(method, path)).await.unwrap();
                assert_eq!(response.status(), code, "{method} {path}");
            }
            counts.push(allocations() - before);
        }
        counts
    })
}

#[test]
fn a_recorder_adds_no_allocation_to_a_probe_request() {
    let without = allocations_per_path();
    let recorder = metrics_exporter_prometheus::PrometheusBuilder::new().build_recorder();
    let handle = recorder.handle();
    let with = metrics::with_local_recorder(&recorder, allocations_per_path);
    let per_request = |counts: &[u64]| -> Vec<String> {
        counts
            .iter()
            .zip(PATHS)
            .map(|(n, (method, path, _))| {
                format!("{method} {path}: {:.2}", *n as f64 / REQUESTS as f64)
            })
            .collect()
    };
    println!(
        "allocations per request without a recorder: {:#?}",
        per_request(&without)
    );
    println!(
        "allocations per request with Prometheus's: {:#?}",
        per_request(&with)
    );
    assert_eq!(
        per_request(&with),
        per_request(&without),
        "allocations per request with a recorder (left) and without (right)"
    );
    assert_eq!(with, without, "allocations in all");

    // The recorder did count: every answer, and the runs of the refresh.
    let text = handle.render();
    let answered = 10 + REQUESTS;
    for line in [
        format!(
            r#"health_probe_responses_total{{probe="readiness",code="200"}} {}"#,
            2 * answered
        ),
        format!(r#"health_probe_responses_total{{probe="readiness",code="404"}} {answered}"#),
        format!(r#"health_probe_responses_total{{probe="readiness",code="405"}} {answered}"#),
        format!(
            r#"health_probe_responses_total{{probe="liveness",code="503"}} {}"#,
            2 * answered
        ),
        format!(r#"health_probe_responses_total{{probe="full",code="503"}} {answered}"#),
        r#"health_check_runs_total{check="queue",outcome="degraded"} 1"#.to_string(),
        r#"kubernetes_healthcheck{name="worker",type="livez"} 0"#.to_string(),
    ] {
        assert!(text.contains(&line), "{line:?} not in:\n{text}");
    }
}
