// The probe router merged into a `Router<Arc<Other>>`, whose state is an `Arc` of another state.
use std::sync::Arc;

use health_axum::prelude::*;

#[derive(Clone, HealthState)]
struct AppState {
    #[health(lifecycle)]
    lifecycle: Lifecycle,
}

struct Templates;

fn main() {
    let _app: Router = Router::<Arc<Templates>>::new()
        .merge(AppState::health_router().kubernetes_aliases())
        .with_state(Arc::new(Templates));
}
