//! What a client sees while a server shuts down: requests that may find the listener gone, and
//! a timeline of answers, one new connection after another, until one gets no answer. Every
//! time is on the test's clock, taken where the client sends and receives.

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::Instant;

use crate::Response;

/// `GET path` on a new connection with kubelet-like headers, as [`crate::get`], but an error
/// instead of a panic when the server does not answer: the connection is refused, reset, or
/// closed before a complete head. Fails the test after 10 s with neither.
pub async fn try_get(addr: SocketAddr, path: &str) -> io::Result<Response> {
    let exchange = async {
        let mut stream = TcpStream::connect(addr).await?;
        let head = format!(
            "GET {path} HTTP/1.1\r\nHost: {addr}\r\nUser-Agent: kube-probe/1.31\r\nAccept: */*\r\nConnection: close\r\n\r\n"
        );
        stream.write_all(head.as_bytes()).await?;
        let mut raw = Vec::new();
        stream.read_to_end(&mut raw).await?;
        if !raw.windows(4).any(|w| w == b"\r\n\r\n") {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!("closed after {} bytes, without an answer", raw.len()),
            ));
        }
        Ok(crate::parse(&raw, false))
    };
    tokio::time::timeout(Duration::from_secs(10), exchange)
        .await
        .unwrap_or_else(|_| panic!("GET {path}: neither an answer nor an error within 10 s"))
}

/// One request of a [`until_unanswered`] timeline.
#[derive(Debug)]
pub struct Attempt {
    /// The path requested.
    pub path: &'static str,
    /// When the client began (before connecting).
    pub sent: Instant,
    /// When the answer, or the error, came.
    pub done: Instant,
    /// The answer, or why there was none.
    pub answer: Result<Response, String>,
}

impl Attempt {
    /// The status of the answer, if there was one.
    pub fn status(&self) -> Option<u16> {
        self.answer.as_ref().ok().map(|r| r.status)
    }
}

/// Sends `GET` to each of `paths` in turn, each on a new connection, starting one every `every`
/// (or as soon as the previous one ended, if it took longer), until one gets no answer (the
/// listener refused or dropped the connection); returns every attempt, that last one included.
/// Fails the test if every attempt is answered for `within`.
pub async fn until_unanswered(
    addr: SocketAddr,
    paths: &[&'static str],
    every: Duration,
    within: Duration,
) -> Vec<Attempt> {
    let begun = Instant::now();
    let mut attempts = Vec::new();
    for &path in paths.iter().cycle() {
        let sent = Instant::now();
        let answer = try_get(addr, path).await.map_err(|e| e.to_string());
        let done = Instant::now();
        let answered = answer.is_ok();
        attempts.push(Attempt {
            path,
            sent,
            done,
            answer,
        });
        if !answered {
            break;
        }
        assert!(
            begun.elapsed() < within,
            "every request was answered for {within:?}:\n{}",
            describe(&attempts, begun)
        );
        tokio::time::sleep_until(sent + every).await;
    }
    attempts
}

/// The timeline in a few lines, times from `origin`, path by path: runs of the same answer are
/// folded into one line (`/health/ready  +12..+480 ms  200 ×20`).
pub fn describe(attempts: &[Attempt], origin: Instant) -> String {
    let ms = |t: Instant| t.saturating_duration_since(origin).as_millis();
    let mut paths: Vec<&str> = Vec::new();
    for attempt in attempts {
        if !paths.contains(&attempt.path) {
            paths.push(attempt.path);
        }
    }
    let mut lines = Vec::new();
    for path in paths {
        let mut runs: Vec<(u128, u128, String, usize)> = Vec::new();
        for attempt in attempts.iter().filter(|a| a.path == path) {
            let outcome = match &attempt.answer {
                Ok(response) => response.status.to_string(),
                Err(error) => format!("no answer ({error})"),
            };
            let at = ms(attempt.sent);
            match runs.last_mut() {
                Some((_, last, seen, n)) if *seen == outcome => {
                    *last = at;
                    *n += 1;
                }
                _ => runs.push((at, at, outcome, 1)),
            }
        }
        for (first, last, outcome, n) in runs {
            lines.push(format!("  {path}  +{first}..+{last} ms  {outcome} ×{n}"));
        }
    }
    lines.join("\n")
}

/// What [`assert_drained`] measured, from the signal.
#[derive(Debug, Clone, Copy)]
pub struct Drain {
    /// When readiness first answered 503.
    pub turned: Duration,
    /// Requests answered from then on.
    pub served: usize,
    /// When the first unanswered request began...
    pub refused_from: Duration,
    /// ...and when it ended: the listener stopped in between.
    pub refused_by: Duration,
}

/// Asserts what a [`until_unanswered`] timeline begun at `signalled` (just before a shutdown
/// signal was sent) shows of the drain, and returns the times:
///
/// - every request until the last was answered, each path but `ready_path` with 200;
/// - `ready_path` answered 200, then 503 with phase `draining` to the end, the first 503 within
///   half of `drain_delay`, and at least ten requests were answered from then on;
/// - the last, unanswered request ended no earlier than `drain_delay` after the signal (the
///   listener accepted through all of the delay: it cannot start before the signal) and began
///   less than `slack` past it (the listener stops when the delay ends).
pub fn assert_drained(
    attempts: &[Attempt],
    signalled: Instant,
    ready_path: &str,
    drain_delay: Duration,
    slack: Duration,
) -> Drain {
    let timeline = describe(attempts, signalled);
    let (unanswered, answered) = attempts.split_last().expect("at least one request");
    for attempt in answered.iter().filter(|a| a.path != ready_path) {
        assert_eq!(
            attempt.status(),
            Some(200),
            "{} while draining:\n{timeline}",
            attempt.path
        );
    }
    let ready: Vec<&Attempt> = answered.iter().filter(|a| a.path == ready_path).collect();
    let turn = ready
        .iter()
        .position(|a| a.status() == Some(503))
        .unwrap_or_else(|| panic!("readiness never 503 while serving:\n{timeline}"));
    assert!(
        ready[..turn].iter().all(|a| a.status() == Some(200))
            && ready[turn..].iter().all(|a| a.status() == Some(503)),
        "readiness 200, then 503 to the end:\n{timeline}"
    );
    for attempt in &ready[turn..] {
        let body = attempt.answer.as_ref().expect("answered").json();
        assert_eq!(body["phase"], "draining", "{body}");
    }
    let turned = ready[turn].done - signalled;
    assert!(
        turned < drain_delay / 2,
        "readiness answered 503 only {turned:?} after the signal, with a drain delay of \
         {drain_delay:?}:\n{timeline}"
    );
    let served = answered
        .iter()
        .filter(|a| a.sent >= ready[turn].done)
        .count();
    assert!(
        served >= 10,
        "only {served} requests answered while draining:\n{timeline}"
    );
    let refused_by = unanswered.done - signalled;
    assert!(
        refused_by >= drain_delay,
        "a new connection got no answer {refused_by:?} after the signal, within the drain \
         delay of {drain_delay:?}:\n{timeline}"
    );
    let refused_from = unanswered.sent - signalled;
    assert!(
        refused_from < drain_delay + slack,
        "still accepting {refused_from:?} after the signal, with a drain delay of \
         {drain_delay:?}:\n{timeline}"
    );
    println!(
        "after the signal:\n{timeline}\nreadiness 503 {turned:?} after it; {served} requests \
         answered while draining; the listener stopped between {refused_from:?} and \
         {refused_by:?}"
    );
    Drain {
        turned,
        served,
        refused_from,
        refused_by,
    }
}
