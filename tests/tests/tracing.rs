//! The `tracing` side of a check run: every run has a root span `health_check` with the check's
//! name, entered around every poll of the check (so what the check, or a client it calls, logs
//! after an `.await` carries the check's name), and given the run's `outcome` and `latency_ms`
//! when it ends; a streak of slow runs is warned of once, and its end said once.
//!
//! Each test captures with a `tracing_subscriber` `Layer` on a `Registry`, set as this thread's
//! default (`tracing::subscriber::set_default`) on a current-thread runtime, where the checks'
//! tasks run too. Every test of this binary sets its subscriber before anything logs, and the
//! layer is interested in every callsite, so the callsites' cached interest is "always" whichever
//! thread registers one first.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use health_axum::engine::{run_checks, RunEnd, CHECK_SPAN_NAME};
use health_axum::prelude::*;
use health_axum::refresh;
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::subscriber::{DefaultGuard, Interest};
use tracing::{Event, Level, Metadata, Subscriber};
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::Layer;

// -- The capturing layer -----------------------------------------------------------------------

/// A span as captured: its name, its parent at creation, and its fields as recorded so far.
#[derive(Debug, Clone, Default)]
struct SpanSeen {
    name: &'static str,
    parent: Option<&'static str>,
    fields: BTreeMap<String, String>,
}

/// An event as captured: level, message, fields, and the spans it was in (innermost first),
/// each with its fields at that moment.
#[derive(Debug, Clone)]
struct EventSeen {
    level: Level,
    message: String,
    fields: BTreeMap<String, String>,
    scope: Vec<SpanSeen>,
}

impl EventSeen {
    /// The `health_check` span the event was in, if any.
    fn check_span(&self) -> Option<&SpanSeen> {
        self.scope.iter().find(|s| s.name == CHECK_SPAN_NAME)
    }

    /// The `check` field of that span.
    fn check(&self) -> Option<&str> {
        self.check_span()
            .and_then(|s| s.fields.get("check"))
            .map(String::as_str)
    }
}

#[derive(Default)]
struct Captured {
    spans: Vec<SpanSeen>,
    events: Vec<EventSeen>,
}

/// What a test's layer captured.
#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Captured>>);

impl Capture {
    /// Every `health_check` span so far, in creation order.
    fn check_spans(&self) -> Vec<SpanSeen> {
        let captured = self.0.lock().unwrap();
        captured
            .spans
            .iter()
            .filter(|s| s.name == CHECK_SPAN_NAME)
            .cloned()
            .collect()
    }

    /// The events whose message starts with `message`.
    fn events(&self, message: &str) -> Vec<EventSeen> {
        let captured = self.0.lock().unwrap();
        captured
            .events
            .iter()
            .filter(|e| e.message.starts_with(message))
            .cloned()
            .collect()
    }
}

/// Where a span's captured record is, kept in the span's extensions.
struct Index(usize);

struct Fields<'a>(&'a mut BTreeMap<String, String>);

impl Visit for Fields<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().to_string(), value.to_string());
    }
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0
            .insert(field.name().to_string(), format!("{value:?}"));
    }
}

impl<S: Subscriber + for<'a> LookupSpan<'a>> Layer<S> for Capture {
    fn register_callsite(&self, _: &'static Metadata<'static>) -> Interest {
        Interest::always()
    }

    fn enabled(&self, _: &Metadata<'_>, _: Context<'_, S>) -> bool {
        true
    }

    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let mut seen = SpanSeen {
            name: attrs.metadata().name(),
            ..SpanSeen::default()
        };
        attrs.record(&mut Fields(&mut seen.fields));
        let span = ctx.span(id).expect("a new span");
        seen.parent = span.parent().map(|p| p.name());
        let mut captured = self.0.lock().unwrap();
        captured.spans.push(seen);
        span.extensions_mut()
            .insert(Index(captured.spans.len() - 1));
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        let span = ctx.span(id).expect("a recorded span");
        let extensions = span.extensions();
        let Some(Index(i)) = extensions.get::<Index>() else {
            return;
        };
        let mut captured = self.0.lock().unwrap();
        values.record(&mut Fields(&mut captured.spans[*i].fields));
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let mut fields = BTreeMap::new();
        event.record(&mut Fields(&mut fields));
        let message = fields.remove("message").unwrap_or_default();
        let mut captured = self.0.lock().unwrap();
        let scope = ctx
            .event_scope(event)
            .map(|scope| {
                scope
                    .map(|span| {
                        let extensions = span.extensions();
                        extensions
                            .get::<Index>()
                            .map(|Index(i)| captured.spans[*i].clone())
                            .unwrap_or_default()
                    })
                    .collect()
            })
            .unwrap_or_default();
        captured.events.push(EventSeen {
            level: *event.metadata().level(),
            message,
            fields,
            scope,
        });
    }
}

/// Captures this thread's spans and events until the guard is dropped.
fn capture() -> (Capture, DefaultGuard) {
    let capture = Capture::default();
    let subscriber = tracing_subscriber::registry().with(capture.clone());
    (capture, tracing::subscriber::set_default(subscriber))
}

// -- Events inside a check carry its span ------------------------------------------------------

#[derive(Clone, HealthState)]
#[health(checks(queries, also_queries))]
struct Querying {
    #[health(lifecycle)]
    lifecycle: Lifecycle,
}

/// Logs before its first `.await`, after a yield, and after a sleep: each event is emitted in a
/// different poll of the check's task.
#[health_check]
async fn queries() -> Result<(), String> {
    tracing::info!(step = 1, "querying");
    tokio::task::yield_now().await;
    tracing::info!(step = 2, "querying");
    tokio::time::sleep(Duration::from_millis(20)).await;
    tracing::info!(step = 3, "querying");
    Ok(())
}

/// The same, interleaved with [`queries`] on the one thread.
#[health_check]
async fn also_queries() -> Result<(), String> {
    tracing::info!(step = 1, "querying");
    tokio::task::yield_now().await;
    tracing::info!(step = 2, "querying");
    tokio::time::sleep(Duration::from_millis(10)).await;
    tracing::info!(step = 3, "querying");
    Ok(())
}

/// Two checks run at once on one thread, their polls interleaved: every event either emits,
/// before its first `.await`, after a yield and after a sleep, is in its own check's span and in
/// no other (the span is a root, even under the caller's span); an event after the runs is in
/// none.
#[tokio::test(start_paused = true)]
async fn an_event_inside_a_check_carries_its_span_in_every_poll() {
    let (capture, _guard) = capture();
    let state = Querying {
        lifecycle: Lifecycle::new(),
    };
    // Inside a span of the caller's: the run's span is a root nonetheless.
    let request = tracing::info_span!("request");
    {
        use tracing::Instrument;
        refresh(&state).instrument(request).await;
    }
    tracing::info!("querying outside any check");

    let events = capture.events("querying");
    let steps = |check: &str| -> Vec<String> {
        events
            .iter()
            .filter(|e| e.check() == Some(check))
            .map(|e| e.fields["step"].clone())
            .collect()
    };
    // Both checks ran at once, their polls interleaved: each event carries its own check.
    assert_eq!(steps("queries"), ["1", "2", "3"], "{events:#?}");
    assert_eq!(steps("also_queries"), ["1", "2", "3"], "{events:#?}");
    for event in events.iter().filter(|e| e.check().is_some()) {
        let span = event.check_span().unwrap();
        assert_eq!(span.parent, None, "a root span: {event:?}");
        assert_eq!(event.scope.len(), 1, "in no other span: {event:?}");
    }
    let outside = events.last().unwrap();
    assert_eq!(outside.message, "querying outside any check");
    assert!(outside.scope.is_empty(), "{outside:?}");
    assert_eq!(events.len(), 7, "{events:#?}");
}

// -- The span's outcome and latency ------------------------------------------------------------

#[derive(Clone, HealthState)]
#[health(checks(takes_20_ms, hangs, fails, panics, reports_degraded))]
struct Ends {
    #[health(lifecycle)]
    lifecycle: Lifecycle,
}

#[health_check]
async fn takes_20_ms() -> Result<(), String> {
    tokio::time::sleep(Duration::from_millis(20)).await;
    Ok(())
}

#[health_check(timeout_ms = 100)]
async fn hangs() -> Result<(), String> {
    tokio::time::sleep(Duration::from_secs(3600)).await;
    Ok(())
}

#[health_check]
async fn fails() -> Result<(), String> {
    tokio::time::sleep(Duration::from_millis(5)).await;
    Err("refused".into())
}

#[health_check]
async fn panics(_: &Ends) -> Result<(), String> {
    panic!("boom in a check");
}

#[health_check]
async fn reports_degraded() -> CheckOutcome {
    CheckOutcome::degraded("backlog")
}

/// One run of each check (on the paused clock): its span, and only one, ends with how the run
/// ended and how long it took (a timed-out run: its timeout).
#[tokio::test(start_paused = true)]
async fn the_span_records_the_outcome_and_the_latency() {
    let (capture, _guard) = capture();
    let state = Ends {
        lifecycle: Lifecycle::new(),
    };
    refresh(&state).await;
    let all = capture.check_spans();
    assert_eq!(all.len(), 5, "one span per run: {all:#?}");
    let spans: BTreeMap<String, BTreeMap<String, String>> = all
        .into_iter()
        .map(|s| (s.fields["check"].clone(), s.fields))
        .collect();
    let expected = [
        ("takes_20_ms", "healthy", "20"),
        ("hangs", "timed_out", "100"),
        ("fails", "unhealthy", "5"),
        ("panics", "panicked", "0"),
        ("reports_degraded", "degraded", "0"),
    ];
    assert_eq!(spans.len(), expected.len(), "{spans:#?}");
    for (check, outcome, latency_ms) in expected {
        let fields = &spans[check];
        assert_eq!(fields["outcome"], outcome, "{check}: {fields:?}");
        assert_eq!(fields["latency_ms"], latency_ms, "{check}: {fields:?}");
    }
}

// -- The slow warning, once per streak ---------------------------------------------------------

#[derive(Clone, HealthState)]
#[health(checks(varies))]
struct Slow {
    /// How long the next run takes, in ms.
    takes_ms: Arc<AtomicU64>,
    #[health(lifecycle)]
    lifecycle: Lifecycle,
}

/// Slow above 50 ms (half its timeout).
#[health_check(name = "varies", timeout_ms = 100, no_breaker)]
async fn varies(state: &Slow) -> Result<(), String> {
    let ms = state.takes_ms.load(Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(ms)).await;
    Ok(())
}

/// Runs of chosen latencies (paused clock): the first run above half the timeout is warned of,
/// the runs after it in the same streak (a timed-out one included) are not; the first fast run
/// after the streak says so once; a new streak is warned of again.
#[tokio::test(start_paused = true)]
async fn a_slow_streak_is_warned_of_once_and_its_end_said_once() {
    let (capture, _guard) = capture();
    let state = Slow {
        takes_ms: Arc::default(),
        lifecycle: Lifecycle::new(),
    };
    let slow = || capture.events("health check is slow");
    let recovered = || capture.events("health check is no longer slow");
    // (latency of the run, warnings and recoveries said after it, in all)
    let runs = [
        (10, 0, 0),
        (50, 0, 0), // not above half the timeout
        (60, 1, 0), // the streak begins: warned
        (70, 1, 0),
        (300, 1, 0), // cut at its timeout: slow, still the same streak
        (10, 1, 1),  // the streak ends: said once
        (20, 1, 1),
        (80, 2, 1), // a new streak: warned again
        (10, 2, 2),
    ];
    for (i, (ms, warned, ended)) in runs.into_iter().enumerate() {
        state.takes_ms.store(ms, Ordering::SeqCst);
        refresh(&state).await;
        assert_eq!(
            (slow().len(), recovered().len()),
            (warned, ended),
            "after run {i} ({ms} ms): {:#?} {:#?}",
            slow(),
            recovered()
        );
    }
    let warnings = slow();
    for (warning, latency) in warnings.iter().zip(["60", "80"]) {
        assert_eq!(warning.level, Level::WARN);
        assert_eq!(warning.fields["check"], "varies");
        assert_eq!(warning.fields["latency_ms"], latency);
        assert_eq!(warning.fields["timeout_ms"], "100");
    }
    let recoveries = recovered();
    for (recovery, latency) in recoveries.iter().zip(["10", "10"]) {
        assert_eq!(recovery.level, Level::INFO);
        assert_eq!(recovery.fields["check"], "varies");
        assert_eq!(recovery.fields["latency_ms"], latency);
    }
}

// -- run_checks: each run judged by itself -----------------------------------------------------

#[derive(Clone, HealthState)]
#[health(checks(hangs_500, takes_150_of_100, panics_at_once))]
struct InOrder {
    #[health(lifecycle)]
    lifecycle: Lifecycle,
}

#[health_check(timeout_ms = 500)]
async fn hangs_500() -> Result<(), String> {
    tokio::time::sleep(Duration::from_secs(3600)).await;
    Ok(())
}

/// Over its 100 ms timeout: cut at 100 ms.
#[health_check(timeout_ms = 100)]
async fn takes_150_of_100() -> Result<(), String> {
    tokio::time::sleep(Duration::from_millis(150)).await;
    Ok(())
}

#[health_check]
async fn panics_at_once(_: &InOrder) -> Result<(), String> {
    panic!("boom at once");
}

/// `run_checks` starts every check at once and then awaits them in registry order; each
/// result must still be that run's own: a check over its timeout is cut at its timeout (not
/// accepted because it finished before the caller got to it), and a panic's latency is the
/// time until the panic (not until the caller got to it). So says the run's span too.
#[tokio::test(start_paused = true)]
async fn run_checks_judges_each_run_by_itself() {
    let (capture, _guard) = capture();
    let state = InOrder {
        lifecycle: Lifecycle::new(),
    };
    let results = run_checks(&state, |_| true).await;
    let ends: Vec<(&str, RunEnd, Duration)> =
        results.iter().map(|r| (r.name, r.end, r.latency)).collect();
    let spans: BTreeMap<String, BTreeMap<String, String>> = capture
        .check_spans()
        .into_iter()
        .map(|s| (s.fields["check"].clone(), s.fields))
        .collect();
    assert_eq!(
        ends,
        [
            ("hangs_500", RunEnd::TimedOut, Duration::from_millis(500)),
            (
                "takes_150_of_100",
                RunEnd::TimedOut,
                Duration::from_millis(100)
            ),
            ("panics_at_once", RunEnd::Panicked, Duration::ZERO),
        ],
        "spans: {spans:#?}"
    );
    assert_eq!(spans["takes_150_of_100"]["outcome"], "timed_out");
    assert_eq!(spans["panics_at_once"]["latency_ms"], "0");
}
