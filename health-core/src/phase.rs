//! The phase of the application's life: starting -> started -> ready -> draining.

use std::fmt;

/// Where the application is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Phase {
    /// Start-up work is under way: the startup and readiness probes fail, liveness passes.
    Starting,
    /// The application declared itself started; the `startup` checks decide when it is ready.
    Started,
    /// Started and every `startup` check passed once: readiness follows the readiness checks.
    Ready,
    /// Shutting down: readiness fails so the Service stops routing here, requests are still served.
    Draining,
}

impl Phase {
    /// The lowercase name: `starting`, `started`, `ready` or `draining`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Phase::Starting => "starting",
            Phase::Started => "started",
            Phase::Ready => "ready",
            Phase::Draining => "draining",
        }
    }
}

impl fmt::Display for Phase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl serde::Serialize for Phase {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl Phase {
    /// The position in the order starting, started, ready, draining (0 to 3).
    pub(crate) const fn rank(self) -> u8 {
        match self {
            Phase::Starting => 0,
            Phase::Started => 1,
            Phase::Ready => 2,
            Phase::Draining => 3,
        }
    }
}
