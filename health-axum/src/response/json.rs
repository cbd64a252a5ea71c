//! `application/json`: this framework's own report.

use std::fmt::Write as _;

use health_core::{CheckReport, Circuit, Status};

use super::answer::{message_for, probe_name, Answer};
use super::budget::{append_checks, capacity_for, fitting, truncated, Level, Pass};
use super::budget::{BODY_BUDGET, MESSAGE_LIMIT};
use super::writer::{push_millis, push_u64, whole_millis, Utf8};

/// The `application/json` body.
pub(super) fn body(answer: &Answer<'_>) -> Vec<u8> {
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
