//! Reading a probe request: the query (`?verbose`, `?exclude=name`) and the `Accept` header.
//!
//! Nothing read here can fail a probe: a query or an `Accept` header that asks for something
//! that cannot be given is answered anyway (the verdict's 200 or 503, in JSON by default), with
//! a [`Warning`] in the body, as the Kubernetes API server does.

use std::borrow::Cow;

use axum::http::{header, HeaderMap};

/// At most this many `exclude` parameters are read from one request; more are ignored, with a
/// warning.
pub(crate) const MAX_EXCLUDES: usize = 64;

/// The body format of an answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Format {
    /// `application/json`: this framework's own report (the default).
    Json,
    /// `application/health+json`: the IETF draft "Health Check Response Format for HTTP APIs".
    HealthJson,
    /// `text/plain`: one line per check, as the Kubernetes API server's `/readyz?verbose`.
    Text,
}

/// What a request asks for.
#[derive(Debug, Default)]
pub(crate) struct Query<'a> {
    pub(crate) verbose: bool,
    /// The decoded `exclude` values, empty ones left out (they are counted instead).
    pub(crate) exclude: Vec<Cow<'a, str>>,
    /// `exclude` parameters with an empty value.
    pub(crate) empty_excludes: usize,
    /// `exclude` parameters past [`MAX_EXCLUDES`], not read.
    pub(crate) excess_excludes: usize,
}

/// Something a request asked for that its answer could not give; shown in the body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Warning<'a> {
    /// `exclude` names that match no check of this probe (unknown, misspelt, or gating another
    /// probe). At most [`SHOWN_NAMES`] are kept; `more` counts the rest.
    NoMatches {
        names: Vec<Cow<'a, str>>,
        more: usize,
    },
    /// `exclude` parameters with no name.
    EmptyExclude(usize),
    /// `exclude` parameters past the limit.
    TooManyExcludes(usize),
    /// `exclude` on a per-check path, which answers for one check whatever is excluded.
    ExcludeOnCheckPath,
    /// An `Accept` header that admits none of the formats (or is not text).
    UnacceptableAccept,
}

/// How many unmatched names a warning echoes.
pub(crate) const SHOWN_NAMES: usize = 8;

/// How much of a caller's name a warning or an error echoes, in bytes once escaped.
const SHOWN_BYTES: usize = 64;

impl Warning<'_> {
    /// The warning as one line of text, without the `warn: ` prefix. Caller-supplied names are
    /// quoted, escaped (control characters and line separators included) and cut, so they can
    /// never start a line of their own in the text format, and a warning stays under 700 bytes.
    pub(crate) fn write_to(&self, out: &mut String) {
        use std::fmt::Write as _;
        match self {
            Warning::NoMatches { names, more } => {
                out.push_str("some health checks cannot be excluded: no matches for ");
                for (i, name) in names.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    push_quoted(out, name);
                }
                if *more > 0 {
                    let _ = write!(out, " and {more} more");
                }
            }
            Warning::EmptyExclude(n) => {
                let _ = write!(
                    out,
                    "{n} empty `exclude` parameter{} ignored; name a check, e.g. `?exclude=cache`",
                    if *n == 1 { "" } else { "s" }
                );
            }
            Warning::TooManyExcludes(n) => {
                let _ = write!(
                    out,
                    "at most {MAX_EXCLUDES} `exclude` parameters are read; {n} more ignored"
                );
            }
            Warning::ExcludeOnCheckPath => {
                out.push_str("`exclude` has no effect on a per-check path");
            }
            Warning::UnacceptableAccept => out.push_str(
                "no format in Accept can be given; answering application/json \
                 (this endpoint answers application/json, application/health+json or text/plain)",
            ),
        }
    }

    /// [`Warning::write_to`] into a new string.
    pub(crate) fn to_text(&self) -> String {
        let mut out = String::new();
        self.write_to(&mut out);
        out
    }
}

/// Appends a caller's name in double quotes, escaped as Rust's `Debug` escapes it (so no control
/// character, line break or quote comes through as itself), and cut after [`SHOWN_BYTES`] bytes
/// of escaped text, with `…` after the closing quote when cut.
pub(crate) fn push_quoted(out: &mut String, name: &str) {
    use std::fmt::Write as _;
    let mut escaped = 0;
    let mut end = name.len();
    for (at, c) in name.char_indices() {
        escaped += c.escape_debug().map(char::len_utf8).sum::<usize>();
        if escaped > SHOWN_BYTES {
            end = at;
            break;
        }
    }
    let _ = write!(out, "{:?}", &name[..end]);
    if end < name.len() {
        out.push('…');
    }
}

/// Reads the query string. Unknown parameters are ignored (monitors add cache-busters); values
/// are decoded as a form (`+` is a space, `%XX` an escape; a malformed escape stays as it is, and
/// bytes that are not UTF-8 become U+FFFD), so no query is ever refused.
pub(crate) fn parse_query(query: Option<&str>) -> Query<'_> {
    let mut parsed = Query::default();
    let Some(query) = query else {
        return parsed;
    };
    for (key, value) in form_urlencoded::parse(query.as_bytes()) {
        match &*key {
            "verbose" => parsed.verbose = true,
            "exclude" if value.is_empty() => parsed.empty_excludes += 1,
            "exclude" if parsed.exclude.len() == MAX_EXCLUDES => parsed.excess_excludes += 1,
            "exclude" => parsed.exclude.push(value),
            _ => {}
        }
    }
    parsed
}

/// Chooses the format from `Accept` (`?verbose` asks for text whatever `Accept` says). No
/// `Accept`, `*/*` or anything JSON-compatible gives JSON. A header that admits none of the
/// three formats, or that is not text, also gets JSON (RFC 9110 lets a server disregard
/// `Accept`, and a probe path must answer): the second value says so, for a warning.
pub(crate) fn negotiate(headers: &HeaderMap, verbose: bool) -> (Format, bool) {
    if verbose {
        return (Format::Text, true);
    }
    let mut best: Option<(u16, Format)> = None;
    let mut any_header = false;
    for value in headers.get_all(header::ACCEPT) {
        any_header = true;
        let Ok(value) = value.to_str() else {
            continue;
        };
        for range in value.split(',') {
            let mut params = range.split(';');
            let media = params.next().unwrap_or("").trim();
            if media.is_empty() {
                continue;
            }
            let quality = params
                .filter_map(|p| {
                    let (name, value) = p.trim().split_once('=')?;
                    name.trim_end().eq_ignore_ascii_case("q").then_some(value)
                })
                .next()
                .map_or(Some(1000), |q| parse_quality(q.trim()));
            let Some(quality) = quality else { continue };
            if quality == 0 {
                continue;
            }
            let is = |name: &str| media.eq_ignore_ascii_case(name);
            let format = if is("application/health+json") {
                Format::HealthJson
            } else if is("application/json") || is("application/*") || is("*/*") {
                Format::Json
            } else if is("text/plain") || is("text/*") {
                Format::Text
            } else {
                continue;
            };
            // The highest quality wins; on a tie the first listed.
            if best.is_none_or(|(q, _)| quality > q) {
                best = Some((quality, format));
            }
        }
    }
    match best {
        Some((_, format)) => (format, true),
        None => (Format::Json, !any_header),
    }
}

/// A quality value `0` to `1` with up to three decimals, in thousandths; `None` if malformed.
fn parse_quality(text: &str) -> Option<u16> {
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    if fraction.len() > 3 || !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let whole = match whole {
        "0" => 0,
        "1" => 1000,
        _ => return None,
    };
    let thousandths = fraction
        .bytes()
        .chain(std::iter::repeat(b'0'))
        .take(3)
        .fold(0u16, |acc, digit| acc * 10 + u16::from(digit - b'0'));
    let quality = whole + thousandths;
    (quality <= 1000).then_some(quality)
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn accept(values: &[&[u8]]) -> (Format, bool) {
        let mut headers = HeaderMap::new();
        for v in values {
            headers.append(header::ACCEPT, HeaderValue::from_bytes(v).unwrap());
        }
        negotiate(&headers, false)
    }

    #[test]
    fn accept_negotiation() {
        assert_eq!(accept(&[]), (Format::Json, true));
        assert_eq!(accept(&[b"*/*"]), (Format::Json, true));
        assert_eq!(
            accept(&[b"application/health+json"]),
            (Format::HealthJson, true)
        );
        assert_eq!(
            accept(&[b"application/json;q=0.5, application/health+json"]),
            (Format::HealthJson, true)
        );
        assert_eq!(
            accept(&[b"application/health+json;q=0.1", b"application/json"]),
            (Format::Json, true)
        );
        assert_eq!(accept(&[b"text/plain"]), (Format::Text, true));
        assert_eq!(accept(&[b"text/html, */*;q=0.8"]), (Format::Json, true));
        assert_eq!(accept(&[b"TEXT/PLAIN"]), (Format::Text, true));
    }

    #[test]
    fn the_quality_parameter_name_is_case_insensitive() {
        assert_eq!(
            accept(&[b"application/health+json;Q=0.1, text/plain;Q=0.9"]),
            (Format::Text, true)
        );
        assert_eq!(
            accept(&[b"application/json ; Q=0"]),
            (Format::Json, false),
            "Q=0 refuses JSON like q=0"
        );
    }

    #[test]
    fn an_unacceptable_or_odd_accept_gets_json_with_a_warning() {
        for odd in [
            &b"text/html"[..],
            b"image/png;q=1",
            b"application/json;q=0",
            b";;;",
            b"*/*;q=2",
            b"\xff\xfe",
            b"",
        ] {
            assert_eq!(
                accept(&[odd]),
                (Format::Json, false),
                "{}",
                String::from_utf8_lossy(odd)
            );
        }
    }

    #[test]
    fn query_parsing_never_refuses() {
        let q = parse_query(Some("verbose&exclude=cache&exclude=db%2Dreplica&x=1"));
        assert!(q.verbose);
        assert_eq!(q.exclude, ["cache", "db-replica"]);
        assert!(parse_query(None).exclude.is_empty());
        let q = parse_query(Some("exclude=&exclude"));
        assert!(q.exclude.is_empty());
        assert_eq!(q.empty_excludes, 2);
        // Malformed escapes stay as they are, bytes that are not UTF-8 become U+FFFD: neither
        // names a check, and neither is refused.
        assert_eq!(parse_query(Some("exclude=%zz")).exclude, ["%zz"]);
        assert_eq!(parse_query(Some("exclude=%ff")).exclude, ["\u{fffd}"]);
        assert_eq!(parse_query(Some("exclude=%+5")).exclude, ["% 5"]);
        assert_eq!(parse_query(Some("exclude=a+b")).exclude, ["a b"]);
        let many = vec!["exclude=a"; MAX_EXCLUDES + 3].join("&");
        let q = parse_query(Some(&many));
        assert_eq!((q.exclude.len(), q.excess_excludes), (MAX_EXCLUDES, 3));
    }

    #[test]
    fn warnings_escape_what_the_caller_sent() {
        let warning = Warning::NoMatches {
            names: vec!["cache".into(), "x\n[+]forged ok".into()],
            more: 2,
        };
        let text = warning.to_text();
        assert_eq!(
            text,
            r#"some health checks cannot be excluded: no matches for "cache","x\n[+]forged ok" and 2 more"#
        );
        assert!(!text.contains('\n'));
        let long = "n".repeat(500);
        let text = Warning::NoMatches {
            names: vec![long.as_str().into()],
            more: 0,
        }
        .to_text();
        assert!(text.len() < 140, "{text}");
        assert!(text.ends_with("\"…"), "{text}");
        // The bound is on the escaped text: control characters escape to up to 10 bytes each.
        let hostile = "\u{1}\u{2028}\u{85}".repeat(100);
        let names = vec![hostile.as_str().into(); SHOWN_NAMES];
        let text = Warning::NoMatches { names, more: 9 }.to_text();
        assert!(text.len() < 700, "{} bytes", text.len());
        assert!(
            !text.contains(['\n', '\r', '\u{2028}', '\u{85}', '\u{1}']),
            "{text}"
        );
        // The bound is in bytes: a name of four-byte characters is cut as short.
        let emoji = "\u{1F600}".repeat(100);
        let names = vec![emoji.as_str().into(); SHOWN_NAMES];
        let text = Warning::NoMatches { names, more: 9 }.to_text();
        assert!(text.len() < 700, "{} bytes", text.len());
    }

    #[test]
    fn quality_values() {
        assert_eq!(parse_quality("1"), Some(1000));
        assert_eq!(parse_quality("0.5"), Some(500));
        assert_eq!(parse_quality("0.125"), Some(125));
        assert_eq!(parse_quality("1.000"), Some(1000));
        assert_eq!(parse_quality("1.5"), None);
        assert_eq!(parse_quality("0.1234"), None);
        assert_eq!(parse_quality("x"), None);
    }
}
