//! Startup checks and the start-up work they check: a startup check is not run while the work
//! is under way (its first run follows the work), its first result is not a change "from none",
//! and once the application has been ready a startup-only check is retired: no longer run,
//! never stale, and marked so in every report. Its own test binary: it captures the log, and no
//! other test may run beside it.

use std::future::IntoFuture;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use health_axum::engine::evaluate;
use health_axum::prelude::*;
use health_axum::Scope;
use health_tests::{get, wait_for_status};

#[derive(Clone, HealthState)]
#[health(checks(migrations, ok))]
struct App {
    work_done: Arc<AtomicBool>,
    runs: Arc<AtomicUsize>,
    runs_before_done: Arc<AtomicUsize>,
    #[health(lifecycle)]
    lifecycle: Lifecycle,
}

/// Fails, as a real migrations check would, until the start-up work has run.
#[health_check(startup, interval_ms = 100, timeout_ms = 50, failure_threshold = 1)]
async fn migrations(app: &App) -> Result<(), String> {
    app.runs.fetch_add(1, Ordering::SeqCst);
    if app.work_done.load(Ordering::SeqCst) {
        Ok(())
    } else {
        app.runs_before_done.fetch_add(1, Ordering::SeqCst);
        Err("no such table: _sqlx_migrations".into())
    }
}

#[health_check(critical)]
async fn ok() -> Result<(), String> {
    Ok(())
}

#[tokio::test(flavor = "current_thread")]
async fn startup_checks_wait_for_the_work_then_retire() {
    let (events, _guard) = health_tests::log::capture();
    let app = App {
        work_done: Arc::default(),
        runs: Arc::default(),
        runs_before_done: Arc::default(),
        lifecycle: Lifecycle::new(),
    };
    let router = Router::new()
        .merge(App::health_router())
        .with_state(app.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let done = Arc::clone(&app.work_done);
    // The start-up work (migrations) lasts until the test releases it.
    let (release, released) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(
        health_axum::serve(listener, router, app.clone())
            .startup(async move {
                released.await.expect("the test releases the work");
                done.store(true, Ordering::SeqCst);
                Ok::<(), std::io::Error>(())
            })
            .into_future(),
    );

    // During the work, for more than two of the check's 100 ms intervals: startup 503,
    // liveness 200, and the startup check is not run.
    let during = Instant::now();
    for _ in 0..5 {
        assert_eq!(get(addr, "/health/startup").await.status, 503);
        assert_eq!(get(addr, "/health/live").await.status, 200);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(during.elapsed() >= Duration::from_millis(250));
    assert_eq!(app.runs.load(Ordering::SeqCst), 0, "run during the work");
    release
        .send(())
        .expect("the start-up work is still waiting");

    wait_for_status(addr, "/health/startup", 200, Duration::from_secs(5)).await;
    assert_eq!(
        app.runs_before_done.load(Ordering::SeqCst),
        0,
        "the startup check ran before the work it checks had finished"
    );
    // Its first result is logged as such, healthy; it is not a change, and no failure was
    // logged for a check that waited for its work.
    assert_eq!(
        events
            .matching(&[
                "health check first result",
                "check=\"migrations\"",
                "status=\"healthy\""
            ])
            .len(),
        1,
        "{:#?}",
        events.all()
    );
    assert!(
        events
            .matching(&["health check status changed", "check=\"migrations\""])
            .is_empty(),
        "the first result logged as a change: {:#?}",
        events.all()
    );
    assert!(
        events.matching(&["no such table"]).is_empty(),
        "a failure logged for a check that waited for its work: {:#?}",
        events.all()
    );

    // Ready: the startup-only check is retired. Past its stale bound (2 x 100 + 50 ms) it is
    // neither run again nor reported stale, and readiness never lists it.
    assert_eq!(get(addr, "/health/ready").await.status, 200);
    let runs = app.runs.load(Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(
        app.runs.load(Ordering::SeqCst),
        runs,
        "a retired check still runs"
    );
    let full = evaluate(&app, Scope::Full).await;
    let migrations = full
        .checks
        .iter()
        .find(|c| c.name == "migrations")
        .expect("the full report keeps the retired check");
    assert!(migrations.retired, "{migrations:?}");
    assert!(!migrations.stale, "{migrations:?}");
    assert!(
        migrations.age >= Duration::from_millis(600),
        "{migrations:?}"
    );
    let ready = evaluate(&app, Scope::Probe(Probe::Ready)).await;
    assert!(ready.checks.iter().all(|c| c.name != "migrations"));
    let ok = full.checks.iter().find(|c| c.name == "ok").unwrap();
    assert!(!ok.retired, "{ok:?}");
}
