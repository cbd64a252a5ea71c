//! Procedural macros of the health-probe framework: `#[health_check]`, `#[derive(HealthState)]`,
//! and the `#[async_trait]` that `health-axum` exports (which leaves an `impl HealthCheck`
//! unchanged). Use them through `health-axum`, which re-exports all three and the runtime they
//! expand to; see that crate's documentation for the whole picture.
//!
//! This crate only parses, validates and emits calls into the runtime (`health-core`); no runtime
//! logic lives here. Each macro reads its input into typed values (`ast` modules), checks the
//! rules between them (`valid` modules), then generates code (`expand` modules). Every rejected
//! input is reported as a `compile_error!` spanned on the offending token, all errors of one
//! input together, and the original item is still emitted, with an implementation that keeps
//! the rest of the crate type-checking (`fallback`). The check keys, their defaults (shared with
//! the runtime through `defaults.rs`) and their documentation come from one table (`keys`).
//! `#[async_trait]` (`async_compat`) reads nothing but the item's shape: it has no rules and no
//! errors of its own.

extern crate proc_macro;

mod args;
mod async_compat;
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

/// `#[async_trait]`, as `health_axum` exports it (at its root and in its prelude).
///
/// `HealthCheck` is a native async trait: implement it with a plain `async fn`, no attribute.
/// This attribute exists so that impls written for earlier versions, when `HealthCheck` was an
/// `#[async_trait]` trait, keep compiling: on an `impl ... HealthCheck for ...` block (a trait
/// path whose last segment is `HealthCheck`) it leaves the impl unchanged; on anything else
/// it is the [`async-trait`](https://docs.rs/async-trait) crate's attribute, with the same
/// arguments.
///
/// ```
/// use health_axum::prelude::*;
///
/// struct Upstream;
///
/// // Written for earlier versions; still compiles (the attribute changes nothing here). New
/// // code leaves the attribute out.
/// #[async_trait]
/// impl HealthCheck for Upstream {
///     async fn check(&self) -> CheckOutcome {
///         CheckOutcome::healthy()
///     }
/// }
///
/// // A trait of your own: the `async-trait` crate's attribute, as before.
/// #[async_trait]
/// trait Ping {
///     async fn ping(&self) -> bool;
/// }
///
/// #[async_trait]
/// impl Ping for Upstream {
///     async fn ping(&self) -> bool {
///         true
///     }
/// }
/// # fn main() {}
/// ```
///
/// The `async-trait` crate's own attribute (`async_trait::async_trait`, also re-exported as
/// `health_core::async_trait`) on an `impl HealthCheck` does not compile (E0195, "lifetime
/// parameters or bounds on method `check` do not match the trait declaration"): remove it.
#[proc_macro_attribute]
pub fn async_trait(args: TokenStream, item: TokenStream) -> TokenStream {
    async_compat::async_trait(args.into(), item.into()).into()
}
