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

/// A capture with a new SSRC in every packet between the same two ends (what a fuzzer or a
/// broken sender makes) does not grow the RTP analysis with the file: the conversation's part
/// of the flow space keeps its share of the 1,000,000-stream bound (15,625 streams), and the
/// rest are counted, said in the text, and not analyzed. Before the bound, a million such
/// packets (90 MB) took 653 MB of memory.
#[test]
fn a_new_ssrc_in_every_packet_is_bounded_and_counted() {
    use xconnect_frame::{compose::UdpFrameTemplate, LinkType, PayloadType, RtpRepr};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ssrc-flood.pcap");
    let mut w = xconnect_capture::PcapWriter::create(&path, 65535).unwrap();
    let t = UdpFrameTemplate { src_port: 40_000, dst_port: 50_000, ..UdpFrameTemplate::default() };
    let mut buf = [0u8; 256];
    let packets = 20_000u32;
    for i in 0..packets {
        let rtp =
            RtpRepr { marker: false, payload_type: PayloadType::PCMU, sequence_number: 1, timestamp: i * 160, ssrc: i };
        let len = t.emit_rtp(&mut buf, i as u16, &rtp, &[0xff; 20]);
        w.write_packet(u64::from(i) * 1_000_000, LinkType::Ethernet, &buf[..len], len as u32).unwrap();
    }
    w.finish().unwrap();
    let file = path.to_str().unwrap();
    let (v, code) = json(&["replay", file, "--json"]);
    assert_eq!(code, 0);
    assert_eq!(v["rtp_untracked_packets"], u64::from(packets) - 1_000_000 / 64);
    assert_eq!(v["rtp_streams"].as_array().unwrap().len(), 0, "one packet each: none confirmed");
    let text = String::from_utf8(xconnect(&["replay", file]).stdout).unwrap();
    assert!(text.contains("4375 RTP packets of streams beyond the analysis's bound on streams"), "{text}");
}
