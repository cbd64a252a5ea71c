//! Reading a probe request: the query (`?verbose`, `?exclude=name`) and the `Accept` header.

use std::borrow::Cow;

use axum::http::{header, HeaderMap, StatusCode};

/// At most this many `exclude` parameters in one request.
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
    pub(crate) exclude: Vec<Cow<'a, str>>,
}

/// A request the probe endpoints refuse, with the status and message to answer.
#[derive(Debug)]
pub(crate) struct Refusal {
    pub(crate) status: StatusCode,
    pub(crate) message: Cow<'static, str>,
}

impl Refusal {
    pub(crate) fn bad_request(message: impl Into<Cow<'static, str>>) -> Refusal {
        Refusal {
            status: StatusCode::BAD_REQUEST,
            message: message.into(),
        }
    }
}

/// Parses the query string. Unknown parameters are ignored (monitors add cache-busters).
pub(crate) fn parse_query(query: Option<&str>) -> Result<Query<'_>, Refusal> {
    let mut parsed = Query::default();
    let Some(query) = query else {
        return Ok(parsed);
    };
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        match key {
            "verbose" => parsed.verbose = true,
            "exclude" => {
                let name = percent_decode(value).ok_or_else(|| {
                    Refusal::bad_request("`exclude` holds a malformed percent-encoding")
                })?;
                if name.is_empty() {
                    return Err(Refusal::bad_request(
                        "`exclude` needs a check name, e.g. `?exclude=cache`",
                    ));
                }
                if parsed.exclude.len() == MAX_EXCLUDES {
                    return Err(Refusal::bad_request(format!(
                        "at most {MAX_EXCLUDES} `exclude` parameters are accepted"
                    )));
                }
                parsed.exclude.push(name);
            }
            _ => {}
        }
    }
    Ok(parsed)
}

/// Decodes `%XX` escapes and `+` (a space); `None` if an escape is malformed or the result is
/// not UTF-8.
fn percent_decode(value: &str) -> Option<Cow<'_, str>> {
    if !value.contains(['%', '+']) {
        return Some(Cow::Borrowed(value));
    }
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let hex = bytes.get(i + 1..i + 3)?;
                if !hex.iter().all(u8::is_ascii_hexdigit) {
                    return None;
                }
                let hex = std::str::from_utf8(hex).ok()?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            byte => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok().map(Cow::Owned)
}

/// Chooses the format from `Accept` (`?verbose` asks for text whatever `Accept` says). No
/// `Accept`, `*/*` or anything JSON-compatible gives JSON; a header that admits none of the
/// three formats is a 406 that lists them.
pub(crate) fn negotiate(headers: &HeaderMap, verbose: bool) -> Result<Format, Refusal> {
    if verbose {
        return Ok(Format::Text);
    }
    let mut best: Option<(u16, Format)> = None;
    let mut any_header = false;
    for value in headers.get_all(header::ACCEPT) {
        any_header = true;
        let value = value.to_str().map_err(|_| Refusal {
            status: StatusCode::BAD_REQUEST,
            message: Cow::Borrowed("the Accept header is not visible ASCII"),
        })?;
        for range in value.split(',') {
            let mut params = range.split(';');
            let media = params.next().unwrap_or("").trim();
            if media.is_empty() {
                continue;
            }
            let quality = params
                .filter_map(|p| p.trim().strip_prefix("q="))
                .next()
                .map_or(Some(1000), parse_quality);
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
        Some((_, format)) => Ok(format),
        None if !any_header => Ok(Format::Json),
        None => Err(Refusal {
            status: StatusCode::NOT_ACCEPTABLE,
            message: Cow::Borrowed(
                "no acceptable format: this endpoint answers application/json, \
                 application/health+json or text/plain",
            ),
        }),
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

    fn accept(values: &[&str]) -> Result<Format, Refusal> {
        let mut headers = HeaderMap::new();
        for v in values {
            headers.append(header::ACCEPT, HeaderValue::from_str(v).unwrap());
        }
        negotiate(&headers, false)
    }

    #[test]
    fn accept_negotiation() {
        assert_eq!(accept(&[]).unwrap(), Format::Json);
        assert_eq!(accept(&["*/*"]).unwrap(), Format::Json);
        assert_eq!(
            accept(&["application/health+json"]).unwrap(),
            Format::HealthJson
        );
        assert_eq!(
            accept(&["application/json;q=0.5, application/health+json"]).unwrap(),
            Format::HealthJson
        );
        assert_eq!(
            accept(&["application/health+json;q=0.1", "application/json"]).unwrap(),
            Format::Json
        );
        assert_eq!(accept(&["text/plain"]).unwrap(), Format::Text);
        assert_eq!(accept(&["text/html, */*;q=0.8"]).unwrap(), Format::Json);
        assert_eq!(accept(&["TEXT/PLAIN"]).unwrap(), Format::Text);
        for odd in [
            "text/html",
            "image/png;q=1",
            "application/json;q=0",
            ";;;",
            "*/*;q=2",
        ] {
            let refusal = accept(&[odd]).unwrap_err();
            assert_eq!(refusal.status, StatusCode::NOT_ACCEPTABLE, "{odd}");
        }
    }

    #[test]
    fn query_parsing() {
        let q = parse_query(Some("verbose&exclude=cache&exclude=db%2Dreplica&x=1")).unwrap();
        assert!(q.verbose);
        assert_eq!(q.exclude, ["cache", "db-replica"]);
        assert!(parse_query(None).unwrap().exclude.is_empty());
        assert!(parse_query(Some("exclude=")).is_err());
        assert!(parse_query(Some("exclude=%zz")).is_err());
        assert!(parse_query(Some("exclude=%ff")).is_err());
        assert!(parse_query(Some("exclude=%+5")).is_err());
        let many = vec!["exclude=a"; MAX_EXCLUDES + 1].join("&");
        assert!(parse_query(Some(&many)).is_err());
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
