//! The per-state engine: one [`slot::Slot`] per registered check, the single flight that starts
//! a run of a check at most once at a time, and the runs themselves (executed by
//! [`crate::execution`], recorded in the slot). Damping and the circuit breaker are pure state
//! machines of their own ([`damping`], [`breaker`]).

pub(crate) mod breaker;
pub(crate) mod damping;
pub(crate) mod slot;

use std::any::TypeId;
use std::borrow::Cow;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::task::AbortHandle;
use tokio::time::Instant;

use crate::events::Bus;
use crate::execution::run_check;
use crate::metrics::CheckSeries;
use crate::state::HealthState;
use crate::time::wait_deadline;
use slot::{Begin, Read, Slot};

/// Every check slot of one state type. Kept in the state's lifecycle, so every clone of the
/// state shares it.
pub(crate) struct Engine {
    state_type: TypeId,
    slots: Box<[Slot]>,
    tasks: Mutex<Vec<AbortHandle>>,
}

impl Engine {
    /// The engine of `state`, publishing on its lifecycle's event stream.
    fn new<S: HealthState>(state: &S) -> Engine {
        state.lifecycle().observe_phase();
        Engine::with_bus::<S>(Some(state.lifecycle().bus()))
    }

    /// An engine whose slots publish nothing (see [`engine_of`]).
    fn detached<S: HealthState>() -> Engine {
        Engine::with_bus::<S>(None)
    }

    fn with_bus<S: HealthState>(bus: Option<&Arc<Bus>>) -> Engine {
        Engine {
            state_type: TypeId::of::<S>(),
            slots: S::CHECKS
                .iter()
                .map(|spec| {
                    // A detached engine publishes nothing, and records no metrics either.
                    let series = bus.map(|_| CheckSeries::new(spec.name(), spec.probes()));
                    Slot::new(spec.name(), bus.map(Arc::clone), series)
                })
                .collect(),
            tasks: Mutex::new(Vec::new()),
        }
    }

    fn is_for<S: 'static>(&self) -> bool {
        self.state_type == TypeId::of::<S>()
    }

    pub(crate) fn slot(&self, index: usize) -> &Slot {
        &self.slots[index]
    }

    /// The handles of the scheduler's tasks.
    pub(crate) fn tasks(&self) -> MutexGuard<'_, Vec<AbortHandle>> {
        self.tasks.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The probe path for check `index`: [`Slot::read`], and if the read claimed a run, the run
    /// started on its own task (it completes and is recorded even if the probe request is
    /// dropped, and every concurrent probe waits on it instead of starting another).
    pub(crate) fn read<S: HealthState>(
        self: &Arc<Self>,
        index: usize,
        state: &S,
        now: Instant,
        latched: bool,
    ) -> Read {
        let read = self.slot(index).read(&S::CHECKS[index], now, latched);
        if let Read::Start { .. } = read {
            spawn_run(Claim::new(self, index), state);
        }
        read
    }
}

/// The engine (check slots) of `state`, created on first use. A lifecycle shared by two state
/// types keeps its engine for the first one; the other gets a fresh engine per call, so its
/// checks run on demand, uncached, rather than reading another type's slots. That engine is
/// detached from the event stream: its every run would be a "first result", once per probe.
pub(crate) fn engine_of<S: HealthState>(state: &S) -> Cow<'_, Arc<Engine>> {
    let cell = state.lifecycle().engine_cell();
    let any = cell.get_or_init(|| Box::new(Arc::new(Engine::new(state))));
    match any.downcast_ref::<Arc<Engine>>() {
        Some(engine) if engine.is_for::<S>() => Cow::Borrowed(engine),
        _ => {
            // Said once per process, not once per probe.
            static WARNED: AtomicBool = AtomicBool::new(false);
            if !WARNED.swap(true, Ordering::Relaxed) {
                tracing::warn!(
                    state = std::any::type_name::<S>(),
                    "one Lifecycle is shared by two health state types; the checks of this one \
                     run on demand, uncached, and have no background scheduler"
                );
            }
            Cow::Owned(Arc::new(Engine::detached::<S>()))
        }
    }
}

/// The right to run one check once, taken with [`Slot::begin`] returning [`Begin::Run`] (or a
/// read returning `Read::Start`). It is created before the run is spawned, so a run that is
/// dropped at any point, even before its task was first polled (a runtime shutting down), ends
/// without a result instead of leaving the slot marked as running forever.
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

/// Runs every check of `state` now (joining a run already in flight instead of starting a
/// second one) and records the results, as the scheduler would; a check whose circuit is open
/// is left alone. Returns when every result is recorded.
///
/// Useful after changing something a check depends on (maintenance, tests), to avoid waiting
/// for the next interval. The results still go through damping.
pub async fn refresh<S: HealthState>(state: &S) {
    let engine = engine_of(state);
    let engine = engine.as_ref();
    let now = Instant::now();
    let mut waits = Vec::with_capacity(S::CHECKS.len());
    for index in 0..S::CHECKS.len() {
        let slot = engine.slot(index);
        match slot.begin(now) {
            Begin::Run => {
                let generation = slot.generation();
                spawn_run(Claim::new(engine, index), state);
                waits.push((index, generation, now));
            }
            Begin::Busy { generation, since } => waits.push((index, generation, since)),
            Begin::OpenUntil(_) => {}
        }
    }
    for (index, generation, since) in waits {
        let deadline = wait_deadline(since, S::CHECKS[index].timeout());
        engine.slot(index).wait(generation, deadline).await;
    }
}
#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};

    use std::time::Duration;

    use super::*;
    use crate::evaluation::report::Scope;
    use crate::lifecycle::Lifecycle;
    use crate::outcome::CheckOutcome;
    use crate::scheduler::start_scheduler;
    use crate::snapshot::Circuit;
    use crate::spec::{BoxFuture, CheckSpec, Probe};
    use crate::status::Status;

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
        tokio::time::advance(Duration::from_secs(3600)).await;
        let engine = engine_of(state);
        engine.slot(0).current(Instant::now()).unwrap().0.status
    }

    // One test drives the scripted check through every case, so the statics are not shared. On
    // the paused clock: damping counts results, whatever time passes between them.
    #[tokio::test(start_paused = true)]
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
        let report = crate::evaluation::evaluate(&probed, Scope::Probe(Probe::Ready)).await;
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
        let engine = engine_of(&state);
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
        let engine = engine_of(&state).into_owned();
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
        let engine = engine_of(&state).into_owned();
        let slot = engine.slot(0);
        let old = slot.own();
        let new = slot.own();
        slot.disown(old);
        assert!(slot.is_scheduled(), "the new owner keeps the slot");
        slot.disown(new);
        assert!(!slot.is_scheduled());
    }
}
