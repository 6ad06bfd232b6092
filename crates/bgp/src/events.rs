//! What the speaker reports: events, and route changes in runs.
//!
//! A full table is hundreds of thousands of route events. The speaker keeps the routes that one
//! UPDATE accepted (or withdrew) together as a [`RouteRun`]: one allocation per UPDATE instead
//! of one event per prefix, and no per-prefix counts on shared strings bouncing between the
//! speaker's core and the printer's. Printed, a run is still one `accepted` or `withdrawn` line
//! per prefix ([`RouteEvent`]), or with [`EventDetail::Summary`] one batch line.

use std::sync::Arc;

use ipnet::Ipv4Net;
use serde::{Serialize, Serializer};
use xconnect_time::Span;

/// How route events are reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum EventDetail {
    /// `accepted` and `withdrawn` per prefix; `sent` lists every prefix.
    #[default]
    PerPrefix,
    /// For bulk feeds: `accepted_batch` and `withdrawn_batch` per UPDATE received (count, first
    /// and last prefix), `sent_batch` per UPDATE batch sent (counts); `rejected` stays per
    /// prefix.
    Summary,
}

/// What happened, one JSON object per line with `--json-events`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum SpeakerEvent {
    /// Listening.
    Listening {
        /// Bound address.
        address: String,
    },
    /// A session changed state.
    State {
        /// Peer address.
        peer: String,
        /// Old state.
        from: String,
        /// New state.
        to: String,
    },
    /// The peer's OPEN was accepted.
    Open {
        /// Peer address.
        peer: String,
        /// Its ASN.
        asn: u32,
        /// Negotiated hold time, seconds.
        hold: u16,
        /// Its BGP identifier.
        router_id: String,
        /// Its capabilities.
        capabilities: Vec<String>,
    },
    /// A route failed the import policy.
    Rejected {
        /// Peer address.
        peer: String,
        /// Prefix.
        prefix: Ipv4Net,
        /// Reason key.
        reason: String,
        /// The reason in a sentence.
        detail: String,
    },
    /// We announced or withdrew our prefixes to a peer.
    Sent {
        /// Peer address.
        peer: String,
        /// Announced prefixes (written as text by the printer, not by the speaker).
        announced: Vec<Ipv4Net>,
        /// Withdrawn prefixes.
        withdrawn: Vec<Ipv4Net>,
    },
    /// A NOTIFICATION we sent.
    NotificationSent {
        /// Peer address.
        peer: String,
        /// Code.
        code: u8,
        /// Subcode.
        subcode: u8,
        /// Meaning.
        meaning: String,
        /// Why.
        reason: String,
    },
    /// A NOTIFICATION we received.
    NotificationReceived {
        /// Peer address.
        peer: String,
        /// Code.
        code: u8,
        /// Subcode.
        subcode: u8,
        /// Meaning.
        meaning: String,
    },
    /// Something worth a log line (connect failures, refused connections, RFC 7606 discards).
    Log {
        /// Peer or remote address.
        peer: String,
        /// The message.
        message: String,
    },
    /// One RIB entry, in answer to [`Command::ShowRoutes`].
    Route {
        /// Prefix.
        prefix: String,
        /// Peer of the best path.
        peer: String,
        /// AS_PATH.
        as_path: String,
        /// NEXT_HOP.
        next_hop: String,
    },
    /// The routes of one received UPDATE that passed the import policy
    /// ([`EventDetail::Summary`]).
    AcceptedBatch {
        /// Peer address.
        peer: Arc<str>,
        /// Prefixes.
        count: usize,
        /// The first.
        first: Ipv4Net,
        /// The last.
        last: Ipv4Net,
        /// AS_PATH.
        as_path: Arc<str>,
        /// NEXT_HOP.
        next_hop: Arc<str>,
    },
    /// The routes one UPDATE withdrew, or that left with the session
    /// ([`EventDetail::Summary`]).
    WithdrawnBatch {
        /// Peer address.
        peer: Arc<str>,
        /// Prefixes.
        count: usize,
        /// The first.
        first: Ipv4Net,
        /// The last.
        last: Ipv4Net,
    },
    /// What we sent in one go ([`EventDetail::Summary`]).
    SentBatch {
        /// Peer address.
        peer: Arc<str>,
        /// Prefixes announced.
        announced: usize,
        /// Prefixes withdrawn.
        withdrawn: usize,
    },
    /// A neighbor that announced graceful restart went down without a NOTIFICATION: its
    /// routes are kept, stale, while it restarts (RFC 4724).
    GracefulRestart {
        /// Peer address.
        peer: String,
        /// Routes kept stale.
        stale: usize,
        /// Seconds they are kept at most (the neighbor's restart time).
        restart_time_s: f64,
    },
    /// The neighbor's restart is over (its End-of-RIB, its restart time passed, or it came back
    /// without its forwarding state): the routes it did not announce again were withdrawn.
    RestartDone {
        /// Peer address.
        peer: String,
        /// Stale routes withdrawn.
        withdrawn: usize,
    },
    /// A neighbor's BFD session changed state.
    BfdState {
        /// Peer address.
        peer: String,
        /// Old state (AdminDown, Down, Init, Up).
        from: String,
        /// New state.
        to: String,
        /// The diagnostic (RFC 5880 §4.1), in words.
        diag: String,
    },
    /// The speaker stopped.
    Stopped,
}

/// What the speaker hands on, in order, each with the time it happened (since the speaker
/// started).
pub type Events = Vec<(Span, Emitted)>;

/// One item of [`Events`].
#[derive(Debug, Clone, PartialEq)]
pub enum Emitted {
    /// An event.
    Event(SpeakerEvent),
    /// Routes accepted or withdrawn together (the prefixes of one UPDATE, or of a session that
    /// went down).
    Routes(RouteRun),
}

/// Routes of one peer accepted with one path, or withdrawn, together.
#[derive(Debug, Clone, PartialEq)]
pub struct RouteRun {
    /// Peer address.
    pub peer: Arc<str>,
    /// What happened to them.
    pub change: RunChange,
}

/// What happened to the routes of a [`RouteRun`].
#[derive(Debug, Clone, PartialEq)]
pub enum RunChange {
    /// They passed the import policy and are in the RIB.
    Accepted {
        /// Their AS_PATH.
        as_path: Arc<str>,
        /// Their NEXT_HOP.
        next_hop: Arc<str>,
        /// Each prefix, and whether its route is now the best.
        routes: Vec<(Ipv4Net, bool)>,
    },
    /// The peer withdrew them (or its session went down).
    Withdrawn {
        /// The prefixes.
        prefixes: Vec<Ipv4Net>,
    },
}

impl RouteRun {
    /// Number of routes.
    fn len(&self) -> usize {
        match &self.change {
            RunChange::Accepted { routes, .. } => routes.len(),
            RunChange::Withdrawn { prefixes } => prefixes.len(),
        }
    }

    /// The `k`th route's event.
    fn get(&self, k: usize) -> RouteEvent<'_> {
        let peer = &self.peer;
        match &self.change {
            RunChange::Accepted { as_path, next_hop, routes } => {
                let (prefix, best) = routes[k];
                RouteEvent::Accepted { peer, prefix, as_path, next_hop, best }
            }
            RunChange::Withdrawn { prefixes } => RouteEvent::Withdrawn { peer, prefix: prefixes[k] },
        }
    }

    /// Its routes' events, in order.
    pub fn events(&self) -> impl Iterator<Item = RouteEvent<'_>> + '_ {
        (0..self.len()).map(|k| self.get(k))
    }

    /// The run as one batch event ([`EventDetail::Summary`]); `None` when empty.
    pub fn summary(&self) -> Option<SpeakerEvent> {
        let peer = self.peer.clone();
        Some(match &self.change {
            RunChange::Accepted { as_path, next_hop, routes } => SpeakerEvent::AcceptedBatch {
                peer,
                count: routes.len(),
                first: routes.first()?.0,
                last: routes.last()?.0,
                as_path: as_path.clone(),
                next_hop: next_hop.clone(),
            },
            RunChange::Withdrawn { prefixes } => SpeakerEvent::WithdrawnBatch {
                peer,
                count: prefixes.len(),
                first: *prefixes.first()?,
                last: *prefixes.last()?,
            },
        })
    }
}

/// One route's event, one JSON object per line with `--json-events`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum RouteEvent<'a> {
    /// A route passed the import policy and is in the RIB.
    Accepted {
        /// Peer address.
        peer: &'a str,
        /// Prefix.
        #[serde(serialize_with = "prefix_text")]
        prefix: Ipv4Net,
        /// AS_PATH.
        as_path: &'a str,
        /// NEXT_HOP.
        next_hop: &'a str,
        /// Whether it is now the best path.
        best: bool,
    },
    /// The peer withdrew a route (or its session went down).
    Withdrawn {
        /// Peer address.
        peer: &'a str,
        /// Prefix.
        #[serde(serialize_with = "prefix_text")]
        prefix: Ipv4Net,
    },
}

/// A prefix as `a.b.c.d/len`, written without the formatting machinery (a full table prints
/// it for every route).
fn prefix_text<S: Serializer>(prefix: &Ipv4Net, s: S) -> Result<S::Ok, S::Error> {
    let mut text = [0u8; 18];
    let mut n = 0;
    let mut put = |bytes: &[u8]| {
        text[n..n + bytes.len()].copy_from_slice(bytes);
        n += bytes.len();
    };
    let mut digits = itoa::Buffer::new();
    for (k, octet) in prefix.addr().octets().into_iter().enumerate() {
        if k > 0 {
            put(b".");
        }
        put(digits.format(octet).as_bytes());
    }
    put(b"/");
    put(digits.format(prefix.prefix_len()).as_bytes());
    s.serialize_str(std::str::from_utf8(&text[..n]).expect("digits, dots and a slash"))
}

/// Writes `events` as JSON lines, each object with its time `t` (seconds, to the microsecond)
/// as its last field.
pub fn write_json_lines(events: &Events, out: &mut Vec<u8>) {
    for (at, e) in events {
        match e {
            Emitted::Event(e) => json_line(e, *at, out),
            Emitted::Routes(run) => run.events().for_each(|e| json_line(&e, *at, out)),
        }
    }
}

fn json_line(e: &impl Serialize, at: Span, out: &mut Vec<u8>) {
    serde_json::to_writer(&mut *out, e).expect("events serialize");
    // The event is a JSON object: its closing brace makes room for `t`.
    debug_assert_eq!(out.last(), Some(&b'}'));
    out.pop();
    out.extend_from_slice(b",\"t\":");
    write_seconds(at, out);
    out.extend_from_slice(b"}\n");
}

/// `at` in seconds rounded to the microsecond, as the shortest decimal (`0`, `1.5`, `0.000026`).
pub fn write_seconds(at: Span, out: &mut Vec<u8>) {
    let micros = at.0.saturating_add(500) / 1000;
    let mut digits = itoa::Buffer::new();
    out.extend_from_slice(digits.format(micros / 1_000_000).as_bytes());
    let mut frac = micros % 1_000_000;
    if frac > 0 {
        let mut width = 6;
        while frac.is_multiple_of(10) {
            frac /= 10;
            width -= 1;
        }
        out.push(b'.');
        let text = digits.format(frac);
        out.extend(std::iter::repeat_n(b'0', width - text.len()));
        out.extend_from_slice(text.as_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Ipv4Net {
        s.parse().unwrap()
    }

    #[test]
    fn seconds_are_the_shortest_decimal_to_the_microsecond() {
        let text = |ns: u64| {
            let mut v = Vec::new();
            write_seconds(Span(ns), &mut v);
            String::from_utf8(v).unwrap()
        };
        assert_eq!(text(0), "0");
        assert_eq!(text(499), "0");
        assert_eq!(text(500), "0.000001");
        assert_eq!(text(26_000), "0.000026");
        assert_eq!(text(1_576_699_000), "1.576699");
        assert_eq!(text(337_260_000), "0.33726");
        assert_eq!(text(2_500_000_000), "2.5");
        assert_eq!(text(90_000_000_000), "90");
        // The same text as the shortest f64 of the rounded value, which it replaced.
        for ns in [1u64, 999, 123_456_789, 9_999_999_999, 86_400_123_456_789] {
            let f = ((ns as f64 / 1e9) * 1e6).round() / 1e6;
            assert_eq!(text(ns), f.to_string(), "{ns} ns");
        }
    }

    /// The fast prefix text is ipnet's own (the crate as the oracle), over every length and
    /// octets of one, two and three digits.
    #[test]
    fn prefix_text_is_ipnet_s_display() {
        let mut x = 0x9e37_79b9u32;
        for len in 0..=32u8 {
            for _ in 0..200 {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                let p = Ipv4Net::new(std::net::Ipv4Addr::from(x), len).unwrap().trunc();
                let json = serde_json::to_string(&RouteEvent::Withdrawn { peer: "p", prefix: p }).unwrap();
                assert!(json.contains(&format!("\"prefix\":\"{p}\"")), "{json} for {p}");
            }
        }
    }

    #[test]
    fn a_run_prints_one_line_per_route_as_the_events_did() {
        let peer: Arc<str> = "192.0.2.1:179".into();
        let run = RouteRun {
            peer: peer.clone(),
            change: RunChange::Accepted {
                as_path: "64512 3356".into(),
                next_hop: "192.0.2.1".into(),
                routes: vec![(p("45.0.0.0/24"), true), (p("203.0.113.128/25"), false)],
            },
        };
        let gone = RouteRun { peer, change: RunChange::Withdrawn { prefixes: vec![p("1.2.3.0/24")] } };
        let events = vec![
            (Span(1_000_000), Emitted::Routes(run.clone())),
            (Span(2_000_000_000), Emitted::Event(SpeakerEvent::Stopped)),
            (Span(3_000_001_000), Emitted::Routes(gone.clone())),
        ];
        let mut out = Vec::new();
        write_json_lines(&events, &mut out);
        let lines: Vec<serde_json::Value> =
            String::from_utf8(out).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        assert_eq!(
            lines,
            vec![
                serde_json::json!({"event": "accepted", "peer": "192.0.2.1:179", "prefix": "45.0.0.0/24",
                    "as_path": "64512 3356", "next_hop": "192.0.2.1", "best": true, "t": 0.001}),
                serde_json::json!({"event": "accepted", "peer": "192.0.2.1:179", "prefix": "203.0.113.128/25",
                    "as_path": "64512 3356", "next_hop": "192.0.2.1", "best": false, "t": 0.001}),
                serde_json::json!({"event": "stopped", "t": 2}),
                serde_json::json!({"event": "withdrawn", "peer": "192.0.2.1:179", "prefix": "1.2.3.0/24",
                    "t": 3.000001}),
            ]
        );
        assert_eq!(
            run.summary(),
            Some(SpeakerEvent::AcceptedBatch {
                peer: "192.0.2.1:179".into(),
                count: 2,
                first: p("45.0.0.0/24"),
                last: p("203.0.113.128/25"),
                as_path: "64512 3356".into(),
                next_hop: "192.0.2.1".into(),
            })
        );
        assert_eq!(gone.len(), 1);
    }
}
