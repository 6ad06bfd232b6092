//! Typed parse errors. One error names the layer, the byte offset in the frame where that layer
//! starts, the field, and what was expected versus found (etherparse's `LenError` shape).

use core::fmt;

/// The protocol layer an error or a count refers to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Layer {
    /// Ethernet II header (14 bytes).
    Ethernet,
    /// Linux cooked capture header (SLL, 16 bytes; SLL2, 20 bytes).
    LinuxSll,
    /// BSD loopback / DLT_NULL header (4 bytes).
    Null,
    /// One 802.1Q / 802.1ad tag (4 bytes).
    Vlan,
    /// IPv4 header.
    Ipv4,
    /// IPv4 payload as bounded by the header's total length.
    Ipv4Payload,
    /// IPv6 header and extension headers (parsed by the etherparse slow path).
    Ipv6,
    /// ARP packet.
    Arp,
    /// UDP header.
    Udp,
    /// UDP payload as bounded by the UDP length field.
    UdpPayload,
    /// TCP header.
    Tcp,
    /// ICMP (v4 or v6) header.
    Icmp,
    /// RTP fixed header, CSRC list and extension.
    Rtp,
}

impl Layer {
    /// A short lowercase name, stable for JSON keys.
    pub const fn as_str(self) -> &'static str {
        match self {
            Layer::Ethernet => "ethernet",
            Layer::LinuxSll => "sll",
            Layer::Null => "null",
            Layer::Vlan => "vlan",
            Layer::Ipv4 => "ipv4",
            Layer::Ipv4Payload => "ipv4_payload",
            Layer::Ipv6 => "ipv6",
            Layer::Arp => "arp",
            Layer::Udp => "udp",
            Layer::UdpPayload => "udp_payload",
            Layer::Tcp => "tcp",
            Layer::Icmp => "icmp",
            Layer::Rtp => "rtp",
        }
    }
}

impl fmt::Display for Layer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where the length that was too short came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LenSource {
    /// The bytes actually present in the frame.
    Slice,
    /// The IPv4 header's total length field.
    Ipv4TotalLen,
    /// The UDP header's length field.
    UdpLen,
    /// The IPv6 payload length field.
    Ipv6PayloadLen,
}

/// A layer needed more bytes than it had.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LenError {
    /// The layer that was cut short.
    pub layer: Layer,
    /// Byte offset in the frame where that layer starts.
    pub offset: usize,
    /// Bytes the layer needs.
    pub required: usize,
    /// Bytes it had.
    pub available: usize,
    /// What bounded the available bytes.
    pub source: LenSource,
}

impl fmt::Display for LenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let src = match self.source {
            LenSource::Slice => "bytes in the frame",
            LenSource::Ipv4TotalLen => "bytes allowed by the IPv4 total length",
            LenSource::UdpLen => "bytes allowed by the UDP length",
            LenSource::Ipv6PayloadLen => "bytes allowed by the IPv6 payload length",
        };
        write!(
            f,
            "{} at offset {} needs {} bytes but has {} {}",
            self.layer, self.offset, self.required, self.available, src
        )
    }
}

/// A frame that cannot be parsed. Every variant carries `offset`, the byte offset in the frame
/// where the offending layer starts, and the field value found.
#[allow(missing_docs)] // the fields are `offset` and the values named in each variant's doc
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParseError {
    /// A layer is shorter than its header or than its own length field says.
    Len(LenError),
    /// IPv4 version field is not 4 although the EtherType said IPv4.
    Ipv4Version { offset: usize, found: u8 },
    /// IPv4 IHL below 5 (20 bytes).
    Ipv4Ihl { offset: usize, found: u8 },
    /// IPv4 total length smaller than the header length.
    Ipv4TotalLenTooSmall { offset: usize, total_len: u16, header_len: usize },
    /// UDP length field below 8 (and not 0).
    UdpLenTooSmall { offset: usize, found: u16 },
    /// TCP data offset below 5 (20 bytes).
    TcpDataOffset { offset: usize, found: u8 },
    /// IPv6 header or extension header rejected by the slow path.
    Ipv6 { offset: usize, reason: Ipv6ErrorKind },
}

/// What was wrong with an IPv6 packet (details from the etherparse slow path).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ipv6ErrorKind {
    /// Version field is not 6.
    Version,
    /// An extension header is malformed or not allowed where it is.
    ExtensionHeader,
}

impl ParseError {
    /// The layer the error belongs to.
    pub fn layer(&self) -> Layer {
        match self {
            ParseError::Len(e) => e.layer,
            ParseError::Ipv4Version { .. } | ParseError::Ipv4Ihl { .. } | ParseError::Ipv4TotalLenTooSmall { .. } => {
                Layer::Ipv4
            }
            ParseError::UdpLenTooSmall { .. } => Layer::Udp,
            ParseError::TcpDataOffset { .. } => Layer::Tcp,
            ParseError::Ipv6 { .. } => Layer::Ipv6,
        }
    }

    /// Byte offset in the frame where the offending layer starts.
    pub fn offset(&self) -> usize {
        match *self {
            ParseError::Len(e) => e.offset,
            ParseError::Ipv4Version { offset, .. }
            | ParseError::Ipv4Ihl { offset, .. }
            | ParseError::Ipv4TotalLenTooSmall { offset, .. }
            | ParseError::UdpLenTooSmall { offset, .. }
            | ParseError::TcpDataOffset { offset, .. }
            | ParseError::Ipv6 { offset, .. } => offset,
        }
    }

    /// A counting key: the reason without the numbers, for per-reason tallies.
    pub fn reason(&self) -> MalformedReason {
        match *self {
            ParseError::Len(e) => match (e.layer, e.source) {
                (Layer::Ipv4Payload, _) => MalformedReason::Ipv4TotalLenBeyondFrame,
                (Layer::UdpPayload, _) => MalformedReason::UdpLenBeyondPayload,
                (layer, _) => MalformedReason::Truncated(layer),
            },
            ParseError::Ipv4Version { .. } => MalformedReason::Ipv4Version,
            ParseError::Ipv4Ihl { .. } => MalformedReason::Ipv4Ihl,
            ParseError::Ipv4TotalLenTooSmall { .. } => MalformedReason::Ipv4TotalLenTooSmall,
            ParseError::UdpLenTooSmall { .. } => MalformedReason::UdpLenTooSmall,
            ParseError::TcpDataOffset { .. } => MalformedReason::TcpDataOffset,
            ParseError::Ipv6 { reason: Ipv6ErrorKind::Version, .. } => MalformedReason::Ipv6Version,
            ParseError::Ipv6 { reason: Ipv6ErrorKind::ExtensionHeader, .. } => MalformedReason::Ipv6ExtensionHeader,
        }
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            ParseError::Len(e) => e.fmt(f),
            ParseError::Ipv4Version { offset, found } => {
                write!(f, "ipv4 at offset {offset}: version field is {found}, expected 4")
            }
            ParseError::Ipv4Ihl { offset, found } => {
                write!(f, "ipv4 at offset {offset}: header length (IHL) is {found} words, expected at least 5")
            }
            ParseError::Ipv4TotalLenTooSmall { offset, total_len, header_len } => write!(
                f,
                "ipv4 at offset {offset}: total length {total_len} is smaller than the header length {header_len}"
            ),
            ParseError::UdpLenTooSmall { offset, found } => {
                write!(f, "udp at offset {offset}: length field is {found}, expected 0 or at least 8")
            }
            ParseError::TcpDataOffset { offset, found } => {
                write!(f, "tcp at offset {offset}: data offset is {found} words, expected at least 5")
            }
            ParseError::Ipv6 { offset, reason: Ipv6ErrorKind::Version } => {
                write!(f, "ipv6 at offset {offset}: version field is not 6")
            }
            ParseError::Ipv6 { offset, reason: Ipv6ErrorKind::ExtensionHeader } => {
                write!(f, "ipv6 at offset {offset}: malformed extension header")
            }
        }
    }
}

impl std::error::Error for ParseError {}

/// Why a frame was counted as malformed, without the per-frame numbers. Used as a tally key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum MalformedReason {
    /// The layer is shorter than its fixed header.
    Truncated(Layer),
    /// IPv4 total length points past the end of the frame.
    Ipv4TotalLenBeyondFrame,
    /// IPv4 total length smaller than the header.
    Ipv4TotalLenTooSmall,
    /// IPv4 version is not 4.
    Ipv4Version,
    /// IPv4 IHL below 5.
    Ipv4Ihl,
    /// UDP length points past the IP payload.
    UdpLenBeyondPayload,
    /// UDP length below 8 and not 0.
    UdpLenTooSmall,
    /// TCP data offset below 5.
    TcpDataOffset,
    /// IPv6 version is not 6.
    Ipv6Version,
    /// IPv6 extension header malformed.
    Ipv6ExtensionHeader,
    /// A SIP message is malformed.
    Sip(crate::sip::SipError),
    /// The SDP in a SIP message is malformed.
    Sdp(crate::sdp::SdpError),
    /// An RTCP compound packet is malformed.
    Rtcp(crate::rtcp::RtcpError),
}

impl MalformedReason {
    /// Stable key for JSON output, e.g. `ipv4.ihl_below_5`.
    pub fn key(self) -> &'static str {
        match self {
            MalformedReason::Truncated(l) => match l {
                Layer::Ethernet => "ethernet.truncated",
                Layer::LinuxSll => "sll.truncated",
                Layer::Null => "null.truncated",
                Layer::Vlan => "vlan.truncated",
                Layer::Ipv4 => "ipv4.truncated",
                Layer::Ipv4Payload => "ipv4.total_length_beyond_frame",
                Layer::Ipv6 => "ipv6.truncated",
                Layer::Arp => "arp.truncated",
                Layer::Udp => "udp.truncated",
                Layer::UdpPayload => "udp.length_beyond_payload",
                Layer::Tcp => "tcp.truncated",
                Layer::Icmp => "icmp.truncated",
                Layer::Rtp => "rtp.truncated",
            },
            MalformedReason::Ipv4TotalLenBeyondFrame => "ipv4.total_length_beyond_frame",
            MalformedReason::Ipv4TotalLenTooSmall => "ipv4.total_length_below_header",
            MalformedReason::Ipv4Version => "ipv4.version_not_4",
            MalformedReason::Ipv4Ihl => "ipv4.ihl_below_5",
            MalformedReason::UdpLenBeyondPayload => "udp.length_beyond_payload",
            MalformedReason::UdpLenTooSmall => "udp.length_below_8",
            MalformedReason::TcpDataOffset => "tcp.data_offset_below_5",
            MalformedReason::Ipv6Version => "ipv6.version_not_6",
            MalformedReason::Ipv6ExtensionHeader => "ipv6.bad_extension_header",
            MalformedReason::Sip(e) => e.key(),
            MalformedReason::Sdp(e) => e.key(),
            MalformedReason::Rtcp(e) => e.key(),
        }
    }
}
