//! The example binary as the test binaries run it: on a fresh SQLite file in a temporary
//! directory (or on a database URL given), on a free port, its output kept in log files, and
//! killed when dropped. Each test binary uses what it needs of this module.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The running example binary, killed (and its directory removed) when dropped.
pub struct Service {
    pub child: Child,
    pub addr: SocketAddr,
    pub dir: std::path::PathBuf,
}

impl Service {
    /// Starts the binary, in a temporary directory named after `prefix`, on `database_url` (a
    /// new SQLite file when `None`), with a drain delay of 600 ms and a shutdown timeout of 3 s
    /// unless `env` sets them, and `env` added.
    pub fn start(prefix: &str, database_url: Option<String>, env: &[(&str, String)]) -> Service {
        let dir = health_tests::temp_dir(prefix);
        let port = health_tests::free_port();
        let url =
            database_url.unwrap_or_else(|| format!("sqlite://{}/notes.db?mode=rwc", dir.display()));
        let log = |name: &str| std::fs::File::create(dir.join(name)).expect("create a log file");
        let child = Command::new(env!("CARGO_BIN_EXE_quickstart"))
            .env("PORT", port.to_string())
            .env("DATABASE_URL", url)
            .env("DRAIN_DELAY_MS", "600")
            .env("SHUTDOWN_TIMEOUT_MS", "3000")
            .env("LOG_LEVEL", "info")
            .env_remove("HEALTH_TOKEN")
            .env_remove("PROBE_PORT")
            .env_remove("STARTUP_BUDGET_MS")
            .envs(env.iter().map(|(k, v)| (k, v)))
            .stdout(Stdio::from(log("stdout.log")))
            .stderr(Stdio::from(log("stderr.log")))
            .spawn()
            .expect("start the quickstart binary");
        Service {
            child,
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
            dir,
        }
    }

    /// What the service printed so far: its log (stdout), then stderr.
    pub fn output(&self) -> String {
        let read = |name: &str| std::fs::read_to_string(self.dir.join(name)).unwrap_or_default();
        read("stdout.log") + &read("stderr.log")
    }

    /// Waits for the process to exit, for at most `within`.
    pub async fn exit_within(&mut self, within: Duration) -> std::process::ExitStatus {
        let begun = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(
                begun.elapsed() < within,
                "the service did not exit within {within:?}; output:\n{}",
                self.output()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
