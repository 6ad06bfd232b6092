//! Emitting whole frames: Ethernet II, optional VLAN tags, IPv4, UDP and a payload written by
//! the caller, with correct lengths and checksums, into a caller's buffer (no allocation).

use std::net::Ipv4Addr;

use crate::ethernet::{EtherType, EthernetFrame, EthernetRepr, MacAddr};
use crate::ipv4::{IpProtocol, Ipv4Packet, Ipv4Repr};
use crate::rtp::{RtpPacket, RtpRepr};
use crate::udp::{UdpPacket, UdpRepr};
use crate::vlan::{VlanId, VlanRepr, VlanTag};

/// The fixed part of a UDP frame: everything but the payload and the IPv4 identification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UdpFrameTemplate {
    /// Source MAC.
    pub src_mac: MacAddr,
    /// Destination MAC.
    pub dst_mac: MacAddr,
    /// VLAN ids, outermost first (at most three). With two or more, the outer tags use the
    /// 802.1ad TPID 0x88a8 and the innermost 0x8100, as QinQ does.
    pub vlans: Vec<VlanId>,
    /// Source address.
    pub src_ip: Ipv4Addr,
    /// Destination address.
    pub dst_ip: Ipv4Addr,
    /// Source port.
    pub src_port: u16,
    /// Destination port.
    pub dst_port: u16,
    /// DSCP (46, Expedited Forwarding, is what voice carries).
    pub dscp: u8,
    /// TTL.
    pub ttl: u8,
}

impl Default for UdpFrameTemplate {
    fn default() -> Self {
        UdpFrameTemplate {
            src_mac: MacAddr([0x02, 0, 0, 0, 0, 1]),
            dst_mac: MacAddr([0x02, 0, 0, 0, 0, 2]),
            vlans: Vec::new(),
            src_ip: Ipv4Addr::new(192, 0, 2, 1),
            dst_ip: Ipv4Addr::new(198, 51, 100, 1),
            src_port: 10000,
            dst_port: 20000,
            dscp: 46,
            ttl: 64,
        }
    }
}

impl UdpFrameTemplate {
    /// Bytes before the UDP payload: 14 + 4 per tag + 20 + 8.
    pub fn header_len(&self) -> usize {
        14 + 4 * self.vlans.len() + 20 + 8
    }

    /// Frame length (without FCS) for a UDP payload of `payload_len` bytes.
    pub fn frame_len(&self, payload_len: usize) -> usize {
        self.header_len() + payload_len
    }

    /// Writes the frame into `buf` and returns its length. `fill` writes the UDP payload.
    ///
    /// # Panics
    /// If `buf` is shorter than [`frame_len`](Self::frame_len), the payload makes the IPv4
    /// packet longer than 65535 bytes, or there are more than three VLAN tags.
    pub fn emit(&self, buf: &mut [u8], payload_len: usize, fill: impl FnOnce(&mut [u8])) -> usize {
        self.emit_with_ident(buf, 0, payload_len, fill)
    }

    /// As [`emit`](Self::emit), with the IPv4 identification field set.
    pub fn emit_with_ident(
        &self,
        buf: &mut [u8],
        ident: u16,
        payload_len: usize,
        fill: impl FnOnce(&mut [u8]),
    ) -> usize {
        assert!(self.vlans.len() <= crate::stack::MAX_VLAN_TAGS, "at most three VLAN tags");
        let total = self.frame_len(payload_len);
        let buf = &mut buf[..total];
        let n = self.vlans.len();
        let tpid = |i: usize| {
            if i + 1 == n {
                EtherType::Vlan
            } else {
                EtherType::ServiceVlan
            }
        };
        let first = if n == 0 { EtherType::Ipv4 } else { tpid(0) };
        EthernetRepr { src_addr: self.src_mac, dst_addr: self.dst_mac, ethertype: first }
            .emit(&mut EthernetFrame::new_unchecked(&mut buf[..]));
        let mut o = EthernetFrame::<&[u8]>::HEADER_LEN;
        for (i, vid) in self.vlans.iter().enumerate() {
            let next = if i + 1 == n { EtherType::Ipv4 } else { tpid(i + 1) };
            VlanRepr { pcp: 5, dei: false, vid: *vid, ethertype: next }
                .emit(&mut VlanTag::new_unchecked(&mut buf[o..]));
            o += 4;
        }
        let ip = Ipv4Repr {
            src_addr: self.src_ip,
            dst_addr: self.dst_ip,
            protocol: IpProtocol::Udp,
            payload_len: 8 + payload_len,
            ttl: self.ttl,
            dscp: self.dscp,
            ident,
            dont_frag: true,
        };
        ip.emit(&mut Ipv4Packet::new_unchecked(&mut buf[o..]));
        o += ip.buffer_len();
        UdpRepr { src_port: self.src_port, dst_port: self.dst_port }.emit(
            &mut UdpPacket::new_unchecked(&mut buf[o..]),
            self.src_ip,
            self.dst_ip,
            payload_len,
            fill,
        );
        total
    }

    /// Writes a UDP frame carrying an RTP packet (fixed header, then `audio`).
    pub fn emit_rtp(&self, buf: &mut [u8], ident: u16, rtp: &RtpRepr, audio: &[u8]) -> usize {
        let len = rtp.buffer_len() + audio.len();
        self.emit_with_ident(buf, ident, len, |p| {
            rtp.emit(&mut RtpPacket::new_unchecked(&mut p[..]));
            p[rtp.buffer_len()..].copy_from_slice(audio);
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rtp::PayloadType;
    use crate::stack::{parse_ethernet, Net, Transport};

    #[test]
    fn g711_frame_is_214_bytes_and_parses_back() {
        // voip-bandwidth.md: 160 B audio + 12 RTP + 8 UDP + 20 IPv4 + 14 Ethernet = 214 B
        // captured (218 B with the FCS, as MEF counts).
        let t = UdpFrameTemplate::default();
        let rtp =
            RtpRepr { marker: true, payload_type: PayloadType::PCMU, sequence_number: 7, timestamp: 160, ssrc: 42 };
        let mut buf = [0u8; 256];
        let len = t.emit_rtp(&mut buf, 1, &rtp, &[0xff; 160]);
        assert_eq!(len, 214);
        let p = parse_ethernet(&buf[..len]).unwrap();
        assert!(matches!(p.net, Net::Ipv4(ip) if ip.total_len == 200 && ip.dscp == 46));
        assert!(matches!(p.transport, Transport::Udp { src_port: 10000, dst_port: 20000, length: 180, .. }));
        assert_eq!(p.ipv4_checksum_ok(&buf[..len]), Some(true));
        assert_eq!(p.udp_checksum_ok(&buf[..len]), Some(true));
        let got = RtpRepr::parse(&RtpPacket::new_checked(p.payload(&buf[..len])).unwrap()).unwrap();
        assert_eq!(got, rtp);
    }

    #[test]
    fn qinq_uses_service_tpid_outside() {
        let t = UdpFrameTemplate {
            vlans: vec![VlanId::try_new(10).unwrap(), VlanId::try_new(20).unwrap()],
            ..Default::default()
        };
        let mut buf = [0u8; 128];
        let len = t.emit(&mut buf, 4, |p| p.fill(1));
        assert_eq!(&buf[12..14], &[0x88, 0xa8]);
        assert_eq!(&buf[16..18], &[0x81, 0x00]);
        let p = parse_ethernet(&buf[..len]).unwrap();
        let ids: Vec<u16> = p.vlans.as_slice().iter().map(|v| v.vid.value()).collect();
        assert_eq!(ids, [10, 20]);
        let key = p.flow_key().unwrap();
        assert_eq!((key.outer_vlan.unwrap().value(), key.inner_vlan.unwrap().value()), (10, 20));
    }
}
