//! What a renderer is given ([`Answer`]), and what a caller may read of a check's message.

use health_core::{CheckReport, Report, Scope};

use super::budget::{truncated, MESSAGE_LIMIT};

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

pub(super) fn probe_name(scope: Scope) -> &'static str {
    match scope {
        Scope::Probe(probe) => probe.as_str(),
        Scope::Full => "full",
    }
}

/// What the caller may read of a check's message: the message (cut) or `reason withheld`. Out of
/// service, the caller always learns that much; the application's reason only with details.
pub(super) fn message_for(check: &CheckReport, visible: bool) -> Option<String> {
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
