//! Ethernet II (IEEE 802.3 clause 3 with an EtherType).
//!
//! ```text
//!  0                   6                  12        14
//! +-------------------+-------------------+---------+----------
//! | destination MAC   | source MAC        |EtherType| payload ...
//! +-------------------+-------------------+---------+----------
//! ```
//! A captured frame normally has no FCS; MEF and the policer add it back (4 bytes) when counting.

use core::fmt;

use crate::error::{Layer, LenError, LenSource};

enum_with_unknown! {
    /// The EtherType / TPID code points this project cares about.
    pub enum EtherType(u16) {
        /// IPv4.
        Ipv4 = 0x0800,
        /// ARP.
        Arp = 0x0806,
        /// 802.1Q customer VLAN tag (C-tag).
        Vlan = 0x8100,
        /// 802.1ad provider bridging service tag (S-tag, QinQ).
        ServiceVlan = 0x88a8,
        /// Pre-standard QinQ tag still seen on older gear.
        VlanDouble = 0x9100,
        /// IPv6.
        Ipv6 = 0x86dd,
        /// Link Layer Discovery Protocol.
        Lldp = 0x88cc,
        /// IEEE 802.1AE MACsec (recognised, not decoded).
        Macsec = 0x88e5,
    }
}

impl EtherType {
    /// Whether this value introduces a VLAN tag (0x8100, 0x88a8 or 0x9100).
    #[inline]
    pub fn is_vlan_tpid(raw: u16) -> bool {
        matches!(raw, 0x8100 | 0x88a8 | 0x9100)
    }
}

/// A 48-bit MAC address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct MacAddr(pub [u8; 6]);

impl fmt::Display for MacAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let b = self.0;
        write!(f, "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}", b[0], b[1], b[2], b[3], b[4], b[5])
    }
}

mod field {
    use crate::Field;
    pub const DST: Field = 0..6;
    pub const SRC: Field = 6..12;
    pub const ETHERTYPE: Field = 12..14;
}

/// A read/write view of an Ethernet II header over a byte buffer.
#[derive(Debug, Clone)]
pub struct EthernetFrame<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> EthernetFrame<T> {
    /// Header length in bytes.
    pub const HEADER_LEN: usize = field::ETHERTYPE.end;
    /// Frame check sequence length, which MEF counts but captures normally omit.
    pub const FCS_LEN: usize = 4;

    /// Wraps a buffer without checking its length; accessors may panic on a short buffer.
    pub const fn new_unchecked(buffer: T) -> Self {
        EthernetFrame { buffer }
    }

    /// Wraps a buffer after [`check_len`](Self::check_len).
    pub fn new_checked(buffer: T) -> Result<Self, LenError> {
        let f = Self::new_unchecked(buffer);
        f.check_len()?;
        Ok(f)
    }

    /// Ensures the buffer holds the whole header, so that no accessor panics.
    pub fn check_len(&self) -> Result<(), LenError> {
        let len = self.buffer.as_ref().len();
        if len < Self::HEADER_LEN {
            return Err(LenError {
                layer: Layer::Ethernet,
                offset: 0,
                required: Self::HEADER_LEN,
                available: len,
                source: LenSource::Slice,
            });
        }
        Ok(())
    }

    /// Returns the underlying buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// Destination MAC address.
    #[inline]
    pub fn dst_addr(&self) -> MacAddr {
        MacAddr(self.buffer.as_ref()[field::DST].try_into().unwrap())
    }

    /// Source MAC address.
    #[inline]
    pub fn src_addr(&self) -> MacAddr {
        MacAddr(self.buffer.as_ref()[field::SRC].try_into().unwrap())
    }

    /// The EtherType (or the TPID of the first VLAN tag).
    #[inline]
    pub fn ethertype(&self) -> EtherType {
        let b = &self.buffer.as_ref()[field::ETHERTYPE];
        EtherType::from(u16::from_be_bytes([b[0], b[1]]))
    }

    /// Everything after the header.
    #[inline]
    pub fn payload(&self) -> &[u8] {
        &self.buffer.as_ref()[Self::HEADER_LEN..]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> EthernetFrame<T> {
    /// Sets the destination MAC address.
    #[inline]
    pub fn set_dst_addr(&mut self, a: MacAddr) {
        self.buffer.as_mut()[field::DST].copy_from_slice(&a.0);
    }
    /// Sets the source MAC address.
    #[inline]
    pub fn set_src_addr(&mut self, a: MacAddr) {
        self.buffer.as_mut()[field::SRC].copy_from_slice(&a.0);
    }
    /// Sets the EtherType.
    #[inline]
    pub fn set_ethertype(&mut self, t: EtherType) {
        self.buffer.as_mut()[field::ETHERTYPE].copy_from_slice(&u16::from(t).to_be_bytes());
    }
}

impl<T: AsRef<[u8]>> fmt::Display for EthernetFrame<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.check_len() {
            Ok(()) => {
                write!(f, "EthernetII src={} dst={} type={:?}", self.src_addr(), self.dst_addr(), self.ethertype())
            }
            Err(e) => write!(f, "EthernetII ({e})"),
        }
    }
}

/// An owned Ethernet II header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EthernetRepr {
    /// Source MAC.
    pub src_addr: MacAddr,
    /// Destination MAC.
    pub dst_addr: MacAddr,
    /// EtherType (or first VLAN TPID).
    pub ethertype: EtherType,
}

impl EthernetRepr {
    /// Parses the header of a checked frame.
    pub fn parse<T: AsRef<[u8]>>(frame: &EthernetFrame<T>) -> Result<Self, LenError> {
        frame.check_len()?;
        Ok(EthernetRepr { src_addr: frame.src_addr(), dst_addr: frame.dst_addr(), ethertype: frame.ethertype() })
    }

    /// Bytes the header takes.
    pub const fn buffer_len(&self) -> usize {
        EthernetFrame::<&[u8]>::HEADER_LEN
    }

    /// Writes the header into the start of `frame`.
    ///
    /// # Panics
    /// If the buffer is shorter than [`buffer_len`](Self::buffer_len).
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, frame: &mut EthernetFrame<T>) {
        frame.set_dst_addr(self.dst_addr);
        frame.set_src_addr(self.src_addr);
        frame.set_ethertype(self.ethertype);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    static BYTES: [u8; 18] =
        [0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0x02, 0x00, 0x00, 0x00, 0x00, 0x02, 0x08, 0x00, 0xaa, 0xbb, 0xcc, 0xdd];

    fn repr() -> EthernetRepr {
        EthernetRepr {
            dst_addr: MacAddr([2, 0, 0, 0, 0, 1]),
            src_addr: MacAddr([2, 0, 0, 0, 0, 2]),
            ethertype: EtherType::Ipv4,
        }
    }

    #[test]
    fn test_deconstruct() {
        let f = EthernetFrame::new_checked(&BYTES[..]).unwrap();
        assert_eq!(f.dst_addr(), MacAddr([2, 0, 0, 0, 0, 1]));
        assert_eq!(f.src_addr(), MacAddr([2, 0, 0, 0, 0, 2]));
        assert_eq!(f.ethertype(), EtherType::Ipv4);
        assert_eq!(f.payload(), &[0xaa, 0xbb, 0xcc, 0xdd]);
    }

    #[test]
    fn test_parse_emit_round_trip() {
        let f = EthernetFrame::new_checked(&BYTES[..]).unwrap();
        assert_eq!(EthernetRepr::parse(&f).unwrap(), repr());
        let mut buf = [0u8; 18];
        buf[14..].copy_from_slice(&BYTES[14..]);
        repr().emit(&mut EthernetFrame::new_unchecked(&mut buf[..]));
        assert_eq!(buf, BYTES);
    }

    #[test]
    fn test_truncated() {
        let e = EthernetFrame::new_checked(&BYTES[..13]).unwrap_err();
        assert_eq!((e.layer, e.required, e.available), (Layer::Ethernet, 14, 13));
    }

    #[test]
    fn unknown_ethertype_round_trips() {
        assert_eq!(EtherType::from(0x1234), EtherType::Unknown(0x1234));
        assert_eq!(u16::from(EtherType::Unknown(0x1234)), 0x1234);
        assert_eq!(u16::from(EtherType::ServiceVlan), 0x88a8);
    }
}
