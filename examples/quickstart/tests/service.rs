//! Runs the built example binary as a user would (on a fresh SQLite file, or on a PostgreSQL
//! server the test starts, on a free port) and checks its probes, its API, its graceful shutdown
//! on a real SIGTERM, and what its probes answer while PostgreSQL is down.

use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use health_tests::{free_port, get, wait_for_status};

struct Service {
    child: Child,
    addr: SocketAddr,
    dir: std::path::PathBuf,
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Starts the binary on a new SQLite file in a temporary directory, or on `database_url`.
fn start(database_url: Option<String>) -> Service {
    start_with(database_url, &[])
}

/// [`start`], with more environment variables.
fn start_with(database_url: Option<String>, env: &[(&str, String)]) -> Service {
    let dir = health_tests::temp_dir("quickstart-test");
    let port = free_port();
    let url =
        database_url.unwrap_or_else(|| format!("sqlite://{}/notes.db?mode=rwc", dir.display()));
    let child = Command::new(env!("CARGO_BIN_EXE_quickstart"))
        .env("PORT", port.to_string())
        .env("DATABASE_URL", url)
        .env("DRAIN_DELAY_MS", "600")
        .env("SHUTDOWN_TIMEOUT_MS", "3000")
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start the quickstart binary");
    Service {
        child,
        addr: SocketAddr::from(([127, 0, 0, 1], port)),
        dir,
    }
}

fn names(body: &serde_json::Value) -> Vec<String> {
    body["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn probes_answer_as_documented_and_sigterm_drains() {
    let mut service = start(None);
    let addr = service.addr;
    // The first passing startup probe ran the startup checks; later ones answer from the latch.
    let startup = wait_for_status(addr, "/health/startup", 200, Duration::from_secs(30))
        .await
        .json();
    assert_eq!(names(&startup), ["migrations"]);
    assert!(names(&get(addr, "/health/startup").await.json()).is_empty());
    assert_eq!(startup["version"], "0.3.1", "the service's own version");

    let ready = get(addr, "/health/ready").await;
    assert_eq!(ready.status, 200);
    assert_eq!(names(&ready.json()), ["database"]);
    assert_eq!(ready.check_status("database").as_deref(), Some("healthy"));

    let live = get(addr, "/health/live").await;
    assert_eq!(live.status, 200);
    assert!(
        names(&live.json()).is_empty(),
        "liveness checks no dependency"
    );

    let full = get(addr, "/health").await;
    assert_eq!(full.status, 200);
    assert_eq!(names(&full.json()), ["migrations", "database"]);

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

    // SIGTERM with a slow request in flight.
    let slow = tokio::spawn(async move { get(addr, "/work?ms=1500").await });
    tokio::time::sleep(Duration::from_millis(150)).await;
    let signalled = Instant::now();
    health_tests::send_sigterm(service.child.id());
    let ready = wait_for_status(addr, "/health/ready", 503, Duration::from_secs(2)).await;
    let turned = signalled.elapsed();
    assert!(
        turned < Duration::from_millis(100),
        "readiness turned 503 {turned:?} after SIGTERM"
    );
    assert_eq!(ready.json()["phase"], "draining");

    let slow = slow.await.unwrap();
    assert_eq!(slow.status, 200, "in-flight request completes");
    assert_eq!(slow.json()["worked_ms"], 1500);

    // The configured bound: drain delay (600 ms) + shutdown timeout (3 s), plus start-up slack.
    let bound = Duration::from_millis(600 + 3000 + 500);
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
    let service = start(Some(pg.url()));
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
    assert_eq!(verbose, "[+]database ok\nready check passed\n");
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
        details["size"].is_u64() && details["max"] == 5,
        "{authorized}"
    );
}
