//! `scripts/live-lab.sh`: a scenario's calls through Linux's tbf between network namespaces,
//! against `xconnect simulate` on the same scenario; the kernel's drops and delay must be
//! within the lab's stated tolerances of the simulator's.

use std::process::Command;

use serde_json::Value;

use crate::live::{one_at_a_time, require_root};
use crate::util::require_tool;

/// `scripts/live-lab.sh` with the binary under test, one wall-clock test at a time; `None`
/// when the test is skipped.
fn lab() -> Option<(std::sync::MutexGuard<'static, ()>, Command)> {
    if !require_root() || !require_tool("tc") || !require_tool("python3") {
        return None;
    }
    let one = one_at_a_time();
    let mut c = Command::new("bash");
    c.arg(concat!(env!("CARGO_MANIFEST_DIR"), "/../../scripts/live-lab.sh"))
        .env("XCONNECT", env!("CARGO_BIN_EXE_xconnect"));
    Some((one, c))
}

#[test]
fn the_kernels_shaper_and_the_simulators_agree_within_the_labs_tolerance() {
    let Some((_one, mut lab)) = lab() else { return };
    let out = lab.arg("--json").output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    let r: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {err}"));
    let (k, s) = (&r["kernel"], &r["simulated"]);
    // 130 calls for 6 s at 20 ms, every frame offered to both shapers and seen by both
    // analyzers.
    assert_eq!(k["offered_frames"], 39_000, "{r}");
    assert_eq!(s["offered_frames"], 39_000, "{r}");
    assert_eq!(k["kernel_socket_drops"], 0, "{r}");
    // The analyzers' count of what tbf passed and dropped is tc's own.
    assert_eq!(k["dropped_frames"], k["tc_dropped"], "{r}");
    assert_eq!(k["passed_frames"], k["tc_sent"], "{r}");
    // About 11 % more than the tier: both shapers drop, about a tenth.
    let (kl, sl) = (k["loss_pct"].as_f64().unwrap(), s["loss_pct"].as_f64().unwrap());
    assert!((5.0..15.0).contains(&sl), "{r}");
    assert!((kl - sl).abs() <= r["tolerance"]["loss_pct_points"].as_f64().unwrap(), "loss {kl} % against {sl} %: {r}");
    // A full queue of 50 ms at the tier's rate: both delay every frame about that much.
    let (kd, sd) = (k["delay_ms"]["p50"].as_f64().unwrap(), s["delay_ms"]["p50"].as_f64().unwrap());
    assert!((40.0..60.0).contains(&sd), "{r}");
    assert!((kd - sd).abs() <= r["tolerance"]["delay_p50_ms"].as_f64().unwrap(), "delay {kd} ms against {sd} ms: {r}");
    assert_eq!(r["within"], serde_json::json!({"offered": true, "loss": true, "delay_p50": true}));
}

#[test]
fn an_interrupted_lab_removes_everything_it_made() {
    use std::os::unix::process::CommandExt;
    let Some((_one, mut lab)) = lab() else { return };
    let mut lab =
        lab.stdout(std::process::Stdio::null()).stderr(std::process::Stdio::piped()).process_group(0).spawn().unwrap();
    let id = lab.id();
    let ours = || {
        let out = Command::new("ip").args(["netns", "list"]).output().unwrap();
        String::from_utf8_lossy(&out.stdout).lines().filter(|l| l.contains(&format!("-{id}"))).count()
    };
    // Wait until its three namespaces exist and the calls are under way, then Ctrl-C (SIGINT
    // to the whole process group, as a terminal sends it).
    let t = std::time::Instant::now();
    while ours() < 3 {
        assert!(t.elapsed() < std::time::Duration::from_secs(60), "the lab did not start");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    std::thread::sleep(std::time::Duration::from_secs(2));
    assert!(Command::new("kill").args(["-INT", "--", &format!("-{id}")]).status().unwrap().success());
    let status = lab.wait().unwrap();
    assert!(!status.success(), "an interrupted lab does not claim a result");
    assert_eq!(ours(), 0, "the lab left its namespaces behind");
    let procs = Command::new("pgrep").args(["-f", "replay --iface (e1|c0) "]).output().unwrap();
    assert!(procs.stdout.is_empty(), "an analyzer outlived the lab: {}", String::from_utf8_lossy(&procs.stdout));
}
