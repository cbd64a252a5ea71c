//! `#[health_check(...)]`: parse the function and its arguments ([`ast`]), check them
//! ([`valid`]), then register the function ([`expand`]); on any error, emit the function, a
//! registration that keeps the rest of the crate compiling, and every error
//! ([`crate::fallback`]).

mod ast;
mod expand;
mod valid;

use proc_macro2::TokenStream;

use crate::ctxt::Ctxt;
use crate::fallback;

/// The expansion of `#[health_check(args)] item`.
pub(crate) fn health_check(args: TokenStream, item: TokenStream) -> TokenStream {
    let mut cx = Ctxt::default();
    let Some(input) = ast::Input::parse(args, item.clone(), &mut cx) else {
        return fallback::unparsed(item, cx.check());
    };
    let name = valid::check(&input, &mut cx);
    let root = input.args.root.clone().unwrap_or_default();
    match cx.check() {
        Ok(()) => expand::register(&input, &root, &name),
        Err(errors) => fallback::check(&input.func, &root, &name, errors),
    }
}
