//! BGP-4 messages (RFC 4271 §4) with capabilities (RFC 5492, 4760, 2918, 4724, 6793),
//! communities (RFC 1997) and the revised UPDATE error handling of RFC 7606.
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                                                               |
//! +                           Marker (16 bytes of ones)           +
//! |                                                               |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |          Length               |      Type     |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```
//!
//! Decoding takes the session state that changes the format as an explicit argument
//! ([`DecodeCtx`]: whether 4-octet AS numbers were negotiated). A decode error is a
//! [`Notification`] (code, subcode, data) plus a sentence saying what was wrong, so the
//! session sends exactly what the RFC asks for. UPDATE attribute errors that RFC 7606 does not
//! escalate to a session reset are kept on the decoded [`Update`] as [`AttrIssue`]s
//! (treat-as-withdraw or attribute-discard).

use std::fmt;
use std::net::Ipv4Addr;

use ipnet::Ipv4Net;
use xconnect_time::Span;

/// The 16-byte all-ones marker that starts every message.
pub const MARKER: [u8; 16] = [0xff; 16];
/// AS_TRANS (RFC 6793): the 2-octet stand-in for a 4-octet ASN.
pub const AS_TRANS: u16 = 23456;

/// The restart time in our graceful restart capability, seconds (we announce no address
/// family, so no neighbor keeps our routes; the time is what RFC 4724 asks to be there).
pub const RESTART_TIME: u16 = 120;

/// Message type code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum MessageType {
    /// 1.
    Open,
    /// 2.
    Update,
    /// 3.
    Notification,
    /// 4.
    Keepalive,
    /// 5 (RFC 2918).
    RouteRefresh,
    /// Anything else (a header error when received).
    Unknown(u8),
}

impl MessageType {
    /// The code on the wire.
    pub fn code(self) -> u8 {
        match self {
            MessageType::Open => 1,
            MessageType::Update => 2,
            MessageType::Notification => 3,
            MessageType::Keepalive => 4,
            MessageType::RouteRefresh => 5,
            MessageType::Unknown(c) => c,
        }
    }
    /// From the code on the wire.
    pub fn from_code(c: u8) -> Self {
        match c {
            1 => MessageType::Open,
            2 => MessageType::Update,
            3 => MessageType::Notification,
            4 => MessageType::Keepalive,
            5 => MessageType::RouteRefresh,
            c => MessageType::Unknown(c),
        }
    }
    /// Lower-case name: "open", "update", "notification", "keepalive", "route_refresh".
    pub fn name(self) -> &'static str {
        match self {
            MessageType::Open => "open",
            MessageType::Update => "update",
            MessageType::Notification => "notification",
            MessageType::Keepalive => "keepalive",
            MessageType::RouteRefresh => "route_refresh",
            MessageType::Unknown(_) => "unknown",
        }
    }
}

/// Header length, minimum and maximum message length (RFC 4271 §4.1).
#[derive(Debug)]
pub struct Header;
impl Header {
    /// Marker + length + type.
    pub const LEN: usize = 19;
    /// Largest message (RFC 4271; RFC 8654's extended messages are not negotiated).
    pub const MAX_LEN: usize = 4096;

    /// Checks the header at the start of `buf`. Returns `Ok(None)` while fewer than 19 bytes are
    /// there, else the whole message's length (which may still be more than `buf` holds).
    pub fn check(buf: &[u8]) -> Result<Option<(usize, MessageType)>, DecodeError> {
        if buf.len() < Self::LEN {
            return Ok(None);
        }
        if buf[..16] != MARKER {
            return Err(DecodeError::new(1, 1, Vec::new(), "marker is not 16 bytes of ones"));
        }
        let len = usize::from(u16::from_be_bytes([buf[16], buf[17]]));
        let ty = MessageType::from_code(buf[18]);
        let min = match ty {
            MessageType::Open => 29,
            MessageType::Update => 23,
            MessageType::Notification => 21,
            MessageType::Keepalive => 19,
            MessageType::RouteRefresh => 23,
            MessageType::Unknown(c) => {
                return Err(DecodeError::new(1, 3, vec![c], format!("message type {c} is not 1-5")));
            }
        };
        let fixed = matches!(ty, MessageType::Keepalive | MessageType::RouteRefresh);
        if len < min || len > Self::MAX_LEN || (fixed && len != min) {
            let want = if fixed { format!("exactly {min}") } else { format!("{min}-{}", Self::MAX_LEN) };
            return Err(DecodeError::new(
                1,
                2,
                buf[16..18].to_vec(),
                format!("{} length is {len}, expected {want}", ty.name()),
            ));
        }
        Ok(Some((len, ty)))
    }
}

/// A decode error: the NOTIFICATION the receiver must send (RFC 4271 §6, RFC 7606) and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{detail} (NOTIFICATION {code}/{subcode}: {})", notification_meaning(*.code, *.subcode))]
pub struct DecodeError {
    /// Error code.
    pub code: u8,
    /// Error subcode.
    pub subcode: u8,
    /// Data field of the NOTIFICATION.
    pub data: Vec<u8>,
    /// What was wrong, for the log.
    pub detail: String,
}

impl DecodeError {
    /// A new error.
    pub fn new(code: u8, subcode: u8, data: Vec<u8>, detail: impl Into<String>) -> Self {
        DecodeError { code, subcode, data, detail: detail.into() }
    }
    /// The NOTIFICATION to send.
    pub fn notification(&self) -> Notification {
        Notification { code: self.code, subcode: self.subcode, data: self.data.clone() }
    }
}

/// Session state that changes how messages are read and written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DecodeCtx {
    /// AS numbers in AS_PATH and AGGREGATOR: 2 or 4 octets, or not known (captures that start
    /// after the OPENs: the width that parses the AS_PATH consistently is taken, 2 first).
    pub as_width: AsWidth,
}

/// Width of AS numbers in AS_PATH.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AsWidth {
    /// RFC 4271 2-octet.
    Two,
    /// RFC 6793 4-octet, negotiated by both OPENs.
    Four,
    /// Unknown: guess from the AS_PATH's structure.
    #[default]
    Guess,
}

/// A capability in an OPEN (RFC 5492).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Capability {
    /// 1: multiprotocol extensions (RFC 4760).
    Multiprotocol {
        /// Address family (1 IPv4, 2 IPv6).
        afi: u16,
        /// Subsequent address family (1 unicast).
        safi: u8,
    },
    /// 2: route refresh (RFC 2918).
    RouteRefresh,
    /// 64: graceful restart (RFC 4724); xconnect keeps a restarting neighbor's routes (the
    /// receiving side) and does not restart gracefully itself.
    GracefulRestart {
        /// Restart flags (4 bits) and restart time (12 bits).
        flags_time: u16,
        /// The per-family tuples as sent.
        families: Vec<u8>,
    },
    /// 65: 4-octet AS number (RFC 6793).
    FourOctetAs(u32),
    /// Any other code, kept as sent.
    Other {
        /// Capability code.
        code: u8,
        /// Value.
        value: Vec<u8>,
    },
}

impl Capability {
    /// Short name for reports: "mp-ipv4-unicast", "route-refresh", "graceful-restart",
    /// "4-octet-as", or "cap-N".
    pub fn name(&self) -> String {
        match self {
            Capability::Multiprotocol { afi: 1, safi: 1 } => "mp-ipv4-unicast".into(),
            Capability::Multiprotocol { afi: 2, safi: 1 } => "mp-ipv6-unicast".into(),
            Capability::Multiprotocol { afi, safi } => format!("mp-{afi}-{safi}"),
            Capability::RouteRefresh => "route-refresh".into(),
            Capability::GracefulRestart { .. } => "graceful-restart".into(),
            Capability::FourOctetAs(_) => "4-octet-as".into(),
            Capability::Other { code, .. } => format!("cap-{code}"),
        }
    }

    fn emit(&self, out: &mut Vec<u8>) {
        let (code, value): (u8, Vec<u8>) = match self {
            Capability::Multiprotocol { afi, safi } => {
                let a = afi.to_be_bytes();
                (1, vec![a[0], a[1], 0, *safi])
            }
            Capability::RouteRefresh => (2, Vec::new()),
            Capability::GracefulRestart { flags_time, families } => {
                let mut v = flags_time.to_be_bytes().to_vec();
                v.extend_from_slice(families);
                (64, v)
            }
            Capability::FourOctetAs(asn) => (65, asn.to_be_bytes().to_vec()),
            Capability::Other { code, value } => (*code, value.clone()),
        };
        out.push(code);
        out.push(value.len() as u8);
        out.extend_from_slice(&value);
    }
}

/// OPEN (RFC 4271 §4.2).
///
/// ```text
/// version(1) my AS(2) hold time(2) BGP identifier(4) opt param len(1) optional parameters
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Open {
    /// Always 4.
    pub version: u8,
    /// The 2-octet AS field (AS_TRANS when the ASN needs 4 octets).
    pub my_as: u16,
    /// Proposed hold time in seconds (0 or at least 3).
    pub hold_time: u16,
    /// BGP identifier.
    pub router_id: Ipv4Addr,
    /// Capabilities from all capability optional parameters, in order.
    pub capabilities: Vec<Capability>,
}

impl Open {
    /// The fixed part's length after the header.
    pub const MIN_BODY: usize = 10;

    /// An OPEN for `asn` with the capabilities xconnect advertises: IPv4 unicast, route refresh,
    /// graceful restart (receiving side), 4-octet AS.
    pub fn new(asn: u32, hold_time: u16, router_id: Ipv4Addr) -> Self {
        Open {
            version: 4,
            my_as: u16::try_from(asn).unwrap_or(AS_TRANS),
            hold_time,
            router_id,
            capabilities: vec![
                Capability::Multiprotocol { afi: 1, safi: 1 },
                Capability::RouteRefresh,
                // The receiving side of graceful restart only: no address family, so no
                // neighbor keeps our routes when we go down (RFC 4724 §3).
                Capability::GracefulRestart { flags_time: RESTART_TIME, families: Vec::new() },
                Capability::FourOctetAs(asn),
            ],
        }
    }

    /// The speaker's ASN: the 4-octet capability's if present, else `my_as`.
    pub fn asn(&self) -> u32 {
        self.capabilities
            .iter()
            .find_map(|c| if let Capability::FourOctetAs(a) = c { Some(*a) } else { None })
            .unwrap_or(u32::from(self.my_as))
    }

    /// The graceful restart capability (RFC 4724) if it covers IPv4 unicast: the restart time
    /// and whether the sender kept its forwarding state (the F bit).
    pub fn graceful_restart_ipv4(&self) -> Option<(Span, bool)> {
        self.capabilities.iter().find_map(|c| match c {
            Capability::GracefulRestart { flags_time, families } => families
                .chunks_exact(4)
                .find(|f| f[..3] == [0, 1, 1])
                .map(|f| (Span::from_secs(u64::from(flags_time & 0x0fff)), f[3] & 0x80 != 0)),
            _ => None,
        })
    }

    /// Whether the 4-octet AS capability is present.
    pub fn four_octet(&self) -> bool {
        self.capabilities.iter().any(|c| matches!(c, Capability::FourOctetAs(_)))
    }

    fn decode(body: &[u8]) -> Result<Self, DecodeError> {
        let version = body[0];
        if version != 4 {
            return Err(DecodeError::new(
                2,
                1,
                4u16.to_be_bytes().to_vec(),
                format!("version is {version}, expected 4"),
            ));
        }
        let my_as = u16::from_be_bytes([body[1], body[2]]);
        let hold_time = u16::from_be_bytes([body[3], body[4]]);
        if hold_time == 1 || hold_time == 2 {
            return Err(DecodeError::new(
                2,
                6,
                Vec::new(),
                format!("hold time is {hold_time} s, expected 0 or at least 3"),
            ));
        }
        let router_id = Ipv4Addr::new(body[5], body[6], body[7], body[8]);
        if router_id.is_unspecified() {
            return Err(DecodeError::new(2, 3, Vec::new(), "BGP identifier is 0.0.0.0"));
        }
        let opt_len = usize::from(body[9]);
        let params = &body[10..];
        if opt_len != params.len() {
            return Err(DecodeError::new(
                2,
                0,
                Vec::new(),
                format!("optional parameters length is {opt_len}, but {} bytes follow", params.len()),
            ));
        }
        let mut capabilities = Vec::new();
        let mut i = 0;
        while i < params.len() {
            if i + 2 > params.len() || i + 2 + usize::from(params[i + 1]) > params.len() {
                return Err(DecodeError::new(
                    2,
                    0,
                    Vec::new(),
                    format!("optional parameter at byte {i} overruns the OPEN"),
                ));
            }
            let (ptype, plen) = (params[i], usize::from(params[i + 1]));
            let pval = &params[i + 2..i + 2 + plen];
            i += 2 + plen;
            if ptype != 2 {
                return Err(DecodeError::new(
                    2,
                    4,
                    Vec::new(),
                    format!("optional parameter type {ptype}, expected 2 (capabilities)"),
                ));
            }
            let mut j = 0;
            while j < pval.len() {
                if j + 2 > pval.len() || j + 2 + usize::from(pval[j + 1]) > pval.len() {
                    return Err(DecodeError::new(
                        2,
                        0,
                        Vec::new(),
                        format!("capability at byte {j} overruns its parameter"),
                    ));
                }
                let (code, clen) = (pval[j], usize::from(pval[j + 1]));
                let v = &pval[j + 2..j + 2 + clen];
                j += 2 + clen;
                let bad =
                    |what: &str| DecodeError::new(2, 0, Vec::new(), format!("{what} capability length is {clen}"));
                capabilities.push(match code {
                    1 => {
                        if clen != 4 {
                            return Err(bad("multiprotocol"));
                        }
                        Capability::Multiprotocol { afi: u16::from_be_bytes([v[0], v[1]]), safi: v[3] }
                    }
                    2 => Capability::RouteRefresh,
                    64 if clen >= 2 => Capability::GracefulRestart {
                        flags_time: u16::from_be_bytes([v[0], v[1]]),
                        families: v[2..].to_vec(),
                    },
                    65 => {
                        if clen != 4 {
                            return Err(bad("4-octet AS"));
                        }
                        Capability::FourOctetAs(u32::from_be_bytes([v[0], v[1], v[2], v[3]]))
                    }
                    code => Capability::Other { code, value: v.to_vec() },
                });
            }
        }
        Ok(Open { version, my_as, hold_time, router_id, capabilities })
    }

    fn emit(&self, out: &mut Vec<u8>) {
        out.push(self.version);
        out.extend_from_slice(&self.my_as.to_be_bytes());
        out.extend_from_slice(&self.hold_time.to_be_bytes());
        out.extend_from_slice(&self.router_id.octets());
        let len_at = out.len();
        out.push(0);
        if !self.capabilities.is_empty() {
            out.push(2);
            let plen_at = out.len();
            out.push(0);
            for c in &self.capabilities {
                c.emit(out);
            }
            out[plen_at] = (out.len() - plen_at - 1) as u8;
        }
        out[len_at] = (out.len() - len_at - 1) as u8;
    }
}

/// NOTIFICATION (RFC 4271 §4.5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notification {
    /// Error code.
    pub code: u8,
    /// Error subcode.
    pub subcode: u8,
    /// Data.
    pub data: Vec<u8>,
}

/// NOTIFICATION error codes (RFC 4271 §4.5).
pub mod error_code {
    /// Message Header Error.
    pub const MESSAGE_HEADER: u8 = 1;
    /// OPEN Message Error.
    pub const OPEN: u8 = 2;
    /// UPDATE Message Error.
    pub const UPDATE: u8 = 3;
    /// Hold Timer Expired.
    pub const HOLD_TIMER_EXPIRED: u8 = 4;
    /// Finite State Machine Error.
    pub const FSM: u8 = 5;
    /// Cease.
    pub const CEASE: u8 = 6;
}

/// Why a session is closed with Cease: the subcodes of RFC 4486, 8538 and 9384 (BFD Down).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Cease {
    /// Maximum Number of Prefixes Reached.
    MaxPrefixes = 1,
    /// Administrative Shutdown.
    AdminShutdown = 2,
    /// Peer De-configured.
    PeerDeconfigured = 3,
    /// Administrative Reset.
    AdminReset = 4,
    /// Connection Rejected.
    ConnectionRejected = 5,
    /// Other Configuration Change.
    OtherConfigChange = 6,
    /// Connection Collision Resolution.
    ConnectionCollision = 7,
    /// Out of Resources.
    OutOfResources = 8,
    /// Hard Reset.
    HardReset = 9,
    /// BFD Down.
    BfdDown = 10,
}

impl Notification {
    /// A notification without data.
    pub fn new(code: u8, subcode: u8) -> Self {
        Notification { code, subcode, data: Vec::new() }
    }

    /// Cease with a reason.
    pub fn cease(why: Cease) -> Self {
        Notification::new(error_code::CEASE, why as u8)
    }

    /// Cease / Maximum Number of Prefixes Reached, with RFC 4486's data: AFI 1, SAFI 1 (IPv4
    /// unicast) and the limit.
    pub fn max_prefixes(limit: usize) -> Self {
        let mut n = Notification::cease(Cease::MaxPrefixes);
        n.data = vec![0, 1, 1];
        n.data.extend_from_slice(&u32::try_from(limit).unwrap_or(u32::MAX).to_be_bytes());
        n
    }

    /// Hold Timer Expired.
    pub fn hold_timer_expired() -> Self {
        Notification::new(error_code::HOLD_TIMER_EXPIRED, 0)
    }

    /// Whether this is Hold Timer Expired.
    pub fn is_hold_timer_expired(&self) -> bool {
        self.code == error_code::HOLD_TIMER_EXPIRED
    }

    /// Whether this is Cease for this reason.
    pub fn is_cease(&self, why: Cease) -> bool {
        self.code == error_code::CEASE && self.subcode == why as u8
    }
    /// "Cease / Administrative Shutdown" and the like.
    pub fn meaning(&self) -> String {
        notification_meaning(self.code, self.subcode)
    }
}

impl fmt::Display for Notification {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{} ({})", self.code, self.subcode, self.meaning())
    }
}

/// The meaning of a NOTIFICATION code and subcode (RFC 4271 §4.5, 4486, 7313, 8538).
pub fn notification_meaning(code: u8, subcode: u8) -> String {
    let major = match code {
        1 => "Message Header Error",
        2 => "OPEN Message Error",
        3 => "UPDATE Message Error",
        4 => "Hold Timer Expired",
        5 => "Finite State Machine Error",
        6 => "Cease",
        7 => "ROUTE-REFRESH Message Error",
        _ => return format!("unknown error code {code} / subcode {subcode}"),
    };
    let minor = match (code, subcode) {
        (_, 0) => return major.to_string(),
        (1, 1) => "Connection Not Synchronized",
        (1, 2) => "Bad Message Length",
        (1, 3) => "Bad Message Type",
        (2, 1) => "Unsupported Version Number",
        (2, 2) => "Bad Peer AS",
        (2, 3) => "Bad BGP Identifier",
        (2, 4) => "Unsupported Optional Parameter",
        (2, 6) => "Unacceptable Hold Time",
        (2, 7) => "Unsupported Capability",
        (3, 1) => "Malformed Attribute List",
        (3, 2) => "Unrecognized Well-known Attribute",
        (3, 3) => "Missing Well-known Attribute",
        (3, 4) => "Attribute Flags Error",
        (3, 5) => "Attribute Length Error",
        (3, 6) => "Invalid ORIGIN Attribute",
        (3, 8) => "Invalid NEXT_HOP Attribute",
        (3, 9) => "Optional Attribute Error",
        (3, 10) => "Invalid Network Field",
        (3, 11) => "Malformed AS_PATH",
        (5, 1) => "Receive Unexpected Message in OpenSent State",
        (5, 2) => "Receive Unexpected Message in OpenConfirm State",
        (5, 3) => "Receive Unexpected Message in Established State",
        (6, 1) => "Maximum Number of Prefixes Reached",
        (6, 2) => "Administrative Shutdown",
        (6, 3) => "Peer De-configured",
        (6, 4) => "Administrative Reset",
        (6, 5) => "Connection Rejected",
        (6, 6) => "Other Configuration Change",
        (6, 7) => "Connection Collision Resolution",
        (6, 8) => "Out of Resources",
        (6, 9) => "Hard Reset",
        (6, 10) => "BFD Down",
        (7, 1) => "Invalid Message Length",
        _ => return format!("{major} / unknown subcode {subcode}"),
    };
    format!("{major} / {minor}")
}

/// ORIGIN values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Origin {
    /// 0.
    Igp,
    /// 1.
    Egp,
    /// 2.
    Incomplete,
}

/// An AS_PATH segment type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SegmentType {
    /// 1: unordered set.
    Set,
    /// 2: ordered sequence.
    Sequence,
    /// 3: confederation sequence (RFC 5065).
    ConfedSequence,
    /// 4: confederation set.
    ConfedSet,
}

impl SegmentType {
    fn from_code(c: u8) -> Option<Self> {
        Some(match c {
            1 => SegmentType::Set,
            2 => SegmentType::Sequence,
            3 => SegmentType::ConfedSequence,
            4 => SegmentType::ConfedSet,
            _ => return None,
        })
    }
    fn code(self) -> u8 {
        match self {
            SegmentType::Set => 1,
            SegmentType::Sequence => 2,
            SegmentType::ConfedSequence => 3,
            SegmentType::ConfedSet => 4,
        }
    }
}

/// One AS_PATH segment.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Segment {
    /// Set or sequence.
    pub kind: SegmentType,
    /// The AS numbers.
    pub asns: Vec<u32>,
}

/// An AS_PATH (or AS4_PATH).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct AsPath {
    /// Segments in order.
    pub segments: Vec<Segment>,
}

impl AsPath {
    /// One AS_SEQUENCE.
    pub fn sequence(asns: Vec<u32>) -> Self {
        if asns.is_empty() {
            return AsPath::default();
        }
        AsPath { segments: vec![Segment { kind: SegmentType::Sequence, asns }] }
    }

    /// Path length for best-path selection (RFC 4271 §9.1.2.2: a set counts 1, confederation
    /// segments 0).
    pub fn len(&self) -> usize {
        self.segments
            .iter()
            .map(|s| match s.kind {
                SegmentType::Sequence => s.asns.len(),
                SegmentType::Set => 1,
                _ => 0,
            })
            .sum()
    }

    /// Whether the path is empty.
    pub fn is_empty(&self) -> bool {
        self.segments.iter().all(|s| s.asns.is_empty())
    }

    /// The neighbor AS: the first ASN of a leading AS_SEQUENCE.
    pub fn first(&self) -> Option<u32> {
        match self.segments.first() {
            Some(Segment { kind: SegmentType::Sequence, asns }) => asns.first().copied(),
            _ => None,
        }
    }

    /// Every ASN in the path.
    pub fn asns(&self) -> impl Iterator<Item = u32> + '_ {
        self.segments.iter().flat_map(|s| s.asns.iter().copied())
    }

    /// `self` with `asn` prepended (what an eBGP speaker does on export).
    pub fn prepend(&self, asn: u32) -> AsPath {
        let mut p = self.clone();
        match p.segments.first_mut() {
            Some(s) if s.kind == SegmentType::Sequence && s.asns.len() < 255 => s.asns.insert(0, asn),
            _ => p.segments.insert(0, Segment { kind: SegmentType::Sequence, asns: vec![asn] }),
        }
        p
    }

    /// Decodes segments of `width` (2 or 4) octets. `None` if the bytes are not a well-formed
    /// path (RFC 7606 §7.2).
    fn decode(v: &[u8], width: usize) -> Option<AsPath> {
        let mut p = AsPath::default();
        p.decode_into(v, width).then_some(p)
    }

    /// [`AsPath::decode`] into `self`, reusing its segments' buffers; `false` (and `self`
    /// unspecified) if the bytes are not a well-formed path.
    fn decode_into(&mut self, v: &[u8], width: usize) -> bool {
        let mut n = 0;
        let mut i = 0;
        while i < v.len() {
            let (Some(kind), Some(&count)) = (v.get(i).and_then(|&c| SegmentType::from_code(c)), v.get(i + 1)) else {
                return false;
            };
            let count = usize::from(count);
            let end = i + 2 + count * width;
            let Some(body) = v.get(i + 2..end).filter(|_| count > 0) else { return false };
            if n == self.segments.len() {
                // Room for a long path, so that a reused buffer seldom grows.
                self.segments.push(Segment { kind, asns: Vec::with_capacity(count.max(16)) });
            }
            let seg = &mut self.segments[n];
            seg.kind = kind;
            seg.asns.clear();
            if width == 2 {
                seg.asns.extend(body.chunks_exact(2).map(|c| u32::from(u16::from_be_bytes([c[0], c[1]]))));
            } else {
                seg.asns.extend(body.chunks_exact(4).map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]])));
            }
            n += 1;
            i = end;
        }
        self.segments.truncate(n);
        true
    }

    fn emit(&self, out: &mut Vec<u8>, four: bool) {
        for s in &self.segments {
            for chunk in s.asns.chunks(255) {
                out.push(s.kind.code());
                out.push(chunk.len() as u8);
                for &a in chunk {
                    if four {
                        out.extend_from_slice(&a.to_be_bytes());
                    } else {
                        out.extend_from_slice(&u16::try_from(a).unwrap_or(AS_TRANS).to_be_bytes());
                    }
                }
            }
        }
    }

    /// Whether every ASN fits 2 octets.
    fn fits_two(&self) -> bool {
        self.asns().all(|a| a <= 0xffff)
    }

    /// RFC 6793 §4.2.3: rebuild the real path from AS_PATH (with AS_TRANS) and AS4_PATH.
    fn merge_as4(&self, as4: &AsPath) -> AsPath {
        let (n, m) = (self.len(), as4.len());
        if m > n {
            return self.clone();
        }
        // Keep the first n - m path elements of AS_PATH, then AS4_PATH.
        let mut keep = n - m;
        let mut segments = Vec::new();
        for s in &self.segments {
            if keep == 0 {
                break;
            }
            match s.kind {
                SegmentType::Sequence => {
                    let take = keep.min(s.asns.len());
                    segments.push(Segment { kind: s.kind, asns: s.asns[..take].to_vec() });
                    keep -= take;
                }
                SegmentType::Set => {
                    segments.push(s.clone());
                    keep -= 1;
                }
                _ => segments.push(s.clone()),
            }
        }
        segments.extend(as4.segments.iter().cloned());
        AsPath { segments }
    }
}

impl fmt::Display for AsPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for s in &self.segments {
            if !first {
                f.write_str(" ")?;
            }
            first = false;
            let (open, close) = match s.kind {
                SegmentType::Sequence => ("", ""),
                SegmentType::Set => ("{", "}"),
                SegmentType::ConfedSequence => ("(", ")"),
                SegmentType::ConfedSet => ("[", "]"),
            };
            f.write_str(open)?;
            for (i, a) in s.asns.iter().enumerate() {
                if i > 0 {
                    f.write_str(" ")?;
                }
                write!(f, "{a}")?;
            }
            f.write_str(close)?;
        }
        Ok(())
    }
}

/// An attribute kept as received (unknown optional transitive ones are passed on with the
/// Partial bit set, RFC 4271 §5).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RawAttribute {
    /// Optional, Transitive and Partial bits (Extended Length is chosen on emit).
    pub flags: u8,
    /// Type code.
    pub code: u8,
    /// Value.
    pub value: Vec<u8>,
}

/// Attribute flag bits.
pub mod flags {
    /// Optional (else well-known).
    pub const OPTIONAL: u8 = 0x80;
    /// Transitive.
    pub const TRANSITIVE: u8 = 0x40;
    /// Partial.
    pub const PARTIAL: u8 = 0x20;
    /// Extended length (2-octet length field).
    pub const EXTENDED: u8 = 0x10;
}

/// Path attribute type codes handled here.
pub mod attr {
    /// ORIGIN.
    pub const ORIGIN: u8 = 1;
    /// AS_PATH.
    pub const AS_PATH: u8 = 2;
    /// NEXT_HOP.
    pub const NEXT_HOP: u8 = 3;
    /// MULTI_EXIT_DISC.
    pub const MED: u8 = 4;
    /// LOCAL_PREF.
    pub const LOCAL_PREF: u8 = 5;
    /// ATOMIC_AGGREGATE.
    pub const ATOMIC_AGGREGATE: u8 = 6;
    /// AGGREGATOR.
    pub const AGGREGATOR: u8 = 7;
    /// COMMUNITIES (RFC 1997).
    pub const COMMUNITIES: u8 = 8;
    /// MP_REACH_NLRI (RFC 4760).
    pub const MP_REACH: u8 = 14;
    /// MP_UNREACH_NLRI.
    pub const MP_UNREACH: u8 = 15;
    /// AS4_PATH (RFC 6793).
    pub const AS4_PATH: u8 = 17;
    /// AS4_AGGREGATOR.
    pub const AS4_AGGREGATOR: u8 = 18;
}

/// The path attributes of an UPDATE.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct PathAttributes {
    /// ORIGIN.
    pub origin: Option<Origin>,
    /// AS_PATH, already merged with AS4_PATH when the peer speaks 2-octet ASNs.
    pub as_path: Option<AsPath>,
    /// NEXT_HOP.
    pub next_hop: Option<Ipv4Addr>,
    /// MULTI_EXIT_DISC.
    pub med: Option<u32>,
    /// LOCAL_PREF.
    pub local_pref: Option<u32>,
    /// ATOMIC_AGGREGATE present.
    pub atomic_aggregate: bool,
    /// AGGREGATOR (ASN, address).
    pub aggregator: Option<(u32, Ipv4Addr)>,
    /// COMMUNITIES, each as ASN:value in one u32.
    pub communities: Vec<u32>,
    /// Other attributes kept: unknown optional transitive, MP_REACH/MP_UNREACH (other families).
    pub other: Vec<RawAttribute>,
}

impl PathAttributes {
    /// No attributes; the buffers are kept for the next UPDATE (the path's is handed to
    /// `decode_attributes` by `Update::decode_into`).
    fn clear(&mut self) {
        let PathAttributes {
            origin,
            as_path,
            next_hop,
            med,
            local_pref,
            atomic_aggregate,
            aggregator,
            communities,
            other,
        } = self;
        (*origin, *next_hop, *med, *local_pref, *atomic_aggregate, *aggregator) = (None, None, None, None, false, None);
        *as_path = None;
        communities.clear();
        other.clear();
    }
}

/// What RFC 7606 says to do with a malformed attribute that does not reset the session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AttrAction {
    /// The UPDATE's NLRI are treated as withdrawn (§2).
    TreatAsWithdraw,
    /// The attribute is dropped, the rest is used (§2).
    Discard,
}

/// A malformed attribute handled without a reset.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AttrIssue {
    /// Attribute type code.
    pub code: u8,
    /// What was done.
    pub action: AttrAction,
    /// The NOTIFICATION subcode RFC 4271 would have sent (code 3).
    pub subcode: u8,
    /// What was wrong.
    pub detail: String,
}

/// UPDATE (RFC 4271 §4.3), IPv4 unicast in the classic fields.
///
/// ```text
/// withdrawn routes length(2) withdrawn routes  total path attribute length(2) attributes  NLRI
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Update {
    /// Withdrawn prefixes.
    pub withdrawn: Vec<Ipv4Net>,
    /// Path attributes.
    pub attrs: PathAttributes,
    /// Announced prefixes.
    pub nlri: Vec<Ipv4Net>,
    /// Malformed attributes handled per RFC 7606 (empty for a well-formed UPDATE).
    pub issues: Vec<AttrIssue>,
}

impl Update {
    /// Whether RFC 7606 treat-as-withdraw applies: the NLRI must be withdrawn, not installed.
    pub fn treat_as_withdraw(&self) -> bool {
        self.issues.iter().any(|i| i.action == AttrAction::TreatAsWithdraw)
    }

    /// Decodes an UPDATE body into `self`, reusing its buffers and `spare` for the AS_PATH
    /// (which is left there when the UPDATE has none). On an error `self` holds what was
    /// decoded before it.
    fn decode_into(&mut self, body: &[u8], ctx: DecodeCtx, spare: &mut AsPath) -> Result<(), DecodeError> {
        self.withdrawn.clear();
        self.nlri.clear();
        self.issues.clear();
        if let Some(p) = self.attrs.as_path.take() {
            *spare = p;
        }
        self.attrs.clear();
        let malformed = |detail: String| DecodeError::new(3, 1, Vec::new(), detail);
        let wlen = usize::from(u16::from_be_bytes([body[0], body[1]]));
        if 2 + wlen + 2 > body.len() {
            return Err(malformed(format!(
                "withdrawn routes length {wlen} overruns the UPDATE ({} bytes after the header)",
                body.len()
            )));
        }
        decode_prefixes(&body[2..2 + wlen], "withdrawn routes", &mut self.withdrawn)?;
        let alen_at = 2 + wlen;
        let alen = usize::from(u16::from_be_bytes([body[alen_at], body[alen_at + 1]]));
        let attrs_start = alen_at + 2;
        if attrs_start + alen > body.len() {
            return Err(malformed(format!(
                "total path attribute length {alen} overruns the UPDATE by {} bytes",
                attrs_start + alen - body.len()
            )));
        }
        decode_prefixes(&body[attrs_start + alen..], "NLRI", &mut self.nlri)?;
        decode_attributes(&body[attrs_start..attrs_start + alen], ctx, self, spare)
    }

    /// Appends the UPDATE body (after the header) for a peer with `four` = 4-octet ASNs.
    fn emit(&self, out: &mut Vec<u8>, four: bool) {
        let at = out.len();
        out.extend_from_slice(&[0, 0]);
        for p in &self.withdrawn {
            emit_prefix(*p, out);
        }
        let wlen = (out.len() - at - 2) as u16;
        out[at..at + 2].copy_from_slice(&wlen.to_be_bytes());
        let at = out.len();
        out.extend_from_slice(&[0, 0]);
        // Whatever attributes the UPDATE holds (none for a plain withdrawal; an MP-BGP UPDATE
        // carries its routes in attributes with no IPv4 NLRI), so decoding gives it back.
        emit_attributes(&self.attrs, out, four);
        let alen = (out.len() - at - 2) as u16;
        out[at..at + 2].copy_from_slice(&alen.to_be_bytes());
        for p in &self.nlri {
            emit_prefix(*p, out);
        }
    }

    /// Encodes `attrs` + `nlri` (or `withdrawn`) as as many UPDATE messages as the 4096-byte limit
    /// needs, each appended to `out` as its own message (RFC 4271 §4.3 splits by prefix).
    pub fn encode_split(
        attrs: &PathAttributes,
        nlri: &[Ipv4Net],
        withdrawn: &[Ipv4Net],
        four: bool,
        out: &mut Vec<Vec<u8>>,
    ) {
        let mut scratch = Vec::new();
        emit_attributes(attrs, &mut scratch, four);
        let attr_len = scratch.len();
        // Header 19 + 2 + 2 + attributes; each prefix costs at most 5 bytes.
        let room_nlri = (Header::MAX_LEN - Header::LEN - 4 - attr_len) / 5;
        let room_wd = (Header::MAX_LEN - Header::LEN - 4) / 5;
        for chunk in withdrawn.chunks(room_wd.max(1)) {
            let u = Update { withdrawn: chunk.to_vec(), ..Update::default() };
            out.push(Message::Update(u).encode(four));
        }
        for chunk in nlri.chunks(room_nlri.max(1)) {
            let u = Update { attrs: attrs.clone(), nlri: chunk.to_vec(), ..Update::default() };
            out.push(Message::Update(u).encode(four));
        }
    }
}

/// Prefixes as (length in bits, minimal bytes). A length over 32 or a prefix that overruns the
/// field is an Invalid Network Field (RFC 4271 §6.3; RFC 7606 §5.3 keeps the reset since the
/// rest of the field cannot be found).
fn decode_prefixes(mut v: &[u8], field: &str, out: &mut Vec<Ipv4Net>) -> Result<(), DecodeError> {
    let total = v.len();
    while let Some((&bits, rest)) = v.split_first() {
        if bits > 32 {
            return Err(DecodeError::new(
                3,
                10,
                Vec::new(),
                format!("{field} prefix at byte {} has length /{bits}, expected at most /32", total - v.len()),
            ));
        }
        let n = usize::from(bits).div_ceil(8);
        let addr = match rest.first_chunk::<4>() {
            // Four bytes are there: read them at once; the mask drops what belongs to the next
            // prefix.
            Some(a) if n <= rest.len() => u32::from_be_bytes(*a),
            _ if n <= rest.len() => {
                let mut a = [0u8; 4];
                a[..n].copy_from_slice(&rest[..n]);
                u32::from_be_bytes(a)
            }
            _ => {
                return Err(DecodeError::new(
                    3,
                    10,
                    Vec::new(),
                    format!("{field} prefix /{bits} at byte {} needs {n} bytes, {} left", total - v.len(), rest.len()),
                ))
            }
        };
        // u64 so that /0 shifts by 32 and masks everything.
        let mask = (u64::from(u32::MAX) << (32 - u32::from(bits))) as u32;
        out.push(Ipv4Net::new_assert(Ipv4Addr::from(addr & mask), bits));
        v = &rest[n..];
    }
    Ok(())
}

fn emit_prefix(p: Ipv4Net, out: &mut Vec<u8>) {
    let bits = p.prefix_len();
    out.push(bits);
    out.extend_from_slice(&p.network().octets()[..usize::from(bits).div_ceil(8)]);
}

fn emit_attr(out: &mut Vec<u8>, mut fl: u8, code: u8, value: &[u8]) {
    if value.len() > 255 {
        fl |= flags::EXTENDED;
        out.extend_from_slice(&[fl, code]);
        out.extend_from_slice(&(value.len() as u16).to_be_bytes());
    } else {
        fl &= !flags::EXTENDED;
        out.extend_from_slice(&[fl, code, value.len() as u8]);
    }
    out.extend_from_slice(value);
}

fn emit_attributes(a: &PathAttributes, out: &mut Vec<u8>, four: bool) {
    const WT: u8 = flags::TRANSITIVE;
    const ON: u8 = flags::OPTIONAL;
    const OT: u8 = flags::OPTIONAL | flags::TRANSITIVE;
    let mut v = Vec::new();
    if let Some(o) = a.origin {
        emit_attr(out, WT, attr::ORIGIN, &[o as u8]);
    }
    if let Some(p) = &a.as_path {
        p.emit(&mut v, four);
        emit_attr(out, WT, attr::AS_PATH, &v);
    }
    if let Some(nh) = a.next_hop {
        emit_attr(out, WT, attr::NEXT_HOP, &nh.octets());
    }
    if let Some(m) = a.med {
        emit_attr(out, ON, attr::MED, &m.to_be_bytes());
    }
    if let Some(lp) = a.local_pref {
        emit_attr(out, WT, attr::LOCAL_PREF, &lp.to_be_bytes());
    }
    if a.atomic_aggregate {
        emit_attr(out, WT, attr::ATOMIC_AGGREGATE, &[]);
    }
    if let Some((asn, addr)) = a.aggregator {
        v.clear();
        if four {
            v.extend_from_slice(&asn.to_be_bytes());
        } else {
            v.extend_from_slice(&u16::try_from(asn).unwrap_or(AS_TRANS).to_be_bytes());
        }
        v.extend_from_slice(&addr.octets());
        emit_attr(out, OT, attr::AGGREGATOR, &v);
    }
    if !a.communities.is_empty() {
        v.clear();
        for c in &a.communities {
            v.extend_from_slice(&c.to_be_bytes());
        }
        emit_attr(out, OT, attr::COMMUNITIES, &v);
    }
    // A 2-octet peer gets the real path in AS4_PATH (RFC 6793 §4.2.2).
    if let Some(p) = a.as_path.as_ref().filter(|p| !four && !p.fits_two()) {
        v.clear();
        p.emit(&mut v, true);
        emit_attr(out, OT, attr::AS4_PATH, &v);
    }
    for r in &a.other {
        emit_attr(out, r.flags, r.code, &r.value);
    }
}

/// Decodes the attributes into `u`; `path` is a buffer for the AS_PATH (moved into `u` when
/// there is one).
fn decode_attributes(mut v: &[u8], ctx: DecodeCtx, u: &mut Update, path: &mut AsPath) -> Result<(), DecodeError> {
    let mut seen = [false; 256];
    let mut as_path_raw: Option<&[u8]> = None;
    let mut as4_path: Option<AsPath> = None;
    let total = v.len();
    let issue = |u: &mut Update, code: u8, action: AttrAction, subcode: u8, detail: String| {
        u.issues.push(AttrIssue { code, action, subcode, detail });
    };
    while !v.is_empty() {
        let at = total - v.len();
        if v.len() < 3 || (v[0] & flags::EXTENDED != 0 && v.len() < 4) {
            // RFC 7606 §4: an attribute header that cannot be read; the NLRI can still be found
            // (the total length is consistent), so treat-as-withdraw.
            issue(u, 0, AttrAction::TreatAsWithdraw, 5, format!("attribute header at byte {at} is cut off"));
            return Ok(());
        }
        let (fl, code) = (v[0], v[1]);
        let (len, hdr) = if fl & flags::EXTENDED != 0 {
            (usize::from(u16::from_be_bytes([v[2], v[3]])), 4)
        } else {
            (usize::from(v[2]), 3)
        };
        if hdr + len > v.len() {
            issue(
                u,
                code,
                AttrAction::TreatAsWithdraw,
                5,
                format!(
                    "attribute {code} at byte {at}: length {len} overruns the attribute list by {}",
                    hdr + len - v.len()
                ),
            );
            return Ok(());
        }
        let val = &v[hdr..hdr + len];
        v = &v[hdr + len..];
        if seen[usize::from(code)] {
            if code == attr::MP_REACH || code == attr::MP_UNREACH {
                return Err(DecodeError::new(3, 1, Vec::new(), format!("attribute {code} appears twice")));
            }
            issue(u, code, AttrAction::Discard, 1, format!("attribute {code} appears twice; the first is kept"));
            continue;
        }
        seen[usize::from(code)] = true;
        let well_known = matches!(code, 1 | 2 | 3 | 5 | 6);
        let optional = fl & flags::OPTIONAL != 0;
        let known = matches!(code, 1..=8 | 14 | 15 | 17 | 18);
        if !known && !optional {
            let mut data = vec![fl, code, len as u8];
            data.extend_from_slice(val);
            return Err(DecodeError::new(3, 2, data, format!("unrecognized well-known attribute {code}")));
        }
        if known && (well_known == optional || (well_known && fl & flags::TRANSITIVE == 0)) {
            issue(u, code, AttrAction::TreatAsWithdraw, 4, format!("attribute {code} has flags {fl:#04x}"));
            continue;
        }
        let len_err = |u: &mut Update, action, want: &str| {
            issue(u, code, action, 5, format!("attribute {code} length is {len}, expected {want}"));
        };
        match code {
            attr::ORIGIN => match val {
                [0] => u.attrs.origin = Some(Origin::Igp),
                [1] => u.attrs.origin = Some(Origin::Egp),
                [2] => u.attrs.origin = Some(Origin::Incomplete),
                [o] => issue(u, code, AttrAction::TreatAsWithdraw, 6, format!("ORIGIN is {o}, expected 0-2")),
                _ => len_err(u, AttrAction::TreatAsWithdraw, "1"),
            },
            attr::AS_PATH => as_path_raw = Some(val),
            attr::NEXT_HOP => match <[u8; 4]>::try_from(val) {
                Ok(a) => u.attrs.next_hop = Some(Ipv4Addr::from(a)),
                Err(_) => len_err(u, AttrAction::TreatAsWithdraw, "4"),
            },
            attr::MED => match <[u8; 4]>::try_from(val) {
                Ok(a) => u.attrs.med = Some(u32::from_be_bytes(a)),
                Err(_) => len_err(u, AttrAction::TreatAsWithdraw, "4"),
            },
            attr::LOCAL_PREF => match <[u8; 4]>::try_from(val) {
                Ok(a) => u.attrs.local_pref = Some(u32::from_be_bytes(a)),
                Err(_) => len_err(u, AttrAction::TreatAsWithdraw, "4"),
            },
            attr::ATOMIC_AGGREGATE => {
                if len == 0 {
                    u.attrs.atomic_aggregate = true;
                } else {
                    len_err(u, AttrAction::Discard, "0");
                }
            }
            attr::AGGREGATOR => {
                let four = match ctx.as_width {
                    AsWidth::Four => true,
                    AsWidth::Two => false,
                    AsWidth::Guess => len == 8,
                };
                match (four, len) {
                    (true, 8) => {
                        u.attrs.aggregator = Some((
                            u32::from_be_bytes([val[0], val[1], val[2], val[3]]),
                            Ipv4Addr::new(val[4], val[5], val[6], val[7]),
                        ))
                    }
                    (false, 6) => {
                        u.attrs.aggregator = Some((
                            u32::from(u16::from_be_bytes([val[0], val[1]])),
                            Ipv4Addr::new(val[2], val[3], val[4], val[5]),
                        ))
                    }
                    _ => len_err(u, AttrAction::Discard, if four { "8" } else { "6" }),
                }
            }
            attr::COMMUNITIES => {
                if len == 0 || len % 4 != 0 {
                    len_err(u, AttrAction::TreatAsWithdraw, "a non-zero multiple of 4");
                } else {
                    u.attrs
                        .communities
                        .extend(val.chunks_exact(4).map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]])));
                }
            }
            attr::AS4_PATH => match AsPath::decode(val, 4) {
                Some(p) => as4_path = Some(p),
                None => issue(u, code, AttrAction::Discard, 11, "AS4_PATH is malformed".into()),
            },
            attr::AS4_AGGREGATOR => {}
            _ => {
                // MP_REACH/UNREACH for other families, and unknown optional attributes: the
                // transitive ones travel on with Partial set; the others are dropped.
                if fl & flags::TRANSITIVE != 0 || code == attr::MP_REACH || code == attr::MP_UNREACH {
                    let partial = if known { 0 } else { flags::PARTIAL };
                    // Keep Optional, Transitive and Partial; the Extended Length bit belongs to the
                    // encoding (recomputed on emit) and the low four bits are unused (RFC 4271
                    // §4.3: ignored when received, zero when sent).
                    u.attrs.other.push(RawAttribute { flags: (fl & 0xe0) | partial, code, value: val.to_vec() });
                }
            }
        }
    }
    if let Some(raw) = as_path_raw {
        let ok = match ctx.as_width {
            AsWidth::Two => path.decode_into(raw, 2),
            AsWidth::Four => path.decode_into(raw, 4),
            AsWidth::Guess => path.decode_into(raw, 2) || path.decode_into(raw, 4),
        };
        match ok.then(|| std::mem::take(path)) {
            Some(p) => {
                let p = match (&as4_path, ctx.as_width) {
                    (Some(as4), AsWidth::Two | AsWidth::Guess) => p.merge_as4(as4),
                    _ => p,
                };
                u.attrs.as_path = Some(p);
            }
            None => issue(u, attr::AS_PATH, AttrAction::TreatAsWithdraw, 11, "AS_PATH segments are malformed".into()),
        }
    }
    if !u.nlri.is_empty() {
        for (present, code, name) in [
            (u.attrs.origin.is_some() || seen[1], attr::ORIGIN, "ORIGIN"),
            (u.attrs.as_path.is_some() || seen[2], attr::AS_PATH, "AS_PATH"),
            (u.attrs.next_hop.is_some() || seen[3], attr::NEXT_HOP, "NEXT_HOP"),
        ] {
            if !present {
                issue(u, code, AttrAction::TreatAsWithdraw, 3, format!("{name} is missing"));
            }
        }
    }
    Ok(())
}

/// Where [`Message::decode_reusing`] decodes UPDATEs: the last one, and buffers kept for the
/// next (once they have grown to the stream's largest UPDATE, decoding allocates nothing;
/// `tests/alloc.rs` counts).
#[derive(Debug, Default)]
pub struct UpdateBuffer {
    update: Update,
    /// The AS_PATH's buffer while the last UPDATE had none.
    spare_path: AsPath,
}

impl UpdateBuffer {
    /// The last UPDATE decoded.
    pub fn update(&self) -> &Update {
        &self.update
    }
}

/// A BGP message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// OPEN.
    Open(Open),
    /// UPDATE.
    Update(Update),
    /// NOTIFICATION.
    Notification(Notification),
    /// KEEPALIVE.
    Keepalive,
    /// ROUTE-REFRESH (RFC 2918).
    RouteRefresh {
        /// Address family.
        afi: u16,
        /// Subsequent address family.
        safi: u8,
    },
}

impl Message {
    /// The type.
    pub fn kind(&self) -> MessageType {
        match self {
            Message::Open(_) => MessageType::Open,
            Message::Update(_) => MessageType::Update,
            Message::Notification(_) => MessageType::Notification,
            Message::Keepalive => MessageType::Keepalive,
            Message::RouteRefresh { .. } => MessageType::RouteRefresh,
        }
    }

    /// Decodes one whole message (`msg` is exactly the length its header says).
    pub fn decode(msg: &[u8], ctx: DecodeCtx) -> Result<Message, DecodeError> {
        let mut buf = UpdateBuffer::default();
        Ok(Self::decode_reusing(msg, ctx, &mut buf)?.unwrap_or(Message::Update(buf.update)))
    }

    /// Decodes one whole message: an UPDATE into `buf` (`Ok(None)`; its buffers are reused, so
    /// a stream of UPDATEs decodes without allocating), any other message into the result.
    pub fn decode_reusing(msg: &[u8], ctx: DecodeCtx, buf: &mut UpdateBuffer) -> Result<Option<Message>, DecodeError> {
        let (len, ty) = Header::check(msg)?.ok_or_else(|| {
            DecodeError::new(
                1,
                2,
                Vec::new(),
                format!("message is {} bytes, shorter than the 19-byte header", msg.len()),
            )
        })?;
        if len != msg.len() {
            return Err(DecodeError::new(
                1,
                2,
                msg[16..18].to_vec(),
                format!("length field says {len} bytes, the message has {}", msg.len()),
            ));
        }
        let body = &msg[Header::LEN..];
        Ok(Some(match ty {
            MessageType::Open => Message::Open(Open::decode(body)?),
            MessageType::Update => {
                buf.update.decode_into(body, ctx, &mut buf.spare_path)?;
                return Ok(None);
            }
            MessageType::Notification => {
                Message::Notification(Notification { code: body[0], subcode: body[1], data: body[2..].to_vec() })
            }
            MessageType::Keepalive => Message::Keepalive,
            MessageType::RouteRefresh => {
                Message::RouteRefresh { afi: u16::from_be_bytes([body[0], body[1]]), safi: body[3] }
            }
            MessageType::Unknown(_) => unreachable!("Header::check rejects unknown types"),
        }))
    }

    /// Encodes the message for a peer with (`four`) or without 4-octet ASNs.
    pub fn encode(&self, four: bool) -> Vec<u8> {
        let mut out = Vec::with_capacity(64);
        out.extend_from_slice(&MARKER);
        out.extend_from_slice(&[0, 0, self.kind().code()]);
        match self {
            Message::Open(o) => o.emit(&mut out),
            Message::Update(u) => u.emit(&mut out, four),
            Message::Notification(n) => {
                out.extend_from_slice(&[n.code, n.subcode]);
                out.extend_from_slice(&n.data);
            }
            Message::Keepalive => {}
            Message::RouteRefresh { afi, safi } => {
                out.extend_from_slice(&afi.to_be_bytes());
                out.extend_from_slice(&[0, *safi]);
            }
        }
        let len = out.len() as u16;
        out[16..18].copy_from_slice(&len.to_be_bytes());
        out
    }
}

/// Splits a byte stream into messages: call [`MessageReader::push`] with received bytes, then
/// [`MessageReader::next_message`] until it returns `Ok(None)`.
#[derive(Debug, Default)]
pub struct MessageReader {
    buf: Vec<u8>,
    start: usize,
}

impl MessageReader {
    /// Appends received bytes (consumed messages are dropped from the buffer first).
    pub fn push(&mut self, data: &[u8]) {
        if self.start > 0 {
            self.buf.drain(..self.start);
            self.start = 0;
        }
        self.buf.extend_from_slice(data);
    }

    /// The next whole message's bytes, `Ok(None)` until one is complete, or a header error
    /// (after which the stream cannot be re-synchronized).
    pub fn next_message(&mut self) -> Result<Option<&[u8]>, DecodeError> {
        let rest = &self.buf[self.start..];
        match Header::check(rest)? {
            Some((len, _)) if rest.len() >= len => {
                let s = self.start;
                self.start += len;
                Ok(Some(&self.buf[s..s + len]))
            }
            _ => Ok(None),
        }
    }

    /// Takes every byte buffered but not yet returned (to hand a stream that cannot be framed
    /// to whoever reports the error).
    pub fn take_pending(&mut self) -> Vec<u8> {
        let rest = self.buf.split_off(self.start);
        self.buf.clear();
        self.start = 0;
        rest
    }

    /// Bytes buffered but not yet returned.
    pub fn pending(&self) -> usize {
        self.buf.len() - self.start
    }
}
