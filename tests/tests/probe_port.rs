//! The README's probe port (`serve(...).probes_on(listener)`), over real sockets:
//!
//! - "Each of its connections serves one request and closes (HTTP/1 with keep-alive off; HTTP/2
//!   with a GOAWAY as soon as the first stream starts)", and "any later stream a 503 that does
//!   not reach the router";
//! - its cap on open connections (1,024, or an eighth of the descriptor limit if lower), where
//!   "a connection accepted closes another, never itself: ... on the probe port the oldest one";
//! - "The probe listener answers from start-up to the end of the shutdown".
//!
//! The connection-cap test holds over a thousand sockets; it has this binary to itself with the
//! other probe-port tests, which hold a handful.

use std::future::IntoFuture;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::routing::get as route_get;
use health_axum::prelude::*;
use health_tests::get;
use health_tests::h2::{get as h2_get, read_frame, DATA, END_STREAM, GOAWAY, HEADERS, RST_STREAM};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

// One check that always passes: these tests are about connections, not checks.
use health_tests::OneCheck as State;

fn state() -> State {
    State {
        lifecycle: Lifecycle::new(),
    }
}

/// The probe routes, counting the requests that reach them.
fn counted_probes(state: &State, reached: &Arc<AtomicUsize>) -> Router {
    let reached = Arc::clone(reached);
    State::health_router()
        .build()
        .with_state(state.clone())
        .layer(axum::middleware::from_fn(
            move |request, next: axum::middleware::Next| {
                reached.fetch_add(1, Ordering::SeqCst);
                next.run(request)
            },
        ))
}

struct Ports {
    app: SocketAddr,
    probes: SocketAddr,
}

/// Serves the probe routes on both an application port and a probe port (whose routes count
/// the requests that reach them), and waits until both answer.
async fn start(reached: &Arc<AtomicUsize>) -> Ports {
    let state = state();
    let app = State::health_router().build().with_state(state.clone());
    let probes = counted_probes(&state, reached);
    let app_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let probe_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let ports = Ports {
        app: app_listener.local_addr().unwrap(),
        probes: probe_listener.local_addr().unwrap(),
    };
    tokio::spawn(
        health_axum::serve(app_listener, app, state)
            .probes_on_with(probe_listener, probes)
            .into_future(),
    );
    for addr in [ports.app, ports.probes] {
        health_tests::wait_for_status(addr, "/health/ready", 200, Duration::from_secs(10)).await;
    }
    ports
}

/// How many HTTP/1 status lines `raw` holds.
fn answers(raw: &[u8]) -> usize {
    raw.windows(9).filter(|w| w == b"HTTP/1.1 ").count()
}

// -- One answer per connection -----------------------------------------------------------------

/// Two requests pipelined in one write, neither asking to close: the probe port answers the
/// first with `Connection: close` and closes at once (well before its 5 s idle bound); the
/// application port answers both on the same connection.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http1_probe_connections_answer_one_request_and_close() {
    let reached = Arc::new(AtomicUsize::new(0));
    let ports = start(&reached).await;
    let before = reached.load(Ordering::SeqCst);
    let two = b"GET /health/ready HTTP/1.1\r\nHost: x\r\n\r\nGET /health/live HTTP/1.1\r\nHost: x\r\n\r\n";

    let mut probe = TcpStream::connect(ports.probes).await.unwrap();
    let opened = Instant::now();
    probe.write_all(two).await.unwrap();
    let mut raw = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), probe.read_to_end(&mut raw))
        .await
        .expect("the probe connection was not closed")
        .expect("read");
    let closed_after = opened.elapsed();
    let text = String::from_utf8_lossy(&raw);
    assert_eq!(answers(&raw), 1, "{text}");
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    assert!(
        text.to_ascii_lowercase()
            .contains("\r\nconnection: close\r\n"),
        "{text}"
    );
    assert!(
        closed_after < Duration::from_secs(3),
        "closed after {closed_after:?}: by the idle bound, not after its answer"
    );
    assert_eq!(
        reached.load(Ordering::SeqCst) - before,
        1,
        "one request reached the probe routes"
    );

    // The application port keeps the connection for both.
    let mut app = TcpStream::connect(ports.app).await.unwrap();
    app.write_all(two).await.unwrap();
    let mut raw = Vec::new();
    let mut buf = [0u8; 4096];
    while answers(&raw) < 2 {
        let n = tokio::time::timeout(Duration::from_secs(5), app.read(&mut buf))
            .await
            .expect("the application port answers both")
            .unwrap();
        assert!(n > 0, "closed after {}", String::from_utf8_lossy(&raw));
        raw.extend_from_slice(&buf[..n]);
    }
}

/// The preface, SETTINGS and a SETTINGS acknowledgement.
const H2_START: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x00\x04\x00\x00\x00\x00\x00\x00\x00\x00\x04\x01\x00\x00\x00\x00";

/// A raw HTTP/2 client that never acknowledges the server's PING, so the server's graceful
/// GOAWAY (which waits for that acknowledgement before it names the last stream) still lets a
/// second stream in: sent once the first is answered, it gets the probe port's 503, and it
/// never reaches the routes. The server has sent a GOAWAY by then, and closes the connection.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http2_probe_connections_go_away_and_a_later_stream_never_reaches_the_routes() {
    let reached = Arc::new(AtomicUsize::new(0));
    let ports = start(&reached).await;
    let before = reached.load(Ordering::SeqCst);
    let mut stream = TcpStream::connect(ports.probes).await.unwrap();
    stream
        .write_all(&[H2_START, &h2_get(1, "/health/ready")].concat())
        .await
        .unwrap();
    let exchange = async {
        let mut frames = Vec::new();
        let mut sent_second = false;
        while let Some(frame) = read_frame(&mut stream).await {
            let first_done = frame.stream == 1
                && (frame.kind == DATA || frame.kind == HEADERS)
                && frame.flags & END_STREAM != 0;
            frames.push(frame);
            if first_done && !sent_second {
                sent_second = true;
                stream
                    .write_all(&h2_get(3, "/health/live"))
                    .await
                    .expect("write the second stream");
            }
        }
        frames
    };
    let frames = tokio::time::timeout(Duration::from_secs(10), exchange)
        .await
        .expect("the probe connection was not closed");
    let on = |id: u32| frames.iter().filter(move |f| f.stream == id);
    let body = |id: u32| -> Vec<u8> {
        on(id)
            .filter(|f| f.kind == DATA)
            .flat_map(|f| f.payload.clone())
            .collect()
    };
    let first = String::from_utf8_lossy(&body(1)).into_owned();
    assert!(first.contains(r#""probe":"ready""#), "{first}\n{frames:?}");
    assert!(
        frames.iter().any(|f| f.kind == GOAWAY),
        "no GOAWAY: {frames:?}"
    );
    assert!(
        !on(3).any(|f| f.kind == RST_STREAM),
        "the second stream was refused by HTTP/2, not answered: {frames:?}"
    );
    let second = String::from_utf8_lossy(&body(3)).into_owned();
    assert_eq!(
        second, r#"{"error":"the probe port answers one request per connection"}"#,
        "{frames:?}"
    );
    assert_eq!(
        reached.load(Ordering::SeqCst) - before,
        1,
        "only the first stream reached the probe routes"
    );
}

// -- The connection cap ----------------------------------------------------------------------

/// The probe port's cap as the README states it: 1,024, or an eighth of the descriptor limit
/// if lower (`serve` has raised the soft limit to the hard one by the time this is read).
fn expected_probe_cap() -> usize {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit(2) writes into a valid, owned struct.
    let read = unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) };
    assert_eq!(read, 0, "getrlimit");
    usize::try_from(limit.rlim_cur / 8)
        .unwrap_or(usize::MAX)
        .clamp(8, 1024)
}

/// `cap + 100` silent connections, opened one after another, then a probe. A connection the
/// server closes by its idle bound has lived 5 s; one it sheds for a newer one closes within
/// milliseconds. So exactly the 101 oldest must be closed early (the newest never: "never
/// itself"), and all the others at the idle bound.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_the_cap_each_new_connection_closes_the_oldest() {
    let reached = Arc::new(AtomicUsize::new(0));
    let ports = start(&reached).await;
    let cap = expected_probe_cap();
    let extra = 100;
    let total = cap + extra;
    // Early: well before the 5 s idle bound, and a bound on how long the opening may take.
    let early = Duration::from_millis(4500);

    let began = Instant::now();
    let mut lives = tokio::task::JoinSet::new();
    for index in 0..total {
        let mut stream = TcpStream::connect(ports.probes).await.expect("connect");
        let opened = Instant::now();
        lives.spawn(async move {
            let mut buf = [0u8; 64];
            let closed = tokio::time::timeout(Duration::from_secs(15), async {
                loop {
                    match stream.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(_) => {}
                    }
                }
            })
            .await;
            (index, closed.ok().map(|()| opened.elapsed()))
        });
    }
    let opening = began.elapsed();
    assert!(
        opening < early - Duration::from_millis(500),
        "opening {total} connections took {opening:?}: too slow to tell shedding from the idle bound"
    );
    // At the cap, a probe is answered at once (its connection closes the oldest one too).
    let probed = Instant::now();
    assert_eq!(get(ports.probes, "/health/live").await.status, 200);
    assert!(
        probed.elapsed() < Duration::from_secs(2),
        "a probe at the cap waited {:?} (for the idle bound?)",
        probed.elapsed()
    );

    let mut shed = Vec::new();
    let mut still_open = Vec::new();
    while let Some(life) = lives.join_next().await {
        match life.unwrap() {
            (index, None) => still_open.push(index),
            (index, Some(life)) if life < early => shed.push(index),
            (_, Some(_)) => {}
        }
    }
    shed.sort_unstable();
    assert!(
        still_open.is_empty(),
        "still open after 15 s: {still_open:?}"
    );
    eprintln!(
        "cap {cap}: {} of {total} closed early, opened in {opening:?}",
        shed.len()
    );
    assert_eq!(
        shed,
        (0..=extra).collect::<Vec<_>>(),
        "past the cap of {cap}, {extra} connections and a probe close exactly the {} oldest",
        extra + 1
    );
}

// -- Answering through start-up and shutdown ---------------------------------------------------

/// The status of `GET path` on a new connection; `None` if the connection is refused or no
/// answer comes within 5 s.
async fn status(addr: SocketAddr, path: &str) -> Option<u16> {
    let exchange = async {
        let mut stream = TcpStream::connect(addr).await.ok()?;
        let head = format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        stream.write_all(head.as_bytes()).await.ok()?;
        let mut raw = Vec::new();
        stream.read_to_end(&mut raw).await.ok()?;
        let line = String::from_utf8_lossy(&raw);
        line.split(' ').nth(1)?.parse().ok()
    };
    tokio::time::timeout(Duration::from_secs(5), exchange)
        .await
        .ok()
        .flatten()
}

/// A handler that tells the test it has been entered, then never answers.
async fn stuck(entered: Arc<tokio::sync::Notify>) -> &'static str {
    entered.notify_one();
    health_tests::stuck_handler().await
}

/// The probe port answers during the start-up work, during the drain delay, and after the
/// application port has stopped accepting while a request is still in flight there; it closes
/// when `serve` returns.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_probe_port_answers_from_start_up_to_the_end_of_the_shutdown() {
    let state = state();
    let entered = Arc::new(tokio::sync::Notify::new());
    let in_handler = Arc::clone(&entered);
    let app = Router::new().route("/stuck", route_get(move || stuck(Arc::clone(&in_handler))));
    let app_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let probe_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let (app_addr, probes) = (
        app_listener.local_addr().unwrap(),
        probe_listener.local_addr().unwrap(),
    );
    let (work_done, work) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(
        health_axum::serve(app_listener, app, state.clone())
            .probes_on(probe_listener)
            .startup(async move { work.await.map_err(|_| "start-up work abandoned") })
            .drain_delay(Duration::from_millis(500))
            .shutdown_timeout(Duration::from_secs(5))
            .into_future(),
    );
    // Startup, liveness and readiness on the probe port; `None`: no answer.
    let codes = || async {
        let mut codes = [None; 3];
        for (code, path) in
            codes
                .iter_mut()
                .zip(["/health/startup", "/health/live", "/health/ready"])
        {
            *code = status(probes, path).await;
        }
        codes
    };

    // Start-up work: started no, alive yes, ready no.
    health_tests::wait_for_status(probes, "/health/live", 200, Duration::from_secs(10)).await;
    assert_eq!(
        codes().await,
        [Some(503), Some(200), Some(503)],
        "during start-up work"
    );
    work_done.send(()).unwrap();
    health_tests::wait_for_status(probes, "/health/ready", 200, Duration::from_secs(10)).await;

    // A request in flight on the application port, then the shutdown.
    let stuck = health_tests::stuck_request(app_addr);
    tokio::time::timeout(Duration::from_secs(5), entered.notified())
        .await
        .expect("the stuck request reached its handler");
    state.lifecycle.begin_drain();
    assert_eq!(
        codes().await,
        [Some(200), Some(200), Some(503)],
        "during the drain delay"
    );

    // Past the drain delay the application port refuses new connections; the request in
    // flight keeps `serve` running, up to the 5 s shutdown timeout.
    let deadline = Instant::now() + Duration::from_secs(4);
    while TcpStream::connect(app_addr).await.is_ok() {
        assert!(
            Instant::now() < deadline,
            "the application port still accepts"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(
        codes().await,
        [Some(200), Some(200), Some(503)],
        "after the application port stopped accepting"
    );
    assert!(
        !server.is_finished() && !stuck.is_finished(),
        "still finishing the request in flight"
    );

    // `serve` returns at the shutdown bound; the probe port closes with it.
    let result = tokio::time::timeout(Duration::from_secs(10), server)
        .await
        .expect("serve returned")
        .unwrap();
    assert!(result.is_ok(), "{result:?}");
    assert!(
        TcpStream::connect(probes).await.is_err(),
        "the probe port still accepts after serve returned"
    );
}
