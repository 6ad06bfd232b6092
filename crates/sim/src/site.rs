//! One site's data path, shared by the simulation and the failover cases: the provider edge
//! (the customer's port and the tier's policer), the receiver (the real parser and the RTP
//! analysis), and what a site's report says of its calls.

use hdrhistogram::Histogram;
use serde::Serialize;
use xconnect_dataplane::rtp::{sort_rows, Clock, RtpAnalyzer, RtpSample, StreamKey};
use xconnect_frame::{parse_ethernet, Net, RtpPacket, Transport};
use xconnect_policer::{Accounting, TokenBucket};
use xconnect_time::Nanos;

use crate::scenario::{Scenario, Site};

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
    /// Mean over streams of their mean jitter, ms.
    pub(crate) mean_jitter_ms: f64,
    /// Lowest MOS (`None` when no call has one: a codec outside the E-model, or no calls).
    pub(crate) mos_min: Option<f64>,
    /// Mean MOS over the same calls.
    pub(crate) mos_mean: Option<f64>,
    /// Calls below the MOS target, counting calls none of whose frames arrived.
    pub(crate) below: u64,
}

impl CallQuality {
    /// `rows` from [`rows_against_sent`]; `missing` calls sent frames of which none arrived: on
    /// the E-model's scale they score its floor, 1.0.
    pub(crate) fn of(rows: &[xconnect_dataplane::rtp::RtpStreamRow], missing: u64, sc: &Scenario) -> Self {
        let scored = xconnect_dataplane::rtp::impairment(sc.codec.payload_type()).is_some();
        let mut mos: Vec<f64> = rows.iter().filter_map(|r| r.mos).collect();
        if scored {
            mos.extend(std::iter::repeat_n(1.0, missing as usize));
        }
        let jit: Vec<f64> = rows.iter().filter_map(|r| r.mean_jitter_ms).collect();
        let mean = |v: &[f64]| if v.is_empty() { 0.0 } else { v.iter().sum::<f64>() / v.len() as f64 };
        CallQuality {
            mean_jitter_ms: mean(&jit),
            mos_min: mos.iter().copied().reduce(f64::min),
            // Rounded as each call's MOS is, so that the mean never prints below the minimum.
            mos_mean: (!mos.is_empty()).then(|| (mean(&mos) * 100.0).round() / 100.0),
            below: calls_below(rows, missing, sc.mos_target),
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
    /// Of those, dropped at the customer's port because the 1 Gbps fiber was full.
    pub port_drops: u64,
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
}

/// The provider edge of one site as the frames meet it: the customer's port (frames serialized
/// one after the other at the port's rate, dropped when they would wait longer than the
/// buffer) and the tier's policer.
pub(crate) struct Edge {
    pub(crate) policer: TokenBucket,
    pub(crate) port_free: u64,
    pub(crate) buffer_ns: u64,
    port_bps: u64,
    accounting: Accounting,
    ip_offset: u32,
}

/// Why the edge dropped a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum EdgeDrop {
    /// The customer's port buffer was full.
    Port,
    /// The tier's policer.
    Policer,
}

impl Edge {
    pub(crate) fn new(sc: &Scenario, site: &Site) -> Self {
        Edge {
            policer: TokenBucket::new(site.tier.rate_bps(), site.burst_bytes)
                .expect("scenario checked: tier and burst"),
            port_free: 0,
            buffer_ns: (u128::from(sc.port_buffer_bytes) * 8_000_000_000 / u128::from(sc.port_bps)) as u64,
            port_bps: sc.port_bps,
            accounting: site.accounting,
            ip_offset: 14 + 4 * u32::from(sc.vlan.is_some()),
        }
    }

    /// Bytes the policer counts for a frame of `len` bytes.
    #[inline]
    pub(crate) fn accounted(&self, len: u32) -> u32 {
        self.accounting.bytes(len, Some(len - self.ip_offset))
    }

    /// A frame of `len` bytes sent at `sent`: when it is whole at the edge, or why it was dropped.
    #[inline]
    pub(crate) fn offer(&mut self, sent: u64, len: u32) -> Result<u64, EdgeDrop> {
        // Frames leave one after the other, each taking its wire bytes (frame + FCS + preamble +
        // gap) at the port's rate; the edge has it once it is whole.
        let wire_bits = u64::from(Accounting::Wire.bytes(len, None)) * 8;
        let start = sent.max(self.port_free);
        if start - sent > self.buffer_ns {
            return Err(EdgeDrop::Port);
        }
        let at_edge = start + (wire_bits * 1_000_000_000).div_ceil(self.port_bps);
        self.port_free = at_edge;
        if self.policer.decide(Nanos(at_edge), self.accounted(len)) == xconnect_policer::Color::Red {
            return Err(EdgeDrop::Policer);
        }
        Ok(at_edge)
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
        Receiver {
            rtp: RtpAnalyzer::new(None),
            hints: vec![u32::MAX; streams],
            delays: Histogram::<u64>::new_with_bounds(1, 3_600_000_000_000, 3).expect("valid bounds"),
        }
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
