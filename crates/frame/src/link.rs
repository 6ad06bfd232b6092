//! Link-layer header types of capture files (tcpdump.org "LINKTYPE_" values) and the small
//! non-Ethernet link headers: Linux cooked capture v1/v2 and BSD loopback.

use core::fmt;

enum_with_unknown! {
    /// LINKTYPE_ values from pcap and pcapng headers.
    pub enum LinkType(u32) {
        /// BSD loopback: a 4-byte address family in the capturing host's byte order.
        Null = 0,
        /// IEEE 802.3 Ethernet.
        Ethernet = 1,
        /// Raw IP, no link header (the value used in files).
        Raw = 101,
        /// OpenBSD loopback: a 4-byte address family in network byte order.
        Loop = 108,
        /// Linux cooked capture v1 (16-byte header).
        LinuxSll = 113,
        /// Raw IPv4.
        Ipv4 = 228,
        /// Raw IPv6.
        Ipv6 = 229,
        /// Linux cooked capture v2 (20-byte header).
        LinuxSll2 = 276,
    }
}

impl LinkType {
    /// Short name as tshark and capinfos print it.
    pub fn name(self) -> &'static str {
        match self {
            LinkType::Null => "null",
            LinkType::Ethernet => "ether",
            LinkType::Raw => "rawip",
            LinkType::Loop => "loop",
            LinkType::LinuxSll => "linux-sll",
            LinkType::Ipv4 => "rawip4",
            LinkType::Ipv6 => "rawip6",
            LinkType::LinuxSll2 => "linux-sll2",
            LinkType::Unknown(_) => "unknown",
        }
    }
}

impl fmt::Display for LinkType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LinkType::Unknown(v) => write!(f, "linktype-{v}"),
            other => f.write_str(other.name()),
        }
    }
}

/// Linux cooked capture v1 header length.
pub const SLL_HEADER_LEN: usize = 16;
/// Linux cooked capture v2 header length.
pub const SLL2_HEADER_LEN: usize = 20;
/// BSD loopback header length.
pub const NULL_HEADER_LEN: usize = 4;
