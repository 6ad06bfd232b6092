//! `series` in the JSON: the run over time agrees with the report's own totals, shows a
//! failover where the timeline puts it, stays bounded on any capture; and `--report` /
//! `--interval` refuse what they cannot do before any work.

use std::path::Path;

use serde_json::Value;
use xconnect_capture::PcapWriter;
use xconnect_frame::LinkType;

use crate::util::{json_of, pcap, xconnect};

fn nums(v: &Value, key: &str) -> Vec<f64> {
    v[key].as_array().unwrap_or_else(|| panic!("no {key}")).iter().map(|x| x.as_f64().unwrap_or(0.0)).collect()
}

fn sum(v: &Value, key: &str) -> f64 {
    nums(v, key).iter().sum()
}

/// Σ rate × interval length, bytes (the last interval may be cut by `end_s`).
fn bytes_of(s: &Value, key: &str, end_s: f64) -> f64 {
    let (t, r, iv) = (nums(s, "t_s"), nums(s, key), s["interval_s"].as_f64().unwrap());
    t.iter().zip(&r).map(|(t, r)| r * 1e6 / 8.0 * (end_s - t).clamp(0.001, iv)).sum()
}

#[test]
fn simulate_series_add_up_to_the_sites_figures() {
    let v = json_of(&["simulate", "--seconds", "2", "--json"]);
    let series = v["series"].as_array().unwrap();
    // Two sites and two failover cases, both directions each.
    assert_eq!(series.len(), 8);
    assert_eq!(v["series_interval_widened"], false);
    let every: Vec<&Value> = v["sites"].as_array().unwrap().iter().chain(v["failover"].as_array().unwrap()).collect();
    for s in series {
        let site = every.iter().find(|x| x["name"] == s["site"]).expect("a series names a site or case");
        let leg = &site["directions"][s["direction"].as_str().unwrap()];
        // Runs under a minute: 100 ms points.
        assert_eq!(s["interval_s"], 0.1);
        assert_eq!(s["t_s"].as_array().unwrap().len(), 20);
        for (col, fig) in
            [("policer_drops", "policer_drops"), ("port_drops", "port_drops"), ("shaper_drops", "shaper_drops")]
        {
            assert_eq!(sum(s, col), leg[fig].as_f64().unwrap(), "{}: {col}", s["site"]);
        }
        // Rates: the same bytes as the site's averages over the run (to the 1e-6 Mbit/s the
        // series rounds to).
        for (col, fig) in [("offered_mbps", "offered_mbps"), ("passed_mbps", "passed_mbps")] {
            let total = leg[fig].as_f64().unwrap() * 1e6 / 8.0 * 2.0;
            assert!((bytes_of(s, col, 2.0) - total).abs() < 20.0 + total * 1e-9, "{}: {col}", s["site"]);
        }
        let calls = leg["calls"].as_f64().unwrap();
        assert!(nums(s, "calls_active").iter().all(|&c| c <= calls && c > 0.0), "{}", s["site"]);
        // The delay is the same all run long here (2 ms and up to 0.5 ms of variation): every
        // interval's median is the run's, to the bins' 3.2 %.
        let p50 = leg["delay_ms"]["p50"].as_f64().unwrap();
        for d in nums(s, "delay_ms_p50") {
            assert!((d - p50).abs() < p50 * 0.05, "{}: interval median {d} ms, run's {p50} ms", s["site"]);
        }
        // The MOS histogram counts every call of the leg.
        let mos: f64 = nums(&s["mos_histogram"], "counts").iter().sum();
        assert_eq!(mos, calls, "{}", s["site"]);
        let delays: f64 = nums(&s["delay_ms_histogram"], "counts").iter().sum();
        assert_eq!(delays, leg["passed_frames"].as_f64().unwrap(), "{}", s["site"]);
        // Calls below target over time exactly when the leg has calls below target.
        let below = sum(s, "calls_below_mos_target");
        assert_eq!(below > 0.0, leg["calls_below_mos_target"].as_u64().unwrap() > 0, "{}", s["site"]);
    }
}

#[test]
fn a_failover_shows_in_the_series_where_the_timeline_puts_it() {
    let f = pcap("../scenarios/failover-bfd.toml");
    let v = json_of(&["simulate", f.to_str().unwrap(), "--json", "--interval", "100ms"]);
    let c = &v["control"];
    assert_eq!(c["unrouted_frames"], 0);
    let fo = &c["failovers"][0];
    let (down, moved) = (fo["down_s"].as_f64().unwrap(), fo["traffic_moved_s"].as_f64().unwrap());
    let site = fo["site"].as_str().unwrap();
    for s in v["series"].as_array().unwrap() {
        let lost = nums(s, "lost_frames");
        let t = nums(s, "t_s");
        if s["site"] == site && s["direction"] == "to_provider" {
            // Every frame lost into the dead link, in the intervals from the link down to the
            // traffic's move.
            assert_eq!(lost.iter().sum::<f64>(), fo["lost_frames"].as_f64().unwrap());
            for (t, l) in t.iter().zip(&lost) {
                if *l > 0.0 {
                    assert!(*t + 0.1 > down && *t <= moved, "lost at {t} s, outside {down}..{moved}");
                }
            }
            // Calls below target in the interval the link went down, none long before.
            let below = nums(s, "calls_below_mos_target");
            let at = (down / 0.1).round() as usize;
            assert!(below[at] > 0.0, "{:?}", &below[at - 2..at + 3]);
            assert!(below[..at - 5].iter().all(|&b| b == 0.0));
            // And the calls' MOS over that interval falls under the target.
            let mos_min = nums(s, "mos_min");
            assert!(mos_min[at] < v["mos_target"].as_f64().unwrap(), "{:?}", &mos_min[at - 2..at + 3]);
            assert!(mos_min[..at - 5].iter().all(|&m| m > 4.0));
        } else if s["site"] != site {
            assert_eq!(lost.iter().sum::<f64>(), 0.0, "{}", s["site"]);
        }
    }
}

#[test]
fn a_sites_calls_from_several_sources_all_count() {
    // Two provider prefixes: each site's calls come from two sources, one per prefix; the
    // series counts the calls of both.
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(pcap("../scenarios/failover-bfd.toml")).unwrap();
    let text =
        text.replacen("[control]\n", "[control]\nprovider_prefixes = [\"168.86.128.0/18\", \"54.172.60.0/23\"]\n", 1);
    let f = dir.path().join("two.toml");
    std::fs::write(&f, text).unwrap();
    let v = json_of(&["simulate", f.to_str().unwrap(), "--json", "--seconds", "3"]);
    for s in v["series"].as_array().unwrap() {
        let calls = v["sites"].as_array().unwrap().iter().find(|x| x["name"] == s["site"]).unwrap()["calls"].as_f64();
        assert_eq!(nums(s, "calls_active").iter().copied().fold(0.0, f64::max), calls.unwrap(), "{}", s["site"]);
    }
}

#[test]
fn replay_series_add_up_to_the_report() {
    let dir = tempfile::tempdir().unwrap();
    let cap = dir.path().join("calls.pcap");
    let out =
        xconnect(&["generate", "--calls", "150", "--seconds", "3", "--both-directions", "-o", cap.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    for threads in ["1", "2"] {
        let v = json_of(&["replay", cap.to_str().unwrap(), "--tier", "10M", "--json", "--threads", threads]);
        let s = &v["series"];
        let p = &v["policer"];
        assert!(p["dropped_frames"].as_u64().unwrap() > 0, "150 calls both ways overload 10M");
        assert_eq!(sum(s, "policer_drops"), p["dropped_frames"].as_f64().unwrap());
        let end = v["duration_s"].as_f64().unwrap();
        // Each direction over time, as its policer counted it: the same drops and bytes as
        // the direction's report, on the same time axis as the capture's series.
        let ps = &v["policer_series"];
        assert_eq!(ps["tier_bps"], 10_000_000);
        for dir in ["to_provider", "to_customer"] {
            let (d, r) = (&ps[dir], &p["directions"][dir]);
            assert_eq!(sum(d, "policer_drops"), r["dropped_frames"].as_f64().unwrap(), "{dir}");
            assert!(r["dropped_frames"].as_u64().unwrap() > 0, "{dir}");
            let offered = r["offered_bytes"].as_f64().unwrap();
            assert!((bytes_of(d, "offered_mbps", end) - offered).abs() < offered * 1e-6 + 10.0, "{dir}");
            let passed = r["passed_bytes"].as_f64().unwrap();
            assert!((bytes_of(d, "passed_mbps", end) - passed).abs() < passed * 1e-6 + 10.0, "{dir}");
            assert_eq!(d["start_ns"], s["start_ns"]);
            assert_eq!(d["interval_s"], s["interval_s"]);
        }
        let bytes = v["bytes"].as_f64().unwrap();
        assert!((bytes_of(s, "offered_mbps", end) - bytes).abs() < bytes * 1e-6 + 10.0, "{bytes}");
        let streams = v["rtp_streams"].as_array().unwrap();
        assert_eq!(streams.len(), 300);
        assert!(nums(s, "calls_active").iter().all(|&c| c <= 300.0));
        assert_eq!(nums(s, "calls_active").iter().copied().fold(0.0, f64::max), 300.0);
        // The what-if tier drops frames but the capture holds them all: the streams, as
        // captured, lose nothing and stay above target in every interval.
        assert_eq!(sum(s, "calls_below_mos_target"), 0.0);
        assert!(streams.iter().all(|st| st["lost"] == 0 && st["mos"].as_f64().unwrap() > 4.0));
        assert!(nums(s, "jitter_ms_mean").iter().all(|&j| j < 1.0));
        // Every stream has its sparkline (at most 60 points).
        for st in streams {
            let n = st["jitter_series_ms"].as_array().map_or(0, Vec::len);
            assert!((1..=60).contains(&n), "{st}");
        }
        assert_eq!(s["delay_ms_p50"].as_array().unwrap().iter().filter(|d| !d.is_null()).count(), 0);
    }
    // What the tier let through, replayed: now the streams have lost frames, and the series
    // says when.
    let passed = dir.path().join("passed.pcap");
    let out = xconnect(&["replay", cap.to_str().unwrap(), "--tier", "10M", "--write-passed", passed.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v = json_of(&["replay", passed.to_str().unwrap(), "--json"]);
    let s = &v["series"];
    let below = nums(s, "calls_below_mos_target");
    let lossy = v["rtp_streams"].as_array().unwrap().iter().filter(|st| st["lost"].as_i64().unwrap() > 0).count();
    assert!(lossy > 100, "{lossy} streams lost frames");
    assert!(below.iter().any(|&b| b > 0.0), "{below:?}");
    assert!(nums(s, "mos_min").iter().any(|&m| m > 0.0 && m < 3.6));
    assert!(below.iter().zip(nums(s, "calls_active")).all(|(b, a)| *b <= a));
}

#[test]
fn a_capture_that_spans_years_keeps_its_series_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let cap = dir.path().join("years.pcap");
    let mut w = PcapWriter::create(&cap, 65535).unwrap();
    let frame = [0u8; 60];
    let year = 365 * 86_400 * 1_000_000_000u64;
    for ts in [1_000_000_000, 1_000_500_000, 1_000_000_000 + year, 1_000_000_000 + 30 * year] {
        w.write_packet(ts, LinkType::Ethernet, &frame, 60).unwrap();
    }
    w.finish().unwrap();
    let v = json_of(&["replay", cap.to_str().unwrap(), "--json", "--interval", "1ms"]);
    let s = &v["series"];
    let n = s["t_s"].as_array().unwrap().len();
    assert!(n <= 3600 && n > 1, "{n} points");
    assert!(s["interval_s"].as_f64().unwrap() >= 30.0 * 365.0 * 86_400.0 / 3600.0);
    // Four frames of 60 bytes: the averages round to nothing over such intervals, the busiest
    // milliseconds do not (the first two share one: 120 B in 1 ms is 0.96 Mbit/s).
    assert_eq!(nums(s, "peak_1ms_mbps").iter().copied().fold(0.0, f64::max), 0.96);
    assert_eq!(nums(s, "peak_1ms_mbps").iter().filter(|&&p| p > 0.0).count(), 3);
    assert!(serde_json::to_string(s).unwrap().len() < 2_000_000);
}

fn fails_before_the_run(args: &[&str], words: &[&str]) {
    let started = std::time::Instant::now();
    let out = xconnect(args);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{args:?}: {err}");
    for w in words {
        assert!(err.contains(w), "{args:?}: {err}");
    }
    assert!(!err.contains("panicked"), "{err}");
    // The default scenario takes seconds; a refusal before it, a fraction of one.
    assert!(started.elapsed().as_secs_f64() < 2.0, "{args:?} ran before failing");
}

#[test]
fn a_report_that_cannot_be_written_fails_before_the_run() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no/such/dir/r.html");
    fails_before_the_run(&["simulate", "--report", missing.to_str().unwrap()], &["--report", "no/such/dir"]);
    let d = dir.path().to_str().unwrap();
    fails_before_the_run(&["simulate", "--report", d], &["--report", "not a regular file"]);
    fails_before_the_run(&["capacity", "--tier", "1G", "--report", missing.to_str().unwrap()], &["--report"]);
    let cap = pcap("sipp-g711a.pcap");
    fails_before_the_run(&["replay", cap.to_str().unwrap(), "--report", missing.to_str().unwrap()], &["--report"]);
    fails_before_the_run(&["simulate", "--report", "-"], &["--report -", "give its path"]);
    // Nothing was left behind in the directory.
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    // A device that fills up: the run ends with the write's error, naming the report.
    let out = xconnect(&["replay", cap.to_str().unwrap(), "--report", "/dev/full"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("the report /dev/full") && err.contains("No space"), "{err}");
}

#[test]
fn a_report_replaces_a_file_whole() {
    let dir = tempfile::tempdir().unwrap();
    let html = dir.path().join("r.html");
    std::fs::write(&html, "old").unwrap();
    let out = xconnect(&["replay", pcap("sipp-g711a.pcap").to_str().unwrap(), "--report", html.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(page.starts_with("<!DOCTYPE html>") && page.trim_end().ends_with("</html>"));
    // Only the report in the directory: no temporary file left.
    let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(names, vec![std::ffi::OsString::from("r.html")]);
    assert!(Path::new(&html).is_file());
}

#[test]
fn bad_intervals_are_refused_with_what_was_expected() {
    for bad in ["0", "0.5ms", "-1s", "nan", "2days", "86401"] {
        let out = xconnect(&["simulate", &format!("--interval={bad}")]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{bad}: {err}");
        assert!(err.contains("--interval") && err.contains("expected"), "{bad}: {err}");
    }
    // An interval too fine for the run is widened, with a note.
    let out = xconnect(&["simulate", "--seconds", "5", "--interval", "1ms", "--json"]);
    assert!(out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--interval widened to 0.002 s"), "{err}");
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["series_interval_widened"], true);
    assert!(v["series"][0]["t_s"].as_array().unwrap().len() <= 3600);
}

#[test]
fn no_output_replaces_an_input_or_another_output() {
    let dir = tempfile::tempdir().unwrap();
    let cap = dir.path().join("in.pcap");
    std::fs::copy(pcap("sipp-g711a.pcap"), &cap).unwrap();
    let original = std::fs::read(&cap).unwrap();
    let link = dir.path().join("link.pcap");
    std::os::unix::fs::symlink(&cap, &link).unwrap();
    let (c, l) = (cap.to_str().unwrap(), link.to_str().unwrap());
    let other = dir.path().join("out.pcap");
    let o = other.to_str().unwrap();
    for (args, words) in [
        (vec!["replay", c, "--report", c], "--report"),
        (vec!["replay", c, "--report", l], "the same file as the capture"),
        (vec!["replay", l, "--tier", "10M", "--write-passed", c], "--write-passed"),
        (vec!["replay", c, "--tier", "10M", "--write-passed", o, "--report", o], "name the same file"),
        (vec!["replay", c, "--tier", "10M", "--write-passed", o, "--write-dropped", o], "name the same file"),
    ] {
        fails_before_the_run(&args, &[words]);
    }
    assert_eq!(std::fs::read(&cap).unwrap(), original, "the capture is untouched");
    assert!(!other.exists());
    let sc = dir.path().join("s.toml");
    std::fs::copy(pcap("../scenarios/single-site.toml"), &sc).unwrap();
    fails_before_the_run(&["simulate", sc.to_str().unwrap(), "--report", sc.to_str().unwrap()], &["the scenario"]);
    // Devices are written in place, never replaced: two outputs may share one.
    let out = xconnect(&["replay", c, "--tier", "10M", "--write-passed", "/dev/null", "--write-dropped", "/dev/null"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn one_interval_over_a_real_capture_is_its_streams_table() {
    // With a single interval, the series' jitter and streams are the streams table's, whose
    // jitter the oracle tests check against tshark: on every fixture with RTP.
    let mut checked = 0;
    for p in crate::util::all_pcaps() {
        let out = xconnect(&["replay", p.to_str().unwrap(), "--json", "--interval", "86400s"]);
        let v: Value = serde_json::from_slice(&out.stdout).unwrap();
        let streams = v["rtp_streams"].as_array().unwrap();
        let s = &v["series"];
        if streams.is_empty() || nums(s, "t_s").len() != 1 {
            continue;
        }
        let name = p.display();
        assert_eq!(nums(s, "calls_active")[0], streams.len() as f64, "{name}");
        let most = streams
            .iter()
            .filter_map(|r| r["max_jitter_ms"].as_f64())
            .fold(None, |m: Option<f64>, j| Some(m.map_or(j, |m| m.max(j))));
        match most {
            Some(m) => {
                assert!((nums(s, "jitter_ms_max")[0] - m).abs() < 1e-5, "{name}: {} vs {m}", s["jitter_ms_max"][0])
            }
            None => assert!(s["jitter_ms_max"][0].is_null(), "{name}"),
        }
        let worst = streams.iter().filter_map(|r| r["mos"].as_f64()).fold(f64::INFINITY, f64::min);
        if worst.is_finite() {
            // The interval's MOS uses the same rule as the stream's over the same packets.
            assert!((nums(s, "mos_min")[0] - worst).abs() < 0.011, "{name}: {} vs {worst}", s["mos_min"][0]);
        }
        checked += 1;
    }
    assert!(checked >= 4, "{checked} captures with RTP");
}
