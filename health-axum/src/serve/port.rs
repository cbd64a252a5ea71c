//! One port `serve` listens on: its policy (how many connections, which one to shed at the cap,
//! their deadlines, one answer or many), and its accept loop running as a task, which the
//! shutdown stops, drains and cuts.
//!
//! The application port and the probe port run the same accept loop ([`accept_loop`]); only
//! their [`Policy`] differs.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use super::connection::{Limits, Shared};
use super::listener::accept_loop;
use super::PROBE_IDLE_TIMEOUT;

/// Every probe-port connection is dropped this long after its accept.
const PROBE_MAX_LIFETIME: Duration = Duration::from_secs(10);

/// A probe-port connection whose answer makes no progress for this long (the client reads
/// nothing, or opens no HTTP/2 window) is dropped.
const PROBE_SEND_TIMEOUT: Duration = Duration::from_secs(2);

/// Which open connection a port closes when a new one arrives at its cap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Shedding {
    /// The one idle the longest; none while every one has a request in flight (the new
    /// connection then waits for one to end). The application port.
    IdleLongest,
    /// The oldest one, idle or not: the probe port, whose answers are immediate, so that its
    /// oldest connection is a silent, slow or stalled one, never a probe being answered.
    Oldest,
}

/// How one port accepts and keeps connections.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Policy {
    /// Open connections at most; at the cap, one is shed for the new one.
    pub(crate) max_connections: usize,
    /// Which connection is shed at the cap.
    pub(crate) shedding: Shedding,
    /// The deadlines and rules of each connection.
    pub(crate) limits: Limits,
    /// Which port, for log lines.
    pub(crate) port: &'static str,
}

impl Policy {
    /// The application port: keep-alive, the idle bound of [`Serve::idle_timeout`]
    /// (also the bound on an answer that makes no progress), no bound on a connection's life,
    /// and the longest-idle connection shed at the cap.
    ///
    /// [`Serve::idle_timeout`]: super::Serve::idle_timeout
    pub(crate) fn app(max_connections: usize, idle_timeout: Duration) -> Policy {
        Policy {
            max_connections,
            shedding: Shedding::IdleLongest,
            limits: Limits {
                idle_timeout,
                send_timeout: idle_timeout,
                max_lifetime: None,
                one_answer: false,
            },
            port: "app",
        }
    }

    /// The probe port: one answer per connection, [`PROBE_IDLE_TIMEOUT`], 2 s for an answer to
    /// make progress, 10 s of life at most, and the oldest connection shed at the cap.
    pub(crate) fn probe(max_connections: usize) -> Policy {
        Policy {
            max_connections,
            shedding: Shedding::Oldest,
            limits: Limits {
                idle_timeout: PROBE_IDLE_TIMEOUT,
                send_timeout: PROBE_SEND_TIMEOUT,
                max_lifetime: Some(PROBE_MAX_LIFETIME),
                one_answer: true,
            },
            port: "probe",
        }
    }
}

/// One port's accept loop, running as a task.
pub(crate) struct Port {
    shared: Arc<Shared>,
    stop: CancellationToken,
    task: tokio::task::JoinHandle<()>,
}

impl Port {
    /// Starts the accept loop of `listener`.
    pub(crate) fn start(listener: TcpListener, router: Router, policy: Policy) -> Port {
        let shared = Shared::new();
        let stop = CancellationToken::new();
        let task = tokio::spawn(accept_loop(
            listener,
            router,
            policy,
            Arc::clone(&shared),
            stop.clone(),
        ));
        Port { shared, stop, task }
    }

    /// Requests in flight right now, on every connection of the port.
    pub(crate) fn in_flight(&self) -> usize {
        self.shared.in_flight()
    }

    /// Stops accepting: the listener closes, idle connections close at once and busy ones
    /// after their answer.
    pub(crate) fn stop_accepting(&self) {
        self.stop.cancel();
    }

    /// Waits until every connection of the port has ended (after [`Port::stop_accepting`]).
    pub(crate) async fn finished(&mut self) {
        let _ = (&mut self.task).await;
    }

    /// Drops every connection now, requests in flight or not.
    pub(crate) fn cut(&self) {
        self.shared.cut.cancel();
    }

    /// Stops accepting, cuts every connection and waits for the accept loop to end.
    pub(crate) async fn close(mut self) {
        self.stop_accepting();
        self.cut();
        self.finished().await;
    }
}

impl Drop for Port {
    fn drop(&mut self) {
        // `serve` dropped before it finished: its accept loops and connections end with it.
        self.shared.cut.cancel();
        self.task.abort();
    }
}
