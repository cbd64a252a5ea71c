//! The circuit breaker, a pure state machine over Tokio's clock: closed until enough consecutive
//! failed runs, then open (the check is not run) for a back-off that doubles with each failed
//! trial, then half-open for exactly one trial run.

use tokio::time::Instant;

use crate::snapshot::Circuit;
use crate::spec::Breaker;
use crate::time::later;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Closed,
    Open { until: Instant },
    HalfOpen,
}

/// The breaker state of one check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct CircuitBreaker {
    state: State,
    /// How many times in a row the circuit opened (1 = the first time).
    opens: u32,
}

impl Default for CircuitBreaker {
    fn default() -> Self {
        CircuitBreaker {
            state: State::Closed,
            opens: 0,
        }
    }
}

impl CircuitBreaker {
    /// The circuit as a reader sees it at `now`.
    pub(crate) fn circuit(&self, now: Instant) -> Circuit {
        match self.state {
            State::Closed => Circuit::Closed,
            State::Open { until } => Circuit::Open {
                retry_in: until.saturating_duration_since(now),
            },
            State::HalfOpen => Circuit::HalfOpen,
        }
    }

    /// When the open circuit lets the next trial through, if it is open.
    pub(crate) fn retry_at(&self) -> Option<Instant> {
        match self.state {
            State::Open { until } => Some(until),
            State::Closed | State::HalfOpen => None,
        }
    }

    /// Asks to run the check at `now`: `Ok` if it may run (an open circuit whose back-off is
    /// over becomes half-open: this run is its trial), or the instant the trial is due.
    pub(crate) fn admit(&mut self, now: Instant) -> Result<(), Instant> {
        match self.state {
            State::Open { until } if now < until => Err(until),
            State::Open { .. } => {
                self.state = State::HalfOpen;
                Ok(())
            }
            State::Closed | State::HalfOpen => Ok(()),
        }
    }

    /// Records a run's result: `failures` is the count of consecutive failed runs including
    /// this one (0 if it did not fail). `policy` is `None` when the breaker is off.
    pub(crate) fn record(&mut self, failures: u32, policy: Option<Breaker>, now: Instant) {
        let Some(policy) = policy else {
            self.state = State::Closed;
            return;
        };
        let failed = failures > 0;
        self.state = match self.state {
            State::HalfOpen if failed => {
                self.opens = self.opens.saturating_add(1);
                State::Open {
                    until: later(now, policy.backoff_after(self.opens)),
                }
            }
            State::HalfOpen => {
                self.opens = 0;
                State::Closed
            }
            State::Closed if failures >= policy.threshold => {
                self.opens = 1;
                State::Open {
                    until: later(now, policy.backoff_after(1)),
                }
            }
            other => other,
        };
    }

    /// A trial that ended without a result (its task was dropped) was lost, not failed: the
    /// next caller may try again at once.
    pub(crate) fn abandon(&mut self, now: Instant) {
        if self.state == State::HalfOpen {
            self.state = State::Open { until: now };
        }
    }

    /// If the circuit is open, makes its trial due at `now` (the world changed: start-up work
    /// ended).
    pub(crate) fn retry_now(&mut self, now: Instant) {
        if let State::Open { until } = &mut self.state {
            *until = (*until).min(now);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    const POLICY: Breaker = Breaker {
        threshold: 3,
        backoff: Duration::from_millis(100),
        max_backoff: Duration::from_millis(350),
    };

    fn is_open(breaker: &CircuitBreaker) -> bool {
        matches!(breaker.circuit(Instant::now()), Circuit::Open { .. })
    }

    #[tokio::test(start_paused = true)]
    async fn opens_at_the_threshold_and_admits_one_trial_after_the_back_off() {
        let mut breaker = CircuitBreaker::default();
        let t0 = Instant::now();
        breaker.record(1, Some(POLICY), t0);
        breaker.record(2, Some(POLICY), t0);
        assert_eq!(
            breaker.circuit(t0),
            Circuit::Closed,
            "2 failures < threshold 3"
        );
        breaker.record(3, Some(POLICY), t0);
        assert!(is_open(&breaker));
        assert_eq!(breaker.retry_at(), Some(t0 + Duration::from_millis(100)));

        tokio::time::advance(Duration::from_millis(99)).await;
        assert_eq!(
            breaker.admit(Instant::now()),
            Err(t0 + Duration::from_millis(100))
        );
        assert_eq!(
            breaker.circuit(Instant::now()),
            Circuit::Open {
                retry_in: Duration::from_millis(1)
            }
        );
        tokio::time::advance(Duration::from_millis(1)).await;
        assert_eq!(breaker.admit(Instant::now()), Ok(()));
        assert_eq!(breaker.circuit(Instant::now()), Circuit::HalfOpen);
        // A successful trial closes it, and the back-off starts over.
        breaker.record(0, Some(POLICY), Instant::now());
        assert_eq!(breaker.circuit(Instant::now()), Circuit::Closed);
        breaker.record(3, Some(POLICY), Instant::now());
        assert_eq!(
            breaker.retry_at(),
            Some(Instant::now() + Duration::from_millis(100))
        );
    }

    #[tokio::test(start_paused = true)]
    async fn each_failed_trial_doubles_the_back_off_up_to_the_cap() {
        let mut breaker = CircuitBreaker::default();
        breaker.record(3, Some(POLICY), Instant::now());
        let mut failures = 3;
        // 100 ms, then 200, then 350 (the cap, not 400), then 350 again.
        for expected in [200, 350, 350] {
            let until = breaker.retry_at().expect("open");
            tokio::time::sleep_until(until).await;
            assert_eq!(breaker.admit(Instant::now()), Ok(()));
            failures += 1;
            breaker.record(failures, Some(POLICY), Instant::now());
            assert_eq!(
                breaker.retry_at(),
                Some(Instant::now() + Duration::from_millis(expected))
            );
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_lost_trial_is_due_again_at_once_and_retry_now_shortens_the_back_off() {
        let mut breaker = CircuitBreaker::default();
        breaker.record(3, Some(POLICY), Instant::now());
        tokio::time::advance(Duration::from_millis(100)).await;
        assert_eq!(breaker.admit(Instant::now()), Ok(()));
        breaker.abandon(Instant::now());
        assert_eq!(
            breaker.admit(Instant::now()),
            Ok(()),
            "the trial may run again"
        );

        breaker.record(4, Some(POLICY), Instant::now());
        assert!(is_open(&breaker));
        breaker.retry_now(Instant::now());
        assert_eq!(breaker.admit(Instant::now()), Ok(()));
        // `abandon` and `retry_now` leave a closed circuit closed.
        breaker.record(0, Some(POLICY), Instant::now());
        breaker.abandon(Instant::now());
        breaker.retry_now(Instant::now());
        assert_eq!(breaker.circuit(Instant::now()), Circuit::Closed);
    }

    #[tokio::test(start_paused = true)]
    async fn no_policy_keeps_it_closed() {
        let mut breaker = CircuitBreaker::default();
        for failures in 1..100 {
            breaker.record(failures, None, Instant::now());
            assert_eq!(breaker.admit(Instant::now()), Ok(()));
        }
        assert_eq!(breaker.circuit(Instant::now()), Circuit::Closed);
    }
}
