//! The README's "Connections that no client can hold": every connection `serve` accepts, on
//! either port, HTTP/1 or HTTP/2, is closed once it has had no request in flight for the idle
//! bound, counted from its accept, whatever the client sends that is not a complete request
//! head. Real sockets, real slow clients, one per shape:
//!
//! - HTTP/1, silent after the connect (hyper's own header timer would start only at a byte);
//! - HTTP/1, a request head sent one byte every 200 ms (a bound reset by bytes would never end);
//! - HTTP/2, the preface and SETTINGS, then silence;
//! - HTTP/2, a HEADERS frame whose header block never ends (no END_HEADERS);
//! - HTTP/2, a PING every 200 ms and no request (frames, but no request head);
//! - HTTP/2 on the application port, one answered request, then silence (idle keep-alive).
//!
//! Each must be closed by the server no earlier than the bound (less a little for the client's
//! clock starting after the server's), and no later than the bound plus the 1 s close grace
//! plus 2 s of slack for a busy host. (Only the silent HTTP/1 connection closes at the bound
//! itself: hyper does not end a half-read HTTP/1 head when told to close, and these raw HTTP/2
//! clients never acknowledge the PING of the server's GOAWAY, so those are dropped at the end
//! of the grace.) On the probe port that is before its 10 s connection lifetime, so it is the
//! idle bound that closes them.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use health_axum::prelude::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

// One check that always passes: these tests are about connections, not checks.
use health_tests::OneCheck as State;

use health_tests::{Ports, H2_PREFACE};

/// The probe port's idle bound, as the README states it.
const PROBE_BOUND: Duration = Duration::from_secs(5);
/// The probe port's connection lifetime: the idle bound must close a connection before it.
const PROBE_LIFETIME: Duration = Duration::from_secs(10);
/// The grace a connection told to close has before it is dropped.
const CLOSE_GRACE: Duration = Duration::from_secs(1);
/// The client's clock starts when `connect` returns, a little after the server's accept.
const EARLY: Duration = Duration::from_millis(250);
/// A busy two-core host may run the server's timer this late.
const SLACK: Duration = Duration::from_secs(2);

/// Serves an application port (idle bound `app_idle`, or the default) and a probe port.
async fn start(app_idle: Option<Duration>) -> Ports {
    let state = State {
        lifecycle: Lifecycle::new(),
    };
    let app = Router::new()
        .merge(State::health_router())
        .with_state(state.clone());
    health_tests::serve_with_probe_port(app, state, |s| match app_idle {
        Some(idle) => s.idle_timeout(idle),
        None => s,
    })
    .await
}

/// What a slow client sends.
#[derive(Debug, Clone, Copy)]
enum Shape {
    /// Connects and sends nothing.
    Http1Silent,
    /// A request head, one byte every 200 ms, never finished.
    Http1SlowHead,
    /// The HTTP/2 preface and SETTINGS, then nothing.
    Http2PrefaceOnly,
    /// The preface, then a HEADERS frame without END_HEADERS, and no CONTINUATION.
    Http2UnfinishedHeaders,
    /// The preface, then a PING every 200 ms: frames, but never a request.
    Http2Pings,
    /// The preface and one complete GET, answered; then nothing (an idle keep-alive).
    Http2IdleAfterAnswer,
}

/// A HEADERS frame on stream 1: `GET path` (HPACK: `:method GET`, `:scheme http`, `:path`
/// literal, `:authority x`), with END_STREAM, and END_HEADERS if `complete`.
fn h2_get(path: &str, complete: bool) -> Vec<u8> {
    let mut block = vec![0x82, 0x86, 0x44, u8::try_from(path.len()).unwrap()];
    block.extend_from_slice(path.as_bytes());
    block.extend_from_slice(&[0x41, 1, b'x']);
    let flags = if complete { 0x5 } else { 0x1 };
    let mut frame = vec![
        0,
        0,
        u8::try_from(block.len()).unwrap(),
        0x1,
        flags,
        0,
        0,
        0,
        1,
    ];
    frame.extend_from_slice(&block);
    frame
}

/// A PING frame (not an acknowledgement).
const H2_PING: &[u8] = &[0, 0, 8, 0x6, 0, 0, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8];

impl Shape {
    const ALL_BEFORE_A_REQUEST: [Shape; 5] = [
        Shape::Http1Silent,
        Shape::Http1SlowHead,
        Shape::Http2PrefaceOnly,
        Shape::Http2UnfinishedHeaders,
        Shape::Http2Pings,
    ];

    /// What the client sends first, and what it sends every 200 ms after that.
    fn script(self) -> (Vec<u8>, Option<&'static [u8]>) {
        let preface_then = |frame: &[u8]| [H2_PREFACE, frame].concat();
        match self {
            Shape::Http1Silent => (Vec::new(), None),
            Shape::Http1SlowHead => (b"GET /health/live HTTP/1.1\r\nX-a: ".to_vec(), Some(b"a")),
            Shape::Http2PrefaceOnly => (H2_PREFACE.to_vec(), None),
            Shape::Http2UnfinishedHeaders => (preface_then(&h2_get("/health/live", false)), None),
            Shape::Http2Pings => (H2_PREFACE.to_vec(), Some(H2_PING)),
            Shape::Http2IdleAfterAnswer => (preface_then(&h2_get("/health/live", true)), None),
        }
    }
}

/// Connects to `addr`, plays `shape`, and returns how long after the connect the server closed
/// the connection (end of stream or reset, on read or write), or `None` if it was still open
/// after `give_up`. What the server sends meanwhile (SETTINGS, PING acks, an answer, a GOAWAY)
/// is read and ignored.
async fn held_for(addr: SocketAddr, shape: Shape, give_up: Duration) -> Option<Duration> {
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    let opened = Instant::now();
    let (first, every) = shape.script();
    if !first.is_empty() && stream.write_all(&first).await.is_err() {
        return Some(opened.elapsed());
    }
    let mut tick = tokio::time::interval_at(
        tokio::time::Instant::now() + Duration::from_millis(200),
        Duration::from_millis(200),
    );
    let mut buf = [0u8; 4096];
    let outcome = tokio::time::timeout(give_up, async {
        loop {
            tokio::select! {
                read = stream.read(&mut buf) => match read {
                    Ok(0) | Err(_) => return opened.elapsed(),
                    Ok(_) => {}
                },
                _ = tick.tick(), if every.is_some() => {
                    if stream.write_all(every.unwrap_or_default()).await.is_err() {
                        return opened.elapsed();
                    }
                }
            }
        }
    })
    .await;
    outcome.ok()
}

/// Plays every shape at once against `addr` and checks that each was closed within
/// `[bound - EARLY, bound + CLOSE_GRACE + SLACK]`.
async fn every_shape_is_closed_at(addr: SocketAddr, port: &str, shapes: &[Shape], bound: Duration) {
    let give_up = bound + CLOSE_GRACE + SLACK + Duration::from_secs(3);
    // All at once (collected, so that every task is spawned before the first is awaited).
    let runs: Vec<_> = shapes
        .iter()
        .map(|&shape| tokio::spawn(async move { (shape, held_for(addr, shape, give_up).await) }))
        .collect();
    let mut seen = Vec::new();
    for run in runs {
        seen.push(run.await.unwrap());
    }
    eprintln!("{port} port, bound {bound:?}: {seen:?}");
    for (shape, held) in seen {
        let held = held.unwrap_or_else(|| {
            panic!("{port} port: {shape:?} was still open after {give_up:?} (bound {bound:?})")
        });
        assert!(
            held >= bound.saturating_sub(EARLY),
            "{port} port: {shape:?} closed after {held:?}, before the {bound:?} bound"
        );
        assert!(
            held <= bound + CLOSE_GRACE + SLACK,
            "{port} port: {shape:?} held {held:?}, past the {bound:?} bound + {CLOSE_GRACE:?} grace + {SLACK:?}"
        );
    }
}

/// The probe port: 5 s from the accept, on HTTP/1 and HTTP/2; closed by the idle bound, not by
/// the 10 s lifetime.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn probe_port_connections_without_a_request_close_at_5_s_from_the_accept() {
    assert_eq!(health_axum::PROBE_IDLE_TIMEOUT, PROBE_BOUND);
    assert!(PROBE_BOUND + CLOSE_GRACE + SLACK < PROBE_LIFETIME);
    let ports = start(None).await;
    every_shape_is_closed_at(
        ports.probes,
        "probe",
        &Shape::ALL_BEFORE_A_REQUEST,
        PROBE_BOUND,
    )
    .await;
}

/// The application port with `.idle_timeout(3 s)`: the same, plus an HTTP/2 connection left
/// idle after its answer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn app_port_connections_without_a_request_close_at_the_configured_bound() {
    let bound = Duration::from_secs(3);
    let ports = start(Some(bound)).await;
    let mut shapes = Shape::ALL_BEFORE_A_REQUEST.to_vec();
    shapes.push(Shape::Http2IdleAfterAnswer);
    every_shape_is_closed_at(ports.app, "application", &shapes, bound).await;
}

/// The application port's default bound is the README's 30 s: a slow HTTP/1 head and a silent
/// HTTP/2 preface are closed then, not before (this test takes about half a minute).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn app_port_default_bound_is_30_s() {
    assert_eq!(health_axum::DEFAULT_IDLE_TIMEOUT, Duration::from_secs(30));
    let ports = start(None).await;
    every_shape_is_closed_at(
        ports.app,
        "application (default)",
        &[Shape::Http1SlowHead, Shape::Http2PrefaceOnly],
        Duration::from_secs(30),
    )
    .await;
}
