//! Terminal tables.

use std::fmt::Write;

use xconnect_dataplane::replay::ReplayReport;
use xconnect_interconnect::Tier;
use xconnect_sim::failover::TimelineEvent;
use xconnect_sim::plan::Plan;
use xconnect_sim::sim::{CapacityReport, SimReport};
use xconnect_sim::site::SiteReport;
use xconnect_trafgen::{BandwidthLayer, Codec};

/// The human-readable replay report; the RTP table lists at most `rtp_rows` streams (all are in
/// the JSON).
pub fn replay_text(r: &ReplayReport, rtp_rows: usize) -> String {
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
        let _ = writeln!(s, "STOPPED EARLY ({}) at byte {}: {}", e.kind, e.offset, e.message);
    }
    if let Some(l) = &r.live {
        let _ = writeln!(
            s,
            "live on {} for {:.3} s, ended: {}; the kernel handed the socket {} frames and dropped {} of them{}",
            l.interface,
            l.seconds,
            l.ended,
            l.kernel_packets,
            l.kernel_drops,
            if l.kernel_drops > 0 { " (NOT in any figure below)" } else { "" }
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
        let _ = writeln!(s, "{:<40} {:<40} {:>6} {:>10} {:>12}", "source", "destination", "proto", "frames", "bytes");
        for f in &r.top_flows {
            let vl = if f.vlans.is_empty() {
                String::new()
            } else {
                format!(" vlan {}", f.vlans.iter().map(|v| v.to_string()).collect::<Vec<_>>().join("/"))
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
    if !r.rtp_streams.is_empty() {
        let _ = writeln!(s, "\nRTP streams ({})", r.rtp_streams.len());
        let _ = writeln!(
            s,
            "{:<22} {:<22} {:>10} {:>8} {:>7} {:>6} {:>6} {:>9} {:>9} {:>9} {:>5}",
            "source", "destination", "ssrc", "pt", "packets", "lost", "seqerr", "maxΔ ms", "maxJ ms", "meanJ ms", "mos"
        );
        let opt = |v: Option<f64>, p: usize| v.map_or("-".to_string(), |v| format!("{v:.p$}"));
        for st in r.rtp_streams.iter().take(rtp_rows) {
            let _ = writeln!(
                s,
                "{:<22} {:<22} {:#010x} {:>8} {:>7} {:>6} {:>6} {:>9.3} {:>9} {:>9} {:>5}",
                format!("{}:{}", st.src, st.src_port),
                format!("{}:{}", st.dst, st.dst_port),
                st.ssrc,
                st.payload_types.iter().map(|p| p.to_string()).collect::<Vec<_>>().join(","),
                st.packets,
                st.lost,
                st.seq_errors,
                st.max_delta_ms,
                opt(st.max_jitter_ms, 3),
                opt(st.mean_jitter_ms, 3),
                opt(st.mos, 2)
            );
        }
    }
    if r.rtp_streams.len() > rtp_rows {
        let _ = writeln!(
            s,
            "... {} more streams (--rtp-rows N shows more; --json has all)",
            r.rtp_streams.len() - rtp_rows
        );
    }
    if r.sip.messages > 0 {
        sip_text(&mut s, &r.sip, rtp_rows);
    }
    if r.rtcp_packets > 0 {
        let reported = r.rtp_streams.iter().filter(|st| st.rtcp.is_some()).count();
        let _ = writeln!(
            s,
            "
RTCP: {} compound packets; {reported} of the streams above have reports (--json: each stream's rtcp)",
            r.rtcp_packets
        );
    }
    if !r.bgp.sessions.is_empty() {
        bgp_text(&mut s, &r.bgp);
    }
    // Counters that are zero on a clean capture, shown whenever they are not.
    for (n, what) in [
        (r.ts_backwards, "frames whose timestamp went backwards (they add no tokens to a policer)"),
        (r.ts_out_of_range, "timestamps beyond what 64-bit nanoseconds hold (clamped)"),
        (r.over_snaplen, "records longer than the file's snap length (tolerated)"),
        (r.untracked_flow_frames, "frames of flows beyond the flow table's bound (counted, not itemized)"),
        (r.rtp_not_v2_in_range, "packets in --rtp-port-range that are not RTP version 2"),
        (
            r.rtp_untracked_packets,
            "RTP packets of streams beyond the analysis's bound on streams (counted, not analyzed)",
        ),
    ] {
        if n > 0 {
            let _ = writeln!(s, "\n{n} {what}");
        }
    }
    if r.cut_by_snaplen > 0 {
        let _ = writeln!(s, "\n{} frames cut short by the capture's snap length (not malformed)", r.cut_by_snaplen);
    }
    if r.checksum_errors.ipv4 + r.checksum_errors.udp > 0 {
        let _ = writeln!(s, "\nchecksum errors: ipv4 {}, udp {}", r.checksum_errors.ipv4, r.checksum_errors.udp);
    }
    if let Some(p) = &r.policer {
        let _ = writeln!(
            s,
            "\nwhat if: {} Mbps tier, burst {} B, {} accounting, {} ({})",
            p.tier_bps / 1_000_000,
            p.burst_bytes,
            p.accounting,
            p.mode,
            p.profile
        );
        let pct = |a: u64, b: u64| if b == 0 { 0.0 } else { a as f64 * 100.0 / b as f64 };
        let _ = writeln!(s, "{:<10} {:>10} {:>14}", "", "frames", "bytes");
        let _ = writeln!(s, "{:<10} {:>10} {:>14}", "offered", p.offered_frames, p.offered_bytes);
        let _ = writeln!(s, "{:<10} {:>10} {:>14}", "passed", p.passed_frames, p.passed_bytes);
        let _ = writeln!(
            s,
            "{:<10} {:>10} {:>14}   ({:.3} % of frames)",
            "dropped",
            p.dropped_frames,
            p.dropped_bytes,
            pct(p.dropped_frames, p.offered_frames)
        );
        if p.yellow.frames > 0 {
            let _ = writeln!(
                s,
                "colors: green {}, yellow {}, red {} frames",
                p.green.frames, p.yellow.frames, p.red.frames
            );
        }
        if let Some(d) = &p.directions {
            // The tier is full duplex: each direction has its own bucket.
            for (name, x) in [("to provider", &d.to_provider), ("to customer", &d.to_customer)] {
                let _ = writeln!(
                    s,
                    "  {name}: offered {} frames, dropped {} ({:.3} %), peak {:.1} % of the tier over 1 ms, {:.1} % over 1 s",
                    x.offered_frames,
                    x.dropped_frames,
                    pct(x.dropped_frames, x.offered_frames),
                    x.peak_pct_of_tier_1ms,
                    x.peak_pct_of_tier_1s
                );
            }
        }
        if let Some(u) = p.unclassified.filter(|u| u.frames > 0) {
            let _ = writeln!(
                s,
                "  unclassified (neither side's prefixes, not policed): {} frames, {} bytes",
                u.frames, u.bytes
            );
        }
        let _ = writeln!(
            s,
            "peak offered: {:.1} % of the tier over 1 ms, {:.1} % over 1 s (the busier direction)",
            p.peak_pct_of_tier_1ms, p.peak_pct_of_tier_1s
        );
        if let Some(d) = &p.delay_ms {
            let _ = writeln!(
                s,
                "shaper delay: p50 {:.3} ms, p99 {:.3} ms, p99.9 {:.3} ms, max {:.3} ms; tail drops {}",
                d.p50,
                d.p99,
                d.p999,
                d.max,
                p.tail_drops.unwrap_or(0)
            );
        }
        if r.lossy_flows_total > 0 {
            let _ = writeln!(
                s,
                "flows that lost frames: {} ({}most dropped first)",
                r.lossy_flows_total,
                if r.lossy_flows_total > r.lossy_flows.len() as u64 {
                    format!("the first {} listed, ", r.lossy_flows.len())
                } else {
                    String::new()
                }
            );
            for f in &r.lossy_flows {
                let _ = writeln!(
                    s,
                    "  {}:{} -> {}:{} {}: {} of {} frames dropped",
                    f.src, f.src_port, f.dst, f.dst_port, f.proto, f.dropped_frames, f.frames
                );
            }
        }
        for w in &p.warnings {
            let _ = writeln!(s, "warning: {w}");
        }
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

/// Per-layer bandwidth of one call direction and calls per tier, as a table.
pub fn plan_table(codec: Codec, ptime: u32) -> String {
    let mut s = String::new();
    let pps = 1000.0 / f64::from(ptime);
    let _ = writeln!(
        s,
        "{codec}, {ptime} ms: {} B audio per packet, {:.1} packets/s per direction, PT {}, clock {} Hz",
        codec.payload_bytes(ptime),
        pps,
        codec.payload_type(),
        codec.clock_rate()
    );
    let _ = writeln!(s, "\n{:<22} {:>8} {:>12}", "layer", "bytes", "kbit/s");
    for (name, layer, vlan) in LAYERS {
        let _ = writeln!(
            s,
            "{name:<22} {:>8} {:>12.1}",
            codec.packet_bytes(ptime, layer, vlan),
            codec.stream_bps(ptime, layer, vlan) / 1000.0
        );
    }
    let _ = writeln!(s, "\ncalls per tier, one direction (a full-duplex tier carries as many each way)");
    let _ = writeln!(
        s,
        "{:<6} {:>8} {:>8} {:>8} {:>8} {:>8} {:>12}",
        "tier", "ip", "frame", "wire", "frame+q", "wire+q", "10 per Mbps"
    );
    for tier in Tier::ALL {
        let r = tier.rate_bps();
        let n = |layer, vlan| codec.calls_per_rate(r, ptime, layer, vlan);
        let _ = writeln!(
            s,
            "{:<6} {:>8} {:>8} {:>8} {:>8} {:>8} {:>12}",
            tier.name(),
            n(BandwidthLayer::Ip, false),
            n(BandwidthLayer::Frame, false),
            n(BandwidthLayer::Wire, false),
            n(BandwidthLayer::Frame, true),
            n(BandwidthLayer::Wire, true),
            r / 100_000
        );
    }
    let _ = writeln!(s, "\nframe = Ethernet frame with FCS, as MEF and the tier's policer count; wire adds preamble and inter-frame gap; +q = with an 802.1Q tag.");
    s
}

const LAYERS: [(&str, BandwidthLayer, bool); 5] = [
    ("ip", BandwidthLayer::Ip, false),
    ("frame", BandwidthLayer::Frame, false),
    ("wire", BandwidthLayer::Wire, false),
    ("frame + 802.1Q", BandwidthLayer::Frame, true),
    ("wire + 802.1Q", BandwidthLayer::Wire, true),
];

/// The same as JSON.
pub fn plan_json(codec: Codec, ptime: u32) -> serde_json::Value {
    let layers: serde_json::Map<String, serde_json::Value> = LAYERS
        .iter()
        .map(|(name, layer, vlan)| {
            (
                name.replace(" + 802.1Q", "_vlan"),
                serde_json::json!({"bytes": codec.packet_bytes(ptime, *layer, *vlan), "bps": codec.stream_bps(ptime, *layer, *vlan)}),
            )
        })
        .collect();
    let tiers: Vec<serde_json::Value> = Tier::ALL
        .iter()
        .map(|t| {
            let r = t.rate_bps();
            serde_json::json!({
                "tier": t.name(), "tier_bps": r,
                "calls_ip": codec.calls_per_rate(r, ptime, BandwidthLayer::Ip, false),
                "calls_frame": codec.calls_per_rate(r, ptime, BandwidthLayer::Frame, false),
                "calls_wire": codec.calls_per_rate(r, ptime, BandwidthLayer::Wire, false),
                "calls_frame_vlan": codec.calls_per_rate(r, ptime, BandwidthLayer::Frame, true),
                "calls_wire_vlan": codec.calls_per_rate(r, ptime, BandwidthLayer::Wire, true),
                "rule_of_thumb_calls": r / 100_000,
            })
        })
        .collect();
    serde_json::json!({
        "codec": codec.name(), "ptime_ms": ptime, "payload_bytes": codec.payload_bytes(ptime),
        "payload_type": codec.payload_type(), "clock_rate": codec.clock_rate(),
        "layers": layers, "tiers": tiers,
    })
}

/// The simulation report as tables.
pub fn sim_text(r: &SimReport) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{}\n{} s simulated, {}, seed {}; targets: loss <= {} %, MOS >= {} on every call",
        r.scenario,
        r.duration_s,
        r.traffic_label(),
        r.seed,
        r.loss_target_pct,
        r.mos_target
    );
    let header = |s: &mut String, title: &str| {
        let _ = writeln!(s, "\n{title}");
        let _ = writeln!(
            s,
            "{:<32} {:>6} {:>6} {:>9} {:>9} {:>8} {:>8} {:>8} {:>8} {:>8} {:>5} {:>5}  ",
            "site", "tier", "calls", "offered", "passed", "loss %", "jitter", "d p50", "d p99", "d max", "MOS", "min"
        );
        let _ = writeln!(
            s,
            "{:<32} {:>6} {:>6} {:>9} {:>9} {:>8} {:>8} {:>8} {:>8} {:>8} {:>5} {:>5}",
            "", "Mbps", "", "Mbps", "Mbps", "", "ms", "ms", "ms", "ms", "mean", ""
        );
    };
    let row = |s: &mut String, x: &SiteReport| {
        let _ = writeln!(
            s,
            "{:<32} {:>6} {:>6} {:>9.2} {:>9.2} {:>8.3} {:>8.3} {:>8.3} {:>8.3} {:>8.3} {:>5} {:>5}  {}",
            x.name,
            x.tier_bps / 1_000_000,
            x.calls,
            x.offered_mbps,
            x.passed_mbps,
            x.loss_pct,
            x.mean_jitter_ms,
            x.delay_ms.p50,
            x.delay_ms.p99,
            x.delay_ms.max,
            x.mos_mean.map_or("-".into(), |m| format!("{m:.2}")),
            x.mos_min.map_or("-".into(), |m| format!("{m:.2}")),
            if x.ok { "ok" } else { "FAILS" }
        );
    };
    // Each site's two directions combined, then each direction (a call's MOS is its worse leg).
    let rows = |s: &mut String, x: &SiteReport| {
        row(s, x);
        if let Some(d) = &x.directions {
            for (arrow, leg) in [("  -> provider", &d.to_provider), ("  -> customer", &d.to_customer)] {
                row(s, &SiteReport { name: arrow.into(), ..leg.clone() });
            }
        }
    };
    header(
        &mut s,
        "per site, both directions (-> provider policed at the provider's ingress, -> customer limited at its egress; \
         rates as Ethernet frames with FCS)",
    );
    for x in &r.sites {
        rows(&mut s, x);
    }
    if !r.failover.is_empty() {
        header(&mut s, "failover: each site alone carrying every call");
        for x in &r.failover {
            rows(&mut s, x);
        }
    }
    if let Some(c) = &r.control {
        control_text(&mut s, c);
    }
    let _ = writeln!(s, "\nverdict: {}", r.verdict);
    s
}

fn control_text(s: &mut String, c: &xconnect_sim::failover::ControlReport) {
    let _ = writeln!(s, "\nonboarding and BGP (detection: {}; calls start at {:.3} s)", c.detection, c.traffic_start_s);
    for p in &c.sessions {
        let on: Vec<&str> =
            [(p.tcp_md5, "TCP-MD5"), (p.gtsm, "GTSM")].into_iter().filter(|x| x.0).map(|x| x.1).collect();
        let on = if on.is_empty() { "no TCP-MD5, no GTSM".to_string() } else { on.join(", ") };
        let _ = writeln!(s, "  {:<12} session: {on}; {}", p.site, p.detection);
    }
    for o in &c.onboarding {
        let loa = o
            .loa
            .as_ref()
            .map_or("-".to_string(), |l| format!("{} {} {} port {}", l.data_center, l.cage, l.panel, l.port));
        let p2p = o
            .p2p
            .map_or("-".to_string(), |p| format!("{} (provider {}, customer {})", p.subnet, p.provider, p.customer));
        let asn = o
            .customer_asn
            .map_or("-".to_string(), |a| format!("AS{a}{}", if o.asn_assigned { " (assigned)" } else { "" }));
        let up = o.established_s.map_or("never".to_string(), |t| format!("{t:.3} s"));
        let _ = writeln!(
            s,
            "  {:<12} LOA {loa}; p2p {p2p}; {asn}; announces {}; Established {up}",
            o.site,
            o.announces.join(" ")
        );
    }
    let shown: Vec<_> =
        c.timeline.iter().filter(|t| t.event != TimelineEvent::State || t.detail.contains("Established")).collect();
    let _ =
        writeln!(s, "\ntimeline ({} events; state changes other than to/from Established in --json)", c.timeline.len());
    for t in shown.iter().take(60) {
        let _ = writeln!(s, "  {:>10.3} s  {:<10} {:<22} {}", t.t_s, t.site, t.event.name(), t.detail);
    }
    for f in &c.failovers {
        let _ = writeln!(
            s,
            "\nfailover of {} at {:.3} s: detected by {} (provider {}, customer {}), traffic moved to {} at {}; outage {}",
            f.site,
            f.down_s,
            f.detected_by,
            f.provider_detected_s.map_or("never".into(), |t| format!("{t:.3} s")),
            f.customer_detected_s.map_or("never".into(), |t| format!("{t:.3} s")),
            f.moved_to.as_deref().unwrap_or("nowhere"),
            f.traffic_moved_s.map_or("never".into(), |t| format!("{t:.3} s")),
            f.outage_s.map_or("unbounded".into(), |t| format!("{t:.3} s")),
        );
        let _ = writeln!(
            s,
            "  frames lost -> provider: {} in all; per call {}..{} (mean {:.2}; outage / packet time = {:.2})",
            f.lost_frames, f.lost_per_call_min, f.lost_per_call_max, f.lost_per_call_mean, f.expected_per_call
        );
        let _ = writeln!(
            s,
            "  frames lost -> customer: {} in all (the provider moved its traffic at {}; outage {})",
            f.return_lost_frames,
            f.return_traffic_moved_s.map_or("never".into(), |t| format!("{t:.3} s")),
            f.return_outage_s.map_or("unbounded".into(), |t| format!("{t:.3} s")),
        );
    }
    for v in &c.survivors {
        let _ = writeln!(
            s,
            "  survivor {} ({} Mbps) from {:.3} s: {} frames offered, {} dropped ({:.3} %; -> provider {:.3} %, -> \
             customer {:.3} %): {}",
            v.site,
            v.tier_bps / 1_000_000,
            v.from_s,
            v.offered_frames,
            v.dropped_frames,
            v.loss_pct,
            v.to_provider_loss_pct,
            v.to_customer_loss_pct,
            if v.carried { "carried the whole load" } else { "could NOT carry the whole load" }
        );
    }
    let _ = writeln!(s, "  calls with MOS below 3.6: {}; ACL drops: {}", c.calls_below_mos_3_6, c.acl_drops);
    let control: Vec<String> =
        c.control_frames.iter().map(|f| format!("{} {} ({} dropped)", f.direction, f.frames, f.dropped)).collect();
    let _ = writeln!(s, "  control-plane frames charged against the tiers: {}", control.join(", "));
}

/// The capacity answer.
pub fn capacity_text(c: &CapacityReport) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{} Mbps tier, burst {} B, {} / {} ms, {} phase, loss target {} %",
        c.tier_bps / 1_000_000,
        c.burst_bytes,
        c.codec,
        c.ptime_ms,
        c.phase,
        c.loss_target_pct
    );
    // The ratios are the JSON's: simulated / the other figure.
    let _ = writeln!(s, "\n{:<50} {:>8} {:>12}", "", "calls", "simulated/it");
    let _ = writeln!(s, "{:<50} {:>8}", "simulated (largest within the loss target)", c.max_calls);
    let _ = writeln!(
        s,
        "{:<50} {:>8} {:>12.3}",
        "arithmetic (tier / frame rate per call)",
        c.arithmetic_calls,
        c.max_calls as f64 / c.arithmetic_calls.max(1) as f64
    );
    let _ = writeln!(
        s,
        "{:<50} {:>8} {:>12.3}",
        "the 1 Gbps port (wire bytes incl. preamble, gap)",
        c.port_limit_calls,
        c.max_calls as f64 / c.port_limit_calls.max(1) as f64
    );
    let _ = writeln!(
        s,
        "{:<50} {:>8} {:>12.3}",
        "provider's rule of thumb (10 per Mbps)", c.rule_of_thumb_calls, c.ratio_to_rule_of_thumb
    );
    let _ = writeln!(
        s,
        "simulated / the binding arithmetic (the smaller of tier and port, {}): {:.3}",
        c.arithmetic_calls.min(c.port_limit_calls),
        c.ratio_to_arithmetic
    );
    let _ = writeln!(
        s,
        "\nloss at {} calls: {:.4} %; at {}: {:.4} % ({} simulations)",
        c.max_calls,
        c.loss_pct_at_max,
        c.max_calls + 1,
        c.loss_pct_above,
        c.simulations
    );
    if c.phase == "sync" && c.ratio_to_arithmetic < 0.99 {
        let _ = writeln!(
            s,
            "synchronized calls send a whole round at once: the round must fit the {} B burst, so the burst, not the rate, sets the capacity",
            c.burst_bytes
        );
    }
    s
}

/// The plan.
pub fn plan_text(p: &Plan) -> String {
    let mut s = String::new();
    if let (Some(e), Some(b)) = (p.erlangs, p.blocking) {
        let _ = writeln!(s, "{e} Erlangs at {} % blocking: {} concurrent calls (Erlang B)", b * 100.0, p.calls);
    } else {
        let _ = writeln!(s, "{} concurrent calls", p.calls);
    }
    let _ = writeln!(
        s,
        "{} / {} ms: {:.1} kbit/s per call and direction as Ethernet frames; {:.2} Mbit/s each way, {:.2} with {} % headroom (RTCP and signalling)",
        p.codec,
        p.ptime_ms,
        p.bps_per_call / 1000.0,
        p.bps_per_direction / 1e6,
        p.bps_per_direction * (1.0 + p.headroom_pct / 100.0) / 1e6,
        p.headroom_pct
    );
    let _ = writeln!(
        s,
        "{} site(s) in {}; each must carry {} calls (all of them over the sites left when one fails)",
        p.sites_wanted,
        p.acceptable_locations.join(", "),
        p.calls_per_site
    );
    for (i, o) in p.options.iter().enumerate() {
        let sites: Vec<String> = o
            .sites
            .iter()
            .map(|x| format!("{} {} Mbps (up to {} calls)", x.location, x.tier_bps / 1_000_000, x.tier_calls))
            .collect();
        let _ = writeln!(
            s,
            "{} {}: {} Mbps in all",
            if i == 0 { "recommended:" } else { "alternative:" },
            sites.join(" + "),
            o.total_bps / 1_000_000
        );
    }
    for n in &p.notes {
        let _ = writeln!(s, "note: {n}");
    }
    s
}

fn bgp_text(s: &mut String, b: &xconnect_dataplane::bgp::BgpReport) {
    let msgs: Vec<String> = b.messages.iter().map(|(k, v)| format!("{k} {v}")).collect();
    let _ = writeln!(s, "\nBGP: {} sessions; messages: {}", b.sessions.len(), msgs.join(", "));
    for sess in &b.sessions {
        let _ = writeln!(s, "  {} -> {}", sess.client, sess.server);
        for o in &sess.open {
            let _ = writeln!(
                s,
                "    frame {:>6}  OPEN from {} AS{} hold {} s id {} [{}]",
                o.frame,
                o.from,
                o.asn,
                o.hold,
                o.router_id,
                o.capabilities.join(" ")
            );
        }
    }
    let _ = writeln!(s, "  announced {} prefixes, withdrew {}", b.announced_total, b.withdrawn_total);
    for a in b.announced.iter().take(20) {
        let _ = writeln!(
            s,
            "    frame {:>6}  + {:<18} path [{}] via {}",
            a.frame,
            a.prefix,
            a.as_path,
            a.next_hop.as_deref().unwrap_or("-")
        );
    }
    for w in b.withdrawn.iter().take(20) {
        let _ = writeln!(s, "    frame {:>6}  - {}", w.frame, w.prefix);
    }
    for n in &b.notifications {
        let _ = writeln!(s, "    frame {:>6}  NOTIFICATION {}/{} {}", n.frame, n.code, n.subcode, n.meaning);
    }
    for v in &b.policy_violations {
        let _ = writeln!(s, "    frame {:>6}  policy would reject {}: {}", v.frame, v.prefix, v.detail);
    }
    for e in &b.errors {
        let _ = writeln!(s, "    frame {:>6}  error {}/{}: {}", e.frame, e.code, e.subcode, e.detail);
    }
    if b.gaps > 0 {
        let _ = writeln!(s, "  {} sequence gaps (bytes missing from the capture)", b.gaps);
    }
}

fn sip_text(s: &mut String, sip: &xconnect_dataplane::sip::SipReport, rows: usize) {
    let list = |m: &std::collections::BTreeMap<String, u64>| {
        m.iter().map(|(k, n)| format!("{k} {n}")).collect::<Vec<_>>().join(", ")
    };
    let _ = writeln!(s, "\nSIP: {} messages, {} resent", sip.messages, sip.resent);
    let _ = writeln!(s, "  requests: {}", list(&sip.requests));
    let _ = writeln!(s, "  responses: {}", list(&sip.responses));
    if let Some(t) = &sip.setup_ms {
        let _ = writeln!(
            s,
            "  setup (INVITE to ACK, UDP): mean {:.1} ms, min {} ms, max {} ms over {}",
            t.mean, t.min, t.max, t.count
        );
    }
    if sip.calls.is_empty() {
        return;
    }
    let mut states: std::collections::BTreeMap<&str, usize> = std::collections::BTreeMap::new();
    for c in &sip.calls {
        *states.entry(c.state.name()).or_default() += 1;
    }
    let states: Vec<String> = states.iter().map(|(k, n)| format!("{n} {k}")).collect();
    let _ = writeln!(s, "\nCalls ({}): {}", sip.calls.len(), states.join(", "));
    let _ = writeln!(
        s,
        "{:<28} {:<28} {:<28} {:<11} {:>9} {:>10} {:>7} {:>5}",
        "call-id", "from", "to", "state", "setup ms", "duration s", "streams", "mos"
    );
    let cut = |v: &str, n: usize| {
        if v.chars().count() > n {
            format!("{}…", v.chars().take(n - 1).collect::<String>())
        } else {
            v.to_string()
        }
    };
    for c in sip.calls.iter().take(rows) {
        let state = match c.code {
            Some(code) => format!("{} {code}", c.state.name()),
            None => c.state.name().to_string(),
        };
        let fax = if c.media.iter().any(|m| m.t38) { " (T.38)" } else { "" };
        let _ = writeln!(
            s,
            "{:<28} {:<28} {:<28} {:<11} {:>9} {:>10} {:>7} {:>5}{fax}",
            cut(&c.call_id, 28),
            cut(&c.from, 28),
            cut(&c.to, 28),
            state,
            c.setup_ms.map_or("-".into(), |v| format!("{v:.1}")),
            c.duration_s.map_or("-".into(), |v| format!("{v:.2}")),
            c.streams.len(),
            c.worst_mos.map_or("-".into(), |v| format!("{v:.2}")),
        );
    }
    if sip.calls.len() > rows {
        let _ = writeln!(s, "... {} more calls (--rtp-rows N shows more; --json has all)", sip.calls.len() - rows);
    }
    if sip.calls_untracked > 0 {
        let _ = writeln!(
            s,
            "{} more INVITE dialogs beyond the {}-call bound (counted, not itemized)",
            sip.calls_untracked,
            xconnect_dataplane::sip::MAX_CALLS
        );
    }
}

/// `fit` as text: what was found, beside the scenario written to a file.
pub fn fit_text(f: &xconnect_fit::Fit) -> String {
    let mut s = String::new();
    let w = &mut s;
    let _ = writeln!(
        w,
        "{}: {:.3} s fitted{}; sides by {}",
        f.file,
        f.window.seconds,
        if f.window.busy_hour { " (its busiest hour)" } else { "" },
        f.sides
    );
    let c = &f.calls;
    let _ = writeln!(
        w,
        "calls: {} ({} SIP), {} with a known codec; {} up at the start, {} at the end, {} completed",
        c.total, c.sip, c.with_codec, c.up_at_start, c.up_at_end, c.completed
    );
    let _ = writeln!(w, "offered: {:.2} Erlangs", f.erlangs);
    for k in &f.classes {
        let _ = writeln!(
            w,
            "  {:>5.1} %  {}/{} ms{}  ({} calls, activity {:.1} %)",
            k.share * 100.0,
            k.key.codec,
            k.key.ptime_ms,
            if k.key.silence_suppression { " silence suppression" } else { "" },
            k.calls,
            k.activity * 100.0
        );
    }
    let a = &f.arrivals;
    let _ = writeln!(
        w,
        "arrivals: {} ({:.4}/s), {}{}",
        a.count,
        a.rate_per_s,
        a.process,
        match &a.test {
            Some(t) if t.rejected => format!("; Poisson REJECTED (KS statistic {:.3} > 1.094 at 5 %)", t.statistic),
            Some(t) => format!("; Poisson not rejected (KS statistic {:.3} <= 1.094 at 5 %)", t.statistic),
            None => "; too few to test Poisson".into(),
        }
    );
    if let Some(h) = &f.holding {
        let _ = writeln!(
            w,
            "holding: {} completed, mean {:.2} s, median {:.2} s; AIC exponential {:.1}, lognormal {:.1}",
            h.n, h.mean_s, h.median_s, h.aic_exponential, h.aic_lognormal
        );
    }
    if let Some(h) = f.mean_hold_s {
        let _ = writeln!(w, "mean holding time (Little's law): {h:.2} s");
    }
    for d in &f.directions {
        let _ = writeln!(
            w,
            "{} {}: {:.3} Mbit/s mean, {:.3} peak 1 ms, {:.3} peak 1 s",
            d.site, d.direction, d.mbps, d.peak_1ms_mbps, d.peak_1s_mbps
        );
    }
    let _ = writeln!(w, "delay variation: {:.3} ms", f.jitter.delay_variation_ms);
    for site in &f.sites {
        let _ = writeln!(
            w,
            "site {}: {} {} calls {} ({})",
            site.name, site.location, site.tier, site.calls, site.tier_reason
        );
    }
    for n in &f.notes {
        let _ = writeln!(w, "note: {n}");
    }
    s
}
