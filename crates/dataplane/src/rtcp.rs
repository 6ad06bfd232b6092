//! RTCP in captures: what each RTP source's receivers reported about it (RFC 3550 §6.4:
//! fraction lost, cumulative lost, interarrival jitter), the round trip from LSR and DLSR,
//! and the VoIP metrics of extended reports (RFC 3611 §4.7), shown beside what the replay
//! measured on the same stream.
//!
//! The round trip is measured at the capture point, as Wireshark does: the arrival of the
//! report block minus the arrival of the sender report it names (LSR = the middle 32 bits
//! of that SR's NTP timestamp) minus DLSR. Clocks of the endpoints do not enter.

use rustc_hash::FxHashMap;
use serde::Serialize;
use xconnect_frame::rtcp::{walk, Item, RtcpError, VoipMetrics};

/// RTP sources remembered at the most (about 200 bytes each: 40 MB).
const MAX_SOURCES: usize = 200_000;
/// Sender reports remembered per source for matching LSR.
const SR_RING: usize = 8;

/// The round trip, ms.
#[derive(Debug, Clone, Copy, Serialize, PartialEq)]
pub struct RoundTrip {
    /// From the last report that named a captured SR.
    pub last: f64,
    /// Largest.
    pub max: f64,
    /// Reports it was measured from.
    pub count: u64,
}

/// An extended report's VoIP metrics, in report units.
#[derive(Debug, Clone, Copy, Serialize, PartialEq)]
pub struct XrView {
    /// Loss rate, %.
    pub loss_pct: f64,
    /// Discard rate (late for the jitter buffer), %.
    pub discard_pct: f64,
    /// Round trip the endpoint measured, ms.
    pub round_trip_ms: u16,
    /// R factor (`null`: unavailable).
    pub r_factor: Option<u8>,
    /// MOS-LQ.
    pub mos_lq: Option<f64>,
    /// MOS-CQ.
    pub mos_cq: Option<f64>,
}

/// What the far end said of a stream.
#[derive(Debug, Clone, Copy, Serialize, PartialEq)]
pub struct RtcpView {
    /// Report blocks about this source.
    pub reports: u64,
    /// Fraction lost in the last report, %.
    pub fraction_lost_pct: f64,
    /// Cumulative lost in the last report.
    pub cumulative_lost: i32,
    /// Interarrival jitter in the last report, timestamp units.
    pub jitter_units: u32,
    /// The same in ms, with the stream's clock (`null` when it is unknown).
    pub jitter_ms: Option<f64>,
    /// Round trip at the capture point.
    pub round_trip_ms: Option<RoundTrip>,
    /// Packets the source said it sent, in its last sender report.
    pub sender_packets: Option<u32>,
    /// The last VoIP metrics block about this source.
    pub xr: Option<XrView>,
}

#[derive(Debug, Default)]
struct Source {
    reports: u64,
    fraction_lost: u8,
    cumulative_lost: i32,
    jitter: u32,
    rtt_last: f64,
    rtt_max: f64,
    rtt_n: u64,
    sender_packets: Option<u32>,
    voip: Option<VoipMetrics>,
    /// (LSR key, capture time) of its last sender reports.
    srs: [(u32, u64); SR_RING],
    sr_next: usize,
}

/// The running RTCP analysis.
#[derive(Debug, Default)]
pub struct RtcpTracker {
    /// Compound packets read.
    pub packets: u64,
    sources: FxHashMap<u32, Source>,
}

impl RtcpTracker {
    fn source(&mut self, ssrc: u32) -> Option<&mut Source> {
        if self.sources.len() >= MAX_SOURCES && !self.sources.contains_key(&ssrc) {
            return None;
        }
        Some(self.sources.entry(ssrc).or_default())
    }

    /// One compound packet captured at `ts_ns`.
    pub fn add(&mut self, ts_ns: u64, payload: &[u8]) -> Result<(), RtcpError> {
        self.packets += 1;
        walk(payload, |item| match item {
            Item::Sender { ssrc, ntp, packets } => {
                if let Some(s) = self.source(ssrc) {
                    s.sender_packets = Some(packets);
                    s.srs[s.sr_next] = ((ntp >> 16) as u32, ts_ns);
                    s.sr_next = (s.sr_next + 1) % SR_RING;
                }
            }
            Item::Report { block, .. } => {
                if let Some(s) = self.source(block.ssrc) {
                    s.reports += 1;
                    s.fraction_lost = block.fraction_lost;
                    s.cumulative_lost = block.cumulative_lost;
                    s.jitter = block.jitter;
                    let sr = s.srs.iter().find(|(lsr, t)| *t != 0 && *lsr == block.lsr && block.lsr != 0);
                    if let Some(&(_, sent)) = sr {
                        let dlsr_ns = u64::from(block.dlsr) * 1_000_000_000 / 65_536;
                        if let Some(rtt) = ts_ns.checked_sub(sent).and_then(|d| d.checked_sub(dlsr_ns)) {
                            let ms = rtt as f64 / 1e6;
                            s.rtt_last = ms;
                            s.rtt_max = s.rtt_max.max(ms);
                            s.rtt_n += 1;
                        }
                    }
                }
            }
            Item::Voip { metrics, .. } => {
                if let Some(s) = self.source(metrics.ssrc) {
                    s.voip = Some(metrics);
                }
            }
            Item::Bye(_) | Item::Other(_) => {}
        })
    }

    /// What was reported about source `ssrc`, with the stream's clock for jitter in ms.
    pub fn view(&self, ssrc: u32, clock_hz: Option<u32>) -> Option<RtcpView> {
        let s = self.sources.get(&ssrc)?;
        let unavailable = |v: u8| (v != 127).then_some(v);
        Some(RtcpView {
            reports: s.reports,
            fraction_lost_pct: f64::from(s.fraction_lost) * 100.0 / 256.0,
            cumulative_lost: s.cumulative_lost,
            jitter_units: s.jitter,
            jitter_ms: clock_hz.map(|hz| f64::from(s.jitter) * 1000.0 / f64::from(hz)),
            round_trip_ms: (s.rtt_n > 0).then_some(RoundTrip { last: s.rtt_last, max: s.rtt_max, count: s.rtt_n }),
            sender_packets: s.sender_packets,
            xr: s.voip.map(|v| XrView {
                loss_pct: f64::from(v.loss_rate) * 100.0 / 256.0,
                discard_pct: f64::from(v.discard_rate) * 100.0 / 256.0,
                round_trip_ms: v.round_trip_ms,
                r_factor: unavailable(v.r_factor),
                mos_lq: unavailable(v.mos_lq).map(|m| f64::from(m) / 10.0),
                mos_cq: unavailable(v.mos_cq).map(|m| f64::from(m) / 10.0),
            }),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sr(ssrc: u32, ntp: u64) -> Vec<u8> {
        let mut p = vec![0x80, 200, 0, 6];
        p.extend_from_slice(&ssrc.to_be_bytes());
        p.extend_from_slice(&ntp.to_be_bytes());
        p.extend_from_slice(&[0; 4]);
        p.extend_from_slice(&100u32.to_be_bytes());
        p.extend_from_slice(&[0; 4]);
        p
    }

    fn rr(about: u32, lsr: u32, dlsr: u32) -> Vec<u8> {
        let mut p = vec![0x81, 201, 0, 7, 0, 0, 0, 2];
        p.extend_from_slice(&about.to_be_bytes());
        p.extend_from_slice(&[13, 0, 0, 5]);
        p.extend_from_slice(&0u32.to_be_bytes());
        p.extend_from_slice(&160u32.to_be_bytes());
        p.extend_from_slice(&lsr.to_be_bytes());
        p.extend_from_slice(&dlsr.to_be_bytes());
        p
    }

    #[test]
    fn round_trip_from_the_capture_clock() {
        let mut t = RtcpTracker::default();
        let ntp = 0x1111_2222_3333_4444u64;
        t.add(1_000_000_000, &sr(9, ntp)).unwrap();
        // The receiver held the SR for 0.5 s (DLSR 32768/65536) and its RR arrives 0.62 s later.
        t.add(1_620_000_000, &rr(9, (ntp >> 16) as u32, 32_768)).unwrap();
        let v = t.view(9, Some(8000)).unwrap();
        let rtt = v.round_trip_ms.unwrap();
        assert!((rtt.last - 120.0).abs() < 1e-9, "{rtt:?}");
        assert_eq!((v.cumulative_lost, v.jitter_units, v.sender_packets), (5, 160, Some(100)));
        assert_eq!(v.jitter_ms, Some(20.0));
        assert!((v.fraction_lost_pct - 13.0 * 100.0 / 256.0).abs() < 1e-12);
        assert_eq!(t.add(0, &[0x81, 201, 0, 9]), Err(RtcpError::Length));
    }
}
