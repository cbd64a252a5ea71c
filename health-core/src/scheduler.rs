//! The background scheduler: one task per check runs it on its interval and publishes the
//! result, so probes answer from a snapshot without touching any dependency.

use std::sync::Arc;

use tokio::time::Instant;

use crate::engine::{run_and_record, Begin, Engine, Slot};
use crate::{HealthState, Phase, Probe};

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
/// A check that gates only the startup probe stops being run once the application is ready: its
/// last result stays in the full report.
///
/// # Panics
/// If called outside a Tokio runtime.
pub fn start_scheduler<S: HealthState>(state: &S) -> Scheduler {
    let engine = Arc::clone(crate::lifecycle::engine_of(state).as_ref());
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

/// Marks a slot as owned by the scheduler for as long as its task lives.
struct Owned<'a>(&'a Slot);

impl Drop for Owned<'_> {
    fn drop(&mut self) {
        self.0.set_scheduled(false);
    }
}

/// One check's loop: run, record, sleep until the next interval (or until the circuit's trial).
async fn drive<S: HealthState>(state: S, engine: Arc<Engine>, index: usize) {
    let spec = &S::CHECKS[index];
    let slot = engine.slot(index);
    slot.set_scheduled(true);
    let _owned = Owned(slot);
    let startup_only = !spec.is_in(Probe::Live) && !spec.is_in(Probe::Ready);
    let gates_startup = spec.is_in(Probe::Startup);
    let lifecycle = state.lifecycle().clone();
    loop {
        if startup_only && lifecycle.has_been_ready() {
            return;
        }
        let now = Instant::now();
        let next = match slot.begin(now) {
            Begin::Run => {
                run_and_record(spec, &state, slot).await;
                now + spec.interval()
            }
            Begin::Busy { generation, since } => {
                // A probe started a run (cold cache): take its result as this round's.
                slot.wait(generation, since + spec.timeout() + spec.interval())
                    .await;
                Instant::now() + spec.interval()
            }
            Begin::OpenUntil(until) => until,
        };
        let sleep = tokio::time::sleep_until(next.max(Instant::now()));
        if gates_startup && lifecycle.phase() == Phase::Starting {
            // Start-up work is under way (e.g. migrations): the moment it completes, run again
            // instead of leaving the startup probe on a result from before it.
            tokio::select! {
                () = sleep => {}
                () = lifecycle.reached(Phase::Started) => {}
            }
        } else {
            sleep.await;
        }
    }
}
