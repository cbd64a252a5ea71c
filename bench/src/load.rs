//! A closed-loop HTTP/1.1 load generator on loopback: `connections` clients, each sending one
//! request at a time for a fixed duration, over one keep-alive connection or a new connection
//! per request (`Connection: close`, as the kubelet probes). Bounded in time; loopback only.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// How requests reach the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// One connection per client, reused.
    KeepAlive,
    /// A new connection per request.
    Close,
}

/// What one run measured.
#[derive(Debug, Clone)]
pub struct Load {
    /// Requests answered per second.
    pub rps: f64,
    /// Median latency in microseconds.
    pub p50_us: f64,
    /// 99th percentile latency in microseconds.
    pub p99_us: f64,
    /// Answers with a 2xx status.
    pub requests: u64,
    /// Answers that were not 2xx, or failed.
    pub errors: u64,
}

/// Runs the load for `duration`.
pub async fn run(
    addr: SocketAddr,
    path: &str,
    connections: usize,
    duration: Duration,
    mode: Mode,
) -> Load {
    let until = Instant::now() + duration;
    let begun = Instant::now();
    let mut clients = tokio::task::JoinSet::new();
    for _ in 0..connections {
        let path = path.to_string();
        clients.spawn(async move { client(addr, &path, until, mode).await });
    }
    let mut latencies = Vec::new();
    let (mut ok, mut errors) = (0, 0);
    while let Some(done) = clients.join_next().await {
        let (lat, o, e) = done.expect("client task");
        latencies.extend(lat);
        ok += o;
        errors += e;
    }
    summary(latencies, ok, errors, begun.elapsed().as_secs_f64())
}

/// What a run of closed-loop clients measured: every latency (µs), the answers that were right
/// and those that were not, over `elapsed` seconds.
pub fn summary(mut latencies: Vec<u32>, ok: u64, errors: u64, elapsed: f64) -> Load {
    latencies.sort_unstable();
    let pick = |q: f64| {
        if latencies.is_empty() {
            return f64::NAN;
        }
        let i = ((latencies.len() as f64 - 1.0) * q).round() as usize;
        f64::from(latencies[i])
    };
    Load {
        rps: ok as f64 / elapsed,
        p50_us: pick(0.50),
        p99_us: pick(0.99),
        requests: ok,
        errors,
    }
}

async fn client(addr: SocketAddr, path: &str, until: Instant, mode: Mode) -> (Vec<u32>, u64, u64) {
    let request = match mode {
        Mode::KeepAlive => format!("GET {path} HTTP/1.1\r\nHost: bench\r\nUser-Agent: kube-probe/1.31\r\nAccept: */*\r\n\r\n"),
        Mode::Close => format!("GET {path} HTTP/1.1\r\nHost: bench\r\nUser-Agent: kube-probe/1.31\r\nAccept: */*\r\nConnection: close\r\n\r\n"),
    };
    let mut latencies = Vec::with_capacity(64 * 1024);
    let (mut ok, mut errors) = (0u64, 0u64);
    let mut buf = vec![0u8; 16 * 1024];
    let mut stream: Option<TcpStream> = None;
    while Instant::now() < until {
        let begun = Instant::now();
        let outcome = async {
            if stream.is_none() {
                let s = TcpStream::connect(addr).await?;
                s.set_nodelay(true)?;
                stream = Some(s);
            }
            let s = stream.as_mut().expect("connected");
            s.write_all(request.as_bytes()).await?;
            read_response(s, &mut buf).await
        }
        .await;
        match outcome {
            Ok(status) => {
                latencies.push(u32::try_from(begun.elapsed().as_micros()).unwrap_or(u32::MAX));
                if (200..300).contains(&status) {
                    ok += 1;
                } else {
                    errors += 1;
                }
                if mode == Mode::Close {
                    stream = None;
                }
            }
            Err(_) => {
                errors += 1;
                stream = None;
            }
        }
    }
    (latencies, ok, errors)
}

/// Reads one response (head, then `Content-Length` bytes of body); returns its status code.
async fn read_response(stream: &mut TcpStream, buf: &mut [u8]) -> std::io::Result<u16> {
    let mut filled = 0;
    loop {
        let n = stream.read(&mut buf[filled..]).await?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        filled += n;
        let Some(end) = buf[..filled].windows(4).position(|w| w == b"\r\n\r\n") else {
            if filled == buf.len() {
                return Err(std::io::ErrorKind::InvalidData.into());
            }
            continue;
        };
        let head = std::str::from_utf8(&buf[..end]).map_err(|_| std::io::ErrorKind::InvalidData)?;
        let status: u16 = head
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .ok_or(std::io::ErrorKind::InvalidData)?;
        let length: usize = head
            .lines()
            .filter_map(|l| l.split_once(':'))
            .find(|(n, _)| n.trim().eq_ignore_ascii_case("content-length"))
            .and_then(|(_, v)| v.trim().parse().ok())
            .unwrap_or(0);
        let mut body = filled - end - 4;
        while body < length {
            let n = stream.read(&mut buf[..]).await?;
            if n == 0 {
                return Err(std::io::ErrorKind::UnexpectedEof.into());
            }
            body += n;
        }
        return Ok(status);
    }
}
