//! Code generation for `#[derive(HealthState)]`: the `HealthState` implementation (the
//! compile-time check table, the version, the lifecycle accessor) and a compile-time check that
//! the check names are distinct.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned, ToTokens};
use syn::spanned::Spanned;

use crate::args::expand::spec_expr;

use super::valid::{FieldCheck, State};

/// The implementation and the name check.
pub(crate) fn expand(state: &State) -> TokenStream {
    let p = state.root.private();
    let ident = state.ident;
    let fn_entries = state.fn_checks.iter().map(|path| fn_entry(path, ident, &p));
    let field_entries = state
        .field_checks
        .iter()
        .map(|check| field_entry(state, check));
    let version = version(state);
    let lifecycle_ty = state.lifecycle.ty;
    let lifecycle_member = state.lifecycle.member;
    let lifecycle = quote_spanned! {lifecycle_ty.span()=>
        <#lifecycle_ty as #p::AsLifecycle>::as_lifecycle(&self.#lifecycle_member)
    };
    let unique_names = unique_names(state);
    quote! {
        #[automatically_derived]
        impl #p::HealthState for #ident {
            const CHECKS: &'static [#p::CheckSpec<Self>] = &[
                #(#fn_entries,)*
                #(#field_entries,)*
            ];
            const VERSION: &'static ::core::primitive::str = #version;
            fn lifecycle(&self) -> &#p::Lifecycle {
                #lifecycle
            }
        }
        #unique_names
    }
}

/// The spec of a `checks(...)` entry. A free function is reached through its marker type; an
/// associated function of this state (`Self::name`, `AppState::name`, `crate::AppState::name`)
/// through its associated constant (see `crate::marker`).
fn fn_entry(path: &syn::Path, ident: &syn::Ident, p: &TokenStream) -> TokenStream {
    let segments = &path.segments;
    let owner = segments.len().checked_sub(2).map(|i| &segments[i].ident);
    let associated = owner.is_some_and(|owner| owner == "Self" || owner == ident);
    match segments.last() {
        Some(last) if associated && path.segments.iter().all(|s| s.arguments.is_none()) => {
            let spec_const = crate::marker::spec_const(&last.ident);
            // `<Owner>::name`: the brackets make the owner a type, so that a module spelled
            // like the state (`checks::AppState::database`) is an error, not a placeholder.
            let owner = segments.iter().take(segments.len() - 1);
            let colon = path.leading_colon;
            quote_spanned! {path.span()=>
                <#colon #(#owner)::*>::#spec_const
            }
        }
        _ => quote_spanned! {path.span()=>
            <#path as #p::RegisteredCheck<#ident>>::SPEC
        },
    }
}

/// The spec of a field check: a function that runs the field's `HealthCheck::check` and boxes
/// its future for the table.
///
/// The field is passed through a generic `field_check` whose one bound is the route's trait
/// (`HealthCheck` itself, or a trait of `__private` that implies it and whose message fits the
/// type's shape; see `route.rs`). The type's one obligation is that bound, so a type that is not
/// a check is reported once, in the route's words, under the field's type, and the body may
/// rely on it. Calling `<Type as HealthCheck>::check` on the field directly would be reported
/// twice for a type such as `Vec<u8>`: once for the path, once more for the future it returns
/// (an associated type of an impl that does not exist).
fn field_entry(state: &State, check: &FieldCheck) -> TokenStream {
    let p = state.root.private();
    let ident = state.ident;
    let member = check.member;
    let ty = check.ty;
    let bound = check.route.bound(&p);
    let call = quote_spanned! {ty.span()=>
        field_check::<#ty>(&state.#member)
    };
    let spec = spec_expr(
        check.args,
        state.root,
        &check.name,
        quote!(__health_field_check),
    );
    quote! {{
        fn __health_field_check(state: &#ident) -> #p::BoxFuture<'_, #p::CheckOutcome> {
            fn field_check<T: #bound + ?::core::marker::Sized>(
                field: &T,
            ) -> #p::BoxFuture<'_, #p::CheckOutcome> {
                #p::Box::pin(#p::HealthCheck::check(field))
            }
            #call
        }
        #spec
    }}
}

/// `version = "..."`, else the crate's version as Cargo gives it.
fn version(state: &State) -> TokenStream {
    match state.version {
        Some(v) => v.to_token_stream(),
        None => quote! {
            match ::core::option_env!("CARGO_PKG_VERSION") {
                ::core::option::Option::Some(version) => version,
                ::core::option::Option::None => "unknown",
            }
        },
    }
}

/// Duplicate names are rejected at compile time. Function checks carry their names in their own
/// attribute, out of the derive's sight, so the comparison runs in const evaluation; each check's
/// assertion is spanned on its entry, so the error points at the second of two equal names.
fn unique_names(state: &State) -> TokenStream {
    let count = state.fn_checks.len() + state.field_checks.len();
    if count < 2 {
        return TokenStream::new();
    }
    let p = state.root.private();
    let ident = state.ident;
    let spans = state
        .fn_checks
        .iter()
        .map(Spanned::span)
        .chain(state.field_checks.iter().map(|c| c.span));
    let prefix = format!("two health checks of `{ident}` are named \"");
    let suffixes: Vec<String> = (0..count)
        .map(|index| duplicate_fix(state, index))
        .collect();
    let asserts = spans.enumerate().skip(1).map(|(index, span)| {
        let suffix = &suffixes[index];
        quote_spanned! {span=>
            const _: () = if #p::name_taken(&NAMES, #index) {
                ::core::panic!("{}", #p::ConstMessage::concat(&[#prefix, NAMES[#index], #suffix]).as_str())
            };
        }
    });
    let indices = 0..count;
    quote! {
        const _: () = {
            const NAMES: [&::core::primitive::str; #count] = [
                #(<#ident as #p::HealthState>::CHECKS[#indices].name(),)*
            ];
            #(#asserts)*
        };
    }
}

/// What a clash of the check at `index` with an earlier one asks of the user. Two entries of
/// `checks(...)` ending in the same function name are most likely one function listed twice,
/// through two paths: the fix is to remove one entry, not to rename anything.
fn duplicate_fix(state: &State, index: usize) -> String {
    let last = |path: &syn::Path| path.segments.last().map(|s| s.ident.to_string());
    let same_fn = state.fn_checks.get(index).and_then(|path| {
        let name = last(path)?;
        let earlier = state.fn_checks[..index]
            .iter()
            .find(|other| last(other).as_ref() == Some(&name))?;
        Some((
            crate::tokens::compact(earlier.to_token_stream()),
            crate::tokens::compact(path.to_token_stream()),
        ))
    });
    match same_fn {
        Some((earlier, here)) => format!(
            "\": `{earlier}` and `{here}` in `checks(...)` are the same function listed twice; \
             remove one of the two entries (if they are two functions, give one a distinct \
             `name = \"...\"`)"
        ),
        None => "\"; give each check a distinct `name = \"...\"`".to_string(),
    }
}
