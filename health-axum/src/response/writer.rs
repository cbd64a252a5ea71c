//! What every body's writer shares: `fmt::Write` over a byte buffer, and numbers written as
//! JSON would print them, so that every format shows the same figure.

use std::time::Duration;

/// `io::Write`-free `fmt::Write` over a byte buffer.
pub(super) struct Utf8<'a>(pub(super) &'a mut Vec<u8>);

impl std::fmt::Write for Utf8<'_> {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        self.0.extend_from_slice(s.as_bytes());
        Ok(())
    }
}

/// Appends `n` in decimal (without the formatting machinery: this runs per check per probe).
pub(super) fn push_u64(out: &mut Vec<u8>, mut n: u64) {
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
pub(super) fn push_millis(out: &mut Vec<u8>, d: Duration) {
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
pub(super) fn whole_millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// Milliseconds with three decimals, truncated to whole microseconds as [`push_millis`] writes
/// them, so that every format shows the same figure for the same latency.
pub(super) fn millis(d: Duration) -> f64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX) as f64 / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn json_and_health_json_show_the_same_latency() {
        for micros in [0u64, 1, 608, 609, 999, 1_000, 1_500_999, 12_345_678] {
            // 608.9 µs and the like: truncated the same way by both writers.
            let d = Duration::from_nanos(micros * 1000 + 900);
            let mut json = Vec::new();
            push_millis(&mut json, d);
            let json: f64 = std::str::from_utf8(&json).unwrap().parse().unwrap();
            assert_eq!(json, millis(d), "{d:?}");
        }
    }
}
