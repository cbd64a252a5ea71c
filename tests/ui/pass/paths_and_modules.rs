// Checks defined in other modules, listed by path or imported; raw identifiers; tuple structs.
use health_axum::prelude::*;

mod checks {
    use super::AppState;
    use health_axum::prelude::*;

    #[health_check(critical)]
    pub async fn database(_: &AppState) -> Result<(), String> {
        Ok(())
    }

    pub mod nested {
        use health_axum::prelude::*;

        #[health_check]
        pub(crate) async fn r#type() -> Result<(), String> {
            Ok(())
        }
    }
}

use checks::nested::r#type;

// A check compiled out by `cfg` takes its registration with it.
#[health_check]
#[cfg(any())]
async fn compiled_out() -> Result<(), String> {
    Ok(())
}

#[derive(Clone, HealthState)]
#[health(checks(checks::database, r#type))]
struct AppState {
    #[health(lifecycle)]
    lifecycle: Lifecycle,
}

#[derive(Clone, HealthState)]
#[health(checks(checks::nested::r#type))]
struct Tuple(u32, #[health(lifecycle)] Lifecycle);

fn main() {
    let names: Vec<_> = AppState::CHECKS.iter().map(|c| c.name()).collect();
    assert_eq!(names, ["database", "type"]);
    let t = Tuple(1, Lifecycle::new());
    let _ = t.lifecycle();
    let _ = t.0;
}
