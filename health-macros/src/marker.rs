//! The hidden type a `#[health_check]` function registers through: a type named like the
//! function, so that `#[health(checks(path))]` finds the check by the function's own path. Both
//! the expansion and the fallback emit it.

use proc_macro2::TokenStream;
use quote::quote;
use syn::ItemFn;

/// The function's `#[cfg(...)]` attributes: whatever is emitted beside it exists exactly when
/// it does.
pub(crate) fn cfgs(func: &ItemFn) -> impl Iterator<Item = &syn::Attribute> {
    func.attrs.iter().filter(|a| a.path().is_ident("cfg"))
}

/// The hidden type that carries the registration, named like the function.
pub(crate) fn marker(func: &ItemFn) -> TokenStream {
    let vis = &func.vis;
    let ident = &func.sig.ident;
    let cfgs = cfgs(func);
    quote! {
        #(#cfgs)*
        #[doc(hidden)]
        #[doc = "Registry entry of the `#[health_check]` function of the same name."]
        #[allow(non_camel_case_types, dead_code, unreachable_pub)]
        #vis enum #ident {}
    }
}
