//! The probe router: GET and HEAD on `/health`, `/health/live`, `/health/ready` and
//! `/health/startup` (and `/<probe>/<check>` for one check), answered from the state's
//! compile-time check registry, in the format the request asks for.

use std::borrow::Cow;
use std::marker::PhantomData;
use std::sync::Arc;

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, Request, State};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use health_core::{
    evaluate, evaluate_check, evaluate_excluding, HealthState, Probe, Scope, Status,
};

use crate::policy::Details;
use crate::request::{negotiate, parse_query};
use crate::response::{self, Answer};

/// Builds the probe routes of a state type; obtained from [`HealthRouterExt::health_router`].
///
/// It converts into an [`axum::Router`], so it can be passed to [`Router::merge`] as it is, or
/// after changing paths, aliases, the version, who sees details and how degraded answers:
///
/// ```ignore
/// let app = Router::new()
///     .route("/", get(index))
///     .merge(
///         AppState::health_router()
///             .kubernetes_aliases()                    // /livez /readyz /startupz /healthz
///             .details(Details::bearer_token(token))   // messages for the monitoring system
///             .fail_when_degraded(Probe::Ready),
///     )
///     .with_state(state);
/// ```
///
/// Every probe path also answers for one check alone: `/health/ready/database`.
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

    /// The routes, ready to be merged into the application's router.
    ///
    /// # Panics
    /// If a path does not start with `/`, ends with `/`, or two probes share a path: all are
    /// programming errors, reported when the router is built at start-up.
    pub fn build(self) -> Router<S> {
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
        let config = Arc::new(Config {
            version: Arc::from(self.version.as_deref().unwrap_or(S::VERSION)),
            details: self.details,
            fail_degraded: self.fail_degraded,
        });
        let mut router = Router::new();
        for (path, scope) in paths {
            let whole = Arc::clone(&config);
            let one = Arc::clone(&config);
            let check_path = if path == "/" {
                "/{check}".to_string()
            } else {
                format!("{path}/{{check}}")
            };
            router = router
                .route(
                    &path,
                    get(move |State(state): State<S>, request: Request| async move {
                        let (parts, _) = request.into_parts();
                        answer(&state, &whole, scope, None, &parts).await
                    }),
                )
                .route(
                    &check_path,
                    get(
                        move |State(state): State<S>,
                              check: Result<Path<String>, PathRejection>,
                              request: Request| async move {
                            let (parts, _) = request.into_parts();
                            match check {
                                Ok(Path(check)) => {
                                    answer(&state, &one, scope, Some(&check), &parts).await
                                }
                                // Not UTF-8 after percent-decoding: no check has that name.
                                Err(_) => response::error(
                                    StatusCode::NOT_FOUND,
                                    "no such check: the name is not valid UTF-8",
                                ),
                            }
                        },
                    ),
                );
        }
        router
    }
}

/// What every route of one router shares.
struct Config {
    version: Arc<str>,
    details: Details,
    fail_degraded: [bool; 4],
}

/// Answers one probe request: validates the query and `Accept`, evaluates, renders.
async fn answer<S: HealthState>(
    state: &S,
    config: &Config,
    scope: Scope,
    check: Option<&str>,
    parts: &Parts,
) -> Response {
    let query = match parse_query(parts.uri.query()) {
        Ok(query) => query,
        Err(refusal) => return response::refusal(&refusal),
    };
    let format = match negotiate(&parts.headers, query.verbose) {
        Ok(format) => format,
        Err(refusal) => return response::refusal(&refusal),
    };
    let mut excluded: Vec<&'static str> = Vec::new();
    for name in &query.exclude {
        let Some(spec) = S::check_named(name) else {
            return response::error(
                StatusCode::BAD_REQUEST,
                &format!(
                    "unknown check {:?} in `exclude`; the checks are: {}",
                    shown(name),
                    names::<S>()
                ),
            );
        };
        let in_scope = match scope {
            Scope::Probe(probe) => spec.is_in(probe),
            Scope::Full => true,
        };
        // A per-check path answers for its check alone: nothing to exclude there.
        if in_scope && check.is_none() && !excluded.contains(&spec.name()) {
            excluded.push(spec.name());
        }
    }
    let report = match check {
        Some(name) => match evaluate_check(state, scope, name).await {
            Some(report) => report,
            None => {
                let probe = match scope {
                    Scope::Probe(probe) => probe.as_str(),
                    Scope::Full => "full",
                };
                return response::error(
                    StatusCode::NOT_FOUND,
                    &format!(
                        "no check {:?} in the {probe} probe; its checks are: {}",
                        shown(name),
                        names_in::<S>(scope)
                    ),
                );
            }
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
        },
        format,
    )
}

/// A caller's name as echoed in an error: at most 64 characters.
fn shown(name: &str) -> &str {
    match name.char_indices().nth(64) {
        Some((end, _)) => &name[..end],
        None => name,
    }
}

fn names<S: HealthState>() -> String {
    names_in::<S>(Scope::Full)
}

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

impl<S: HealthState> From<HealthRouter<S>> for Router<S> {
    fn from(builder: HealthRouter<S>) -> Self {
        builder.build()
    }
}

/// Adds `health_router()` to every [`HealthState`] type: `AppState::health_router()`.
pub trait HealthRouterExt: HealthState {
    /// The probe routes for this state, with the default paths; see [`HealthRouter`].
    fn health_router() -> HealthRouter<Self> {
        HealthRouter::default()
    }
}

impl<S: HealthState> HealthRouterExt for S {}
