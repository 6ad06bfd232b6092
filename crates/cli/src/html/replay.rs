//! The page of `xconnect replay --report`: the capture's summary, its rate over time (interval
//! averages and busiest milliseconds) with the what-if tier and its drops, the RTP streams over
//! time and in a table with a jitter sparkline each, the SIP calls, and the BGP events.

use std::fmt::Write as _;

use xconnect_dataplane::replay::ReplayReport;

use super::chart::{sparkline, Chart, Line, Mark};
use super::{escape, facts, num, page, table, verdict};

/// Streams listed in the table (all are in the JSON).
const MAX_STREAM_ROWS: usize = 500;
/// Calls listed in the table.
const MAX_CALL_ROWS: usize = 500;
/// BGP events listed.
const MAX_BGP_ROWS: usize = 500;

/// The whole page.
pub fn render(r: &ReplayReport) -> String {
    let mut b = String::new();
    if let Some(e) = &r.error {
        let _ = write!(
            b,
            "<p class=\"verdict bad\"><strong>The capture stops early</strong> ({}) at byte {}: {}. Everything below covers the frames before.</p>",
            escape(e.kind),
            e.offset,
            escape(&e.message)
        );
    }
    b.push_str(&summary(r));
    if r.frames == 0 {
        b.push_str(
            "<p class=\"verdict bad\"><strong>The capture holds no frame.</strong> There is nothing to draw.</p>",
        );
    }
    let mut items = vec![
        ("File", r.file.clone()),
        ("Format", format!("{} ({})", r.format, r.link_types.join(", "))),
        ("Frames", r.frames.to_string()),
        ("Bytes on the wire", r.bytes.to_string()),
        ("Span", format!("{:.3} s", r.duration_s)),
        ("Average rate", format!("{:.3} Mbit/s", r.avg_mbps)),
        ("Busiest 1 ms", format!("{:.3} Mbit/s", r.peak_mbps_1ms)),
        ("Busiest 1 s", format!("{:.3} Mbit/s", r.peak_mbps_1s)),
        ("RTP streams", r.rtp_streams.len().to_string()),
        ("SIP calls", r.sip.calls.len().to_string()),
        ("Malformed frames", r.malformed.values().sum::<u64>().to_string()),
    ];
    if let Some(p) = &r.policer {
        items.push((
            "What-if tier",
            format!("{} Mbit/s, burst {} B ({})", p.tier_bps / 1_000_000, p.burst_bytes, p.mode),
        ));
        items.push(("Dropped by the tier", format!("{} of {} frames", p.dropped_frames, p.offered_frames)));
    }
    b.push_str(&facts(&items));

    let s = &r.series;
    if !s.is_empty() {
        let _ = write!(
            b,
            "<h2>Over time</h2><p class=\"note\">One point per {} s from the first frame.</p><div class=\"charts\">",
            s.interval_s
        );
        let t = &s.t_s;
        let some = |v: &[f64]| v.iter().map(|&x| Some(x)).collect::<Vec<_>>();
        let count = |v: &[u64]| v.iter().map(|&x| Some(x as f64)).collect::<Vec<_>>();
        b.push_str(
            &Chart {
                id: "rate".into(),
                title: "Rate on the wire, both directions".into(),
                x_label: "time since the first frame (s)".into(),
                y_label: "rate (Mbit/s)".into(),
                lines: vec![
                    Line::new("average over the interval", t, some(&s.offered_mbps), Mark::Line),
                    Line::new("busiest 1 ms", t, some(&s.peak_1ms_mbps), Mark::Line),
                ],
                y_from_zero: true,
                ..Chart::default()
            }
            .render(),
        );
        // The tier holds each direction on its own: one rate chart and one drops chart each.
        if let Some(ps) = &r.policer_series {
            let tier = ps.tier_bps as f64 / 1e6;
            for (dir, d) in [("to_provider", &ps.to_provider), ("to_customer", &ps.to_customer)] {
                if d.is_empty() {
                    continue;
                }
                let name = if dir == "to_provider" { "customer → provider" } else { "provider → customer" };
                let t = &d.t_s;
                b.push_str(
                    &Chart {
                        id: format!("rate-{dir}"),
                        title: format!("What-if tier, {name}: rate as the policer counts it"),
                        x_label: "time since the first frame (s)".into(),
                        y_label: "rate (Mbit/s)".into(),
                        lines: vec![
                            Line::new("offered", t, some(&d.offered_mbps), Mark::Line),
                            Line::new("passed", t, some(&d.passed_mbps), Mark::Line),
                            Line::new("busiest 1 ms offered", t, some(&d.peak_1ms_mbps), Mark::Line),
                        ],
                        hlines: vec![(tier, format!("tier {tier} Mbit/s"))],
                        y_from_zero: true,
                        ..Chart::default()
                    }
                    .render(),
                );
                let drops: Vec<u64> = d.policer_drops.iter().zip(&d.shaper_drops).map(|(p, s)| p + s).collect();
                b.push_str(
                    &Chart {
                        id: format!("drops-{dir}"),
                        title: format!("What-if tier, {name}: frames dropped"),
                        x_label: "time since the first frame (s)".into(),
                        y_label: "frames per interval".into(),
                        lines: vec![Line::new("dropped", t, count(&drops), Mark::Line)],
                        y_from_zero: true,
                        ..Chart::default()
                    }
                    .render(),
                );
            }
        }
        if !r.rtp_streams.is_empty() {
            b.push_str(
                &Chart {
                    id: "streams".into(),
                    title: "RTP streams".into(),
                    x_label: "time since the first frame (s)".into(),
                    y_label: "streams".into(),
                    lines: vec![
                        Line::new("streams with packets", t, some(&s.calls_active), Mark::Line),
                        Line::new("below MOS target or silent", t, some(&s.calls_below_mos_target), Mark::Line),
                    ],
                    y_from_zero: true,
                    ..Chart::default()
                }
                .render(),
            );
        }
        if s.mos_mean.iter().any(Option::is_some) {
            b.push_str(
                &Chart {
                    id: "mos".into(),
                    title: "RTP streams' MOS over time".into(),
                    x_label: "time since the first frame (s)".into(),
                    y_label: "MOS over the interval".into(),
                    lines: vec![
                        Line::new("mean of the streams", t, s.mos_mean.clone(), Mark::Line),
                        Line::new("lowest stream", t, s.mos_min.clone(), Mark::Line),
                    ],
                    hlines: vec![(3.6, "target 3.6".into())],
                    y_range: Some((1.0, 4.5)),
                    ..Chart::default()
                }
                .render(),
            );
        }
        if s.jitter_ms_mean.iter().any(Option::is_some) {
            b.push_str(
                &Chart {
                    id: "jitter".into(),
                    title: "RTP jitter".into(),
                    x_label: "time since the first frame (s)".into(),
                    y_label: "jitter (ms)".into(),
                    lines: vec![
                        Line::new("mean of the streams", t, s.jitter_ms_mean.clone(), Mark::Line),
                        Line::new("largest", t, s.jitter_ms_max.clone(), Mark::Line),
                    ],
                    y_from_zero: true,
                    ..Chart::default()
                }
                .render(),
            );
        }
        b.push_str("</div>");
    }

    b.push_str("<h2>RTP streams</h2>");
    if r.rtp_streams.len() > MAX_STREAM_ROWS {
        let _ = write!(
            b,
            "<p class=\"note\">The first {MAX_STREAM_ROWS} of {} streams (all are in the JSON).</p>",
            r.rtp_streams.len()
        );
    }
    b.push_str(&table(
        "streams",
        &[
            "source",
            "destination",
            "SSRC",
            "payload types",
            "packets",
            "lost",
            "max jitter (ms)",
            "mean jitter (ms)",
            "MOS",
            "jitter over time",
        ],
        r.rtp_streams.iter().take(MAX_STREAM_ROWS).map(|st| {
            vec![
                escape(&format!("{}:{}", st.src, st.src_port)),
                escape(&format!("{}:{}", st.dst, st.dst_port)),
                format!("0x{:08x}", st.ssrc),
                st.payload_types.iter().map(|p| p.to_string()).collect::<Vec<_>>().join(", "),
                st.packets.to_string(),
                st.lost.to_string(),
                num(st.max_jitter_ms, 3),
                num(st.mean_jitter_ms, 3),
                num(st.mos, 2),
                sparkline(&st.jitter_series_ms),
            ]
        }),
    ));

    b.push_str("<h2>SIP calls</h2>");
    if r.sip.calls.len() > MAX_CALL_ROWS {
        let _ = write!(
            b,
            "<p class=\"note\">The first {MAX_CALL_ROWS} of {} calls (all are in the JSON).</p>",
            r.sip.calls.len()
        );
    }
    let first = r.first_ts_ns.unwrap_or(0);
    let since = |ns: u64| format!("{:.3}", ns.saturating_sub(first) as f64 / 1e9);
    b.push_str(&table(
        "calls",
        &["Call-ID", "from", "to", "start (s)", "state", "code", "setup (ms)", "duration (s)", "streams", "worst MOS"],
        r.sip.calls.iter().take(MAX_CALL_ROWS).map(|c| {
            vec![
                escape(&c.call_id),
                escape(&c.from),
                escape(&c.to),
                since(c.start_ns),
                escape(c.state.name()),
                c.code.map_or("–".into(), |x| x.to_string()),
                num(c.setup_ms, 1),
                num(c.duration_s, 3),
                c.streams.len().to_string(),
                num(c.worst_mos, 2),
            ]
        }),
    ));

    b.push_str("<h2>BGP</h2>");
    let bgp = &r.bgp;
    let mut events: Vec<(u64, String, String, String)> = Vec::new();
    events.extend(
        bgp.announced.iter().map(|a| (a.frame, "announced".into(), a.prefix.clone(), format!("AS path {}", a.as_path))),
    );
    events.extend(bgp.withdrawn.iter().map(|w| (w.frame, "withdrawn".into(), w.prefix.clone(), String::new())));
    events.extend(
        bgp.notifications.iter().map(|n| {
            (n.frame, "notification".into(), String::new(), format!("{}/{} {}", n.code, n.subcode, n.meaning))
        }),
    );
    events.extend(
        bgp.policy_violations
            .iter()
            .map(|v| (v.frame, "refused by policy".into(), v.prefix.clone(), format!("{}: {}", v.reason, v.detail))),
    );
    events.sort_by_key(|e| e.0);
    if events.len() > MAX_BGP_ROWS {
        let _ = write!(
            b,
            "<p class=\"note\">The first {MAX_BGP_ROWS} of {} events (all are in the JSON).</p>",
            events.len()
        );
    }
    b.push_str(&table(
        "bgp",
        &["frame", "event", "prefix", "detail"],
        events
            .into_iter()
            .take(MAX_BGP_ROWS)
            .map(|(f, e, p, d)| vec![f.to_string(), escape(&e), escape(&p), escape(&d)]),
    ));
    page(&format!("xconnect replay: {}", r.file), &b)
}

/// One sentence on what the capture says: the what-if tier's drops and the streams below the
/// MOS target (a replay's series counts streams under 3.6, as here).
fn summary(r: &ReplayReport) -> String {
    let mut parts = Vec::new();
    let mut good = r.error.is_none();
    match &r.policer {
        Some(p) => {
            let pct =
                if p.offered_frames == 0 { 0.0 } else { p.dropped_frames as f64 * 100.0 / p.offered_frames as f64 };
            good &= p.dropped_frames == 0;
            parts.push(format!(
                "the {} Mbit/s tier would drop {} of {} frames ({pct:.2} %), its busiest millisecond at {:.0} % of the tier",
                p.tier_bps / 1_000_000,
                p.dropped_frames,
                p.offered_frames,
                p.peak_pct_of_tier_1ms
            ));
        }
        None => parts.push("no what-if tier was asked (--tier)".into()),
    }
    let scored = r.rtp_streams.iter().filter(|s| s.mos.is_some()).count();
    let below = r.rtp_streams.iter().filter(|s| s.mos.is_some_and(|m| m < 3.6)).count();
    good &= below == 0;
    parts.push(format!("{below} of {} RTP streams score below MOS 3.6 ({scored} have a MOS)", r.rtp_streams.len()));
    let mut text = parts.join("; ");
    text.replace_range(..1, &text[..1].to_uppercase());
    verdict(&text, good)
}
