//! The body budget: every body within [`BODY_BUDGET`] bytes, rendered in passes from the most to
//! the least complete ([`Pass`]), and check messages cut at [`MESSAGE_LIMIT`] bytes at a
//! character boundary.

use health_core::{CheckReport, Report, Status};

/// The most a probe body may take, in bytes: 8 KiB, leaving room under the kubelet's 10 KB for
/// headers and a margin.
pub const BODY_BUDGET: usize = 8 * 1024;

/// The most of a check's message shown, in bytes (cut at a character boundary, with `…`).
pub const MESSAGE_LIMIT: usize = 256;

/// How much of each check a rendering shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Level {
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
pub(super) enum Pass {
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

/// The first of `render`'s bodies (full, brief, trimmed) in which every check fits
/// (`render` returns the body and how many checks it had to omit).
pub(super) fn fitting(render: impl Fn(Pass) -> (Vec<u8>, usize)) -> Vec<u8> {
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
pub(super) fn append_checks(
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

/// `text` cut to at most `limit` bytes at a character boundary, with `…` when cut.
pub(super) fn truncated(text: &str, limit: usize) -> std::borrow::Cow<'_, str> {
    if text.len() <= limit {
        return text.into();
    }
    let mut end = limit.saturating_sub('…'.len_utf8());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end]).into()
}

/// A first guess at a body's size, so it is rarely grown: a head and about 160 bytes a check.
pub(super) fn capacity_for(report: &Report) -> usize {
    (192 + 160 * report.checks.len()).min(BODY_BUDGET)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncation_keeps_characters_whole() {
        assert_eq!(truncated("short", 10), "short");
        let cut = truncated("ééééé", 6);
        assert!(cut.len() <= 6, "{cut}");
        assert!(cut.ends_with('…'));
    }
}
