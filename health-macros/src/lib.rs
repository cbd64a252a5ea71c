//! Procedural macros of the health-probe framework: `#[health_check]` and
//! `#[derive(HealthState)]`. Use them through `health-axum`, which re-exports both and the
//! runtime they expand to; see that crate's documentation for the whole picture.
//!
//! This crate only parses, validates and emits calls into the runtime (`health-core`); no runtime
//! logic lives here. Each macro reads its input into typed values (`ast` modules), checks the
//! rules between them (`valid` modules), then generates code (`expand` modules). Every rejected
//! input is reported as a `compile_error!` spanned on the offending token, all errors of one
//! input together, and the original item is still emitted, with an implementation that keeps
//! the rest of the crate type-checking (`fallback`). The check keys, their defaults (shared with
//! the runtime through `defaults.rs`) and their documentation come from one table (`keys`).

extern crate proc_macro;

mod args;
mod check;
mod ctxt;
mod defaults;
mod fallback;
mod keys;
mod marker;
mod meta;
mod name;
mod root;
mod state;
mod suggest;
mod tokens;

use proc_macro::TokenStream;

#[doc = include_str!("../doc/health_check.md")]
#[proc_macro_attribute]
pub fn health_check(args: TokenStream, item: TokenStream) -> TokenStream {
    check::health_check(args.into(), item.into()).into()
}

#[doc = include_str!("../doc/health_state.md")]
#[proc_macro_derive(HealthState, attributes(health))]
pub fn derive_health_state(input: TokenStream) -> TokenStream {
    let input = syn::parse_macro_input!(input as syn::DeriveInput);
    state::derive(&input).into()
}
