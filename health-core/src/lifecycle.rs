//! The application's lifecycle handle: its phase (starting -> started -> ready -> draining), its
//! own liveness verdict (broken or correct), and the event stream both are published on.
//!
//! The handle also carries, type-erased, the engine of the state it belongs to: it is the one
//! value every clone of the application state shares, so the engine lives there. This module
//! knows nothing of the engine's type (`engine::engine_of` downcasts it).

use std::any::Any;
use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use tokio::sync::Notify;
use tokio::time::Instant;

use crate::events::{Bus, Change, Listener, Listening, Published, Subscription};
use crate::metrics::PhaseSeries;
use crate::phase::Phase;

// The state word: the phase in the low bits, and a latch recording that the application has
// been ready once (so the startup probe keeps passing while it drains).
const STARTING: u8 = 0;
const STARTED: u8 = 1;
const READY: u8 = 2;
const DRAINING: u8 = 3;
const PHASE_MASK: u8 = 0b011;
const WAS_READY: u8 = 0b100;

fn phase_of(word: u8) -> Phase {
    match word & PHASE_MASK {
        STARTING => Phase::Starting,
        STARTED => Phase::Started,
        READY => Phase::Ready,
        _ => Phase::Draining,
    }
}

struct Inner {
    state: AtomicU8,
    changed: Notify,
    /// Held while a transition is made and published, so events come in the order of the
    /// transitions (never across an `.await`).
    transition: Mutex<()>,
    bus: Arc<Bus>,
    /// Whether the application marked itself broken: the probe path reads this flag only.
    broken: AtomicBool,
    /// Why, while it is broken.
    broken_reason: Mutex<Option<Arc<str>>>,
    /// The engine of the state this lifecycle belongs to, created on first use.
    engine: OnceLock<Box<dyn Any + Send + Sync>>,
    /// The phase's metrics, registered with the engine (see `Lifecycle::observe_phase`).
    phase_series: OnceLock<PhaseSeries>,
    /// Set when something drives this lifecycle: a background scheduler started for it
    /// (`health_axum::serve` starts one), or a phase change.
    driven: AtomicBool,
    /// Whether the "nothing drives this lifecycle" error has been logged.
    undriven_logged: AtomicBool,
    /// Set when the server stops: long-lived answers (a gRPC `Watch`) send their last message
    /// and end, so that the connections they hold can close.
    stopping: AtomicBool,
    stopping_changed: Notify,
    created: Instant,
}

/// How long a lifecycle may stay starting, with probes arriving and nothing driving it, before
/// the mistake is logged as an error.
const UNDRIVEN_GRACE: Duration = Duration::from_secs(3);

/// The lifecycle handle of an application: a cheap, cloneable handle to one shared phase, to
/// the application's own liveness verdict, to the latest result of every check (the snapshots
/// the probes answer from) and to the stream of their changes.
///
/// Clones share all of it, so the copy inside each clone of the app state sees every
/// transition. Reading the phase is one atomic load.
///
/// Transitions only go forward: `starting -> started -> ready -> draining`
/// (draining may be entered from any phase).
#[derive(Clone)]
pub struct Lifecycle {
    inner: Arc<Inner>,
}

impl Default for Lifecycle {
    fn default() -> Self {
        Lifecycle::new()
    }
}

impl fmt::Debug for Lifecycle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Lifecycle")
            .field("phase", &self.phase())
            .field("broken", &self.broken())
            .finish()
    }
}

impl Lifecycle {
    /// A new lifecycle in [`Phase::Starting`].
    pub fn new() -> Self {
        Lifecycle {
            inner: Arc::new(Inner {
                state: AtomicU8::new(STARTING),
                changed: Notify::new(),
                transition: Mutex::new(()),
                bus: Arc::new(Bus::new()),
                broken: AtomicBool::new(false),
                broken_reason: Mutex::new(None),
                engine: OnceLock::new(),
                phase_series: OnceLock::new(),
                driven: AtomicBool::new(false),
                undriven_logged: AtomicBool::new(false),
                stopping: AtomicBool::new(false),
                stopping_changed: Notify::new(),
                created: Instant::now(),
            }),
        }
    }

    /// The current phase.
    pub fn phase(&self) -> Phase {
        phase_of(self.inner.state.load(Ordering::Acquire))
    }

    /// Whether the application has been ready at least once (it may be draining now).
    pub fn has_been_ready(&self) -> bool {
        self.inner.state.load(Ordering::Acquire) & WAS_READY != 0
    }

    /// Declares start-up work done: `starting -> started`. From then on the startup probe passes
    /// as soon as every `startup` check passes. Returns whether the phase changed.
    ///
    /// `health_axum::serve` calls this when it starts listening.
    pub fn mark_started(&self) -> bool {
        self.advance(|s| (s & PHASE_MASK == STARTING).then_some(STARTED))
    }

    /// `started -> ready`. The probes call this once every `startup` check has passed; call it
    /// yourself only to skip the startup checks. Returns whether the phase changed.
    pub fn mark_ready(&self) -> bool {
        self.advance(|s| (s & PHASE_MASK == STARTED).then_some(READY | WAS_READY))
    }

    /// Enters [`Phase::Draining`] from any phase: readiness fails from now on.
    /// Returns whether the phase changed.
    pub fn begin_drain(&self) -> bool {
        self.advance(|s| (s & PHASE_MASK != DRAINING).then_some((s & WAS_READY) | DRAINING))
    }

    /// Whether the application is draining.
    pub fn is_draining(&self) -> bool {
        self.phase() == Phase::Draining
    }

    /// Declares that the server stops: the drain is over, no new connection is accepted, and
    /// what is in flight is given until the shutdown timeout. Long-lived answers end now, with
    /// their last word (a gRPC health `Watch` sends `NOT_SERVING` and ends its stream), so that
    /// the connections they hold can close. `health_axum::serve` calls this when its drain
    /// delay is over. The phase does not change. Returns whether this call made the change.
    pub fn begin_stop(&self) -> bool {
        let first = !self.inner.stopping.swap(true, Ordering::AcqRel);
        if first {
            self.inner.stopping_changed.notify_waiters();
        }
        first
    }

    /// Whether [`Lifecycle::begin_stop`] was called.
    pub fn is_stopping(&self) -> bool {
        self.inner.stopping.load(Ordering::Acquire)
    }

    /// Waits until [`Lifecycle::begin_stop`] is called.
    pub async fn stopping(&self) {
        loop {
            let notified = self.inner.stopping_changed.notified();
            if self.is_stopping() {
                return;
            }
            notified.await;
        }
    }

    /// Waits until the phase is `phase` or later in the order starting, started, ready, draining.
    pub async fn reached(&self, phase: Phase) {
        loop {
            let notified = self.inner.changed.notified();
            if self.phase().rank() >= phase.rank() {
                return;
            }
            notified.await;
        }
    }

    /// Marks the application broken: the liveness probe (and the full report) fails with
    /// `reason` until [`Lifecycle::mark_correct`], whatever the checks say, so the kubelet
    /// restarts the container. For a state no check can see: a worker pool that lost its last
    /// thread, a cache found poisoned. Readiness is not affected.
    ///
    /// Returns whether the verdict changed (a second call with another reason updates the
    /// reason and returns `false`). Each change, of the verdict or of the reason, is published
    /// on the event stream.
    pub fn mark_broken(&self, reason: impl Into<Arc<str>>) -> bool {
        self.set_broken(Some(reason.into()))
    }

    /// Marks the application correct again after [`Lifecycle::mark_broken`]: liveness follows its
    /// checks again. Returns whether the verdict changed.
    pub fn mark_correct(&self) -> bool {
        self.set_broken(None)
    }

    /// Why the application marked itself broken, if it did.
    pub fn broken(&self) -> Option<Arc<str>> {
        if !self.inner.broken.load(Ordering::Acquire) {
            return None;
        }
        self.broken_reason().clone()
    }

    /// A subscription to every change published from now on: each check's reported status,
    /// circuit and service state, the phase, and the liveness verdict. See [`crate::events`].
    pub fn subscribe(&self) -> Subscription {
        self.inner.bus.subscribe()
    }

    /// Runs `listener` on a task of its own with every change published from now on (a closure
    /// `|event: &Event| ...` will do). A slow listener delays only itself.
    ///
    /// # Panics
    /// If called outside a Tokio runtime.
    pub fn listen(&self, listener: impl Listener) -> Listening {
        crate::events::spawn_listener(self.subscribe(), listener)
    }

    pub(crate) fn bus(&self) -> &Arc<Bus> {
        &self.inner.bus
    }

    /// Where the engine of the state this lifecycle belongs to is kept.
    pub(crate) fn engine_cell(&self) -> &OnceLock<Box<dyn Any + Send + Sync>> {
        &self.inner.engine
    }

    /// Registers the phase's metrics (feature `metrics`) and records the phase now; every
    /// transition records it from then on. Called when the state's engine is created (its first
    /// probe or the start of its scheduler), after the application installed its exporter.
    pub(crate) fn observe_phase(&self) {
        let _transition = self.transition();
        self.inner
            .phase_series
            .get_or_init(PhaseSeries::new)
            .set(self.phase());
    }

    /// Records that something drives this lifecycle (a scheduler runs for it).
    pub(crate) fn mark_driven(&self) {
        self.inner.driven.store(true, Ordering::Release);
    }

    /// Whether this lifecycle, still starting, has been left undriven past a short grace: no
    /// `serve`, no scheduler, no phase change. It most likely belongs to a second copy of the
    /// state, built apart from the one given to `serve`, and would answer 503 forever. The first
    /// time this is found, it is logged as an error.
    pub(crate) fn is_undriven(&self) -> bool {
        if self.inner.driven.load(Ordering::Acquire)
            || self.inner.created.elapsed() < UNDRIVEN_GRACE
        {
            return false;
        }
        self.log_undriven();
        true
    }

    #[cold]
    fn log_undriven(&self) {
        if !self.inner.undriven_logged.swap(true, Ordering::Relaxed) {
            tracing::error!(
                "health probes are answered for a state whose lifecycle nothing starts: no \
                 `health_axum::serve` (and no `start_scheduler`) runs for it, so every probe \
                 answers 503 \"the application has not started\" for the life of the process. \
                 Most likely the state was built twice, one copy for the router and another for \
                 `serve`: build it once and pass clones of it to both `.with_state(...)` and \
                 `serve(...)`. If you serve the probe routes yourself, call \
                 `health_axum::start_scheduler(&state)` when serving starts and \
                 `lifecycle.mark_started()` when start-up is done."
            );
        }
    }

    fn broken_reason(&self) -> std::sync::MutexGuard<'_, Option<Arc<str>>> {
        // Never poisoned: nothing that can panic runs under it. Recover the data if it ever is.
        self.inner
            .broken_reason
            .lock()
            .unwrap_or_else(|e| e.into_inner())
    }

    /// Sets the verdict; publishes any change of it, or of the reason while broken.
    fn set_broken(&self, reason: Option<Arc<str>>) -> bool {
        let mut published = Published::default();
        let transition = self.transition();
        let mut current = self.broken_reason();
        let changed = current.is_some() != reason.is_some();
        let republish = *current != reason;
        *current = reason.clone();
        self.inner
            .broken
            .store(current.is_some(), Ordering::Release);
        drop(current);
        if republish {
            let change = Change::Liveness { broken: reason };
            self.inner
                .bus
                .application(change, Instant::now(), &mut published);
        }
        drop(transition);
        published.log();
        changed
    }

    fn transition(&self) -> std::sync::MutexGuard<'_, ()> {
        self.inner
            .transition
            .lock()
            .unwrap_or_else(|e| e.into_inner())
    }

    fn advance(&self, step: impl Fn(u8) -> Option<u8>) -> bool {
        let mut published = Published::default();
        let transition = self.transition();
        let Ok(before) = self
            .inner
            .state
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, &step)
        else {
            return false;
        };
        self.mark_driven();
        if let Some(series) = self.inner.phase_series.get() {
            series.set(self.phase());
        }
        let change = Change::Phase {
            from: phase_of(before),
            to: self.phase(),
        };
        self.inner
            .bus
            .application(change, Instant::now(), &mut published);
        drop(transition);
        self.inner.changed.notify_waiters();
        published.log();
        true
    }
}

/// Types that can serve as the `#[health(lifecycle)]` field of a health state.
#[diagnostic::on_unimplemented(
    message = "`#[health(lifecycle)]` field has type `{Self}`, not `Lifecycle`",
    label = "expected `Lifecycle` here",
    note = "declare the field as `#[health(lifecycle)] lifecycle: health_axum::Lifecycle` and create it with `Lifecycle::new()`"
)]
pub trait AsLifecycle {
    /// The lifecycle handle.
    fn as_lifecycle(&self) -> &Lifecycle;
}

impl AsLifecycle for Lifecycle {
    fn as_lifecycle(&self) -> &Lifecycle {
        self
    }
}

impl AsLifecycle for Arc<Lifecycle> {
    fn as_lifecycle(&self) -> &Lifecycle {
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transitions_go_forward_only() {
        let l = Lifecycle::new();
        assert_eq!(l.phase(), Phase::Starting);
        assert!(!l.mark_ready(), "cannot be ready before started");
        assert!(l.mark_started());
        assert!(!l.mark_started());
        assert_eq!(l.phase(), Phase::Started);
        assert!(!l.has_been_ready());
        assert!(l.mark_ready());
        assert!(l.has_been_ready());
        assert!(l.begin_drain());
        assert!(!l.begin_drain());
        assert_eq!(l.phase(), Phase::Draining);
        assert!(l.has_been_ready(), "draining keeps the ready latch");
        assert!(!l.mark_started());
        assert!(!l.mark_ready());
    }

    #[test]
    fn clones_share_the_phase() {
        let a = Lifecycle::new();
        let b = a.clone();
        a.mark_started();
        assert_eq!(b.phase(), Phase::Started);
    }

    #[test]
    fn draining_before_ready_does_not_set_the_latch() {
        let l = Lifecycle::new();
        l.begin_drain();
        assert_eq!(l.phase(), Phase::Draining);
        assert!(!l.has_been_ready());
    }

    #[tokio::test]
    async fn reached_wakes_on_transition() {
        let l = Lifecycle::new();
        let waiter = tokio::spawn({
            let l = l.clone();
            async move { l.reached(Phase::Draining).await }
        });
        tokio::task::yield_now().await;
        l.begin_drain();
        tokio::time::timeout(std::time::Duration::from_secs(2), waiter)
            .await
            .expect("waiter woke")
            .unwrap();
    }
}
