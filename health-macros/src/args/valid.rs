//! The rules between check keys, one function per rule. They run after parsing, so every key
//! given is known; a key that is not given is compared through its default (from
//! `defaults.rs`, shared with the runtime), unless it was given with a rejected value.

use crate::ctxt::Ctxt;
use crate::keys::Key;

use super::ast::{At, CheckArgs};

/// Checks every rule between the keys of `args`.
pub(crate) fn check_args(args: &CheckArgs, cx: &mut Ctxt) {
    degraded_below_timeout(args, cx);
    timeout_within_interval(args, cx);
    if args.flag(Key::NoBreaker).is_some() {
        no_breaker_alone(args, cx);
        return;
    }
    breaker_not_below_failure_threshold(args, cx);
    max_backoff_not_below_backoff(args, cx);
    max_backoff_not_below_interval(args, cx);
}

/// A value to compare against, and how messages name it.
struct Effective {
    value: u64,
    text: String,
}

/// The value of `key`: the given one, or its default unless the key was given with a rejected
/// value (already reported) or has no numeric default.
fn effective(args: &CheckArgs, key: Key) -> Option<Effective> {
    let name = key.name();
    if let Some(at) = args.number(key) {
        return Some(Effective {
            value: at.value,
            text: format!("`{name} = {}`", at.value),
        });
    }
    if args.rejected(key) {
        return None;
    }
    let value = key.default_number()?;
    Some(Effective {
        value,
        text: format!("the default `{name}` ({value})"),
    })
}

/// `degraded_ms` below the timeout: a run slower than the timeout fails, it cannot degrade.
fn degraded_below_timeout(args: &CheckArgs, cx: &mut Ctxt) {
    let (Some(degraded), Some(timeout)) = (
        args.number(Key::DegradedMs),
        effective(args, Key::TimeoutMs),
    ) else {
        return;
    };
    if degraded.value >= timeout.value {
        cx.error_at(
            degraded.span,
            format!(
                "`degraded_ms` ({}) must be below {}: a check slower than its timeout fails \
                 instead of degrading; lower `degraded_ms` or raise `timeout_ms`",
                degraded.value, timeout.text
            ),
        );
    }
}

/// The timeout within the interval: otherwise results would arrive late.
fn timeout_within_interval(args: &CheckArgs, cx: &mut Ctxt) {
    let (Some(timeout), Some(interval)) = (
        effective(args, Key::TimeoutMs),
        effective(args, Key::IntervalMs),
    ) else {
        return;
    };
    if timeout.value <= interval.value {
        return;
    }
    // Point at whichever of the two the user wrote, preferring the interval when both are.
    let (span, fix) = match (args.number(Key::TimeoutMs), args.number(Key::IntervalMs)) {
        (Some(at), None) => (
            at.span,
            format!(
                "add `interval_ms = {}` or more, or lower `timeout_ms`",
                timeout.value
            ),
        ),
        (_, Some(at)) => (
            at.span,
            format!(
                "raise `interval_ms` to at least {}, or lower `timeout_ms`",
                timeout.value
            ),
        ),
        (None, None) => return, // the defaults agree with each other
    };
    cx.error_at(
        span,
        format!(
            "{} is longer than {}: a run could outlast its interval, so results would arrive \
             late; {fix}",
            timeout.text, interval.text
        ),
    );
}

/// `no_breaker` with a key that configures the breaker it turns off.
fn no_breaker_alone(args: &CheckArgs, cx: &mut Ctxt) {
    let mut given: Vec<(At<u64>, &str)> =
        [Key::BreakerThreshold, Key::BackoffMs, Key::MaxBackoffMs]
            .into_iter()
            .filter_map(|key| Some((args.number(key)?, key.name())))
            .collect();
    given.sort_by_key(|(at, _)| at.position);
    for (at, key) in given {
        cx.error_at(
            at.key,
            format!(
                "`{key}` configures the circuit breaker, which `no_breaker` turns off; remove \
                 `{key}` or `no_breaker`"
            ),
        );
    }
}

/// The breaker opens no earlier than the status turns unhealthy.
fn breaker_not_below_failure_threshold(args: &CheckArgs, cx: &mut Ctxt) {
    let (Some(breaker), Some(failure)) = (
        args.number(Key::BreakerThreshold),
        effective(args, Key::FailureThreshold),
    ) else {
        return;
    };
    if breaker.value < failure.value {
        cx.error_at(
            breaker.span,
            format!(
                "`breaker_threshold` ({}) is below {}: the circuit would open while the check is \
                 still reported healthy; set `breaker_threshold` to at least {}",
                breaker.value, failure.text, failure.value
            ),
        );
    }
}

/// The back-off only grows, so its bound is at least its start.
fn max_backoff_not_below_backoff(args: &CheckArgs, cx: &mut Ctxt) {
    let (Some(max), Some(backoff)) = (args.number(Key::MaxBackoffMs), args.number(Key::BackoffMs))
    else {
        return;
    };
    if max.value < backoff.value {
        cx.error_at(
            max.span,
            format!(
                "`max_backoff_ms` ({}) is below `backoff_ms = {}`: the back-off can only grow; \
                 raise `max_backoff_ms` to at least {} or lower `backoff_ms`",
                max.value, backoff.value, backoff.value
            ),
        );
    }
}

/// Without `backoff_ms`, the first back-off is the interval, so the bound is at least that.
fn max_backoff_not_below_interval(args: &CheckArgs, cx: &mut Ctxt) {
    if args.number(Key::BackoffMs).is_some() || args.rejected(Key::BackoffMs) {
        return;
    }
    let (Some(max), Some(interval)) = (
        args.number(Key::MaxBackoffMs),
        effective(args, Key::IntervalMs),
    ) else {
        return;
    };
    if max.value < interval.value {
        cx.error_at(
            max.span,
            format!(
                "`max_backoff_ms` ({}) is below the first back-off: without `backoff_ms`, the \
                 back-off starts at the interval, {}, and can only grow; raise `max_backoff_ms` \
                 to at least {}, or add `backoff_ms = {}` to start the back-off below the \
                 interval",
                max.value, interval.text, interval.value, max.value
            ),
        );
    }
}
