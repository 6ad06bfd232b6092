//! Wire formats of the cross-connect: zero-copy views and owned representations for
//! Ethernet II, 802.1Q/802.1ad VLAN tags, IPv4, UDP and RTP, plus a whole-stack parser that
//! classifies every frame (IPv6, ARP, TCP, ICMP and unknown EtherTypes are recognised, not
//! rejected) and yields a [`FlowKey`].
//!
//! Module map:
//! - [`ethernet`], [`vlan`], [`ipv4`], [`udp`], [`rtp`]: one protocol each, `Packet<T>` view +
//!   `Repr`, in the shape of smoltcp's `wire` module.
//! - [`stack`]: one pass over a whole frame ([`parse_ethernet`], [`parse`], [`parse_lax`]).
//! - [`link`]: capture link types and the cooked/loopback headers.
//! - [`compose`]: emitting whole Ethernet/VLAN/IPv4/UDP/RTP frames into a caller's buffer.
//! - [`error`]: typed errors naming layer, offset, field, expected and found.
//!
//! ```
//! use std::net::Ipv4Addr;
//! use xconnect_frame::{compose::UdpFrameTemplate, parse_ethernet, Transport, VlanId};
//!
//! let template = UdpFrameTemplate {
//!     vlans: vec![VlanId::try_new(100).unwrap()],
//!     src_ip: Ipv4Addr::new(192, 0, 2, 10),
//!     dst_ip: Ipv4Addr::new(168, 86, 128, 1),
//!     src_port: 10000,
//!     dst_port: 20000,
//!     ..UdpFrameTemplate::default()
//! };
//! let mut buf = [0u8; 1514];
//! let len = template.emit(&mut buf, 172, |payload| payload.fill(0xd5));
//! let parsed = parse_ethernet(&buf[..len]).unwrap();
//! assert_eq!(parsed.vlans.as_slice()[0].vid.value(), 100);
//! assert!(matches!(parsed.transport, Transport::Udp { dst_port: 20000, .. }));
//! assert_eq!(parsed.udp_checksum_ok(&buf[..len]), Some(true));
//! ```
#![deny(missing_docs)]

#[macro_use]
mod macros;

pub mod checksum;
pub mod compose;
pub mod error;
pub mod ethernet;
pub mod ipv4;
mod ipv6;
pub mod link;
pub mod rtcp;
pub mod rtp;
pub mod sdp;
pub mod sip;
pub mod stack;
pub mod udp;
pub mod vlan;

/// A byte range within a header.
pub(crate) type Field = core::ops::Range<usize>;

pub use error::{Layer, LenError, LenSource, MalformedReason, ParseError};
pub use ethernet::{EtherType, EthernetFrame, EthernetRepr, MacAddr};
pub use ipv4::{IpProtocol, Ipv4Packet, Ipv4Repr};
pub use link::LinkType;
pub use rtp::{PayloadType, RtpError, RtpPacket, RtpRepr};
pub use stack::{
    parse, parse_ethernet, parse_lax, FlowKey, Ipv4Info, Ipv6Info, LaxParsed, Link, Net, Parsed, Transport, VlanInfo,
    VlanStack, MAX_VLAN_TAGS,
};
pub use udp::{UdpPacket, UdpRepr};
pub use vlan::{VlanId, VlanRepr, VlanTag};
