//! One site's data path, shared by the simulation and the failover cases: the provider edge
//! (the customer's port and the tier's policer), the receiver (the real parser and the RTP
//! analysis), and what a site's report says of its calls.

use hdrhistogram::Histogram;
use serde::Serialize;
use xconnect_dataplane::rtp::{sort_rows, Clock, RtpAnalyzer, RtpSample, StreamKey};
use xconnect_frame::{parse_ethernet, Net, RtpPacket, Transport};
use xconnect_policer::{Accounting, Shaper, ShaperOutcome, TokenBucket};
use xconnect_time::Nanos;

use crate::scenario::{Egress, Scenario, Site};

/// Delay percentiles, ms.
#[derive(Debug, Clone, Copy, Serialize, PartialEq)]
pub struct Delay {
    /// Median.
    pub p50: f64,
    /// 99th percentile.
    pub p99: f64,
    /// Largest.
    pub max: f64,
}

impl Delay {
    /// Percentiles of a histogram of nanoseconds (zeros when it is empty).
    pub(crate) fn of(h: &Histogram<u64>) -> Delay {
        let ms = |v: u64| v as f64 / 1e6;
        if h.is_empty() {
            return Delay { p50: 0.0, p99: 0.0, max: 0.0 };
        }
        Delay { p50: ms(h.value_at_quantile(0.5)), p99: ms(h.value_at_quantile(0.99)), max: ms(h.max()) }
    }
}

/// What the receiver measured of a group of calls.
pub(crate) struct CallQuality {
    /// Lowest MOS (`None` when no call has one: a codec outside the E-model, or no calls).
    pub(crate) mos_min: Option<f64>,
    /// Mean MOS over the same calls.
    pub(crate) mos_mean: Option<f64>,
    /// Calls below the MOS target, counting calls none of whose frames arrived.
    pub(crate) below: u64,
    /// Sum and count of the streams' mean jitters.
    pub(crate) jitter: (f64, usize),
}

/// The mean of the streams' mean jitters from their sum and count, ms (0 without any).
fn mean_jitter_ms((sum, n): (f64, usize)) -> f64 {
    if n == 0 {
        0.0
    } else {
        sum / n as f64
    }
}

impl CallQuality {
    /// `rows` from [`rows_against_sent`]; `missing` calls sent frames of which none arrived: on
    /// the E-model's scale they score its floor, 1.0.
    pub(crate) fn of(rows: &[xconnect_dataplane::rtp::RtpStreamRow], missing: u64, sc: &Scenario) -> Self {
        let scored = sc.traffic.scored();
        let mut mos: Vec<f64> = rows.iter().filter_map(|r| r.mos).collect();
        if scored {
            mos.extend(std::iter::repeat_n(1.0, missing as usize));
        }
        let jit: Vec<f64> = rows.iter().filter_map(|r| r.mean_jitter_ms).collect();
        let mean = |v: &[f64]| if v.is_empty() { 0.0 } else { v.iter().sum::<f64>() / v.len() as f64 };
        CallQuality {
            mos_min: mos.iter().copied().reduce(f64::min),
            // Rounded as each call's MOS is, so that the mean never prints below the minimum.
            mos_mean: (!mos.is_empty()).then(|| (mean(&mos) * 100.0).round() / 100.0),
            below: calls_below(rows, missing, sc.mos_target),
            jitter: (jit.iter().sum(), jit.len()),
        }
    }
}

/// Calls with a MOS under `threshold`, and every call none of whose frames arrived (whether or
/// not its codec has a MOS: it carried nothing).
pub(crate) fn calls_below(rows: &[xconnect_dataplane::rtp::RtpStreamRow], missing: u64, threshold: f64) -> u64 {
    rows.iter().filter(|r| r.mos.is_some_and(|m| m < threshold)).count() as u64 + missing
}

/// Every stream the receivers saw, its loss counted against what its call sent (so frames lost
/// after its last arrival count too), sorted; and the streams that sent frames of which none
/// arrived. `sent[stream]` counts every frame the source sent, whatever became of it.
pub(crate) fn rows_against_sent(
    receivers: &mut [Receiver],
    sent: &[u32],
) -> (Vec<xconnect_dataplane::rtp::RtpStreamRow>, u64) {
    let mut missing = 0;
    for (stream, &n) in sent.iter().enumerate() {
        if n == 0 {
            continue;
        }
        match receivers.iter_mut().find(|r| r.hints[stream] != u32::MAX) {
            Some(r) => {
                let slot = r.hints[stream];
                r.rtp.sent(slot, u64::from(n));
            }
            None => missing += 1,
        }
    }
    let mut rows: Vec<_> = receivers.iter().flat_map(|r| r.rtp.rows()).collect();
    sort_rows(&mut rows);
    (rows, missing)
}

/// A MOS for a sentence: two decimals, or "none" when no call had one.
pub fn mos_text(mos: Option<f64>) -> String {
    mos.map_or_else(|| "none".to_string(), |m| format!("{m:.2}"))
}

/// One simulated site (or one failover case).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct SiteReport {
    /// Site name (for a failover case: "san-jose alone (ashburn failed)").
    pub name: String,
    /// Location.
    pub location: String,
    /// Tier, bit/s.
    pub tier_bps: u64,
    /// Policer burst, bytes.
    pub burst_bytes: u64,
    /// Concurrent calls.
    pub calls: u64,
    /// Frames the calls sent.
    pub offered_frames: u64,
    /// Frames the policer passed.
    pub passed_frames: u64,
    /// Frames lost: dropped by the policer or by the customer's port (its buffer full).
    pub dropped_frames: u64,
    /// Of those, dropped by the tier's policer.
    pub policer_drops: u64,
    /// Of those, dropped at a port because the 1 Gbps fiber was full.
    pub port_drops: u64,
    /// Of those, dropped by the provider's egress shaper, its queue full (`egress = "shape"`).
    pub shaper_drops: u64,
    /// Dropped / offered, percent.
    pub loss_pct: f64,
    /// Offered rate as the policer counts it (Ethernet frame with FCS), Mbit/s.
    pub offered_mbps: f64,
    /// Passed rate, Mbit/s.
    pub passed_mbps: f64,
    /// Mean over streams of their mean jitter, ms.
    pub mean_jitter_ms: f64,
    /// One-way delay from the call's send time to the receiver, over every packet.
    pub delay_ms: Delay,
    /// Lowest MOS of any call (`null` when no call has one: a codec outside the E-model's
    /// tables, or a run too short for any frame). A call none of whose frames arrived scores 1.0.
    pub mos_min: Option<f64>,
    /// Mean MOS over the same calls (rounded to 0.01, as each call's MOS).
    pub mos_mean: Option<f64>,
    /// Calls below the MOS target.
    pub calls_below_mos_target: u64,
    /// Whether the site met the loss and MOS targets.
    pub ok: bool,
    /// Each direction on its own; the figures above are the two combined (a call's MOS is
    /// the worse of its two legs). Absent in a direction's own report.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub directions: Option<Box<SiteDirections>>,
}

/// A site's two directions.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct SiteDirections {
    /// Customer → provider, policed at the provider's ingress.
    pub to_provider: SiteReport,
    /// Provider → customer, policed or shaped at the provider's egress.
    pub to_customer: SiteReport,
}

/// One leg of one call as its receiver saw it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct LegScore {
    /// Its MOS (a leg none of whose frames arrived scores the E-model's floor, 1.0).
    pub(crate) mos: Option<f64>,
    /// It sent frames of which none arrived.
    missing: bool,
}

impl LegScore {
    /// Below `threshold`, or carried nothing.
    pub(crate) fn below(self, threshold: f64) -> bool {
        self.missing || self.mos.is_some_and(|m| m < threshold)
    }
}

/// Each call judged by the worse of its two legs (by index: the two directions' sources make
/// the same calls); a leg that carried nothing makes the call carry nothing.
pub(crate) fn worse_legs(up: &[LegScore], down: &[LegScore]) -> Vec<LegScore> {
    (0..up.len().max(down.len()))
        .map(|i| {
            let legs = [up.get(i).copied(), down.get(i).copied()];
            let legs = legs.iter().flatten();
            LegScore {
                mos: legs.clone().filter_map(|l| l.mos).reduce(f64::min),
                missing: legs.clone().any(|l| l.missing),
            }
        })
        .collect()
}

/// Each stream's score, by stream id (= call, in a one-direction source). `sent[stream]`
/// counts every frame the source sent; `scored`: the codec has an E-model MOS.
pub(crate) fn leg_scores(receivers: &[Receiver], sent: &[u32], scored: bool) -> Vec<LegScore> {
    sent.iter()
        .enumerate()
        .map(|(stream, &n)| {
            if n == 0 {
                return LegScore { mos: None, missing: false };
            }
            match receivers.iter().find(|r| r.hints[stream] != u32::MAX) {
                Some(r) => LegScore { mos: r.rtp.row(r.hints[stream]).and_then(|row| row.mos), missing: false },
                None => LegScore { mos: scored.then_some(1.0), missing: true },
            }
        })
        .collect()
}

/// What one direction of a site did with its frames.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Counts {
    /// Frames the calls sent.
    pub(crate) offered: u64,
    /// Frames that crossed the edge.
    pub(crate) passed: u64,
    /// Dropped by the tier's policer.
    pub(crate) policer: u64,
    /// Dropped at a port.
    pub(crate) port: u64,
    /// Dropped by the egress shaper.
    pub(crate) shaper: u64,
    /// Bytes offered, as the tier's limit counts them.
    pub(crate) offered_bytes: u64,
    /// Bytes passed, likewise.
    pub(crate) passed_bytes: u64,
}

/// What one direction's receivers saw of a site's calls.
pub(crate) struct Seen {
    /// Stream rows and calls none of whose frames arrived, from [`rows_against_sent`].
    pub(crate) rows: (Vec<xconnect_dataplane::rtp::RtpStreamRow>, u64),
    /// Per call, from [`leg_scores`].
    pub(crate) scores: Vec<LegScore>,
    /// One-way delays of every frame.
    pub(crate) delays: Histogram<u64>,
}

/// One direction of one site's run: its report, and what judging calls on both legs needs.
pub(crate) struct Leg {
    pub(crate) report: SiteReport,
    /// Per call.
    pub(crate) scores: Vec<LegScore>,
    pub(crate) delays: Histogram<u64>,
    /// Sum and count of the streams' mean jitters.
    pub(crate) jitter: (f64, usize),
    /// Over time (set by the engine that ran the leg).
    pub(crate) series: xconnect_dataplane::series::Series,
}

impl Leg {
    /// One direction's report: `name` (a site or a failover case) with `calls` calls, what
    /// happened to its frames, and what its receivers saw.
    pub(crate) fn new(sc: &Scenario, name: String, site: &Site, calls: u64, c: Counts, seen: Seen) -> Leg {
        let Seen { rows: (rows, missing), scores, delays } = seen;
        let q = CallQuality::of(&rows, missing, sc);
        let secs = sc.duration.0 as f64 / 1e9;
        let dropped = c.offered - c.passed;
        let loss_pct = if c.offered == 0 { 0.0 } else { dropped as f64 * 100.0 / c.offered as f64 };
        let report = SiteReport {
            name,
            location: site.location.to_string(),
            tier_bps: site.tier.rate_bps(),
            burst_bytes: site.burst_bytes,
            calls,
            offered_frames: c.offered,
            passed_frames: c.passed,
            dropped_frames: dropped,
            policer_drops: c.policer,
            port_drops: c.port,
            shaper_drops: c.shaper,
            loss_pct,
            offered_mbps: c.offered_bytes as f64 * 8.0 / secs / 1e6,
            passed_mbps: c.passed_bytes as f64 * 8.0 / secs / 1e6,
            mean_jitter_ms: mean_jitter_ms(q.jitter),
            delay_ms: Delay::of(&delays),
            mos_min: q.mos_min,
            mos_mean: q.mos_mean,
            calls_below_mos_target: q.below,
            ok: loss_pct <= sc.loss_target_pct && q.below == 0,
            directions: None,
        };
        Leg { report, scores, delays, jitter: q.jitter, series: Default::default() }
    }
}

/// A fresh delay histogram (1 ns to an hour, 3 significant digits).
pub(crate) fn delay_histogram() -> Histogram<u64> {
    Histogram::<u64>::new_with_bounds(1, 3_600_000_000_000, 3).expect("valid bounds")
}

impl SiteReport {
    /// The site with both directions: frames and rates added, the jitter averaged over every
    /// stream, delays over every frame, and each call judged by the worse of its legs (calls
    /// are matched by id: the two directions' sources make the same calls).
    pub(crate) fn both(up: Leg, down: Leg, sc: &Scenario) -> SiteReport {
        let (a, b) = (&up.report, &down.report);
        let offered = a.offered_frames + b.offered_frames;
        let dropped = a.dropped_frames + b.dropped_frames;
        let loss_pct = if offered == 0 { 0.0 } else { dropped as f64 * 100.0 / offered as f64 };
        let mut delays = up.delays;
        delays.add(&down.delays).expect("same bounds");
        let calls = worse_legs(&up.scores, &down.scores);
        let mos: Vec<f64> = calls.iter().filter_map(|c| c.mos).collect();
        let below = calls.iter().filter(|c| c.below(sc.mos_target)).count() as u64;
        let (js, jn) = (up.jitter.0 + down.jitter.0, up.jitter.1 + down.jitter.1);
        SiteReport {
            name: a.name.clone(),
            location: a.location.clone(),
            tier_bps: a.tier_bps,
            burst_bytes: a.burst_bytes,
            calls: a.calls,
            offered_frames: offered,
            passed_frames: a.passed_frames + b.passed_frames,
            dropped_frames: dropped,
            policer_drops: a.policer_drops + b.policer_drops,
            port_drops: a.port_drops + b.port_drops,
            shaper_drops: a.shaper_drops + b.shaper_drops,
            loss_pct,
            offered_mbps: a.offered_mbps + b.offered_mbps,
            passed_mbps: a.passed_mbps + b.passed_mbps,
            mean_jitter_ms: mean_jitter_ms((js, jn)),
            delay_ms: Delay::of(&delays),
            mos_min: mos.iter().copied().reduce(f64::min),
            mos_mean: (!mos.is_empty()).then(|| (mos.iter().sum::<f64>() / mos.len() as f64 * 100.0).round() / 100.0),
            calls_below_mos_target: below,
            ok: loss_pct <= sc.loss_target_pct && below == 0,
            directions: Some(Box::new(SiteDirections { to_provider: up.report, to_customer: down.report })),
        }
    }
}

/// A direction across the cross-connect.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    /// Customer → provider: the customer's port, then the tier's policer at the provider's
    /// ingress.
    ToProvider,
    /// Provider → customer: the tier's limit at the provider's egress (police or shape), then
    /// the port toward the customer.
    ToCustomer,
}

impl Direction {
    /// Both, in report order.
    pub const BOTH: [Direction; 2] = [Direction::ToProvider, Direction::ToCustomer];

    /// The calls' legs this direction carries.
    pub fn legs(self) -> xconnect_trafgen::Directions {
        match self {
            Direction::ToProvider => xconnect_trafgen::Directions::ToProvider,
            Direction::ToCustomer => xconnect_trafgen::Directions::ToCustomer,
        }
    }

    /// "to_provider" or "to_customer", as in the JSON.
    pub fn name(self) -> &'static str {
        match self {
            Direction::ToProvider => "to_provider",
            Direction::ToCustomer => "to_customer",
        }
    }

    /// Mixed into a seed so the two directions draw apart (zero for customer → provider, so
    /// that direction draws as it did when it was the only one simulated).
    pub(crate) fn salt(self) -> u64 {
        match self {
            Direction::ToProvider => 0,
            Direction::ToCustomer => 0x3c6e_f372_fe94_f82b,
        }
    }
}

/// The tier's limit on one direction.
enum Limiter {
    Police(TokenBucket),
    Shape(Shaper),
}

/// One direction of a site's edge as the frames meet it: the port (frames serialized one
/// after the other at the port's rate, dropped when they would wait longer than the buffer)
/// and the tier's limit. Customer → provider meets the port first (the customer's port into
/// the provider's policing ingress); provider → customer meets the limit first (the
/// provider's egress policer or shaper, then its port toward the customer).
pub(crate) struct Edge {
    limiter: Limiter,
    limit_first: bool,
    pub(crate) port_free: u64,
    pub(crate) buffer_ns: u64,
    port_bps: u64,
    accounting: Accounting,
    ip_offset: u32,
}

/// Why the edge dropped a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum EdgeDrop {
    /// The port's buffer was full.
    Port,
    /// The tier's policer.
    Policer,
    /// The egress shaper's queue was full.
    Shaper,
}

impl Edge {
    pub(crate) fn new(sc: &Scenario, site: &Site, dir: Direction) -> Self {
        let rate = site.tier.rate_bps();
        let limiter = match (dir, site.egress) {
            (Direction::ToCustomer, Egress::Shape { buffer_bytes }) => Limiter::Shape(
                Shaper::new(rate, site.burst_bytes, buffer_bytes).expect("scenario checked: tier and burst"),
            ),
            _ => Limiter::Police(TokenBucket::new(rate, site.burst_bytes).expect("scenario checked: tier and burst")),
        };
        Edge {
            limiter,
            limit_first: dir == Direction::ToCustomer,
            port_free: 0,
            buffer_ns: (u128::from(sc.port_buffer_bytes) * 8_000_000_000 / u128::from(sc.port_bps)) as u64,
            port_bps: sc.port_bps,
            accounting: site.accounting,
            ip_offset: 14 + 4 * u32::from(sc.vlan.is_some()),
        }
    }

    /// The long run of an overloaded policer: its bucket empty (a shaper has no such state).
    pub(crate) fn drain(&mut self) {
        if let Limiter::Police(b) = &mut self.limiter {
            b.drain();
        }
    }

    /// Bytes the tier's limit counts for a frame of `len` bytes.
    #[inline]
    pub(crate) fn accounted(&self, len: u32) -> u32 {
        self.accounting.bytes(len, Some(len - self.ip_offset))
    }

    /// The port: when a frame of `len` bytes that reaches it at `t` is whole at the far end.
    #[inline]
    fn port(&mut self, t: u64, len: u32) -> Result<u64, EdgeDrop> {
        // Frames leave one after the other, each taking its wire bytes (frame + FCS + preamble +
        // gap) at the port's rate; the far end has it once it is whole.
        let wire_bits = u64::from(Accounting::Wire.bytes(len, None)) * 8;
        let start = t.max(self.port_free);
        if start - t > self.buffer_ns {
            return Err(EdgeDrop::Port);
        }
        let done = start + (wire_bits * 1_000_000_000).div_ceil(self.port_bps);
        self.port_free = done;
        Ok(done)
    }

    /// The tier's limit: when a frame of `len` bytes that meets it at `t` leaves it.
    #[inline]
    fn limit(&mut self, t: u64, len: u32) -> Result<u64, EdgeDrop> {
        let bytes = self.accounted(len);
        match &mut self.limiter {
            Limiter::Police(b) => match b.decide(Nanos(t), bytes) {
                xconnect_policer::Color::Red => Err(EdgeDrop::Policer),
                _ => Ok(t),
            },
            Limiter::Shape(s) => match s.offer(Nanos(t), bytes) {
                ShaperOutcome::Sent { departs } => Ok(departs.0),
                ShaperOutcome::TailDrop | ShaperOutcome::Oversize => Err(EdgeDrop::Shaper),
            },
        }
    }

    /// A frame of `len` bytes sent at `sent`: when it has crossed the edge, or why it was
    /// dropped.
    #[inline]
    pub(crate) fn offer(&mut self, sent: u64, len: u32) -> Result<u64, EdgeDrop> {
        if self.limit_first {
            let t = self.limit(sent, len)?;
            self.port(t, len)
        } else {
            let t = self.port(sent, len)?;
            self.limit(t, len)
        }
    }
}

/// The receiving end: parses each frame that crossed the link and analyzes its call.
pub(crate) struct Receiver {
    pub(crate) rtp: RtpAnalyzer,
    hints: Vec<u32>,
    pub(crate) delays: Histogram<u64>,
}

impl Receiver {
    pub(crate) fn new(streams: usize) -> Self {
        Receiver { rtp: RtpAnalyzer::new(None), hints: vec![u32::MAX; streams], delays: delay_histogram() }
    }

    #[inline]
    pub(crate) fn receive(&mut self, frame: &[u8], stream: usize, sent: u64, arrival: u64) {
        let Ok(p) = parse_ethernet(frame) else { return };
        let (Net::Ipv4(ip), Transport::Udp { src_port, dst_port, .. }) = (p.net, p.transport) else { return };
        let Ok(r) = RtpPacket::new_checked(p.payload(frame)) else { return };
        let key = StreamKey { src: ip.src.into(), src_port, dst: ip.dst.into(), dst_port, ssrc: r.ssrc() };
        let sample = RtpSample {
            arrival_ns: arrival,
            seq: r.sequence_number(),
            timestamp: r.timestamp(),
            payload_type: r.payload_type().value(),
            marker: r.marker(),
            clock: Clock::of_static(r.payload_type().value()),
            sent_ns: Some(sent),
        };
        self.rtp.add(key, sample, true, Some(&mut self.hints[stream]));
        self.delays.saturating_record((arrival - sent).max(1));
    }
}
