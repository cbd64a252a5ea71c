//! What both macros emit when the input has errors: the user's item as written, every error as
//! a `compile_error!`, and an implementation that never runs but keeps the rest of the crate
//! type-checking, so that one mistake is reported once (not again at each use of the state or
//! the check). The implementation is reached through the crate path the user gave.

use proc_macro2::TokenStream;
use quote::quote;
use syn::ItemFn;

use crate::marker::{self, cfgs, Site};
use crate::root::Root;

/// An item that could not be read at all: the item, unchanged, and the errors.
pub(crate) fn unparsed(item: TokenStream, errors: syn::Result<()>) -> TokenStream {
    let errors = errors.err().map(|e| e.to_compile_error());
    quote!(#item #errors)
}

/// `#[health_check]` on error: the function, and its registration for every state with a spec
/// that is never run, so a `#[health(checks(...))]` naming it adds no second error. An
/// associated function (it takes `self` or `Self`) registers through an associated constant of
/// its `impl`, where no type can be declared.
pub(crate) fn check(func: &ItemFn, root: &Root, name: &str, errors: syn::Error) -> TokenStream {
    let errors = errors.to_compile_error();
    let p = root.private();
    let function = marker::function(func);
    // A name no check can have (`!` breaks the name rule), which the derive's duplicate-name
    // check skips: the check's own name may be the error, and must not clash a second time.
    let name = format!("!{name}");
    let cfgs: Vec<_> = cfgs(func).collect();
    let never_run = quote! {
        fn __health_check_run<S>(_: &S) -> #p::BoxFuture<'_, #p::CheckOutcome> {
            ::core::unreachable!("this check failed to compile")
        }
    };
    let registration = match Site::of(func) {
        Site::Associated => {
            let spec_const = marker::spec_const(&func.sig.ident);
            let vis = &func.vis;
            quote! {
                #(#cfgs)*
                #[doc(hidden)]
                #[allow(non_upper_case_globals, dead_code)]
                #vis const #spec_const: #p::CheckSpec<Self> = {
                    #never_run
                    #p::CheckSpec::new(#name, __health_check_run::<Self>)
                };
            }
        }
        Site::Free => {
            let ident = &func.sig.ident;
            marker::marker(
                func,
                quote! {
                    #[automatically_derived]
                    impl<S> #p::RegisteredCheck<S> for #ident {
                        const SPEC: #p::CheckSpec<S> = {
                            #never_run
                            #p::CheckSpec::new(#name, __health_check_run::<S>)
                        };
                    }
                },
            )
        }
    };
    quote! {
        #function
        #registration
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
