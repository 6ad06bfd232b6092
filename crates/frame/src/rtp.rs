//! RTP fixed header (RFC 3550 §5.1).
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |V=2|P|X|  CC   |M|     PT      |       sequence number         |
//! |                           timestamp                           |
//! |           synchronization source (SSRC) identifier            |
//! |            contributing source (CSRC) identifiers (CC × 32)   |
//! |  extension: profile (16) | length in 32-bit words (16) | ...  |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```

use core::fmt;

use crate::error::{Layer, LenError, LenSource};

/// A 7-bit RTP payload type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct PayloadType(u8);

impl PayloadType {
    /// G.711 μ-law (PCMU), RFC 3551.
    pub const PCMU: PayloadType = PayloadType(0);
    /// G.711 A-law (PCMA), RFC 3551.
    pub const PCMA: PayloadType = PayloadType(8);

    /// Returns a payload type if `v` fits in 7 bits.
    pub const fn try_new(v: u8) -> Option<PayloadType> {
        if v < 128 {
            Some(PayloadType(v))
        } else {
            None
        }
    }
    /// The value.
    #[inline]
    pub const fn value(self) -> u8 {
        self.0
    }
    /// Whether this value, read as RTP, would be an RTCP packet type (200..=204 with the marker
    /// bit set shows as 72..=76), which RFC 5761 §4 rules out for RTP when both share a port.
    #[inline]
    pub const fn is_rtcp_conflict(self) -> bool {
        matches!(self.0, 72..=76)
    }
}

impl fmt::Display for PayloadType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// Why bytes are not an RTP packet.
#[allow(missing_docs)] // fields are the values found, named as in each variant's doc
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RtpError {
    /// Shorter than the fixed header, CSRC list or extension.
    Len(LenError),
    /// Version is not 2.
    Version { found: u8 },
    /// The padding count is zero or runs into the header.
    Padding { count: u8, available: usize },
}

impl fmt::Display for RtpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            RtpError::Len(e) => e.fmt(f),
            RtpError::Version { found } => write!(f, "rtp: version is {found}, expected 2"),
            RtpError::Padding { count, available } => {
                write!(f, "rtp: padding count {count} is zero or exceeds the {available} payload bytes")
            }
        }
    }
}

impl std::error::Error for RtpError {}

mod field {
    use crate::Field;
    pub const VPXCC: usize = 0;
    pub const MPT: usize = 1;
    pub const SEQ: Field = 2..4;
    pub const TIMESTAMP: Field = 4..8;
    pub const SSRC: Field = 8..12;
}

/// A view of an RTP packet (the UDP payload).
#[derive(Debug, Clone)]
pub struct RtpPacket<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> RtpPacket<T> {
    /// Fixed header length.
    pub const HEADER_LEN: usize = field::SSRC.end;

    /// Wraps a buffer without checking it.
    pub const fn new_unchecked(buffer: T) -> Self {
        RtpPacket { buffer }
    }

    /// Wraps a buffer after [`check_len`](Self::check_len).
    #[inline]
    pub fn new_checked(buffer: T) -> Result<Self, RtpError> {
        let p = Self::new_unchecked(buffer);
        p.check_len()?;
        Ok(p)
    }

    /// Checks version 2 and that the CSRC list, the extension and the padding fit.
    #[inline]
    pub fn check_len(&self) -> Result<(), RtpError> {
        let data = self.buffer.as_ref();
        let len_err = |required| {
            RtpError::Len(LenError {
                layer: Layer::Rtp,
                offset: 0,
                required,
                available: data.len(),
                source: LenSource::Slice,
            })
        };
        if data.len() < Self::HEADER_LEN {
            return Err(len_err(Self::HEADER_LEN));
        }
        if self.version() != 2 {
            return Err(RtpError::Version { found: self.version() });
        }
        let mut hl = Self::HEADER_LEN + 4 * usize::from(self.csrc_count());
        if self.extension() {
            if data.len() < hl + 4 {
                return Err(len_err(hl + 4));
            }
            hl += 4 + 4 * usize::from(u16::from_be_bytes([data[hl + 2], data[hl + 3]]));
        }
        if data.len() < hl {
            return Err(len_err(hl));
        }
        if self.padding() {
            let count = data[data.len() - 1];
            let available = data.len() - hl;
            if count == 0 || usize::from(count) > available {
                return Err(RtpError::Padding { count, available });
            }
        }
        Ok(())
    }

    /// Version (2).
    #[inline]
    pub fn version(&self) -> u8 {
        self.buffer.as_ref()[field::VPXCC] >> 6
    }
    /// Padding flag.
    #[inline]
    pub fn padding(&self) -> bool {
        self.buffer.as_ref()[field::VPXCC] & 0x20 != 0
    }
    /// Extension flag.
    #[inline]
    pub fn extension(&self) -> bool {
        self.buffer.as_ref()[field::VPXCC] & 0x10 != 0
    }
    /// Number of CSRC identifiers.
    #[inline]
    pub fn csrc_count(&self) -> u8 {
        self.buffer.as_ref()[field::VPXCC] & 0x0f
    }
    /// Marker bit.
    #[inline]
    pub fn marker(&self) -> bool {
        self.buffer.as_ref()[field::MPT] & 0x80 != 0
    }
    /// Payload type.
    #[inline]
    pub fn payload_type(&self) -> PayloadType {
        PayloadType(self.buffer.as_ref()[field::MPT] & 0x7f)
    }
    /// Sequence number.
    #[inline]
    pub fn sequence_number(&self) -> u16 {
        let b = &self.buffer.as_ref()[field::SEQ];
        u16::from_be_bytes([b[0], b[1]])
    }
    /// Timestamp.
    #[inline]
    pub fn timestamp(&self) -> u32 {
        let b = &self.buffer.as_ref()[field::TIMESTAMP];
        u32::from_be_bytes([b[0], b[1], b[2], b[3]])
    }
    /// Synchronization source.
    #[inline]
    pub fn ssrc(&self) -> u32 {
        let b = &self.buffer.as_ref()[field::SSRC];
        u32::from_be_bytes([b[0], b[1], b[2], b[3]])
    }
    /// The `i`th CSRC.
    ///
    /// # Panics
    /// If `i >= csrc_count()`.
    pub fn csrc(&self, i: usize) -> u32 {
        assert!(i < usize::from(self.csrc_count()));
        let o = Self::HEADER_LEN + 4 * i;
        let b = &self.buffer.as_ref()[o..o + 4];
        u32::from_be_bytes([b[0], b[1], b[2], b[3]])
    }
    /// Header length including the CSRC list and the extension.
    pub fn header_len(&self) -> usize {
        let data = self.buffer.as_ref();
        let mut hl = Self::HEADER_LEN + 4 * usize::from(self.csrc_count());
        if self.extension() {
            hl += 4 + 4 * usize::from(u16::from_be_bytes([data[hl + 2], data[hl + 3]]));
        }
        hl
    }
    /// The payload, padding removed.
    pub fn payload(&self) -> &[u8] {
        let data = self.buffer.as_ref();
        let end = if self.padding() { data.len() - usize::from(data[data.len() - 1]) } else { data.len() };
        &data[self.header_len()..end]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> RtpPacket<T> {
    /// Sets version 2, padding, extension and CSRC count.
    #[inline]
    pub fn set_first_byte(&mut self, padding: bool, extension: bool, csrc_count: u8) {
        self.buffer.as_mut()[field::VPXCC] =
            0x80 | (u8::from(padding) << 5) | (u8::from(extension) << 4) | (csrc_count & 0x0f);
    }
    /// Sets the marker and payload type.
    #[inline]
    pub fn set_marker_and_payload_type(&mut self, marker: bool, pt: PayloadType) {
        self.buffer.as_mut()[field::MPT] = (u8::from(marker) << 7) | pt.0;
    }
    /// Sets the sequence number.
    #[inline]
    pub fn set_sequence_number(&mut self, v: u16) {
        self.buffer.as_mut()[field::SEQ].copy_from_slice(&v.to_be_bytes());
    }
    /// Sets the timestamp.
    #[inline]
    pub fn set_timestamp(&mut self, v: u32) {
        self.buffer.as_mut()[field::TIMESTAMP].copy_from_slice(&v.to_be_bytes());
    }
    /// Sets the SSRC.
    #[inline]
    pub fn set_ssrc(&mut self, v: u32) {
        self.buffer.as_mut()[field::SSRC].copy_from_slice(&v.to_be_bytes());
    }
}

impl<T: AsRef<[u8]>> fmt::Display for RtpPacket<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.check_len() {
            Ok(()) => write!(
                f,
                "RTP pt={} seq={} ts={} ssrc={:#010x}{}",
                self.payload_type(),
                self.sequence_number(),
                self.timestamp(),
                self.ssrc(),
                if self.marker() { " marker" } else { "" }
            ),
            Err(e) => write!(f, "RTP ({e})"),
        }
    }
}

/// An owned RTP fixed header (no CSRC list, no extension: what the generator sends).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RtpRepr {
    /// Marker bit.
    pub marker: bool,
    /// Payload type.
    pub payload_type: PayloadType,
    /// Sequence number.
    pub sequence_number: u16,
    /// Timestamp.
    pub timestamp: u32,
    /// SSRC.
    pub ssrc: u32,
}

impl RtpRepr {
    /// Parses the fixed header (CSRCs and extension are skipped).
    pub fn parse<T: AsRef<[u8]>>(packet: &RtpPacket<T>) -> Result<Self, RtpError> {
        packet.check_len()?;
        Ok(RtpRepr {
            marker: packet.marker(),
            payload_type: packet.payload_type(),
            sequence_number: packet.sequence_number(),
            timestamp: packet.timestamp(),
            ssrc: packet.ssrc(),
        })
    }

    /// Header bytes emitted.
    pub const fn buffer_len(&self) -> usize {
        RtpPacket::<&[u8]>::HEADER_LEN
    }

    /// Writes the header.
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, packet: &mut RtpPacket<T>) {
        packet.set_first_byte(false, false, 0);
        packet.set_marker_and_payload_type(self.marker, self.payload_type);
        packet.set_sequence_number(self.sequence_number);
        packet.set_timestamp(self.timestamp);
        packet.set_ssrc(self.ssrc);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    static BYTES: [u8; 16] =
        [0x80, 0x88, 0x12, 0x34, 0x00, 0x00, 0x01, 0x40, 0xde, 0xad, 0xbe, 0xef, 0xd5, 0xd5, 0xd5, 0xd5];

    fn repr() -> RtpRepr {
        RtpRepr {
            marker: true,
            payload_type: PayloadType::PCMA,
            sequence_number: 0x1234,
            timestamp: 320,
            ssrc: 0xdeadbeef,
        }
    }

    #[test]
    fn test_deconstruct() {
        let p = RtpPacket::new_checked(&BYTES[..]).unwrap();
        assert_eq!(p.version(), 2);
        assert!(p.marker() && !p.padding() && !p.extension());
        assert_eq!(p.payload_type(), PayloadType::PCMA);
        assert_eq!((p.sequence_number(), p.timestamp(), p.ssrc()), (0x1234, 320, 0xdeadbeef));
        assert_eq!(p.header_len(), 12);
        assert_eq!(p.payload(), &[0xd5; 4]);
    }

    #[test]
    fn test_emit_round_trip() {
        let mut buf = BYTES;
        buf[..12].fill(0);
        repr().emit(&mut RtpPacket::new_unchecked(&mut buf[..]));
        assert_eq!(buf, BYTES);
        assert_eq!(RtpRepr::parse(&RtpPacket::new_checked(&buf[..]).unwrap()).unwrap(), repr());
    }

    #[test]
    fn test_csrc_extension_padding() {
        // CC=1, X=1, P=1: 12 + 4 (CSRC) + 4 (ext header) + 4 (one ext word) + 2 payload + 2 padding.
        let mut b = vec![0xb1, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1];
        b.extend_from_slice(&[0, 0, 0, 7]); // CSRC 7
        b.extend_from_slice(&[0xbe, 0xde, 0, 1, 1, 2, 3, 4]); // extension, 1 word
        b.extend_from_slice(&[0xaa, 0xbb, 0x00, 0x02]); // payload + 2 padding bytes
        let p = RtpPacket::new_checked(&b[..]).unwrap();
        assert_eq!(p.csrc(0), 7);
        assert_eq!(p.header_len(), 24);
        assert_eq!(p.payload(), &[0xaa, 0xbb]);
    }

    #[test]
    fn test_bad_version() {
        let mut b = BYTES;
        b[0] = 0x40;
        assert_eq!(RtpPacket::new_checked(&b[..]).unwrap_err(), RtpError::Version { found: 1 });
    }

    #[test]
    fn test_truncated_csrc_and_extension() {
        let mut b = BYTES;
        b[0] = 0x82; // two CSRCs need 20 bytes
        assert!(matches!(RtpPacket::new_checked(&b[..]), Err(RtpError::Len(LenError { required: 20, .. }))));
        b[0] = 0x90; // extension header with length 0xd5d5 words
        assert!(matches!(RtpPacket::new_checked(&b[..]), Err(RtpError::Len(_))));
        assert!(matches!(RtpPacket::new_checked(&b[..11]), Err(RtpError::Len(LenError { required: 12, .. }))));
    }

    #[test]
    fn test_bad_padding() {
        let mut b = BYTES;
        b[0] = 0xa0;
        b[15] = 5; // 5 padding bytes but only 4 after the header
        assert_eq!(RtpPacket::new_checked(&b[..]).unwrap_err(), RtpError::Padding { count: 5, available: 4 });
        b[15] = 0;
        assert!(matches!(RtpPacket::new_checked(&b[..]), Err(RtpError::Padding { count: 0, .. })));
    }
}
