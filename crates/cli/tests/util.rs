//! Shared helpers: fixture paths, running the binary, external tools.

use std::path::PathBuf;
use std::process::{Command, Output};

/// The repository's fixtures/pcap directory.
pub fn pcap_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/pcap")
}

/// A fixture capture by name.
pub fn pcap(name: &str) -> PathBuf {
    pcap_dir().join(name)
}

/// Every capture in fixtures/pcap, sorted.
pub fn all_pcaps() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(pcap_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| matches!(p.extension().and_then(|e| e.to_str()), Some("pcap" | "pcapng")))
        .collect();
    v.sort();
    assert!(v.len() >= 20, "fixtures/pcap is missing captures: {v:?}");
    v
}

/// Runs the xconnect binary.
pub fn xconnect(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_xconnect")).args(args).output().expect("running xconnect")
}

/// Whether an external tool is on PATH. Under `CI=true` a missing tool fails the test; elsewhere
/// the test is skipped with a loud message on stderr.
pub fn require_tool(tool: &str) -> bool {
    let found =
        Command::new("sh").arg("-c").arg(format!("command -v {tool}")).output().is_ok_and(|o| o.status.success());
    if !found {
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!("{tool} is not installed, and CI=true requires it (.ci/run installs it)");
        }
        eprintln!("SKIPPED: {tool} is not installed; this test did not run (install it, see the README)");
    }
    found
}
