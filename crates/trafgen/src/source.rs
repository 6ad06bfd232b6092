//! RTP calls as Ethernet frames, in timestamp order, written into a caller's buffer.
//!
//! Scheduling: every stream of a source sends one packet per packet time (ptime) at its own
//! phase, so a static list of streams sorted by phase, walked round after round, is an exact
//! calendar with one slot per stream: O(1) per packet, no heap and no allocation (a binary heap
//! of next-send times, the general alternative, is benched beside it in
//! `benches/benches/trafgen.rs`).
//!
//! Per packet only what changes is written: the header template is copied, then the RTP
//! sequence number, timestamp and marker, the IPv4 identification, and both checksums, which
//! are updated incrementally from precomputed sums (RFC 1624) — the UDP checksum covers the
//! audio, whose per-slice sums are precomputed too.

use std::net::Ipv4Addr;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use xconnect_frame::checksum;
use xconnect_frame::compose::UdpFrameTemplate;
use xconnect_frame::{MacAddr, PayloadType, RtpRepr, VlanId};

use crate::codec::{Codec, CodecError};
use crate::g711;

/// When calls start within a packet time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Uniformly random within one ptime (independent calls).
    Random,
    /// All at the same instant: the worst case for a policer's burst.
    Sync,
}

/// Where calls get their addresses: customer public prefix ⇄ provider media range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AddressPlan {
    /// The customer's prefix (default 203.0.113.0/24, an RFC 5737 documentation range).
    pub customer: (Ipv4Addr, u8),
    /// The provider's media range (168.86.128.0/18).
    pub provider: (Ipv4Addr, u8),
    /// Lowest RTP port (even).
    pub port_lo: u16,
    /// Highest RTP port.
    pub port_hi: u16,
    /// (j, k): the plan's calls take every k-th address/port pair, from the j-th, so that
    /// the calls of k plans sent together (a codec mix) never share a pair. (0, 1): all.
    pub lane: (u64, u64),
}

impl Default for AddressPlan {
    fn default() -> Self {
        AddressPlan {
            customer: (Ipv4Addr::new(203, 0, 113, 0), 24),
            provider: (Ipv4Addr::new(168, 86, 128, 0), 18),
            port_lo: 10_000,
            port_hi: 60_000,
            lane: (0, 1),
        }
    }
}

impl AddressPlan {
    fn hosts(prefix: (Ipv4Addr, u8)) -> u64 {
        let bits = 32 - u32::from(prefix.1.min(32));
        if bits < 2 {
            1
        } else {
            (1u64 << bits) - 2
        }
    }

    fn ports(&self) -> u64 {
        u64::from(self.port_hi.saturating_sub(self.port_lo) / 2) + 1
    }

    /// How many calls get unique 5-tuples: hosts × even ports on the tighter side, in this
    /// plan's lane.
    pub fn capacity(&self) -> u64 {
        let (j, k) = self.lane;
        (Self::hosts(self.customer).min(Self::hosts(self.provider)) * self.ports()).saturating_sub(j).div_ceil(k.max(1))
    }

    fn host(prefix: (Ipv4Addr, u8), i: u64) -> Ipv4Addr {
        let base = u32::from(prefix.0) & (u32::MAX.checked_shl(32 - u32::from(prefix.1)).unwrap_or(0));
        Ipv4Addr::from(base + 1 + (i % Self::hosts(prefix)) as u32)
    }

    /// (customer address, port, provider address, port) of call `i`.
    pub fn call(&self, i: u64) -> (Ipv4Addr, u16, Ipv4Addr, u16) {
        let i = self.lane.0 + i * self.lane.1.max(1);
        let ch = Self::hosts(self.customer);
        let ph = Self::hosts(self.provider);
        (
            Self::host(self.customer, i),
            self.port_lo + 2 * (i / ch) as u16,
            Self::host(self.provider, i),
            self.port_lo + 2 * (i / ph) as u16,
        )
    }
}

/// Everything a source needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallPlan {
    /// Concurrent calls.
    pub calls: u64,
    /// Codec.
    pub codec: Codec,
    /// Packet time, ms.
    pub ptime_ms: u32,
    /// 802.1Q tag on every frame.
    pub vlan: Option<VlanId>,
    /// Phase model.
    pub phase: Phase,
    /// Which legs of each call are sent.
    pub directions: Directions,
    /// Seed for SSRCs, initial sequence numbers and timestamps, and phases.
    pub seed: u64,
    /// Time of the first round, ns since the epoch.
    pub start_ns: u64,
    /// How long the calls last, ns.
    pub duration_ns: u64,
    /// Addresses and ports.
    pub addresses: AddressPlan,
    /// Silence suppression: each stream alternates talkspurts and silences (no packets),
    /// exponentially distributed with the means of ITU-T P.59's conversational speech model
    /// (1.004 s talking, 1.587 s silent); the first packet of every talkspurt carries the
    /// marker bit, and the RTP timestamp keeps counting through silence (RFC 3551 §4.1).
    pub silence_suppression: bool,
    /// How calls come and go.
    pub arrivals: Arrivals,
}

/// Which legs of each call a source sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Directions {
    /// Customer → provider only.
    ToProvider,
    /// Provider → customer only: the same calls (the same arrivals and holding times for a
    /// given seed) as [`Directions::ToProvider`], with their own SSRCs, sequence numbers,
    /// timestamps and phases. Two sources, one each way, make the two legs of the same calls.
    ToCustomer,
    /// Both legs, from one source.
    Both,
}

impl Directions {
    /// Streams per call.
    pub fn per_call(self) -> u64 {
        if self == Directions::Both {
            2
        } else {
            1
        }
    }
}

/// How calls come and go.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Arrivals {
    /// `calls` calls for the whole duration.
    Fixed,
    /// Calls arrive as a Poisson process and last an exponential holding time (M/M/∞):
    /// `calls` is then the offered traffic in Erlangs, the mean number of calls up at once.
    /// The run starts in the steady state: the calls up at the start are those of the same
    /// process run for ten holding times before it.
    Poisson {
        /// Mean holding time, ns.
        mean_hold_ns: u64,
    },
}

impl Eq for Arrivals {}

/// ITU-T P.59 mean talkspurt and pause, ns.
pub(crate) const TALKSPURT_NS: f64 = 1.004e9;
pub(crate) const PAUSE_NS: f64 = 1.587e9;

/// A uniform draw in (0, 1) from a per-stream xorshift64 state (deterministic, no shared RNG
/// in the packet loop).
pub(crate) fn xorshift_unit(state: &mut u64) -> f64 {
    let mut x = *state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    *state = x;
    ((x >> 11) as f64 + 0.5) / (1u64 << 53) as f64
}

/// Rounds until the next switch between talking and pausing: an exponential duration of mean
/// `mean_ns`, at least one round.
pub(crate) fn draw_rounds(state: &mut u64, mean_ns: f64, period_ns: u64) -> u64 {
    ((-xorshift_unit(state).ln() * mean_ns / period_ns as f64).round() as u64).max(1)
}

impl CallPlan {
    /// G.711 μ-law calls at 20 ms, both directions, random phases, seed 1, the default
    /// addresses, no silence suppression, all calls for the whole run: change the rest with
    /// struct update syntax.
    pub fn g711(calls: u64, start_ns: u64, duration_ns: u64) -> CallPlan {
        CallPlan {
            calls,
            codec: Codec::G711U,
            ptime_ms: 20,
            vlan: None,
            phase: Phase::Random,
            directions: Directions::Both,
            seed: 1,
            start_ns,
            duration_ns,
            addresses: AddressPlan::default(),
            silence_suppression: false,
            arrivals: Arrivals::Fixed,
        }
    }

    /// Checks what every generator needs before building anything: calls and a duration, a
    /// packet time the codec allows, and enough address/port pairs. Returns that capacity.
    pub fn check(&self) -> Result<u64, PlanError> {
        if self.calls == 0 {
            return Err(PlanError::NoCalls);
        }
        if self.duration_ns == 0 {
            return Err(PlanError::NoDuration);
        }
        self.codec.check_ptime(self.ptime_ms).map_err(PlanError::Codec)?;
        let max = self.addresses.capacity();
        if self.calls > max {
            return Err(PlanError::TooManyCalls { calls: self.calls, max });
        }
        Ok(max)
    }
}

/// A plan that cannot be generated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PlanError {
    /// Zero calls.
    NoCalls,
    /// Zero duration.
    NoDuration,
    /// Codec or ptime not in the catalog.
    Codec(CodecError),
    /// More calls than unique 5-tuples.
    TooManyCalls {
        /// Calls asked for.
        calls: u64,
        /// Unique 5-tuples available.
        max: u64,
    },
}

impl std::fmt::Display for PlanError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PlanError::NoCalls => f.write_str("--calls must be at least 1"),
            PlanError::NoDuration => f.write_str("--seconds must be above 0"),
            PlanError::Codec(e) => e.fmt(f),
            PlanError::TooManyCalls { calls, max } => write!(
                f,
                "{calls} calls need {calls} unique address/port pairs, but the address plan gives {max} (hosts × even ports in 10000–60000 on the smaller prefix)"
            ),
        }
    }
}

impl std::error::Error for PlanError {}

/// One RTP stream of the source.
#[derive(Debug, Clone)]
pub struct Stream {
    header: [u8; 64],
    header_len: usize,
    /// Sum of the IPv4 header with identification and checksum zeroed.
    ip_sum: u64,
    /// Sum of the pseudo-header, the UDP header without checksum, and the constant RTP words
    /// (SSRC); the first RTP word, sequence and timestamp are added per packet.
    udp_sum: u64,
    rtp_offset: usize,
    ip_offset: usize,
    /// Synchronization source.
    pub ssrc: u32,
    /// First sequence number.
    pub seq0: u16,
    /// First RTP timestamp.
    pub ts0: u32,
    /// Offset of the send time within the packet time, ns.
    pub phase_ns: u64,
    /// Creation number: stable while streams come and go ([`Source::last_stream`]).
    pub id: u32,
    /// First round the stream sends in.
    pub start_round: u64,
    /// The stream sends no packet at or after this time, ns.
    pub end_ns: u64,
    ident0: u16,
    slice0: usize,
    /// Packets sent so far: the sequence number and IPv4 identification advance per packet.
    sent: u64,
    /// Silence suppression: talking now, and the round at which that changes.
    talking: bool,
    switch_round: u64,
    rng: u64,
    /// Source address and port.
    pub src: (Ipv4Addr, u16),
    /// Destination address and port.
    pub dst: (Ipv4Addr, u16),
}

/// The generator. See the module documentation.
#[derive(Debug)]
pub struct Source {
    /// Active streams, sorted by phase: the calendar.
    streams: Vec<Stream>,
    /// Streams yet to start, latest start last-out (sorted by start round, descending).
    pending: Vec<Stream>,
    total_streams: usize,
    last_id: u32,
    period_ns: u64,
    start_ns: u64,
    end_ns: u64,
    round: u64,
    idx: usize,
    payload_type: PayloadType,
    ts_step: u32,
    silence_suppression: bool,
    payload_len: usize,
    audio: Vec<u8>,
    slice_sums: Vec<u64>,
}

/// Samples in the audio table: 3 s at 8 kHz, a whole number of 1004 Hz cycles (3012), and a
/// multiple of every G.711 payload size (80, 160, 240, 320, 400, 480 bytes).
const AUDIO_SAMPLES: usize = 24_000;

/// The audio payload table: a 1004 Hz tone (the usual test tone: not a submultiple of 8000,
/// so it exercises every code) at about −10 dBFS, G.711-encoded for G.711 codecs; for the
/// others, which have no encoder here, a fixed pseudo-random byte pattern of the right size
/// (bandwidth-true, not decodable audio).
fn audio(codec: Codec, payload_len: usize, seed: u64) -> Vec<u8> {
    match codec {
        Codec::G711U | Codec::G711A => (0..AUDIO_SAMPLES)
            .map(|n| {
                let x = 10_362.0 * (2.0 * std::f64::consts::PI * 1004.0 * n as f64 / 8000.0).sin();
                if codec == Codec::G711U {
                    g711::linear_to_ulaw(x as i16)
                } else {
                    g711::linear_to_alaw(x as i16)
                }
            })
            .collect(),
        _ => {
            let mut rng = StdRng::seed_from_u64(seed ^ 0xa0d1_0000);
            (0..payload_len * 50).map(|_| rng.random()).collect()
        }
    }
}

/// Each call's (start, end) in ns. Fixed: every call for the whole run. Poisson: M/M/∞ in
/// its steady state (see [`Arrivals::Poisson`]).
pub fn schedule(plan: &CallPlan, rng: &mut StdRng) -> Vec<(u64, u64)> {
    let end = plan.start_ns.saturating_add(plan.duration_ns);
    match plan.arrivals {
        Arrivals::Fixed => vec![(plan.start_ns, end); plan.calls as usize],
        Arrivals::Poisson { mean_hold_ns } => {
            let hold = mean_hold_ns.max(1) as f64;
            let erlangs = plan.calls as f64;
            // Arrival rate λ = E / hold; interarrival gaps exponential with mean hold / E.
            let gap = hold / erlangs;
            let mut exp = |mean: f64| -> f64 { -(1.0 - rng.random::<f64>()).ln() * mean };
            let warm = 10.0 * hold;
            let mut t = -warm;
            let mut calls = Vec::new();
            loop {
                t += exp(gap);
                if t >= plan.duration_ns as f64 {
                    break;
                }
                let stop = t + exp(hold);
                if stop > 0.0 {
                    let a = plan.start_ns + t.max(0.0) as u64;
                    let b = plan.start_ns.saturating_add(stop as u64).min(end);
                    if b > a {
                        calls.push((a, b));
                    }
                }
            }
            calls
        }
    }
}

impl Source {
    /// Builds every stream of the plan.
    pub fn new(plan: &CallPlan) -> Result<Source, PlanError> {
        let max = plan.check()?;
        let payload_len = plan.codec.payload_bytes(plan.ptime_ms) as usize;
        let period_ns = u64::from(plan.ptime_ms) * 1_000_000;
        let audio = audio(plan.codec, payload_len, plan.seed);
        let slice_sums: Vec<u64> = audio.chunks_exact(payload_len).map(|s| checksum::sum(0, s)).collect();
        let payload_type = PayloadType::try_new(plan.codec.payload_type()).expect("catalog payload types fit 7 bits");
        let mut rng = StdRng::seed_from_u64(plan.seed);
        let customer_mac = MacAddr([0x02, 0x00, 0x00, 0x00, 0x00, 0x01]);
        let provider_mac = MacAddr([0x02, 0x00, 0x00, 0x00, 0x00, 0x02]);
        let legs: &[u8] = match plan.directions {
            Directions::ToProvider => &[0],
            Directions::ToCustomer => &[1],
            Directions::Both => &[0, 1],
        };
        let end_ns = plan.start_ns.saturating_add(plan.duration_ns);
        let windows = schedule(plan, &mut rng);
        if plan.directions == Directions::ToCustomer {
            // The same calls, the other leg's own random choices.
            rng = StdRng::seed_from_u64(plan.seed ^ 0x70c5_7e11_d1e3_a0b5);
        }
        if windows.len() as u64 > max {
            return Err(PlanError::TooManyCalls { calls: windows.len() as u64, max });
        }
        let mut streams = Vec::with_capacity(windows.len() * legs.len());
        for (i, &(call_start, call_end)) in windows.iter().enumerate() {
            let i = i as u64;
            let (c_ip, c_port, p_ip, p_port) = plan.addresses.call(i);
            for &dir in legs {
                let (src, dst, src_mac, dst_mac) = if dir == 0 {
                    ((c_ip, c_port), (p_ip, p_port), customer_mac, provider_mac)
                } else {
                    ((p_ip, p_port), (c_ip, c_port), provider_mac, customer_mac)
                };
                let template = UdpFrameTemplate {
                    src_mac,
                    dst_mac,
                    vlans: plan.vlan.into_iter().collect(),
                    src_ip: src.0,
                    dst_ip: dst.0,
                    src_port: src.1,
                    dst_port: dst.1,
                    dscp: 46,
                    ttl: 64,
                };
                // RFC 3550 §5.1: initial sequence number and timestamp random, SSRC random.
                let ssrc: u32 = rng.random();
                let seq0: u16 = rng.random();
                let ts0: u32 = rng.random();
                // A call that starts mid-run sends its first packet when it starts.
                let (phase_ns, start_round) = if call_start > plan.start_ns {
                    let since = call_start - plan.start_ns;
                    (since % period_ns, since / period_ns)
                } else {
                    match plan.phase {
                        Phase::Random => (rng.random_range(0..period_ns), 0),
                        Phase::Sync => (0, 0),
                    }
                };
                let id = streams.len() as u32;
                let mut stream = Self::stream(
                    &template,
                    payload_type,
                    payload_len,
                    ssrc,
                    seq0,
                    ts0,
                    phase_ns,
                    &mut rng,
                    slice_sums.len(),
                    src,
                    dst,
                );
                stream.id = id;
                stream.start_round = start_round;
                stream.end_ns = call_end.min(end_ns);
                if plan.silence_suppression {
                    stream.switch_round = start_round + draw_rounds(&mut stream.rng, TALKSPURT_NS, period_ns);
                }
                streams.push(stream);
            }
        }
        let total_streams = streams.len();
        // Streams of round 0 form the first calendar, sorted by phase (ties keep creation
        // order: a stable sort); the others wait, latest start first so the next pops off
        // the end.
        let (mut active, mut pending): (Vec<Stream>, Vec<Stream>) =
            streams.into_iter().partition(|s| s.start_round == 0);
        active.sort_by_key(|s| s.phase_ns);
        pending.sort_by_key(|s| std::cmp::Reverse((s.start_round, s.id)));
        Ok(Source {
            streams: active,
            pending,
            total_streams,
            last_id: 0,
            period_ns,
            start_ns: plan.start_ns,
            end_ns,
            round: 0,
            idx: 0,
            payload_type,
            silence_suppression: plan.silence_suppression,
            ts_step: plan.codec.timestamp_step(plan.ptime_ms),
            payload_len,
            audio,
            slice_sums,
        })
    }

    #[allow(clippy::too_many_arguments)]
    fn stream(
        t: &UdpFrameTemplate,
        pt: PayloadType,
        payload_len: usize,
        ssrc: u32,
        seq0: u16,
        ts0: u32,
        phase_ns: u64,
        rng: &mut StdRng,
        slices: usize,
        src: (Ipv4Addr, u16),
        dst: (Ipv4Addr, u16),
    ) -> Stream {
        let mut buf = vec![0u8; t.frame_len(12 + payload_len)];
        let rtp = RtpRepr { marker: false, payload_type: pt, sequence_number: 0, timestamp: 0, ssrc };
        t.emit_rtp(&mut buf, 0, &rtp, &vec![0; payload_len]);
        let ip_offset = 14 + 4 * t.vlans.len();
        let udp_offset = ip_offset + 20;
        let rtp_offset = udp_offset + 8;
        let header_len = rtp_offset + 12;
        let mut header = [0u8; 64];
        header[..header_len].copy_from_slice(&buf[..header_len]);
        // IPv4: everything but identification (4..6) and checksum (10..12).
        let ip = &buf[ip_offset..ip_offset + 20];
        let ip_sum = checksum::sum(checksum::sum(checksum::sum(0, &ip[..4]), &ip[6..10]), &ip[12..20]);
        // UDP: pseudo-header + ports and length + SSRC. Payload slices, the first RTP word,
        // sequence and timestamp come per packet.
        let udp_len = (8 + 12 + payload_len) as u16;
        let pseudo = checksum::pseudo_header_v4(src.0.octets(), dst.0.octets(), 17, udp_len);
        let udp_sum = checksum::sum(
            checksum::sum(pseudo, &buf[udp_offset..udp_offset + 6]),
            &buf[rtp_offset + 8..rtp_offset + 12],
        );
        Stream {
            header,
            header_len,
            ip_sum,
            udp_sum,
            rtp_offset,
            ip_offset,
            ssrc,
            seq0,
            ts0,
            phase_ns,
            id: 0,
            start_round: 0,
            end_ns: u64::MAX,
            ident0: rng.random(),
            slice0: rng.random_range(0..slices),
            sent: 0,
            talking: true,
            switch_round: u64::MAX,
            rng: rng.random::<u64>() | 1,
            src,
            dst,
        }
    }

    /// Starts the next round: calls that ended leave the calendar, calls that start join it
    /// at their phase. `None` once the run is over.
    fn next_round(&mut self) -> Option<()> {
        self.idx = 0;
        self.round += 1;
        let round_start = self.start_ns + self.round * self.period_ns;
        if round_start >= self.end_ns {
            return None;
        }
        self.streams.retain(|s| s.end_ns > round_start);
        while self.pending.last().is_some_and(|s| s.start_round <= self.round) {
            let s = self.pending.pop().expect("checked");
            let at = self.streams.partition_point(|o| (o.phase_ns, o.id) < (s.phase_ns, s.id));
            self.streams.insert(at, s);
        }
        Some(())
    }

    /// The creation number ([`Stream::id`]) of the stream that wrote the last frame:
    /// 0..[`total_streams`](Self::total_streams), stable while calls come and go.
    pub fn last_stream(&self) -> usize {
        self.last_id as usize
    }

    /// Streams over the whole run (two per call with both directions).
    pub fn total_streams(&self) -> usize {
        self.total_streams
    }

    /// The payload type every stream sends.
    pub fn payload_type(&self) -> u8 {
        self.payload_type.value()
    }

    /// The packet time, ms.
    pub fn ptime_ms(&self) -> u32 {
        (self.period_ns / 1_000_000) as u32
    }

    /// The streams sending now, in calendar (phase) order.
    pub fn streams(&self) -> &[Stream] {
        &self.streams
    }

    /// Bytes of the largest frame written (no FCS).
    pub fn frame_len(&self) -> usize {
        self.streams[0].header_len + self.payload_len
    }

    /// Writes the next frame into `buf` and returns its send time (ns) and length, or `None`
    /// when the duration is over.
    ///
    /// # Panics
    /// If `buf` is shorter than [`frame_len`](Self::frame_len).
    #[inline]
    pub fn next_into(&mut self, buf: &mut [u8]) -> Option<(u64, usize)> {
        let (t, marker) = loop {
            if self.idx == self.streams.len() {
                self.next_round()?;
                continue;
            }
            let round = self.round;
            let period_ns = self.period_ns;
            let s = &mut self.streams[self.idx];
            let t = self.start_ns + round * period_ns + s.phase_ns;
            if t >= self.end_ns {
                return None;
            }
            self.idx += 1;
            if t >= s.end_ns {
                continue;
            }
            if !self.silence_suppression {
                break (t, s.sent == 0);
            }
            let mut spurt_start = s.sent == 0;
            while round >= s.switch_round {
                s.talking = !s.talking;
                spurt_start |= s.talking;
                let mean = if s.talking { TALKSPURT_NS } else { PAUSE_NS };
                s.switch_round += draw_rounds(&mut s.rng, mean, period_ns);
            }
            if s.talking {
                break (t, spurt_start);
            }
        };
        let s = &mut self.streams[self.idx - 1];
        let k = self.round - s.start_round;
        let n = s.sent;
        s.sent += 1;
        self.last_id = s.id;
        let s = &self.streams[self.idx - 1];
        let hl = s.header_len;
        let len = hl + self.payload_len;
        let frame = &mut buf[..len];
        frame[..hl].copy_from_slice(&s.header[..hl]);
        let slice = (s.slice0 + k as usize) % self.slice_sums.len();
        frame[hl..].copy_from_slice(&self.audio[slice * self.payload_len..(slice + 1) * self.payload_len]);

        let seq = s.seq0.wrapping_add(n as u16);
        let ts = s.ts0.wrapping_add((k as u32).wrapping_mul(self.ts_step));
        let first = u16::from_be_bytes([0x80, (u8::from(marker) << 7) | self.payload_type.value()]);
        let r = s.rtp_offset;
        frame[r..r + 2].copy_from_slice(&first.to_be_bytes());
        frame[r + 2..r + 4].copy_from_slice(&seq.to_be_bytes());
        frame[r + 4..r + 8].copy_from_slice(&ts.to_be_bytes());
        let ident = s.ident0.wrapping_add(n as u16);
        let ip = s.ip_offset;
        frame[ip + 4..ip + 6].copy_from_slice(&ident.to_be_bytes());
        let ip_csum = !checksum::fold(s.ip_sum + u64::from(ident));
        frame[ip + 10..ip + 12].copy_from_slice(&ip_csum.to_be_bytes());
        let udp_sum = s.udp_sum
            + u64::from(first)
            + u64::from(seq)
            + u64::from(ts >> 16)
            + u64::from(ts & 0xffff)
            + self.slice_sums[slice];
        let udp_csum = match !checksum::fold(udp_sum) {
            0 => 0xffff, // RFC 768: a computed 0 is sent as all ones
            c => c,
        };
        frame[r - 2..r].copy_from_slice(&udp_csum.to_be_bytes());
        Some((t, len))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use xconnect_frame::{parse_ethernet, RtpPacket, Transport};

    fn plan(calls: u64) -> CallPlan {
        CallPlan::g711(calls, 1_000_000_000, 1_000_000_000)
    }

    #[test]
    fn poisson_arrivals_carry_the_offered_erlangs_on_average() {
        // 100 Erlangs, 60 s holding time, one hour: the time-average number of calls up is 100
        // within a few standard errors (about sqrt(2 E hold / T) = 1.8 calls here).
        let mut p = plan(100);
        p.duration_ns = 3_600_000_000_000;
        p.arrivals = Arrivals::Poisson { mean_hold_ns: 60_000_000_000 };
        let mut rng = StdRng::seed_from_u64(5);
        let w = schedule(&p, &mut rng);
        let busy: f64 = w.iter().map(|(a, b)| (b - a) as f64).sum::<f64>() / p.duration_ns as f64;
        assert!((busy - 100.0).abs() < 6.0, "mean concurrency {busy}");
        // Calls up at the start (the steady state), and about λT = 6000 arrivals after it.
        let at_start = w.iter().filter(|(a, _)| *a == p.start_ns).count();
        assert!((70..130).contains(&at_start), "{at_start}");
        assert!((5500..6500).contains(&(w.len() - at_start)), "{}", w.len());
    }

    #[test]
    fn calls_that_come_and_go_send_from_start_to_end() {
        let mut p = plan(20);
        p.directions = Directions::ToProvider;
        p.duration_ns = 30_000_000_000;
        p.arrivals = Arrivals::Poisson { mean_hold_ns: 5_000_000_000 };
        let mut src = Source::new(&p).unwrap();
        let mut buf = [0u8; 1600];
        let mut per_stream: std::collections::HashMap<u32, (u64, u64, u16, u64)> = Default::default();
        let mut last_t = 0;
        while let Some((t, len)) = src.next_into(&mut buf) {
            assert!(t >= last_t);
            last_t = t;
            let f = &buf[..len];
            let pkt = parse_ethernet(f).unwrap();
            assert_eq!(pkt.udp_checksum_ok(f), Some(true));
            let rtp = RtpPacket::new_checked(pkt.payload(f)).unwrap();
            let e = per_stream.entry(rtp.ssrc()).or_insert((t, t, rtp.sequence_number().wrapping_sub(1), 0));
            assert_eq!(rtp.sequence_number(), e.2.wrapping_add(1), "consecutive sequence numbers");
            assert_eq!(rtp.marker(), e.3 == 0, "marker on each call's first packet only");
            assert!(t == e.1 || t == e.1 + 20_000_000, "one packet per 20 ms while up");
            *e = (e.0, t, rtp.sequence_number(), e.3 + 1);
        }
        assert_eq!(per_stream.len(), src.total_streams());
        assert!(src.total_streams() > 40, "calls came and went: {}", src.total_streams());
    }

    #[test]
    fn silence_suppression_sends_talkspurts_with_markers() {
        let mut p = plan(50);
        p.silence_suppression = true;
        p.duration_ns = 60_000_000_000;
        let mut src = Source::new(&p).unwrap();
        let mut buf = [0u8; 1600];
        let (mut sent, mut markers) = (0u64, 0u64);
        let mut last: std::collections::HashMap<u32, (u16, u32)> = Default::default();
        while let Some((_, len)) = src.next_into(&mut buf) {
            let f = &buf[..len];
            let pkt = parse_ethernet(f).unwrap();
            assert_eq!(pkt.udp_checksum_ok(f), Some(true));
            let rtp = RtpPacket::new_checked(pkt.payload(f)).unwrap();
            sent += 1;
            if rtp.marker() {
                markers += 1;
            }
            // Sequence numbers count packets; timestamps keep counting through silence.
            if let Some((seq, ts)) = last.insert(rtp.ssrc(), (rtp.sequence_number(), rtp.timestamp())) {
                assert_eq!(rtp.sequence_number(), seq.wrapping_add(1));
                let gap = rtp.timestamp().wrapping_sub(ts);
                assert!(gap % 160 == 0 && gap >= 160);
                assert_eq!(rtp.marker(), gap > 160, "marker exactly after a silence");
            }
        }
        // 100 streams × 3000 rounds; P.59's activity factor is 1.004 / (1.004 + 1.587) = 38.7 %.
        let activity = sent as f64 / 300_000.0;
        assert!((activity - 0.387).abs() < 0.03, "activity {activity}");
        // About one talkspurt per 2.59 s per stream: 100 × 60 / 2.59 = 2316.
        assert!((1900..2800).contains(&markers), "{markers} talkspurts");
    }

    #[test]
    fn frames_are_valid_in_order_and_complete() {
        let mut src = Source::new(&plan(50)).unwrap();
        let mut buf = [0u8; 1600];
        let mut last = 0;
        let mut n = 0;
        while let Some((t, len)) = src.next_into(&mut buf) {
            assert!(t >= last, "timestamps in order");
            last = t;
            let f = &buf[..len];
            assert_eq!(len, 214);
            let p = parse_ethernet(f).unwrap();
            assert_eq!(p.ipv4_checksum_ok(f), Some(true));
            assert_eq!(p.udp_checksum_ok(f), Some(true), "frame {n}");
            assert!(matches!(p.transport, Transport::Udp { .. }));
            let rtp = RtpPacket::new_checked(p.payload(f)).unwrap();
            assert_eq!(rtp.payload_type(), PayloadType::PCMU);
            n += 1;
        }
        // 50 calls × 2 directions × 50 packets per second × 1 s.
        assert_eq!(n, 5000);
    }

    #[test]
    fn sync_phase_sends_every_stream_at_once() {
        let mut p = plan(10);
        p.phase = Phase::Sync;
        let mut src = Source::new(&p).unwrap();
        let mut buf = [0u8; 1600];
        let times: Vec<u64> = (0..20).map(|_| src.next_into(&mut buf).unwrap().0).collect();
        assert!(times.iter().all(|t| *t == 1_000_000_000));
        assert_eq!(src.next_into(&mut buf).unwrap().0, 1_020_000_000);
    }

    #[test]
    fn too_many_calls_and_bad_ptime() {
        let mut p = plan(1);
        p.addresses.customer = (Ipv4Addr::new(203, 0, 113, 0), 30); // 2 hosts
        p.addresses.port_hi = 10_002; // 2 even ports
        p.calls = 5;
        assert_eq!(Source::new(&p).unwrap_err(), PlanError::TooManyCalls { calls: 5, max: 4 });
        let mut p = plan(1);
        p.ptime_ms = 25;
        assert!(matches!(Source::new(&p), Err(PlanError::Codec(_))));
    }

    #[test]
    fn unique_five_tuples() {
        let p = plan(1000);
        let mut seen = std::collections::HashSet::new();
        for i in 0..1000 {
            assert!(seen.insert(p.addresses.call(i)));
        }
    }
}
