//! The example's gRPC health service (`grpc.health.v1`) against the protocol's reference client:
//! Python's `grpcio` with `grpcio-health-checking` (`tests/grpc_python/health_client.py`, in a
//! virtual environment the first run creates; see `health_tests::grpc_python`), run against the
//! built example binary on a PostgreSQL server the test starts, stops and restarts.
//!
//! What the client observes is asserted message by message: `Check` for every name, `List`,
//! `Watch` through an outage and a recovery (each change once, in order, nothing else), an
//! unknown name's `Watch` kept open, `""` serving while the database is down, and after SIGTERM
//! a last `NOT_SERVING` on every open `Watch` before the process exits 0.

use std::collections::BTreeMap;
use std::io::BufRead;
use std::net::SocketAddr;
use std::process::{Child, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use health_tests::grpc_python;
use health_tests::{free_port, wait_for_status};
use serde_json::Value;

/// Every service name the example knows: `""`, the probes, then its checks.
const NAMES: [&str; 7] = [
    "",
    "startup",
    "liveness",
    "readiness",
    "migrations",
    "database",
    "cache",
];
/// The drain delay the example runs with: readiness fails at SIGTERM, the rest at its end.
const DRAIN_DELAY: Duration = Duration::from_millis(2000);
const SHUTDOWN_TIMEOUT_MS: u64 = 3000;

mod support;

/// The example binary, with this test's drain delay and shutdown timeout.
struct Service;

impl Service {
    /// Starts it on `database_url` (a new SQLite file when `None`) with `env` added.
    fn start(database_url: Option<String>, env: &[(&str, String)]) -> support::Service {
        let mut env = env.to_vec();
        env.push(("DRAIN_DELAY_MS", DRAIN_DELAY.as_millis().to_string()));
        env.push(("SHUTDOWN_TIMEOUT_MS", SHUTDOWN_TIMEOUT_MS.to_string()));
        support::Service::start("quickstart-grpc", database_url, &env)
    }
}

/// Runs `work` on a blocking thread; its panic (the client's own message) is this test's.
async fn blocking<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> T {
    tokio::task::spawn_blocking(work)
        .await
        .unwrap_or_else(|error| std::panic::resume_unwind(error.into_panic()))
}

/// Runs the Python client to completion (on a blocking thread) and returns its lines.
async fn python(args: Vec<String>) -> Vec<Value> {
    let lines = blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        grpc_python::run(&args)
    })
    .await;
    for line in &lines {
        println!("client: {line}");
    }
    lines
}

/// `Check` on each of `names` (each on a connection of its own): name → status or error code.
async fn check(addr: SocketAddr, names: &[&str]) -> BTreeMap<String, String> {
    let mut args = vec!["check".to_string(), addr.to_string()];
    args.extend(names.iter().map(|name| name.to_string()));
    let lines = python(args).await;
    assert_eq!(lines.len(), names.len(), "one answer per name: {lines:?}");
    lines
        .iter()
        .map(|line| {
            let answer = line["status"].as_str().or(line["code"].as_str());
            (
                line["service"].as_str().unwrap().to_string(),
                answer.unwrap().to_string(),
            )
        })
        .collect()
}

/// `List`: name → status.
async fn list(addr: SocketAddr) -> BTreeMap<String, String> {
    let lines = python(vec!["list".into(), addr.to_string()]).await;
    assert_eq!(lines.len(), 1, "{lines:?}");
    serde_json::from_value(lines[0]["statuses"].clone())
        .unwrap_or_else(|e| panic!("List answered {} ({e})", lines[0]))
}

/// What every name answers: `SERVING` unless listed in `not_serving`.
fn expected(not_serving: &[&str]) -> BTreeMap<String, String> {
    NAMES
        .iter()
        .map(|name| {
            let status = match not_serving.contains(name) {
                true => "NOT_SERVING",
                false => "SERVING",
            };
            (name.to_string(), status.to_string())
        })
        .collect()
}

/// A running `health_client.py watch`: its lines, each with the moment this test read it.
struct Watcher {
    child: Child,
    lines: Arc<Mutex<Vec<(Instant, Value)>>>,
    reader: Option<std::thread::JoinHandle<()>>,
}

impl Watcher {
    fn start(addr: SocketAddr, names: &[&str]) -> Watcher {
        let mut args = vec!["watch".to_string(), addr.to_string()];
        args.extend(names.iter().map(|name| name.to_string()));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let mut child = grpc_python::client(&args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start the Python client's watch");
        let stdout = child.stdout.take().unwrap();
        let lines = Arc::new(Mutex::new(Vec::new()));
        let read = Arc::clone(&lines);
        let reader = std::thread::spawn(move || {
            for line in std::io::BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                println!("client: {line}");
                let value = grpc_python::parse_line(&line);
                read.lock().unwrap().push((Instant::now(), value));
            }
        });
        Watcher {
            child,
            lines,
            reader: Some(reader),
        }
    }

    /// The messages of `name`'s stream so far, in order: each status, and `end OK` (or
    /// `end <code>`) when the stream ended.
    fn sequence(&self, name: &str) -> Vec<String> {
        self.events(name)
            .into_iter()
            .map(|(_, what)| what)
            .collect()
    }

    /// [`Watcher::sequence`], with the moment each was read.
    fn events(&self, name: &str) -> Vec<(Instant, String)> {
        self.lines
            .lock()
            .unwrap()
            .iter()
            .filter(|(_, line)| line["rpc"] == "watch" && line["service"] == name)
            .map(|(at, line)| {
                let what = match line["end"].as_str() {
                    Some(code) => format!("end {code}"),
                    None => line["status"].as_str().unwrap_or("?").to_string(),
                };
                (*at, what)
            })
            .collect()
    }

    /// When `name`'s stream said `what`, its `nth` time (0: the first).
    fn when(&self, name: &str, what: &str, nth: usize) -> Option<Instant> {
        self.events(name)
            .into_iter()
            .filter(|(_, said)| said == what)
            .nth(nth)
            .map(|(at, _)| at)
    }

    /// Waits until `name`'s stream has said `what` `nth + 1` times; fails the test after
    /// `within`, with every stream's messages so far.
    async fn wait_for(&self, name: &str, what: &str, nth: usize, within: Duration) -> Instant {
        let deadline = Instant::now() + within;
        loop {
            if let Some(at) = self.when(name, what, nth) {
                return at;
            }
            assert!(
                Instant::now() < deadline,
                "the watch on {name:?} did not say {what} (time {}) within {within:?}: {}",
                nth + 1,
                self.summary()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    fn summary(&self) -> String {
        let names: Vec<String> = {
            let lines = self.lines.lock().unwrap();
            let mut names: Vec<String> = Vec::new();
            for (_, line) in lines.iter() {
                let name = line["service"].as_str().unwrap_or("?").to_string();
                if !names.contains(&name) {
                    names.push(name);
                }
            }
            names
        };
        names
            .iter()
            .map(|name| format!("{name:?}: {:?}", self.sequence(name)))
            .collect::<Vec<_>>()
            .join("; ")
    }

    /// Waits for the client to exit (every stream ended); its exit status.
    async fn exit_within(&mut self, within: Duration) -> std::process::ExitStatus {
        let deadline = Instant::now() + within;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                if let Some(reader) = self.reader.take() {
                    reader.join().expect("the watch's reader");
                }
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "the watching client did not exit within {within:?}: {}",
                self.summary()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for Watcher {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_reference_python_client_sees_an_outage_a_recovery_and_the_drain() {
    let pg = Arc::new(health_tests::pg::PgServer::start());
    let mut service = Service::start(Some(pg.url()), &[]);
    let addr = service.addr;
    // Before anything else: the client's environment (built on the first run, from PyPI).
    blocking(grpc_python::python).await;
    wait_for_status(addr, "/health/ready", 200, Duration::from_secs(30)).await;

    // Check: every name the example knows, and a name it does not.
    let mut names = NAMES.to_vec();
    names.push("nope");
    let mut want = expected(&[]);
    want.insert("nope".into(), "NOT_FOUND".into());
    assert_eq!(check(addr, &names).await, want);
    // List: every name, with its status.
    assert_eq!(list(addr).await, expected(&[]));

    // Watch every name, and one the example does not know, on one connection.
    let mut watcher = Watcher::start(addr, &names);
    let opened = Instant::now();
    for name in NAMES {
        watcher
            .wait_for(name, "SERVING", 0, Duration::from_secs(10))
            .await;
    }
    watcher
        .wait_for("nope", "SERVICE_UNKNOWN", 0, Duration::from_secs(10))
        .await;

    // PostgreSQL stops. The example keeps its defaults (a run every 5 s, two failures in a
    // row), so readiness and the database check turn NOT_SERVING within 15 s.
    let stopping = Arc::clone(&pg);
    tokio::task::spawn_blocking(move || stopping.stop())
        .await
        .unwrap();
    let down = Instant::now();
    let not_serving = watcher
        .wait_for("readiness", "NOT_SERVING", 0, Duration::from_secs(15))
        .await;
    watcher
        .wait_for("database", "NOT_SERVING", 0, Duration::from_secs(15))
        .await;
    println!(
        "readiness NOT_SERVING {:?} after PostgreSQL stopped",
        not_serving - down
    );
    // While the database is down: `""` is the liveness verdict, so a `grpc:` probe that names
    // no service never restarts the pod for it; `migrations` is retired (startup only, the
    // application has been ready), so its last result stands.
    let outage = expected(&["readiness", "database"]);
    assert_eq!(check(addr, &NAMES).await, outage);
    assert_eq!(list(addr).await, outage);
    // The unknown name's watch is still open, seconds after it was answered, with nothing
    // more said; no stream has ended.
    assert!(
        opened.elapsed() >= Duration::from_secs(3),
        "{:?}",
        opened.elapsed()
    );
    assert_eq!(watcher.sequence("nope"), ["SERVICE_UNKNOWN"]);
    for name in NAMES {
        assert!(
            !watcher
                .sequence(name)
                .iter()
                .any(|said| said.starts_with("end")),
            "{name:?} ended: {}",
            watcher.summary()
        );
    }

    // PostgreSQL is back: SERVING again, within one back-off and one interval.
    let starting = Arc::clone(&pg);
    tokio::task::spawn_blocking(move || starting.start_again())
        .await
        .unwrap();
    let up = Instant::now();
    let serving = watcher
        .wait_for("readiness", "SERVING", 1, Duration::from_secs(25))
        .await;
    watcher
        .wait_for("database", "SERVING", 1, Duration::from_secs(25))
        .await;
    println!(
        "readiness SERVING {:?} after PostgreSQL restarted",
        serving - up
    );
    assert_eq!(check(addr, &NAMES).await, expected(&[]));

    // SIGTERM: readiness (and each check, judged with the full report) NOT_SERVING at once,
    // the rest at the end of the drain delay; every stream ends normally after that last word,
    // and the example exits 0.
    let signalled = Instant::now();
    health_tests::send_sigterm(service.child.id());
    let client = watcher
        .exit_within(DRAIN_DELAY + Duration::from_secs(8))
        .await;
    assert!(client.success(), "the watching client: {client:?}");
    let bound = DRAIN_DELAY + Duration::from_millis(SHUTDOWN_TIMEOUT_MS + 2000);
    let exited = loop {
        if let Some(status) = service.child.try_wait().unwrap() {
            break status;
        }
        assert!(
            signalled.elapsed() < bound,
            "the example did not exit within {bound:?} of SIGTERM:\n{}",
            service.output()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert!(
        exited.success(),
        "exit status {exited:?}:\n{}",
        service.output()
    );

    // The exact sequences: every change once, in order, nothing repeated, each stream ended by
    // the server (`end OK`, not a cut connection).
    let outage_and_back = ["SERVING", "NOT_SERVING", "SERVING", "NOT_SERVING", "end OK"];
    let steady = ["SERVING", "NOT_SERVING", "end OK"];
    for name in NAMES {
        let want: &[&str] = match name {
            "readiness" | "database" => &outage_and_back,
            _ => &steady,
        };
        assert_eq!(
            watcher.sequence(name),
            want,
            "{name:?}: {}",
            watcher.summary()
        );
    }
    assert_eq!(watcher.sequence("nope"), ["SERVICE_UNKNOWN", "end OK"]);

    // Readiness failed during the drain delay; liveness and `""` stayed SERVING through it
    // (their last word came when the server stopped, no earlier than the delay's end), so a
    // liveness probe never restarts a pod that is shutting down cleanly.
    let ready_failed = watcher.when("readiness", "NOT_SERVING", 1).unwrap() - signalled;
    assert!(ready_failed < DRAIN_DELAY, "readiness: {ready_failed:?}");
    for name in ["", "liveness", "startup"] {
        let last = watcher.when(name, "NOT_SERVING", 0).unwrap() - signalled;
        assert!(
            last >= DRAIN_DELAY,
            "{name:?}: NOT_SERVING {last:?} after SIGTERM"
        );
    }
    println!(
        "after SIGTERM: readiness NOT_SERVING at {ready_failed:?}, liveness at {:?}",
        watcher.when("liveness", "NOT_SERVING", 0).unwrap() - signalled
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_reference_python_client_on_the_probe_port_and_the_application_port() {
    let probe_port = free_port();
    let service = Service::start(None, &[("PROBE_PORT", probe_port.to_string())]);
    let probes = SocketAddr::from(([127, 0, 0, 1], probe_port));
    blocking(grpc_python::python).await;
    wait_for_status(probes, "/readyz", 200, Duration::from_secs(30)).await;
    let mut names = NAMES.to_vec();
    names.push("nope");
    let mut want = expected(&[]);
    want.insert("nope".into(), "NOT_FOUND".into());
    // The probe port answers one call per connection, as a Kubernetes `grpc:` probe makes
    // them; the application port answers gRPC health too (meshes and load balancers ask it).
    for addr in [probes, service.addr] {
        assert_eq!(check(addr, &names).await, want, "on {addr}");
        assert_eq!(list(addr).await, expected(&[]), "on {addr}");
    }
}
