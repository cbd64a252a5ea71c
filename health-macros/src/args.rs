//! Parsing and validation of the check arguments shared by `#[health_check(...)]` and the field
//! attribute `#[health(check(...))]`: name, timeout_ms, degraded_ms, critical, startup, live,
//! ready, and the engine's interval_ms, failure_threshold, success_threshold, breaker_threshold,
//! backoff_ms, max_backoff_ms and no_breaker.

use std::collections::HashSet;

use proc_macro2::{Span, TokenStream};
use quote::quote;
use syn::ext::IdentExt;
use syn::parse::{Parse, ParseStream, Parser};
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::{Expr, ExprLit, Ident, Lit, Token, UnOp};

use crate::ctxt::Ctxt;
use crate::root::Root;
use crate::suggest;

/// Defaults that validation compares against; they must match `health_core`'s
/// `DEFAULT_TIMEOUT_MS`, `DEFAULT_INTERVAL_MS` and `DEFAULT_FAILURE_THRESHOLD` (a trybuild case
/// pins each message that quotes them).
pub(crate) const DEFAULT_TIMEOUT_MS: u64 = 1000;
pub(crate) const DEFAULT_INTERVAL_MS: u64 = 5000;
pub(crate) const DEFAULT_FAILURE_THRESHOLD: u64 = 2;

/// The keys a check accepts.
pub(crate) const CHECK_KEYS: &[&str] = &[
    "name",
    "timeout_ms",
    "degraded_ms",
    "critical",
    "startup",
    "live",
    "ready",
    "interval_ms",
    "failure_threshold",
    "success_threshold",
    "breaker_threshold",
    "backoff_ms",
    "max_backoff_ms",
    "no_breaker",
];

/// One `key`, `key = value` or `key(...)` item of an attribute's argument list.
pub(crate) struct MetaArg {
    pub(crate) key: Ident,
    pub(crate) kind: MetaKind,
}

/// The shape of a [`MetaArg`].
pub(crate) enum MetaKind {
    Flag,
    Value(Expr),
    List(TokenStream),
}

impl Parse for MetaArg {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        // `crate` is a keyword; accept any identifier-like key and validate it afterwards.
        let key = input.call(Ident::parse_any).map_err(|e| {
            syn::Error::new(
                e.span(),
                "expected an argument such as `name = \"...\"`, `timeout_ms = 500` or `critical`",
            )
        })?;
        let kind = if input.peek(Token![=]) {
            input.parse::<Token![=]>()?;
            MetaKind::Value(input.parse()?)
        } else if input.peek(syn::token::Paren) {
            let content;
            syn::parenthesized!(content in input);
            MetaKind::List(content.parse()?)
        } else {
            MetaKind::Flag
        };
        Ok(MetaArg { key, kind })
    }
}

impl MetaArg {
    pub(crate) fn name(&self) -> String {
        self.key.unraw().to_string()
    }
}

/// Parses `a, b = 1, c(...)`.
pub(crate) fn parse_meta_list(tokens: TokenStream) -> syn::Result<Vec<MetaArg>> {
    let parsed = Punctuated::<MetaArg, Token![,]>::parse_terminated.parse2(tokens)?;
    Ok(parsed.into_iter().collect())
}

/// Rejects a key seen before.
pub(crate) struct SeenKeys(HashSet<String>);

impl SeenKeys {
    pub(crate) fn new() -> Self {
        SeenKeys(HashSet::new())
    }

    /// Whether this is the first time `key` appears; records an error on a repeat.
    pub(crate) fn first(&mut self, key: &Ident, cx: &mut Ctxt) -> bool {
        let name = key.unraw().to_string();
        let first = self.0.insert(name.clone());
        if !first {
            cx.error_spanned_by(key, format!("`{name}` is given twice; keep only one"));
        }
        first
    }
}

/// A parsed value, the span of the token it came from, and where its key was written.
#[derive(Clone, Copy)]
pub(crate) struct At<T> {
    pub(crate) value: T,
    pub(crate) span: Span,
    /// The span of the key (`timeout_ms` in `timeout_ms = 500`).
    pub(crate) key: Span,
    /// The argument's position in the list, for reporting in source order.
    pub(crate) position: usize,
}

/// Validated check arguments.
pub(crate) struct CheckArgs {
    pub(crate) name: Option<String>,
    pub(crate) timeout_ms: Option<At<u64>>,
    pub(crate) degraded_ms: Option<At<u64>>,
    pub(crate) critical: bool,
    pub(crate) probes: Vec<&'static str>,
    pub(crate) interval_ms: Option<At<u64>>,
    pub(crate) failure_threshold: Option<At<u64>>,
    pub(crate) success_threshold: Option<At<u64>>,
    pub(crate) breaker_threshold: Option<At<u64>>,
    pub(crate) backoff_ms: Option<At<u64>>,
    pub(crate) max_backoff_ms: Option<At<u64>>,
    pub(crate) no_breaker: Option<Span>,
}

impl CheckArgs {
    /// Reads check arguments. Keys outside [`CHECK_KEYS`] are handed to `other`, which returns
    /// false for keys it does not know either (they are reported with `valid` listed).
    pub(crate) fn from_meta(
        args: Vec<MetaArg>,
        valid: &[&str],
        cx: &mut Ctxt,
        mut other: impl FnMut(&MetaArg, &mut Ctxt) -> bool,
    ) -> CheckArgs {
        let mut out = CheckArgs {
            name: None,
            timeout_ms: None,
            degraded_ms: None,
            critical: false,
            probes: Vec::new(),
            interval_ms: None,
            failure_threshold: None,
            success_threshold: None,
            breaker_threshold: None,
            backoff_ms: None,
            max_backoff_ms: None,
            no_breaker: None,
        };
        let mut seen = SeenKeys::new();
        // Keys given with a value that failed to parse: contradictions are not checked against
        // the default they would otherwise fall back to.
        let mut invalid = HashSet::new();
        for (position, arg) in args.into_iter().enumerate() {
            let key = arg.name();
            if valid.contains(&key.as_str()) && !seen.first(&arg.key, cx) {
                continue;
            }
            let number = |slot: &mut Option<At<u64>>, cx: &mut Ctxt, invalid: &mut HashSet<_>| {
                let example = example_for(&key);
                let parsed = value_of(&arg, &format!("{key} = {example}"), cx)
                    .and_then(|expr| parse_positive(&key, expr, cx).map(|v| (v, expr.span())));
                match parsed {
                    Some((value, span)) => {
                        *slot = Some(At {
                            value,
                            span,
                            key: arg.key.span(),
                            position,
                        })
                    }
                    None => {
                        invalid.insert(key.clone());
                    }
                }
            };
            match key.as_str() {
                "name" => {
                    if let Some(expr) = value_of(&arg, "name = \"database\"", cx) {
                        out.name = parse_name(expr, cx);
                    }
                }
                "timeout_ms" => number(&mut out.timeout_ms, cx, &mut invalid),
                "degraded_ms" => number(&mut out.degraded_ms, cx, &mut invalid),
                "interval_ms" => number(&mut out.interval_ms, cx, &mut invalid),
                "failure_threshold" => number(&mut out.failure_threshold, cx, &mut invalid),
                "success_threshold" => number(&mut out.success_threshold, cx, &mut invalid),
                "breaker_threshold" => number(&mut out.breaker_threshold, cx, &mut invalid),
                "backoff_ms" => number(&mut out.backoff_ms, cx, &mut invalid),
                "max_backoff_ms" => number(&mut out.max_backoff_ms, cx, &mut invalid),
                "critical" => out.critical = flag(&arg, cx),
                "no_breaker" => {
                    if flag(&arg, cx) {
                        out.no_breaker = Some(arg.key.span());
                    }
                }
                "startup" | "live" | "ready" => {
                    if flag(&arg, cx) {
                        out.probes.push(match key.as_str() {
                            "startup" => "startup",
                            "live" => "live",
                            _ => "ready",
                        });
                    }
                }
                _ => {
                    if !other(&arg, cx) {
                        cx.error_spanned_by(
                            &arg.key,
                            suggest::unknown_key("argument", &arg.name(), valid),
                        );
                    }
                }
            }
        }
        out.check_consistency(&invalid, cx);
        out
    }

    /// Rejects values that contradict each other (after parsing, so every key is known).
    fn check_consistency(&self, invalid: &HashSet<String>, cx: &mut Ctxt) {
        // A value to compare against: the given one, or the default unless the key was given
        // with an invalid value (already reported).
        let effective = |given: &Option<At<u64>>, key: &str, default: u64| match given {
            Some(at) => Some((at.value, format!("`{key} = {}`", at.value))),
            None if invalid.contains(key) => None,
            None => Some((default, format!("the default `{key}` ({default})"))),
        };
        let timeout = effective(&self.timeout_ms, "timeout_ms", DEFAULT_TIMEOUT_MS);
        let interval = effective(&self.interval_ms, "interval_ms", DEFAULT_INTERVAL_MS);

        if let (Some(degraded), Some((timeout, which))) = (self.degraded_ms, &timeout) {
            if degraded.value >= *timeout {
                cx.error_at(
                    degraded.span,
                    format!(
                        "`degraded_ms` ({}) must be below {which}: a check slower than its \
                         timeout fails instead of degrading; lower `degraded_ms` or raise `timeout_ms`",
                        degraded.value
                    ),
                );
            }
        }

        if let (Some((timeout, timeout_text)), Some((interval, interval_text))) =
            (&timeout, &interval)
        {
            if timeout > interval {
                // Point at whichever of the two the user wrote, preferring the timeout.
                let (span, fix) = match (self.timeout_ms, self.interval_ms) {
                    (Some(at), None) => (
                        at.span,
                        format!("add `interval_ms = {timeout}` or more, or lower `timeout_ms`"),
                    ),
                    (_, Some(at)) => (
                        at.span,
                        format!("raise `interval_ms` to at least {timeout}, or lower `timeout_ms`"),
                    ),
                    (None, None) => unreachable!("the defaults are consistent"),
                };
                cx.error_at(
                    span,
                    format!(
                        "{timeout_text} is longer than {interval_text}: a run could outlast its \
                         interval, so results would arrive late; {fix}"
                    ),
                );
            }
        }

        if self.no_breaker.is_some() {
            let mut given: Vec<(At<u64>, &str)> = [
                (self.breaker_threshold, "breaker_threshold"),
                (self.backoff_ms, "backoff_ms"),
                (self.max_backoff_ms, "max_backoff_ms"),
            ]
            .into_iter()
            .filter_map(|(at, key)| Some((at?, key)))
            .collect();
            given.sort_by_key(|(at, _)| at.position);
            for (at, key) in given {
                cx.error_at(
                    at.key,
                    format!(
                        "`{key}` configures the circuit breaker, which `no_breaker` turns off; \
                         remove `{key}` or `no_breaker`"
                    ),
                );
            }
            return;
        }

        if let Some(breaker) = self.breaker_threshold {
            let failure = effective(
                &self.failure_threshold,
                "failure_threshold",
                DEFAULT_FAILURE_THRESHOLD,
            );
            if let Some((failure, which)) = failure {
                if breaker.value < failure {
                    cx.error_at(
                        breaker.span,
                        format!(
                            "`breaker_threshold` ({}) is below {which}: the circuit would open \
                             while the check is still reported healthy; set `breaker_threshold` \
                             to at least {failure}",
                            breaker.value
                        ),
                    );
                }
            }
        }

        if let Some(max) = self.max_backoff_ms {
            match (self.backoff_ms, &interval) {
                (Some(backoff), _) if max.value < backoff.value => cx.error_at(
                    max.span,
                    format!(
                        "`max_backoff_ms` ({}) is below `backoff_ms = {}`: the back-off can only grow; \
                         raise `max_backoff_ms` to at least {} or lower `backoff_ms`",
                        max.value, backoff.value, backoff.value
                    ),
                ),
                // Without `backoff_ms`, the first back-off is the interval.
                (None, Some((interval, which)))
                    if !invalid.contains("backoff_ms") && max.value < *interval =>
                {
                    cx.error_at(
                        max.span,
                        format!(
                            "`max_backoff_ms` ({}) is below the first back-off: without `backoff_ms`, \
                             the back-off starts at the interval, {which}, and can only grow; \
                             raise `max_backoff_ms` to at least {interval}, or add `backoff_ms = {}` \
                             to start the back-off below the interval",
                            max.value, max.value
                        ),
                    );
                }
                _ => {}
            }
        }
    }

    /// The `CheckSpec` constructor expression for these arguments, running `run`.
    pub(crate) fn spec_expr(&self, root: &Root, name: &str, run: TokenStream) -> TokenStream {
        let p = root.private();
        let mut spec = quote!(#p::CheckSpec::new(#name, #run));
        let setters = [
            ("timeout_ms", self.timeout_ms),
            ("degraded_ms", self.degraded_ms),
            ("interval_ms", self.interval_ms),
        ];
        for (setter, value) in setters {
            if let Some(at) = value {
                let setter = Ident::new(setter, Span::call_site());
                let ms = at.value;
                spec = quote!(#spec.#setter(#ms));
            }
        }
        let counts = [
            ("failure_threshold", self.failure_threshold),
            ("success_threshold", self.success_threshold),
            ("breaker_threshold", self.breaker_threshold),
        ];
        for (setter, value) in counts {
            if let Some(at) = value {
                let setter = Ident::new(setter, Span::call_site());
                let n = at.value as u32;
                spec = quote!(#spec.#setter(#n));
            }
        }
        for (setter, value) in [
            ("backoff_ms", self.backoff_ms),
            ("max_backoff_ms", self.max_backoff_ms),
        ] {
            if let Some(at) = value {
                let setter = Ident::new(setter, Span::call_site());
                let ms = at.value;
                spec = quote!(#spec.#setter(#ms));
            }
        }
        if self.no_breaker.is_some() {
            spec = quote!(#spec.no_breaker());
        }
        if self.critical {
            spec = quote!(#spec.critical(true));
        }
        for probe in &self.probes {
            let variant = Ident::new(
                match *probe {
                    "startup" => "Startup",
                    "live" => "Live",
                    _ => "Ready",
                },
                Span::call_site(),
            );
            spec = quote!(#spec.gates(#p::Probe::#variant));
        }
        spec
    }
}

/// The example value shown in messages about `key`.
fn example_for(key: &str) -> u64 {
    match key {
        "timeout_ms" => 500,
        "degraded_ms" => 100,
        "interval_ms" => 5000,
        "backoff_ms" => 5000,
        "max_backoff_ms" => 60_000,
        "failure_threshold" | "breaker_threshold" => 3,
        _ => 2,
    }
}

/// The value of `key = value`, or an error saying how to write it.
fn value_of<'a>(arg: &'a MetaArg, example: &str, cx: &mut Ctxt) -> Option<&'a Expr> {
    let key = arg.name();
    match &arg.kind {
        MetaKind::Value(expr) => Some(expr),
        MetaKind::Flag => {
            cx.error_spanned_by(&arg.key, format!("`{key}` needs a value, e.g. `{example}`"));
            None
        }
        MetaKind::List(_) => {
            cx.error_spanned_by(
                &arg.key,
                format!("`{key}` takes a value after `=`, e.g. `{example}`"),
            );
            None
        }
    }
}

/// A flag such as `critical`: true when written bare, an error when given a value.
fn flag(arg: &MetaArg, cx: &mut Ctxt) -> bool {
    match &arg.kind {
        MetaKind::Flag => true,
        _ => {
            let key = arg.name();
            let hint = if key == "critical" {
                "write `critical`, or leave it out for a check whose failure only degrades"
                    .to_string()
            } else if key == "no_breaker" {
                "write `no_breaker` to turn the circuit breaker off, or leave it out".to_string()
            } else {
                format!("write `{key}` to make the check gate the {key} probe, or leave it out")
            };
            cx.error_spanned_by(
                &arg.key,
                format!("`{key}` is a flag and takes no value: {hint}"),
            );
            false
        }
    }
}

/// A positive whole number (of milliseconds for `*_ms` keys), from an integer literal.
fn parse_positive(key: &str, expr: &Expr, cx: &mut Ctxt) -> Option<u64> {
    let example = example_for(key);
    let is_ms = key.ends_with("_ms");
    let unit = match key {
        _ if is_ms => "a positive number of milliseconds",
        "breaker_threshold" => {
            "a count of at least 1 (to turn the circuit breaker off, write `no_breaker` instead)"
        }
        _ => "a count of at least 1 (1 turns damping off)",
    };
    let whole = if is_ms {
        "whole milliseconds as an integer"
    } else {
        "a whole number"
    };
    let literal = if is_ms {
        "an integer literal of milliseconds"
    } else {
        "an integer literal"
    };
    match expr {
        Expr::Lit(ExprLit {
            lit: Lit::Int(int), ..
        }) => {
            match int.suffix() {
                "" | "u8" | "u16" | "u32" | "u64" | "u128" | "usize" | "i8" | "i16" | "i32"
                | "i64" | "i128" | "isize" => {}
                "ms" if is_ms => {
                    cx.error_spanned_by(
                        int,
                        format!(
                            "drop the `ms` suffix: `{key}` is already in milliseconds, write `{key} = {}`",
                            int.base10_digits()
                        ),
                    );
                    return None;
                }
                suffix => {
                    cx.error_spanned_by(
                        int,
                        format!(
                            "unexpected suffix `{suffix}`: `{key}` takes {whole}, e.g. `{key} = {example}`"
                        ),
                    );
                    return None;
                }
            }
            let max = if is_ms { u64::MAX } else { u64::from(u32::MAX) };
            match int.base10_parse::<u64>() {
                Ok(0) => {
                    cx.error_spanned_by(
                        int,
                        format!("`{key}` must be {unit}, e.g. `{key} = {example}`"),
                    );
                    None
                }
                Ok(n) if n <= max => Some(n),
                _ => {
                    let bound = if is_ms {
                        "a u64 number of milliseconds"
                    } else {
                        "a u32"
                    };
                    cx.error_spanned_by(
                        int,
                        format!("`{key}` is too large: it must fit in {bound}"),
                    );
                    None
                }
            }
        }
        Expr::Unary(unary) if matches!(unary.op, UnOp::Neg(_)) => {
            cx.error_spanned_by(
                expr,
                format!("`{key}` must be {unit}, not a negative number, e.g. `{key} = {example}`"),
            );
            None
        }
        Expr::Lit(ExprLit {
            lit: Lit::Float(_), ..
        }) => {
            cx.error_spanned_by(
                expr,
                format!("`{key}` takes {whole}, e.g. `{key} = {example}`"),
            );
            None
        }
        Expr::Lit(ExprLit {
            lit: Lit::Str(s), ..
        }) => {
            let msg = match s.value().trim().parse::<u64>() {
                Ok(n) => format!("write the number without quotes: `{key} = {n}`"),
                Err(_) => {
                    format!("`{key}` takes {literal}, not a string, e.g. `{key} = {example}`")
                }
            };
            cx.error_spanned_by(expr, msg);
            None
        }
        _ => {
            cx.error_spanned_by(
                expr,
                format!(
                    "`{key}` takes {literal}, e.g. `{key} = {example}` \
                     (it is checked at compile time, so constants and expressions are not accepted)"
                ),
            );
            None
        }
    }
}

fn parse_name(expr: &Expr, cx: &mut Ctxt) -> Option<String> {
    match expr {
        Expr::Lit(ExprLit {
            lit: Lit::Str(s), ..
        }) => {
            let value = s.value();
            validate_name(&value, s.span(), "", cx).then_some(value)
        }
        Expr::Path(p) if p.path.get_ident().is_some() => {
            let ident = p.path.get_ident().unwrap().unraw();
            cx.error_spanned_by(
                expr,
                format!("`name` takes a string literal: write `name = \"{ident}\"`"),
            );
            None
        }
        _ => {
            cx.error_spanned_by(
                expr,
                "`name` takes a string literal, e.g. `name = \"database\"`",
            );
            None
        }
    }
}

/// Checks that a check name is usable as a URL path segment and a metrics label value:
/// 1 to 63 characters, lowercase ASCII letters, digits, `_` and `-`, starting with a letter.
/// `context` is appended to the message (e.g. how to give an explicit name).
pub(crate) fn validate_name(value: &str, span: Span, context: &str, cx: &mut Ctxt) -> bool {
    let rule = "check names are used in URL paths and metric labels: use 1 to 63 lowercase \
                letters, digits, `_` or `-`, starting with a letter";
    if value.is_empty() {
        cx.error_at(
            span,
            format!("check name must not be empty; {rule}, e.g. `name = \"database\"`{context}"),
        );
        return false;
    }
    let valid = value.len() <= 63
        && value.starts_with(|c: char| c.is_ascii_lowercase())
        && value
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-');
    if !valid {
        let mut fixed: String = value
            .trim()
            .chars()
            .map(|c| match c.to_ascii_lowercase() {
                c @ ('a'..='z' | '0'..='9' | '_' | '-') => c,
                _ => '_',
            })
            .collect();
        fixed = fixed
            .trim_start_matches(|c: char| !c.is_ascii_lowercase())
            .to_string();
        fixed.truncate(63);
        let suggestion = if fixed.is_empty() {
            String::new()
        } else {
            format!(", e.g. `name = \"{fixed}\"`")
        };
        cx.error_at(
            span,
            format!("invalid check name `{value}`: {rule}{suggestion}{context}"),
        );
    }
    valid
}
