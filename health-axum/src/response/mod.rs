//! Turning a [`Report`](health_core::Report) into an HTTP response, in one of three formats, within a body budget.
//!
//! Every body stays under [`BODY_BUDGET`] bytes, well inside the kubelet's 10 KB read limit,
//! however many checks are registered: when the full rendering would be larger, healthy checks
//! are shown briefly (name and status); when that is still too large, the body is *trimmed*:
//! the checks that decide the verdict come first (unhealthy and critical, then unhealthy, then
//! degraded, then healthy), with their fields while they take at most half of the room and by
//! name and status after that, and what still does not fit is counted in `omitted` (JSON), a
//! note (health+json) or a summary line (text). Check messages are cut at [`MESSAGE_LIMIT`]
//! bytes. Warnings about the request are part of every body and count against the budget.
//!
//! - `answer`: what a renderer is given, and what a caller may read of a check's message.
//! - `budget`: the body budget, the passes from full to trimmed, and the cut of messages.
//! - `writer`: the byte-buffer writer and the number formats every body shares.
//! - `json`: `application/json`, this framework's own report.
//! - `health_json`: `application/health+json`, the IETF draft's format.
//! - `text`: `text/plain`, one line per check (`?verbose`).

mod answer;
mod budget;
mod health_json;
mod json;
mod text;
mod writer;

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::request::Format;
pub(crate) use answer::Answer;
pub use budget::{BODY_BUDGET, MESSAGE_LIMIT};

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
        Format::Json => ("application/json", json::body(answer)),
        Format::HealthJson => ("application/health+json", health_json::body(answer)),
        Format::Text => ("text/plain; charset=utf-8", text::body(answer)),
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
