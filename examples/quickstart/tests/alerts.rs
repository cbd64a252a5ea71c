//! The README's Prometheus alert rules are `alerts.yml`, and they hold: `promtool check rules`
//! accepts them, and `promtool test rules alerts.test.yml` sees each alert fire during an outage
//! of the example's series, and only then. `promtool` comes with Debian's `prometheus` package
//! (`.ci/run` installs it); without it these tests fail saying so.

use std::path::Path;
use std::process::Command;

const README: &str = include_str!("../../../README.md");
const ALERTS: &str = include_str!("../alerts.yml");

#[test]
fn readme_alert_rules_are_alerts_yml() {
    let marker = "`examples/quickstart/alerts.yml`";
    let after = &README[README.find(marker).expect("README names alerts.yml")..];
    let start = after.find("```yaml\n").expect("a yaml block follows") + "```yaml\n".len();
    let block = &after[start..];
    let block = &block[..block.find("```\n").expect("the block ends")];
    assert_eq!(
        block, ALERTS,
        "README's alert rules differ from examples/quickstart/alerts.yml: update the README"
    );
}

#[test]
fn alert_rules_are_valid_and_fire_on_an_outage() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    for args in [
        ["check", "rules", "alerts.yml"],
        ["test", "rules", "alerts.test.yml"],
    ] {
        let output = Command::new("promtool")
            .args(args)
            .current_dir(dir)
            .output()
            .unwrap_or_else(|e| {
                panic!("cannot run promtool ({e}): install it (Debian: apt-get install prometheus)")
            });
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(
            output.status.success(),
            "promtool {}: {text}",
            args.join(" ")
        );
        assert!(
            text.contains("SUCCESS"),
            "promtool {}: {text}",
            args.join(" ")
        );
    }
}
