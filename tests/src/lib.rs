//! Helpers shared by the integration tests: a minimal HTTP/1.1 client over a real TCP socket
//! (one connection per request, `Connection: close`, as the kubelet probes), a server
//! spawned on a free loopback port, a PostgreSQL server of the test's own (`pg`), and the
//! reference gRPC health client in Python (`grpc_python`).

pub mod dep;
pub mod grpc_python;
pub mod h2;
pub mod log;
pub mod pg;
pub mod timeline;

use health_axum::prelude::*;

/// A state with one critical check, `dependency`, that always passes: for the tests of
/// connections and serving, where the checks are not the subject.
#[derive(Clone, HealthState)]
#[health(checks(dependency))]
pub struct OneCheck {
    /// The state's lifecycle.
    #[health(lifecycle)]
    pub lifecycle: Lifecycle,
}

#[health_check(critical)]
async fn dependency() -> Result<(), String> {
    Ok(())
}

/// The HTTP/2 connection preface and an empty SETTINGS frame: a client that starts HTTP/2 and
/// then says nothing more.
pub const H2_PREFACE: &[u8] =
    b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x00\x04\x00\x00\x00\x00\x00";

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// The test process holds thousands of sockets: make sure its soft limit allows them.
pub fn raise_fd_limit() {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: plain system calls on a valid, owned struct.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) == 0 && limit.rlim_cur < limit.rlim_max
        {
            limit.rlim_cur = limit.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &limit);
        }
    }
}

/// One kubelet-style probe on a new connection: the status (`None`: no HTTP answer within
/// 5 s) and how long it took.
pub async fn kubelet_probe(addr: SocketAddr, path: &str) -> (Option<u16>, Duration) {
    let begun = std::time::Instant::now();
    let status = tokio::time::timeout(Duration::from_secs(5), async {
        let mut stream = TcpStream::connect(addr).await.ok()?;
        let head = format!(
            "GET {path} HTTP/1.1\r\nHost: {addr}\r\nUser-Agent: kube-probe/1.31\r\nAccept: */*\r\nConnection: close\r\n\r\n"
        );
        stream.write_all(head.as_bytes()).await.ok()?;
        let mut raw = Vec::new();
        stream.read_to_end(&mut raw).await.ok()?;
        let line = std::str::from_utf8(raw.split(|&b| b == b'\r').next()?).ok()?;
        line.split(' ').nth(1)?.parse().ok()
    })
    .await
    .ok()
    .flatten();
    (status, begun.elapsed())
}

/// A parsed HTTP response.
#[derive(Debug)]
pub struct Response {
    /// The status code.
    pub status: u16,
    /// Header names (lowercased) and values, in order.
    pub headers: Vec<(String, String)>,
    /// The body bytes.
    pub body: Vec<u8>,
}

impl Response {
    /// The body as text (lossy).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The first value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The body parsed as JSON; panics with the body text if it is not JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "body is not JSON ({e}): {}",
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    /// The status of the check named `name` in a JSON report.
    pub fn check_status(&self, name: &str) -> Option<String> {
        self.json()["checks"]
            .as_array()?
            .iter()
            .find(|c| c["name"] == name)
            .map(|c| c["status"].as_str().unwrap_or_default().to_string())
    }
}

/// Sends `method path` on a new connection with kubelet-like headers and reads the whole
/// response (the server closes the connection). Fails the test after 10 s.
pub async fn request(addr: SocketAddr, method: &str, path: &str) -> Response {
    tokio::time::timeout(Duration::from_secs(10), request_inner(addr, method, path))
        .await
        .unwrap_or_else(|_| panic!("{method} {path} got no answer within 10 s"))
}

async fn request_inner(addr: SocketAddr, method: &str, path: &str) -> Response {
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nUser-Agent: kube-probe/1.31\r\nAccept: */*\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await.expect("write");
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await.expect("read");
    parse(&raw, method == "HEAD")
}

/// Sends `method path` with a body of type `content_type` on a new connection.
pub async fn request_with_body(
    addr: SocketAddr,
    method: &str,
    path: &str,
    content_type: &str,
    body: &[u8],
) -> Response {
    let exchange = async {
        let mut stream = TcpStream::connect(addr).await.expect("connect");
        let head = format!(
            "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        );
        stream.write_all(head.as_bytes()).await.expect("write");
        stream.write_all(body).await.expect("write body");
        let mut raw = Vec::new();
        stream.read_to_end(&mut raw).await.expect("read");
        parse(&raw, false)
    };
    tokio::time::timeout(Duration::from_secs(10), exchange)
        .await
        .unwrap_or_else(|_| panic!("{method} {path} got no answer within 10 s"))
}

/// `method path` on a new connection with kubelet-like headers plus `headers` (which may
/// replace `Accept`), reading the whole response. Fails the test after 10 s.
pub async fn request_with_headers(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
) -> Response {
    let exchange = async {
        let mut stream = TcpStream::connect(addr).await.expect("connect");
        let mut head = format!(
            "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nUser-Agent: kube-probe/1.31\r\nConnection: close\r\n"
        );
        if !headers
            .iter()
            .any(|(name, _)| name.eq_ignore_ascii_case("accept"))
        {
            head.push_str("Accept: */*\r\n");
        }
        for (name, value) in headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        head.push_str("\r\n");
        stream.write_all(head.as_bytes()).await.expect("write");
        let mut raw = Vec::new();
        stream.read_to_end(&mut raw).await.expect("read");
        parse(&raw, method == "HEAD")
    };
    tokio::time::timeout(Duration::from_secs(10), exchange)
        .await
        .unwrap_or_else(|_| panic!("{method} {path} got no answer within 10 s"))
}

/// `GET path`.
pub async fn get(addr: SocketAddr, path: &str) -> Response {
    request(addr, "GET", path).await
}

fn parse(raw: &[u8], head_only: bool) -> Response {
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no header end in {:?}", String::from_utf8_lossy(raw)));
    let head = std::str::from_utf8(&raw[..split]).expect("utf-8 head");
    let mut lines = head.split("\r\n");
    let status_line = lines.next().expect("status line");
    let status = status_line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("bad status line {status_line:?}"));
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let mut body = raw[split + 4..].to_vec();
    let chunked = headers
        .iter()
        .any(|(n, v)| n == "transfer-encoding" && v.contains("chunked"));
    if chunked && !head_only {
        body = dechunk(&body);
    }
    Response {
        status,
        headers,
        body,
    }
}

fn dechunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let Some(eol) = data.windows(2).position(|w| w == b"\r\n") else {
            return out;
        };
        let size_text = std::str::from_utf8(&data[..eol]).unwrap_or("0");
        let size = usize::from_str_radix(size_text.split(';').next().unwrap_or("0").trim(), 16)
            .unwrap_or(0);
        if size == 0 {
            return out;
        }
        let start = eol + 2;
        out.extend_from_slice(&data[start..start + size]);
        data = &data[start + size + 2..];
    }
}

/// Serves `app` on a free loopback port in a background task (plain `axum::serve`, no signal
/// handling) and returns its address.
pub async fn spawn(app: axum::Router) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        axum::serve(listener, app).await.expect("serve");
    });
    addr
}

/// Sends SIGTERM to process `pid` (this process included), as Kubernetes does to a pod's
/// containers on termination.
pub fn send_sigterm(pid: u32) {
    send_signal(pid, libc::SIGTERM);
}

/// Sends `signal` to process `pid`; fails the test if the process does not exist.
pub fn send_signal(pid: u32, signal: libc::c_int) {
    if let Err(error) = try_signal(pid, signal) {
        panic!("kill({pid}, {signal}): {error}");
    }
}

/// Sends `signal` to process `pid`.
pub fn try_signal(pid: u32, signal: libc::c_int) -> std::io::Result<()> {
    let pid = libc::pid_t::try_from(pid).map_err(std::io::Error::other)?;
    // SAFETY: kill(2) has no memory-safety preconditions; it only sends a signal.
    if unsafe { libc::kill(pid, signal) } == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// Whether this process runs as root (PostgreSQL must then run as the `postgres` user).
pub fn is_root() -> bool {
    // SAFETY: geteuid(2) has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

/// A port that was free a moment ago on 127.0.0.1, for a child process to bind.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("find a free port")
        .port()
}

/// Polls `GET path` until it answers `status`, for at most `within` overall (every connect and
/// exchange is cut at that deadline too); returns the response.
///
/// Connect errors, cut exchanges and other statuses are retried (a child process may not listen
/// yet, a draining server may close connections), but each is recorded: when the deadline passes,
/// the test fails with every distinct outcome seen, how often, and the last one.
pub async fn wait_for_status(
    addr: SocketAddr,
    path: &str,
    status: u16,
    within: Duration,
) -> Response {
    let begun = tokio::time::Instant::now();
    let deadline = begun + within;
    let mut seen = Seen::default();
    loop {
        match tokio::time::timeout_at(deadline, poll_once(addr, path)).await {
            Ok(Ok(response)) if response.status == status => return response,
            Ok(Ok(response)) => seen.note(format!("status {}", response.status)),
            Ok(Err(error)) => seen.note(error),
            Err(_) => seen.note("attempt cut at the deadline (no answer)".to_string()),
        }
        // No new attempt once the deadline has passed.
        tokio::time::sleep_until(deadline.min(tokio::time::Instant::now() + POLL_EVERY)).await;
        if tokio::time::Instant::now() >= deadline {
            panic!(
                "GET {path} on {addr} did not answer {status} within {within:?} ({} attempts in \
                 {:?}); seen: {}",
                seen.attempts,
                begun.elapsed(),
                seen.summary()
            );
        }
    }
}

/// How often [`wait_for_status`] asks again.
const POLL_EVERY: Duration = Duration::from_millis(10);

/// One `GET path` on a new connection; an error says which step failed and why.
async fn poll_once(addr: SocketAddr, path: &str) -> Result<Response, String> {
    let mut stream = TcpStream::connect(addr)
        .await
        .map_err(|e| format!("connect: {e}"))?;
    let head = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    stream
        .write_all(head.as_bytes())
        .await
        .map_err(|e| format!("write: {e}"))?;
    let mut raw = Vec::new();
    stream
        .read_to_end(&mut raw)
        .await
        .map_err(|e| format!("read: {e}"))?;
    if !raw.windows(4).any(|w| w == b"\r\n\r\n") {
        return Err(format!(
            "no complete response ({} bytes before the connection closed)",
            raw.len()
        ));
    }
    Ok(parse(&raw, false))
}

/// The distinct outcomes of [`wait_for_status`]'s attempts, with counts, in first-seen order.
#[derive(Default)]
struct Seen {
    attempts: usize,
    outcomes: Vec<(String, usize)>,
    last: String,
}

impl Seen {
    fn note(&mut self, outcome: String) {
        self.attempts += 1;
        match self.outcomes.iter_mut().find(|(o, _)| *o == outcome) {
            Some((_, n)) => *n += 1,
            None => self.outcomes.push((outcome.clone(), 1)),
        }
        self.last = outcome;
    }

    fn summary(&self) -> String {
        if self.outcomes.is_empty() {
            return "no attempt finished".to_string();
        }
        let each: Vec<String> = self
            .outcomes
            .iter()
            .map(|(o, n)| format!("{o} (x{n})"))
            .collect();
        format!("{}; last: {}", each.join(", "), self.last)
    }
}

/// What a [`storm`] saw.
#[derive(Debug, Default, Clone)]
pub struct StormStats {
    /// Requests answered.
    pub requests: usize,
    /// Answers per status code: `(code, count)`.
    pub codes: Vec<(u16, usize)>,
    /// The slowest answer.
    pub max_latency: Duration,
}

impl StormStats {
    /// How many answers had status `code`.
    pub fn count(&self, code: u16) -> usize {
        self.codes
            .iter()
            .find(|(c, _)| *c == code)
            .map_or(0, |(_, n)| *n)
    }
}

/// `concurrency` clients that each send `GET path` on a new connection (as the kubelet does),
/// one after another, for `duration`. Bounded in time; loopback only.
pub async fn storm(
    addr: SocketAddr,
    path: &'static str,
    concurrency: usize,
    duration: Duration,
) -> StormStats {
    let until = tokio::time::Instant::now() + duration;
    let mut clients = tokio::task::JoinSet::new();
    for _ in 0..concurrency {
        clients.spawn(async move {
            let mut stats = StormStats::default();
            while tokio::time::Instant::now() < until {
                let begun = tokio::time::Instant::now();
                let response = request(addr, "GET", path).await;
                stats.max_latency = stats.max_latency.max(begun.elapsed());
                stats.requests += 1;
                match stats.codes.iter_mut().find(|(c, _)| *c == response.status) {
                    Some((_, n)) => *n += 1,
                    None => stats.codes.push((response.status, 1)),
                }
            }
            stats
        });
    }
    let mut total = StormStats::default();
    while let Some(client) = clients.join_next().await {
        let stats = client.expect("storm client");
        total.requests += stats.requests;
        total.max_latency = total.max_latency.max(stats.max_latency);
        for (code, n) in stats.codes {
            match total.codes.iter_mut().find(|(c, _)| *c == code) {
                Some((_, m)) => *m += n,
                None => total.codes.push((code, n)),
            }
        }
    }
    total
}

/// The check named `name` in a JSON report (panics with the body if there is none).
pub fn check_json(body: &serde_json::Value, name: &str) -> serde_json::Value {
    body["checks"]
        .as_array()
        .and_then(|checks| checks.iter().find(|c| c["name"] == name))
        .cloned()
        .unwrap_or_else(|| panic!("no check {name:?} in {body}"))
}

/// The probe routes of `state`, served with `health_axum::serve` on a free loopback port (which
/// starts the background scheduler and marks the app started); returns the address at once.
pub async fn serve_probes<S>(state: &S) -> SocketAddr
where
    S: health_axum::HealthState + health_axum::HealthRouterExt,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let app = S::health_router()
        .details(health_axum::Details::Always)
        .build()
        .with_state(state.clone());
    let state = state.clone();
    tokio::spawn(async move { health_axum::serve(listener, app, state).await });
    addr
}

/// The first check of `state` as a probe would see it now.
pub async fn report<S: health_axum::HealthState>(state: &S) -> health_axum::engine::CheckReport {
    health_axum::engine::latest(state, |_| true).await.remove(0)
}

/// Polls [`report`] until `condition` holds; fails the test after `within`, showing the last.
pub async fn report_until<S: health_axum::HealthState>(
    state: &S,
    within: Duration,
    what: &str,
    condition: impl Fn(&health_axum::engine::CheckReport) -> bool,
) -> health_axum::engine::CheckReport {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        let check = report(state).await;
        if condition(&check) {
            return check;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{what}: not within {within:?}; last: {check:?}"
        );
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

/// A new, empty directory under the system's temporary directory, named after `prefix`, this
/// process and the time (so parallel tests never share one).
pub fn temp_dir(prefix: &str) -> std::path::PathBuf {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let dir = std::env::temp_dir().join(format!("{prefix}-{}-{nanos}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("create {}: {e}", dir.display()));
    dir
}

/// Declares a health state `$name` with one critical field check `$check` of type `$ty`,
/// configured by the remaining check arguments, and `$name::new(value)`.
///
/// ```no_run
/// use health_axum::prelude::*;
/// use health_tests::one_check_state;
///
/// #[derive(Clone)]
/// struct Db;
///
/// impl HealthCheck for Db {
///     async fn check(&self) -> CheckOutcome {
///         CheckOutcome::healthy()
///     }
/// }
///
/// one_check_state!(Outage, db: Db, name = "database", interval_ms = 300, timeout_ms = 300);
/// let state = Outage::new(Db);
/// ```
#[macro_export]
macro_rules! one_check_state {
    ($name:ident, $check:ident: $ty:ty, $($args:tt)*) => {
        #[derive(Clone, ::health_axum::HealthState)]
        struct $name {
            #[health(check(critical, $($args)*))]
            $check: $ty,
            #[health(lifecycle)]
            lifecycle: ::health_axum::Lifecycle,
        }

        impl $name {
            fn new($check: $ty) -> Self {
                $name {
                    $check,
                    lifecycle: ::health_axum::Lifecycle::new(),
                }
            }
        }
    };
}

/// A handler that never answers (it sleeps an hour), for shutdown tests: route it at `/stuck`.
pub async fn stuck_handler() -> &'static str {
    tokio::time::sleep(Duration::from_secs(3600)).await;
    "never"
}

/// Requests that have entered the stuck handler of [`Entered::stuck_route`], counted, with a
/// wake-up for each: a test waits for "the request is in the handler" instead of sleeping.
#[derive(Clone, Default)]
pub struct Entered(std::sync::Arc<EnteredInner>);

#[derive(Default)]
struct EnteredInner {
    count: std::sync::atomic::AtomicUsize,
    changed: tokio::sync::Notify,
}

impl Entered {
    /// No request has entered yet.
    pub fn new() -> Entered {
        Entered::default()
    }

    /// How many requests have entered the handler so far.
    pub fn count(&self) -> usize {
        self.0.count.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// A `GET` route to a handler that counts the request as entered, then never answers (as
    /// [`stuck_handler`]): route it at `/stuck`.
    pub fn stuck_route<S: Clone + Send + Sync + 'static>(&self) -> axum::routing::MethodRouter<S> {
        let entered = self.clone();
        axum::routing::get(move || {
            let entered = entered.clone();
            async move {
                entered
                    .0
                    .count
                    .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                entered.0.changed.notify_waiters();
                stuck_handler().await
            }
        })
    }

    /// Waits until `n` requests have entered the handler; fails the test after `within`, with
    /// the count reached.
    pub async fn wait_for(&self, n: usize, within: Duration) {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let changed = self.0.changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            let count = self.count();
            if count >= n {
                return;
            }
            if tokio::time::timeout_at(deadline, changed).await.is_err() {
                panic!(
                    "{} of {n} requests entered the stuck handler within {within:?}",
                    self.count()
                );
            }
        }
    }
}

/// Sends `GET /stuck` on a new connection and reads until the server closes it; resolves to the
/// bytes received (none when the request was cut without an answer).
pub fn stuck_request(addr: SocketAddr) -> tokio::task::JoinHandle<Vec<u8>> {
    tokio::spawn(async move {
        let mut stream = TcpStream::connect(addr).await.expect("connect");
        stream
            .write_all(b"GET /stuck HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .expect("write");
        let mut buf = Vec::new();
        let _ = stream.read_to_end(&mut buf).await;
        buf
    })
}

/// The two loopback addresses of a service served with a probe port of its own.
#[derive(Debug, Clone, Copy)]
pub struct Ports {
    /// The application port.
    pub app: SocketAddr,
    /// The probe port.
    pub probes: SocketAddr,
}

/// Serves `app` with `health_axum::serve` on a free loopback port and a probe port of its own
/// (`probes_on`, its default routes), configured by `configure`, in a background task; returns
/// once both answer `/health/ready` with 200.
pub async fn serve_with_probe_port<H: health_axum::AsHealthState>(
    app: axum::Router,
    state: H,
    configure: impl FnOnce(health_axum::Serve) -> health_axum::Serve,
) -> Ports {
    use std::future::IntoFuture;
    let app_listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let probe_listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let ports = Ports {
        app: app_listener.local_addr().expect("addr"),
        probes: probe_listener.local_addr().expect("addr"),
    };
    let serve = health_axum::serve(app_listener, app, state).probes_on(probe_listener);
    tokio::spawn(configure(serve).into_future());
    for addr in [ports.app, ports.probes] {
        wait_for_status(addr, "/health/ready", 200, Duration::from_secs(10)).await;
    }
    ports
}

/// Serves `app` with `health_axum::serve` on a free loopback port, configured by `configure`
/// (drain delay, shutdown timeout, start-up work...), in a background task; returns the address
/// and the task, which resolves with what `serve` returned.
pub async fn serve_in_background<H: health_axum::AsHealthState>(
    app: axum::Router,
    state: H,
    configure: impl FnOnce(health_axum::Serve) -> health_axum::Serve,
) -> (SocketAddr, tokio::task::JoinHandle<std::io::Result<()>>) {
    use std::future::IntoFuture;
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let server = tokio::spawn(configure(health_axum::serve(listener, app, state)).into_future());
    (addr, server)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs `wait_for_status` against `addr` for `within` and returns its panic message and how
    /// long it took to give up.
    async fn failure(addr: SocketAddr, within: Duration) -> (String, Duration) {
        let begun = std::time::Instant::now();
        let outcome = tokio::spawn(wait_for_status(addr, "/health/ready", 200, within)).await;
        let took = begun.elapsed();
        let panic = outcome.expect_err("wait_for_status must fail").into_panic();
        let message = panic
            .downcast_ref::<String>()
            .cloned()
            .unwrap_or_else(|| format!("{panic:?}"));
        (message, took)
    }

    #[tokio::test]
    async fn connect_errors_are_reported_when_the_deadline_passes() {
        // A port nobody listens on: every attempt is refused.
        let addr = SocketAddr::from(([127, 0, 0, 1], free_port()));
        let (message, took) = failure(addr, Duration::from_millis(300)).await;
        assert!(message.contains("connect: Connection refused"), "{message}");
        assert!(
            took >= Duration::from_millis(300),
            "gave up early: {took:?}"
        );
        assert!(
            took < Duration::from_millis(1300),
            "overran its deadline: {took:?}"
        );
    }

    #[tokio::test]
    async fn a_server_that_never_answers_cannot_hold_it_past_its_deadline() {
        // Accepts connections (the backlog does) and never answers.
        let silent = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = silent.local_addr().unwrap();
        let (message, took) = failure(addr, Duration::from_millis(300)).await;
        assert!(
            message.contains("attempt cut at the deadline (no answer) (x1)"),
            "{message}"
        );
        assert!(
            took >= Duration::from_millis(300),
            "gave up early: {took:?}"
        );
        // The old helper waited 2 s for each exchange whatever the deadline.
        assert!(
            took < Duration::from_millis(1300),
            "overran its deadline: {took:?}"
        );
        drop(silent);
    }

    #[tokio::test]
    async fn other_statuses_and_cut_connections_are_counted() {
        // Answers 503 to the first two connections, then closes the next ones without a word.
        let server = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = server.local_addr().unwrap();
        tokio::spawn(async move {
            let mut n = 0;
            while let Ok((mut stream, _)) = server.accept().await {
                n += 1;
                let mut buf = [0u8; 1024];
                let _ = stream.read(&mut buf).await;
                if n <= 2 {
                    let _ = stream
                        .write_all(b"HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\n\r\n")
                        .await;
                }
            }
        });
        let (message, _) = failure(addr, Duration::from_millis(300)).await;
        assert!(message.contains("status 503 (x2)"), "{message}");
        assert!(
            message.contains("no complete response (0 bytes before the connection closed)"),
            "{message}"
        );
    }
}
