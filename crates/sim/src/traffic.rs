//! What the calls are: one class (a codec, its packet time, silence suppression) or a mix of
//! classes with their shares of the calls. Every engine, check and report takes the calls'
//! figures from here.

use xconnect_input::Table;
use xconnect_policer::Accounting;
use xconnect_trafgen::{BandwidthLayer, Codec};

use crate::plan::Carried;

/// One class of calls (as the report gives it, too).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Class {
    /// Codec.
    pub codec: Codec,
    /// Packet time, ms.
    pub ptime_ms: u32,
    /// Talkspurts and silences (ITU-T P.59) instead of a packet every packet time.
    pub silence_suppression: bool,
    /// Its share of the calls, above 0 and at most 1 (the shares add up to 1).
    pub share: f64,
}

/// Classes in words, as every message and report names the calls: "g711u / 20 ms" (with
/// silence suppression, when on) for one; each with its share, joined by "+", for a mix.
pub fn describe(classes: &[Class]) -> String {
    let one = |c: &Class| {
        format!(
            "{} / {} ms{}",
            c.codec,
            c.ptime_ms,
            if c.silence_suppression { " with silence suppression" } else { "" }
        )
    };
    match classes {
        [c] => one(c),
        cs => cs.iter().map(|c| format!("{} {:.1} %", one(c), c.share * 100.0)).collect::<Vec<_>>().join(" + "),
    }
}

/// The calls' classes, largest share first (ties in the file's order); at least one.
#[derive(Debug, Clone, PartialEq)]
pub struct Traffic(Vec<Class>);

/// How far the shares may add up from 1 (they are written with a few decimals).
pub const SHARE_SUM_TOLERANCE: f64 = 0.001;

impl Traffic {
    /// One class carrying every call.
    pub fn single(codec: Codec, ptime_ms: u32, silence_suppression: bool) -> Traffic {
        Traffic(vec![Class { codec, ptime_ms, silence_suppression, share: 1.0 }])
    }

    /// The classes, largest share first.
    pub fn classes(&self) -> &[Class] {
        &self.0
    }

    /// The class with the largest share: what single-codec arithmetic (the burst a frame
    /// needs, the report's packet time) speaks of when one number is asked.
    pub fn main(&self) -> &Class {
        &self.0[0]
    }

    /// `calls` split over the classes by share (largest remainders, so they add up to
    /// `calls`), as (class, calls) in class order, classes with no call left out.
    pub fn split(&self, calls: u64) -> Vec<(usize, u64)> {
        let exact: Vec<f64> = self.0.iter().map(|c| c.share * calls as f64).collect();
        let mut out: Vec<u64> = exact.iter().map(|x| x.floor() as u64).collect();
        let mut left = calls.saturating_sub(out.iter().sum());
        let mut order: Vec<usize> = (0..out.len()).collect();
        order.sort_by(|&a, &b| (exact[b] - exact[b].floor()).total_cmp(&(exact[a] - exact[a].floor())).then(a.cmp(&b)));
        for i in order.into_iter().cycle() {
            if left == 0 {
                break;
            }
            out[i] += 1;
            left -= 1;
        }
        out.into_iter().enumerate().filter(|&(_, n)| n > 0).collect()
    }

    /// The mean rate of one stream (one direction of a call) at a layer, by share, when every
    /// stream talks all the time (silence suppression only lowers it).
    pub fn stream_bps(&self, layer: BandwidthLayer, vlan: bool) -> f64 {
        self.0.iter().map(|c| c.share * c.codec.stream_bps(c.ptime_ms, layer, vlan)).sum()
    }

    /// What a tier on a port carries of these calls: the catalog's arithmetic for one class,
    /// the rate over the mean stream rate for a mix.
    pub fn carried(&self, tier_bps: u64, port_bps: u64, vlan: bool) -> Carried {
        match self.0.as_slice() {
            [c] => Carried::of(tier_bps, port_bps, c.codec, c.ptime_ms, vlan),
            _ => {
                let calls = |rate: u64, layer| (rate as f64 / self.stream_bps(layer, vlan)).floor() as u64;
                Carried { tier: calls(tier_bps, BandwidthLayer::Frame), port: calls(port_bps, BandwidthLayer::Wire) }
            }
        }
    }

    /// The smallest burst that lets every class's frame conform (the largest of them).
    pub fn min_burst_bytes(&self, vlan: bool, accounting: Accounting) -> u64 {
        self.0.iter().map(|c| min_burst_bytes(c.codec, c.ptime_ms, vlan, accounting)).max().expect("at least one class")
    }

    /// Whether any class has a MOS on the E-model (ITU-T G.107/G.113 tables).
    pub fn scored(&self) -> bool {
        self.0.iter().any(|c| xconnect_dataplane::rtp::impairment(c.codec.payload_type()).is_some())
    }

    /// Packets a call sends in `ns` while talking, on average over the classes by share.
    pub fn packets_in(&self, ns: u64) -> f64 {
        self.0.iter().map(|c| c.share * (ns as f64 / (f64::from(c.ptime_ms) * 1e6))).sum()
    }

    /// The shortest packet time, ms (the class that sends the most frames per call).
    pub fn shortest_ptime_ms(&self) -> u32 {
        self.0.iter().map(|c| c.ptime_ms).min().expect("at least one class")
    }

    /// The classes in words ([`describe`]).
    pub fn describe(&self) -> String {
        describe(&self.0)
    }
}

/// The smallest burst that lets a codec's frame conform: one frame as `accounting` counts it
/// (a smaller bucket can never hold it, so every frame would be dropped).
pub fn min_burst_bytes(codec: Codec, ptime_ms: u32, vlan: bool, accounting: Accounting) -> u64 {
    let frame = codec.packet_bytes(ptime_ms, BandwidthLayer::Frame, vlan) - Accounting::FCS;
    u64::from(accounting.bytes(frame, Some(codec.packet_bytes(ptime_ms, BandwidthLayer::Ip, false))))
}

const CODEC: &str = "a codec name: g711u, g711a, g729, g722 or opus";
const PTIME: &str = "a packet time in whole milliseconds, e.g. 20";
const SHARE: &str = "a share of the calls, above 0 and at most 1, e.g. 0.25";

/// Reads `[traffic]`: `codec`, `ptime_ms` and `silence_suppression` for one class, or
/// `[[traffic.mix]]` tables (each a codec, packet time, silence suppression and share) for a
/// mix. Each problem is reported on its table; `mos_target` is checked against every class.
pub(crate) fn read(traffic: &Table<'_, '_>, root: &Table<'_, '_>, mos_target: f64) -> Option<Traffic> {
    let mix = traffic.tables("mix");
    let mut classes = Vec::new();
    let mut ok = true;
    if mix.is_empty() {
        let codec = read_codec(traffic);
        let ptime_ms = traffic.or("ptime_ms", PTIME, 20u32);
        let silence_suppression = traffic.or("silence_suppression", "true or false", false);
        match codec {
            Some(codec) => classes.push((traffic, Class { codec, ptime_ms, silence_suppression, share: 1.0 })),
            None => ok = false,
        }
    } else {
        for key in ["codec", "ptime_ms", "silence_suppression"] {
            if traffic.raw(key).is_some() {
                traffic.problem(key, "give it in each [[traffic.mix]] table: [traffic] has a mix");
            }
        }
        for t in &mix {
            let codec = read_codec(t);
            let ptime_ms = t.or("ptime_ms", PTIME, 20u32);
            let silence_suppression = t.or("silence_suppression", "true or false", false);
            let share = t.get::<f64>("share", SHARE).filter(|s| {
                let good = *s > 0.0 && *s <= 1.0;
                if !good {
                    t.bad("share", SHARE, s);
                }
                good
            });
            match (codec, share) {
                (Some(codec), Some(share)) => {
                    let same = |c: &Class| {
                        (c.codec, c.ptime_ms, c.silence_suppression) == (codec, ptime_ms, silence_suppression)
                    };
                    if classes.iter().any(|(_, c)| same(c)) {
                        t.problem("codec", "the same class (codec, ptime_ms, silence_suppression) as another table: add their shares in one");
                        ok = false;
                    }
                    classes.push((t, Class { codec, ptime_ms, silence_suppression, share }));
                }
                _ => ok = false,
            }
        }
        if ok {
            let sum: f64 = classes.iter().map(|(_, c)| c.share).sum();
            if (sum - 1.0).abs() > SHARE_SUM_TOLERANCE {
                traffic
                    .problem("mix", format!("the shares add up to {sum}: expected 1 (within {SHARE_SUM_TOLERANCE})"));
                ok = false;
            }
        }
    }
    for (t, c) in &classes {
        if let Err(e) = c.codec.check_ptime(c.ptime_ms) {
            t.problem("ptime_ms", e);
            ok = false;
        }
        if let Some(best) = xconnect_dataplane::rtp::best_mos(c.codec.payload_type(), c.ptime_ms) {
            if mos_target > best {
                root.problem(
                    "mos_target",
                    format!(
                        "{mos_target} is above the best MOS {} reaches at {} ms with no loss, jitter or network delay \
                         ({best:.2}): every such call would fail; use at most {best:.2}",
                        c.codec, c.ptime_ms
                    ),
                );
            }
        }
    }
    let mut classes: Vec<Class> = classes.into_iter().map(|(_, c)| c).collect();
    // Largest share first; a stable sort keeps the file's order among equals.
    classes.sort_by(|a, b| b.share.total_cmp(&a.share));
    (ok && !classes.is_empty()).then_some(Traffic(classes))
}

fn read_codec(t: &Table<'_, '_>) -> Option<Codec> {
    t.get::<String>("codec", CODEC).and_then(|c| c.parse::<Codec>().map_err(|e| t.problem("codec", e)).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mix(shares: &[f64]) -> Traffic {
        Traffic(shares.iter().map(|&share| Class { share, ..Traffic::single(Codec::G711U, 20, false).0[0] }).collect())
    }

    #[test]
    fn calls_split_by_share_add_up() {
        assert_eq!(mix(&[0.5, 0.3, 0.2]).split(10), vec![(0, 5), (1, 3), (2, 2)]);
        // 7 × (0.5, 0.3, 0.2) = 3.5, 2.1, 1.4: the largest remainders get the two left.
        assert_eq!(mix(&[0.5, 0.3, 0.2]).split(7), vec![(0, 4), (1, 2), (2, 1)]);
        for calls in [0, 1, 2, 3, 99, 1000, 12_345] {
            let s = mix(&[0.45, 0.35, 0.2]).split(calls);
            assert_eq!(s.iter().map(|(_, n)| n).sum::<u64>(), calls);
        }
        assert_eq!(mix(&[0.9, 0.1]).split(1), vec![(0, 1)], "a class left without a call is left out");
    }

    #[test]
    fn one_class_carries_what_the_catalog_says() {
        let t = Traffic::single(Codec::G711U, 20, false);
        assert_eq!(
            t.carried(10_000_000, 1_000_000_000, false),
            Carried::of(10_000_000, 1_000_000_000, Codec::G711U, 20, false)
        );
        // Half G.711, half G.729 at 20 ms: 87.2 and 31.2 kbit/s per stream as frames with FCS.
        let m = Traffic(vec![Class { share: 0.5, ..t.0[0] }, Class { codec: Codec::G729, share: 0.5, ..t.0[0] }]);
        assert!((m.stream_bps(BandwidthLayer::Frame, false) - 59_200.0).abs() < 1e-6);
        assert_eq!(m.carried(10_000_000, 1_000_000_000, false).tier, 168);
    }
}
