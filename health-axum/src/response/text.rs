//! `text/plain` (`?verbose`): one line per check, as the Kubernetes API server's
//! `/readyz?verbose`.

use std::fmt::Write as _;

use health_core::{CheckReport, Status};

use super::answer::{message_for, probe_name, Answer};
use super::budget::{append_checks, Level, Pass, BODY_BUDGET};
use super::writer::Utf8;

/// Room for the text format's last two lines: the summary of omitted lines (with a count of up to
/// 20 digits) and the verdict.
const TEXT_TAIL: usize = 160;

/// The `text/plain` body: one line per check, then the verdict.
pub(super) fn body(answer: &Answer<'_>) -> Vec<u8> {
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
    fn the_text_tail_fits_its_room() {
        let tail = omitted_summary(usize::MAX) + "startup check failed\n";
        assert!(tail.len() <= TEXT_TAIL, "{} bytes", tail.len());
    }
}
