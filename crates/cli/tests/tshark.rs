//! Live checks against the installed tshark: a pcap written by xconnect's writer from frames
//! built by the frame crate must read back in Wireshark with the same fields and with valid
//! IPv4 and UDP checksums.

use std::net::Ipv4Addr;
use std::process::Command;

use xconnect_capture::PcapWriter;
use xconnect_frame::compose::UdpFrameTemplate;
use xconnect_frame::{LinkType, PayloadType, RtpRepr, VlanId};

use crate::util::require_tool;

#[test]
fn tshark_reads_what_we_write() {
    if !require_tool("tshark") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("gen.pcap");
    let mut w = PcapWriter::create(&path, 65535).unwrap();
    let mut buf = [0u8; 1600];
    let mut expected = Vec::new();
    for i in 0..500u32 {
        let vlans = match i % 3 {
            0 => vec![],
            1 => vec![VlanId::try_new(100 + (i % 7) as u16).unwrap()],
            _ => vec![VlanId::try_new(300).unwrap(), VlanId::try_new(42).unwrap()],
        };
        let t = UdpFrameTemplate {
            vlans,
            src_ip: Ipv4Addr::new(203, 0, 113, (i % 250) as u8 + 1),
            dst_ip: Ipv4Addr::new(168, 86, 128, 10),
            src_port: 10_000 + (i % 100) as u16 * 2,
            dst_port: 20_000,
            ..Default::default()
        };
        let rtp = RtpRepr {
            marker: i == 0,
            payload_type: PayloadType::PCMU,
            sequence_number: i as u16,
            timestamp: i * 160,
            ssrc: 0x1234,
        };
        let len = t.emit_rtp(&mut buf, i as u16, &rtp, &[0x7f; 160]);
        w.write_packet(
            1_700_000_000_000_000_000 + u64::from(i) * 20_000_000,
            LinkType::Ethernet,
            &buf[..len],
            len as u32,
        )
        .unwrap();
        expected.push(format!("{}\t{}\t{}\t{}", i + 1, len, t.src_ip, t.src_port));
    }
    w.finish().unwrap();
    let out = Command::new("tshark")
        .args(["-n", "-r", path.to_str().unwrap(), "-o", "ip.check_checksum:TRUE", "-o", "udp.check_checksum:TRUE"])
        .args(["-T", "fields", "-E", "separator=/t", "-e", "frame.number", "-e", "frame.len", "-e", "ip.src"])
        .args(["-e", "udp.srcport", "-e", "ip.checksum.status", "-e", "udp.checksum.status", "-e", "frame.time_epoch"])
        .output()
        .unwrap();
    assert!(out.status.success(), "tshark failed: {}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 500);
    for (line, want) in lines.iter().zip(&expected) {
        let c: Vec<&str> = line.split('\t').collect();
        assert_eq!(c[..4].join("\t"), *want);
        // Wireshark's checksum status: 0 bad, 1 good, 2 unverified.
        assert_eq!((c[4], c[5]), ("1", "1"), "checksums in {line}");
    }
    assert!(lines[1].ends_with("1700000000.020000000"), "nanosecond timestamps: {}", lines[1]);
}
