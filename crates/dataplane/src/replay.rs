//! What is in a capture: the summary behind `xconnect replay`.
//!
//! Every frame is parsed with the lax parser (so a frame cut by the snap length still counts
//! for the layers that were captured) and tallied: per layer, per VLAN id, per flow, per
//! malformed reason, and into 1 ms and 1 s peak-rate windows; RTP, RTCP, SIP and BGP are
//! analyzed on the way. The tally may be split into [`Shard`]s that [`Replay::merge`] adds up
//! exactly. Memory is bounded: the flow table holds at most [`ReplayOptions::max_flows`] flows
//! and the RTP analysis [`ReplayOptions::max_rtp_streams`] streams (each kept per 1/[`FLOW_PARTS`]
//! of the flow space); frames of further flows are counted in `untracked_flow_frames`, packets
//! of further streams in `rtp_untracked_packets`.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use rustc_hash::FxHashMap;
use serde::Serialize;
use xconnect_capture::{CaptureError, CaptureReader, Packet};

use crate::part::{flow_part, PartBound};
use xconnect_frame::{
    parse_lax, rtcp::looks_like_rtcp, FlowKey, IpProtocol, Layer, Link, MalformedReason, Net, ParseError, RtpPacket,
    Transport,
};
use xconnect_time::Nanos;

use crate::bgp::{BgpReport, BgpTracker};
use crate::police::{DirectionSeries, Duplex, PolicerReport, Verdict};
use crate::rate::PeakWindow;
use crate::rtcp::RtcpTracker;
use crate::rtp::{Clock, RtpAnalyzer, RtpSample, StreamKey};
use crate::series::{Recorder, Series};
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
    /// The most RTP streams analyzed (memory bound: about 0.6 KB each); packets of further
    /// streams are counted in `rtp_untracked_packets`.
    pub max_rtp_streams: usize,
    /// How many malformed frames are listed one by one (all are counted).
    pub malformed_examples: usize,
    /// UDP ports (inclusive) whose packets are RTP without the heuristic's probation.
    pub rtp_port_range: Option<(u16, u16)>,
    /// Threads that share the work (see [`Shard`]); 1 to [`MAX_THREADS`].
    pub threads: usize,
    /// The series' interval, ns (`None`: 100 ms, shown at 1 s when the capture spans a minute
    /// or more; widened further to keep at most [`crate::series::MAX_POINTS`] points).
    pub interval_ns: Option<u64>,
    /// The MOS under which a stream counts as below target in an interval of the series.
    pub mos_target: f64,
}

/// The MOS target of a replay's series unless told otherwise: 3.6, the E-model's boundary
/// under which many users are dissatisfied (G.107's R = 70).
pub const DEFAULT_MOS_TARGET: f64 = 3.6;

/// The most threads a replay uses. Every shard reads and parses every frame and keeps its own
/// SIP state, so beyond a few shards the shared part dominates the time (each shard costs
/// about a third of a one-thread replay however many there are) while memory grows with each.
pub const MAX_THREADS: usize = 8;

impl Default for ReplayOptions {
    fn default() -> Self {
        ReplayOptions {
            top_flows: 10,
            max_flows: 1_000_000,
            max_rtp_streams: 1_000_000,
            malformed_examples: 100,
            rtp_port_range: None,
            threads: std::thread::available_parallelism().map_or(1, |n| n.get()).min(MAX_THREADS),
            interval_ns: None,
            mos_target: DEFAULT_MOS_TARGET,
        }
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

/// Where a replay's frames came from, for its report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FrameSource {
    /// "pcap", "pcapng" or "live".
    pub format: &'static str,
    /// Link types of the interfaces.
    pub link_types: Vec<String>,
    /// Records whose captured length exceeds the file's snap length.
    pub over_snaplen: u64,
    /// Timestamps clamped into a u64 of nanoseconds.
    pub ts_out_of_range: u64,
}

impl FrameSource {
    /// A capture file's, as its reader saw it.
    pub fn of<R: std::io::Read>(reader: &CaptureReader<R>) -> FrameSource {
        FrameSource {
            format: reader.format().name(),
            link_types: reader.link_types().iter().map(|l| l.to_string()).collect(),
            over_snaplen: reader.stats().over_snaplen,
            ts_out_of_range: reader.stats().ts_out_of_range,
        }
    }

    /// A live Ethernet port's.
    pub fn live() -> FrameSource {
        FrameSource {
            format: "live",
            link_types: vec![xconnect_frame::LinkType::Ethernet.to_string()],
            over_snaplen: 0,
            ts_out_of_range: 0,
        }
    }
}

/// What a tally holds so far (see [`Replay::progress`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    /// Frames.
    pub frames: u64,
    /// Their bytes on the wire.
    pub bytes: u64,
    /// RTP streams seen.
    pub rtp_streams: u64,
    /// Frames the what-if policer dropped, with a tier.
    pub policer_dropped: Option<u64>,
}

/// What the live run saw of its port (`live` in the JSON).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct LiveStats {
    /// The interface.
    pub interface: String,
    /// Seconds listened.
    pub seconds: f64,
    /// Frames the kernel handed to the analyzer's socket, dropped ones included.
    pub kernel_packets: u64,
    /// Frames the kernel dropped because the analyzer's socket buffer was full: never in the
    /// tally, so every figure of the report misses them.
    pub kernel_drops: u64,
    /// Why it ended.
    pub ended: LiveEnd,
}

/// Why a live run ended (`live.ended` in the JSON).
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
pub enum LiveEnd {
    /// The `--seconds` asked for passed.
    #[serde(rename = "seconds")]
    Seconds,
    /// SIGINT or SIGTERM.
    #[serde(rename = "stopped")]
    Stopped,
    /// The interface went down or lost its carrier.
    #[serde(rename = "link down")]
    LinkDown,
}

impl std::fmt::Display for LiveEnd {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            LiveEnd::Seconds => "seconds",
            LiveEnd::Stopped => "stopped",
            LiveEnd::LinkDown => "link down",
        })
    }
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
    /// RTP packets of streams beyond the analysis's bound (counted, not analyzed).
    pub rtp_untracked_packets: u64,
    /// SIP: tshark's sip,stat figures and the calls.
    pub sip: SipReport,
    /// RTCP compound packets read (their reports are in each stream's `rtcp`).
    pub rtcp_packets: u64,
    /// BGP messages in TCP streams (port 179 or marker-led payloads).
    pub bgp: BgpReport,
    /// The what-if policer, when a tier was given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub policer: Option<PolicerReport>,
    /// The capture over time, from its first frame: rate on the wire (offered), what the
    /// what-if policer passed and dropped, RTP streams active, their jitter and those below
    /// the MOS target (see `series` in the README).
    pub series: Series,
    /// With a tier: each direction over time as its policer counted it (the same start and
    /// interval as `series`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub policer_series: Option<DirectionSeries>,
    /// A live port's run (`replay --iface`): how long, why it ended, and what the kernel
    /// dropped before the analyzer saw it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub live: Option<LiveStats>,
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

pub use crate::part::FLOW_PARTS;

/// Which share of the work a tally does when a replay runs on several threads.
///
/// Every shard reads and parses every frame, so each decides the same way what is whose, with
/// no messages between shards (a design where one shard parsed and handed the others their
/// frames was tried: no faster on two cores, and two ways into the tally instead of one):
/// - **every shard** feeds SIP (its calls set up the media that RTP analysis looks up, in time
///   order), notes which TCP connections are BGP's, and runs its own copy of the what-if
///   policer (a frame's verdict is needed where its flow is counted);
/// - **the frame's owner** (the shard of the frame's flow part; frames without addresses go
///   round by frame number) counts layers, VLANs, malformed frames, checksums and the flow, and
///   analyzes RTP;
/// - **shard 0** also keeps what needs every frame in time order: bytes, time span and peak
///   windows, BGP decoding, RTCP (a source's reports may come from other conversations), and
///   the policer's report and output files.
///
/// [`Replay::merge`] then adds the shards up exactly: the report is the same whatever the
/// number of shards (`tests/replay_shards.rs` checks it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    /// This shard, from 0.
    pub index: usize,
    /// How many there are.
    pub count: usize,
}

impl Shard {
    /// The only shard of a one-thread replay.
    pub const ALL: Shard = Shard { index: 0, count: 1 };

    fn keeps_timeline(self) -> bool {
        self.index == 0
    }

    /// Whether this shard owns a part of the flow space: parts are dealt out in runs (a
    /// multiply and a shift, no division in the per-frame path).
    #[inline]
    fn owns(self, part: usize) -> bool {
        part * self.count / FLOW_PARTS == self.index
    }

    /// Whether this shard owns a frame without addresses (the `n`-th, from 1): round robin.
    #[inline]
    fn owns_frame(self, n: u64) -> bool {
        self.count == 1 || (n - 1) % self.count as u64 == self.index as u64
    }
}

/// The running tally. Feed it packets with [`Replay::add`], then [`Replay::finish`].
#[derive(Debug)]
pub struct Replay {
    opts: ReplayOptions,
    shard: Shard,
    frames: u64,
    bytes: u64,
    captured_bytes: u64,
    layers: LayerCounts,
    vlans: Box<[u64; 4096]>,
    malformed: FxHashMap<MalformedReason, u64>,
    /// The first malformed frames this shard saw, with their rank within the frame (SIP's
    /// problems, then RTCP's, then the parser's), for an exact merge.
    malformed_frames: Vec<(u8, MalformedFrame)>,
    cut_by_snaplen: u64,
    checksum_errors: ChecksumErrors,
    flows: FlowTable,
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
    series: Recorder,
    /// The last frame's time (the series' current interval).
    last_frame_ts: u64,
    /// Where the series' current interval ends: the analyzer's interval is closed there.
    interval_end: u64,
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

/// The flow table: counts per flow, at most `per_part` flows in each part of the flow space.
#[derive(Debug)]
struct FlowTable {
    flows: FxHashMap<AnyFlow, FlowCount>,
    bound: PartBound,
    /// Frames of flows that found their part full.
    untracked_frames: u64,
}

impl FlowTable {
    fn new(max_flows: usize) -> Self {
        FlowTable { flows: FxHashMap::default(), bound: PartBound::new(max_flows), untracked_frames: 0 }
    }

    /// Counts the frame in its flow (tracked while its part of the flow space has room).
    #[inline]
    fn count(&mut self, p: &xconnect_frame::Parsed, part: usize, wire: u64, dropped: u64) -> Option<&mut FlowCount> {
        let key = match p.net {
            Net::Ipv4(_) => AnyFlow::V4(V4Key::pack(&p.flow_key()?)),
            Net::Ipv6(ip) => {
                let (src_port, dst_port) = p.transport.ports();
                let t = p.vlans.as_slice();
                AnyFlow::V6 {
                    src: ip.src,
                    dst: ip.dst,
                    protocol: ip.protocol,
                    src_port,
                    dst_port,
                    vlans: [
                        t.first().map_or(u16::MAX, |v| v.vid.value()),
                        t.get(1).map_or(u16::MAX, |v| v.vid.value()),
                    ],
                }
            }
            _ => return None,
        };
        let flow = if self.bound.has_room(part) {
            let bound = &mut self.bound;
            Some(self.flows.entry(key).or_insert_with(|| {
                bound.take(part);
                FlowCount { rtp_slot: u32::MAX, ..FlowCount::default() }
            }))
        } else {
            self.flows.get_mut(&key)
        };
        match flow {
            Some(v) => {
                v.frames += 1;
                v.bytes += wire;
                v.dropped += dropped;
                Some(v)
            }
            None => {
                self.untracked_frames += 1;
                None
            }
        }
    }

    /// Adds another shard's table (shards own disjoint parts).
    fn absorb(&mut self, other: FlowTable) {
        self.flows.extend(other.flows);
        self.bound.absorb(&other.bound);
        self.untracked_frames += other.untracked_frames;
    }
}

impl Replay {
    /// An empty tally of every frame (one shard); with a police stage, every frame also goes
    /// through the tier's policer.
    pub fn new(opts: ReplayOptions, police: Option<Duplex>) -> Self {
        Self::shard(opts, police, Shard::ALL)
    }

    /// An empty tally of one shard's share (see [`Shard`]).
    pub fn shard(opts: ReplayOptions, police: Option<Duplex>, shard: Shard) -> Self {
        Replay {
            opts,
            shard,
            frames: 0,
            bytes: 0,
            captured_bytes: 0,
            layers: LayerCounts::default(),
            vlans: Box::new([0; 4096]),
            malformed: FxHashMap::default(),
            malformed_frames: Vec::new(),
            cut_by_snaplen: 0,
            checksum_errors: ChecksumErrors::default(),
            flows: FlowTable::new(opts.max_flows),
            first_ts: None,
            last_ts: None,
            ts_backwards: 0,
            peak_1ms: PeakWindow::new(1_000_000),
            peak_1s: PeakWindow::new(1_000_000_000),
            police,
            rtp: RtpAnalyzer::new(opts.rtp_port_range).bounded(opts.max_rtp_streams),
            bgp: if shard.index == 0 { BgpTracker::default() } else { BgpTracker::claims_only() },
            sip: SipTracker::default(),
            rtcp: RtcpTracker::default(),
            series: Recorder::new(opts.interval_ns.unwrap_or(100_000_000)),
            last_frame_ts: 0,
            interval_end: 0,
        }
    }

    /// Moves the series to `ts_ns`: the RTP streams' interval closes when a frame falls past
    /// it (every shard sees every frame, so all close at the same times).
    #[inline]
    fn tick(&mut self, ts_ns: u64) {
        if self.frames == 1 {
            self.interval_end = self.series.end_of(ts_ns);
        } else if ts_ns >= self.interval_end {
            self.close_interval();
            self.interval_end = self.series.end_of(ts_ns);
        }
        self.last_frame_ts = ts_ns;
    }

    /// Closes the RTP streams' current interval into the series.
    fn close_interval(&mut self) {
        let q = self.rtp.close_interval(self.opts.mos_target);
        self.series.quality(self.last_frame_ts, &q);
    }

    /// Frames seen so far.
    pub fn frames(&self) -> u64 {
        self.frames
    }

    /// Tallies one packet; returns the policer's verdict when there is a policer.
    pub fn add(&mut self, pkt: &Packet<'_>) -> Option<Verdict> {
        self.frames += 1;
        let wire = u64::from(pkt.orig_len.max(pkt.data.len() as u32));
        let global = self.shard.keeps_timeline();
        self.tick(pkt.ts_ns);
        if global && self.frames == 1 {
            if let Some(p) = &mut self.police {
                p.record_series(pkt.ts_ns, self.series.interval_ns());
            }
        }
        if global {
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
        }

        let snapped = (pkt.data.len() as u64) < wire;
        let lax = parse_lax(pkt.link_type, pkt.data);
        let p = &lax.parsed;
        let addresses = p.addresses();
        let (src_port, dst_port) = p.transport.ports();
        let part = addresses.map(|(src, dst)| flow_part(src, src_port, dst, dst_port));
        let own = match part {
            Some(part) => self.shard.owns(part),
            None => self.shard.owns_frame(self.frames),
        };

        let verdict = self.police.as_mut().map(|police| {
            let ip_len = match p.net {
                Net::Ipv4(ip) => Some(u32::from(ip.total_len)),
                Net::Ipv6(_) => Some(pkt.orig_len.saturating_sub(u32::from(p.net_offset))),
                _ => None,
            };
            police.offer(Nanos(pkt.ts_ns), pkt.orig_len.max(pkt.data.len() as u32), ip_len, addresses)
        });
        if global {
            let b = self.series.offered_into(pkt.ts_ns, wire);
            match verdict {
                Some(Verdict::Drop) => b.policer_drops += 1,
                _ => b.passed_bytes += wire,
            }
        }
        if own {
            self.count_layers(p, lax.stop);
        }
        // One flow-table lookup per frame, before the payload analysis: the flow remembers its
        // RTP stream's slot, so the stream needs no second lookup.
        let mut flow = match (own, part) {
            (true, Some(part)) => self.flows.count(p, part, wire, u64::from(verdict == Some(Verdict::Drop))),
            _ => None,
        };

        let mut rtcp_problem = None;
        let l = &mut self.layers;
        match p.transport {
            Transport::Udp { .. } => {
                let payload = p.payload(pkt.data);
                // A forced RTP port range is the user's word, even over SIP's port.
                let in_range = self.rtp.forced(src_port, dst_port);
                if !in_range && SipTracker::wants_udp(src_port, dst_port, payload) {
                    if let Some((src, dst)) = addresses {
                        let o = Origin { frame: self.frames, ts_ns: pkt.ts_ns, src, src_port, dst, dst_port };
                        self.sip.datagram(&o, payload);
                    }
                } else if let Some((src, dst)) = addresses {
                    let rtcp_like = looks_like_rtcp(payload);
                    // Only the owner analyzes RTP; shard 0 reads every RTCP packet.
                    if own || (global && rtcp_like) {
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
                        let high_ports = src_port > 1023 && dst_port > 1023;
                        if media == MediaVerdict::T38 {
                            if own {
                                self.sip.t38_packets += 1;
                            }
                        } else if rtcp_like && (forced || high_ports) {
                            if global {
                                if let Err(e) = self.rtcp.add(pkt.ts_ns, payload) {
                                    rtcp_problem = Some(e);
                                }
                            }
                        } else if own && (forced || high_ports) {
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
            }
            Transport::Tcp { flags, .. } => {
                let payload = p.payload(pkt.data);
                let seq = p.tcp_seq(pkt.data);
                // Every shard knows which connections are BGP's (shard 0 decodes them); the
                // other TCP segments may be SIP.
                let bgp = self.bgp.wants(src_port, dst_port, payload)
                    && matches!((addresses, seq), (Some((src, dst)), Some(seq))
                        if self.bgp.add(self.frames, src, src_port, dst, dst_port, seq, flags, payload));
                if !bgp && self.sip.wants_tcp(src_port, dst_port, payload) {
                    if let (Some((src, dst)), Some(seq)) = (addresses, seq) {
                        let o = Origin { frame: self.frames, ts_ns: pkt.ts_ns, src, src_port, dst, dst_port };
                        self.sip.segment(&o, seq, payload);
                    }
                }
            }
            _ => {}
        }

        // Application-layer problems (the tracker's list is reused: no allocation per frame).
        let app_offset = usize::from(p.payload_offset);
        if !self.sip.problems.is_empty() {
            let problems = std::mem::take(&mut self.sip.problems);
            if own {
                for &x in &problems {
                    self.count_malformed(0, x.reason(), || format!("{} at offset {app_offset}: {x}", x.layer()));
                }
            }
            self.sip.problems = problems;
            self.sip.problems.clear();
        }
        if let Some(e) = rtcp_problem {
            self.count_malformed(1, MalformedReason::Rtcp(e), || format!("rtcp at offset {app_offset}: {e}"));
        }
        if own {
            self.count_frame_problems(pkt, p, lax.stop, snapped);
        }
        verdict
    }

    /// The layers a frame carries. A layer whose header was recognised but is invalid still
    /// counts for that layer, as it does in tshark's protocol hierarchy (an IPv4 header with
    /// IHL 4 is still "ip").
    fn count_layers(&mut self, p: &xconnect_frame::Parsed, stop: Option<ParseError>) {
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
        let stopped_in = stop.map(|e| e.layer());
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
            (Transport::Udp { .. }, _) | (Transport::None, Some(Layer::Udp | Layer::UdpPayload)) => l.udp += 1,
            (Transport::Tcp { .. }, _) | (Transport::None, Some(Layer::Tcp)) => l.tcp += 1,
            (Transport::Icmp, _) | (Transport::None, Some(Layer::Icmp)) => l.icmp += 1,
            _ => {}
        }
    }

    /// What the parser found wrong with the frame, or its checksums.
    fn count_frame_problems(
        &mut self,
        pkt: &Packet<'_>,
        p: &xconnect_frame::Parsed,
        stop: Option<ParseError>,
        snapped: bool,
    ) {
        match (stop, p.cut) {
            (Some(ParseError::Len(_)), _) if snapped => self.cut_by_snaplen += 1,
            (Some(e), _) => self.count_malformed(2, e.reason(), || e.to_string()),
            (None, Some(_)) if snapped => self.cut_by_snaplen += 1,
            (None, Some(layer)) => {
                let reason = if layer == Layer::UdpPayload {
                    MalformedReason::UdpLenBeyondPayload
                } else {
                    MalformedReason::Ipv4TotalLenBeyondFrame
                };
                self.count_malformed(2, reason, || match p.net {
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
    }

    /// Counts a malformed frame; the message is built only for the frames that are listed.
    #[cold]
    fn count_malformed(&mut self, rank: u8, reason: MalformedReason, message: impl FnOnce() -> String) {
        *self.malformed.entry(reason).or_default() += 1;
        if self.malformed_frames.len() < self.opts.malformed_examples {
            let m = MalformedFrame { frame: self.frames, reason: reason.key(), message: message() };
            self.malformed_frames.push((rank, m));
        }
    }

    /// The shards of one replay (in any order) added up into one tally, as if one shard had
    /// seen every frame.
    pub fn merge(shards: Vec<Replay>) -> Replay {
        let mut shards = shards;
        shards.sort_by_key(|r| r.shard.index);
        for r in &mut shards {
            r.close_interval();
        }
        let mut it = shards.into_iter();
        let mut all = it.next().expect("a replay has at least one shard");
        for r in it {
            debug_assert_eq!(r.frames, all.frames, "every shard reads every frame");
            let (a, b) = (&mut all.layers, r.layers);
            a.ethernet += b.ethernet;
            a.sll += b.sll;
            a.vlan += b.vlan;
            a.ipv4 += b.ipv4;
            a.ipv6 += b.ipv6;
            a.arp += b.arp;
            a.udp += b.udp;
            a.tcp += b.tcp;
            a.icmp += b.icmp;
            a.rtp += b.rtp;
            a.other += b.other;
            for (x, y) in all.vlans.iter_mut().zip(r.vlans.iter()) {
                *x += y;
            }
            for (k, n) in r.malformed {
                *all.malformed.entry(k).or_default() += n;
            }
            all.malformed_frames.extend(r.malformed_frames);
            all.cut_by_snaplen += r.cut_by_snaplen;
            all.checksum_errors.ipv4 += r.checksum_errors.ipv4;
            all.checksum_errors.udp += r.checksum_errors.udp;
            // Shards own disjoint parts of the flow space: no flow is in two.
            all.flows.absorb(r.flows);
            all.rtp.absorb(r.rtp);
            all.series.merge(r.series);
            all.sip.t38_packets += r.sip.t38_packets;
        }
        // The first malformed frames of all, in frame order (a stable sort keeps one frame's
        // problems in the order they were found).
        all.malformed_frames.sort_by_key(|(rank, m)| (m.frame, *rank));
        all.malformed_frames.truncate(all.opts.malformed_examples);
        all.shard = Shard::ALL;
        all
    }

    /// What the tally holds so far, for a line while a live replay runs.
    pub fn progress(&self) -> Progress {
        Progress {
            frames: self.frames,
            bytes: self.bytes,
            rtp_streams: self.rtp.confirmed() as u64,
            policer_dropped: self.police.as_ref().map(|p| p.report().dropped_frames),
        }
    }

    /// The report. `origin` says where the frames came from; `stop` is the error that ended
    /// reading early, if any. A sharded replay is [merged](Replay::merge) first.
    pub fn finish(mut self, file: &str, origin: &FrameSource, stop: Option<&CaptureError>) -> ReplayReport {
        assert_eq!(self.shard, Shard::ALL, "a sharded replay is merged before its report");
        self.close_interval();
        let untracked_flow_frames = self.flows.untracked_frames;
        let mut flows: Vec<(AnyFlow, FlowCount)> = self.flows.flows.into_iter().collect();
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
        let mut series = self.series;
        if self.opts.interval_ns.is_none() && duration_ns >= crate::series::SHORT_RUN_NS {
            series.widen_to(1_000_000_000);
        }
        let end = self.last_ts.unwrap_or(0).saturating_add(1);
        let policer_series = self.police.as_ref().and_then(|p| p.series(series.interval_ns(), end));
        let series = series.finish(end);
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
            format: origin.format,
            link_types: origin.link_types.clone(),
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
            malformed_frames: self.malformed_frames.into_iter().map(|(_, m)| m).collect(),
            cut_by_snaplen: self.cut_by_snaplen,
            checksum_errors: self.checksum_errors,
            top_flows,
            lossy_flows,
            lossy_flows_total,
            flows: n_flows,
            untracked_flow_frames,
            first_ts_ns: self.first_ts,
            last_ts_ns: self.last_ts,
            ts_backwards: self.ts_backwards,
            duration_s: duration_ns as f64 / 1e9,
            avg_mbps: if duration_ns > 0 { self.bytes as f64 * 8.0 / duration_ns as f64 * 1e3 } else { 0.0 },
            peak_mbps_1ms: self.peak_1ms.peak_mbps(),
            peak_mbps_1s: self.peak_1s.peak_mbps(),
            over_snaplen: origin.over_snaplen,
            ts_out_of_range: origin.ts_out_of_range,
            policer: self.police.as_ref().map(Duplex::report),
            rtp_streams,
            sip,
            rtcp_packets: self.rtcp.packets,
            rtp_not_v2_in_range: self.rtp.not_rtp_in_range,
            rtp_untracked_packets: self.rtp.untracked_packets,
            bgp: self.bgp.finish(),
            series,
            policer_series,
            live: None,
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
