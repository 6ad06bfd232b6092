//! SDP session descriptions (RFC 8866) as a call analysis needs them: per media line the
//! kind, port, transport and formats, the connection address (media level, else session
//! level), `a=rtpmap` (payload type, encoding name, clock rate) and `a=ptime`.
//!
//! Lenient like the endpoints that read it: a bad line is reported once ([`SdpError`]) and
//! the rest of the description is still read.

use core::fmt;
use std::net::IpAddr;

/// What was wrong in a description (the first problem found).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SdpError {
    /// Not UTF-8 text, or the first line is not `v=0`.
    NotSdp,
    /// An `m=` line is not `media port[/n] proto fmt…`.
    Media,
    /// A `c=` line is not `IN IP4|IP6 address`.
    Connection,
    /// An `a=rtpmap` is not `pt name/rate[/channels]`.
    Rtpmap,
    /// An `a=rtpmap` names a payload type its media line does not list.
    RtpmapUnlisted,
}

impl SdpError {
    /// Stable key for the report's `malformed` tally.
    pub fn key(self) -> &'static str {
        match self {
            SdpError::NotSdp => "sdp.not_sdp",
            SdpError::Media => "sdp.bad_media_line",
            SdpError::Connection => "sdp.bad_connection_line",
            SdpError::Rtpmap => "sdp.bad_rtpmap",
            SdpError::RtpmapUnlisted => "sdp.rtpmap_for_unlisted_payload_type",
        }
    }
}

impl fmt::Display for SdpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SdpError::NotSdp => "the body is not an SDP description (UTF-8 text starting with v=0)",
            SdpError::Media => "an m= line is not 'media port proto format...'",
            SdpError::Connection => "a c= line is not 'IN IP4|IP6 address'",
            SdpError::Rtpmap => "an a=rtpmap is not 'payload-type name/rate'",
            SdpError::RtpmapUnlisted => "an a=rtpmap names a payload type its m= line does not list",
        })
    }
}

/// One `a=rtpmap`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RtpMap {
    /// Payload type.
    pub pt: u8,
    /// Encoding name, e.g. `telephone-event`.
    pub name: String,
    /// Clock rate, Hz.
    pub rate: u32,
}

/// One media description.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Media {
    /// `audio`, `video`, `image` (T.38 fax), …
    pub kind: String,
    /// Port (0: the stream is declined or removed).
    pub port: u16,
    /// Transport, e.g. `RTP/AVP` or `udptl`.
    pub proto: String,
    /// Formats: payload type numbers for RTP, `t38` for fax.
    pub formats: Vec<String>,
    /// Where the media is to be sent.
    pub address: Option<IpAddr>,
    /// `a=rtpmap` lines.
    pub rtpmap: Vec<RtpMap>,
    /// `a=ptime`, ms.
    pub ptime: Option<u32>,
}

impl Media {
    /// Whether this is T.38 fax over UDPTL.
    pub fn is_t38(&self) -> bool {
        self.kind.eq_ignore_ascii_case("image") && self.proto.to_ascii_lowercase().contains("udptl")
    }

    /// Whether this is RTP (`RTP/AVP`, `RTP/SAVP`, …).
    pub fn is_rtp(&self) -> bool {
        self.proto.to_ascii_uppercase().starts_with("RTP/")
    }
}

/// A parsed description.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Session {
    /// Media descriptions in order.
    pub media: Vec<Media>,
}

/// Media lines read at the most (a description with more is cut there, and says so).
pub const MAX_MEDIA: usize = 32;

fn parse_connection(v: &str) -> Result<IpAddr, SdpError> {
    let mut it = v.split_ascii_whitespace();
    let (Some("IN"), Some(t), Some(a)) = (it.next(), it.next(), it.next()) else {
        return Err(SdpError::Connection);
    };
    // A multicast address may carry /ttl[/count].
    let a = a.split('/').next().unwrap_or(a);
    let ip: IpAddr = a.parse().map_err(|_| SdpError::Connection)?;
    match (t, ip) {
        ("IP4", IpAddr::V4(_)) | ("IP6", IpAddr::V6(_)) => Ok(ip),
        _ => Err(SdpError::Connection),
    }
}

fn parse_media(v: &str) -> Result<Media, SdpError> {
    let mut it = v.split_ascii_whitespace();
    let (Some(kind), Some(port), Some(proto)) = (it.next(), it.next(), it.next()) else {
        return Err(SdpError::Media);
    };
    let port: u16 = port.split('/').next().unwrap_or("").parse().map_err(|_| SdpError::Media)?;
    let formats: Vec<String> = it.take(64).map(str::to_string).collect();
    if formats.is_empty() {
        return Err(SdpError::Media);
    }
    Ok(Media {
        kind: kind.to_string(),
        port,
        proto: proto.to_string(),
        formats,
        address: None,
        rtpmap: Vec::new(),
        ptime: None,
    })
}

fn parse_rtpmap(v: &str) -> Result<RtpMap, SdpError> {
    let (pt, rest) = v.split_once(' ').ok_or(SdpError::Rtpmap)?;
    let pt: u8 = pt.trim().parse().ok().filter(|p| *p < 128).ok_or(SdpError::Rtpmap)?;
    let mut enc = rest.trim().split('/');
    let name = enc.next().filter(|n| !n.is_empty() && n.len() <= 64).ok_or(SdpError::Rtpmap)?;
    let rate: u32 = enc.next().and_then(|r| r.trim().parse().ok()).filter(|r| *r > 0).ok_or(SdpError::Rtpmap)?;
    Ok(RtpMap { pt, name: name.to_string(), rate })
}

/// Parses a description; returns what could be read and the first problem, if any.
pub fn parse(body: &[u8]) -> (Session, Option<SdpError>) {
    let mut session = Session::default();
    let Ok(text) = core::str::from_utf8(body) else { return (session, Some(SdpError::NotSdp)) };
    let mut lines = text.lines().map(str::trim).filter(|l| !l.is_empty());
    if lines.next() != Some("v=0") {
        return (session, Some(SdpError::NotSdp));
    }
    let mut problem = None;
    let note = |e: SdpError, p: &mut Option<SdpError>| {
        p.get_or_insert(e);
    };
    let mut session_addr = None;
    // Media lines that failed to parse: their attributes must not land on the previous one.
    let mut in_bad_media = false;
    for line in lines {
        let Some((k, v)) = line.split_once('=') else { continue };
        match k {
            "c" => match parse_connection(v) {
                Ok(ip) => match session.media.last_mut() {
                    Some(m) if !in_bad_media => m.address = Some(ip),
                    Some(_) => {}
                    None => session_addr = Some(ip),
                },
                Err(e) => note(e, &mut problem),
            },
            "m" => {
                if session.media.len() == MAX_MEDIA {
                    break;
                }
                match parse_media(v) {
                    Ok(m) => {
                        session.media.push(m);
                        in_bad_media = false;
                    }
                    Err(e) => {
                        note(e, &mut problem);
                        in_bad_media = true;
                    }
                }
            }
            "a" if !in_bad_media => {
                let Some(m) = session.media.last_mut() else { continue };
                if let Some(r) = v.strip_prefix("rtpmap:") {
                    match parse_rtpmap(r) {
                        Ok(map) if m.formats.iter().any(|f| f.parse() == Ok(map.pt)) => m.rtpmap.push(map),
                        Ok(_) => note(SdpError::RtpmapUnlisted, &mut problem),
                        Err(e) => note(e, &mut problem),
                    }
                } else if let Some(p) = v.strip_prefix("ptime:") {
                    m.ptime = p.trim().parse().ok();
                }
            }
            _ => {}
        }
    }
    for m in &mut session.media {
        m.address = m.address.or(session_addr);
    }
    (session, problem)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offer_with_events_and_fax() {
        let body = b"v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\n\
m=audio 40000 RTP/AVP 8 101\r\na=rtpmap:8 PCMA/8000\r\na=rtpmap:101 telephone-event/8000\r\na=ptime:20\r\n\
m=image 40002 udptl t38\r\nc=IN IP4 192.0.2.9\r\n";
        let (s, problem) = parse(body);
        assert_eq!(problem, None);
        assert_eq!(s.media.len(), 2);
        let a = &s.media[0];
        assert_eq!((a.port, a.address, a.ptime), (40000, Some("192.0.2.1".parse().unwrap()), Some(20)));
        assert_eq!(a.rtpmap[1], RtpMap { pt: 101, name: "telephone-event".into(), rate: 8000 });
        assert!(a.is_rtp() && !a.is_t38());
        assert!(s.media[1].is_t38());
        assert_eq!(s.media[1].address, Some("192.0.2.9".parse().unwrap()));
    }

    #[test]
    fn garbage_is_reported_and_the_rest_read() {
        assert_eq!(parse(b"hello").1, Some(SdpError::NotSdp));
        assert_eq!(parse(&[0xff, 0xfe]).1, Some(SdpError::NotSdp));
        let (s, p) =
            parse(b"v=0\nc=IN IP4 999.1.1.1\nm=audio x RTP/AVP 0\nm=audio 4000 RTP/AVP 0\na=rtpmap:96 opus/48000\n");
        assert_eq!(p, Some(SdpError::Connection));
        assert_eq!(s.media.len(), 1);
        assert!(s.media[0].rtpmap.is_empty(), "an rtpmap for an unlisted type is not applied");
        assert_eq!(parse(b"v=0\nm=audio 4000 RTP/AVP 96\na=rtpmap:96 opus\n").1, Some(SdpError::Rtpmap));
        assert_eq!(
            parse(b"v=0\nm=audio 4000 RTP/AVP 0\na=rtpmap:0 PCMU/8000\na=rtpmap:9 G722/8000\n").1,
            Some(SdpError::RtpmapUnlisted)
        );
    }
}
