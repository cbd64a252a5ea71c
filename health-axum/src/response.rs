//! Turning a [`Report`] into an HTTP response, in one of three formats, within a body budget.
//!
//! Every body stays under [`BODY_BUDGET`] bytes, well inside the kubelet's 10 KB read limit,
//! however many checks are registered: when the full rendering would be larger, healthy checks
//! are shown briefly (name and status); when that is still too large, the body is *trimmed*:
//! the checks that decide the verdict come first (unhealthy and critical, then unhealthy, then
//! degraded, then healthy), with their fields while they take at most half of the room and by
//! name and status after that, and what still does not fit is counted in `omitted` (JSON), a
//! note (health+json) or a summary line (text). Check messages are cut at [`MESSAGE_LIMIT`]
//! bytes. Warnings about the request are part of every body and count against the budget.

use std::fmt::Write as _;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use health_core::{CheckReport, Circuit, Report, Scope, Status};

use crate::request::Format;

/// The most a probe body may take, in bytes: 8 KiB, leaving room under the kubelet's 10 KB for
/// headers and a margin.
pub const BODY_BUDGET: usize = 8 * 1024;

/// The most of a check's message shown, in bytes (cut at a character boundary, with `…`).
pub const MESSAGE_LIMIT: usize = 256;

/// What a caller sees in place of a message it may not read.
const WITHHELD: &str = "reason withheld";

/// Everything a renderer needs besides the report.
pub(crate) struct Answer<'a> {
    pub(crate) report: &'a Report,
    /// Whether the probe passes (after the router's status mapping).
    pub(crate) passing: bool,
    pub(crate) version: &'a str,
    /// Whether the caller may read messages and details.
    pub(crate) visible: bool,
    /// Checks of this probe left out by `?exclude=`.
    pub(crate) excluded: &'a [&'static str],
    /// What the request asked for that could not be given, one line of text each (escaped,
    /// bounded: see [`Warning`](crate::request::Warning)).
    pub(crate) warnings: &'a [String],
}

/// How much of each check a rendering shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Level {
    /// Every field.
    Full,
    /// Healthy checks: name and status only; no details.
    Brief,
    /// Every check: name and status only.
    Minimal,
}

/// One attempt at a body, from the most to the least complete: the first whose checks all fit
/// is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pass {
    /// Every check at [`Level::Full`], in registry order.
    Full,
    /// Every check at [`Level::Brief`], in registry order.
    Brief,
    /// The checks that decide the verdict first ([`rank`]); [`Level::Brief`] while the checks
    /// take at most half of their room, [`Level::Minimal`] after that, and the rest counted.
    Trimmed,
}

/// The order in which a trimmed body shows checks: those that decide the verdict first.
fn rank(check: &CheckReport) -> u8 {
    match check.status {
        Status::Unhealthy if check.critical => 0,
        Status::Unhealthy => 1,
        Status::Degraded => 2,
        Status::Healthy => 3,
    }
}

/// `X-Content-Type-Options: nosniff`: bodies echo what callers sent (escaped), so no browser may
/// guess a type other than the one declared.
pub(crate) const NOSNIFF: (header::HeaderName, HeaderValue) = (
    header::X_CONTENT_TYPE_OPTIONS,
    HeaderValue::from_static("nosniff"),
);

/// 200 or 503 with the body in `format`; `Cache-Control: no-store`.
pub(crate) fn render(answer: &Answer<'_>, format: Format) -> Response {
    let status = if answer.passing {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let (content_type, body) = match format {
        Format::Json => ("application/json", json(answer)),
        Format::HealthJson => ("application/health+json", health_json(answer)),
        Format::Text => ("text/plain; charset=utf-8", text(answer)),
    };
    (
        status,
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
            NOSNIFF,
        ],
        body,
    )
        .into_response()
}

/// `{"error": message}` with `status`; `Cache-Control: no-store`.
pub(crate) fn error(status: StatusCode, message: &str) -> Response {
    let body = serde_json::to_vec(&serde_json::json!({ "error": message }))
        .unwrap_or_else(|_| br#"{"error":"bad request"}"#.to_vec());
    (
        status,
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
            NOSNIFF,
        ],
        body,
    )
        .into_response()
}

fn probe_name(scope: Scope) -> &'static str {
    match scope {
        Scope::Probe(probe) => probe.as_str(),
        Scope::Full => "full",
    }
}

/// `text` cut to at most `limit` bytes at a character boundary, with `…` when cut.
fn truncated(text: &str, limit: usize) -> std::borrow::Cow<'_, str> {
    if text.len() <= limit {
        return text.into();
    }
    let mut end = limit.saturating_sub('…'.len_utf8());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end]).into()
}

/// What the caller may read of a check's message: the message (cut) or `reason withheld`. Out of
/// service, the caller always learns that much; the application's reason only with details.
fn message_for(check: &CheckReport, visible: bool) -> Option<String> {
    if check.out_of_service.is_some() && !visible {
        return Some(format!("out of service: {WITHHELD}"));
    }
    let message = check.message()?;
    Some(if visible {
        // One allocation unless the message must be cut.
        let text = message.to_string();
        match truncated(&text, MESSAGE_LIMIT) {
            std::borrow::Cow::Borrowed(_) => text,
            std::borrow::Cow::Owned(cut) => cut,
        }
    } else {
        WITHHELD.to_string()
    })
}

// -- application/json ---------------------------------------------------------------------

/// The first of `render`'s bodies (full, brief, trimmed) in which every check fits
/// (`render` returns the body and how many checks it had to omit).
fn fitting(render: impl Fn(Pass) -> (Vec<u8>, usize)) -> Vec<u8> {
    for pass in [Pass::Full, Pass::Brief] {
        let (body, omitted) = render(pass);
        if omitted == 0 {
            return body;
        }
    }
    render(Pass::Trimmed).0
}

/// Appends one rendered entry per check to `out` (preceded by `separator` after the first), as
/// `pass` says, while they fit in `budget` bytes; returns how many did not. Entries are written
/// in place and cut back if too long. The full and brief passes stop at the first entry that
/// does not fit (the body is then rendered again, trimmed), so only a trimmed body sorts.
fn append_checks(
    out: &mut Vec<u8>,
    checks: &[CheckReport],
    pass: Pass,
    budget: usize,
    separator: Option<u8>,
    mut render: impl FnMut(&mut Vec<u8>, &CheckReport, Level),
) -> usize {
    let mut shown = 0;
    let mut entry = |out: &mut Vec<u8>, check: &CheckReport, level: Level, limit: usize| {
        let mark = out.len();
        if shown > 0 {
            out.extend(separator);
        }
        render(out, check, level);
        if out.len() > limit {
            out.truncate(mark);
            return false;
        }
        shown += 1;
        true
    };
    match pass {
        Pass::Full | Pass::Brief => {
            let level = if pass == Pass::Full {
                Level::Full
            } else {
                Level::Brief
            };
            for (i, check) in checks.iter().enumerate() {
                if !entry(out, check, level, budget) {
                    return checks.len() - i;
                }
            }
            0
        }
        Pass::Trimmed => {
            let mut order: Vec<&CheckReport> = checks.iter().collect();
            order.sort_by_key(|check| rank(check)); // stable: registry order within a rank
            let detailed = out.len() + budget.saturating_sub(out.len()) / 2;
            let mut level = Level::Brief;
            for (i, check) in order.into_iter().enumerate() {
                if level == Level::Brief && entry(out, check, level, detailed) {
                    continue;
                }
                level = Level::Minimal;
                if !entry(out, check, level, budget) {
                    return checks.len() - i;
                }
            }
            0
        }
    }
}

fn json(answer: &Answer<'_>) -> Vec<u8> {
    fitting(|pass| json_at(answer, pass))
}

/// The JSON body of `pass`, and how many checks did not fit in the budget.
fn json_at(answer: &Answer<'_>, pass: Pass) -> (Vec<u8>, usize) {
    let report = answer.report;
    let mut out = Vec::with_capacity(capacity_for(report));
    out.extend_from_slice(br#"{"status":""#);
    out.extend_from_slice(report.status.as_str().as_bytes());
    out.extend_from_slice(br#"","probe":""#);
    out.extend_from_slice(probe_name(report.scope).as_bytes());
    out.extend_from_slice(br#"","phase":""#);
    out.extend_from_slice(report.phase.as_str().as_bytes());
    out.extend_from_slice(br#"","version":"#);
    json_str(&mut out, answer.version);
    if let Some(reason) = report.reason.as_deref() {
        out.extend_from_slice(br#","reason":"#);
        json_str(&mut out, reason);
    }
    json_str_list(&mut out, br#","excluded":["#, answer.excluded);
    json_str_list(&mut out, br#","warnings":["#, answer.warnings);
    out.extend_from_slice(br#","checks":["#);
    // Room for the closing `],"omitted":NNNN}`.
    let omitted = append_checks(
        &mut out,
        &report.checks,
        pass,
        BODY_BUDGET - 24,
        Some(b','),
        |out, check, level| json_check(out, check, level, answer.visible),
    );
    out.push(b']');
    if omitted > 0 {
        let _ = write!(Utf8(&mut out), r#","omitted":{omitted}"#);
    }
    out.push(b'}');
    (out, omitted)
}

/// A JSON string: copied as it is when it needs no escaping (check names, phases, most
/// versions), else escaped by serde_json.
fn json_str(out: &mut Vec<u8>, s: &str) {
    if s.bytes()
        .all(|b| (0x20..0x7f).contains(&b) && b != b'"' && b != b'\\')
    {
        out.push(b'"');
        out.extend_from_slice(s.as_bytes());
        out.push(b'"');
    } else {
        // Serializing a string into a Vec cannot fail.
        let _ = serde_json::to_writer(&mut *out, s);
    }
}

/// `key` (`,"name":[`) and the strings of `items` as a JSON array; nothing when `items` is empty.
fn json_str_list<T: AsRef<str>>(out: &mut Vec<u8>, key: &[u8], items: &[T]) {
    if items.is_empty() {
        return;
    }
    out.extend_from_slice(key);
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        json_str(out, item.as_ref());
    }
    out.push(b']');
}

/// `,"key":` (keys are fixed ASCII).
fn json_key(out: &mut Vec<u8>, key: &str) {
    out.extend_from_slice(b",\"");
    out.extend_from_slice(key.as_bytes());
    out.extend_from_slice(b"\":");
}

/// One check of the JSON report.
fn json_check(out: &mut Vec<u8>, check: &CheckReport, level: Level, visible: bool) {
    out.extend_from_slice(br#"{"name":"#);
    json_str(out, check.name);
    json_key(out, "status");
    json_str(out, check.status.as_str());
    let brief =
        level == Level::Minimal || (level == Level::Brief && check.status == Status::Healthy);
    if brief {
        out.push(b'}');
        return;
    }
    let raw = check.raw();
    json_key(out, "critical");
    out.extend_from_slice(if check.critical { b"true" } else { b"false" });
    json_key(out, "raw_status");
    json_str(out, raw.status.as_str());
    json_key(out, "latency_ms");
    push_millis(out, raw.latency);
    json_key(out, "age_ms");
    push_u64(out, whole_millis(check.age));
    if check.retired {
        json_key(out, "retired");
        out.extend_from_slice(b"true");
    }
    if check.stale {
        json_key(out, "stale");
        out.extend_from_slice(b"true");
    }
    if check.snapshot.consecutive_failures > 0 {
        json_key(out, "consecutive_failures");
        push_u64(out, u64::from(check.snapshot.consecutive_failures));
    }
    if check.circuit != Circuit::Closed {
        json_key(out, "circuit");
        json_str(out, check.circuit.as_str());
    }
    if let Circuit::Open { retry_in } = check.circuit {
        json_key(out, "retry_in_ms");
        push_u64(out, whole_millis(retry_in));
    }
    if let Some(reason) = &check.out_of_service {
        json_key(out, "out_of_service");
        if visible {
            json_str(out, &truncated(reason, MESSAGE_LIMIT));
        } else {
            out.extend_from_slice(b"true");
        }
    }
    if let Some(message) = message_for(check, visible) {
        json_key(out, "message");
        json_str(out, &message);
    }
    if visible && level == Level::Full {
        if let Some(details) = &raw.details {
            json_key(out, "details");
            let _ = serde_json::to_writer(&mut *out, details);
        }
    }
    out.push(b'}');
}

/// Appends `n` in decimal (without the formatting machinery: this runs per check per probe).
fn push_u64(out: &mut Vec<u8>, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[i..]);
}

/// Appends `d` in milliseconds with microsecond precision, as JSON would print the float
/// (`1.997`, `2.0`, `0.012`).
fn push_millis(out: &mut Vec<u8>, d: Duration) {
    let micros = u64::try_from(d.as_micros()).unwrap_or(u64::MAX);
    push_u64(out, micros / 1000);
    out.push(b'.');
    let fraction = micros % 1000;
    let digits = [
        b'0' + (fraction / 100) as u8,
        b'0' + (fraction / 10 % 10) as u8,
        b'0' + (fraction % 10) as u8,
    ];
    let keep = digits
        .iter()
        .rposition(|&d| d != b'0')
        .map_or(1, |last| last + 1);
    out.extend_from_slice(&digits[..keep]);
}

/// Whole milliseconds, saturating.
fn whole_millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// A first guess at a body's size, so it is rarely grown: a head and about 160 bytes a check.
fn capacity_for(report: &Report) -> usize {
    (192 + 160 * report.checks.len()).min(BODY_BUDGET)
}

/// `io::Write`-free `fmt::Write` over a byte buffer.
struct Utf8<'a>(&'a mut Vec<u8>);

impl std::fmt::Write for Utf8<'_> {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        self.0.extend_from_slice(s.as_bytes());
        Ok(())
    }
}

/// Milliseconds with microsecond precision.
/// Milliseconds with three decimals, truncated to whole microseconds as [`push_millis`] writes
/// them, so that every format shows the same figure for the same latency.
fn millis(d: Duration) -> f64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX) as f64 / 1000.0
}

// -- application/health+json --------------------------------------------------------------

fn health_status(status: Status) -> &'static str {
    match status {
        Status::Healthy => "pass",
        Status::Degraded => "warn",
        Status::Unhealthy => "fail",
    }
}

fn health_json(answer: &Answer<'_>) -> Vec<u8> {
    fitting(|pass| health_json_at(answer, pass))
}

/// At most this many bytes of check names in one note.
const NOTE_NAMES: usize = 512;

/// `prefix` and the names, or their count past [`NOTE_NAMES`] bytes.
fn names_note<'a>(prefix: &str, names: impl Iterator<Item = &'a str>) -> String {
    let mut note = String::from(prefix);
    let mut names = names.peekable();
    let mut first = true;
    while let Some(name) = names.next() {
        if note.len() + name.len() > prefix.len() + NOTE_NAMES {
            let _ = write!(note, " and {} more", 1 + names.count());
            break;
        }
        if !first {
            note.push_str(", ");
        }
        note.push_str(name);
        first = false;
    }
    note
}

fn health_json_at(answer: &Answer<'_>, pass: Pass) -> (Vec<u8>, usize) {
    let report = answer.report;
    let overall = if !answer.passing {
        "fail"
    } else if report.status == Status::Healthy {
        "pass"
    } else {
        "warn"
    };
    let mut out = Vec::with_capacity(capacity_for(report));
    let mut head = serde_json::Map::new();
    head.insert("status".into(), overall.into());
    head.insert("version".into(), answer.version.into());
    head.insert(
        "description".into(),
        format!("{} probe", probe_name(report.scope)).into(),
    );
    if let Some(reason) = report.reason.as_deref() {
        head.insert("output".into(), reason.into());
    }
    let _ = serde_json::to_writer(&mut out, &head);
    out.pop();
    out.extend_from_slice(br#","checks":{"#);
    let now = SystemTime::now();
    // The notes come after the checks: what was excluded, which checks are no longer run, the
    // request's warnings, and how many checks did not fit. Their room (for the last, as long as
    // it can be) is reserved before the checks fill the rest.
    let mut notes = Vec::new();
    if !answer.excluded.is_empty() {
        notes.push(names_note("excluded: ", answer.excluded.iter().copied()));
    }
    if report.checks.iter().any(|check| check.retired) {
        notes.push(names_note(
            "no longer run (startup only, the application has been ready; the last result \
             stands): ",
            report
                .checks
                .iter()
                .filter(|check| check.retired)
                .map(|check| check.name),
        ));
    }
    notes.extend(answer.warnings.iter().map(|w| format!("warn: {w}")));
    // `},"notes":[` ... `]}`, each note quoted, escaped and followed by a comma. Nothing is
    // serialized twice for an answer without notes.
    let reserve = 16
        + OMITTED_NOTE_ROOM
        + notes
            .iter()
            .map(|note| serde_json::to_vec(note).map_or(0, |json| json.len() + 1))
            .sum::<usize>();
    let omitted = append_checks(
        &mut out,
        &report.checks,
        pass,
        BODY_BUDGET.saturating_sub(reserve),
        Some(b','),
        |entry, check, level| health_json_check(entry, check, level, answer.visible, now),
    );
    out.push(b'}');
    if omitted > 0 {
        notes.push(omitted_note(omitted));
    }
    if !notes.is_empty() {
        out.extend_from_slice(br#","notes":"#);
        let _ = serde_json::to_writer(&mut out, &notes);
    }
    out.push(b'}');
    (out, omitted)
}

/// Room for [`omitted_note`] in a body, quoted, with its comma, for any count.
const OMITTED_NOTE_ROOM: usize = 128;

/// The health+json note that says how many checks did not fit.
fn omitted_note(omitted: usize) -> String {
    format!(
        "{omitted} checks omitted to stay within {BODY_BUDGET} bytes; \
         the checks shown are those that decide the verdict"
    )
}

/// The draft's standard measurement names a detail may carry, with the unit each is reported
/// in (`connections` is a count).
const MEASUREMENTS: [(&str, Option<&str>); 3] = [
    ("connections", None),
    ("utilization", Some("percent")),
    ("uptime", Some("s")),
];

/// The measurement a detail named `key` maps to, and its unit: a standard name of the draft, or
/// a URI (the draft's form for any other measurement); `None` for any other key, which only the
/// `application/json` report's `details` show.
fn measurement(key: &str) -> Option<Option<&'static str>> {
    if let Some((_, unit)) = MEASUREMENTS.iter().find(|(name, _)| *name == key) {
        return Some(*unit);
    }
    is_uri(key).then_some(None)
}

/// Whether `key` is an absolute URI: an RFC 3986 scheme (a letter, then letters, digits, `+`,
/// `-` or `.`), a colon and more. Hand-written: this is all of the grammar needed here.
fn is_uri(key: &str) -> bool {
    let Some((scheme, rest)) = key.split_once(':') else {
        return false;
    };
    let mut bytes = scheme.bytes();
    bytes.next().is_some_and(|b| b.is_ascii_alphabetic())
        && bytes.all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'))
        && !rest.is_empty()
        && !key.contains(char::is_whitespace)
}

/// `"name:responseTime":[{...}]` (the check's latency), and, when the caller may see details,
/// one key per detail that names a measurement ([`measurement`]): a number is one entry
/// (`"queue:utilization":[{"observedValue":42,"observedUnit":"percent",...}]`), an object of
/// numbers one entry per member, told apart by `componentId`
/// (`"database:connections":[{"componentId":"open","observedValue":3,...},...]`).
fn health_json_check(
    out: &mut Vec<u8>,
    check: &CheckReport,
    level: Level,
    visible: bool,
    now: SystemTime,
) {
    let raw = check.raw();
    let status = health_status(check.status);
    let mut component = serde_json::Map::new();
    component.insert("status".into(), status.into());
    let brief =
        level == Level::Minimal || (level == Level::Brief && check.status == Status::Healthy);
    // Details are shown at the full level only, which is never brief.
    let time = if brief {
        String::new()
    } else {
        rfc3339(now.checked_sub(check.age).unwrap_or(now))
    };
    if !brief {
        component.insert("componentType".into(), "component".into());
        component.insert("observedValue".into(), millis(raw.latency).into());
        component.insert("observedUnit".into(), "ms".into());
        component.insert("time".into(), time.as_str().into());
        if check.status != Status::Healthy {
            if let Some(message) = message_for(check, visible) {
                component.insert("output".into(), message.into());
            }
        }
    }
    let _ = serde_json::to_writer(&mut *out, &format!("{}:responseTime", check.name));
    out.push(b':');
    let _ = serde_json::to_writer(&mut *out, &[&component]);
    if !(visible && level == Level::Full) {
        return;
    }
    let Some(serde_json::Value::Object(details)) = &raw.details else {
        return;
    };
    for (key, value) in details {
        let Some(unit) = measurement(key) else {
            continue;
        };
        let entry = |id: Option<&str>, value: &serde_json::Value| {
            let mut entry = serde_json::Map::new();
            if let Some(id) = id {
                entry.insert("componentId".into(), id.into());
            }
            entry.insert("componentType".into(), "component".into());
            entry.insert("observedValue".into(), value.clone());
            if let Some(unit) = unit {
                entry.insert("observedUnit".into(), unit.into());
            }
            entry.insert("status".into(), status.into());
            entry.insert("time".into(), time.as_str().into());
            serde_json::Value::Object(entry)
        };
        let entries: Vec<serde_json::Value> = match value {
            serde_json::Value::Number(_) => vec![entry(None, value)],
            serde_json::Value::Object(members) => members
                .iter()
                .filter(|(_, v)| v.is_number())
                .map(|(id, v)| entry(Some(id), v))
                .collect(),
            _ => continue,
        };
        if entries.is_empty() {
            continue;
        }
        out.push(b',');
        let _ = serde_json::to_writer(&mut *out, &format!("{}:{key}", check.name));
        out.push(b':');
        let _ = serde_json::to_writer(&mut *out, &entries);
    }
}

/// `time` as RFC 3339 in UTC with millisecond precision (`2026-12-01T07:19:30.123Z`).
fn rfc3339(time: SystemTime) -> String {
    let since = time.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = since.as_secs();
    let (days, rest) = (secs / 86_400, secs % 86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60,
        since.subsec_millis()
    )
}

// -- text/plain (?verbose) ----------------------------------------------------------------

/// Room for the text format's last two lines: the summary of omitted lines (with a count of up to
/// 20 digits) and the verdict.
const TEXT_TAIL: usize = 160;

fn text(answer: &Answer<'_>) -> Vec<u8> {
    let report = answer.report;
    let probe = probe_name(report.scope);
    let mut out = Vec::with_capacity(256);
    if let Some(reason) = report.reason.as_deref() {
        let _ = writeln!(Utf8(&mut out), "[-]lifecycle failed: {reason}");
    }
    // Room for the excluded checks' lines, the warnings, the summary line and the verdict line.
    // Warnings are single lines: caller text in them is escaped (see `Warning`).
    let excluded: usize = answer.excluded.iter().map(|name| name.len() + 18).sum();
    let warnings: usize = answer.warnings.iter().map(|w| w.len() + 7).sum();
    let budget = BODY_BUDGET.saturating_sub(TEXT_TAIL + excluded.min(2048) + warnings);
    let head = out.len();
    let mut omitted = 0;
    for pass in [Pass::Brief, Pass::Trimmed] {
        out.truncate(head);
        omitted = append_checks(
            &mut out,
            &report.checks,
            pass,
            budget,
            None,
            |out, check, level| {
                text_line(out, check, level, answer.visible);
            },
        );
        if omitted == 0 {
            break;
        }
    }
    let room = BODY_BUDGET.saturating_sub(TEXT_TAIL + warnings);
    for name in answer.excluded {
        if out.len() + name.len() + 18 > room {
            omitted += 1;
            continue;
        }
        let _ = writeln!(Utf8(&mut out), "[+]{name} excluded: ok");
    }
    if omitted > 0 {
        out.extend_from_slice(omitted_summary(omitted).as_bytes());
    }
    for warning in answer.warnings {
        let _ = writeln!(Utf8(&mut out), "warn: {warning}");
    }
    let verdict = if answer.passing { "passed" } else { "failed" };
    let _ = writeln!(Utf8(&mut out), "{probe} check {verdict}");
    out
}

/// The text format's line that counts the lines left out.
fn omitted_summary(omitted: usize) -> String {
    format!(
        "{omitted} more lines omitted to stay within {BODY_BUDGET} bytes; \
         the lines shown are the checks that decide the verdict\n"
    )
}

/// One check's line: `[+]name ok`, `[-]name failed: message`, `[+]name degraded: message`;
/// retired checks say so (`[+]migrations ok (retired: startup only)`). At [`Level::Minimal`],
/// no message.
fn text_line(out: &mut Vec<u8>, check: &CheckReport, level: Level, visible: bool) {
    let sign = if check.status == Status::Unhealthy {
        '-'
    } else {
        '+'
    };
    let word = match check.status {
        Status::Healthy => "ok",
        Status::Degraded => "degraded",
        Status::Unhealthy => "failed",
    };
    let mut line = Utf8(out);
    let _ = write!(line, "[{sign}]{} {word}", check.name);
    if check.retired {
        let _ = write!(line, " (retired: startup only)");
    }
    if check.status != Status::Healthy && level != Level::Minimal {
        if let Some(message) = message_for(check, visible) {
            // One line per check: a message never starts a line of its own.
            let _ = write!(line, ": {}", message.replace(['\r', '\n'], " "));
        }
    }
    line.0.push(b'\n');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_dates() {
        assert_eq!(rfc3339(UNIX_EPOCH), "1970-01-01T00:00:00.000Z");
        let t = UNIX_EPOCH + Duration::from_millis(1_796_108_906_404);
        assert_eq!(rfc3339(t), "2026-12-01T07:08:26.404Z");
        let leap = UNIX_EPOCH + Duration::from_secs(951_782_400); // 2000-02-29
        assert_eq!(rfc3339(leap), "2000-02-29T00:00:00.000Z");
    }

    #[test]
    fn numbers_are_written_as_json_would() {
        let text = |f: &dyn Fn(&mut Vec<u8>)| {
            let mut out = Vec::new();
            f(&mut out);
            String::from_utf8(out).unwrap()
        };
        for (micros, expected) in [
            (1997, "1.997"),
            (2000, "2.0"),
            (12, "0.012"),
            (0, "0.0"),
            (500_410, "500.41"),
        ] {
            assert_eq!(
                text(&|o| push_millis(o, Duration::from_micros(micros))),
                expected
            );
            let parsed: f64 = serde_json::from_str(expected).unwrap();
            assert_eq!(parsed, micros as f64 / 1000.0);
        }
        for n in [0u64, 7, 10, 1234567890, u64::MAX] {
            assert_eq!(text(&|o| push_u64(o, n)), n.to_string());
        }
    }

    #[test]
    fn the_text_tail_fits_its_room() {
        let tail = omitted_summary(usize::MAX) + "startup check failed\n";
        assert!(tail.len() <= TEXT_TAIL, "{} bytes", tail.len());
    }

    #[test]
    fn the_omitted_note_fits_its_room() {
        let json = serde_json::to_vec(&omitted_note(usize::MAX)).unwrap();
        assert!(json.len() < OMITTED_NOTE_ROOM, "{} bytes", json.len());
    }

    #[test]
    fn details_map_to_measurements_of_the_draft() {
        assert_eq!(measurement("connections"), Some(None));
        assert_eq!(measurement("utilization"), Some(Some("percent")));
        assert_eq!(measurement("uptime"), Some(Some("s")));
        assert_eq!(measurement("https://example.com/m/lag"), Some(None));
        assert_eq!(measurement("urn:acme:queue-depth"), Some(None));
        for other in [
            "round_trip_ms",
            "responseTime",
            "pool_size",
            "",
            ":x",
            "1http://x",
            "http:",
            "ht tp://x",
            "http://a b",
            "Connections",
        ] {
            assert_eq!(measurement(other), None, "{other:?}");
        }
    }

    #[test]
    fn truncation_keeps_characters_whole() {
        assert_eq!(truncated("short", 10), "short");
        let cut = truncated("ééééé", 6);
        assert!(cut.len() <= 6, "{cut}");
        assert!(cut.ends_with('…'));
    }
}

#[cfg(test)]
mod same_figures {
    use super::*;

    #[test]
    fn json_and_health_json_show_the_same_latency() {
        for micros in [0u64, 1, 608, 609, 999, 1_000, 1_500_999, 12_345_678] {
            // 608.9 µs and the like: truncated the same way by both writers.
            let d = Duration::from_nanos(micros * 1000 + 900);
            let mut json = Vec::new();
            push_millis(&mut json, d);
            let json: f64 = std::str::from_utf8(&json).unwrap().parse().unwrap();
            assert_eq!(json, millis(d), "{d:?}");
        }
    }
}
