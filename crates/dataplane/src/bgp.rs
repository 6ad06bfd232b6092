//! BGP in captures: TCP segments on port 179, or whose payload starts with BGP's all-ones
//! marker (lab sessions often use other ports), reassembled in sequence order per direction so
//! a message split across segments is decoded once, in the frame that completes it (as tshark
//! does). Retransmissions and overlaps are trimmed. After a sequence gap, a segment that starts
//! with a marker while no message is half-read is decoded at once (counted in `gaps`); other
//! out-of-order segments wait (up to 64 per direction) for the gap to fill. A gap that never
//! fills, or a header error, makes the stream resynchronize at the next segment that starts
//! with a marker.
//!
//! Every announced prefix is checked against the provider's import rules (public space, /8 to
//! /24, AS_PATH starting with the sender's ASN when its OPEN was captured, no other non-public
//! ASN) and flagged when it would be rejected.

use std::collections::BTreeMap;
use std::net::IpAddr;

use rustc_hash::FxHashMap;
use serde::Serialize;
use xconnect_bgp::policy::{check_prefix, ImportPolicy, PROVIDER_MAX_LEN, PROVIDER_MIN_LEN};
use xconnect_bgp::wire::{AsWidth, DecodeCtx, Message, MessageReader, MARKER};

/// Rows kept per list; totals are counted beyond it.
const MAX_ROWS: usize = 100_000;
/// Out-of-order segments held per direction.
const MAX_OOO: usize = 64;

/// One OPEN.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct OpenRow {
    /// The speaker's ASN (from the 4-octet capability when present).
    pub asn: u32,
    /// The 2-octet My AS field as sent (AS_TRANS 23456 for a 4-octet ASN).
    pub my_as: u16,
    /// Proposed hold time, seconds.
    pub hold: u16,
    /// BGP identifier.
    pub router_id: String,
    /// Capability names.
    pub capabilities: Vec<String>,
    /// Sender, "IP:PORT".
    pub from: String,
    /// Frame that completed it.
    pub frame: u64,
}

/// One TCP connection carrying BGP.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct SessionRow {
    /// The side that opened the connection (sent the SYN; else the side not on port 179).
    pub client: String,
    /// The other side.
    pub server: String,
    /// OPENs in capture order.
    pub open: Vec<OpenRow>,
}

/// An announced prefix.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct AnnouncedRow {
    /// Prefix.
    pub prefix: String,
    /// AS_PATH.
    pub as_path: String,
    /// NEXT_HOP.
    pub next_hop: Option<String>,
    /// Frame.
    pub frame: u64,
}

/// A withdrawn prefix.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct WithdrawnRow {
    /// Prefix.
    pub prefix: String,
    /// Frame.
    pub frame: u64,
}

/// A NOTIFICATION.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct NotificationRow {
    /// Error code.
    pub code: u8,
    /// Subcode.
    pub subcode: u8,
    /// "Cease / Hard Reset" and the like.
    pub meaning: String,
    /// Frame.
    pub frame: u64,
}

/// An announced prefix the provider's policy would reject.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ViolationRow {
    /// Prefix.
    pub prefix: String,
    /// Reason key ("special_purpose", "too_specific", ...).
    pub reason: &'static str,
    /// The reason in a sentence.
    pub detail: String,
    /// Frame.
    pub frame: u64,
}

/// A message that could not be decoded, or an UPDATE with RFC 7606 issues.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct BgpErrorRow {
    /// Frame.
    pub frame: u64,
    /// NOTIFICATION code the receiver would send (or that RFC 4271 would have sent).
    pub code: u8,
    /// Subcode.
    pub subcode: u8,
    /// What is wrong, and what a receiver does about it.
    pub detail: String,
}

/// The `bgp` object of `replay --json`.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct BgpReport {
    /// Connections, in order of their first BGP bytes.
    pub sessions: Vec<SessionRow>,
    /// Messages per type name.
    pub messages: BTreeMap<&'static str, u64>,
    /// Announced prefixes (the first 100,000).
    pub announced: Vec<AnnouncedRow>,
    /// Withdrawn prefixes (the first 100,000).
    pub withdrawn: Vec<WithdrawnRow>,
    /// NOTIFICATIONs.
    pub notifications: Vec<NotificationRow>,
    /// Announced prefixes the provider would reject.
    pub policy_violations: Vec<ViolationRow>,
    /// Undecodable messages and RFC 7606 attribute errors.
    pub errors: Vec<BgpErrorRow>,
    /// Prefixes announced in all (also beyond the listed rows).
    pub announced_total: u64,
    /// Prefixes withdrawn in all.
    pub withdrawn_total: u64,
    /// Sequence gaps that never filled (bytes lost to the capture).
    pub gaps: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
struct End {
    ip: IpAddr,
    port: u16,
}

impl End {
    fn show(self) -> String {
        match self.ip {
            IpAddr::V4(a) => format!("{a}:{}", self.port),
            IpAddr::V6(a) => format!("[{a}]:{}", self.port),
        }
    }
}

#[derive(Debug, Default)]
struct Direction {
    next_seq: Option<u32>,
    reader: MessageReader,
    /// Held segments by sequence number, with their frame.
    ooo: BTreeMap<u32, (u64, Vec<u8>)>,
    /// Waiting for a segment that starts with a marker.
    lost: bool,
}

impl Direction {
    /// Gives up on the bytes before `seq` (lost to the capture): what was half-read is dropped
    /// and decoding resumes at the next segment that starts with a marker.
    fn resume_at(&mut self, seq: u32) {
        self.reader = MessageReader::default();
        self.lost = true;
        self.next_seq = Some(seq);
    }
}

#[derive(Debug)]
struct Conn {
    /// Index into the report's sessions.
    session: usize,
    /// Directions: [from the lower end, from the higher end].
    dirs: [Direction; 2],
    /// Each side's OPEN: (ASN, 4-octet capability).
    opens: [Option<(u32, bool)>; 2],
}

/// The BGP tally of a replay.
#[derive(Debug, Default)]
pub struct BgpTracker {
    conns: FxHashMap<(End, End), Conn>,
    report: BgpReport,
    /// Only say which connections are BGP, decode nothing (a replay's other shards: they must
    /// know which TCP segments are BGP's, so that the rest can go to SIP).
    claims_only: bool,
}

/// TCP flag bits.
const SYN: u8 = 0x02;
const ACK: u8 = 0x10;

impl BgpTracker {
    /// Whether a TCP segment belongs to BGP: port 179, a connection already seen, or a payload
    /// that starts with the marker.
    #[inline]
    pub fn wants(&self, src_port: u16, dst_port: u16, payload: &[u8]) -> bool {
        src_port == 179 || dst_port == 179 || !self.conns.is_empty() || payload.starts_with(&MARKER)
    }

    /// A tracker that keeps which connections are BGP and decodes nothing.
    pub fn claims_only() -> Self {
        BgpTracker { claims_only: true, ..BgpTracker::default() }
    }

    /// One TCP segment of frame `frame`; returns whether it belongs to a BGP connection
    /// (else it is left to the other TCP protocols).
    #[allow(clippy::too_many_arguments)]
    pub fn add(
        &mut self,
        frame: u64,
        src: IpAddr,
        src_port: u16,
        dst: IpAddr,
        dst_port: u16,
        seq: u32,
        flags: u8,
        payload: &[u8],
    ) -> bool {
        let (a, b) = (End { ip: src, port: src_port }, End { ip: dst, port: dst_port });
        let (key, dir) = if a <= b { ((a, b), 0) } else { ((b, a), 1) };
        let bgp_port = src_port == 179 || dst_port == 179;
        if !self.conns.contains_key(&key) {
            let syn_only = flags & SYN != 0 && flags & ACK == 0;
            if !(bgp_port || payload.starts_with(&MARKER)) || (payload.is_empty() && !syn_only) {
                return false;
            }
            // The client sent the SYN; without one, the side off port 179; else the lower end.
            let (client, server) = if syn_only || (dst_port == 179 && src_port != 179) { (a, b) } else { (b, a) };
            self.report.sessions.push(SessionRow { client: client.show(), server: server.show(), open: Vec::new() });
            let session = self.report.sessions.len() - 1;
            self.conns.insert(key, Conn { session, dirs: Default::default(), opens: [None; 2] });
        }
        if self.claims_only {
            return true;
        }
        let conn = self.conns.get_mut(&key).expect("inserted above");
        let d = &mut conn.dirs[dir];
        if flags & SYN != 0 {
            d.next_seq = Some(seq.wrapping_add(1));
            d.reader = MessageReader::default();
            d.ooo.clear();
            d.lost = false;
            return true;
        }
        if payload.is_empty() {
            return true;
        }
        let next = match d.next_seq {
            Some(n) => n,
            None if payload.starts_with(&MARKER) => seq,
            None => return true,
        };
        let off = seq.wrapping_sub(next) as i32;
        if off > 0 && d.reader.pending() == 0 && payload.starts_with(&MARKER) && d.ooo.is_empty() {
            // Bytes are missing but nothing is half-decoded and this segment starts a message:
            // decode it now, as tshark does (a reordered earlier segment arriving later is then
            // trimmed as already seen).
            self.report.gaps += 1;
            d.resume_at(seq);
            Self::push(d, seq, payload);
        } else if off > 0 {
            d.ooo.insert(seq, (frame, payload.to_vec()));
            if d.ooo.len() <= MAX_OOO {
                return true;
            }
            // The gap is not going to fill: skip it and resynchronize at the first held segment.
            self.report.gaps += 1;
            let (s, (_, p)) = d.ooo.pop_first().expect("more than MAX_OOO held");
            d.resume_at(s);
            Self::push(d, s, &p);
        } else {
            Self::push(d, seq, payload);
        }
        // Drain held segments that now fit.
        while let Some((&s, _)) = d.ooo.first_key_value() {
            let n = d.next_seq.expect("set by push");
            if (s.wrapping_sub(n) as i32) > 0 {
                break;
            }
            let (_, p) = d.ooo.remove(&s).expect("present");
            Self::push(d, s, &p);
        }
        decode_ready(&mut self.report, conn, key, dir, frame);
        true
    }

    /// Appends in-order bytes starting at `seq` (trimming what was already taken).
    fn push(d: &mut Direction, seq: u32, payload: &[u8]) {
        let next = d.next_seq.unwrap_or(seq);
        let skip = next.wrapping_sub(seq) as i32;
        if skip < 0 || skip as usize >= payload.len() {
            return;
        }
        let data = &payload[skip as usize..];
        d.next_seq = Some(next.wrapping_add(data.len() as u32));
        if d.lost {
            if !data.starts_with(&MARKER) {
                return;
            }
            d.lost = false;
        }
        d.reader.push(data);
    }

    /// The report.
    ///
    /// Segments still held behind a gap that never filled are decoded now: what was half-read
    /// before the gap is dropped (counted in `gaps`) and decoding resumes at the next marker.
    pub fn finish(mut self) -> BgpReport {
        let mut keys: Vec<(End, End)> = self.conns.keys().copied().collect();
        keys.sort();
        for key in keys {
            let conn = self.conns.get_mut(&key).expect("listed");
            for dir in 0..2 {
                while let Some((s, (frame, p))) = conn.dirs[dir].ooo.pop_first() {
                    let d = &mut conn.dirs[dir];
                    if d.next_seq.is_some_and(|n| (s.wrapping_sub(n) as i32) > 0) {
                        self.report.gaps += 1;
                        d.resume_at(s);
                    }
                    Self::push(d, s, &p);
                    decode_ready(&mut self.report, conn, key, dir, frame);
                }
            }
        }
        self.report
    }
}

fn record(r: &mut BgpReport, frame: u64, session: usize, from: End, sender_asn: Option<u32>, m: Message) {
    *r.messages.entry(m.kind().name()).or_default() += 1;
    match m {
        Message::Open(o) => r.sessions[session].open.push(OpenRow {
            asn: o.asn(),
            my_as: o.my_as,
            hold: o.hold_time,
            router_id: o.router_id.to_string(),
            capabilities: o.capabilities.iter().map(|c| c.name()).collect(),
            from: from.show(),
            frame,
        }),
        Message::Update(u) => {
            for p in &u.withdrawn {
                r.withdrawn_total += 1;
                push_row(&mut r.withdrawn, WithdrawnRow { prefix: p.to_string(), frame });
            }
            for i in &u.issues {
                push_row(
                    &mut r.errors,
                    BgpErrorRow {
                        frame,
                        code: 3,
                        subcode: i.subcode,
                        detail: format!("{} ({:?}, RFC 7606)", i.detail, i.action),
                    },
                );
            }
            let as_path = u.attrs.as_path.as_ref().map(|p| p.to_string()).unwrap_or_default();
            let next_hop = u.attrs.next_hop.map(|a| a.to_string());
            for p in &u.nlri {
                r.announced_total += 1;
                push_row(
                    &mut r.announced,
                    AnnouncedRow { prefix: p.to_string(), as_path: as_path.clone(), next_hop: next_hop.clone(), frame },
                );
                // The provider's import rules (one copy, in the BGP crate); without the
                // sender's OPEN its ASN is unknown and only the prefix can be judged.
                let verdict = match sender_asn {
                    Some(asn) => ImportPolicy::provider(asn).check(*p, &u.attrs),
                    None => check_prefix(*p, PROVIDER_MIN_LEN, PROVIDER_MAX_LEN),
                };
                if let Err(reason) = verdict {
                    push_row(
                        &mut r.policy_violations,
                        ViolationRow { prefix: p.to_string(), reason: reason.key(), detail: reason.to_string(), frame },
                    );
                }
            }
        }
        Message::Notification(n) => push_row(
            &mut r.notifications,
            NotificationRow { code: n.code, subcode: n.subcode, meaning: n.meaning(), frame },
        ),
        Message::Keepalive | Message::RouteRefresh { .. } => {}
    }
}

/// Decodes every whole message buffered in `conn`'s direction `dir`.
fn decode_ready(report: &mut BgpReport, conn: &mut Conn, key: (End, End), dir: usize, frame: u64) {
    let session = conn.session;
    let from = if dir == 0 { key.0 } else { key.1 };
    loop {
        let ctx = DecodeCtx {
            as_width: match conn.opens {
                [Some((_, true)), Some((_, true))] => AsWidth::Four,
                [Some((_, false)), _] | [_, Some((_, false))] => AsWidth::Two,
                _ => AsWidth::Guess,
            },
        };
        let d = &mut conn.dirs[dir];
        let raw = match d.reader.next_message() {
            Ok(Some(raw)) => raw,
            Ok(None) => break,
            Err(e) => {
                push_row(
                    &mut report.errors,
                    BgpErrorRow { frame, code: e.code, subcode: e.subcode, detail: e.detail.clone() },
                );
                d.reader = MessageReader::default();
                d.lost = true;
                break;
            }
        };
        match Message::decode(raw, ctx) {
            Ok(m) => {
                let sender_asn = conn.opens[dir].map(|(asn, _)| asn);
                if let Message::Open(o) = &m {
                    conn.opens[dir] = Some((o.asn(), o.four_octet()));
                }
                record(report, frame, session, from, sender_asn, m);
            }
            Err(e) => {
                push_row(&mut report.errors, BgpErrorRow { frame, code: e.code, subcode: e.subcode, detail: e.detail })
            }
        }
    }
}

fn push_row<T>(v: &mut Vec<T>, row: T) {
    if v.len() < MAX_ROWS {
        v.push(row);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;
    use xconnect_bgp::wire::{AsPath, Open, Origin, PathAttributes, Update};

    fn stream() -> Vec<u8> {
        let update = Update {
            attrs: PathAttributes {
                origin: Some(Origin::Igp),
                as_path: Some(AsPath::sequence(vec![64512])),
                next_hop: Some(Ipv4Addr::new(192, 0, 2, 1)),
                ..PathAttributes::default()
            },
            nlri: (0..300u32)
                .map(|i| ipnet::Ipv4Net::new(Ipv4Addr::from(0x2d00_0000 + (i << 8)), 24).unwrap())
                .collect(),
            ..Update::default()
        };
        let mut s = Message::Open(Open::new(64512, 90, Ipv4Addr::new(10, 0, 0, 1))).encode(true);
        s.extend(Message::Keepalive.encode(true));
        s.extend(Message::Update(update).encode(true));
        s
    }

    fn feed(t: &mut BgpTracker, segs: &[(u32, &[u8])], port: u16) {
        let (a, b) = (IpAddr::V4(Ipv4Addr::new(45, 64, 0, 1)), IpAddr::V4(Ipv4Addr::new(168, 86, 128, 1)));
        for (i, (seq, p)) in segs.iter().enumerate() {
            if t.wants(40000, port, p) {
                t.add(i as u64 + 1, a, 40000, b, port, *seq, 0x18, p);
            }
        }
    }

    fn check(r: &BgpReport) {
        assert_eq!(r.messages.get("open"), Some(&1));
        assert_eq!(r.messages.get("keepalive"), Some(&1));
        assert_eq!(r.messages.get("update"), Some(&1));
        assert_eq!(r.announced_total, 300);
        assert_eq!(r.sessions[0].open[0].asn, 64512);
        assert!(r.errors.is_empty(), "{:?}", r.errors);
    }

    #[test]
    fn messages_split_across_segments_decode_once_in_the_completing_frame() {
        let s = stream();
        let base = 1_000u32;
        // 100-byte segments, in order, on a non-BGP port (found by the marker).
        let segs: Vec<(u32, &[u8])> = s.chunks(100).enumerate().map(|(i, c)| (base + 100 * i as u32, c)).collect();
        let mut t = BgpTracker::default();
        feed(&mut t, &segs, 8179);
        let r = t.finish();
        check(&r);
        assert_eq!(r.announced[0].frame, segs.len() as u64, "the UPDATE completes in the last segment");
        assert_eq!(r.gaps, 0);
    }

    #[test]
    fn retransmissions_overlaps_and_reordering() {
        let s = stream();
        let base = u32::MAX - 150; // sequence numbers wrap inside the stream
        let seg = |from: usize, to: usize| (base.wrapping_add(from as u32), &s[from..to.min(s.len())]);
        let n = s.len();
        let segs = vec![
            seg(0, 100),
            seg(0, 100),   // retransmission
            seg(50, 250),  // overlap
            seg(400, 600), // ahead of a gap: held
            seg(250, 400), // fills the gap
            seg(600, n),
            seg(600, n), // retransmission of the tail
        ];
        let mut t = BgpTracker::default();
        feed(&mut t, &segs, 179);
        let r = t.finish();
        check(&r);
        assert_eq!(r.gaps, 0);
    }

    #[test]
    fn a_lost_segment_resynchronizes_at_the_next_marker() {
        let s = stream();
        let open_len = usize::from(u16::from_be_bytes([s[16], s[17]]));
        let ka_end = open_len + 19;
        // The OPEN's middle is lost; the KEEPALIVE and UPDATE still decode.
        let segs: Vec<(u32, &[u8])> =
            vec![(0, &s[..30]), (open_len as u32, &s[open_len..ka_end]), (ka_end as u32, &s[ka_end..])];
        let mut t = BgpTracker::default();
        feed(&mut t, &segs, 179);
        let r = t.finish();
        assert_eq!(r.messages.get("open"), None);
        assert_eq!(r.messages.get("keepalive"), Some(&1));
        assert_eq!(r.announced_total, 300);
        assert!(r.gaps >= 1, "{r:?}");
    }

    #[test]
    fn a_gap_that_never_fills_resynchronizes_once_too_many_segments_wait() {
        // An OPEN whose second half is lost, then 200 KEEPALIVEs one per segment: they wait
        // behind the half-read OPEN until more than MAX_OOO are held, then decoding resumes.
        let open = Message::Open(Open::new(64512, 90, Ipv4Addr::new(10, 0, 0, 1))).encode(true);
        let ka = Message::Keepalive.encode(true);
        let mut segs: Vec<(u32, &[u8])> = vec![(0, &open[..30])];
        let base = open.len() as u32;
        segs.extend((0..200u32).map(|i| (base + i * 19, ka.as_slice())));
        let mut t = BgpTracker::default();
        feed(&mut t, &segs, 179);
        let before_end = t.report.messages.get("keepalive").copied().unwrap_or(0);
        assert_eq!(before_end, 200, "all decoded before the capture ends (not held until finish)");
        assert_eq!(t.report.gaps, 1);
        let r = t.finish();
        assert_eq!(r.messages.get("keepalive"), Some(&200));
        assert_eq!(r.messages.get("open"), None);
        assert!(r.errors.is_empty(), "{:?}", r.errors);
    }
}
