//! Reading a `#[derive(HealthState)]` input: the container attribute `#[health(checks(...),
//! version = "...", crate = "...")]` and the field attributes `#[health(lifecycle)]` and
//! `#[health(check(...))]`. Every problem is recorded in the [`Ctxt`], so all are reported at once.

use proc_macro2::Span;
use quote::ToTokens;
use syn::parse::Parser;
use syn::punctuated::Punctuated;
use syn::{Data, DeriveInput, Expr, Fields, Ident, LitStr, Member, Token, Type};

use crate::args::{
    parse_meta_list, validate_name, CheckArgs, MetaArg, MetaKind, SeenKeys, CHECK_KEYS,
};
use crate::ctxt::Ctxt;
use crate::root::{parse_crate_path, Root};
use crate::suggest;

const CONTAINER_KEYS: &[&str] = &["checks", "version", "crate"];
const FIELD_KEYS: &[&str] = &["lifecycle", "check"];

/// The validated input of the derive.
pub(crate) struct State<'a> {
    pub(crate) ident: &'a Ident,
    pub(crate) root: Root,
    pub(crate) version: Option<LitStr>,
    /// `#[health(checks(...))]` paths, in order.
    pub(crate) fn_checks: Vec<syn::Path>,
    /// Fields marked `#[health(check(...))]`, in order.
    pub(crate) field_checks: Vec<FieldCheck<'a>>,
    pub(crate) lifecycle: LifecycleField<'a>,
}

pub(crate) struct FieldCheck<'a> {
    pub(crate) member: Member,
    pub(crate) ty: &'a Type,
    pub(crate) name: String,
    pub(crate) args: CheckArgs,
    pub(crate) span: Span,
}

pub(crate) struct LifecycleField<'a> {
    pub(crate) member: Member,
    pub(crate) ty: &'a Type,
}

impl<'a> State<'a> {
    pub(crate) fn from_ast(input: &'a DeriveInput, cx: &mut Ctxt) -> Option<State<'a>> {
        let fields = match &input.data {
            Data::Struct(data) => Some(&data.fields),
            Data::Enum(data) => {
                cx.error_spanned_by(
                    data.enum_token,
                    "`#[derive(HealthState)]` goes on a struct: the application state that holds the \
                     lifecycle and the checked resources; an enum cannot hold them",
                );
                None
            }
            Data::Union(data) => {
                cx.error_spanned_by(
                    data.union_token,
                    "`#[derive(HealthState)]` goes on a struct: the application state that holds the \
                     lifecycle and the checked resources; a union cannot hold them",
                );
                None
            }
        };
        if !input.generics.params.is_empty() {
            cx.error_spanned_by(
                &input.generics,
                "`#[derive(HealthState)]` does not support generic structs: the check registry is a \
                 compile-time table for one concrete state type; remove the generic parameters \
                 (e.g. store `sqlx::PgPool` rather than a type parameter)",
            );
        }

        let (root, version, fn_checks) = container(input, cx);

        let mut lifecycle: Option<(LifecycleField, Ident)> = None;
        let mut field_checks = Vec::new();
        let errors_before_fields = cx.count();
        for (index, field) in fields.into_iter().flat_map(Fields::iter).enumerate() {
            let member = match &field.ident {
                Some(ident) => Member::Named(ident.clone()),
                None => Member::Unnamed(index.into()),
            };
            let mut role_key: Option<Ident> = None;
            for attr in field.attrs.iter().filter(|a| a.path().is_ident("health")) {
                let Some(metas) =
                    attr_metas(attr, "#[health(lifecycle)]` or `#[health(check(...))]", cx)
                else {
                    continue;
                };
                for meta in metas {
                    let key = meta.name();
                    if FIELD_KEYS.contains(&key.as_str()) {
                        if let Some(first) = &role_key {
                            let msg = if *first == meta.key {
                                format!("`{key}` is given twice on this field; keep only one")
                            } else {
                                format!(
                                    "a field is either the lifecycle or a check, not both: remove `{}` or `{key}`",
                                    first
                                )
                            };
                            cx.error_spanned_by(&meta.key, msg);
                            continue;
                        }
                        role_key = Some(meta.key.clone());
                    }
                    match key.as_str() {
                        "lifecycle" => {
                            if !matches!(meta.kind, MetaKind::Flag) {
                                cx.error_spanned_by(
                                    &meta.key,
                                    "`lifecycle` takes no arguments: write `#[health(lifecycle)]`",
                                );
                            } else if let Some((_, first)) = &lifecycle {
                                cx.error_spanned_by(
                                    &meta.key,
                                    format!(
                                        "only one field can be `#[health(lifecycle)]`, and `{first}` already is; \
                                         remove this one (clones of one `Lifecycle` share its phase)"
                                    ),
                                );
                            } else {
                                lifecycle = Some((
                                    LifecycleField {
                                        member: member.clone(),
                                        ty: &field.ty,
                                    },
                                    field.ident.clone().unwrap_or_else(|| meta.key.clone()),
                                ));
                            }
                        }
                        "check" => {
                            if let Some(check) = field_check(meta, field, &member, cx) {
                                field_checks.push(check);
                            }
                        }
                        "checks" | "version" | "crate" => cx.error_spanned_by(
                            &meta.key,
                            format!(
                                "`{key}` belongs on the struct, not on a field: move it to `#[health({key} ...)]` above `struct {}`",
                                input.ident
                            ),
                        ),
                        _ => cx.error_spanned_by(
                            &meta.key,
                            suggest::unknown_key("field attribute", &key, FIELD_KEYS),
                        ),
                    }
                }
            }
        }

        // Two field checks are compared here; a function check's name is known only to its own
        // attribute, so clashes with one are caught in const evaluation (see `expand`).
        for (index, check) in field_checks.iter().enumerate() {
            if let Some(first) = field_checks[..index].iter().find(|c| c.name == check.name) {
                let member = |c: &FieldCheck| match &c.member {
                    Member::Named(ident) => syn::ext::IdentExt::unraw(ident).to_string(),
                    Member::Unnamed(index) => index.index.to_string(),
                };
                cx.error_at(
                    check.span,
                    format!(
                        "the field check `{}` has the same check name, \"{}\", as the field check `{}`: \
                         the checks of `{}` must have distinct names; give one of them a distinct name \
                         with `#[health(check(name = \"...\"))]`",
                        member(check),
                        check.name,
                        member(first),
                        input.ident
                    ),
                );
            }
        }

        let lifecycle = match lifecycle {
            Some((field, _)) => Some(field),
            None => {
                // A misspelt field attribute (perhaps `lifecycle` itself) was reported already.
                if fields.is_some() && cx.count() == errors_before_fields {
                    cx.error_spanned_by(
                        &input.ident,
                        "`#[derive(HealthState)]` needs a lifecycle handle: add a field \
                         `#[health(lifecycle)] lifecycle: Lifecycle` (create it with `Lifecycle::new()`)",
                    );
                }
                None
            }
        };

        Some(State {
            ident: &input.ident,
            root,
            version,
            fn_checks,
            field_checks,
            lifecycle: lifecycle?,
        })
    }
}

/// The `#[health(...)]` attributes on the struct itself.
fn container(input: &DeriveInput, cx: &mut Ctxt) -> (Root, Option<LitStr>, Vec<syn::Path>) {
    let mut root = None;
    let mut version = None;
    let mut checks: Vec<syn::Path> = Vec::new();
    let mut seen = SeenKeys::new();
    for attr in input.attrs.iter().filter(|a| a.path().is_ident("health")) {
        let Some(metas) = attr_metas(attr, "#[health(checks(...))]", cx) else {
            continue;
        };
        for meta in metas {
            let key = meta.name();
            if CONTAINER_KEYS.contains(&key.as_str()) && !seen.first(&meta.key, cx) {
                continue;
            }
            match (key.as_str(), &meta.kind) {
                ("checks", MetaKind::List(tokens)) => {
                    let parsed = Punctuated::<Expr, Token![,]>::parse_terminated.parse2(tokens.clone());
                    for expr in cx.ok(parsed).into_iter().flatten() {
                        match expr {
                            Expr::Path(p) if p.qself.is_none() => {
                                let text = p.path.to_token_stream().to_string();
                                if checks.iter().any(|c| c.to_token_stream().to_string() == text) {
                                    cx.error_spanned_by(
                                        &p.path,
                                        format!("`{text}` is listed twice in `checks(...)`; remove one"),
                                    );
                                } else {
                                    checks.push(p.path);
                                }
                            }
                            Expr::Lit(syn::ExprLit { lit: syn::Lit::Str(s), .. }) => cx.error_spanned_by(
                                &s,
                                format!(
                                    "list check functions by path, without quotes: `checks({})`",
                                    s.value()
                                ),
                            ),
                            other => cx.error_spanned_by(
                                other,
                                "expected the path of a `#[health_check]` function, e.g. `checks(database, probes::cache)`",
                            ),
                        }
                    }
                }
                ("checks", _) => cx.error_spanned_by(
                    &meta.key,
                    "`checks` lists the `#[health_check]` functions in parentheses: `#[health(checks(database, cache))]`",
                ),
                ("version", MetaKind::Value(Expr::Lit(syn::ExprLit { lit: syn::Lit::Str(s), .. }))) => {
                    if s.value().trim().is_empty() {
                        cx.error_spanned_by(s, "`version` must not be empty; leave it out to report the crate's version");
                    } else {
                        version = Some(s.clone());
                    }
                }
                ("version", _) => cx.error_spanned_by(
                    &meta.key,
                    "`version` takes a string, e.g. `#[health(version = \"1.4.2\")]`; leave it out to report the crate's version",
                ),
                ("crate", MetaKind::Value(expr)) => root = cx.ok(parse_crate_path(expr)),
                ("crate", _) => cx.error_spanned_by(
                    &meta.key,
                    "`crate` takes the path of the crate re-exporting the runtime as a string, e.g. `crate = \"health_core\"`",
                ),
                ("lifecycle", _) => cx.error_spanned_by(
                    &meta.key,
                    "`lifecycle` is a field attribute: put `#[health(lifecycle)]` on the `Lifecycle` field",
                ),
                ("check", _) => cx.error_spanned_by(
                    &meta.key,
                    "`check` is a field attribute for fields whose type implements `HealthCheck`; \
                     to list `#[health_check]` functions here, write `checks(...)`",
                ),
                _ => cx.error_spanned_by(
                    &meta.key,
                    suggest::unknown_key("`#[health(...)]` key", &key, CONTAINER_KEYS),
                ),
            }
        }
    }
    (root.unwrap_or_default(), version, checks)
}

/// The argument list of `#[health(...)]`, or an error for `#[health]` / `#[health = ...]`.
fn attr_metas(attr: &syn::Attribute, example: &str, cx: &mut Ctxt) -> Option<Vec<MetaArg>> {
    match &attr.meta {
        syn::Meta::List(list) => cx.ok(parse_meta_list(list.tokens.clone())),
        other => {
            cx.error_spanned_by(other, format!("expected `{example}`"));
            None
        }
    }
}

fn field_check<'a>(
    meta: MetaArg,
    field: &'a syn::Field,
    member: &Member,
    cx: &mut Ctxt,
) -> Option<FieldCheck<'a>> {
    let key_span = meta.key.span();
    let metas = match meta.kind {
        MetaKind::List(tokens) => cx.ok(parse_meta_list(tokens))?,
        // `#[health(check)]`: every argument at its default, named after the field.
        MetaKind::Flag => Vec::new(),
        MetaKind::Value(_) => {
            cx.error_spanned_by(
                &meta.key,
                "`check` takes the same arguments as `#[health_check]` in parentheses, e.g. \
                 `#[health(check(name = \"database\", timeout_ms = 500, critical))]`",
            );
            return None;
        }
    };
    let args = CheckArgs::from_meta(metas, CHECK_KEYS, cx, |_, _| false);
    let name = match (&args.name, &field.ident) {
        (Some(name), _) => name.clone(),
        (None, Some(ident)) => {
            let name = syn::ext::IdentExt::unraw(ident).to_string();
            validate_name(
                &name,
                ident.span(),
                "; the name defaults to the field's name: give the check one with `check(name = \"...\")`",
                cx,
            );
            name
        }
        (None, None) => {
            cx.error_spanned_by(
                &meta.key,
                "a check on a tuple field needs a name: `#[health(check(name = \"database\"))]`",
            );
            return None;
        }
    };
    Some(FieldCheck {
        member: member.clone(),
        ty: &field.ty,
        name,
        args,
        span: field.ident.as_ref().map_or(key_span, Ident::span),
    })
}
