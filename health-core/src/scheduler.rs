//! The background scheduler: one task per check runs it on its interval and publishes the
//! result, so probes answer from a snapshot without touching any dependency.

use std::borrow::Cow;
use std::sync::Arc;

use tokio::time::Instant;

use crate::engine::slot::{Begin, Slot};
use crate::engine::{engine_of, run_and_record, Claim, Engine};
use crate::lifecycle::Lifecycle;
use crate::phase::Phase;
use crate::spec::{CheckSpec, Probe};
use crate::state::HealthState;
use crate::time::{later, wait_deadline};

/// A handle to the background scheduler of one state, returned by [`start_scheduler`].
///
/// Dropping the handle does not stop the scheduler (it runs until [`Scheduler::stop`] or until
/// the Tokio runtime shuts down).
#[derive(Clone)]
pub struct Scheduler {
    engine: Arc<Engine>,
}

impl std::fmt::Debug for Scheduler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scheduler")
            .field("running", &self.is_running())
            .finish()
    }
}

impl Scheduler {
    /// Stops every check's background task. Probes then run checks on demand again (each at
    /// most once per interval, shared by concurrent probes).
    pub fn stop(&self) {
        for task in self.engine.tasks().drain(..) {
            task.abort();
        }
    }

    /// Whether any check's background task is still running.
    pub fn is_running(&self) -> bool {
        self.engine.tasks().iter().any(|task| !task.is_finished())
    }
}

/// Starts the background scheduler of `state` on the current Tokio runtime: each registered check
/// runs at once, then every `interval_ms`, under its timeout, its damping and its circuit breaker.
/// Probes then answer from the latest results.
///
/// Idempotent: a second call while the scheduler runs returns a handle to the same one.
/// `health_axum::serve` calls it; call it yourself when serving the probe routes another way.
///
/// A check that gates the startup probe is not run while the application is starting (its
/// `serve(...).startup(...)` work, such as migrations, is what it checks): its first run follows
/// the work. A check that also gates liveness is the exception, because liveness is answered at
/// all times. A check that gates only the startup probe stops being run once the application is
/// ready: its last result stays in the full report, marked retired.
///
/// # Panics
/// If called outside a Tokio runtime.
pub fn start_scheduler<S: HealthState>(state: &S) -> Scheduler {
    state.lifecycle().mark_driven();
    let engine = match engine_of(state) {
        Cow::Borrowed(engine) => Arc::clone(engine),
        // The lifecycle's results belong to another state type: a scheduler here would publish
        // results nobody reads. Probes of this state run their checks on demand instead.
        Cow::Owned(engine) => return Scheduler { engine },
    };
    {
        let mut tasks = engine.tasks();
        if !tasks.iter().any(|task| !task.is_finished()) {
            tasks.clear();
            for index in 0..S::CHECKS.len() {
                let task = tokio::spawn(drive(state.clone(), Arc::clone(&engine), index));
                tasks.push(task.abort_handle());
            }
        }
    }
    Scheduler { engine }
}

/// Marks a slot as owned by one scheduler task for as long as that task lives. A task stopped
/// and replaced at once does not clear its successor's mark (each task has its own epoch).
struct Owned<'a> {
    slot: &'a Slot,
    epoch: u64,
}

impl Drop for Owned<'_> {
    fn drop(&mut self) {
        self.slot.disown(self.epoch);
    }
}

/// One check's loop: run, record, sleep until the next interval (or until the circuit's trial,
/// whichever comes first).
async fn drive<S: HealthState>(state: S, engine: Arc<Engine>, index: usize) {
    let spec = &S::CHECKS[index];
    let slot = engine.slot(index);
    let _owned = Owned {
        slot,
        epoch: slot.own(),
    };
    let startup_only = !spec.is_in(Probe::Live) && !spec.is_in(Probe::Ready);
    // Checks the start-up work: not run while it is under way (liveness needs its own checks
    // at all times, so a check that also gates liveness is not held).
    let held_while_starting = spec.is_in(Probe::Startup) && !spec.is_in(Probe::Live);
    let lifecycle = state.lifecycle().clone();
    loop {
        if held_while_starting && lifecycle.phase() == Phase::Starting {
            lifecycle.reached(Phase::Started).await;
            // The world changed: a circuit opened before the work ended must not hold the
            // startup probe on a result from before it.
            slot.retry_now(Instant::now());
        }
        if startup_only && (lifecycle.has_been_ready() || lifecycle.phase() == Phase::Draining) {
            // Start-up is over (or was abandoned): nobody will read a new result.
            slot.retire();
            return;
        }
        let now = Instant::now();
        let next = match slot.begin(now) {
            Begin::Run => {
                run_and_record(Claim::new(&engine, index), &state).await;
                next_round(spec, slot, now)
            }
            Begin::Busy { generation, since } => {
                // A probe started a run (cold cache): take its result as this round's.
                slot.wait(generation, wait_deadline(since, spec.timeout()))
                    .await;
                next_round(spec, slot, Instant::now())
            }
            Begin::OpenUntil(until) => open_round(spec, slot, now, until),
        };
        sleep_until(spec, slot, &lifecycle, next).await;
    }
}

/// A round at `now` that the open circuit refused (its trial is due at `until`): the next round
/// is the trial if it comes before the round after this one, and this round is then the trial,
/// delayed (the breaker's back-off runs from the end of the run that opened it, the rounds from
/// the start of each run); otherwise this round is skipped, and counted as such
/// (`skipped_circuit_open`), and the next is one interval later. With a zero interval, which
/// only a hand-built spec can have, it sleeps until the trial instead of waking at every tick.
fn open_round<S>(spec: &CheckSpec<S>, slot: &Slot, now: Instant, until: Instant) -> Instant {
    let next = later(now, spec.interval());
    if until <= next || spec.interval().is_zero() {
        return until;
    }
    slot.skipped();
    next
}

/// The next round after a run at `now`: one interval later, or the breaker's trial if that is
/// sooner (a back-off shorter than the interval).
fn next_round<S>(spec: &CheckSpec<S>, slot: &Slot, now: Instant) -> Instant {
    let next = later(now, spec.interval());
    slot.retry_at().map_or(next, |retry| next.min(retry))
}

/// Sleeps until `next`. A startup check that liveness needs runs during the start-up work; the
/// moment the work completes, it runs again instead of leaving the startup probe on an older
/// result.
async fn sleep_until<S>(spec: &CheckSpec<S>, slot: &Slot, lifecycle: &Lifecycle, next: Instant) {
    let sleep = tokio::time::sleep_until(next.max(Instant::now()));
    if spec.is_in(Probe::Startup) && lifecycle.phase() == Phase::Starting {
        tokio::select! {
            () = sleep => {}
            () = lifecycle.reached(Phase::Started) => slot.retry_now(Instant::now()),
        }
    } else {
        sleep.await;
    }
}
