//! The police stage: a tier's policer (or shaper) applied to frames in time order, with the
//! tallies a what-if replay reports.

use serde::Serialize;
use xconnect_interconnect::MAX_FRAME_BYTES;
use xconnect_policer::{
    Accounting, Color, ConfigError, CouplingFlag, MefProfile, Shaper, ShaperOutcome, SrTcm, TokenBucket, TrTcm,
};
use xconnect_time::Nanos;

use crate::series::{Recorder, Series};

/// Which algorithm colors the frames.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Profile {
    /// Single-rate two-color token bucket at the tier's rate (what the provider's edge does).
    SingleRate,
    /// RFC 2697: CIR = tier, CBS = burst, EBS = excess burst.
    SrTcm,
    /// RFC 2698: CIR = tier, CBS = burst, PIR = tier + excess rate, PBS = burst + excess burst.
    TrTcm,
    /// MEF 10.3: CIR = tier, CBS = burst, EIR = excess rate, EBS = excess burst, coupling flag.
    Mef {
        /// CF = 1.
        coupled: bool,
    },
}

impl Profile {
    /// Name for reports.
    pub fn name(self) -> &'static str {
        match self {
            Profile::SingleRate => "single-rate",
            Profile::SrTcm => "srtcm",
            Profile::TrTcm => "trtcm",
            Profile::Mef { .. } => "mef",
        }
    }
}

/// Police (drop red) or shape (queue, delay, tail-drop).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Decide at once; red frames are dropped, green and yellow pass.
    Police,
    /// Queue frames until the bucket holds them; drop only when `buffer_bytes` are waiting.
    Shape {
        /// Queue size in bytes.
        buffer_bytes: u64,
    },
}

/// Everything that configures the stage.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PolicerConfig {
    /// Committed rate (the tier), bit/s.
    pub rate_bps: u64,
    /// Committed burst, bytes.
    pub burst_bytes: u64,
    /// Excess rate (EIR, or PIR − CIR), bit/s; 0 for none.
    pub excess_rate_bps: u64,
    /// Excess burst (EBS, or PBS − CBS), bytes.
    pub excess_burst_bytes: u64,
    /// Algorithm.
    pub profile: Profile,
    /// Byte accounting.
    pub accounting: Accounting,
    /// Police or shape.
    pub mode: Mode,
}

impl PolicerConfig {
    /// What is wrong-looking but allowed in this configuration, known before any frame.
    pub fn warnings(&self) -> Vec<String> {
        let mut w = Vec::new();
        if self.burst_bytes < MAX_FRAME_BYTES {
            w.push(format!(
                "burst {} bytes is below the largest Ethernet frame ({} bytes with an 802.1Q tag and FCS): such frames can never conform and are always red",
                self.burst_bytes, MAX_FRAME_BYTES
            ));
        }
        w
    }
}

#[derive(Debug, Clone)]
enum Engine {
    Single(TokenBucket),
    Sr(SrTcm),
    Tr(TrTcm),
    Mef(MefProfile),
    Shape(Box<Shaper>),
}

/// What happened to one frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Passed with this color, leaving at `departs` (the arrival time when policing).
    Pass {
        /// Color given.
        color: Color,
        /// Departure time.
        departs: Nanos,
    },
    /// Dropped: red when policing; tail drop or oversize when shaping.
    Drop,
}

/// Frames and bytes.
#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq, Eq)]
pub struct Count {
    /// Frames.
    pub frames: u64,
    /// Bytes as accounted.
    pub bytes: u64,
}

impl Count {
    fn add(&mut self, bytes: u32) {
        self.frames += 1;
        self.bytes += u64::from(bytes);
    }
}

/// Shaper delays, in milliseconds.
#[derive(Debug, Clone, Copy, Serialize, PartialEq)]
pub struct DelayMs {
    /// Median.
    pub p50: f64,
    /// 99th percentile.
    pub p99: f64,
    /// 99.9th percentile.
    pub p999: f64,
    /// Largest.
    pub max: f64,
}

/// The policer part of the replay report (`policer` in the JSON).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct PolicerReport {
    /// Committed rate, bit/s.
    pub tier_bps: u64,
    /// Committed burst, bytes.
    pub burst_bytes: u64,
    /// "frame", "ip" or "wire".
    pub accounting: &'static str,
    /// "police" or "shape".
    pub mode: &'static str,
    /// "single-rate", "srtcm", "trtcm" or "mef".
    pub profile: &'static str,
    /// Frames offered.
    pub offered_frames: u64,
    /// Bytes offered (as accounted).
    pub offered_bytes: u64,
    /// Frames passed.
    pub passed_frames: u64,
    /// Bytes passed.
    pub passed_bytes: u64,
    /// Frames dropped.
    pub dropped_frames: u64,
    /// Bytes dropped.
    pub dropped_bytes: u64,
    /// Per color (police mode; in shape mode everything sent is green).
    pub green: Count,
    /// Yellow (three-color profiles).
    pub yellow: Count,
    /// Red.
    pub red: Count,
    /// Busiest 1 ms window of the offered traffic as a percentage of the tier (accounted
    /// bytes).
    pub peak_pct_of_tier_1ms: f64,
    /// Busiest 1 s window as a percentage of the tier.
    pub peak_pct_of_tier_1s: f64,
    /// Shape mode: frames dropped because the queue was full.
    pub tail_drops: Option<u64>,
    /// Shape mode: added delay.
    pub delay_ms: Option<DelayMs>,
    /// Things the user should know, e.g. a burst below the largest frame.
    pub warnings: Vec<String>,
    /// Full duplex: each direction through its own bucket (the figures above are the two
    /// added; peaks and shaper delays are the worse direction's).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub directions: Option<Box<Directions>>,
    /// Frames neither to nor from the provider's (or the customer's) prefixes: not policed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unclassified: Option<Count>,
}

/// The two directions of a cross-connect.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Directions {
    /// Customer → provider: what the provider polices at its ingress.
    pub to_provider: PolicerReport,
    /// Provider → customer: the provider's egress, limited to the same tier.
    pub to_customer: PolicerReport,
}

/// The two directions of the what-if over time.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct DirectionSeries {
    /// The tier each direction is held to, bit/s.
    pub tier_bps: u64,
    /// Customer → provider.
    pub to_provider: Series,
    /// Provider → customer.
    pub to_customer: Series,
}

/// Which addresses decide a frame's direction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sides {
    /// The provider's prefixes: to them is `to_provider`, from them `to_customer`.
    Provider(Vec<ipnet::IpNet>),
    /// The customer's prefixes: from them is `to_provider`, to them `to_customer`.
    Customer(Vec<ipnet::IpNet>),
}

/// A frame's direction on the cross-connect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Customer → provider.
    ToProvider,
    /// Provider → customer.
    ToCustomer,
}

/// [`Sides`] as masks, so that classifying a frame is a few integer compares.
#[derive(Debug, Clone)]
pub struct Classifier {
    /// Whether the prefixes are the provider's (else the customer's).
    provider: bool,
    v4: Vec<(u32, u32)>,
    v6: Vec<(u128, u128)>,
}

impl Classifier {
    /// Whether the prefixes are the provider's (else the customer's).
    pub fn provider(&self) -> bool {
        self.provider
    }

    /// The masks of `sides`.
    pub fn new(sides: &Sides) -> Self {
        let (provider, nets) = match sides {
            Sides::Provider(n) => (true, n),
            Sides::Customer(n) => (false, n),
        };
        let mut c = Classifier { provider, v4: Vec::new(), v6: Vec::new() };
        for n in nets {
            match n {
                ipnet::IpNet::V4(n) => c.v4.push((u32::from(n.network()), u32::from(n.netmask()))),
                ipnet::IpNet::V6(n) => c.v6.push((u128::from(n.network()), u128::from(n.netmask()))),
            }
        }
        c
    }

    /// Whether `a` is within the prefixes.
    #[inline]
    pub fn within(&self, a: std::net::IpAddr) -> bool {
        match a {
            std::net::IpAddr::V4(a) => {
                let a = u32::from(a);
                self.v4.iter().any(|&(net, mask)| a & mask == net)
            }
            std::net::IpAddr::V6(a) => {
                let a = u128::from(a);
                self.v6.iter().any(|&(net, mask)| a & mask == net)
            }
        }
    }

    /// The direction of a frame from `src` to `dst`, if either side is known.
    #[inline]
    pub fn direction(&self, src: std::net::IpAddr, dst: std::net::IpAddr) -> Option<Direction> {
        let (toward, from) = if self.provider { (dst, src) } else { (src, dst) };
        // Provider's prefixes: to them is customer → provider. Customer's: from them is.
        if self.within(toward) {
            Some(Direction::ToProvider)
        } else if self.within(from) {
            Some(Direction::ToCustomer)
        } else {
            None
        }
    }
}

/// The tier as a cross-connect enforces it: full duplex, one bucket per direction.
#[derive(Debug, Clone)]
pub struct Duplex {
    sides: Classifier,
    to_provider: PoliceStage,
    to_customer: PoliceStage,
    unclassified: Count,
}

impl Duplex {
    /// Two stages with the same configuration.
    pub fn new(cfg: PolicerConfig, sides: Sides) -> Result<Self, ConfigError> {
        Ok(Duplex {
            sides: Classifier::new(&sides),
            to_provider: PoliceStage::new(cfg)?,
            to_customer: PoliceStage::new(cfg)?,
            unclassified: Count::default(),
        })
    }

    /// Offers a frame between `addresses`; a frame of neither direction (or not IP) passes
    /// unpoliced and is counted as unclassified.
    #[inline]
    pub fn offer(
        &mut self,
        ts: Nanos,
        frame_len: u32,
        ip_len: Option<u32>,
        addresses: Option<(std::net::IpAddr, std::net::IpAddr)>,
    ) -> Verdict {
        match addresses.and_then(|(s, d)| self.sides.direction(s, d)) {
            Some(Direction::ToProvider) => self.to_provider.offer(ts, frame_len, ip_len),
            Some(Direction::ToCustomer) => self.to_customer.offer(ts, frame_len, ip_len),
            None => {
                self.unclassified.add(frame_len);
                Verdict::Pass { color: Color::Green, departs: ts }
            }
        }
    }

    /// Records each direction over time from `start_ns`, at `interval_ns` (widened as
    /// [`Recorder`] does): bytes as the policer accounts them, passed, dropped.
    pub fn record_series(&mut self, start_ns: u64, interval_ns: u64) {
        for stage in [&mut self.to_provider, &mut self.to_customer] {
            stage.series = Some(Recorder::starting_at(start_ns, interval_ns));
        }
    }

    /// Each direction over time (when recorded), at `interval_ns` if that is a multiple of
    /// what was recorded (so that they line up with the capture's series), the last point
    /// ending at `end_ns`.
    pub fn series(&self, interval_ns: u64, end_ns: u64) -> Option<DirectionSeries> {
        let finish = |stage: &PoliceStage| {
            stage.series.clone().map(|mut r| {
                r.widen_to(interval_ns);
                r.finish(end_ns)
            })
        };
        Some(DirectionSeries {
            tier_bps: self.to_provider.cfg.rate_bps,
            to_provider: finish(&self.to_provider)?,
            to_customer: finish(&self.to_customer)?,
        })
    }

    /// Both directions, and their sum at the top.
    pub fn report(&self) -> PolicerReport {
        let (a, b) = (self.to_provider.report(), self.to_customer.report());
        let sum = |x: Count, y: Count| Count { frames: x.frames + y.frames, bytes: x.bytes + y.bytes };
        let worse_delay = match (a.delay_ms, b.delay_ms) {
            (Some(x), Some(y)) => Some(if y.p99 > x.p99 { y } else { x }),
            (x, y) => x.or(y),
        };
        let mut warnings = a.warnings.clone();
        for w in &b.warnings {
            if !warnings.contains(w) {
                warnings.push(w.clone());
            }
        }
        if self.unclassified.frames > 0 && a.offered_frames + b.offered_frames == 0 {
            warnings.push(format!(
                "none of the {} frames is to or from the {} prefixes: nothing was policed (the provider's are the catalog's unless --provider-prefix names them; --customer-prefix names the customer's instead)",
                self.unclassified.frames,
                if self.sides.provider { "provider's" } else { "customer's" }
            ));
        }
        PolicerReport {
            offered_frames: a.offered_frames + b.offered_frames,
            offered_bytes: a.offered_bytes + b.offered_bytes,
            passed_frames: a.passed_frames + b.passed_frames,
            passed_bytes: a.passed_bytes + b.passed_bytes,
            dropped_frames: a.dropped_frames + b.dropped_frames,
            dropped_bytes: a.dropped_bytes + b.dropped_bytes,
            green: sum(a.green, b.green),
            yellow: sum(a.yellow, b.yellow),
            red: sum(a.red, b.red),
            peak_pct_of_tier_1ms: a.peak_pct_of_tier_1ms.max(b.peak_pct_of_tier_1ms),
            peak_pct_of_tier_1s: a.peak_pct_of_tier_1s.max(b.peak_pct_of_tier_1s),
            tail_drops: a.tail_drops.zip(b.tail_drops).map(|(x, y)| x + y),
            delay_ms: worse_delay,
            warnings,
            unclassified: Some(self.unclassified),
            directions: Some(Box::new(Directions { to_provider: a.clone(), to_customer: b.clone() })),
            ..a
        }
    }
}

/// The police stage.
#[derive(Debug, Clone)]
pub struct PoliceStage {
    cfg: PolicerConfig,
    engine: Engine,
    offered: Count,
    passed: Count,
    dropped: Count,
    colors: [Count; 3],
    tail_drops: u64,
    largest: u32,
    peak_1ms: crate::rate::PeakWindow,
    peak_1s: crate::rate::PeakWindow,
    /// Over time, when asked (see [`Duplex::record_series`]).
    series: Option<Recorder>,
}

impl PoliceStage {
    /// Validates the configuration before any frame is read. Buckets start full; the first
    /// frame's timestamp only refills an already full bucket, so the clock needs no rebasing.
    pub fn new(cfg: PolicerConfig) -> Result<Self, ConfigError> {
        let engine = match (cfg.mode, cfg.profile) {
            (Mode::Shape { buffer_bytes }, _) => {
                Engine::Shape(Box::new(Shaper::new(cfg.rate_bps, cfg.burst_bytes, buffer_bytes)?))
            }
            (Mode::Police, Profile::SingleRate) => Engine::Single(TokenBucket::new(cfg.rate_bps, cfg.burst_bytes)?),
            (Mode::Police, Profile::SrTcm) => {
                Engine::Sr(SrTcm::new(cfg.rate_bps, cfg.burst_bytes, cfg.excess_burst_bytes)?)
            }
            (Mode::Police, Profile::TrTcm) => Engine::Tr(TrTcm::new(
                cfg.rate_bps,
                cfg.burst_bytes,
                cfg.rate_bps + cfg.excess_rate_bps,
                cfg.burst_bytes + cfg.excess_burst_bytes,
            )?),
            (Mode::Police, Profile::Mef { coupled }) => Engine::Mef(MefProfile::new(
                cfg.rate_bps,
                cfg.burst_bytes,
                cfg.excess_rate_bps,
                cfg.excess_burst_bytes,
                if coupled { CouplingFlag::Coupled } else { CouplingFlag::Uncoupled },
            )?),
        };
        Ok(PoliceStage {
            cfg,
            engine,
            offered: Count::default(),
            passed: Count::default(),
            dropped: Count::default(),
            colors: [Count::default(); 3],
            tail_drops: 0,
            largest: 0,
            peak_1ms: crate::rate::PeakWindow::new(1_000_000),
            peak_1s: crate::rate::PeakWindow::new(1_000_000_000),
            series: None,
        })
    }

    /// Offers a frame of `frame_len` captured bytes (no FCS) whose IP packet is `ip_len`.
    #[inline]
    pub fn offer(&mut self, ts: Nanos, frame_len: u32, ip_len: Option<u32>) -> Verdict {
        let bytes = self.cfg.accounting.bytes(frame_len, ip_len);
        self.offered.add(bytes);
        self.largest = self.largest.max(bytes);
        self.peak_1ms.add(ts.0, u64::from(bytes));
        self.peak_1s.add(ts.0, u64::from(bytes));
        let verdict = match &mut self.engine {
            Engine::Single(tb) => color_verdict(tb.decide(ts, bytes), ts),
            Engine::Sr(m) => color_verdict(m.decide(ts, bytes, Color::Green), ts),
            Engine::Tr(m) => color_verdict(m.decide(ts, bytes, Color::Green), ts),
            Engine::Mef(m) => color_verdict(m.decide(ts, bytes, Color::Green), ts),
            Engine::Shape(s) => match s.offer(ts, bytes) {
                ShaperOutcome::Sent { departs } => Verdict::Pass { color: Color::Green, departs },
                ShaperOutcome::TailDrop | ShaperOutcome::Oversize => {
                    self.tail_drops += 1;
                    Verdict::Drop
                }
            },
        };
        match verdict {
            Verdict::Pass { color, .. } => {
                self.passed.add(bytes);
                self.colors[color as usize].add(bytes);
            }
            Verdict::Drop => {
                self.dropped.add(bytes);
                self.colors[Color::Red as usize].add(bytes);
            }
        }
        if let Some(r) = &mut self.series {
            let b = r.offered_into(ts.0, u64::from(bytes));
            match verdict {
                Verdict::Pass { .. } => b.passed_bytes += u64::from(bytes),
                Verdict::Drop if matches!(self.engine, Engine::Shape(_)) => b.shaper_drops += 1,
                Verdict::Drop => b.policer_drops += 1,
            }
        }
        verdict
    }

    /// The report.
    pub fn report(&self) -> PolicerReport {
        let c = &self.cfg;
        let mut warnings = c.warnings();
        if u64::from(self.largest) > c.burst_bytes {
            warnings.push(format!(
                "the largest frame seen ({} bytes as accounted) exceeds the burst ({} bytes): every such frame was dropped",
                self.largest, c.burst_bytes
            ));
        }
        let pct = |w: &crate::rate::PeakWindow| w.peak_mbps() * 1e6 / c.rate_bps as f64 * 100.0;
        let (tail_drops, delay_ms) = match &self.engine {
            Engine::Shape(s) => {
                let h = s.delays();
                let ms = |v: u64| v as f64 / 1e6;
                let d = if h.is_empty() {
                    DelayMs { p50: 0.0, p99: 0.0, p999: 0.0, max: 0.0 }
                } else {
                    DelayMs {
                        p50: ms(h.value_at_quantile(0.5)),
                        p99: ms(h.value_at_quantile(0.99)),
                        p999: ms(h.value_at_quantile(0.999)),
                        max: ms(h.max()),
                    }
                };
                (Some(self.tail_drops), Some(d))
            }
            _ => (None, None),
        };
        PolicerReport {
            tier_bps: c.rate_bps,
            burst_bytes: c.burst_bytes,
            accounting: c.accounting.as_str(),
            mode: match c.mode {
                Mode::Police => "police",
                Mode::Shape { .. } => "shape",
            },
            profile: c.profile.name(),
            offered_frames: self.offered.frames,
            offered_bytes: self.offered.bytes,
            passed_frames: self.passed.frames,
            passed_bytes: self.passed.bytes,
            dropped_frames: self.dropped.frames,
            dropped_bytes: self.dropped.bytes,
            green: self.colors[Color::Green as usize],
            yellow: self.colors[Color::Yellow as usize],
            red: self.colors[Color::Red as usize],
            peak_pct_of_tier_1ms: pct(&self.peak_1ms),
            peak_pct_of_tier_1s: pct(&self.peak_1s),
            tail_drops,
            delay_ms,
            warnings,
            directions: None,
            unclassified: None,
        }
    }
}

#[inline]
fn color_verdict(c: Color, ts: Nanos) -> Verdict {
    match c {
        Color::Red => Verdict::Drop,
        color => Verdict::Pass { color, departs: ts },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directions_by_either_side() {
        let ip = |s: &str| s.parse::<std::net::IpAddr>().unwrap();
        let p = Classifier::new(&Sides::Provider(vec![
            "168.86.128.0/18".parse().unwrap(),
            "2001:db8::/32".parse().unwrap(),
        ]));
        assert_eq!(p.direction(ip("203.0.113.1"), ip("168.86.191.255")), Some(Direction::ToProvider));
        assert_eq!(p.direction(ip("168.86.128.0"), ip("203.0.113.1")), Some(Direction::ToCustomer));
        assert_eq!(p.direction(ip("203.0.113.1"), ip("168.86.192.0")), None, "just outside the /18");
        assert_eq!(p.direction(ip("2001:db9::1"), ip("2001:db8:ffff::1")), Some(Direction::ToProvider));
        let c = Classifier::new(&Sides::Customer(vec!["203.0.113.0/24".parse().unwrap()]));
        assert_eq!(c.direction(ip("203.0.113.9"), ip("8.8.8.8")), Some(Direction::ToProvider));
        assert_eq!(c.direction(ip("8.8.8.8"), ip("203.0.113.9")), Some(Direction::ToCustomer));
        assert_eq!(c.direction(ip("8.8.8.8"), ip("9.9.9.9")), None);
        let all = Classifier::new(&Sides::Customer(vec!["0.0.0.0/0".parse().unwrap()]));
        assert_eq!(all.direction(ip("1.2.3.4"), ip("5.6.7.8")), Some(Direction::ToProvider));
    }
}
