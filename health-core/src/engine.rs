//! The per-state engine: one slot per registered check, holding the latest snapshot, the damping
//! and circuit-breaker state, and the single-flight guard that keeps two runs of one check from
//! ever overlapping.
//!
//! Locks are `std::sync::Mutex`es held for a few field updates and never across an `.await`.

use std::any::TypeId;
use std::borrow::Cow;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::sync::Notify;
use tokio::task::AbortHandle;
use tokio::time::Instant;

use crate::run::run_check;
use crate::{CheckResult, CheckSpec, HealthState, Status};

/// How long past a run's timeout a waiter keeps waiting for its result (task scheduling slack).
pub(crate) const WAIT_SLACK: Duration = Duration::from_millis(250);

/// `t + d`, saturating at a far future instead of panicking on overflow (a check may be
/// configured with a huge interval or back-off to mean "practically never").
pub(crate) fn later(t: Instant, d: Duration) -> Instant {
    t.checked_add(d).unwrap_or_else(|| far_future(t))
}

/// About thirty years after `t` (what Tokio itself uses for "never").
fn far_future(t: Instant) -> Instant {
    const THIRTY_YEARS: Duration = Duration::from_secs(86_400 * 365 * 30);
    t.checked_add(THIRTY_YEARS).unwrap_or(t)
}

/// Source of scheduler-task epochs; 0 means "no scheduler owns the slot".
static EPOCHS: AtomicU64 = AtomicU64::new(1);

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
        // Unhealthy for what it is (no result), not "stale": it never held a result to age.
        let never = far_future(now);
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
            expires_at: never,
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

/// What a probe reads of a slot besides the snapshot: the state of the breaker now, and whether
/// the application took the check out of service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Live {
    pub(crate) circuit: Circuit,
    pub(crate) out_of_service: Option<Arc<str>>,
}

impl Live {
    pub(crate) const CLOSED: Live = Live {
        circuit: Circuit::Closed,
        out_of_service: None,
    };
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
    /// The epoch of the scheduler task that owns the slot, or 0.
    scheduled: AtomicU64,
}

struct SlotInner {
    snapshot: Option<Arc<CheckSnapshot>>,
    /// Bumped whenever a run ends (with a result or abandoned), to wake waiters.
    generation: u64,
    running_since: Option<Instant>,
    runs: u64,
    reported: Option<Status>,
    /// Consecutive results on one side of the reported status (all worse, or all better).
    streak: u32,
    streak_worse: bool,
    /// The least extreme status of the streak: where the reported status goes when it flips.
    streak_bound: Status,
    consecutive_failures: u32,
    consecutive_successes: u32,
    breaker: Breaker,
    opens: u32,
    /// Set by the application (maintenance): the check reports unhealthy with this reason.
    out_of_service: Option<Arc<str>>,
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
            streak_bound: Status::Healthy,
            consecutive_failures: 0,
            consecutive_successes: 0,
            breaker: Breaker::Closed,
            opens: 0,
            out_of_service: None,
        }
    }
}

/// What a caller that wants to run a check may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Begin {
    /// Run it now; the caller must end the run through a [`Claim`] (see [`Slot::claim`]).
    Run,
    /// Another run is in flight: wait for it.
    Busy { generation: u64, since: Instant },
    /// The circuit is open until then: do not run.
    OpenUntil(Instant),
}

/// What a probe found in a slot.
pub(crate) enum Read {
    /// A result to report now.
    Have(Arc<CheckSnapshot>, Live),
    /// A run is in flight (maybe just started by this read): wait for a new generation.
    Wait { generation: u64, deadline: Instant },
}

impl Slot {
    fn lock(&self) -> MutexGuard<'_, SlotInner> {
        // A panic never happens while the lock is held; recover the data if one ever did.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Marks the slot as owned by a new scheduler task; returns that task's epoch.
    pub(crate) fn own(&self) -> u64 {
        let epoch = EPOCHS.fetch_add(1, Ordering::Relaxed);
        self.scheduled.store(epoch, Ordering::Release);
        epoch
    }

    /// Ends the ownership of the task with `epoch`, unless a newer task owns the slot already.
    pub(crate) fn disown(&self, epoch: u64) {
        let _ = self
            .scheduled
            .compare_exchange(epoch, 0, Ordering::AcqRel, Ordering::Acquire);
    }

    fn is_scheduled(&self) -> bool {
        self.scheduled.load(Ordering::Acquire) != 0
    }

    /// If the circuit is open, makes its trial due now (the world changed: start-up work ended).
    pub(crate) fn retry_now(&self, now: Instant) {
        let mut inner = self.lock();
        if let Breaker::Open { until } = &mut inner.breaker {
            *until = (*until).min(now);
        }
    }

    /// When the open circuit lets the next trial through, if it is open.
    pub(crate) fn retry_at(&self) -> Option<Instant> {
        match self.lock().breaker {
            Breaker::Open { until } => Some(until),
            Breaker::Closed | Breaker::HalfOpen => None,
        }
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
            if latched || now < snapshot.fresh_until || self.is_scheduled() {
                return Read::Have(Arc::clone(snapshot), inner.live(now));
            }
        }
        match inner.begin(now) {
            Begin::Busy { generation, since } => Read::Wait {
                generation,
                deadline: later(since, spec.timeout() + WAIT_SLACK),
            },
            Begin::OpenUntil(_) => match &inner.snapshot {
                Some(snapshot) => Read::Have(Arc::clone(snapshot), inner.live(now)),
                // The circuit only opens on recorded failures, so this cannot happen; report the
                // check as missing rather than panic.
                None => Read::Have(
                    Arc::new(CheckSnapshot::missing(spec, Duration::ZERO, now)),
                    inner.live(now),
                ),
            },
            Begin::Run => {
                let generation = inner.generation;
                drop(inner);
                // Its own task: the run completes and is recorded even if this probe request
                // is dropped, and every concurrent probe waits on it instead of starting another.
                spawn_run(Claim::new(engine, index), state);
                Read::Wait {
                    generation,
                    deadline: later(now, spec.timeout() + WAIT_SLACK),
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
    pub(crate) fn current(&self, now: Instant) -> Option<(Arc<CheckSnapshot>, Live)> {
        let inner = self.lock();
        let snapshot = inner.snapshot.as_ref().map(Arc::clone)?;
        Some((snapshot, inner.live(now)))
    }

    /// Takes the check out of service with `reason`, or (with `None`) puts it back.
    pub(crate) fn set_out_of_service(&self, reason: Option<Arc<str>>) {
        let mut inner = self.lock();
        let changed = inner.out_of_service != reason;
        inner.out_of_service = reason;
        let reason = inner.out_of_service.clone();
        drop(inner);
        if changed {
            match reason {
                Some(reason) => tracing::warn!(%reason, "health check taken out of service"),
                None => tracing::info!("health check back in service"),
            }
        }
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

    fn live(&self, now: Instant) -> Live {
        Live {
            circuit: self.circuit(now),
            out_of_service: self.out_of_service.clone(),
        }
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
        // results on the same side of it, and then only as far as the least extreme of them
        // (healthy, degraded, unhealthy does not report unhealthy after two results). The first
        // result is reported as it is.
        let damping = spec.damping();
        let reported = match self.reported {
            None => raw,
            Some(reported) if reported == raw => {
                self.streak = 0;
                reported
            }
            Some(reported) => {
                let worse = raw > reported;
                if self.streak == 0 || self.streak_worse != worse {
                    self.streak = 0;
                    self.streak_worse = worse;
                    self.streak_bound = raw;
                }
                self.streak += 1;
                self.streak_bound = if worse {
                    self.streak_bound.min(raw)
                } else {
                    self.streak_bound.max(raw)
                };
                let needed = if worse {
                    damping.failure_threshold
                } else {
                    damping.success_threshold
                };
                if self.streak >= needed {
                    self.streak = 0;
                    self.streak_bound
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
                        until: later(now, breaker.backoff_after(self.opens)),
                    }
                }
                Breaker::HalfOpen => {
                    self.opens = 0;
                    Breaker::Closed
                }
                Breaker::Closed if failed && self.consecutive_failures >= breaker.threshold => {
                    self.opens = 1;
                    Breaker::Open {
                        until: later(now, breaker.backoff_after(1)),
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
            Some(until) => (
                until,
                later(until, spec.interval().saturating_add(spec.timeout())),
            ),
            None => (later(now, spec.interval()), later(now, spec.max_age())),
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

/// One log line per change of a check's reported status, never one per probe. A check's first
/// result is not a change: it is logged as what it is (at `warn` when it is not healthy, so the
/// reason a fresh pod is not ready is in the log).
fn log_change(previous: Option<Status>, snapshot: &CheckSnapshot) {
    let name = snapshot.result.name;
    let message = snapshot.result.message.as_deref().unwrap_or("");
    let circuit_open = snapshot.retry_at.is_some();
    let Some(previous) = previous else {
        match snapshot.status {
            Status::Healthy => {
                tracing::info!(
                    check = name,
                    status = "healthy",
                    "health check first result"
                )
            }
            status => tracing::warn!(
                check = name,
                status = status.as_str(),
                message,
                circuit_open,
                "health check first result"
            ),
        }
        return;
    };
    let from = previous.as_str();
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
            circuit_open,
            "health check status changed"
        ),
    }
}

/// The right to run one check once, taken with [`Slot::begin`] returning [`Begin::Run`]. It is
/// created before the run is spawned, so a run that is dropped at any point, even before its
/// task was first polled (a runtime shutting down), ends without a result instead of leaving the
/// slot marked as running forever.
pub(crate) struct Claim {
    engine: Arc<Engine>,
    index: usize,
    armed: bool,
}

impl Claim {
    pub(crate) fn new(engine: &Arc<Engine>, index: usize) -> Claim {
        Claim {
            engine: Arc::clone(engine),
            index,
            armed: true,
        }
    }
}

impl Drop for Claim {
    fn drop(&mut self) {
        if self.armed {
            self.engine.slot(self.index).abandon(Instant::now());
        }
    }
}

/// Runs a claimed check (under its timeout, panics isolated) and records the result.
pub(crate) async fn run_and_record<S: HealthState>(mut claim: Claim, state: &S) {
    let spec = &S::CHECKS[claim.index];
    let result = run_check(spec, state).await;
    claim.armed = false;
    claim
        .engine
        .slot(claim.index)
        .record(spec, result, Instant::now());
}

/// Runs a claimed check as a task of its own.
pub(crate) fn spawn_run<S: HealthState>(claim: Claim, state: &S) {
    let state = state.clone();
    tokio::spawn(async move { run_and_record(claim, &state).await });
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU8, AtomicUsize};

    use super::*;
    use crate::{refresh, start_scheduler, BoxFuture, CheckOutcome, Lifecycle, Probe};

    /// What the scripted check answers next, by state type.
    static NEXT: AtomicU8 = AtomicU8::new(0);
    static RUNS: AtomicUsize = AtomicUsize::new(0);

    fn scripted(_: &Scripted) -> BoxFuture<'_, CheckOutcome> {
        Box::pin(async {
            RUNS.fetch_add(1, Ordering::SeqCst);
            match NEXT.load(Ordering::SeqCst) {
                0 => CheckOutcome::healthy(),
                1 => CheckOutcome::degraded("slow"),
                _ => CheckOutcome::unhealthy("down"),
            }
        })
    }

    #[derive(Clone)]
    struct Scripted(Lifecycle);

    impl HealthState for Scripted {
        const CHECKS: &'static [CheckSpec<Self>] = &[CheckSpec::new("scripted", scripted)
            .interval_ms(60_000)
            .failure_threshold(2)
            .success_threshold(2)
            .no_breaker()];
        const VERSION: &'static str = "test";
        fn lifecycle(&self) -> &Lifecycle {
            &self.0
        }
    }

    async fn status_after(state: &Scripted, next: u8) -> Status {
        NEXT.store(next, Ordering::SeqCst);
        refresh(state).await;
        let engine = crate::lifecycle::engine_of(state);
        engine.slot(0).current(Instant::now()).unwrap().0.status
    }

    // One test drives the scripted check through every case, so the statics are not shared.
    #[tokio::test]
    async fn damping_moves_only_as_far_as_the_least_extreme_result_of_the_streak() {
        let state = Scripted(Lifecycle::new());
        assert_eq!(status_after(&state, 0).await, Status::Healthy);
        // Healthy -> degraded, unhealthy: two worse results, but only one unhealthy.
        assert_eq!(status_after(&state, 1).await, Status::Healthy);
        assert_eq!(status_after(&state, 2).await, Status::Degraded);
        assert_eq!(status_after(&state, 2).await, Status::Degraded);
        assert_eq!(status_after(&state, 2).await, Status::Unhealthy);
        // Unhealthy -> degraded, healthy: recovers to degraded first.
        assert_eq!(status_after(&state, 1).await, Status::Unhealthy);
        assert_eq!(status_after(&state, 0).await, Status::Degraded);
        assert_eq!(status_after(&state, 0).await, Status::Degraded);
        assert_eq!(status_after(&state, 0).await, Status::Healthy);
        // An interrupted streak starts over.
        assert_eq!(status_after(&state, 2).await, Status::Healthy);
        assert_eq!(status_after(&state, 0).await, Status::Healthy);
        assert_eq!(status_after(&state, 2).await, Status::Healthy);
        assert_eq!(status_after(&state, 2).await, Status::Unhealthy);
    }

    /// Runs of [`fails`], counted by the check itself.
    static HUGE_RUNS: AtomicUsize = AtomicUsize::new(0);

    fn fails(_: &Huge) -> BoxFuture<'_, CheckOutcome> {
        Box::pin(async {
            HUGE_RUNS.fetch_add(1, Ordering::SeqCst);
            CheckOutcome::unhealthy("down")
        })
    }

    #[derive(Clone)]
    struct Huge(Lifecycle);

    impl HealthState for Huge {
        const CHECKS: &'static [CheckSpec<Self>] = &[CheckSpec::new("huge", fails)
            .interval_ms(u64::MAX)
            .timeout_ms(u64::MAX)
            .failure_threshold(1)
            .breaker_threshold(1)
            .backoff_ms(u64::MAX)
            .max_backoff_ms(u64::MAX)];
        const VERSION: &'static str = "test";
        fn lifecycle(&self) -> &Lifecycle {
            &self.0
        }
    }

    /// Every duration at `u64::MAX` ms, on the paused clock (one thread: a sleep lets every
    /// ready task run before the clock moves). Both ways a check runs: a probe's on-demand run
    /// under its timeout, and the scheduler's run followed by its next wake-up (interval and
    /// back-off saturated).
    #[tokio::test(start_paused = true)]
    async fn huge_durations_saturate_instead_of_panicking() {
        // On demand (no scheduler): the probe runs the check, the circuit opens for "ever".
        let probed = Huge(Lifecycle::new());
        probed.0.mark_started();
        let report = crate::evaluate(&probed, crate::Scope::Probe(Probe::Ready)).await;
        assert_eq!(
            HUGE_RUNS.load(Ordering::SeqCst),
            1,
            "the probe ran the check"
        );
        assert_eq!(report.checks[0].status, Status::Unhealthy);
        assert!(matches!(report.checks[0].circuit, Circuit::Open { .. }));
        refresh(&probed).await;
        assert_eq!(
            HUGE_RUNS.load(Ordering::SeqCst),
            1,
            "the open circuit holds"
        );

        // The scheduler, on a state of its own (a new lifecycle: a new engine).
        let state = Huge(Lifecycle::new());
        state.0.mark_started();
        let scheduler = start_scheduler(&state);
        tokio::time::sleep(Duration::from_secs(1)).await;
        assert_eq!(
            HUGE_RUNS.load(Ordering::SeqCst),
            2,
            "the scheduler's task ran the check"
        );
        assert!(
            scheduler.is_running(),
            "the scheduler's task survived computing its next wake-up"
        );
        let engine = crate::lifecycle::engine_of(&state);
        let (snapshot, live) = engine.slot(0).current(Instant::now()).expect("a result");
        assert_eq!(snapshot.runs, 1);
        assert!(matches!(live.circuit, Circuit::Open { .. }), "{live:?}");
        // A year on, nothing has run again and the task still sleeps.
        tokio::time::sleep(Duration::from_secs(86_400 * 365)).await;
        assert!(scheduler.is_running());
        assert_eq!(HUGE_RUNS.load(Ordering::SeqCst), 2);
        scheduler.stop();
        tokio::task::yield_now().await;
        assert!(!scheduler.is_running());
    }

    fn quick_trial(_: &Quick) -> BoxFuture<'_, CheckOutcome> {
        Box::pin(async {
            QUICK_RUNS.fetch_add(1, Ordering::SeqCst);
            CheckOutcome::unhealthy("down")
        })
    }
    static QUICK_RUNS: AtomicUsize = AtomicUsize::new(0);

    #[derive(Clone)]
    struct Quick(Lifecycle);

    impl HealthState for Quick {
        const CHECKS: &'static [CheckSpec<Self>] = &[CheckSpec::new("quick", quick_trial)
            .interval_ms(60_000)
            .timeout_ms(100)
            .failure_threshold(1)
            .breaker_threshold(1)
            .backoff_ms(50)];
        const VERSION: &'static str = "test";
        fn lifecycle(&self) -> &Lifecycle {
            &self.0
        }
    }

    /// On the paused clock (one thread, a check that returns at once): the first run at 0 opens
    /// the circuit for 50 ms, and each failed trial doubles the back-off (default cap 30 s), so
    /// the trials come at 50, 150, 350, 750 and 1,550 ms, never at the 60 s interval. The runs
    /// are counted by the check itself, 1 ms before and at each trial.
    #[tokio::test(start_paused = true)]
    async fn a_back_off_shorter_than_the_interval_is_honoured() {
        let state = Quick(Lifecycle::new());
        let begun = Instant::now();
        let scheduler = start_scheduler(&state);
        let runs_at = |at_ms: u64| async move {
            tokio::time::sleep_until(begun + Duration::from_millis(at_ms)).await;
            // Whatever else is due at this instant runs before the count is read.
            for _ in 0..10 {
                tokio::task::yield_now().await;
            }
            QUICK_RUNS.load(Ordering::SeqCst)
        };
        let mut expected = 1;
        assert_eq!(runs_at(0).await, 1, "the first run, at once");
        for trial in [50, 150, 350, 750, 1550] {
            assert_eq!(
                runs_at(trial - 1).await,
                expected,
                "1 ms before the trial at {trial} ms"
            );
            expected += 1;
            assert_eq!(runs_at(trial).await, expected, "the trial at {trial} ms");
        }
        assert_eq!(
            runs_at(3149).await,
            expected,
            "1 ms before the trial at 3,150 ms"
        );
        assert!(scheduler.is_running());
        scheduler.stop();
    }

    #[tokio::test]
    async fn a_claim_dropped_before_its_run_started_frees_the_slot() {
        let state = Scripted(Lifecycle::new());
        let engine = crate::lifecycle::engine_of(&state).into_owned();
        let slot = engine.slot(0);
        assert_eq!(slot.begin(Instant::now()), Begin::Run);
        assert!(matches!(slot.begin(Instant::now()), Begin::Busy { .. }));
        drop(Claim::new(&engine, 0));
        assert_eq!(
            slot.begin(Instant::now()),
            Begin::Run,
            "the slot is free again"
        );
        drop(Claim::new(&engine, 0));
    }

    #[tokio::test]
    async fn a_stopped_scheduler_does_not_clear_its_successors_mark() {
        let state = Scripted(Lifecycle::new());
        let engine = crate::lifecycle::engine_of(&state).into_owned();
        let slot = engine.slot(0);
        let old = slot.own();
        let new = slot.own();
        slot.disown(old);
        assert!(slot.is_scheduled(), "the new owner keeps the slot");
        slot.disown(new);
        assert!(!slot.is_scheduled());
    }
}
