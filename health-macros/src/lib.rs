//! Procedural macros of the health-probe framework: `#[health_check]` and
//! `#[derive(HealthState)]`. Use them through `health-axum`, which re-exports both and the
//! runtime they expand to; see that crate's documentation for the whole picture.
//!
//! This crate only parses, validates and emits calls into the runtime (`health-core`); no runtime
//! logic lives here. Every rejected input is reported as a `compile_error!` spanned on the
//! offending token, and the original item is still emitted so the rest of the crate keeps
//! type-checking.

extern crate proc_macro;

mod args;
mod check;
mod ctxt;
mod root;
mod state;
mod suggest;

use proc_macro::TokenStream;

/// Registers an `async fn` as a health check.
///
/// ```ignore
/// #[health_check(name = "database", timeout_ms = 500, degraded_ms = 100, critical)]
/// async fn database(state: &AppState) -> Result<(), sqlx::Error> {
///     sqlx::query("SELECT 1").execute(&state.db).await.map(|_| ())
/// }
/// ```
///
/// The function takes no argument or `&State`, and returns `Result<(), E>` with `E: Display`,
/// or `CheckOutcome`. It stays callable as written. List it on the state with
/// `#[health(checks(database))]`.
///
/// Arguments (all optional, each at most once):
/// - `name = "..."`: the check's name in reports and URLs; defaults to the function's name.
///   1 to 63 lowercase letters, digits, `_` or `-`, starting with a letter.
/// - `timeout_ms = N`: the run is abandoned, and the check unhealthy, after N ms (default 1000).
/// - `degraded_ms = N`: a healthy run slower than N ms counts as degraded; below `timeout_ms`.
/// - `critical`: when unhealthy, the probes the check gates fail; otherwise they only degrade.
/// - `startup`, `live`, `ready`: the probes the check gates; readiness when none is named.
/// - `crate = "path"`: where the runtime is reached (default `::health_axum`).
#[proc_macro_attribute]
pub fn health_check(args: TokenStream, item: TokenStream) -> TokenStream {
    check::expand(args.into(), item.into()).into()
}

/// Implements `HealthState` for the application state struct.
///
/// ```ignore
/// #[derive(Clone, HealthState)]
/// #[health(checks(database, cache))]
/// struct AppState {
///     #[health(check(name = "upstream", timeout_ms = 300))]
///     upstream: UpstreamClient,           // a type implementing `HealthCheck`
///     #[health(lifecycle)]
///     lifecycle: Lifecycle,
/// }
/// ```
///
/// Struct attribute `#[health(...)]`: `checks(path, ...)` lists `#[health_check]` functions;
/// `version = "..."` overrides the reported version (default: the crate's `CARGO_PKG_VERSION`);
/// `crate = "path"` overrides where the runtime is reached.
///
/// Field attributes: `#[health(lifecycle)]` on exactly one `Lifecycle` field;
/// `#[health(check(...))]`, with the arguments of `#[health_check]`, on fields whose type
/// implements `HealthCheck`. Check names must be unique within the state; this is checked at
/// compile time.
#[proc_macro_derive(HealthState, attributes(health))]
pub fn derive_health_state(input: TokenStream) -> TokenStream {
    let input = syn::parse_macro_input!(input as syn::DeriveInput);
    state::derive(input).into()
}
