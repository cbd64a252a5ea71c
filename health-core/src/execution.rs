//! Execution: one run of one check, as a task of its own, under its timeout, with its panic
//! isolated and its latency measured (and `degraded_ms` applied). Nothing here knows of slots,
//! damping or probes.

use std::any::Any;
use std::borrow::Cow;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::task::{JoinError, JoinHandle};
use tokio::time::error::Elapsed;
use tokio::time::Instant;
use tracing::Instrument;

use crate::outcome::CheckOutcome;
use crate::result::{CheckResult, RunEnd};
use crate::spec::{BoxFuture, CheckSpec};
use crate::state::HealthState;
use crate::status::Status;
use crate::time::run_deadline;

/// Cancels a spawned check when the caller stops waiting for it (timeout or dropped request).
struct AbortOnDrop<T>(JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// How a run's task ended by itself: the check's outcome, its panic, or its timeout; and when.
type Ran = (Result<Result<CheckOutcome, Panic>, Elapsed>, Duration);

/// A panic's payload.
type Panic = Box<dyn Any + Send>;

/// A check started on the runtime, not yet awaited.
struct Started<'a, S> {
    spec: &'a CheckSpec<S>,
    begun: Instant,
    task: AbortOnDrop<Ran>,
    /// The run's span: entered around every poll of the check, given the outcome at the end.
    span: tracing::Span,
}

/// The name of the `tracing` span of each check run, at level `INFO`, a root span (no parent).
/// Its fields: `check` (the check's name), and once the run is over `outcome` (as
/// [`RunEnd::as_str`]: `healthy`, `degraded`, `unhealthy`, `timed_out`, `panicked`,
/// `cancelled`) and `latency_ms`. It is entered around every poll of the check, so an event a
/// check (or the client it calls) emits carries the check's name.
pub const CHECK_SPAN_NAME: &str = "health_check";

tokio::task_local! {
    /// When the run of the check on this task is cut (see [`check_deadline`]).
    static DEADLINE: Instant;
}

/// The instant at which the check run in progress on this task is cut at its timeout, or `None`
/// outside a check run.
///
/// A check needs it only to report something better than "timed out" before it is cut: the
/// built-in pool check gives up waiting for a pooled connection halfway to the deadline and
/// uses the rest to find out why none came (the database refuses connections, say).
///
/// ```
/// # async fn example() -> health_core::CheckOutcome {
/// use health_core::{check_deadline, CheckOutcome};
///
/// let budget = check_deadline()
///     .map(|deadline| deadline.saturating_duration_since(tokio::time::Instant::now()));
/// CheckOutcome::healthy()
/// # }
/// ```
pub fn check_deadline() -> Option<Instant> {
    DEADLINE.try_with(|deadline| *deadline).ok()
}

fn start<'a, S: HealthState>(spec: &'a CheckSpec<S>, state: &S) -> Started<'a, S> {
    // Tokio's clock, not the system's: the deadline below is awaited on it, and a test on the
    // paused clock sees its runs start, time out and take as long as its virtual time says.
    let begun = Instant::now();
    let run = spec.run_fn();
    let state = state.clone();
    let deadline = run_deadline(begun, spec.timeout());
    // A root span: a run serves every caller waiting on it (single flight), so it belongs to
    // none of their requests. `Instrument` enters it around every poll of the check, so what a
    // database client logs inside the check carries the check's name.
    let span = tracing::info_span!(
        parent: None,
        CHECK_SPAN_NAME,
        check = spec.name(),
        outcome = tracing::field::Empty,
        latency_ms = tracing::field::Empty,
    );
    // The task ends itself at its deadline and catches its own panic: each run is judged when
    // it ends, whenever its caller awaits it (`run_checks` awaits them one after the other).
    let task = tokio::spawn(
        DEADLINE
            .scope(deadline, async move {
                let ran = tokio::time::timeout_at(deadline, CatchPanic(run(&state))).await;
                (ran, begun.elapsed())
            })
            .instrument(span.clone()),
    );
    Started {
        spec,
        begun,
        task: AbortOnDrop(task),
        span,
    }
}

async fn finish<S>(started: Started<'_, S>) -> CheckResult {
    let Started {
        spec,
        begun,
        mut task,
        span,
    } = started;
    let awaited = tokio::time::timeout_at(run_deadline(begun, spec.timeout()), &mut task.0).await;
    let (outcome, latency, ended) = judged(awaited, spec, begun);
    let (mut status, mut message, details) = outcome.into_parts();
    if status == Status::Healthy {
        if let Some(limit) = spec.degraded_after() {
            if latency > limit {
                status = Status::Degraded;
                message = Some(Cow::Owned(format!(
                    "slow: took {} ms, above degraded_ms = {}",
                    latency.as_millis(),
                    limit.as_millis()
                )));
            }
        }
    }
    let end = ended.unwrap_or(RunEnd::returned(status));
    span.record("outcome", end.as_str());
    span.record(
        "latency_ms",
        u64::try_from(latency.as_millis()).unwrap_or(u64::MAX),
    );
    CheckResult {
        name: spec.name(),
        critical: spec.is_critical(),
        probes: spec.probes(),
        status,
        latency,
        message,
        details,
        end,
    }
}

/// What a run's task came to: the check's outcome and latency, and how the run ended when the
/// check returned no outcome of its own (`None`: it returned one).
fn judged<S>(
    awaited: Result<Result<Ran, JoinError>, Elapsed>,
    spec: &CheckSpec<S>,
    begun: Instant,
) -> (CheckOutcome, Duration, Option<RunEnd>) {
    let timed_out = |latency| {
        let message = format!("timed out after {} ms", spec.timeout().as_millis());
        (
            CheckOutcome::unhealthy(message),
            latency,
            Some(RunEnd::TimedOut),
        )
    };
    match awaited {
        Ok(Ok((Ok(Ok(outcome)), latency))) => (outcome, latency, None),
        Ok(Ok((Ok(Err(panic)), latency))) => panicked(panic.as_ref(), latency),
        // Cut at its deadline: it took its timeout (the measured time adds only the timer's
        // lateness and the drop of the check's future).
        Ok(Ok((Err(_), _))) => timed_out(spec.timeout()),
        // A panic outside a poll of the check: when its future (or a guard in it) is dropped.
        Ok(Err(error)) if error.is_panic() => {
            panicked(error.into_panic().as_ref(), begun.elapsed())
        }
        // Cancelled: the runtime is shutting down.
        Ok(Err(_)) => (
            CheckOutcome::unhealthy("check was cancelled"),
            begun.elapsed(),
            Some(RunEnd::Cancelled),
        ),
        // The task did not end itself at its deadline (the runtime too busy to run it).
        Err(_) => timed_out(begun.elapsed()),
    }
}

/// The outcome of a run that panicked after `latency`.
fn panicked(
    payload: &(dyn Any + Send),
    latency: Duration,
) -> (CheckOutcome, Duration, Option<RunEnd>) {
    let message = format!("check panicked: {}", panic_message(payload));
    (
        CheckOutcome::unhealthy(message),
        latency,
        Some(RunEnd::Panicked),
    )
}

/// A check's future, polled with its panic caught: the run's task then ends with the panic's
/// payload at the moment it happened (the panic hook still reports it as any panic).
struct CatchPanic<'a>(BoxFuture<'a, CheckOutcome>);

impl Future for CatchPanic<'_> {
    type Output = Result<CheckOutcome, Panic>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let future = &mut self.get_mut().0;
        // Unwind safety: after a panic the future is dropped, never polled again.
        match std::panic::catch_unwind(AssertUnwindSafe(|| future.as_mut().poll(cx))) {
            Ok(Poll::Pending) => Poll::Pending,
            Ok(Poll::Ready(outcome)) => Poll::Ready(Ok(outcome)),
            Err(panic) => Poll::Ready(Err(panic)),
        }
    }
}

fn panic_message(payload: &(dyn Any + Send)) -> &str {
    if let Some(s) = payload.downcast_ref::<&'static str>() {
        s
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s
    } else {
        "non-string panic payload"
    }
}

/// Runs one check under its timeout, isolating panics, and applies `degraded_ms`.
///
/// The check runs as its own task on the Tokio runtime: a panic inside it becomes an unhealthy
/// result and a check that overruns its timeout is cancelled.
pub async fn run_check<S: HealthState>(spec: &CheckSpec<S>, state: &S) -> CheckResult {
    finish(start(spec, state)).await
}

/// Runs every check for which `select` returns true, all at once, and returns their results in
/// registry order.
///
/// The answer never waits longer than the slowest selected check's timeout (plus scheduling).
pub async fn run_checks<S: HealthState>(
    state: &S,
    select: impl Fn(&CheckSpec<S>) -> bool,
) -> Vec<CheckResult> {
    // Start them all before awaiting any, so they run concurrently.
    let started: Vec<_> = S::CHECKS
        .iter()
        .filter(|spec| select(spec))
        .map(|spec| start(spec, state))
        .collect();
    let mut results = Vec::with_capacity(started.len());
    for check in started {
        results.push(finish(check).await);
    }
    results
}
