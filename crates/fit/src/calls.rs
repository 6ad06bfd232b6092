//! From a replay's RTP streams (and SIP calls, when the capture has them) to calls: which
//! streams make a call, when it starts and ends, its codec and packet time, whether it
//! suppresses silence, carries comfort noise or DTMF, and who placed it.
//!
//! Two steps: [`calls`] groups the streams and names each one's codec from the report alone
//! (payload types, SDP); [`Calls::classify`] then takes what the load pass saw of each
//! stream's packets ([`Facts`]: markers, payload size, timestamp step) for its packet time and
//! silence suppression.

use std::collections::HashMap;
use std::net::IpAddr;

use serde::Serialize;
use xconnect_dataplane::replay::ReplayReport;
use xconnect_dataplane::rtp::RtpStreamRow;
use xconnect_dataplane::sip::{CallState, PayloadRow};
use xconnect_trafgen::Codec;

use crate::load::{Facts, Flow};
use crate::sides::{Side, Sides};

/// Comfort noise (RFC 3389), and its pre-RFC number.
const PT_CN: [u8; 2] = [13, 19];

/// A stream sends fewer than this share of its packet times' packets: it suppresses silence
/// (with at least two talkspurts, each begun by a marker bit, or comfort noise).
pub const SUPPRESSED_BELOW: f64 = 0.99;

/// A class of calls: what the simulator needs to send them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct ClassKey {
    /// Codec.
    pub codec: Codec,
    /// Packet time, ms.
    pub ptime_ms: u32,
    /// Silence suppression.
    pub silence_suppression: bool,
}

/// What a stream carries, from its payload types and its call's SDP.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Kind {
    /// Audio of a codec in the catalog, in payload type `pt`.
    Audio { codec: Codec, pt: u8 },
    /// Only RFC 4733 events.
    Events,
    /// A payload type the catalog has no codec for (with its SDP name, if any).
    Unknown { payload_type: u8, name: Option<String> },
}

/// An audio stream's packet time and silence suppression, from its packets.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Audio {
    pub codec: Codec,
    pub ptime_ms: u32,
    /// Packets sent over packet times spanned (1: one every packet time).
    pub activity: f64,
    pub suppressed: bool,
    /// The packet time measured, when it had to move to one the codec allows.
    pub moved_from: Option<u32>,
}

/// One call.
#[derive(Debug, Clone)]
pub(crate) struct Call {
    /// Its streams (indices into the report's `rtp_streams`).
    pub streams: Vec<usize>,
    /// Its start: the SIP answer, else its first packet, ns.
    pub start_ns: u64,
    /// Its end: the BYE, else its last packet, ns.
    pub end_ns: u64,
    /// Whether a stream is audio of a codec the simulator sends.
    pub known: bool,
    /// The class of its busiest audio stream (set by [`Calls::classify`]).
    pub class: Option<ClassKey>,
    /// The packet time had to be moved to one the codec allows (from, to).
    pub ptime_moved: Option<(u32, u32)>,
    /// Comfort noise in any stream.
    pub comfort_noise: bool,
    /// RFC 4733 events in any stream.
    pub dtmf: bool,
    /// Who sent the SDP offer (SIP calls).
    pub caller: Option<Side>,
    /// From a SIP dialog.
    pub sip: bool,
    /// A SIP call still up when the capture ends (answered, no BYE): its end is not known.
    pub open: bool,
}

/// The streams' kinds, their audio once classified, and the calls they make.
#[derive(Debug)]
pub(crate) struct Calls {
    pub kinds: Vec<Kind>,
    /// Per stream, after [`Calls::classify`].
    pub audio: Vec<Option<Audio>>,
    pub calls: Vec<Call>,
}

/// The codec a payload type names: the static table, else the SDP's encoding name.
fn codec_of(pt: u8, sdp: Option<&PayloadRow>) -> Option<Codec> {
    match pt {
        0 => Some(Codec::G711U),
        8 => Some(Codec::G711A),
        9 => Some(Codec::G722),
        18 => Some(Codec::G729),
        96..=127 => sdp.and_then(|p| p.name.as_deref()).and_then(|n| n.parse().ok()),
        _ => None,
    }
}

fn is_event(pt: u8, sdp: Option<&PayloadRow>) -> bool {
    match sdp.and_then(|p| p.name.as_deref()) {
        Some(name) => name.eq_ignore_ascii_case("telephone-event"),
        // Without SDP: 101 is the number every stack uses for RFC 4733.
        None => pt == 101,
    }
}

/// What stream `row` carries, given its call's SDP payload types (if any): its first payload
/// type that is neither comfort noise nor an event.
fn kind_of(row: &RtpStreamRow, sdp: &[PayloadRow]) -> Kind {
    let find = |pt: u8| sdp.iter().find(|p| p.pt == pt);
    let audio = std::iter::once(row.payload_type)
        .chain(row.payload_types.iter().copied())
        .find(|&pt| !PT_CN.contains(&pt) && !is_event(pt, find(pt)));
    let Some(pt) = audio else { return Kind::Events };
    match codec_of(pt, find(pt)) {
        Some(codec) => Kind::Audio { codec, pt },
        None => Kind::Unknown { payload_type: pt, name: find(pt).and_then(|p| p.name.clone()) },
    }
}

/// An audio stream's packet time (the timestamp step over the clock, which silence does not
/// change; else the payload size's; else the mean arrival gap; snapped to one the codec
/// allows) and whether it suppresses silence.
fn audio_of(row: &RtpStreamRow, codec: Codec, pt: u8, facts: &Facts) -> Audio {
    let per_ms = codec.clock_rate() / 1000;
    let measured = Some(facts.ts_step)
        .filter(|s| *s != 0 && row.payload_type == pt)
        .map(|s| (f64::from(s) / f64::from(per_ms)).round() as u32)
        .or_else(|| codec.ptimes().iter().copied().find(|&p| codec.payload_bytes(p) == u32::from(facts.payload_bytes)))
        .unwrap_or_else(|| ((row.mean_delta_ms / 10.0).round() * 10.0).max(10.0) as u32);
    let ptime_ms =
        *codec.ptimes().iter().min_by_key(|&&p| (p.abs_diff(measured), p)).expect("every codec allows a packet time");
    let span_ns = row.last_ns.saturating_sub(row.first_ns);
    let slots = span_ns as f64 / (f64::from(ptime_ms) * 1e6) + 1.0;
    let sent = row.packets as f64 + row.lost.max(0) as f64;
    let activity = (sent / slots).min(1.0);
    // Pauses, told by talkspurt markers or by comfort noise filling them.
    let cn = row.payload_types.iter().any(|pt| PT_CN.contains(pt));
    Audio {
        codec,
        ptime_ms,
        activity,
        suppressed: activity < SUPPRESSED_BELOW && (facts.markers >= 2 || cn),
        moved_from: (ptime_ms != measured).then_some(measured),
    }
}

/// A stream's flow.
pub(crate) fn flow(r: &RtpStreamRow) -> Flow {
    (r.src, r.src_port, r.dst, r.dst_port)
}

type Endpoint = (IpAddr, u16);
type Tuple = (IpAddr, u16, IpAddr, u16, u32);

/// Groups the report's streams into calls: each SIP dialog that was answered is one call with
/// its streams; every other stream joins the streams between the same two endpoints (its
/// other direction, or the same direction under another SSRC).
pub(crate) fn calls(report: &ReplayReport, sides: &Sides) -> Calls {
    let rows = &report.rtp_streams;
    let index: HashMap<Tuple, usize> =
        rows.iter().enumerate().map(|(i, r)| ((r.src, r.src_port, r.dst, r.dst_port, r.ssrc), i)).collect();
    let mut kinds: Vec<Option<Kind>> = vec![None; rows.len()];
    let mut calls = Vec::new();
    for c in &report.sip.calls {
        let answered = matches!(c.state, CallState::InCall | CallState::Completed);
        let streams: Vec<usize> = c
            .streams
            .iter()
            .filter_map(|s| index.get(&(s.src, s.src_port, s.dst, s.dst_port, s.ssrc)).copied())
            .filter(|&i| kinds[i].is_none())
            .collect();
        if !answered || streams.is_empty() {
            continue;
        }
        let sdp: Vec<PayloadRow> = c.media.iter().flat_map(|m| m.payload_types.iter().cloned()).collect();
        for &i in &streams {
            kinds[i] = Some(kind_of(&rows[i], &sdp));
        }
        let first = streams.iter().map(|&i| rows[i].first_ns).min().expect("at least one");
        let last = streams.iter().map(|&i| rows[i].last_ns).max().expect("at least one");
        let address = |kind: &str| c.media.iter().find(|m| m.sdp == kind).and_then(|m| m.address);
        let caller = address("offer").and_then(|a| sides.side(a, address("answer")));
        calls.push(Call {
            start_ns: c.answer_ns.unwrap_or(first).min(first),
            end_ns: c.end_ns.filter(|_| c.state == CallState::Completed).unwrap_or(last).max(last),
            caller,
            sip: true,
            open: c.state == CallState::InCall,
            ..summary(&streams, rows, &kinds)
        });
    }
    // The rest, by the pair of endpoints.
    let mut pairs: HashMap<(Endpoint, Endpoint), Vec<usize>> = HashMap::new();
    let mut order = Vec::new();
    for (i, r) in rows.iter().enumerate() {
        if kinds[i].is_some() {
            continue;
        }
        kinds[i] = Some(kind_of(r, &[]));
        let (a, b) = ((r.src, r.src_port), (r.dst, r.dst_port));
        let key = if a <= b { (a, b) } else { (b, a) };
        let e = pairs.entry(key).or_default();
        if e.is_empty() {
            order.push(key);
        }
        e.push(i);
    }
    for key in order {
        let streams = pairs.remove(&key).expect("listed");
        let first = streams.iter().map(|&i| rows[i].first_ns).min().expect("at least one");
        let last = streams.iter().map(|&i| rows[i].last_ns).max().expect("at least one");
        calls.push(Call { start_ns: first, end_ns: last, caller: None, sip: false, ..summary(&streams, rows, &kinds) });
    }
    let kinds: Vec<Kind> = kinds.into_iter().map(|k| k.expect("every stream has a kind")).collect();
    Calls { audio: vec![None; kinds.len()], kinds, calls }
}

/// A call's flags from its streams (times and caller filled in by the caller).
fn summary(streams: &[usize], rows: &[RtpStreamRow], kinds: &[Option<Kind>]) -> Call {
    Call {
        streams: streams.to_vec(),
        start_ns: 0,
        end_ns: 0,
        known: streams.iter().any(|&i| matches!(kinds[i], Some(Kind::Audio { .. }))),
        class: None,
        ptime_moved: None,
        comfort_noise: streams.iter().any(|&i| rows[i].payload_types.iter().any(|pt| PT_CN.contains(pt))),
        dtmf: streams.iter().any(|&i| matches!(kinds[i], Some(Kind::Events)) || rows[i].payload_types.contains(&101)),
        caller: None,
        sip: false,
        open: false,
    }
}

impl Calls {
    /// Each audio stream's packet time and silence suppression from `facts` (streams the load
    /// pass did not see, outside the window, get none), and each call's class: its busiest
    /// audio stream's codec and packet time, suppressed when any of its streams is.
    pub(crate) fn classify(&mut self, rows: &[RtpStreamRow], facts: &HashMap<(Flow, u32), Facts>) {
        let none = Facts::default();
        for (i, k) in self.kinds.iter().enumerate() {
            if let Kind::Audio { codec, pt } = *k {
                let f = facts.get(&(flow(&rows[i]), rows[i].ssrc)).unwrap_or(&none);
                self.audio[i] = Some(audio_of(&rows[i], codec, pt, f));
            }
        }
        for c in &mut self.calls {
            let busiest =
                c.streams.iter().filter_map(|&i| self.audio[i].map(|a| (rows[i].packets, a))).max_by_key(|a| a.0);
            let suppressed = c.streams.iter().any(|&i| self.audio[i].is_some_and(|a| a.suppressed));
            c.class = busiest.map(|(_, a)| ClassKey {
                codec: a.codec,
                ptime_ms: a.ptime_ms,
                silence_suppression: suppressed,
            });
            c.ptime_moved = busiest.and_then(|(_, a)| a.moved_from.map(|m| (m, a.ptime_ms)));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A stream of `packets` packets over `span_ms`, of payload type `pt` (and `more`).
    fn row(pt: u8, more: &[u8], packets: u64, span_ms: u64) -> RtpStreamRow {
        RtpStreamRow {
            src: "192.0.2.1".parse().unwrap(),
            src_port: 10_000,
            dst: "192.0.2.2".parse().unwrap(),
            dst_port: 20_000,
            ssrc: 1,
            payload_type: pt,
            payload_types: std::iter::once(pt).chain(more.iter().copied()).collect(),
            clock_rate: None,
            packets,
            lost: 0,
            expected: packets,
            seq_errors: 0,
            duplicates: 0,
            reordered: 0,
            min_delta_ms: None,
            mean_delta_ms: 20.0,
            max_delta_ms: 20.0,
            min_jitter_ms: None,
            max_jitter_ms: None,
            mean_jitter_ms: None,
            delay_ms: None,
            mos: None,
            rtcp: None,
            jitter_series_ms: Vec::new(),
            first_ns: 0,
            last_ns: span_ms * 1_000_000,
        }
    }

    /// The audio of `r`, whose packets showed `markers`, `bytes` of payload and `ts_step`.
    fn audio(r: &RtpStreamRow, markers: u64, bytes: u16, ts_step: u32) -> Audio {
        let Kind::Audio { codec, pt } = kind_of(r, &[]) else { panic!("{r:?} is audio") };
        audio_of(r, codec, pt, &Facts::of(markers, bytes, ts_step))
    }

    #[test]
    fn the_packet_time_comes_from_the_timestamps_then_the_payload_size() {
        // G.729 at 40 ms: 320 timestamp units a packet; no step: 40 bytes of payload.
        let a = audio(&row(18, &[], 100, 3960), 1, 40, 320);
        assert_eq!((a.codec, a.ptime_ms, a.suppressed), (Codec::G729, 40, false));
        let a = audio(&row(18, &[], 100, 3960), 1, 40, 0);
        assert_eq!((a.codec, a.ptime_ms), (Codec::G729, 40));
        // A 25 ms packet time (200 units) is not one G.711 has here: the nearest, said.
        let a = audio(&row(0, &[], 100, 2475), 1, 200, 200);
        assert_eq!((a.ptime_ms, a.moved_from), (20, Some(25)));
    }

    #[test]
    fn silence_suppression_needs_gaps_and_talkspurts() {
        // 100 packets over 10 s at 20 ms: 20 % of the slots, with 12 talkspurts.
        assert!(audio(&row(0, &[], 100, 9980), 12, 160, 160).suppressed);
        // The same gaps with one marker: a stream that stalled, not one that paused.
        assert!(!audio(&row(0, &[], 100, 9980), 1, 160, 160).suppressed);
        // Comfort noise fills pauses: suppression without markers.
        assert!(audio(&row(8, &[13], 100, 9980), 0, 160, 160).suppressed);
        // Every slot sent: not suppressed whatever the markers.
        assert!(!audio(&row(0, &[], 500, 9980), 9, 160, 160).suppressed);
    }

    #[test]
    fn payload_types_without_a_codec_are_named_not_guessed() {
        let gsm = kind_of(&row(3, &[], 50, 980), &[]);
        assert_eq!(gsm, Kind::Unknown { payload_type: 3, name: None });
        // A dynamic type is a codec only when the SDP names one.
        assert!(matches!(kind_of(&row(111, &[], 50, 980), &[]), Kind::Unknown { payload_type: 111, .. }));
        let sdp = [PayloadRow { pt: 111, name: Some("opus".into()), clock_rate: Some(48_000) }];
        assert_eq!(kind_of(&row(111, &[], 50, 980), &sdp), Kind::Audio { codec: Codec::Opus, pt: 111 });
        let Kind::Audio { codec, pt } = kind_of(&row(111, &[], 50, 980), &sdp) else { unreachable!() };
        assert_eq!(audio_of(&row(111, &[], 50, 980), codec, pt, &Facts::of(1, 80, 960)).ptime_ms, 20);
        // RFC 4733 events alone, by number or by the SDP's name.
        assert_eq!(kind_of(&row(101, &[], 10, 140), &[]), Kind::Events);
        let sdp = [PayloadRow { pt: 96, name: Some("telephone-event".into()), clock_rate: Some(8000) }];
        assert_eq!(kind_of(&row(96, &[], 10, 140), &sdp), Kind::Events);
        // Audio that carries events is audio.
        assert_eq!(kind_of(&row(0, &[101], 500, 9980), &[]), Kind::Audio { codec: Codec::G711U, pt: 0 });
    }
}
