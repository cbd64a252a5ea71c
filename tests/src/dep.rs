//! A dependency on a real TCP socket that the test controls and that counts every call it
//! receives: a line protocol (`PING` answered by `PONG`) whose server can answer, refuse
//! (close at once), hang (accept, read, never reply) or follow a script of up and down, like a
//! database that is up, down, frozen or flapping.
//!
//! Besides counting, it keeps a log of every connection on the test's clock: when it was
//! accepted and when it ended ([`Dependency::call_log`]), so that a test can assert on what the
//! dependency saw, not on what the framework reports about itself.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicU8, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;

use health_axum::{CheckOutcome, HealthCheck};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// How the dependency treats the next connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Mode {
    /// Answers `PONG`.
    Up = 0,
    /// Accepts and closes at once (the check sees an error).
    Down = 1,
    /// Accepts, reads, and never answers (the check hangs until its timeout).
    Hang = 2,
    /// Call `n` is answered when `FLAP_SCRIPT[n % len]` is `U` and refused when it is `D`:
    /// short runs of each, like a dependency that flaps faster than a damping threshold of 3.
    Flap = 3,
}

/// The up/down script of [`Mode::Flap`]: runs of one or two, and one run of three of each.
pub const FLAP_SCRIPT: &[u8] = b"UDUDDUDUUDUDDDUDUUUD";

struct Shared {
    mode: AtomicU8,
    calls: AtomicUsize,
    delay_ms: AtomicU64,
    log: Mutex<Vec<Call>>,
    /// Every accept that failed, as text.
    accept_errors: Mutex<Vec<String>>,
}

impl Shared {
    fn log(&self) -> std::sync::MutexGuard<'_, Vec<Call>> {
        self.log.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn accept_errors(&self) -> std::sync::MutexGuard<'_, Vec<String>> {
        self.accept_errors.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// One connection as the dependency saw it, on the test's clock (tokio's, so a paused clock
/// works too).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Call {
    /// When the dependency accepted it.
    pub accepted: Instant,
    /// When it ended: the client closed it, or (`Up`, `Down`) the dependency answered and
    /// closed it. `None` while it is open.
    pub ended: Option<Instant>,
}

impl Call {
    /// How long it was open, if it has ended.
    pub fn held(&self) -> Option<Duration> {
        self.ended
            .map(|ended| ended.saturating_duration_since(self.accepted))
    }
}

/// A controllable, counting TCP dependency on 127.0.0.1; it stops with the test's runtime.
#[derive(Clone)]
pub struct Dependency {
    shared: Arc<Shared>,
    /// Its address.
    pub addr: SocketAddr,
}

impl Dependency {
    /// Starts listening in `mode`.
    pub async fn start(mode: Mode) -> Dependency {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().unwrap();
        let shared = Arc::new(Shared {
            mode: AtomicU8::new(mode as u8),
            calls: AtomicUsize::new(0),
            delay_ms: AtomicU64::new(0),
            log: Mutex::new(Vec::new()),
            accept_errors: Mutex::new(Vec::new()),
        });
        let serving = Arc::clone(&shared);
        tokio::spawn(async move {
            loop {
                // A failed accept (out of descriptors, say) is recorded and the loop goes on: a
                // count read afterwards fails the test with it (see `calls`), so an upper bound
                // on calls cannot pass because connections were left unaccepted.
                let stream = match listener.accept().await {
                    Ok((stream, _)) => stream,
                    Err(error) => {
                        serving.accept_errors().push(error.to_string());
                        tokio::time::sleep(Duration::from_millis(5)).await;
                        continue;
                    }
                };
                let accepted = Instant::now();
                let entry = {
                    let mut log = serving.log();
                    log.push(Call {
                        accepted,
                        ended: None,
                    });
                    log.len() - 1
                };
                let call = serving.calls.fetch_add(1, Ordering::SeqCst);
                let mut mode = serving.mode.load(Ordering::SeqCst);
                if mode == Mode::Flap as u8 {
                    mode = match FLAP_SCRIPT[call % FLAP_SCRIPT.len()] {
                        b'U' => Mode::Up as u8,
                        _ => Mode::Down as u8,
                    };
                }
                let delay = Duration::from_millis(serving.delay_ms.load(Ordering::SeqCst));
                let ending = Arc::clone(&serving);
                tokio::spawn(async move {
                    serve(stream, mode, delay).await;
                    ending.log()[entry].ended = Some(Instant::now());
                });
            }
        });
        Dependency { shared, addr }
    }

    /// Changes how new connections are treated.
    pub fn set(&self, mode: Mode) {
        self.shared.mode.store(mode as u8, Ordering::SeqCst);
    }

    /// Makes every `PONG` wait `delay` first (a slow but healthy dependency).
    pub fn set_delay(&self, delay: Duration) {
        let ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX);
        self.shared.delay_ms.store(ms, Ordering::SeqCst);
    }

    /// Connections accepted so far: each run of a check against it is one. Fails the test if
    /// an accept has failed (a connection it did not count).
    pub fn calls(&self) -> usize {
        self.assert_every_connection_accepted();
        self.shared.calls.load(Ordering::SeqCst)
    }

    /// Every connection accepted so far, in the order accepted. Fails the test if an accept has
    /// failed.
    pub fn call_log(&self) -> Vec<Call> {
        self.assert_every_connection_accepted();
        self.shared.log().clone()
    }

    /// The accepts that failed so far.
    pub fn accept_errors(&self) -> Vec<String> {
        self.shared.accept_errors().clone()
    }

    fn assert_every_connection_accepted(&self) {
        let errors = self.accept_errors();
        assert!(
            errors.is_empty(),
            "the dependency failed to accept {} connection(s), so its counts are short: {errors:?}",
            errors.len()
        );
    }
}

/// A check as a value: one [`ping`] per run, with no timeout of its own.
impl HealthCheck for Dependency {
    async fn check(&self) -> CheckOutcome {
        match ping(self.addr).await {
            Ok(()) => CheckOutcome::healthy(),
            Err(error) => CheckOutcome::unhealthy(error),
        }
    }
}

async fn serve(mut stream: TcpStream, mode: u8, delay: Duration) {
    let mut line = [0u8; 5];
    match mode {
        0 => {
            if stream.read_exact(&mut line).await.is_ok() && &line == b"PING\n" {
                if !delay.is_zero() {
                    tokio::time::sleep(delay).await;
                }
                let _ = stream.write_all(b"PONG\n").await;
            }
        }
        1 => drop(stream),
        _ => {
            // Hold the connection open, answering nothing, until the client gives up.
            let mut sink = [0u8; 64];
            while let Ok(n) = stream.read(&mut sink).await {
                if n == 0 {
                    break;
                }
            }
        }
    }
}

/// One call to a [`Dependency`]: connect, send `PING`, expect `PONG`. No timeout of its own
/// (as in the tutorials): the framework's timeout must bound it.
pub async fn ping(addr: SocketAddr) -> Result<(), String> {
    let mut stream = TcpStream::connect(addr)
        .await
        .map_err(|e| format!("connect: {e}"))?;
    stream
        .write_all(b"PING\n")
        .await
        .map_err(|e| format!("write: {e}"))?;
    let mut line = [0u8; 5];
    stream
        .read_exact(&mut line)
        .await
        .map_err(|e| format!("no answer: {e}"))?;
    if &line == b"PONG\n" {
        Ok(())
    } else {
        Err(format!("unexpected answer {line:?}"))
    }
}

/// Polls `condition` every 5 ms until it holds, failing the test after `within`.
pub async fn eventually(within: Duration, what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + within;
    while !condition() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "{what}: not within {within:?}"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}
