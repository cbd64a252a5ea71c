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
use tokio_util::sync::{CancellationToken, DropGuard};
use tonic::codec::ProstCodec;
use tonic::server::{Grpc, NamedService, ServerStreamingService, UnaryService};

use super::hub::{Hub, WatchAnswers};
use super::names::{all_names, status_of, target, Config, Target};
use super::proto::{
    HealthCheckRequest, HealthCheckResponse, HealthListRequest, HealthListResponse, ServingStatus,
};
use crate::answers::{Asked, GrpcAnswers};

/// The largest request message decoded (a `HealthCheckRequest` holds one service name): a
/// bigger one is refused from its length prefix, before it is buffered.
pub const MAX_REQUEST_BYTES: usize = 1024;

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
/// answers 503; once the server stops, every `Watch` sends `NOT_SERVING` and ends.
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
/// The first call starts the background scheduler if none runs (as `serve` does), so that no
/// RPC ever runs a check: every answer reads the latest results. With a tonic server of your
/// own, call [`HealthService::shutdown`] before its graceful shutdown: every `Watch` then says
/// `NOT_SERVING` and ends (`serve` does it when its drain delay is over).
pub struct HealthService<S> {
    shared: Arc<Shared<S>>,
}

struct Shared<S> {
    state: S,
    config: Config,
    /// Started by the first call.
    scheduler: OnceLock<()>,
    /// Started by the first `Watch`.
    hub: OnceLock<Arc<Hub>>,
    /// The `Check` answers, counted (feature `metrics`).
    answers: GrpcAnswers,
    /// Cancelled when the last handle is dropped: the hub's task ends with it.
    _dropped: DropGuard,
    dropped: CancellationToken,
}

impl<S> Clone for HealthService<S> {
    fn clone(&self) -> Self {
        HealthService {
            shared: Arc::clone(&self.shared),
        }
    }
}

impl<S> std::fmt::Debug for HealthService<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HealthService")
            .field("config", &self.shared.config)
            .finish_non_exhaustive()
    }
}

impl<S: HealthState> HealthService<S> {
    /// The service of `state` (the state itself, an `Arc` of it, or anything that implements
    /// `AsHealthState`).
    pub fn new<H: AsHealthState<State = S>>(state: &H) -> Self {
        Self::with_config(state.health_state().clone(), Config::default())
    }

    fn with_config(state: S, config: Config) -> Self {
        let dropped = CancellationToken::new();
        HealthService {
            shared: Arc::new(Shared {
                state,
                config,
                scheduler: OnceLock::new(),
                hub: OnceLock::new(),
                answers: GrpcAnswers::new(),
                _dropped: dropped.clone().drop_guard(),
                dropped,
            }),
        }
    }

    /// The same service with another configuration (a service of its own: clones made before
    /// keep theirs, watchers included).
    fn configured(self, change: impl FnOnce(&mut Config)) -> Self {
        let mut config = self.shared.config;
        change(&mut config);
        Self::with_config(self.shared.state.clone(), config)
    }

    /// What the empty service name, `""`, answers: the liveness verdict by default. Set
    /// `Probe::Ready` when `""` is asked by load balancers or meshes deciding where to route,
    /// and no Kubernetes `grpc:` liveness probe leaves its `service` empty.
    pub fn empty_service(self, probe: Probe) -> Self {
        self.configured(|config| config.empty = probe)
    }

    /// Makes a degraded aggregate `NOT_SERVING` for `scope` (a probe, or `Scope::Full` for
    /// a single check's name), as `HealthRouter::fail_when_degraded` does over HTTP.
    pub fn fail_when_degraded(self, scope: impl Into<Scope>) -> Self {
        let slot = Config::slot(scope.into());
        self.configured(|config| config.fail_degraded[slot] = true)
    }

    /// Answers `Watch` with `UNIMPLEMENTED`, for a port whose connections take one call each
    /// and close within seconds (`serve`'s probe port): a client then falls back to `Check`
    /// (grpc-go turns client-side health checking off) instead of seeing its stream cut.
    pub fn without_watch(self) -> Self {
        self.configured(|config| config.watch = false)
    }

    /// The server stops: every `Watch` says `NOT_SERVING` and ends, so that a graceful shutdown
    /// is not held by open watches. The same as `Lifecycle::begin_stop`, which `serve` calls
    /// when its drain delay is over; call it before a tonic server's graceful shutdown.
    pub fn shutdown(&self) {
        self.shared.state.lifecycle().begin_stop();
    }

    /// The service as axum routes, for any router state: merge it into the application's router
    /// (after `.with_state(...)`, or into a router of any state).
    pub fn router<R: Clone + Send + Sync + 'static>(&self) -> axum::Router<R> {
        axum::Router::new().route_service(
            &format!("/{}/{{*method}}", <Self as NamedService>::NAME),
            self.clone(),
        )
    }

    /// Before the first answer: a scheduler keeps the results fresh, so no call runs a check.
    fn driven(&self) -> &S {
        let state = &self.shared.state;
        self.shared.scheduler.get_or_init(|| {
            // Idempotent: a scheduler already running (started by `serve`) is kept.
            let _ = start_scheduler(state);
        });
        state
    }

    fn hub(&self) -> Arc<Hub> {
        let state = self.driven();
        Arc::clone(self.shared.hub.get_or_init(|| {
            Hub::start(
                state.clone(),
                self.shared.config,
                self.shared.dropped.clone(),
            )
        }))
    }

    async fn check(
        &self,
        request: HealthCheckRequest,
    ) -> Result<HealthCheckResponse, tonic::Status> {
        let config = &self.shared.config;
        let answers = &self.shared.answers;
        let Some(target) = target::<S>(&request.service, config) else {
            answers.count(Asked::Unknown, None);
            return Err(tonic::Status::not_found("unknown service"));
        };
        let status = status_of(self.driven(), target, config).await;
        let asked = match target {
            Target::Probe(probe) => Asked::Probe(probe),
            Target::Check(_) => Asked::Check,
        };
        answers.count(asked, Some(status == ServingStatus::Serving));
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
        let config = &self.shared.config;
        let state = self.driven();
        let mut statuses = std::collections::HashMap::with_capacity(names.len());
        for name in names {
            if let Some(target) = target::<S>(name, config) {
                let status = status_of(state, target, config).await;
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
            "/grpc.health.v1.Health/Check" => {
                Box::pin(async move { Ok(codec().unary(Check(service), request).await) })
            }
            "/grpc.health.v1.Health/List" => {
                Box::pin(async move { Ok(codec().unary(List(service), request).await) })
            }
            "/grpc.health.v1.Health/Watch" => {
                Box::pin(async move { Ok(codec().server_streaming(Watch(service), request).await) })
            }
            _ => Box::pin(async move {
                Ok(
                    tonic::Status::unimplemented("no such method in grpc.health.v1.Health")
                        .into_http(),
                )
            }),
        }
    }
}

/// tonic's server-side codec, with the request size bound.
fn codec<Response, Request>() -> Grpc<ProstCodec<Response, Request>>
where
    Response: prost::Message + Send + 'static,
    Request: prost::Message + Default + Send + 'static,
{
    Grpc::new(ProstCodec::default()).apply_max_message_size_config(Some(MAX_REQUEST_BYTES), None)
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
        if !self.0.shared.config.watch {
            return std::future::ready(Err(tonic::Status::unimplemented(
                "Watch is not served on this port: call Check, or Watch on the application port",
            )));
        }
        let answers = self.0.hub().watch(&request.into_inner().service);
        std::future::ready(Ok(tonic::Response::new(answers)))
    }
}
