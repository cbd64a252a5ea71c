//! Turning a [`Report`] into an HTTP response.

use std::time::Duration;

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use health_core::{CheckReport, Circuit, Report, Scope};
use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Serialize, Serializer};

/// 200 when the report passes, 503 when it fails; the JSON body; `Cache-Control: no-store`.
pub(crate) fn json(report: &Report, version: &str) -> Response {
    let status = if report.passing {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let body = serde_json::to_vec(&Body { report, version })
        .unwrap_or_else(|_| br#"{"status":"unhealthy"}"#.to_vec());
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

struct Body<'a> {
    report: &'a Report,
    version: &'a str,
}

impl Serialize for Body<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let report = self.report;
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("status", &report.status)?;
        map.serialize_entry(
            "probe",
            match report.scope {
                Scope::Probe(probe) => probe.as_str(),
                Scope::Full => "full",
            },
        )?;
        map.serialize_entry("phase", &report.phase)?;
        map.serialize_entry("version", self.version)?;
        if let Some(reason) = report.reason {
            map.serialize_entry("reason", reason)?;
        }
        map.serialize_entry("checks", &Checks(&report.checks))?;
        map.end()
    }
}

struct Checks<'a>(&'a [CheckReport]);

impl Serialize for Checks<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(Some(self.0.len()))?;
        for check in self.0 {
            seq.serialize_element(&Check(check))?;
        }
        seq.end()
    }
}

struct Check<'a>(&'a CheckReport);

impl Serialize for Check<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let check = self.0;
        let raw = check.raw();
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("name", check.name)?;
        map.serialize_entry("status", &check.status)?;
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
        if let Some(message) = check.message() {
            map.serialize_entry("message", &format_args!("{message}"))?;
        }
        map.end()
    }
}

/// Milliseconds with microsecond precision.
fn millis(d: Duration) -> f64 {
    d.as_micros() as f64 / 1000.0
}
