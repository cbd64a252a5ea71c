//! The static description of a check: its name, timeout, criticality, the probes it gates and
//! the function that runs it.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use crate::CheckOutcome;

/// A boxed, sendable future, as returned by check functions in the registry.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// The function a [`CheckSpec`] runs: borrows the state and yields an outcome.
pub type CheckFn<S> = for<'a> fn(&'a S) -> BoxFuture<'a, CheckOutcome>;

/// Timeout applied to a check that declares no `timeout_ms`: 1000 ms.
///
/// One second bounds a hung dependency well inside a Kubernetes probe's `timeoutSeconds: 2`
/// while leaving room for a cold connection to be opened.
pub const DEFAULT_TIMEOUT_MS: u64 = 1000;

/// One of the three Kubernetes probes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Probe {
    /// The startup probe: has the application finished starting?
    Startup,
    /// The liveness probe: can the process still make progress (or should it be restarted)?
    Live,
    /// The readiness probe: should the Service send traffic to this instance?
    Ready,
}

impl Probe {
    /// All three probes.
    pub const ALL: [Probe; 3] = [Probe::Startup, Probe::Live, Probe::Ready];

    /// The lowercase name: `startup`, `live` or `ready`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Probe::Startup => "startup",
            Probe::Live => "live",
            Probe::Ready => "ready",
        }
    }

    const fn bit(self) -> u8 {
        match self {
            Probe::Startup => 1,
            Probe::Live => 2,
            Probe::Ready => 4,
        }
    }
}

impl fmt::Display for Probe {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The set of probes a check gates.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Probes(u8);

impl Probes {
    /// No probe.
    pub const NONE: Probes = Probes(0);
    /// Readiness only: the default for a check that names no probe.
    pub const READY: Probes = Probes(4);

    /// The set holding `probe` only.
    pub const fn only(probe: Probe) -> Probes {
        Probes(probe.bit())
    }

    /// This set with `probe` added.
    pub const fn with(self, probe: Probe) -> Probes {
        Probes(self.0 | probe.bit())
    }

    /// Whether `probe` is in the set.
    pub const fn contains(self, probe: Probe) -> bool {
        self.0 & probe.bit() != 0
    }

    /// Whether the set is empty.
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }
}

impl fmt::Debug for Probes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set()
            .entries(Probe::ALL.iter().filter(|p| self.contains(**p)))
            .finish()
    }
}

/// The static description of one check of state type `S`.
///
/// `#[health_check]` and `#[derive(HealthState)]` build these at compile time; code that does
/// not use the macros can build them with [`CheckSpec::new`] and the `const` setters:
///
/// ```
/// use health_core::{BoxFuture, CheckOutcome, CheckSpec, Probe};
///
/// struct State;
///
/// fn ping(_: &State) -> BoxFuture<'_, CheckOutcome> {
///     Box::pin(async { CheckOutcome::healthy() })
/// }
///
/// const PING: CheckSpec<State> = CheckSpec::new("ping", ping)
///     .timeout_ms(200)
///     .critical(true)
///     .gates(Probe::Startup);
/// assert_eq!(PING.name(), "ping");
/// ```
pub struct CheckSpec<S> {
    name: &'static str,
    timeout: Duration,
    degraded_after: Option<Duration>,
    critical: bool,
    probes: Probes,
    run: CheckFn<S>,
}

impl<S> Clone for CheckSpec<S> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<S> Copy for CheckSpec<S> {}

impl<S> CheckSpec<S> {
    /// A non-critical readiness check with the default timeout ([`DEFAULT_TIMEOUT_MS`]).
    pub const fn new(name: &'static str, run: CheckFn<S>) -> Self {
        CheckSpec {
            name,
            timeout: Duration::from_millis(DEFAULT_TIMEOUT_MS),
            degraded_after: None,
            critical: false,
            probes: Probes::NONE,
            run,
        }
    }

    /// Sets the timeout in milliseconds.
    pub const fn timeout_ms(mut self, ms: u64) -> Self {
        self.timeout = Duration::from_millis(ms);
        self
    }

    /// Sets the latency above which a healthy result counts as degraded.
    pub const fn degraded_ms(mut self, ms: u64) -> Self {
        self.degraded_after = Some(Duration::from_millis(ms));
        self
    }

    /// Marks the check critical: when it is unhealthy, the probes it gates fail.
    pub const fn critical(mut self, critical: bool) -> Self {
        self.critical = critical;
        self
    }

    /// Adds `probe` to the probes this check gates. A check that names none gates readiness.
    pub const fn gates(mut self, probe: Probe) -> Self {
        self.probes = self.probes.with(probe);
        self
    }

    /// The check's name, as shown in reports and URLs.
    pub const fn name(&self) -> &'static str {
        self.name
    }

    /// The timeout.
    pub const fn timeout(&self) -> Duration {
        self.timeout
    }

    /// The latency above which a healthy result counts as degraded, if set.
    pub const fn degraded_after(&self) -> Option<Duration> {
        self.degraded_after
    }

    /// Whether the check is critical.
    pub const fn is_critical(&self) -> bool {
        self.critical
    }

    /// The probes the check gates (readiness when none was named).
    pub const fn probes(&self) -> Probes {
        if self.probes.is_empty() {
            Probes::READY
        } else {
            self.probes
        }
    }

    /// Whether the check gates `probe`.
    pub const fn is_in(&self, probe: Probe) -> bool {
        self.probes().contains(probe)
    }

    /// The function that runs the check once, without timeout or panic isolation
    /// (see [`crate::run_check`] for those).
    pub const fn run_fn(&self) -> CheckFn<S> {
        self.run
    }
}

impl<S> fmt::Debug for CheckSpec<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CheckSpec")
            .field("name", &self.name)
            .field("timeout", &self.timeout)
            .field("degraded_after", &self.degraded_after)
            .field("critical", &self.critical)
            .field("probes", &self.probes())
            .finish_non_exhaustive()
    }
}
