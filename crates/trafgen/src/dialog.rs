//! Calls as a real cross-connect carries them: each call a SIP dialog (RFC 3261) with an SDP
//! offer and answer (RFC 3264), RTP both ways with the options of a real endpoint, RTCP
//! sender and receiver reports (RFC 3550 §6), and on a share of the calls RFC 4733 DTMF or a
//! re-INVITE to T.38 fax. For test captures and for `fit` round trips; the plain
//! [`Source`](crate::Source) stays the fast path for load.
//!
//! One call's timeline, from its media window (a, b) of [`schedule`]:
//! - a − 520 ms INVITE (customer → provider, SDP offer); − 518 ms 100 Trying; − 510 ms 180
//!   Ringing; − 10 ms 200 OK (SDP answer); − 8 ms ACK;
//! - from a, RTP each way every packet time; with silence suppression each leg alternates
//!   talkspurts and pauses (ITU-T P.59 means), the first packet of a talkspurt carries the
//!   marker, and with comfort noise a pause starts with one CN packet (RFC 3389, PT 13);
//! - DTMF (customer → provider, 1 s into the call): one digit as RFC 4733 events on payload
//!   type 101, five packets with the event's start timestamp and a growing duration, the
//!   marker on the first, the end bit on the last, which is sent three times (same sequence
//!   number); the audio packets of those rounds are not sent;
//! - T.38 (half-way through): the customer re-INVITEs with `m=image … udptl t38` on the same
//!   ports; RTP and RTCP stop at the re-INVITE; after the 200 OK and ACK both sides send
//!   UDPTL packets every packet time;
//! - RTCP from each leg's port + 1: an SR (with a report block on the other leg once it has
//!   sent, LSR/DLSR from the other leg's last SR) and an SDES CNAME, every 5 s randomized to
//!   [2.5, 7.5] s, the first after half that (RFC 3550 §6.2, §6.3);
//! - b: BYE from the customer, 200 OK 2 ms later.
//!
//! Frames come out in time order from a heap over every call's tracks (SIP, each leg's RTP,
//! RTCP and UDPTL); headers are precomputed per track and messages written into reused
//! buffers.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::fmt::Write as _;
use std::net::Ipv4Addr;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use xconnect_frame::compose::UdpFrameTemplate;
use xconnect_frame::MacAddr;

use crate::codec::Codec;
use crate::source::{
    draw_rounds, schedule, xorshift_unit, Arrivals, CallPlan, Phase, PlanError, PAUSE_NS, TALKSPURT_NS,
};

/// The RFC 4733 payload type offered.
pub const PT_EVENT: u8 = 101;
/// Comfort noise (RFC 3389).
pub const PT_CN: u8 = 13;
/// SIP's port.
const SIP_PORT: u16 = 5060;
/// Seconds from 1900 (NTP) to 1970 (Unix).
const NTP_UNIX_OFFSET: u64 = 2_208_988_800;
/// RTCP's nominal interval (RFC 3550 §6.2 minimum), ns.
const RTCP_NS: f64 = 5e9;
/// Rounds an RFC 4733 event lasts, then the repeats of its end packet.
const DTMF_ROUNDS: u64 = 5;
const DTMF_END_REPEATS: u64 = 2;
/// The largest frame: SIP messages with SDP stay well under this.
pub const MAX_FRAME: usize = 2048;

/// What a dialog source adds to a [`CallPlan`].
#[derive(Debug, Clone, PartialEq)]
pub struct DialogPlan {
    /// Calls, codec, packet time, addresses, arrivals, silence suppression.
    pub calls: CallPlan,
    /// With silence suppression: a pause starts with a comfort-noise packet.
    pub comfort_noise: bool,
    /// Share of calls (0–1) that send a DTMF digit.
    pub dtmf_share: f64,
    /// Share of calls (0–1) that switch to T.38 fax.
    pub t38_share: f64,
}

/// A track of a call: what its next frame is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Track {
    Sip,
    Rtp(u8),
    Rtcp(u8),
    Udptl(u8),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Msg {
    Invite,
    Trying,
    Ringing,
    Ok(u32, &'static str),
    Ack(u32),
    ReInvite,
    Bye(u32),
}

/// One direction of a call.
#[derive(Debug)]
struct Leg {
    rtp: UdpFrameTemplate,
    rtcp: UdpFrameTemplate,
    ssrc: u32,
    seq: u16,
    ts0: u32,
    sent: u64,
    octets: u64,
    /// Next round (packet time index from the media start).
    k: u64,
    talking: bool,
    switch_round: u64,
    cn_due: bool,
    rng: u64,
    /// DTMF: the first round of the event.
    dtmf_round: Option<u64>,
    next_rtcp: u64,
    /// The last SR this leg sent: (middle 32 bits of its NTP time, when).
    last_sr: Option<(u32, u64)>,
    udptl_seq: u16,
    next_udptl: u64,
}

#[derive(Debug)]
struct Call {
    index: u64,
    sip: [UdpFrameTemplate; 2],
    customer: (Ipv4Addr, u16),
    provider: (Ipv4Addr, u16),
    media_start: u64,
    /// RTP and RTCP stop here (the end, or the re-INVITE).
    media_stop: u64,
    end: u64,
    phase_ns: u64,
    script: Vec<(u64, Msg)>,
    next_msg: usize,
    t38_from: Option<u64>,
    legs: [Leg; 2],
}

/// The generator. See the module documentation.
#[derive(Debug)]
pub struct DialogSource {
    calls: Vec<Call>,
    heap: BinaryHeap<Reverse<(u64, u32, Track)>>,
    codec: Codec,
    payload_type: u8,
    ptime_ms: u32,
    period_ns: u64,
    ts_step: u32,
    payload: Vec<u8>,
    silence_suppression: bool,
    comfort_noise: bool,
    text: String,
    sdp: String,
}

/// The SDP name and clock of a codec.
fn rtpmap(codec: Codec) -> &'static str {
    match codec {
        Codec::G711U => "PCMU/8000",
        Codec::G711A => "PCMA/8000",
        Codec::G729 => "G729/8000",
        Codec::G722 => "G722/8000",
        Codec::Opus => "opus/48000/2",
    }
}

impl DialogSource {
    /// Builds every call of the plan.
    pub fn new(plan: &DialogPlan) -> Result<Self, PlanError> {
        let p = &plan.calls;
        let max = p.check()?;
        let mut rng = StdRng::seed_from_u64(p.seed);
        let windows = schedule(p, &mut rng);
        if windows.len() as u64 > max {
            return Err(PlanError::TooManyCalls { calls: windows.len() as u64, max });
        }
        let period_ns = u64::from(p.ptime_ms) * 1_000_000;
        let customer_mac = MacAddr([0x02, 0, 0, 0, 0, 0x01]);
        let provider_mac = MacAddr([0x02, 0, 0, 0, 0, 0x02]);
        let template = |src: (Ipv4Addr, u16), dst: (Ipv4Addr, u16), from_customer: bool, dscp: u8| {
            let (src_mac, dst_mac) =
                if from_customer { (customer_mac, provider_mac) } else { (provider_mac, customer_mac) };
            UdpFrameTemplate {
                src_mac,
                dst_mac,
                vlans: p.vlan.into_iter().collect(),
                src_ip: src.0,
                dst_ip: dst.0,
                src_port: src.1,
                dst_port: dst.1,
                dscp,
                ttl: 64,
            }
        };
        let mut calls = Vec::with_capacity(windows.len());
        let mut heap = BinaryHeap::new();
        for (i, &(a, b)) in windows.iter().enumerate() {
            let (c_ip, c_port, p_ip, p_port) = p.addresses.call(i as u64);
            let customer = (c_ip, c_port);
            let provider = (p_ip, p_port);
            let phase_ns = match p.phase {
                Phase::Random => rng.random_range(0..period_ns),
                Phase::Sync => 0,
            };
            let long = b.saturating_sub(a) >= 2_000_000_000;
            let dtmf = long && rng.random::<f64>() < plan.dtmf_share;
            let t38 = long && rng.random::<f64>() < plan.t38_share;
            // With Poisson arrivals, a call up when the run starts was set up before it (in the
            // process's steady state): its dialog began before the capture, which shows its
            // media and its end only. Fixed calls all start with the run, set up just before.
            let before_run = matches!(p.arrivals, Arrivals::Poisson { .. }) && a == p.start_ns;
            let mut script = if before_run {
                Vec::new()
            } else {
                vec![
                    (a.saturating_sub(520_000_000), Msg::Invite),
                    (a.saturating_sub(518_000_000), Msg::Trying),
                    (a.saturating_sub(510_000_000), Msg::Ringing),
                    (a.saturating_sub(10_000_000), Msg::Ok(1, "INVITE")),
                    (a.saturating_sub(8_000_000), Msg::Ack(1)),
                ]
            };
            let mut media_stop = b;
            let mut t38_from = None;
            let mut bye_cseq = 2;
            if t38 {
                let at = a + (b - a) / 2;
                media_stop = at;
                script.push((at, Msg::ReInvite));
                script.push((at + 40_000_000, Msg::Ok(2, "INVITE")));
                script.push((at + 42_000_000, Msg::Ack(2)));
                t38_from = Some(at + 60_000_000);
                bye_cseq = 3;
            }
            // Likewise a call still up when the run ends goes on after it: no BYE in the capture.
            let after_run =
                matches!(p.arrivals, Arrivals::Poisson { .. }) && b >= p.start_ns.saturating_add(p.duration_ns);
            if !after_run {
                script.push((b, Msg::Bye(bye_cseq)));
                script.push((b + 2_000_000, Msg::Ok(bye_cseq, "BYE")));
            }
            let mut leg = |dir: u8| {
                let (src, dst) = if dir == 0 { (customer, provider) } else { (provider, customer) };
                let plus1 = |e: (Ipv4Addr, u16)| (e.0, e.1 + 1);
                let first_rtcp = (RTCP_NS / 2.0 * rng.random_range(0.5..1.5)) as u64;
                let mut l = Leg {
                    rtp: template(src, dst, dir == 0, 46),
                    rtcp: template(plus1(src), plus1(dst), dir == 0, 46),
                    ssrc: rng.random(),
                    seq: rng.random(),
                    ts0: rng.random(),
                    sent: 0,
                    octets: 0,
                    k: 0,
                    talking: true,
                    switch_round: u64::MAX,
                    cn_due: false,
                    rng: rng.random::<u64>() | 1,
                    dtmf_round: (dtmf && dir == 0).then_some(1_000_000_000 / period_ns),
                    next_rtcp: a + first_rtcp,
                    last_sr: None,
                    udptl_seq: 0,
                    next_udptl: t38_from.map_or(u64::MAX, |t| t + phase_ns),
                };
                if p.silence_suppression {
                    l.switch_round = draw_rounds(&mut l.rng, TALKSPURT_NS, period_ns);
                }
                l
            };
            let legs = [leg(0), leg(1)];
            let sip = [
                template((c_ip, SIP_PORT), (p_ip, SIP_PORT), true, 26),
                template((p_ip, SIP_PORT), (c_ip, SIP_PORT), false, 26),
            ];
            let idx = calls.len() as u32;
            if let Some(&(first, _)) = script.first() {
                heap.push(Reverse((first, idx, Track::Sip)));
            }
            for dir in 0..2u8 {
                if a + phase_ns < media_stop {
                    heap.push(Reverse((a + phase_ns, idx, Track::Rtp(dir))));
                }
                if legs[usize::from(dir)].next_rtcp < media_stop {
                    heap.push(Reverse((legs[usize::from(dir)].next_rtcp, idx, Track::Rtcp(dir))));
                }
                if legs[usize::from(dir)].next_udptl < b {
                    heap.push(Reverse((legs[usize::from(dir)].next_udptl, idx, Track::Udptl(dir))));
                }
            }
            calls.push(Call {
                // The mix-wide call number (a mix's plans take lanes of it): Call-IDs stay unique.
                index: p.addresses.lane.0 + i as u64 * p.addresses.lane.1.max(1),
                sip,
                customer,
                provider,
                media_start: a,
                media_stop,
                end: b,
                phase_ns,
                script,
                next_msg: 0,
                t38_from,
                legs,
            });
        }
        let payload_len = p.codec.payload_bytes(p.ptime_ms) as usize;
        Ok(DialogSource {
            calls,
            heap,
            codec: p.codec,
            payload_type: p.codec.payload_type(),
            ptime_ms: p.ptime_ms,
            period_ns,
            ts_step: p.codec.timestamp_step(p.ptime_ms),
            payload: (0..payload_len)
                .map(|i| if p.codec == Codec::G711A { 0xd5 } else { 0xff ^ (i as u8 & 1) })
                .collect(),
            silence_suppression: p.silence_suppression,
            comfort_noise: plan.comfort_noise,
            text: String::with_capacity(2048),
            sdp: String::with_capacity(512),
        })
    }

    /// Calls in the run.
    pub fn calls(&self) -> usize {
        self.calls.len()
    }

    /// Writes the next frame into `buf` (at least [`MAX_FRAME`] bytes) and returns its time
    /// and length, or `None` at the end.
    pub fn next_into(&mut self, buf: &mut [u8]) -> Option<(u64, usize)> {
        loop {
            let Reverse((t, idx, track)) = self.heap.pop()?;
            let (len, next) = match track {
                Track::Sip => self.sip(idx, buf),
                Track::Rtp(dir) => self.rtp(idx, dir, buf),
                Track::Rtcp(dir) => self.rtcp(idx, dir, t, buf),
                Track::Udptl(dir) => self.udptl(idx, dir, t, buf),
            };
            if let Some(n) = next {
                self.heap.push(Reverse((n, idx, track)));
            }
            if len > 0 {
                return Some((t, len));
            }
        }
    }

    fn round_time(&self, c: &Call, k: u64) -> u64 {
        c.media_start + c.phase_ns + k * self.period_ns
    }

    fn rtp(&mut self, idx: u32, dir: u8, buf: &mut [u8]) -> (usize, Option<u64>) {
        let period = self.period_ns;
        let step = self.ts_step;
        let c = &mut self.calls[idx as usize];
        let stop = c.media_stop;
        let l = &mut c.legs[usize::from(dir)];
        let k = l.k;
        l.k += 1;
        // What this round sends.
        let mut marker = l.sent == 0;
        let (pt, ts, body): (u8, u32, [u8; 4]) = match l.dtmf_round {
            Some(d) if (d..d + DTMF_ROUNDS + DTMF_END_REPEATS).contains(&k) => {
                let n = (k - d).min(DTMF_ROUNDS - 1);
                let end = n == DTMF_ROUNDS - 1;
                let duration = (n as u32 + 1) * step;
                marker = k == d;
                // Digit 5, volume 10 dBm0; the repeats of the end packet keep its sequence number.
                if k > d + n {
                    l.seq = l.seq.wrapping_sub(1);
                }
                let flags = if end { 0x80 | 10 } else { 10 };
                let d16 = duration.min(0xffff) as u16;
                (PT_EVENT, l.ts0.wrapping_add(d as u32 * step), [5, flags, (d16 >> 8) as u8, d16 as u8])
            }
            _ => {
                let mut spurt = false;
                if self.silence_suppression {
                    while k >= l.switch_round {
                        l.talking = !l.talking;
                        spurt |= l.talking;
                        l.cn_due |= !l.talking;
                        let mean = if l.talking { TALKSPURT_NS } else { PAUSE_NS };
                        l.switch_round += draw_rounds(&mut l.rng, mean, period);
                    }
                }
                if !l.talking {
                    if self.comfort_noise && l.cn_due {
                        l.cn_due = false;
                        // RFC 3389: noise level −60 dBov.
                        (PT_CN, l.ts0.wrapping_add(k as u32 * step), [60, 0, 0, 0])
                    } else {
                        // Silent: the next packet is at the next talkspurt (or the next DTMF).
                        let mut next_k = l.switch_round.max(k + 1);
                        if let Some(d) = l.dtmf_round.filter(|&d| d > k) {
                            next_k = next_k.min(d);
                        }
                        l.k = next_k;
                        let next = c.media_start + c.phase_ns + next_k * period;
                        return (0, (next < stop).then_some(next));
                    }
                } else {
                    marker |= spurt;
                    (self.payload_type, l.ts0.wrapping_add(k as u32 * step), [0; 4])
                }
            }
        };
        let payload: &[u8] = match pt {
            PT_EVENT => &body,
            PT_CN => &body[..1],
            _ => &self.payload,
        };
        let seq = l.seq;
        l.seq = l.seq.wrapping_add(1);
        l.sent += 1;
        l.octets += payload.len() as u64;
        let ssrc = l.ssrc;
        let len = l.rtp.emit(buf, 12 + payload.len(), |b| {
            b[0] = 0x80;
            b[1] = u8::from(marker) << 7 | pt;
            b[2..4].copy_from_slice(&seq.to_be_bytes());
            b[4..8].copy_from_slice(&ts.to_be_bytes());
            b[8..12].copy_from_slice(&ssrc.to_be_bytes());
            b[12..].copy_from_slice(payload);
        });
        let next = self.round_time(&self.calls[idx as usize], k + 1);
        (len, (next < stop).then_some(next))
    }

    fn rtcp(&mut self, idx: u32, dir: u8, t: u64, buf: &mut [u8]) -> (usize, Option<u64>) {
        let c = &mut self.calls[idx as usize];
        let clock = u64::from(self.codec.clock_rate());
        let (me, other) = if dir == 0 {
            let (a, b) = c.legs.split_at_mut(1);
            (&mut a[0], &b[0])
        } else {
            let (a, b) = c.legs.split_at_mut(1);
            (&mut b[0], &a[0])
        };
        let secs = t / 1_000_000_000 + NTP_UNIX_OFFSET;
        let frac = ((t % 1_000_000_000) << 32) / 1_000_000_000;
        let ntp = secs << 32 | frac;
        let elapsed = t.saturating_sub(c.media_start);
        let rtp_ts = me.ts0.wrapping_add((elapsed as u128 * u128::from(clock) / 1_000_000_000) as u32);
        let mut pkt = [0u8; 128];
        let mut n = 0;
        let rc = u8::from(other.sent > 0);
        // An SR (header, sender info) from a leg that has sent, else an RR (header and SSRC),
        // with a block on the other leg once it has sent (RFC 3550 §6.4).
        let sender = me.sent > 0;
        let head = if sender { 28 } else { 8 };
        let len = head + 24 * usize::from(rc);
        pkt[0] = 0x80 | rc;
        pkt[1] = if sender { 200 } else { 201 };
        pkt[2..4].copy_from_slice(&((len / 4 - 1) as u16).to_be_bytes());
        pkt[4..8].copy_from_slice(&me.ssrc.to_be_bytes());
        if sender {
            pkt[8..16].copy_from_slice(&ntp.to_be_bytes());
            pkt[16..20].copy_from_slice(&rtp_ts.to_be_bytes());
            pkt[20..24].copy_from_slice(&(me.sent as u32).to_be_bytes());
            pkt[24..28].copy_from_slice(&(me.octets as u32).to_be_bytes());
        }
        n += head;
        if rc == 1 {
            let highest = u32::from(other.seq.wrapping_sub(1));
            let (lsr, dlsr) = other.last_sr.map_or((0, 0), |(mid, at)| (mid, ((t - at) << 16) / 1_000_000_000));
            let b = &mut pkt[n..n + 24];
            b[0..4].copy_from_slice(&other.ssrc.to_be_bytes());
            // No loss, no jitter: the capture is taken at the sender.
            b[8..12].copy_from_slice(&highest.to_be_bytes());
            b[16..20].copy_from_slice(&lsr.to_be_bytes());
            b[20..24].copy_from_slice(&(dlsr as u32).to_be_bytes());
            n += 24;
        }
        // SDES with a CNAME, padded to 32 bits with null octets (RFC 3550 §6.5).
        let mut cname_buf = [0u8; 48];
        let cname_len = {
            let mut w = std::io::Cursor::new(&mut cname_buf[..]);
            let _ = std::io::Write::write_fmt(&mut w, format_args!("leg{dir}@call{}", c.index));
            w.position() as usize
        };
        let cname = &cname_buf[..cname_len];
        let sdes_start = n;
        pkt[n] = 0x81;
        pkt[n + 1] = 202;
        pkt[n + 4..n + 8].copy_from_slice(&me.ssrc.to_be_bytes());
        pkt[n + 8] = 1;
        pkt[n + 9] = cname.len() as u8;
        pkt[n + 10..n + 10 + cname.len()].copy_from_slice(cname);
        n += 10 + cname.len() + 1;
        while n % 4 != 0 {
            n += 1;
        }
        let words = ((n - sdes_start) / 4 - 1) as u16;
        pkt[sdes_start + 2..sdes_start + 4].copy_from_slice(&words.to_be_bytes());
        if sender {
            me.last_sr = Some(((ntp >> 16) as u32, t));
        }
        let len = me.rtcp.emit(buf, n, |b| b.copy_from_slice(&pkt[..n]));
        let mut r = me.rng;
        let next = t + (RTCP_NS * (0.5 + xorshift_unit(&mut r))) as u64;
        me.rng = r;
        (len, (next < c.media_stop).then_some(next))
    }

    fn udptl(&mut self, idx: u32, dir: u8, t: u64, buf: &mut [u8]) -> (usize, Option<u64>) {
        let c = &mut self.calls[idx as usize];
        let l = &mut c.legs[usize::from(dir)];
        let seq = l.udptl_seq;
        l.udptl_seq = l.udptl_seq.wrapping_add(1);
        // UDPTL (T.38 §9.1): sequence number, a primary IFP of one octet (t30-indicator
        // no-signal), and an empty redundancy list.
        let body = [(seq >> 8) as u8, seq as u8, 1, 0x00, 0x00, 0x00];
        let len = l.rtp.emit(buf, body.len(), |b| b.copy_from_slice(&body));
        let next = t + self.period_ns;
        (len, (next < c.end).then_some(next))
    }

    fn sip(&mut self, idx: u32, buf: &mut [u8]) -> (usize, Option<u64>) {
        let c = &mut self.calls[idx as usize];
        let (_, msg) = c.script[c.next_msg];
        c.next_msg += 1;
        let next = c.script.get(c.next_msg).map(|m| m.0);
        let (ci, cp) = (c.customer.0, c.customer.1);
        let (pi, pp) = (c.provider.0, c.provider.1);
        let i = c.index;
        self.sdp.clear();
        let offer_answer = |sdp: &mut String, ip: Ipv4Addr, port: u16, image: bool| {
            let _ = write!(sdp, "v=0\r\no=- {i} 1 IN IP4 {ip}\r\ns=-\r\nc=IN IP4 {ip}\r\nt=0 0\r\n");
            if image {
                let _ = write!(
                    sdp,
                    "m=image {port} udptl t38\r\na=T38FaxVersion:0\r\na=T38MaxBitRate:14400\r\n\
                     a=T38FaxRateManagement:transferredTCF\r\na=T38FaxUdpEC:t38UDPRedundancy\r\n"
                );
            } else {
                let _ = write!(sdp, "m=audio {port} RTP/AVP {} {PT_EVENT}", self.payload_type);
                if self.comfort_noise {
                    let _ = write!(sdp, " {PT_CN}");
                }
                let _ = write!(
                    sdp,
                    "\r\na=rtpmap:{} {}\r\na=rtpmap:{PT_EVENT} telephone-event/8000\r\na=fmtp:{PT_EVENT} 0-15\r\n",
                    self.payload_type,
                    rtpmap(self.codec)
                );
                if self.comfort_noise {
                    let _ = write!(sdp, "a=rtpmap:{PT_CN} CN/8000\r\n");
                }
                let _ = write!(sdp, "a=ptime:{}\r\na=sendrecv\r\n", self.ptime_ms);
            }
        };
        let image = c.t38_from.is_some();
        let (from_customer, start, cseq, method, sdp_side) = match msg {
            Msg::Invite => (true, format!("INVITE sip:+1555{i:07}@{pi} SIP/2.0"), 1, "INVITE", Some(false)),
            Msg::Trying => (false, "SIP/2.0 100 Trying".to_string(), 1, "INVITE", None),
            Msg::Ringing => (false, "SIP/2.0 180 Ringing".to_string(), 1, "INVITE", None),
            Msg::Ok(n, m) => (false, "SIP/2.0 200 OK".to_string(), n, m, (m == "INVITE").then_some(n == 2 && image)),
            Msg::Ack(n) => (true, format!("ACK sip:+1555{i:07}@{pi}:{SIP_PORT} SIP/2.0"), n, "ACK", None),
            Msg::ReInvite => (true, format!("INVITE sip:+1555{i:07}@{pi}:{SIP_PORT} SIP/2.0"), 2, "INVITE", Some(true)),
            Msg::Bye(n) => (true, format!("BYE sip:+1555{i:07}@{pi}:{SIP_PORT} SIP/2.0"), n, "BYE", None),
        };
        if let Some(image) = sdp_side {
            // An offer from the customer, an answer from the provider, each with its own
            // receiving address and port.
            let (ip, port) = if from_customer { (ci, cp) } else { (pi, pp) };
            offer_answer(&mut self.sdp, ip, port, image);
        }
        let to_tag = if msg == Msg::Invite || msg == Msg::Trying { String::new() } else { format!(";tag=p{i}") };
        self.text.clear();
        let _ = write!(
            self.text,
            "{start}\r\nVia: SIP/2.0/UDP {ci}:{SIP_PORT};branch=z9hG4bK{i}x{cseq}{}\r\nMax-Forwards: 70\r\n\
             From: <sip:customer{i}@{ci}>;tag=c{i}\r\nTo: <sip:+1555{i:07}@{pi}>{to_tag}\r\n\
             Call-ID: {i}-xconnect@{ci}\r\nCSeq: {cseq} {method}\r\nContact: <sip:{}@{}:{SIP_PORT}>\r\n",
            if method == "ACK" { "a" } else { "" },
            if from_customer { "customer" } else { "provider" },
            if from_customer { ci } else { pi },
        );
        if self.sdp.is_empty() {
            let _ = write!(self.text, "Content-Length: 0\r\n\r\n");
        } else {
            let _ = write!(self.text, "Content-Type: application/sdp\r\nContent-Length: {}\r\n\r\n", self.sdp.len());
            self.text.push_str(&self.sdp);
        }
        let t = &c.sip[usize::from(!from_customer)];
        let body = self.text.as_bytes();
        let len = t.emit(buf, body.len(), |b| b.copy_from_slice(body));
        (len, next)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use xconnect_frame::{parse_ethernet, Transport};

    fn plan(calls: u64, seconds: u64, dtmf: f64, t38: f64) -> DialogPlan {
        DialogPlan {
            calls: CallPlan {
                seed: 3,
                silence_suppression: true,
                ..CallPlan::g711(calls, 1_700_000_000_000_000_000, seconds * 1_000_000_000)
            },
            comfort_noise: true,
            dtmf_share: dtmf,
            t38_share: t38,
        }
    }

    #[test]
    fn frames_in_time_order_with_every_kind() {
        let mut s = DialogSource::new(&plan(4, 12, 1.0, 0.5)).unwrap();
        let mut buf = vec![0u8; MAX_FRAME];
        let mut last = 0;
        let (mut sip, mut events, mut cn, mut rtcp, mut udptl) = (0, 0, 0, 0, 0);
        while let Some((t, len)) = s.next_into(&mut buf) {
            assert!(t >= last, "time order");
            last = t;
            let p = parse_ethernet(&buf[..len]).unwrap();
            let Transport::Udp { src_port, .. } = p.transport else { panic!() };
            let payload = p.payload(&buf[..len]);
            if src_port == SIP_PORT {
                sip += 1;
            } else if src_port % 2 == 1 {
                rtcp += 1;
                assert!(payload[1] == 200 || payload[1] == 201);
            } else if payload[0] == 0x80 && payload[1] & 0x7f == PT_EVENT {
                events += 1;
            } else if payload[0] == 0x80 && payload[1] & 0x7f == PT_CN {
                cn += 1;
            } else if payload[0] != 0x80 {
                udptl += 1;
            }
        }
        // Seven messages per call, three more with a re-INVITE.
        assert!(sip >= 28 && (sip - 28) % 3 == 0, "{sip}");
        assert_eq!(events, 4 * 7, "five events and two repeats of the end, on every call");
        assert!(cn > 0 && rtcp > 0, "{cn} {rtcp}");
        assert_eq!(udptl > 0, sip > 28);
    }
}
