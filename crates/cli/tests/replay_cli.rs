//! The `xconnect replay` command end to end: exit codes, messages, JSON contract.

use std::fs;

use serde_json::Value;

use crate::util::{pcap, xconnect};

fn json(args: &[&str]) -> (Value, i32) {
    let out = xconnect(args);
    let v: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {}", String::from_utf8_lossy(&out.stdout)));
    (v, out.status.code().unwrap())
}

#[test]
fn json_contract_keys() {
    let f = pcap("sipp-g711a.pcap");
    let (v, code) = json(&["replay", f.to_str().unwrap(), "--json"]);
    assert_eq!(code, 0);
    for key in [
        "file",
        "format",
        "link_types",
        "frames",
        "bytes",
        "truncated",
        "layers",
        "vlans",
        "malformed",
        "top_flows",
        "first_ts_ns",
        "last_ts_ns",
        "peak_mbps_1ms",
        "peak_mbps_1s",
    ] {
        assert!(v.get(key).is_some(), "missing key {key}");
    }
    for key in ["ethernet", "vlan", "ipv4", "ipv6", "udp", "tcp", "other"] {
        assert!(v["layers"].get(key).is_some(), "missing layers.{key}");
    }
    assert_eq!(v["frames"], 236);
    assert_eq!(v["layers"]["udp"], 236);
    assert_eq!(v["layers"]["rtp"], 236);
    let flow = &v["top_flows"][0];
    assert_eq!(
        (flow["src"].as_str(), flow["src_port"].as_u64(), flow["proto"].as_str()),
        (Some("10.1.3.143"), Some(5000), Some("udp"))
    );
    assert_eq!(flow["frames"], 236);
    // 236 G.711 A-law frames of 294 bytes every 30 ms: 69384 bytes.
    assert_eq!(flow["bytes"], 69384);
    // The busiest second holds 34 frames of 294 bytes at most (1000/30 = 33.3 per second).
    let peak_1s = v["peak_mbps_1s"].as_f64().unwrap();
    assert!(peak_1s > 33.0 * 294.0 * 8.0 / 1e6 - 1e-9 && peak_1s <= 35.0 * 294.0 * 8.0 / 1e6, "{peak_1s}");
}

#[test]
fn not_a_capture_exits_1_with_the_magic() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("notes.txt");
    fs::write(&f, "hello, this is text\n").unwrap();
    let out = xconnect(&["replay", f.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("notes.txt") && err.contains("not a pcap or pcapng file") && err.contains("68 65 6c 6c"),
        "{err}"
    );
}

#[test]
fn empty_file_exits_1() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("empty.pcap");
    fs::write(&f, b"").unwrap();
    let out = xconnect(&["replay", f.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("empty"));
}

#[test]
fn missing_file_exits_1_naming_it() {
    let out = xconnect(&["replay", "/nonexistent/x.pcap"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/x.pcap"));
}

#[test]
fn truncated_file_reports_what_it_read_and_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let src = fs::read(pcap("sipp-g711a.pcap")).unwrap();
    // Header (24) + 10 records of 16 + 294 bytes + half of the 11th.
    let cut = 24 + 10 * 310 + 100;
    let f = dir.path().join("cut.pcap");
    fs::write(&f, &src[..cut]).unwrap();
    let (v, code) = json(&["replay", f.to_str().unwrap(), "--json"]);
    assert_eq!(code, 2);
    assert_eq!(v["frames"], 10);
    assert_eq!(v["truncated"], true);
    assert_eq!(v["error"]["offset"], 24 + 10 * 310);
    assert_eq!(v["error"]["kind"], "truncated");
    let (_, code) = json(&["replay", f.to_str().unwrap(), "--json", "--allow-truncated"]);
    assert_eq!(code, 0);
    let out = xconnect(&["replay", f.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("read 10 frames") && err.contains(&format!("byte {}", 24 + 10 * 310)), "{err}");
}

#[test]
fn text_output_lists_layers_and_flows() {
    let out = xconnect(&["replay", pcap("zeek-vlan-qinqinq.pcap").to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0));
    let s = String::from_utf8_lossy(&out.stdout);
    assert!(s.contains("14 frames") && s.contains("vlan") && s.contains("top flows"), "{s}");
}
