//! `xconnect simulate`: the default scenario's main figures, determinism, bad scenarios.

use serde_json::Value;

use crate::util::xconnect;

fn sim_json(args: &[&str]) -> Value {
    let mut all = vec!["simulate", "--json"];
    all.extend_from_slice(args);
    let out = xconnect(&all);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn default_scenario_main_figures() {
    // 1000 G.711/20 ms calls per 100 Mbps site: 1000 × 50 × 218 B × 8 = 87.2 Mbit/s of frames
    // (1146 would fit), so nothing is lost; either site alone with 2000 calls offers 174.4
    // Mbit/s into 100 and loses 1 − 100/174.4 = 42.7 % in steady state.
    let v = sim_json(&["--seconds", "10"]);
    assert_eq!(v["duration_s"], 10.0);
    let sites = v["sites"].as_array().unwrap();
    assert_eq!(sites.len(), 2);
    for s in sites {
        assert_eq!(s["tier_bps"], 100_000_000);
        assert_eq!(s["calls"], 1000);
        assert_eq!(s["offered_frames"], 1000 * 50 * 10);
        assert_eq!(s["dropped_frames"], 0);
        assert!((s["offered_mbps"].as_f64().unwrap() - 87.2).abs() < 1e-9);
        // 2 ms propagation plus up to 0.5 ms variation.
        let d = &s["delay_ms"];
        assert!(d["p50"].as_f64().unwrap() > 2.0 && d["max"].as_f64().unwrap() < 2.6, "{d}");
        assert!(s["mos_min"].as_f64().unwrap() >= 4.3);
        assert_eq!(s["ok"], true);
    }
    for f in v["failover"].as_array().unwrap() {
        assert_eq!(f["calls"], 2000);
        let loss = f["loss_pct"].as_f64().unwrap();
        assert!((loss - (1.0 - 100.0 / 174.4) * 100.0).abs() < 0.5, "{loss}");
        assert_eq!(f["ok"], false);
    }
    let verdict = v["verdict"].as_str().unwrap();
    assert!(verdict.starts_with("OK") && verdict.contains("NOT redundant"), "{verdict}");
}

#[test]
fn same_seed_same_report_whatever_the_threads() {
    let a = sim_json(&["--seconds", "2", "--threads", "1"]);
    let b = sim_json(&["--seconds", "2", "--threads", "3"]);
    assert_eq!(a, b);
}

#[test]
fn bad_scenarios_are_refused_before_any_work() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("bad.toml");
    std::fs::write(
        &f,
        "name = \"x\"\nduration_s = 30\n[traffic]\ncodec = \"g711u\"\n[[sites]]\nname = \"a\"\nlocation = \"ashburn\"\ntier = \"500M\"\ncalls = 0\n",
    )
    .unwrap();
    let out = xconnect(&["simulate", f.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("bad.toml")
            && err.contains("ashburn does not offer 500M")
            && err.contains("calls: must be at least 1"),
        "{err}"
    );
    std::fs::write(&f, "name = \"x\"\nduration_s = 30\ncolour = 1\n").unwrap();
    let err = String::from_utf8_lossy(&xconnect(&["simulate", f.to_str().unwrap()]).stderr).to_string();
    assert!(err.contains("colour") && err.contains("line 3"), "{err}");
    let out = xconnect(&["simulate", "--seconds=0"]);
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn the_fixture_is_the_built_in_default() {
    let path = crate::util::pcap_dir().join("../scenarios/default.toml");
    let a = sim_json(&["--seconds", "1"]);
    let b = sim_json(&[path.to_str().unwrap(), "--seconds", "1"]);
    assert_eq!(a, b);
}
