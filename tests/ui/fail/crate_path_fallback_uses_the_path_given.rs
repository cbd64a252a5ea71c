// The fallback implementation of a failing derive goes through `crate = "..."`, not the default
// `::health_axum`: here the path leads to a runtime whose `HealthState` is a trait of its own,
// so a fallback at the default path would leave `main` with a second error.
mod runtime {
    pub mod __private {
        pub use health_axum::__private::{CheckSpec, Lifecycle};

        pub trait HealthState: Sized + 'static {
            const CHECKS: &'static [CheckSpec<Self>];
            const VERSION: &'static str;
            fn lifecycle(&self) -> &Lifecycle;
        }
    }
}

use health_axum::{HealthState, Lifecycle};

#[derive(HealthState)]
#[health(crate = "crate::runtime")]
struct AppState {
    lifecycle: Lifecycle,
}

fn main() {
    let _ = <AppState as runtime::__private::HealthState>::VERSION;
}
