//! A real PostgreSQL server for fault-injection tests: created with `initdb` in a temporary
//! directory, started with `pg_ctl` on a free port, and stopped, killed, frozen (SIGSTOP) and
//! restarted by the test. Every statement is logged, so tests count what the server executed
//! ([`PgServer::count_queries`]).
//!
//! Finding no PostgreSQL binaries is a test failure with instructions, never a skip.

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

/// A PostgreSQL server owned by one test; stopped and deleted on drop.
pub struct PgServer {
    bin: PathBuf,
    dir: PathBuf,
    /// The port it listens on (127.0.0.1).
    pub port: u16,
    as_postgres: bool,
}

fn find_bin() -> PathBuf {
    if let Ok(dir) = std::env::var("PG_BIN") {
        return PathBuf::from(dir);
    }
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|d| {
            d.filter_map(|e| e.ok())
                .map(|e| e.path().join("bin"))
                .collect()
        })
        .unwrap_or_default();
    versions.retain(|p| p.join("initdb").exists() && p.join("pg_ctl").exists());
    versions.sort();
    versions.pop().unwrap_or_else(|| {
        panic!(
            "PostgreSQL server binaries not found: these tests start their own server with \
             initdb and pg_ctl. Install them (Debian: `apt-get install postgresql`) or set \
             PG_BIN to the directory holding initdb and pg_ctl."
        )
    })
}

impl PgServer {
    /// Creates a cluster in a new temporary directory and starts it on a free port.
    pub fn start() -> PgServer {
        let bin = find_bin();
        let as_postgres = crate::is_root();
        let dir = crate::temp_dir("health-pg");
        if as_postgres {
            // PostgreSQL refuses to run as root: hand the directory to the `postgres` user.
            let status = Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(&dir)
                .status()
                .expect("chown");
            assert!(
                status.success(),
                "chown of {} to postgres failed",
                dir.display()
            );
        }
        let server = PgServer {
            bin,
            port: crate::free_port(),
            dir,
            as_postgres,
        };
        let data = server.data();
        server.run(
            "initdb",
            &[
                "-D",
                data.to_str().unwrap(),
                "-A",
                "trust",
                "-U",
                "postgres",
                "--no-sync",
                "-E",
                "UTF8",
            ],
        );
        server.start_again();
        server
    }

    fn data(&self) -> PathBuf {
        self.dir.join("data")
    }

    /// The server's log, where every statement appears.
    pub fn log_path(&self) -> PathBuf {
        self.dir.join("server.log")
    }

    fn run(&self, tool: &str, args: &[&str]) {
        let program = self.bin.join(tool);
        let mut command = if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&program);
            c
        } else {
            Command::new(&program)
        };
        let output = command
            .args(args)
            .current_dir(&self.dir)
            .output()
            .unwrap_or_else(|e| panic!("run {}: {e}", program.display()));
        assert!(
            output.status.success(),
            "{tool} {args:?} failed: {}\n{}\nserver log:\n{}",
            output.status,
            String::from_utf8_lossy(&output.stderr),
            std::fs::read_to_string(self.log_path()).unwrap_or_default()
        );
    }

    /// The connection URL.
    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// Starts the (stopped) server on its port and waits until it accepts connections.
    pub fn start_again(&self) {
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c log_statement=all -c fsync=off \
             -c synchronous_commit=off -c full_page_writes=off",
            self.port,
            self.dir.display()
        );
        self.run(
            "pg_ctl",
            &[
                "-D",
                self.data().to_str().unwrap(),
                "-l",
                self.log_path().to_str().unwrap(),
                "-o",
                &options,
                "-w",
                "-t",
                "30",
                "start",
            ],
        );
    }

    /// Stops the server (fast shutdown: open connections are closed) and waits for it.
    pub fn stop(&self) {
        self.run(
            "pg_ctl",
            &[
                "-D",
                self.data().to_str().unwrap(),
                "-m",
                "fast",
                "-w",
                "stop",
            ],
        );
    }

    /// The postmaster's pid, from `postmaster.pid`.
    pub fn pid(&self) -> i32 {
        let text = std::fs::read_to_string(self.data().join("postmaster.pid"))
            .expect("postmaster.pid: is the server running?");
        text.lines().next().unwrap().trim().parse().unwrap()
    }

    /// The postmaster and every process it forked (backends, background workers).
    fn processes(&self) -> Vec<i32> {
        let postmaster = self.pid();
        let mut pids = vec![postmaster];
        if let Ok(entries) = std::fs::read_dir("/proc") {
            for entry in entries.flatten() {
                let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() else {
                    continue;
                };
                let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
                    continue;
                };
                // Fields after the `(comm)`: state, ppid, ...
                let after = stat.rsplit_once(')').map(|(_, rest)| rest).unwrap_or("");
                let ppid: i32 = after
                    .split_whitespace()
                    .nth(1)
                    .and_then(|p| p.parse().ok())
                    .unwrap_or(0);
                if ppid == postmaster {
                    pids.push(pid);
                }
            }
        }
        pids
    }

    /// Freezes the server: SIGSTOP to the postmaster and every backend. The kernel still
    /// completes TCP handshakes on the listening socket, but nothing answers.
    pub fn freeze(&self) {
        for pid in self.processes() {
            crate::send_signal(pid as u32, libc::SIGSTOP);
        }
    }

    fn thaw_quietly(&self) {
        if let Ok(text) = std::fs::read_to_string(self.data().join("postmaster.pid")) {
            if text
                .lines()
                .next()
                .and_then(|l| l.trim().parse::<i32>().ok())
                .is_some()
            {
                for pid in self.processes() {
                    // The server may already be gone: ignore failures here.
                    let _ = crate::try_signal(pid as u32, libc::SIGCONT);
                }
            }
        }
    }

    /// Undoes [`PgServer::freeze`].
    pub fn thaw(&self) {
        for pid in self.processes() {
            crate::send_signal(pid as u32, libc::SIGCONT);
        }
    }

    /// Kills the postmaster with SIGKILL (a crash: backends notice and exit), and waits until the
    /// port refuses connections. Restart with [`PgServer::start_again`].
    pub fn kill(&self) {
        let pids = self.processes();
        for pid in &pids {
            crate::send_signal(*pid as u32, libc::SIGKILL);
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok()
            || pids.iter().any(|pid| is_alive(*pid))
        {
            assert!(Instant::now() < deadline, "PostgreSQL did not die");
            std::thread::sleep(Duration::from_millis(20));
        }
        // A crash leaves its lock files behind. PostgreSQL would reuse them once their pid is
        // gone, but a killed postmaster may linger as a zombie when nothing reaps orphans (as in
        // some containers), so remove them, as an operator would after checking the process.
        let _ = std::fs::remove_file(self.data().join("postmaster.pid"));
        let _ = std::fs::remove_file(self.dir.join(format!(".s.PGSQL.{}.lock", self.port)));
    }

    /// How many times the server has executed `sql` so far, sent either as a simple query
    /// (logged `statement: <sql>`) or as a prepared statement (logged `execute <name>: <sql>`).
    pub fn count_queries(&self, sql: &str) -> usize {
        let statement = format!("statement: {sql}");
        let executed = format!(": {sql}");
        std::fs::read_to_string(self.log_path())
            .unwrap_or_default()
            .lines()
            .map(str::trim_end)
            .filter(|line| {
                line.ends_with(&statement)
                    || (line.contains(" execute ") && line.ends_with(&executed))
            })
            .count()
    }
}

/// Whether process `pid` still runs (a zombie, dead but not reaped, does not).
fn is_alive(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => {
            let state = stat
                .rsplit_once(')')
                .and_then(|(_, rest)| rest.split_whitespace().next());
            !matches!(state, Some("Z") | Some("X") | None)
        }
        Err(_) => false,
    }
}

impl Drop for PgServer {
    fn drop(&mut self) {
        if self.data().join("postmaster.pid").exists() {
            self.thaw_quietly();
            let pg_ctl = self.bin.join("pg_ctl");
            let data = self.data();
            let args = [
                "-D",
                data.to_str().unwrap(),
                "-m",
                "immediate",
                "-w",
                "stop",
            ];
            let _ = if self.as_postgres {
                Command::new("runuser")
                    .args(["-u", "postgres", "--"])
                    .arg(pg_ctl)
                    .args(args)
                    .output()
            } else {
                Command::new(pg_ctl).args(args).output()
            };
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
