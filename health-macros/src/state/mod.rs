//! `#[derive(HealthState)]`: parse the struct and its `#[health(...)]` attributes ([`ast`]),
//! check them together ([`valid`]), then expand into the compile-time check table, the
//! lifecycle accessor and a compile-time duplicate-name check ([`expand`]), each field check
//! bound through the trait its type's shape calls for ([`route`]); on any error, an
//! implementation without checks and every error ([`crate::fallback`]).

mod ast;
mod expand;
mod route;
mod valid;

use proc_macro2::TokenStream;

use crate::ctxt::Ctxt;
use crate::fallback;

/// The expansion of `#[derive(HealthState)]` on `input`.
pub(crate) fn derive(input: &syn::DeriveInput) -> TokenStream {
    let mut cx = Ctxt::default();
    let ast = ast::Input::parse(input, &mut cx);
    let state = valid::check(&ast, &mut cx);
    match (cx.check(), state) {
        (Ok(()), Some(state)) => expand::expand(&state),
        (Err(errors), _) => fallback::state(ast.ident, ast.generics, &ast.container.root, errors),
        (Ok(()), None) => unreachable!("an input that cannot be expanded has errors"),
    }
}
