// One function listed twice, through two paths: the fix is to remove an entry.
mod checks {
    use health_axum::prelude::*;

    #[health_check(name = "database")]
    pub async fn database() -> Result<(), String> {
        Ok(())
    }
}

use checks::database;
use health_axum::prelude::*;

#[derive(Clone, HealthState)]
#[health(checks(database, checks::database))]
struct AppState {
    #[health(lifecycle)]
    lifecycle: Lifecycle,
}

fn main() {}
