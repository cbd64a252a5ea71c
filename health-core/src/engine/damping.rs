//! Damping, a pure state machine: the reported status follows the raw one only after enough
//! consecutive results on the same side of it, and then only as far as the least extreme of
//! them (healthy, degraded, unhealthy does not report unhealthy after two results). The first
//! result is reported as it is.

use crate::spec::Damping;
use crate::status::Status;

/// The damping state of one check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Damper {
    reported: Option<Status>,
    /// Consecutive results on one side of the reported status (all worse, or all better).
    streak: u32,
    streak_worse: bool,
    /// The least extreme status of the streak: where the reported status goes when it flips.
    streak_bound: Status,
}

impl Default for Damper {
    fn default() -> Self {
        Damper {
            reported: None,
            streak: 0,
            streak_worse: false,
            streak_bound: Status::Healthy,
        }
    }
}

impl Damper {
    /// Takes one raw result and returns the status to report from now on.
    pub(crate) fn push(&mut self, raw: Status, thresholds: Damping) -> Status {
        let reported = match self.reported {
            None => raw,
            Some(reported) if reported == raw => {
                self.streak = 0;
                reported
            }
            Some(reported) => self.away_from(reported, raw, thresholds),
        };
        self.reported = Some(reported);
        reported
    }

    /// A result that differs from the reported status: extends (or starts) the streak, and
    /// flips the reported status when the streak is long enough.
    fn away_from(&mut self, reported: Status, raw: Status, thresholds: Damping) -> Status {
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
            thresholds.failure_threshold
        } else {
            thresholds.success_threshold
        };
        if self.streak >= needed {
            self.streak = 0;
            self.streak_bound
        } else {
            reported
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Status::{Degraded as D, Healthy as H, Unhealthy as U};

    const TWO_TWO: Damping = Damping {
        failure_threshold: 2,
        success_threshold: 2,
    };

    fn run(thresholds: Damping, raws: &[Status]) -> Vec<Status> {
        let mut damper = Damper::default();
        raws.iter()
            .map(|raw| damper.push(*raw, thresholds))
            .collect()
    }

    #[test]
    fn the_first_result_is_reported_as_it_is() {
        assert_eq!(run(TWO_TWO, &[U]), [U]);
        assert_eq!(run(TWO_TWO, &[D]), [D]);
    }

    #[test]
    fn moves_only_as_far_as_the_least_extreme_result_of_the_streak() {
        // Healthy -> degraded, unhealthy: two worse results, but only one unhealthy.
        assert_eq!(run(TWO_TWO, &[H, D, U, U, U]), [H, H, D, D, U]);
        // Unhealthy -> degraded, healthy: recovers to degraded first.
        assert_eq!(run(TWO_TWO, &[U, D, H, H, H]), [U, U, D, D, H]);
    }

    #[test]
    fn an_interrupted_streak_starts_over() {
        assert_eq!(run(TWO_TWO, &[H, U, H, U, U]), [H, H, H, H, U]);
        // A streak in the other direction also restarts it.
        assert_eq!(run(TWO_TWO, &[D, U, H, U, U]), [D, D, D, D, U]);
    }

    #[test]
    fn thresholds_of_one_follow_every_result() {
        let none = Damping {
            failure_threshold: 1,
            success_threshold: 1,
        };
        assert_eq!(run(none, &[H, U, D, H, U]), [H, U, D, H, U]);
    }

    #[test]
    fn the_default_thresholds_fail_on_the_second_and_recover_on_the_first() {
        let defaults = Damping {
            failure_threshold: crate::defaults::DEFAULT_FAILURE_THRESHOLD,
            success_threshold: crate::defaults::DEFAULT_SUCCESS_THRESHOLD,
        };
        assert_eq!(run(defaults, &[H, U, U, H]), [H, H, U, H]);
    }
}
