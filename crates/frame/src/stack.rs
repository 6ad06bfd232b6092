//! Whole-stack parsing: link header, up to three VLAN tags, IPv4 (hand-written fast path) or
//! IPv6 (etherparse slow path), then UDP/TCP/ICMP, in one pass without allocation. The result
//! records each layer's offset so that callers can reach the payload, verify checksums or build
//! a [`FlowKey`] without parsing again.

use core::fmt;
use std::net::{IpAddr, Ipv4Addr};

use crate::error::{Layer, LenError, LenSource, ParseError};
use crate::ethernet::EtherType;
use crate::ipv4::IpProtocol;
use crate::link::{LinkType, NULL_HEADER_LEN, SLL2_HEADER_LEN, SLL_HEADER_LEN};
use crate::vlan::VlanId;
use crate::{checksum, ipv6};

/// How many VLAN tags are parsed; a fourth tag ends parsing (as etherparse does).
pub const MAX_VLAN_TAGS: usize = 3;

/// One parsed VLAN tag.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct VlanInfo {
    /// The TPID that introduced the tag (0x8100, 0x88a8 or 0x9100).
    pub tpid: u16,
    /// Priority code point.
    pub pcp: u8,
    /// VLAN id.
    pub vid: VlanId,
}

/// Up to [`MAX_VLAN_TAGS`] tags, outermost first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct VlanStack {
    len: u8,
    tags: [VlanInfo; MAX_VLAN_TAGS],
}

impl VlanStack {
    /// The tags, outermost first.
    #[inline]
    pub fn as_slice(&self) -> &[VlanInfo] {
        &self.tags[..usize::from(self.len)]
    }
    /// Number of tags.
    #[inline]
    pub fn len(&self) -> usize {
        usize::from(self.len)
    }
    /// Whether the frame was untagged.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
    #[inline]
    fn push(&mut self, t: VlanInfo) {
        self.tags[usize::from(self.len)] = t;
        self.len += 1;
    }
}

/// The link header that was parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Link {
    /// Nothing parsed (empty frame or unknown link type).
    #[default]
    None,
    /// Ethernet II.
    Ethernet,
    /// Linux cooked capture v1 or v2.
    LinuxSll,
    /// BSD loopback.
    Null,
    /// No link header: the frame starts with IP.
    Raw,
}

/// IPv4 header fields the pipeline uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ipv4Info {
    /// Source address.
    pub src: Ipv4Addr,
    /// Destination address.
    pub dst: Ipv4Addr,
    /// Payload protocol.
    pub protocol: IpProtocol,
    /// Header length in bytes (20..=60).
    pub header_len: u8,
    /// Total length field.
    pub total_len: u16,
    /// DSCP.
    pub dscp: u8,
    /// TTL.
    pub ttl: u8,
    /// MF set or fragment offset non-zero: the transport header is not parsed.
    pub fragment: bool,
}

pub use crate::ipv6::Ipv6Info;

/// The network layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Net {
    /// No network layer (not reached, or a link header with nothing after it).
    #[default]
    None,
    /// IPv4.
    Ipv4(Ipv4Info),
    /// IPv6.
    Ipv6(Ipv6Info),
    /// ARP.
    Arp,
    /// Another EtherType (LLDP, MPLS, ...): recognised, not parsed.
    Other(EtherType),
}

/// The transport layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Transport {
    /// Not reached (no IP, or an IP fragment).
    #[default]
    None,
    /// UDP.
    Udp {
        /// Source port.
        src_port: u16,
        /// Destination port.
        dst_port: u16,
        /// Length field.
        length: u16,
        /// Checksum field (0: none sent).
        checksum: u16,
    },
    /// TCP.
    Tcp {
        /// Source port.
        src_port: u16,
        /// Destination port.
        dst_port: u16,
        /// Header length in bytes.
        header_len: u8,
        /// Flags (the low 8 bits: CWR..FIN).
        flags: u8,
    },
    /// ICMP or ICMPv6.
    Icmp,
    /// IGMP.
    Igmp,
    /// Another IP protocol: recognised, not parsed.
    Other(IpProtocol),
}

impl Transport {
    /// Source and destination ports for UDP and TCP; (0, 0) otherwise.
    #[inline]
    pub fn ports(self) -> (u16, u16) {
        match self {
            Transport::Udp { src_port, dst_port, .. } | Transport::Tcp { src_port, dst_port, .. } => {
                (src_port, dst_port)
            }
            _ => (0, 0),
        }
    }
}

/// Everything one pass over a frame found. Offsets are from the start of the frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Parsed {
    /// Link header.
    pub link: Link,
    /// VLAN tags.
    pub vlans: VlanStack,
    /// Network layer.
    pub net: Net,
    /// Transport layer.
    pub transport: Transport,
    /// Offset of the network header.
    pub net_offset: u16,
    /// Offset of the transport header.
    pub transport_offset: u16,
    /// Offset of the transport payload (UDP/TCP payload).
    pub payload_offset: u16,
    /// Length of the transport payload, bounded by the IP and UDP length fields (or, in lax
    /// mode, by the captured bytes).
    pub payload_len: u16,
    /// Lax mode only: the layer whose length field pointed past the captured bytes and was cut
    /// to them (`Ipv4Payload`, `Ipv6` or `UdpPayload`).
    pub cut: Option<Layer>,
}

impl Parsed {
    /// The UDP/TCP payload of `frame` (the frame this was parsed from).
    #[inline]
    pub fn payload<'a>(&self, frame: &'a [u8]) -> &'a [u8] {
        let start = usize::from(self.payload_offset);
        frame.get(start..start + usize::from(self.payload_len)).unwrap_or(&[])
    }

    /// Source and destination addresses, for IPv4 and IPv6.
    #[inline]
    pub fn addresses(&self) -> Option<(IpAddr, IpAddr)> {
        match self.net {
            Net::Ipv4(ip) => Some((ip.src.into(), ip.dst.into())),
            Net::Ipv6(ip) => Some((ip.src.into(), ip.dst.into())),
            _ => None,
        }
    }

    /// The TCP sequence number of `frame` (the frame this was parsed from); `None` if not TCP.
    /// Read on demand so that `Parsed` stays small for the UDP fast path.
    pub fn tcp_seq(&self, frame: &[u8]) -> Option<u32> {
        let Transport::Tcp { .. } = self.transport else { return None };
        let at = usize::from(self.transport_offset) + 4;
        frame.get(at..at + 4).map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    /// The flow this frame belongs to, for IPv4 frames.
    #[inline]
    pub fn flow_key(&self) -> Option<FlowKey> {
        let Net::Ipv4(ip) = self.net else { return None };
        let (src_port, dst_port) = self.transport.ports();
        let tags = self.vlans.as_slice();
        Some(FlowKey {
            outer_vlan: tags.first().map(|t| t.vid),
            inner_vlan: tags.get(1).map(|t| t.vid),
            src: ip.src,
            dst: ip.dst,
            protocol: ip.protocol,
            src_port,
            dst_port,
        })
    }

    /// Verifies the IPv4 header checksum. `None` when the frame has no IPv4 header.
    pub fn ipv4_checksum_ok(&self, frame: &[u8]) -> Option<bool> {
        let Net::Ipv4(ip) = self.net else { return None };
        let start = usize::from(self.net_offset);
        let header = frame.get(start..start + usize::from(ip.header_len))?;
        Some(checksum::fold(checksum::sum(0, header)) == 0xffff)
    }

    /// Verifies the UDP checksum over IPv4. `None` when there is none to check: no UDP over
    /// IPv4, checksum field 0, or the datagram was cut by the capture's snap length.
    pub fn udp_checksum_ok(&self, frame: &[u8]) -> Option<bool> {
        let (Net::Ipv4(ip), Transport::Udp { checksum: sum_field, .. }) = (self.net, self.transport) else {
            return None;
        };
        if sum_field == 0 || self.cut.is_some() {
            return None;
        }
        let start = usize::from(self.transport_offset);
        let end = usize::from(self.payload_offset) + usize::from(self.payload_len);
        let d = frame.get(start..end)?;
        let acc = checksum::pseudo_header_v4(ip.src.octets(), ip.dst.octets(), 17, d.len() as u16);
        Some(checksum::fold(checksum::sum(acc, d)) == 0xffff)
    }
}

/// What identifies an IPv4 flow on the cross-connect: VLANs, addresses, protocol and ports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FlowKey {
    /// Outermost VLAN id.
    pub outer_vlan: Option<VlanId>,
    /// Second VLAN id (QinQ C-tag).
    pub inner_vlan: Option<VlanId>,
    /// Source address.
    pub src: Ipv4Addr,
    /// Destination address.
    pub dst: Ipv4Addr,
    /// IP protocol.
    pub protocol: IpProtocol,
    /// Source port (0 when not UDP/TCP, or a fragment).
    pub src_port: u16,
    /// Destination port (0 when not UDP/TCP, or a fragment).
    pub dst_port: u16,
}

impl fmt::Display for FlowKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(v) = self.outer_vlan {
            write!(f, "vlan {v} ")?;
        }
        if let Some(v) = self.inner_vlan {
            write!(f, "vlan {v} ")?;
        }
        write!(f, "{}:{} -> {}:{} {:?}", self.src, self.src_port, self.dst, self.dst_port, self.protocol)
    }
}

/// A lax parse: every layer that could be read, and the error that stopped parsing, if any.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LaxParsed {
    /// The layers parsed before `stop`.
    pub parsed: Parsed,
    /// Why parsing stopped early.
    pub stop: Option<ParseError>,
}

/// Parses an Ethernet II frame strictly: every length field must fit in the frame.
#[inline]
pub fn parse_ethernet(frame: &[u8]) -> Result<Parsed, ParseError> {
    parse(LinkType::Ethernet, frame)
}

/// Parses a frame of the given link type strictly.
#[inline]
pub fn parse(link_type: LinkType, frame: &[u8]) -> Result<Parsed, ParseError> {
    if let Some(p) = fast_path(link_type, frame) {
        return Ok(p);
    }
    let mut p = Parsed::default();
    parse_link_into::<false>(link_type, frame, &mut p)?;
    Ok(p)
}

/// Parses a frame cut short by a capture's snap length: length fields that point past the
/// captured bytes are cut to them (and `cut` is set); a header that is itself cut stops
/// parsing and is reported in `stop`, with the layers before it kept.
#[inline]
pub fn parse_lax(link_type: LinkType, frame: &[u8]) -> LaxParsed {
    // The voice fast path straight into the result (built inside `parse_link_into`, it was
    // copied twice more: 32 instructions a frame in a replay).
    if let Some(parsed) = fast_path(link_type, frame) {
        return LaxParsed { parsed, stop: None };
    }
    let mut p = Parsed::default();
    let stop = parse_link_into::<true>(link_type, frame, &mut p).err();
    LaxParsed { parsed: p, stop }
}

#[inline(always)]
fn be16(d: &[u8], o: usize) -> u16 {
    u16::from_be_bytes([d[o], d[o + 1]])
}

#[inline(always)]
fn too_short(layer: Layer, offset: usize, required: usize, available: usize) -> ParseError {
    ParseError::Len(LenError { layer, offset, required, available, source: LenSource::Slice })
}

fn parse_link_into<const LAX: bool>(link_type: LinkType, d: &[u8], p: &mut Parsed) -> Result<(), ParseError> {
    match link_type {
        LinkType::Ethernet => parse_ethernet_into::<LAX>(d, p),
        LinkType::LinuxSll => {
            if d.len() < SLL_HEADER_LEN {
                return Err(too_short(Layer::LinuxSll, 0, SLL_HEADER_LEN, d.len()));
            }
            p.link = Link::LinuxSll;
            parse_ethertype::<LAX>(d, SLL_HEADER_LEN, be16(d, 14), p)
        }
        LinkType::LinuxSll2 => {
            if d.len() < SLL2_HEADER_LEN {
                return Err(too_short(Layer::LinuxSll, 0, SLL2_HEADER_LEN, d.len()));
            }
            p.link = Link::LinuxSll;
            parse_ethertype::<LAX>(d, SLL2_HEADER_LEN, be16(d, 0), p)
        }
        LinkType::Null | LinkType::Loop => {
            if d.len() < NULL_HEADER_LEN {
                return Err(too_short(Layer::Null, 0, NULL_HEADER_LEN, d.len()));
            }
            p.link = Link::Null;
            let raw = [d[0], d[1], d[2], d[3]];
            // DLT_NULL is in the capturing host's byte order, which the file does not record:
            // try both. AF_INET is 2 everywhere; AF_INET6 is 24, 28 or 30 depending on the OS.
            let family = if link_type == LinkType::Loop {
                u32::from_be_bytes(raw)
            } else {
                let le = u32::from_le_bytes(raw);
                if le <= 0xffff {
                    le
                } else {
                    u32::from_be_bytes(raw)
                }
            };
            match family {
                2 => parse_ipv4::<LAX>(d, NULL_HEADER_LEN, p),
                24 | 28 | 30 => parse_ipv6::<LAX>(d, NULL_HEADER_LEN, p),
                _ => Ok(()),
            }
        }
        LinkType::Raw | LinkType::Ipv4 | LinkType::Ipv6 => {
            p.link = Link::Raw;
            match d.first().map(|b| b >> 4) {
                Some(4) => parse_ipv4::<LAX>(d, 0, p),
                Some(6) => parse_ipv6::<LAX>(d, 0, p),
                _ => Ok(()),
            }
        }
        LinkType::Unknown(_) => Ok(()),
    }
}

#[inline]
fn parse_ethernet_into<const LAX: bool>(d: &[u8], p: &mut Parsed) -> Result<(), ParseError> {
    if d.len() < 14 {
        return Err(too_short(Layer::Ethernet, 0, 14, d.len()));
    }
    p.link = Link::Ethernet;
    parse_ethertype::<LAX>(d, 14, be16(d, 12), p)
}

/// Every entry point tries the voice fast path once, first: an Ethernet frame it takes
/// needs nothing else, and any other goes the general way without trying it again.
#[inline(always)]
fn fast_path(link_type: LinkType, frame: &[u8]) -> Option<Parsed> {
    if link_type == LinkType::Ethernet && frame.len() >= 14 {
        fast_udp4(frame)
    } else {
        None
    }
}

/// The voice fast path: Ethernet, no tag or up to two VLAN tags (802.1Q, or QinQ as a
/// cross-connect's S-tag and C-tag arrive), IPv4 without options and not a fragment, UDP, every
/// length consistent. It accepts exactly what the general path would accept for such frames
/// and yields the same `Parsed` (`crates/cli/tests/differential.rs` checks both against
/// etherparse on a million random and mutated frames, two tags included); anything else
/// returns `None` and takes the general path, which also produces the errors.
/// Measured in benches/benches/parse.rs: it is what brings a G.711 frame from ~22 ns to the
/// figure in benches/RESULTS.md.
#[inline(always)]
fn fast_udp4(d: &[u8]) -> Option<Parsed> {
    let mut vlans = VlanStack::default();
    let tag = |vlans: &mut VlanStack, tpid: u16, tci: u16| -> Option<()> {
        vlans.push(VlanInfo { tpid, pcp: (tci >> 13) as u8, vid: VlanId::try_new(tci & 0x0fff)? });
        Some(())
    };
    // Where the IPv4 header starts: after no tag, one, or two.
    let o = match be16(d, 12) {
        0x0800 => 14,
        t if EtherType::is_vlan_tpid(t) && d.len() >= 18 => {
            tag(&mut vlans, t, be16(d, 14))?;
            match be16(d, 16) {
                0x0800 => 18,
                t2 if EtherType::is_vlan_tpid(t2) && d.len() >= 22 && be16(d, 20) == 0x0800 => {
                    tag(&mut vlans, t2, be16(d, 18))?;
                    22
                }
                _ => return None,
            }
        }
        _ => return None,
    };
    let h: &[u8; 28] = d.get(o..o + 28)?.try_into().ok()?;
    let total = usize::from(u16::from_be_bytes([h[2], h[3]]));
    let udp_len = usize::from(u16::from_be_bytes([h[24], h[25]]));
    if h[0] != 0x45
        || h[9] != 17
        || h[6] & 0x3f != 0
        || h[7] != 0
        || total < 28
        || o + total > d.len()
        || udp_len < 8
        || udp_len > total - 20
    {
        return None;
    }
    Some(Parsed {
        link: Link::Ethernet,
        vlans,
        net: Net::Ipv4(Ipv4Info {
            src: Ipv4Addr::new(h[12], h[13], h[14], h[15]),
            dst: Ipv4Addr::new(h[16], h[17], h[18], h[19]),
            protocol: IpProtocol::Udp,
            header_len: 20,
            total_len: total as u16,
            dscp: h[1] >> 2,
            ttl: h[8],
            fragment: false,
        }),
        transport: Transport::Udp {
            src_port: u16::from_be_bytes([h[20], h[21]]),
            dst_port: u16::from_be_bytes([h[22], h[23]]),
            length: udp_len as u16,
            checksum: u16::from_be_bytes([h[26], h[27]]),
        },
        net_offset: o as u16,
        transport_offset: (o + 20) as u16,
        payload_offset: (o + 28) as u16,
        payload_len: (udp_len - 8) as u16,
        cut: None,
    })
}

#[inline]
fn parse_ethertype<const LAX: bool>(
    d: &[u8],
    mut o: usize,
    mut ethertype: u16,
    p: &mut Parsed,
) -> Result<(), ParseError> {
    while EtherType::is_vlan_tpid(ethertype) {
        if p.vlans.len() == MAX_VLAN_TAGS {
            return Ok(());
        }
        if d.len() < o + 4 {
            return Err(too_short(Layer::Vlan, o, 4, d.len() - o));
        }
        let tci = be16(d, o);
        p.vlans.push(VlanInfo {
            tpid: ethertype,
            pcp: (tci >> 13) as u8,
            vid: VlanId::try_new(tci & 0x0fff).unwrap_or_default(),
        });
        ethertype = be16(d, o + 2);
        o += 4;
    }
    match ethertype {
        0x0800 => parse_ipv4::<LAX>(d, o, p),
        0x86dd => parse_ipv6::<LAX>(d, o, p),
        0x0806 => {
            p.net_offset = o as u16;
            let rest = d.len() - o;
            if rest < 8 {
                return Err(too_short(Layer::Arp, o, 8, rest));
            }
            let need = 8 + 2 * usize::from(d[o + 4]) + 2 * usize::from(d[o + 5]);
            if rest < need {
                return Err(too_short(Layer::Arp, o, need, rest));
            }
            p.net = Net::Arp;
            Ok(())
        }
        other => {
            p.net_offset = o as u16;
            p.net = Net::Other(EtherType::from(other));
            Ok(())
        }
    }
}

#[inline]
fn parse_ipv4<const LAX: bool>(d: &[u8], o: usize, p: &mut Parsed) -> Result<(), ParseError> {
    let rest = d.len() - o;
    if rest < 20 {
        return Err(too_short(Layer::Ipv4, o, 20, rest));
    }
    let h = &d[o..];
    let version = h[0] >> 4;
    if version != 4 {
        return Err(ParseError::Ipv4Version { offset: o, found: version });
    }
    let ihl = h[0] & 0x0f;
    if ihl < 5 {
        return Err(ParseError::Ipv4Ihl { offset: o, found: ihl });
    }
    let header_len = usize::from(ihl) * 4;
    if rest < header_len {
        return Err(too_short(Layer::Ipv4, o, header_len, rest));
    }
    let total_len = be16(h, 2);
    if usize::from(total_len) < header_len {
        return Err(ParseError::Ipv4TotalLenTooSmall { offset: o, total_len, header_len });
    }
    let mut end = o + usize::from(total_len);
    if end > d.len() {
        if !LAX {
            return Err(ParseError::Len(LenError {
                layer: Layer::Ipv4Payload,
                offset: o,
                required: usize::from(total_len),
                available: rest,
                source: LenSource::Slice,
            }));
        }
        p.cut = Some(Layer::Ipv4Payload);
        end = d.len();
    }
    let protocol = IpProtocol::from(h[9]);
    let fragment = be16(h, 6) & 0x3fff != 0;
    p.net_offset = o as u16;
    p.net = Net::Ipv4(Ipv4Info {
        src: Ipv4Addr::new(h[12], h[13], h[14], h[15]),
        dst: Ipv4Addr::new(h[16], h[17], h[18], h[19]),
        protocol,
        header_len: header_len as u8,
        total_len,
        dscp: h[1] >> 2,
        ttl: h[8],
        fragment,
    });
    if fragment {
        return Ok(());
    }
    parse_transport::<LAX>(d, o + header_len, end, protocol, LenSource::Ipv4TotalLen, p)
}

fn parse_ipv6<const LAX: bool>(d: &[u8], o: usize, p: &mut Parsed) -> Result<(), ParseError> {
    let v6 = ipv6::parse::<LAX>(d, o)?;
    p.net_offset = o as u16;
    p.net = Net::Ipv6(v6.info);
    if v6.cut {
        p.cut = Some(Layer::Ipv6);
    }
    if v6.info.fragment {
        return Ok(());
    }
    parse_transport::<LAX>(d, v6.payload_start, v6.payload_end, v6.info.protocol, LenSource::Ipv6PayloadLen, p)
}

/// Parses the transport header in `d[o..end]`, `end` being where the IP length says the
/// packet stops.
#[inline(always)]
fn parse_transport<const LAX: bool>(
    d: &[u8],
    o: usize,
    end: usize,
    protocol: IpProtocol,
    source: LenSource,
    p: &mut Parsed,
) -> Result<(), ParseError> {
    let rest = end - o;
    let short = |layer, required| ParseError::Len(LenError { layer, offset: o, required, available: rest, source });
    p.transport_offset = o as u16;
    match protocol {
        IpProtocol::Udp => {
            if rest < 8 {
                return Err(short(Layer::Udp, 8));
            }
            let length = be16(d, o + 4);
            let mut len = usize::from(length);
            if len > rest {
                if !LAX {
                    return Err(ParseError::Len(LenError {
                        layer: Layer::UdpPayload,
                        offset: o,
                        required: len,
                        available: rest,
                        source,
                    }));
                }
                p.cut = p.cut.or(Some(Layer::UdpPayload));
                len = rest;
            } else if len == 0 {
                len = rest;
            } else if len < 8 {
                return Err(ParseError::UdpLenTooSmall { offset: o, found: length });
            }
            p.transport =
                Transport::Udp { src_port: be16(d, o), dst_port: be16(d, o + 2), length, checksum: be16(d, o + 6) };
            p.payload_offset = (o + 8) as u16;
            p.payload_len = (len - 8) as u16;
        }
        IpProtocol::Tcp => {
            if rest < 20 {
                return Err(short(Layer::Tcp, 20));
            }
            let data_offset = d[o + 12] >> 4;
            if data_offset < 5 {
                return Err(ParseError::TcpDataOffset { offset: o, found: data_offset });
            }
            let hl = usize::from(data_offset) * 4;
            if rest < hl {
                return Err(short(Layer::Tcp, hl));
            }
            p.transport = Transport::Tcp {
                src_port: be16(d, o),
                dst_port: be16(d, o + 2),
                header_len: hl as u8,
                flags: d[o + 13],
            };
            p.payload_offset = (o + hl) as u16;
            p.payload_len = (rest - hl) as u16;
        }
        IpProtocol::Icmp | IpProtocol::Icmpv6 => {
            if rest < 8 {
                return Err(short(Layer::Icmp, 8));
            }
            p.transport = Transport::Icmp;
        }
        IpProtocol::Igmp => {
            // IGMP's length depends on its type and version (RFC 3376 §4): etherparse knows them.
            if let Err(e) = etherparse::IgmpSlice::from_slice(&d[o..end]) {
                return Err(short(Layer::Icmp, e.required_len));
            }
            p.transport = Transport::Igmp;
        }
        other => p.transport = Transport::Other(other),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use etherparse::PacketBuilder;

    fn frame(tcp: bool) -> Vec<u8> {
        let b = PacketBuilder::ethernet2([1; 6], [2; 6]).ipv4([45, 64, 0, 1], [168, 86, 128, 1], 64);
        let mut out = Vec::new();
        if tcp {
            b.tcp(40_000, 179, 0xdead_beef, 1024).write(&mut out, &[0xff; 19]).unwrap();
        } else {
            b.udp(10_000, 20_000).write(&mut out, &[0; 8]).unwrap();
        }
        out
    }

    #[test]
    fn test_tcp_seq_and_addresses() {
        let f = frame(true);
        let p = parse_ethernet(&f).unwrap();
        assert_eq!(p.tcp_seq(&f), Some(0xdead_beef));
        let a: (IpAddr, IpAddr) = ("45.64.0.1".parse().unwrap(), "168.86.128.1".parse().unwrap());
        assert_eq!(p.addresses(), Some(a));
        let f = frame(false);
        let p = parse_ethernet(&f).unwrap();
        assert_eq!(p.tcp_seq(&f), None);
        assert_eq!(p.addresses(), Some(a));
    }
}
