//! Turning a [`Report`] into an HTTP response, in one of three formats, within a body budget.
//!
//! Every body stays under [`BODY_BUDGET`] bytes, well inside the kubelet's 10 KB read limit,
//! however many checks are registered: when the full rendering would be larger, healthy checks
//! are shown briefly (name and status), then minimally, and what still does not fit is counted
//! in `omitted` (JSON), left out of `checks` with a note (health+json) or summarized on one
//! line (text). Check messages are cut at [`MESSAGE_LIMIT`] bytes.

use std::fmt::Write as _;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use health_core::{CheckReport, Circuit, Report, Scope, Status};

use crate::request::{Format, Refusal};

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
        ],
        body,
    )
        .into_response()
}

/// A refused request: its status and a short JSON error.
pub(crate) fn refusal(refusal: &Refusal) -> Response {
    error(refusal.status, &refusal.message)
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

/// The first of `render`'s bodies at levels full, brief, minimal that fits in the budget
/// (`render` returns the body and how many checks it had to omit).
fn fitting(render: impl Fn(Level) -> (Vec<u8>, usize)) -> Vec<u8> {
    for level in [Level::Full, Level::Brief] {
        let (body, omitted) = render(level);
        if omitted == 0 {
            return body;
        }
    }
    render(Level::Minimal).0
}

/// Appends one rendered entry per check to `out`, comma-separated, while they fit in `budget`
/// bytes; returns how many did not. Entries are written in place and cut back if too long.
fn append_within(
    out: &mut Vec<u8>,
    checks: &[CheckReport],
    budget: usize,
    mut render: impl FnMut(&mut Vec<u8>, &CheckReport),
) -> usize {
    let mut omitted = 0;
    let mut first = true;
    for check in checks {
        if omitted > 0 {
            omitted += 1;
            continue;
        }
        let mark = out.len();
        if !first {
            out.push(b',');
        }
        render(out, check);
        if out.len() > budget {
            out.truncate(mark);
            omitted += 1;
            continue;
        }
        first = false;
    }
    omitted
}

fn json(answer: &Answer<'_>) -> Vec<u8> {
    fitting(|level| json_at(answer, level))
}

/// The JSON body at `level`, and how many checks did not fit in the budget.
fn json_at(answer: &Answer<'_>, level: Level) -> (Vec<u8>, usize) {
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
    if let Some(reason) = report.reason {
        out.extend_from_slice(br#","reason":"#);
        json_str(&mut out, reason);
    }
    if !answer.excluded.is_empty() {
        out.extend_from_slice(br#","excluded":["#);
        for (i, name) in answer.excluded.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            json_str(&mut out, name);
        }
        out.push(b']');
    }
    out.extend_from_slice(br#","checks":["#);
    // Room for the closing `],"omitted":NNNN}`.
    let omitted = append_within(&mut out, &report.checks, BODY_BUDGET - 24, |out, check| {
        json_check(out, check, level, answer.visible);
    });
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
fn millis(d: Duration) -> f64 {
    (d.as_secs_f64() * 1_000_000.0).round() / 1000.0
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
    fitting(|level| health_json_at(answer, level))
}

fn health_json_at(answer: &Answer<'_>, level: Level) -> (Vec<u8>, usize) {
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
    if let Some(reason) = report.reason {
        head.insert("output".into(), reason.into());
    }
    let _ = serde_json::to_writer(&mut out, &head);
    out.pop();
    out.extend_from_slice(br#","checks":{"#);
    let now = SystemTime::now();
    // The notes come after the checks; reserve their room (the omitted count's note at most
    // 64 bytes) before filling the rest with checks.
    let excluded_note = match answer.excluded.join(", ") {
        names if names.len() <= 512 => format!("excluded: {names}"),
        _ => format!("excluded: {} checks", answer.excluded.len()),
    };
    let reserve = 16 + excluded_note.len() + 64;
    let omitted = append_within(
        &mut out,
        &report.checks,
        BODY_BUDGET.saturating_sub(reserve),
        |entry, check| health_json_check(entry, check, level, answer.visible, now),
    );
    out.push(b'}');
    let mut notes = Vec::new();
    if !answer.excluded.is_empty() {
        notes.push(excluded_note);
    }
    if omitted > 0 {
        notes.push(format!(
            "{omitted} checks omitted to stay within {BODY_BUDGET} bytes"
        ));
    }
    if !notes.is_empty() {
        out.extend_from_slice(br#","notes":"#);
        let _ = serde_json::to_writer(&mut out, &notes);
    }
    out.push(b'}');
    (out, omitted)
}

/// `"name:responseTime":[{...}]`, and one entry per numeric detail when the caller may see
/// details (`"database:idle":[{"observedValue":1,...}]`).
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
    if !brief {
        component.insert("componentType".into(), "component".into());
        component.insert("observedValue".into(), millis(raw.latency).into());
        component.insert("observedUnit".into(), "ms".into());
        let time = now.checked_sub(check.age).unwrap_or(now);
        component.insert("time".into(), rfc3339(time).into());
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
        // Only numbers are measurements; `responseTime` is the check's own.
        if !value.is_number() || key == "responseTime" {
            continue;
        }
        let mut measurement = serde_json::Map::new();
        measurement.insert("componentType".into(), "component".into());
        measurement.insert("observedValue".into(), value.clone());
        if key.ends_with("_ms") {
            measurement.insert("observedUnit".into(), "ms".into());
        }
        measurement.insert("status".into(), status.into());
        out.push(b',');
        let _ = serde_json::to_writer(&mut *out, &format!("{}:{key}", check.name));
        out.push(b':');
        let _ = serde_json::to_writer(&mut *out, &[&measurement]);
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

fn text(answer: &Answer<'_>) -> Vec<u8> {
    let report = answer.report;
    let probe = probe_name(report.scope);
    let mut out = String::with_capacity(256);
    if let Some(reason) = report.reason {
        let _ = writeln!(out, "[-]lifecycle failed: {reason}");
    }
    // Room for the summary line and the closing line.
    let budget = BODY_BUDGET - 128;
    let mut omitted = 0;
    let mut line = String::with_capacity(128);
    for check in &report.checks {
        line.clear();
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
        let _ = write!(line, "[{sign}]{} {word}", check.name);
        if check.status != Status::Healthy {
            if let Some(message) = message_for(check, answer.visible) {
                let _ = write!(line, ": {}", message.replace(['\r', '\n'], " "));
            }
        }
        line.push('\n');
        if omitted > 0 || out.len() + line.len() > budget {
            omitted += 1;
            continue;
        }
        out.push_str(&line);
    }
    for name in answer.excluded {
        if out.len() + name.len() + 18 > budget {
            omitted += 1;
            continue;
        }
        let _ = writeln!(out, "[+]{name} excluded: ok");
    }
    if omitted > 0 {
        let _ = writeln!(
            out,
            "{omitted} more lines omitted to stay within {BODY_BUDGET} bytes"
        );
    }
    let verdict = if answer.passing { "passed" } else { "failed" };
    let _ = writeln!(out, "{probe} check {verdict}");
    out.into_bytes()
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
    fn truncation_keeps_characters_whole() {
        assert_eq!(truncated("short", 10), "short");
        let cut = truncated("ééééé", 6);
        assert!(cut.len() <= 6, "{cut}");
        assert!(cut.ends_with('…'));
    }
}
