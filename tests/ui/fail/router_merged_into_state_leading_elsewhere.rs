// The probe router of `AppState` merged into a router whose own state leads to another health state.
use health_axum::prelude::*;

#[derive(Clone, HealthState)]
struct AppState {
    #[health(lifecycle)]
    lifecycle: Lifecycle,
}

#[derive(Clone, HealthState)]
struct AdminState {
    #[health(lifecycle)]
    lifecycle: Lifecycle,
}

#[derive(Clone)]
struct Outer {
    admin: AdminState,
}

impl AsHealthState for Outer {
    type State = AdminState;
    fn health_state(&self) -> &AdminState {
        &self.admin
    }
}

fn main() {
    let outer = Outer {
        admin: AdminState {
            lifecycle: Lifecycle::new(),
        },
    };
    let _app: Router = Router::<Outer>::new()
        .merge(AppState::health_router())
        .with_state(outer);
}
