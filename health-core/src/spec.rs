//! The static description of a check: its name, timeout, criticality, the probes it gates and
//! the function that runs it.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use crate::defaults::{
    DEFAULT_FAILURE_THRESHOLD, DEFAULT_INTERVAL_MS, DEFAULT_MAX_BACKOFF_MS,
    DEFAULT_SUCCESS_THRESHOLD, DEFAULT_TIMEOUT_MS,
};
use crate::outcome::CheckOutcome;

/// A boxed, sendable future, as returned by check functions in the registry.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// The function a [`CheckSpec`] runs: borrows the state and yields an outcome.
pub type CheckFn<S> = for<'a> fn(&'a S) -> BoxFuture<'a, CheckOutcome>;

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
    interval: Duration,
    failure_threshold: u32,
    success_threshold: u32,
    breaker: BreakerConfig,
    run: CheckFn<S>,
}

/// How a check's circuit breaker is configured (see [`CheckSpec::breaker`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BreakerConfig {
    Off,
    On {
        /// Consecutive failures that open it; 0 means `failure_threshold + 1`.
        threshold: u32,
        backoff: Option<Duration>,
        max_backoff: Option<Duration>,
    },
}

/// How many consecutive results it takes to change a check's reported status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Damping {
    /// Consecutive results worse than the reported status before it turns worse.
    pub failure_threshold: u32,
    /// Consecutive results better than the reported status before it turns better.
    pub success_threshold: u32,
}

/// The circuit breaker of a check, with every default resolved.
///
/// The breaker opens after `threshold` consecutive failed runs. While it is open the check is not
/// run and reports unhealthy. After the back-off it lets exactly one trial run through (half-open):
/// success closes it, failure reopens it with the back-off doubled, up to `max_backoff`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Breaker {
    /// Consecutive failed runs that open the circuit.
    pub threshold: u32,
    /// How long the circuit stays open the first time.
    pub backoff: Duration,
    /// The longest it stays open, however often the trial fails.
    pub max_backoff: Duration,
}

impl Breaker {
    /// How long the circuit stays open after it opened `opens` times in a row (1 = first time):
    /// the back-off doubled each time, capped at `max_backoff`.
    pub fn backoff_after(&self, opens: u32) -> Duration {
        let doublings = opens.saturating_sub(1).min(30);
        self.backoff
            .checked_mul(1u32 << doublings)
            .unwrap_or(self.max_backoff)
            .min(self.max_backoff)
    }
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
            interval: Duration::from_millis(DEFAULT_INTERVAL_MS),
            failure_threshold: DEFAULT_FAILURE_THRESHOLD,
            success_threshold: DEFAULT_SUCCESS_THRESHOLD,
            breaker: BreakerConfig::On {
                threshold: 0,
                backoff: None,
                max_backoff: None,
            },
            run,
        }
    }

    /// Sets the interval between two background runs, in milliseconds.
    pub const fn interval_ms(mut self, ms: u64) -> Self {
        self.interval = Duration::from_millis(ms);
        self
    }

    /// Sets how many consecutive worse results turn the reported status worse (1: no damping).
    ///
    /// # Panics
    /// If `n` is 0 (at compile time when used in a `const`).
    pub const fn failure_threshold(mut self, n: u32) -> Self {
        assert!(n > 0, "failure_threshold must be at least 1");
        self.failure_threshold = n;
        self
    }

    /// Sets how many consecutive better results turn the reported status better (1: no damping).
    ///
    /// # Panics
    /// If `n` is 0.
    pub const fn success_threshold(mut self, n: u32) -> Self {
        assert!(n > 0, "success_threshold must be at least 1");
        self.success_threshold = n;
        self
    }

    /// Sets how many consecutive failed runs open the circuit breaker
    /// (default: `failure_threshold + 1`).
    ///
    /// # Panics
    /// If `n` is 0.
    pub const fn breaker_threshold(mut self, n: u32) -> Self {
        assert!(n > 0, "breaker_threshold must be at least 1");
        if let BreakerConfig::On { threshold, .. } = &mut self.breaker {
            *threshold = n;
        }
        self
    }

    /// Sets how long the circuit stays open the first time, in milliseconds
    /// (default: the interval).
    pub const fn backoff_ms(mut self, ms: u64) -> Self {
        if let BreakerConfig::On { backoff, .. } = &mut self.breaker {
            *backoff = Some(Duration::from_millis(ms));
        }
        self
    }

    /// Sets the longest the circuit stays open, in milliseconds
    /// (default [`DEFAULT_MAX_BACKOFF_MS`], or the first back-off if that is longer).
    pub const fn max_backoff_ms(mut self, ms: u64) -> Self {
        if let BreakerConfig::On { max_backoff, .. } = &mut self.breaker {
            *max_backoff = Some(Duration::from_millis(ms));
        }
        self
    }

    /// Turns the circuit breaker off: the check runs every interval however often it fails.
    pub const fn no_breaker(mut self) -> Self {
        self.breaker = BreakerConfig::Off;
        self
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

    /// The latency above which a run counts as slow: half the timeout. The first slow run
    /// after one that was not logs a warning (`health check is slow`), and the first run that
    /// is no longer slow logs that it recovered: one warning per streak of slow runs, not one
    /// per run. A run cut at its timeout is slow.
    pub const fn slow_after(&self) -> Duration {
        let secs = self.timeout.as_secs();
        // Below 2 * 10^9: the odd second's nanoseconds plus this second's.
        let nanos = (secs % 2) as u32 * 1_000_000_000 + self.timeout.subsec_nanos();
        Duration::new(secs / 2, nanos / 2)
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

    /// The interval between two background runs.
    pub const fn interval(&self) -> Duration {
        self.interval
    }

    /// The damping thresholds.
    pub const fn damping(&self) -> Damping {
        Damping {
            failure_threshold: self.failure_threshold,
            success_threshold: self.success_threshold,
        }
    }

    /// The circuit breaker with its defaults resolved, or `None` when it is off.
    pub const fn breaker(&self) -> Option<Breaker> {
        match self.breaker {
            BreakerConfig::Off => None,
            BreakerConfig::On {
                threshold,
                backoff,
                max_backoff,
            } => {
                let threshold = if threshold == 0 {
                    self.failure_threshold.saturating_add(1)
                } else {
                    threshold
                };
                let backoff = match backoff {
                    Some(backoff) => backoff,
                    None => self.interval,
                };
                let max_backoff = match max_backoff {
                    Some(max) => max,
                    None => {
                        let default = Duration::from_millis(DEFAULT_MAX_BACKOFF_MS);
                        if backoff.as_nanos() > default.as_nanos() {
                            backoff
                        } else {
                            default
                        }
                    }
                };
                Some(Breaker {
                    threshold,
                    backoff,
                    max_backoff,
                })
            }
        }
    }

    /// How long a result stays usable: past this age the result counts as unhealthy ("stale"),
    /// because the background scheduler should have replaced it. Two intervals plus the
    /// timeout: one missed round is tolerated, a stalled scheduler is not.
    pub const fn max_age(&self) -> Duration {
        self.interval.saturating_mul(2).saturating_add(self.timeout)
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
            .field("interval", &self.interval)
            .field("failure_threshold", &self.failure_threshold)
            .field("success_threshold", &self.success_threshold)
            .field("breaker", &self.breaker())
            .finish_non_exhaustive()
    }
}
