//! `application/health+json`: the IETF draft "Health Check Response Format for HTTP APIs".

use std::fmt::Write as _;
use std::time::{SystemTime, UNIX_EPOCH};

use health_core::{CheckReport, Status};

use super::answer::{message_for, probe_name, Answer};
use super::budget::{append_checks, capacity_for, fitting, Level, Pass, BODY_BUDGET};
use super::writer::millis;

fn health_status(status: Status) -> &'static str {
    match status {
        Status::Healthy => "pass",
        Status::Degraded => "warn",
        Status::Unhealthy => "fail",
    }
}

/// The `application/health+json` body.
pub(super) fn body(answer: &Answer<'_>) -> Vec<u8> {
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

/// The health+json body of `pass`, and how many checks did not fit in the budget.
fn health_json_at(answer: &Answer<'_>, pass: Pass) -> (Vec<u8>, usize) {
    let report = answer.report;
    let mut out = Vec::with_capacity(capacity_for(report));
    head(&mut out, answer);
    out.extend_from_slice(br#","checks":{"#);
    let now = SystemTime::now();
    // The notes come after the checks: what was excluded, which checks are no longer run, the
    // request's warnings, and how many checks did not fit. Their room (for the last, as long as
    // it can be) is reserved before the checks fill the rest.
    let mut notes = notes_before_checks(answer);
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

/// The body's head, its closing brace left off: the overall status, the version, the
/// description and the lifecycle's reason.
fn head(out: &mut Vec<u8>, answer: &Answer<'_>) {
    let report = answer.report;
    let overall = if !answer.passing {
        "fail"
    } else if report.status == Status::Healthy {
        "pass"
    } else {
        "warn"
    };
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
    let _ = serde_json::to_writer(&mut *out, &head);
    out.pop();
}

/// The notes known before the checks are written: what was excluded, which checks are no
/// longer run, and the request's warnings.
fn notes_before_checks(answer: &Answer<'_>) -> Vec<String> {
    let report = answer.report;
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
    notes
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
        let entries = measurement_entries(value, unit, status, &time);
        if entries.is_empty() {
            continue;
        }
        out.push(b',');
        let _ = serde_json::to_writer(&mut *out, &format!("{}:{key}", check.name));
        out.push(b':');
        let _ = serde_json::to_writer(&mut *out, &entries);
    }
}

/// The entries of one detail that names a measurement: one for a number, one per numeric
/// member (told apart by `componentId`) for an object, none for anything else.
fn measurement_entries(
    value: &serde_json::Value,
    unit: Option<&str>,
    status: &str,
    time: &str,
) -> Vec<serde_json::Value> {
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
        entry.insert("time".into(), time.into());
        serde_json::Value::Object(entry)
    };
    match value {
        serde_json::Value::Number(_) => vec![entry(None, value)],
        serde_json::Value::Object(members) => members
            .iter()
            .filter(|(_, v)| v.is_number())
            .map(|(id, v)| entry(Some(id), v))
            .collect(),
        _ => Vec::new(),
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn rfc3339_dates() {
        assert_eq!(rfc3339(UNIX_EPOCH), "1970-01-01T00:00:00.000Z");
        let t = UNIX_EPOCH + Duration::from_millis(1_796_108_906_404);
        assert_eq!(rfc3339(t), "2026-12-01T07:08:26.404Z");
        let leap = UNIX_EPOCH + Duration::from_secs(951_782_400); // 2000-02-29
        assert_eq!(rfc3339(leap), "2000-02-29T00:00:00.000Z");
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
}
