//! gRPC health checking (`grpc.health.v1`) over real sockets, with tonic's client and the one
//! tonic-health generates from the protocol's `health.proto`: `Check` for every name, `Watch`
//! driven by the event stream (one message per change, none twice, unknown names kept open,
//! `NOT_SERVING` to every watcher before the server stops), `List`, and gRPC beside HTTP/1.1
//! on one port.

use std::net::SocketAddr;
use std::time::Duration;

use health_axum::grpc::proto::{HealthListRequest, HealthListResponse};
use health_axum::grpc::HealthService;
use health_axum::prelude::*;
use health_tests::dep::{Dependency, Mode};
use tonic::transport::Channel;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;
use tonic_health::pb::HealthCheckRequest;

#[derive(Clone, HealthState)]
struct AppState {
    #[health(check(
        name = "database",
        critical,
        interval_ms = 50,
        timeout_ms = 40,
        failure_threshold = 1,
        no_breaker
    ))]
    database: Dependency,
    #[health(check(
        name = "cache",
        interval_ms = 50,
        timeout_ms = 40,
        failure_threshold = 1,
        no_breaker
    ))]
    cache: Dependency,
    #[health(lifecycle)]
    lifecycle: Lifecycle,
}

struct Server {
    addr: SocketAddr,
    state: AppState,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

/// A state with two dependencies up, its lifecycle starting.
async fn fresh_state() -> AppState {
    AppState {
        database: Dependency::start(Mode::Up).await,
        cache: Dependency::start(Mode::Up).await,
        lifecycle: Lifecycle::new(),
    }
}

/// A `Watch` on `service`.
async fn watch(
    client: &mut HealthClient<Channel>,
    service: &str,
) -> tonic::Streaming<tonic_health::pb::HealthCheckResponse> {
    client
        .watch(HealthCheckRequest {
            service: service.into(),
        })
        .await
        .expect("watch")
        .into_inner()
}

/// The state served by `health_axum::serve`: HTTP probes and gRPC health on one port.
async fn server() -> Server {
    let state = fresh_state().await;
    let app = Router::new()
        .merge(AppState::health_router())
        .with_state(state.clone())
        .merge(HealthService::new(&state).router());
    let (addr, task) = health_tests::serve_in_background(app, state.clone(), |s| {
        s.drain_delay(Duration::from_millis(300))
            .shutdown_timeout(Duration::from_secs(5))
    })
    .await;
    health_tests::wait_for_status(addr, "/health/ready", 200, Duration::from_secs(10)).await;
    Server { addr, state, task }
}

async fn client(addr: SocketAddr) -> HealthClient<Channel> {
    let channel = Channel::from_shared(format!("http://{addr}"))
        .expect("uri")
        .connect()
        .await
        .expect("connect");
    HealthClient::new(channel)
}

async fn check(
    client: &mut HealthClient<Channel>,
    service: &str,
) -> Result<ServingStatus, tonic::Code> {
    client
        .check(HealthCheckRequest {
            service: service.into(),
        })
        .await
        .map(|r| r.into_inner().status())
        .map_err(|status| status.code())
}

async fn eventually_status(client: &mut HealthClient<Channel>, service: &str, want: ServingStatus) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let got = check(client, service).await;
        if got == Ok(want) {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{service:?}: {got:?}, wanted {want:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The next message of a watch, or `None` if none comes within `within`.
async fn next(
    stream: &mut tonic::Streaming<tonic_health::pb::HealthCheckResponse>,
    within: Duration,
) -> Option<Result<ServingStatus, tonic::Code>> {
    match tokio::time::timeout(within, stream.message()).await {
        Err(_) => None,
        Ok(Ok(Some(message))) => Some(Ok(message.status())),
        Ok(Ok(None)) => Some(Err(tonic::Code::Ok)),
        Ok(Err(status)) => Some(Err(status.code())),
    }
}

#[tokio::test]
async fn check_answers_every_name_and_a_dependency_outage_never_fails_the_empty_name() {
    let server = server().await;
    let mut client = client(server.addr).await;
    for name in ["", "startup", "liveness", "readiness", "database", "cache"] {
        assert_eq!(
            check(&mut client, name).await,
            Ok(ServingStatus::Serving),
            "{name:?}"
        );
    }
    assert_eq!(check(&mut client, "nope").await, Err(tonic::Code::NotFound));
    assert_eq!(
        check(&mut client, "Database").await,
        Err(tonic::Code::NotFound)
    );

    // A critical dependency goes down: readiness and the check fail; liveness and `""` (the
    // liveness verdict by default) do not, so a `grpc:` liveness probe never restarts the pod.
    server.state.database.set(Mode::Down);
    eventually_status(&mut client, "readiness", ServingStatus::NotServing).await;
    assert_eq!(
        check(&mut client, "database").await,
        Ok(ServingStatus::NotServing)
    );
    assert_eq!(check(&mut client, "").await, Ok(ServingStatus::Serving));
    assert_eq!(
        check(&mut client, "liveness").await,
        Ok(ServingStatus::Serving)
    );
    assert_eq!(
        check(&mut client, "cache").await,
        Ok(ServingStatus::Serving)
    );
    // A non-critical one: degraded aggregate, still serving.
    server.state.database.set(Mode::Up);
    server.state.cache.set(Mode::Down);
    eventually_status(&mut client, "cache", ServingStatus::NotServing).await;
    eventually_status(&mut client, "readiness", ServingStatus::Serving).await;
    // The same port answers HTTP/1.1 probes at once.
    let http = health_tests::get(server.addr, "/health/ready").await;
    assert_eq!(
        http.status,
        200,
        "{:?}",
        String::from_utf8_lossy(&http.body)
    );
    server.task.abort();
}

#[tokio::test]
async fn watch_sends_the_current_status_then_each_change_once() {
    let server = server().await;
    let mut client = client(server.addr).await;
    let mut stream = watch(&mut client, "readiness").await;
    let mut database = watch(&mut client, "database").await;
    let long = Duration::from_secs(10);
    assert_eq!(
        next(&mut stream, long).await,
        Some(Ok(ServingStatus::Serving))
    );
    assert_eq!(
        next(&mut database, long).await,
        Some(Ok(ServingStatus::Serving))
    );
    // Nothing changes: nothing is sent, however often the scheduler runs the checks (every
    // 50 ms) and however many probes arrive.
    for _ in 0..20 {
        let _ = check(&mut client, "readiness").await;
    }
    assert_eq!(next(&mut stream, Duration::from_millis(500)).await, None);

    server.state.database.set(Mode::Down);
    assert_eq!(
        next(&mut stream, long).await,
        Some(Ok(ServingStatus::NotServing))
    );
    assert_eq!(
        next(&mut database, long).await,
        Some(Ok(ServingStatus::NotServing))
    );
    assert_eq!(
        next(&mut stream, Duration::from_millis(500)).await,
        None,
        "sent twice"
    );
    server.state.database.set(Mode::Up);
    assert_eq!(
        next(&mut stream, long).await,
        Some(Ok(ServingStatus::Serving))
    );
    assert_eq!(
        next(&mut database, long).await,
        Some(Ok(ServingStatus::Serving))
    );
    assert_eq!(
        next(&mut stream, Duration::from_millis(500)).await,
        None,
        "sent twice"
    );
    server.task.abort();
}

#[tokio::test]
async fn watch_on_an_unknown_name_says_service_unknown_and_stays_open() {
    let server = server().await;
    let mut client = client(server.addr).await;
    let mut stream = watch(&mut client, "nope").await;
    assert_eq!(
        next(&mut stream, Duration::from_secs(10)).await,
        Some(Ok(ServingStatus::ServiceUnknown))
    );
    // Still open (no message, no end) seconds later, while the known services change.
    server.state.database.set(Mode::Down);
    assert_eq!(next(&mut stream, Duration::from_secs(2)).await, None);
    server.task.abort();
}

#[tokio::test]
async fn list_gives_every_service_with_its_status() {
    let server = server().await;
    server.state.cache.set(Mode::Down);
    let channel = Channel::from_shared(format!("http://{}", server.addr))
        .expect("uri")
        .connect()
        .await
        .expect("connect");
    let list = |channel: Channel| async move {
        let mut grpc = tonic::client::Grpc::new(channel);
        grpc.ready().await.expect("ready");
        let path = axum::http::uri::PathAndQuery::from_static("/grpc.health.v1.Health/List");
        grpc.unary::<HealthListRequest, HealthListResponse, _>(
            tonic::Request::new(HealthListRequest {}),
            path,
            tonic::codec::ProstCodec::default(),
        )
        .await
        .expect("list")
        .into_inner()
    };
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let statuses: std::collections::BTreeMap<String, i32> = list(channel.clone())
            .await
            .statuses
            .into_iter()
            .map(|(name, response)| (name, response.status))
            .collect();
        let mut names: Vec<&str> = statuses.keys().map(String::as_str).collect();
        names.sort_unstable();
        assert_eq!(
            names,
            ["", "cache", "database", "liveness", "readiness", "startup"]
        );
        if statuses["cache"] == ServingStatus::NotServing as i32 {
            assert_eq!(statuses["database"], ServingStatus::Serving as i32);
            assert_eq!(statuses["readiness"], ServingStatus::Serving as i32);
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "{statuses:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    server.task.abort();
}

#[tokio::test]
async fn on_drain_every_watcher_gets_not_serving_before_the_server_stops() {
    let server = server().await;
    let mut client = client(server.addr).await;
    let mut watchers = Vec::new();
    for name in ["", "liveness", "readiness", "database"] {
        let mut stream = watch(&mut client, name).await;
        assert_eq!(
            next(&mut stream, Duration::from_secs(10)).await,
            Some(Ok(ServingStatus::Serving)),
            "{name:?}"
        );
        watchers.push((name, stream));
    }
    let mut unknown = watch(&mut client, "nope").await;
    assert_eq!(
        next(&mut unknown, Duration::from_secs(10)).await,
        Some(Ok(ServingStatus::ServiceUnknown))
    );
    // The drain (what SIGTERM starts): readiness at once, everything when the server stops.
    server.state.lifecycle.begin_drain();
    for (name, stream) in &mut watchers {
        let mut seen = Vec::new();
        loop {
            match next(stream, Duration::from_secs(10)).await {
                Some(Ok(status)) => seen.push(status),
                Some(Err(tonic::Code::Ok)) => break,
                other => panic!("{name:?}: {other:?} after {seen:?}"),
            }
        }
        assert_eq!(seen, [ServingStatus::NotServing], "{name:?}");
    }
    // The unknown name's watch ends too, without a message.
    assert_eq!(
        next(&mut unknown, Duration::from_secs(10)).await,
        Some(Err(tonic::Code::Ok))
    );
    // And the server stops well within its shutdown timeout: no watch held it.
    let result = tokio::time::timeout(Duration::from_secs(4), server.task)
        .await
        .expect("the server stops")
        .expect("task");
    assert!(result.is_ok(), "{result:?}");
}

#[tokio::test]
async fn the_probe_port_answers_grpc_probes_and_a_tonic_server_takes_the_service_in_one_line() {
    let state = fresh_state().await;
    // `serve` with a probe port: its default routes answer gRPC health too.
    let probes = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let probe_addr = probes.local_addr().expect("addr");
    let (addr, task) =
        health_tests::serve_in_background(Router::new(), state.clone(), |s| s.probes_on(probes))
            .await;
    health_tests::wait_for_status(probe_addr, "/health/ready", 200, Duration::from_secs(10)).await;
    // A Kubernetes `grpc:` probe opens a connection per probe; the probe port answers one call
    // per connection.
    for name in ["readiness", "liveness", "startup", ""] {
        let mut probe_client = client(probe_addr).await;
        assert_eq!(
            check(&mut probe_client, name).await,
            Ok(ServingStatus::Serving),
            "{name:?}"
        );
    }
    // `Watch` is refused there (one call per connection, closed within seconds): a client
    // falls back to `Check` rather than seeing its stream cut.
    let mut probe_client = client(probe_addr).await;
    let refused = probe_client
        .watch(HealthCheckRequest {
            service: "readiness".into(),
        })
        .await
        .expect_err("no watch on the probe port");
    assert_eq!(refused.code(), tonic::Code::Unimplemented);
    // The application port has no health routes of its own here.
    let mut app_client = client(addr).await;
    assert_eq!(
        check(&mut app_client, "readiness").await,
        Err(tonic::Code::Unimplemented)
    );
    task.abort();

    // A tonic server of the user's own: one line.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let tonic_addr = listener.local_addr().expect("addr");
    let incoming = tokio_stream::wrappers::TcpListenerStream::new(listener);
    let service = HealthService::new(&state);
    let server = tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(service)
            .serve_with_incoming(incoming),
    );
    state.lifecycle.mark_started();
    let mut tonic_client = client(tonic_addr).await;
    eventually_status(&mut tonic_client, "readiness", ServingStatus::Serving).await;
    assert_eq!(
        check(&mut tonic_client, "database").await,
        Ok(ServingStatus::Serving)
    );
    server.abort();
}

// 97 checks: with `""` and the three probes, 101 services, one more than `List` may hold.
macro_rules! many_checks {
    ($($name:ident)*) => {
        $(
            #[health_check(interval_ms = 60_000)]
            async fn $name() -> Result<(), String> {
                Ok(())
            }
        )*

        #[derive(Clone, HealthState)]
        #[health(checks($($name),*))]
        struct Many {
            #[health(lifecycle)]
            lifecycle: Lifecycle,
        }
    };
}

many_checks!(c00 c01 c02 c03 c04 c05 c06 c07 c08 c09 c10 c11 c12 c13 c14 c15 c16 c17 c18 c19 c20 c21 c22 c23 c24 c25 c26 c27 c28 c29 c30 c31 c32 c33 c34 c35 c36 c37 c38 c39 c40 c41 c42 c43 c44 c45 c46 c47 c48 c49 c50 c51 c52 c53 c54 c55 c56 c57 c58 c59 c60 c61 c62 c63 c64 c65 c66 c67 c68 c69 c70 c71 c72 c73 c74 c75 c76 c77 c78 c79 c80 c81 c82 c83 c84 c85 c86 c87 c88 c89 c90 c91 c92 c93 c94 c95 c96);

async fn list_of(addr: SocketAddr) -> Result<HealthListResponse, tonic::Status> {
    let channel = Channel::from_shared(format!("http://{addr}"))
        .expect("uri")
        .connect()
        .await
        .expect("connect");
    let mut grpc = tonic::client::Grpc::new(channel);
    grpc.ready().await.expect("ready");
    let path = axum::http::uri::PathAndQuery::from_static("/grpc.health.v1.Health/List");
    grpc.unary::<HealthListRequest, HealthListResponse, _>(
        tonic::Request::new(HealthListRequest {}),
        path,
        tonic::codec::ProstCodec::default(),
    )
    .await
    .map(tonic::Response::into_inner)
}

#[tokio::test]
async fn list_beyond_100_services_is_resource_exhausted_and_check_still_answers() {
    let state = Many {
        lifecycle: Lifecycle::new(),
    };
    let app = Router::new().merge(HealthService::new(&state).router());
    let (addr, task) = health_tests::serve_in_background(app, state.clone(), |s| s).await;
    let mut client = client(addr).await;
    eventually_status(&mut client, "c96", ServingStatus::Serving).await;
    let error = list_of(addr).await.expect_err("101 services");
    assert_eq!(error.code(), tonic::Code::ResourceExhausted, "{error:?}");
    assert!(error.message().contains("101"), "{error:?}");
    task.abort();
}

#[tokio::test]
async fn the_empty_name_and_degraded_follow_the_configuration() {
    let state = fresh_state().await;
    let service = HealthService::new(&state)
        .empty_service(Probe::Ready)
        .fail_when_degraded(Probe::Ready);
    let app = Router::new().merge(service.router());
    let (addr, task) = health_tests::serve_in_background(app, state.clone(), |s| s).await;
    let mut client = client(addr).await;
    eventually_status(&mut client, "", ServingStatus::Serving).await;
    // A non-critical check fails: readiness is degraded, which this service counts as failing,
    // and `""` is readiness here.
    state.cache.set(Mode::Down);
    eventually_status(&mut client, "readiness", ServingStatus::NotServing).await;
    assert_eq!(check(&mut client, "").await, Ok(ServingStatus::NotServing));
    assert_eq!(
        check(&mut client, "liveness").await,
        Ok(ServingStatus::Serving)
    );
    // Draining: readiness (and so `""`) is NOT_SERVING whatever the checks say.
    state.cache.set(Mode::Up);
    eventually_status(&mut client, "", ServingStatus::Serving).await;
    state.lifecycle.begin_drain();
    eventually_status(&mut client, "", ServingStatus::NotServing).await;
    assert_eq!(
        check(&mut client, "liveness").await,
        Ok(ServingStatus::Serving)
    );
    task.abort();
}

#[tokio::test]
async fn each_configured_service_keeps_its_own_configuration_and_watch_is_refused_where_asked() {
    let state = fresh_state().await;
    let base = HealthService::new(&state);
    let ready_empty = base.clone().empty_service(Probe::Ready);
    let unary_only = base.clone().without_watch();
    // Two services on two servers: `base` (`""` is liveness) and `ready_empty`.
    let (base_addr, base_task) =
        health_tests::serve_in_background(base.router(), state.clone(), |s| s).await;
    let (ready_addr, ready_task) =
        health_tests::serve_in_background(ready_empty.router(), state.clone(), |s| s).await;
    let (unary_addr, unary_task) =
        health_tests::serve_in_background(unary_only.router(), state.clone(), |s| s).await;
    let mut base_client = client(base_addr).await;
    let mut ready_client = client(ready_addr).await;
    eventually_status(&mut base_client, "readiness", ServingStatus::Serving).await;
    let watch = |mut c: HealthClient<Channel>| async move {
        c.watch(HealthCheckRequest { service: "".into() })
            .await
            .expect("watch")
            .into_inner()
    };
    let mut base_watch = watch(base_client.clone()).await;
    let mut ready_watch = watch(ready_client.clone()).await;
    assert_eq!(
        next(&mut base_watch, Duration::from_secs(10)).await,
        Some(Ok(ServingStatus::Serving))
    );
    assert_eq!(
        next(&mut ready_watch, Duration::from_secs(10)).await,
        Some(Ok(ServingStatus::Serving))
    );
    state.database.set(Mode::Down);
    // `""` is readiness for `ready_empty` only: its Check and its Watch agree.
    eventually_status(&mut ready_client, "", ServingStatus::NotServing).await;
    assert_eq!(
        next(&mut ready_watch, Duration::from_secs(10)).await,
        Some(Ok(ServingStatus::NotServing))
    );
    assert_eq!(
        check(&mut base_client, "").await,
        Ok(ServingStatus::Serving)
    );
    assert_eq!(
        next(&mut base_watch, Duration::from_millis(500)).await,
        None
    );
    // `without_watch`: Check answers, Watch is UNIMPLEMENTED (a client falls back to Check).
    let mut unary_client = client(unary_addr).await;
    assert_eq!(
        check(&mut unary_client, "liveness").await,
        Ok(ServingStatus::Serving)
    );
    let refused = unary_client
        .watch(HealthCheckRequest { service: "".into() })
        .await
        .expect_err("watch refused");
    assert_eq!(refused.code(), tonic::Code::Unimplemented);
    for task in [base_task, ready_task, unary_task] {
        task.abort();
    }
}

#[tokio::test]
async fn a_request_beyond_the_size_bound_is_refused_and_the_service_still_answers() {
    let server = server().await;
    let mut client = client(server.addr).await;
    let huge = "x".repeat(health_axum::grpc::MAX_REQUEST_BYTES + 1);
    let refused = check(&mut client, &huge).await;
    assert_eq!(refused, Err(tonic::Code::OutOfRange));
    assert_eq!(
        check(&mut client, "readiness").await,
        Ok(ServingStatus::Serving)
    );
    server.task.abort();
}

#[tokio::test]
async fn shutdown_ends_every_watch_of_a_tonic_server_so_its_graceful_shutdown_completes() {
    let state = fresh_state().await;
    state.lifecycle.mark_started();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let service = HealthService::new(&state);
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(service.clone())
            .serve_with_incoming_shutdown(
                tokio_stream::wrappers::TcpListenerStream::new(listener),
                async {
                    let _ = stop_rx.await;
                },
            ),
    );
    let mut client = client(addr).await;
    eventually_status(&mut client, "readiness", ServingStatus::Serving).await;
    let mut stream = watch(&mut client, "readiness").await;
    assert_eq!(
        next(&mut stream, Duration::from_secs(10)).await,
        Some(Ok(ServingStatus::Serving))
    );
    // What a tonic server's owner does on SIGTERM: drain, say so, then shut down gracefully.
    state.lifecycle.begin_drain();
    assert_eq!(
        next(&mut stream, Duration::from_secs(10)).await,
        Some(Ok(ServingStatus::NotServing))
    );
    service.shutdown();
    let _ = stop_tx.send(());
    assert_eq!(
        next(&mut stream, Duration::from_secs(10)).await,
        Some(Err(tonic::Code::Ok))
    );
    let stopped = tokio::time::timeout(Duration::from_secs(4), server).await;
    assert!(matches!(stopped, Ok(Ok(Ok(())))), "{stopped:?}");
}
