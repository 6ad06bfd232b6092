//! SIP messages (RFC 3261 §7): the start line, the headers a call analysis needs (long and
//! compact forms, §7.3.3), and the body that Content-Length delimits. Zero-copy: a
//! [`SipMessage`] borrows the buffer it was parsed from.
//!
//! Over UDP a message is one datagram: without Content-Length the body runs to its end
//! (§18.3), and a Content-Length beyond it is an error. Over TCP the length is what frames
//! the stream: [`SipError::Incomplete`] asks for more bytes.

use core::fmt;

/// The methods whose names are recognised when looking for SIP by content (RFC 3261 and its
/// extensions: PRACK 3262, SUBSCRIBE/NOTIFY 6665, REFER 3515, INFO 6086, UPDATE 3311,
/// MESSAGE 3428, PUBLISH 3903).
const METHODS: &[&str] = &[
    "INVITE",
    "ACK",
    "BYE",
    "CANCEL",
    "OPTIONS",
    "REGISTER",
    "PRACK",
    "SUBSCRIBE",
    "NOTIFY",
    "PUBLISH",
    "INFO",
    "REFER",
    "MESSAGE",
    "UPDATE",
];

/// Why bytes are not a (complete) SIP message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SipError {
    /// A stream ends before the message does: wait for more bytes.
    Incomplete,
    /// A datagram ends before the empty line that closes the headers.
    HeadersUnterminated,
    /// The first line is neither a request line nor a status line.
    StartLine,
    /// The status code is not three digits from 100 to 699.
    StatusCode,
    /// Content-Length is not a number.
    ContentLength,
    /// Content-Length runs past the end of the datagram.
    ContentLengthBeyond,
    /// Call-ID or CSeq is missing, or CSeq is not "number method".
    MissingHeader,
    /// A BYE or CANCEL for a Call-ID that no captured INVITE started.
    UnknownDialog,
}

impl SipError {
    /// Stable key for the report's `malformed` tally.
    pub fn key(self) -> &'static str {
        match self {
            SipError::Incomplete => "sip.incomplete",
            SipError::HeadersUnterminated => "sip.headers_unterminated",
            SipError::StartLine => "sip.bad_start_line",
            SipError::StatusCode => "sip.bad_status_code",
            SipError::ContentLength => "sip.bad_content_length",
            SipError::ContentLengthBeyond => "sip.content_length_beyond_datagram",
            SipError::MissingHeader => "sip.missing_call_id_or_cseq",
            SipError::UnknownDialog => "sip.bye_or_cancel_for_unknown_dialog",
        }
    }
}

impl fmt::Display for SipError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SipError::Incomplete => "the stream ends inside a SIP message",
            SipError::HeadersUnterminated => "the datagram ends before the empty line that closes the SIP headers",
            SipError::StartLine => "the first line is neither 'METHOD URI SIP/2.0' nor 'SIP/2.0 CODE REASON'",
            SipError::StatusCode => "the status code is not three digits from 100 to 699",
            SipError::ContentLength => "Content-Length is not a decimal number",
            SipError::ContentLengthBeyond => "Content-Length runs past the end of the datagram",
            SipError::MissingHeader => "Call-ID or CSeq ('number METHOD') is missing",
            SipError::UnknownDialog => "a BYE or CANCEL for a Call-ID that no captured INVITE started",
        })
    }
}

/// The first line of a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartLine<'a> {
    /// `METHOD URI SIP/2.0`.
    Request {
        /// The method, e.g. `INVITE`.
        method: &'a str,
    },
    /// `SIP/2.0 CODE REASON`.
    Response {
        /// The status code, 100 to 699.
        code: u16,
    },
}

/// One SIP message, borrowed from the buffer.
#[derive(Debug, Clone, Copy)]
pub struct SipMessage<'a> {
    /// Request or response.
    pub start: StartLine<'a>,
    headers: &'a [u8],
    /// The body (SDP, usually), possibly empty.
    pub body: &'a [u8],
    /// Bytes the message took in the buffer.
    pub len: usize,
}

/// Whether a payload starts like a SIP message: `SIP/2.0 ` or a known method and a space.
/// Cheap enough for every UDP payload: RTP's first byte (0x80–0xBF) is never a letter.
pub fn looks_like_sip(b: &[u8]) -> bool {
    if b.first().is_none_or(|c| !c.is_ascii_uppercase()) {
        return false;
    }
    b.starts_with(b"SIP/2.0 ")
        || METHODS.iter().any(|m| b.len() > m.len() && b.starts_with(m.as_bytes()) && b[m.len()] == b' ')
}

fn find_header_end(b: &[u8]) -> Option<(usize, usize)> {
    // The headers end at an empty line: CRLF CRLF, or LF LF from lenient senders.
    let mut i = 0;
    while let Some(p) = b[i..].iter().position(|&c| c == b'\n') {
        let at = i + p;
        match b.get(at + 1) {
            Some(b'\n') => return Some((at + 1, at + 2)),
            Some(b'\r') if b.get(at + 2) == Some(&b'\n') => return Some((at + 1, at + 3)),
            _ => {}
        }
        i = at + 1;
    }
    None
}

fn trim(b: &[u8]) -> &[u8] {
    let s = b.iter().position(|c| !c.is_ascii_whitespace()).unwrap_or(b.len());
    let e = b.iter().rposition(|c| !c.is_ascii_whitespace()).map_or(s, |e| e + 1);
    &b[s..e.max(s)]
}

fn text(b: &[u8]) -> Option<&str> {
    core::str::from_utf8(trim(b)).ok()
}

impl<'a> SipMessage<'a> {
    /// Parses the message at the start of `buf`. `stream` is true for TCP (the message may
    /// continue in later bytes; a missing Content-Length means no body), false for a datagram.
    pub fn parse(buf: &'a [u8], stream: bool) -> Result<Self, SipError> {
        let Some((head_end, body_start)) = find_header_end(buf) else {
            return Err(if stream { SipError::Incomplete } else { SipError::HeadersUnterminated });
        };
        let head = &buf[..head_end];
        let line_end = head.iter().position(|&c| c == b'\n').unwrap_or(head.len());
        let first = trim(&head[..line_end]);
        let start = Self::start_line(first)?;
        let headers = &head[(line_end + 1).min(head.len())..];
        let mut msg = SipMessage { start, headers, body: &[], len: 0 };
        let rest = &buf[body_start..];
        let body_len = match msg.header("Content-Length", Some(b'l')) {
            Some(v) => {
                let v = text(v).ok_or(SipError::ContentLength)?;
                if v.is_empty() || v.len() > 9 || !v.bytes().all(|c| c.is_ascii_digit()) {
                    return Err(SipError::ContentLength);
                }
                v.parse::<usize>().map_err(|_| SipError::ContentLength)?
            }
            None if stream => 0,
            None => rest.len(),
        };
        if body_len > rest.len() {
            return Err(if stream { SipError::Incomplete } else { SipError::ContentLengthBeyond });
        }
        msg.body = &rest[..body_len];
        msg.len = body_start + body_len;
        Ok(msg)
    }

    fn start_line(first: &'a [u8]) -> Result<StartLine<'a>, SipError> {
        let line = core::str::from_utf8(first).map_err(|_| SipError::StartLine)?;
        let mut parts = line.splitn(3, ' ');
        let (a, b, c) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""), parts.next().unwrap_or(""));
        if a == "SIP/2.0" {
            if b.len() != 3 || !b.bytes().all(|c| c.is_ascii_digit()) {
                return Err(SipError::StatusCode);
            }
            let code: u16 = b.parse().map_err(|_| SipError::StatusCode)?;
            if !(100..=699).contains(&code) {
                return Err(SipError::StatusCode);
            }
            Ok(StartLine::Response { code })
        } else if !a.is_empty() && a.bytes().all(|c| c.is_ascii_alphabetic()) && !b.is_empty() && c.trim() == "SIP/2.0"
        {
            Ok(StartLine::Request { method: a })
        } else {
            Err(SipError::StartLine)
        }
    }

    /// The value of the first header with this name (case-insensitive) or its compact form.
    pub fn header(&self, name: &str, compact: Option<u8>) -> Option<&'a [u8]> {
        let mut rest = self.headers;
        while !rest.is_empty() {
            let end = rest.iter().position(|&c| c == b'\n').unwrap_or(rest.len());
            let line = &rest[..end];
            rest = &rest[(end + 1).min(rest.len())..];
            let Some(colon) = line.iter().position(|&c| c == b':') else { continue };
            let key = trim(&line[..colon]);
            let hit = key.eq_ignore_ascii_case(name.as_bytes())
                || compact.is_some_and(|c| key.len() == 1 && key[0].eq_ignore_ascii_case(&c));
            if hit {
                return Some(&line[colon + 1..]);
            }
        }
        None
    }

    /// A header's value as trimmed text.
    pub fn header_text(&self, name: &str, compact: Option<u8>) -> Option<&'a str> {
        self.header(name, compact).and_then(text)
    }

    /// Call-ID.
    pub fn call_id(&self) -> Option<&'a str> {
        self.header_text("Call-ID", Some(b'i')).filter(|s| !s.is_empty())
    }

    /// CSeq: sequence number and method.
    pub fn cseq(&self) -> Option<(u32, &'a str)> {
        let v = self.header_text("CSeq", None)?;
        let mut it = v.split_ascii_whitespace();
        let n = it.next()?.parse().ok()?;
        let m = it.next()?;
        Some((n, m))
    }

    /// The From header's address (inside `<…>` when present, else up to the parameters).
    pub fn from(&self) -> Option<&'a str> {
        self.header_text("From", Some(b'f')).map(address)
    }

    /// The To header's address.
    pub fn to(&self) -> Option<&'a str> {
        self.header_text("To", Some(b't')).map(address)
    }

    /// Content-Type, without parameters, e.g. `application/sdp`.
    pub fn content_type(&self) -> Option<&'a str> {
        self.header_text("Content-Type", Some(b'c')).map(|v| v.split(';').next().unwrap_or("").trim())
    }

    /// Whether the body is an SDP session description.
    pub fn has_sdp(&self) -> bool {
        !self.body.is_empty() && self.content_type().is_some_and(|t| t.eq_ignore_ascii_case("application/sdp"))
    }
}

fn address(v: &str) -> &str {
    match (v.find('<'), v.find('>')) {
        (Some(a), Some(b)) if b > a => &v[a + 1..b],
        _ => v.split(';').next().unwrap_or(v).trim(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const INVITE: &[u8] = b"INVITE sip:bob@192.0.2.4 SIP/2.0\r\n\
v: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1\r\n\
f: \"Alice\" <sip:alice@192.0.2.1>;tag=1\r\n\
t: sip:bob@192.0.2.4\r\n\
i: abc@192.0.2.1\r\n\
CSeq: 1 INVITE\r\n\
c: application/sdp\r\n\
l: 4\r\n\
\r\n\
v=0\r";

    #[test]
    fn compact_headers_and_body() {
        let m = SipMessage::parse(INVITE, false).unwrap();
        assert_eq!(m.start, StartLine::Request { method: "INVITE" });
        assert_eq!(m.call_id(), Some("abc@192.0.2.1"));
        assert_eq!(m.cseq(), Some((1, "INVITE")));
        assert_eq!(m.from(), Some("sip:alice@192.0.2.1"));
        assert_eq!(m.to(), Some("sip:bob@192.0.2.4"));
        assert_eq!(m.body, b"v=0\r");
        assert!(m.has_sdp());
        assert_eq!(m.len, INVITE.len());
    }

    #[test]
    fn stream_framing() {
        let mut two = INVITE.to_vec();
        two.extend_from_slice(b"SIP/2.0 100 Trying\r\nCall-ID: x\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n");
        let a = SipMessage::parse(&two, true).unwrap();
        let b = SipMessage::parse(&two[a.len..], true).unwrap();
        assert_eq!(b.start, StartLine::Response { code: 100 });
        assert_eq!(a.len + b.len, two.len());
        // Cut anywhere: a stream asks for more, a datagram is malformed.
        for cut in 1..INVITE.len() {
            assert_eq!(SipMessage::parse(&INVITE[..cut], true).err(), Some(SipError::Incomplete), "cut {cut}");
            assert!(SipMessage::parse(&INVITE[..cut], false).is_err());
        }
    }

    #[test]
    fn bad_input() {
        assert_eq!(SipMessage::parse(b"SIP/2.0 99 x\r\n\r\n", false).err(), Some(SipError::StatusCode));
        assert_eq!(SipMessage::parse(b"SIP/2.0 700 x\r\n\r\n", false).err(), Some(SipError::StatusCode));
        assert_eq!(SipMessage::parse(b"HELLO world\r\n\r\n", false).err(), Some(SipError::StartLine));
        assert_eq!(
            SipMessage::parse(b"BYE sip:a SIP/2.0\r\nContent-Length: 10\r\n\r\nabc", false).err(),
            Some(SipError::ContentLengthBeyond)
        );
        assert_eq!(
            SipMessage::parse(b"BYE sip:a SIP/2.0\r\nContent-Length: -1\r\n\r\n", false).err(),
            Some(SipError::ContentLength)
        );
        assert!(looks_like_sip(b"OPTIONS sip:x SIP/2.0"));
        assert!(!looks_like_sip(b"\x80\x08\x00\x01"));
        assert!(!looks_like_sip(b"GET / HTTP/1.1"));
    }
}
