//! Parsing and validation of the check arguments shared by `#[health_check(...)]` and the field
//! attribute `#[health(check(...))]`: name, timeout_ms, degraded_ms, critical, startup, live, ready.

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

/// Timeout applied when `timeout_ms` is absent; must match `health_core::DEFAULT_TIMEOUT_MS`.
pub(crate) const DEFAULT_TIMEOUT_MS: u64 = 1000;

/// The keys a check accepts.
pub(crate) const CHECK_KEYS: &[&str] = &[
    "name",
    "timeout_ms",
    "degraded_ms",
    "critical",
    "startup",
    "live",
    "ready",
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

/// Validated check arguments.
pub(crate) struct CheckArgs {
    pub(crate) name: Option<String>,
    pub(crate) timeout_ms: Option<u64>,
    pub(crate) degraded_ms: Option<u64>,
    pub(crate) critical: bool,
    pub(crate) probes: Vec<&'static str>,
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
        };
        let mut seen = SeenKeys::new();
        let mut degraded_span = None;
        let mut timeout_given = false;
        for arg in args {
            let key = arg.name();
            if valid.contains(&key.as_str()) && !seen.first(&arg.key, cx) {
                continue;
            }
            match key.as_str() {
                "name" => {
                    if let Some(expr) = value_of(&arg, "name = \"database\"", cx) {
                        out.name = parse_name(expr, cx);
                    }
                }
                "timeout_ms" => {
                    timeout_given = true;
                    if let Some(expr) = value_of(&arg, "timeout_ms = 500", cx) {
                        out.timeout_ms = parse_ms("timeout_ms", expr, cx);
                    }
                }
                "degraded_ms" => {
                    if let Some(expr) = value_of(&arg, "degraded_ms = 100", cx) {
                        degraded_span = Some(expr.span());
                        out.degraded_ms = parse_ms("degraded_ms", expr, cx);
                    }
                }
                "critical" => out.critical = flag(&arg, cx),
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
        if let (Some(degraded), Some(span)) = (out.degraded_ms, degraded_span) {
            let timeout = out.timeout_ms.unwrap_or(DEFAULT_TIMEOUT_MS);
            // Only compare against a timeout that was valid (or defaulted).
            if (out.timeout_ms.is_some() || !timeout_given) && degraded >= timeout {
                let which = if out.timeout_ms.is_some() {
                    format!("timeout_ms = {timeout}")
                } else {
                    format!("the default timeout of {timeout} ms")
                };
                cx.error_at(
                    span,
                    format!(
                        "`degraded_ms` ({degraded}) must be below {which}: a check slower than its \
                         timeout fails instead of degrading; lower `degraded_ms` or raise `timeout_ms`"
                    ),
                );
            }
        }
        out
    }
}

impl CheckArgs {
    /// The `CheckSpec` constructor expression for these arguments, running `run`.
    pub(crate) fn spec_expr(&self, root: &Root, name: &str, run: TokenStream) -> TokenStream {
        let p = root.private();
        let mut spec = quote!(#p::CheckSpec::new(#name, #run));
        if let Some(ms) = self.timeout_ms {
            spec = quote!(#spec.timeout_ms(#ms));
        }
        if let Some(ms) = self.degraded_ms {
            spec = quote!(#spec.degraded_ms(#ms));
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

/// A positive whole number of milliseconds, from an integer literal.
fn parse_ms(key: &str, expr: &Expr, cx: &mut Ctxt) -> Option<u64> {
    let example = if key == "timeout_ms" { 500 } else { 100 };
    match expr {
        Expr::Lit(ExprLit {
            lit: Lit::Int(int), ..
        }) => {
            match int.suffix() {
                "" | "u8" | "u16" | "u32" | "u64" | "u128" | "usize" | "i8" | "i16" | "i32"
                | "i64" | "i128" | "isize" => {}
                "ms" => {
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
                            "unexpected suffix `{suffix}`: `{key}` is a whole number of milliseconds, e.g. `{key} = {example}`"
                        ),
                    );
                    return None;
                }
            }
            match int.base10_parse::<u64>() {
                Ok(0) => {
                    cx.error_spanned_by(
                        int,
                        format!(
                            "`{key}` must be a positive number of milliseconds, e.g. `{key} = {example}`"
                        ),
                    );
                    None
                }
                Ok(ms) => Some(ms),
                Err(_) => {
                    cx.error_spanned_by(
                        int,
                        format!(
                            "`{key}` is too large: it must fit in a u64 number of milliseconds"
                        ),
                    );
                    None
                }
            }
        }
        Expr::Unary(unary) if matches!(unary.op, UnOp::Neg(_)) => {
            cx.error_spanned_by(
                expr,
                format!(
                    "`{key}` must be a positive number of milliseconds, not a negative one, e.g. `{key} = {example}`"
                ),
            );
            None
        }
        Expr::Lit(ExprLit {
            lit: Lit::Float(_), ..
        }) => {
            cx.error_spanned_by(
                expr,
                format!("`{key}` takes whole milliseconds as an integer, e.g. `{key} = {example}`"),
            );
            None
        }
        Expr::Lit(ExprLit {
            lit: Lit::Str(s), ..
        }) => {
            let msg = match s.value().trim().parse::<u64>() {
                Ok(n) => format!("write the number without quotes: `{key} = {n}`"),
                Err(_) => format!(
                    "`{key}` takes an integer literal of milliseconds, not a string, e.g. `{key} = {example}`"
                ),
            };
            cx.error_spanned_by(expr, msg);
            None
        }
        _ => {
            cx.error_spanned_by(
                expr,
                format!(
                    "`{key}` takes an integer literal of milliseconds, e.g. `{key} = {example}` \
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
