//! Runs the built example binary as a user would (on a fresh SQLite file, or on a PostgreSQL
//! server the test starts, on a free port) and checks its probes, its API, its graceful shutdown
//! on a real SIGTERM, and what its probes answer while PostgreSQL is down.

use std::net::SocketAddr;
use std::process::Command;
use std::time::{Duration, Instant};

use health_tests::timeline::{assert_drained, until_unanswered};
use health_tests::{free_port, get, wait_for_status};

mod support;
use support::Service;

/// Starts the binary on a new SQLite file in a temporary directory, or on `database_url`.
fn start(database_url: Option<String>) -> Service {
    start_with(database_url, &[])
}

/// [`start`], with more environment variables.
fn start_with(database_url: Option<String>, env: &[(&str, String)]) -> Service {
    Service::start("quickstart-test", database_url, env)
}

fn names(body: &serde_json::Value) -> Vec<String> {
    body["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap().to_string())
        .collect()
}

/// The drain delay of the SIGTERM test: long enough that a loaded machine still shows its
/// order (readiness 503 early in it, the listener open to its end).
const DRAIN_DELAY: Duration = Duration::from_millis(2000);
/// How late after its due time a step may come on a loaded machine: half the drain delay.
const SLACK: Duration = Duration::from_millis(1000);
/// How long the request in flight at the signal works: past the drain delay and its slack.
const WORK_MS: u64 = 4000;
const SHUTDOWN_TIMEOUT_MS: u64 = 3000;

#[tokio::test(flavor = "multi_thread")]
async fn probes_answer_as_documented_and_sigterm_drains() {
    let mut service = start_with(
        None,
        &[
            ("DRAIN_DELAY_MS", DRAIN_DELAY.as_millis().to_string()),
            ("SHUTDOWN_TIMEOUT_MS", SHUTDOWN_TIMEOUT_MS.to_string()),
        ],
    );
    let addr = service.addr;
    // The first passing startup probe ran the startup checks; later ones answer from the latch,
    // listing the same checks (the startup-only ones retired).
    let startup = wait_for_status(addr, "/health/startup", 200, Duration::from_secs(30))
        .await
        .json();
    assert_eq!(names(&startup), ["migrations"]);
    let later = get(addr, "/health/startup").await.json();
    assert_eq!(names(&later), ["migrations"]);
    assert_eq!(later["checks"][0]["retired"], true, "{later}");
    assert_eq!(startup["version"], "0.3.1", "the service's own version");

    let ready = get(addr, "/health/ready").await;
    assert_eq!(ready.status, 200);
    assert_eq!(names(&ready.json()), ["database", "cache"]);
    assert_eq!(ready.check_status("database").as_deref(), Some("healthy"));
    assert_eq!(ready.check_status("cache").as_deref(), Some("healthy"));

    let live = get(addr, "/health/live").await;
    assert_eq!(live.status, 200);
    assert!(
        names(&live.json()).is_empty(),
        "liveness checks no dependency"
    );

    let full = get(addr, "/health").await;
    assert_eq!(full.status, 200);
    assert_eq!(names(&full.json()), ["migrations", "database", "cache"]);

    // The API works over the migrated database.
    let created = health_tests::request_with_body(
        addr,
        "POST",
        "/notes",
        "application/json",
        br#"{"body":"remember the milk"}"#,
    )
    .await;
    assert_eq!(created.status, 201);
    let id = created.json()["id"].as_i64().unwrap();
    let note = get(addr, &format!("/notes/{id}")).await;
    assert_eq!(note.json()["body"], "remember the milk");
    assert_eq!(get(addr, "/notes/999999").await.status, 404);

    // SIGTERM with a slow request in flight. From the signal on, a new connection every 10 ms
    // (readiness, liveness, the index in turn) until one is refused, timed on this process's
    // clock: the service is another process, so only lower bounds are exact; the upper ones
    // allow half the drain delay.
    let slow = tokio::spawn(async move {
        let response = get(addr, &format!("/work?ms={WORK_MS}")).await;
        (response, tokio::time::Instant::now())
    });
    tokio::time::sleep(Duration::from_millis(150)).await;
    let signalled = tokio::time::Instant::now();
    health_tests::send_sigterm(service.child.id());
    let attempts = until_unanswered(
        addr,
        &["/health/ready", "/health/live", "/"],
        Duration::from_millis(10),
        Duration::from_secs(10),
    )
    .await;
    // Readiness 503 (draining) within half the delay, everything else answered 200 until the
    // listener stops, no earlier than the delay after the signal and less than the slack after.
    let drain = assert_drained(&attempts, signalled, "/health/ready", DRAIN_DELAY, SLACK);

    // The request in flight completes, after the listener stopped.
    let (slow, slow_done) = slow.await.unwrap();
    assert_eq!(slow.status, 200, "in-flight request completes");
    assert_eq!(slow.json()["worked_ms"], WORK_MS);
    let answered = slow_done - signalled;
    assert!(
        answered > drain.refused_by,
        "the slow request was answered {answered:?} after the signal, before the listener \
         stopped ({:?})",
        drain.refused_by
    );

    // The configured bound: drain delay + shutdown timeout, plus slack.
    let bound = Duration::from_millis(
        DRAIN_DELAY.as_millis() as u64 + SHUTDOWN_TIMEOUT_MS + SLACK.as_millis() as u64,
    );
    let status = loop {
        if let Some(status) = service.child.try_wait().unwrap() {
            break status;
        }
        assert!(
            signalled.elapsed() < bound,
            "the service did not exit within {bound:?} of SIGTERM"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert!(status.success(), "exit status {status:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn on_postgres_a_database_outage_fails_readiness_only_and_heals() {
    let pg = std::sync::Arc::new(health_tests::pg::PgServer::start());
    let service = start_with(Some(pg.url()), &[("HEALTH_TOKEN", "s3cret".to_string())]);
    let addr = service.addr;
    wait_for_status(addr, "/health/startup", 200, Duration::from_secs(30)).await;
    let ready = wait_for_status(addr, "/health/ready", 200, Duration::from_secs(10)).await;
    assert_eq!(ready.json()["checks"][0]["name"], "database");
    let created = health_tests::request_with_body(
        addr,
        "POST",
        "/notes",
        "application/json",
        br#"{"body":"on postgres"}"#,
    )
    .await;
    assert_eq!(created.status, 201, "the API works on PostgreSQL");

    let stopping = std::sync::Arc::clone(&pg);
    tokio::task::spawn_blocking(move || stopping.stop())
        .await
        .unwrap();
    let down = Instant::now();
    // The example keeps the defaults: a run every 5 s, two failures in a row to turn unhealthy.
    let ready = wait_for_status(addr, "/health/ready", 503, Duration::from_secs(15)).await;
    println!(
        "readiness 503 {:?} after PostgreSQL stopped",
        down.elapsed()
    );
    let check = &ready.json()["checks"][0];
    assert_eq!(check["status"], "unhealthy", "{check}");
    assert_eq!(check["message"], "reason withheld", "{check}");
    // The real cause, for authorized callers and in the log: not "timed out after 500 ms".
    let authorized = health_tests::request_with_headers(
        addr,
        "GET",
        "/health/ready",
        &[("Authorization", "Bearer s3cret")],
    )
    .await
    .json();
    let message = authorized["checks"][0]["message"].as_str().unwrap_or("");
    assert!(
        message.starts_with("cannot connect to the database: ")
            && message.contains("Connection refused"),
        "{authorized}"
    );
    let output = service.output();
    let logged = output
        .lines()
        .find(|line| line.contains("health check status changed") && line.contains("unhealthy"))
        .unwrap_or_else(|| panic!("no status change logged:\n{output}"));
    assert!(
        logged.contains("check=\"database\"") && logged.contains("Connection refused"),
        "{logged}"
    );
    for _ in 0..5 {
        assert_eq!(
            get(addr, "/health/live").await.status,
            200,
            "liveness unaffected"
        );
    }
    assert_eq!(get(addr, "/notes").await.status, 503, "the API says so too");

    let starting = std::sync::Arc::clone(&pg);
    tokio::task::spawn_blocking(move || starting.start_again())
        .await
        .unwrap();
    let up = Instant::now();
    // At most one back-off (the interval, 5 s, doubled once) and one interval.
    wait_for_status(addr, "/health/ready", 200, Duration::from_secs(20)).await;
    println!(
        "readiness 200 {:?} after PostgreSQL restarted",
        up.elapsed()
    );
    assert_eq!(get(addr, "/notes").await.status, 200);
}

#[tokio::test(flavor = "multi_thread")]
async fn probes_on_their_own_port_with_details_for_the_token() {
    let probe_port = free_port();
    let service = start_with(
        None,
        &[
            ("PROBE_PORT", probe_port.to_string()),
            ("HEALTH_TOKEN", "s3cret".to_string()),
        ],
    );
    let probes = SocketAddr::from(([127, 0, 0, 1], probe_port));
    wait_for_status(probes, "/startupz", 200, Duration::from_secs(30)).await;
    for path in [
        "/livez",
        "/readyz",
        "/healthz",
        "/readyz/database",
        "/health/ready",
    ] {
        assert_eq!(
            get(probes, path).await.status,
            200,
            "{path} on the probe port"
        );
    }
    let verbose = get(probes, "/readyz?verbose").await.text();
    assert_eq!(verbose, "[+]database ok\n[+]cache ok\nready check passed\n");
    // The application port serves the API, not the probes.
    wait_for_status(service.addr, "/", 200, Duration::from_secs(5)).await;
    assert_eq!(get(service.addr, "/health/ready").await.status, 404);

    // Details only with the token.
    let anonymous = get(probes, "/health/ready").await.json();
    assert!(
        anonymous["checks"][0].get("details").is_none(),
        "{anonymous}"
    );
    let authorized = health_tests::request_with_headers(
        probes,
        "GET",
        "/health/ready",
        &[("Authorization", "Bearer s3cret")],
    )
    .await
    .json();
    let details = &authorized["checks"][0]["details"];
    assert!(
        details["connections"]["open"].is_u64() && details["connections"]["max"] == 5,
        "{authorized}"
    );
    let cache = &authorized["checks"][1]["details"];
    assert_eq!(cache["capacity"], 1000, "{authorized}");
}

#[tokio::test(flavor = "multi_thread")]
async fn client_input_postgres_rejects_is_a_4xx_not_a_503_nor_an_error_line() {
    let pg = health_tests::pg::PgServer::start();
    let service = start(Some(pg.url()));
    let addr = service.addr;
    wait_for_status(addr, "/health/ready", 200, Duration::from_secs(30)).await;
    // U+0000, escaped in JSON and raw in the string PostgreSQL would be sent.
    for body in [
        &br#"{"body":"a\u0000b"}"#[..],
        br#"{"body":"\u0000"}"#,
        br#"{"body":"text \u0000 with NUL and more text"}"#,
    ] {
        let answer =
            health_tests::request_with_body(addr, "POST", "/notes", "application/json", body).await;
        assert_eq!(
            answer.status,
            422,
            "{}: {}",
            String::from_utf8_lossy(body),
            answer.text()
        );
        assert_eq!(answer.json()["error"], "body must not contain U+0000 (NUL)");
    }
    // Malformed JSON and a lone surrogate are the client's fault too.
    for body in [&br#"{"body":"\ud800"}"#[..], b"{\"body\":", b"\xff\xfe"] {
        let answer =
            health_tests::request_with_body(addr, "POST", "/notes", "application/json", body).await;
        assert!(
            (400..500).contains(&answer.status),
            "{}: {} {}",
            String::from_utf8_lossy(body),
            answer.status,
            answer.text()
        );
    }
    // The database never saw a failing statement, and nothing was logged as an error.
    assert_eq!(get(addr, "/health/ready").await.status, 200);
    assert_eq!(get(addr, "/notes").await.status, 200);
    let output = service.output();
    assert!(
        !output.contains("ERROR") && !output.contains("database error"),
        "{output}"
    );
}

/// Turns TLS on in `pg` with a self-signed certificate made by the `openssl` CLI, and makes
/// the server refuse every connection that is not TLS (`hostssl` only in `pg_hba.conf`).
async fn require_tls(pg: &health_tests::pg::PgServer) {
    let dir = pg.log_path().parent().unwrap().to_path_buf();
    let data = dir.join("data");
    let (cert, key) = (data.join("server.crt"), data.join("server.key"));
    let made = Command::new("openssl")
        .args([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
        ])
        .args(["-subj", "/CN=localhost", "-keyout"])
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .expect("run openssl (the openssl CLI makes the test's certificate)");
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    std::fs::write(
        data.join("pg_hba.conf"),
        "local all all trust\nhostssl all all 127.0.0.1/32 trust\n",
    )
    .unwrap();
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    if health_tests::is_root() {
        let status = Command::new("chown")
            .args(["postgres:postgres"])
            .args([&cert, &key, &data.join("pg_hba.conf")])
            .status()
            .unwrap();
        assert!(status.success());
    }
    // `ssl` and `pg_hba.conf` are reloaded on SIGHUP; the reload goes through a connection
    // that is still allowed (plain TCP, before the reload).
    let mut admin = <sqlx::PgConnection as sqlx::Connection>::connect(&pg.url())
        .await
        .expect("connect to turn TLS on");
    for statement in ["ALTER SYSTEM SET ssl = on", "SELECT pg_reload_conf()"] {
        sqlx::Executor::execute(&mut admin, sqlx::raw_sql(statement))
            .await
            .unwrap_or_else(|e| panic!("{statement}: {e}"));
    }
    // Wait until the reload is in effect: plain connections are refused.
    let plain = format!("{}?sslmode=disable", pg.url());
    let deadline = Instant::now() + Duration::from_secs(10);
    while <sqlx::PgConnection as sqlx::Connection>::connect(&plain)
        .await
        .is_ok()
    {
        assert!(
            Instant::now() < deadline,
            "PostgreSQL did not reload its TLS settings"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn sslmode_require_works_against_a_server_that_only_takes_tls() {
    let pg = health_tests::pg::PgServer::start();
    require_tls(&pg).await;
    let service = start(Some(format!("{}?sslmode=require", pg.url())));
    let addr = service.addr;
    wait_for_status(addr, "/health/startup", 200, Duration::from_secs(30)).await;
    let ready = wait_for_status(addr, "/health/ready", 200, Duration::from_secs(10)).await;
    // Connected over TLS: healthy, or degraded when that first round trip, handshake included,
    // took over the check's 100 ms `degraded_ms` (a cold TLS handshake on a busy machine may).
    let database = ready.check_status("database");
    assert!(
        matches!(database.as_deref(), Some("healthy" | "degraded")),
        "{database:?}: {}",
        ready.text()
    );
    let created = health_tests::request_with_body(
        addr,
        "POST",
        "/notes",
        "application/json",
        br#"{"body":"over TLS"}"#,
    )
    .await;
    assert_eq!(created.status, 201, "{}", created.text());
    let output = service.output();
    assert!(!output.contains("TLS support"), "{output}");
}

#[tokio::test(flavor = "multi_thread")]
async fn start_up_waits_for_a_database_that_comes_up_later() {
    let pg = std::sync::Arc::new(health_tests::pg::PgServer::start());
    let stopping = std::sync::Arc::clone(&pg);
    tokio::task::spawn_blocking(move || stopping.stop())
        .await
        .unwrap();
    // The database is down when the service starts.
    let mut service = start_with(
        Some(pg.url()),
        &[("STARTUP_BUDGET_MS", "120000".to_string())],
    );
    let addr = service.addr;
    wait_for_status(addr, "/health/live", 200, Duration::from_secs(10)).await;
    // Meanwhile: startup and readiness 503, liveness 200, the process keeps running, and the
    // log says what it waits for. The first migration attempt gives up after the pool's 3 s
    // acquire timeout; wait for its retry to be logged.
    let deadline = Instant::now() + Duration::from_secs(10);
    while !service.output().contains("database not reachable yet") {
        assert!(
            Instant::now() < deadline,
            "no retry logged:\n{}",
            service.output()
        );
        assert_eq!(get(addr, "/health/startup").await.status, 503);
        assert_eq!(get(addr, "/health/ready").await.status, 503);
        assert_eq!(get(addr, "/health/live").await.status, 200);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(service.child.try_wait().unwrap().is_none(), "still running");
    let startup = get(addr, "/health/startup").await;
    assert_eq!(startup.status, 503);
    assert_eq!(startup.json()["phase"], "starting", "{}", startup.text());

    let starting = std::sync::Arc::clone(&pg);
    tokio::task::spawn_blocking(move || starting.start_again())
        .await
        .unwrap();
    // Then the migrations run and the service becomes ready: a retry at most 5 s away, plus a
    // connection.
    wait_for_status(addr, "/health/startup", 200, Duration::from_secs(20)).await;
    wait_for_status(addr, "/health/ready", 200, Duration::from_secs(10)).await;
    let created = health_tests::request_with_body(
        addr,
        "POST",
        "/notes",
        "application/json",
        br#"{"body":"after the wait"}"#,
    )
    .await;
    assert_eq!(
        created.status,
        201,
        "the migrations ran: {}",
        created.text()
    );
    assert!(service.output().contains("migrations applied"));
    assert!(service.child.try_wait().unwrap().is_none(), "still running");
}

#[tokio::test(flavor = "multi_thread")]
async fn past_the_start_up_budget_it_exits_1_saying_why() {
    // Nobody listens on this port.
    let url = format!("postgres://postgres@127.0.0.1:{}/postgres", free_port());
    let mut service = start_with(Some(url), &[("STARTUP_BUDGET_MS", "1000".to_string())]);
    let addr = service.addr;
    let begun = Instant::now();
    // While it waits, it answers probes: started no, alive yes.
    let live = wait_for_status(addr, "/health/live", 200, Duration::from_secs(2)).await;
    assert_eq!(live.json()["phase"], "starting");
    assert_eq!(get(addr, "/health/startup").await.status, 503);
    // The budget (1 s), plus at most one connection attempt (the pool's 3 s acquire timeout).
    let status = service.exit_within(Duration::from_secs(10)).await;
    println!("exited {status:?} after {:?}", begun.elapsed());
    assert_eq!(status.code(), Some(1), "{}", service.output());
    let output = service.output();
    assert!(
        output.contains(
            "quickstart: start-up work failed: the database was not reachable within the \
             start-up budget of 1000 ms (STARTUP_BUDGET_MS); last error: "
        ),
        "{output}"
    );
}
