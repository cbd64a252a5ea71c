//! How a `#[health_check]` function is found again by `#[health(checks(path))]`.
//!
//! **A free function** (module or block level) registers through a hidden type *named like the
//! function*: types and functions live in different namespaces, so the pair travels together
//! through `use` and paths, and the derive reaches the spec as
//! `<path as RegisteredCheck<State>>::SPEC`. A module or type of the same name in the same
//! scope clashes with it. (A glob import from a hidden module would let the user's item shadow
//! the marker instead, but rustc then prints the hidden module's path in every message about
//! the check, and suggests importing it from there: the clash is the lesser evil. Declaring the
//! implementation inside the type, to make the registration one item, trips the
//! `non_local_definitions` lint.)
//!
//! **An associated function** of the state (`&self`, or a parameter `&Self`) sits in an `impl`,
//! where no type, module or `use` can be declared. It registers through an associated constant,
//! `_health_check_attribute_of_<name>`, which the derive reaches for entries written
//! `Self::name` or `AppState::name`. (Named so that when a listed method lacks the attribute,
//! rustc's "no associated item named `_health_check_attribute_of_database`" says what is
//! missing; the leading `_` keeps it out of rustc's dead-code report, which would otherwise
//! report it together with the unlisted warning, or not at all.) A free function with a state parameter declares a placeholder constant of that
//! name too, valid in both places: when the function is in fact in an `impl` (it names its
//! state type, `&AppState`, so the macro could not tell), the derive finds the placeholder, and
//! the only errors are rustc's about the marker type, which cannot be declared there.
//!
//! Both forms also declare the *unlisted warning*: a function named
//! `<name>_is_not_listed_in_any_health_checks`, called only when the check runs, so that a
//! check no `checks(...)` lists gets rustc's dead-code warning in words that say what is wrong
//! (a proc macro has no stable way to emit a warning of its own).

use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned};
use syn::ext::IdentExt;
use syn::{FnArg, Ident, ItemFn, Type};

/// The function's `#[cfg(...)]` attributes: whatever is emitted beside it exists exactly when
/// it does.
pub(crate) fn cfgs(func: &ItemFn) -> impl Iterator<Item = &syn::Attribute> {
    func.attrs.iter().filter(|a| a.path().is_ident("cfg"))
}

/// Where the function sits, as far as its signature tells.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Site {
    /// A free function: module or block level.
    Free,
    /// An associated function of the state: it takes `&self` or `&Self`.
    Associated,
}

impl Site {
    /// `Associated` when the signature names `self` or `Self` in its first parameter (only an
    /// associated function can); otherwise `Free`. A function in an `impl` that names its state
    /// type instead (`&AppState`) cannot be told apart, and is treated as free.
    pub(crate) fn of(func: &ItemFn) -> Site {
        match func.sig.inputs.first() {
            Some(FnArg::Receiver(_)) => Site::Associated,
            Some(FnArg::Typed(typed)) if mentions_self_type(&typed.ty) => Site::Associated,
            _ => Site::Free,
        }
    }
}

/// Whether `ty` is `Self` or a reference to it.
fn mentions_self_type(ty: &Type) -> bool {
    match ty {
        Type::Reference(r) => mentions_self_type(&r.elem),
        Type::Path(p) => p.qself.is_none() && p.path.is_ident("Self"),
        Type::Paren(p) => mentions_self_type(&p.elem),
        _ => false,
    }
}

/// The associated constant through which an associated function's check is found.
pub(crate) fn spec_const(ident: &Ident) -> Ident {
    format_ident!(
        "_health_check_attribute_of_{}",
        ident.unraw(),
        span = ident.span()
    )
}

/// The function whose dead-code warning says that a check is listed nowhere.
pub(crate) fn unlisted_warning(func: &ItemFn) -> Ident {
    let ident = &func.sig.ident;
    format_ident!(
        "{}_is_not_listed_in_any_health_checks",
        ident.unraw(),
        span = ident.span()
    )
}

/// The function as written, with `const` dropped (rustc rejects `const async fn` too, and the
/// mistake is reported once, in our words) and its own dead-code warning silenced: whether it
/// is registered is what the unlisted warning says.
pub(crate) fn function(func: &ItemFn) -> TokenStream {
    let mut func = func.clone();
    func.sig.constness = None;
    quote! {
        #[allow(dead_code)]
        #func
    }
}

/// The placeholder constant of a free function that takes `&state` (see the module docs):
/// spanned at the attribute, so that rustc's dead-code lint ignores it where it is not used.
pub(crate) fn placeholder(func: &ItemFn, state: Option<&Type>, p: &TokenStream) -> TokenStream {
    let Some(state) = state else {
        return TokenStream::new();
    };
    let vis = &func.vis;
    let mut spec_const = spec_const(&func.sig.ident);
    spec_const.set_span(proc_macro2::Span::call_site());
    let cfgs = cfgs(func);
    quote! {
        #(#cfgs)*
        #[doc(hidden)]
        #[allow(non_upper_case_globals)]
        #vis const #spec_const: #p::CheckSpec<#state> = {
            fn __health_check_run<S>(_: &S) -> #p::BoxFuture<'_, #p::CheckOutcome> {
                ::core::unreachable!("a placeholder is never registered")
            }
            #p::CheckSpec::new("!", __health_check_run::<#state>)
        };
    }
}

/// The unlisted warning: an empty function beside the check, called from its run function.
pub(crate) fn unlisted_warning_fn(func: &ItemFn) -> TokenStream {
    let warning = unlisted_warning(func);
    let cfgs = cfgs(func);
    quote_spanned! {func.sig.ident.span()=>
        #(#cfgs)*
        #[doc(hidden)]
        #[inline(always)]
        #[allow(non_snake_case, clippy::missing_const_for_fn)]
        fn #warning() {}
    }
}

/// A free function's marker type, with the function's visibility and `cfg`s, followed by
/// `registration` (its `RegisteredCheck` implementation) under the same `cfg`s.
pub(crate) fn marker(func: &ItemFn, registration: TokenStream) -> TokenStream {
    let vis = &func.vis;
    // Spanned at the attribute, not at the function's name: rustc's dead-code lint ignores
    // items that come from a macro expansion, so an unused marker says nothing, and the only
    // dead-code warning of an unlisted check is the one that says so (`unlisted_warning`). No
    // `allow(dead_code)` either: it would make the marker a root of the analysis, and keep the
    // unlisted warning from ever firing.
    let mut ident = func.sig.ident.clone();
    ident.set_span(proc_macro2::Span::call_site());
    let cfgs: Vec<_> = cfgs(func).collect();
    quote! {
        #(#cfgs)*
        #[doc(hidden)]
        #[doc = "Registry entry of the `#[health_check]` function of the same name."]
        #[allow(non_camel_case_types, unreachable_pub)]
        #vis enum #ident {}
        #(#cfgs)*
        #registration
    }
}
