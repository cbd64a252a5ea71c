//! Row 7: what the macros cost at build time. Two crates with the same 50 checks, one written
//! with `#[health_check]` and `#[derive(HealthState)]`, one by hand against the runtime API, are
//! generated into `target/bench-build`; after one warm-up build of their dependencies, each is
//! rebuilt after touching its source, several times, and timed.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

const CHECKS: usize = 50;

fn check_fn(i: usize) -> String {
    format!(
        "pub async fn check_{i:02}(state: &State) -> Result<(), String> {{\n    \
         if state.down {{\n        Err(\"check {i} failed\".to_string())\n    }} else {{\n        Ok(())\n    }}\n}}\n"
    )
}

fn check_fns() -> String {
    (0..CHECKS).map(check_fn).collect()
}

fn with_macros() -> String {
    let names: Vec<String> = (0..CHECKS).map(|i| format!("check_{i:02}")).collect();
    let mut src = String::from(
        "//! 50 checks with the macros.\n#![allow(missing_docs)]\nuse health_axum::prelude::*;\n\n",
    );
    src.push_str(&format!(
        "#[derive(Clone, HealthState)]\n#[health(checks({}))]\npub struct State {{\n    pub down: bool,\n    #[health(lifecycle)]\n    pub lifecycle: Lifecycle,\n}}\n\n",
        names.join(", ")
    ));
    for i in 0..CHECKS {
        src.push_str(&format!(
            "#[health_check(timeout_ms = {}, critical)]\n{}\n",
            200 + i,
            check_fn(i)
        ));
    }
    src
}

fn by_hand() -> String {
    let mut src = String::from(
        "//! The same 50 checks written by hand against the runtime API.\n#![allow(missing_docs)]\n\
         use health_axum::{CheckOutcome, HealthState, IntoCheckOutcome, Lifecycle}; use health_axum::engine::{BoxFuture, CheckSpec};\n\n\
         #[derive(Clone)]\npub struct State {\n    pub down: bool,\n    pub lifecycle: Lifecycle,\n}\n\n",
    );
    src.push_str(&check_fns());
    for i in 0..CHECKS {
        src.push_str(&format!(
            "fn run_{i:02}(state: &State) -> BoxFuture<'_, CheckOutcome> {{\n    \
             Box::pin(async move {{ check_{i:02}(state).await.into_outcome() }})\n}}\n"
        ));
    }
    src.push_str(
        "impl HealthState for State {\n    const CHECKS: &'static [CheckSpec<Self>] = &[\n",
    );
    for i in 0..CHECKS {
        src.push_str(&format!(
            "        CheckSpec::new(\"check_{i:02}\", run_{i:02}).timeout_ms({}).critical(true),\n",
            200 + i
        ));
    }
    src.push_str("    ];\n    const VERSION: &'static str = env!(\"CARGO_PKG_VERSION\");\n    fn lifecycle(&self) -> &Lifecycle {\n        &self.lifecycle\n    }\n}\n");
    src
}

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

fn cargo_build(dir: &Path, package: &str) -> f64 {
    let begun = Instant::now();
    let status = Command::new(env!("CARGO"))
        .args(["build", "--offline", "--quiet", "-p", package])
        .current_dir(dir)
        .env_remove("RUSTFLAGS")
        // A full build of the crate each time: incremental reuse would hide the expansion cost.
        .env("CARGO_INCREMENTAL", "0")
        .status()
        .expect("run cargo");
    assert!(
        status.success(),
        "cargo build -p {package} failed in {}",
        dir.display()
    );
    begun.elapsed().as_secs_f64()
}

/// Seconds to rebuild each crate after touching it: `(with macros, by hand)`, one figure per
/// round.
pub fn measure(workspace: &Path, rounds: usize) -> (Vec<f64>, Vec<f64>) {
    let dir: PathBuf = workspace.join("target/bench-build");
    let health_axum = workspace.join("health-axum");
    write(
        &dir.join("Cargo.toml"),
        "[workspace]\nresolver = \"2\"\nmembers = [\"with-macros\", \"by-hand\"]\n",
    );
    for (name, src) in [("with-macros", with_macros()), ("by-hand", by_hand())] {
        write(
            &dir.join(name).join("Cargo.toml"),
            &format!(
                "[package]\nname = \"{name}\"\nversion = \"0.1.0\"\nedition = \"2021\"\npublish = false\n\n\
                 [dependencies]\nhealth-axum = {{ path = {:?} }}\n",
                health_axum.display().to_string()
            ),
        );
        write(&dir.join(name).join("src/lib.rs"), &src);
    }
    // The same dependency versions as the workspace, without touching the network.
    std::fs::copy(workspace.join("Cargo.lock"), dir.join("Cargo.lock")).unwrap();
    eprintln!("  build cost: warming the dependencies (one debug build)...");
    cargo_build(&dir, "with-macros");
    cargo_build(&dir, "by-hand");
    let (mut macros, mut hand) = (Vec::new(), Vec::new());
    for round in 0..rounds {
        // Alternate which crate is rebuilt first.
        let mut pair = [("with-macros", &mut macros), ("by-hand", &mut hand)];
        if round % 2 == 1 {
            pair.reverse();
        }
        for (name, out) in pair {
            let lib = dir.join(name).join("src/lib.rs");
            let text = std::fs::read_to_string(&lib).unwrap();
            std::fs::write(&lib, text).unwrap(); // a new mtime: the crate is rebuilt
            out.push(cargo_build(&dir, name));
        }
    }
    (macros, hand)
}
