//! Frame parsing to a FlowKey + RTP header, fully validated, side by side with etherparse
//! (SlicedPacket, LaxSlicedPacket), pnet_packet and a bare fixed-offset reader (the floor: it
//! validates nothing but slice bounds).
//!
//! Every contender extracts the same facts from each frame (VLAN ids, IPv4 source and
//! destination, UDP ports, RTP sequence and SSRC where present) and folds them into a checksum
//! that goes through `black_box`, so that no work can be optimized away.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use etherparse::{LaxSlicedPacket, LinkExtSlice, NetSlice, SlicedPacket, TransportSlice};
use pnet_packet::ethernet::{EtherTypes, EthernetPacket};
use pnet_packet::ipv4::Ipv4Packet;
use pnet_packet::udp::UdpPacket;
use pnet_packet::vlan::VlanPacket;
use pnet_packet::Packet as _;
use xconnect_benches::{arp_frame, g711_frame, ipv6_udp_frame, mixed_ring, tcp_frame, udp64_frame};
use xconnect_frame::{parse_ethernet, RtpPacket, Transport};

#[inline]
fn xconnect(frame: &[u8]) -> u64 {
    let Ok(p) = parse_ethernet(frame) else {
        return 1;
    };
    let mut acc = 0u64;
    if let Some(k) = p.flow_key() {
        acc = u64::from(u32::from(k.src)) ^ u64::from(u32::from(k.dst)) << 1;
        acc ^= u64::from(k.src_port) << 32 ^ u64::from(k.dst_port) << 48;
        acc ^= u64::from(k.outer_vlan.map_or(0, |v| v.value()));
    }
    if let Transport::Udp { .. } = p.transport {
        if let Ok(rtp) = RtpPacket::new_checked(p.payload(frame)) {
            acc ^= u64::from(rtp.sequence_number()) ^ u64::from(rtp.ssrc());
        }
    }
    acc
}

/// The floor: fixed offsets for untagged Ethernet/IPv4/UDP/RTP, bounds checks only.
#[inline]
fn bare(frame: &[u8]) -> u64 {
    let Some(h) = frame.get(..54) else { return 1 };
    let rd32 = |o: usize| u64::from(u32::from_be_bytes([h[o], h[o + 1], h[o + 2], h[o + 3]]));
    let rd16 = |o: usize| u64::from(u16::from_be_bytes([h[o], h[o + 1]]));
    rd32(26) ^ rd32(30) << 1 ^ rd16(34) << 32 ^ rd16(36) << 48 ^ rd16(44) ^ rd32(50)
}

#[inline]
fn rtp_fields(payload: &[u8]) -> u64 {
    if payload.len() >= 12 && payload[0] >> 6 == 2 {
        u64::from(u16::from_be_bytes([payload[2], payload[3]]))
            ^ u64::from(u32::from_be_bytes([payload[8], payload[9], payload[10], payload[11]]))
    } else {
        0
    }
}

#[inline]
fn etherparse_strict(frame: &[u8]) -> u64 {
    let Ok(s) = SlicedPacket::from_ethernet(frame) else {
        return 1;
    };
    let mut acc = 0u64;
    if let Some(LinkExtSlice::Vlan(v)) = s.link_exts.first() {
        acc ^= u64::from(v.vlan_identifier().value());
    }
    if let Some(NetSlice::Ipv4(ip)) = &s.net {
        let h = ip.header();
        acc ^= u64::from(u32::from(h.source_addr())) ^ u64::from(u32::from(h.destination_addr())) << 1;
    }
    if let Some(TransportSlice::Udp(u)) = &s.transport {
        acc ^= u64::from(u.source_port()) << 32 ^ u64::from(u.destination_port()) << 48;
        acc ^= rtp_fields(u.payload());
    }
    acc
}

#[inline]
fn etherparse_lax(frame: &[u8]) -> u64 {
    let Ok(s) = LaxSlicedPacket::from_ethernet(frame) else {
        return 1;
    };
    let mut acc = 0u64;
    if let Some(etherparse::LaxLinkExtSlice::Vlan(v)) = s.link_exts.first() {
        acc ^= u64::from(v.vlan_identifier().value());
    }
    if let Some(etherparse::LaxNetSlice::Ipv4(ip)) = &s.net {
        let h = ip.header();
        acc ^= u64::from(u32::from(h.source_addr())) ^ u64::from(u32::from(h.destination_addr())) << 1;
    }
    if let Some(TransportSlice::Udp(u)) = &s.transport {
        acc ^= u64::from(u.source_port()) << 32 ^ u64::from(u.destination_port()) << 48;
        acc ^= rtp_fields(u.payload());
    }
    acc
}

#[inline]
fn pnet(frame: &[u8]) -> u64 {
    let Some(eth) = EthernetPacket::new(frame) else {
        return 1;
    };
    let mut acc = 0u64;
    let mut ethertype = eth.get_ethertype();
    let mut payload = eth.payload();
    while ethertype == EtherTypes::Vlan || ethertype == EtherTypes::QinQ {
        let Some(v) = VlanPacket::new(payload) else {
            return 1;
        };
        acc ^= u64::from(v.get_vlan_identifier());
        ethertype = v.get_ethertype();
        payload = &payload[4..];
    }
    if ethertype != EtherTypes::Ipv4 {
        return acc;
    }
    let Some(ip) = Ipv4Packet::new(payload) else {
        return 1;
    };
    acc ^= u64::from(u32::from(ip.get_source())) ^ u64::from(u32::from(ip.get_destination())) << 1;
    if ip.get_next_level_protocol() == pnet_packet::ip::IpNextHeaderProtocols::Udp {
        if let Some(u) = UdpPacket::new(ip.payload()) {
            acc ^= u64::from(u.get_source()) << 32 ^ u64::from(u.get_destination()) << 48;
            acc ^= rtp_fields(u.payload());
        }
    }
    acc
}

type Parser = fn(&[u8]) -> u64;
const CONTENDERS: [(&str, Parser); 5] = [
    ("xconnect", xconnect),
    ("bare_fixed_offset", bare),
    ("etherparse_sliced", etherparse_strict),
    ("etherparse_lax", etherparse_lax),
    ("pnet", pnet),
];

fn single(c: &mut Criterion, group: &str, frame: &[u8]) {
    let mut g = c.benchmark_group(group);
    g.throughput(Throughput::Elements(1));
    for (name, f) in CONTENDERS {
        g.bench_function(name, |b| b.iter(|| f(black_box(frame))));
    }
    g.finish();
}

fn benches(c: &mut Criterion) {
    // Sanity: every contender sees the same facts in the plain RTP frame.
    let f = g711_frame(&[]);
    assert_eq!(f.len(), 218);
    assert_eq!(xconnect(&f), etherparse_strict(&f));
    assert_eq!(xconnect(&f), pnet(&f));
    assert_eq!(xconnect(&f), bare(&f));
    single(c, "parse/g711_218B", &f);
    single(c, "parse/g711_vlan_222B", &g711_frame(&[100]));
    // A cross-connect's S-tag and C-tag (QinQ).
    single(c, "parse/g711_qinq_226B", &g711_frame(&[300, 42]));
    let u = udp64_frame();
    assert_eq!(u.len(), 64);
    single(c, "parse/udp_64B", &u);
    // The ring's other kinds, one by one (they take the general path).
    single(c, "parse/tcp_94B", &tcp_frame());
    single(c, "parse/arp_60B", &arp_frame());
    single(c, "parse/ipv6_udp", &ipv6_udp_frame());

    let ring = mixed_ring();
    let mut g = c.benchmark_group("parse/ring_4096_mixed");
    g.throughput(Throughput::Elements(ring.len() as u64));
    for (name, f) in CONTENDERS {
        g.bench_function(name, |b| {
            b.iter(|| {
                let mut acc = 0u64;
                for fr in &ring {
                    acc = acc.wrapping_add(f(black_box(fr)));
                }
                acc
            })
        });
    }
    g.finish();
}

criterion_group!(parse, benches);
criterion_main!(parse);
