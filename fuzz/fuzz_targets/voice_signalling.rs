//! SIP, SDP and RTCP parsers: any bytes parse or fail without a panic; a parsed SIP message
//! lies inside its buffer; a datagram never asks for more bytes; a message parsed from a
//! stream parses the same from a buffer cut at its end.
#![no_main]

use libfuzzer_sys::fuzz_target;
use xconnect_frame::sip::{SipError, SipMessage};
use xconnect_frame::{rtcp, sdp};

fuzz_target!(|data: &[u8]| {
    match SipMessage::parse(data, false) {
        Ok(m) => {
            assert!(m.len <= data.len());
            let _ = (m.call_id(), m.cseq(), m.from(), m.to(), m.has_sdp());
            let _ = sdp::parse(m.body);
        }
        Err(e) => assert_ne!(e, SipError::Incomplete, "a datagram is complete"),
    }
    if let Ok(m) = SipMessage::parse(data, true) {
        assert!(m.len <= data.len());
        let again = SipMessage::parse(&data[..m.len], true).expect("the message alone parses");
        assert_eq!(again.len, m.len);
    }
    let (session, _) = sdp::parse(data);
    assert!(session.media.len() <= sdp::MAX_MEDIA);
    let mut items = 0usize;
    let _ = rtcp::walk(data, |_| items += 1);
    assert!(items <= data.len(), "an item takes at least a byte");
});
