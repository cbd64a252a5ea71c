//! Items used by the code the macros generate, re-exported as `__private`. Not public API:
//! names here may change in any release. Generated code names everything through this module,
//! by absolute path, never through what happens to be in scope.

pub use crate::check::HealthCheck;
pub use crate::lifecycle::{AsLifecycle, Lifecycle};
pub use crate::outcome::{CheckOutcome, IntoCheckOutcome};
pub use crate::spec::{BoxFuture, CheckSpec, Probe};
pub use crate::state::HealthState;
/// The `async-trait` crate's attribute, which `health_axum::async_trait` forwards to for
/// anything but an `impl HealthCheck` (that one needs no attribute).
pub use async_trait::async_trait;
pub use std::boxed::Box;

/// The bound of a field check whose type is written `Option<...>`: an `Option` is never a check
/// (what would `None` report?), so the derive routes its bound here to say so and what to do,
/// instead of `HealthCheck`'s message. `Inner` is the type inside the `Option`, named in the fix as
/// rustc prints it (an alias such as `PgPool` is shown resolved). Implemented for every
/// `HealthCheck`: a type of the user's own that happens to be called `Option` and is a check still
/// compiles. Generated code requires it of the field's type in a generic function, whose body then
/// relies on the supertrait.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a health check: what would `None` report?",
    label = "an `Option` cannot be registered with `#[health(check(...))]`",
    note = "wrap it in a type of your own that implements `HealthCheck` and says what absence reports: `struct Optional(Option<{Inner}>);` with `impl HealthCheck for Optional {{ async fn check(&self) -> CheckOutcome {{ ... }} }}`, healthy (or degraded) when `None`",
    note = "if the value is always present, make the field `{Inner}` instead"
)]
pub trait OptionalCheck<Inner: ?Sized>: HealthCheck {}

// Not recommended: a failing bound is reported with this trait's message, not as the missing
// `HealthCheck` that the impl requires.
#[diagnostic::do_not_recommend]
impl<T: HealthCheck + ?Sized, Inner: ?Sized> OptionalCheck<Inner> for T {}

/// Declares the bound of a field check whose type is written like a `sqlx` pool: a trait whose
/// message names the cargo feature that makes the pool a check, implemented for every
/// `HealthCheck` (so with the feature on, or for a user's own type named like a pool that is a
/// check, the bound holds). One trait per name, because a message can only name the type as
/// written through its own text (`{Self}` would print `Pool<Postgres>` for `PgPool`).
macro_rules! pool_check {
    ($(#[$doc:meta])* $trait:ident, $message:tt) => {
        $(#[$doc])*
        #[diagnostic::on_unimplemented(
            message = $message,
            label = "not a health check without the `postgres` feature of `health-axum`",
            note = "the feature implements `HealthCheck` for every `sqlx::Pool` (`PgPool`, `MySqlPool`, `SqlitePool`, `AnyPool`)",
            note = "if the feature is on already, the pool must come from the `sqlx` that health-axum uses, version 0.8: a pool of another `sqlx` version is another type"
        )]
        pub trait $trait: HealthCheck {}

        // Not recommended: reported with the feature's message, not as a missing `HealthCheck`.
        #[diagnostic::do_not_recommend]
        impl<T: HealthCheck + ?Sized> $trait for T {}
    };
}

pool_check!(
    /// The bound of a field check whose type is written `PgPool`.
    PgPoolCheck,
    "`PgPool` is a health check only with the `postgres` feature of `health-axum`: `health-axum = {{ version = \"...\", features = [\"postgres\"] }}`"
);
pool_check!(
    /// The bound of a field check whose type is written `MySqlPool`.
    MySqlPoolCheck,
    "`MySqlPool` is a health check only with the `postgres` feature of `health-axum`: `health-axum = {{ version = \"...\", features = [\"postgres\"] }}`"
);
pool_check!(
    /// The bound of a field check whose type is written `SqlitePool`.
    SqlitePoolCheck,
    "`SqlitePool` is a health check only with the `postgres` feature of `health-axum`: `health-axum = {{ version = \"...\", features = [\"postgres\"] }}`"
);
pool_check!(
    /// The bound of a field check whose type is written `AnyPool`.
    AnyPoolCheck,
    "`AnyPool` is a health check only with the `postgres` feature of `health-axum`: `health-axum = {{ version = \"...\", features = [\"postgres\"] }}`"
);
pool_check!(
    /// The bound of a field check whose type is written `sqlx::Pool<...>`.
    SqlxPoolCheck,
    "`sqlx::Pool` is a health check only with the `postgres` feature of `health-axum`: `health-axum = {{ version = \"...\", features = [\"postgres\"] }}`"
);

/// Implemented by `#[health_check]` on a hidden type named like the function, so that
/// `#[health(checks(path))]` can find the function's spec through the same path.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a `#[health_check]` function for state `{S}`",
    label = "not a health check of `{S}`",
    note = "every path in `#[health(checks(...))]` must name an `async fn` annotated with `#[health_check]` that takes no argument or `&{S}`"
)]
pub trait RegisteredCheck<S> {
    /// The check's spec.
    const SPEC: CheckSpec<S>;
}

/// The `Ok` type of a `Result` returned by a `#[health_check]` function.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be the `Ok` type of a health check's `Result`",
    label = "the `Ok` type must be `()` or `CheckOutcome`",
    note = "return `Result<(), E>` (healthy on `Ok(())`), or `Result<CheckOutcome, E>` to report degraded or attach details"
)]
pub trait CheckOk {
    /// The outcome of a run that returned `Ok(self)`.
    fn into_outcome(self) -> CheckOutcome;
}

impl CheckOk for () {
    fn into_outcome(self) -> CheckOutcome {
        CheckOutcome::healthy()
    }
}

impl CheckOk for CheckOutcome {
    fn into_outcome(self) -> CheckOutcome {
        self
    }
}

/// The error type of a `Result` returned by a `#[health_check]` function: anything that
/// implements `Display`, whose text becomes the check's message.
#[diagnostic::on_unimplemented(
    message = "`{Self}` doesn't implement `Display`, so it cannot be the error of a health check",
    label = "a health check's error must implement `std::fmt::Display`: its text becomes the check's message",
    note = "implement `std::fmt::Display` for `{Self}`, or return `Result<(), String>` and convert the error where it arises with `.map_err(|e| format!(\"{{e:?}}\"))?`"
)]
pub trait CheckError {
    /// The unhealthy outcome of a run that returned `Err(self)`.
    fn into_outcome(self) -> CheckOutcome;
}

// Not recommended: an error type that is not `Display` is reported with `CheckError`'s own
// message, on the error type, rather than as a missing `Display` bound.
#[diagnostic::do_not_recommend]
impl<E: core::fmt::Display> CheckError for E {
    fn into_outcome(self) -> CheckOutcome {
        CheckOutcome::unhealthy(crate::outcome::message_of(&self))
    }
}

/// Whether `names[index]` equals one of the names before it (evaluated at compile time to
/// reject duplicate check names). A name starting with `!` is the placeholder of a check that
/// failed to compile (its error is already reported), and never counts.
pub const fn name_taken(names: &[&str], index: usize) -> bool {
    if let [b'!', ..] = names[index].as_bytes() {
        return false;
    }
    let mut i = 0;
    while i < index {
        if str_eq(names[i], names[index]) {
            return true;
        }
        i += 1;
    }
    false
}

/// A message assembled at compile time, for `panic!("{}", ..)` in const assertions.
pub struct ConstMessage {
    buf: [u8; 512],
    len: usize,
}

impl ConstMessage {
    /// Concatenates `parts`, truncated to the buffer.
    pub const fn concat(parts: &[&str]) -> ConstMessage {
        let mut message = ConstMessage {
            buf: [0; 512],
            len: 0,
        };
        let mut p = 0;
        while p < parts.len() {
            let bytes = parts[p].as_bytes();
            let mut i = 0;
            while i < bytes.len() && message.len < message.buf.len() {
                message.buf[message.len] = bytes[i];
                message.len += 1;
                i += 1;
            }
            p += 1;
        }
        message
    }

    /// The message (or a generic one if truncation split a character).
    pub const fn as_str(&self) -> &str {
        match core::str::from_utf8(self.buf.split_at(self.len).0) {
            Ok(s) => s,
            Err(_) => "two health checks have the same name",
        }
    }
}

const fn str_eq(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}
