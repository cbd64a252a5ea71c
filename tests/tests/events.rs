//! The event stream: each change is published once, whatever the probes do; the lifecycle's
//! phases and the application's own liveness verdict are on it; a subscriber that never reads
//! slows nothing and, when it reads again, is told exactly how many events it missed.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, Ordering};
use std::sync::Arc;
use std::time::Duration;

use health_axum::engine::{evaluate, Circuit};
use health_axum::events::{Change, Event, Subject, Subscription, CAPACITY};
use health_axum::prelude::*;
use health_axum::Scope;
use health_axum::{overview, start_scheduler};
use health_tests::get;

/// What the switch check answers: 0 healthy, 1 unhealthy.
#[derive(Clone, Default)]
struct Switch {
    down: Arc<AtomicU8>,
    runs: Arc<AtomicU64>,
}

#[derive(Clone, HealthState)]
#[health(checks(switch))]
struct Damped {
    switch: Switch,
    #[health(lifecycle)]
    lifecycle: Lifecycle,
}

/// Default damping (two failures to turn unhealthy, one success to recover), no breaker.
#[health_check(name = "switch", interval_ms = 100, timeout_ms = 50, no_breaker)]
async fn switch(state: &Damped) -> Result<(), String> {
    state.switch.runs.fetch_add(1, Ordering::SeqCst);
    match state.switch.down.load(Ordering::SeqCst) {
        0 => Ok(()),
        _ => Err("switch is down".into()),
    }
}

fn damped() -> Damped {
    Damped {
        switch: Switch::default(),
        lifecycle: Lifecycle::new(),
    }
}

/// Every event already published to `sub` (what arrives within 50 ms of the last one).
async fn drain(sub: &mut Subscription) -> Vec<Event> {
    let mut events = Vec::new();
    while let Ok(Some(item)) = tokio::time::timeout(Duration::from_millis(50), sub.recv()).await {
        events.push(item.expect("no event missed"));
    }
    events
}

/// The status changes of check `name` among `events`.
fn status_changes(events: &[Event], name: &str) -> Vec<(Option<Status>, Status)> {
    events
        .iter()
        .filter(|e| e.check() == Some(name))
        .filter_map(|e| match e.change() {
            Change::Status { from, to } => Some((*from, *to)),
            _ => None,
        })
        .collect()
}

/// Healthy -> unhealthy -> healthy, on the paused clock, with 200 probes between every two runs
/// of the check (10 rounds in each state): exactly three status events, in order, each carrying
/// the raw result, the message and the consecutive failures; and none per probe.
#[tokio::test(start_paused = true)]
async fn a_check_that_flips_twice_yields_exactly_its_transitions_however_many_probes_run() {
    let state = damped();
    let mut sub = state.lifecycle.subscribe();
    state.lifecycle.mark_started();
    let scheduler = start_scheduler(&state);
    let mut probes = 0;
    for phase in [0u8, 1, 0] {
        state.switch.down.store(phase, Ordering::SeqCst);
        for _ in 0..10 {
            for _ in 0..200 {
                let report = evaluate(&state, Scope::Probe(Probe::Ready)).await;
                assert_eq!(report.checks.len(), 1);
                probes += 1;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    scheduler.stop();
    assert_eq!(probes, 6000);
    let runs = state.switch.runs.load(Ordering::SeqCst);
    assert!(
        (28..=32).contains(&runs),
        "the check ran {runs} times in 3 s at 100 ms"
    );

    let events = drain(&mut sub).await;
    assert_eq!(
        status_changes(&events, "switch"),
        [
            (None, Status::Healthy),
            (Some(Status::Healthy), Status::Unhealthy),
            (Some(Status::Unhealthy), Status::Healthy),
        ],
        "all events: {events:#?}"
    );
    let down = events
        .iter()
        .find(|e| {
            matches!(
                e.change(),
                Change::Status {
                    to: Status::Unhealthy,
                    ..
                }
            )
        })
        .unwrap();
    assert_eq!(down.subject(), Subject::Check("switch"));
    assert_eq!(down.message(), Some("switch is down"));
    assert_eq!(down.raw().unwrap().status, Status::Unhealthy);
    assert_eq!(
        down.consecutive_failures(),
        Some(2),
        "turned after the second failure"
    );
    assert_eq!(down.circuit(), Some(Circuit::Closed));
    // Besides the three, only the phase changes (the first readiness probe made the
    // application ready): nothing per probe.
    let others: Vec<_> = events
        .iter()
        .filter(|e| !matches!(e.change(), Change::Status { .. }))
        .map(|e| e.change().clone())
        .collect();
    assert_eq!(
        others,
        [
            Change::Phase {
                from: Phase::Starting,
                to: Phase::Started
            },
            Change::Phase {
                from: Phase::Started,
                to: Phase::Ready
            }
        ]
    );
    // Numbered in order, with no gap.
    let seqs: Vec<u64> = events.iter().map(Event::seq).collect();
    assert_eq!(seqs, (1..=events.len() as u64).collect::<Vec<_>>());
}

#[derive(Clone, HealthState)]
#[health(checks(breaks))]
struct Breaking {
    switch: Switch,
    #[health(lifecycle)]
    lifecycle: Lifecycle,
}

/// Opens after 2 failures, trial after 200 ms.
#[health_check(
    name = "breaks",
    interval_ms = 100,
    timeout_ms = 50,
    failure_threshold = 1,
    breaker_threshold = 2,
    backoff_ms = 200
)]
async fn breaks(state: &Breaking) -> Result<(), String> {
    state.switch.runs.fetch_add(1, Ordering::SeqCst);
    match state.switch.down.load(Ordering::SeqCst) {
        0 => Ok(()),
        _ => Err("breaks is down".into()),
    }
}

/// The circuit's changes of `state`'s check, from what `sub` received.
async fn circuit_changes(sub: &mut Subscription) -> Vec<(&'static str, &'static str)> {
    drain(sub)
        .await
        .iter()
        .filter_map(|e| match e.change() {
            Change::Circuit { from, to } => Some((from.as_str(), to.as_str())),
            _ => None,
        })
        .collect()
}

/// The circuit's changes when it opens, its trial runs, and the trial passes.
const OPEN_TRIAL_CLOSE: [(&str, &str); 3] = [
    ("closed", "open"),
    ("open", "half_open"),
    ("half_open", "closed"),
];

/// A started `Breaking` state whose check fails, and a subscription to its events.
fn breaking_down() -> (Breaking, Subscription) {
    let state = Breaking {
        switch: Switch::default(),
        lifecycle: Lifecycle::new(),
    };
    state.lifecycle.mark_started();
    let sub = state.lifecycle.subscribe();
    state.switch.down.store(1, Ordering::SeqCst);
    (state, sub)
}

/// `n` readiness probes, all at this instant of the paused clock.
async fn probe_ready(state: &Breaking, n: usize) {
    for _ in 0..n {
        let report = evaluate(state, Scope::Probe(Probe::Ready)).await;
        assert_eq!(report.checks.len(), 1, "{report:?}");
    }
}

/// Scheduled: the circuit's changes are published once each (closed -> open at the second
/// failure, open -> half-open at the trial, half-open -> closed when it passes), with 100
/// readiness probes reading the check just before, at and just after each of them.
#[tokio::test(start_paused = true)]
async fn the_circuit_changes_are_published_once_each_whatever_the_probes_do() {
    let (state, mut sub) = breaking_down();
    let begun = tokio::time::Instant::now();
    let scheduler = start_scheduler(&state);
    // Runs at 0 and 100 ms fail: open at 100 until 300, when the trial runs (and passes).
    for at in [99, 100, 101, 250, 299, 300, 301, 400] {
        tokio::time::sleep_until(begun + Duration::from_millis(at)).await;
        if at == 250 {
            state.switch.down.store(0, Ordering::SeqCst);
        }
        probe_ready(&state, 100).await;
    }
    scheduler.stop();
    assert_eq!(circuit_changes(&mut sub).await, OPEN_TRIAL_CLOSE);
}

/// Not scheduled: the probes run the check themselves, and the first probe after the back-off
/// runs the trial. Its circuit changes are published once each however many probes come.
#[tokio::test(start_paused = true)]
async fn a_probe_that_runs_the_trial_publishes_it_once() {
    let (state, mut sub) = breaking_down();
    // A run at 0 (cold) and at 100 ms (older than the interval): both fail, open until 300.
    probe_ready(&state, 50).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    probe_ready(&state, 50).await;
    assert_eq!(state.switch.runs.load(Ordering::SeqCst), 2);
    tokio::time::sleep(Duration::from_millis(150)).await;
    probe_ready(&state, 50).await;
    assert_eq!(state.switch.runs.load(Ordering::SeqCst), 2, "open: not run");
    state.switch.down.store(0, Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(50)).await;
    probe_ready(&state, 50).await;
    assert_eq!(
        state.switch.runs.load(Ordering::SeqCst),
        3,
        "the trial, once"
    );
    assert_eq!(circuit_changes(&mut sub).await, OPEN_TRIAL_CLOSE);
}

/// Starting -> started -> ready -> draining, each published once, with the liveness verdict's
/// changes (broken, a new reason, correct again); and the overview agrees.
#[tokio::test(start_paused = true)]
async fn lifecycle_phases_and_the_liveness_verdict_are_published() {
    let state = damped();
    let mut sub = state.lifecycle.subscribe();
    state.lifecycle.mark_started();
    // Readiness, once the startup checks passed (none here), makes the application ready.
    let ready = evaluate(&state, Scope::Probe(Probe::Ready)).await;
    assert!(ready.passing, "{ready:?}");
    assert!(!state.lifecycle.mark_ready(), "already ready");
    assert!(state
        .lifecycle
        .mark_broken("the worker pool lost its last thread"));
    assert!(!state.lifecycle.mark_broken("again"), "already broken");
    let view = overview(&state);
    assert_eq!(view.phase, Phase::Ready);
    assert_eq!(view.broken.as_deref(), Some("again"), "the latest reason");
    assert_eq!(view.checks[0].name, "switch");
    assert_eq!(view.checks[0].status, Some(Status::Healthy));
    assert!(state.lifecycle.mark_correct());
    assert!(state.lifecycle.begin_drain());
    let changes: Vec<Change> = drain(&mut sub)
        .await
        .into_iter()
        .filter(|e| e.subject() == Subject::Application)
        .map(|e| e.change().clone())
        .collect();
    assert_eq!(
        changes,
        [
            Change::Phase {
                from: Phase::Starting,
                to: Phase::Started
            },
            Change::Phase {
                from: Phase::Started,
                to: Phase::Ready
            },
            Change::Liveness {
                broken: Some("the worker pool lost its last thread".into())
            },
            Change::Liveness {
                broken: Some("again".into())
            },
            Change::Liveness { broken: None },
            Change::Phase {
                from: Phase::Ready,
                to: Phase::Draining
            },
        ]
    );
}

#[derive(Clone, HealthState)]
#[health(checks(flapper))]
struct Flapping {
    flip: Arc<AtomicBool>,
    runs: Arc<AtomicU64>,
    #[health(lifecycle)]
    lifecycle: Lifecycle,
}

/// Changes at every run: a status event every 2 ms.
#[health_check(
    name = "flapper",
    interval_ms = 2,
    timeout_ms = 2,
    failure_threshold = 1,
    no_breaker,
    live
)]
async fn flapper(state: &Flapping) -> Result<(), String> {
    state.runs.fetch_add(1, Ordering::SeqCst);
    if state.flip.fetch_xor(true, Ordering::SeqCst) {
        Err("flap".into())
    } else {
        Ok(())
    }
}

/// Ten subscribers that never read, and a check that changes status at every run, every
/// 2 ms on the real clock, until twice the ring's capacity has been published. The check
/// keeps its pace (40 ms per run on average at most, for an interval of 2 ms) and every probe meanwhile answers within
/// 250 ms: generous bounds for a busy 2-core machine, far from what a blocked publisher would
/// show. A subscriber that reads only at the end is told exactly how many events it missed, and
/// the events it then reads start right after the gap.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_subscriber_that_never_reads_slows_nothing_and_is_told_what_it_missed() {
    let state = Flapping {
        flip: Arc::default(),
        runs: Arc::default(),
        lifecycle: Lifecycle::new(),
    };
    let idle: Vec<Subscription> = (0..10).map(|_| state.lifecycle.subscribe()).collect();
    let mut late = state.lifecycle.subscribe();
    let scheduler = start_scheduler(&state);
    // The scheduler owns the check once its first result is in: from then on no probe runs it.
    health_tests::dep::eventually(Duration::from_secs(10), "a first result", || {
        overview(&state).after_seq >= 1
    })
    .await;
    let begun = tokio::time::Instant::now();
    let mut slowest = Duration::ZERO;
    let mut probes = 0;
    let target = 2 * CAPACITY as u64;
    while overview(&state).after_seq < target {
        assert!(
            begun.elapsed() < Duration::from_secs(60),
            "{} events in 60 s",
            overview(&state).after_seq
        );
        let asked = tokio::time::Instant::now();
        evaluate(&state, Scope::Probe(Probe::Live)).await;
        slowest = slowest.max(asked.elapsed());
        probes += 1;
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    scheduler.stop();
    let took = begun.elapsed();
    let runs = state.runs.load(Ordering::SeqCst);
    let per_run = took / u32::try_from(runs).unwrap();
    println!("FIGURES runs={runs} in {took:?} ({per_run:?} per run) probes={probes} slowest_probe={slowest:?}");
    assert!(
        per_run < Duration::from_millis(20),
        "{runs} runs in {took:?}"
    );
    assert!(
        slowest < Duration::from_millis(250),
        "a probe took {slowest:?}"
    );

    // Whatever was still running when the scheduler stopped has been recorded by now.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let published = overview(&state).after_seq;
    let missed = match late.recv().await {
        Some(Err(missed)) => missed.count(),
        other => panic!("expected to be told of missed events, got {other:?}"),
    };
    let mut read = Vec::new();
    for event in drain(&mut late).await {
        read.push(event.seq());
    }
    assert_eq!(read.len(), CAPACITY, "the ring holds the newest {CAPACITY}");
    assert_eq!(
        read[0],
        missed + 1,
        "the first event read follows the {missed} missed"
    );
    assert_eq!(*read.last().unwrap(), published, "up to the last published");
    assert_eq!(missed + CAPACITY as u64, published);
    drop(idle);
}

#[derive(Clone, HealthState)]
#[health(checks(fine))]
struct Served {
    #[health(lifecycle)]
    lifecycle: Lifecycle,
}

#[health_check(name = "fine", live, ready)]
async fn fine() -> Result<(), String> {
    Ok(())
}

/// Over HTTP: the application marks itself broken, liveness answers 503 with the reason (and
/// readiness stays 200); marked correct, liveness answers 200 again. A listener sees both.
#[tokio::test]
async fn broken_and_back_over_http() {
    let state = Served {
        lifecycle: Lifecycle::new(),
    };
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let listening = state.lifecycle.listen({
        let seen = Arc::clone(&seen);
        move |event: &Event| {
            if let Change::Liveness { broken } = event.change() {
                seen.lock().unwrap().push(broken.clone());
            }
        }
    });
    let addr = health_tests::serve_probes(&state).await;
    health_tests::wait_for_status(addr, "/health/ready", 200, Duration::from_secs(5)).await;
    assert_eq!(get(addr, "/health/live").await.status, 200);

    state.lifecycle.mark_broken("the cache is poisoned");
    let live = get(addr, "/health/live").await;
    assert_eq!(live.status, 503, "{}", live.text());
    assert!(
        live.text()
            .contains("the application marked itself broken: the cache is poisoned"),
        "{}",
        live.text()
    );
    assert_eq!(
        get(addr, "/health/ready").await.status,
        200,
        "readiness unaffected"
    );
    assert_eq!(
        live.check_status("fine").as_deref(),
        Some("healthy"),
        "the body still lists the checks: {}",
        live.text()
    );
    assert_eq!(get(addr, "/health/live/fine").await.status, 503);
    let full = get(addr, "/health").await;
    assert_eq!(full.status, 503, "{}", full.text());
    assert!(
        full.text().contains("marked itself broken"),
        "{}",
        full.text()
    );

    state.lifecycle.mark_correct();
    assert_eq!(get(addr, "/health/live").await.status, 200);
    health_tests::dep::eventually(Duration::from_secs(5), "the listener saw both", || {
        seen.lock().unwrap().len() == 2
    })
    .await;
    assert_eq!(
        *seen.lock().unwrap(),
        [Some("the cache is poisoned".into()), None]
    );
    assert!(listening.is_running());
    listening.stop();
}

#[derive(Clone, HealthState)]
#[health(checks(fine))]
struct Maintained {
    #[health(lifecycle)]
    lifecycle: Lifecycle,
}

/// Out of service, a new reason while out, and back: three events, once each; repeating a call
/// changes nothing and publishes nothing.
#[tokio::test(start_paused = true)]
async fn service_changes_and_a_new_reason_are_published_once_each() {
    let state = Maintained {
        lifecycle: Lifecycle::new(),
    };
    let mut sub = state.lifecycle.subscribe();
    health_axum::take_out_of_service(&state, "fine", "failover step 1").unwrap();
    health_axum::take_out_of_service(&state, "fine", "failover step 1").unwrap();
    health_axum::take_out_of_service(&state, "fine", "failover step 2").unwrap();
    health_axum::return_to_service(&state, "fine").unwrap();
    health_axum::return_to_service(&state, "fine").unwrap();
    let changes: Vec<Change> = drain(&mut sub)
        .await
        .into_iter()
        .map(|e| {
            assert_eq!(e.check(), Some("fine"));
            e.change().clone()
        })
        .collect();
    assert_eq!(
        changes,
        [
            Change::Service {
                out_of_service: Some("failover step 1".into())
            },
            Change::Service {
                out_of_service: Some("failover step 2".into())
            },
            Change::Service {
                out_of_service: None
            },
        ]
    );
}

mod unannounced {
    use health_axum::prelude::*;
    use std::time::Duration;

    #[health_check(interval_ms = 100, timeout_ms = 50)]
    async fn steady() -> Result<(), String> {
        Ok(())
    }

    #[derive(Clone, HealthState)]
    #[health(checks(steady))]
    struct Steady {
        #[health(lifecycle)]
        lifecycle: Lifecycle,
    }

    /// Growing stale publishes no event, nor does a fresh result of the same status: a
    /// subscriber mirroring the probes (the gRPC `Watch`) learns from `next_unannounced_change`
    /// when to look again: when the result goes stale (interval × 2 + timeout after it), and,
    /// once stale, when the next run is due.
    #[tokio::test(start_paused = true)]
    async fn the_next_unannounced_change_is_when_a_result_goes_stale_then_each_interval() {
        let state = Steady {
            lifecycle: Lifecycle::new(),
        };
        assert_eq!(
            health_axum::next_unannounced_change(&state),
            None,
            "no result yet"
        );
        let scheduler = health_axum::start_scheduler(&state);
        let mut waited = Duration::ZERO;
        while health_axum::next_unannounced_change(&state).is_none() {
            tokio::time::sleep(Duration::from_millis(1)).await;
            waited += Duration::from_millis(1);
            assert!(waited < Duration::from_secs(1), "no first result");
        }
        let now = tokio::time::Instant::now();
        let stale_at = health_axum::next_unannounced_change(&state).expect("a result");
        assert!(
            stale_at > now && stale_at <= now + Duration::from_millis(250),
            "{:?}",
            stale_at - now
        );
        // The scheduler stalls: the result goes stale at that instant, with no event.
        scheduler.stop();
        tokio::time::sleep_until(stale_at + Duration::from_millis(1)).await;
        let now = tokio::time::Instant::now();
        let next = health_axum::next_unannounced_change(&state).expect("a result");
        assert_eq!(
            next,
            now + Duration::from_millis(100),
            "the next run's time, once stale"
        );
    }
}
