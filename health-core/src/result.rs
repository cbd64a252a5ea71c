//! The result the runtime records of one run: the outcome, timed and judged against the spec.

use std::borrow::Cow;
use std::time::Duration;

use crate::spec::Probes;
use crate::status::Status;

/// The result of one run of one check.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct CheckResult {
    /// The check's name.
    pub name: &'static str,
    /// Whether the check is critical.
    pub critical: bool,
    /// The probes the check gates.
    pub probes: Probes,
    /// The status, after the timeout and `degraded_ms` rules were applied.
    pub status: Status,
    /// How long the check took (its timeout, if it timed out).
    pub latency: Duration,
    /// Why the check is not healthy, or what it reported.
    pub message: Option<Cow<'static, str>>,
    /// Machine-readable details the check attached.
    pub details: Option<serde_json::Value>,
}
