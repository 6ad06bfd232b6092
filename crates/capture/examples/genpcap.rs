//! Writes a synthetic pcap of N frames for throughput comparisons: G.711 RTP frames (untagged,
//! VLAN, QinQ) with some 64-byte UDP, 50,000 frames per second of capture time.
//! Usage: genpcap OUT.pcap N
use std::net::Ipv4Addr;

use xconnect_capture::PcapWriter;
use xconnect_frame::compose::UdpFrameTemplate;
use xconnect_frame::{LinkType, PayloadType, RtpRepr, VlanId};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let out = args.next().ok_or("usage: genpcap OUT.pcap N")?;
    let n: u64 = args.next().ok_or("usage: genpcap OUT.pcap N")?.parse()?;
    let mut w = PcapWriter::create(&out, 65535)?;
    let mut buf = [0u8; 1600];
    for i in 0..n {
        let vlans = match i % 8 {
            0..=4 => vec![],
            5 | 6 => vec![VlanId::try_new(100).unwrap()],
            _ => vec![VlanId::try_new(300).unwrap(), VlanId::try_new(42).unwrap()],
        };
        let call = (i % 1000) as u16;
        let t = UdpFrameTemplate {
            vlans,
            src_ip: Ipv4Addr::new(203, 0, 113, (call % 250) as u8 + 1),
            dst_ip: Ipv4Addr::new(168, 86, 128 + (call / 250) as u8, 10),
            src_port: 10_000 + 2 * call,
            dst_port: 20_000 + 2 * call,
            ..Default::default()
        };
        let rtp = RtpRepr {
            marker: false,
            payload_type: PayloadType::PCMU,
            sequence_number: (i / 1000) as u16,
            timestamp: (i / 1000) as u32 * 160,
            ssrc: u32::from(call),
        };
        let len = t.emit_rtp(&mut buf, i as u16, &rtp, &[0xff; 160]);
        w.write_packet(1_700_000_000_000_000_000 + i * 20_000, LinkType::Ethernet, &buf[..len], len as u32)?;
    }
    w.finish()?;
    Ok(())
}
