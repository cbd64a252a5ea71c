// Checks returning `anyhow::Result<()>`, `Result<(), anyhow::Error>` and
// `anyhow::Result<CheckOutcome>`, with `?` and `.context(...)` inside: the error's text (its
// whole context chain with `{:#}`) becomes the check's message.
#![deny(warnings)]
use anyhow::Context as _;
use health_axum::prelude::*;

#[health_check]
async fn config() -> anyhow::Result<()> {
    let port: u16 = "8080".parse().context("PORT is not a number")?;
    anyhow::ensure!(port != 0, "PORT is 0");
    Ok(())
}

#[health_check(name = "disk")]
async fn disk(_: &AppState) -> Result<(), anyhow::Error> {
    std::fs::metadata("/").context("cannot stat /")?;
    Ok(())
}

#[health_check]
async fn queue() -> anyhow::Result<CheckOutcome> {
    Ok(CheckOutcome::degraded("backlog"))
}

#[health_check]
async fn broken() -> anyhow::Result<()> {
    Err(anyhow::anyhow!("connection refused")).context("cannot reach the queue")
}

#[derive(Clone, HealthState)]
#[health(checks(config, disk, queue, broken))]
struct AppState {
    #[health(lifecycle)]
    lifecycle: Lifecycle,
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let state = AppState {
        lifecycle: Lifecycle::new(),
    };
    let names: Vec<_> = AppState::CHECKS.iter().map(|c| c.name()).collect();
    assert_eq!(names, ["config", "disk", "queue", "broken"]);
    let result = health_axum::engine::run_check(&AppState::CHECKS[3], &state).await;
    let text = format!("{result:?}");
    assert!(text.contains("cannot reach the queue: connection refused"), "{text}");
    let result = health_axum::engine::run_check(&AppState::CHECKS[0], &state).await;
    assert_eq!(result.status, Status::Healthy);
}
