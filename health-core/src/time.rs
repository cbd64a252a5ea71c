//! Deadlines, computed one way: saturating instead of panicking, because a check may be
//! configured with a huge interval, timeout or back-off to mean "practically never".

use std::time::Duration;

use tokio::time::Instant;

/// How long past a run's timeout a waiter keeps waiting for its result (task scheduling slack).
pub(crate) const WAIT_SLACK: Duration = Duration::from_millis(250);

/// `t + d`, saturating at a far future instead of panicking on overflow.
pub(crate) fn later(t: Instant, d: Duration) -> Instant {
    t.checked_add(d).unwrap_or_else(|| far_future(t))
}

/// About thirty years after `t` (what Tokio itself uses for "never").
pub(crate) fn far_future(t: Instant) -> Instant {
    const THIRTY_YEARS: Duration = Duration::from_secs(86_400 * 365 * 30);
    t.checked_add(THIRTY_YEARS).unwrap_or(t)
}

/// When a run begun at `begun` is cut: at its timeout.
pub(crate) fn run_deadline(begun: Instant, timeout: Duration) -> Instant {
    later(begun, timeout)
}

/// Until when a caller waits for the result of a run begun at `begun`: its timeout, plus the
/// slack the runtime needs to record the result.
pub(crate) fn wait_deadline(begun: Instant, timeout: Duration) -> Instant {
    later(begun, timeout.saturating_add(WAIT_SLACK))
}

/// When a run began, given the deadline [`wait_deadline`] computed for it (or `now`, if that
/// would be before the clock's origin).
pub(crate) fn begun_before(deadline: Instant, timeout: Duration, now: Instant) -> Instant {
    deadline
        .checked_sub(timeout.saturating_add(WAIT_SLACK))
        .unwrap_or(now)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn deadlines_saturate_and_invert() {
        let now = Instant::now();
        assert!(later(now, Duration::MAX) > now + Duration::from_secs(86_400 * 365 * 29));
        let timeout = Duration::from_millis(500);
        let deadline = wait_deadline(now, timeout);
        assert_eq!(deadline - now, timeout + WAIT_SLACK);
        assert_eq!(begun_before(deadline, timeout, now), now);
        assert_eq!(run_deadline(now, timeout) - now, timeout);
        assert!(wait_deadline(now, Duration::MAX) > now);
    }
}
