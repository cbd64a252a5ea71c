//! What a check function returns: the outcome, and the conversion into it.

use std::borrow::Cow;
use std::fmt::Display;

use crate::status::Status;

/// The result a check reports: a [`Status`], an optional message and optional JSON details.
///
/// Check functions may return this type directly when they need to say more than
/// pass or fail, e.g. report [`Status::Degraded`] or attach figures:
///
/// ```
/// use health_core::CheckOutcome;
///
/// fn pool_outcome(idle: u32, size: u32) -> CheckOutcome {
///     let outcome = if idle == 0 {
///         CheckOutcome::degraded("no idle connection left")
///     } else {
///         CheckOutcome::healthy()
///     };
///     outcome.with_details(serde_json::json!({ "idle": idle, "size": size }))
/// }
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct CheckOutcome {
    status: Status,
    message: Option<Cow<'static, str>>,
    details: Option<serde_json::Value>,
}

impl CheckOutcome {
    /// An outcome with the given status and neither message nor details.
    pub const fn new(status: Status) -> Self {
        CheckOutcome {
            status,
            message: None,
            details: None,
        }
    }

    /// A healthy outcome.
    pub const fn healthy() -> Self {
        CheckOutcome::new(Status::Healthy)
    }

    /// A degraded outcome, with the reason.
    pub fn degraded(message: impl Into<Cow<'static, str>>) -> Self {
        CheckOutcome::new(Status::Degraded).with_message(message)
    }

    /// An unhealthy outcome, with the reason.
    pub fn unhealthy(message: impl Into<Cow<'static, str>>) -> Self {
        CheckOutcome::new(Status::Unhealthy).with_message(message)
    }

    /// Sets the human-readable message.
    pub fn with_message(mut self, message: impl Into<Cow<'static, str>>) -> Self {
        self.message = Some(message.into());
        self
    }

    /// Attaches machine-readable details (figures such as pool sizes).
    pub fn with_details(mut self, details: serde_json::Value) -> Self {
        self.details = Some(details);
        self
    }

    /// The status.
    pub fn status(&self) -> Status {
        self.status
    }

    /// The message, if any.
    pub fn message(&self) -> Option<&str> {
        self.message.as_deref()
    }

    /// The details, if any.
    pub fn details(&self) -> Option<&serde_json::Value> {
        self.details.as_ref()
    }

    /// Splits the outcome into its parts.
    pub fn into_parts(self) -> (Status, Option<Cow<'static, str>>, Option<serde_json::Value>) {
        (self.status, self.message, self.details)
    }
}

impl From<Status> for CheckOutcome {
    fn from(status: Status) -> Self {
        CheckOutcome::new(status)
    }
}

/// What a `#[health_check]` function may return.
///
/// Implemented for:
/// - `Result<(), E>` where `E: Display`: `Ok` is healthy, `Err(e)` is unhealthy with `e` as the message;
/// - [`CheckOutcome`], to report degraded or attach details;
/// - `Result<CheckOutcome, E>` where `E: Display`, so a check returning an outcome can use `?`.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a health check result",
    label = "a health check must return `Result<(), E>` with `E: Display`, or `CheckOutcome`",
    note = "return `Result<(), YourError>` (the error's Display text becomes the message) or `health_axum::CheckOutcome` (healthy, degraded or unhealthy, with a message and details)"
)]
pub trait IntoCheckOutcome {
    /// Converts the value into an outcome.
    fn into_outcome(self) -> CheckOutcome;
}

impl IntoCheckOutcome for CheckOutcome {
    fn into_outcome(self) -> CheckOutcome {
        self
    }
}

impl<E: Display> IntoCheckOutcome for Result<(), E> {
    fn into_outcome(self) -> CheckOutcome {
        match self {
            Ok(()) => CheckOutcome::healthy(),
            Err(error) => CheckOutcome::unhealthy(message_of(&error)),
        }
    }
}

impl<E: Display> IntoCheckOutcome for Result<CheckOutcome, E> {
    fn into_outcome(self) -> CheckOutcome {
        match self {
            Ok(outcome) => outcome,
            Err(error) => CheckOutcome::unhealthy(message_of(&error)),
        }
    }
}

/// The message of a check's error: its `Display` text in the alternate form (`{:#}`), which
/// error types with a chain of causes (`anyhow::Error`, `eyre::Report`) use to print the whole
/// chain, `cannot reach the queue: connection refused`, where `{}` prints only the outermost
/// context. Every other type prints the same either way.
pub(crate) fn message_of<E: Display + ?Sized>(error: &E) -> String {
    format!("{error:#}")
}
