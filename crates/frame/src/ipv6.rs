//! IPv6 (RFC 8200) through the etherparse slow path. Voice on the cross-connect is IPv4; IPv6
//! frames are recognised, their extension headers walked and their transport classified, and
//! for that etherparse is both correct and fast enough (DESIGN.md: "etherparse stays as the slow
//! path for everything else").

use std::net::Ipv6Addr;

use crate::error::{Ipv6ErrorKind, Layer, LenError, LenSource, ParseError};
use crate::ipv4::IpProtocol;

/// IPv6 header fields the pipeline uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ipv6Info {
    /// Source address.
    pub src: Ipv6Addr,
    /// Destination address.
    pub dst: Ipv6Addr,
    /// Protocol after the extension headers.
    pub protocol: IpProtocol,
    /// A fragment header announced a fragment: the transport header is not parsed.
    pub fragment: bool,
}

/// The IPv6 header and extension headers, parsed.
pub(crate) struct Ipv6Parsed {
    pub info: Ipv6Info,
    /// Absolute offset of the transport header.
    pub payload_start: usize,
    /// Absolute offset where the payload (as bounded by the payload length) ends.
    pub payload_end: usize,
    /// Lax mode: the payload length pointed past the captured bytes.
    pub cut: bool,
}

pub(crate) fn parse<const LAX: bool>(d: &[u8], o: usize) -> Result<Ipv6Parsed, ParseError> {
    // Fast path: no extension header, the payload length fits. Everything else (extension
    // headers, jumbograms, cut or malformed packets) goes to etherparse, so both paths give
    // the same answer (the differential test checks it on random frames).
    if let Some(h) = d.get(o..o + 40) {
        let payload_len = usize::from(u16::from_be_bytes([h[4], h[5]]));
        let next = h[6];
        if h[0] >> 4 == 6 && matches!(next, 6 | 17 | 58) && payload_len != 0 && o + 40 + payload_len <= d.len() {
            let addr = |i: usize| Ipv6Addr::from(<[u8; 16]>::try_from(&h[i..i + 16]).expect("16 bytes"));
            return Ok(Ipv6Parsed {
                info: Ipv6Info { src: addr(8), dst: addr(24), protocol: IpProtocol::from(next), fragment: false },
                payload_start: o + 40,
                payload_end: o + 40 + payload_len,
                cut: false,
            });
        }
    }
    use etherparse::err::ipv6::SliceError;
    let slice = &d[o..];
    let parsed =
        if LAX { etherparse::Ipv6Slice::from_slice_lax(slice) } else { etherparse::Ipv6Slice::from_slice(slice) };
    let v6 = parsed.map_err(|e| match e {
        SliceError::Len(l) => ParseError::Len(LenError {
            layer: Layer::Ipv6,
            offset: o + l.layer_start_offset,
            required: l.required_len,
            available: l.len,
            source: if l.len_source == etherparse::LenSource::Ipv6HeaderPayloadLen {
                LenSource::Ipv6PayloadLen
            } else {
                LenSource::Slice
            },
        }),
        SliceError::Header(_) => ParseError::Ipv6 { offset: o, reason: Ipv6ErrorKind::Version },
        SliceError::Exts(_) => ParseError::Ipv6 { offset: o, reason: Ipv6ErrorKind::ExtensionHeader },
    })?;
    let header = v6.header();
    let payload = v6.payload();
    // The payload is a sub-slice of `slice`: its start is found from the pointers.
    let start = o + (payload.payload.as_ptr() as usize - slice.as_ptr() as usize);
    Ok(Ipv6Parsed {
        info: Ipv6Info {
            src: Ipv6Addr::from(header.source()),
            dst: Ipv6Addr::from(header.destination()),
            protocol: IpProtocol::from(payload.ip_number.0),
            fragment: payload.fragmented,
        },
        payload_start: start,
        payload_end: start + payload.payload.len(),
        cut: LAX && payload.len_source == etherparse::LenSource::Slice && header.payload_length() != 0,
    })
}
