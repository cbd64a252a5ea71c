//! Parsing a `#[derive(HealthState)]` input: the container attribute `#[health(checks(...),
//! version = "...", crate = "...")]` and the field attributes `#[health(lifecycle)]` and
//! `#[health(check(...))]`. What concerns one attribute is reported here; rules across fields
//! are in [`super::valid`].

use quote::ToTokens;
use syn::parse::Parser;
use syn::punctuated::Punctuated;
use syn::{Data, DeriveInput, Expr, Fields, Generics, Ident, LitStr, Member, Token, Type};

use crate::args::ast::CheckArgs;
use crate::ctxt::Ctxt;
use crate::keys::{attr_key_names, Site, CONTAINER_KEYS, FIELD_KEYS};
use crate::meta::{parse_meta_list, MetaArg, MetaKind, SeenKeys};
use crate::root::{parse_crate_path, Root};
use crate::suggest;

/// The derive's input, read.
pub(crate) struct Input<'a> {
    pub(crate) ident: &'a Ident,
    pub(crate) generics: &'a Generics,
    pub(crate) container: Container,
    /// The struct's fields; `None` for an enum or a union (reported).
    pub(crate) fields: Option<Vec<Field<'a>>>,
    /// Whether a field attribute was rejected: a missing lifecycle is then not reported on top
    /// (the rejected attribute may be a misspelt `lifecycle`).
    pub(crate) field_errors: bool,
}

/// The struct's `#[health(...)]`.
#[derive(Default)]
pub(crate) struct Container {
    /// `crate = "..."`; the default path when not given or not valid.
    pub(crate) root: Root,
    pub(crate) version: Option<LitStr>,
    /// `checks(...)` paths, in order.
    pub(crate) checks: Vec<syn::Path>,
}

/// A field and its role.
pub(crate) struct Field<'a> {
    pub(crate) member: Member,
    pub(crate) ident: Option<&'a Ident>,
    pub(crate) ty: &'a Type,
    pub(crate) role: Option<Role>,
}

/// What `#[health(...)]` makes of a field.
pub(crate) enum Role {
    /// `#[health(lifecycle)]`; the key's token.
    Lifecycle(Ident),
    /// `#[health(check(...))]`; the key's token and the arguments.
    Check(Ident, CheckArgs),
}

impl<'a> Input<'a> {
    /// Reads the input; every problem is recorded in `cx`.
    pub(crate) fn parse(input: &'a DeriveInput, cx: &mut Ctxt) -> Input<'a> {
        let fields = struct_fields(input, cx);
        let container = container(input, cx);
        let before = cx.count();
        let fields = fields.map(|fields| {
            fields
                .iter()
                .enumerate()
                .map(|(index, field)| parse_field(index, field, &input.ident, cx))
                .collect()
        });
        Input {
            ident: &input.ident,
            generics: &input.generics,
            container,
            fields,
            field_errors: cx.count() > before,
        }
    }
}

/// The fields of a struct; an error for an enum or a union.
fn struct_fields<'a>(input: &'a DeriveInput, cx: &mut Ctxt) -> Option<&'a Fields> {
    let (token, what) = match &input.data {
        Data::Struct(data) => return Some(&data.fields),
        Data::Enum(data) => (data.enum_token.into_token_stream(), "an enum"),
        Data::Union(data) => (data.union_token.into_token_stream(), "a union"),
    };
    cx.error_spanned_by(
        token,
        format!(
            "`#[derive(HealthState)]` goes on a struct: the application state that holds the \
             lifecycle and the checked resources; {what} cannot hold them"
        ),
    );
    None
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

/// The `#[health(...)]` attributes on the struct itself.
fn container(input: &DeriveInput, cx: &mut Ctxt) -> Container {
    let mut out = Container::default();
    let mut seen = SeenKeys::default();
    for attr in input.attrs.iter().filter(|a| a.path().is_ident("health")) {
        let Some(metas) = attr_metas(attr, "#[health(checks(...))]", cx) else {
            continue;
        };
        for meta in metas {
            let known = attr_key_names(CONTAINER_KEYS).contains(&meta.name().as_str());
            // `checks(...)` may be given more than once: the lists are merged (dropping one
            // would unregister its checks).
            let merged = meta.name() == "checks";
            if !known || merged || seen.first(&meta.key, cx) {
                container_key(&meta, &mut out, cx);
            }
        }
    }
    out
}

/// One key of the struct's `#[health(...)]`.
fn container_key(meta: &MetaArg, out: &mut Container, cx: &mut Ctxt) {
    let key = meta.name();
    match (key.as_str(), &meta.kind) {
        ("checks", MetaKind::List(tokens)) => checks(tokens.clone(), &mut out.checks, cx),
        ("checks", _) => cx.error_spanned_by(
            &meta.key,
            "`checks` lists the `#[health_check]` functions in parentheses: \
             `#[health(checks(database, cache))]`",
        ),
        (
            "version",
            MetaKind::Value(Expr::Lit(syn::ExprLit {
                lit: syn::Lit::Str(s),
                ..
            })),
        ) => out.version = version(s, cx),
        ("version", _) => version_error(&meta.key, cx),
        ("crate", MetaKind::Value(expr)) => {
            if let Some(root) = cx.ok(parse_crate_path(expr)) {
                out.root = root;
            }
        }
        ("crate", _) => cx.error_spanned_by(
            &meta.key,
            "`crate` takes the path of the crate re-exporting the runtime as a string, e.g. \
             `crate = \"health_core\"`",
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
            suggest::unknown_key(
                "`#[health(...)]` key",
                &key,
                &attr_key_names(CONTAINER_KEYS),
            ),
        ),
    }
}

/// The paths of `checks(...)`.
fn checks(tokens: proc_macro2::TokenStream, out: &mut Vec<syn::Path>, cx: &mut Ctxt) {
    let parsed = Punctuated::<Expr, Token![,]>::parse_terminated.parse2(tokens);
    for expr in cx.ok(parsed).into_iter().flatten() {
        match expr {
            Expr::Path(p) if p.qself.is_none() => {
                let text = p.path.to_token_stream().to_string();
                if out.iter().any(|c| c.to_token_stream().to_string() == text) {
                    cx.error_spanned_by(
                        &p.path,
                        format!("`{text}` is listed twice in `checks(...)`; remove one"),
                    );
                } else {
                    out.push(p.path);
                }
            }
            Expr::Lit(syn::ExprLit {
                lit: syn::Lit::Str(s),
                ..
            }) => cx.error_spanned_by(
                &s,
                format!(
                    "list check functions by path, without quotes: `checks({})`",
                    s.value()
                ),
            ),
            other => cx.error_spanned_by(
                other,
                "expected the path of a `#[health_check]` function, e.g. \
                 `checks(database, probes::cache)`",
            ),
        }
    }
}

/// `version = "..."`: a string that is not blank.
fn version(s: &LitStr, cx: &mut Ctxt) -> Option<LitStr> {
    if s.value().trim().is_empty() {
        cx.error_spanned_by(
            s,
            "`version` must not be empty; leave it out to report the crate's version",
        );
        return None;
    }
    Some(s.clone())
}

fn version_error(tokens: impl ToTokens, cx: &mut Ctxt) {
    cx.error_spanned_by(
        tokens,
        "`version` takes a string, e.g. `#[health(version = \"1.4.2\")]`; leave it out to report \
         the crate's version",
    );
}

/// A field and the role its `#[health(...)]` attributes give it.
fn parse_field<'a>(index: usize, field: &'a syn::Field, state: &Ident, cx: &mut Ctxt) -> Field<'a> {
    let member = match &field.ident {
        Some(ident) => Member::Named(ident.clone()),
        None => Member::Unnamed(index.into()),
    };
    let mut role_key: Option<Ident> = None;
    let mut role = None;
    for attr in field.attrs.iter().filter(|a| a.path().is_ident("health")) {
        let example = "#[health(lifecycle)]` or `#[health(check(...))]";
        for meta in attr_metas(attr, example, cx).into_iter().flatten() {
            if one_role(&meta, &mut role_key, cx) {
                role = field_key(meta, state, cx).or(role);
            }
        }
    }
    Field {
        member,
        ident: field.ident.as_ref(),
        ty: &field.ty,
        role,
    }
}

/// Whether `meta` may be read: a field has at most one role, given once.
fn one_role(meta: &MetaArg, role_key: &mut Option<Ident>, cx: &mut Ctxt) -> bool {
    let key = meta.name();
    if !attr_key_names(FIELD_KEYS).contains(&key.as_str()) {
        return true;
    }
    let Some(first) = role_key else {
        *role_key = Some(meta.key.clone());
        return true;
    };
    let msg = if *first == meta.key {
        format!("`{key}` is given twice on this field; keep only one")
    } else {
        format!("a field is either the lifecycle or a check, not both: remove `{first}` or `{key}`")
    };
    cx.error_spanned_by(&meta.key, msg);
    false
}

/// One key of a field's `#[health(...)]`: the role it gives, if any.
fn field_key(meta: MetaArg, state: &Ident, cx: &mut Ctxt) -> Option<Role> {
    let key = meta.name();
    match key.as_str() {
        "lifecycle" if matches!(meta.kind, MetaKind::Flag) => Some(Role::Lifecycle(meta.key)),
        "lifecycle" => {
            cx.error_spanned_by(
                &meta.key,
                "`lifecycle` takes no arguments: write `#[health(lifecycle)]`",
            );
            None
        }
        "check" => field_check(meta, cx),
        "checks" | "version" | "crate" => {
            cx.error_spanned_by(
                &meta.key,
                format!(
                    "`{key}` belongs on the struct, not on a field: move it to \
                     `#[health({key} ...)]` above `struct {state}`"
                ),
            );
            None
        }
        _ => {
            let valid = attr_key_names(FIELD_KEYS);
            cx.error_spanned_by(
                &meta.key,
                suggest::unknown_key("field attribute", &key, &valid),
            );
            None
        }
    }
}

/// `#[health(check)]` or `#[health(check(...))]`: the check arguments.
fn field_check(meta: MetaArg, cx: &mut Ctxt) -> Option<Role> {
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
    let args = CheckArgs::parse(metas, Site::Field, cx);
    Some(Role::Check(meta.key, args))
}
