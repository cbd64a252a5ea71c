//! "Did you mean" suggestions for misspelled keys.

/// The candidate closest to `input`, if it is close enough to be a likely typo.
pub(crate) fn closest<'a>(input: &str, candidates: &[&'a str]) -> Option<&'a str> {
    candidates
        .iter()
        .map(|c| (distance(input, c), *c))
        .filter(|(d, c)| *d <= (c.len() / 3).max(1))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// Levenshtein distance over chars.
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur.push((prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
}

/// "unknown ... `x`; expected one of: a, b, c" plus a suggestion when one is close.
pub(crate) fn unknown_key(what: &str, key: &str, valid: &[&str]) -> String {
    let mut msg = format!(
        "unknown {what} `{key}`; expected one of: {}",
        valid.join(", ")
    );
    if let Some(best) = closest(key, valid) {
        msg.push_str(&format!(" (did you mean `{best}`?)"));
    }
    msg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_near_misses_only() {
        let keys = ["name", "timeout_ms", "degraded_ms", "critical"];
        assert_eq!(closest("timeout", &keys), Some("timeout_ms"));
        assert_eq!(closest("critcal", &keys), Some("critical"));
        assert_eq!(closest("banana", &keys), None);
    }
}
