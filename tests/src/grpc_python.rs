//! The reference gRPC health client: `tests/grpc_python/health_client.py`, on Python's `grpcio`
//! and `grpcio-health-checking` (pinned in `tests/grpc_python/requirements.txt`), in a virtual
//! environment that the first test to need it creates: `<target dir>/grpc-venv` (or the
//! directory `HEALTH_TESTS_GRPC_VENV` names), from `python3 -m venv` and PyPI, then reused.
//! `.ci/run` creates it beforehand, the same way, so that a pip failure is a step of its own.
//! The same environment holds Prometheus' Python client library (`prometheus_client`), whose
//! text-format parser the example's metrics test runs (`tests/prometheus/parse.py`, see
//! [`prometheus_parser`]).
//!
//! The environment is ready when its marker file, `requirements.installed`, holds exactly the
//! pinned requirements (written last, after pip succeeded) and its Python imports the client's
//! modules. Otherwise it is rebuilt, under an exclusive lock on `grpc-venv.lock` beside it, so
//! that test threads and parallel test processes never build it twice or read it half-built.
//!
//! No Python, no `venv` module, or no PyPI is a test failure saying what to install, never a
//! skip.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;

/// The pinned requirements, as the marker file of a ready environment holds them.
const REQUIREMENTS: &str = include_str!("../grpc_python/requirements.txt");
/// The marker file, inside the environment.
const MARKER: &str = "requirements.installed";

/// The client script.
pub fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("grpc_python/health_client.py")
}

/// The Prometheus text-format parser script, run by the environment's Python ([`python`]).
pub fn prometheus_parser() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("prometheus/parse.py")
}

/// The requirements file pip installs.
fn requirements() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("grpc_python/requirements.txt")
}

/// Where the environment lives: `HEALTH_TESTS_GRPC_VENV`, or `grpc-venv` in the target
/// directory this test binary was built into (`<target>/<profile>/deps/<test>`).
fn venv_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("HEALTH_TESTS_GRPC_VENV") {
        return PathBuf::from(dir);
    }
    let exe = std::env::current_exe().expect("the test binary's path");
    let target = exe
        .parent()
        .and_then(Path::parent)
        .and_then(Path::parent)
        .expect("the test binary lives in <target>/<profile>/deps");
    target.join("grpc-venv")
}

/// The environment's Python, the environment created or rebuilt first if it is not ready.
/// Checked once per test process.
pub fn python() -> PathBuf {
    static PYTHON: OnceLock<PathBuf> = OnceLock::new();
    PYTHON.get_or_init(prepare).clone()
}

/// A command running the client with `args` (a subcommand, the address, service names).
pub fn client(args: &[&str]) -> Command {
    let mut command = Command::new(python());
    command.arg(script()).args(args);
    command
}

/// Runs the client to completion and returns its lines, parsed. Fails the test if it does
/// not exit 0 or prints anything that is not a JSON line.
pub fn run(args: &[&str]) -> Vec<serde_json::Value> {
    let output = client(args)
        .stdin(Stdio::null())
        .output()
        .expect("run the Python gRPC health client");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "health_client.py {args:?} failed ({}):\n{stdout}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    stdout.lines().map(parse_line).collect()
}

/// One line of the client's output.
pub fn parse_line(line: &str) -> serde_json::Value {
    serde_json::from_str(line).unwrap_or_else(|e| {
        panic!("health_client.py printed a line that is not JSON ({e}): {line}")
    })
}

/// Makes the environment ready (see the module's doc) and returns its Python.
fn prepare() -> PathBuf {
    let dir = venv_dir();
    let parent = dir
        .parent()
        .expect("the environment's directory has a parent");
    std::fs::create_dir_all(parent).unwrap_or_else(|e| panic!("create {}: {e}", parent.display()));
    let lock_path = dir.with_extension("lock");
    let lock = std::fs::File::create(&lock_path)
        .unwrap_or_else(|e| panic!("create {}: {e}", lock_path.display()));
    lock_exclusive(&lock, &lock_path);
    let python = dir.join("bin/python");
    if !is_ready(&dir, &python) {
        build(&dir, &python);
    }
    drop(lock);
    python
}

/// Blocks until this process holds `file`'s exclusive lock (released when it is closed).
fn lock_exclusive(file: &std::fs::File, path: &Path) {
    use std::os::fd::AsRawFd;
    loop {
        // SAFETY: `flock` on a descriptor this function borrows for the call's duration.
        if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) } == 0 {
            return;
        }
        let error = std::io::Error::last_os_error();
        if error.kind() != std::io::ErrorKind::Interrupted {
            panic!("lock {}: {error}", path.display());
        }
    }
}

fn is_ready(dir: &Path, python: &Path) -> bool {
    let marker = std::fs::read_to_string(dir.join(MARKER)).unwrap_or_default();
    marker == REQUIREMENTS
        && Command::new(python)
            .args([
                "-c",
                "import grpc, grpc_health.v1.health_pb2_grpc, prometheus_client.parser",
            ])
            .stdin(Stdio::null())
            .output()
            .is_ok_and(|output| output.status.success())
}

/// The last lines of a command's output, for a failure message.
fn tail(output: &Output) -> String {
    let text = String::from_utf8_lossy(&output.stdout).into_owned()
        + &String::from_utf8_lossy(&output.stderr);
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(25)..].join("\n")
}

/// Creates the environment anew and installs the pinned client into it; the marker last.
fn build(dir: &Path, python: &Path) {
    if dir.exists() {
        std::fs::remove_dir_all(dir).unwrap_or_else(|e| panic!("remove {}: {e}", dir.display()));
    }
    eprintln!(
        "creating {} for the Python gRPC health client (python3 -m venv, then pip from PyPI)",
        dir.display()
    );
    let venv = Command::new("python3")
        .args(["-m", "venv"])
        .arg(dir)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "cannot run python3 ({e}): the gRPC tests drive the reference Python client. \
                 Install Python 3 with its venv module (Debian: `apt-get install python3 \
                 python3-venv`)."
            )
        });
    assert!(
        venv.status.success(),
        "`python3 -m venv {}` failed ({}): install Python's venv module (Debian: `apt-get \
         install python3-venv`).\n{}",
        dir.display(),
        venv.status,
        tail(&venv)
    );
    let pip = Command::new(python)
        .args([
            "-m",
            "pip",
            "install",
            "--disable-pip-version-check",
            "--no-input",
            "--retries",
            "3",
            "--timeout",
            "30",
            "-r",
        ])
        .arg(requirements())
        .stdin(Stdio::null())
        .output()
        .expect("run pip");
    assert!(
        pip.status.success(),
        "pip could not install the Python gRPC health client ({}) into {}: the first test run \
         needs PyPI (set HTTPS_PROXY if it is reached through a proxy; PIP_INDEX_URL for a \
         mirror). pip said:\n{}",
        pip.status,
        dir.display(),
        tail(&pip)
    );
    std::fs::write(dir.join(MARKER), REQUIREMENTS)
        .unwrap_or_else(|e| panic!("write the marker in {}: {e}", dir.display()));
    assert!(
        is_ready(dir, python),
        "{} was built but its Python cannot import grpc, grpc_health and prometheus_client",
        dir.display()
    );
}
