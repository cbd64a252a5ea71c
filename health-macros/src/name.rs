//! The rule for check names, shared by explicit names (`name = "..."`) and the names a check
//! takes from its function or field: usable as a URL path segment and a metric label value.

use proc_macro2::Span;

use crate::ctxt::Ctxt;

const RULE: &str = "check names are used in URL paths and metric labels: use 1 to 63 lowercase \
                    letters, digits, `_` or `-`, starting with a letter";

/// Whether `value` is a valid check name: 1 to 63 characters, lowercase ASCII letters, digits,
/// `_` and `-`, starting with a letter.
fn is_valid(value: &str) -> bool {
    value.len() <= 63
        && value.starts_with(|c: char| c.is_ascii_lowercase())
        && value
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
}

/// The closest valid name to `value`, if any: lowercased, other characters replaced by `_`,
/// leading non-letters dropped, cut at 63.
fn fixed(value: &str) -> Option<String> {
    let lowered: String = value
        .trim()
        .chars()
        .map(|c| match c.to_ascii_lowercase() {
            c @ ('a'..='z' | '0'..='9' | '_' | '-') => c,
            _ => '_',
        })
        .collect();
    let mut fixed = lowered
        .trim_start_matches(|c: char| !c.is_ascii_lowercase())
        .to_string();
    fixed.truncate(63);
    (!fixed.is_empty()).then_some(fixed)
}

/// Checks a check name, recording an error at `span` when it breaks the rule. `context` is
/// appended to the message (e.g. how to give an explicit name).
pub(crate) fn validate(value: &str, span: Span, context: &str, cx: &mut Ctxt) -> bool {
    if value.is_empty() {
        cx.error_at(
            span,
            format!("check name must not be empty; {RULE}, e.g. `name = \"database\"`{context}"),
        );
        return false;
    }
    if is_valid(value) {
        return true;
    }
    let suggestion = fixed(value)
        .map(|fixed| format!(", e.g. `name = \"{fixed}\"`"))
        .unwrap_or_default();
    cx.error_at(
        span,
        format!("invalid check name `{value}`: {RULE}{suggestion}{context}"),
    );
    false
}
