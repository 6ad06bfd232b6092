//! What is in a capture: the summary behind `xconnect replay`.
//!
//! Every frame is parsed once with the lax parser (so a frame cut by the snap length still
//! counts for the layers that were captured) and tallied: per layer, per VLAN id, per flow,
//! per malformed reason, and into 1 ms and 1 s peak-rate windows. Memory is bounded: the flow
//! table holds at most [`ReplayOptions::max_flows`] flows, and frames of further flows are
//! counted in `untracked_flow_frames`.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::Path;

use rustc_hash::FxHashMap;
use serde::Serialize;
use xconnect_capture::{CaptureError, CaptureReader, Packet, PcapWriter};
use xconnect_frame::{
    parse_lax, rtcp::looks_like_rtcp, FlowKey, IpProtocol, Layer, Link, MalformedReason, Net, ParseError, RtpPacket,
    Transport,
};
use xconnect_time::Nanos;

use crate::bgp::{BgpReport, BgpTracker};
use crate::police::{Duplex, PolicerReport, Verdict};
use crate::rate::PeakWindow;
use crate::rtcp::RtcpTracker;
use crate::rtp::{Clock, RtpAnalyzer, RtpSample, StreamKey};
use crate::sip::{MediaVerdict, Origin, SipReport, SipTracker};

/// How many flows `lossy_flows` lists at the most (the total is counted apart).
pub const MAX_LOSSY_FLOWS: usize = 1000;

/// Knobs of a replay.
#[derive(Debug, Clone, Copy)]
pub struct ReplayOptions {
    /// How many flows `top_flows` lists.
    pub top_flows: usize,
    /// The most flows tracked at once (memory bound).
    pub max_flows: usize,
    /// How many malformed frames are listed one by one (all are counted).
    pub malformed_examples: usize,
    /// UDP ports (inclusive) whose packets are RTP without the heuristic's probation.
    pub rtp_port_range: Option<(u16, u16)>,
}

impl Default for ReplayOptions {
    fn default() -> Self {
        ReplayOptions { top_flows: 10, max_flows: 1_000_000, malformed_examples: 100, rtp_port_range: None }
    }
}

/// Frame counts per protocol layer. A frame counts once in every layer it carries.
#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq, Eq)]
pub struct LayerCounts {
    /// Frames with an Ethernet II header.
    pub ethernet: u64,
    /// Frames with a Linux cooked-capture header.
    pub sll: u64,
    /// Frames with at least one VLAN tag.
    pub vlan: u64,
    /// Frames carrying IPv4.
    pub ipv4: u64,
    /// Frames carrying IPv6.
    pub ipv6: u64,
    /// ARP frames.
    pub arp: u64,
    /// UDP over IPv4 or IPv6 (first fragments and unfragmented packets).
    pub udp: u64,
    /// TCP.
    pub tcp: u64,
    /// ICMP and ICMPv6.
    pub icmp: u64,
    /// UDP payloads that pass the RTP header check (version 2, lengths consistent, payload
    /// type outside RTCP's 72..=76, both ports above 1023): candidates, not proven streams.
    pub rtp: u64,
    /// Frames with neither IPv4 nor IPv6 (ARP, LLDP, unknown EtherTypes, or nothing parsed).
    pub other: u64,
}

/// A flow in the top-flows table.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct FlowRow {
    /// Source address.
    pub src: IpAddr,
    /// Source port (0 without UDP/TCP).
    pub src_port: u16,
    /// Destination address.
    pub dst: IpAddr,
    /// Destination port.
    pub dst_port: u16,
    /// "udp", "tcp", "icmp" or the protocol number.
    pub proto: String,
    /// VLAN ids, outermost first.
    pub vlans: Vec<u16>,
    /// Frames.
    pub frames: u64,
    /// Bytes on the wire (original length, no FCS).
    pub bytes: u64,
    /// Frames the policer dropped (0 without `--tier`).
    pub dropped_frames: u64,
}

/// One malformed frame, listed.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct MalformedFrame {
    /// Frame number, from 1 as Wireshark counts.
    pub frame: u64,
    /// Tally key.
    pub reason: &'static str,
    /// The parser's sentence, with the offset within the frame.
    pub message: String,
}

/// Where reading stopped early.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct StopError {
    /// Byte offset in the file.
    pub offset: u64,
    /// "truncated" (the file ends early) or "corrupt" (a record or block is invalid).
    pub kind: &'static str,
    /// What the reader said.
    pub message: String,
}

/// Checksums found wrong (only frames captured whole are checked).
#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq, Eq)]
pub struct ChecksumErrors {
    /// IPv4 header checksum wrong.
    pub ipv4: u64,
    /// UDP checksum (over IPv4) wrong; datagrams with checksum 0 are not checked.
    pub udp: u64,
}

/// The replay summary; the JSON contract of `xconnect replay --json` (see the README).
#[derive(Debug, Clone, Serialize)]
pub struct ReplayReport {
    /// The file replayed.
    pub file: String,
    /// "pcap" or "pcapng".
    pub format: &'static str,
    /// Link types of the file's interfaces.
    pub link_types: Vec<String>,
    /// Records read.
    pub frames: u64,
    /// Bytes on the wire as the capture recorded them (sum of original lengths, no FCS).
    pub bytes: u64,
    /// Bytes actually captured (sum of captured lengths).
    pub captured_bytes: u64,
    /// Whether reading stopped before the end of the file.
    pub truncated: bool,
    /// Why, when it did.
    pub error: Option<StopError>,
    /// Frames per layer.
    pub layers: LayerCounts,
    /// Frames per VLAN id (every tag of a stacked frame counts).
    pub vlans: BTreeMap<u16, u64>,
    /// Malformed frames per reason.
    pub malformed: BTreeMap<&'static str, u64>,
    /// The first malformed frames, one by one.
    pub malformed_frames: Vec<MalformedFrame>,
    /// Frames the capture cut short (snap length) before a header ended; not malformed.
    pub cut_by_snaplen: u64,
    /// Wrong checksums.
    pub checksum_errors: ChecksumErrors,
    /// Busiest flows by bytes.
    pub top_flows: Vec<FlowRow>,
    /// With a policer: the flows that lost frames to it, most dropped first (at most
    /// [`MAX_LOSSY_FLOWS`] listed; `lossy_flows_total` counts them all).
    pub lossy_flows: Vec<FlowRow>,
    /// Flows that lost frames to the policer.
    pub lossy_flows_total: u64,
    /// Distinct flows tracked.
    pub flows: u64,
    /// Frames of flows beyond the tracking limit.
    pub untracked_flow_frames: u64,
    /// Timestamp of the first frame (ns since the epoch).
    pub first_ts_ns: Option<u64>,
    /// Timestamp of the last frame.
    pub last_ts_ns: Option<u64>,
    /// Frames whose timestamp is earlier than the frame before.
    pub ts_backwards: u64,
    /// last − first, in seconds.
    pub duration_s: f64,
    /// Average rate over the span, Mbit/s.
    pub avg_mbps: f64,
    /// Busiest 1 ms window, Mbit/s.
    pub peak_mbps_1ms: f64,
    /// Busiest 1 s window, Mbit/s.
    pub peak_mbps_1s: f64,
    /// Records whose captured length exceeds the file's snap length (tolerated).
    pub over_snaplen: u64,
    /// Timestamps outside what a u64 of nanoseconds since 1970 holds (clamped).
    pub ts_out_of_range: u64,
    /// RTP streams, sorted by (src, src port, dst, dst port, SSRC).
    pub rtp_streams: Vec<crate::rtp::RtpStreamRow>,
    /// UDP packets in `--rtp-port-range` whose RTP version is not 2 (counted, not analyzed).
    pub rtp_not_v2_in_range: u64,
    /// SIP: tshark's sip,stat figures and the calls.
    pub sip: SipReport,
    /// RTCP compound packets read (their reports are in each stream's `rtcp`).
    pub rtcp_packets: u64,
    /// BGP messages in TCP streams (port 179 or marker-led payloads).
    pub bgp: BgpReport,
    /// The what-if policer, when a tier was given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub policer: Option<PolicerReport>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum AnyFlow {
    V4(V4Key),
    V6 { src: Ipv6Addr, dst: Ipv6Addr, protocol: IpProtocol, src_port: u16, dst_port: u16, vlans: [u16; 2] },
}

/// A [`FlowKey`] packed into two machine words, so that hashing and comparing it in the
/// per-frame path is a few instructions (measured: the derived `Hash`/`Eq` on `FlowKey` made
/// the flow table the largest cost of a replay).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
struct V4Key {
    /// src (32) | dst (32) | src port (16) | dst port (16) | protocol (8)
    addrs_ports: u128,
    /// outer VLAN (13 bits, 0x1fff = none) | inner VLAN (13 bits)
    vlans: u32,
}

const NO_VLAN: u32 = 0x1fff;

impl V4Key {
    fn pack(k: &FlowKey) -> Self {
        let addrs_ports = u128::from(u32::from(k.src)) << 96
            | u128::from(u32::from(k.dst)) << 64
            | u128::from(k.src_port) << 48
            | u128::from(k.dst_port) << 32
            | u128::from(u8::from(k.protocol));
        let v = |x: Option<xconnect_frame::VlanId>| x.map_or(NO_VLAN, |v| u32::from(v.value()));
        V4Key { addrs_ports, vlans: v(k.outer_vlan) | v(k.inner_vlan) << 13 }
    }

    fn unpack(self) -> FlowKey {
        let a = self.addrs_ports;
        let v = |x: u32| {
            if x == NO_VLAN {
                None
            } else {
                xconnect_frame::VlanId::try_new(x as u16)
            }
        };
        FlowKey {
            outer_vlan: v(self.vlans & NO_VLAN),
            inner_vlan: v(self.vlans >> 13 & NO_VLAN),
            src: Ipv4Addr::from((a >> 96) as u32),
            dst: Ipv4Addr::from((a >> 64) as u32),
            protocol: IpProtocol::from(a as u8),
            src_port: (a >> 48) as u16,
            dst_port: (a >> 32) as u16,
        }
    }
}

/// The running tally. Feed it packets with [`Replay::add`], then [`Replay::finish`].
#[derive(Debug)]
pub struct Replay {
    opts: ReplayOptions,
    frames: u64,
    bytes: u64,
    captured_bytes: u64,
    layers: LayerCounts,
    vlans: Box<[u64; 4096]>,
    malformed: FxHashMap<MalformedReason, u64>,
    malformed_frames: Vec<MalformedFrame>,
    cut_by_snaplen: u64,
    checksum_errors: ChecksumErrors,
    flows: FxHashMap<AnyFlow, FlowCount>,
    untracked_flow_frames: u64,
    first_ts: Option<u64>,
    last_ts: Option<u64>,
    ts_backwards: u64,
    peak_1ms: PeakWindow,
    peak_1s: PeakWindow,
    police: Option<Duplex>,
    rtp: RtpAnalyzer,
    bgp: BgpTracker,
    sip: SipTracker,
    rtcp: RtcpTracker,
}

#[derive(Debug, Clone, Copy, Default)]
struct FlowCount {
    frames: u64,
    bytes: u64,
    dropped: u64,
    /// The slot of this flow's (latest) RTP stream in the analyzer.
    rtp_slot: u32,
    /// The SDP media verdict for this flow, valid while the media table's generation is
    /// `media_generation` (a flow's packets then cost no media lookup).
    media: Option<MediaVerdict>,
    media_generation: u32,
}

impl Replay {
    /// An empty tally; with a police stage, every frame also goes through the tier's policer.
    pub fn new(opts: ReplayOptions, police: Option<Duplex>) -> Self {
        Replay {
            opts,
            frames: 0,
            bytes: 0,
            captured_bytes: 0,
            layers: LayerCounts::default(),
            vlans: Box::new([0; 4096]),
            malformed: FxHashMap::default(),
            malformed_frames: Vec::new(),
            cut_by_snaplen: 0,
            checksum_errors: ChecksumErrors::default(),
            flows: FxHashMap::default(),
            untracked_flow_frames: 0,
            first_ts: None,
            last_ts: None,
            ts_backwards: 0,
            peak_1ms: PeakWindow::new(1_000_000),
            peak_1s: PeakWindow::new(1_000_000_000),
            police,
            rtp: RtpAnalyzer::new(opts.rtp_port_range),
            bgp: BgpTracker::default(),
            sip: SipTracker::default(),
            rtcp: RtcpTracker::default(),
        }
    }

    /// Tallies one packet; returns the policer's verdict when there is a policer.
    pub fn add(&mut self, pkt: &Packet<'_>) -> Option<Verdict> {
        self.frames += 1;
        let wire = u64::from(pkt.orig_len.max(pkt.data.len() as u32));
        self.bytes += wire;
        self.captured_bytes += pkt.data.len() as u64;
        match self.last_ts {
            None => self.first_ts = Some(pkt.ts_ns),
            Some(prev) if pkt.ts_ns < prev => self.ts_backwards += 1,
            Some(_) => {}
        }
        self.last_ts = Some(pkt.ts_ns);
        self.peak_1ms.add(pkt.ts_ns, wire);
        self.peak_1s.add(pkt.ts_ns, wire);

        let snapped = (pkt.data.len() as u64) < wire;
        let lax = parse_lax(pkt.link_type, pkt.data);
        let p = &lax.parsed;
        let l = &mut self.layers;
        match p.link {
            Link::Ethernet => l.ethernet += 1,
            Link::LinuxSll => l.sll += 1,
            _ => {}
        }
        if !p.vlans.is_empty() {
            l.vlan += 1;
            for t in p.vlans.as_slice() {
                self.vlans[usize::from(t.vid.value())] += 1;
            }
        }
        let key = match p.net {
            Net::Ipv4(_) => p.flow_key().map(|k| AnyFlow::V4(V4Key::pack(&k))),
            Net::Ipv6(ip) => {
                let (src_port, dst_port) = p.transport.ports();
                let t = p.vlans.as_slice();
                Some(AnyFlow::V6 {
                    src: ip.src,
                    dst: ip.dst,
                    protocol: ip.protocol,
                    src_port,
                    dst_port,
                    vlans: [
                        t.first().map_or(u16::MAX, |v| v.vid.value()),
                        t.get(1).map_or(u16::MAX, |v| v.vid.value()),
                    ],
                })
            }
            _ => None,
        };
        let verdict = self.police.as_mut().map(|police| {
            let ip_len = match p.net {
                Net::Ipv4(ip) => Some(u32::from(ip.total_len)),
                Net::Ipv6(_) => Some(pkt.orig_len.saturating_sub(u32::from(p.net_offset))),
                _ => None,
            };
            police.offer(Nanos(pkt.ts_ns), pkt.orig_len.max(pkt.data.len() as u32), ip_len, p.addresses())
        });
        let dropped = u64::from(verdict == Some(Verdict::Drop));
        // One flow-table lookup per frame, before the payload analysis: the flow remembers its
        // RTP stream's slot, so the stream needs no second lookup.
        let flow = match key {
            Some(key) if self.flows.len() < self.opts.max_flows => {
                Some(self.flows.entry(key).or_insert(FlowCount { rtp_slot: u32::MAX, ..FlowCount::default() }))
            }
            Some(key) => self.flows.get_mut(&key),
            None => None,
        };
        let mut flow = match flow {
            Some(v) => {
                v.frames += 1;
                v.bytes += wire;
                v.dropped += dropped;
                Some(v)
            }
            None => {
                self.untracked_flow_frames += u64::from(key.is_some());
                None
            }
        };
        // A layer whose header was recognised but is invalid still counts for that layer, as
        // it does in tshark's protocol hierarchy (an IPv4 header with IHL 4 is still "ip").
        let stopped_in = lax.stop.map(|e| e.layer());
        let mut rtcp_problem = None;
        match (p.net, stopped_in) {
            (Net::Ipv4(_), _) | (Net::None, Some(Layer::Ipv4 | Layer::Ipv4Payload)) => l.ipv4 += 1,
            (Net::Ipv6(_), _) | (Net::None, Some(Layer::Ipv6)) => l.ipv6 += 1,
            (Net::Arp, _) | (Net::None, Some(Layer::Arp)) => {
                l.arp += 1;
                l.other += 1;
            }
            (Net::Other(_) | Net::None, _) => l.other += 1,
        }
        match (p.transport, stopped_in) {
            (Transport::Udp { src_port, dst_port, .. }, _) => {
                l.udp += 1;
                let payload = p.payload(pkt.data);
                let addresses = p.addresses();
                // A forced RTP port range is the user's word, even over SIP's port.
                let in_range = self.rtp.forced(src_port, dst_port);
                if !in_range && SipTracker::wants_udp(src_port, dst_port, payload) {
                    if let Some((src, dst)) = addresses {
                        let o = Origin { frame: self.frames, ts_ns: pkt.ts_ns, src, src_port, dst, dst_port };
                        self.sip.datagram(&o, payload);
                    }
                } else if let Some((src, dst)) = addresses {
                    // SDP's endpoints first (Wireshark's conversations), then the heuristics.
                    let table = &self.sip.media;
                    let media = match flow.as_deref_mut() {
                        _ if table.is_empty() => MediaVerdict::Unknown,
                        Some(f) if f.media_generation == table.generation() && f.media.is_some() => {
                            f.media.unwrap_or(MediaVerdict::Unknown)
                        }
                        Some(f) => {
                            let v = table.verdict(src, src_port, dst, dst_port);
                            f.media = Some(v);
                            f.media_generation = table.generation();
                            v
                        }
                        None => table.verdict(src, src_port, dst, dst_port),
                    };
                    let forced = in_range || media != MediaVerdict::Unknown;
                    if media == MediaVerdict::T38 {
                        self.sip.t38_packets += 1;
                    } else if looks_like_rtcp(payload) && (forced || (src_port > 1023 && dst_port > 1023)) {
                        if let Err(e) = self.rtcp.add(pkt.ts_ns, payload) {
                            rtcp_problem = Some(e);
                        }
                    } else if forced || (src_port > 1023 && dst_port > 1023) {
                        match RtpPacket::new_checked(payload) {
                            Ok(rtp) if forced || !rtp.payload_type().is_rtcp_conflict() => {
                                l.rtp += 1;
                                let pt = rtp.payload_type().value();
                                let clock = match media {
                                    MediaVerdict::Rtp(i) => self.sip.media.clock(i, pt),
                                    _ => Clock::of_static(pt),
                                };
                                let key = StreamKey { src, src_port, dst, dst_port, ssrc: rtp.ssrc() };
                                let sample = RtpSample {
                                    arrival_ns: pkt.ts_ns,
                                    seq: rtp.sequence_number(),
                                    timestamp: rtp.timestamp(),
                                    payload_type: pt,
                                    marker: rtp.marker(),
                                    clock,
                                    sent_ns: None,
                                };
                                self.rtp.add(key, sample, forced, flow.as_mut().map(|f| &mut f.rtp_slot));
                            }
                            Ok(_) => {}
                            Err(_) if forced => self.rtp.not_rtp_in_range += 1,
                            Err(_) => {}
                        }
                    }
                }
            }
            (Transport::None, Some(Layer::Udp | Layer::UdpPayload)) => l.udp += 1,
            (Transport::Tcp { src_port, dst_port, flags, .. }, _) => {
                l.tcp += 1;
                let payload = p.payload(pkt.data);
                if self.bgp.wants(src_port, dst_port, payload) {
                    if let (Some((src, dst)), Some(seq)) = (p.addresses(), p.tcp_seq(pkt.data)) {
                        self.bgp.add(self.frames, src, src_port, dst, dst_port, seq, flags, payload);
                    }
                } else if self.sip.wants_tcp(src_port, dst_port, payload) {
                    if let (Some((src, dst)), Some(seq)) = (p.addresses(), p.tcp_seq(pkt.data)) {
                        let o = Origin { frame: self.frames, ts_ns: pkt.ts_ns, src, src_port, dst, dst_port };
                        self.sip.segment(&o, seq, payload);
                    }
                }
            }
            (Transport::None, Some(Layer::Tcp)) => l.tcp += 1,
            (Transport::Icmp, _) | (Transport::None, Some(Layer::Icmp)) => l.icmp += 1,
            _ => {}
        }

        // Application-layer problems (the tracker's list is reused: no allocation per frame).
        let app_offset = usize::from(p.payload_offset);
        if !self.sip.problems.is_empty() {
            let problems = std::mem::take(&mut self.sip.problems);
            for &x in &problems {
                self.count_malformed(x.reason(), || format!("{} at offset {app_offset}: {x}", x.layer()));
            }
            self.sip.problems = problems;
            self.sip.problems.clear();
        }
        if let Some(e) = rtcp_problem {
            self.count_malformed(MalformedReason::Rtcp(e), || format!("rtcp at offset {app_offset}: {e}"));
        }
        match (lax.stop, p.cut) {
            (Some(ParseError::Len(_)), _) if snapped => self.cut_by_snaplen += 1,
            (Some(e), _) => self.count_malformed(e.reason(), || e.to_string()),
            (None, Some(_)) if snapped => self.cut_by_snaplen += 1,
            (None, Some(layer)) => {
                let reason = if layer == Layer::UdpPayload {
                    MalformedReason::UdpLenBeyondPayload
                } else {
                    MalformedReason::Ipv4TotalLenBeyondFrame
                };
                self.count_malformed(reason, || match p.net {
                    Net::Ipv4(ip) if layer == Layer::Ipv4Payload => format!(
                        "ipv4 at offset {}: total length {} runs past the {} bytes after it in the frame",
                        p.net_offset,
                        ip.total_len,
                        pkt.data.len() - usize::from(p.net_offset)
                    ),
                    _ => {
                        format!("{layer} at offset {}: length field runs past the end of the frame", p.transport_offset)
                    }
                });
            }
            (None, None) => {
                if p.ipv4_checksum_ok(pkt.data) == Some(false) {
                    self.checksum_errors.ipv4 += 1;
                }
                if p.udp_checksum_ok(pkt.data) == Some(false) {
                    self.checksum_errors.udp += 1;
                }
            }
        }

        verdict
    }

    /// Counts a malformed frame; the message is built only for the frames that are listed.
    #[cold]
    fn count_malformed(&mut self, reason: MalformedReason, message: impl FnOnce() -> String) {
        *self.malformed.entry(reason).or_default() += 1;
        if self.malformed_frames.len() < self.opts.malformed_examples {
            self.malformed_frames.push(MalformedFrame { frame: self.frames, reason: reason.key(), message: message() });
        }
    }

    /// The report. `reader` supplies the format and link types; `stop` is the error that ended
    /// reading early, if any.
    pub fn finish<R: std::io::Read>(
        self,
        file: &str,
        reader: &CaptureReader<R>,
        stop: Option<&CaptureError>,
    ) -> ReplayReport {
        let mut flows: Vec<(AnyFlow, FlowCount)> = self.flows.into_iter().collect();
        // Busiest first; ties in the flow key's order, so the report is deterministic.
        flows.sort_unstable_by(|a, b| (b.1.bytes, b.1.frames, a.0).cmp(&(a.1.bytes, a.1.frames, b.0)));
        let n_flows = flows.len() as u64;
        let top_flows = flows.iter().take(self.opts.top_flows).map(|(k, v)| flow_row(k, *v)).collect();
        let mut lossy: Vec<&(AnyFlow, FlowCount)> = flows.iter().filter(|(_, v)| v.dropped > 0).collect();
        let lossy_flows_total = lossy.len() as u64;
        lossy.sort_by(|a, b| (b.1.dropped, a.0).cmp(&(a.1.dropped, b.0)));
        let lossy_flows = lossy.into_iter().take(MAX_LOSSY_FLOWS).map(|(k, v)| flow_row(k, *v)).collect();
        let duration_ns = match (self.first_ts, self.last_ts) {
            (Some(a), Some(b)) if b > a => b - a,
            _ => 0,
        };
        let mut rtp_streams = self.rtp.rows();
        for row in &mut rtp_streams {
            // RTCP's jitter is in the units of the stream's own clock (an SDP's for a dynamic
            // payload type).
            row.rtcp = self.rtcp.view(row.ssrc, row.clock_rate);
        }
        let sip = self.sip.finish(&rtp_streams, self.last_ts);
        let mut malformed = BTreeMap::new();
        for (r, n) in self.malformed {
            *malformed.entry(r.key()).or_default() += n;
        }
        ReplayReport {
            file: file.to_string(),
            format: reader.format().name(),
            link_types: reader.link_types().iter().map(|l| l.to_string()).collect(),
            frames: self.frames,
            bytes: self.bytes,
            captured_bytes: self.captured_bytes,
            truncated: stop.is_some(),
            error: stop.map(|e| StopError {
                offset: e.offset,
                kind: if e.is_truncation() { "truncated" } else { "corrupt" },
                message: e.message(),
            }),
            layers: self.layers,
            vlans: self.vlans.iter().enumerate().filter(|(_, n)| **n > 0).map(|(id, n)| (id as u16, *n)).collect(),
            malformed,
            malformed_frames: self.malformed_frames,
            cut_by_snaplen: self.cut_by_snaplen,
            checksum_errors: self.checksum_errors,
            top_flows,
            lossy_flows,
            lossy_flows_total,
            flows: n_flows,
            untracked_flow_frames: self.untracked_flow_frames,
            first_ts_ns: self.first_ts,
            last_ts_ns: self.last_ts,
            ts_backwards: self.ts_backwards,
            duration_s: duration_ns as f64 / 1e9,
            avg_mbps: if duration_ns > 0 { self.bytes as f64 * 8.0 / duration_ns as f64 * 1e3 } else { 0.0 },
            peak_mbps_1ms: self.peak_1ms.peak_mbps(),
            peak_mbps_1s: self.peak_1s.peak_mbps(),
            over_snaplen: reader.stats().over_snaplen,
            ts_out_of_range: reader.stats().ts_out_of_range,
            policer: self.police.as_ref().map(Duplex::report),
            rtp_streams,
            sip,
            rtcp_packets: self.rtcp.packets,
            rtp_not_v2_in_range: self.rtp.not_rtp_in_range,
            bgp: self.bgp.finish(),
        }
    }
}

fn proto_name(p: IpProtocol) -> String {
    match p {
        IpProtocol::Udp => "udp".into(),
        IpProtocol::Tcp => "tcp".into(),
        IpProtocol::Icmp => "icmp".into(),
        IpProtocol::Icmpv6 => "icmpv6".into(),
        other => u8::from(other).to_string(),
    }
}

fn flow_row(k: &AnyFlow, FlowCount { frames, bytes, dropped, .. }: FlowCount) -> FlowRow {
    match *k {
        AnyFlow::V4(packed) => {
            let f = packed.unpack();
            FlowRow {
                src: f.src.into(),
                src_port: f.src_port,
                dst: f.dst.into(),
                dst_port: f.dst_port,
                proto: proto_name(f.protocol),
                vlans: [f.outer_vlan, f.inner_vlan].into_iter().flatten().map(|v| v.value()).collect(),
                frames,
                bytes,
                dropped_frames: dropped,
            }
        }
        AnyFlow::V6 { src, dst, protocol, src_port, dst_port, vlans } => FlowRow {
            src: src.into(),
            src_port,
            dst: dst.into(),
            dst_port,
            proto: proto_name(protocol),
            vlans: vlans.into_iter().filter(|v| *v != u16::MAX).collect(),
            frames,
            bytes,
            dropped_frames: dropped,
        },
    }
}

/// Frames per batch handed from the reading thread to the tallying thread.
const BATCH_FRAMES: usize = 4096;
/// Batches in flight: enough to keep both threads busy, few enough to bound memory
/// (about 8 × 4096 frames × their length).
const BATCHES: usize = 8;

/// A batch of packets copied out of the reader's buffer, reused across the whole replay.
struct Batch {
    data: Vec<u8>,
    meta: Vec<(Packet<'static>, usize, usize)>,
}

impl Batch {
    fn push(&mut self, p: &Packet<'_>) {
        let start = self.data.len();
        self.data.extend_from_slice(p.data);
        self.meta.push((Packet { data: &[], ..*p }, start, p.data.len()));
    }

    fn for_each(&self, mut f: impl FnMut(&Packet<'_>)) {
        for (meta, start, len) in &self.meta {
            f(&Packet { data: &self.data[*start..*start + *len], ..*meta });
        }
    }
}

/// Where a what-if replay writes the frames its policer passed and dropped.
#[derive(Debug, Default)]
pub struct Outputs {
    /// Frames passed (at their departure time when shaping).
    pub passed: Option<PcapWriter>,
    /// Frames dropped.
    pub dropped: Option<PcapWriter>,
}

/// Why a replay failed.
#[derive(Debug)]
pub enum ReplayError {
    /// The input cannot be opened or is not a capture.
    Capture(CaptureError),
    /// An output could not be written.
    Write(std::io::Error),
}

impl std::fmt::Display for ReplayError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReplayError::Capture(e) => e.fmt(f),
            ReplayError::Write(e) => write!(f, "writing output: {e}"),
        }
    }
}

impl std::error::Error for ReplayError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ReplayError::Capture(e) => Some(e),
            ReplayError::Write(e) => Some(e),
        }
    }
}

/// Replays a whole file, optionally through a tier's policer, writing what it passed and
/// dropped to `outputs` (returned unfinished: the caller finishes them, or drops them, which
/// removes their temporary files). A file that stops early yields a report with `truncated`
/// set and the error's offset.
///
/// Two threads: one reads the file into batches of [`BATCH_FRAMES`] frames, the other parses,
/// polices and tallies them in time order (DESIGN.md: stages work on batches; buffers are
/// allocated once and reused). With one core the same code simply interleaves.
pub fn replay_file(
    path: &Path,
    opts: ReplayOptions,
    police: Option<Duplex>,
    mut outputs: Outputs,
) -> Result<(ReplayReport, Outputs), ReplayError> {
    let mut reader = CaptureReader::open(path).map_err(ReplayError::Capture)?;
    let (full_tx, full_rx) = crossbeam_channel::bounded::<Batch>(BATCHES);
    let (empty_tx, empty_rx) = crossbeam_channel::bounded::<Batch>(BATCHES);
    for _ in 0..BATCHES {
        let b = Batch { data: Vec::with_capacity(BATCH_FRAMES * 256), meta: Vec::with_capacity(BATCH_FRAMES) };
        empty_tx.send(b).expect("channel has room for every batch");
    }
    std::thread::scope(|s| {
        let read = s.spawn(move || {
            let stop = 'file: loop {
                let Ok(mut batch) = empty_rx.recv() else { break None };
                batch.data.clear();
                batch.meta.clear();
                let stop = loop {
                    if batch.meta.len() == BATCH_FRAMES {
                        break None;
                    }
                    match reader.next_packet() {
                        Ok(Some(p)) => batch.push(&p),
                        Ok(None) => break Some(None),
                        Err(e) => break Some(Some(e)),
                    }
                };
                if full_tx.send(batch).is_err() {
                    break None;
                }
                if let Some(stop) = stop {
                    break 'file stop;
                }
            };
            drop(full_tx);
            (reader, stop)
        });
        let mut replay = Replay::new(opts, police);
        let mut write_error = None;
        for batch in full_rx {
            batch.for_each(|p| {
                let verdict = replay.add(p);
                if write_error.is_some() {
                    return;
                }
                let written = match verdict {
                    Some(Verdict::Pass { departs, .. }) => {
                        outputs.passed.as_mut().map(|w| w.write_packet(departs.0, p.link_type, p.data, p.orig_len))
                    }
                    Some(Verdict::Drop) => {
                        outputs.dropped.as_mut().map(|w| w.write_packet(p.ts_ns, p.link_type, p.data, p.orig_len))
                    }
                    None => None,
                };
                if let Some(Err(e)) = written {
                    write_error = Some(e);
                }
            });
            // The reader may have finished and dropped its receiver: then the batch is freed.
            let _ = empty_tx.send(batch);
            if write_error.is_some() {
                break;
            }
        }
        // Dropping our ends unblocks the reading thread if we stopped early.
        drop(empty_tx);
        let (reader, stop) = read.join().expect("the reading thread does not panic");
        if let Some(e) = write_error {
            return Err(ReplayError::Write(e));
        }
        Ok((replay.finish(&path.display().to_string(), &reader, stop.as_ref()), outputs))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use xconnect_frame::VlanId;

    #[test]
    fn v4_key_packs_and_unpacks() {
        for (outer, inner) in [(None, None), (Some(0), None), (Some(4095), Some(1)), (Some(100), Some(4094))] {
            let k = FlowKey {
                outer_vlan: outer.map(|v| VlanId::try_new(v).unwrap()),
                inner_vlan: inner.map(|v| VlanId::try_new(v).unwrap()),
                src: Ipv4Addr::new(203, 0, 113, 7),
                dst: Ipv4Addr::new(168, 86, 128, 255),
                protocol: IpProtocol::Udp,
                src_port: 65535,
                dst_port: 1,
            };
            assert_eq!(V4Key::pack(&k).unpack(), k);
        }
    }
}
