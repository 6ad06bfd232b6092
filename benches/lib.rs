//! Shared frame sets for the benches: the same bytes go to xconnect and to every peer.

use std::net::Ipv4Addr;

use xconnect_frame::compose::UdpFrameTemplate;
use xconnect_frame::{PayloadType, RtpRepr, VlanId};

/// A G.711/20 ms RTP frame: 214 bytes of headers and audio plus the 4-byte FCS = 218 bytes,
/// the frame size MEF counts (voip-bandwidth.md).
pub fn g711_frame(vlans: &[u16]) -> Vec<u8> {
    let t = UdpFrameTemplate {
        vlans: vlans.iter().map(|v| VlanId::try_new(*v).unwrap()).collect(),
        src_ip: Ipv4Addr::new(203, 0, 113, 10),
        dst_ip: Ipv4Addr::new(168, 86, 128, 20),
        src_port: 16_384,
        dst_port: 40_000,
        ..Default::default()
    };
    let rtp =
        RtpRepr { marker: false, payload_type: PayloadType::PCMU, sequence_number: 1, timestamp: 160, ssrc: 0x5eed };
    let mut buf = vec![0u8; 1600];
    let len = t.emit_rtp(&mut buf, 7, &rtp, &[0xff; 160]);
    buf.truncate(len + 4);
    buf
}

/// A minimum-size UDP frame: 60 bytes + FCS = 64.
pub fn udp64_frame() -> Vec<u8> {
    let t = UdpFrameTemplate::default();
    let mut buf = vec![0u8; 64];
    let len = t.emit(&mut buf, 18, |p| p.fill(0x11));
    buf.truncate(len + 4);
    buf
}

/// 4096 distinct frames, mixed as a cross-connect carries them: mostly G.711 RTP (untagged,
/// VLAN, QinQ), some 64-byte UDP, TCP, ARP and IPv6; addresses and ports vary per frame.
pub fn mixed_ring() -> Vec<Vec<u8>> {
    let mut ring = Vec::with_capacity(4096);
    for i in 0..4096u32 {
        let mut f = match i % 16 {
            0..=7 => g711_frame(&[]),
            8..=10 => g711_frame(&[100 + (i % 50) as u16]),
            11 => g711_frame(&[300, 42]),
            12 => udp64_frame(),
            13 => tcp_frame(),
            14 => arp_frame(),
            _ => ipv6_udp_frame(),
        };
        // Vary the last address byte and the source port so no two frames are equal.
        if f[12..14] == [0x08, 0x00] {
            f[29] = i as u8;
            f[34] = (i >> 8) as u8;
        }
        ring.push(f);
    }
    ring
}

/// A TCP segment (SIP over TCP ports) in IPv4, 94 bytes.
pub fn tcp_frame() -> Vec<u8> {
    let mut f = vec![0u8; 14 + 20 + 20 + 40];
    f[12..14].copy_from_slice(&[0x08, 0x00]);
    let ip = &mut f[14..];
    ip[0] = 0x45;
    ip[2..4].copy_from_slice(&80u16.to_be_bytes());
    ip[8] = 64;
    ip[9] = 6;
    ip[12..16].copy_from_slice(&[203, 0, 113, 5]);
    ip[16..20].copy_from_slice(&[168, 86, 128, 5]);
    let tcp = &mut ip[20..];
    tcp[0..2].copy_from_slice(&5060u16.to_be_bytes());
    tcp[2..4].copy_from_slice(&5060u16.to_be_bytes());
    tcp[12] = 0x50;
    f
}

/// An ARP request, 60 bytes.
pub fn arp_frame() -> Vec<u8> {
    let mut f = vec![0u8; 60];
    f[12..14].copy_from_slice(&[0x08, 0x06]);
    f[14..22].copy_from_slice(&[0, 1, 8, 0, 6, 4, 0, 1]);
    f
}

/// UDP in IPv6.
pub fn ipv6_udp_frame() -> Vec<u8> {
    let mut f = vec![0u8; 14 + 40 + 8 + 172];
    f[12..14].copy_from_slice(&[0x86, 0xdd]);
    let ip = &mut f[14..];
    ip[0] = 0x60;
    ip[4..6].copy_from_slice(&180u16.to_be_bytes());
    ip[6] = 17;
    ip[7] = 64;
    ip[8] = 0x20;
    ip[9] = 0x01;
    let udp = &mut ip[40..];
    udp[0..2].copy_from_slice(&16_000u16.to_be_bytes());
    udp[2..4].copy_from_slice(&16_002u16.to_be_bytes());
    udp[4..6].copy_from_slice(&180u16.to_be_bytes());
    f
}
