//! One check's slot: its latest snapshot, its damping and breaker state, its counters and the
//! single-flight guard that keeps two runs of the check from ever overlapping. Every change of
//! what it reports is published on the event stream here, once, under the slot's lock (so the
//! events of one check come in order), and logged after the lock is released.
//!
//! The lock is a `std::sync::Mutex` held for a few field updates and never across an `.await`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::sync::Notify;
use tokio::time::Instant;

use super::breaker::CircuitBreaker;
use super::damping::Damper;
use crate::events::{Bus, Change, Published};
use crate::metrics::CheckSeries;
use crate::result::CheckResult;
use crate::snapshot::{CheckSnapshot, Circuit};
use crate::spec::CheckSpec;
use crate::status::Status;
use crate::time::{later, wait_deadline};

/// Source of scheduler-task epochs; 0 means "no scheduler owns the slot".
static EPOCHS: AtomicU64 = AtomicU64::new(1);

/// What a reader sees of a slot besides the snapshot, at the time it reads: the circuit, and
/// whether the application took the check out of service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SlotView {
    pub(crate) circuit: Circuit,
    pub(crate) out_of_service: Option<Arc<str>>,
}

impl SlotView {
    /// What a check with no result and no history shows.
    pub(crate) const BLANK: SlotView = SlotView {
        circuit: Circuit::Closed,
        out_of_service: None,
    };
}

/// One check's runtime state.
pub(crate) struct Slot {
    name: &'static str,
    /// Where changes are published (`None`: a detached engine, see `engine::engine_of`).
    bus: Option<Arc<Bus>>,
    /// The check's metrics (`None`: a detached engine). Recorded under the slot's lock, so one
    /// check's gauges end in the order of its changes; each recording is a few atomic updates
    /// through handles registered once.
    series: Option<CheckSeries>,
    inner: Mutex<SlotInner>,
    recorded: Notify,
    /// The epoch of the scheduler task that owns the slot, or 0.
    scheduled: AtomicU64,
}

#[derive(Default)]
struct SlotInner {
    snapshot: Option<Arc<CheckSnapshot>>,
    /// Bumped whenever a run ends (with a result or abandoned), to wake waiters.
    generation: u64,
    running_since: Option<Instant>,
    runs: u64,
    damper: Damper,
    consecutive_failures: u32,
    consecutive_successes: u32,
    breaker: CircuitBreaker,
    /// Set by the application (maintenance): the check reports unhealthy with this reason.
    out_of_service: Option<Arc<str>>,
    /// Whether the last run was slow (see `CheckSpec::slow_after`): a streak is warned of once.
    slow: bool,
    /// Set when the scheduler retired the check (see `Slot::retire`): its status and circuit
    /// series show no current value from then on, whatever runs it later (`refresh`).
    retired: bool,
}

/// What a caller that wants to run a check may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Begin {
    /// Run it now; the caller must end the run through a `Claim` (see `engine::Claim`).
    Run,
    /// Another run is in flight: wait for it.
    Busy { generation: u64, since: Instant },
    /// The circuit is open until then: do not run.
    OpenUntil(Instant),
}

/// What a probe found in a slot.
pub(crate) enum Read {
    /// A result to report now.
    Have(Arc<CheckSnapshot>, SlotView),
    /// A run is in flight: wait for a new generation.
    Wait { generation: u64, deadline: Instant },
    /// No usable result, and this read claimed the run: the caller must start it (through a
    /// `Claim`) and then wait as for [`Read::Wait`].
    Start { generation: u64, deadline: Instant },
}

impl Slot {
    pub(crate) fn new(
        name: &'static str,
        bus: Option<Arc<Bus>>,
        series: Option<CheckSeries>,
    ) -> Slot {
        Slot {
            name,
            bus,
            series,
            inner: Mutex::default(),
            recorded: Notify::new(),
            scheduled: AtomicU64::new(0),
        }
    }

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

    pub(crate) fn is_scheduled(&self) -> bool {
        self.scheduled.load(Ordering::Acquire) != 0
    }

    /// If the circuit is open, makes its trial due now (the world changed: start-up work ended).
    /// An open circuit stays open (only its back-off is cut): nothing to publish.
    pub(crate) fn retry_now(&self, now: Instant) {
        self.lock().breaker.retry_now(now);
    }

    /// When the open circuit lets the next trial through, if it is open.
    pub(crate) fn retry_at(&self) -> Option<Instant> {
        self.lock().breaker.retry_at()
    }

    /// The check is retired: it gates only the startup probe and the application has been
    /// ready, so it is no longer run (its series say so).
    pub(crate) fn retire(&self) {
        let mut inner = self.lock();
        inner.retired = true;
        if let Some(series) = &self.series {
            series.retired();
        }
    }

    /// Counts a round of the scheduler that the open circuit kept the check from running.
    pub(crate) fn skipped(&self) {
        if let Some(series) = &self.series {
            series.skipped();
        }
    }

    /// The current generation (bumped whenever a run ends).
    pub(crate) fn generation(&self) -> u64 {
        self.lock().generation
    }

    /// Claims the right to run the check (single flight), or says why not.
    pub(crate) fn begin(&self, now: Instant) -> Begin {
        let mut published = Published::default();
        let mut inner = self.lock();
        let begin = self.begin_locked(&mut inner, now, &mut published);
        drop(inner);
        published.log();
        begin
    }

    fn begin_locked(&self, inner: &mut SlotInner, now: Instant, out: &mut Published) -> Begin {
        if let Some(since) = inner.running_since {
            return Begin::Busy {
                generation: inner.generation,
                since,
            };
        }
        let before = inner.breaker.circuit(now);
        if let Err(until) = inner.breaker.admit(now) {
            return Begin::OpenUntil(until);
        }
        self.publish_circuit(inner, before, now, out);
        inner.running_since = Some(now);
        inner.runs += 1;
        Begin::Run
    }

    /// The probe path: the latest snapshot if it may be used as it is, else a run to wait for
    /// (joining the one in flight, or claiming one for the caller to start).
    ///
    /// A snapshot is used as it is when it is fresh, when the check is latched (a startup check
    /// after start-up), or when the background scheduler owns the check: then an old result
    /// means the scheduler is stalled, and the report counts it stale instead of waiting.
    pub(crate) fn read<S>(&self, spec: &CheckSpec<S>, now: Instant, latched: bool) -> Read {
        let mut published = Published::default();
        let mut inner = self.lock();
        if let Some(snapshot) = &inner.snapshot {
            if latched || now < snapshot.fresh_until || self.is_scheduled() {
                return Read::Have(Arc::clone(snapshot), inner.view(now));
            }
        }
        let read = match self.begin_locked(&mut inner, now, &mut published) {
            Begin::Busy { generation, since } => Read::Wait {
                generation,
                deadline: wait_deadline(since, spec.timeout()),
            },
            Begin::OpenUntil(_) => {
                // The circuit only opens on recorded failures, so a snapshot is there; report
                // the check as missing rather than panic if it ever is not.
                let snapshot = inner
                    .snapshot
                    .clone()
                    .unwrap_or_else(|| Arc::new(CheckSnapshot::missing(spec, Duration::ZERO, now)));
                Read::Have(snapshot, inner.view(now))
            }
            Begin::Run => Read::Start {
                generation: inner.generation,
                deadline: wait_deadline(now, spec.timeout()),
            },
        };
        drop(inner);
        published.log();
        read
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
    pub(crate) fn current(&self, now: Instant) -> Option<(Arc<CheckSnapshot>, SlotView)> {
        let inner = self.lock();
        let snapshot = inner.snapshot.as_ref().map(Arc::clone)?;
        Some((snapshot, inner.view(now)))
    }

    /// The view alone (circuit, out of service), with the reported status if there is one.
    pub(crate) fn view(&self, now: Instant) -> (Option<Status>, SlotView) {
        let inner = self.lock();
        (inner.snapshot.as_ref().map(|s| s.status), inner.view(now))
    }

    /// Takes the check out of service with `reason`, or (with `None`) puts it back. Going out,
    /// coming back, and a new reason while out are each published once.
    pub(crate) fn set_out_of_service(&self, reason: Option<Arc<str>>) {
        let mut published = Published::default();
        let mut inner = self.lock();
        if inner.out_of_service == reason {
            return;
        }
        inner.out_of_service = reason.clone();
        if let (Some(series), Some(snapshot), false) =
            (&self.series, &inner.snapshot, inner.retired)
        {
            series.reported(inner.reported(snapshot));
        }
        let now = Instant::now();
        let change = Change::Service {
            out_of_service: reason,
        };
        let circuit = inner.breaker.circuit(now);
        self.publish(change, inner.snapshot.clone(), circuit, now, &mut published);
        drop(inner);
        published.log();
    }

    /// Records the result of a run claimed with [`Slot::begin`]: applies damping and the circuit
    /// breaker, publishes the new snapshot and its changes, and wakes the waiters.
    pub(crate) fn record<S>(&self, spec: &CheckSpec<S>, result: CheckResult, now: Instant) {
        let mut published = Published::default();
        let mut inner = self.lock();
        let previous = inner.snapshot.as_ref().map(|s| s.status);
        let circuit_before = inner.breaker.circuit(now);
        let slowness = inner.slowness(spec, &result);
        let snapshot = Arc::new(inner.apply(spec, result, now));
        inner.snapshot = Some(Arc::clone(&snapshot));
        if let Some(series) = &self.series {
            let reported = (!inner.retired).then(|| inner.reported(&snapshot));
            series.ran(&snapshot.result, reported, snapshot.consecutive_failures);
        }
        if previous != Some(snapshot.status) {
            let change = Change::Status {
                from: previous,
                to: snapshot.status,
            };
            let circuit = inner.breaker.circuit(now);
            self.publish(change, Some(snapshot), circuit, now, &mut published);
        }
        self.publish_circuit(&inner, circuit_before, now, &mut published);
        drop(inner);
        self.recorded.notify_waiters();
        published.log();
        slowness.log(self.name, spec);
    }

    /// Ends a claimed run that produced no result (its task was dropped).
    pub(crate) fn abandon(&self, now: Instant) {
        let mut published = Published::default();
        let mut inner = self.lock();
        inner.running_since = None;
        inner.generation = inner.generation.wrapping_add(1);
        let before = inner.breaker.circuit(now);
        inner.breaker.abandon(now);
        self.publish_circuit(&inner, before, now, &mut published);
        drop(inner);
        self.recorded.notify_waiters();
        published.log();
    }

    /// Publishes the circuit's change from `before`, if its state (closed, open, half-open)
    /// changed; a new back-off of an open circuit is not a change.
    fn publish_circuit(
        &self,
        inner: &SlotInner,
        before: Circuit,
        now: Instant,
        out: &mut Published,
    ) {
        let after = inner.breaker.circuit(now);
        if before.as_str() != after.as_str() {
            if let (Some(series), false) = (&self.series, inner.retired) {
                series.circuit(after);
            }
            let change = Change::Circuit {
                from: before,
                to: after,
            };
            self.publish(change, inner.snapshot.clone(), after, now, out);
        }
    }

    /// Publishes a change of this check (called with the slot's lock held, so one check's
    /// events are in order); the caller logs `out` once the lock is released.
    fn publish(
        &self,
        change: Change,
        snapshot: Option<Arc<CheckSnapshot>>,
        circuit: Circuit,
        now: Instant,
        out: &mut Published,
    ) {
        if let Some(bus) = &self.bus {
            bus.check(self.name, change, snapshot, circuit, now, out);
        }
    }
}

/// What a run's latency changed in the check's streak of slow runs, to log once the lock is
/// released.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Slowness {
    /// No change: not slow, or slow and already warned of.
    Same,
    /// The first slow run after one that was not, and how long it took.
    Began(Duration),
    /// The first run after a slow streak that was not slow.
    Ended(Duration),
}

impl Slowness {
    fn log<S>(self, name: &str, spec: &CheckSpec<S>) {
        let ms = |d: Duration| u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
        match self {
            Slowness::Same => {}
            Slowness::Began(latency) => tracing::warn!(
                check = name,
                latency_ms = ms(latency),
                timeout_ms = ms(spec.timeout()),
                "health check is slow: the run took more than half its timeout (warned once \
                 until a run is fast again)"
            ),
            Slowness::Ended(latency) => tracing::info!(
                check = name,
                latency_ms = ms(latency),
                timeout_ms = ms(spec.timeout()),
                "health check is no longer slow"
            ),
        }
    }
}

impl SlotInner {
    /// What the run of `result` does to the streak of slow runs (see `CheckSpec::slow_after`).
    fn slowness<S>(&mut self, spec: &CheckSpec<S>, result: &CheckResult) -> Slowness {
        let slow = result.latency > spec.slow_after();
        let change = match (self.slow, slow) {
            (false, true) => Slowness::Began(result.latency),
            (true, false) => Slowness::Ended(result.latency),
            _ => Slowness::Same,
        };
        self.slow = slow;
        change
    }

    /// What the check reports with `snapshot` as its last one: unhealthy while out of service.
    fn reported(&self, snapshot: &CheckSnapshot) -> Status {
        if self.out_of_service.is_some() {
            Status::Unhealthy
        } else {
            snapshot.status
        }
    }

    fn view(&self, now: Instant) -> SlotView {
        SlotView {
            circuit: self.breaker.circuit(now),
            out_of_service: self.out_of_service.clone(),
        }
    }

    /// Ends the run in flight with `result`: counts it, passes it through damping and the
    /// breaker, and returns the snapshot to publish.
    fn apply<S>(
        &mut self,
        spec: &CheckSpec<S>,
        result: CheckResult,
        now: Instant,
    ) -> CheckSnapshot {
        self.running_since = None;
        self.generation = self.generation.wrapping_add(1);
        if result.status == Status::Unhealthy {
            self.consecutive_failures = self.consecutive_failures.saturating_add(1);
            self.consecutive_successes = 0;
        } else {
            self.consecutive_successes = self.consecutive_successes.saturating_add(1);
            self.consecutive_failures = 0;
        }
        let reported = self.damper.push(result.status, spec.damping());
        self.breaker
            .record(self.consecutive_failures, spec.breaker(), now);
        let retry_at = self.breaker.retry_at();
        // While the circuit is open the result is fresh until the trial, and stale only if the
        // trial is a whole round late.
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
