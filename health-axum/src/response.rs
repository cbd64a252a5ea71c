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
use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};

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
        truncated(&message.to_string(), MESSAGE_LIMIT).into_owned()
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
/// bytes; returns how many did not.
fn append_within(
    out: &mut Vec<u8>,
    checks: &[CheckReport],
    budget: usize,
    mut render: impl FnMut(&mut Vec<u8>, &CheckReport),
) -> usize {
    let mut omitted = 0;
    let mut first = true;
    let mut entry = Vec::with_capacity(256);
    for check in checks {
        entry.clear();
        render(&mut entry, check);
        if omitted > 0 || out.len() + entry.len() + 1 > budget {
            omitted += 1;
            continue;
        }
        if !first {
            out.push(b',');
        }
        first = false;
        out.extend_from_slice(&entry);
    }
    omitted
}

fn json(answer: &Answer<'_>) -> Vec<u8> {
    fitting(|level| json_at(answer, level))
}

/// The JSON body at `level`, and how many checks did not fit in the budget.
fn json_at(answer: &Answer<'_>, level: Level) -> (Vec<u8>, usize) {
    let report = answer.report;
    let mut out = Vec::with_capacity(512);
    let head = JsonHead { answer };
    // Serializing plain data into a Vec cannot fail.
    let _ = serde_json::to_writer(&mut out, &head);
    out.pop(); // the closing brace: checks follow
    out.extend_from_slice(br#","checks":["#);
    // Room for the closing `],"omitted":NNNN}`.
    let omitted = append_within(
        &mut out,
        &report.checks,
        BODY_BUDGET - 24,
        |entry, check| {
            let visible = answer.visible;
            let _ = serde_json::to_writer(
                entry,
                &JsonCheck {
                    check,
                    level,
                    visible,
                },
            );
        },
    );
    out.push(b']');
    if omitted > 0 {
        let _ = write!(Utf8(&mut out), r#","omitted":{omitted}"#);
    }
    out.push(b'}');
    (out, omitted)
}

/// `io::Write`-free `fmt::Write` over a byte buffer.
struct Utf8<'a>(&'a mut Vec<u8>);

impl std::fmt::Write for Utf8<'_> {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        self.0.extend_from_slice(s.as_bytes());
        Ok(())
    }
}

struct JsonHead<'a, 'b> {
    answer: &'a Answer<'b>,
}

impl Serialize for JsonHead<'_, '_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let answer = self.answer;
        let report = answer.report;
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("status", &report.status)?;
        map.serialize_entry("probe", probe_name(report.scope))?;
        map.serialize_entry("phase", &report.phase)?;
        map.serialize_entry("version", answer.version)?;
        if let Some(reason) = report.reason {
            map.serialize_entry("reason", reason)?;
        }
        if !answer.excluded.is_empty() {
            map.serialize_entry("excluded", answer.excluded)?;
        }
        map.end()
    }
}

struct JsonCheck<'a> {
    check: &'a CheckReport,
    level: Level,
    visible: bool,
}

impl Serialize for JsonCheck<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let check = self.check;
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("name", check.name)?;
        map.serialize_entry("status", &check.status)?;
        let brief = self.level == Level::Minimal
            || (self.level == Level::Brief && check.status == Status::Healthy);
        if brief {
            return map.end();
        }
        let raw = check.raw();
        map.serialize_entry("critical", &check.critical)?;
        map.serialize_entry("raw_status", &raw.status)?;
        map.serialize_entry("latency_ms", &millis(raw.latency))?;
        map.serialize_entry("age_ms", &check.age.as_millis())?;
        if check.stale {
            map.serialize_entry("stale", &true)?;
        }
        if check.snapshot.consecutive_failures > 0 {
            map.serialize_entry("consecutive_failures", &check.snapshot.consecutive_failures)?;
        }
        if check.circuit != Circuit::Closed {
            map.serialize_entry("circuit", check.circuit.as_str())?;
        }
        if let Circuit::Open { retry_in } = check.circuit {
            map.serialize_entry("retry_in_ms", &retry_in.as_millis())?;
        }
        if let Some(reason) = &check.out_of_service {
            if self.visible {
                map.serialize_entry("out_of_service", &truncated(reason, MESSAGE_LIMIT))?;
            } else {
                map.serialize_entry("out_of_service", &true)?;
            }
        }
        if let Some(message) = message_for(check, self.visible) {
            map.serialize_entry("message", &message)?;
        }
        if self.visible && self.level == Level::Full {
            if let Some(details) = &raw.details {
                map.serialize_entry("details", details)?;
            }
        }
        map.end()
    }
}

/// Milliseconds with microsecond precision.
fn millis(d: Duration) -> f64 {
    d.as_micros() as f64 / 1000.0
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
    let mut out = Vec::with_capacity(512);
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
    fn truncation_keeps_characters_whole() {
        assert_eq!(truncated("short", 10), "short");
        let cut = truncated("ééééé", 6);
        assert!(cut.len() <= 6, "{cut}");
        assert!(cut.ends_with('…'));
    }
}
