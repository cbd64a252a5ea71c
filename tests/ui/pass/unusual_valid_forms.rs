// Valid programs a user may write that are not the README's shape: nested modules, `pub(crate)`
// checks, `Box<dyn Error>` errors, raw identifiers, a tuple-struct field check, `cfg_attr`, and
// number literals with underscores or a suffix. Each must compile and register as written.
use health_axum::prelude::*;

mod probes {
    pub(crate) mod storage {
        use health_axum::prelude::*;

        /// A nested, `pub(crate)` check with a boxed error.
        #[health_check(name = "blob_store", timeout_ms = 1_500, interval_ms = 10_000u64)]
        pub(crate) async fn blob_store() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
            Ok(())
        }
    }
}

/// A raw identifier as the function name (the default check name drops the `r#`).
#[health_check]
async fn r#match(_: &AppState) -> Result<(), std::io::Error> {
    Ok(())
}

/// `cfg_attr` applying the attribute.
#[cfg_attr(all(), health_check(name = "conditional", failure_threshold = 3_u32))]
async fn conditional() -> Result<(), String> {
    Ok(())
}

#[derive(Clone)]
struct Upstream;

impl HealthCheck for Upstream {
    async fn check(&self) -> CheckOutcome {
        CheckOutcome::healthy()
    }
}

#[derive(Clone, HealthState)]
#[health(checks(probes::storage::blob_store, r#match, conditional))]
struct AppState {
    #[health(lifecycle)]
    lifecycle: Lifecycle,
}

/// A tuple struct: its field check needs a name.
#[derive(Clone, HealthState)]
struct Pair(
    #[health(check(name = "upstream", timeout_ms = 2_000))] Upstream,
    #[health(lifecycle)] Lifecycle,
);

fn main() {
    let names: Vec<&str> = AppState::CHECKS.iter().map(|c| c.name()).collect();
    assert_eq!(names, ["blob_store", "match", "conditional"]);
    let blob = &AppState::CHECKS[0];
    assert_eq!(blob.timeout().as_millis(), 1_500);
    assert_eq!(blob.interval().as_millis(), 10_000);
    assert_eq!(AppState::CHECKS[2].damping().failure_threshold, 3);
    assert_eq!(Pair::CHECKS[0].name(), "upstream");
    assert_eq!(Pair::CHECKS[0].timeout().as_millis(), 2_000);
    let _ = Pair(Upstream, Lifecycle::new()).lifecycle();
}
