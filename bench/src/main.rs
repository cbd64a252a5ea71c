//! `cargo run --release -p health-bench`: measures, side by side in one run, what the framework
//! costs on the probe path and what it saves downstream, and writes `BENCHMARKS.md`.
//!
//! Every figure is the median of several runs, with the spread (min to max) beside it; each
//! row's note says how many runs and how the order of the compared pair was varied. Servers
//! and the load generator run in this process on loopback: the server on one runtime thread,
//! the client on another, so both routes of a comparison see the same conditions.
//!
//! The reading notes below the table are written from the run's own figures: every comparison
//! they state is computed, and says whether all runs agree on it.
//!
//! `--quick` runs every row once, briefly (a smoke run, figures not meaningful).
//!
//! `--grpc-watch-server <framework|tonic-health>` is how the harness starts row 9's server
//! processes (see `grpc.rs`), not a mode to run by hand.

mod alloc;
mod build_cost;
mod checks;
mod grpc;
mod load;

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::Request;
use axum::routing::get;
use axum::Router;
use health_axum::engine::{run_check, run_checks};
use health_axum::{refresh, start_scheduler, HealthRouterExt, HealthState};
use load::{Load, Mode};
use tower_service::Service;

#[global_allocator]
static ALLOCATOR: alloc::Counting = alloc::Counting;

/// How long and how often.
struct Plan {
    runs: usize,
    load_secs: f64,
    connections: usize,
    build_rounds: usize,
    /// `Watch` streams open at once in row 9.
    watchers: usize,
}

/// Median, min and max.
fn spread(values: &[f64]) -> (f64, f64, f64) {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let median = if v.len() % 2 == 1 {
        v[v.len() / 2]
    } else {
        (v[v.len() / 2 - 1] + v[v.len() / 2]) / 2.0
    };
    (median, v[0], v[v.len() - 1])
}

/// `median (min–max)` with `digits` decimals.
fn fmt(values: &[f64], digits: usize) -> String {
    let (m, lo, hi) = spread(values);
    if values.len() == 1 {
        format!("{m:.digits$}")
    } else {
        format!("{m:.digits$} ({lo:.digits$}–{hi:.digits$})")
    }
}

fn ratios(a: &[f64], b: &[f64]) -> Vec<f64> {
    a.iter().zip(b).map(|(x, y)| x / y).collect()
}

/// Process CPU time (user + system).
fn cpu_time() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes into the timespec we own; the clock id is valid.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut ts) };
    assert_eq!(rc, 0, "clock_gettime");
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

/// Pins the calling thread to CPU `cpu` (modulo the CPUs there are), so the server and the load
/// generator do not share a core by the scheduler's chance, which halves some runs.
fn pin_to(cpu: usize) {
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    // SAFETY: the set is zeroed, filled with CPU_SET and passed with its size; pid 0 is this
    // thread.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(cpu % cpus, &mut set);
        libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set);
    }
}

/// A server on its own single-threaded runtime in its own thread: returns its address.
fn server_thread(make: impl FnOnce() -> Router + Send + 'static) -> SocketAddr {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .on_thread_start(|| pin_to(0))
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async move {
            let app = make();
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            tx.send(listener.local_addr().unwrap()).unwrap();
            axum::serve(listener, app).await.unwrap();
        });
    });
    rx.recv().unwrap()
}

/// The figures the reading notes quote, kept per run so that a sentence can say whether the
/// runs agree.
#[derive(Default)]
struct Findings {
    /// In-process microseconds per request, per run: ready, live, bare.
    us: Vec<Vec<f64>>,
    /// Throughput, framework / bare route, keep-alive, per run: liveness, readiness.
    keep_alive: [Vec<f64>; 2],
    /// The same with a new connection per request.
    close: [Vec<f64>; 2],
    /// Throughput, framework / static route with the same bytes, keep-alive, per run.
    same_bytes: [Vec<f64>; 2],
    /// Body sizes: liveness, readiness.
    bytes: [usize; 2],
    /// Row 3, per run: throughput and p99 of the framework / the hand-written handler.
    pg_rps: Vec<f64>,
    pg_p99: Vec<f64>,
    /// Row 3, over all runs: `SELECT 1` per request, framework and hand-written.
    pg_per_request: [f64; 2],
    /// Each row's framework figure: its label and its spread relative to its median.
    stability: Vec<(String, f64)>,
    /// Row 8, per run: `Check` calls per second, readiness / bare, liveness / bare,
    /// readiness / tonic-health, tonic-health / bare.
    grpc_check: [Vec<f64>; 4],
    /// Row 8, per run: server CPU per call, readiness / bare, liveness / bare.
    grpc_cpu: [Vec<f64>; 2],
    /// Row 8, medians: server CPU per call in µs, readiness, liveness, bare, tonic-health.
    grpc_cpu_us: [f64; 4],
    /// Row 9, per change: the last watcher told, framework / tonic-health.
    watch_last: Vec<f64>,
    /// Row 9, the framework's medians: the first and the last watcher told, in ms.
    watch_ms: [f64; 2],
    /// Row 9: server memory per watcher in KiB, framework and tonic-health.
    watch_kib: [f64; 2],
    /// Row 9: how many watchers.
    watchers: usize,
}

impl Findings {
    /// Records how much `values` (one per run) of row `row` (its number, and its mode if two
    /// rows share the number) moved, for the noise note.
    fn spread_of(&mut self, row: &str, values: &[f64]) {
        let (median, lo, hi) = spread(values);
        if values.len() > 1 && median > 0.0 {
            self.stability.push((row.to_string(), (hi - lo) / median));
        }
    }
}

/// Whether every run puts `ratios` on the same side of 1.0.
fn agreement(ratios: &[f64], below: &str, above: &str) -> String {
    let runs = if ratios.len() == 1 {
        "in the one run".to_string()
    } else {
        format!("in all {} runs", ratios.len())
    };
    if ratios.iter().all(|r| *r < 1.0) {
        format!("{below} {runs}")
    } else if ratios.iter().all(|r| *r > 1.0) {
        format!("{above} {runs}")
    } else {
        "on both sides of 1.0 across runs, so this run cannot tell the two apart".to_string()
    }
}

/// A few requests, not counted, on a new connection each: the first results published, the
/// lifecycle ready, pools connected.
async fn warm(addr: SocketAddr, path: &str, millis: u64) {
    let _ = load::run(addr, path, 1, Duration::from_millis(millis), Mode::Close).await;
}

/// One row of the table.
struct Row {
    what: String,
    framework: String,
    baseline: String,
    ratio: String,
    note: String,
}

fn bare() -> (axum::http::StatusCode, &'static str) {
    (axum::http::StatusCode::OK, "")
}

/// The in-process router of the probe-path rows: `/bare` and the probe routes of ten trivial
/// checks, their results fresh and the lifecycle ready (no scheduler: `refresh` ran once).
async fn ten_checks_router() -> Router {
    let state = checks::TenChecks {
        lifecycle: health_axum::Lifecycle::new(),
    };
    state.lifecycle.mark_started();
    refresh(&state).await;
    let mut router: Router = Router::new()
        .route("/bare", get(|| async { bare() }))
        .merge(checks::TenChecks::health_router())
        .with_state(state);
    let _ = router
        .call(Request::get("/health/startup").body(Body::empty()).unwrap())
        .await;
    router
}

/// The framework's body for `path`, rendered once in-process: the static baseline serves the
/// same bytes, to tell the cost of the payload from the cost of evaluating it.
async fn rendered(path: &str) -> axum::body::Bytes {
    let mut router = ten_checks_router().await;
    let response = router
        .call(Request::get(path).body(Body::empty()).unwrap())
        .await
        .unwrap();
    axum::body::to_bytes(response.into_body(), 64 * 1024)
        .await
        .unwrap()
}

/// A route that answers `body` as the framework does (same headers), computing nothing.
fn static_route(body: axum::body::Bytes) -> axum::routing::MethodRouter<checks::TenChecks> {
    get(move || {
        let body = body.clone();
        async move {
            (
                [
                    (axum::http::header::CONTENT_TYPE, "application/json"),
                    (axum::http::header::CACHE_CONTROL, "no-store"),
                ],
                body,
            )
        }
    })
}

/// Rows 1 and 2: the probe path against a bare route on the same server, and (keep-alive) a
/// static route serving the same bytes.
async fn probe_path(plan: &Plan, rows: &mut Vec<Row>, findings: &mut Findings) {
    let (live_body, ready_body) = (
        rendered("/health/live").await,
        rendered("/health/ready").await,
    );
    let sizes = (live_body.len(), ready_body.len());
    findings.bytes = [sizes.0, sizes.1];
    let addr = server_thread(move || {
        let state = checks::TenChecks {
            lifecycle: health_axum::Lifecycle::new(),
        };
        state.lifecycle.mark_started();
        start_scheduler(&state);
        Router::new()
            .route("/bare", get(|| async { bare() }))
            .route("/static/live", static_route(live_body))
            .route("/static/ready", static_route(ready_body))
            .merge(checks::TenChecks::health_router())
            .with_state(state)
    });
    // Let the scheduler publish the first results and the lifecycle turn ready.
    tokio::time::sleep(Duration::from_millis(300)).await;
    warm(addr, "/health/startup", 100).await;
    let duration = Duration::from_secs_f64(plan.load_secs);
    for (index, (probe, path, fixed, size, label)) in [
        (
            "liveness",
            "/health/live",
            "/static/live",
            sizes.0,
            "1. `/health/live` vs bare route",
        ),
        (
            "readiness",
            "/health/ready",
            "/static/ready",
            sizes.1,
            "2. `/health/ready` (10 checks, snapshot) vs bare route",
        ),
    ]
    .into_iter()
    .enumerate()
    {
        for mode in [Mode::KeepAlive, Mode::Close] {
            let mut paths = vec![path, "/bare"];
            if mode == Mode::KeepAlive {
                paths.push(fixed);
            }
            let mut results: Vec<Vec<Load>> = vec![Vec::new(); paths.len()];
            // Warm-up, not counted: connection pools, caches, the CPU's frequency.
            for p in &paths {
                let _ = load::run(addr, p, plan.connections, duration / 4, mode).await;
            }
            for run in 0..plan.runs {
                // Rotate the order so no route always runs first.
                for k in 0..paths.len() {
                    let i = (k + run) % paths.len();
                    let result = load::run(addr, paths[i], plan.connections, duration, mode).await;
                    assert!(
                        result.errors == 0 && result.requests > 0,
                        "{}: {result:?}",
                        paths[i]
                    );
                    results[i].push(result);
                }
            }
            let rps = |l: &[Load]| l.iter().map(|x| x.rps).collect::<Vec<_>>();
            let p50 = |l: &[Load]| l.iter().map(|x| x.p50_us).collect::<Vec<_>>();
            let p99 = |l: &[Load]| l.iter().map(|x| x.p99_us).collect::<Vec<_>>();
            let figures = |l: &[Load]| {
                format!(
                    "{} req/s; p50 {} µs, p99 {} µs",
                    fmt(&rps(l), 0),
                    fmt(&p50(l), 0),
                    fmt(&p99(l), 0)
                )
            };
            let mode_name = match mode {
                Mode::KeepAlive => "keep-alive",
                Mode::Close => "new connection per request (as the kubelet)",
            };
            eprintln!(
                "  {probe} {mode_name}: {:.0} vs {:.0} req/s",
                spread(&rps(&results[0])).0,
                spread(&rps(&results[1])).0
            );
            let (mut baseline, mut ratio, mut note) = (
                format!("bare route (empty body): {}", figures(&results[1])),
                format!(
                    "throughput {}",
                    fmt(&ratios(&rps(&results[0]), &rps(&results[1])), 3)
                ),
                format!(
                    "{}, the {} routes taking turns to go first; body {size} bytes",
                    runs_text(plan.runs, "runs"),
                    paths.len()
                ),
            );
            let per_run = ratios(&rps(&results[0]), &rps(&results[1]));
            match mode {
                Mode::KeepAlive => {
                    findings.keep_alive[index] = per_run;
                    findings.same_bytes[index] = ratios(&rps(&results[0]), &rps(&results[2]));
                }
                Mode::Close => findings.close[index] = per_run,
            }
            let what = format!("{label}, {mode_name}, {} connections", plan.connections);
            let short = match mode {
                Mode::KeepAlive => "keep-alive",
                Mode::Close => "new connections",
            };
            let number = label.split('.').next().unwrap_or(label);
            findings.spread_of(&format!("{number} {short}"), &rps(&results[0]));
            if mode == Mode::KeepAlive {
                baseline.push_str(&format!(
                    "<br>static route, same {size} bytes and headers: {}",
                    figures(&results[2])
                ));
                ratio.push_str(&format!(
                    "<br>vs same bytes: {}",
                    fmt(&ratios(&rps(&results[0]), &rps(&results[2])), 3)
                ));
                note.push_str(
                    "; the static route separates the payload's cost from the evaluation's",
                );
            }
            rows.push(Row {
                what,
                framework: figures(&results[0]),
                baseline,
                ratio,
                note,
            });
        }
    }
}

/// Row 3: the hand-written approach against the framework, on the same real PostgreSQL.
async fn against_postgres(plan: &Plan, rows: &mut Vec<Row>, findings: &mut Findings) {
    let pg = health_tests::pg::PgServer::start();
    let url = pg.url();
    let framework_url = url.clone();
    let framework = server_thread(move || {
        let db = sqlx::postgres::PgPoolOptions::new()
            .max_connections(4)
            .connect_lazy(&framework_url)
            .unwrap();
        let state = checks::Pg {
            db,
            lifecycle: health_axum::Lifecycle::new(),
        };
        state.lifecycle.mark_started();
        start_scheduler(&state);
        checks::Pg::health_router().build().with_state(state)
    });
    let hand_url = url.clone();
    let hand = server_thread(move || {
        let db = sqlx::postgres::PgPoolOptions::new()
            .max_connections(4)
            .connect_lazy(&hand_url)
            .unwrap();
        Router::new()
            .route("/health/ready", get(checks::hand_written_ready))
            .with_state(db)
    });
    tokio::time::sleep(Duration::from_millis(500)).await;
    warm(framework, "/health/startup", 200).await;
    warm(hand, "/health/ready", 200).await;
    let duration = Duration::from_secs_f64(plan.load_secs);
    let (mut fw, mut hw) = (Vec::new(), Vec::new());
    for run in 0..plan.runs {
        let order = if run % 2 == 0 {
            [(framework, true), (hand, false)]
        } else {
            [(hand, false), (framework, true)]
        };
        for (addr, is_fw) in order {
            let before = pg.count_queries("SELECT 1");
            let result = load::run(
                addr,
                "/health/ready",
                plan.connections,
                duration,
                Mode::Close,
            )
            .await;
            tokio::time::sleep(Duration::from_millis(100)).await;
            let queries = (pg.count_queries("SELECT 1") - before) as f64;
            assert_eq!(result.errors, 0, "{result:?}");
            if is_fw {
                fw.push((result, queries));
            } else {
                hw.push((result, queries));
            }
        }
    }
    let rps = |l: &[(Load, f64)]| l.iter().map(|x| x.0.rps).collect::<Vec<_>>();
    let p99 = |l: &[(Load, f64)]| l.iter().map(|x| x.0.p99_us).collect::<Vec<_>>();
    let queries = |l: &[(Load, f64)]| l.iter().map(|x| x.1).collect::<Vec<_>>();
    eprintln!(
        "  postgres: framework {:.0} req/s, hand-written {:.0} req/s",
        spread(&rps(&fw)).0,
        spread(&rps(&hw)).0
    );
    let per_request = |l: &[(Load, f64)]| {
        l.iter().map(|x| x.1).sum::<f64>() / l.iter().map(|x| x.0.requests as f64).sum::<f64>()
    };
    findings.pg_rps = ratios(&rps(&fw), &rps(&hw));
    findings.pg_p99 = ratios(&p99(&fw), &p99(&hw));
    findings.pg_per_request = [per_request(&fw), per_request(&hw)];
    let what = format!(
        "3. readiness with 2 `SELECT 1` checks on a real PostgreSQL: framework vs hand-written (sequential, no timeout, no cache), new connection per request, {} connections, {:.1} s",
        plan.connections, plan.load_secs
    );
    findings.spread_of("3", &rps(&fw));
    rows.push(Row {
        what,
        framework: format!(
            "{} req/s; p99 {} µs; PostgreSQL ran {} `SELECT 1`",
            fmt(&rps(&fw), 0),
            fmt(&p99(&fw), 0),
            fmt(&queries(&fw), 0)
        ),
        baseline: format!(
            "{} req/s; p99 {} µs; PostgreSQL ran {} `SELECT 1`",
            fmt(&rps(&hw), 0),
            fmt(&p99(&hw), 0),
            fmt(&queries(&hw), 0)
        ),
        ratio: format!(
            "throughput {}×; p99 {}; queries (all runs) {}",
            fmt(&ratios(&rps(&fw), &rps(&hw)), 2),
            fmt(&ratios(&p99(&fw), &p99(&hw)), 3),
            {
                let total = |l: &[(Load, f64)]| l.iter().map(|x| x.1).sum::<f64>();
                format!("{:.3} %", 100.0 * total(&fw) / total(&hw))
            }
        ),
        note: format!(
            "{}, order alternated; queries counted in PostgreSQL's own statement log",
            runs_text(plan.runs, "runs")
        ),
    });
}
/// Rows 4 and 5: fan-out and timeout precision.
async fn fan_out_and_timeout(plan: &Plan, rows: &mut Vec<Row>, findings: &mut Findings) {
    let state = checks::HundredChecks {
        lifecycle: health_axum::Lifecycle::new(),
    };
    let mut times = Vec::new();
    for _ in 0..plan.runs.max(3) {
        let begun = Instant::now();
        let results = run_checks(&state, |_| true).await;
        times.push(begun.elapsed().as_secs_f64() * 1000.0);
        assert_eq!(results.len(), 100);
    }
    let begun = Instant::now();
    checks::hundred_in_sequence().await;
    let sequential = begun.elapsed().as_secs_f64() * 1000.0;
    eprintln!("  fan-out: {:.1} ms", spread(&times).0);
    let what = "4. fan-out: 100 checks of 50 ms each, on demand";
    findings.spread_of(what.split('.').next().unwrap_or(what), &times);
    rows.push(Row {
        what: what.into(),
        framework: format!("{} ms", fmt(&times, 1)),
        baseline: format!(
            "slowest single check 50 ms; hand-written sequential sum {sequential:.0} ms"
        ),
        ratio: format!(
            "{} of the slowest (ideal 1.0); sequential is {:.1}",
            fmt(&times.iter().map(|t| t / 50.0).collect::<Vec<_>>(), 3),
            sequential / 50.0
        ),
        note: format!(
            "{}; the sequential sum is one pass",
            runs_text(times.len(), "runs")
        ),
    });

    let hung = checks::Hung {
        lifecycle: health_axum::Lifecycle::new(),
    };
    let spec = &checks::Hung::CHECKS[0];
    let mut times = Vec::new();
    for _ in 0..plan.runs.max(3) {
        let begun = Instant::now();
        let result = run_check(spec, &hung).await;
        times.push(begun.elapsed().as_secs_f64() * 1000.0);
        assert_eq!(result.message.as_deref(), Some("timed out after 500 ms"));
    }
    eprintln!("  timeout: {:.1} ms", spread(&times).0);
    let what = "5. timeout precision: a check that never returns, `timeout_ms = 500`";
    findings.spread_of(what.split('.').next().unwrap_or(what), &times);
    rows.push(Row {
        what: what.into(),
        framework: format!("answered after {} ms", fmt(&times, 2)),
        baseline: "500 ms".into(),
        ratio: fmt(&times.iter().map(|t| t / 500.0).collect::<Vec<_>>(), 4),
        note: format!(
            "{}; the answer's message: \"timed out after 500 ms\"",
            runs_text(times.len(), "runs")
        ),
    });
}

/// The order of `n` compared things in run `run`: each takes its turn to go first.
fn turn(run: usize, n: usize) -> impl Iterator<Item = usize> {
    (0..n).map(move |k| (k + run) % n)
}

/// Row 6a: CPU time per run of the background scheduler, against a hand-written poller, both
/// running one trivial check every millisecond for `window`.
fn background_runs(plan: &Plan, rows: &mut Vec<Row>, findings: &mut Findings) {
    use std::sync::atomic::Ordering::Relaxed;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let window = Duration::from_millis(if plan.runs == 1 { 100 } else { 1000 });
    let mut per_run: [Vec<f64>; 2] = Default::default();
    runtime.block_on(async {
        for run in 0..plan.runs {
            for which in turn(run, 2) {
                let ticks = checks::TICKS.load(Relaxed);
                let begun = cpu_time();
                if which == 0 {
                    let state = checks::Ticking {
                        lifecycle: health_axum::Lifecycle::new(),
                    };
                    state.lifecycle.mark_started();
                    let scheduler = start_scheduler(&state);
                    tokio::time::sleep(window).await;
                    scheduler.stop();
                } else {
                    // What a hand-written background poller does: tick, run the check under a
                    // timeout, keep the last result.
                    let last = std::sync::Mutex::new(None);
                    let mut tick = tokio::time::interval(Duration::from_millis(1));
                    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                    let until = Instant::now() + window;
                    while Instant::now() < until {
                        tick.tick().await;
                        let result =
                            tokio::time::timeout(Duration::from_millis(1), checks::trivial()).await;
                        *last.lock().unwrap() = Some(result.is_ok());
                    }
                }
                let cpu = (cpu_time() - begun).as_secs_f64() * 1e6;
                let runs = checks::TICKS.load(Relaxed) - ticks;
                assert!(runs > 0, "nothing ran");
                per_run[which].push(cpu / runs as f64);
            }
        }
    });
    let [engine, poller] = per_run;
    eprintln!(
        "  scheduler: {:.2} µs CPU per run, poller {:.2}",
        spread(&engine).0,
        spread(&poller).0
    );
    let what = "6a. CPU time per run of one check by the background scheduler";
    findings.spread_of(what.split('.').next().unwrap_or(what), &engine);
    rows.push(Row {
        what: what.into(),
        framework: format!("{} µs", fmt(&engine, 2)),
        baseline: format!(
            "{} µs (a hand-written poller: interval, timeout, keep the last result)",
            fmt(&poller, 2)
        ),
        ratio: fmt(&ratios(&engine, &poller), 2),
        note: format!(
            "{} of {:.1} s each, order alternated; both on a 1 ms interval, CPU of the whole process divided by the runs the check counted; the framework adds panic isolation, damping, the breaker and snapshot publication",
            runs_text(plan.runs, "runs"),
            window.as_secs_f64()
        ),
    });
}

/// Rows 6b and 6c: allocations and time per probe request, the router called in-process.
fn in_process_requests(plan: &Plan, rows: &mut Vec<Row>, findings: &mut Findings) {
    let paths = ["/health/ready", "/health/live", "/bare"];
    let allocations = allocations_per_request(&paths, plan.runs);
    let spot = |v: &[Vec<f64>]| [spread(&v[0]).0, spread(&v[1]).0, spread(&v[2]).0];
    let [ready, live, base] = spot(&allocations);
    eprintln!("  allocations: ready {ready:.1}, live {live:.1}, bare {base:.1}");
    let what = "6b. heap allocations per request (router called in-process, request and response included)";
    findings.spread_of(what.split('.').next().unwrap_or(what), &allocations[0]);
    rows.push(Row {
        what: what.into(),
        framework: format!(
            "`/health/ready` (10 checks): {}; `/health/live`: {}",
            fmt(&allocations[0], 1),
            fmt(&allocations[1], 1)
        ),
        baseline: format!("bare route: {}", fmt(&allocations[2], 1)),
        ratio: format!(
            "ready {}×, live {}×",
            fmt(&ratios(&allocations[0], &allocations[2]), 2),
            fmt(&ratios(&allocations[1], &allocations[2]), 2)
        ),
        note: format!(
            "{} of 2,000 requests each, the routes taking turns to go first",
            runs_text(plan.runs, "passes")
        ),
    });
    let time = in_process(
        &paths,
        plan.runs,
        Duration::from_millis(if plan.runs == 1 { 100 } else { 500 }),
    );
    let [r, l, b] = spot(&time);
    eprintln!("  in-process: ready {r:.2} µs, live {l:.2} µs, bare {b:.2} µs");
    let what = "6c. time per request, router called in-process on one thread (no sockets)";
    findings.spread_of(what.split('.').next().unwrap_or(what), &time[0]);
    rows.push(Row {
        what: what.into(),
        framework: format!(
            "`/health/ready` (10 checks): {} µs; `/health/live`: {} µs",
            fmt(&time[0], 2),
            fmt(&time[1], 2)
        ),
        baseline: format!("bare route: {} µs", fmt(&time[2], 2)),
        ratio: format!(
            "ready {}, live {}",
            fmt(&ratios(&time[0], &time[2]), 2),
            fmt(&ratios(&time[1], &time[2]), 2)
        ),
        note: format!(
            "{}, the routes taking turns to go first; building the request and dropping the response included",
            runs_text(plan.runs, "runs")
        ),
    });
    findings.us = time;
    with_a_recorder(plan, rows, findings);
}

/// Row 6d: allocations per `/health/ready` request with a metrics recorder (the Prometheus
/// exporter's) against none. A global recorder cannot be uninstalled, so each "with" pass
/// installs it on its thread (`metrics::with_local_recorder`) before the state's engine and the
/// router are created, as an application installs its exporter before serving: every series is
/// registered in it, and every answer is counted through it.
fn with_a_recorder(plan: &Plan, rows: &mut Vec<Row>, findings: &mut Findings) {
    let ready = ["/health/ready"];
    let (mut with, mut without) = (Vec::new(), Vec::new());
    for run in 0..plan.runs {
        for pass in turn(run, 2) {
            if pass == 0 {
                without.push(allocations_per_request(&ready, 1)[0][0]);
                continue;
            }
            let recorder = metrics_exporter_prometheus::PrometheusBuilder::new().build_recorder();
            let handle = recorder.handle();
            let figures =
                metrics::with_local_recorder(&recorder, || allocations_per_request(&ready, 1));
            with.push(figures[0][0]);
            // The answers the exporter counted: the pass's 2,000 and its 10 of warm-up.
            let line = r#"health_probe_responses_total{probe="readiness",code="200"} "#;
            let answers: u64 = handle
                .render()
                .lines()
                .find_map(|l| l.strip_prefix(line))
                .and_then(|n| n.trim().parse().ok())
                .unwrap_or(0);
            assert_eq!(answers, 2_010, "the recorder counted every answer");
        }
    }
    eprintln!(
        "  allocations per request, /health/ready: {:.1} with a recorder, {:.1} without",
        spread(&with).0,
        spread(&without).0
    );
    let what = "6d. heap allocations per `/health/ready` request (10 checks) with a metrics recorder installed (feature `metrics`)";
    findings.spread_of(what.split('.').next().unwrap_or(what), &with);
    rows.push(Row {
        what: what.into(),
        framework: format!(
            "with the Prometheus exporter's recorder: {}",
            fmt(&with, 1)
        ),
        baseline: format!("no recorder: {}", fmt(&without, 1)),
        ratio: format!("{}×", fmt(&ratios(&with, &without), 2)),
        note: format!(
            "{} of 2,000 requests each, order alternated; the recorder installed before the state's engine and the router were created, so every series is registered in it; it counted every answer of each pass (2,010: the 2,000 and 10 of warm-up)",
            runs_text(plan.runs, "passes")
        ),
    });
}

/// Heap allocations per request for each path, `runs` passes, the paths taking turns to go
/// first.
fn allocations_per_request(paths: &[&'static str], runs: usize) -> Vec<Vec<f64>> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let mut router = ten_checks_router().await;
        let mut out = vec![Vec::new(); paths.len()];
        // Warm up: lazily initialised statics, the first snapshot reads.
        for path in paths {
            for _ in 0..10 {
                let _ = router
                    .call(Request::get(*path).body(Body::empty()).unwrap())
                    .await;
            }
        }
        for run in 0..runs {
            for i in turn(run, paths.len()) {
                let n = 2_000u64;
                let before = alloc::allocations();
                for _ in 0..n {
                    let request = Request::get(paths[i]).body(Body::empty()).unwrap();
                    let response = router.call(request).await.unwrap();
                    assert!(response.status().is_success(), "{}", paths[i]);
                }
                out[i].push((alloc::allocations() - before) as f64 / n as f64);
            }
        }
        out
    })
}

/// Row 7: build cost of the macros.
fn build_cost(
    plan: &Plan,
    workspace: &std::path::Path,
    rows: &mut Vec<Row>,
    findings: &mut Findings,
) {
    let (macros, hand) = build_cost::measure(workspace, plan.build_rounds);
    eprintln!(
        "  build: macros {:.2} s, by hand {:.2} s",
        spread(&macros).0,
        spread(&hand).0
    );
    let what = "7. rebuild of a crate with 50 checks after touching it (debug)";
    findings.spread_of(what.split('.').next().unwrap_or(what), &macros);
    rows.push(Row {
        what: what.into(),
        framework: format!(
            "with `#[health_check]` and the derive: {} s",
            fmt(&macros, 2)
        ),
        baseline: format!(
            "written by hand against the runtime API: {} s",
            fmt(&hand, 2)
        ),
        ratio: fmt(&ratios(&macros, &hand), 2),
        note: format!(
            "{}, order alternated; generated in `target/bench-build`",
            runs_text(macros.len(), "rounds")
        ),
    });
}

/// "median of 5 runs", or "one run" when there was one.
fn runs_text(n: usize, what: &str) -> String {
    if n == 1 {
        let one = match what {
            "passes" => "pass",
            "rounds" => "round",
            _ => "run",
        };
        format!("one {one}")
    } else {
        format!("median of {n} {what}")
    }
}

/// `median (min–max)` of a ratio, two decimals.
fn ratio_text(values: &[f64]) -> String {
    fmt(values, 2)
}

/// The notes under the table. Every comparison is computed from this run's figures, and says
/// whether all runs agree on its direction.
fn reading_notes(f: &Findings) -> String {
    let mut out = String::from("\n## Reading the table\n\n");
    let probes = ["liveness", "readiness with 10 checks"];
    let [ready_us, live_us, bare_us] = [spread(&f.us[0]).0, spread(&f.us[1]).0, spread(&f.us[2]).0];
    let _ = writeln!(
        out,
        "**The probe path against a bare route, keep-alive (rows 1 and 2).** One server thread is \
         saturated, so any work per request shows in the throughput. The framework's throughput \
         relative to the bare route:"
    );
    for (i, probe) in probes.iter().enumerate() {
        let _ = writeln!(
            out,
            "- {probe}: {}, {};",
            ratio_text(&f.keep_alive[i]),
            agreement(
                &f.keep_alive[i],
                "lower than the bare route's",
                "higher than the bare route's"
            )
        );
    }
    for (i, probe) in probes.iter().enumerate() {
        // Static route / bare route, per run: what the body alone costs.
        let body: Vec<f64> = f.keep_alive[i]
            .iter()
            .zip(&f.same_bytes[i])
            .map(|(ka, sb)| ka / sb)
            .collect();
        let _ = writeln!(
            out,
            "- {probe} against a static route serving the same {} bytes with the same headers: {}, {}; \
             that static route itself ran at {} of the empty bare route, {}{}",
            f.bytes[i],
            ratio_text(&f.same_bytes[i]),
            agreement(&f.same_bytes[i], "lower", "higher"),
            ratio_text(&body),
            agreement(&body, "lower", "higher"),
            if i + 1 == probes.len() { "." } else { ";" }
        );
    }
    let _ = writeln!(
        out,
        "\nRow 6c measures the work per request without sockets: the bare route took {bare_us:.2} µs, \
         `/health/live` {live_us:.2} µs ({:+.2} µs), `/health/ready` with 10 checks {ready_us:.2} µs \
         ({:+.2} µs); medians of the runs. The difference is what a probe does and a bare route does \
         not:\n\
         - read the lifecycle and each check's snapshot (a short lock and a reference count per check, \
         never a dependency call);\n\
         - render the report: {} bytes of JSON for liveness, {} for readiness with 10 checks, where the \
         bare route sends an empty body;\n\
         - negotiate `Accept`, parse the query, decide who may read messages.\n\n\
         To see where the time goes: `perf record target/release/health-bench --spin /health/ready`.\n",
        live_us - bare_us,
        ready_us - bare_us,
        f.bytes[0],
        f.bytes[1],
    );
    let _ = writeln!(
        out,
        "**What the kubelet sees.** The kubelet opens a new connection for every probe. With a new \
         connection per request the framework's throughput relative to the bare route was {} for \
         liveness, {}, and {} for readiness with 10 checks, {}.\n",
        ratio_text(&f.close[0]),
        agreement(&f.close[0], "lower", "higher"),
        ratio_text(&f.close[1]),
        agreement(&f.close[1], "lower", "higher"),
    );
    if !f.pg_rps.is_empty() {
        let _ = writeln!(
            out,
            "**What the dependency sees (row 3).** Per probe, PostgreSQL ran {:.4} `SELECT 1` for the \
             framework and {:.2} for the hand-written handler (counted in PostgreSQL's statement log, \
             all runs). The framework's throughput was {} of the handler's, {}; its p99 latency {} of \
             the handler's, {}.\n",
            f.pg_per_request[0],
            f.pg_per_request[1],
            ratio_text(&f.pg_rps),
            agreement(&f.pg_rps, "lower", "higher"),
            ratio_text(&f.pg_p99),
            agreement(&f.pg_p99, "lower", "higher"),
        );
    }
    if !f.grpc_check[0].is_empty() {
        let _ = writeln!(
            out,
            "**gRPC health (rows 8 and 9): how.** Both rows use tonic's client (`Channel`, one HTTP/2 \
             connection each) against `health_axum::serve`, on loopback.\n\
             - Row 8: one served port carries the framework's `HealthService`, a bare unary method \
             `/bench.Bare/Check` (a tonic `UnaryService` that answers a fixed `SERVING` at once: the \
             same messages, codec and routing as the framework's `Check`, none of its evaluation), and \
             tonic-health's `HealthServer` with a fixed status (under `/tonic-health`, since its paths \
             are the framework's). Closed-loop callers keep the calls in flight; the methods take turns \
             to go first. The server runs on one runtime thread, the client on another core; the \
             server's CPU time per call is the kernel's account of the server's threads \
             (`/proc/self/task/<tid>/schedstat`) over the calls answered, which the client's own speed \
             does not change.\n\
             - Row 9: two server processes (this binary, `--grpc-watch-server`), each `serve` on one \
             runtime thread: the framework's `HealthService`, whose readiness follows one check that \
             the harness flips and runs (`refresh`), and tonic-health's, set by \
             `HealthReporter::set_service_status`. {} `Watch` calls on `readiness` to each, over \
             HTTP/2 connections of 125 streams (the application port allows 256); then each change, \
             alternately down and up: from the command written to the server to the moment the last \
             watcher has the new status (each watcher stamps its own message). Memory: the server \
             process's `RssAnon` before the watchers and once every one has had its first message.\n",
            f.watchers
        );
        let _ = writeln!(
            out,
            "**gRPC health: what the figures say.** `Check` on readiness (10 checks) ran at {} of the \
             rate of the bare method on the same port, {}; on `\"\"` (liveness) at {}, {}; against \
             tonic-health's server, readiness ran at {}, {} (tonic-health itself ran at {} of the bare \
             method). The server's CPU time per call: {:.1} µs for readiness, {:.1} µs for liveness, \
             {:.1} µs for the bare method, {:.1} µs for tonic-health (medians); readiness / bare {}, \
             {}. One change of readiness reached the first of {} watchers after {:.2} ms and the last \
             after {:.2} ms (medians); the last was told at {} of tonic-health's time, {}. Opening the \
             watchers grew the server's memory by {:.1} KiB per watcher, tonic-health's by {:.1} KiB.\n",
            ratio_text(&f.grpc_check[0]),
            agreement(&f.grpc_check[0], "lower", "higher"),
            ratio_text(&f.grpc_check[1]),
            agreement(&f.grpc_check[1], "lower", "higher"),
            ratio_text(&f.grpc_check[2]),
            agreement(&f.grpc_check[2], "lower", "higher"),
            ratio_text(&f.grpc_check[3]),
            f.grpc_cpu_us[0],
            f.grpc_cpu_us[1],
            f.grpc_cpu_us[2],
            f.grpc_cpu_us[3],
            ratio_text(&f.grpc_cpu[0]),
            agreement(&f.grpc_cpu[0], "less", "more"),
            f.watchers,
            f.watch_ms[0],
            f.watch_ms[1],
            ratio_text(&f.watch_last),
            agreement(&f.watch_last, "shorter", "longer").replace("runs", "changes"),
            f.watch_kib[0],
            f.watch_kib[1],
        );
    }
    let (steady, noisy): (Vec<_>, Vec<_>) = f.stability.iter().partition(|(_, s)| *s < 0.05);
    let name = |rows: &[&(String, f64)]| {
        rows.iter()
            .map(|(row, s)| format!("{row} ({:.0} %)", s * 100.0))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let _ = writeln!(
        out,
        "**Noise.** The spread of each row's framework figure, as a share of its median: under 5 % for \
         rows {}; 5 % or more for rows {}. Loopback load on two cores, with server, load generator \
         and kernel sharing them, moves single runs; compare medians, and ratios taken within one run, \
         not figures across runs or machines.",
        if steady.is_empty() { "none".into() } else { name(&steady) },
        if noisy.is_empty() { "none".into() } else { name(&noisy) },
    );
    out
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let memory = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines()
                .find(|l| l.starts_with("MemTotal"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map_or_else(
            || "?".into(),
            |kb| format!("{:.0} GiB", kb / 1024.0 / 1024.0),
        );
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let rustc = std::process::Command::new("rustc")
        .arg("--version")
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default();
    format!(
        "{cores} cores ({cpu}), {memory}, {} {}; {rustc}",
        std::env::consts::OS,
        std::env::consts::ARCH
    )
}

fn date() -> String {
    std::process::Command::new("date")
        .args(["-u", "+%Y-%m-%d %H:%M UTC"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default()
}

/// Microseconds per request of the router called in-process for `duration`, for each path,
/// `runs` times, the paths taking turns to go first.
fn in_process(paths: &[&str], runs: usize, duration: Duration) -> Vec<Vec<f64>> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let mut router = ten_checks_router().await;
        let mut out = vec![Vec::new(); paths.len()];
        for run in 0..runs {
            for i in turn(run, paths.len()) {
                let path = &paths[i];
                let until = Instant::now() + duration;
                let begun = Instant::now();
                let mut n = 0u64;
                while Instant::now() < until {
                    let response = router
                        .call(Request::get(*path).body(Body::empty()).unwrap())
                        .await
                        .unwrap();
                    assert!(response.status().is_success(), "{path}");
                    n += 1;
                }
                out[i].push(begun.elapsed().as_secs_f64() * 1e6 / n as f64);
            }
        }
        out
    })
}

/// `--spin <path>`: calls the probe router in-process for 5 s, for a profiler to sample.
fn spin(path: &str) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let mut router = ten_checks_router().await;
        let until = Instant::now() + Duration::from_secs(5);
        let mut n = 0u64;
        while Instant::now() < until {
            let _ = router
                .call(Request::get(path).body(Body::empty()).unwrap())
                .await;
            n += 1;
        }
        eprintln!("{n} requests in 5 s: {:.2} µs each", 5e6 / n as f64);
    });
}

/// Where the section written from the flood tests starts; everything from it on is kept when
/// this harness rewrites the file.
const FLOODS_MARKER: &str = "<!-- connection floods:";

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--grpc-watch-server") {
        // A server process of row 9, started by this harness.
        grpc::watch_server(args.get(i + 1).map_or("framework", String::as_str));
        return;
    }
    if let Some(i) = args.iter().position(|a| a == "--spin") {
        spin(args.get(i + 1).map_or("/health/ready", String::as_str));
        return;
    }
    let quick = args.iter().any(|a| a == "--quick");
    let plan = if quick {
        Plan {
            runs: 1,
            load_secs: 0.5,
            connections: 8,
            build_rounds: 1,
            watchers: 250,
        }
    } else {
        Plan {
            runs: 5,
            load_secs: 2.0,
            connections: 16,
            build_rounds: 5,
            watchers: 1000,
        }
    };
    let workspace = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let workspace = workspace.canonicalize().unwrap_or(workspace);
    let begun = Instant::now();
    let mut rows = Vec::new();
    let mut findings = Findings::default();
    eprintln!("== allocations and refresh cost");
    background_runs(&plan, &mut rows, &mut findings);
    in_process_requests(&plan, &mut rows, &mut findings);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .on_thread_start(|| pin_to(1))
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        eprintln!("== probe path vs bare route");
        probe_path(&plan, &mut rows, &mut findings).await;
        eprintln!("== against PostgreSQL");
        against_postgres(&plan, &mut rows, &mut findings).await;
        eprintln!("== fan-out and timeout");
        fan_out_and_timeout(&plan, &mut rows, &mut findings).await;
        eprintln!("== gRPC health: Check rate, Watch fan-out");
        grpc::check_row(&plan, &mut rows, &mut findings).await;
        grpc::watch_row(&plan, &mut rows, &mut findings).await;
    });
    eprintln!("== build cost of the macros");
    build_cost(&plan, &workspace, &mut rows, &mut findings);
    rows.sort_by(|a, b| a.what.cmp(&b.what));

    let mut out = String::new();
    let _ = writeln!(out, "# Benchmarks\n");
    let _ = writeln!(
        out,
        "- Command: `cargo run --release -p health-bench`{}",
        if quick {
            " -- --quick (smoke run: figures not meaningful)"
        } else {
            ""
        }
    );
    let _ = writeln!(out, "- Machine: {}", machine());
    let _ = writeln!(out, "- Date: {}", date());
    let _ = writeln!(
        out,
        "- Runs: each figure is a median over runs, with the spread (min–max) in brackets; each row's note says how many runs and how the order of the compared pair was varied. Load (rows 1 to 3 and 8): {} closed-loop clients (row 8: calls in flight) for {:.1} s per run on loopback; server and load generator in one process on one runtime thread each, pinned to different cores (row 9: each server in a process of its own, on the server's core). Whole run: {:.0} s.\n",
        plan.connections,
        plan.load_secs,
        begun.elapsed().as_secs_f64()
    );
    let _ = writeln!(
        out,
        "| what | framework | baseline | ratio (framework / baseline) | note |"
    );
    let _ = writeln!(out, "|---|---|---|---|---|");
    for row in &rows {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} |",
            row.what, row.framework, row.baseline, row.ratio, row.note
        );
    }
    out.push_str(&reading_notes(&findings));
    let path = workspace.join(if quick {
        "target/BENCHMARKS.quick.md"
    } else {
        "BENCHMARKS.md"
    });
    // The connection-flood figures come from the flood tests, not from this harness: keep them.
    let kept = std::fs::read_to_string(&path)
        .ok()
        .and_then(|old| old.find(FLOODS_MARKER).map(|at| old[at..].to_string()));
    let out = match kept {
        Some(tail) => format!("{out}\n{tail}"),
        None => out,
    };
    std::fs::write(&path, &out).expect("write the table");
    eprintln!(
        "wrote {} in {:.0} s",
        path.display(),
        begun.elapsed().as_secs_f64()
    );
    print!("{out}");
}
