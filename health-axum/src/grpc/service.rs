//! `grpc.health.v1.Health` as a tower service: the three methods routed by path and run through
//! tonic's server-side codec (`tonic::server::Grpc`), the way tonic's generated servers do it.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};

use axum::body::{Bytes, HttpBody};
use axum::http;
use health_core::{start_scheduler, AsHealthState, HealthState, Probe, Scope};
use tonic::codec::ProstCodec;
use tonic::server::{Grpc, NamedService, ServerStreamingService, UnaryService};

use super::hub::{Hub, WatchAnswers};
use super::names::{all_names, status_of, target, Config};
use super::proto::{
    HealthCheckRequest, HealthCheckResponse, HealthListRequest, HealthListResponse,
};

/// The most services `List` answers with, as the protocol asks: beyond it, `RESOURCE_EXHAUSTED`.
pub const LIST_LIMIT: usize = 100;

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

/// The gRPC health service (`grpc.health.v1.Health`: `Check`, `Watch` and `List`) of a health
/// state, answered from the same checks, lifecycle and snapshots as the HTTP probes.
///
/// Service names: `startup`, `liveness` and `readiness` are each probe's verdict; a check's
/// name is that check alone; `""` is the liveness verdict unless [`HealthService::empty_service`]
/// says otherwise (Kubernetes sends `""` when a `grpc:` probe names no service, and a liveness
/// probe must never restart pods because a dependency failed). Degraded is `SERVING` unless
/// [`HealthService::fail_when_degraded`]. Starting and draining are `NOT_SERVING` where HTTP
/// answers 503; once the server stops, everything is `NOT_SERVING` and every `Watch` ends.
///
/// Add it to a tonic server in one line, or merge [`HealthService::router`] into an axum
/// router (which `health_axum::serve` serves over HTTP/1.1 and HTTP/2 on one port):
///
/// ```no_run
/// # use health_axum::prelude::*;
/// # #[derive(Clone, HealthState)]
/// # struct AppState { #[health(lifecycle)] lifecycle: Lifecycle }
/// # fn app(state: AppState) -> Router {
/// use health_axum::grpc::HealthService;
///
/// Router::new()
///     .merge(AppState::health_router())
///     .with_state(state.clone())
///     .merge(HealthService::new(&state).router())
/// # }
/// ```
///
/// Creating it starts the background scheduler (as `serve` does), so that no RPC ever runs a
/// check: every answer reads the latest results.
pub struct HealthService<S> {
    shared: Arc<Shared<S>>,
    config: Config,
}

struct Shared<S> {
    state: S,
    /// Started by the first `Watch`.
    hub: OnceLock<Arc<Hub>>,
}

impl<S> Clone for HealthService<S> {
    fn clone(&self) -> Self {
        HealthService {
            shared: Arc::clone(&self.shared),
            config: self.config,
        }
    }
}

impl<S> std::fmt::Debug for HealthService<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HealthService")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl<S: HealthState> HealthService<S> {
    /// The service of `state` (the state itself, an `Arc` of it, or anything that implements
    /// `AsHealthState`). Starts the background scheduler if none runs.
    ///
    /// # Panics
    /// Outside a Tokio runtime.
    pub fn new<H: AsHealthState<State = S>>(state: &H) -> Self {
        let state = state.health_state().clone();
        // Idempotent: a scheduler already running (started by `serve`) is kept.
        let _ = start_scheduler(&state);
        HealthService {
            shared: Arc::new(Shared {
                state,
                hub: OnceLock::new(),
            }),
            config: Config::default(),
        }
    }

    /// What the empty service name, `""`, answers: the liveness verdict by default. Set
    /// `Probe::Ready` when `""` is asked by load balancers or meshes deciding where to route,
    /// and no Kubernetes `grpc:` liveness probe leaves its `service` empty.
    pub fn empty_service(mut self, probe: Probe) -> Self {
        self.config.empty = probe;
        self
    }

    /// Makes a degraded aggregate `NOT_SERVING` for `scope` (a probe, or `Scope::Full` for
    /// a single check's name), as `HealthRouter::fail_when_degraded` does over HTTP.
    pub fn fail_when_degraded(mut self, scope: impl Into<Scope>) -> Self {
        self.config.fail_degraded[Config::slot(scope.into())] = true;
        self
    }

    /// The service as axum routes, for any router state: merge it into the application's router
    /// (after `.with_state(...)`, or into a router of any state).
    pub fn router<R: Clone + Send + Sync + 'static>(&self) -> axum::Router<R> {
        axum::Router::new().route_service(
            &format!("/{}/{{*method}}", <Self as NamedService>::NAME),
            self.clone(),
        )
    }

    fn hub(&self) -> Arc<Hub> {
        Arc::clone(
            self.shared
                .hub
                .get_or_init(|| Hub::start(self.shared.state.clone(), self.config)),
        )
    }

    async fn check(
        &self,
        request: HealthCheckRequest,
    ) -> Result<HealthCheckResponse, tonic::Status> {
        let Some(target) = target::<S>(&request.service, &self.config) else {
            return Err(tonic::Status::not_found("unknown service"));
        };
        let status = status_of(&self.shared.state, target, &self.config).await;
        Ok(HealthCheckResponse::new(status))
    }

    async fn list(&self) -> Result<HealthListResponse, tonic::Status> {
        let names = all_names::<S>();
        if names.len() > LIST_LIMIT {
            return Err(tonic::Status::resource_exhausted(format!(
                "{} services, more than the {LIST_LIMIT} a list may hold",
                names.len()
            )));
        }
        let mut statuses = std::collections::HashMap::with_capacity(names.len());
        for name in names {
            if let Some(target) = target::<S>(name, &self.config) {
                let status = status_of(&self.shared.state, target, &self.config).await;
                statuses.insert(name.to_string(), HealthCheckResponse::new(status));
            }
        }
        Ok(HealthListResponse { statuses })
    }
}

impl<S> NamedService for HealthService<S> {
    const NAME: &'static str = "grpc.health.v1.Health";
}

impl<S, B> tower_service::Service<http::Request<B>> for HealthService<S>
where
    S: HealthState,
    B: HttpBody<Data = Bytes> + Send + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>> + Send + 'static,
{
    type Response = http::Response<tonic::body::Body>;
    type Error = Infallible;
    type Future = BoxFuture<Result<Self::Response, Infallible>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let service = self.clone();
        match request.uri().path() {
            "/grpc.health.v1.Health/Check" => Box::pin(async move {
                Ok(Grpc::new(ProstCodec::default())
                    .unary(Check(service), request)
                    .await)
            }),
            "/grpc.health.v1.Health/List" => Box::pin(async move {
                Ok(Grpc::new(ProstCodec::default())
                    .unary(List(service), request)
                    .await)
            }),
            "/grpc.health.v1.Health/Watch" => Box::pin(async move {
                Ok(Grpc::new(ProstCodec::default())
                    .server_streaming(Watch(service), request)
                    .await)
            }),
            _ => Box::pin(async move {
                Ok(
                    tonic::Status::unimplemented("no such method in grpc.health.v1.Health")
                        .into_http(),
                )
            }),
        }
    }
}

struct Check<S>(HealthService<S>);

impl<S: HealthState> UnaryService<HealthCheckRequest> for Check<S> {
    type Response = HealthCheckResponse;
    type Future = BoxFuture<Result<tonic::Response<HealthCheckResponse>, tonic::Status>>;

    fn call(&mut self, request: tonic::Request<HealthCheckRequest>) -> Self::Future {
        let service = self.0.clone();
        Box::pin(async move {
            service
                .check(request.into_inner())
                .await
                .map(tonic::Response::new)
        })
    }
}

struct List<S>(HealthService<S>);

impl<S: HealthState> UnaryService<HealthListRequest> for List<S> {
    type Response = HealthListResponse;
    type Future = BoxFuture<Result<tonic::Response<HealthListResponse>, tonic::Status>>;

    fn call(&mut self, _: tonic::Request<HealthListRequest>) -> Self::Future {
        let service = self.0.clone();
        Box::pin(async move { service.list().await.map(tonic::Response::new) })
    }
}

struct Watch<S>(HealthService<S>);

impl<S: HealthState> ServerStreamingService<HealthCheckRequest> for Watch<S> {
    type Response = HealthCheckResponse;
    type ResponseStream = WatchAnswers;
    type Future = std::future::Ready<Result<tonic::Response<WatchAnswers>, tonic::Status>>;

    fn call(&mut self, request: tonic::Request<HealthCheckRequest>) -> Self::Future {
        let answers = self.0.hub().watch(&request.into_inner().service);
        std::future::ready(Ok(tonic::Response::new(answers)))
    }
}
