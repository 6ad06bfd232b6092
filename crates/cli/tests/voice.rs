//! Voice: generated calls, the RTP streams table against tshark, injected impairments, and the
//! bandwidth table.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;
use xconnect_capture::{CaptureReader, PcapWriter};

use crate::util::{pcap, require_tool, xconnect};

fn replay_json(path: &Path, extra: &[&str]) -> Value {
    let mut args = vec!["replay", path.to_str().unwrap(), "--json"];
    args.extend_from_slice(extra);
    let out = xconnect(&args);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

fn generate(dir: &Path, args: &[&str]) -> PathBuf {
    let path = dir.join("calls.pcap");
    let mut all = vec!["generate", "-o", path.to_str().unwrap()];
    all.extend_from_slice(args);
    let out = xconnect(&all);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    path
}

/// One row of tshark's `rtp,streams`.
#[derive(Debug)]
pub(crate) struct TsharkStream {
    src: String,
    src_port: u16,
    dst: String,
    dst_port: u16,
    ssrc: u32,
    packets: u64,
    lost: i64,
    /// Min, mean and max delta, then min, mean and max jitter, ms.
    figures: [f64; 6],
}

/// Parses the table from the right: the payload column may hold several names ("g711A, CN")
/// and the last column is a problem flag ("X") or nothing.
pub(crate) fn parse_tshark_streams(text: &str) -> Vec<TsharkStream> {
    text.lines()
        .filter(|l| l.trim_start().chars().next().is_some_and(|c| c.is_ascii_digit()))
        .map(|l| {
            let mut c: Vec<&str> = l.split_whitespace().collect();
            if c.last() == Some(&"X") {
                c.pop();
            }
            let n = c.len();
            let f = |i: usize| c[n - i].parse::<f64>().unwrap();
            TsharkStream {
                src: c[2].to_string(),
                src_port: c[3].parse().unwrap(),
                dst: c[4].to_string(),
                dst_port: c[5].parse().unwrap(),
                ssrc: u32::from_str_radix(c[6].trim_start_matches("0x"), 16).unwrap(),
                packets: c[n - 9].parse().unwrap(),
                lost: c[n - 8].parse().unwrap(),
                figures: [f(6), f(5), f(4), f(3), f(2), f(1)],
            }
        })
        .collect()
}

pub(crate) fn assert_streams_agree(ours: &Value, tshark: &str, ctx: &str) {
    let theirs = parse_tshark_streams(tshark);
    let ours = ours["rtp_streams"].as_array().unwrap();
    assert_eq!(ours.len(), theirs.len(), "{ctx}: stream count");
    for t in &theirs {
        let o = ours
            .iter()
            .find(|o| {
                o["ssrc"].as_u64() == Some(u64::from(t.ssrc)) && o["src_port"].as_u64() == Some(u64::from(t.src_port))
            })
            .unwrap_or_else(|| panic!("{ctx}: no stream for {t:?}"));
        assert_eq!(o["src"], t.src.as_str(), "{ctx}");
        assert_eq!(o["dst"], t.dst.as_str(), "{ctx}");
        assert_eq!(o["dst_port"], t.dst_port, "{ctx}");
        assert_eq!(o["packets"], t.packets, "{ctx}");
        assert_eq!(o["lost"], t.lost, "{ctx}: lost must agree exactly");
        let keys =
            ["min_delta_ms", "mean_delta_ms", "max_delta_ms", "min_jitter_ms", "mean_jitter_ms", "max_jitter_ms"];
        for (key, want) in keys.iter().zip(t.figures) {
            match o[key].as_f64() {
                Some(got) => assert!((got - want).abs() <= 0.01, "{ctx}: {key} {got} vs tshark {want}"),
                // No clocked packet: tshark prints its initial values (min -1, mean and max 0).
                None => assert!(
                    want == if key.starts_with("min") { -1.0 } else { 0.0 },
                    "{ctx}: {key} is null, tshark says {want}"
                ),
            }
        }
    }
}

#[test]
fn rtp_streams_agree_with_the_tshark_oracle_files() {
    // A constant stream, a short one, RFC 4733 events (timestamps repeat, the end packet three
    // times: lost -2), and a SIP call over TCP whose streams carry comfort noise.
    for name in [
        "sipp-g711a.pcap",
        "ndpi-sip.pcap",
        "sipp-dtmf_2833_1.pcap",
        "sipp-dtmf_2833_pound.pcap",
        "heplify-sip_ipv4_tcp.pcap",
    ] {
        let oracle =
            std::fs::read_to_string(crate::util::pcap_dir().join("oracle").join(format!("{name}.rtp-streams.txt")))
                .unwrap();
        let v = replay_json(&pcap(name), &[]);
        assert_streams_agree(&v, &oracle, name);
    }
}

#[test]
fn generated_calls_have_no_loss_and_no_jitter() {
    let dir = tempfile::tempdir().unwrap();
    let f = generate(dir.path(), &["--calls", "20", "--seconds", "2", "--both-directions", "--seed", "9"]);
    let v = replay_json(&f, &[]);
    // 20 calls × 2 directions × 50 packets/s × 2 s.
    assert_eq!(v["frames"], 4000);
    let streams = v["rtp_streams"].as_array().unwrap();
    assert_eq!(streams.len(), 40);
    for s in streams {
        assert_eq!(
            (s["packets"].as_u64(), s["lost"].as_i64(), s["seq_errors"].as_u64()),
            (Some(100), Some(0), Some(0))
        );
        assert_eq!(s["max_jitter_ms"].as_f64(), Some(0.0));
        assert_eq!(s["max_delta_ms"].as_f64(), Some(20.0));
        assert_eq!(s["payload_type"], 0);
        // No loss, no jitter: R = 93.2 less the 20 ms packetization (0.48) -> MOS 4.40.
        assert_eq!(s["mos"].as_f64(), Some(4.4));
        let dst = s["dst"].as_str().unwrap();
        let src = s["src"].as_str().unwrap();
        assert!(dst.starts_with("168.86.1") || src.starts_with("168.86.1"), "provider media range");
        assert!((10_000..=60_000).contains(&s["src_port"].as_u64().unwrap()));
    }
    // The same seed gives the same bytes.
    let again = dir.path().join("again.pcap");
    let out = xconnect(&[
        "generate",
        "--calls",
        "20",
        "--seconds",
        "2",
        "--both-directions",
        "--seed",
        "9",
        "-o",
        again.to_str().unwrap(),
    ]);
    assert!(out.status.success());
    assert_eq!(std::fs::read(&f).unwrap(), std::fs::read(&again).unwrap());
}

/// Rewrites a capture through `edit`, which sees (index, timestamp, bytes) and returns the
/// frames to write in their place.
pub(crate) fn rewrite(src: &Path, dst: &Path, mut edit: impl FnMut(u64, u64, &[u8]) -> Vec<(u64, Vec<u8>)>) {
    let mut r = CaptureReader::open(src).unwrap();
    let mut w = PcapWriter::create(dst, 65535).unwrap();
    let mut i = 0;
    while let Some(p) = r.next_packet().unwrap() {
        for (ts, bytes) in edit(i, p.ts_ns, p.data) {
            w.write_packet(ts, p.link_type, &bytes, bytes.len() as u32).unwrap();
        }
        i += 1;
    }
    w.finish().unwrap();
}

#[test]
fn injected_loss_duplicates_reordering_and_delay_show_exactly() {
    // One call, one direction, 100 packets 20 ms apart.
    let dir = tempfile::tempdir().unwrap();
    let f = generate(dir.path(), &["--calls", "1", "--seconds", "2", "--seed", "3"]);
    let edited = dir.path().join("edited.pcap");
    let mut held: Option<(u64, Vec<u8>)> = None;
    rewrite(&f, &edited, |i, ts, b| match i {
        // Lose packets 10, 11 and 50.
        10 | 11 | 50 => vec![],
        // Duplicate packet 20 (the copy arrives 1 ms later).
        20 => vec![(ts, b.to_vec()), (ts + 1_000_000, b.to_vec())],
        // Swap packets 30 and 31: 31 arrives at 30's time, 30 at 31's.
        30 => {
            held = Some((ts, b.to_vec()));
            vec![]
        }
        31 => {
            let (t30, b30) = held.take().unwrap();
            vec![(t30, b.to_vec()), (ts, b30)]
        }
        _ => vec![(ts, b.to_vec())],
    });
    let v = replay_json(&edited, &[]);
    let s = &v["rtp_streams"][0];
    // Received: 100 − 3 lost + 1 duplicate = 98. Expected 100. Lost (RFC 3550) = 100 − 98 = 2:
    // three missing, one duplicate counted as received.
    assert_eq!((s["packets"].as_u64(), s["expected"].as_u64(), s["lost"].as_i64()), (Some(98), Some(100), Some(2)));
    assert_eq!((s["duplicates"].as_u64(), s["reordered"].as_u64()), (Some(1), Some(1)));
    // Sequence errors as Wireshark counts them: after 9 comes 12; 20 again; 31 after 29; 30
    // after 31 (late: the reference stays 31, so 32 is in sequence); 51 after 49.
    assert_eq!(s["seq_errors"], 5);

    // Delay variation: packet 40 alone arrives 2.56 ms late. D = +2.56 ms at 40 and −2.56 ms
    // at 41, so J = 2.56/16 = 0.16 ms, then 0.16 + (2.56 − 0.16)/16 = 0.31 ms: the maximum.
    let delayed = dir.path().join("delayed.pcap");
    rewrite(&f, &delayed, |i, ts, b| vec![(if i == 40 { ts + 2_560_000 } else { ts }, b.to_vec())]);
    let v = replay_json(&delayed, &[]);
    let s = &v["rtp_streams"][0];
    assert_eq!(s["lost"], 0);
    assert!((s["max_jitter_ms"].as_f64().unwrap() - 0.31).abs() < 1e-9, "{}", s["max_jitter_ms"]);
    assert!((s["max_delta_ms"].as_f64().unwrap() - 22.56).abs() < 1e-9);
}

#[test]
fn tshark_agrees_on_a_freshly_generated_file() {
    if !require_tool("tshark") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let f = generate(
        dir.path(),
        &["--calls", "5", "--seconds", "3", "--both-directions", "--codec", "g711a", "--vlan", "100"],
    );
    let edited = dir.path().join("jittery.pcap");
    // Some delay variation, a loss, two packets swapped (one arrives after a later one of its
    // stream: in sequence for Wireshark 4.0, which measures from the stream's first timestamp,
    // so its negative delta counts) and a late duplicate, so the comparison has numbers to
    // compare.
    let mut held = None;
    rewrite(&f, &edited, |i, ts, b| match i {
        77 => vec![],
        100 => {
            held = Some(b.to_vec());
            vec![]
        }
        110 => vec![(ts, b.to_vec()), (ts + 1_000_000, held.take().unwrap())],
        150 => vec![(ts, b.to_vec()), (ts + 45_000_000, b.to_vec())],
        _ => vec![(ts + (i * 7919 % 13) * 150_000, b.to_vec())],
    });
    let out = Command::new("tshark")
        .args(["-n", "-o", "rtp.heuristic_rtp:TRUE", "-q", "-z", "rtp,streams", "-r", edited.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    let v = replay_json(&edited, &[]);
    assert_eq!(parse_tshark_streams(&text).len(), 10, "{text}");
    assert_streams_agree(&v, &text, "generated");
    // One lost, one duplicated: the total is 0 (the reordered packet is neither).
    assert_eq!(v["rtp_streams"].as_array().unwrap().iter().map(|s| s["lost"].as_i64().unwrap()).sum::<i64>(), 0);
}

#[test]
fn forced_port_range_counts_non_rtp() {
    // ndpi-sip carries SIP on 5060 (text, so RTP version 1): forced as RTP, it is counted.
    let v = replay_json(&pcap("ndpi-sip.pcap"), &["--rtp-port-range", "5060-5060"]);
    assert!(v["rtp_not_v2_in_range"].as_u64().unwrap() > 0);
    let out = xconnect(&["replay", pcap("ndpi-sip.pcap").to_str().unwrap(), "--rtp-port-range", "9-2"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("expected LO <= HI"));
}

#[test]
fn generate_refuses_bad_input_and_leaves_no_file() {
    let dir = tempfile::tempdir().unwrap();
    let o = dir.path().join("x.pcap");
    let os = o.to_str().unwrap();
    for (args, msg) in [
        (vec!["--calls", "1", "--seconds", "1", "--codec", "speex"], "unknown codec"),
        (vec!["--calls", "1", "--seconds", "1", "--codec", "g729", "--ptime", "25"], "does not allow a 25 ms"),
        (vec!["--calls", "0", "--seconds", "1"], "at least 1"),
        (
            vec!["--calls", "60000", "--seconds", "1", "--customer-prefix", "203.0.113.0/30"],
            "unique address/port pairs",
        ),
        (vec!["--calls", "1", "--seconds=-1"], "more than 0"),
    ] {
        let mut all = vec!["generate", "-o", os];
        all.extend(args);
        let out = xconnect(&all);
        assert_eq!(out.status.code(), Some(1), "{all:?}");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains(msg),
            "{all:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let out = xconnect(&["generate", "--calls", "1", "--seconds", "1", "-o", "/nonexistent/x.pcap"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0, "no partial file");
}

#[test]
fn plan_table_matches_the_reference() {
    let out = xconnect(&["plan", "--codec", "g711u", "--ptime", "20", "--table", "--json"]);
    assert!(out.status.success());
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["layers"]["frame"]["bytes"], 218);
    assert_eq!(v["layers"]["wire"]["bps"], 95_200.0);
    let t100 = &v["tiers"][1];
    assert_eq!(
        (t100["calls_ip"].as_u64(), t100["calls_frame"].as_u64(), t100["calls_wire"].as_u64()),
        (Some(1250), Some(1146), Some(1050))
    );
    assert_eq!(t100["rule_of_thumb_calls"], 1000);
    let out = xconnect(&["plan", "--codec", "g711u", "--ptime", "20", "--table"]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("87.2"));
}

#[test]
fn silence_suppressed_calls_show_no_loss_and_no_jitter() {
    // Pauses send nothing but keep the RTP clock running: a receiver sees no loss (sequence
    // numbers stay consecutive) and no jitter (arrival gaps match timestamp gaps).
    let dir = tempfile::tempdir().unwrap();
    let f = generate(dir.path(), &["--calls", "10", "--seconds", "20", "--silence-suppression", "--seed", "4"]);
    let v = replay_json(&f, &[]);
    let streams = v["rtp_streams"].as_array().unwrap();
    assert_eq!(streams.len(), 10);
    let packets: u64 = streams.iter().map(|s| s["packets"].as_u64().unwrap()).sum();
    // 10 streams × 1000 packet times, about 38.7 % of them talking (ITU-T P.59).
    assert!((2500..5500).contains(&packets), "{packets}");
    for s in streams {
        assert_eq!((s["lost"].as_i64(), s["seq_errors"].as_u64()), (Some(0), Some(0)));
        assert_eq!(s["max_jitter_ms"].as_f64(), Some(0.0));
        // Each talk spurt starts with the marker bit (RFC 3551 §4.1), and a marker packet's gap
        // is not a network delta (Wireshark leaves it out): the pauses do not show as delta.
        assert_eq!(s["max_delta_ms"].as_f64(), Some(20.0));
    }
}
