//! The rules of `#[derive(HealthState)]` across fields, one function per rule, and the
//! validated state the expansion reads.

use proc_macro2::Span;
use quote::ToTokens;
use syn::ext::IdentExt;
use syn::{Ident, LitStr, Member, Type};

use crate::args::ast::CheckArgs;
use crate::args::valid::check_args;
use crate::ctxt::Ctxt;
use crate::keys::Key;
use crate::name;
use crate::root::Root;

use super::ast::{Field, Input, Role};
use super::route::Route;

/// The validated input of the derive.
pub(crate) struct State<'a> {
    pub(crate) ident: &'a Ident,
    pub(crate) root: &'a Root,
    pub(crate) version: Option<&'a LitStr>,
    /// `#[health(checks(...))]` paths, in order.
    pub(crate) fn_checks: &'a [syn::Path],
    /// Fields marked `#[health(check(...))]`, in order.
    pub(crate) field_checks: Vec<FieldCheck<'a>>,
    pub(crate) lifecycle: LifecycleField<'a>,
}

/// A field registered as a check.
pub(crate) struct FieldCheck<'a> {
    pub(crate) member: &'a Member,
    pub(crate) ty: &'a Type,
    pub(crate) name: String,
    pub(crate) args: &'a CheckArgs,
    /// The bound its type goes through, from the type's shape as written.
    pub(crate) route: Route<'a>,
    /// Where errors about the whole check point: the field's name, or its `check` key.
    pub(crate) span: Span,
}

/// The `#[health(lifecycle)]` field.
pub(crate) struct LifecycleField<'a> {
    pub(crate) member: &'a Member,
    pub(crate) ty: &'a Type,
}

/// Checks every rule; the state to expand when the input is usable (errors may still have been
/// recorded, so the caller checks `cx` too).
pub(crate) fn check<'a>(input: &'a Input<'a>, cx: &mut Ctxt) -> Option<State<'a>> {
    not_generic(input, cx);
    let fields = input.fields.as_deref()?;
    let field_checks = field_checks(fields, cx);
    distinct_field_names(input.ident, &field_checks, cx);
    fields_not_listed(&input.container.checks, &field_checks, cx);
    let lifecycle = one_lifecycle(input, fields, cx)?;
    Some(State {
        ident: input.ident,
        root: &input.container.root,
        version: input.container.version.as_ref(),
        fn_checks: &input.container.checks,
        field_checks,
        lifecycle,
    })
}

/// A `checks(...)` entry that names a field check of the state, named like its field. Most
/// likely the field listed by mistake (its own attribute registers it); if a function of that
/// name is also a check, the two clash on their name. Either way one error says both fixes.
/// (A field that is not a check, or whose check has another name, may share its name with a
/// `#[health_check]` function: `db: PgPool` beside `fn db()` is fine.)
fn fields_not_listed(listed: &[syn::Path], checks: &[FieldCheck<'_>], cx: &mut Ctxt) {
    for path in listed {
        let Some(ident) = path.get_ident() else {
            continue;
        };
        let same = checks.iter().any(|check| {
            matches!(check.member, Member::Named(field) if field == ident) && *ident == check.name
        });
        if same {
            cx.error_spanned_by(
                path,
                format!(
                    "`{ident}` is the field check `{ident}`, which its `#[health(check(...))]` \
                     attribute registers already: remove `{ident}` from `checks(...)`; if \
                     `{ident}` is also a `#[health_check]` function, give it or the field check \
                     a distinct `name = \"...\"`"
                ),
            );
        }
    }
}

fn not_generic(input: &Input, cx: &mut Ctxt) {
    if !input.generics.params.is_empty() {
        cx.error_spanned_by(
            input.generics,
            "`#[derive(HealthState)]` does not support generic structs: the check registry is a \
             compile-time table for one concrete state type; remove the generic parameters \
             (e.g. store `sqlx::PgPool` rather than a type parameter)",
        );
    }
}

/// Every field check: its arguments checked against each other, and its name.
fn field_checks<'a>(fields: &'a [Field<'a>], cx: &mut Ctxt) -> Vec<FieldCheck<'a>> {
    let mut out = Vec::new();
    for field in fields {
        let Some(Role::Check(key, args)) = &field.role else {
            continue;
        };
        check_args(args, cx);
        if let Some(name) = field_check_name(field, key, args, cx) {
            out.push(FieldCheck {
                member: &field.member,
                ty: field.ty,
                name,
                args,
                route: Route::of(field.ty),
                span: field.ident.map_or(key.span(), Ident::span),
            });
        }
    }
    out
}

/// `name = "..."`, else the field's name, which must follow the name rule; a tuple field has
/// no name to lend.
fn field_check_name(field: &Field, key: &Ident, args: &CheckArgs, cx: &mut Ctxt) -> Option<String> {
    if let Some(name) = &args.name {
        return Some(name.clone());
    }
    if args.rejected(Key::Name) {
        // The name's own error said it all; the field's name is no stand-in (it could clash).
        return None;
    }
    let Some(ident) = field.ident else {
        cx.error_spanned_by(
            key,
            "a check on a tuple field needs a name: `#[health(check(name = \"database\"))]`",
        );
        return None;
    };
    let name = ident.unraw().to_string();
    name::validate(
        &name,
        ident.span(),
        "; the name defaults to the field's name: give the check one with \
         `check(name = \"...\")`",
        cx,
    );
    Some(name)
}

/// Two field checks cannot share a name. A function check's name is known only to its own
/// attribute, so clashes with one are caught in const evaluation (see `expand`).
fn distinct_field_names(state: &Ident, checks: &[FieldCheck], cx: &mut Ctxt) {
    let member = |c: &FieldCheck| match c.member {
        Member::Named(ident) => ident.unraw().to_string(),
        Member::Unnamed(index) => index.index.to_string(),
    };
    for (index, check) in checks.iter().enumerate() {
        let Some(first) = checks[..index].iter().find(|c| c.name == check.name) else {
            continue;
        };
        cx.error_at(
            check.span,
            format!(
                "the field check `{}` has the same check name, \"{}\", as the field check `{}`: \
                 the checks of `{state}` must have distinct names; give one of them a distinct \
                 name with `#[health(check(name = \"...\"))]`",
                member(check),
                check.name,
                member(first),
            ),
        );
    }
}

/// No field is marked `#[health(lifecycle)]`: point at an unmarked field of type `Lifecycle` if
/// there is one (the attribute is what is missing), else at the struct.
fn missing_lifecycle(input: &Input, fields: &[Field<'_>], cx: &mut Ctxt) {
    let unmarked = fields
        .iter()
        .find(|field| field.role.is_none() && names_lifecycle(field.ty));
    match unmarked {
        Some(field) => cx.error_spanned_by(
            field.ty,
            format!(
                "`#[derive(HealthState)]` needs its lifecycle field marked: put \
                 `#[health(lifecycle)]` on the field `{}`",
                field.member.to_token_stream()
            ),
        ),
        None => cx.error_spanned_by(
            input.ident,
            "`#[derive(HealthState)]` needs a lifecycle handle: add a field \
             `#[health(lifecycle)] lifecycle: Lifecycle` (create it with `Lifecycle::new()`)",
        ),
    }
}

/// Whether `ty` is written as a path ending in `Lifecycle` (`Lifecycle`,
/// `health_axum::Lifecycle`, `Arc<Lifecycle>`).
fn names_lifecycle(ty: &syn::Type) -> bool {
    let syn::Type::Path(path) = ty else {
        return false;
    };
    let Some(last) = path.path.segments.last() else {
        return false;
    };
    if last.ident == "Lifecycle" {
        return true;
    }
    match &last.arguments {
        syn::PathArguments::AngleBracketed(args) if last.ident == "Arc" => {
            args.args.iter().any(|arg| match arg {
                syn::GenericArgument::Type(inner) => names_lifecycle(inner),
                _ => false,
            })
        }
        _ => false,
    }
}

/// Exactly one `#[health(lifecycle)]` field.
fn one_lifecycle<'a>(
    input: &Input,
    fields: &'a [Field<'a>],
    cx: &mut Ctxt,
) -> Option<LifecycleField<'a>> {
    let mut marked = fields.iter().filter_map(|field| match &field.role {
        Some(Role::Lifecycle(key)) => Some((field, key)),
        _ => None,
    });
    let Some((first, first_key)) = marked.next() else {
        // A rejected field attribute (perhaps a misspelt `lifecycle`) was reported already.
        if !input.field_errors {
            missing_lifecycle(input, fields, cx);
        }
        return None;
    };
    let first_name = first.ident.unwrap_or(first_key);
    for (_, key) in marked {
        cx.error_spanned_by(
            key,
            format!(
                "only one field can be `#[health(lifecycle)]`, and `{first_name}` already is; \
                 remove this one (clones of one `Lifecycle` share its phase)"
            ),
        );
    }
    Some(LifecycleField {
        member: &first.member,
        ty: first.ty,
    })
}
