//! The page of `xconnect simulate --report`: the verdict and the scenario, each site and
//! failover case, then per site and direction the rate against the tier, the drops, jitter and
//! delay, the calls below the MOS target over time (with the failover timeline on the same time
//! axis), and the distributions of per-call MOS and one-way delay.

use std::fmt::Write as _;

use xconnect_sim::failover::{ControlReport, TimelineEvent};
use xconnect_sim::series::{Bins, LinkSeries};
use xconnect_sim::sim::SimReport;
use xconnect_sim::site::SiteReport;

use super::chart::{Bars, Chart, Line, Mark};
use super::{escape, facts, num, page, table, verdict};

/// The whole page.
pub fn render(r: &SimReport) -> String {
    let mut b = String::new();
    let good = r.sites.iter().chain(&r.failover).all(|s| s.ok) && r.verdict.starts_with("OK");
    b.push_str(&verdict(&r.verdict, good));
    b.push_str(&facts(&[
        ("Scenario", r.scenario.clone()),
        ("Simulated", format!("{} s", r.duration_s)),
        ("Calls", r.traffic_label()),
        ("Loss target", format!("{} %", r.loss_target_pct)),
        ("MOS target", format!("{}", r.mos_target)),
        ("Seed", r.seed.to_string()),
        ("Frames simulated", r.frames.to_string()),
    ]));
    b.push_str("<h2>Sites</h2>");
    b.push_str(&sites_table(&r.sites));
    if !r.failover.is_empty() {
        b.push_str("<h2>Each site alone</h2><p class=\"note\">Every call on one site, as after the other failed.</p>");
        b.push_str(&sites_table(&r.failover));
    }
    let marks = r.control.as_ref().map(timeline_marks).unwrap_or_default();
    if let Some(c) = &r.control {
        b.push_str(&failover_section(c));
    }
    if r.series.iter().all(|s| s.series.is_empty()) {
        b.push_str("<p class=\"note\">No frame was simulated: there is nothing to draw over time.</p>");
    }
    if r.series_interval_widened {
        b.push_str("<p class=\"note\">The interval was widened to keep each series at 3600 points or fewer.</p>");
    }
    for s in &r.series {
        b.push_str(&link_section(s, &marks, r.mos_target));
    }
    if let Some(c) = &r.control {
        b.push_str("<h2>Control plane timeline</h2>");
        b.push_str(&table(
            "timeline",
            &["time (s)", "site", "event", "detail"],
            c.timeline
                .iter()
                .map(|e| vec![format!("{:.3}", e.t_s), escape(&e.site), escape(e.event.name()), escape(&e.detail)]),
        ));
    }
    page(&format!("xconnect simulate: {}", r.scenario), &b)
}

fn sites_table(sites: &[SiteReport]) -> String {
    table(
        "sites",
        &[
            "site",
            "location",
            "tier (Mbit/s)",
            "calls",
            "offered (Mbit/s)",
            "passed (Mbit/s)",
            "loss (%)",
            "policer drops",
            "port drops",
            "delay p99 (ms)",
            "MOS min",
            "MOS mean",
            "calls below target",
            "ok",
        ],
        sites.iter().map(|s| {
            vec![
                escape(&s.name),
                escape(&s.location),
                (s.tier_bps / 1_000_000).to_string(),
                s.calls.to_string(),
                format!("{:.2}", s.offered_mbps),
                format!("{:.2}", s.passed_mbps),
                format!("{:.3}", s.loss_pct),
                s.policer_drops.to_string(),
                s.port_drops.to_string(),
                format!("{:.3}", s.delay_ms.p99),
                num(s.mos_min, 2),
                num(s.mos_mean, 2),
                s.calls_below_mos_target.to_string(),
                if s.ok { "yes".into() } else { "<strong>no</strong>".into() },
            ]
        }),
    )
}

/// What the charts mark on their time axis: events (link down, detection, traffic moved) and
/// outages shaded, per site.
#[derive(Debug, Default)]
struct Marks {
    events: Vec<(String, f64, String)>,
    outages: Vec<(String, f64, f64)>,
}

fn timeline_marks(c: &ControlReport) -> Marks {
    let mut m = Marks::default();
    for e in &c.timeline {
        let label = match e.event {
            TimelineEvent::LinkDown => "link down",
            TimelineEvent::LinkUp => "link up",
            TimelineEvent::BgpReset => "BGP reset",
            TimelineEvent::Detected => "detected",
            TimelineEvent::Withdraw => "withdraw",
            _ => continue,
        };
        // One mark per site, time and kind (a withdrawal touches several RIBs at once).
        if !m.events.iter().any(|x| x.0 == e.site && x.1 == e.t_s && x.2 == label) {
            m.events.push((e.site.clone(), e.t_s, label.to_string()));
        }
    }
    for f in &c.failovers {
        if let Some(moved) = f.traffic_moved_s {
            m.events.push((f.site.clone(), moved, "traffic moved".into()));
        }
        let end = f.traffic_moved_s.into_iter().chain(f.return_traffic_moved_s).fold(f.down_s, f64::max);
        m.outages.push((f.site.clone(), f.down_s, if end > f.down_s { end } else { f.down_s }));
    }
    m
}

fn failover_section(c: &ControlReport) -> String {
    let mut s = String::from("<h2>Control plane</h2>");
    s.push_str(&facts(&[
        ("Detection", c.detection.clone()),
        ("Calls started at", format!("{:.3} s", c.traffic_start_s)),
        ("Calls below MOS 3.6", c.calls_below_mos_3_6.to_string()),
        ("ACL drops", c.acl_drops.to_string()),
    ]));
    s.push_str("<h3>Failovers</h3>");
    s.push_str(&table(
        "failovers",
        &[
            "site",
            "down (s)",
            "detected by",
            "traffic moved (s)",
            "moved to",
            "outage (s)",
            "frames lost",
            "lost per call (mean)",
        ],
        c.failovers.iter().map(|f| {
            vec![
                escape(&f.site),
                format!("{:.3}", f.down_s),
                escape(&f.detected_by.to_string()),
                num(f.traffic_moved_s, 3),
                escape(f.moved_to.as_deref().unwrap_or("–")),
                num(f.outage_s, 3),
                f.lost_frames.to_string(),
                format!("{:.1}", f.lost_per_call_mean),
            ]
        }),
    ));
    s
}

/// The charts of one site's direction.
fn link_section(l: &LinkSeries, marks: &Marks, mos_target: f64) -> String {
    let s = &l.series;
    let id = format!("{}-{}", slug(&l.site), l.direction);
    let dir = if l.direction == "to_provider" { "customer → provider" } else { "provider → customer" };
    let mut out = String::new();
    let _ =
        write!(out, "<section class=\"link\" data-site=\"{}\"><h2>{}, {dir}</h2>", escape(&l.site), escape(&l.site));
    if s.is_empty() {
        out.push_str("<p class=\"note\">No frame in this direction.</p></section>");
        return out;
    }
    let _ = write!(out, "<p class=\"note\">One point per {} s.</p><div class=\"charts\">", s.interval_s);
    let t = &s.t_s;
    // The site's own marks (a failover case is named after its site: "ashburn alone (…)").
    let mine = |site: &str| l.site == site || l.site.starts_with(&format!("{site} "));
    let vlines: Vec<(f64, String)> = marks.events.iter().filter(|e| mine(&e.0)).map(|e| (e.1, e.2.clone())).collect();
    let spans: Vec<(f64, f64, String)> =
        marks.outages.iter().filter(|o| mine(&o.0) && o.2 > o.1).map(|o| (o.1, o.2, "outage".to_string())).collect();
    let timed = |c: Chart| Chart { vlines: vlines.clone(), spans: spans.clone(), ..c };
    let some = |v: &[f64]| v.iter().map(|&x| Some(x)).collect::<Vec<_>>();
    let count = |v: &[u64]| v.iter().map(|&x| Some(x as f64)).collect::<Vec<_>>();
    out.push_str(
        &timed(Chart {
            id: format!("rate-{id}"),
            title: format!("Rate, {} {dir}", l.site),
            x_label: "time (s)".into(),
            y_label: "rate (Mbit/s)".into(),
            lines: vec![
                Line::new("offered", t, some(&s.offered_mbps), Mark::Line),
                Line::new("passed the edge", t, some(&s.passed_mbps), Mark::Line),
                Line::new("busiest 1 ms offered", t, some(&s.peak_1ms_mbps), Mark::Line),
            ],
            hlines: vec![(l.tier_bps as f64 / 1e6, format!("tier {} Mbit/s", l.tier_bps / 1_000_000))],
            y_from_zero: true,
            ..Chart::default()
        })
        .render(),
    );
    out.push_str(
        &timed(Chart {
            id: format!("drops-{id}"),
            title: format!("Frames dropped or lost, {} {dir}", l.site),
            x_label: "time (s)".into(),
            y_label: "frames per interval".into(),
            lines: vec![
                Line::new("policer", t, count(&s.policer_drops), Mark::Line),
                Line::new("port", t, count(&s.port_drops), Mark::Line),
                Line::new("egress shaper", t, count(&s.shaper_drops), Mark::Line),
                Line::new("lost on the way", t, count(&s.lost_frames), Mark::Line),
            ],
            y_from_zero: true,
            ..Chart::default()
        })
        .render(),
    );
    out.push_str(
        &timed(Chart {
            id: format!("jitter-{id}"),
            title: format!("Jitter and one-way delay, {} {dir}", l.site),
            x_label: "time (s)".into(),
            y_label: "ms".into(),
            lines: vec![
                Line::new("jitter, mean of the calls", t, s.jitter_ms_mean.clone(), Mark::Line),
                Line::new("jitter, largest", t, s.jitter_ms_max.clone(), Mark::Line),
                Line::new("delay p50", t, s.delay_ms_p50.clone(), Mark::Line),
                Line::new("delay p99", t, s.delay_ms_p99.clone(), Mark::Line),
            ],
            y_from_zero: true,
            ..Chart::default()
        })
        .render(),
    );
    out.push_str(
        &timed(Chart {
            id: format!("calls-{id}"),
            title: format!("Calls and calls below MOS {mos_target}, {} {dir}", l.site),
            x_label: "time (s)".into(),
            y_label: "calls".into(),
            lines: vec![
                Line::new("calls sending", t, some(&s.calls_active), Mark::Line),
                Line::new(&format!("below MOS {mos_target} or silent"), t, some(&s.calls_below_mos_target), Mark::Line),
            ],
            y_from_zero: true,
            ..Chart::default()
        })
        .render(),
    );
    out.push_str(
        &timed(Chart {
            id: format!("mos-time-{id}"),
            title: format!("MOS over time, {} {dir}", l.site),
            x_label: "time (s)".into(),
            y_label: "MOS over the interval".into(),
            lines: vec![
                Line::new("mean of the calls", t, s.mos_mean.clone(), Mark::Line),
                Line::new("lowest call", t, s.mos_min.clone(), Mark::Line),
            ],
            hlines: vec![(mos_target, format!("target {mos_target}"))],
            y_range: Some((1.0, 4.5)),
            ..Chart::default()
        })
        .render(),
    );
    out.push_str(&bars(
        &format!("mos-{id}"),
        &format!("Per-call MOS, {} {dir}", l.site),
        "MOS",
        "calls",
        &l.mos_histogram,
        1,
    ));
    out.push_str(&bars(
        &format!("delay-{id}"),
        &format!("One-way delay, {} {dir}", l.site),
        "one-way delay (ms)",
        "frames",
        &l.delay_ms_histogram,
        3,
    ));
    out.push_str("</div></section>");
    out
}

/// A histogram as bars labelled with their lower ends.
pub fn bars(id: &str, title: &str, x_label: &str, y_label: &str, b: &Bins, decimals: usize) -> String {
    Bars {
        id: id.to_string(),
        title: title.to_string(),
        x_label: x_label.to_string(),
        y_label: y_label.to_string(),
        bins: b
            .counts
            .iter()
            .enumerate()
            .map(|(i, &n)| (format!("{:.decimals$}", b.from + b.width * i as f64), n))
            .collect(),
    }
    .render()
}

/// An id fragment: letters, digits and dashes.
pub fn slug(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    out.trim_matches('-').to_string()
}
