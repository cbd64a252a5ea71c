//! `#[derive(HealthState)]`: parse the struct and its `#[health(...)]` attributes, validate them
//! together, then expand into the compile-time check table, the lifecycle accessor and a
//! compile-time duplicate-name check.

mod attr;
mod expand;

use proc_macro2::TokenStream;

use crate::ctxt::Ctxt;

pub(crate) fn derive(input: syn::DeriveInput) -> TokenStream {
    let mut cx = Ctxt::default();
    let state = attr::State::from_ast(&input, &mut cx);
    match state {
        Some(state) if !cx.has_errors() => expand::expand(&state),
        _ => {
            let mut out = expand::fallback(&input);
            out.extend(cx.into_compile_errors());
            out
        }
    }
}
