//! Parsing check arguments into typed values. Each value is checked on its own here (a number
//! is a positive integer literal that fits, a name follows the name rule); rules that relate
//! several keys are in [`super::valid`].

use proc_macro2::Span;
use syn::spanned::Spanned;
use syn::{Expr, ExprLit, Lit, LitInt, UnOp};

use crate::ctxt::Ctxt;
use crate::keys::{check_key_names, Key, KeyDef, Kind, Site};
use crate::meta::{MetaArg, MetaKind, SeenKeys};
use crate::root::{parse_crate_path, Root};
use crate::{name, suggest};

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

/// Parsed check arguments.
#[derive(Default)]
pub(crate) struct CheckArgs {
    pub(crate) name: Option<String>,
    /// The numeric keys given, in source order.
    pub(crate) numbers: Vec<(Key, At<u64>)>,
    /// The flags given, in source order, with the span of each.
    pub(crate) flags: Vec<(Key, Span)>,
    /// `crate = "..."`, in `#[health_check]` only.
    pub(crate) root: Option<Root>,
    /// Keys given with a value that was rejected (already reported): rules between keys do not
    /// fall back to their default.
    pub(crate) rejected: Vec<Key>,
}

impl CheckArgs {
    /// The value of a numeric key, if given.
    pub(crate) fn number(&self, key: Key) -> Option<At<u64>> {
        self.numbers
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, at)| *at)
    }

    /// The span of a flag, if given.
    pub(crate) fn flag(&self, key: Key) -> Option<Span> {
        self.flags.iter().find(|(k, _)| *k == key).map(|(_, s)| *s)
    }

    /// Whether `key` was given with a value that was rejected.
    pub(crate) fn rejected(&self, key: Key) -> bool {
        self.rejected.contains(&key)
    }

    /// Reads the arguments accepted at `site`; every problem is recorded in `cx`.
    pub(crate) fn parse(args: Vec<MetaArg>, site: Site, cx: &mut Ctxt) -> CheckArgs {
        let mut out = CheckArgs::default();
        let mut seen = SeenKeys::default();
        for (position, arg) in args.into_iter().enumerate() {
            let name = arg.name();
            let Some(def) = KeyDef::find(&name, site) else {
                let valid = check_key_names(site);
                let msg = suggest::unknown_key("argument", &name, &valid);
                cx.error_spanned_by(&arg.key, msg);
                continue;
            };
            if seen.first(&arg.key, cx) {
                out.read(def, &arg, position, cx);
            }
        }
        out
    }

    /// Reads one argument whose key is `def`.
    fn read(&mut self, def: &'static KeyDef, arg: &MetaArg, position: usize, cx: &mut Ctxt) {
        match def.kind {
            Kind::Flag => {
                if flag(def, arg, cx) {
                    self.flags.push((def.key, arg.key.span()));
                }
            }
            Kind::Name => {
                self.name = value_of(def, arg, cx).and_then(|expr| parse_name(expr, cx));
                if self.name.is_none() {
                    self.rejected.push(def.key);
                }
            }
            Kind::CratePath => {
                self.root = value_of(def, arg, cx).and_then(|expr| cx.ok(parse_crate_path(expr)));
            }
            Kind::Millis | Kind::Count => {
                let parsed = value_of(def, arg, cx).and_then(|expr| {
                    let value = cx.ok(parse_number(def, expr))?;
                    Some(At {
                        value,
                        span: expr.span(),
                        key: arg.key.span(),
                        position,
                    })
                });
                match parsed {
                    Some(at) => self.numbers.push((def.key, at)),
                    None => self.rejected.push(def.key),
                }
            }
        }
    }
}

/// The value of `key = value`, or an error saying how to write it.
fn value_of<'a>(def: &KeyDef, arg: &'a MetaArg, cx: &mut Ctxt) -> Option<&'a Expr> {
    let key = def.name;
    let example = def.example();
    match &arg.kind {
        MetaKind::Value(expr) => return Some(expr),
        MetaKind::Flag | MetaKind::List(_) if def.kind == Kind::CratePath => cx.error_spanned_by(
            &arg.key,
            format!("`{key}` takes {}, e.g. `{example}`", def.rule),
        ),
        MetaKind::Flag => {
            cx.error_spanned_by(&arg.key, format!("`{key}` needs a value, e.g. `{example}`"))
        }
        MetaKind::List(_) => cx.error_spanned_by(
            &arg.key,
            format!("`{key}` takes a value after `=`, e.g. `{example}`"),
        ),
    }
    None
}

/// A flag such as `critical`: true when written bare, an error when given a value.
fn flag(def: &KeyDef, arg: &MetaArg, cx: &mut Ctxt) -> bool {
    if matches!(arg.kind, MetaKind::Flag) {
        return true;
    }
    cx.error_spanned_by(
        &arg.key,
        format!("`{}` is a flag and takes no value: {}", def.name, def.rule),
    );
    false
}

/// A positive whole number (of milliseconds for [`Kind::Millis`]), from an integer literal.
fn parse_number(def: &KeyDef, expr: &Expr) -> syn::Result<u64> {
    let key = def.name;
    let example = def.example();
    let kind = def.kind;
    let msg = match expr {
        Expr::Lit(ExprLit {
            lit: Lit::Int(int), ..
        }) => return parse_int(def, int),
        Expr::Unary(unary) if matches!(unary.op, UnOp::Neg(_)) => {
            format!(
                "`{key}` must be {}, not a negative number, e.g. `{example}`",
                def.rule
            )
        }
        Expr::Lit(ExprLit {
            lit: Lit::Float(_), ..
        }) => format!("`{key}` takes {}, e.g. `{example}`", kind.whole()),
        Expr::Lit(ExprLit {
            lit: Lit::Str(s), ..
        }) => match s.value().trim().parse::<u64>() {
            Ok(n) => format!("write the number without quotes: `{key} = {n}`"),
            Err(_) => format!(
                "`{key}` takes {}, not a string, e.g. `{example}`",
                kind.literal()
            ),
        },
        _ => format!(
            "`{key}` takes {}, e.g. `{example}` (it is checked at compile time, so constants \
             and expressions are not accepted)",
            kind.literal()
        ),
    };
    Err(syn::Error::new_spanned(expr, msg))
}

/// An integer literal: no suffix but an integer type's, at least 1, and within the kind's range.
fn parse_int(def: &KeyDef, int: &LitInt) -> syn::Result<u64> {
    check_suffix(def, int)?;
    let key = def.name;
    let (max, bound) = def.kind.max();
    match int.base10_parse::<u64>() {
        Ok(0) => Err(syn::Error::new_spanned(
            int,
            format!("`{key}` must be {}, e.g. `{}`", def.rule, def.example()),
        )),
        Ok(n) if n <= max => Ok(n),
        _ => Err(syn::Error::new_spanned(
            int,
            format!("`{key}` is too large: it must fit in {bound}"),
        )),
    }
}

/// Rejects a suffix other than an integer type's, with a fix for the likely `500ms`.
fn check_suffix(def: &KeyDef, int: &LitInt) -> syn::Result<()> {
    let key = def.name;
    let msg = match int.suffix() {
        "" | "u8" | "u16" | "u32" | "u64" | "u128" | "usize" | "i8" | "i16" | "i32" | "i64"
        | "i128" | "isize" => return Ok(()),
        "ms" if def.kind == Kind::Millis => format!(
            "drop the `ms` suffix: `{key}` is already in milliseconds, write `{key} = {}`",
            int.base10_digits()
        ),
        suffix => format!(
            "unexpected suffix `{suffix}`: `{key}` takes {}, e.g. `{}`",
            def.kind.whole(),
            def.example()
        ),
    };
    Err(syn::Error::new_spanned(int, msg))
}

/// `name = "..."`: a string literal that follows the name rule.
fn parse_name(expr: &Expr, cx: &mut Ctxt) -> Option<String> {
    match expr {
        Expr::Lit(ExprLit {
            lit: Lit::Str(s), ..
        }) => {
            let value = s.value();
            name::validate(&value, s.span(), "", cx).then_some(value)
        }
        Expr::Path(p) if p.path.get_ident().is_some() => {
            let ident = syn::ext::IdentExt::unraw(p.path.get_ident()?);
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
