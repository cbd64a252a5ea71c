//! Hostile HTTP/2 clients against `health_axum::serve` with a probe port (which answers gRPC
//! health as well as HTTP with the `grpc` feature), over real sockets. While each one is at
//! work, probes must still be answered promptly: a gRPC `Check` on `readiness` (tonic, a new
//! connection per probe, as the kubelet's `grpc:` probe) and an HTTP/1.1 `GET /health/ready`,
//! each within [`PROMPT`]. The clients a real HTTP/2 library refuses to be are written frame by
//! frame (`health_tests::h2`).
//!
//! - silent connections and bare HTTP/2 prefaces, past the probe port's connection cap;
//! - a stream flood: hundreds of `Watch` calls at once on each of 20 probe-port connections,
//!   which allow one stream each;
//! - `Watch` calls on the probe port whose answers are never read, past its cap;
//! - on the application port, 1,000 `Watch` streams that never read (their window full from
//!   the first message), while the status changes: the other watchers are told of each change,
//!   and the probes answer, as if they were not there; the server drops them at its send
//!   timeout.
//!
//! One weakness is kept as an ignored reproduction,
//! [`grpc_calls_on_the_probe_port_survive_its_early_goaway`]: a tonic call on the probe port
//! fails now and then, under no load at all. The probes here retry a call that failed that way
//! once, and count it.
//!
//! Each test prints its figures (`FIGURES ...`): `cargo test -p health-tests --test
//! grpc_hostile -- --nocapture`.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use health_axum::grpc::HealthService;
use health_axum::prelude::*;
use health_tests::h2::{self, Frame};
use health_tests::{kubelet_probe, H2_PREFACE};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tonic::transport::Channel;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;
use tonic_health::pb::HealthCheckRequest;

/// How soon a probe must be answered while a hostile client is at work: the kubelet's
/// default `timeoutSeconds` is 1, so 2 s is generous, and far below what any of the bounds
/// that release connections (5 s idle, 10 s lifetime) would give a probe that had to wait for
/// one.
const PROMPT: Duration = Duration::from_secs(2);

/// A dependency the test turns off and on, checked in memory: no I/O whose timing a loaded
/// test machine could turn into a timeout, so that every change of status is the test's.
#[derive(Clone, Default)]
struct Switch(Arc<AtomicBool>);

impl Switch {
    fn set(&self, up: bool) {
        self.0.store(up, Ordering::SeqCst);
    }
}

impl HealthCheck for Switch {
    async fn check(&self) -> CheckOutcome {
        if self.0.load(Ordering::SeqCst) {
            CheckOutcome::healthy()
        } else {
            CheckOutcome::unhealthy("switched off")
        }
    }
}

/// The state of the watch test: readiness follows the switch within 50 ms.
#[derive(Clone, HealthState)]
struct Switched {
    #[health(check(
        name = "database",
        critical,
        interval_ms = 50,
        timeout_ms = 50,
        failure_threshold = 1,
        no_breaker
    ))]
    database: Switch,
    #[health(lifecycle)]
    lifecycle: Lifecycle,
}

use health_tests::Ports as Server;

/// `serve` with a probe port (its default routes: HTTP probes and gRPC health), and the
/// application port serving the HTTP probes and gRPC health too, with an idle timeout (and send
/// timeout) of `app_idle`; both ready.
async fn start<S: HealthState>(state: S, app_idle: Duration) -> Server {
    health_tests::raise_fd_limit();
    let app = Router::new()
        .merge(S::health_router())
        .with_state(state.clone())
        .merge(HealthService::new(&state).router());
    health_tests::serve_with_probe_port(app, state, |s| s.idle_timeout(app_idle)).await
}

/// A `grpc:` probe as the kubelet sends it: a new connection and one `Check`; what it answered
/// and how long it took, cut at 5 s.
async fn grpc_check(addr: SocketAddr, service: &str) -> (Result<ServingStatus, String>, Duration) {
    let begun = Instant::now();
    let answer = tokio::time::timeout(Duration::from_secs(5), async {
        let channel = Channel::from_shared(format!("http://{addr}"))
            .expect("uri")
            .connect()
            .await
            .map_err(|e| format!("connect: {e}"))?;
        HealthClient::new(channel)
            .check(HealthCheckRequest {
                service: service.into(),
            })
            .await
            .map(|r| r.into_inner().status())
            .map_err(|status| format!("{status:?}"))
    })
    .await
    .unwrap_or_else(|_| Err("no answer within 5 s".into()));
    (answer, begun.elapsed())
}

/// Whether a failed call is the early-GOAWAY race (see
/// [`grpc_calls_on_the_probe_port_survive_its_early_goaway`]): hyper's client dropped the
/// request when the server's graceful GOAWAY arrived before the request's body had been sent.
fn early_goaway(answer: &Result<ServingStatus, String>) -> bool {
    answer.as_ref().is_err_and(|error| {
        error.contains("DispatchGone") || error.contains("GoAway(b\"\", NO_ERROR, Remote)")
    })
}

/// Calls that met the early-GOAWAY race and were retried, across the tests of this binary.
static RETRIED: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// [`grpc_check`], retried once at once if it met the early-GOAWAY race (a known weakness of
/// the probe port with hyper-based clients, which this binary reports apart; the time of both
/// attempts counts). Any other failure, or a second one, is the answer.
async fn grpc_probe(addr: SocketAddr, service: &str) -> (Result<ServingStatus, String>, Duration) {
    let (answer, took) = grpc_check(addr, service).await;
    if !early_goaway(&answer) {
        return (answer, took);
    }
    RETRIED.fetch_add(1, Ordering::SeqCst);
    eprintln!("RETRIED a gRPC probe that met the early GOAWAY: {answer:?}");
    let (answer, again) = grpc_check(addr, service).await;
    (answer, took + again)
}

/// The worst latency of each kind of probe over some rounds.
#[derive(Debug, Default)]
struct Worst {
    rounds: usize,
    grpc: Duration,
    http: Duration,
}

/// `rounds` rounds of a gRPC `Check` on `readiness` and an HTTP `GET /health/ready`, one after
/// the other, each on a new connection to `addr`: each must say `ready` (or not) within
/// [`PROMPT`].
async fn probe_rounds(addr: SocketAddr, rounds: usize, ready: bool, while_: &str) -> Worst {
    let (want_grpc, want_http) = if ready {
        (ServingStatus::Serving, 200)
    } else {
        (ServingStatus::NotServing, 503)
    };
    let mut worst = Worst::default();
    for round in 0..rounds {
        let (answer, took) = grpc_probe(addr, "readiness").await;
        assert!(
            answer == Ok(want_grpc) && took < PROMPT,
            "{while_}: gRPC probe {round} on {addr}: {answer:?} after {took:?}, wanted \
             {want_grpc:?} within {PROMPT:?}"
        );
        worst.grpc = worst.grpc.max(took);
        let (status, took) = kubelet_probe(addr, "/health/ready").await;
        assert!(
            status == Some(want_http) && took < PROMPT,
            "{while_}: HTTP probe {round} on {addr}: {status:?} after {took:?}, wanted {want_http} \
             within {PROMPT:?}"
        );
        worst.http = worst.http.max(took);
        worst.rounds += 1;
    }
    worst
}

impl Worst {
    fn report(&self, shape: &str) {
        eprintln!(
            "FIGURES {shape}: {} rounds of probes answered, worst gRPC Check {:.1} ms, worst HTTP \
             GET {:.1} ms ({} gRPC probes of this binary retried so far for the early GOAWAY)",
            self.rounds,
            self.grpc.as_secs_f64() * 1000.0,
            self.http.as_secs_f64() * 1000.0,
            RETRIED.load(Ordering::SeqCst)
        );
    }
}

/// The probe port's cap on open connections for this process's descriptor limit (as `serve`
/// computes it: an eighth of the limit, 8 to 1,024).
fn probe_cap() -> usize {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: a plain system call on a valid, owned struct.
    let read = unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) };
    assert_eq!(read, 0, "getrlimit");
    usize::try_from((limit.rlim_cur / 8).clamp(8, 1024)).unwrap()
}

/// The state of the probe-port tests: one check that always passes, run every 5 s with a 1 s
/// timeout, so that the status stays `SERVING` however hard a flood works the machine; these
/// tests are about being answered.
fn quiet() -> health_tests::OneCheck {
    health_tests::OneCheck {
        lifecycle: Lifecycle::new(),
    }
}

/// One test at a time in this binary: each floods a server in this process, and two at once on
/// two cores would measure each other's load.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Past the probe port's cap, silent connections and bare HTTP/2 prefaces (preface and
/// SETTINGS, then nothing): at the cap each new connection closes the oldest, so neither kind
/// of probe waits for the 5 s idle bound.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silent_connections_and_bare_prefaces_cannot_keep_grpc_or_http_probes_out() {
    let _one = ONE_AT_A_TIME.lock().await;
    let server = start(quiet(), health_axum::DEFAULT_IDLE_TIMEOUT).await;
    let past_the_cap = probe_cap() + 100;
    let begun = Instant::now();
    let mut held = Vec::with_capacity(past_the_cap);
    for i in 0..past_the_cap {
        let mut stream = TcpStream::connect(server.probes).await.expect("connect");
        if i % 2 == 1 {
            stream.write_all(H2_PREFACE).await.expect("write");
        }
        held.push(stream);
    }
    let opened = begun.elapsed();
    let worst = probe_rounds(server.probes, 10, true, "silent and preface-only flood").await;
    worst.report(&format!(
        "{past_the_cap} silent or preface-only connections on the probe port (opened in {:.0} ms)",
        opened.as_secs_f64() * 1000.0
    ));
    // The flood was still there: held for less than the 5 s idle bound, so it was shedding,
    // not the idle bound, that made room for the probes.
    assert!(
        begun.elapsed() < Duration::from_secs(5),
        "the flood and the probes took {:?}: too slow to tell shedding from the idle bound",
        begun.elapsed()
    );
    drop(held);
}

/// What one raw connection saw, read until the server closed it.
#[derive(Debug, Default)]
struct Seen {
    /// Streams answered with a response head, and with a `:status 200` one.
    answered: Vec<u32>,
    ok_heads: Vec<u32>,
    /// The gRPC statuses each stream was sent (DATA frames, decoded), by stream.
    messages: std::collections::BTreeMap<u32, Vec<u8>>,
    /// RST_STREAM frames by error code.
    resets: std::collections::BTreeMap<u32, usize>,
    /// GOAWAY error codes, in order.
    goaways: Vec<u32>,
    /// How long after its connect the server closed it; `None` if it was still open when the
    /// reading stopped.
    closed_after: Option<Duration>,
}

impl Seen {
    fn add(&mut self, frame: Frame) {
        match frame.kind {
            // A response head (a later HEADERS frame on the stream is its trailers).
            h2::HEADERS if !self.answered.contains(&frame.stream) => {
                self.answered.push(frame.stream);
                if frame.is_ok_head() {
                    self.ok_heads.push(frame.stream);
                }
            }
            h2::DATA => self
                .messages
                .entry(frame.stream)
                .or_default()
                .extend(frame.payload),
            h2::RST_STREAM => {
                *self
                    .resets
                    .entry(frame.error_code().unwrap_or(u32::MAX))
                    .or_default() += 1;
            }
            h2::GOAWAY => self.goaways.push(frame.error_code().unwrap_or(u32::MAX)),
            _ => {}
        }
    }

    /// The gRPC statuses sent on `stream`.
    fn statuses(&self, stream: u32) -> Vec<i32> {
        self.messages
            .get(&stream)
            .map_or_else(Vec::new, |data| h2::grpc_statuses(data))
    }
}

/// Reads frames from `stream` until the server closes it or `until` passes.
async fn read_all(
    stream: &mut (impl tokio::io::AsyncRead + Unpin),
    opened: Instant,
    until: Instant,
) -> Seen {
    let mut seen = Seen::default();
    loop {
        match tokio::time::timeout_at(until.into(), h2::read_frame(stream)).await {
            Ok(Some(frame)) => seen.add(frame),
            Ok(None) => {
                seen.closed_after = Some(opened.elapsed());
                return seen;
            }
            Err(_) => return seen,
        }
    }
}

/// The stream flood: connections of each kind, and the `Watch` calls each one opens at once.
/// Each refused call counts twice toward hyper's bound of 1,024 stream errors per connection
/// (its HEADERS refused, then its DATA on a refused stream), so 1,500 calls are well past it
/// and 200 well under it.
const FLOOD_CONNECTIONS: usize = 10;
const PAST_THE_RESET_BOUND: u32 = 1500;
const UNDER_THE_RESET_BOUND: u32 = 200;

/// The probe port's lifetime bound on a connection, and slack for a loaded test machine.
const PROBE_LIFETIME: Duration = Duration::from_secs(10);
const SLACK: Duration = Duration::from_millis(1500);

/// One flood connection to `addr`: `calls` `Watch` calls in one write, the answers read until
/// the server closes it (or the lifetime bound and slack pass).
async fn flood_connection(addr: SocketAddr, calls: u32) -> Seen {
    let opened = Instant::now();
    let stream = TcpStream::connect(addr).await.expect("connect");
    let (mut read, mut write) = stream.into_split();
    let mut frames = h2::start(&[]);
    for i in 0..calls {
        frames.extend(h2::grpc_call(2 * i + 1, h2::WATCH, "readiness"));
    }
    // Written while the answers are read: the server may stop reading before the end.
    let writer = tokio::spawn(async move {
        let _ = write.write_all(&frames).await;
        write
    });
    let seen = read_all(&mut read, opened, opened + PROBE_LIFETIME + SLACK).await;
    drop(writer.await);
    seen
}

/// A stream flood on the probe port: connections that each open hundreds of `Watch` calls in
/// one write. The probe port allows one stream per connection: no call but the first is ever
/// answered (the others are refused by HTTP/2 itself, RST_STREAM REFUSED_STREAM, and never
/// reach the router), and every flood connection is closed: within milliseconds once its
/// refusals pass hyper's bound (GOAWAY ENHANCE_YOUR_CALM), or else by the 10 s lifetime, its
/// first `Watch` told the status meanwhile. Probes answer at once throughout.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_flood_gets_one_stream_per_probe_connection_and_the_probes_still_answer() {
    let _one = ONE_AT_A_TIME.lock().await;
    let server = start(quiet(), health_axum::DEFAULT_IDLE_TIMEOUT).await;
    let mut flood = tokio::task::JoinSet::new();
    for i in 0..2 * FLOOD_CONNECTIONS {
        let calls = if i % 2 == 0 {
            PAST_THE_RESET_BOUND
        } else {
            UNDER_THE_RESET_BOUND
        };
        let addr = server.probes;
        flood.spawn(async move { (calls, flood_connection(addr, calls).await) });
    }
    let worst = probe_rounds(server.probes, 10, true, "stream flood").await;
    let mut seen = Vec::new();
    while let Some(connection) = flood.join_next().await {
        seen.push(connection.expect("flood connection"));
    }
    worst.report(&format!(
        "stream flood, {FLOOD_CONNECTIONS} probe-port connections x {PAST_THE_RESET_BOUND} Watch \
         calls + {FLOOD_CONNECTIONS} x {UNDER_THE_RESET_BOUND}"
    ));
    for calls in [PAST_THE_RESET_BOUND, UNDER_THE_RESET_BOUND] {
        let group: Vec<&Seen> = seen
            .iter()
            .filter(|(c, _)| *c == calls)
            .map(|(_, s)| s)
            .collect();
        let refused: Vec<usize> = group
            .iter()
            .map(|s| s.resets.get(&h2::REFUSED_STREAM).copied().unwrap_or(0))
            .collect();
        let closed: Vec<Option<Duration>> = group.iter().map(|s| s.closed_after).collect();
        eprintln!(
            "FIGURES stream flood, {calls} calls per connection: first Watch told on {} of {}, \
             refused {refused:?}, GOAWAY codes {:?}, closed after {:?} to {:?}",
            group.iter().filter(|s| s.ok_heads.contains(&1)).count(),
            group.len(),
            group.iter().map(|s| s.goaways.clone()).collect::<Vec<_>>(),
            closed.iter().min().copied().flatten(),
            closed.iter().max().copied().flatten(),
        );
    }
    for (i, (calls, s)) in seen.iter().enumerate() {
        assert!(
            s.answered.iter().all(|&stream| stream == 1),
            "connection {i} ({calls} calls): a stream other than the first was answered: {s:?}"
        );
        assert!(
            s.resets.get(&h2::REFUSED_STREAM).copied().unwrap_or(0) > 0,
            "connection {i} ({calls} calls): no stream refused: {s:?}"
        );
        assert!(
            s.closed_after.is_some(),
            "connection {i} ({calls} calls): still open past the {PROBE_LIFETIME:?} lifetime: {s:?}"
        );
        if *calls == UNDER_THE_RESET_BOUND {
            // Answered: on the probe port `Watch` is UNIMPLEMENTED (a trailers-only head), so
            // a client falls back to `Check`.
            assert!(
                s.ok_heads.contains(&1),
                "connection {i}: the first Watch is answered: {s:?}"
            );
        } else {
            assert_eq!(
                s.goaways.last(),
                Some(&h2::ENHANCE_YOUR_CALM),
                "connection {i}: {s:?}"
            );
        }
    }
}

/// `Watch` calls on the probe port that are never read, past its cap: each holds its
/// connection's one stream (a request in flight, so no idle bound applies), yet a probe is
/// answered at once (at the cap the oldest connection is closed, busy or not), and each of them
/// is closed within the probe port's 10 s lifetime.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watches_nobody_reads_cannot_keep_probes_out_of_the_probe_port() {
    let _one = ONE_AT_A_TIME.lock().await;
    let server = start(quiet(), health_axum::DEFAULT_IDLE_TIMEOUT).await;
    let past_the_cap = probe_cap() + 100;
    let call = [h2::start(&[]), h2::grpc_call(1, h2::WATCH, "readiness")].concat();
    let begun = Instant::now();
    let mut held = Vec::with_capacity(past_the_cap);
    for _ in 0..past_the_cap {
        let mut stream = TcpStream::connect(server.probes).await.expect("connect");
        stream.write_all(&call).await.expect("write");
        held.push(stream);
    }
    let opened = begun.elapsed();
    // Let the server take every call in before probing.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let worst = probe_rounds(server.probes, 10, true, "unread watches on the probe port").await;
    worst.report(&format!(
        "{past_the_cap} unread Watch calls on the probe port (opened in {:.0} ms)",
        opened.as_secs_f64() * 1000.0
    ));
    assert!(
        begun.elapsed() < PROBE_LIFETIME - Duration::from_secs(2),
        "the flood and the probes took {:?}: too slow to tell shedding from the lifetime",
        begun.elapsed()
    );
    // Now read what each was sent: every connection closed by the lifetime (or shed before),
    // and those the server reached were told the status.
    let until = begun + PROBE_LIFETIME + SLACK;
    let mut told = 0;
    let mut open = 0;
    for mut stream in held {
        let seen = read_all(&mut stream, begun, until).await;
        // Answered: on the probe port `Watch` is UNIMPLEMENTED (a trailers-only head).
        told += usize::from(seen.ok_heads.contains(&1));
        open += usize::from(seen.closed_after.is_none());
    }
    eprintln!(
        "FIGURES unread watches on the probe port: {told} of {past_the_cap} told the status, {open} \
         still open {:?} after the first connect",
        PROBE_LIFETIME + SLACK
    );
    assert_eq!(
        open, 0,
        "connections holding an unread Watch outlived the probe port's lifetime bound"
    );
    assert!(
        told >= probe_cap() - 100,
        "{told} of {past_the_cap} Watch calls were answered: the flood did not hold the streams"
    );
}

/// The next message of a watch, if one comes within [`PROMPT`].
async fn next(
    stream: &mut tonic::Streaming<tonic_health::pb::HealthCheckResponse>,
) -> Option<ServingStatus> {
    match tokio::time::timeout(PROMPT, stream.message()).await {
        Ok(Ok(Some(message))) => Some(message.status()),
        _ => None,
    }
}

/// Watchers on the application port that never read, one stream each.
const UNREAD_CONNECTIONS: u32 = 4;
const UNREAD_PER_CONNECTION: u32 = 250;

/// The application port's idle timeout in the watch test, which is also how long an answer may
/// make no progress there before its connection is dropped (30 s by default).
const APP_SEND_TIMEOUT: Duration = Duration::from_secs(5);

/// On the application port, 1,000 `Watch` streams on `readiness` that never read, with a
/// window of one message: the first status fills it, and from the first change on, each of
/// them has an answer the server cannot send. The status changes several times; a well-behaved
/// watcher on the same name must be told each change within [`PROMPT`], and probes on both
/// ports answer the new status as promptly (a watch channel keeps the latest value only, and
/// no one waits for a watcher). The unread watchers' connections, whose answers can no longer
/// be sent from the first change on, are dropped at the application port's send timeout after
/// it (here 5 s), not before.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_watchers_that_never_read_slow_neither_probes_nor_other_watchers() {
    let _one = ONE_AT_A_TIME.lock().await;
    let database = Switch::default();
    database.set(true);
    let server = start(
        Switched {
            database: database.clone(),
            lifecycle: Lifecycle::new(),
        },
        APP_SEND_TIMEOUT,
    )
    .await;
    let channel = Channel::from_shared(format!("http://{}", server.app))
        .expect("uri")
        .connect()
        .await
        .expect("connect");
    let mut watcher = HealthClient::new(channel)
        .watch(HealthCheckRequest {
            service: "readiness".into(),
        })
        .await
        .expect("watch")
        .into_inner();
    assert_eq!(next(&mut watcher).await, Some(ServingStatus::Serving));

    // The watchers that never read: a window of 7 bytes, one `HealthCheckResponse` message.
    let mut unread = Vec::new();
    let watch_one_message = [(h2::INITIAL_WINDOW_SIZE, 7)];
    for _ in 0..UNREAD_CONNECTIONS {
        let mut stream = TcpStream::connect(server.app).await.expect("connect");
        let mut frames = h2::start(&watch_one_message);
        for i in 0..UNREAD_PER_CONNECTION {
            frames.extend(h2::grpc_call(2 * i + 1, h2::WATCH, "readiness"));
        }
        stream.write_all(&frames).await.expect("write");
        unread.push(stream);
    }
    // Let the server open every stream and send each its first message; the watcher has
    // nothing to hear meanwhile (no change: `SERVING` throughout, or back to it at once).
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut meanwhile = Vec::new();
    while let Ok(Ok(Some(message))) =
        tokio::time::timeout(Duration::from_millis(300), watcher.message()).await
    {
        meanwhile.push(message.status());
    }
    eprintln!("FIGURES while the unread watchers opened, the watcher heard {meanwhile:?}");
    assert!(
        matches!(meanwhile.last(), None | Some(ServingStatus::Serving)),
        "readiness was {meanwhile:?} after the unread watchers opened"
    );

    let mut worst_watcher = Duration::ZERO;
    let mut worst_probes = Worst::default();
    let first_change = Instant::now();
    for change in 0..6 {
        let down = change % 2 == 0;
        let changed = Instant::now();
        database.set(!down);
        let want = if down {
            ServingStatus::NotServing
        } else {
            ServingStatus::Serving
        };
        let told = next(&mut watcher).await;
        let took = changed.elapsed();
        assert_eq!(
            told,
            Some(want),
            "change {change}: the watcher was not told within {PROMPT:?}"
        );
        worst_watcher = worst_watcher.max(took);
        for addr in [server.probes, server.app] {
            let worst = probe_rounds(addr, 1, !down, &format!("change {change}")).await;
            worst_probes.rounds += 1;
            worst_probes.grpc = worst_probes.grpc.max(worst.grpc);
            worst_probes.http = worst_probes.http.max(worst.http);
        }
    }
    let changes_took = first_change.elapsed();
    eprintln!(
        "FIGURES {} unread watchers on the app port, 6 changes in {:.0} ms: the other watcher \
         told within {:.1} ms at worst (the check runs every 50 ms)",
        UNREAD_CONNECTIONS * UNREAD_PER_CONNECTION,
        changes_took.as_secs_f64() * 1000.0,
        worst_watcher.as_secs_f64() * 1000.0
    );
    worst_probes.report("unread watchers on the app port, probes on both ports");

    // The unread watchers were real: each stream was answered and told the first status, and
    // nothing more (its window). Each connection is dropped at the send timeout after the first
    // change, which it could not be sent.
    let until = first_change + APP_SEND_TIMEOUT + CLOSE_GRACE + SLACK;
    let mut closed = Vec::new();
    for (i, mut stream) in unread.into_iter().enumerate() {
        let seen = read_all(&mut stream, first_change, until).await;
        assert_eq!(
            seen.ok_heads.len(),
            UNREAD_PER_CONNECTION as usize,
            "connection {i}: {seen:?}"
        );
        for stream_id in (0..UNREAD_PER_CONNECTION).map(|k| 2 * k + 1) {
            assert_eq!(
                seen.statuses(stream_id),
                [ServingStatus::Serving as i32],
                "connection {i}, stream {stream_id}"
            );
        }
        let after = seen.closed_after.unwrap_or_else(|| {
            panic!(
                "connection {i} still open {:?} after the first change it could not be sent",
                APP_SEND_TIMEOUT + CLOSE_GRACE + SLACK
            )
        });
        closed.push(after);
    }
    eprintln!(
        "FIGURES unread watchers' connections dropped {:?} after the first change (send timeout \
         {APP_SEND_TIMEOUT:?})",
        closed
    );
    assert!(
        closed
            .iter()
            .all(|&after| after >= APP_SEND_TIMEOUT - MS_ROUNDING),
        "dropped before the send timeout: {closed:?}"
    );
    assert!(
        changes_took < APP_SEND_TIMEOUT,
        "the changes took {changes_took:?}: the unread watchers were gone before the last ones"
    );
}

/// The server keeps instants in whole milliseconds: a deadline may fall up to 1 ms early.
const MS_ROUNDING: Duration = Duration::from_millis(2);

/// How long a connection told to close may take to finish by itself before it is dropped.
const CLOSE_GRACE: Duration = Duration::from_secs(1);

/// Calls of the known-weakness test.
const RACE_CALLS: usize = 3000;

/// A known weakness, kept as a reproduction: a tonic `Check` on the probe port fails now and
/// then with no load at all (14, 3 and 2 of 3,000 in three runs on the machine of
/// BENCHMARKS.md; none of 3,000 on the application port). The probe port sends its graceful
/// GOAWAY as soon as the first stream's head is read; a gRPC call's message follows its head in
/// a DATA frame, and when the GOAWAY and its PING round trip reach hyper's client before that
/// frame is written, the client drops the request ("runtime dropped the dispatch task", or the
/// GOAWAY as the error): hyperium/hyper#2500. Sending the GOAWAY once the first answer is ready
/// instead was tried: it removes these failures, but under CPU load grpc's C-core client (the
/// Python reference client) then loses answers on the probe port (`UNAVAILABLE` in 7 of 12
/// runs of `the_reference_python_client_on_the_probe_port_and_the_application_port`, against 0
/// of 12 with the GOAWAY at the request's start), so it was reverted. Run with `--ignored`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "known weakness: 0.1 to 0.5 % of tonic calls on the probe port fail (early GOAWAY, hyperium/hyper#2500)"]
async fn grpc_calls_on_the_probe_port_survive_its_early_goaway() {
    let _one = ONE_AT_A_TIME.lock().await;
    let server = start(quiet(), health_axum::DEFAULT_IDLE_TIMEOUT).await;
    let mut failed = Vec::new();
    for _ in 0..RACE_CALLS {
        let (answer, _) = grpc_check(server.probes, "readiness").await;
        if answer != Ok(ServingStatus::Serving) {
            failed.push(answer);
        }
    }
    eprintln!(
        "FIGURES early GOAWAY: {} of {RACE_CALLS} tonic calls on the probe port failed",
        failed.len()
    );
    assert!(failed.is_empty(), "{failed:?}");
}
