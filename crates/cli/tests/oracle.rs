//! The real captures in fixtures/pcap checked against what Wireshark's capinfos and tshark said
//! of them (fixtures/pcap/oracle/, made by tshark 4.0): file-level counts, and per frame the
//! lengths, the protocol stack, VLAN ids, IPv4 addresses and UDP ports.

use std::fs;
use std::path::Path;

use xconnect_capture::CaptureReader;
use xconnect_dataplane::pipeline::{replay_file, Outputs};
use xconnect_dataplane::replay::{ReplayOptions, ReplayReport};
use xconnect_frame::{parse_lax, Layer, Link, Net, Transport};

use crate::util::{all_pcaps, pcap, pcap_dir};

/// tshark's expert severity for "error".
const PI_ERROR: u64 = 8_388_608;

fn oracle(name: &str, kind: &str) -> Option<String> {
    fs::read_to_string(pcap_dir().join("oracle").join(format!("{name}.{kind}"))).ok()
}

/// On 3 shards whatever the machine's cores, so that the sharded tally is the one checked
/// against tshark (`replay_shards.rs` checks it equals the one-thread tally).
fn replay(p: &Path) -> ReplayReport {
    replay_file(p, ReplayOptions { threads: 3, ..ReplayOptions::default() }, None, Outputs::default()).unwrap().0
}

fn name(p: &Path) -> String {
    p.file_name().unwrap().to_str().unwrap().to_string()
}

/// Wireshark reads one (partial) packet from this file before the error; xconnect reads none.
/// The first record header claims 524501 captured bytes for a 197-byte packet (captured length
/// above the original length and above the 262144 bytes any record may hold) and a nanosecond
/// fraction of 1882137472 (over 10^9): it is a corrupt header, and its 199 trailing bytes are
/// not a packet. xconnect reports the file as corrupt at byte 24 instead of inventing a frame.
const NDPI_FUZZ: &str = "ndpi-fuzz-2021-10-13.pcap";

#[test]
fn capinfos_counts_match() {
    for path in all_pcaps() {
        let n = name(&path);
        let cap = oracle(&n, "capinfos.tsv").unwrap_or_else(|| panic!("no capinfos oracle for {n}"));
        let row: Vec<&str> = cap.lines().last().unwrap().split('\t').collect();
        let (format, linktype, packets, bytes): (&str, &str, u64, u64) =
            (row[1], row[2], row[3].parse().unwrap(), row[4].parse().unwrap());
        let report = replay(&path);
        let want_format = if format == "pcapng" { "pcapng" } else { "pcap" };
        assert_eq!(report.format, want_format, "{n}: format");
        if n == NDPI_FUZZ {
            assert_eq!(report.frames, 0, "{n}");
            let e = report.error.as_ref().expect("corrupt record reported");
            assert_eq!((e.offset, e.kind), (24, "corrupt"), "{n}");
            assert_eq!(report.link_types, ["null"]);
            continue;
        }
        assert!(!report.truncated, "{n}: {:?}", report.error);
        assert_eq!(report.frames, packets, "{n}: packets");
        assert_eq!(report.bytes, bytes, "{n}: bytes (sum of original lengths, as capinfos' data size)");
        if linktype == "per-packet" {
            assert!(report.link_types.len() > 1, "{n}: several link types expected");
        } else {
            assert_eq!(report.link_types, [linktype], "{n}: link type");
        }
    }
}

#[test]
fn per_frame_fields_match_tshark() {
    let mut frames_checked = 0;
    for path in all_pcaps() {
        let n = name(&path);
        if n == NDPI_FUZZ {
            continue;
        }
        let tsv = oracle(&n, "frames.tsv").unwrap_or_default();
        let mut reader = CaptureReader::open(&path).unwrap();
        for line in tsv.lines() {
            let c: Vec<&str> = line.split('\t').collect();
            let pkt = reader.next_packet().unwrap().unwrap_or_else(|| panic!("{n}: fewer frames than tshark"));
            let ctx = format!("{n} frame {}", c[0]);
            assert_eq!(pkt.orig_len.to_string(), c[1], "{ctx}: frame.len");
            assert_eq!(pkt.data.len().to_string(), c[2], "{ctx}: frame.cap_len");
            let lax = parse_lax(pkt.link_type, pkt.data);
            let p = lax.parsed;
            let stack: Vec<&str> = c[3].split(':').collect();
            let short = pkt.data.len() < 14 && stack == ["eth"];
            if !short {
                assert_eq!(p.link == Link::Ethernet, stack[0] == "eth", "{ctx}: {}", c[3]);
                assert_eq!(p.link == Link::LinuxSll, stack[0].starts_with("sll"), "{ctx}: {}", c[3]);
            }
            // tshark names the 0x88a8 tag "ieee8021ad" and lists only 802.1Q tags in vlan.id.
            let c_tags: Vec<String> =
                p.vlans.as_slice().iter().filter(|t| t.tpid == 0x8100).map(|t| t.vid.to_string()).collect();
            assert_eq!(c_tags.join(","), c[4], "{ctx}: vlan.id");
            let s_tags = p.vlans.as_slice().iter().filter(|t| t.tpid == 0x88a8).count();
            assert_eq!(s_tags, stack.iter().filter(|s| **s == "ieee8021ad").count(), "{ctx}: 802.1ad tags");
            let first_net = stack.iter().find(|s| matches!(**s, "ip" | "ipv6" | "arp")).copied();
            let stopped_in = lax.stop.map(|e| e.layer());
            let ours = match (p.net, stopped_in) {
                (Net::Ipv4(_), _) | (Net::None, Some(Layer::Ipv4 | Layer::Ipv4Payload)) => Some("ip"),
                (Net::Ipv6(_), _) | (Net::None, Some(Layer::Ipv6)) => Some("ipv6"),
                (Net::Arp, _) | (Net::None, Some(Layer::Arp)) => Some("arp"),
                _ => None,
            };
            assert_eq!(ours, first_net, "{ctx}: network layer of {}", c[3]);
            if let Net::Ipv4(ip) = p.net {
                assert_eq!(ip.src.to_string(), c[5].split(',').next().unwrap(), "{ctx}: ip.src");
                assert_eq!(ip.dst.to_string(), c[6].split(',').next().unwrap(), "{ctx}: ip.dst");
            }
            let after_ip =
                stack.iter().position(|s| matches!(*s, "ip" | "ipv6")).and_then(|i| stack.get(i + 1)).copied();
            let transport = match p.transport {
                Transport::Udp { src_port, dst_port, .. } => {
                    assert_eq!(src_port.to_string(), c[7].split(',').next().unwrap(), "{ctx}: udp.srcport");
                    assert_eq!(dst_port.to_string(), c[8].split(',').next().unwrap(), "{ctx}: udp.dstport");
                    Some("udp")
                }
                Transport::Tcp { .. } => Some("tcp"),
                Transport::Icmp => Some("icmp"),
                _ => None,
            };
            if lax.stop.is_none() {
                assert_eq!(transport, after_ip.filter(|s| matches!(*s, "udp" | "tcp" | "icmp")), "{ctx}: {}", c[3]);
            }
            // Whatever xconnect calls malformed, Wireshark flags with an error too.
            let malformed = lax.stop.is_some() && pkt.data.len() as u32 == pkt.orig_len
                || (p.cut.is_some() && pkt.data.len() as u32 == pkt.orig_len);
            if malformed {
                let sev: u64 = c[9].parse().unwrap_or(0);
                assert!(sev >= PI_ERROR, "{ctx}: xconnect says malformed ({:?}), tshark severity {sev}", lax.stop);
            }
            frames_checked += 1;
        }
        assert!(reader.next_packet().unwrap().is_none(), "{n}: more frames than tshark");
    }
    assert!(frames_checked > 600, "only {frames_checked} frames checked");
}

#[test]
fn malformed_fixtures_report_their_reason() {
    let cases = [
        ("tcpdump-ipv4-invalid-hdr-length.pcap", "ipv4.ihl_below_5"),
        ("tcpdump-ipv4-invalid-total-length.pcap", "ipv4.total_length_beyond_frame"),
    ];
    for (file, reason) in cases {
        let r = replay(&pcap(file));
        assert_eq!(r.malformed.get(reason), Some(&1), "{file}: {:?}", r.malformed);
        assert_eq!(r.malformed_frames[0].frame, 1);
        assert!(r.malformed_frames[0].message.contains("offset 14"), "{}", r.malformed_frames[0].message);
        assert_eq!(r.layers.ipv4, 1, "{file}: the IPv4 layer still counts, as tshark's hierarchy does");
    }
}

#[test]
fn snaplen_cut_frame_is_not_malformed() {
    let r = replay(&pcap("zeek-trunc-hdr.pcap"));
    assert_eq!((r.frames, r.cut_by_snaplen, r.bytes, r.captured_bytes), (1, 1, 78, 8));
    assert!(r.malformed.is_empty());
}

#[test]
fn bad_udp_checksum_is_counted() {
    let r = replay(&pcap("zeek-ip4-udp-bad-chksum.pcap"));
    assert_eq!(r.checksum_errors.udp, 1);
    assert_eq!(r.checksum_errors.ipv4, 0);
}

#[test]
fn vlan_counts_of_stacked_tags() {
    let r = replay(&pcap("zeek-vlan-qinqinq.pcap"));
    assert_eq!(r.layers.vlan, 14);
    assert!(r.vlans.values().all(|n| *n == 14) && r.vlans.len() == 3, "{:?}", r.vlans);
    let r = replay(&pcap("arkime-twovlan.pcap"));
    assert_eq!(r.vlans.iter().map(|(k, v)| (*k, *v)).collect::<Vec<_>>(), [(200, 6), (201, 6)]);
    assert_eq!(r.top_flows[0].vlans, [201, 200], "outer tag first");
}
