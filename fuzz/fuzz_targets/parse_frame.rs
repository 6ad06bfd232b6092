//! Every parser entry point on arbitrary bytes and link types: no panic, and the strict parser
//! accepts only what the lax parser parses without stopping, with the same layers.
#![no_main]

use libfuzzer_sys::fuzz_target;
use xconnect_frame::{parse, parse_ethernet, parse_lax, LinkType, RtpPacket};

fuzz_target!(|data: &[u8]| {
    let Some((&selector, frame)) = data.split_first() else { return };
    let link = [LinkType::Ethernet, LinkType::LinuxSll, LinkType::LinuxSll2, LinkType::Null, LinkType::Raw][usize::from(selector % 5)];
    let strict = parse(link, frame);
    let lax = parse_lax(link, frame);
    if let Ok(p) = strict {
        assert!(lax.stop.is_none() && lax.parsed.cut.is_none());
        assert_eq!(p, lax.parsed);
        let _ = p.flow_key();
        let _ = p.ipv4_checksum_ok(frame);
        let _ = p.udp_checksum_ok(frame);
        if let Ok(rtp) = RtpPacket::new_checked(p.payload(frame)) {
            let _ = (rtp.payload(), rtp.header_len(), rtp.to_string());
        }
    }
    if link == LinkType::Ethernet {
        assert_eq!(parse_ethernet(frame), strict);
    }
    if let Some(e) = lax.stop {
        let _ = (e.to_string(), e.reason().key(), e.offset());
    }
});
