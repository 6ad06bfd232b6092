//! The fitted scenario as TOML that `simulate` and `generate --scenario` read: every number
//! with a comment saying where it came from and how well it fits, and every default said to
//! be one.

use std::fmt::Write;

use crate::{ClassFit, Fit};

/// Shares are written in thousandths.
const SHARE_STEPS: u64 = 1000;

/// Rounds the classes' shares to thousandths that add up to exactly 1 (the largest takes the
/// rounding); a class under half a thousandth is left out, with a note.
pub(crate) fn round_shares(classes: &mut Vec<ClassFit>, notes: &mut Vec<String>) {
    let mut steps: Vec<u64> = classes.iter().map(|c| (c.share * SHARE_STEPS as f64).round() as u64).collect();
    let dropped: Vec<String> = classes
        .iter()
        .zip(&steps)
        .filter(|(_, s)| **s == 0)
        .map(|(c, _)| format!("{}/{} ms ({} calls)", c.key.codec, c.key.ptime_ms, c.calls))
        .collect();
    if !dropped.is_empty() {
        notes.push(format!("under 0.05 % of the traffic, left out of the mix: {}", dropped.join(", ")));
    }
    let sum: u64 = steps.iter().sum();
    if let Some(first) = steps.first_mut() {
        // Classes are sorted by share: the first is the largest, and can take the difference.
        *first = (*first + SHARE_STEPS).saturating_sub(sum);
    }
    let mut i = 0;
    classes.retain(|_| {
        i += 1;
        steps[i - 1] > 0
    });
    steps.retain(|s| *s > 0);
    for (c, s) in classes.iter_mut().zip(steps) {
        c.share = s as f64 / SHARE_STEPS as f64;
    }
}

/// A TOML basic string.
fn quoted(s: &str) -> String {
    let mut out = String::from("\"");
    for ch in s.chars() {
        match ch {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04X}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn pct(x: f64) -> String {
    format!("{:.1} %", x * 100.0)
}

/// The scenario text of `fit`.
pub(crate) fn write(fit: &Fit) -> String {
    let mut t = String::new();
    let w = &mut t;
    let _ = writeln!(w, "# Fitted by `xconnect fit` from {}", file_name(&fit.file).replace('\n', " "));
    let _ = writeln!(
        w,
        "# Window: {:.3} s{} of the capture. Sides: {}.",
        fit.window.seconds,
        if fit.window.busy_hour { ", its busiest hour" } else { ", all" },
        fit.sides
    );
    for n in &fit.notes {
        let _ = writeln!(w, "# Note: {n}");
    }
    let _ = writeln!(w, "name = {}", quoted(&format!("fitted from {}", file_name(&fit.file))));
    let _ = writeln!(w, "# Not in a capture: the seed of the simulation's own random draws (any will do).");
    let _ = writeln!(w, "seed = 1");
    let _ = writeln!(w, "duration_s = {:.3}", fit.window.seconds.max(0.001));
    let _ = writeln!(w, "# Targets are not in a capture: the usual ones.");
    let _ = writeln!(w, "loss_target_pct = 0.1");
    let best = fit
        .classes
        .iter()
        .filter_map(|c| xconnect_dataplane::rtp::best_mos(c.key.codec.payload_type(), c.key.ptime_ms))
        .fold(4.0_f64, f64::min);
    let mos_target = (best * 100.0).floor() / 100.0;
    if mos_target < 4.0 {
        let _ = writeln!(w, "# (4.0 is above what a codec of the mix reaches with a perfect network)");
    }
    let _ = writeln!(w, "mos_target = {mos_target:.2}");

    let _ = writeln!(w, "\n[traffic]");
    let c = &fit.calls;
    let _ = writeln!(
        w,
        "# Calls: {} in the window ({} SIP dialogs), {} of a codec the simulator sends; {} up at its start, {} at \
         its end, {} started and ended inside it.",
        c.total, c.sip, c.with_codec, c.up_at_start, c.up_at_end, c.completed
    );
    let _ = writeln!(
        w,
        "# Offered traffic: {:.2} Erlangs (calls up on average over the window){}.",
        fit.erlangs,
        if fit.growth_pct != 0.0 {
            format!(", {:+} % growth applied to each site's calls", fit.growth_pct)
        } else {
            String::new()
        }
    );
    let a = &fit.arrivals;
    let _ = writeln!(w, "# Arrivals: {} calls started inside the window, {:.4} per second.", a.count, a.rate_per_s);
    match &a.test {
        Some(k) => {
            let verdict = match (k.rejected, k.significant_at) {
                (true, Some(l)) => format!(
                    "REJECTED at the {} % level: the arrivals are not Poisson (a dialer, a batch, a busy signal \
                     retried); the simulator's Poisson arrivals are an approximation of them",
                    l * 100.0
                ),
                (false, Some(l)) => format!("significant only at {} %: not rejected at 5 %", l * 100.0),
                _ => "below even the 15 % value: the arrivals agree with Poisson".into(),
            };
            let _ = writeln!(
                w,
                "# Poisson test: Kolmogorov-Smirnov of the {} inter-arrival times (mean {:.3} s) against the \
                 exponential, with Stephens' modification for an estimated mean: D = {:.4}, statistic {:.3} \
                 (5 % value 1.094): {verdict}.",
                k.n, k.mean_s, k.d, k.statistic
            );
        }
        None => {
            let _ = writeln!(w, "# Poisson test: not run (fewer than {} arrivals).", crate::stats::MIN_GAPS + 1);
        }
    }
    match &fit.holding {
        Some(h) => {
            let _ = writeln!(
                w,
                "# Holding times of the {} completed calls: mean {:.2} s, median {:.2} s. Exponential: AIC {:.1}; \
                 lognormal (mu {:.3}, sigma {:.3} of ln s): AIC {:.1}. Lower is better: {}.",
                h.n,
                h.mean_s,
                h.median_s,
                h.aic_exponential,
                h.lognormal_mu,
                h.lognormal_sigma,
                h.aic_lognormal,
                match h.best {
                    crate::stats::Dist::Exponential => "exponential",
                    crate::stats::Dist::Lognormal => "lognormal",
                }
            );
            let _ = writeln!(
                w,
                "# The simulator's holding times are exponential; how many calls are up at once (M/G/inf) depends \
                 only on the mean, so the load is right whichever fits. Completed calls are the shorter ones in a \
                 short capture."
            );
        }
        None => {
            let _ =
                writeln!(w, "# Holding times: not fitted (fewer than {} completed calls).", crate::stats::MIN_HOLDS);
        }
    }
    match fit.mean_hold_s {
        Some(h) if a.process == "poisson" => {
            let _ = writeln!(w, "arrivals = \"poisson\"");
            let _ = writeln!(
                w,
                "# Little's law: {:.2} Erlangs / {:.4} arrivals per second (every call up in the window counts).",
                fit.erlangs, a.rate_per_s
            );
            let _ = writeln!(w, "mean_hold_s = {h:.3}");
        }
        _ => {
            let _ = writeln!(w, "# Fixed calls: every call is up for the whole run.");
            let _ = writeln!(w, "arrivals = \"fixed\"");
        }
    }
    let _ = writeln!(w, "# Phases: independent calls (random); the peaks per direction are under [[sites]].");
    let _ = writeln!(w, "phase = \"random\"");
    if let Some(v) = fit.vlan {
        let _ = writeln!(w, "# Every frame of the calls carries an 802.1Q tag; the first VLAN id seen:");
        let _ = writeln!(w, "vlan = {v}");
    }
    let _ = writeln!(
        w,
        "# Comfort noise in {} of the calls, DTMF events in {}: the simulator sends neither (`generate --sip \
         --comfort-noise --dtmf-share` does).",
        pct(fit.comfort_noise_share),
        pct(fit.dtmf_share),
    );
    if let Some(s) = fit.customer_placed_share {
        let _ = writeln!(
            w,
            "# The customer placed {} of the SIP calls whose side is known (the rest the provider).",
            pct(s)
        );
    }
    let class_lines = |w: &mut String, cl: &ClassFit| {
        let k = cl.key;
        let _ = writeln!(
            w,
            "# {} calls; their audio streams sent {} of their packet times' packets{}.",
            cl.calls,
            pct(cl.activity),
            if k.silence_suppression {
                format!(
                    " (silence suppressed: under {:.0} %, with talkspurt markers or comfort noise)",
                    crate::calls::SUPPRESSED_BELOW * 100.0
                )
            } else {
                String::new()
            }
        );
        let _ = writeln!(w, "codec = \"{}\"", k.codec);
        let _ = writeln!(w, "ptime_ms = {}", k.ptime_ms);
        let _ = writeln!(w, "silence_suppression = {}", k.silence_suppression);
    };
    match fit.classes.as_slice() {
        [one] => class_lines(w, one),
        many => {
            for cl in many {
                let _ = writeln!(w, "\n[[traffic.mix]]");
                class_lines(w, cl);
                let _ = writeln!(w, "# Its share of the Erlangs.");
                let _ = writeln!(w, "share = {:.3}", cl.share);
            }
        }
    }

    let _ = writeln!(w, "\n[link]");
    let _ = writeln!(w, "# Not in a capture: a gigabit port, the meet-me room's usual fiber.");
    let _ = writeln!(w, "port_bps = 1_000_000_000");
    let _ = writeln!(w, "# Not in a capture: a one-way delay needs both ends. Set it.");
    let _ = writeln!(w, "propagation_ms = 0.0");
    match fit.jitter.median_mean_jitter_ms {
        Some(m) => {
            let _ = writeln!(
                w,
                "# Three times the median mean jitter ({m:.3} ms) of {} audio streams of {}+ packets: a uniform \
                 delay on [0, V] gives an RFC 3550 jitter of V/3. It includes the senders' own timing.",
                fit.jitter.streams,
                crate::MIN_JITTER_PACKETS
            );
        }
        None => {
            let _ = writeln!(w, "# Not fitted: no audio stream long enough to show jitter.");
        }
    }
    let _ = writeln!(w, "delay_variation_ms = {:.3}", fit.jitter.delay_variation_ms);

    for s in &fit.sites {
        let _ = writeln!(w, "\n[[sites]]");
        if let Some(v) = s.vlan.filter(|_| fit.sites.len() > 1) {
            let _ = writeln!(w, "# The calls tagged with VLAN {v}.");
        }
        let _ = writeln!(w, "name = {}", quoted(&s.name));
        let _ = writeln!(w, "location = \"{}\"", s.location);
        let _ = writeln!(w, "# {}.", s.tier_reason);
        let _ = writeln!(w, "tier = \"{}\"", s.tier);
        let _ = writeln!(
            w,
            "# {:.2} Erlangs{}.",
            s.erlangs,
            if fit.growth_pct != 0.0 {
                format!(" x {:.3} (growth)", 1.0 + fit.growth_pct / 100.0)
            } else {
                String::new()
            }
        );
        let _ = writeln!(w, "calls = {}", s.calls);
        for d in fit.directions.iter().filter(|d| d.site == s.name) {
            let sizes: Vec<String> = d.sizes.iter().map(|z| format!("{} B {}", z.bytes, pct(z.share))).collect();
            let _ = writeln!(
                w,
                "# {}: {} frames, {:.3} Mbit/s mean, peaks {:.3} over 1 ms and {:.3} over 1 s (frames with FCS); \
                 sizes {}.",
                d.direction.replace('_', " "),
                d.frames,
                d.mbps,
                d.peak_1ms_mbps,
                d.peak_1s_mbps,
                sizes.join(", ")
            );
        }
    }
    t
}

fn file_name(path: &str) -> &str {
    std::path::Path::new(path).file_name().and_then(|n| n.to_str()).unwrap_or(path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calls::ClassKey;
    use xconnect_trafgen::Codec;

    fn class(share: f64) -> ClassFit {
        ClassFit {
            key: ClassKey { codec: Codec::G711U, ptime_ms: 20, silence_suppression: false },
            share,
            calls: 1,
            activity: 1.0,
        }
    }

    #[test]
    fn shares_add_up_to_one_in_thousandths() {
        let mut v = vec![class(0.3334), class(0.3333), class(0.3333)];
        let mut notes = Vec::new();
        round_shares(&mut v, &mut notes);
        let steps: Vec<u64> = v.iter().map(|c| (c.share * 1000.0).round() as u64).collect();
        assert_eq!(steps, vec![334, 333, 333]);
        let mut v = vec![class(0.9996), class(0.0004)];
        round_shares(&mut v, &mut notes);
        assert_eq!(v.len(), 1);
        assert_eq!(v[0].share, 1.0);
        assert!(notes[0].contains("left out"), "{notes:?}");
    }

    #[test]
    fn strings_are_quoted_for_toml() {
        assert_eq!(quoted("a\"b\\c\n"), "\"a\\\"b\\\\c\\u000A\"");
    }
}
