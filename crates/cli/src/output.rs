//! Terminal tables.

use std::fmt::Write;

use xconnect_dataplane::replay::ReplayReport;

/// The human-readable replay report.
pub fn replay_text(r: &ReplayReport) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "{} ({}, {})", r.file, r.format, r.link_types.join(", "));
    let _ = writeln!(
        s,
        "{} frames, {} bytes on the wire ({} captured) over {:.3} s",
        r.frames, r.bytes, r.captured_bytes, r.duration_s
    );
    let _ = writeln!(
        s,
        "rate: average {:.3} Mbps, peak {:.3} Mbps over 1 ms, {:.3} Mbps over 1 s",
        r.avg_mbps, r.peak_mbps_1ms, r.peak_mbps_1s
    );
    if let Some(e) = &r.error {
        let _ = writeln!(
            s,
            "STOPPED EARLY ({}) at byte {}: {}",
            e.kind, e.offset, e.message
        );
    }
    let l = &r.layers;
    let _ = writeln!(s, "\nlayer       frames");
    for (name, n) in [
        ("ethernet", l.ethernet),
        ("sll", l.sll),
        ("vlan", l.vlan),
        ("ipv4", l.ipv4),
        ("ipv6", l.ipv6),
        ("arp", l.arp),
        ("udp", l.udp),
        ("tcp", l.tcp),
        ("icmp", l.icmp),
        ("rtp?", l.rtp),
        ("other", l.other),
    ] {
        if n > 0 {
            let _ = writeln!(s, "{name:<10} {n:>7}");
        }
    }
    if !r.vlans.is_empty() {
        let _ = writeln!(s, "\nvlan     frames");
        for (id, n) in &r.vlans {
            let _ = writeln!(s, "{id:<6} {n:>8}");
        }
    }
    if !r.top_flows.is_empty() {
        let _ = writeln!(s, "\ntop flows by bytes ({} flows in all)", r.flows);
        let _ = writeln!(
            s,
            "{:<40} {:<40} {:>6} {:>10} {:>12}",
            "source", "destination", "proto", "frames", "bytes"
        );
        for f in &r.top_flows {
            let vl = if f.vlans.is_empty() {
                String::new()
            } else {
                format!(
                    " vlan {}",
                    f.vlans
                        .iter()
                        .map(|v| v.to_string())
                        .collect::<Vec<_>>()
                        .join("/")
                )
            };
            let _ = writeln!(
                s,
                "{:<40} {:<40} {:>6} {:>10} {:>12}{}",
                format!("{}:{}", f.src, f.src_port),
                format!("{}:{}", f.dst, f.dst_port),
                f.proto,
                f.frames,
                f.bytes,
                vl
            );
        }
    }
    if r.cut_by_snaplen > 0 {
        let _ = writeln!(
            s,
            "\n{} frames cut short by the capture's snap length (not malformed)",
            r.cut_by_snaplen
        );
    }
    if r.checksum_errors.ipv4 + r.checksum_errors.udp > 0 {
        let _ = writeln!(
            s,
            "\nchecksum errors: ipv4 {}, udp {}",
            r.checksum_errors.ipv4, r.checksum_errors.udp
        );
    }
    if !r.malformed.is_empty() {
        let _ = writeln!(s, "\nmalformed frames");
        for (reason, n) in &r.malformed {
            let _ = writeln!(s, "{reason:<36} {n:>8}");
        }
        for m in &r.malformed_frames {
            let _ = writeln!(s, "  frame {}: {}", m.frame, m.message);
        }
    }
    s
}
