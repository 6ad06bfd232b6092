//! `xconnect replay FILE --tier ...`: the policer what-if, with figures worked out by hand.

use std::path::Path;

use serde_json::Value;
use xconnect_capture::{CaptureReader, PcapWriter};
use xconnect_frame::compose::UdpFrameTemplate;
use xconnect_frame::LinkType;

use crate::util::{pcap, xconnect};

fn run_json(args: &[&str]) -> Value {
    let out = xconnect(args);
    assert!(out.status.success(), "{:?}: {}", args, String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

fn count(path: &Path) -> (u64, Vec<u64>) {
    let mut r = CaptureReader::open(path).unwrap();
    let mut ts = Vec::new();
    while let Some(p) = r.next_packet().unwrap() {
        ts.push(p.ts_ns);
    }
    (ts.len() as u64, ts)
}

#[test]
fn sipp_call_fits_10m_and_its_peak_is_a_quarter_of_the_tier() {
    // 236 G.711 A-law frames of 294 captured bytes (240 audio + 54 headers), 30 ms apart. As
    // MEF counts them, with the FCS: 298 bytes. 236 × 298 = 70,328 bytes offered.
    let v = run_json(&[
        "replay",
        pcap("sipp-g711a.pcap").to_str().unwrap(),
        "--tier",
        "10M",
        "--customer-prefix",
        "10.1.3.143/32",
        "--json",
    ]);
    let p = &v["policer"];
    assert_eq!(p["tier_bps"], 10_000_000);
    assert_eq!(p["burst_bytes"], 12_500, "default burst: 10 ms at 10 Mbit/s");
    assert_eq!(p["accounting"], "frame");
    assert_eq!((p["offered_frames"].as_u64(), p["offered_bytes"].as_u64()), (Some(236), Some(70_328)));
    assert_eq!(p["dropped_frames"], 0);
    assert_eq!(p["directions"]["to_provider"]["offered_frames"], 236);
    assert_eq!(p["directions"]["to_customer"]["offered_frames"], 0);
    // One 298-byte frame in a 1 ms window is 2.384 Mbit/s: 23.84 % of 10 Mbit/s.
    assert!((p["peak_pct_of_tier_1ms"].as_f64().unwrap() - 23.84).abs() < 1e-9, "{p}");
}

#[test]
fn burst_below_the_frame_size_drops_every_frame_and_warns() {
    let f = pcap("sipp-g711a.pcap");
    let out = xconnect(&[
        "replay",
        f.to_str().unwrap(),
        "--tier",
        "10M",
        "--burst",
        "200",
        "--customer-prefix",
        "10.1.3.0/24",
        "--json",
    ]);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("below the largest Ethernet frame"));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["policer"]["dropped_frames"], 236);
    assert_eq!(v["policer"]["dropped_bytes"], 70_328);
    assert_eq!(v["top_flows"][0]["dropped_frames"], 236);
    assert!(v["policer"]["warnings"].as_array().unwrap().iter().any(|w| w.as_str().unwrap().contains("298 bytes")));
}

#[test]
fn twovlan_tcp_at_the_minimum_burst_loses_only_the_jumbo_frame() {
    // Six frames of 82, 82, 74, 187, 74 and 4418 captured bytes (+4 FCS: 86, 86, 78, 191, 78,
    // 4422). With a 1522-byte burst the first five fit (519 bytes, refilled between them);
    // the 4422-byte frame can never fit.
    let v = run_json(&[
        "replay",
        pcap("arkime-twovlan.pcap").to_str().unwrap(),
        "--tier",
        "10M",
        "--burst",
        "1522",
        // Every frame counted as the customer's, so that both directions of the TCP session
        // share one bucket as the figures above assume.
        "--customer-prefix",
        "0.0.0.0/0",
        "--json",
    ]);
    let p = &v["policer"];
    assert_eq!((p["passed_frames"].as_u64(), p["passed_bytes"].as_u64()), (Some(5), Some(519)));
    assert_eq!((p["dropped_frames"].as_u64(), p["dropped_bytes"].as_u64()), (Some(1), Some(4422)));
}

/// A capture of 1000-byte UDP frames (1004 B with the FCS) from a customer to the provider's
/// range (the default classification: to_provider), one at each of `times` (ns).
fn frames_at(path: &Path, times: &[u64]) {
    let mut w = PcapWriter::create(path, 65535).unwrap();
    let t = UdpFrameTemplate { dst_ip: std::net::Ipv4Addr::new(168, 86, 128, 10), ..UdpFrameTemplate::default() };
    let mut buf = [0u8; 1000];
    let len = t.emit(&mut buf, 1000 - t.header_len(), |p| p.fill(0x55));
    assert_eq!(len, 1000);
    for &ts in times {
        w.write_packet(ts, LinkType::Ethernet, &buf, 1000).unwrap();
    }
    w.finish().unwrap();
}

/// 20 frames at t = 1 s, and one more at t = 1.001 s.
fn burst_file(dir: &Path) -> std::path::PathBuf {
    let path = dir.join("burst.pcap");
    let mut times = vec![1_000_000_000u64; 20];
    times.push(1_001_000_000);
    frames_at(&path, &times);
    path
}

#[test]
fn police_a_burst_and_write_what_passed_and_what_dropped() {
    // 10 Mbit/s, burst 5000 B. At t = 1 s the bucket (full) passes 4 frames (4016 B), leaving
    // 984 B: the other 16 are red. In 1 ms the bucket gains 1250 B (984 + 1250 = 2234 ≥ 1004),
    // so the 21st passes. Passed 5, dropped 16.
    let dir = tempfile::tempdir().unwrap();
    let f = burst_file(dir.path());
    let passed = dir.path().join("passed.pcap");
    let dropped = dir.path().join("dropped.pcap");
    let v = run_json(&[
        "replay",
        f.to_str().unwrap(),
        "--tier",
        "10M",
        "--burst",
        "5000",
        "--json",
        "--write-passed",
        passed.to_str().unwrap(),
        "--write-dropped",
        dropped.to_str().unwrap(),
    ]);
    let p = &v["policer"];
    assert_eq!((p["passed_frames"].as_u64(), p["dropped_frames"].as_u64()), (Some(5), Some(16)));
    assert_eq!(p["red"]["frames"], 16);
    assert_eq!(count(&passed).0, 5);
    assert_eq!(count(&dropped).0, 16);
    let leftovers: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(leftovers.len(), 3, "no temporary files left: {leftovers:?}");
}

#[test]
fn shape_a_burst_queue_delay_and_tail_drops() {
    // Same burst into a shaper with a 10,000-byte queue. Frames 1–4 leave at once. Frame 5
    // needs 20 B more than the 984 B left: 160 bits at 10 bit/µs = 16 µs. Each next frame
    // takes 1004 × 8 / 10 = 803.2 µs. Frames 5–13 queue (9 × 1004 = 9036 ≤ 10,000; a tenth
    // would need 10,040), frames 14–20 are tail-dropped. At t + 1 ms frames 5 (16 µs) and 6
    // (819.2 µs) have left, so frame 21 is queued. Passed 4 + 9 + 1 = 14, dropped 7. The
    // longest wait is frame 13's: 16 + 8 × 803.2 = 6441.6 µs.
    let dir = tempfile::tempdir().unwrap();
    let f = burst_file(dir.path());
    let passed = dir.path().join("shaped.pcap");
    let v = run_json(&[
        "replay",
        f.to_str().unwrap(),
        "--tier",
        "10M",
        "--burst",
        "5000",
        "--mode",
        "shape",
        "--buffer",
        "10000",
        "--json",
        "--write-passed",
        passed.to_str().unwrap(),
    ]);
    let p = &v["policer"];
    assert_eq!(p["mode"], "shape");
    assert_eq!(
        (p["passed_frames"].as_u64(), p["dropped_frames"].as_u64(), p["tail_drops"].as_u64()),
        (Some(14), Some(7), Some(7))
    );
    let max = p["delay_ms"]["max"].as_f64().unwrap();
    assert!((max - 6.4416).abs() / 6.4416 < 1e-3, "max delay {max} ms");
    // Written at departure times: the last of the first burst leaves at 1 s + 6441.6 µs, and
    // frame 21 at 1 s + 7244.8 µs.
    let (n, ts) = count(&passed);
    assert_eq!(n, 14);
    assert_eq!(ts[12], 1_006_441_600);
    assert_eq!(ts[13], 1_007_244_800);
}

#[test]
fn bad_what_if_options_are_refused_before_reading() {
    let f = pcap("sipp-g711a.pcap");
    let out = xconnect(&["replay", f.to_str().unwrap(), "--tier", "200M"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("10M, 100M, 500M and 1G"));
    let out = xconnect(&["replay", f.to_str().unwrap(), "--tier", "10M", "--burst", "0"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--burst 0: expected 1 to 2000000000 bytes"));
    let out = xconnect(&["replay", f.to_str().unwrap(), "--tier", "10M", "--write-passed", "/nonexistent/p.pcap"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent"));
    let out = xconnect(&["replay", f.to_str().unwrap(), "--burst", "100"]);
    assert_eq!(out.status.code(), Some(2), "clap: --burst requires --tier");
}

#[test]
fn timestamps_going_backwards_are_counted_and_add_no_tokens() {
    // 1000-byte frames (1004 B accounted) into 10 Mbit/s with a 1500-byte burst: at t = 1 s the
    // first passes (496 B left). The second claims t = 0.5 s: backwards, so no time passes and
    // it is red. The third at t = 1.0008 s: 800 µs since 1 s add 1000 B (1496 ≥ 1004): green.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("back.pcap");
    frames_at(&path, &[1_000_000_000, 500_000_000, 1_000_800_000]);
    let v = run_json(&["replay", path.to_str().unwrap(), "--tier", "10M", "--burst", "1500", "--json"]);
    assert_eq!(v["ts_backwards"], 1);
    assert_eq!((v["policer"]["passed_frames"].as_u64(), v["policer"]["dropped_frames"].as_u64()), (Some(2), Some(1)));
}

#[test]
fn the_tier_is_full_duplex_one_bucket_per_direction() {
    // At 100 Mbit/s, 1000 G.711 calls each way are about
    // 87 Mbit/s per direction. Through one bucket (174 Mbit/s) 42 % would be dropped; a
    // cross-connect polices each direction on its own, and nothing is dropped.
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("both.pcap");
    let out =
        xconnect(&["generate", "-o", f.to_str().unwrap(), "--calls", "1000", "--seconds", "2", "--both-directions"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v = run_json(&["replay", f.to_str().unwrap(), "--tier", "100M", "--json"]);
    let p = &v["policer"];
    let d = &p["directions"];
    assert_eq!(p["dropped_frames"], 0, "{p}");
    assert_eq!(d["to_provider"]["offered_frames"], 100_000);
    assert_eq!(d["to_customer"]["offered_frames"], 100_000);
    assert_eq!(p["offered_frames"], 200_000, "the totals are the two directions added");
    assert_eq!(p["unclassified"]["frames"], 0);
    let peak = d["to_provider"]["peak_pct_of_tier_1s"].as_f64().unwrap();
    assert!((80.0..95.0).contains(&peak), "{peak}");
    // The same file at 10 Mbit/s drops in both directions, each counted on its own.
    let v = run_json(&["replay", f.to_str().unwrap(), "--tier", "10M", "--json"]);
    let d = &v["policer"]["directions"];
    let (a, b) =
        (d["to_provider"]["dropped_frames"].as_u64().unwrap(), d["to_customer"]["dropped_frames"].as_u64().unwrap());
    assert!(a > 0 && b > 0);
    assert_eq!(v["policer"]["dropped_frames"].as_u64().unwrap(), a + b);
    // Classified by the customer's side instead, with a prefix that matches nothing: all
    // unclassified, nothing policed.
    let v = run_json(&["replay", f.to_str().unwrap(), "--tier", "10M", "--customer-prefix", "192.0.2.0/24", "--json"]);
    assert_eq!(v["policer"]["unclassified"]["frames"], 200_000);
    assert_eq!(v["policer"]["dropped_frames"], 0);
    let warnings = v["policer"]["warnings"].as_array().unwrap();
    assert!(warnings.iter().any(|w| w.as_str().unwrap().contains("nothing was policed")), "{warnings:?}");
}
