//! The application's lifecycle: starting -> started -> ready -> draining.

use std::borrow::Cow;
use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use tokio::sync::Notify;
use tokio::time::Instant;

use crate::engine::Engine;
use crate::HealthState;

/// Where the application is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Phase {
    /// Start-up work is under way: the startup and readiness probes fail, liveness passes.
    Starting,
    /// The application declared itself started; the `startup` checks decide when it is ready.
    Started,
    /// Started and every `startup` check passed once: readiness follows the readiness checks.
    Ready,
    /// Shutting down: readiness fails so the Service stops routing here, requests are still served.
    Draining,
}

impl Phase {
    /// The lowercase name: `starting`, `started`, `ready` or `draining`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Phase::Starting => "starting",
            Phase::Started => "started",
            Phase::Ready => "ready",
            Phase::Draining => "draining",
        }
    }
}

impl fmt::Display for Phase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl serde::Serialize for Phase {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

// The state word: the phase in the low bits, and a latch recording that the application has
// been ready once (so the startup probe keeps passing while it drains).
const STARTING: u8 = 0;
const STARTED: u8 = 1;
const READY: u8 = 2;
const DRAINING: u8 = 3;
const PHASE_MASK: u8 = 0b011;
const WAS_READY: u8 = 0b100;

struct Inner {
    state: AtomicU8,
    changed: Notify,
    engine: OnceLock<Arc<Engine>>,
    /// Set when something drives this lifecycle: a background scheduler started for it
    /// (`health_axum::serve` starts one), or a phase change.
    driven: AtomicBool,
    /// Whether the "nothing drives this lifecycle" error has been logged.
    undriven_logged: AtomicBool,
    created: Instant,
}

/// Why a probe fails while the application is starting.
pub(crate) const REASON_NOT_STARTED: &str = "the application has not started";

/// Why a probe fails while the application is starting and nothing will ever start it.
pub(crate) const REASON_NOT_DRIVEN: &str = "the application has not started, and nothing will \
     start it: no `serve` (or `start_scheduler`) runs for this state; build the state once and \
     pass clones of it to both the router and `serve`";

/// How long a lifecycle may stay starting, with probes arriving and nothing driving it, before
/// the mistake is logged as an error.
const UNDRIVEN_GRACE: Duration = Duration::from_secs(3);

/// The lifecycle handle of an application: a cheap, cloneable handle to one shared phase, and to
/// the latest result of every check (the snapshots the probes answer from).
///
/// Clones share the phase and the results, so the copy inside each clone of the app state sees
/// every transition. Reading the phase is one atomic load.
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
                engine: OnceLock::new(),
                driven: AtomicBool::new(false),
                undriven_logged: AtomicBool::new(false),
                created: Instant::now(),
            }),
        }
    }

    /// The current phase.
    pub fn phase(&self) -> Phase {
        match self.inner.state.load(Ordering::Acquire) & PHASE_MASK {
            STARTING => Phase::Starting,
            STARTED => Phase::Started,
            READY => Phase::Ready,
            _ => Phase::Draining,
        }
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

    /// Waits until the phase is `phase` or later in the order starting, started, ready, draining.
    pub async fn reached(&self, phase: Phase) {
        let rank = |p: Phase| match p {
            Phase::Starting => 0,
            Phase::Started => 1,
            Phase::Ready => 2,
            Phase::Draining => 3,
        };
        loop {
            let notified = self.inner.changed.notified();
            if rank(self.phase()) >= rank(phase) {
                return;
            }
            notified.await;
        }
    }

    /// Records that something drives this lifecycle (a scheduler runs for it).
    pub(crate) fn mark_driven(&self) {
        self.inner.driven.store(true, Ordering::Release);
    }

    /// Why a probe fails while the phase is starting. A lifecycle that nothing drives (no
    /// `serve`, no scheduler, no phase change yet) most likely belongs to a second copy of the
    /// state, built apart from the one given to `serve`: it would answer 503 forever. After a
    /// short grace, the reason says so, and the first such probe logs it as an error, once.
    pub(crate) fn starting_reason(&self) -> &'static str {
        if self.inner.driven.load(Ordering::Acquire)
            || self.inner.created.elapsed() < UNDRIVEN_GRACE
        {
            return REASON_NOT_STARTED;
        }
        self.log_undriven();
        REASON_NOT_DRIVEN
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

    fn advance(&self, step: impl Fn(u8) -> Option<u8>) -> bool {
        let changed = self
            .inner
            .state
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, &step)
            .is_ok();
        if changed {
            self.mark_driven();
            tracing::info!(phase = %self.phase(), "lifecycle phase changed");
            self.inner.changed.notify_waiters();
        }
        changed
    }
}

/// The engine (check slots) of `state`, created on first use. A lifecycle shared by two state
/// types keeps its engine for the first one; the other gets a fresh engine per call, so its
/// checks run on demand, uncached, rather than reading another type's slots.
pub(crate) fn engine_of<S: HealthState>(state: &S) -> Cow<'_, Arc<Engine>> {
    let engine = state
        .lifecycle()
        .inner
        .engine
        .get_or_init(|| Arc::new(Engine::new::<S>()));
    if engine.is_for::<S>() {
        Cow::Borrowed(engine)
    } else {
        // Said once per process, not once per probe.
        static WARNED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
        if !WARNED.swap(true, Ordering::Relaxed) {
            tracing::warn!(
                state = std::any::type_name::<S>(),
                "one Lifecycle is shared by two health state types; the checks of this one run \
                 on demand, uncached, and have no background scheduler"
            );
        }
        Cow::Owned(Arc::new(Engine::new::<S>()))
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
