//! The series of the `metrics` feature, read back through a recorder of each test's own: runs
//! counted by how they ended, the run duration (one sample per run), the reported status after
//! damping, the failures in a row, the last success, the circuit, maintenance, Kubernetes'
//! `kubernetes_healthcheck` series and their `type`s, the lifecycle's phase, and the probe
//! answers counted by probe and code over real HTTP. Then the bounds: with 100 checks, every
//! check has the same number of series, at most `SERIES_PER_CHECK`, and no label anywhere, in
//! the recorder's keys or in the Prometheus exporter's text, carries a check's message.
//!
//! Each test installs its recorder on its own thread (`metrics::set_default_local_recorder`)
//! and runs on a current-thread runtime, so every series is registered in it: the state's
//! engine (created at the first probe, refresh or scheduler start), its checks' runs (tasks on
//! the same thread), and the router's answers. Where timing matters the test runs on Tokio's
//! paused clock, so the latencies recorded are exact.

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::body::Body;
use axum::http::Request;
use health_axum::engine::{BoxFuture, CheckSpec, RunEnd};
use health_axum::metrics::{
    CHECK_CIRCUIT_STATE, CHECK_CONSECUTIVE_FAILURES, CHECK_LAST_RESULT,
    CHECK_LAST_SUCCESS_TIMESTAMP_SECONDS, CHECK_RUNS_TOTAL, CHECK_RUN_DURATION_SECONDS,
    CHECK_STATUS, KUBERNETES_HEALTHCHECK, KUBERNETES_HEALTHCHECKS_TOTAL, LIFECYCLE_PHASE,
    PROBE_RESPONSES_TOTAL, SERIES_PER_CHECK, SKIPPED_CIRCUIT_OPEN,
};
use health_axum::prelude::*;
use health_axum::{overview, refresh, return_to_service, start_scheduler, take_out_of_service};
use health_tests::{request, spawn};
use metrics::{
    Counter, Gauge, Histogram, Key, KeyName, LocalRecorderGuard, Metadata, Recorder, SharedString,
    Unit,
};
use metrics_util::registry::{AtomicStorage, Registry};
use tokio::time::Instant;
use tower_service::Service;

// -- The recorder ------------------------------------------------------------------------------

/// Every series registered through [`Recording`], read without resetting anything.
#[derive(Clone)]
struct Metrics {
    registry: Arc<Registry<Key, AtomicStorage>>,
    /// The description of each series name: its unit and help text.
    described: Arc<Mutex<Descriptions>>,
}

/// Each series name's unit and help text.
type Descriptions = BTreeMap<String, (Option<Unit>, String)>;

/// One series: its kind, name, and labels sorted by key.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Series {
    kind: &'static str,
    name: String,
    labels: Vec<(String, String)>,
}

impl Series {
    fn of(kind: &'static str, key: &Key) -> Series {
        let mut labels: Vec<(String, String)> = key
            .labels()
            .map(|l| (l.key().to_string(), l.value().to_string()))
            .collect();
        labels.sort();
        Series {
            kind,
            name: key.name().to_string(),
            labels,
        }
    }

    fn label(&self, key: &str) -> Option<&str> {
        self.labels
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Whether the series has every label of `labels` (and maybe others).
    fn has(&self, labels: &[(&str, &str)]) -> bool {
        labels.iter().all(|(k, v)| self.label(k) == Some(*v))
    }

    /// Whether the series has exactly `labels`.
    fn is(&self, name: &str, labels: &[(&str, &str)]) -> bool {
        self.name == name && self.labels.len() == labels.len() && self.has(labels)
    }
}

/// The recorder a test installs: registers every series in [`Metrics`].
struct Recording(Metrics);

impl Recorder for Recording {
    fn describe_counter(&self, key: KeyName, unit: Option<Unit>, help: SharedString) {
        self.0.describe(key, unit, help);
    }
    fn describe_gauge(&self, key: KeyName, unit: Option<Unit>, help: SharedString) {
        self.0.describe(key, unit, help);
    }
    fn describe_histogram(&self, key: KeyName, unit: Option<Unit>, help: SharedString) {
        self.0.describe(key, unit, help);
    }
    fn register_counter(&self, key: &Key, _: &Metadata<'_>) -> Counter {
        self.0
            .registry
            .get_or_create_counter(key, |c| Counter::from_arc(Arc::clone(c)))
    }
    fn register_gauge(&self, key: &Key, _: &Metadata<'_>) -> Gauge {
        self.0
            .registry
            .get_or_create_gauge(key, |g| Gauge::from_arc(Arc::clone(g)))
    }
    fn register_histogram(&self, key: &Key, _: &Metadata<'_>) -> Histogram {
        self.0
            .registry
            .get_or_create_histogram(key, |h| Histogram::from_arc(Arc::clone(h)))
    }
}

/// Installs a new recorder on this thread until the guard is dropped.
fn record() -> (Metrics, LocalRecorderGuard<'static>) {
    let metrics = Metrics {
        registry: Arc::new(Registry::atomic()),
        described: Arc::default(),
    };
    // Leaked: one small recorder per test, alive as long as the handles registered in it.
    let recorder: &'static Recording = Box::leak(Box::new(Recording(metrics.clone())));
    (metrics, metrics::set_default_local_recorder(recorder))
}

impl Metrics {
    fn describe(&self, key: KeyName, unit: Option<Unit>, help: SharedString) {
        self.described
            .lock()
            .unwrap()
            .insert(key.as_str().to_string(), (unit, help.to_string()));
    }

    /// Every series registered so far, sorted.
    fn series(&self) -> Vec<Series> {
        let mut all = Vec::new();
        self.registry
            .visit_counters(|key, _| all.push(Series::of("counter", key)));
        self.registry
            .visit_gauges(|key, _| all.push(Series::of("gauge", key)));
        self.registry
            .visit_histograms(|key, _| all.push(Series::of("histogram", key)));
        all.sort();
        all
    }

    /// The series named `name` (for messages).
    fn named(&self, name: &str) -> Vec<Series> {
        self.series()
            .into_iter()
            .filter(|s| s.name == name)
            .collect()
    }

    fn counter_if(&self, name: &str, labels: &[(&str, &str)]) -> Option<u64> {
        let mut found = None;
        self.registry.visit_counters(|key, counter| {
            if Series::of("counter", key).is(name, labels) {
                found = Some(counter.load(Ordering::SeqCst));
            }
        });
        found
    }

    /// The counter `name{labels}` (exactly those labels); fails the test if it is not registered.
    fn counter(&self, name: &str, labels: &[(&str, &str)]) -> u64 {
        self.counter_if(name, labels).unwrap_or_else(|| {
            panic!(
                "no counter {name}{labels:?}; registered: {:#?}",
                self.named(name)
            )
        })
    }

    /// The gauge `name{labels}` (exactly those labels); fails the test if it is not registered.
    fn gauge(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        let mut found = None;
        self.registry.visit_gauges(|key, gauge| {
            if Series::of("gauge", key).is(name, labels) {
                found = Some(f64::from_bits(gauge.load(Ordering::SeqCst)));
            }
        });
        found.unwrap_or_else(|| {
            panic!(
                "no gauge {name}{labels:?}; registered: {:#?}",
                self.named(name)
            )
        })
    }

    /// Every sample of the histogram `name{labels}`.
    fn samples(&self, name: &str, labels: &[(&str, &str)]) -> Vec<f64> {
        let mut found = None;
        self.registry.visit_histograms(|key, histogram| {
            if Series::of("histogram", key).is(name, labels) {
                found = Some(histogram.data());
            }
        });
        found.unwrap_or_else(|| {
            panic!(
                "no histogram {name}{labels:?}; registered: {:#?}",
                self.named(name)
            )
        })
    }

    /// The value of label `key` on the one gauge `name{labels, key}` at 1, or `None` if every
    /// one is at 0; fails the test if one is at anything else, or two are at 1.
    fn one_hot(&self, name: &str, labels: &[(&str, &str)], key: &str) -> Option<String> {
        let mut values = BTreeMap::new();
        self.registry.visit_gauges(|k, gauge| {
            let series = Series::of("gauge", k);
            if series.name == name && series.has(labels) {
                if let Some(value) = series.label(key) {
                    values.insert(
                        value.to_string(),
                        f64::from_bits(gauge.load(Ordering::SeqCst)),
                    );
                }
            }
        });
        assert!(!values.is_empty(), "no gauge {name}{labels:?} with `{key}`");
        assert!(
            values.values().all(|v| *v == 0.0 || *v == 1.0),
            "{name}{labels:?}: not 0 or 1: {values:?}"
        );
        let on: Vec<&String> = values
            .iter()
            .filter(|(_, v)| **v == 1.0)
            .map(|(k, _)| k)
            .collect();
        assert!(
            on.len() <= 1,
            "{name}{labels:?}: more than one at 1: {values:?}"
        );
        on.first().map(|v| v.to_string())
    }

    /// `health_check_runs_total` of `check` for every outcome, the rounds skipped included.
    fn runs(&self, check: &str) -> BTreeMap<&'static str, u64> {
        OUTCOMES
            .iter()
            .map(|outcome| {
                let count =
                    self.counter(CHECK_RUNS_TOTAL, &[("check", check), ("outcome", outcome)]);
                (*outcome, count)
            })
            .collect()
    }

    /// The probe answers counted so far, by `(probe, code)`.
    fn answers(&self) -> BTreeMap<(String, String), u64> {
        let mut answers = BTreeMap::new();
        self.registry.visit_counters(|key, counter| {
            let series = Series::of("counter", key);
            if series.name == PROBE_RESPONSES_TOTAL {
                let probe = series.label("probe").unwrap_or_default().to_string();
                let code = series.label("code").unwrap_or_default().to_string();
                answers.insert((probe, code), counter.load(Ordering::SeqCst));
            }
        });
        answers
    }
}

/// Every `outcome` of `health_check_runs_total`: how a run ends, and the skipped round.
const OUTCOMES: [&str; 7] = [
    "healthy",
    "degraded",
    "unhealthy",
    "timed_out",
    "panicked",
    "cancelled",
    SKIPPED_CIRCUIT_OPEN,
];

/// `runs` with `expected` counts and every other outcome at 0.
fn only(expected: &[(&'static str, u64)]) -> BTreeMap<&'static str, u64> {
    OUTCOMES
        .iter()
        .map(|o| {
            let n = expected.iter().find(|(e, _)| e == o).map_or(0, |(_, n)| *n);
            (*o, n)
        })
        .collect()
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// The check's reported status, as `health_check_status` shows it.
fn status(m: &Metrics, check: &str) -> Option<String> {
    m.one_hot(CHECK_STATUS, &[("check", check)], "status")
}

/// The check's circuit, as `health_check_circuit_state` shows it.
fn circuit(m: &Metrics, check: &str) -> Option<String> {
    m.one_hot(CHECK_CIRCUIT_STATE, &[("check", check)], "state")
}

/// `kubernetes_healthcheck{name = check, type}` for every `type` the check has.
fn passing(m: &Metrics, check: &str) -> BTreeMap<String, f64> {
    m.named(KUBERNETES_HEALTHCHECK)
        .into_iter()
        .filter(|s| s.label("name") == Some(check))
        .map(|s| {
            let kind = s.label("type").expect("a type").to_string();
            let value = m.gauge(KUBERNETES_HEALTHCHECK, &[("name", check), ("type", &kind)]);
            (kind, value)
        })
        .collect()
}

/// `kubernetes_healthchecks_total{name = check, status, type}` for each `type`: (success, error).
fn k8s_runs(m: &Metrics, check: &str) -> BTreeMap<String, (u64, u64)> {
    passing(m, check)
        .into_keys()
        .map(|kind| {
            let n = |status| {
                m.counter(
                    KUBERNETES_HEALTHCHECKS_TOTAL,
                    &[("name", check), ("status", status), ("type", &kind)],
                )
            };
            let pair = (n("success"), n("error"));
            (kind, pair)
        })
        .collect()
}

// -- Runs by outcome ---------------------------------------------------------------------------

#[derive(Clone, HealthState)]
#[health(checks(
    returns_healthy,
    returns_degraded,
    slower_than_degraded_ms,
    returns_unhealthy,
    times_out,
    panics
))]
struct Outcomes {
    #[health(lifecycle)]
    lifecycle: Lifecycle,
}

#[health_check(no_breaker)]
async fn returns_healthy() -> Result<(), String> {
    Ok(())
}

#[health_check(no_breaker)]
async fn returns_degraded() -> CheckOutcome {
    CheckOutcome::degraded("replica lag 12 s")
}

/// Healthy, but 30 ms where `degraded_ms` is 10: degraded.
#[health_check(no_breaker, degraded_ms = 10)]
async fn slower_than_degraded_ms() -> Result<(), String> {
    tokio::time::sleep(ms(30)).await;
    Ok(())
}

#[health_check(no_breaker)]
async fn returns_unhealthy() -> Result<(), String> {
    Err("connection refused".into())
}

#[health_check(no_breaker, timeout_ms = 100)]
async fn times_out() -> Result<(), String> {
    tokio::time::sleep(Duration::from_secs(3600)).await;
    Ok(())
}

#[health_check(no_breaker)]
async fn panics(_: &Outcomes) -> Result<(), String> {
    panic!("boom in a check");
}

/// Three rounds of every check: each run counted once under how it ended, every other outcome
/// at 0, one duration sample per run (the timed-out run's is its timeout), the last result and
/// the reported status on the right value.
#[tokio::test(start_paused = true)]
async fn runs_are_counted_by_how_they_ended_with_one_duration_sample_each() {
    let (m, _recorder) = record();
    let state = Outcomes {
        lifecycle: Lifecycle::new(),
    };
    for _ in 0..3 {
        refresh(&state).await;
    }
    let cases = [
        ("returns_healthy", "healthy", "healthy", 0.0),
        ("returns_degraded", "degraded", "degraded", 0.0),
        ("slower_than_degraded_ms", "degraded", "degraded", 0.030),
        ("returns_unhealthy", "unhealthy", "unhealthy", 0.0),
        ("times_out", "timed_out", "unhealthy", 0.100),
        ("panics", "panicked", "unhealthy", 0.0),
    ];
    for (check, outcome, reported, latency) in cases {
        assert_eq!(m.runs(check), only(&[(outcome, 3)]), "{check}");
        let samples = m.samples(CHECK_RUN_DURATION_SECONDS, &[("check", check)]);
        assert_eq!(samples, [latency; 3], "{check}: one sample per run");
        assert_eq!(
            m.one_hot(CHECK_LAST_RESULT, &[("check", check)], "result")
                .as_deref(),
            Some(outcome),
            "{check}"
        );
        assert_eq!(status(&m, check).as_deref(), Some(reported), "{check}");
        let failures = m.gauge(CHECK_CONSECUTIVE_FAILURES, &[("check", check)]);
        let failed = reported == "unhealthy";
        assert_eq!(failures, if failed { 3.0 } else { 0.0 }, "{check}");
        // Kubernetes' counter: the three runs, by the status reported after each.
        let (success, error) = if failed { (0, 3) } else { (3, 0) };
        assert_eq!(
            k8s_runs(&m, check),
            BTreeMap::from([
                ("healthz".to_string(), (success, error)),
                ("readyz".to_string(), (success, error)),
            ]),
            "{check}"
        );
    }
    // Every result of the `result` label is a `RunEnd`, and the `outcome` label adds the skip.
    let results: BTreeSet<String> = m
        .named(CHECK_LAST_RESULT)
        .iter()
        .filter_map(|s| s.label("result").map(str::to_string))
        .collect();
    let ends: BTreeSet<String> = RunEnd::ALL.iter().map(|e| e.as_str().to_string()).collect();
    assert_eq!(results, ends);
}

// -- Damping, failures in a row, last success, maintenance -------------------------------------

/// What a switch check answers: 0 healthy, 1 unhealthy.
#[derive(Clone, Default)]
struct Switch(Arc<AtomicU8>);

impl Switch {
    fn set(&self, down: bool) {
        self.0.store(u8::from(down), Ordering::SeqCst);
    }

    fn answer(&self) -> Result<(), String> {
        match self.0.load(Ordering::SeqCst) {
            0 => Ok(()),
            _ => Err("the flaky dependency refused: ECONNREFUSED 10.1.2.3:5432".into()),
        }
    }
}

#[derive(Clone, HealthState)]
#[health(checks(flaky))]
struct Damped {
    switch: Switch,
    #[health(lifecycle)]
    lifecycle: Lifecycle,
}

/// Two failures in a row to turn unhealthy, one success back; no breaker.
#[health_check(name = "flaky", failure_threshold = 2, no_breaker)]
async fn flaky(state: &Damped) -> Result<(), String> {
    state.switch.answer()
}

/// Now, as `health_check_last_success_timestamp_seconds` counts it.
fn unix_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

/// Real time passes (the paused clock stays), so that a timestamp written twice differs.
fn let_real_time_pass() {
    std::thread::sleep(ms(5));
}

/// A check turning unhealthy after two failures in a row: before its first result every series
/// is at 0 (the circuit closed); after a success it is healthy with the success's time; the first
/// failure shows in the last result and the failures in a row but not in the reported status nor
/// in Kubernetes' gauge; the second turns both; the last success stays frozen throughout, and the
/// next success moves it on and clears the failures.
#[tokio::test(start_paused = true)]
async fn the_status_follows_damping_failures_are_counted_and_the_last_success_is_kept() {
    let (m, _recorder) = record();
    let state = Damped {
        switch: Switch::default(),
        lifecycle: Lifecycle::new(),
    };
    // The engine exists (the overview creates it) and nothing ran: every series at 0, the
    // circuit closed.
    let _ = overview(&state);
    assert_eq!(
        status(&m, "flaky"),
        None,
        "no status before the first result"
    );
    assert_eq!(
        m.gauge(CHECK_CONSECUTIVE_FAILURES, &[("check", "flaky")]),
        0.0
    );
    let last_success = || m.gauge(CHECK_LAST_SUCCESS_TIMESTAMP_SECONDS, &[("check", "flaky")]);
    assert_eq!(last_success(), 0.0, "no success yet");
    assert_eq!(circuit(&m, "flaky").as_deref(), Some("closed"));
    assert_eq!(
        passing(&m, "flaky"),
        BTreeMap::from([("healthz".into(), 0.0), ("readyz".into(), 0.0)]),
        "not passing before its first result"
    );
    assert_eq!(m.runs("flaky"), only(&[]));

    // A success: healthy, its time kept.
    let before = unix_now();
    refresh(&state).await;
    let after = unix_now();
    let first_success = last_success();
    assert!(
        (before..=after).contains(&first_success),
        "{before} <= {first_success} <= {after}"
    );
    assert_eq!(status(&m, "flaky").as_deref(), Some("healthy"));
    assert_eq!(
        passing(&m, "flaky"),
        BTreeMap::from([("healthz".into(), 1.0), ("readyz".into(), 1.0)])
    );

    // The first failure: the raw result is unhealthy, the reported status stays healthy
    // (threshold 2), Kubernetes' gauge still passes; one failure; the last success is frozen.
    state.switch.set(true);
    let_real_time_pass();
    refresh(&state).await;
    assert_eq!(
        m.one_hot(CHECK_LAST_RESULT, &[("check", "flaky")], "result")
            .as_deref(),
        Some("unhealthy")
    );
    assert_eq!(status(&m, "flaky").as_deref(), Some("healthy"), "damped");
    assert_eq!(
        m.gauge(CHECK_CONSECUTIVE_FAILURES, &[("check", "flaky")]),
        1.0
    );
    assert_eq!(last_success(), first_success, "frozen during failures");
    assert_eq!(
        passing(&m, "flaky"),
        BTreeMap::from([("healthz".into(), 1.0), ("readyz".into(), 1.0)])
    );

    // The second failure turns it.
    let_real_time_pass();
    refresh(&state).await;
    assert_eq!(status(&m, "flaky").as_deref(), Some("unhealthy"));
    assert_eq!(
        m.gauge(CHECK_CONSECUTIVE_FAILURES, &[("check", "flaky")]),
        2.0
    );
    assert_eq!(last_success(), first_success, "frozen during failures");
    assert_eq!(
        passing(&m, "flaky"),
        BTreeMap::from([("healthz".into(), 0.0), ("readyz".into(), 0.0)])
    );
    let_real_time_pass();
    refresh(&state).await;
    assert_eq!(
        m.gauge(CHECK_CONSECUTIVE_FAILURES, &[("check", "flaky")]),
        3.0
    );
    assert_eq!(last_success(), first_success, "frozen during failures");

    // One success recovers it (threshold 1): the count of failures drops to 0, a new success.
    state.switch.set(false);
    let before = unix_now();
    refresh(&state).await;
    let after = unix_now();
    assert_eq!(status(&m, "flaky").as_deref(), Some("healthy"));
    assert_eq!(
        m.gauge(CHECK_CONSECUTIVE_FAILURES, &[("check", "flaky")]),
        0.0
    );
    let second_success = last_success();
    assert!(second_success > first_success);
    assert!((before..=after).contains(&second_success));
    assert_eq!(m.runs("flaky"), only(&[("healthy", 2), ("unhealthy", 3)]));
    // Runs by the status reported after each: healthy, healthy (damped), then two unhealthy.
    assert_eq!(
        k8s_runs(&m, "flaky"),
        BTreeMap::from([("healthz".into(), (3, 2)), ("readyz".into(), (3, 2))])
    );
    assert_eq!(
        m.samples(CHECK_RUN_DURATION_SECONDS, &[("check", "flaky")])
            .len(),
        5
    );
}

/// Maintenance: taken out of service, a healthy check reports unhealthy and fails Kubernetes'
/// gauge at once, and its runs meanwhile count as what they returned but report unhealthy;
/// back in service it reports healthy again. The reason is in no label.
#[tokio::test(start_paused = true)]
async fn out_of_service_reports_unhealthy_and_fails_kubernetes_healthcheck() {
    let (m, _recorder) = record();
    let state = Damped {
        switch: Switch::default(),
        lifecycle: Lifecycle::new(),
    };
    refresh(&state).await;
    assert_eq!(status(&m, "flaky").as_deref(), Some("healthy"));

    take_out_of_service(
        &state,
        "flaky",
        "OUT-OF-SERVICE: primary failover in progress",
    )
    .unwrap();
    assert_eq!(status(&m, "flaky").as_deref(), Some("unhealthy"));
    assert_eq!(
        passing(&m, "flaky"),
        BTreeMap::from([("healthz".into(), 0.0), ("readyz".into(), 0.0)])
    );
    // A run while out of service: counted as what it returned, reported unhealthy.
    refresh(&state).await;
    assert_eq!(m.runs("flaky"), only(&[("healthy", 2)]));
    assert_eq!(
        m.one_hot(CHECK_LAST_RESULT, &[("check", "flaky")], "result")
            .as_deref(),
        Some("healthy")
    );
    assert_eq!(status(&m, "flaky").as_deref(), Some("unhealthy"));
    assert_eq!(
        passing(&m, "flaky"),
        BTreeMap::from([("healthz".into(), 0.0), ("readyz".into(), 0.0)])
    );
    assert_eq!(
        k8s_runs(&m, "flaky"),
        BTreeMap::from([("healthz".into(), (1, 1)), ("readyz".into(), (1, 1))])
    );

    return_to_service(&state, "flaky").unwrap();
    assert_eq!(status(&m, "flaky").as_deref(), Some("healthy"));
    assert_eq!(
        passing(&m, "flaky"),
        BTreeMap::from([("healthz".into(), 1.0), ("readyz".into(), 1.0)])
    );
    assert_no_label_contains(&m, &["OUT-OF-SERVICE", "failover"]);
}

// -- The circuit -------------------------------------------------------------------------------

#[derive(Clone, HealthState)]
#[health(checks(breaks))]
struct Breaking {
    switch: Switch,
    #[health(lifecycle)]
    lifecycle: Lifecycle,
}

/// Each run takes 10 ms; opens after 2 failures for 1 s, on a 100 ms interval.
#[health_check(
    name = "breaks",
    interval_ms = 100,
    timeout_ms = 50,
    failure_threshold = 1,
    breaker_threshold = 2,
    backoff_ms = 1000
)]
async fn breaks(state: &Breaking) -> Result<(), String> {
    tokio::time::sleep(ms(10)).await;
    state.switch.answer()
}

/// Scheduled on the paused clock: runs at 0 and 100 ms fail (ending at 10 and 110 ms), the
/// second opens the circuit until 1110 ms. The scheduler wakes each interval while it is open
/// (200, 300, ... 1000 ms: 9 rounds), each counted once as skipped; the round at 1100 ms is the
/// trial, due before the round after it, so it waits for it and is not counted: at 1110 ms the
/// trial runs (half-open until it ends at 1120 ms) and passes: closed.
#[tokio::test(start_paused = true)]
async fn the_circuit_goes_closed_open_half_open_closed_and_each_open_round_is_counted() {
    let (m, _recorder) = record();
    let state = Breaking {
        switch: Switch::default(),
        lifecycle: Lifecycle::new(),
    };
    state.switch.set(true);
    state.lifecycle.mark_started();
    let begun = Instant::now();
    let scheduler = start_scheduler(&state);
    let at = |n: u64| tokio::time::sleep_until(begun + ms(n));

    at(50).await;
    assert_eq!(circuit(&m, "breaks").as_deref(), Some("closed"));
    assert_eq!(m.runs("breaks"), only(&[("unhealthy", 1)]));
    at(150).await;
    assert_eq!(circuit(&m, "breaks").as_deref(), Some("open"));
    assert_eq!(status(&m, "breaks").as_deref(), Some("unhealthy"));
    assert_eq!(m.runs("breaks"), only(&[("unhealthy", 2)]));
    at(650).await;
    assert_eq!(
        m.runs("breaks"),
        only(&[("unhealthy", 2), (SKIPPED_CIRCUIT_OPEN, 5)]),
        "200..600 ms: five rounds skipped"
    );
    state.switch.set(false);
    at(1105).await;
    assert_eq!(circuit(&m, "breaks").as_deref(), Some("open"));
    assert_eq!(
        m.runs("breaks"),
        only(&[("unhealthy", 2), (SKIPPED_CIRCUIT_OPEN, 9)]),
        "200..1000 ms: nine rounds skipped; the round at 1100 ms waits for the trial"
    );
    at(1115).await;
    assert_eq!(
        circuit(&m, "breaks").as_deref(),
        Some("half_open"),
        "the trial is running"
    );
    at(1125).await;
    assert_eq!(circuit(&m, "breaks").as_deref(), Some("closed"));
    assert_eq!(status(&m, "breaks").as_deref(), Some("healthy"));
    assert_eq!(
        m.runs("breaks"),
        only(&[("healthy", 1), ("unhealthy", 2), (SKIPPED_CIRCUIT_OPEN, 9)])
    );
    // Closed again: rounds run, none skipped (the next at 1210 and 1310 ms).
    at(1350).await;
    scheduler.stop();
    assert_eq!(
        m.runs("breaks"),
        only(&[("healthy", 3), ("unhealthy", 2), (SKIPPED_CIRCUIT_OPEN, 9)])
    );
    // Skipped rounds are not runs: five samples for the five runs.
    assert_eq!(
        m.samples(CHECK_RUN_DURATION_SECONDS, &[("check", "breaks")]),
        [0.010; 5]
    );
    assert_eq!(
        k8s_runs(&m, "breaks"),
        BTreeMap::from([("healthz".into(), (3, 2)), ("readyz".into(), (3, 2))])
    );
}

// -- gRPC health answers ---------------------------------------------------------------------------

/// The gRPC `Check` answers' series: all 15 registered at 0 when the service is built, then
/// each call moves exactly the one of what it asked (a probe, `check` for one check's name,
/// `unknown`) and what it was answered, by one.
#[tokio::test]
async fn each_grpc_check_counts_one_answer_by_probe_and_status() {
    use health_axum::grpc::HealthService;
    use health_axum::metrics::GRPC_CHECK_RESPONSES_TOTAL;
    use tonic_health::pb::health_check_response::ServingStatus;
    use tonic_health::pb::health_client::HealthClient;
    use tonic_health::pb::HealthCheckRequest;

    let (m, _recorder) = record();
    let state = Gating {
        lifecycle: Lifecycle::new(),
    };
    let grpc = HealthService::new(&state);
    let counts = || -> BTreeMap<(String, String), u64> {
        m.named(GRPC_CHECK_RESPONSES_TOTAL)
            .into_iter()
            .map(|s| {
                let probe = s.label("probe").unwrap_or_default().to_string();
                let status = s.label("status").unwrap_or_default().to_string();
                let labels = [("probe", probe.as_str()), ("status", status.as_str())];
                let n = m.counter(GRPC_CHECK_RESPONSES_TOTAL, &labels);
                ((probe, status), n)
            })
            .collect()
    };
    let before = counts();
    assert_eq!(before.len(), 5 * 3, "{before:?}");
    assert!(before.values().all(|n| *n == 0), "{before:?}");

    let app = Router::new()
        .merge(Gating::health_router())
        .with_state(state.clone())
        .merge(grpc.router());
    let (addr, _server) = health_tests::serve_in_background(app, state.clone(), |s| s).await;
    health_tests::wait_for_status(addr, "/health/startup", 503, Duration::from_secs(5)).await;
    let channel = tonic::transport::Channel::from_shared(format!("http://{addr}"))
        .expect("uri")
        .connect()
        .await
        .expect("connect");
    let mut client = HealthClient::new(channel);
    for (service, asked) in [
        ("", "liveness"),
        ("liveness", "liveness"),
        ("readiness", "readiness"),
        ("startup", "startup"),
        ("ready_only", "check"),
        ("everywhere", "check"),
        ("no_such_service", "unknown"),
    ] {
        let before = counts();
        let answer = client
            .check(HealthCheckRequest {
                service: service.into(),
            })
            .await;
        let answered = match answer {
            Ok(response) => match response.into_inner().status() {
                ServingStatus::Serving => "serving",
                ServingStatus::NotServing => "not_serving",
                other => panic!("{service:?}: {other:?}"),
            },
            Err(status) => {
                assert_eq!(status.code(), tonic::Code::NotFound, "{service:?}");
                "not_found"
            }
        };
        let moved: BTreeMap<(String, String), u64> = counts()
            .into_iter()
            .filter_map(|(key, n)| {
                let was = before.get(&key).copied().unwrap_or(0);
                (n != was).then(|| (key, n - was))
            })
            .collect();
        assert_eq!(
            moved,
            BTreeMap::from([((asked.to_string(), answered.to_string()), 1)]),
            "Check({service:?})"
        );
    }
}

// -- A retired startup check ---------------------------------------------------------------------

#[derive(Clone, HealthState)]
#[health(checks(warm_up))]
struct Retiring {
    #[health(lifecycle)]
    lifecycle: Lifecycle,
}

/// Gates only the startup probe, and fails: its circuit opens after the second run.
#[health_check(
    startup,
    interval_ms = 100,
    timeout_ms = 50,
    failure_threshold = 1,
    breaker_threshold = 2,
    backoff_ms = 1000
)]
async fn warm_up() -> Result<(), String> {
    Err("cache not warm".into())
}

/// A check that gates only the startup probe is retired once the application has been ready
/// (here the application declares itself ready while the check fails with its circuit open):
/// it no longer runs, so its status and circuit show no current value, rather than an open
/// circuit and an unhealthy status frozen for the life of the process, and
/// `kubernetes_healthcheck` says it fails no probe.
#[tokio::test(start_paused = true)]
async fn a_retired_startup_check_shows_no_current_status_or_circuit() {
    let (m, _recorder) = record();
    let state = Retiring {
        lifecycle: Lifecycle::new(),
    };
    state.lifecycle.mark_started();
    let begun = Instant::now();
    let scheduler = start_scheduler(&state);
    let at = |n: u64| tokio::time::sleep_until(begun + ms(n));
    at(150).await;
    assert_eq!(circuit(&m, "warm_up").as_deref(), Some("open"));
    assert_eq!(status(&m, "warm_up").as_deref(), Some("unhealthy"));
    assert_eq!(
        passing(&m, "warm_up"),
        BTreeMap::from([("healthz".into(), 0.0), ("startupz".into(), 0.0)])
    );
    assert!(state.lifecycle.mark_ready());
    // The scheduler's next round (200 ms) finds the application ready and retires the check.
    at(250).await;
    assert!(!scheduler.is_running(), "the check's task ended");
    assert_eq!(circuit(&m, "warm_up"), None);
    assert_eq!(status(&m, "warm_up"), None);
    assert_eq!(
        passing(&m, "warm_up"),
        BTreeMap::from([("healthz".into(), 1.0), ("startupz".into(), 1.0)])
    );
    let runs = m.runs("warm_up");
    at(2000).await;
    assert_eq!(
        m.runs("warm_up"),
        runs,
        "a retired check is neither run nor skipped"
    );

    // Run again by hand, or taken out of service: the run is counted, the status and the
    // circuit still show no current value, and it still fails no probe.
    at(3000).await;
    refresh(&state).await;
    take_out_of_service(&state, "warm_up", "replaced").unwrap();
    assert_eq!(m.runs("warm_up")["unhealthy"], runs["unhealthy"] + 1);
    assert_eq!(status(&m, "warm_up"), None);
    assert_eq!(circuit(&m, "warm_up"), None);
    assert_eq!(
        passing(&m, "warm_up"),
        BTreeMap::from([("healthz".into(), 1.0), ("startupz".into(), 1.0)])
    );
}

// -- Kubernetes' types --------------------------------------------------------------------------

#[derive(Clone, HealthState)]
#[health(checks(ready_only, startup_and_live, everywhere))]
struct Gating {
    #[health(lifecycle)]
    lifecycle: Lifecycle,
}

#[health_check]
async fn ready_only() -> Result<(), String> {
    Ok(())
}

#[health_check(startup, live)]
async fn startup_and_live() -> Result<(), String> {
    Ok(())
}

#[health_check(startup, live, ready)]
async fn everywhere() -> Result<(), String> {
    Err("down".into())
}

/// The series of `check`: those labelled `check` or `name` with its name.
fn series_of(m: &Metrics, check: &str) -> Vec<Series> {
    m.series()
        .into_iter()
        .filter(|s| s.label("check") == Some(check) || s.label("name") == Some(check))
        .collect()
}

/// `kubernetes_healthcheck` and `kubernetes_healthchecks_total` have `type` `healthz` for every
/// check, plus `startupz`, `livez`, `readyz` for the probes it gates, and no other; a readiness
/// check (no probe named) has `healthz` and `readyz`.
#[tokio::test(start_paused = true)]
async fn kubernetes_types_are_healthz_and_the_probes_the_check_gates() {
    let (m, _recorder) = record();
    let state = Gating {
        lifecycle: Lifecycle::new(),
    };
    state.lifecycle.mark_started();
    refresh(&state).await;
    let types = |check: &str| -> Vec<String> { passing(&m, check).into_keys().collect() };
    assert_eq!(types("ready_only"), ["healthz", "readyz"]);
    assert_eq!(types("startup_and_live"), ["healthz", "livez", "startupz"]);
    assert_eq!(
        types("everywhere"),
        ["healthz", "livez", "readyz", "startupz"]
    );
    // The counter has the same types, each with `success` and `error`, and nothing else.
    for check in ["ready_only", "startup_and_live", "everywhere"] {
        let total: BTreeSet<(String, String)> = m
            .named(KUBERNETES_HEALTHCHECKS_TOTAL)
            .iter()
            .filter(|s| s.label("name") == Some(check))
            .map(|s| {
                assert_eq!(s.labels.len(), 3, "{s:?}");
                (
                    s.label("type").unwrap().to_string(),
                    s.label("status").unwrap().to_string(),
                )
            })
            .collect();
        let expected: BTreeSet<(String, String)> = types(check)
            .into_iter()
            .flat_map(|t| [(t.clone(), "error".into()), (t, "success".into())])
            .collect();
        assert_eq!(total, expected, "{check}");
    }
    assert_eq!(
        passing(&m, "startup_and_live"),
        BTreeMap::from([
            ("healthz".into(), 1.0),
            ("livez".into(), 1.0),
            ("startupz".into(), 1.0)
        ])
    );
    assert_eq!(
        k8s_runs(&m, "everywhere"),
        BTreeMap::from([
            ("healthz".into(), (0, 1)),
            ("livez".into(), (0, 1)),
            ("readyz".into(), (0, 1)),
            ("startupz".into(), (0, 1))
        ])
    );
    // A check that gates every probe has the most series a check can have.
    assert_eq!(series_of(&m, "everywhere").len(), SERIES_PER_CHECK);
    assert_eq!(series_of(&m, "ready_only").len(), SERIES_PER_CHECK - 6);
    assert_eq!(
        series_of(&m, "startup_and_live").len(),
        SERIES_PER_CHECK - 3
    );
}

// -- The lifecycle's phase ---------------------------------------------------------------------

/// `health_lifecycle_phase`: registered with the engine (none before), one series per phase, 1 on
/// the current one through starting, started, ready and draining.
#[tokio::test(start_paused = true)]
async fn the_phase_series_follows_starting_started_ready_draining() {
    let (m, _recorder) = record();
    let state = Damped {
        switch: Switch::default(),
        lifecycle: Lifecycle::new(),
    };
    assert!(
        m.series().is_empty(),
        "nothing is registered before the engine"
    );
    let scheduler = start_scheduler(&state);
    let phase = || m.one_hot(LIFECYCLE_PHASE, &[], "phase");
    let phases: BTreeSet<String> = m
        .named(LIFECYCLE_PHASE)
        .iter()
        .map(|s| {
            assert_eq!(s.labels.len(), 1, "{s:?}");
            s.label("phase").unwrap().to_string()
        })
        .collect();
    assert_eq!(
        phases,
        BTreeSet::from(["starting", "started", "ready", "draining"].map(String::from))
    );
    assert_eq!(phase().as_deref(), Some("starting"));
    state.lifecycle.mark_started();
    assert_eq!(phase().as_deref(), Some("started"));
    state.lifecycle.mark_ready();
    assert_eq!(phase().as_deref(), Some("ready"));
    state.lifecycle.begin_drain();
    assert_eq!(phase().as_deref(), Some("draining"));
    scheduler.stop();
}

// -- Probe answers over HTTP -------------------------------------------------------------------

#[derive(Clone, HealthState)]
#[health(checks(database, worker))]
struct Answering {
    #[health(lifecycle)]
    lifecycle: Lifecycle,
}

#[health_check(critical)]
async fn database() -> Result<(), String> {
    Ok(())
}

/// Fails: liveness answers 503.
#[health_check(critical, live)]
async fn worker() -> Result<(), String> {
    Err("worker pool exhausted".into())
}

/// `method path` over a new connection, expecting `status`; returns what the answers counter
/// moved: the series whose count changed, with their increase.
async fn answer_moves(
    m: &Metrics,
    addr: SocketAddr,
    method: &str,
    path: &str,
    status: u16,
) -> BTreeMap<(String, String), u64> {
    let before = m.answers();
    let response = request(addr, method, path).await;
    assert_eq!(
        response.status,
        status,
        "{method} {path}: {}",
        response.text()
    );
    let after = m.answers();
    after
        .into_iter()
        .filter_map(|(key, n)| {
            let was = before.get(&key).copied().unwrap_or(0);
            (n != was).then(|| (key, n - was))
        })
        .collect()
}

fn one(probe: &str, code: &str) -> BTreeMap<(String, String), u64> {
    BTreeMap::from([((probe.to_string(), code.to_string()), 1)])
}

/// Real HTTP requests to every kind of probe route (paths, per-check paths, aliases, unknown
/// checks, paths below a probe, other methods): each moves exactly one series of
/// `health_probe_responses_total` by exactly one, the one of its probe and code; a route that is
/// not a probe's moves none.
#[tokio::test]
async fn each_probe_request_counts_one_answer_by_probe_and_code() {
    let (m, _recorder) = record();
    let state = Answering {
        lifecycle: Lifecycle::new(),
    };
    state.lifecycle.mark_started();
    let addr = spawn(
        Answering::health_router()
            .kubernetes_aliases()
            .build()
            .with_state(state.clone()),
    )
    .await;
    // Every series is registered when the router is built, at 0: no request registers one.
    let before = m.answers();
    assert_eq!(before.len(), 4 * 5, "{before:?}");
    assert!(before.values().all(|count| *count == 0), "{before:?}");

    let cases: &[(&str, &str, u16, &str)] = &[
        ("GET", "/health/ready", 200, "readiness"),
        ("GET", "/health/ready", 200, "readiness"),
        ("GET", "/health/live", 503, "liveness"),
        ("GET", "/health/startup", 200, "startup"),
        ("HEAD", "/health/startup", 200, "startup"),
        ("GET", "/health", 503, "full"),
        ("GET", "/health/ready/database", 200, "readiness"),
        ("GET", "/health/live/worker", 503, "liveness"),
        ("GET", "/health/ready/no_such_check", 404, "readiness"),
        ("GET", "/health/live/", 404, "liveness"),
        ("GET", "/health/ready/database/more", 404, "readiness"),
        ("POST", "/health/ready", 405, "readiness"),
        ("DELETE", "/health/live/worker", 405, "liveness"),
        ("GET", "/readyz", 200, "readiness"),
        ("GET", "/livez", 503, "liveness"),
        ("GET", "/healthz", 503, "full"),
    ];
    for (method, path, code, probe) in cases {
        let moved = answer_moves(&m, addr, method, path, *code).await;
        assert_eq!(moved, one(probe, &code.to_string()), "{method} {path}");
    }
    // Not a probe route: nothing counted.
    let moved = answer_moves(&m, addr, "GET", "/metrics", 404).await;
    assert!(moved.is_empty(), "{moved:?}");

    // Every probe's every code exists (at 0 if unused).
    let answers = m.answers();
    let mut expected: BTreeMap<(String, String), u64> = BTreeMap::new();
    for probe in ["startup", "liveness", "readiness", "full"] {
        for code in ["200", "503", "404", "405", "other"] {
            expected.insert((probe.into(), code.into()), 0);
        }
    }
    for (_, _, code, probe) in cases {
        *expected
            .entry((probe.to_string(), code.to_string()))
            .or_default() += 1;
    }
    assert_eq!(answers, expected);
    for series in m.named(PROBE_RESPONSES_TOTAL) {
        assert_eq!(series.labels.len(), 2, "{series:?}");
    }
}

// -- Cardinality: 100 checks -------------------------------------------------------------------

/// How many checks [`Many`] has.
const MANY: usize = 100;

/// In every message a check of [`Many`] gives (and in every panic and maintenance reason):
/// a label that carries it is found by it.
const SECRET: &str = "SECRET-7f3a";

/// `check_00` ... `check_99`, one after another, built at compile time.
const NAME_BYTES: &[u8] = &{
    let mut bytes = [0u8; MANY * 8];
    let mut i = 0;
    while i < MANY {
        let prefix = b"check_";
        let mut p = 0;
        while p < prefix.len() {
            bytes[i * 8 + p] = prefix[p];
            p += 1;
        }
        bytes[i * 8 + 6] = b'0' + (i / 10) as u8;
        bytes[i * 8 + 7] = b'0' + (i % 10) as u8;
        i += 1;
    }
    bytes
};

const fn name(i: usize) -> &'static str {
    let (_, rest) = NAME_BYTES.split_at(i * 8);
    let (this, _) = rest.split_at(8);
    match std::str::from_utf8(this) {
        Ok(name) => name,
        Err(_) => panic!("names are ASCII"),
    }
}

#[derive(Clone)]
struct Many {
    lifecycle: Lifecycle,
}

/// Check `I`: by `I % 6` healthy, degraded, unhealthy, panicking, hung (cut at its timeout) or
/// slower than its `degraded_ms`; each message names the check and carries [`SECRET`], with
/// the characters a label's syntax would trip on.
fn run<const I: usize>(_: &Many) -> BoxFuture<'_, CheckOutcome> {
    Box::pin(async {
        match I % 6 {
            0 => CheckOutcome::healthy(),
            1 => CheckOutcome::degraded(format!("{SECRET} {I}: replica lag 12 s")),
            2 => CheckOutcome::unhealthy(format!(
                "{SECRET} {I}: connection refused by \"db-{I}\"}} at 10.0.0.{I}:5432\nretrying"
            )),
            3 => panic!("{SECRET} {I}: index out of bounds"),
            4 => {
                tokio::time::sleep(Duration::from_secs(3600)).await;
                CheckOutcome::healthy()
            }
            _ => {
                tokio::time::sleep(ms(30)).await;
                CheckOutcome::healthy()
            }
        }
    })
}

/// Every probe, a timeout of 100 ms, `degraded_ms` 20, turning unhealthy at the first
/// failure, the circuit opening at the second.
const fn spec<const I: usize>() -> CheckSpec<Many> {
    CheckSpec::new(name(I), run::<I>)
        .gates(Probe::Startup)
        .gates(Probe::Live)
        .gates(Probe::Ready)
        .critical(I % 2 == 0)
        .timeout_ms(100)
        .degraded_ms(20)
        .failure_threshold(1)
        .breaker_threshold(2)
        .backoff_ms(60_000)
}

macro_rules! specs {
    ($($i:literal)*) => { [$(spec::<$i>()),*] };
}

static SPECS: [CheckSpec<Many>; MANY] = specs!(
    0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25 26 27 28 29 30 31 32 33
    34 35 36 37 38 39 40 41 42 43 44 45 46 47 48 49 50 51 52 53 54 55 56 57 58 59 60 61 62 63 64
    65 66 67 68 69 70 71 72 73 74 75 76 77 78 79 80 81 82 83 84 85 86 87 88 89 90 91 92 93 94 95
    96 97 98 99
);

impl HealthState for Many {
    const CHECKS: &'static [CheckSpec<Self>] = &SPECS;
    const VERSION: &'static str = "1.0.0";
    fn lifecycle(&self) -> &Lifecycle {
        &self.lifecycle
    }
}

/// Every label value the series may carry: check names and the fixed vocabulary.
fn allowed_label_values(checks: &[&str]) -> BTreeSet<String> {
    let vocabulary: [&[&str]; 6] = [
        // kubernetes_healthcheck(s_total): type, status
        &["healthz", "startupz", "livez", "readyz", "success", "error"],
        // health_check_status, health_check_last_result, health_check_runs_total
        &[
            "healthy",
            "degraded",
            "unhealthy",
            "timed_out",
            "panicked",
            "cancelled",
        ],
        &[SKIPPED_CIRCUIT_OPEN],
        // health_check_circuit_state, health_lifecycle_phase
        &[
            "closed",
            "open",
            "half_open",
            "starting",
            "started",
            "ready",
            "draining",
        ],
        // health_probe_responses_total: probe, code
        &["startup", "liveness", "readiness", "full"],
        &["200", "503", "404", "405", "other"],
    ];
    vocabulary
        .iter()
        .flat_map(|words| words.iter())
        .chain(checks)
        .map(|v| v.to_string())
        .collect()
}

/// Fails the test if any label value of any series contains one of `texts`.
fn assert_no_label_contains(m: &Metrics, texts: &[&str]) {
    for series in m.series() {
        for (key, value) in &series.labels {
            for text in texts {
                assert!(
                    !value.contains(text),
                    "label {key}={value:?} of {} carries {text:?}",
                    series.name
                );
            }
        }
    }
}

/// Three refreshes of 100 checks that end every way a run can (the circuits of the failing
/// ones open at the second, so the third leaves them), and two probe answers: each check has
/// the same series, `SERIES_PER_CHECK` of them (it gates every probe: the most a check can
/// have); the rest are the fixed global series; every label is a check's name or a word of the
/// fixed vocabulary, so none carries a message.
#[tokio::test(start_paused = true)]
async fn a_hundred_checks_have_a_fixed_number_of_series_each_and_no_message_in_any_label() {
    let (m, _recorder) = record();
    let state = Many {
        lifecycle: Lifecycle::new(),
    };
    state.lifecycle.mark_started();
    for _ in 0..3 {
        refresh(&state).await;
    }
    take_out_of_service(&state, name(0), format!("{SECRET}: planned maintenance")).unwrap();
    state
        .lifecycle
        .mark_broken(format!("{SECRET}: the worker pool lost its last thread"));
    let mut router: Router = Many::health_router()
        .details(Details::Always)
        .build()
        .with_state(state.clone());
    for (path, code) in [
        ("/health/ready", 503),
        ("/health/ready/SECRET-7f3a%22%7D", 404),
    ] {
        let request = Request::get(path).body(Body::empty()).unwrap();
        let response = router.call(request).await.unwrap();
        assert_eq!(response.status(), code, "{path}");
    }

    // The checks ran as intended: every way a run ends; the third `refresh` found the failing
    // ones' circuits open and left them (not a round of the scheduler: no skip counted).
    let runs = |i: usize, outcome: &str| {
        m.counter(
            CHECK_RUNS_TOTAL,
            &[("check", name(i)), ("outcome", outcome)],
        )
    };
    assert_eq!(runs(0, "healthy"), 3);
    assert_eq!(runs(1, "degraded"), 3);
    assert_eq!(
        (runs(2, "unhealthy"), runs(2, SKIPPED_CIRCUIT_OPEN)),
        (2, 0)
    );
    assert_eq!((runs(3, "panicked"), runs(3, SKIPPED_CIRCUIT_OPEN)), (2, 0));
    assert_eq!(
        (runs(4, "timed_out"), runs(4, SKIPPED_CIRCUIT_OPEN)),
        (2, 0)
    );
    assert_eq!(runs(5, "degraded"), 3);

    let all = m.series();
    let names: Vec<&str> = (0..MANY).map(name).collect();
    let mut per_check: BTreeMap<&str, Vec<&Series>> = BTreeMap::new();
    let mut global = Vec::new();
    for series in &all {
        match series.label("check").or(series.label("name")) {
            Some(check) => {
                let check = names
                    .iter()
                    .find(|n| **n == check)
                    .unwrap_or_else(|| panic!("a series of no check: {series:?}"));
                per_check.entry(check).or_default().push(series);
            }
            None => global.push(series),
        }
    }
    assert_eq!(per_check.len(), MANY, "every check has series");
    // The same series for every check, but for the name.
    let shape = |series: &[&Series]| -> Vec<Series> {
        series
            .iter()
            .map(|s| {
                let mut s = (*s).clone();
                for (key, value) in &mut s.labels {
                    if key == "check" || key == "name" {
                        *value = "<check>".into();
                    }
                }
                s
            })
            .collect()
    };
    let first = shape(&per_check[name(0)]);
    assert_eq!(first.len(), SERIES_PER_CHECK);
    for (check, series) in &per_check {
        assert!(
            series.len() <= SERIES_PER_CHECK,
            "{check}: {}",
            series.len()
        );
        assert_eq!(
            shape(series),
            first,
            "{check} has other series than {}",
            name(0)
        );
    }
    // The global series: the four phases, and the probe answers (five codes of four probes,
    // registered with the router).
    let global_names: BTreeMap<&str, usize> = global.iter().fold(BTreeMap::new(), |mut n, s| {
        *n.entry(s.name.as_str()).or_default() += 1;
        n
    });
    assert_eq!(
        global_names,
        BTreeMap::from([(LIFECYCLE_PHASE, 4), (PROBE_RESPONSES_TOTAL, 20)])
    );
    assert_eq!(all.len(), SERIES_PER_CHECK * MANY + 24);

    // No message, panic, reason or path in any label: every value is a check's name or a word
    // of the vocabulary.
    let allowed = allowed_label_values(&names);
    for series in &all {
        for (key, value) in &series.labels {
            assert!(
                allowed.contains(value),
                "label {key}={value:?} of {}: not a check name nor a fixed value",
                series.name
            );
        }
    }
    assert_no_label_contains(&m, &[SECRET, "refused", "panicked:", "timed out", "slow:"]);
    // Every series name is described.
    let described = m.described.lock().unwrap();
    for series in &all {
        assert!(
            described.contains_key(&series.name),
            "{} has no help",
            series.name
        );
    }
    assert_eq!(described[CHECK_RUN_DURATION_SECONDS].0, Some(Unit::Seconds));
}

// -- The Prometheus exporter's text ------------------------------------------------------------

/// The labels of one line of the Prometheus text format, `name{k="v",...} value`, unescaped.
fn prometheus_labels(line: &str) -> Vec<(String, String)> {
    let Some(open) = line.find('{') else {
        return Vec::new();
    };
    let mut labels = Vec::new();
    let mut rest = &line[open + 1..];
    while let Some(eq) = rest.find("=\"") {
        let key = rest[..eq].trim_start_matches(',').to_string();
        let mut value = String::new();
        let mut chars = rest[eq + 2..].char_indices();
        let mut end = None;
        while let Some((i, c)) = chars.next() {
            match c {
                '\\' => {
                    if let Some((_, escaped)) = chars.next() {
                        value.push(match escaped {
                            'n' => '\n',
                            other => other,
                        });
                    }
                }
                '"' => {
                    end = Some(eq + 2 + i + 1);
                    break;
                }
                other => value.push(other),
            }
        }
        labels.push((key, value));
        match end {
            Some(end) if rest[end..].starts_with(',') => rest = &rest[end..],
            _ => break,
        }
    }
    labels
}

/// The 100 checks through the Prometheus exporter, as an application installs it, over real
/// HTTP: the rendered text never carries a message, a panic, a maintenance or liveness reason,
/// or a requested path, and every label of every line is a check's name or a fixed value.
#[tokio::test]
async fn the_prometheus_text_carries_no_message_whatever_happens() {
    let recorder = metrics_exporter_prometheus::PrometheusBuilder::new().build_recorder();
    let handle = recorder.handle();
    let _recorder = metrics::set_default_local_recorder(&recorder);
    let state = Many {
        lifecycle: Lifecycle::new(),
    };
    state.lifecycle.mark_started();
    for _ in 0..3 {
        refresh(&state).await;
    }
    take_out_of_service(&state, name(6), format!("{SECRET}: planned maintenance")).unwrap();
    state
        .lifecycle
        .mark_broken(format!("{SECRET}: the worker pool lost its last thread"));
    let addr = spawn(
        Many::health_router()
            .details(Details::Always)
            .build()
            .with_state(state.clone()),
    )
    .await;
    for (method, path, code) in [
        ("GET", "/health/ready", 503),
        ("GET", "/health/live", 503),
        ("GET", "/health/ready/check_02", 503),
        ("GET", "/health/ready/SECRET-7f3a%22%7D%0A", 404),
        ("GET", "/health/live/SECRET-7f3a/more", 404),
        ("POST", "/health/SECRET-7f3a", 405),
        ("PUT", "/health", 405),
    ] {
        let response = request(addr, method, path).await;
        assert_eq!(response.status, code, "{method} {path}");
    }
    // The report does carry the messages (so the exporter had them at hand)...
    let report = request(addr, "GET", "/health").await.text();
    assert!(report.contains(SECRET), "{report}");

    // ...the exposition does not.
    let text = handle.render();
    for needle in [
        SECRET,
        "refused",
        "panicked:",
        "timed out after",
        "slow:",
        "maintenance",
    ] {
        assert!(
            !text.contains(needle),
            "{needle:?} in the exposition:\n{text}"
        );
    }
    let names: Vec<&str> = (0..MANY).map(name).collect();
    let allowed = allowed_label_values(&names);
    let mut lines = 0;
    for line in text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
    {
        lines += 1;
        for (key, value) in prometheus_labels(line) {
            // The exporter's own label on summary lines.
            if key == "quantile" {
                continue;
            }
            assert!(
                allowed.contains(&value),
                "label {key}={value:?} in {line:?}: not a check name nor a fixed value"
            );
        }
    }
    // Sanity: the text has the series (a summary renders several lines for the histogram).
    assert!(lines > SERIES_PER_CHECK * MANY, "{lines} lines");
    assert!(
        text.contains(r#"health_check_runs_total{check="check_03",outcome="panicked"} 2"#),
        "{text}"
    );
    assert!(
        text.contains(r#"health_probe_responses_total{probe="readiness",code="404"} 1"#),
        "{text}"
    );
}
