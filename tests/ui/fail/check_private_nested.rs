// A check visible only to its parent module (`pub(super)`), listed from the crate root.
use health_axum::prelude::*;

mod checks {
    pub mod storage {
        use health_axum::prelude::*;

        #[health_check]
        pub(super) async fn blob_store() -> Result<(), String> {
            Ok(())
        }
    }
}

#[derive(Clone, HealthState)]
#[health(checks(checks::storage::blob_store))]
struct AppState {
    #[health(lifecycle)]
    lifecycle: Lifecycle,
}

fn main() {}
