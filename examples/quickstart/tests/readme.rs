//! The README against the code: its complete example is a compiled file (`examples/readme.rs`)
//! that starts without a database, and every `curl` command it shows is run against the built
//! example service, checking the shape of the answer the README shows; so is every command of
//! the Python gRPC health client (`tests/grpc_python/health_client.py`).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use health_tests::{free_port, get, request_with_headers, wait_for_status, Response};

const README: &str = include_str!("../../../README.md");

#[test]
fn readme_example_is_the_compiled_file() {
    let code = include_str!("../examples/readme.rs");
    let marker = "`src/main.rs`";
    let after = &README[README.find(marker).expect("README names src/main.rs")..];
    let start = after.find("```rust\n").expect("a rust block follows") + "```rust\n".len();
    let block = &after[start..];
    let block = &block[..block.find("```\n").expect("the block ends")];
    assert_eq!(
        block, code,
        "README's example differs from examples/quickstart/examples/readme.rs: update the README"
    );
}

#[test]
fn readme_cargo_toml_enables_the_features_its_code_needs() {
    let toml = fenced_blocks("toml")
        .into_iter()
        .find(|block| block.contains("health-axum"))
        .expect("a Cargo.toml block with health-axum");
    let health_axum = toml
        .lines()
        .find(|line| line.starts_with("health-axum"))
        .unwrap();
    assert!(health_axum.contains(r#""postgres""#), "{health_axum}");
    let sqlx = toml.lines().find(|line| line.starts_with("sqlx")).unwrap();
    assert!(sqlx.contains("tls-rustls"), "{sqlx}");
}

/// A child process, killed when dropped.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The README's service, built as the `readme` example of this package. `cargo test` builds
/// examples only when it builds every target, so build it here (a no-op when it is current),
/// into the target directory this test runs from.
fn readme_binary() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let profile_dir = exe.parent().and_then(|deps| deps.parent()).unwrap();
    let target_dir = profile_dir.parent().unwrap();
    let mut cargo = Command::new(env!("CARGO"));
    cargo
        .args([
            "build",
            "--quiet",
            "-p",
            "quickstart",
            "--example",
            "readme",
        ])
        .arg("--target-dir")
        .arg(target_dir)
        .current_dir(env!("CARGO_MANIFEST_DIR"));
    if profile_dir
        .file_name()
        .is_some_and(|name| name == "release")
    {
        cargo.arg("--release");
    }
    let status = cargo.status().expect("run cargo build --example readme");
    assert!(status.success(), "building the readme example failed");
    profile_dir.join("examples").join("readme")
}

/// Runs the README's service on a free port with `env`, with no PostgreSQL listening where
/// it points; checks that it comes up anyway and answers as the README says.
async fn readme_service_starts_without_a_database(env: &[(&str, String)]) {
    let binary = tokio::task::spawn_blocking(readme_binary).await.unwrap();
    let port = free_port();
    let child = Command::new(binary)
        .env("PORT", port.to_string())
        .env_remove("DATABASE_URL")
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start the readme example");
    let _running = Running(child);
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    // It reads PORT and answers at once: liveness checks no dependency.
    let live = wait_for_status(addr, "/health/live", 200, Duration::from_secs(10)).await;
    assert_eq!(live.json()["status"], "healthy", "{}", live.text());
    // Not started: the `migrations` startup check cannot reach the database.
    let startup = wait_for_status(addr, "/health/startup", 503, Duration::from_secs(5)).await;
    assert_eq!(
        startup.check_status("migrations").as_deref(),
        Some("unhealthy"),
        "{}",
        startup.text()
    );
    assert_eq!(get(addr, "/health/ready").await.status, 503);
    assert_eq!(get(addr, "/").await.text(), "hello");
    // And it stays up.
    for _ in 0..3 {
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert_eq!(get(addr, "/health/live").await.status, 200);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_readme_service_starts_without_database_url() {
    // libpq's variables apply without DATABASE_URL: point them at a port nobody listens on.
    readme_service_starts_without_a_database(&[
        ("PGHOST", "127.0.0.1".to_string()),
        ("PGPORT", free_port().to_string()),
    ])
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_readme_service_starts_with_an_unreachable_database() {
    let url = format!("postgres://app@127.0.0.1:{}/app", free_port());
    readme_service_starts_without_a_database(&[("DATABASE_URL", url)]).await;
}

// -- Every curl command of the README, against the example ---------------------------------

/// The contents of every fenced block of `language` in the README.
fn fenced_blocks(language: &str) -> Vec<String> {
    let fence = format!("```{language}\n");
    let mut blocks = Vec::new();
    let mut rest = README;
    while let Some(start) = rest.find(&fence) {
        let body = &rest[start + fence.len()..];
        let end = body.find("```").expect("every block ends");
        blocks.push(body[..end].to_string());
        rest = &body[end..];
    }
    blocks
}

/// A `curl` command line from the README, and the output it shows after it (if any).
#[derive(Debug)]
struct Documented {
    line: String,
    shown: Vec<String>,
}

/// How many times `curl` occurs in the README's `sh` and `text` blocks, however it is written:
/// every one must be a command that [`documented_curls`] finds and the test runs.
fn curl_occurrences() -> usize {
    fenced_blocks("sh")
        .iter()
        .chain(&fenced_blocks("text"))
        .map(|block| block.matches("curl").count())
        .sum()
}

/// Every `curl` command in the README's `sh` blocks, and each `$ curl` in its `text` blocks with
/// the output lines shown after it (blocks indented in a list item included: lines are trimmed).
fn documented_curls() -> Vec<Documented> {
    let mut found = Vec::new();
    for block in fenced_blocks("sh") {
        for line in block.lines().map(str::trim) {
            if line.starts_with("curl ") {
                found.push(Documented {
                    line: line.to_string(),
                    shown: Vec::new(),
                });
            }
        }
    }
    for block in fenced_blocks("text") {
        let mut lines = block
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .peekable();
        while let Some(line) = lines.next() {
            if let Some(command) = line.strip_prefix("$ ") {
                if command.starts_with("curl ") {
                    let mut shown = Vec::new();
                    while let Some(next) = lines.next_if(|l| !l.starts_with("$ ")) {
                        shown.push(next.to_string());
                    }
                    found.push(Documented {
                        line: command.to_string(),
                        shown,
                    });
                }
            }
        }
    }
    found
}

/// Splits a shell line into words: single and double quotes, no escapes (the README uses none).
fn shell_words(line: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut quote = None;
    let mut in_word = false;
    for c in line.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => word.push(c),
            (None, '\'' | '"') => {
                quote = Some(c);
                in_word = true;
            }
            (None, c) if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            (None, c) => {
                word.push(c);
                in_word = true;
            }
        }
    }
    if in_word {
        words.push(word);
    }
    words
}

/// What one curl line asks: the path on port 3000, its headers, and whether its output is
/// piped to a JSON formatter.
#[derive(Debug)]
struct Curl {
    path: String,
    headers: Vec<(String, String)>,
    json_pipe: bool,
}

fn parse_curl(line: &str) -> Curl {
    let (command, pipe) = match line.split_once('|') {
        Some((command, pipe)) => (command, Some(pipe.trim())),
        None => (line, None),
    };
    let json_pipe = match pipe {
        None => false,
        Some("python3 -m json.tool" | "jq" | "jq .") => true,
        Some(other) => panic!("{line}: this test does not know the pipe {other:?}; teach it"),
    };
    let mut words = shell_words(command).into_iter();
    assert_eq!(words.next().as_deref(), Some("curl"));
    let mut headers = Vec::new();
    let mut url = None;
    while let Some(word) = words.next() {
        match word.as_str() {
            "-i" | "-s" | "-si" | "-is" | "-sS" | "--silent" | "--include" => {}
            "-H" | "--header" => {
                let header = words.next().expect("-H takes a header");
                let (name, value) = header.split_once(':').expect("Name: value");
                headers.push((name.trim().to_string(), value.trim().to_string()));
            }
            flag if flag.starts_with('-') => {
                panic!("{line}: this test does not know the curl flag {flag}; teach it")
            }
            _ => {
                assert!(url.is_none(), "{line}: one URL per command");
                url = Some(word);
            }
        }
    }
    let url = url.unwrap_or_else(|| panic!("{line}: no URL"));
    let url = url.strip_prefix("http://").unwrap_or(&url);
    let path = url
        .strip_prefix("localhost:3000")
        .unwrap_or_else(|| panic!("{line}: the README's commands target localhost:3000"));
    Curl {
        path: if path.is_empty() {
            "/".into()
        } else {
            path.into()
        },
        headers,
        json_pipe,
    }
}

/// Checks that `answer` has the shape the README documents for `curl`: the content type its
/// format has, the verdict's fields, and for `?verbose` a line per check and a verdict line.
fn assert_documented_shape(documented: &Documented, curl: &Curl, answer: &Response) {
    let line = &documented.line;
    assert!(
        matches!(answer.status, 200 | 503),
        "{line}: status {}: {}",
        answer.status,
        answer.text()
    );
    let content_type = answer.header("content-type").unwrap_or_default();
    if curl.path == "/metrics" {
        // The Prometheus text format (examples/quickstart/tests/metrics.rs parses it for real).
        assert_eq!(
            content_type, "text/plain; version=0.0.4; charset=utf-8",
            "{line}"
        );
        let text = answer.text();
        assert!(
            text.contains("# TYPE health_check_status gauge\n")
                && text
                    .contains("health_check_status{check=\"database\",status=\"unhealthy\"} 0\n"),
            "{line}: {text}"
        );
        return;
    }
    let accept = curl
        .headers
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case("accept"))
        .map(|(_, value)| value.as_str());
    if curl.path.contains("verbose") {
        assert!(
            content_type.starts_with("text/plain"),
            "{line}: {content_type}"
        );
        let text = answer.text();
        let lines: Vec<&str> = text.lines().collect();
        let verdict = lines.last().copied().unwrap_or_default();
        assert!(
            verdict.ends_with(" check passed") || verdict.ends_with(" check failed"),
            "{line}: verdict line {verdict:?} in {text:?}"
        );
        for check in &lines[..lines.len() - 1] {
            assert!(
                check.starts_with("[+]") || check.starts_with("[-]") || check.starts_with("warn:"),
                "{line}: {check:?}"
            );
        }
        // The warnings the README shows are the warnings the example gives, word for word and
        // in order, none missing and none added.
        if !documented.shown.is_empty() {
            let warnings = |lines: &mut dyn Iterator<Item = &str>| -> Vec<String> {
                lines
                    .filter(|l| l.starts_with("warn:"))
                    .map(str::to_string)
                    .collect()
            };
            assert_eq!(
                warnings(&mut documented.shown.iter().map(String::as_str)),
                warnings(&mut lines.iter().copied()),
                "{line}: the warnings the README shows, then those answered, in {text:?}"
            );
        }
        // The checks the README shows are the checks the example answers with, excluded ones
        // marked as such; pass or fail may differ (the README shows an outage).
        for shown in &documented.shown {
            let Some(rest) = shown
                .strip_prefix("[+]")
                .or_else(|| shown.strip_prefix("[-]"))
            else {
                continue;
            };
            let name = rest.split_whitespace().next().unwrap_or_default();
            if name == "lifecycle" {
                continue;
            }
            let answered = lines
                .iter()
                .find(|l| {
                    l.get(3..)
                        .is_some_and(|r| r.split_whitespace().next() == Some(name))
                })
                .unwrap_or_else(|| panic!("{line}: the README shows {shown:?}; got {text:?}"));
            assert_eq!(
                rest.contains(" excluded"),
                answered.contains(" excluded"),
                "{line}: the README shows {shown:?}; got {answered:?}"
            );
        }
        return;
    }
    let body = answer.json();
    if accept == Some("application/health+json") {
        assert!(
            content_type.starts_with("application/health+json"),
            "{line}: {content_type}"
        );
        assert!(
            matches!(body["status"].as_str(), Some("pass" | "warn" | "fail")),
            "{line}: {body}"
        );
        assert!(body["checks"].is_object(), "{line}: {body}");
    } else {
        assert!(
            content_type.starts_with("application/json"),
            "{line}: {content_type}"
        );
        assert!(
            matches!(
                body["status"].as_str(),
                Some("healthy" | "degraded" | "unhealthy")
            ),
            "{line}: {body}"
        );
        assert!(body["phase"].is_string(), "{line}: {body}");
        assert!(body["checks"].is_array(), "{line}: {body}");
    }
    if curl.json_pipe {
        // Parsed above: `python3 -m json.tool` would print it.
        assert!(body.is_object(), "{line}: {body}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn every_curl_in_the_readme_works_against_the_example() {
    let documented = documented_curls();
    let occurrences = curl_occurrences();
    assert!(
        occurrences > 0,
        "no curl in the README's sh and text blocks"
    );
    assert_eq!(
        documented.len(),
        occurrences,
        "`curl` occurs {occurrences} times in the README's sh and text blocks, but only these \
         commands were found (teach the test the others): {documented:#?}"
    );
    let dir = health_tests::temp_dir("quickstart-readme");
    let port = free_port();
    let child = Command::new(env!("CARGO_BIN_EXE_quickstart"))
        .env("PORT", port.to_string())
        .env(
            "DATABASE_URL",
            format!("sqlite://{}/notes.db?mode=rwc", dir.display()),
        )
        .env("HEALTH_TOKEN", "secret")
        .env_remove("PROBE_PORT")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start the quickstart binary");
    let _running = Running(child);
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    wait_for_status(addr, "/health/ready", 200, Duration::from_secs(30)).await;
    let mut ran = 0;
    for documented in &documented {
        let curl = parse_curl(&documented.line);
        let headers: Vec<(&str, &str)> = curl
            .headers
            .iter()
            .map(|(name, value)| (name.as_str(), value.as_str()))
            .collect();
        let answer = request_with_headers(addr, "GET", &curl.path, &headers).await;
        println!("{} -> {}", documented.line, answer.status);
        assert_documented_shape(documented, &curl, &answer);
        assert_eq!(
            answer.status,
            200,
            "{}: the example is healthy: {}",
            documented.line,
            answer.text()
        );
        ran += 1;
    }
    assert_eq!(ran, occurrences, "every documented curl ran");
    let _ = std::fs::remove_dir_all(&dir);
}

// -- Every gRPC health client command of the README, against the example ---------------------

/// The README's `sh` lines that run the Python gRPC health client.
fn documented_grpc_clients() -> Vec<String> {
    fenced_blocks("sh")
        .iter()
        .flat_map(|block| {
            block
                .lines()
                .map(str::trim)
                .filter(|line| line.contains("health_client.py"))
                .map(str::to_string)
                .collect::<Vec<_>>()
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn every_grpc_client_command_in_the_readme_works_against_the_example() {
    let commands = documented_grpc_clients();
    assert!(
        !commands.is_empty(),
        "no health_client.py command in the README"
    );
    let dir = health_tests::temp_dir("quickstart-readme-grpc");
    let port = free_port();
    let child = Command::new(env!("CARGO_BIN_EXE_quickstart"))
        .env("PORT", port.to_string())
        .env(
            "DATABASE_URL",
            format!("sqlite://{}/notes.db?mode=rwc", dir.display()),
        )
        .env_remove("PROBE_PORT")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start the quickstart binary");
    let _running = Running(child);
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    wait_for_status(addr, "/health/ready", 200, Duration::from_secs(30)).await;
    for line in &commands {
        let words = shell_words(line);
        // The README runs the client from the environment the tests build in the default
        // target directory; here it is wherever this test binary was built.
        assert_eq!(words[0], "target/grpc-venv/bin/python", "{line}");
        assert_eq!(words[1], "tests/grpc_python/health_client.py", "{line}");
        assert_eq!(
            words.get(3).map(String::as_str),
            Some("localhost:3000"),
            "{line}"
        );
        let mut args = vec![words[2].clone(), addr.to_string()];
        args.extend(words[4..].iter().cloned());
        let lines = tokio::task::spawn_blocking(move || {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            health_tests::grpc_python::run(&args)
        })
        .await
        .unwrap_or_else(|error| std::panic::resume_unwind(error.into_panic()));
        println!("{line} -> {lines:?}");
        assert!(!lines.is_empty(), "{line}: no answer");
        // The example is healthy: every name asked, and every name listed, is SERVING.
        for answer in &lines {
            let statuses: Vec<&serde_json::Value> = match answer["statuses"].as_object() {
                Some(listed) => listed.values().collect(),
                None => vec![&answer["status"]],
            };
            assert!(
                statuses.iter().all(|status| *status == "SERVING"),
                "{line}: {answer}"
            );
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}
