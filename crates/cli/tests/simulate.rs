//! `xconnect simulate`: the default scenario's main figures, determinism, bad scenarios.

use serde_json::Value;

use crate::util::{check, json_of, xconnect};

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
    for site in sites {
        // Both directions of every call, each on its own; the site's figures are the two added.
        let d = &site["directions"];
        for s in [&d["to_provider"], &d["to_customer"]] {
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
            assert!(s.get("directions").is_none());
        }
        assert_eq!(site["offered_frames"], 2 * 1000 * 50 * 10);
        assert!((site["offered_mbps"].as_f64().unwrap() - 2.0 * 87.2).abs() < 1e-9);
        assert_eq!(site["calls"], 1000);
        assert_eq!(site["ok"], true);
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
            && err.contains(
                "line 9: sites[0] (a).calls: expected a whole number of concurrent calls, at least 1; found 0"
            ),
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

#[test]
fn capacity_at_every_tier_is_the_arithmetic_within_one_call() {
    // voip-bandwidth.md, frame column: 114, 1146, 5733, 11467 G.711/20 ms calls. At 1G the
    // gigabit fiber binds first: 10504 calls of 238 wire bytes fill it (wire column), so the
    // simulated answer there is the port's, and the report says so.
    for (tier, arithmetic, expect) in
        [("10M", 114, 114), ("100M", 1146, 1146), ("500M", 5733, 5733), ("1G", 11467, 10504)]
    {
        let v = json_of(&["capacity", "--tier", tier, "--seconds", "1", "--json"]);
        for key in [
            "tier_bps",
            "codec",
            "ptime_ms",
            "phase",
            "max_calls",
            "arithmetic_calls",
            "rule_of_thumb_calls",
            "accounting",
        ] {
            assert!(v.get(key).is_some(), "{tier}: missing {key}");
        }
        assert_eq!(v["arithmetic_calls"], arithmetic, "{tier}");
        let max = v["max_calls"].as_u64().unwrap();
        assert!(max.abs_diff(expect) <= 1, "{tier}: simulated {max}, expected {expect}");
        assert_eq!(v["port_limit_calls"], 10504);
        assert_eq!(v["accounting"], "frame");
    }
}

#[test]
fn synchronized_capacity_is_lower_and_set_by_the_burst() {
    // All N calls send at the same instant. Customer -> provider: the 1 Gbps port delivers
    // their frames to the policer 238 wire bytes × 8 ns = 1904 ns apart, and in that time
    // 100 Mbit/s refills 23.8 bytes. From a full 125,000-byte bucket the k-th frame (218 bytes)
    // passes while 125,000 − 218 (k − 1) + 23.8 (k − 1) ≥ 218, i.e. k − 1 ≤ 124,782 / 194.2 =
    // 642.5: 643 frames per round. Provider -> customer meets the egress policer before its
    // port, all at once: 125,000 / 218 = 573 frames per round. Capacity is the worse: 573.
    // Between rounds 20 ms refill far more than the bucket holds.
    let v = json_of(&["capacity", "--tier", "100M", "--phase", "sync", "--seconds", "1", "--json"]);
    let max = v["max_calls"].as_u64().unwrap();
    assert_eq!(max, 573);
    // Customer -> provider alone carries 643: at 600 calls only the provider's egress drops.
    let dir = tempfile::tempdir().unwrap();
    let sc = dir.path().join("sync.toml");
    std::fs::write(
        &sc,
        "name = \"sync\"\nduration_s = 1\n[traffic]\ncodec = \"g711u\"\nphase = \"sync\"\n[link]\npropagation_ms = 0\n\
         [[sites]]\nname = \"a\"\nlocation = \"ashburn\"\ntier = \"100M\"\ncalls = 600\n",
    )
    .unwrap();
    let r = json_of(&["simulate", sc.to_str().unwrap(), "--json"]);
    let d = &r["sites"][0]["directions"];
    assert_eq!(d["to_provider"]["dropped_frames"], 0, "{d}");
    assert!(d["to_customer"]["policer_drops"].as_u64().unwrap() > 0, "{d}");
    assert!(r["verdict"].as_str().unwrap().contains("provider -> customer: the bucket's burst is the limit"), "{r}");
    assert_eq!(v["phase"], "sync");
    // Doubling the burst raises it; a burst of a whole round (1146 × 218 B) restores the rate.
    let v2 =
        json_of(&["capacity", "--tier", "100M", "--phase", "sync", "--burst", "250000", "--seconds", "1", "--json"]);
    assert!(v2["max_calls"].as_u64().unwrap() > max);
    let v3 =
        json_of(&["capacity", "--tier", "100M", "--phase", "sync", "--burst", "249828", "--seconds", "1", "--json"]);
    assert!(v3["max_calls"].as_u64().unwrap().abs_diff(1146) <= 1);
}

#[test]
fn plan_from_calls_and_from_erlangs() {
    let v = json_of(&["plan", "--calls", "1000", "--json"]);
    assert_eq!(v["tier_bps"], 100_000_000);
    assert_eq!(v["bps_per_call"], 87_200.0);
    let sites: Vec<&str> = v["sites"].as_array().unwrap().iter().map(|s| s["location"].as_str().unwrap()).collect();
    assert_eq!(sites, ["ashburn", "san-jose"]);
    let v = json_of(&["plan", "--busy-hour-erlangs", "100", "--blocking", "0.01", "--json"]);
    assert_eq!(v["calls"], 117);
    assert_eq!(v["tier_bps"], 100_000_000);
    let out = xconnect(&["plan", "--busy-hour-erlangs", "100", "--blocking", "2"]);
    assert_eq!(out.status.code(), Some(1));
    let out = xconnect(&["plan"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--calls"));
}

#[test]
fn simulate_output_matches_its_json_schema() {
    let schema: Value = serde_json::from_str(
        &std::fs::read_to_string(crate::util::pcap_dir().join("../../schemas/simulate.schema.json")).unwrap(),
    )
    .unwrap();
    let scenarios = crate::util::pcap_dir().join("../scenarios");
    for f in ["failover-bfd.toml", "single-site.toml"] {
        let v = sim_json(&[scenarios.join(f).to_str().unwrap(), "--seconds", "3"]);
        check(&schema, &schema, &v, "$").unwrap_or_else(|e| panic!("{f}: {e}"));
    }
    let v = sim_json(&["--seconds", "1"]);
    check(&schema, &schema, &v, "$").unwrap();
    // The checker itself must catch a violation.
    let mut bad = v.clone();
    bad["sites"][0]["loss_pct"] = Value::from(-1.0);
    assert!(check(&schema, &schema, &bad, "$").unwrap_err().contains("loss_pct"));
    let mut extra = v;
    extra["surprise"] = Value::from(1);
    assert!(check(&schema, &schema, &extra, "$").is_err());
}
