//! Rows 8 and 9: gRPC health (`grpc.health.v1`) over real HTTP/2 connections on loopback, with
//! tonic's client (`Channel`).
//!
//! - Row 8: `Check` calls per second, the framework's `HealthService` against a bare tonic unary
//!   method on the same `health_axum::serve`d router and port (`/bench.Bare/Check`: a fixed
//!   `SERVING`, the same messages, codec and routing, no evaluation), and against tonic-health's
//!   own `HealthServer` with a fixed status, on that port too. Same client, same calls in flight,
//!   the methods taking turns to go first.
//! - Row 9: the time from one status change to the moment the last of 1,000 `Watch` streams has
//!   been told, against tonic-health's `HealthReporter`. Each server is `health_axum::serve` in a
//!   process of its own (this binary, `--grpc-watch-server`), so that the memory the watchers
//!   cost it is read from its own `/proc/<pid>/status`; the watchers are in this process.

use std::convert::Infallible;
use std::future::{Future, IntoFuture};
use std::io::{BufRead, BufReader, Write};
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicI32, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::body::{Bytes, HttpBody};
use axum::http;
use axum::http::uri::PathAndQuery;
use axum::Router;
use health_axum::grpc::proto::{HealthCheckRequest, HealthCheckResponse, ServingStatus};
use health_axum::grpc::HealthService;
use health_axum::{refresh, Lifecycle};
use tonic::codec::ProstCodec;
use tonic::server::{Grpc, UnaryService};
use tonic::transport::{Channel, Endpoint};

use crate::checks;
use crate::load::{summary, Load};
use crate::{fmt, ratios, runs_text, spread, Findings, Plan, Row};

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

/// The baseline of row 8: a bare tonic unary method that answers `SERVING` at once, through
/// the same codec and messages as the framework's `Check` and routed the same way (a tower
/// service on an axum route, its call boxed as tonic's generated servers box theirs).
#[derive(Clone, Copy)]
struct Bare;

impl<B> tower_service::Service<http::Request<B>> for Bare
where
    B: HttpBody<Data = Bytes> + Send + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>> + Send + 'static,
{
    type Response = http::Response<tonic::body::Body>;
    type Error = Infallible;
    type Future = BoxFuture<Result<Self::Response, Infallible>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        Box::pin(async move { Ok(Grpc::new(ProstCodec::default()).unary(Fixed, request).await) })
    }
}

/// The bare method itself.
struct Fixed;

impl UnaryService<HealthCheckRequest> for Fixed {
    type Response = HealthCheckResponse;
    type Future = std::future::Ready<Result<tonic::Response<HealthCheckResponse>, tonic::Status>>;

    fn call(&mut self, _: tonic::Request<HealthCheckRequest>) -> Self::Future {
        std::future::ready(Ok(tonic::Response::new(HealthCheckResponse::new(
            ServingStatus::Serving,
        ))))
    }
}

/// The threads of a server: what they have run is its CPU time.
#[derive(Clone, Default)]
struct Threads(Arc<Mutex<Vec<libc::pid_t>>>);

impl Threads {
    /// Adds the calling thread.
    fn add_this_one(&self) {
        // SAFETY: gettid(2) has no preconditions and cannot fail.
        let tid = unsafe { libc::gettid() };
        self.0.lock().unwrap().push(tid);
    }

    /// CPU time the threads have run so far (the scheduler's own account, in nanoseconds).
    fn cpu(&self) -> Duration {
        let ns: u64 = self
            .0
            .lock()
            .unwrap()
            .iter()
            .filter_map(|tid| {
                std::fs::read_to_string(format!("/proc/self/task/{tid}/schedstat"))
                    .ok()?
                    .split_whitespace()
                    .next()?
                    .parse::<u64>()
                    .ok()
            })
            .sum();
        Duration::from_nanos(ns)
    }
}

/// `health_axum::serve` on its own single-threaded runtime in its own thread (pinned to core
/// 0), serving the router `make` builds for the state it returns; returns the address and the
/// server's threads.
fn serve_thread<S, F>(make: impl FnOnce() -> F + Send + 'static) -> (SocketAddr, Threads)
where
    S: health_axum::AsHealthState + Send + 'static,
    F: Future<Output = (Router, S)>,
{
    let (tx, rx) = std::sync::mpsc::channel();
    let threads = Threads::default();
    let (this_one, workers) = (threads.clone(), threads.clone());
    std::thread::spawn(move || {
        crate::pin_to(0);
        this_one.add_this_one();
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .on_thread_start(move || {
                crate::pin_to(0);
                workers.add_this_one();
            })
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async move {
            let (app, state) = make().await;
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            tx.send(listener.local_addr().unwrap()).unwrap();
            health_axum::serve(listener, app, state).await.unwrap();
        });
    });
    (rx.recv().unwrap(), threads)
}

/// `n` HTTP/2 connections to `addr`, one tonic `Channel` each.
async fn connect(addr: SocketAddr, n: usize) -> Vec<Channel> {
    let mut channels = Vec::with_capacity(n);
    for _ in 0..n {
        let endpoint = Endpoint::from_shared(format!("http://{addr}")).expect("uri");
        channels.push(endpoint.tcp_nodelay(true).connect().await.expect("connect"));
    }
    channels
}

/// One unary `Check`-shaped call on `path`; whether it answered `SERVING`.
async fn call(grpc: &mut tonic::client::Grpc<Channel>, path: &PathAndQuery, service: &str) -> bool {
    if grpc.ready().await.is_err() {
        return false;
    }
    let request = tonic::Request::new(HealthCheckRequest {
        service: service.into(),
    });
    let answer = grpc
        .unary::<_, HealthCheckResponse, _>(request, path.clone(), ProstCodec::default())
        .await;
    matches!(answer, Ok(r) if r.get_ref().status == ServingStatus::Serving as i32)
}

/// Closed-loop unary calls for `duration`: `callers` tasks spread over `channels`, each with
/// one call in flight at a time.
async fn calls(
    channels: &[Channel],
    path: &'static str,
    service: &'static str,
    callers: usize,
    duration: Duration,
) -> Load {
    let until = Instant::now() + duration;
    let begun = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..callers {
        let mut grpc = tonic::client::Grpc::new(channels[i % channels.len()].clone());
        tasks.spawn(async move {
            let path = PathAndQuery::from_static(path);
            let mut latencies = Vec::with_capacity(64 * 1024);
            let (mut ok, mut errors) = (0u64, 0u64);
            while Instant::now() < until {
                let begun = Instant::now();
                let served = call(&mut grpc, &path, service).await;
                latencies.push(u32::try_from(begun.elapsed().as_micros()).unwrap_or(u32::MAX));
                if served {
                    ok += 1;
                } else {
                    errors += 1;
                }
            }
            (latencies, ok, errors)
        });
    }
    let mut latencies = Vec::new();
    let (mut ok, mut errors) = (0, 0);
    while let Some(done) = tasks.join_next().await {
        let (lat, o, e) = done.expect("caller task");
        latencies.extend(lat);
        ok += o;
        errors += e;
    }
    summary(latencies, ok, errors, begun.elapsed().as_secs_f64())
}

/// HTTP/2 connections of the `Check` row: the calls in flight are spread over them.
fn check_connections(plan: &Plan) -> usize {
    if plan.runs == 1 {
        2
    } else {
        4
    }
}

/// Row 8: `Check` calls per second against the bare method and tonic-health's server, all on
/// one `serve`d port.
pub async fn check_row(plan: &Plan, rows: &mut Vec<Row>, findings: &mut Findings) {
    let (addr, server) = serve_thread(|| async {
        let state = checks::TenChecks {
            lifecycle: Lifecycle::new(),
        };
        let (reporter, tonic_health) = tonic_health::server::health_reporter();
        reporter
            .set_service_status("readiness", tonic_health::ServingStatus::Serving)
            .await;
        let app = Router::new()
            .merge(HealthService::new(&state).router())
            .route_service("/bench.Bare/Check", Bare)
            // tonic-health's paths are the framework's: it is reached under a prefix, which
            // axum strips before the call.
            .nest_service("/tonic-health", tonic_health);
        (app, state)
    });
    let methods: [(&str, &'static str, &'static str); 4] = [
        (
            "readiness (10 checks)",
            "/grpc.health.v1.Health/Check",
            "readiness",
        ),
        ("`\"\"` (liveness)", "/grpc.health.v1.Health/Check", ""),
        ("bare", "/bench.Bare/Check", "readiness"),
        (
            "tonic-health",
            "/tonic-health/grpc.health.v1.Health/Check",
            "readiness",
        ),
    ];
    let channels = connect(addr, check_connections(plan)).await;
    // The scheduler's first results and the lifecycle turning ready.
    let ready = Instant::now() + Duration::from_secs(10);
    let mut probe = tonic::client::Grpc::new(channels[0].clone());
    let path = PathAndQuery::from_static(methods[0].1);
    while !call(&mut probe, &path, "readiness").await {
        assert!(Instant::now() < ready, "readiness never served");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let duration = Duration::from_secs_f64(plan.load_secs);
    // Warm-up, not counted.
    for (_, path, service) in methods {
        let _ = calls(&channels, path, service, plan.connections, duration / 4).await;
    }
    let mut results: Vec<Vec<Load>> = vec![Vec::new(); methods.len()];
    // Server CPU time per call, µs.
    let mut cpu: Vec<Vec<f64>> = vec![Vec::new(); methods.len()];
    for run in 0..plan.runs {
        for i in crate::turn(run, methods.len()) {
            let (name, path, service) = methods[i];
            let before = server.cpu();
            let result = calls(&channels, path, service, plan.connections, duration).await;
            let spent = server.cpu() - before;
            assert!(
                result.errors == 0 && result.requests > 0,
                "{name}: {result:?}"
            );
            cpu[i].push(spent.as_secs_f64() * 1e6 / result.requests as f64);
            results[i].push(result);
        }
    }
    let rps = |l: &[Load]| l.iter().map(|x| x.rps).collect::<Vec<_>>();
    let figures = |name: &str, i: usize| {
        let l = &results[i];
        let p50: Vec<f64> = l.iter().map(|x| x.p50_us).collect();
        let p99: Vec<f64> = l.iter().map(|x| x.p99_us).collect();
        format!(
            "{name}: {} calls/s; p50 {} µs, p99 {} µs; server CPU {} µs per call",
            fmt(&rps(l), 0),
            fmt(&p50, 0),
            fmt(&p99, 0),
            fmt(&cpu[i], 1)
        )
    };
    let [ready_rps, live_rps, bare_rps, th_rps] = [0, 1, 2, 3].map(|i| rps(&results[i]));
    eprintln!(
        "  Check: readiness {:.0}, liveness {:.0}, bare {:.0}, tonic-health {:.0} calls/s; server CPU {:.1}, {:.1}, {:.1}, {:.1} µs per call",
        spread(&ready_rps).0,
        spread(&live_rps).0,
        spread(&bare_rps).0,
        spread(&th_rps).0,
        spread(&cpu[0]).0,
        spread(&cpu[1]).0,
        spread(&cpu[2]).0,
        spread(&cpu[3]).0
    );
    findings.grpc_check = [
        ratios(&ready_rps, &bare_rps),
        ratios(&live_rps, &bare_rps),
        ratios(&ready_rps, &th_rps),
        ratios(&th_rps, &bare_rps),
    ];
    findings.grpc_cpu = [ratios(&cpu[0], &cpu[2]), ratios(&cpu[1], &cpu[2])];
    findings.grpc_cpu_us = [0, 1, 2, 3].map(|i| spread(&cpu[i]).0);
    findings.spread_of("8", &ready_rps);
    rows.push(Row {
        what: format!(
            "8. gRPC `Check` vs a bare tonic unary method on the same `serve`d port, {} calls in flight over {} HTTP/2 connections",
            plan.connections,
            channels.len()
        ),
        framework: format!(
            "{}<br>{}",
            figures(methods[0].0, 0),
            figures(methods[1].0, 1)
        ),
        baseline: format!(
            "{}<br>{}",
            figures(
                "bare unary method (fixed `SERVING`, same messages and codec)",
                2
            ),
            figures(
                "tonic-health's `HealthServer`, fixed status (under a path prefix)",
                3
            )
        ),
        ratio: format!(
            "throughput: readiness / bare {}, liveness / bare {}, readiness / tonic-health {}<br>server CPU per call: readiness / bare {}, liveness / bare {}",
            fmt(&findings.grpc_check[0], 3),
            fmt(&findings.grpc_check[1], 3),
            fmt(&findings.grpc_check[2], 3),
            fmt(&findings.grpc_cpu[0], 2),
            fmt(&findings.grpc_cpu[1], 2)
        ),
        note: format!(
            "{}, the {} methods taking turns to go first; tonic's `Channel` as the client; each answer `SERVING` (2 bytes); server CPU: the server's threads' run time (`/proc/self/task/*/schedstat`) over the calls answered",
            runs_text(plan.runs, "runs"),
            methods.len()
        ),
    });
}

// -- Row 9: one change, many watchers --------------------------------------------------------

/// Watch streams per HTTP/2 connection: under the application port's cap of 256.
const STREAMS_PER_CONNECTION: usize = 125;

/// Which server a `--grpc-watch-server` process runs.
const SIDES: [&str; 2] = ["framework", "tonic-health"];

/// `--grpc-watch-server <framework|tonic-health>`: a `health_axum::serve`d port answering
/// `grpc.health.v1` `Watch` on `readiness`, from the framework's `HealthService` (readiness
/// follows one check, flipped by `checks::SWITCH` and run by `refresh`) or from tonic-health's
/// `HealthServer` (set by its `HealthReporter`). Prints its address, then reads `up` and `down`
/// from standard input, one change each; ends when standard input closes.
pub fn watch_server(side: &str) {
    crate::pin_to(0);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .on_thread_start(|| crate::pin_to(0))
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async move {
        let state = checks::Switched {
            lifecycle: Lifecycle::new(),
        };
        let (app, reporter) = if side == SIDES[0] {
            (HealthService::new(&state).router(), None)
        } else {
            let (reporter, server) = tonic_health::server::health_reporter();
            reporter
                .set_service_status("readiness", tonic_health::ServingStatus::Serving)
                .await;
            let app = Router::new().route_service("/grpc.health.v1.Health/{*method}", server);
            (app, Some(reporter))
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        println!("{}", listener.local_addr().unwrap());
        std::io::stdout().flush().unwrap();
        tokio::spawn(health_axum::serve(listener, app, state.clone()).into_future());
        let (tx, mut commands) = tokio::sync::mpsc::unbounded_channel::<bool>();
        std::thread::spawn(move || {
            for line in std::io::stdin().lock().lines() {
                let Ok(line) = line else { break };
                if tx.send(line.trim() == "up").is_err() {
                    break;
                }
            }
        });
        while let Some(up) = commands.recv().await {
            match &reporter {
                None => {
                    checks::SWITCH.store(up, Ordering::SeqCst);
                    refresh(&state).await;
                }
                Some(reporter) => {
                    let status = if up {
                        tonic_health::ServingStatus::Serving
                    } else {
                        tonic_health::ServingStatus::NotServing
                    };
                    reporter.set_service_status("readiness", status).await;
                }
            }
        }
    });
}

/// What the watchers of one server have heard since the last [`Tally::expect`].
struct Tally {
    watchers: usize,
    expected: AtomicI32,
    heard: AtomicUsize,
    first: Mutex<Option<Instant>>,
    last: Mutex<Option<Instant>>,
}

impl Tally {
    fn new(watchers: usize) -> Tally {
        Tally {
            watchers,
            expected: AtomicI32::new(ServingStatus::Serving as i32),
            heard: AtomicUsize::new(0),
            first: Mutex::new(None),
            last: Mutex::new(None),
        }
    }

    /// From now on, count the watchers told `status`.
    fn expect(&self, status: ServingStatus) {
        *self.first.lock().unwrap() = None;
        *self.last.lock().unwrap() = None;
        self.heard.store(0, Ordering::SeqCst);
        self.expected.store(status as i32, Ordering::SeqCst);
    }

    /// A watcher was told `status`.
    fn told(&self, status: i32) {
        if status != self.expected.load(Ordering::SeqCst) {
            return;
        }
        let now = Instant::now();
        let heard = self.heard.fetch_add(1, Ordering::SeqCst) + 1;
        if heard == 1 {
            *self.first.lock().unwrap() = Some(now);
        }
        if heard == self.watchers {
            *self.last.lock().unwrap() = Some(now);
        }
    }

    /// When the first and the last watcher were told, once every one has been; panics after
    /// `within`.
    async fn all_told(&self, within: Duration, what: &str) -> (Instant, Instant) {
        let deadline = Instant::now() + within;
        loop {
            if let Some(last) = *self.last.lock().unwrap() {
                return (self.first.lock().unwrap().expect("first"), last);
            }
            assert!(
                Instant::now() < deadline,
                "{what}: {} of {} watchers told within {within:?}",
                self.heard.load(Ordering::SeqCst),
                self.watchers
            );
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }
}

/// One `Watch` on `readiness`, telling `tally` of every message until the stream ends.
async fn watcher(channel: Channel, tally: Arc<Tally>) {
    let mut grpc = tonic::client::Grpc::new(channel);
    if grpc.ready().await.is_err() {
        return;
    }
    let request = tonic::Request::new(HealthCheckRequest {
        service: "readiness".into(),
    });
    let path = PathAndQuery::from_static("/grpc.health.v1.Health/Watch");
    let Ok(response) = grpc
        .server_streaming::<_, HealthCheckResponse, _>(request, path, ProstCodec::default())
        .await
    else {
        return;
    };
    let mut stream = response.into_inner();
    while let Ok(Some(message)) = stream.message().await {
        tally.told(message.status);
    }
}

/// A `--grpc-watch-server` process and the watchers on it.
struct WatchSide {
    name: &'static str,
    process: std::process::Child,
    commands: std::process::ChildStdin,
    addr: SocketAddr,
    tally: Arc<Tally>,
    tasks: tokio::task::JoinSet<()>,
    /// Connections kept open until the end.
    _channels: Vec<Channel>,
    /// The server's anonymous memory (KiB) before and after the watchers opened.
    rss_kib: (f64, f64),
}

/// The server process's anonymous resident memory in KiB (`RssAnon`: heap and stacks, not the
/// pages of the binary).
fn rss_anon_kib(pid: u32) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find(|l| l.starts_with("RssAnon:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kib| kib.parse().ok())
        })
        .unwrap_or(f64::NAN)
}

impl WatchSide {
    /// Starts the server process of `name`.
    fn start(name: &'static str, watchers: usize) -> WatchSide {
        let mut process = std::process::Command::new(std::env::current_exe().expect("the bench"))
            .args(["--grpc-watch-server", name])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("start the watch server");
        let mut line = String::new();
        BufReader::new(process.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("the watch server's address");
        let addr = line.trim().parse().expect("an address");
        let commands = process.stdin.take().expect("stdin");
        WatchSide {
            name,
            process,
            commands,
            addr,
            tally: Arc::new(Tally::new(watchers)),
            tasks: tokio::task::JoinSet::new(),
            _channels: Vec::new(),
            rss_kib: (f64::NAN, f64::NAN),
        }
    }

    /// Opens the watchers over their connections and waits for each one's first message;
    /// reads the server's memory before and after.
    async fn open(&mut self) {
        let watchers = self.tally.watchers;
        // The server's first evaluation done: one watcher told `SERVING`.
        let probe = Arc::new(Tally::new(1));
        let channel = connect(self.addr, 1).await.remove(0);
        let first = tokio::spawn(watcher(channel, Arc::clone(&probe)));
        probe.all_told(Duration::from_secs(10), self.name).await;
        first.abort();
        tokio::time::sleep(Duration::from_millis(100)).await;
        let before = rss_anon_kib(self.process.id());
        let channels = connect(self.addr, watchers.div_ceil(STREAMS_PER_CONNECTION)).await;
        for i in 0..watchers {
            let channel = channels[i % channels.len()].clone();
            self.tasks.spawn(watcher(channel, Arc::clone(&self.tally)));
        }
        self.tally
            .all_told(Duration::from_secs(30), &format!("{}: opening", self.name))
            .await;
        tokio::time::sleep(Duration::from_millis(100)).await;
        self.rss_kib = (before, rss_anon_kib(self.process.id()));
        self._channels = channels;
    }

    /// One status change: how long until the first and the last watcher were told, in ms.
    async fn change(&mut self, up: bool) -> (f64, f64) {
        let status = if up {
            ServingStatus::Serving
        } else {
            ServingStatus::NotServing
        };
        self.tally.expect(status);
        let begun = Instant::now();
        self.commands
            .write_all(if up { b"up\n" } else { b"down\n" })
            .and_then(|()| self.commands.flush())
            .expect("tell the watch server");
        let (first, last) = self
            .tally
            .all_told(Duration::from_secs(10), &format!("{}: change", self.name))
            .await;
        let ms = |t: Instant| (t - begun).as_secs_f64() * 1000.0;
        (ms(first), ms(last))
    }

    /// Ends the watchers and the server (its standard input closes).
    fn stop(mut self) {
        self.tasks.abort_all();
        drop(self.commands);
        let _ = self.process.wait();
    }
}

/// Row 9: from one status change to the last of the watchers told, the framework against
/// tonic-health, each server in a process of its own.
pub async fn watch_row(plan: &Plan, rows: &mut Vec<Row>, findings: &mut Findings) {
    let watchers = plan.watchers;
    let mut sides = SIDES.map(|name| WatchSide::start(name, watchers));
    for side in &mut sides {
        side.open().await;
        // Warm-up, not counted: one change each way.
        side.change(false).await;
        side.change(true).await;
    }
    let changes = plan.runs.max(2) * 2 - 1;
    let mut first_ms: [Vec<f64>; 2] = Default::default();
    let mut last_ms: [Vec<f64>; 2] = Default::default();
    for change in 0..changes {
        for i in crate::turn(change, 2) {
            let (first, last) = sides[i].change(change % 2 == 1).await;
            first_ms[i].push(first);
            last_ms[i].push(last);
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    let before = sides.each_ref().map(|s| s.rss_kib.0);
    let growth = sides.each_ref().map(|s| s.rss_kib.1 - s.rss_kib.0);
    let connections = watchers.div_ceil(STREAMS_PER_CONNECTION);
    eprintln!(
        "  Watch: last of {watchers} told after {:.2} ms (tonic-health {:.2} ms); server memory +{:.0} KiB (tonic-health +{:.0} KiB)",
        spread(&last_ms[0]).0,
        spread(&last_ms[1]).0,
        growth[0],
        growth[1]
    );
    for side in sides {
        side.stop();
    }
    let per_watcher = growth.map(|kib| kib / watchers as f64);
    findings.watch_last = ratios(&last_ms[0], &last_ms[1]);
    findings.watch_ms = [spread(&first_ms[0]).0, spread(&last_ms[0]).0];
    findings.watch_kib = per_watcher;
    findings.watchers = watchers;
    findings.spread_of("9", &last_ms[0]);
    rows.push(Row {
        what: format!(
            "9. gRPC `Watch`: one status change until the last of {watchers} watchers of `readiness` is told, {connections} HTTP/2 connections of up to {STREAMS_PER_CONNECTION} streams"
        ),
        framework: format!(
            "last told after {} ms (the first after {} ms); server memory {:.1} MiB, +{:.1} MiB with the {watchers} watchers open ({:.1} KiB each)",
            fmt(&last_ms[0], 2),
            fmt(&first_ms[0], 2),
            before[0] / 1024.0,
            growth[0] / 1024.0,
            per_watcher[0]
        ),
        baseline: format!(
            "tonic-health's `HealthReporter::set_service_status` on the same kind of server: last told after {} ms (the first after {} ms); server memory {:.1} MiB, +{:.1} MiB ({:.1} KiB each)",
            fmt(&last_ms[1], 2),
            fmt(&first_ms[1], 2),
            before[1] / 1024.0,
            growth[1] / 1024.0,
            per_watcher[1]
        ),
        ratio: format!(
            "last told {}<br>memory {:.2}",
            fmt(&findings.watch_last, 2),
            growth[0] / growth[1]
        ),
        note: format!(
            "{} changes per side, alternately down and up, the sides taking turns to go first; the framework's change is its check flipped and run (`refresh`), then published through the event stream; each server `health_axum::serve` in a process of its own, pinned to core 0, the watchers in this one; memory: the server's `RssAnon` before and after opening the watchers, once per side",
            changes
        ),
    });
}
