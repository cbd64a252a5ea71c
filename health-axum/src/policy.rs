//! Who may read check messages and details.

use std::fmt;
use std::sync::Arc;

use axum::http::{header, request::Parts};
use subtle::ConstantTimeEq as _;

/// Which callers see check messages and details (error texts, hostnames, pool figures).
///
/// Status codes, statuses, check names and latencies are always shown: they are all a probe
/// needs. Messages and details can leak connection strings, hostnames and internal errors, so
/// by default ([`Details::Never`]) they are replaced with `reason withheld`; the full text goes
/// to the log (through `tracing`) once per status change.
///
/// A rule is built by [`Details::Never`], [`Details::Always`], [`Details::bearer_token`] or
/// [`Details::when_authorized`]; what it holds is private.
///
/// ```no_run
/// # use health_axum::prelude::*;
/// # #[derive(Clone, HealthState)]
/// # struct AppState { #[health(lifecycle)] lifecycle: Lifecycle }
/// # fn main() -> Result<(), std::env::VarError> {
/// // A monitoring system that sends `Authorization: Bearer <token>` sees everything:
/// let probes = AppState::health_router().details(Details::bearer_token(std::env::var("HEALTH_TOKEN")?));
/// # let _: Router<AppState> = probes.build();
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Default)]
pub struct Details {
    rule: Rule,
}

/// What a [`Details`] holds.
#[derive(Clone, Default)]
enum Rule {
    #[default]
    Never,
    WhenAuthorized(Arc<dyn Fn(&Parts) -> bool + Send + Sync>),
    Always,
}

impl fmt::Debug for Details {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.rule {
            Rule::Never => f.write_str("Never"),
            Rule::WhenAuthorized(_) => f.write_str("WhenAuthorized(..)"),
            Rule::Always => f.write_str("Always"),
        }
    }
}

// `Never` and `Always` keep the names they had as variants of the enum `Details` was, so that
// `.details(Details::Always)` reads (and compiles) as it did.
#[allow(non_upper_case_globals)]
impl Details {
    /// Nobody sees messages or details over HTTP (the default).
    pub const Never: Details = Details { rule: Rule::Never };

    /// Everybody sees them: for a probe port that only the cluster can reach, or for tests.
    pub const Always: Details = Details { rule: Rule::Always };

    /// Shows details to callers for whom `authorized` returns true.
    pub fn when_authorized(authorized: impl Fn(&Parts) -> bool + Send + Sync + 'static) -> Self {
        Details {
            rule: Rule::WhenAuthorized(Arc::new(authorized)),
        }
    }

    /// Shows details to requests carrying `Authorization: Bearer <token>`. The comparison takes
    /// the same time wherever the tokens differ (`subtle`'s `ConstantTimeEq`, which keeps the
    /// optimiser from turning it into an early exit; only the length is not hidden). An empty
    /// token authorizes nobody.
    pub fn bearer_token(token: impl Into<String>) -> Self {
        let token: Arc<[u8]> = Arc::from(token.into().into_bytes());
        Details::when_authorized(move |parts| {
            !token.is_empty()
                && parts
                    .headers
                    .get(header::AUTHORIZATION)
                    .and_then(|value| bearer(value.as_bytes()))
                    .is_some_and(|given| bool::from(given.ct_eq(&token)))
        })
    }

    /// Whether the caller of `parts` may see messages and details.
    pub(crate) fn allows(&self, parts: &Parts) -> bool {
        match &self.rule {
            Rule::Never => false,
            Rule::WhenAuthorized(authorized) => authorized(parts),
            Rule::Always => true,
        }
    }
}

/// The credentials of `Bearer <credentials>` (the scheme is case-insensitive).
fn bearer(value: &[u8]) -> Option<&[u8]> {
    let (scheme, rest) = value.split_at_checked(7)?;
    scheme
        .eq_ignore_ascii_case(b"bearer ")
        .then(|| rest.trim_ascii())
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::Request;

    fn parts(authorization: Option<&str>) -> Parts {
        let mut request = Request::builder().uri("/health");
        if let Some(value) = authorization {
            request = request.header(header::AUTHORIZATION, value);
        }
        request.body(()).unwrap().into_parts().0
    }

    #[test]
    fn bearer_token_rule() {
        let rule = Details::bearer_token("s3cret");
        assert!(rule.allows(&parts(Some("Bearer s3cret"))));
        assert!(rule.allows(&parts(Some("bearer  s3cret "))));
        assert!(!rule.allows(&parts(Some("Bearer s3cre"))));
        assert!(!rule.allows(&parts(Some("Bearer s3cretx"))));
        assert!(!rule.allows(&parts(Some("Basic s3cret"))));
        assert!(!rule.allows(&parts(Some("Bearer"))));
        assert!(!rule.allows(&parts(None)));
        assert!(!Details::bearer_token("").allows(&parts(Some("Bearer "))));
        assert!(!Details::Never.allows(&parts(Some("Bearer s3cret"))));
        assert!(Details::Always.allows(&parts(None)));
    }

    #[test]
    fn the_default_shows_nothing_and_debug_names_the_rule() {
        assert!(!Details::default().allows(&parts(Some("Bearer s3cret"))));
        assert_eq!(format!("{:?}", Details::default()), "Never");
        assert_eq!(format!("{:?}", Details::Always), "Always");
        assert_eq!(
            format!("{:?}", Details::when_authorized(|_| true)),
            "WhenAuthorized(..)"
        );
    }
}
