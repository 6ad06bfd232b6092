//! IPv4 (RFC 791).
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |Version|  IHL  |    DSCP/ECN   |          Total Length         |
//! |         Identification        |Flags|      Fragment Offset    |
//! |  Time to Live |    Protocol   |         Header Checksum       |
//! |                       Source Address                          |
//! |                    Destination Address                        |
//! |                    Options (IHL > 5)                          |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```

use core::fmt;
use std::net::Ipv4Addr;

use crate::checksum;
use crate::error::{Layer, LenError, LenSource, ParseError};

enum_with_unknown! {
    /// IP protocol numbers (IANA "Assigned Internet Protocol Numbers").
    pub enum IpProtocol(u8) {
        /// ICMP.
        Icmp = 1,
        /// IGMP.
        Igmp = 2,
        /// TCP.
        Tcp = 6,
        /// UDP.
        Udp = 17,
        /// IPv6 encapsulation.
        Ipv6 = 41,
        /// GRE.
        Gre = 47,
        /// IPsec ESP.
        Esp = 50,
        /// IPsec AH.
        Ah = 51,
        /// ICMPv6.
        Icmpv6 = 58,
        /// SCTP.
        Sctp = 132,
    }
}

mod field {
    use crate::Field;
    pub const VER_IHL: usize = 0;
    pub const DSCP_ECN: usize = 1;
    pub const LENGTH: Field = 2..4;
    pub const IDENT: Field = 4..6;
    pub const FLG_OFF: Field = 6..8;
    pub const TTL: usize = 8;
    pub const PROTOCOL: usize = 9;
    pub const CHECKSUM: Field = 10..12;
    pub const SRC_ADDR: Field = 12..16;
    pub const DST_ADDR: Field = 16..20;
}

/// A view of an IPv4 packet over a byte buffer.
#[derive(Debug, Clone)]
pub struct Ipv4Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Ipv4Packet<T> {
    /// Length of a header without options.
    pub const MIN_HEADER_LEN: usize = field::DST_ADDR.end;

    /// Wraps a buffer without checking it.
    pub const fn new_unchecked(buffer: T) -> Self {
        Ipv4Packet { buffer }
    }

    /// Wraps a buffer after [`check_len`](Self::check_len).
    pub fn new_checked(buffer: T) -> Result<Self, ParseError> {
        let p = Self::new_unchecked(buffer);
        p.check_len()?;
        Ok(p)
    }

    /// Validates version, IHL and total length against the buffer, so that every accessor,
    /// [`payload`](Self::payload) included, stays in bounds. Offsets in errors are relative
    /// to the start of this packet.
    pub fn check_len(&self) -> Result<(), ParseError> {
        let data = self.buffer.as_ref();
        if data.len() < Self::MIN_HEADER_LEN {
            return Err(ParseError::Len(LenError {
                layer: Layer::Ipv4,
                offset: 0,
                required: Self::MIN_HEADER_LEN,
                available: data.len(),
                source: LenSource::Slice,
            }));
        }
        if self.version() != 4 {
            return Err(ParseError::Ipv4Version { offset: 0, found: self.version() });
        }
        let ihl = data[field::VER_IHL] & 0x0f;
        if ihl < 5 {
            return Err(ParseError::Ipv4Ihl { offset: 0, found: ihl });
        }
        let header_len = self.header_len();
        if data.len() < header_len {
            return Err(ParseError::Len(LenError {
                layer: Layer::Ipv4,
                offset: 0,
                required: header_len,
                available: data.len(),
                source: LenSource::Slice,
            }));
        }
        let total = self.total_len();
        if usize::from(total) < header_len {
            return Err(ParseError::Ipv4TotalLenTooSmall { offset: 0, total_len: total, header_len });
        }
        if data.len() < usize::from(total) {
            return Err(ParseError::Len(LenError {
                layer: Layer::Ipv4Payload,
                offset: 0,
                required: usize::from(total),
                available: data.len(),
                source: LenSource::Slice,
            }));
        }
        Ok(())
    }

    /// Returns the underlying buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// Version field (4 for IPv4).
    #[inline]
    pub fn version(&self) -> u8 {
        self.buffer.as_ref()[field::VER_IHL] >> 4
    }
    /// Header length in bytes (IHL × 4).
    #[inline]
    pub fn header_len(&self) -> usize {
        usize::from(self.buffer.as_ref()[field::VER_IHL] & 0x0f) * 4
    }
    /// DSCP (6 bits).
    #[inline]
    pub fn dscp(&self) -> u8 {
        self.buffer.as_ref()[field::DSCP_ECN] >> 2
    }
    /// ECN (2 bits).
    #[inline]
    pub fn ecn(&self) -> u8 {
        self.buffer.as_ref()[field::DSCP_ECN] & 3
    }
    /// Total length (header and payload).
    #[inline]
    pub fn total_len(&self) -> u16 {
        let b = &self.buffer.as_ref()[field::LENGTH];
        u16::from_be_bytes([b[0], b[1]])
    }
    /// Identification.
    #[inline]
    pub fn ident(&self) -> u16 {
        let b = &self.buffer.as_ref()[field::IDENT];
        u16::from_be_bytes([b[0], b[1]])
    }
    #[inline]
    fn flg_off(&self) -> u16 {
        let b = &self.buffer.as_ref()[field::FLG_OFF];
        u16::from_be_bytes([b[0], b[1]])
    }
    /// Don't-fragment flag.
    #[inline]
    pub fn dont_frag(&self) -> bool {
        self.flg_off() & 0x4000 != 0
    }
    /// More-fragments flag.
    #[inline]
    pub fn more_frags(&self) -> bool {
        self.flg_off() & 0x2000 != 0
    }
    /// Fragment offset in bytes.
    #[inline]
    pub fn frag_offset(&self) -> u16 {
        (self.flg_off() & 0x1fff) << 3
    }
    /// Whether the payload is a fragment (MF set or offset non-zero).
    #[inline]
    pub fn is_fragment(&self) -> bool {
        self.flg_off() & 0x3fff != 0
    }
    /// Time to live.
    #[inline]
    pub fn ttl(&self) -> u8 {
        self.buffer.as_ref()[field::TTL]
    }
    /// Protocol of the payload.
    #[inline]
    pub fn protocol(&self) -> IpProtocol {
        IpProtocol::from(self.buffer.as_ref()[field::PROTOCOL])
    }
    /// Header checksum field.
    #[inline]
    pub fn checksum(&self) -> u16 {
        let b = &self.buffer.as_ref()[field::CHECKSUM];
        u16::from_be_bytes([b[0], b[1]])
    }
    /// Source address.
    #[inline]
    pub fn src_addr(&self) -> Ipv4Addr {
        let b = &self.buffer.as_ref()[field::SRC_ADDR];
        Ipv4Addr::new(b[0], b[1], b[2], b[3])
    }
    /// Destination address.
    #[inline]
    pub fn dst_addr(&self) -> Ipv4Addr {
        let b = &self.buffer.as_ref()[field::DST_ADDR];
        Ipv4Addr::new(b[0], b[1], b[2], b[3])
    }
    /// Whether the header checksum is correct (options included).
    #[inline]
    pub fn verify_checksum(&self) -> bool {
        checksum::fold(checksum::sum(0, &self.buffer.as_ref()[..self.header_len()])) == 0xffff
    }
    /// Header options (empty when IHL is 5).
    #[inline]
    pub fn options(&self) -> &[u8] {
        &self.buffer.as_ref()[Self::MIN_HEADER_LEN..self.header_len()]
    }
    /// The payload as bounded by the total length.
    #[inline]
    pub fn payload(&self) -> &[u8] {
        &self.buffer.as_ref()[self.header_len()..usize::from(self.total_len())]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Ipv4Packet<T> {
    /// Sets version 4 and the header length in bytes (a multiple of 4, 20..=60).
    #[inline]
    pub fn set_version_and_header_len(&mut self, header_len: usize) {
        self.buffer.as_mut()[field::VER_IHL] = 0x40 | ((header_len / 4) as u8 & 0x0f);
    }
    /// Sets DSCP and ECN.
    #[inline]
    pub fn set_dscp_ecn(&mut self, dscp: u8, ecn: u8) {
        self.buffer.as_mut()[field::DSCP_ECN] = (dscp << 2) | (ecn & 3);
    }
    /// Sets the total length.
    #[inline]
    pub fn set_total_len(&mut self, v: u16) {
        self.buffer.as_mut()[field::LENGTH].copy_from_slice(&v.to_be_bytes());
    }
    /// Sets the identification.
    #[inline]
    pub fn set_ident(&mut self, v: u16) {
        self.buffer.as_mut()[field::IDENT].copy_from_slice(&v.to_be_bytes());
    }
    /// Sets flags and fragment offset (offset in bytes, a multiple of 8).
    #[inline]
    pub fn set_flags_and_offset(&mut self, dont_frag: bool, more_frags: bool, offset: u16) {
        let v = (u16::from(dont_frag) << 14) | (u16::from(more_frags) << 13) | (offset >> 3);
        self.buffer.as_mut()[field::FLG_OFF].copy_from_slice(&v.to_be_bytes());
    }
    /// Sets the TTL.
    #[inline]
    pub fn set_ttl(&mut self, v: u8) {
        self.buffer.as_mut()[field::TTL] = v;
    }
    /// Sets the protocol.
    #[inline]
    pub fn set_protocol(&mut self, p: IpProtocol) {
        self.buffer.as_mut()[field::PROTOCOL] = p.into();
    }
    /// Sets the source address.
    #[inline]
    pub fn set_src_addr(&mut self, a: Ipv4Addr) {
        self.buffer.as_mut()[field::SRC_ADDR].copy_from_slice(&a.octets());
    }
    /// Sets the destination address.
    #[inline]
    pub fn set_dst_addr(&mut self, a: Ipv4Addr) {
        self.buffer.as_mut()[field::DST_ADDR].copy_from_slice(&a.octets());
    }
    /// Computes and stores the header checksum. Call after every other setter.
    pub fn fill_checksum(&mut self) {
        let hl = self.header_len();
        let buf = self.buffer.as_mut();
        buf[field::CHECKSUM].copy_from_slice(&[0, 0]);
        let c = checksum::checksum(&buf[..hl]);
        buf[field::CHECKSUM].copy_from_slice(&c.to_be_bytes());
    }
}

impl<T: AsRef<[u8]>> fmt::Display for Ipv4Packet<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.check_len() {
            Ok(()) => write!(
                f,
                "IPv4 src={} dst={} proto={:?} len={} ttl={}{}",
                self.src_addr(),
                self.dst_addr(),
                self.protocol(),
                self.total_len(),
                self.ttl(),
                if self.is_fragment() { " fragment" } else { "" }
            ),
            Err(e) => write!(f, "IPv4 ({e})"),
        }
    }
}

/// An owned IPv4 header without options, enough for every frame this project synthesizes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ipv4Repr {
    /// Source address.
    pub src_addr: Ipv4Addr,
    /// Destination address.
    pub dst_addr: Ipv4Addr,
    /// Payload protocol.
    pub protocol: IpProtocol,
    /// Payload length in bytes (total length minus 20).
    pub payload_len: usize,
    /// Time to live.
    pub ttl: u8,
    /// DSCP (46, EF, is what voice normally carries).
    pub dscp: u8,
    /// Identification.
    pub ident: u16,
    /// Don't-fragment flag.
    pub dont_frag: bool,
}

impl Ipv4Repr {
    /// Parses a packet; options are skipped, a fragment or a bad checksum is accepted (the
    /// caller can ask the view).
    pub fn parse<T: AsRef<[u8]>>(packet: &Ipv4Packet<T>) -> Result<Self, ParseError> {
        packet.check_len()?;
        Ok(Ipv4Repr {
            src_addr: packet.src_addr(),
            dst_addr: packet.dst_addr(),
            protocol: packet.protocol(),
            payload_len: usize::from(packet.total_len()) - packet.header_len(),
            ttl: packet.ttl(),
            dscp: packet.dscp(),
            ident: packet.ident(),
            dont_frag: packet.dont_frag(),
        })
    }

    /// Header bytes emitted (no options).
    pub const fn buffer_len(&self) -> usize {
        Ipv4Packet::<&[u8]>::MIN_HEADER_LEN
    }

    /// Writes the header with a correct total length and checksum.
    ///
    /// # Panics
    /// If the buffer is shorter than 20 bytes or `payload_len + 20` exceeds 65535.
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, packet: &mut Ipv4Packet<T>) {
        let total = u16::try_from(self.payload_len + self.buffer_len()).expect("IPv4 total length over 65535");
        packet.set_version_and_header_len(self.buffer_len());
        packet.set_dscp_ecn(self.dscp, 0);
        packet.set_total_len(total);
        packet.set_ident(self.ident);
        packet.set_flags_and_offset(self.dont_frag, false, 0);
        packet.set_ttl(self.ttl);
        packet.set_protocol(self.protocol);
        packet.set_src_addr(self.src_addr);
        packet.set_dst_addr(self.dst_addr);
        packet.fill_checksum();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // 20-byte header (192.0.2.1 -> 198.51.100.2, RFC 5737 documentation addresses) and 4
    // payload bytes. The checksum bytes are recomputed in `bytes()`; `test_checksum_by_hand`
    // checks that value against a sum done by hand.
    static BYTES: [u8; 24] = [
        0x45, 0x00, 0x00, 0x18, 0x12, 0x34, 0x40, 0x00, 0x40, 0x11, 0x5a, 0x0f, 0xc0, 0x00, 0x02, 0x01, 0xc6, 0x33,
        0x64, 0x02, 0xaa, 0xbb, 0xcc, 0xdd,
    ];

    fn repr() -> Ipv4Repr {
        Ipv4Repr {
            src_addr: Ipv4Addr::new(192, 0, 2, 1),
            dst_addr: Ipv4Addr::new(198, 51, 100, 2),
            protocol: IpProtocol::Udp,
            payload_len: 4,
            ttl: 64,
            dscp: 0,
            ident: 0x1234,
            dont_frag: true,
        }
    }

    fn bytes() -> [u8; 24] {
        let mut b = BYTES;
        // Recompute over the documentation addresses actually in BYTES.
        b[10] = 0;
        b[11] = 0;
        let c = checksum::checksum(&b[..20]);
        b[10..12].copy_from_slice(&c.to_be_bytes());
        b
    }

    #[test]
    fn test_checksum_by_hand() {
        // Words: 4500 0018 1234 4000 4011 0000 c000 0201 c633 6402.
        // Sum = 0x2c393 -> fold 0xc395 -> complement 0x3c6a.
        assert_eq!(&bytes()[10..12], &[0x3c, 0x6a]);
    }

    #[test]
    fn test_deconstruct() {
        let b = bytes();
        let p = Ipv4Packet::new_checked(&b[..]).unwrap();
        assert_eq!(p.version(), 4);
        assert_eq!(p.header_len(), 20);
        assert_eq!(p.total_len(), 24);
        assert_eq!(p.ident(), 0x1234);
        assert!(p.dont_frag() && !p.more_frags() && !p.is_fragment());
        assert_eq!(p.ttl(), 64);
        assert_eq!(p.protocol(), IpProtocol::Udp);
        assert_eq!(p.src_addr(), Ipv4Addr::new(192, 0, 2, 1));
        assert_eq!(p.dst_addr(), Ipv4Addr::new(198, 51, 100, 2));
        assert!(p.verify_checksum());
        assert_eq!(p.payload(), &[0xaa, 0xbb, 0xcc, 0xdd]);
    }

    #[test]
    fn test_emit_matches_bytes() {
        let mut buf = [0u8; 24];
        buf[20..].copy_from_slice(&[0xaa, 0xbb, 0xcc, 0xdd]);
        repr().emit(&mut Ipv4Packet::new_unchecked(&mut buf[..]));
        assert_eq!(buf, bytes());
        assert_eq!(Ipv4Repr::parse(&Ipv4Packet::new_checked(&buf[..]).unwrap()).unwrap(), repr());
    }

    #[test]
    fn test_bad_checksum_detected() {
        let mut b = bytes();
        b[11] ^= 1;
        assert!(!Ipv4Packet::new_checked(&b[..]).unwrap().verify_checksum());
    }

    #[test]
    fn test_truncated_header() {
        let b = bytes();
        assert!(matches!(
            Ipv4Packet::new_checked(&b[..19]),
            Err(ParseError::Len(LenError { layer: Layer::Ipv4, required: 20, available: 19, .. }))
        ));
    }

    #[test]
    fn test_bad_version() {
        let mut b = bytes();
        b[0] = 0x65;
        assert_eq!(Ipv4Packet::new_checked(&b[..]).unwrap_err(), ParseError::Ipv4Version { offset: 0, found: 6 });
    }

    #[test]
    fn test_ihl_below_5() {
        let mut b = bytes();
        b[0] = 0x44;
        assert_eq!(Ipv4Packet::new_checked(&b[..]).unwrap_err(), ParseError::Ipv4Ihl { offset: 0, found: 4 });
    }

    #[test]
    fn test_total_len_beyond_buffer() {
        let mut b = bytes();
        b[3] = 0x40;
        assert!(matches!(
            Ipv4Packet::new_checked(&b[..]),
            Err(ParseError::Len(LenError { layer: Layer::Ipv4Payload, required: 64, available: 24, .. }))
        ));
    }

    #[test]
    fn test_total_len_below_header() {
        let mut b = bytes();
        b[3] = 19;
        assert_eq!(
            Ipv4Packet::new_checked(&b[..]).unwrap_err(),
            ParseError::Ipv4TotalLenTooSmall { offset: 0, total_len: 19, header_len: 20 }
        );
    }

    #[test]
    fn test_options_and_fragment() {
        let mut b = [0u8; 28];
        b[24..].copy_from_slice(&[1, 2, 3, 4]);
        let mut p = Ipv4Packet::new_unchecked(&mut b[..]);
        p.set_version_and_header_len(24);
        p.set_total_len(28);
        p.set_flags_and_offset(false, true, 1480);
        p.fill_checksum();
        let p = Ipv4Packet::new_checked(&b[..]).unwrap();
        assert_eq!(p.header_len(), 24);
        assert_eq!(p.options().len(), 4);
        assert!(p.more_frags() && p.is_fragment());
        assert_eq!(p.frag_offset(), 1480);
        assert!(p.verify_checksum());
        assert_eq!(p.payload(), &[1, 2, 3, 4]);
    }
}
