//! What both macros emit when the input has errors: the user's item as written, every error as
//! a `compile_error!`, and an implementation that never runs but keeps the rest of the crate
//! type-checking, so that one mistake is reported once (not again at each use of the state or
//! the check). The implementation is reached through the crate path the user gave.

use proc_macro2::TokenStream;
use quote::quote;
use syn::ItemFn;

use crate::marker::{cfgs, marker};
use crate::root::Root;

/// An item that could not be read at all: the item, unchanged, and the errors.
pub(crate) fn unparsed(item: TokenStream, errors: syn::Result<()>) -> TokenStream {
    let errors = errors.err().map(|e| e.to_compile_error());
    quote!(#item #errors)
}

/// `#[health_check]` on error: the function, and its registration for every state with a spec
/// that is never run, so a `#[health(checks(...))]` naming it adds no second error. A function
/// with a `self` receiver sits in an `impl` or trait, where no type can be declared: there,
/// only the function and the errors.
pub(crate) fn check(func: &ItemFn, root: &Root, name: &str, errors: syn::Error) -> TokenStream {
    let errors = errors.to_compile_error();
    // `const async fn` is rejected by rustc too: emit the function without `const`, so the
    // mistake is reported once, in our words.
    let mut func = func.clone();
    func.sig.constness = None;
    let func = &func;
    if func.sig.receiver().is_some() {
        return quote!(#func #errors);
    }
    let p = root.private();
    let ident = &func.sig.ident;
    let marker = marker(func);
    // A name no check can have (`!` breaks the name rule), which the derive's duplicate-name
    // check skips: the check's own name may be the error, and must not clash a second time.
    let name = format!("!{name}");
    let cfgs = cfgs(func);
    quote! {
        #func
        #marker
        #(#cfgs)*
        #[automatically_derived]
        impl<S> #p::RegisteredCheck<S> for #ident {
            const SPEC: #p::CheckSpec<S> = {
                fn __health_check_run<S>(_: &S) -> #p::BoxFuture<'_, #p::CheckOutcome> {
                    ::core::unreachable!("this check failed to compile")
                }
                #p::CheckSpec::new(#name, __health_check_run::<S>)
            };
        }
        #errors
    }
}

/// `#[derive(HealthState)]` on error: an implementation without checks (so
/// `AppState::health_router()` adds no second error), unless the struct is generic (the error
/// says why it cannot be), and the errors. A derive cannot re-emit its item: it stays as written.
pub(crate) fn state(
    ident: &syn::Ident,
    generics: &syn::Generics,
    root: &Root,
    errors: syn::Error,
) -> TokenStream {
    let errors = errors.to_compile_error();
    if !generics.params.is_empty() {
        return errors;
    }
    let p = root.private();
    quote! {
        #[automatically_derived]
        impl #p::HealthState for #ident {
            const CHECKS: &'static [#p::CheckSpec<Self>] = &[];
            const VERSION: &'static ::core::primitive::str = "";
            fn lifecycle(&self) -> &#p::Lifecycle {
                ::core::unreachable!("#[derive(HealthState)] failed to compile")
            }
        }
        #errors
    }
}
