//! The example's `/metrics` (the framework's `metrics` feature, recorded by
//! `metrics-exporter-prometheus`), scraped from the built binary on a PostgreSQL server the test
//! starts, stops and restarts, and read by two real Prometheus text-format parsers: every scrape
//! goes through `promtool check metrics` (Prometheus' own parser and linter, Debian package
//! `prometheus`), which must report no problem, and through Prometheus' Python client library
//! (`prometheus_client.parser`, in the tests' virtual environment: `tests/prometheus/parse.py`),
//! whose reading is what the assertions look at.
//!
//! What is asserted: where `/metrics` answers (the probe port with `PROBE_PORT`, else the
//! application port) and its content type; every series the framework documents, with its type
//! and help, the run duration as a real histogram with the example's buckets; the database
//! check's series through an outage (`pg_ctl stop`: unhealthy, failures rising, last success
//! frozen, circuit open, Kubernetes' readiness gauge 0, failed runs and skipped rounds counted)
//! and the recovery; the probe-answer counter growing by exactly the probes this test sends; and
//! that no label value carries a message, and the set of series never changes.
//!
//! No `promtool`, no PostgreSQL or no PyPI on the first run is a failure saying what to install,
//! never a skip.

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use health_axum::metrics::{
    CHECK_CIRCUIT_STATE, CHECK_CONSECUTIVE_FAILURES, CHECK_LAST_RESULT,
    CHECK_LAST_SUCCESS_TIMESTAMP_SECONDS, CHECK_RUNS_TOTAL, CHECK_RUN_DURATION_SECONDS,
    CHECK_STATUS, GRPC_CHECK_RESPONSES_TOTAL, KUBERNETES_HEALTHCHECK,
    KUBERNETES_HEALTHCHECKS_TOTAL, LIFECYCLE_PHASE, PROBE_RESPONSES_TOTAL, SERIES_PER_CHECK,
    SKIPPED_CIRCUIT_OPEN,
};
use health_tests::{free_port, grpc_python, kubelet_probe, pg::PgServer, request, wait_for_status};
use serde_json::Value;

mod support;

/// The content type of the Prometheus text format the example answers with.
const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";
/// The example's run-duration buckets (upper bounds, in seconds), then `+Inf`.
const BUCKETS: [f64; 14] = [
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
    f64::INFINITY,
];
/// How long the outage and the recovery may take to show. The example's defaults (a run every
/// 5 s, unhealthy after 2 failures, the circuit open after 3, its back-off 5 s doubling to 30 s)
/// show every sign of the outage within about 35 s of the stop, and the recovery within one
/// back-off and one interval of the restart.
const PATIENCE: Duration = Duration::from_secs(60);
/// The probe requests this test sends between two scrapes, to count them.
const PROBES_SENT: usize = 7;

/// Every series the framework documents: its family name as the Python parser gives it (a
/// counter's without `_total`), its type.
const FAMILIES: [(&str, &str); 12] = [
    (KUBERNETES_HEALTHCHECK, "gauge"),
    (KUBERNETES_HEALTHCHECKS_TOTAL, "counter"),
    (CHECK_RUN_DURATION_SECONDS, "histogram"),
    (CHECK_STATUS, "gauge"),
    (CHECK_LAST_RESULT, "gauge"),
    (CHECK_CONSECUTIVE_FAILURES, "gauge"),
    (CHECK_LAST_SUCCESS_TIMESTAMP_SECONDS, "gauge"),
    (CHECK_CIRCUIT_STATE, "gauge"),
    (CHECK_RUNS_TOTAL, "counter"),
    (LIFECYCLE_PHASE, "gauge"),
    (PROBE_RESPONSES_TOTAL, "counter"),
    // The example serves gRPC health checking: its `Check` answers are counted too.
    (GRPC_CHECK_RESPONSES_TOTAL, "counter"),
];

/// The values each label of the framework's series may take: names the program fixes, never a
/// message. `le` (a bucket's bound) is checked apart.
fn allowed_values(label: &str) -> Option<&'static [&'static str]> {
    Some(match label {
        "check" | "name" => &["database", "migrations", "cache"],
        "type" => &["healthz", "startupz", "livez", "readyz"],
        "status" => &[
            "success",
            "error",
            "healthy",
            "degraded",
            "unhealthy",
            "serving",
            "not_serving",
            "not_found",
        ],
        "result" => &[
            "healthy",
            "degraded",
            "unhealthy",
            "timed_out",
            "panicked",
            "cancelled",
        ],
        "outcome" => &[
            "healthy",
            "degraded",
            "unhealthy",
            "timed_out",
            "panicked",
            "cancelled",
            SKIPPED_CIRCUIT_OPEN,
        ],
        "state" => &["closed", "open", "half_open"],
        "phase" => &["starting", "started", "ready", "draining"],
        "probe" => &[
            "startup",
            "liveness",
            "readiness",
            "full",
            "check",
            "unknown",
        ],
        "code" => &["200", "503", "404", "405", "other"],
        _ => return None,
    })
}

// -- Scraping, and the two parsers ------------------------------------------------------------

/// One sample, as the Python parser read it.
#[derive(Debug, Clone)]
struct Sample {
    name: String,
    labels: BTreeMap<String, String>,
    value: f64,
}

/// One family (a `# TYPE` and its samples), as the Python parser read it.
#[derive(Debug)]
struct Family {
    name: String,
    kind: String,
    help: String,
    samples: Vec<Sample>,
}

/// One scrape of `/metrics`: the text served, and the Python parser's reading of it (promtool
/// found no problem in it).
struct Scrape {
    at: Instant,
    text: String,
    families: Vec<Family>,
}

impl Scrape {
    /// The sample `name` whose labels are exactly `labels`, if there is one.
    fn get(&self, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        let want: BTreeMap<String, String> = labels
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let mut found = self
            .samples()
            .filter(|sample| sample.name == name && sample.labels == want);
        let value = found.next().map(|sample| sample.value);
        assert!(
            found.next().is_none(),
            "{name}{labels:?} appears twice in:\n{}",
            self.text
        );
        value
    }

    /// The sample `name` whose labels are exactly `labels`; fails the test if there is none.
    fn value(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        self.get(name, labels)
            .unwrap_or_else(|| panic!("no sample {name}{labels:?} in:\n{}", self.text))
    }

    fn samples(&self) -> impl Iterator<Item = &Sample> {
        self.families.iter().flat_map(|family| &family.samples)
    }

    /// The database check's series, for progress and failure messages.
    fn database(&self) -> String {
        let on = |name: &str, label: &str, value: &str| {
            self.get(name, &[("check", "database"), (label, value)])
        };
        let one_of = |name: &str, label: &str, values: &[&'static str]| -> &'static str {
            values
                .iter()
                .find(|value| on(name, label, value) == Some(1.0))
                .copied()
                .unwrap_or("-")
        };
        let runs = |outcome: &str| on(CHECK_RUNS_TOTAL, "outcome", outcome).unwrap_or(-1.0);
        format!(
            "status {}, last result {}, failures {}, last success {}, circuit {}, readyz gauge \
             {}, runs: unhealthy {} timed_out {} skipped {}",
            one_of(
                CHECK_STATUS,
                "status",
                &["healthy", "degraded", "unhealthy"]
            ),
            one_of(
                CHECK_LAST_RESULT,
                "result",
                &[
                    "healthy",
                    "degraded",
                    "unhealthy",
                    "timed_out",
                    "panicked",
                    "cancelled"
                ]
            ),
            self.failures(),
            self.last_success(),
            one_of(
                CHECK_CIRCUIT_STATE,
                "state",
                &["closed", "open", "half_open"]
            ),
            self.readyz(),
            runs("unhealthy"),
            runs("timed_out"),
            runs(SKIPPED_CIRCUIT_OPEN),
        )
    }

    /// `health_check_status{check="database", status}`.
    fn status(&self, status: &str) -> f64 {
        self.value(CHECK_STATUS, &[("check", "database"), ("status", status)])
    }

    fn failures(&self) -> f64 {
        self.value(CHECK_CONSECUTIVE_FAILURES, &[("check", "database")])
    }

    fn last_success(&self) -> f64 {
        self.value(
            CHECK_LAST_SUCCESS_TIMESTAMP_SECONDS,
            &[("check", "database")],
        )
    }

    fn circuit(&self, state: &str) -> f64 {
        self.value(
            CHECK_CIRCUIT_STATE,
            &[("check", "database"), ("state", state)],
        )
    }

    /// `kubernetes_healthcheck{name="database", type="readyz"}`.
    fn readyz(&self) -> f64 {
        self.value(
            KUBERNETES_HEALTHCHECK,
            &[("name", "database"), ("type", "readyz")],
        )
    }

    fn runs(&self, outcome: &str) -> f64 {
        self.value(
            CHECK_RUNS_TOTAL,
            &[("check", "database"), ("outcome", outcome)],
        )
    }

    /// The database check's failed runs: unhealthy or timed out.
    fn failed_runs(&self) -> f64 {
        self.runs("unhealthy") + self.runs("timed_out")
    }

    /// `health_probe_responses_total{probe, code}` (0 before its first answer).
    fn answers(&self, probe: &str, code: &str) -> f64 {
        self.get(PROBE_RESPONSES_TOTAL, &[("probe", probe), ("code", code)])
            .unwrap_or(0.0)
    }

    /// Every series of the framework: its name and labels.
    fn series(&self) -> BTreeSet<String> {
        self.samples()
            .filter(|sample| is_ours(&sample.name))
            .map(|sample| format!("{}{:?}", sample.name, sample.labels))
            .collect()
    }
}

/// Whether a sample belongs to the framework's series.
fn is_ours(name: &str) -> bool {
    name.starts_with("health_") || name.starts_with("kubernetes_")
}

/// `GET /metrics` on `addr` (a connection of its own, as the probe port takes one request per
/// connection), checked by promtool and read by the Python parser.
async fn scrape(addr: SocketAddr) -> Scrape {
    let answer = request(addr, "GET", "/metrics").await;
    let at = Instant::now();
    assert_eq!(
        answer.status,
        200,
        "GET /metrics on {addr}: {}",
        answer.text()
    );
    assert_eq!(
        answer.header("content-type"),
        Some(CONTENT_TYPE),
        "GET /metrics on {addr}"
    );
    let text = answer.text();
    let (text, families) = blocking(move || {
        promtool_check(&text);
        let families = parse(&text);
        (text, families)
    })
    .await;
    Scrape { at, text, families }
}

/// Runs `work` on a blocking thread; its panic is this test's.
async fn blocking<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> T {
    tokio::task::spawn_blocking(work)
        .await
        .unwrap_or_else(|error| std::panic::resume_unwind(error.into_panic()))
}

/// `promtool`: `PROMTOOL` if set, else the one on `PATH`.
fn promtool() -> PathBuf {
    std::env::var_os("PROMTOOL").map_or_else(|| PathBuf::from("promtool"), PathBuf::from)
}

/// Feeds `text` to `promtool check metrics`, which parses it as Prometheus does and lints it
/// (names, types, help, units); fails the test on any problem it reports.
fn promtool_check(text: &str) {
    let output =
        feed(Command::new(promtool()).args(["check", "metrics"]), text).unwrap_or_else(|error| {
            panic!(
                "cannot run {} ({error}): this test parses /metrics with Prometheus' own \
             `promtool check metrics`. Install it (Debian: `apt-get install \
             --no-install-recommends prometheus`, which ships /usr/bin/promtool) or set PROMTOOL \
             to its path.",
                promtool().display()
            )
        });
    let said = String::from_utf8_lossy(&output.stdout).into_owned()
        + &String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success() && said.trim().is_empty(),
        "promtool check metrics reported problems ({}):\n{said}\nin the scrape:\n{text}",
        output.status
    );
}

/// Runs `command` with `input` on its standard input; its output.
fn feed(command: &mut Command, input: &str) -> std::io::Result<std::process::Output> {
    use std::io::Write;
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    let mut stdin = child.stdin.take().expect("piped stdin");
    // A thread writes, so that a child that answers before reading everything cannot block us.
    let input = input.to_string();
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let output = child.wait_with_output()?;
    writer.join().expect("the writer thread")?;
    Ok(output)
}

/// What `prometheus_client.parser` makes of `text` (`tests/prometheus/parse.py`).
fn parse(text: &str) -> Vec<Family> {
    let output = feed(
        Command::new(grpc_python::python()).arg(grpc_python::prometheus_parser()),
        text,
    )
    .expect("run tests/prometheus/parse.py");
    assert!(
        output.status.success(),
        "prometheus_client's parser rejected the scrape ({}):\n{}\nin the scrape:\n{text}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    let parsed: Value = serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "parse.py printed no JSON ({e}): {}",
            String::from_utf8_lossy(&output.stdout)
        )
    });
    let text_of = |value: &Value| value.as_str().unwrap_or_default().to_string();
    parsed["families"]
        .as_array()
        .expect("families")
        .iter()
        .map(|family| Family {
            name: text_of(&family["name"]),
            kind: text_of(&family["type"]),
            help: text_of(&family["help"]),
            samples: family["samples"]
                .as_array()
                .expect("samples")
                .iter()
                .map(|sample| Sample {
                    name: text_of(&sample["name"]),
                    labels: serde_json::from_value(sample["labels"].clone()).expect("labels"),
                    value: match &sample["value"] {
                        Value::Number(number) => number.as_f64().unwrap(),
                        other => text_of(other).parse().expect("a value"),
                    },
                })
                .collect(),
        })
        .collect()
}

// -- What every scrape must show --------------------------------------------------------------

/// Every documented family is there, with its type and a help text; no label value of the
/// framework's series is anything but a name the program fixes (no message, no error text); at
/// most `SERIES_PER_CHECK` series per check; each one-of-several gauge has exactly one 1.
fn assert_well_formed(scrape: &Scrape) {
    for (name, kind) in FAMILIES {
        let family_name = name.strip_suffix("_total").unwrap_or(name);
        let family = scrape
            .families
            .iter()
            .find(|family| family.name == family_name)
            .unwrap_or_else(|| panic!("no family {family_name} in:\n{}", scrape.text));
        assert_eq!(family.kind, kind, "{name}'s type");
        assert!(!family.help.trim().is_empty(), "{name} has no help text");
        assert!(!family.samples.is_empty(), "{name} has no sample");
    }
    for sample in scrape.samples().filter(|sample| is_ours(&sample.name)) {
        for (label, value) in &sample.labels {
            // The label hygiene the brief of the feature asks for, in its plainest form first.
            assert!(
                !value.contains(char::is_whitespace)
                    && !value.to_ascii_lowercase().contains("connection")
                    && !value.contains(':'),
                "{}: label {label}={value:?} looks like a message",
                sample.name
            );
            if label == "le" {
                assert!(
                    BUCKETS.contains(&bound(value)),
                    "{}: bucket bound {value:?} is not one of the example's",
                    sample.name
                );
                continue;
            }
            let allowed = allowed_values(label)
                .unwrap_or_else(|| panic!("{}: unexpected label {label}", sample.name));
            assert!(
                allowed.contains(&value.as_str()),
                "{}: label {label}={value:?} is not one of {allowed:?}",
                sample.name
            );
        }
    }
    for check in ["database", "migrations", "cache"] {
        // A histogram counts as one series: its `_count` stands for it.
        let series = scrape
            .samples()
            .filter(|s| !s.name.ends_with("_bucket") && !s.name.ends_with("_sum"))
            .filter(|s| {
                s.labels.get("check").map(String::as_str) == Some(check)
                    || s.labels.get("name").map(String::as_str) == Some(check)
            })
            .count();
        assert!(
            series <= SERIES_PER_CHECK,
            "{check}: {series} series, more than SERIES_PER_CHECK ({SERIES_PER_CHECK})"
        );
        // `migrations` gates only the startup probe: the scheduler retires it within an interval
        // of the service becoming ready, and its status and circuit then show no value.
        let retired = check == "migrations" && is_retired(scrape);
        assert_one_hot(scrape, CHECK_STATUS, check, "status", retired);
        assert_one_hot(scrape, CHECK_LAST_RESULT, check, "result", false);
        assert_one_hot(scrape, CHECK_CIRCUIT_STATE, check, "state", retired);
    }
    let phases: f64 = scrape
        .samples()
        .filter(|s| s.name == LIFECYCLE_PHASE)
        .map(|s| s.value)
        .sum();
    assert_eq!(phases, 1.0, "one phase at a time:\n{}", scrape.text);
    assert_histogram(scrape);
}

/// Whether `migrations` is retired in `scrape`: its status and circuit series all 0 (it had a
/// result and a closed circuit before), `kubernetes_healthcheck` 1.
fn is_retired(scrape: &Scrape) -> bool {
    let all_zero = |name: &str| {
        scrape
            .samples()
            .filter(|s| {
                s.name == name && s.labels.get("check").map(String::as_str) == Some("migrations")
            })
            .all(|s| s.value == 0.0)
    };
    all_zero(CHECK_STATUS) && all_zero(CHECK_CIRCUIT_STATE)
}

/// Exactly one of the series `name` of `check` (one per value of `label`) is 1, the others 0;
/// or, when `retired`, every one is 0.
fn assert_one_hot(scrape: &Scrape, name: &str, check: &str, label: &str, retired: bool) {
    let values: Vec<(String, f64)> = scrape
        .samples()
        .filter(|s| s.name == name && s.labels.get("check").map(String::as_str) == Some(check))
        .map(|s| (s.labels[label].clone(), s.value))
        .collect();
    let ones = values.iter().filter(|(_, v)| *v == 1.0).count();
    let zeros = values.iter().filter(|(_, v)| *v == 0.0).count();
    let want = usize::from(!retired);
    assert!(
        !values.is_empty() && ones == want && zeros == values.len() - want,
        "{name} of {check}: {want} at 1, the rest 0: {values:?}"
    );
}

/// A bucket's bound, as a number (`+Inf` included).
fn bound(le: &str) -> f64 {
    le.parse()
        .unwrap_or_else(|_| panic!("bucket bound {le:?} is not a number"))
}

/// The run duration is a real histogram (not a summary) with the example's buckets, cumulative,
/// its `+Inf` bucket equal to its count.
fn assert_histogram(scrape: &Scrape) {
    let bucket = format!("{CHECK_RUN_DURATION_SECONDS}_bucket");
    for check in ["database", "migrations", "cache"] {
        let mut buckets: Vec<(f64, f64)> = scrape
            .samples()
            .filter(|s| s.name == bucket && s.labels["check"] == check)
            .map(|s| (bound(&s.labels["le"]), s.value))
            .collect();
        buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
        let bounds: Vec<f64> = buckets.iter().map(|(le, _)| *le).collect();
        assert_eq!(bounds, BUCKETS, "{check}: the buckets");
        assert!(
            buckets.windows(2).all(|pair| pair[0].1 <= pair[1].1),
            "{check}: buckets not cumulative: {buckets:?}"
        );
        let count = scrape.value(
            &format!("{CHECK_RUN_DURATION_SECONDS}_count"),
            &[("check", check)],
        );
        assert_eq!(
            buckets[BUCKETS.len() - 1].1,
            count,
            "{check}: +Inf bucket and count"
        );
        assert!(count >= 1.0, "{check} has run at least once");
        scrape.value(
            &format!("{CHECK_RUN_DURATION_SECONDS}_sum"),
            &[("check", check)],
        );
    }
}

/// The steady state of a service that is ready on a reachable database.
fn assert_healthy(scrape: &Scrape) {
    assert_well_formed(scrape);
    assert_eq!(scrape.value(LIFECYCLE_PHASE, &[("phase", "ready")]), 1.0);
    for check in ["database", "migrations", "cache"] {
        // Degraded (slower than `degraded_ms`) still passes.
        assert_eq!(
            scrape.value(CHECK_STATUS, &[("check", check), ("status", "unhealthy")]),
            0.0,
            "{check}"
        );
        if !(check == "migrations" && is_retired(scrape)) {
            assert_eq!(
                scrape.value(
                    CHECK_CIRCUIT_STATE,
                    &[("check", check), ("state", "closed")]
                ),
                1.0,
                "{check}"
            );
        }
        assert_eq!(
            scrape.value(CHECK_CONSECUTIVE_FAILURES, &[("check", check)]),
            0.0,
            "{check}"
        );
        let last_success = scrape.value(CHECK_LAST_SUCCESS_TIMESTAMP_SECONDS, &[("check", check)]);
        assert!(
            last_success > 0.0 && last_success <= unix_now() + 1.0,
            "{check}: last success {last_success}"
        );
        assert_eq!(
            scrape.value(
                KUBERNETES_HEALTHCHECK,
                &[("name", check), ("type", "healthz")]
            ),
            1.0,
            "{check}"
        );
    }
    // Kubernetes' per-probe gauges: the probes each check gates, and only those.
    assert_eq!(scrape.readyz(), 1.0);
    assert_eq!(
        scrape.value(
            KUBERNETES_HEALTHCHECK,
            &[("name", "migrations"), ("type", "startupz")]
        ),
        1.0
    );
    assert_eq!(
        scrape.get(
            KUBERNETES_HEALTHCHECK,
            &[("name", "migrations"), ("type", "readyz")]
        ),
        None,
        "migrations gates only the startup probe"
    );
    assert_eq!(
        scrape.get(
            KUBERNETES_HEALTHCHECK,
            &[("name", "database"), ("type", "livez")]
        ),
        None,
        "no check of the example gates liveness"
    );
    assert!(scrape.runs("healthy") + scrape.runs("degraded") >= 1.0);
    assert_eq!(scrape.failed_runs(), 0.0);
    assert_eq!(scrape.runs(SKIPPED_CIRCUIT_OPEN), 0.0);
}

/// Seconds since the Unix epoch, now.
fn unix_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

/// Scrapes, sends `PROBES_SENT` readiness probes to `probes` (each on a connection of its own:
/// the probe port answers one request per connection), each answered `code`, scrapes again:
/// `health_probe_responses_total{probe="readiness", code}` grew by exactly that many, and no
/// other probe's or code's counter moved (the scrapes themselves are not probe answers). Nothing
/// else probes the service in these tests.
async fn assert_counts_probes(probes: SocketAddr, metrics: SocketAddr, code: u16) {
    let before = scrape(metrics).await;
    for i in 0..PROBES_SENT {
        // Both of the readiness probe's paths count as readiness.
        let path = if i % 2 == 0 {
            "/readyz"
        } else {
            "/health/ready"
        };
        let answer = request(probes, "GET", path).await;
        assert_eq!(answer.status, code, "GET {path}: {}", answer.text());
    }
    let after = scrape(metrics).await;
    let code = code.to_string();
    for probe in ["startup", "liveness", "readiness", "full"] {
        for answered in ["200", "503", "404", "405", "other"] {
            let grew = after.answers(probe, answered) - before.answers(probe, answered);
            let want = match probe == "readiness" && answered == code {
                true => PROBES_SENT as f64,
                false => 0.0,
            };
            assert_eq!(
                grew, want,
                "health_probe_responses_total{{probe={probe:?}, code={answered:?}}} grew by \
                 {grew} over {PROBES_SENT} readiness probes answered {code}"
            );
        }
    }
    println!(
        "{PROBES_SENT} readiness probes answered {code}: health_probe_responses_total \
         {{probe=\"readiness\",code=\"{code}\"}} {} -> {}",
        before.answers("readiness", &code),
        after.answers("readiness", &code)
    );
}

// -- The tests --------------------------------------------------------------------------------

/// The example on `pg`, with a probe port of its own if `probe_port`; ready, with the Python
/// parser's environment built. The service, and the address its probes answer on.
async fn start(pg: &PgServer, probe_port: Option<u16>) -> (support::Service, SocketAddr) {
    let env: Vec<(&str, String)> = probe_port
        .map(|port| ("PROBE_PORT", port.to_string()))
        .into_iter()
        .collect();
    let service = support::Service::start("quickstart-metrics", Some(pg.url()), &env);
    let probes = probe_port.map_or(service.addr, |port| {
        SocketAddr::from(([127, 0, 0, 1], port))
    });
    // Before anything else: the parser's environment (built on the first run, from PyPI).
    blocking(grpc_python::python).await;
    let mut service = service;
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if kubelet_probe(probes, "/readyz").await.0 == Some(200) {
            return (service, probes);
        }
        let exited = service.child.try_wait().unwrap();
        assert!(
            exited.is_none() && Instant::now() < deadline,
            "the example did not answer GET /readyz 200 on {probes} within 30 s (exited: \
             {exited:?}); its output:\n{}",
            service.output()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The signs of an outage or a recovery, each noted the first time a scrape shows it.
struct Signs {
    since: Instant,
    seen: Vec<(&'static str, Duration)>,
}

impl Signs {
    fn new(since: Instant) -> Signs {
        Signs {
            since,
            seen: Vec::new(),
        }
    }

    fn note(&mut self, sign: &'static str, shown: bool, scrape: &Scrape) {
        if shown && !self.seen.iter().any(|(seen, _)| *seen == sign) {
            self.seen.push((sign, scrape.at - self.since));
        }
    }

    fn missing<'a>(&self, all: &[&'a str]) -> Vec<&'a str> {
        all.iter()
            .filter(|sign| !self.seen.iter().any(|(seen, _)| seen == *sign))
            .copied()
            .collect()
    }

    fn print(&self, after: &str) {
        for (sign, at) in &self.seen {
            println!("  {sign}: {:.1} s after {after}", at.as_secs_f64());
        }
    }
}

/// Scrapes `metrics` every 0.5 s (plus the parsers' time) until every one of `signs` has been
/// noted by `look` (given the scrape, the one before and the notes), for at most `PATIENCE`;
/// every scrape well formed, with the same series as `baseline`. The last scrape.
async fn follow(
    metrics: SocketAddr,
    baseline: &Scrape,
    signs: &mut Signs,
    all: &[&'static str],
    mut look: impl FnMut(&Scrape, &Scrape, &mut Signs),
) -> Scrape {
    let series = baseline.series();
    let mut previous = scrape(metrics).await;
    loop {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let scrape = scrape(metrics).await;
        assert_well_formed(&scrape);
        assert_eq!(
            scrape.series(),
            series,
            "the set of series changed:\n{}",
            scrape.text
        );
        look(&scrape, &previous, signs);
        if signs.missing(all).is_empty() {
            return scrape;
        }
        assert!(
            signs.since.elapsed() < PATIENCE,
            "not seen within {PATIENCE:?}: {:?}; seen: {:?}; the database check now: {}",
            signs.missing(all),
            signs.seen,
            scrape.database()
        );
        previous = scrape;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn metrics_on_the_probe_port_follow_an_outage_and_a_recovery() {
    let pg = Arc::new(PgServer::start());
    let (service, probes) = start(&pg, Some(free_port())).await;

    // /metrics is where the probes are: on the probe port, not on the application port.
    let app = request(service.addr, "GET", "/metrics").await;
    assert_eq!(app.status, 404, "/metrics on the application port");
    let baseline = scrape(probes).await;
    assert_healthy(&baseline);
    println!("the database check, healthy: {}", baseline.database());
    assert_counts_probes(probes, probes, 200).await;

    // PostgreSQL stops.
    let stopping = Arc::clone(&pg);
    blocking(move || stopping.stop()).await;
    let down = Instant::now();
    let stopped_at = unix_now();
    const OUTAGE: [&str; 8] = [
        "status unhealthy",
        "readyz gauge 0",
        "consecutive failures rising",
        "last success frozen",
        "failed runs rising",
        "circuit open",
        "skipped rounds counted while open",
        "error runs counted for readyz",
    ];
    let mut frozen: Option<f64> = None;
    let mut outage = Signs::new(down);
    let last = follow(
        probes,
        &baseline,
        &mut outage,
        &OUTAGE,
        |now, before, signs| {
            println!(
                "  {:>5.1} s: {}",
                (now.at - down).as_secs_f64(),
                now.database()
            );
            let unhealthy = now.status("unhealthy") == 1.0;
            signs.note(
                "status unhealthy",
                unhealthy && now.status("healthy") == 0.0,
                now,
            );
            signs.note("readyz gauge 0", now.readyz() == 0.0, now);
            signs.note(
                "consecutive failures rising",
                before.failures() >= 1.0 && now.failures() > before.failures(),
                now,
            );
            // From the first failed run on, the last success stays where it was: at or before the
            // stop, however many runs fail.
            if now.failures() >= 1.0 {
                let last_success = now.last_success();
                assert!(
                    last_success > 0.0 && last_success <= stopped_at + 1.0,
                    "last success {last_success} after the stop ({stopped_at})"
                );
                match frozen {
                    None => frozen = Some(last_success),
                    Some(frozen) => {
                        assert_eq!(last_success, frozen, "the last success moved while down");
                        signs.note("last success frozen", true, now);
                    }
                }
            }
            signs.note(
                "failed runs rising",
                now.failed_runs() > before.failed_runs() && before.failed_runs() >= 1.0,
                now,
            );
            signs.note("circuit open", now.circuit("open") == 1.0, now);
            signs.note(
                "skipped rounds counted while open",
                now.circuit("open") == 1.0
                    && before.runs(SKIPPED_CIRCUIT_OPEN) >= 1.0
                    && now.runs(SKIPPED_CIRCUIT_OPEN) > before.runs(SKIPPED_CIRCUIT_OPEN),
                now,
            );
            let errors = |scrape: &Scrape| {
                scrape.value(
                    KUBERNETES_HEALTHCHECKS_TOTAL,
                    &[
                        ("name", "database"),
                        ("status", "error"),
                        ("type", "readyz"),
                    ],
                )
            };
            signs.note(
                "error runs counted for readyz",
                errors(now) > errors(before) && errors(before) >= 1.0,
                now,
            );
            // The rest of the application is untouched: still ready (the phase), the other checks
            // healthy.
            assert_eq!(now.value(LIFECYCLE_PHASE, &[("phase", "ready")]), 1.0);
            assert_eq!(
                now.value(CHECK_STATUS, &[("check", "cache"), ("status", "healthy")]),
                1.0,
                "cache"
            );
            assert_eq!(
                now.value(
                    CHECK_STATUS,
                    &[("check", "migrations"), ("status", "unhealthy")]
                ),
                0.0,
                "migrations"
            );
        },
    )
    .await;
    println!("PostgreSQL stopped; seen:");
    outage.print("the stop");
    // Well over an interval since the service became ready: `migrations` is retired.
    assert!(
        is_retired(&last),
        "migrations retired after start-up: {}",
        last.text
    );
    assert_eq!(
        last.value(
            CHECK_LAST_RESULT,
            &[("check", "database"), ("result", "unhealthy")]
        ) + last.value(
            CHECK_LAST_RESULT,
            &[("check", "database"), ("result", "timed_out")]
        ),
        1.0,
        "the last run failed: {}",
        last.database()
    );
    // Readiness answers 503 now; those answers are counted, exactly.
    assert_counts_probes(probes, probes, 503).await;

    // PostgreSQL is back, on the same port.
    let starting = Arc::clone(&pg);
    blocking(move || starting.start_again()).await;
    let up = Instant::now();
    let frozen = frozen.expect("a failed run was seen");
    const RECOVERY: [&str; 6] = [
        "status healthy",
        "consecutive failures 0",
        "circuit closed",
        "readyz gauge 1",
        "last success after the outage",
        "last success advancing",
    ];
    let mut recovery = Signs::new(up);
    let mut recovered: Option<f64> = None;
    follow(
        probes,
        &baseline,
        &mut recovery,
        &RECOVERY,
        |now, _, signs| {
            println!(
                "  {:>5.1} s: {}",
                (now.at - up).as_secs_f64(),
                now.database()
            );
            signs.note("status healthy", now.status("healthy") == 1.0, now);
            signs.note("consecutive failures 0", now.failures() == 0.0, now);
            signs.note("circuit closed", now.circuit("closed") == 1.0, now);
            signs.note("readyz gauge 1", now.readyz() == 1.0, now);
            let last_success = now.last_success();
            if last_success > frozen {
                signs.note("last success after the outage", true, now);
                match recovered {
                    None => recovered = Some(last_success),
                    Some(first) => signs.note("last success advancing", last_success > first, now),
                }
            }
        },
    )
    .await;
    println!("PostgreSQL restarted; seen:");
    recovery.print("the restart");
    wait_for_status(probes, "/readyz", 200, Duration::from_secs(5)).await;
    assert_counts_probes(probes, probes, 200).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn metrics_on_the_application_port_without_a_probe_port() {
    let pg = PgServer::start();
    let (_service, app) = start(&pg, None).await;
    let scraped = scrape(app).await;
    assert_healthy(&scraped);
    println!("the database check: {}", scraped.database());
    assert_counts_probes(app, app, 200).await;
}
