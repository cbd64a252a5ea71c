// A check method with a named lifetime on `&self`.
use health_axum::prelude::*;

#[derive(Clone, HealthState)]
#[health(checks(Self::database, Self::cache))]
struct AppState {
    #[health(lifecycle)]
    lifecycle: Lifecycle,
}

impl AppState {
    #[health_check]
    async fn database<'a>(&'a self) -> Result<(), String> {
        Ok(())
    }

    #[health_check]
    async fn cache(&'static self) -> Result<(), String> {
        Ok(())
    }
}

fn main() {}
