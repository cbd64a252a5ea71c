// Checks written as methods of the state, in its own `impl`: `&self`, or a parameter `&Self`,
// listed as `Self::name`, `AppState::name` or `crate::AppState::name`.
#![deny(warnings)]
use health_axum::prelude::*;

#[derive(Clone, HealthState)]
#[health(checks(Self::database, AppState::cache, crate::AppState::queue))]
struct AppState {
    url: String,
    #[health(lifecycle)]
    lifecycle: Lifecycle,
}

impl AppState {
    #[health_check(timeout_ms = 500, critical)]
    async fn database(&self) -> Result<(), String> {
        if self.url.is_empty() {
            return Err("no url".into());
        }
        Ok(())
    }

    #[health_check(name = "redis")]
    pub(crate) async fn cache(state: &Self) -> Result<(), std::io::Error> {
        let _ = &state.url;
        Ok(())
    }

    #[health_check]
    pub async fn queue(self: &Self) -> CheckOutcome {
        CheckOutcome::degraded("slow")
    }
}

fn main() {
    let names: Vec<_> = AppState::CHECKS.iter().map(|c| c.name()).collect();
    assert_eq!(names, ["database", "redis", "queue"]);
    let state = AppState {
        url: "postgres://".into(),
        lifecycle: Lifecycle::new(),
    };
    // The methods stay callable as written.
    let _ = state.database();
}
