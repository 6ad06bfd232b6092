//! SIP in captures: the statistics of `tshark -z sip,stat`, the calls of Wireshark's VoIP
//! Calls, and the media their SDP sets up, which the RTP analysis then uses (dynamic payload
//! types' clocks, streams found without heuristics, T.38 fax that stops a stream counting as
//! RTP).
//!
//! Counted as tshark counts (facts from Wireshark's SIP dissector and its sip,stat tap):
//! - `messages`: every SIP message, several per TCP segment or one split over segments;
//! - `resent` (UDP only): per (Call-ID, source, destination) the last CSeq is remembered; a
//!   request is resent when its CSeq number and method repeat while no response to it was
//!   seen (ACK and CANCEL never are), a final response when its CSeq and code repeat;
//! - setup time (UDP only): at an ACK, the time since the last request in its direction
//!   that was not a resend (the INVITE, or a CANCEL after it), in whole ms as
//!   `secs × 1000 + ns / 10^6` (whole seconds apart, then the truncated nanosecond part);
//!   a setup of 0 ms is not counted. tshark adds these in 32 bits (it wraps after 49.7 days);
//!   here they do not wrap.

use std::collections::BTreeMap;
use std::hash::{Hash, Hasher};
use std::net::IpAddr;

use rustc_hash::{FxHashMap, FxHasher};
use serde::Serialize;
use xconnect_frame::sdp::{self, SdpError};
use xconnect_frame::sip::{looks_like_sip, SipError, SipMessage, StartLine};

use crate::rtp::{Clock, RtpStreamRow};

/// Calls tracked at the most; further INVITE dialogs are counted in `calls_untracked`.
pub const MAX_CALLS: usize = 100_000;
/// Media endpoints remembered at the most (about 300 bytes each).
const MAX_ENDPOINTS: usize = 200_000;
/// Media descriptions kept per call.
const MAX_MEDIA_PER_CALL: usize = 8;
/// Payload types listed per media description.
const MAX_PAYLOAD_ROWS: usize = 16;
/// Transactions remembered for retransmission detection (about 64 bytes each).
const MAX_TRANSACTIONS: usize = 500_000;
/// Bytes held per TCP direction while a message is incomplete.
const MAX_TCP_BUFFER: usize = 65_536;
/// Bytes held over all TCP directions at once.
const MAX_TCP_HELD: usize = 32 << 20;
/// Characters kept of a Call-ID, From or To.
const MAX_ADDRESS: usize = 128;
/// Bytes the calls list may keep (its strings and media rows): beyond it, further calls are
/// counted in `calls_untracked` and further media rows are not listed. With the bounds above,
/// SIP analysis keeps at most about 64 + 60 + 32 + 32 MiB whatever the capture.
const MAX_CALL_BYTES: usize = 64 << 20;

/// The ports SIP is expected on; elsewhere it is recognised by its first line.
#[inline(always)]
pub fn is_sip_port(p: u16) -> bool {
    p == 5060 || p == 5080
}

/// A transport endpoint packed for hashing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
struct Endpoint(u128, u16);

impl Endpoint {
    fn new(ip: IpAddr, port: u16) -> Self {
        let v = match ip {
            IpAddr::V4(v4) => u128::from(v4.to_ipv6_mapped()),
            IpAddr::V6(v6) => u128::from(v6),
        };
        Endpoint(v, port)
    }
}

fn hash_str(s: &str) -> u64 {
    let mut h = FxHasher::default();
    s.hash(&mut h);
    h.finish()
}

/// What the signalling set up on a media endpoint.
#[derive(Debug, Clone)]
enum MediaEntry {
    /// RTP; the clock of each dynamic payload type 96–127 (its rtpmap).
    Rtp(Box<[Clock; 32]>),
    /// T.38 fax over UDPTL.
    T38,
}

/// The verdict for a UDP packet between two endpoints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MediaVerdict {
    /// No SDP named either endpoint.
    Unknown,
    /// RTP set up by SDP (index into the table).
    Rtp(u32),
    /// T.38 set up by SDP: not RTP.
    T38,
}

/// Media endpoints from SDP, the way Wireshark's conversations hold them: an endpoint is
/// (address, port) from a `c=`/`m=` pair, valid from the frame whose SDP named it; a packet
/// takes its source's entry, else its destination's.
#[derive(Debug, Default)]
pub struct MediaTable {
    by_endpoint: FxHashMap<Endpoint, u32>,
    entries: Vec<MediaEntry>,
    /// Changes whenever an endpoint is set: verdicts cached by callers are valid while it
    /// stays the same.
    generation: u32,
    /// Endpoints not remembered because the table was full.
    pub dropped: u64,
}

impl MediaTable {
    /// Whether no SDP was seen (the per-packet lookup is skipped).
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.by_endpoint.is_empty()
    }

    /// The table's generation (see [`MediaTable::verdict`] caching).
    #[inline]
    pub fn generation(&self) -> u32 {
        self.generation
    }

    /// The verdict for a packet.
    #[inline]
    pub fn verdict(&self, src: IpAddr, src_port: u16, dst: IpAddr, dst_port: u16) -> MediaVerdict {
        if self.is_empty() {
            return MediaVerdict::Unknown;
        }
        let hit = self
            .by_endpoint
            .get(&Endpoint::new(src, src_port))
            .or_else(|| self.by_endpoint.get(&Endpoint::new(dst, dst_port)));
        match hit.map(|&i| (i, &self.entries[i as usize])) {
            None => MediaVerdict::Unknown,
            Some((i, MediaEntry::Rtp(_))) => MediaVerdict::Rtp(i),
            Some((_, MediaEntry::T38)) => MediaVerdict::T38,
        }
    }

    /// The clock of payload type `pt` on RTP media `idx`: the static table below 96 (whatever
    /// the SDP says, as Wireshark does), the rtpmap above.
    #[inline]
    pub fn clock(&self, idx: u32, pt: u8) -> Clock {
        if pt < 96 {
            return Clock::of_static(pt);
        }
        match self.entries.get(idx as usize) {
            Some(MediaEntry::Rtp(map)) => map[usize::from(pt - 96)],
            _ => Clock::Unknown,
        }
    }

    fn set(&mut self, at: Endpoint, entry: MediaEntry) {
        // A renegotiated endpoint (a re-INVITE) takes its slot again: the table grows only
        // with endpoints, never with SDP bodies.
        match self.by_endpoint.get(&at) {
            Some(&i) => self.entries[i as usize] = entry,
            None if self.by_endpoint.len() >= MAX_ENDPOINTS => {
                self.dropped += 1;
                return;
            }
            None => {
                self.by_endpoint.insert(at, self.entries.len() as u32);
                self.entries.push(entry);
            }
        }
        self.generation = self.generation.wrapping_add(1);
    }
}

/// A payload type as SDP negotiated it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct PayloadRow {
    /// Payload type number.
    pub pt: u8,
    /// Encoding name (rtpmap, or the static table's).
    pub name: Option<String>,
    /// Clock rate, Hz.
    pub clock_rate: Option<u32>,
}

/// One media description of a call's SDP.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct MediaRow {
    /// "offer" (in a request) or "answer" (in a response).
    pub sdp: &'static str,
    /// The frame that carried it.
    pub frame: u64,
    /// Where the media goes.
    pub address: Option<IpAddr>,
    /// Port.
    pub port: u16,
    /// `audio`, `image`, …
    pub kind: String,
    /// `RTP/AVP`, `udptl`, …
    pub transport: String,
    /// Payload types offered or accepted.
    pub payload_types: Vec<PayloadRow>,
    /// `a=ptime`, ms.
    pub ptime_ms: Option<u32>,
    /// T.38 fax.
    pub t38: bool,
}

/// A stream bound to a call.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct StreamRef {
    /// Source.
    pub src: IpAddr,
    /// Source port.
    pub src_port: u16,
    /// Destination.
    pub dst: IpAddr,
    /// Destination port.
    pub dst_port: u16,
    /// SSRC.
    pub ssrc: u32,
}

/// Where a call stands.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum CallState {
    /// INVITE sent, no provisional response with ringing yet.
    Setup,
    /// 180/183 seen.
    Ringing,
    /// Answered, no BYE when the capture ends.
    InCall,
    /// Answered and ended by BYE.
    Completed,
    /// Ended by a final failure response (the code says which).
    Rejected,
    /// Ended by CANCEL before an answer.
    Cancelled,
}

impl CallState {
    /// The name the JSON uses.
    pub fn name(self) -> &'static str {
        match self {
            CallState::Setup => "setup",
            CallState::Ringing => "ringing",
            CallState::InCall => "in_call",
            CallState::Completed => "completed",
            CallState::Rejected => "rejected",
            CallState::Cancelled => "cancelled",
        }
    }
}

/// One call (an INVITE dialog, by Call-ID).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct CallRow {
    /// Call-ID.
    pub call_id: String,
    /// From address.
    pub from: String,
    /// To address.
    pub to: String,
    /// First INVITE, ns since the epoch.
    pub start_ns: u64,
    /// First 2xx to the INVITE.
    pub answer_ns: Option<u64>,
    /// BYE, CANCEL or the final failure.
    pub end_ns: Option<u64>,
    /// State at the end of the capture.
    pub state: CallState,
    /// The final failure code of a rejected call.
    pub code: Option<u16>,
    /// INVITE to answer, ms.
    pub setup_ms: Option<f64>,
    /// Answer to end (or to the capture's last frame while in call), s.
    pub duration_s: Option<f64>,
    /// SDP media, offers and answers in order.
    pub media: Vec<MediaRow>,
    /// RTP streams to or from the call's media endpoints.
    pub streams: Vec<StreamRef>,
    /// The worst MOS of those streams.
    pub worst_mos: Option<f64>,
}

/// Setup times (tshark's sip,stat figure).
#[derive(Debug, Clone, Copy, Serialize, PartialEq)]
pub struct SetupStats {
    /// Setups counted.
    pub count: u64,
    /// Mean, ms (tshark prints the integer part).
    pub mean: f64,
    /// Smallest, ms.
    pub min: u64,
    /// Largest, ms.
    pub max: u64,
}

/// The `sip` section of the replay report.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct SipReport {
    /// SIP messages.
    pub messages: u64,
    /// Retransmissions (UDP).
    pub resent: u64,
    /// Requests per method.
    pub requests: BTreeMap<String, u64>,
    /// Responses per status code.
    pub responses: BTreeMap<String, u64>,
    /// INVITE to ACK (UDP).
    pub setup_ms: Option<SetupStats>,
    /// Calls, by start time.
    pub calls: Vec<CallRow>,
    /// INVITE dialogs beyond [`MAX_CALLS`].
    pub calls_untracked: u64,
    /// UDP packets to or from T.38 endpoints (not analyzed as RTP).
    pub t38_packets: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TxnState {
    Nothing,
    Request,
    Provisional,
    Final,
}

#[derive(Debug, Clone, Copy)]
struct Txn {
    cseq: u32,
    method: u64,
    state: TxnState,
    code: u16,
    request_ns: u64,
}

#[derive(Debug)]
struct CallState0 {
    row: CallRow,
    endpoints: Vec<Endpoint>,
    /// The CSeq of the INVITE that set the call up (a new one after a rejection retries).
    invite_cseq: u32,
}

#[derive(Debug, Default)]
struct TcpBuf {
    next_seq: u32,
    buf: Vec<u8>,
}

/// The running SIP analysis.
#[derive(Debug, Default)]
pub struct SipTracker {
    messages: u64,
    resent: u64,
    requests: BTreeMap<String, u64>,
    responses: BTreeMap<u16, u64>,
    setup_n: u64,
    setup_sum: u64,
    setup_min: u64,
    setup_max: u64,
    txns: FxHashMap<(u64, Endpoint, Endpoint), Txn>,
    calls: FxHashMap<u64, usize>,
    call_list: Vec<CallState0>,
    calls_untracked: u64,
    tcp: FxHashMap<(Endpoint, Endpoint), TcpBuf>,
    /// Bytes in `tcp`'s buffers.
    tcp_held: usize,
    /// Bytes the calls list keeps (estimated).
    call_bytes: usize,
    /// Media endpoints from SDP.
    pub media: MediaTable,
    /// UDP packets to or from T.38 endpoints.
    pub t38_packets: u64,
    /// Problems found in the frame just read (the caller counts them and clears the list).
    pub problems: Vec<SipProblem>,
}

/// Where a SIP message came from, for the tracker.
#[derive(Debug, Clone, Copy)]
pub struct Origin {
    /// Frame number, from 1.
    pub frame: u64,
    /// Capture time, ns.
    pub ts_ns: u64,
    /// Source.
    pub src: IpAddr,
    /// Source port.
    pub src_port: u16,
    /// Destination.
    pub dst: IpAddr,
    /// Destination port.
    pub dst_port: u16,
}

/// A problem found in a frame, for the replay's malformed tally.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SipProblem {
    /// The SIP message.
    Sip(SipError),
    /// Its SDP.
    Sdp(SdpError),
}

impl SipProblem {
    /// The tally key's reason.
    pub fn reason(self) -> xconnect_frame::MalformedReason {
        match self {
            SipProblem::Sip(e) => xconnect_frame::MalformedReason::Sip(e),
            SipProblem::Sdp(e) => xconnect_frame::MalformedReason::Sdp(e),
        }
    }
}

impl SipProblem {
    /// "sip" or "sdp", for messages that name the layer.
    pub fn layer(self) -> &'static str {
        match self {
            SipProblem::Sip(_) => "sip",
            SipProblem::Sdp(_) => "sdp",
        }
    }
}

impl std::fmt::Display for SipProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SipProblem::Sip(e) => e.fmt(f),
            SipProblem::Sdp(e) => e.fmt(f),
        }
    }
}

impl SipTracker {
    /// Whether a UDP payload should be read as SIP. The first byte decides for almost every
    /// packet: RTP and RTCP start with 0x80–0xBF, SIP with a capital letter.
    #[inline(always)]
    pub fn wants_udp(src_port: u16, dst_port: u16, payload: &[u8]) -> bool {
        match payload.first() {
            Some(c) if c.is_ascii_uppercase() => {
                is_sip_port(src_port) || is_sip_port(dst_port) || looks_like_sip(payload)
            }
            _ => is_sip_port(src_port) || is_sip_port(dst_port),
        }
    }

    /// Whether a TCP segment should be read as SIP.
    #[inline]
    pub fn wants_tcp(&self, src_port: u16, dst_port: u16, payload: &[u8]) -> bool {
        !payload.is_empty()
            && (is_sip_port(src_port) || is_sip_port(dst_port) || !self.tcp.is_empty() || looks_like_sip(payload))
    }

    /// One UDP datagram. Keep-alives (only line ends) are not messages.
    pub fn datagram(&mut self, o: &Origin, payload: &[u8]) {
        if payload.iter().all(|c| c.is_ascii_whitespace()) {
            return;
        }
        match SipMessage::parse(payload, false) {
            Ok(m) => self.message(o, &m, true),
            Err(e) => self.problems.push(SipProblem::Sip(e)),
        }
    }

    /// One TCP segment with sequence number `seq`.
    pub fn segment(&mut self, o: &Origin, seq: u32, payload: &[u8]) {
        let key = (Endpoint::new(o.src, o.src_port), Endpoint::new(o.dst, o.dst_port));
        let held = self.tcp.remove(&key);
        let data: std::borrow::Cow<'_, [u8]> = match held {
            Some(mut h) => {
                self.tcp_held -= h.buf.len();
                let ahead = seq.wrapping_sub(h.next_seq);
                if ahead == 0 {
                    h.buf.extend_from_slice(payload);
                } else if ahead > 0x8000_0000 {
                    // A retransmission: keep only what it adds.
                    let overlap = h.next_seq.wrapping_sub(seq) as usize;
                    if overlap < payload.len() {
                        h.buf.extend_from_slice(&payload[overlap..]);
                    }
                } else {
                    // A gap: the held message cannot be completed.
                    self.problems.push(SipProblem::Sip(SipError::Incomplete));
                    h.buf.clear();
                    if !looks_like_sip(payload) {
                        return;
                    }
                    h.buf.extend_from_slice(payload);
                }
                std::borrow::Cow::Owned(h.buf)
            }
            None if !looks_like_sip(payload) && !is_sip_port(o.src_port) && !is_sip_port(o.dst_port) => return,
            None => std::borrow::Cow::Borrowed(payload),
        };
        let end_seq = seq.wrapping_add(payload.len() as u32);
        let mut rest: &[u8] = &data;
        loop {
            // Line ends between messages are keep-alives (RFC 5626 §3.5.1).
            let skip = rest.iter().take_while(|c| c.is_ascii_whitespace()).count();
            rest = &rest[skip..];
            if rest.is_empty() {
                return;
            }
            match SipMessage::parse(rest, true) {
                Ok(m) => {
                    self.message(o, &m, false);
                    rest = &rest[m.len..];
                }
                Err(SipError::Incomplete) => {
                    if rest.len() > MAX_TCP_BUFFER || self.tcp_held + rest.len() > MAX_TCP_HELD {
                        self.problems.push(SipProblem::Sip(SipError::Incomplete));
                    } else {
                        self.tcp_held += rest.len();
                        self.tcp.insert(key, TcpBuf { next_seq: end_seq, buf: rest.to_vec() });
                    }
                    return;
                }
                Err(e) => {
                    self.problems.push(SipProblem::Sip(e));
                    return;
                }
            }
        }
    }

    fn message(&mut self, o: &Origin, m: &SipMessage<'_>, udp: bool) {
        self.messages += 1;
        match m.start {
            StartLine::Request { method } => match self.requests.get_mut(method) {
                Some(n) => *n += 1,
                None => {
                    self.requests.insert(method.to_string(), 1);
                }
            },
            StartLine::Response { code } => *self.responses.entry(code).or_default() += 1,
        }
        let (Some(call_id), Some((cseq, cseq_method))) = (m.call_id(), m.cseq()) else {
            self.problems.push(SipProblem::Sip(SipError::MissingHeader));
            return;
        };
        let id = hash_str(call_id);
        if udp {
            self.transaction(o, m, id, cseq, cseq_method);
        }
        self.call(o, m, id, call_id, (cseq, cseq_method));
    }

    /// Retransmissions and setup time, as Wireshark tracks them (UDP only).
    fn transaction(&mut self, o: &Origin, m: &SipMessage<'_>, id: u64, cseq: u32, cseq_method: &str) {
        let key = (id, Endpoint::new(o.src, o.src_port), Endpoint::new(o.dst, o.dst_port));
        let request = matches!(m.start, StartLine::Request { .. });
        let method = hash_str(cseq_method);
        if let (StartLine::Request { method: "ACK" }, Some(t)) = (m.start, self.txns.get(&key)) {
            let ms = setup_ms(t.request_ns, o.ts_ns);
            if ms > 0 {
                let ms = ms as u64;
                self.setup_min = if self.setup_n == 0 { ms } else { self.setup_min.min(ms) };
                self.setup_max = self.setup_max.max(ms);
                self.setup_n += 1;
                self.setup_sum += ms;
            }
        }
        let fresh =
            Txn { cseq, method, state: TxnState::Nothing, code: 0, request_ns: if request { o.ts_ns } else { 0 } };
        if self.txns.len() >= MAX_TRANSACTIONS && !self.txns.contains_key(&key) {
            return;
        }
        let (t, compare) = match self.txns.get_mut(&key) {
            Some(t) => {
                let compare = t.cseq;
                if cseq != t.cseq {
                    *t = Txn { code: t.code, request_ns: if request { o.ts_ns } else { t.request_ns }, ..fresh };
                }
                (t, compare)
            }
            None => (self.txns.entry(key).or_insert(fresh), 0),
        };
        let resent = match m.start {
            StartLine::Request { .. } => {
                cseq == compare
                    && t.state == TxnState::Request
                    && method == t.method
                    && cseq_method != "ACK"
                    && cseq_method != "CANCEL"
            }
            StartLine::Response { code } => {
                cseq == compare && t.state == TxnState::Final && method == t.method && code >= 200 && code == t.code
            }
        };
        match m.start {
            StartLine::Request { .. } => {
                t.state = TxnState::Request;
                // Every request that is not a resend restarts the clock (a CANCEL too: the
                // ACK to a 408 after it then measures from the CANCEL, as tshark does).
                if !resent {
                    t.request_ns = o.ts_ns;
                }
            }
            StartLine::Response { code } if code >= 200 => {
                t.code = code;
                t.state = TxnState::Final;
            }
            StartLine::Response { .. } => t.state = TxnState::Provisional,
        }
        self.resent += u64::from(resent);
    }

    fn call(&mut self, o: &Origin, m: &SipMessage<'_>, id: u64, call_id: &str, (cseq, cseq_method): (u32, &str)) {
        let idx = match (self.calls.get(&id), m.start) {
            (Some(&i), _) => i,
            (None, StartLine::Request { method: "INVITE" }) => {
                if self.call_list.len() >= MAX_CALLS || self.call_bytes >= MAX_CALL_BYTES {
                    self.calls_untracked += 1;
                    return;
                }
                let cut = |s: Option<&str>| s.unwrap_or("").chars().take(MAX_ADDRESS).collect::<String>();
                self.call_list.push(CallState0 {
                    row: CallRow {
                        call_id: call_id.chars().take(MAX_ADDRESS).collect(),
                        from: cut(m.from()),
                        to: cut(m.to()),
                        start_ns: o.ts_ns,
                        answer_ns: None,
                        end_ns: None,
                        state: CallState::Setup,
                        code: None,
                        setup_ms: None,
                        duration_s: None,
                        media: Vec::new(),
                        streams: Vec::new(),
                        worst_mos: None,
                    },
                    endpoints: Vec::new(),
                    invite_cseq: cseq,
                });
                let row = &self.call_list[self.call_list.len() - 1].row;
                self.call_bytes +=
                    std::mem::size_of::<CallState0>() + row.call_id.len() + row.from.len() + row.to.len() + 64;
                self.calls.insert(id, self.call_list.len() - 1);
                self.call_list.len() - 1
            }
            (None, StartLine::Request { method: "BYE" | "CANCEL" }) => {
                self.problems.push(SipProblem::Sip(SipError::UnknownDialog));
                return;
            }
            (None, _) => return,
        };
        let CallState0 { row: c, invite_cseq, .. } = &mut self.call_list[idx];
        let answered = c.answer_ns.is_some();
        match m.start {
            // A new INVITE after a failure (an authentication challenge, 401 or 407, most
            // often) is the caller trying again: the call is set up anew.
            StartLine::Request { method: "INVITE" }
                if c.state == CallState::Rejected && !answered && cseq != *invite_cseq =>
            {
                c.state = CallState::Setup;
                c.end_ns = None;
                c.code = None;
                *invite_cseq = cseq;
            }
            StartLine::Request { method: "BYE" } if c.end_ns.is_none() => {
                c.end_ns = Some(o.ts_ns);
                c.state = if answered { CallState::Completed } else { CallState::Cancelled };
            }
            StartLine::Request { method: "CANCEL" } if !answered && c.end_ns.is_none() => {
                c.end_ns = Some(o.ts_ns);
                c.state = CallState::Cancelled;
            }
            StartLine::Response { code } if cseq_method == "INVITE" && c.end_ns.is_none() => match code {
                180 | 183 if c.state == CallState::Setup => c.state = CallState::Ringing,
                200..=299 if !answered => {
                    c.answer_ns = Some(o.ts_ns);
                    c.state = CallState::InCall;
                }
                300..=699 if !answered => {
                    c.end_ns = Some(o.ts_ns);
                    c.state = if code == 487 { CallState::Cancelled } else { CallState::Rejected };
                    c.code = Some(code);
                }
                _ => {}
            },
            _ => {}
        }
        if m.has_sdp() {
            self.sdp(o, m, idx);
        }
    }

    fn sdp(&mut self, o: &Origin, m: &SipMessage<'_>, idx: usize) {
        let (session, problem) = sdp::parse(m.body);
        if let Some(p) = problem {
            self.problems.push(SipProblem::Sdp(p));
        }
        let offer = matches!(m.start, StartLine::Request { method } if method != "ACK");
        for media in session.media {
            let Some(address) = media.address.filter(|_| media.port != 0) else { continue };
            let at = Endpoint::new(address, media.port);
            let rtp = media.is_rtp();
            let t38 = media.is_t38();
            if t38 {
                self.media.set(at, MediaEntry::T38);
            } else if rtp {
                let mut map = Box::new([Clock::Unknown; 32]);
                for r in &media.rtpmap {
                    if r.pt >= 96 {
                        map[usize::from(r.pt - 96)] = if r.name.to_ascii_lowercase().starts_with("telephone-event") {
                            Clock::Event
                        } else {
                            Clock::Hz(r.rate)
                        };
                    }
                }
                self.media.set(at, MediaEntry::Rtp(map));
            }
            let call = &mut self.call_list[idx];
            // (A call names a few endpoints; a capture that renegotiates without end keeps
            // its first ones.)
            if call.endpoints.len() < 2 * MAX_MEDIA_PER_CALL && !call.endpoints.contains(&at) {
                call.endpoints.push(at);
            }
            if call.row.media.len() < MAX_MEDIA_PER_CALL && self.call_bytes < MAX_CALL_BYTES {
                let payload_types: Vec<PayloadRow> = media
                    .formats
                    .iter()
                    .filter_map(|f| f.parse::<u8>().ok().filter(|p| *p < 128))
                    .take(MAX_PAYLOAD_ROWS)
                    .map(|pt| {
                        let map = media.rtpmap.iter().find(|r| r.pt == pt);
                        PayloadRow {
                            pt,
                            name: map.map(|r| r.name.clone()).or_else(|| static_name(pt).map(str::to_string)),
                            // (An rtpmap always has its rate: the SDP parser requires it.)
                            clock_rate: map.map(|r| r.rate).or_else(|| crate::rtp::clock_rate(pt)),
                        }
                    })
                    .collect();
                self.call_bytes += std::mem::size_of::<MediaRow>()
                    + media.kind.len()
                    + media.proto.len()
                    + payload_types
                        .iter()
                        .map(|p| std::mem::size_of::<PayloadRow>() + p.name.as_ref().map_or(0, String::len))
                        .sum::<usize>();
                call.row.media.push(MediaRow {
                    sdp: if offer { "offer" } else { "answer" },
                    frame: o.frame,
                    address: Some(address),
                    port: media.port,
                    kind: media.kind.clone(),
                    transport: media.proto.clone(),
                    payload_types: if rtp { payload_types } else { Vec::new() },
                    ptime_ms: media.ptime,
                    t38,
                });
            }
        }
    }

    /// The report; `streams` are the replay's RTP streams (bound to calls by endpoint),
    /// `last_ns` the capture's last frame (the duration of calls still in progress).
    pub fn finish(self, streams: &[RtpStreamRow], last_ns: Option<u64>) -> SipReport {
        let mut by_endpoint: FxHashMap<Endpoint, Vec<usize>> = FxHashMap::default();
        for (i, c) in self.call_list.iter().enumerate() {
            for e in &c.endpoints {
                by_endpoint.entry(*e).or_default().push(i);
            }
        }
        let mut calls: Vec<CallRow> = self.call_list.into_iter().map(|c| c.row).collect();
        for s in streams {
            // The latest call that named one of the stream's endpoints before it started.
            let owner = [Endpoint::new(s.src, s.src_port), Endpoint::new(s.dst, s.dst_port)]
                .iter()
                .filter_map(|e| by_endpoint.get(e))
                .flatten()
                .copied()
                .filter(|&i| calls[i].start_ns <= s.first_ns)
                .max_by_key(|&i| (calls[i].start_ns, i));
            if let Some(i) = owner {
                let c = &mut calls[i];
                c.streams.push(StreamRef {
                    src: s.src,
                    src_port: s.src_port,
                    dst: s.dst,
                    dst_port: s.dst_port,
                    ssrc: s.ssrc,
                });
                if let Some(m) = s.mos {
                    c.worst_mos = Some(c.worst_mos.map_or(m, |w: f64| w.min(m)));
                }
            }
        }
        for c in &mut calls {
            c.setup_ms = c.answer_ns.map(|a| a.saturating_sub(c.start_ns) as f64 / 1e6);
            c.duration_s = c.answer_ns.and_then(|a| {
                let end = c.end_ns.or(last_ns)?;
                Some(end.saturating_sub(a) as f64 / 1e9)
            });
        }
        calls.sort_by(|a, b| (a.start_ns, &a.call_id).cmp(&(b.start_ns, &b.call_id)));
        SipReport {
            messages: self.messages,
            resent: self.resent,
            requests: self.requests,
            responses: self.responses.into_iter().map(|(c, n)| (c.to_string(), n)).collect(),
            setup_ms: (self.setup_n > 0).then(|| SetupStats {
                count: self.setup_n,
                mean: self.setup_sum as f64 / self.setup_n as f64,
                min: self.setup_min,
                max: self.setup_max,
            }),
            calls,
            calls_untracked: self.calls_untracked,
            t38_packets: self.t38_packets,
        }
    }
}

/// Whole ms from `from` to `to` as Wireshark computes them: whole seconds × 1000 plus the
/// nanosecond difference truncated to ms (which may be negative).
fn setup_ms(from: u64, to: u64) -> i64 {
    let secs = (to / 1_000_000_000) as i64 - (from / 1_000_000_000) as i64;
    let ns = (to % 1_000_000_000) as i64 - (from % 1_000_000_000) as i64;
    secs * 1000 + ns / 1_000_000
}

/// Encoding names of the static payload types (RFC 3551 tables 4 and 5).
fn static_name(pt: u8) -> Option<&'static str> {
    Some(match pt {
        0 => "PCMU",
        3 => "GSM",
        4 => "G723",
        5 | 6 | 16 | 17 => "DVI4",
        7 => "LPC",
        8 => "PCMA",
        9 => "G722",
        10 | 11 => "L16",
        12 => "QCELP",
        13 => "CN",
        14 => "MPA",
        15 => "G728",
        18 => "G729",
        25 => "CelB",
        26 => "JPEG",
        28 => "nv",
        31 => "H261",
        32 => "MPV",
        33 => "MP2T",
        34 => "H263",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn origin(frame: u64, ts_ns: u64, from_a: bool) -> Origin {
        let (a, b): (IpAddr, IpAddr) = ("192.0.2.1".parse().unwrap(), "192.0.2.2".parse().unwrap());
        let (src, dst) = if from_a { (a, b) } else { (b, a) };
        Origin { frame, ts_ns, src, src_port: 5060, dst, dst_port: 5060 }
    }

    fn msg(start: &str, cseq: &str, body: &str) -> Vec<u8> {
        let ct = if body.is_empty() { "" } else { "Content-Type: application/sdp\r\n" };
        format!(
            "{start}\r\nCall-ID: c1\r\nFrom: <sip:a@x>;tag=1\r\nTo: <sip:b@y>\r\nCSeq: {cseq}\r\n{ct}Content-Length: {}\r\n\r\n{body}",
            body.len()
        )
        .into_bytes()
    }

    #[test]
    fn retransmissions_setup_and_call_state() {
        let mut t = SipTracker::default();
        let sdp = "v=0\r\nc=IN IP4 192.0.2.1\r\nm=audio 4000 RTP/AVP 8 101\r\na=rtpmap:101 telephone-event/8000\r\n";
        let invite = msg("INVITE sip:b@y SIP/2.0", "1 INVITE", sdp);
        t.datagram(&origin(1, 1_000_000_000, true), &invite);
        t.datagram(&origin(2, 1_500_000_000, true), &invite); // resent
        t.datagram(&origin(3, 1_600_000_000, false), &msg("SIP/2.0 180 Ringing", "1 INVITE", ""));
        let ok = msg("SIP/2.0 200 OK", "1 INVITE", "v=0\r\nc=IN IP4 192.0.2.2\r\nm=image 5000 udptl t38\r\n");
        t.datagram(&origin(4, 2_000_000_000, false), &ok);
        t.datagram(&origin(5, 2_100_000_000, false), &ok); // resent
        t.datagram(&origin(6, 2_250_000_000, true), &msg("ACK sip:b@y SIP/2.0", "1 ACK", ""));
        t.datagram(&origin(7, 9_000_000_000, false), &msg("BYE sip:a@x SIP/2.0", "1 BYE", ""));
        assert!(t.problems.is_empty(), "{:?}", t.problems);
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let b: IpAddr = "192.0.2.2".parse().unwrap();
        let MediaVerdict::Rtp(i) = t.media.verdict(a, 4000, b, 9) else { panic!() };
        assert_eq!(t.media.clock(i, 101), Clock::Event);
        assert_eq!(t.media.clock(i, 8), Clock::Hz(8000));
        assert_eq!(t.media.verdict(a, 9, b, 5000), MediaVerdict::T38);
        let r = t.finish(&[], None);
        assert_eq!((r.messages, r.resent), (7, 2));
        // INVITE at 1.0 s (the CSeq's first request), ACK at 2.25 s.
        assert_eq!(r.setup_ms.unwrap().max, 1250);
        let c = &r.calls[0];
        assert_eq!((c.state, c.setup_ms, c.duration_s), (CallState::Completed, Some(1000.0), Some(7.0)));
        assert_eq!(c.media.len(), 4, "the offer twice (resent) and the answer twice");
        assert_eq!(c.media[0].payload_types[1].name.as_deref(), Some("telephone-event"));
    }

    #[test]
    fn tcp_messages_split_and_joined() {
        let mut t = SipTracker::default();
        let mut all = msg("INVITE sip:b@y SIP/2.0", "1 INVITE", "");
        all.extend(msg("SIP/2.0 100 Trying", "1 INVITE", ""));
        all.extend(msg("SIP/2.0 200 OK", "1 INVITE", ""));
        let o = origin(1, 0, true);
        // In three segments cut inside messages, with a retransmitted one in between.
        let (x, y) = (50, 170);
        t.segment(&o, 1000, &all[..x]);
        t.segment(&o, 1000, &all[..x]);
        t.segment(&o, 1000 + x as u32, &all[x..y]);
        t.segment(&o, 1000 + y as u32, &all[y..]);
        assert!(t.problems.is_empty(), "{:?}", t.problems);
        let r = t.finish(&[], None);
        assert_eq!(r.messages, 3);
        assert_eq!(r.resent, 0, "TCP has no retransmission count");
        assert_eq!(r.calls[0].state, CallState::InCall);
    }

    #[test]
    fn a_renegotiated_endpoint_keeps_its_slot() {
        // A call that re-INVITEs a thousand times on the same ports: one endpoint, one entry.
        let mut t = MediaTable::default();
        let at = Endpoint::new("192.0.2.1".parse().unwrap(), 4000);
        for i in 0..1000 {
            t.set(at, if i % 2 == 0 { MediaEntry::T38 } else { MediaEntry::Rtp(Box::new([Clock::Unknown; 32])) });
        }
        assert_eq!((t.by_endpoint.len(), t.entries.len()), (1, 1));
        assert_eq!(
            t.verdict("192.0.2.1".parse().unwrap(), 4000, "192.0.2.2".parse().unwrap(), 9),
            MediaVerdict::Rtp(0)
        );
    }

    #[test]
    fn held_tcp_bytes_are_bounded() {
        // Connections that each leave 60 KB of an unfinished message: the tracker holds at
        // most MAX_TCP_HELD over all of them and counts the rest as incomplete.
        let mut t = SipTracker::default();
        let mut partial =
            b"INVITE sip:b@y SIP/2.0\r\nCall-ID: x\r\nCSeq: 1 INVITE\r\nContent-Length: 70000\r\n\r\n".to_vec();
        partial.resize(60_000, b'a');
        let n = MAX_TCP_HELD / 60_000 + 20;
        for i in 0..n {
            let o = Origin { src_port: 10_000 + i as u16, ..origin(1, 0, true) };
            t.segment(&o, 1, &partial);
        }
        assert!(t.tcp_held <= MAX_TCP_HELD, "{}", t.tcp_held);
        assert_eq!(t.problems.len(), 20, "the connections beyond the bound are counted");
    }

    #[test]
    fn tshark_setup_arithmetic() {
        assert_eq!(setup_ms(1_900_000_500, 2_100_000_000), 200, "1000 + trunc(-800.0005)");
        assert_eq!(setup_ms(5_000_000_000, 5_000_400_000), 0);
    }
}
