//! RTP stream analysis: loss, duplicates and reordering, interarrival jitter (RFC 3550
//! §6.4.1), arrival deltas, and the E-model MOS.
//!
//! The figures are Wireshark's RTP stream analysis, so that `replay` agrees with
//! `tshark -z rtp,streams` on real calls, not only on constant streams:
//! - jitter `J = (15 J + |D|) / 16` in ms, `D` the arrival gap since the last packet in
//!   sequence minus the timestamp gap since the last clocked packet, over the payload type's
//!   clock (`rate / 1000` in integers, as Wireshark divides); a packet is in sequence when its
//!   timestamp is within 2^31 after the stream's first (tshark 4.0, the oracle here);
//! - the clock is per packet: the static table, or the call's SDP for a dynamic type;
//!   telephone events (RFC 4733, which repeat their timestamp) and unknown types leave the
//!   jitter as it is;
//! - max, min and mean of delta and jitter count only regular packets: not the first, not a
//!   marker packet, not comfort noise (PT 13, 19) nor the packet after it, not one whose
//!   timestamp went back; the means are Wireshark's running means over all packets before;
//! - `lost` = expected − received with expected from the first sequence number to the last
//!   packet's across wrap cycles (Wireshark's count; RFC 3550 A.1 would take the highest).
//!
//! Duplicates and reordering are counted apart, over a window of extended sequence numbers.

use std::net::IpAddr;

use rustc_hash::FxHashMap;

use crate::part::{flow_part, PartBound};

use crate::series::Quality;
use serde::Serialize;

/// Sequence numbers remembered for duplicate detection.
const WINDOW: u64 = 128;
const WINDOW_WORDS: usize = (WINDOW / 64) as usize;

/// Packets a new stream must show with consecutive sequence numbers before it counts as RTP
/// (RFC 3550 A.1's MIN_SEQUENTIAL), unless its ports are forced or signalled.
const MIN_SEQUENTIAL: u32 = 2;

/// Comfort noise (RFC 3389) and its older number: Wireshark leaves these packets, and the
/// packet after them, out of the delta and jitter statistics.
const PT_CN: u8 = 13;
const PT_CN_OLD: u8 = 19;

/// The RTP clock rate of a static payload type (RFC 3551 tables 4 and 5, as Wireshark's
/// analysis tabulates them: G.722 at its 8 kHz RTP clock); `None` for dynamic or unassigned ones.
#[inline]
pub fn clock_rate(pt: u8) -> Option<u32> {
    match pt {
        0..=5 | 7 | 8 | 9 | 12 | 13 | 15 | 18 | 19 => Some(8000),
        6 => Some(16_000),
        10 | 11 => Some(44_100),
        16 => Some(11_025),
        17 => Some(22_050),
        14 | 25 | 26 | 28 | 31 | 32 | 33 | 34 => Some(90_000),
        _ => None,
    }
}

/// How a packet's payload type is clocked, as the analysis needs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Clock {
    /// A media clock, Hz.
    Hz(u32),
    /// RFC 4733 telephone events: an event repeats its timestamp, so it has no jitter.
    Event,
    /// Unknown (a dynamic payload type no signalling named): no jitter.
    Unknown,
}

impl Clock {
    /// The clock of a static payload type.
    #[inline]
    pub fn of_static(pt: u8) -> Clock {
        clock_rate(pt).map_or(Clock::Unknown, Clock::Hz)
    }

    /// Hz usable for jitter: Wireshark converts timestamp units to ms by dividing by
    /// `rate / 1000` in integers, so a clock below 1 kHz cannot be analyzed.
    fn khz(self) -> Option<u32> {
        match self {
            Clock::Hz(hz) if hz >= 1000 => Some(hz / 1000),
            _ => None,
        }
    }
}

/// ITU-T G.107 E-model, the reduced form of reference/rtp-quality.md: R = 93.2 − Id − Ie,eff.
/// `delay_ms` is one-way mouth-to-ear delay; `loss_pct` packet loss in percent; `ie`/`bpl`
/// the codec's equipment impairment and loss robustness (G.113 Appendix I); random loss
/// (BurstR = 1).
pub fn r_factor(delay_ms: f64, loss_pct: f64, ie: f64, bpl: f64) -> f64 {
    let id = 0.024 * delay_ms + if delay_ms > 177.3 { 0.11 * (delay_ms - 177.3) } else { 0.0 };
    let ie_eff = ie + (95.0 - ie) * loss_pct / (loss_pct + bpl);
    93.2 - id - ie_eff
}

/// R-factor to MOS (G.107 Annex B). The cubic dips below 1 for 0 < R < 6.5 (0.99 at R = 5);
/// MOS is a 1-to-4.5 scale, so it is held at its floor there (found by the report invariants).
pub fn mos(r: f64) -> f64 {
    if r < 0.0 {
        1.0
    } else if r > 100.0 {
        4.5
    } else {
        (1.0 + 0.035 * r + r * (r - 60.0) * (100.0 - r) * 7e-6).max(1.0)
    }
}

/// RFC 3550 §6.4.1's interarrival jitter estimate after one more packet: `J += (|D| − J) / 16`,
/// with `d_ms` the packet's transit difference against the one before, ms.
#[inline]
pub fn jitter_step(j: f64, d_ms: f64) -> f64 {
    (15.0 * j + d_ms.abs()) / 16.0
}

/// A stream's MOS (two decimals) from what the receiver saw: the mouth-to-ear delay is the
/// packetization (`mean_delta_ms`, the mean arrival gap), a jitter buffer of twice the
/// largest jitter, and the network's one-way delay when known; `loss_pct` random loss. The
/// same rule scores a whole stream and one interval of it.
pub fn stream_mos(
    (ie, bpl): (f64, f64),
    mean_delta_ms: f64,
    max_jitter_ms: f64,
    net_delay_ms: f64,
    loss_pct: f64,
) -> f64 {
    let delay = mean_delta_ms + 2.0 * max_jitter_ms + net_delay_ms;
    // Rounded half up to two decimals (as `f64::round` does for a MOS, which is positive),
    // without the library call `round` is on x86-64: this runs once per call and interval.
    ((mos(r_factor(delay, loss_pct, ie, bpl)) * 100.0 + 0.5) as u64) as f64 / 100.0
}

/// (Ie, Bpl) for the payload types the E-model tables cover: G.711 with packet-loss
/// concealment (0, 25.1) and G.729A with VAD (11, 19); G.113 Appendix I.
pub fn impairment(pt: u8) -> Option<(f64, f64)> {
    match pt {
        0 | 8 => Some((0.0, 25.1)),
        18 => Some((11.0, 19.0)),
        _ => None,
    }
}

/// The best MOS a payload type reaches at this packet time: no loss, no jitter, no network
/// delay (the receiver's delay is then the packetization alone). `None` outside the E-model's
/// tables.
pub fn best_mos(pt: u8, ptime_ms: u32) -> Option<f64> {
    impairment(pt).map(|(ie, bpl)| (mos(r_factor(f64::from(ptime_ms), 0.0, ie, bpl)) * 100.0).round() / 100.0)
}

/// Identifies a stream: 5-tuple (UDP) and SSRC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StreamKey {
    /// Source address.
    pub src: IpAddr,
    /// Source port.
    pub src_port: u16,
    /// Destination address.
    pub dst: IpAddr,
    /// Destination port.
    pub dst_port: u16,
    /// SSRC.
    pub ssrc: u32,
}

/// A [`StreamKey`] as three machine words, so that hashing it per packet is cheap (the derived
/// hash of two `IpAddr` enums costs several times more).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct PackedKey(u128, u128, u64);

impl PackedKey {
    fn unpack(&self) -> StreamKey {
        let ip = |v: u128| {
            let v6 = std::net::Ipv6Addr::from(v);
            v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4)
        };
        StreamKey {
            src: ip(self.0),
            dst: ip(self.1),
            src_port: (self.2 >> 48) as u16,
            dst_port: (self.2 >> 32) as u16,
            ssrc: self.2 as u32,
        }
    }
}

impl From<&StreamKey> for PackedKey {
    #[inline(always)]
    fn from(k: &StreamKey) -> Self {
        // IPv4 as IPv4-mapped IPv6 (RFC 4291 §2.5.5.2): one number space, no collisions (an
        // IPv6 packet between mapped addresses is between those IPv4 hosts anyway).
        // (::ffff:a.b.c.d as a number is 0xffff << 32 | a.b.c.d: one 32-bit byte swap, where
        // going through `Ipv6Addr` swaps 128 bits.)
        let ip = |a: IpAddr| match a {
            IpAddr::V4(v4) => 0xffff << 32 | u128::from(u32::from(v4)),
            IpAddr::V6(v6) => u128::from(v6),
        };
        PackedKey(ip(k.src), ip(k.dst), u64::from(k.src_port) << 48 | u64::from(k.dst_port) << 32 | u64::from(k.ssrc))
    }
}

/// One RTP packet as the analyzer needs it.
#[derive(Debug, Clone, Copy)]
pub struct RtpSample {
    /// Arrival time, ns.
    pub arrival_ns: u64,
    /// Sequence number.
    pub seq: u16,
    /// RTP timestamp.
    pub timestamp: u32,
    /// Payload type.
    pub payload_type: u8,
    /// The marker bit (the start of a talk spurt or of an event): its packet's gap is not
    /// a network delta.
    pub marker: bool,
    /// How the payload type is clocked (the static table, or the call's SDP).
    pub clock: Clock,
    /// When it was sent, if known (a simulation knows; a capture does not): the stream then
    /// records one-way delay.
    pub sent_ns: Option<u64>,
}

/// One stream's running figures, kept the way Wireshark's RTP analysis keeps them (see the
/// module comment): the sequence accounting with its wrap cycles, the delta and jitter of
/// "regular" packets only, and the last in-order arrival and timestamp as the reference.
///
/// Laid out for the cache: behind its 48-byte key in an [`Entry`], the fields a regular
/// packet reads and writes fill the entry's first four cache lines (a test holds it); the rest
/// is touched by irregular packets and by the rows. Over 2000 streams this layout took the
/// analysis from 18.2 to 13.3 ns per packet (best of 300 runs; see benches/RESULTS.md).
#[derive(Debug, Clone)]
#[repr(C)]
struct StreamState {
    /// The highest extended sequence number (RFC 3550 duplicate and reordering detection
    /// over a window of extended numbers).
    max_ext: u64,
    // Wireshark's sequence accounting: expected = stop + 65536 × cycles − start + 1.
    start_seq: u16,
    /// The last sequence number in order.
    seq_num: u16,
    /// The last packet's sequence number.
    stop_seq: u16,
    /// The last packet's payload type.
    last_pt: u8,
    /// Past probation (or forced).
    confirmed: bool,
    /// Whether the stream is in the analyzer's list of streams with packets in the current
    /// interval.
    touched: bool,
    /// Between a wrap and the first number above the start again.
    under: bool,
    /// The first packet's timestamp: sequence and nominal times are measured from it.
    first_ts: u32,
    /// kHz of the last clocked packet (0: none yet).
    khz: u32,
    /// Receipt bitmap of the 128 sequence numbers below and at `max_ext` (2.56 s of 20 ms
    /// packets), for telling duplicates from reordered packets.
    window: [u64; WINDOW_WORDS],
    /// 1 / `khz`.
    per_khz: f64,
    packets: u64,
    /// Arrival of the last packet in sequence (the delta and jitter reference).
    ref_arrival: u64,
    /// Nominal time (ms since the first timestamp) of the last clocked packet in sequence.
    last_nominal: f64,
    jitter: f64,
    max_delta: f64,
    /// +∞ until a regular packet.
    min_delta: f64,
    /// Wireshark's running means, kept as numerator × the count they were last divided by
    /// (`mean = sum / n`): when every packet is regular the update is a plain addition, and a
    /// division happens only after an irregular packet. Equal to the running mean.
    delta_sum: f64,
    delta_n: u64,
    max_jitter: f64,
    /// +∞ until a regular clocked packet.
    min_jitter: f64,
    jitter_sum: f64,
    jitter_n: u64,
    /// Largest jitter of the current interval, ms.
    interval_max_jitter: f64,
    last_arrival: u64,
    /// One-way delay (ns), written by every packet of a simulation: packets with a send time, sum, min, max. Percentiles are kept per
    /// site by the caller: a histogram per stream would cost ~0.7 MB each at 10,000 calls.
    delay_n: u64,
    delay_sum: u128,
    delay_min: u64,
    delay_max: u64,
    // Touched by irregular packets and by the rows only.
    /// The first packet's payload type.
    payload_type: u8,
    /// Every payload type seen (bit n = payload type n).
    payload_types: u128,
    cycles: u64,
    seq_errors: u64,
    duplicates: u64,
    reordered: u64,
    first_arrival: u64,
    /// Whether any packet had a clock to measure jitter with.
    clocked: bool,
    /// The clock of the last clocked packet, Hz (0: none yet).
    clock_hz: u32,
    /// Packets the sender sent, when a simulation knows it (0: unknown): loss then counts the
    /// packets lost after the last one that arrived, which sequence numbers cannot show.
    sent: u64,
}

impl StreamState {
    fn new(s: &RtpSample) -> Self {
        let mut st = StreamState {
            payload_type: s.payload_type,
            last_pt: s.payload_type,
            payload_types: 1u128 << (s.payload_type & 0x7f),
            packets: 1,
            start_seq: s.seq,
            stop_seq: s.seq,
            seq_num: s.seq,
            cycles: 0,
            under: false,
            seq_errors: 0,
            max_ext: u64::from(s.seq) + 65_536,
            window: [0; WINDOW_WORDS],
            duplicates: 0,
            reordered: 0,
            first_arrival: s.arrival_ns,
            last_arrival: s.arrival_ns,
            ref_arrival: s.arrival_ns,
            first_ts: s.timestamp,
            last_nominal: 0.0,
            clocked: false,
            jitter: 0.0,
            max_jitter: 0.0,
            min_jitter: f64::INFINITY,
            jitter_sum: 0.0,
            jitter_n: 0,
            max_delta: 0.0,
            min_delta: f64::INFINITY,
            delta_sum: 0.0,
            delta_n: 0,
            per_khz: 0.0,
            khz: 0,
            clock_hz: 0,
            delay_n: 0,
            delay_sum: 0,
            delay_min: u64::MAX,
            delay_max: 0,
            confirmed: false,
            touched: false,
            interval_max_jitter: 0.0,
            sent: 0,
        };
        st.mark(st.max_ext);
        st.record_delay(s);
        st
    }

    fn bit(&self, ext: u64) -> Option<(usize, u64)> {
        let back = self.max_ext.checked_sub(ext)?;
        (back < WINDOW).then(|| ((ext % WINDOW / 64) as usize, 1u64 << (ext % 64)))
    }

    fn mark(&mut self, ext: u64) {
        if let Some((w, b)) = self.bit(ext) {
            self.window[w] |= b;
        }
    }

    #[inline]
    fn record_delay(&mut self, s: &RtpSample) {
        if let Some(sent) = s.sent_ns {
            let d = s.arrival_ns.saturating_sub(sent);
            self.delay_n += 1;
            self.delay_sum += u128::from(d);
            self.delay_min = self.delay_min.min(d);
            self.delay_max = self.delay_max.max(d);
        }
    }

    /// Duplicates and late packets against the window of extended sequence numbers.
    #[inline]
    fn track_order(&mut self, seq: u16) {
        let max16 = self.max_ext as u16;
        let udelta = seq.wrapping_sub(max16);
        if udelta != 0 && udelta < 0x8000 {
            let new_max = self.max_ext + u64::from(udelta);
            if udelta == 1 {
                let e = new_max;
                self.window[(e % WINDOW / 64) as usize] &= !(1u64 << (e % 64));
            } else {
                for e in (self.max_ext + 1)..=new_max.min(self.max_ext + WINDOW) {
                    self.window[(e % WINDOW / 64) as usize] &= !(1u64 << (e % 64));
                }
            }
            self.max_ext = new_max;
            self.mark(new_max);
        } else {
            let ext = self.max_ext - u64::from(max16.wrapping_sub(seq));
            match self.bit(ext) {
                Some((w, b)) if self.window[w] & b != 0 => self.duplicates += 1,
                _ => {
                    self.reordered += 1;
                    self.mark(ext);
                }
            }
        }
    }

    /// Adds a packet: the regular one by the short path, any other by the whole rule.
    #[inline]
    fn add(&mut self, s: &RtpSample) {
        if !self.add_regular(s) {
            self.add_any(s);
        }
    }

    /// The packet almost every packet is: the next sequence number (also the highest seen),
    /// the same payload type (not comfort noise), no marker, its timestamp in order, the same
    /// clock as the last clocked packet, no wrap-cycle change. Updates the state exactly as
    /// [`StreamState::add_any`] would (tested against it) with a fraction of its checks, and
    /// returns false without touching anything for every other packet.
    #[inline(always)]
    fn add_regular(&mut self, s: &RtpSample) -> bool {
        let ts_gap = s.timestamp.wrapping_sub(self.first_ts);
        let wraps_quiet = if self.under { s.seq <= self.start_seq } else { s.seq >= self.start_seq && s.seq != 0 };
        let regular = s.seq == self.seq_num.wrapping_add(1)
            && self.seq_num == self.max_ext as u16
            && s.payload_type == self.last_pt
            && s.payload_type != PT_CN
            && s.payload_type != PT_CN_OLD
            && !s.marker
            && ts_gap < 0x8000_0000
            && wraps_quiet
            && self.khz != 0
            && s.clock.khz() == Some(self.khz);
        if !regular {
            return false;
        }
        let before = self.packets;
        self.packets += 1;
        self.record_delay(s);
        // The next extended number: its bit is set (clearing it first, as a jump does, is
        // the same), the rest of the window stays.
        self.max_ext += 1;
        let e = self.max_ext;
        self.window[(e % WINDOW / 64) as usize] |= 1u64 << (e % 64);
        self.seq_num = s.seq;
        self.stop_seq = s.seq;

        let delta = (s.arrival_ns as i64).wrapping_sub(self.ref_arrival as i64) as f64 * 1e-6;
        let nominal = f64::from(ts_gap) * self.per_khz;
        let diff = (delta - (nominal - self.last_nominal)).abs();
        let j = jitter_step(self.jitter, diff);
        self.jitter = j;
        self.last_nominal = nominal;
        self.count_regular_delta(before, delta);
        self.count_regular_jitter(before, j);
        self.ref_arrival = s.arrival_ns;
        self.last_arrival = s.arrival_ns;
        true
    }

    /// A regular packet's arrival delta, ms, in the extremes and Wireshark's running mean
    /// (`before`: the packets counted before it).
    #[inline(always)]
    fn count_regular_delta(&mut self, before: u64, delta: f64) {
        // (Plain comparisons, as Wireshark makes them: no NaN can arise here.)
        if delta > self.max_delta {
            self.max_delta = delta;
        }
        if delta < self.min_delta {
            self.min_delta = delta;
        }
        running_mean(&mut self.delta_sum, &mut self.delta_n, before, delta);
    }

    /// A regular clocked packet's jitter `j`, ms, in the extremes (the stream's and the
    /// interval's) and the running mean.
    #[inline(always)]
    fn count_regular_jitter(&mut self, before: u64, j: f64) {
        if j > self.max_jitter {
            self.max_jitter = j;
        }
        if j > self.interval_max_jitter {
            self.interval_max_jitter = j;
        }
        if j < self.min_jitter {
            self.min_jitter = j;
        }
        running_mean(&mut self.jitter_sum, &mut self.jitter_n, before, j);
    }

    /// Adds any packet, by Wireshark's whole rule.
    #[inline(never)]
    fn add_any(&mut self, s: &RtpSample) {
        // Wireshark's running means divide by the packets counted before this one.
        let before = self.packets;
        self.packets += 1;
        if s.payload_type != self.last_pt {
            self.payload_types |= 1u128 << (s.payload_type & 0x7f);
        }
        self.record_delay(s);
        self.track_order(s.seq);

        // In sequence: the timestamp is within 2^31 after the stream's first (Wireshark 4.0
        // measures from the first packet, not from the previous one).
        let first = self.first_ts;
        let ts = s.timestamp;
        let in_order = if first <= ts {
            ts - first < 0x8000_0000
        } else {
            u64::from(u32::MAX - first) + u64::from(ts) < 0x8000_0000
        };

        // Wrap cycles: a number below the first one starts a new cycle, a number above it
        // ends the "under" phase (a first number of 0 wraps on 65535 → 0).
        if in_order {
            if !self.under {
                if s.seq < self.start_seq || (s.seq == 0 && self.stop_seq == 65_535) {
                    self.cycles += 1;
                    self.under = true;
                }
            } else if s.seq > self.start_seq {
                self.under = false;
            }
        }
        let next = u32::from(self.seq_num) + 1;
        let seq = u32::from(s.seq);
        if in_order && (next == seq || (self.seq_num == 65_535 && s.seq == 0)) {
            self.seq_num = s.seq;
        } else if in_order && (next < seq || self.seq_num.wrapping_sub(s.seq) > 0xFF00) {
            self.seq_num = s.seq;
            self.seq_errors += 1;
        } else if next > seq {
            self.seq_errors += 1;
        }

        let cn = s.payload_type == PT_CN || s.payload_type == PT_CN_OLD;
        let after_cn = self.last_pt == PT_CN || self.last_pt == PT_CN_OLD;
        self.last_pt = s.payload_type;

        // Arrival delta and jitter, in ms, for packets in sequence: the arrival against the
        // last packet in sequence, the timestamp (since the first) against the last clocked
        // packet's. After an RFC 4733 event, whose packets repeat the event's start
        // timestamp and are not clocked, the next audio packet is measured against the last
        // audio packet's timestamp and the event's arrival.
        let khz = s.clock.khz();
        let delta = (s.arrival_ns as i64).wrapping_sub(self.ref_arrival as i64) as f64 * 1e-6;
        if in_order {
            if let Some(khz) = khz {
                self.clocked = true;
                if khz != self.khz {
                    self.khz = khz;
                    self.per_khz = 1.0 / f64::from(khz);
                    if let Clock::Hz(hz) = s.clock {
                        self.clock_hz = hz;
                    }
                }
                let nominal = f64::from(ts.wrapping_sub(first)) * self.per_khz;
                let diff = (delta - (nominal - self.last_nominal)).abs();
                self.jitter = jitter_step(self.jitter, diff);
                self.last_nominal = nominal;
            }
        }
        // Only regular packets count: not a marker, not comfort noise or the packet after it,
        // not one out of sequence.
        if !s.marker && !cn && !after_cn && in_order {
            self.count_regular_delta(before, delta);
            if khz.is_some() {
                self.count_regular_jitter(before, self.jitter);
            }
        }
        if in_order {
            self.ref_arrival = s.arrival_ns;
        }
        self.stop_seq = s.seq;
        self.last_arrival = s.arrival_ns;
    }

    /// The mean gap between first and last arrival, ms (0 with one packet).
    fn mean_arrival_gap_ms(&self) -> f64 {
        if self.packets > 1 {
            self.last_arrival.abs_diff(self.first_arrival) as f64 / 1e6 / (self.packets - 1) as f64
        } else {
            0.0
        }
    }

    /// The E-model's (Ie, Bpl) for this stream: its first payload type the tables know (a
    /// stream that starts with comfort noise is still G.711).
    fn impairment(&self) -> Option<(f64, f64)> {
        let mut bits = self.payload_types;
        std::iter::once(self.payload_type)
            .chain(std::iter::from_fn(move || {
                (bits != 0).then(|| {
                    let pt = bits.trailing_zeros() as u8;
                    bits &= bits - 1;
                    pt
                })
            }))
            .find_map(impairment)
    }

    fn mean_delta(&self) -> f64 {
        if self.delta_n == 0 {
            0.0
        } else {
            self.delta_sum / self.delta_n as f64
        }
    }

    fn mean_jitter(&self) -> f64 {
        if self.jitter_n == 0 {
            0.0
        } else {
            self.jitter_sum / self.jitter_n as f64
        }
    }

    /// Wireshark's expected count: from the first sequence number to the last packet's,
    /// across the wrap cycles seen.
    fn expected(&self) -> u64 {
        (u64::from(self.stop_seq) + 65_536 * self.cycles + 1).saturating_sub(u64::from(self.start_seq))
    }
}

/// One row of the streams table (`rtp_streams` in the replay JSON).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct RtpStreamRow {
    /// Source address.
    pub src: IpAddr,
    /// Source port.
    pub src_port: u16,
    /// Destination address.
    pub dst: IpAddr,
    /// Destination port.
    pub dst_port: u16,
    /// SSRC.
    pub ssrc: u32,
    /// Payload type of the first packet.
    pub payload_type: u8,
    /// Every payload type the stream carried, in numeric order (comfort noise, telephone
    /// events and codec changes show here).
    pub payload_types: Vec<u8>,
    /// The media clock its jitter was measured with, Hz (the static table or the call's
    /// SDP; `null` when no packet had a known clock).
    pub clock_rate: Option<u32>,
    /// Packets received.
    pub packets: u64,
    /// Expected − received, as Wireshark counts it: expected runs from the first sequence
    /// number to the last packet's, across wraps (negative with duplicates).
    pub lost: i64,
    /// Expected packets.
    pub expected: u64,
    /// Packets whose sequence number is not the previous one's + 1 (Wireshark's
    /// "wrong sequence").
    pub seq_errors: u64,
    /// Packets seen twice.
    pub duplicates: u64,
    /// Packets that arrived after a higher sequence number.
    pub reordered: u64,
    /// Smallest gap between arrivals, ms, over regular packets (`null` when none).
    pub min_delta_ms: Option<f64>,
    /// Wireshark's mean gap, ms.
    pub mean_delta_ms: f64,
    /// Largest gap between arrivals, ms, over regular packets: not a marker packet, not
    /// comfort noise or the packet after it, not one whose timestamp went back.
    pub max_delta_ms: f64,
    /// Smallest jitter, ms.
    pub min_jitter_ms: Option<f64>,
    /// Largest jitter, ms (`null` when no packet had a known clock rate).
    pub max_jitter_ms: Option<f64>,
    /// Wireshark's mean jitter, ms.
    pub mean_jitter_ms: Option<f64>,
    /// One-way delay, when send times were known (simulation).
    pub delay_ms: Option<DelayStats>,
    /// E-model MOS (G.711 with PLC, G.729); see the README for the delay it assumes.
    pub mos: Option<f64>,
    /// What the far end reported of this source over RTCP (captures only).
    pub rtcp: Option<crate::rtcp::RtcpView>,
    /// The largest jitter of each interval the stream had packets in, ms, at most
    /// [`SPARKLINE_POINTS`] (later points cover two intervals, then four, ...); kept for the
    /// first [`SPARKLINE_STREAMS`] streams of each shard. Absent when not recorded.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub jitter_series_ms: Vec<f64>,
    /// First arrival, ns since the epoch.
    pub first_ns: u64,
    /// Last arrival, ns since the epoch.
    pub last_ns: u64,
}

/// One-way delay of a stream, ms.
#[derive(Debug, Clone, Copy, Serialize, PartialEq)]
pub struct DelayStats {
    /// Smallest.
    pub min: f64,
    /// Mean.
    pub mean: f64,
    /// Largest.
    pub max: f64,
}

/// Points of a stream's jitter sparkline.
pub const SPARKLINE_POINTS: usize = 60;
/// Streams (per analyzer) that keep a sparkline: its memory is bounded whatever the capture.
pub const SPARKLINE_STREAMS: usize = 2000;

/// Where a stream's current interval started (its counters then), and its sparkline: kept
/// beside the streams' state, not in it, since only the interval's close reads them (the
/// per-packet state stays as small as it was).
#[derive(Debug, Clone, Default)]
struct IntervalMark {
    expected: u64,
    packets: u64,
    delay_n: u64,
    delay_sum: u128,
    /// The stream's jitter per interval (the first [`SPARKLINE_STREAMS`] streams).
    sparkline: Option<Box<Sparkline>>,
}

/// A stream's jitter per interval: the largest of each, ms; when full, points are merged two
/// by two (the larger kept) and each then covers twice as many intervals. Fixed size, in one
/// allocation made at the stream's first closed interval.
#[derive(Debug, Clone)]
struct Sparkline {
    points: [f32; SPARKLINE_POINTS],
    len: usize,
    /// Intervals per point.
    stride: u32,
    /// Intervals already in the last point.
    in_last: u32,
}

impl Sparkline {
    fn new() -> Self {
        Sparkline { points: [0.0; SPARKLINE_POINTS], len: 0, stride: 1, in_last: 0 }
    }

    fn push(&mut self, j: f32) {
        if self.in_last > 0 && self.in_last < self.stride {
            let last = &mut self.points[self.len - 1];
            *last = last.max(j);
            self.in_last += 1;
            return;
        }
        if self.len == SPARKLINE_POINTS {
            for i in 0..SPARKLINE_POINTS / 2 {
                self.points[i] = self.points[2 * i].max(self.points[2 * i + 1]);
            }
            self.len = SPARKLINE_POINTS / 2;
            self.stride *= 2;
        }
        self.points[self.len] = j;
        self.len += 1;
        self.in_last = 1;
    }

    /// The points, ms, to 0.1 µs (what an f32 holds of them, without its binary tail).
    fn values(&self) -> Vec<f64> {
        self.points[..self.len].iter().map(|&j| (f64::from(j) * 1e4).round() / 1e4).collect()
    }
}

/// A stream's key and state, on a cache line's boundary (see [`StreamState`]).
#[derive(Debug, Clone)]
#[repr(C, align(64))]
struct Entry {
    key: PackedKey,
    st: StreamState,
}

/// Finds and analyzes RTP streams among UDP payloads.
#[derive(Debug, Default)]
pub struct RtpAnalyzer {
    /// Streams in order of appearance; `index` finds them by key, and callers that keep a
    /// per-flow slot hint (the replay's flow table) skip that lookup.
    streams: Vec<Entry>,
    /// Per stream (the same slots): where its current interval started, its sparkline.
    marks: Vec<IntervalMark>,
    /// Slots of the streams with packets in the current interval (see [`RtpAnalyzer::close_interval`]).
    touched: Vec<u32>,
    index: FxHashMap<PackedKey, u32>,
    forced: Option<(u16, u16)>,
    /// Packets in a forced port range whose version is not 2 (counted, not analyzed).
    pub not_rtp_in_range: u64,
    /// The most streams kept, per part of the flow space (`None`: no bound; a simulation's
    /// streams are counted before it starts).
    bound: Option<Box<PartBound>>,
    /// Packets of streams that found their part of the flow space full (counted, not analyzed).
    pub untracked_packets: u64,
}

impl RtpAnalyzer {
    /// An analyzer; with `forced` = Some((lo, hi)), every UDP packet with a port in
    /// `lo..=hi` is taken as RTP without the heuristic's probation.
    pub fn new(forced: Option<(u16, u16)>) -> Self {
        RtpAnalyzer {
            streams: Vec::new(),
            marks: Vec::new(),
            touched: Vec::new(),
            index: FxHashMap::default(),
            forced,
            not_rtp_in_range: 0,
            bound: None,
            untracked_packets: 0,
        }
    }

    /// Keeps at most `max_streams` streams (each part of the flow space its share, as the
    /// replay's flow table does, so which streams are kept does not depend on the number of
    /// shards); packets of further streams are counted in `untracked_packets`. A stream takes
    /// its place with its first packet, on probation or not: memory stays bounded whatever the
    /// capture holds.
    pub fn bounded(mut self, max_streams: usize) -> Self {
        self.bound = Some(Box::new(PartBound::new(max_streams)));
        self
    }

    /// Whether a UDP packet between these ports is in the forced range.
    pub fn forced(&self, src_port: u16, dst_port: u16) -> bool {
        self.forced.is_some_and(|(lo, hi)| (lo..=hi).contains(&src_port) || (lo..=hi).contains(&dst_port))
    }

    /// Adds one packet that passed the RTP header check. `hint` is a slot the caller keeps per
    /// flow (start it at `u32::MAX`): when it names this stream, no hash lookup is needed, and
    /// it is updated to this stream's slot. A `forced` packet (its port range forced, or its
    /// endpoint named by SDP) starts a stream without probation.
    ///
    /// Always inlined: the short way is a few dozen instructions, and a call to it cost a
    /// replay 37 more per frame in saved registers (cachegrind, 2 M frames: 2,742 → 2,668 M).
    #[inline(always)]
    pub fn add(&mut self, key: StreamKey, s: RtpSample, forced: bool, hint: Option<&mut u32>) {
        let packed = PackedKey::from(&key);
        // The short way: the hint names the stream, past probation (or forced), and the
        // packet is a regular one.
        if let Some(&h) = hint.as_deref() {
            if let Some(Entry { key, st }) = self.streams.get_mut(h as usize) {
                if *key == packed && (st.confirmed || forced) && st.add_regular(&s) {
                    st.confirmed = true;
                    if !st.touched {
                        st.touched = true;
                        self.touched.push(h);
                    }
                    return;
                }
            }
        }
        self.add_keyed(packed, s, forced, hint);
    }

    /// [`RtpAnalyzer::add`] the whole way: the index, probation, a new stream, any packet.
    #[inline(never)]
    fn add_keyed(&mut self, packed: PackedKey, s: RtpSample, forced: bool, hint: Option<&mut u32>) {
        let cached =
            hint.as_deref().copied().filter(|&h| self.streams.get(h as usize).is_some_and(|e| e.key == packed));
        let slot = cached.or_else(|| self.index.get(&packed).copied());
        let slot = match slot {
            Some(i) => {
                let st = &mut self.streams[i as usize].st;
                // A stream on probation must keep its payload type and count up.
                if !st.confirmed && !forced {
                    if st.payload_type != s.payload_type || s.seq != st.seq_num.wrapping_add(1) {
                        *st = StreamState::new(&s);
                        self.marks[i as usize] = IntervalMark::default();
                    } else {
                        st.confirmed = st.packets + 1 >= u64::from(MIN_SEQUENTIAL);
                        st.add(&s);
                    }
                } else {
                    st.confirmed = true;
                    st.add(&s);
                }
                if !st.touched {
                    st.touched = true;
                    self.touched.push(i);
                }
                i
            }
            None => {
                // A new stream, if its part of the flow space has room left (a capture of a new
                // SSRC in every packet would otherwise grow the analysis with the file).
                if let Some(bound) = &mut self.bound {
                    let k = packed.unpack();
                    if !bound.take(flow_part(k.src, k.src_port, k.dst, k.dst_port)) {
                        self.untracked_packets += 1;
                        return;
                    }
                }
                let mut st = StreamState::new(&s);
                st.confirmed = forced || MIN_SEQUENTIAL <= 1;
                st.touched = true;
                let i = self.streams.len() as u32;
                self.streams.push(Entry { key: packed, st });
                self.marks.push(IntervalMark::default());
                self.touched.push(i);
                self.index.insert(packed, i);
                i
            }
        };
        if let Some(h) = hint {
            *h = slot;
        }
    }

    /// Takes in another analyzer's streams (a replay shard's: its streams are keyed apart from
    /// ours). Slots handed out by `other` are not valid here.
    pub fn absorb(&mut self, other: RtpAnalyzer) {
        self.marks.extend(other.marks);
        debug_assert!(other.touched.is_empty() && self.touched.is_empty(), "intervals closed before absorbing");
        for Entry { key: k, st } in other.streams {
            let i = self.streams.len() as u32;
            debug_assert!(!self.index.contains_key(&k), "a stream is in one shard");
            self.index.insert(k, i);
            self.streams.push(Entry { key: k, st });
        }
        self.not_rtp_in_range += other.not_rtp_in_range;
        self.untracked_packets += other.untracked_packets;
        if let (Some(b), Some(o)) = (&mut self.bound, &other.bound) {
            b.absorb(o);
        }
    }

    /// Tells the analyzer that the stream in `slot` (a hint from [`RtpAnalyzer::add`]) was sent
    /// `sent` packets: its loss then also counts packets lost after the last that arrived.
    pub fn sent(&mut self, slot: u32, sent: u64) {
        if let Some(Entry { st: s, .. }) = self.streams.get_mut(slot as usize) {
            s.sent = sent;
        }
    }

    /// How many streams are confirmed (a walk over every stream: for a progress line, not
    /// per packet).
    pub fn confirmed(&self) -> usize {
        self.streams.iter().filter(|e| e.st.confirmed).count()
    }

    /// The confirmed streams, sorted by (src, src port, dst, dst port, SSRC).
    pub fn rows(&self) -> Vec<RtpStreamRow> {
        let mut rows: Vec<RtpStreamRow> = self
            .streams
            .iter()
            .zip(&self.marks)
            .filter(|(e, _)| e.st.confirmed)
            .map(|(e, m)| {
                let mut row = Self::row_of(&e.key, &e.st);
                row.jitter_series_ms = m.sparkline.as_ref().map_or_else(Vec::new, |sp| sp.values());
                row
            })
            .collect();
        sort_rows(&mut rows);
        rows
    }

    /// The row of the stream in `slot` (a hint from [`RtpAnalyzer::add`]), if it is confirmed.
    pub fn row(&self, slot: u32) -> Option<RtpStreamRow> {
        self.streams.get(slot as usize).filter(|e| e.st.confirmed).map(|e| Self::row_of(&e.key, &e.st))
    }

    /// Closes the current interval of every stream that had packets in it: how many were
    /// active, how many scored below `mos_target` over the interval (loss within it counted
    /// from sequence numbers, as a capture shows it; streams outside the E-model's tables are
    /// below only when they lost everything), their jitter; and each stream's sparkline gets
    /// a point. Costs the streams touched, not all of them.
    pub fn close_interval(&mut self, mos_target: f64) -> Quality {
        let mut q = Quality::default();
        for &slot in &self.touched {
            let st = &mut self.streams[slot as usize].st;
            if !st.touched {
                continue; // listed twice (restarted on probation)
            }
            st.touched = false;
            let max_jitter = std::mem::take(&mut st.interval_max_jitter);
            let (expected, packets) = (st.expected().max(st.sent), st.packets);
            let m = &mut self.marks[slot as usize];
            let (exp_in, got_in) = (expected.saturating_sub(m.expected), packets.saturating_sub(m.packets));
            let delay_in = (st.delay_n > m.delay_n)
                .then(|| (st.delay_sum - m.delay_sum) as f64 / (st.delay_n - m.delay_n) as f64 / 1e6);
            (m.expected, m.packets, m.delay_n, m.delay_sum) = (expected, packets, st.delay_n, st.delay_sum);
            if !st.confirmed {
                continue;
            }
            q.active += 1;
            let loss_pct = if exp_in == 0 { 0.0 } else { exp_in.saturating_sub(got_in) as f64 * 100.0 / exp_in as f64 };
            let below = match st.impairment() {
                Some(e) => {
                    let mos = stream_mos(e, st.mean_arrival_gap_ms(), max_jitter, delay_in.unwrap_or(0.0), loss_pct);
                    q.mos.record(mos);
                    mos < mos_target
                }
                None => got_in == 0,
            };
            q.below += u64::from(below);
            if st.clocked && st.packets > 1 {
                q.jitter_sum_ms += st.jitter;
                q.jitter_n += 1;
                q.jitter_max_ms = q.jitter_max_ms.max(max_jitter);
                if (slot as usize) < SPARKLINE_STREAMS {
                    m.sparkline.get_or_insert_with(|| Box::new(Sparkline::new())).push(max_jitter as f32);
                }
            }
        }
        self.touched.clear();
        q
    }

    fn row_of(k: &PackedKey, s: &StreamState) -> RtpStreamRow {
        let k = k.unpack();
        let expected = s.expected().max(s.sent);
        let lost = expected as i64 - s.packets as i64;
        let jittered = s.packets > 1 && s.clocked;
        let max_jitter_ms = s.max_jitter;
        let delay_ms = (s.delay_n > 0).then(|| DelayStats {
            min: s.delay_min as f64 / 1e6,
            mean: s.delay_sum as f64 / s.delay_n as f64 / 1e6,
            max: s.delay_max as f64 / 1e6,
        });
        let mut payload_types = Vec::with_capacity(s.payload_types.count_ones() as usize);
        let mut bits = s.payload_types;
        while bits != 0 {
            payload_types.push(bits.trailing_zeros() as u8);
            bits &= bits - 1;
        }
        let scored = s.impairment();
        // Mouth-to-ear delay: the packetization (the mean arrival gap), a jitter buffer
        // of twice the largest jitter, and the mean network delay when known.
        // A stream of one packet has a MOS only when the sender is known to have sent more:
        // its loss then speaks for it.
        let mos = scored.filter(|_| s.packets > 1 || expected > 1).map(|e| {
            let loss_pct = (lost.max(0) as f64) * 100.0 / expected as f64;
            stream_mos(e, s.mean_arrival_gap_ms(), max_jitter_ms, delay_ms.map_or(0.0, |d| d.mean), loss_pct)
        });
        RtpStreamRow {
            src: k.src,
            src_port: k.src_port,
            dst: k.dst,
            dst_port: k.dst_port,
            ssrc: k.ssrc,
            payload_type: s.payload_type,
            payload_types,
            clock_rate: (s.clock_hz != 0).then_some(s.clock_hz),
            packets: s.packets,
            lost,
            expected,
            seq_errors: s.seq_errors,
            duplicates: s.duplicates,
            reordered: s.reordered,
            min_delta_ms: s.min_delta.is_finite().then_some(s.min_delta),
            mean_delta_ms: s.mean_delta(),
            max_delta_ms: s.max_delta,
            min_jitter_ms: (jittered && s.min_jitter.is_finite()).then_some(s.min_jitter),
            max_jitter_ms: jittered.then_some(max_jitter_ms),
            mean_jitter_ms: jittered.then_some(s.mean_jitter()),
            delay_ms,
            mos,
            rtcp: None,
            jitter_series_ms: Vec::new(),
            first_ns: s.first_arrival,
            last_ns: s.last_arrival,
        }
    }
}

/// Wireshark's running mean `m = (m × (n − 1) + x) / n` at the n-th packet, kept as
/// `sum / count`: consecutive updates add; after a skipped packet the sum is rescaled once.
#[inline]
fn running_mean(sum: &mut f64, count: &mut u64, n: u64, x: f64) {
    if *count + 1 != n && *count != 0 {
        *sum *= (n - 1) as f64 / *count as f64;
    }
    *sum += x;
    *count = n;
}

/// The report's stream order: (src, src port, dst, dst port, SSRC).
pub fn sort_rows(rows: &mut [RtpStreamRow]) {
    rows.sort_by(|a, b| {
        (a.src, a.src_port, a.dst, a.dst_port, a.ssrc).cmp(&(b.src, b.src_port, b.dst, b.dst_port, b.ssrc))
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn e_model_worked_example() {
        // reference/rtp-quality.md: R = 93.2 (G.711, no impairment) -> MOS about 4.41.
        let r = r_factor(0.0, 0.0, 0.0, 25.1);
        assert!((r - 93.2).abs() < 1e-12);
        assert!((mos(r) - 4.41).abs() < 0.005, "{}", mos(r));
        // Delay: Id = 0.024 d below 177.3 ms, plus 0.11 (d − 177.3) above.
        assert!((r_factor(150.0, 0.0, 0.0, 25.1) - (93.2 - 3.6)).abs() < 1e-9);
        assert!((r_factor(200.0, 0.0, 0.0, 25.1) - (93.2 - 4.8 - 0.11 * 22.7)).abs() < 1e-9);
        // Loss: 1 % random loss with PLC: Ie,eff = 95 × 1 / (1 + 25.1) = 3.64.
        assert!((r_factor(0.0, 1.0, 0.0, 25.1) - (93.2 - 95.0 / 26.1)).abs() < 1e-9);
        // Without PLC (Bpl 4.3) the same loss costs far more: 95 / 5.3 = 17.9.
        assert!((r_factor(0.0, 1.0, 0.0, 4.3) - (93.2 - 95.0 / 5.3)).abs() < 1e-9);
        assert_eq!(mos(-3.0), 1.0);
        assert_eq!(mos(120.0), 4.5);
        assert_eq!(mos(5.0), 1.0, "the cubic gives 0.99 here");
    }

    /// What a regular packet touches (a simulated one too, with its send time) lies in the
    /// entry's first four cache lines, and the entries start on a line.
    #[test]
    fn a_regular_packet_touches_four_cache_lines() {
        use std::mem::{align_of, offset_of, size_of};
        assert_eq!(align_of::<Entry>(), 64);
        let end = offset_of!(Entry, st) + offset_of!(StreamState, delay_max) + size_of::<u64>();
        // repr(C): the fields declared before `delay_max` (the last hot one) lie before it.
        assert!(end <= 256, "the hot fields end at byte {end}");
    }

    /// The short path for regular packets leaves the state exactly as the whole rule does,
    /// packet after packet, on streams with every irregularity: sequence jumps both ways,
    /// duplicates, wraps from any start, payload type changes and comfort noise, markers,
    /// timestamps that go back (also by more than 2^31), clock changes, events, unknown
    /// clocks, arrivals out of order, send times.
    #[test]
    fn regular_short_path_equals_the_whole_rule() {
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        let mut rnd = move |n: u64| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x % n
        };
        let mut short_taken = 0u64;
        for _ in 0..60 {
            let start_seq = [0u16, 1, 65_535, 65_500, 30_000][rnd(5) as usize].wrapping_add(rnd(3) as u16);
            let (mut seq, mut ts, mut t) = (start_seq, rnd(u64::from(u32::MAX)) as u32, 1_000_000_000u64);
            let (mut pt, mut clock) = (0u8, Clock::Hz(8000));
            let mut first: Option<StreamState> = None;
            let mut whole = None::<StreamState>;
            for _ in 0..3000 {
                // Mostly the next packet, 20 ms and 160 units on.
                match rnd(1000) {
                    0..=9 => seq = seq.wrapping_sub(rnd(5) as u16), // back: late or duplicate
                    10..=19 => seq = seq.wrapping_add(2 + rnd(300) as u16), // a gap
                    20 if rnd(30) == 0 => seq = seq.wrapping_add(40_000), // a jump
                    _ => seq = seq.wrapping_add(1),
                }
                match rnd(3000) {
                    0 => ts = ts.wrapping_add(0x8000_0000 + rnd(10) as u32), // back by 2^31
                    1..=10 => ts = ts.wrapping_sub(160 * rnd(4) as u32),
                    _ => ts = ts.wrapping_add(160),
                }
                match rnd(300) {
                    0 => (pt, clock) = (13, Clock::Hz(8000)),
                    1 => (pt, clock) = (101, Clock::Event),
                    2 => (pt, clock) = (96, Clock::Unknown),
                    3 => (pt, clock) = (9, Clock::Hz(8000)),
                    4 => (pt, clock) = (97, Clock::Hz(16_000)),
                    5..=40 => (pt, clock) = (0, Clock::Hz(8000)),
                    _ => {}
                }
                t = t.wrapping_add(20_000_000 + rnd(3_000_000)).wrapping_sub(rnd(1_500_000));
                let s = RtpSample {
                    arrival_ns: t,
                    seq,
                    timestamp: ts,
                    payload_type: pt,
                    marker: rnd(50) == 0,
                    clock,
                    sent_ns: (rnd(2) == 0).then(|| t.saturating_sub(rnd(50_000_000))),
                };
                match (&mut first, &mut whole) {
                    (Some(short), Some(whole)) => {
                        short_taken += u64::from(short.add_regular(&s));
                        if short.packets == whole.packets {
                            short.add_any(&s);
                        }
                        whole.add_any(&s);
                        assert_eq!(format!("{short:?}"), format!("{whole:?}"), "after {s:?}");
                    }
                    _ => {
                        first = Some(StreamState::new(&s));
                        whole = Some(StreamState::new(&s));
                    }
                }
            }
        }
        assert!(short_taken > 60 * 1500, "most packets are regular: {short_taken}");
    }

    /// A stream from 192.0.2.1 to 192.0.2.2.
    fn key(src_port: u16, dst_port: u16, ssrc: u32) -> StreamKey {
        StreamKey { src: "192.0.2.1".parse().unwrap(), src_port, dst: "192.0.2.2".parse().unwrap(), dst_port, ssrc }
    }

    fn feed(a: &mut RtpAnalyzer, seqs: &[u16], gap_ns: u64) -> RtpStreamRow {
        let key = key(10_000, 20_000, 7);
        for (i, &seq) in seqs.iter().enumerate() {
            let s = RtpSample {
                arrival_ns: i as u64 * gap_ns,
                seq,
                // The sender's clock runs on across the sequence wrap.
                timestamp: u32::from(seq.wrapping_sub(seqs[0])) * 160,
                payload_type: 0,
                marker: false,
                clock: Clock::Hz(8000),
                sent_ns: None,
            };
            a.add(key, s, false, None);
        }
        a.rows().pop().unwrap()
    }

    #[test]
    fn loss_duplicates_reordering_and_wrap() {
        let mut a = RtpAnalyzer::new(None);
        // 65534, 65535, 0 (wrap), 2 (1 lost), 2 (duplicate), 4, 3 (late), 5.
        let r = feed(&mut a, &[65_534, 65_535, 0, 2, 2, 4, 3, 5], 20_000_000);
        assert_eq!(r.packets, 8);
        assert_eq!(r.expected, 8, "65534 ..= 5 across the wrap");
        assert_eq!(r.lost, 0, "one lost (1) and one duplicate (2) cancel, as RFC 3550 counts");
        assert_eq!((r.duplicates, r.reordered), (1, 1));
        // Wireshark's wrong-sequence count: 0->2, 2 again, 2->4, 3 late (the reference stays
        // 4, so 5 is in sequence).
        assert_eq!(r.seq_errors, 4);
    }

    #[test]
    fn steady_stream_has_no_jitter() {
        let mut a = RtpAnalyzer::new(None);
        let seqs: Vec<u16> = (100..200).collect();
        let r = feed(&mut a, &seqs, 20_000_000);
        assert_eq!((r.packets, r.lost), (100, 0));
        assert_eq!(r.max_jitter_ms, Some(0.0));
        assert_eq!(r.max_delta_ms, 20.0);
    }

    #[test]
    fn one_way_delay_when_send_times_are_known() {
        let mut a = RtpAnalyzer::new(None);
        let key = key(1, 2, 1);
        // 100 packets sent 20 ms apart, each taking 5 ms, but every tenth 45 ms.
        for i in 0..100u64 {
            let sent = i * 20_000_000;
            let delay = if i % 10 == 9 { 45_000_000 } else { 5_000_000 };
            let s = RtpSample {
                arrival_ns: sent + delay,
                seq: i as u16,
                timestamp: i as u32 * 160,
                payload_type: 0,
                marker: false,
                clock: Clock::Hz(8000),
                sent_ns: Some(sent),
            };
            a.add(key, s, true, None);
        }
        let d = a.rows()[0].delay_ms.unwrap();
        // 90 packets of 5 ms and 10 of 45 ms: mean 9 ms.
        assert_eq!((d.min, d.mean, d.max), (5.0, 9.0, 45.0));
    }

    #[test]
    fn packed_keys_round_trip() {
        for (src, dst) in [("192.0.2.1", "168.86.128.9"), ("2001:db8::1", "ff02::1"), ("8000::1", "::1")] {
            let k = StreamKey {
                src: src.parse().unwrap(),
                src_port: 65535,
                dst: dst.parse().unwrap(),
                dst_port: 1,
                ssrc: u32::MAX,
            };
            assert_eq!(PackedKey::from(&k).unpack(), k);
        }
        // An IPv4 address is packed as its IPv4-mapped IPv6 address.
        let v4: std::net::Ipv4Addr = "192.0.2.1".parse().unwrap();
        let k = StreamKey { src: v4.into(), src_port: 1, dst: v4.into(), dst_port: 2, ssrc: 3 };
        assert_eq!(PackedKey::from(&k).0, u128::from(v4.to_ipv6_mapped()));
    }

    /// A bounded analyzer keeps each part of the flow space to its share of streams, on
    /// probation or not; packets of further streams are counted, and their hint is left alone.
    #[test]
    fn a_bound_keeps_each_part_to_its_share() {
        let mut a = RtpAnalyzer::new(None).bounded(crate::part::FLOW_PARTS * 3);
        let sample = |seq: u16| RtpSample {
            arrival_ns: u64::from(seq) * 20_000_000,
            seq,
            timestamp: u32::from(seq) * 160,
            payload_type: 0,
            marker: false,
            clock: Clock::Hz(8000),
            sent_ns: None,
        };
        // Ten SSRCs between the same two ends: one part, three places.
        let mut hints = [u32::MAX; 10];
        for seq in 0..5 {
            for (ssrc, hint) in hints.iter_mut().enumerate() {
                a.add(key(10_000, 20_000, ssrc as u32), sample(seq), false, Some(hint));
            }
        }
        assert_eq!(a.rows().len(), 3);
        assert_eq!(a.untracked_packets, 7 * 5);
        assert!(hints[3..].iter().all(|&h| h == u32::MAX));
        // Another conversation's part has its own places.
        let other = (0..50u16).map(|p| 30_000 + 2 * p).find(|&p| {
            let k = key(p, 20_000, 0);
            flow_part(k.src, k.src_port, k.dst, k.dst_port) != flow_part(k.src, 10_000, k.dst, 20_000)
        });
        let port = other.expect("another part among 50 ports");
        for seq in 0..3 {
            a.add(key(port, 20_000, 1), sample(seq), false, None);
        }
        assert_eq!((a.rows().len(), a.untracked_packets), (4, 35));
    }

    #[test]
    fn single_packet_flows_are_not_streams() {
        let mut a = RtpAnalyzer::new(None);
        let key = key(1, 2, 1);
        a.add(
            key,
            RtpSample {
                arrival_ns: 0,
                seq: 1,
                timestamp: 0,
                payload_type: 0,
                marker: false,
                clock: Clock::Hz(8000),
                sent_ns: None,
            },
            false,
            None,
        );
        assert!(a.rows().is_empty());
        let mut hint = u32::MAX;
        a.add(
            key,
            RtpSample {
                arrival_ns: 1,
                seq: 2,
                timestamp: 160,
                payload_type: 0,
                marker: false,
                clock: Clock::Hz(8000),
                sent_ns: None,
            },
            false,
            Some(&mut hint),
        );
        assert_eq!(hint, 0);
        a.add(
            key,
            RtpSample {
                arrival_ns: 2,
                seq: 3,
                timestamp: 320,
                payload_type: 0,
                marker: false,
                clock: Clock::Hz(8000),
                sent_ns: None,
            },
            false,
            Some(&mut hint),
        );
        assert_eq!(a.rows().len(), 1);
    }
}
