//! The three-valued status of a check or of an aggregate.

use std::fmt;

/// How healthy a check, or a probe's aggregate of checks, is.
///
/// Ordered from best to worst, so `a.max(b)` is the worse of two statuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Status {
    /// Everything works as it should.
    Healthy,
    /// Works, but worse than it should: slow, or a non-critical dependency failing.
    Degraded,
    /// Does not work.
    Unhealthy,
}

impl Status {
    /// The lowercase name used in reports: `healthy`, `degraded` or `unhealthy`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Status::Healthy => "healthy",
            Status::Degraded => "degraded",
            Status::Unhealthy => "unhealthy",
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl serde::Serialize for Status {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}
