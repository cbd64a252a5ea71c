//! The probe router: GET and HEAD on `/health`, `/health/live`, `/health/ready` and
//! `/health/startup` (and `/<probe>/<check>` for one check), answered from the state's
//! compile-time check registry, in the format the request asks for.

use std::borrow::Cow;
use std::marker::PhantomData;
use std::sync::Arc;

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, Request, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::response::Response;
use axum::routing::{get, MethodRouter};
use axum::Router;
use health_core::{
    evaluate, evaluate_check, evaluate_excluding, AsHealthState, HealthState, Probe, Scope, Status,
};

use crate::answers::Answers;
use crate::policy::Details;
use crate::request::{negotiate, parse_query, push_quoted, Query, Warning, SHOWN_NAMES};
use crate::response::{self, Answer};

/// Builds the probe routes of a state type; obtained from [`HealthRouterExt::health_router`].
///
/// It converts into an [`axum::Router`] of any state that leads to `S` ([`AsHealthState`]: `S`
/// itself, `Arc<S>`, or a state of your own), so it can be passed to [`Router::merge`] as it
/// is, or after changing paths, aliases, the version, who sees details and how degraded answers:
///
/// ```
/// # use health_axum::prelude::*;
/// # use axum::routing::get;
/// # #[derive(Clone, HealthState)]
/// # struct AppState { #[health(lifecycle)] lifecycle: Lifecycle }
/// # async fn index() -> &'static str { "hello" }
/// # let state = AppState { lifecycle: Lifecycle::new() };
/// # let token = String::from("s3cret");
/// let app = Router::new()
///     .route("/", get(index))
///     .merge(
///         AppState::health_router()
///             .kubernetes_aliases()                    // /livez /readyz /startupz /healthz
///             .details(Details::bearer_token(token))   // messages for the monitoring system
///             .fail_when_degraded(Probe::Ready),
///     )
///     .with_state(state);
/// # let _: Router = app;
/// ```
///
/// Every probe path also answers for one check alone: `/health/ready/database`.
///
/// With the state shared as an `Arc`, nothing changes but the state given to `with_state`:
///
/// ```
/// # use health_axum::prelude::*;
/// # use axum::{extract::State, routing::get};
/// # use std::sync::Arc;
/// # #[derive(Clone, HealthState)]
/// # struct AppState { #[health(lifecycle)] lifecycle: Lifecycle }
/// # async fn index(State(_): State<Arc<AppState>>) -> &'static str { "hello" }
/// # let state = AppState { lifecycle: Lifecycle::new() };
/// let app = Router::new()
///     .route("/", get(index))                  // handlers take State<Arc<AppState>>
///     .merge(AppState::health_router())
///     .with_state(Arc::new(state));
/// # let _: Router = app;
/// ```
#[must_use = "merge the probe routes into your router with `.merge(...)`"]
pub struct HealthRouter<S> {
    report: Cow<'static, str>,
    live: Cow<'static, str>,
    ready: Cow<'static, str>,
    startup: Cow<'static, str>,
    aliases: bool,
    version: Option<Cow<'static, str>>,
    details: Details,
    fail_degraded: [bool; 4],
    state: PhantomData<fn() -> S>,
}

impl<S> std::fmt::Debug for HealthRouter<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HealthRouter")
            .field("report", &self.report)
            .field("live", &self.live)
            .field("ready", &self.ready)
            .field("startup", &self.startup)
            .field("aliases", &self.aliases)
            .field("version", &self.version)
            .field("details", &self.details)
            .field("fail_degraded", &self.fail_degraded)
            .finish()
    }
}

impl<S: HealthState> Default for HealthRouter<S> {
    fn default() -> Self {
        HealthRouter {
            report: Cow::Borrowed("/health"),
            live: Cow::Borrowed("/health/live"),
            ready: Cow::Borrowed("/health/ready"),
            startup: Cow::Borrowed("/health/startup"),
            aliases: false,
            version: None,
            details: Details::Never,
            fail_degraded: [false; 4],
            state: PhantomData,
        }
    }
}

/// Index of a scope in per-scope settings.
fn slot(scope: Scope) -> usize {
    match scope {
        Scope::Probe(Probe::Startup) => 0,
        Scope::Probe(Probe::Live) => 1,
        Scope::Probe(Probe::Ready) => 2,
        Scope::Full => 3,
    }
}

impl<S: HealthState> HealthRouter<S> {
    /// Path of the full report (default `/health`).
    pub fn report_path(mut self, path: impl Into<Cow<'static, str>>) -> Self {
        self.report = path.into();
        self
    }

    /// Path of the liveness probe (default `/health/live`).
    pub fn live_path(mut self, path: impl Into<Cow<'static, str>>) -> Self {
        self.live = path.into();
        self
    }

    /// Path of the readiness probe (default `/health/ready`).
    pub fn ready_path(mut self, path: impl Into<Cow<'static, str>>) -> Self {
        self.ready = path.into();
        self
    }

    /// Path of the startup probe (default `/health/startup`).
    pub fn startup_path(mut self, path: impl Into<Cow<'static, str>>) -> Self {
        self.startup = path.into();
        self
    }

    /// Also answers on the Kubernetes API server's names: `/livez`, `/readyz`, `/startupz` and
    /// `/healthz` (the full report), each with its per-check paths (`/readyz/database`).
    pub fn kubernetes_aliases(mut self) -> Self {
        self.aliases = true;
        self
    }

    /// Overrides the version reported in bodies (default: the state's `HealthState::VERSION`,
    /// the version of the crate that derived it).
    pub fn version(mut self, version: impl Into<Cow<'static, str>>) -> Self {
        self.version = Some(version.into());
        self
    }

    /// Who sees check messages and details (default [`Details::Never`]: `reason withheld`).
    pub fn details(mut self, details: Details) -> Self {
        self.details = details;
        self
    }

    /// Makes a degraded aggregate fail `scope` with 503 (by default degraded answers 200:
    /// a slow or non-critical dependency should not take the pod out of the Service). An
    /// unhealthy aggregate always fails and a healthy one always passes.
    pub fn fail_when_degraded(mut self, scope: impl Into<Scope>) -> Self {
        self.fail_degraded[slot(scope.into())] = true;
        self
    }

    /// The routes, ready to be merged into the application's router, for a router state `R`
    /// that leads to `S` ([`ProbeRouterState`]): `S` itself, `Arc<S>`, or any state that
    /// implements [`AsHealthState`]. `R` is usually inferred from `with_state` or `merge`.
    /// To serve the routes alone (on the probe port, say), give them their state:
    /// `AppState::health_router().build().with_state(state)`.
    ///
    /// # Panics
    /// If a path does not start with `/`, ends with `/`, or two probes share a path: all are
    /// programming errors, reported when the router is built at start-up.
    pub fn build<R: ProbeRouterState<S>>(self) -> Router<R> {
        let paths = self.paths();
        let config = Arc::new(Config {
            version: Arc::from(self.version.as_deref().unwrap_or(S::VERSION)),
            details: self.details,
            fail_degraded: self.fail_degraded,
            answers: Answers::new(),
        });
        paths
            .into_iter()
            .fold(Router::new(), |router, (path, scope)| {
                probe_routes(router, &path, scope, &config)
            })
    }

    /// Every probe path and its scope, aliases included.
    ///
    /// # Panics
    /// As [`HealthRouter::build`].
    fn paths(&self) -> Vec<(Cow<'static, str>, Scope)> {
        let mut paths: Vec<(Cow<'static, str>, Scope)> = vec![
            (self.report.clone(), Scope::Full),
            (self.live.clone(), Scope::Probe(Probe::Live)),
            (self.ready.clone(), Scope::Probe(Probe::Ready)),
            (self.startup.clone(), Scope::Probe(Probe::Startup)),
        ];
        if self.aliases {
            paths.extend([
                (Cow::Borrowed("/healthz"), Scope::Full),
                (Cow::Borrowed("/livez"), Scope::Probe(Probe::Live)),
                (Cow::Borrowed("/readyz"), Scope::Probe(Probe::Ready)),
                (Cow::Borrowed("/startupz"), Scope::Probe(Probe::Startup)),
            ]);
        }
        for (i, (path, _)) in paths.iter().enumerate() {
            assert!(
                path.starts_with('/') && (path.len() == 1 || !path.ends_with('/')),
                "health probe path {path:?} must start with `/` and not end with one"
            );
            assert!(
                !paths[..i].iter().any(|(p, _)| p == path),
                "health probe path {path:?} is used for two probes"
            );
        }
        paths
    }
}

/// Adds the routes of one probe path to `router`: the path itself, its per-check paths
/// (`path/{check}`), and below them the probe routes' 404 for what names no check.
fn probe_routes<R: AsHealthState>(
    router: Router<R>,
    path: &str,
    scope: Scope,
    config: &Arc<Config>,
) -> Router<R> {
    let whole = Arc::clone(config);
    let one = Arc::clone(config);
    let check_path = if path == "/" {
        "/{check}".to_string()
    } else {
        format!("{path}/{{check}}")
    };
    let router = router
        .route(
            path,
            only_get(
                get(move |State(state): State<R>, request: Request| async move {
                    let (parts, _) = request.into_parts();
                    let response = answer(state.health_state(), &whole, scope, None, &parts).await;
                    counted(&whole, scope, response)
                }),
                scope,
                config,
            ),
        )
        .route(
            &check_path,
            only_get(
                get(
                    move |State(state): State<R>,
                          check: Result<Path<String>, PathRejection>,
                          request: Request| async move {
                        let (parts, _) = request.into_parts();
                        let response = match check {
                            Ok(Path(check)) => {
                                let state = state.health_state();
                                answer(state, &one, scope, Some(&check), &parts).await
                            }
                            Err(_) => not_utf8(),
                        };
                        counted(&one, scope, response)
                    },
                ),
                scope,
                config,
            ),
        );
    if path == "/" {
        return router;
    }
    below_probe(router, path, &check_path, scope, config)
}

/// Below a probe path, what names no check still gets the probe routes' JSON 404 and headers
/// (not the application's fallback): a trailing `/`, or more segments.
fn below_probe<R: AsHealthState>(
    router: Router<R>,
    path: &str,
    check_path: &str,
    scope: Scope,
    config: &Arc<Config>,
) -> Router<R> {
    let below = |config: &Arc<Config>| {
        let config = Arc::clone(config);
        get(move || async move { counted(&config, scope, no_such_check()) })
    };
    router
        .route(&format!("{path}/"), only_get(below(config), scope, config))
        .route(
            &format!("{check_path}/{{*rest}}"),
            only_get(below(config), scope, config),
        )
}

/// `GET` (and with it `HEAD`) only: any other method gets a 405 of ours, a JSON error with
/// `X-Content-Type-Options: nosniff` (axum adds `Allow: GET,HEAD`), instead of axum's bare one.
/// The 405 is counted among the answers of `scope`.
fn only_get<R: Clone + Send + Sync + 'static>(
    route: MethodRouter<R>,
    scope: Scope,
    config: &Arc<Config>,
) -> MethodRouter<R> {
    let config = Arc::clone(config);
    route.fallback(move |method: Method| async move {
        counted(&config, scope, method_not_allowed(&method))
    })
}

/// Counts `response` among the answers to `scope` (feature `metrics`), and returns it.
fn counted(config: &Config, scope: Scope, response: Response) -> Response {
    config.answers.count(scope, response.status());
    response
}

/// The 404 of a per-check path whose name is not UTF-8 after percent-decoding: no check has it.
fn not_utf8() -> Response {
    response::error(
        StatusCode::NOT_FOUND,
        "no such check: the name is not valid UTF-8",
    )
}

/// The 405 of the probe routes.
fn method_not_allowed(method: &Method) -> Response {
    let mut message = String::with_capacity(64);
    message.push_str("method ");
    push_quoted(&mut message, method.as_str());
    message.push_str(" not allowed: probes answer GET and HEAD");
    let mut response = response::error(StatusCode::METHOD_NOT_ALLOWED, &message);
    // Set here too, so the answer is whole even where axum's `Allow` is not added.
    response
        .headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static("GET,HEAD"));
    response
}

/// A path below a probe path that names no check.
fn no_such_check() -> Response {
    response::error(
        StatusCode::NOT_FOUND,
        "no such check: a per-check path is the probe's path, `/`, and one check name",
    )
}

/// What every route of one router shares.
struct Config {
    version: Arc<str>,
    details: Details,
    fail_degraded: [bool; 4],
    /// The answers counted by probe and status code (feature `metrics`).
    answers: Answers,
}

/// Answers one probe request: reads the query and `Accept`, evaluates, renders. Nothing about the
/// request fails the probe: what cannot be given is ignored, with a warning in the body.
async fn answer<S: HealthState>(
    state: &S,
    config: &Config,
    scope: Scope,
    check: Option<&str>,
    parts: &Parts,
) -> Response {
    let query = parse_query(parts.uri.query());
    let (format, acceptable) = negotiate(&parts.headers, query.verbose);
    // Nothing is allocated here for a request without warnings or exclusions.
    let mut warnings: Vec<String> = Vec::new();
    let excluded = match check {
        // A per-check path answers for its check alone: nothing to exclude there.
        Some(_) => {
            let asked_to_exclude =
                !query.exclude.is_empty() || query.empty_excludes > 0 || query.excess_excludes > 0;
            if asked_to_exclude {
                warnings.push(Warning::ExcludeOnCheckPath.to_text());
            }
            Vec::new()
        }
        None => exclusions::<S>(&query, scope, &mut warnings),
    };
    if !acceptable {
        warnings.push(Warning::UnacceptableAccept.to_text());
    }
    let report = match check {
        Some(name) => match evaluate_check(state, scope, name).await {
            Some(report) => report,
            None => return no_check_named::<S>(scope, name),
        },
        None if excluded.is_empty() => evaluate(state, scope).await,
        None => evaluate_excluding(state, scope, |spec| excluded.contains(&spec.name())).await,
    };
    let passing =
        report.passing && !(report.status == Status::Degraded && config.fail_degraded[slot(scope)]);
    response::render(
        &Answer {
            report: &report,
            passing,
            version: &config.version,
            visible: config.details.allows(parts),
            excluded: &excluded,
            warnings: &warnings,
        },
        format,
    )
}

/// The checks of `scope` that `?exclude=` names, each once; what it asks for that cannot be
/// given (names that match no check of this probe, empty names, too many) goes to `warnings`.
fn exclusions<S: HealthState>(
    query: &Query<'_>,
    scope: Scope,
    warnings: &mut Vec<String>,
) -> Vec<&'static str> {
    let mut excluded: Vec<&'static str> = Vec::new();
    let mut unmatched = Vec::new();
    let mut more = 0;
    for name in &query.exclude {
        let spec = S::check_named(name).filter(|spec| match scope {
            Scope::Probe(probe) => spec.is_in(probe),
            Scope::Full => true,
        });
        match spec {
            Some(spec) if !excluded.contains(&spec.name()) => excluded.push(spec.name()),
            Some(_) => {}
            None if unmatched.contains(name) => {}
            None if unmatched.len() < SHOWN_NAMES => unmatched.push(name.clone()),
            None => more += 1,
        }
    }
    if !unmatched.is_empty() {
        warnings.push(
            Warning::NoMatches {
                names: unmatched,
                more,
            }
            .to_text(),
        );
    }
    if query.empty_excludes > 0 {
        warnings.push(Warning::EmptyExclude(query.empty_excludes).to_text());
    }
    if query.excess_excludes > 0 {
        warnings.push(Warning::TooManyExcludes(query.excess_excludes).to_text());
    }
    excluded
}

/// The 404 of a per-check path whose check is not in the probe: it lists the probe's checks.
fn no_check_named<S: HealthState>(scope: Scope, name: &str) -> Response {
    let probe = match scope {
        Scope::Probe(probe) => probe.as_str(),
        Scope::Full => "full",
    };
    let mut message = String::from("no check ");
    push_quoted(&mut message, name);
    message.push_str(&format!(
        " in the {probe} probe; its checks are: {}",
        names_in::<S>(scope)
    ));
    response::error(StatusCode::NOT_FOUND, &message)
}

/// The names of the checks of `scope`, at most about 1 KiB of them.
fn names_in<S: HealthState>(scope: Scope) -> String {
    let names: Vec<&str> = S::CHECKS
        .iter()
        .filter(|spec| match scope {
            Scope::Probe(probe) => spec.is_in(probe),
            Scope::Full => true,
        })
        .map(|spec| spec.name())
        .collect();
    if names.is_empty() {
        return "(none)".to_string();
    }
    // Bounded, so an error body stays small however many checks there are.
    let mut list = String::new();
    for (i, name) in names.iter().enumerate() {
        if list.len() + name.len() > 1024 {
            list.push_str(&format!(", and {} more", names.len() - i));
            break;
        }
        if i > 0 {
            list.push_str(", ");
        }
        list.push_str(name);
    }
    list
}

/// `Router::merge(AppState::health_router())` into a router whose state is the health state, an
/// `Arc` of it, or any state that implements [`AsHealthState`].
impl<S, R> From<HealthRouter<S>> for Router<R>
where
    S: HealthState,
    R: ProbeRouterState<S>,
{
    fn from(builder: HealthRouter<S>) -> Self {
        builder.build()
    }
}

/// A router state that the probe routes of the health state `S` can be part of: `S` itself,
/// `Arc<S>`, or any state that implements [`AsHealthState<State = S>`](AsHealthState). It is
/// implemented for all of them, and for nothing else; there is nothing to implement by hand.
///
/// It is the bound of [`HealthRouter::build`] and of `.merge(S::health_router())`, and exists
/// for the compile error: a probe router merged into a router of another state, or into a
/// router that was already given its state (`.with_state(...)` before `.merge(...)`), is
/// reported under the probe router, in words that name the fixes, instead of as a mismatch of
/// associated types behind `From` and `Into`.
#[diagnostic::on_unimplemented(
    message = "a `Router<{Self}>` cannot hold the probe routes of `{S}`",
    label = "`{Self}` does not lead to the health state `{S}`",
    note = "a router takes these routes while its state is `{S}`, an `Arc<{S}>` or a state that implements `AsHealthState<State = {S}>`, before `.with_state(...)` turns it into a `Router<()>`: call `.with_state(state)` last, after every `.merge(...)` and `.route(...)`",
    note = "for a router state of your own that holds the `{S}`, implement `AsHealthState<State = {S}>` for it; for one that does not, give the probe routes their own state: `.merge({S}::health_router().build().with_state(state.clone()))`"
)]
pub trait ProbeRouterState<S: HealthState>: AsHealthState<State = S> {}

// `do_not_recommend`: without it, rustc looks through this impl and reports the bound it failed
// on (`HealthState` not implemented, or a type mismatch of `AsHealthState::State`, two errors
// in words that name no fix); with it, the error is this trait's, once.
#[diagnostic::do_not_recommend]
impl<S: HealthState, R: AsHealthState<State = S>> ProbeRouterState<S> for R {}

/// Adds `health_router()` to every [`HealthState`] type: `AppState::health_router()`.
pub trait HealthRouterExt: HealthState {
    /// The probe routes for this state, with the default paths; see [`HealthRouter`].
    fn health_router() -> HealthRouter<Self> {
        HealthRouter::default()
    }
}

impl<S: HealthState> HealthRouterExt for S {}
