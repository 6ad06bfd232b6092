//! Differential test: xconnect's parser against etherparse (the oracle) on every Ethernet frame
//! of every fixture and on 10^6 seeded random and mutated frames. Both must accept with the same
//! fields, or both reject.

use etherparse::{LinkExtSlice, NetSlice, SlicedPacket, TransportSlice};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use xconnect_capture::CaptureReader;
use xconnect_frame::{parse_ethernet, parse_lax, EtherType, IpProtocol, LinkType, Net, Parsed, Transport};

use crate::util::all_pcaps;

#[derive(Debug, Default)]
struct Tally {
    both_ok: u64,
    both_err: u64,
    udp: u64,
    skipped: u64,
}

/// Compares one frame; panics with the frame in hex on a disagreement.
fn compare(frame: &[u8], t: &mut Tally) {
    // etherparse walks IPsec AH (protocol 51) to the protocol behind it; xconnect classifies AH
    // as "other" and stops. Such frames are not comparable.
    // Likewise etherparse decodes an unencrypted MACsec SecTAG; xconnect stops at it.
    let lax = parse_lax(LinkType::Ethernet, frame);
    if matches!(lax.parsed.net, Net::Ipv4(ip) if ip.protocol == IpProtocol::Ah)
        || lax.parsed.net == Net::Other(EtherType::Macsec)
    {
        t.skipped += 1;
        return;
    }
    let ours = parse_ethernet(frame);
    let theirs = SlicedPacket::from_ethernet(frame);
    match (&ours, &theirs) {
        (Ok(p), Ok(s)) => {
            t.both_ok += 1;
            same_fields(frame, p, s);
            if matches!(p.transport, Transport::Udp { .. }) {
                t.udp += 1;
            }
        }
        (Err(_), Err(_)) => t.both_err += 1,
        _ => panic!("disagreement on {:02x?}\n ours: {ours:?}\n etherparse: {theirs:?}", frame),
    }
}

fn same_fields(frame: &[u8], p: &Parsed, s: &SlicedPacket<'_>) {
    let ctx = || format!("frame {frame:02x?}");
    let their_vlans: Vec<u16> = s
        .link_exts
        .iter()
        .map(|e| match e {
            LinkExtSlice::Vlan(v) => v.vlan_identifier().value(),
            LinkExtSlice::Macsec(_) => u16::MAX,
        })
        .collect();
    let our_vlans: Vec<u16> = p.vlans.as_slice().iter().map(|v| v.vid.value()).collect();
    assert_eq!(our_vlans, their_vlans, "vlans: {}", ctx());
    match (&p.net, &s.net) {
        (Net::Ipv4(a), Some(NetSlice::Ipv4(b))) => {
            let h = b.header();
            assert_eq!(a.src, h.source_addr(), "{}", ctx());
            assert_eq!(a.dst, h.destination_addr(), "{}", ctx());
            assert_eq!(u8::from(a.protocol), h.protocol().0, "{}", ctx());
            assert_eq!(a.total_len, h.total_len(), "{}", ctx());
            assert_eq!(usize::from(a.header_len), h.slice().len(), "{}", ctx());
            assert_eq!(a.fragment, h.is_fragmenting_payload(), "{}", ctx());
        }
        (Net::Ipv6(a), Some(NetSlice::Ipv6(b))) => {
            assert_eq!(a.src, b.header().source_addr(), "{}", ctx());
            assert_eq!(u8::from(a.protocol), b.payload().ip_number.0, "{}", ctx());
        }
        (Net::Arp, Some(NetSlice::Arp(_))) | (Net::Other(_) | Net::None, None) => {}
        (a, b) => panic!("network layer differs: ours {a:?}, etherparse {b:?}: {}", ctx()),
    }
    match (&p.transport, &s.transport) {
        (Transport::Udp { src_port, dst_port, length, .. }, Some(TransportSlice::Udp(u))) => {
            assert_eq!(
                (*src_port, *dst_port, *length),
                (u.source_port(), u.destination_port(), u.length()),
                "{}",
                ctx()
            );
            assert_eq!(p.payload(frame), u.payload(), "udp payload: {}", ctx());
        }
        (Transport::Tcp { src_port, dst_port, header_len, .. }, Some(TransportSlice::Tcp(tcp))) => {
            assert_eq!((*src_port, *dst_port), (tcp.source_port(), tcp.destination_port()), "{}", ctx());
            assert_eq!(usize::from(*header_len), tcp.header_len(), "{}", ctx());
            assert_eq!(p.payload(frame), tcp.payload(), "tcp payload: {}", ctx());
        }
        (Transport::Icmp, Some(TransportSlice::Icmpv4(_) | TransportSlice::Icmpv6(_)))
        | (Transport::Igmp, Some(TransportSlice::Igmp(_)))
        | (Transport::None | Transport::Other(_), None) => {}
        (a, b) => panic!("transport differs: ours {a:?}, etherparse {b:?}: {}", ctx()),
    }
}

/// A structurally plausible frame: VLAN tags, an EtherType, IPv4 with options and fragments,
/// UDP/TCP/ICMP/IGMP/other, lengths mostly consistent.
fn random_frame(rng: &mut SmallRng, buf: &mut Vec<u8>) {
    buf.clear();
    buf.extend((0..12).map(|_| rng.random::<u8>()));
    let tags = [0usize, 0, 0, 1, 1, 2, 3, 4][rng.random_range(0..8)];
    for _ in 0..tags {
        buf.extend_from_slice(&[0x8100u16, 0x88a8, 0x9100][rng.random_range(0..3)].to_be_bytes());
        buf.extend_from_slice(&rng.random::<u16>().to_be_bytes());
    }
    let ethertype: u16 = match rng.random_range(0..20) {
        0 => 0x86dd,
        1 => 0x0806,
        2 => rng.random(),
        _ => 0x0800,
    };
    buf.extend_from_slice(&ethertype.to_be_bytes());
    if ethertype == 0x86dd {
        // IPv6 header, then UDP.
        let plen: u16 = rng.random_range(0..64);
        buf.extend_from_slice(&[0x60, 0, 0, 0]);
        buf.extend_from_slice(&plen.to_be_bytes());
        buf.push([17u8, 6, 58, 0, 44, 60][rng.random_range(0..6)]);
        buf.push(64);
        buf.extend((0..32 + usize::from(plen)).map(|_| rng.random::<u8>()));
        return;
    }
    if ethertype != 0x0800 {
        buf.extend((0..rng.random_range(0..60)).map(|_| rng.random::<u8>()));
        return;
    }
    let ihl: u8 = if rng.random_bool(0.8) { 5 } else { rng.random_range(5..16) };
    let proto: u8 = [17u8, 17, 17, 6, 1, 2, 58, 51, 47, rng.random()][rng.random_range(0..10)];
    let l4_len: usize = match proto {
        17 => 8 + rng.random_range(0..200),
        6 => 20 + 4 * rng.random_range(0..11) + rng.random_range(0..50),
        _ => rng.random_range(0..40),
    };
    let total = usize::from(ihl) * 4 + l4_len;
    let ip_start = buf.len();
    buf.push(0x40 | ihl);
    buf.push(0xb8);
    buf.extend_from_slice(&(total as u16).to_be_bytes());
    buf.extend_from_slice(&rng.random::<u16>().to_be_bytes());
    let flags: u16 = if rng.random_bool(0.9) { 0x4000 } else { rng.random() };
    buf.extend_from_slice(&flags.to_be_bytes());
    buf.push(64);
    buf.push(proto);
    buf.extend_from_slice(&[0, 0]);
    buf.extend((0..8).map(|_| rng.random::<u8>()));
    buf.extend((0..usize::from(ihl) * 4 - 20).map(|_| rng.random::<u8>()));
    debug_assert_eq!(buf.len() - ip_start, usize::from(ihl) * 4);
    let l4_start = buf.len();
    buf.extend((0..l4_len).map(|_| rng.random::<u8>()));
    match proto {
        17 => buf[l4_start + 4..l4_start + 6].copy_from_slice(&(l4_len as u16).to_be_bytes()),
        6 => {
            let doff = (5 + rng.random_range(0..=((l4_len - 20) / 4).min(10))) as u8;
            buf[l4_start + 12] = doff << 4;
        }
        _ => {}
    }
    // Ethernet padding after the IP packet, as short frames carry.
    if rng.random_bool(0.2) {
        buf.extend(std::iter::repeat_n(0, rng.random_range(1..20)));
    }
}

fn mutate(rng: &mut SmallRng, buf: &mut Vec<u8>) {
    for _ in 0..rng.random_range(1..4) {
        match rng.random_range(0..4) {
            0 | 1 if !buf.is_empty() => {
                let i = rng.random_range(0..buf.len().min(80));
                buf[i] = rng.random();
            }
            2 => {
                let n = rng.random_range(0..=buf.len());
                buf.truncate(n);
            }
            _ => buf.extend((0..rng.random_range(1..16)).map(|_| rng.random::<u8>())),
        }
    }
}

#[test]
fn agrees_with_etherparse_on_fixture_frames() {
    let mut t = Tally::default();
    for path in all_pcaps() {
        let Ok(mut r) = CaptureReader::open(&path) else {
            continue;
        };
        while let Ok(Some(p)) = r.next_packet() {
            if p.link_type == LinkType::Ethernet {
                compare(p.data, &mut t);
            }
        }
    }
    assert!(t.both_ok > 400, "{t:?}");
}

#[test]
fn agrees_with_etherparse_on_a_million_random_and_mutated_frames() {
    let mut rng = SmallRng::seed_from_u64(0x5eed_2026);
    let mut t = Tally::default();
    let mut buf = Vec::with_capacity(2048);
    for i in 0..1_000_000u32 {
        random_frame(&mut rng, &mut buf);
        if i % 2 == 1 {
            mutate(&mut rng, &mut buf);
        }
        compare(&buf, &mut t);
    }
    eprintln!("differential: {t:?}");
    // The generator must exercise both outcomes and real UDP frames, or the test proves little.
    assert!(t.both_ok > 400_000 && t.both_err > 50_000 && t.udp > 100_000, "{t:?}");
}
