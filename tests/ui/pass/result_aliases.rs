// Return types named `Result` that are not `Result<T, E>` as written: an alias that wraps its
// error (as `error_stack::Result<T, C>` is `Result<T, Report<C>>`), and one-argument aliases.
#![deny(warnings)]
use health_axum::prelude::*;

mod report {
    use std::fmt;

    /// An error wrapped with context, `Display` whatever it wraps.
    pub struct Report<C>(pub C);

    impl<C> fmt::Display for Report<C> {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("wrapped")
        }
    }

    pub type Result<T, C> = std::result::Result<T, Report<C>>;
}

/// Not `Display` itself: only the `Report` around it is.
pub struct Opaque;

#[derive(Clone, HealthState)]
#[health(checks(wrapped, io, fully_qualified))]
struct AppState {
    #[health(lifecycle)]
    lifecycle: Lifecycle,
}

#[health_check]
async fn wrapped() -> report::Result<(), Opaque> {
    Err(report::Report(Opaque))
}

#[health_check]
async fn io() -> std::io::Result<()> {
    Ok(())
}

#[health_check]
async fn fully_qualified() -> ::std::result::Result<(), String> {
    Ok(())
}

fn main() {
    assert_eq!(AppState::CHECKS.len(), 3);
}
