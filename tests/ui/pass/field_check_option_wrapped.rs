// The fix for an `Option` field check: a type of one's own that implements `HealthCheck` and
// says what absence reports. Also `std::option::Option` written out, and a user's own type
// named like a pool that is a check (the routes by name still accept a check).
use health_axum::prelude::*;

#[derive(Clone)]
struct Upstream;

impl HealthCheck for Upstream {
    async fn check(&self) -> CheckOutcome {
        CheckOutcome::healthy()
    }
}

/// An upstream that may not be configured.
#[derive(Clone)]
struct OptionalUpstream(std::option::Option<Upstream>);

impl HealthCheck for OptionalUpstream {
    async fn check(&self) -> CheckOutcome {
        match &self.0 {
            Some(upstream) => upstream.check().await,
            None => CheckOutcome::degraded("no upstream configured"),
        }
    }
}

mod own {
    /// A pool of the user's own, named like sqlx's, that is a check.
    #[derive(Clone)]
    pub struct PgPool;

    impl health_axum::HealthCheck for PgPool {
        async fn check(&self) -> health_axum::CheckOutcome {
            health_axum::CheckOutcome::healthy()
        }
    }
}

#[derive(Clone, HealthState)]
struct AppState {
    #[health(check(name = "upstream"))]
    upstream: OptionalUpstream,
    #[health(check(name = "pool"))]
    pool: own::PgPool,
    #[health(lifecycle)]
    lifecycle: Lifecycle,
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let absent = OptionalUpstream(None);
    assert_eq!(absent.check().await.status(), Status::Degraded);
    let state = AppState {
        upstream: OptionalUpstream(Some(Upstream)),
        pool: own::PgPool,
        lifecycle: Lifecycle::new(),
    };
    assert_eq!(state.upstream.check().await.status(), Status::Healthy);
    let _app: Router = Router::new().merge(AppState::health_router()).with_state(state);
}
