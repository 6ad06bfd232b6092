//! UDP (RFC 768).
//!
//! ```text
//!  0      7 8     15 16    23 24    31
//! +--------+--------+--------+--------+
//! |   Source Port   |  Destination    |
//! |     Length      |    Checksum     |
//! +--------+--------+--------+--------+
//! ```

use core::fmt;
use std::net::Ipv4Addr;

use crate::checksum;
use crate::error::{Layer, LenError, LenSource, ParseError};
use crate::ipv4::IpProtocol;

mod field {
    use crate::Field;
    pub const SRC_PORT: Field = 0..2;
    pub const DST_PORT: Field = 2..4;
    pub const LENGTH: Field = 4..6;
    pub const CHECKSUM: Field = 6..8;
}

/// A view of a UDP datagram.
#[derive(Debug, Clone)]
pub struct UdpPacket<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> UdpPacket<T> {
    /// Header length.
    pub const HEADER_LEN: usize = field::CHECKSUM.end;

    /// Wraps a buffer without checking it.
    pub const fn new_unchecked(buffer: T) -> Self {
        UdpPacket { buffer }
    }

    /// Wraps a buffer after [`check_len`](Self::check_len).
    pub fn new_checked(buffer: T) -> Result<Self, ParseError> {
        let p = Self::new_unchecked(buffer);
        p.check_len()?;
        Ok(p)
    }

    /// Validates the header and the length field. A length of 0 is accepted and means "the
    /// rest of the buffer" (IPv6 jumbograms, RFC 2675; etherparse does the same).
    pub fn check_len(&self) -> Result<(), ParseError> {
        let data = self.buffer.as_ref();
        if data.len() < Self::HEADER_LEN {
            return Err(ParseError::Len(LenError {
                layer: Layer::Udp,
                offset: 0,
                required: Self::HEADER_LEN,
                available: data.len(),
                source: LenSource::Slice,
            }));
        }
        let len = self.len();
        if usize::from(len) > data.len() {
            return Err(ParseError::Len(LenError {
                layer: Layer::UdpPayload,
                offset: 0,
                required: usize::from(len),
                available: data.len(),
                source: LenSource::Slice,
            }));
        }
        if len != 0 && usize::from(len) < Self::HEADER_LEN {
            return Err(ParseError::UdpLenTooSmall { offset: 0, found: len });
        }
        Ok(())
    }

    /// Source port.
    #[inline]
    pub fn src_port(&self) -> u16 {
        let b = &self.buffer.as_ref()[field::SRC_PORT];
        u16::from_be_bytes([b[0], b[1]])
    }
    /// Destination port.
    #[inline]
    pub fn dst_port(&self) -> u16 {
        let b = &self.buffer.as_ref()[field::DST_PORT];
        u16::from_be_bytes([b[0], b[1]])
    }
    /// Length field (header plus payload).
    #[inline]
    pub fn len(&self) -> u16 {
        let b = &self.buffer.as_ref()[field::LENGTH];
        u16::from_be_bytes([b[0], b[1]])
    }
    /// Whether the length field says there is no payload.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len() <= 8
    }
    /// Checksum field (0 means "not computed" over IPv4).
    #[inline]
    pub fn checksum(&self) -> u16 {
        let b = &self.buffer.as_ref()[field::CHECKSUM];
        u16::from_be_bytes([b[0], b[1]])
    }
    /// The datagram (header and payload) as bounded by the length field.
    #[inline]
    pub fn datagram(&self) -> &[u8] {
        let data = self.buffer.as_ref();
        match self.len() {
            0 => data,
            n => &data[..usize::from(n)],
        }
    }
    /// The payload as bounded by the length field.
    #[inline]
    pub fn payload(&self) -> &[u8] {
        &self.datagram()[Self::HEADER_LEN..]
    }
    /// Verifies the checksum over IPv4. Returns `None` when the sender sent none (field 0).
    pub fn verify_checksum(&self, src: Ipv4Addr, dst: Ipv4Addr) -> Option<bool> {
        if self.checksum() == 0 {
            return None;
        }
        let d = self.datagram();
        let len = u16::try_from(d.len()).unwrap_or(u16::MAX);
        let acc = checksum::pseudo_header_v4(src.octets(), dst.octets(), IpProtocol::Udp.into(), len);
        Some(checksum::fold(checksum::sum(acc, d)) == 0xffff)
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> UdpPacket<T> {
    /// Sets the source port.
    #[inline]
    pub fn set_src_port(&mut self, v: u16) {
        self.buffer.as_mut()[field::SRC_PORT].copy_from_slice(&v.to_be_bytes());
    }
    /// Sets the destination port.
    #[inline]
    pub fn set_dst_port(&mut self, v: u16) {
        self.buffer.as_mut()[field::DST_PORT].copy_from_slice(&v.to_be_bytes());
    }
    /// Sets the length field.
    #[inline]
    pub fn set_len(&mut self, v: u16) {
        self.buffer.as_mut()[field::LENGTH].copy_from_slice(&v.to_be_bytes());
    }
    /// Sets the checksum field.
    #[inline]
    pub fn set_checksum(&mut self, v: u16) {
        self.buffer.as_mut()[field::CHECKSUM].copy_from_slice(&v.to_be_bytes());
    }
    /// Computes the checksum over IPv4 and stores it (0 is sent as 0xffff, RFC 768).
    /// Call after the length and payload are in place.
    pub fn fill_checksum(&mut self, src: Ipv4Addr, dst: Ipv4Addr) {
        self.set_checksum(0);
        let len = self.len();
        let acc = checksum::pseudo_header_v4(src.octets(), dst.octets(), IpProtocol::Udp.into(), len);
        let c = !checksum::fold(checksum::sum(acc, &self.buffer.as_ref()[..usize::from(len)]));
        self.set_checksum(if c == 0 { 0xffff } else { c });
    }
    /// Mutable payload as bounded by the length field.
    #[inline]
    pub fn payload_mut(&mut self) -> &mut [u8] {
        let len = usize::from(self.len());
        &mut self.buffer.as_mut()[Self::HEADER_LEN..len]
    }
}

impl<T: AsRef<[u8]>> fmt::Display for UdpPacket<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.check_len() {
            Ok(()) => write!(f, "UDP {} -> {} len={}", self.src_port(), self.dst_port(), self.len()),
            Err(e) => write!(f, "UDP ({e})"),
        }
    }
}

/// An owned UDP header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UdpRepr {
    /// Source port.
    pub src_port: u16,
    /// Destination port.
    pub dst_port: u16,
}

impl UdpRepr {
    /// Parses the header.
    pub fn parse<T: AsRef<[u8]>>(packet: &UdpPacket<T>) -> Result<Self, ParseError> {
        packet.check_len()?;
        Ok(UdpRepr { src_port: packet.src_port(), dst_port: packet.dst_port() })
    }

    /// Header bytes.
    pub const fn header_len(&self) -> usize {
        UdpPacket::<&[u8]>::HEADER_LEN
    }

    /// Writes header and payload (through `emit_payload`, which gets exactly `payload_len`
    /// bytes), then the checksum.
    ///
    /// # Panics
    /// If the buffer is shorter than `8 + payload_len` or that sum exceeds 65535.
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(
        &self,
        packet: &mut UdpPacket<T>,
        src: Ipv4Addr,
        dst: Ipv4Addr,
        payload_len: usize,
        emit_payload: impl FnOnce(&mut [u8]),
    ) {
        let len = u16::try_from(self.header_len() + payload_len).expect("UDP length over 65535");
        packet.set_src_port(self.src_port);
        packet.set_dst_port(self.dst_port);
        packet.set_len(len);
        emit_payload(packet.payload_mut());
        packet.fill_checksum(src, dst);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SRC: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);
    const DST: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 2);

    // Checksum by hand: pseudo header c000 0201 c633 6402 0011 000c, header 3039 0035 000c 0000,
    // payload dead beef -> sum 0x3ba69 -> fold 0xba6c -> complement 0x4593.
    static BYTES: [u8; 12] = [0x30, 0x39, 0x00, 0x35, 0x00, 0x0c, 0x45, 0x93, 0xde, 0xad, 0xbe, 0xef];

    #[test]
    fn test_deconstruct() {
        let p = UdpPacket::new_checked(&BYTES[..]).unwrap();
        assert_eq!((p.src_port(), p.dst_port(), p.len()), (12345, 53, 12));
        assert_eq!(p.payload(), &[0xde, 0xad, 0xbe, 0xef]);
        assert_eq!(p.verify_checksum(SRC, DST), Some(true));
    }

    #[test]
    fn test_emit() {
        let mut buf = [0u8; 12];
        let repr = UdpRepr { src_port: 12345, dst_port: 53 };
        repr.emit(&mut UdpPacket::new_unchecked(&mut buf[..]), SRC, DST, 4, |p| {
            p.copy_from_slice(&[0xde, 0xad, 0xbe, 0xef])
        });
        assert_eq!(buf, BYTES);
        assert_eq!(UdpRepr::parse(&UdpPacket::new_checked(&buf[..]).unwrap()).unwrap(), repr);
    }

    #[test]
    fn test_bad_and_absent_checksum() {
        let mut b = BYTES;
        b[9] ^= 0xff;
        assert_eq!(UdpPacket::new_checked(&b[..]).unwrap().verify_checksum(SRC, DST), Some(false));
        b[6] = 0;
        b[7] = 0;
        assert_eq!(UdpPacket::new_checked(&b[..]).unwrap().verify_checksum(SRC, DST), None);
    }

    #[test]
    fn test_truncated() {
        assert!(matches!(
            UdpPacket::new_checked(&BYTES[..7]),
            Err(ParseError::Len(LenError { layer: Layer::Udp, required: 8, available: 7, .. }))
        ));
    }

    #[test]
    fn test_len_beyond_and_below() {
        let mut b = BYTES;
        b[5] = 13;
        assert!(matches!(
            UdpPacket::new_checked(&b[..]),
            Err(ParseError::Len(LenError { layer: Layer::UdpPayload, required: 13, available: 12, .. }))
        ));
        b[5] = 7;
        assert_eq!(UdpPacket::new_checked(&b[..]).unwrap_err(), ParseError::UdpLenTooSmall { offset: 0, found: 7 });
        b[5] = 0;
        assert_eq!(UdpPacket::new_checked(&b[..]).unwrap().payload().len(), 4);
    }

    #[test]
    fn test_len_shorter_than_buffer_bounds_payload() {
        let mut b = [0u8; 16];
        b[..12].copy_from_slice(&BYTES);
        assert_eq!(UdpPacket::new_checked(&b[..]).unwrap().payload(), &[0xde, 0xad, 0xbe, 0xef]);
    }
}
