//! IEEE 802.1Q / 802.1ad VLAN tag: the 4 bytes after a TPID of 0x8100, 0x88a8 or 0x9100.
//!
//! ```text
//!  0       3 4  5                16                32
//! +---------+--+-----------------+-----------------+
//! |  PCP    |DEI|   VLAN ID (12) | next EtherType  |
//! +---------+--+-----------------+-----------------+
//! ```
//! The TPID itself is the EtherType field of the layer before.

use core::fmt;

use crate::error::{Layer, LenError, LenSource};
use crate::ethernet::EtherType;

/// A 12-bit VLAN identifier (0..=4095).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct VlanId(u16);

impl VlanId {
    /// The largest value (4095, reserved by 802.1Q).
    pub const MAX: u16 = 0x0fff;

    /// Returns a VLAN id if `value` fits in 12 bits.
    pub const fn try_new(value: u16) -> Option<VlanId> {
        if value <= Self::MAX {
            Some(VlanId(value))
        } else {
            None
        }
    }

    /// The id as a number.
    #[inline]
    pub const fn value(self) -> u16 {
        self.0
    }
}

impl fmt::Display for VlanId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

mod field {
    use crate::Field;
    pub const TCI: Field = 0..2;
    pub const ETHERTYPE: Field = 2..4;
}

/// A view of one VLAN tag (the 4 bytes after the TPID).
#[derive(Debug, Clone)]
pub struct VlanTag<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> VlanTag<T> {
    /// Tag length in bytes (excluding the TPID, which belongs to the previous layer).
    pub const HEADER_LEN: usize = field::ETHERTYPE.end;

    /// Wraps a buffer without checking its length.
    pub const fn new_unchecked(buffer: T) -> Self {
        VlanTag { buffer }
    }

    /// Wraps a buffer after [`check_len`](Self::check_len).
    pub fn new_checked(buffer: T) -> Result<Self, LenError> {
        let t = Self::new_unchecked(buffer);
        t.check_len()?;
        Ok(t)
    }

    /// Ensures the 4 tag bytes are present.
    pub fn check_len(&self) -> Result<(), LenError> {
        let len = self.buffer.as_ref().len();
        if len < Self::HEADER_LEN {
            return Err(LenError {
                layer: Layer::Vlan,
                offset: 0,
                required: Self::HEADER_LEN,
                available: len,
                source: LenSource::Slice,
            });
        }
        Ok(())
    }

    #[inline]
    fn tci(&self) -> u16 {
        let b = &self.buffer.as_ref()[field::TCI];
        u16::from_be_bytes([b[0], b[1]])
    }

    /// Priority code point (3 bits).
    #[inline]
    pub fn pcp(&self) -> u8 {
        (self.tci() >> 13) as u8
    }

    /// Drop eligible indicator.
    #[inline]
    pub fn dei(&self) -> bool {
        self.tci() & 0x1000 != 0
    }

    /// VLAN identifier.
    #[inline]
    pub fn vid(&self) -> VlanId {
        VlanId(self.tci() & VlanId::MAX)
    }

    /// The EtherType that follows the tag.
    #[inline]
    pub fn ethertype(&self) -> EtherType {
        let b = &self.buffer.as_ref()[field::ETHERTYPE];
        EtherType::from(u16::from_be_bytes([b[0], b[1]]))
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> VlanTag<T> {
    /// Sets PCP, DEI and VID at once.
    #[inline]
    pub fn set_tci(&mut self, pcp: u8, dei: bool, vid: VlanId) {
        let tci = (u16::from(pcp & 7) << 13) | (u16::from(dei) << 12) | vid.0;
        self.buffer.as_mut()[field::TCI].copy_from_slice(&tci.to_be_bytes());
    }
    /// Sets the EtherType that follows.
    #[inline]
    pub fn set_ethertype(&mut self, t: EtherType) {
        self.buffer.as_mut()[field::ETHERTYPE].copy_from_slice(&u16::from(t).to_be_bytes());
    }
}

impl<T: AsRef<[u8]>> fmt::Display for VlanTag<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.check_len() {
            Ok(()) => write!(f, "VLAN vid={} pcp={} next={:?}", self.vid(), self.pcp(), self.ethertype()),
            Err(e) => write!(f, "VLAN ({e})"),
        }
    }
}

/// An owned VLAN tag.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VlanRepr {
    /// Priority code point (0..=7).
    pub pcp: u8,
    /// Drop eligible indicator.
    pub dei: bool,
    /// VLAN id.
    pub vid: VlanId,
    /// The EtherType after this tag.
    pub ethertype: EtherType,
}

impl VlanRepr {
    /// Parses a tag.
    pub fn parse<T: AsRef<[u8]>>(tag: &VlanTag<T>) -> Result<Self, LenError> {
        tag.check_len()?;
        Ok(VlanRepr { pcp: tag.pcp(), dei: tag.dei(), vid: tag.vid(), ethertype: tag.ethertype() })
    }

    /// Bytes the tag takes after its TPID.
    pub const fn buffer_len(&self) -> usize {
        VlanTag::<&[u8]>::HEADER_LEN
    }

    /// Writes the tag.
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, tag: &mut VlanTag<T>) {
        tag.set_tci(self.pcp, self.dei, self.vid);
        tag.set_ethertype(self.ethertype);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    static BYTES: [u8; 4] = [0xb0, 0x64, 0x08, 0x00]; // pcp 5, dei 1, vid 100, IPv4

    #[test]
    fn test_deconstruct() {
        let t = VlanTag::new_checked(&BYTES[..]).unwrap();
        assert_eq!((t.pcp(), t.dei(), t.vid().value()), (5, true, 100));
        assert_eq!(t.ethertype(), EtherType::Ipv4);
    }

    #[test]
    fn test_parse_emit_round_trip() {
        let r = VlanRepr::parse(&VlanTag::new_checked(&BYTES[..]).unwrap()).unwrap();
        let mut buf = [0u8; 4];
        r.emit(&mut VlanTag::new_unchecked(&mut buf[..]));
        assert_eq!(buf, BYTES);
    }

    #[test]
    fn test_truncated() {
        assert_eq!(VlanTag::new_checked(&BYTES[..3]).unwrap_err().required, 4);
    }

    #[test]
    fn vlan_id_range() {
        assert_eq!(VlanId::try_new(4095).map(VlanId::value), Some(4095));
        assert_eq!(VlanId::try_new(4096), None);
    }
}
