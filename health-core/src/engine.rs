//! The per-state engine: one slot per registered check, holding the latest snapshot, the damping
//! and circuit-breaker state, and the single-flight guard that keeps two runs of one check from
//! ever overlapping.
//!
//! Locks are `std::sync::Mutex`es held for a few field updates and never across an `.await`.

use std::any::TypeId;
use std::borrow::Cow;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::sync::Notify;
use tokio::task::AbortHandle;
use tokio::time::Instant;

use crate::run::run_check;
use crate::{CheckResult, CheckSpec, HealthState, Status};

/// How long past a run's timeout a waiter keeps waiting for its result (task scheduling slack).
const WAIT_SLACK: Duration = Duration::from_millis(250);

/// The latest recorded state of one check: its raw last result and what is reported.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckSnapshot {
    /// The raw result of the last run, before damping.
    pub result: CheckResult,
    /// The reported status: the raw status after damping, and unhealthy while the circuit is open.
    pub status: Status,
    /// When the last run finished.
    pub finished_at: Instant,
    /// Consecutive unhealthy runs up to and including the last one.
    pub consecutive_failures: u32,
    /// Consecutive runs that were not unhealthy, up to and including the last one.
    pub consecutive_successes: u32,
    /// How many times the check has run.
    pub runs: u64,
    /// When the circuit breaker lets the next trial run through, while the circuit is open.
    pub retry_at: Option<Instant>,
    /// Until when the result is fresh: a probe that finds it older, with no scheduler running,
    /// refreshes it.
    pub(crate) fresh_until: Instant,
    /// From when the result is stale: it then counts as unhealthy.
    pub(crate) expires_at: Instant,
}

impl CheckSnapshot {
    /// A placeholder for a check that has no result at all because its first run has not
    /// finished within its timeout (its runner is stalled).
    pub(crate) fn missing<S>(spec: &CheckSpec<S>, waited: Duration, now: Instant) -> Self {
        CheckSnapshot {
            result: CheckResult {
                name: spec.name(),
                critical: spec.is_critical(),
                probes: spec.probes(),
                status: Status::Unhealthy,
                latency: waited,
                message: Some(Cow::Borrowed(
                    "no result: the check's first run did not finish within its timeout",
                )),
                details: None,
            },
            status: Status::Unhealthy,
            finished_at: now,
            consecutive_failures: 0,
            consecutive_successes: 0,
            runs: 0,
            retry_at: None,
            fresh_until: now,
            expires_at: now,
        }
    }

    /// Whether the result is too old to be trusted at `now`: the scheduler that should have
    /// replaced it is stalled.
    pub fn is_stale_at(&self, now: Instant) -> bool {
        now >= self.expires_at
    }
}

/// A check's circuit breaker, as seen at one instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Circuit {
    /// Runs go through.
    Closed,
    /// The check is not run; the next trial is due in `retry_in` (zero: due now).
    Open {
        /// Time until the trial run.
        retry_in: Duration,
    },
    /// One trial run is under way; its result closes or reopens the circuit.
    HalfOpen,
}

impl Circuit {
    /// `closed`, `open` or `half_open`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Circuit::Closed => "closed",
            Circuit::Open { .. } => "open",
            Circuit::HalfOpen => "half_open",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Breaker {
    Closed,
    Open { until: Instant },
    HalfOpen,
}

/// Every check slot of one state type. Lives in the state's [`crate::Lifecycle`], so every
/// clone of the state shares it.
pub(crate) struct Engine {
    state_type: TypeId,
    slots: Box<[Slot]>,
    tasks: Mutex<Vec<AbortHandle>>,
}

impl Engine {
    pub(crate) fn new<S: HealthState>() -> Engine {
        Engine {
            state_type: TypeId::of::<S>(),
            slots: S::CHECKS.iter().map(|_| Slot::default()).collect(),
            tasks: Mutex::new(Vec::new()),
        }
    }

    pub(crate) fn is_for<S: 'static>(&self) -> bool {
        self.state_type == TypeId::of::<S>()
    }

    pub(crate) fn slot(&self, index: usize) -> &Slot {
        &self.slots[index]
    }

    pub(crate) fn tasks(&self) -> MutexGuard<'_, Vec<AbortHandle>> {
        self.tasks.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// One check's runtime state.
#[derive(Default)]
pub(crate) struct Slot {
    inner: Mutex<SlotInner>,
    recorded: Notify,
    scheduled: AtomicBool,
}

struct SlotInner {
    snapshot: Option<Arc<CheckSnapshot>>,
    /// Bumped whenever a run ends (with a result or abandoned), to wake waiters.
    generation: u64,
    running_since: Option<Instant>,
    runs: u64,
    reported: Option<Status>,
    streak: u32,
    streak_worse: bool,
    consecutive_failures: u32,
    consecutive_successes: u32,
    breaker: Breaker,
    opens: u32,
}

impl Default for SlotInner {
    fn default() -> Self {
        SlotInner {
            snapshot: None,
            generation: 0,
            running_since: None,
            runs: 0,
            reported: None,
            streak: 0,
            streak_worse: false,
            consecutive_failures: 0,
            consecutive_successes: 0,
            breaker: Breaker::Closed,
            opens: 0,
        }
    }
}

/// What a caller that wants to run a check may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Begin {
    /// Run it now; the caller must end with [`Slot::record`] (or drop a [`RunGuard`]).
    Run,
    /// Another run is in flight: wait for it.
    Busy { generation: u64, since: Instant },
    /// The circuit is open until then: do not run.
    OpenUntil(Instant),
}

/// What a probe found in a slot.
pub(crate) enum Read {
    /// A result to report now.
    Have(Arc<CheckSnapshot>, Circuit),
    /// A run is in flight (maybe just started by this read): wait for a new generation.
    Wait { generation: u64, deadline: Instant },
}

impl Slot {
    fn lock(&self) -> MutexGuard<'_, SlotInner> {
        // A panic never happens while the lock is held; recover the data if one ever did.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn set_scheduled(&self, scheduled: bool) {
        self.scheduled.store(scheduled, Ordering::Release);
    }

    /// The current generation (bumped whenever a run ends).
    pub(crate) fn generation(&self) -> u64 {
        self.lock().generation
    }

    /// Claims the right to run the check (single flight), or says why not.
    pub(crate) fn begin(&self, now: Instant) -> Begin {
        self.lock().begin(now)
    }

    /// The probe path: the latest snapshot if it may be used as it is, else a run to wait for
    /// (joining the one in flight, or starting one on the runtime).
    ///
    /// A snapshot is used as it is when it is fresh, when the check is latched (a startup check
    /// after start-up), or when the background scheduler owns the check: then an old result
    /// means the scheduler is stalled, and the report counts it stale instead of waiting.
    pub(crate) fn read<S: HealthState>(
        &self,
        engine: &Arc<Engine>,
        index: usize,
        state: &S,
        now: Instant,
        latched: bool,
    ) -> Read {
        let spec = &S::CHECKS[index];
        let mut inner = self.lock();
        if let Some(snapshot) = &inner.snapshot {
            if latched || now < snapshot.fresh_until || self.scheduled.load(Ordering::Acquire) {
                return Read::Have(Arc::clone(snapshot), inner.circuit(now));
            }
        }
        match inner.begin(now) {
            Begin::Busy { generation, since } => Read::Wait {
                generation,
                deadline: since + spec.timeout() + WAIT_SLACK,
            },
            Begin::OpenUntil(_) => match &inner.snapshot {
                Some(snapshot) => Read::Have(Arc::clone(snapshot), inner.circuit(now)),
                // The circuit only opens on recorded failures, so this cannot happen; report the
                // check as missing rather than panic.
                None => Read::Have(
                    Arc::new(CheckSnapshot::missing(spec, Duration::ZERO, now)),
                    inner.circuit(now),
                ),
            },
            Begin::Run => {
                let generation = inner.generation;
                drop(inner);
                let engine = Arc::clone(engine);
                let state = state.clone();
                // Its own task: the run completes and is recorded even if this probe request
                // is dropped, and every concurrent probe waits on it instead of starting another.
                tokio::spawn(async move {
                    let slot = engine.slot(index);
                    run_and_record(&S::CHECKS[index], &state, slot).await;
                });
                Read::Wait {
                    generation,
                    deadline: now + spec.timeout() + WAIT_SLACK,
                }
            }
        }
    }

    /// Waits until a run newer than `generation` ended, or until `deadline`.
    pub(crate) async fn wait(&self, generation: u64, deadline: Instant) {
        loop {
            let notified = self.recorded.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.lock().generation != generation {
                return;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return;
            }
        }
    }

    /// The latest snapshot, whatever its age.
    pub(crate) fn current(&self, now: Instant) -> Option<(Arc<CheckSnapshot>, Circuit)> {
        let inner = self.lock();
        let circuit = inner.circuit(now);
        inner.snapshot.as_ref().map(|s| (Arc::clone(s), circuit))
    }

    /// Records the result of a run claimed with [`Slot::begin`]: applies damping and the circuit
    /// breaker, publishes the new snapshot and wakes the waiters.
    pub(crate) fn record<S>(&self, spec: &CheckSpec<S>, result: CheckResult, now: Instant) {
        let mut inner = self.lock();
        let previous = inner.snapshot.as_ref().map(|s| s.status);
        let snapshot = Arc::new(inner.apply(spec, result, now));
        inner.snapshot = Some(Arc::clone(&snapshot));
        drop(inner);
        self.recorded.notify_waiters();
        if previous != Some(snapshot.status) {
            log_change(previous, &snapshot);
        }
    }

    /// Ends a claimed run that produced no result (its task was aborted).
    fn abandon(&self, now: Instant) {
        let mut inner = self.lock();
        inner.running_since = None;
        inner.generation = inner.generation.wrapping_add(1);
        if inner.breaker == Breaker::HalfOpen {
            // The trial was lost, not failed: let the next caller try again.
            inner.breaker = Breaker::Open { until: now };
        }
        drop(inner);
        self.recorded.notify_waiters();
    }
}

impl SlotInner {
    fn begin(&mut self, now: Instant) -> Begin {
        if let Some(since) = self.running_since {
            return Begin::Busy {
                generation: self.generation,
                since,
            };
        }
        match self.breaker {
            Breaker::Open { until } if now < until => return Begin::OpenUntil(until),
            Breaker::Open { .. } => self.breaker = Breaker::HalfOpen,
            Breaker::Closed | Breaker::HalfOpen => {}
        }
        self.running_since = Some(now);
        self.runs += 1;
        Begin::Run
    }

    fn circuit(&self, now: Instant) -> Circuit {
        match self.breaker {
            Breaker::Closed => Circuit::Closed,
            Breaker::Open { until } => Circuit::Open {
                retry_in: until.saturating_duration_since(now),
            },
            Breaker::HalfOpen => Circuit::HalfOpen,
        }
    }

    fn apply<S>(
        &mut self,
        spec: &CheckSpec<S>,
        result: CheckResult,
        now: Instant,
    ) -> CheckSnapshot {
        self.running_since = None;
        self.generation = self.generation.wrapping_add(1);
        let raw = result.status;
        let failed = raw == Status::Unhealthy;
        if failed {
            self.consecutive_failures = self.consecutive_failures.saturating_add(1);
            self.consecutive_successes = 0;
        } else {
            self.consecutive_successes = self.consecutive_successes.saturating_add(1);
            self.consecutive_failures = 0;
        }

        // Damping: the reported status follows the raw one only after enough consecutive
        // results in the same direction. The first result is reported as it is.
        let damping = spec.damping();
        let reported = match self.reported {
            None => raw,
            Some(reported) if reported == raw => {
                self.streak = 0;
                reported
            }
            Some(reported) => {
                let worse = raw > reported;
                if self.streak_worse != worse {
                    self.streak = 0;
                    self.streak_worse = worse;
                }
                self.streak += 1;
                let needed = if worse {
                    damping.failure_threshold
                } else {
                    damping.success_threshold
                };
                if self.streak >= needed {
                    self.streak = 0;
                    raw
                } else {
                    reported
                }
            }
        };
        self.reported = Some(reported);

        // Circuit breaker.
        if let Some(breaker) = spec.breaker() {
            self.breaker = match self.breaker {
                Breaker::HalfOpen if failed => {
                    self.opens = self.opens.saturating_add(1);
                    Breaker::Open {
                        until: now + breaker.backoff_after(self.opens),
                    }
                }
                Breaker::HalfOpen => {
                    self.opens = 0;
                    Breaker::Closed
                }
                Breaker::Closed if failed && self.consecutive_failures >= breaker.threshold => {
                    self.opens = 1;
                    Breaker::Open {
                        until: now + breaker.backoff_after(1),
                    }
                }
                other => other,
            };
        } else {
            self.breaker = Breaker::Closed;
        }

        let retry_at = match self.breaker {
            Breaker::Open { until } => Some(until),
            Breaker::Closed | Breaker::HalfOpen => None,
        };
        let (fresh_until, expires_at) = match retry_at {
            Some(until) => (until, until + spec.interval() + spec.timeout()),
            None => (now + spec.interval(), now + spec.max_age()),
        };
        CheckSnapshot {
            result,
            status: if retry_at.is_some() {
                Status::Unhealthy
            } else {
                reported
            },
            finished_at: now,
            consecutive_failures: self.consecutive_failures,
            consecutive_successes: self.consecutive_successes,
            runs: self.runs,
            retry_at,
            fresh_until,
            expires_at,
        }
    }
}

/// One log line per change of a check's reported status, never one per probe.
fn log_change(previous: Option<Status>, snapshot: &CheckSnapshot) {
    let name = snapshot.result.name;
    let message = snapshot.result.message.as_deref().unwrap_or("");
    let from = previous.map_or("none", Status::as_str);
    match snapshot.status {
        Status::Healthy => {
            tracing::info!(
                check = name,
                from,
                to = "healthy",
                "health check status changed"
            )
        }
        Status::Degraded => tracing::warn!(
            check = name,
            from,
            to = "degraded",
            message,
            "health check status changed"
        ),
        Status::Unhealthy => tracing::warn!(
            check = name,
            from,
            to = "unhealthy",
            message,
            circuit_open = snapshot.retry_at.is_some(),
            "health check status changed"
        ),
    }
}

/// Ends a claimed run without a result if the run is dropped before it records one.
struct RunGuard<'a> {
    slot: &'a Slot,
    armed: bool,
}

impl Drop for RunGuard<'_> {
    fn drop(&mut self) {
        if self.armed {
            self.slot.abandon(Instant::now());
        }
    }
}

/// Runs a check claimed with [`Slot::begin`] (under its timeout, panics isolated) and records
/// the result.
pub(crate) async fn run_and_record<S: HealthState>(spec: &CheckSpec<S>, state: &S, slot: &Slot) {
    let mut guard = RunGuard { slot, armed: true };
    let result = run_check(spec, state).await;
    guard.armed = false;
    slot.record(spec, result, Instant::now());
}
