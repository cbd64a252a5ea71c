//! What differs between the application port and the probe port: how many connections each
//! keeps, which one it sheds at the cap, their deadlines, and one answer or many.

use std::time::Duration;

use super::connection::Limits;

/// The idle bound of [`DEFAULT_IDLE_TIMEOUT`](super::DEFAULT_IDLE_TIMEOUT) on the probe port,
/// where a request is tiny and answered at once: 5 s (and 1 s of grace for a client that does
/// not close when told). A probe connection is also dropped 10 s after its accept, whatever it
/// does, and closes after its first answer.
pub const PROBE_IDLE_TIMEOUT: Duration = Duration::from_secs(5);

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
