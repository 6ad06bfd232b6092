//! The page of `xconnect capacity --report`: the answer beside the arithmetic, the port's limit
//! and the rule of thumb, and the search's trials as loss against calls with those three marked.

use xconnect_sim::sim::CapacityReport;

use super::chart::{Chart, Line, Mark};
use super::{facts, page, table, verdict};

/// The whole page.
pub fn render(c: &CapacityReport) -> String {
    let tier = c.tier_bps / 1_000_000;
    let mut b = String::new();
    let v = format!(
        "{} {} calls fit the {tier} Mbit/s tier with at most {} % loss ({} phases): {:.2} × the arithmetic answer, \
         {:.2} × the rule of thumb",
        if c.max_calls > 0 { "OK:" } else { "NONE:" },
        c.max_calls,
        c.loss_target_pct,
        c.phase,
        c.ratio_to_arithmetic,
        c.ratio_to_rule_of_thumb,
    );
    b.push_str(&verdict(&v, c.max_calls > 0));
    b.push_str(&facts(&[
        ("Tier", format!("{tier} Mbit/s")),
        ("Burst", format!("{} B", c.burst_bytes)),
        ("Codec", format!("{} at {} ms", c.codec, c.ptime_ms)),
        ("Phases", c.phase.to_string()),
        ("Accounting", c.accounting.to_string()),
        ("Loss target", format!("{} %", c.loss_target_pct)),
        ("Most calls (simulated)", c.max_calls.to_string()),
        ("Loss there", format!("{:.4} %", c.loss_pct_at_max)),
        ("Loss with one more", format!("{:.4} %", c.loss_pct_above)),
        ("Arithmetic answer", c.arithmetic_calls.to_string()),
        ("Port limit", c.port_limit_calls.to_string()),
        ("Rule of thumb", c.rule_of_thumb_calls.to_string()),
        ("Simulations", c.simulations.to_string()),
    ]));
    let mut trials = c.trials.clone();
    trials.sort_by_key(|t| t.calls);
    let xs: Vec<f64> = trials.iter().map(|t| t.calls as f64).collect();
    // The search's own range, with the answers near it; the port's limit is marked only when
    // it is close (at 10M it is a hundred times further; the facts above give it).
    let right = xs
        .iter()
        .copied()
        .chain([c.max_calls as f64 + 1.0, c.arithmetic_calls as f64, c.rule_of_thumb_calls as f64])
        .fold(1.0, f64::max)
        * 1.1;
    let chart = Chart {
        id: "capacity-trials".into(),
        title: format!("Loss against calls on the {tier} Mbit/s tier (each point a simulation)"),
        x_label: "concurrent calls".into(),
        y_label: "loss of the worse direction (%)".into(),
        lines: vec![Line::new("simulated loss", &xs, trials.iter().map(|t| Some(t.loss_pct)), Mark::Points)],
        hlines: vec![(c.loss_target_pct, format!("loss target {} %", c.loss_target_pct))],
        vlines: vec![
            (c.max_calls as f64, format!("answer {}", c.max_calls)),
            (c.arithmetic_calls as f64, format!("arithmetic {}", c.arithmetic_calls)),
            (c.port_limit_calls as f64, format!("port limit {}", c.port_limit_calls)),
            (c.rule_of_thumb_calls as f64, format!("rule of thumb {}", c.rule_of_thumb_calls)),
        ],
        y_from_zero: true,
        x_range: Some((0.0, right)),
        ..Chart::default()
    };
    b.push_str("<h2>The search</h2>");
    b.push_str(&chart.render());
    b.push_str(&table(
        "trials",
        &["order", "calls", "loss (%)", "within target"],
        c.trials.iter().enumerate().map(|(i, t)| {
            vec![
                (i + 1).to_string(),
                t.calls.to_string(),
                format!("{:.4}", t.loss_pct),
                if t.loss_pct <= c.loss_target_pct { "yes".into() } else { "no".into() },
            ]
        }),
    ));
    page(&format!("xconnect capacity: {tier} Mbit/s, {}", c.codec), &b)
}
