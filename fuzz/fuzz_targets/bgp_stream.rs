//! BGP bytes from a peer: framed by `MessageReader` and decoded under every session context
//! (2-octet, 4-octet, unknown AS width), then fed to a session in OpenSent and Established, as a
//! misbehaving peer would. Nothing may panic; every decoded message must re-encode and decode
//! to the same value, and decoding into one reused buffer gives what a fresh decode gives. In
//! Established the session is a provider-side `Peer` with a small
//! max-prefix limit: its Adj-RIB-In must hold exactly what it reported accepted and not
//! withdrawn, never more than the limit, and nothing once the session is down.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::collections::BTreeSet;

use xconnect_bgp::fsm::{Event, SessionConfig, State};
use xconnect_bgp::peer::{Peer, PeerAction};
use xconnect_bgp::policy::ImportPolicy;
use xconnect_bgp::wire::{AsWidth, Capability, DecodeCtx, Message, MessageReader, Open, Update, UpdateBuffer};
use xconnect_time::Nanos;

fuzz_target!(|data: &[u8]| {
    let (ctx_byte, bytes) = data.split_first().unwrap_or((&0, &[]));
    let width = match ctx_byte % 3 {
        0 => AsWidth::Two,
        1 => AsWidth::Four,
        _ => AsWidth::Guess,
    };
    let ctx = DecodeCtx { as_width: width };
    let mut r = MessageReader::default();
    r.push(bytes);
    // One buffer reused across the whole stream (errors included) decodes each message as a
    // fresh decode does: nothing of an earlier message leaks into a later one.
    let mut reused = UpdateBuffer::default();
    while let Ok(Some(m)) = r.next_message() {
        let fresh = Message::decode(m, ctx);
        match Message::decode_reusing(m, ctx, &mut reused) {
            Ok(None) => assert_eq!(fresh.as_ref().ok(), Some(&Message::Update(reused.update().clone()))),
            Ok(Some(other)) => assert_eq!(fresh.as_ref().ok(), Some(&other)),
            Err(e) => assert_eq!(fresh.as_ref().err().map(|f| (f.code, f.subcode)), Some((e.code, e.subcode))),
        }
        if let Ok(msg) = fresh {
            let four = width == AsWidth::Four;
            if let Message::Update(u) = &msg {
                // Only well-formed UPDATEs whose ASNs fit the width round-trip exactly.
                if !u.issues.is_empty() || !four {
                    continue;
                }
            }
            let again = Message::decode(&msg.encode(four), ctx).expect("re-encoded message decodes");
            assert_eq!(again, msg);
        }
    }
    // The same bytes into a session: after a valid OPEN and KEEPALIVE (Established), and raw
    // (OpenSent).
    let cfg = SessionConfig { passive: true, ..SessionConfig::new(65000, 64512, "10.0.0.1".parse().unwrap()) };
    for established in [false, true] {
        let mut s = Peer::new(cfg.clone(), ImportPolicy::provider_with_limit(64512, 3));
        let mut out = Vec::new();
        s.handle(Nanos(0), Event::ManualStart, &mut out);
        s.handle(Nanos(0), Event::TcpConnected, &mut out);
        if established {
            let open = Message::Open(Open::new(64512, 90, "10.0.0.2".parse().unwrap())).encode(true);
            s.handle(Nanos(1), Event::Data(&open), &mut out);
            s.handle(Nanos(1), Event::Data(&Message::Keepalive.encode(true)), &mut out);
        }
        out.clear();
        s.handle(Nanos(2), Event::Data(bytes), &mut out);
        let mut held = BTreeSet::new();
        for a in &out {
            match a {
                PeerAction::Accepted { prefix, .. } => {
                    held.insert(*prefix);
                }
                PeerAction::Withdrawn { prefix } => {
                    assert!(held.remove(prefix), "withdrew {prefix}, never accepted");
                }
                _ => {}
            }
        }
        let rib: BTreeSet<_> = s.adj_rib_in().iter().copied().collect();
        assert_eq!(rib, held, "the Adj-RIB-In is what was reported");
        assert!(rib.len() <= 3, "over the max-prefix limit");
        if s.state() != State::Established {
            assert!(rib.is_empty(), "routes kept after the session went down");
        }
        s.handle(Nanos(u64::MAX / 2), Event::Tick, &mut out);
        assert!(s.adj_rib_in().is_empty(), "the hold timer expired: flushed");
    }
    graceful_restart(bytes);
});

/// A neighbor that announced graceful restart: the bytes are its UPDATEs, then its connection
/// fails (its routes kept stale, nothing withdrawn), it comes back with its forwarding state
/// and sends the same bytes again, then End-of-RIB: exactly the stale routes it did not
/// announce again are withdrawn, and what it holds afterwards is what it announced the second
/// time.
fn graceful_restart(bytes: &[u8]) {
    let cfg = SessionConfig { passive: true, ..SessionConfig::new(65000, 64512, "10.0.0.1".parse().unwrap()) };
    let mut s = Peer::new(cfg, ImportPolicy::provider_with_limit(64512, 3));
    let open = {
        let mut o = Open::new(64512, 90, "10.0.0.2".parse().unwrap());
        o.capabilities.push(Capability::GracefulRestart { flags_time: 60, families: vec![0, 1, 1, 0x80] });
        Message::Open(o).encode(true)
    };
    let mut out = Vec::new();
    let up = |s: &mut Peer, at: u64, out: &mut Vec<PeerAction>| {
        s.handle(Nanos(at), Event::ManualStart, out);
        s.handle(Nanos(at), Event::TcpConnected, out);
        s.handle(Nanos(at), Event::Data(&open), out);
        s.handle(Nanos(at), Event::Data(&Message::Keepalive.encode(true)), out);
    };
    up(&mut s, 0, &mut out);
    out.clear();
    s.handle(Nanos(1), Event::Data(bytes), &mut out);
    if s.state() != State::Established {
        return;
    }
    let first: BTreeSet<_> = s.adj_rib_in().iter().copied().collect();
    out.clear();
    s.handle(Nanos(2), Event::TcpFails, &mut out);
    assert!(!out.iter().any(|a| matches!(a, PeerAction::Withdrawn { .. })), "withdrawn while restarting: {out:?}");
    assert!(s.adj_rib_in().is_empty());
    out.clear();
    up(&mut s, 3, &mut out);
    s.handle(Nanos(4), Event::Data(bytes), &mut out);
    if s.state() != State::Established {
        return;
    }
    s.handle(Nanos(5), Event::Data(&Message::Update(Update::default()).encode(true)), &mut out);
    let second: BTreeSet<_> = s.adj_rib_in().iter().copied().collect();
    let mut gone = BTreeSet::new();
    let mut again = BTreeSet::new();
    for a in &out {
        match a {
            PeerAction::Withdrawn { prefix } => {
                assert!(first.contains(prefix) || again.contains(prefix), "withdrew {prefix}, never held");
                again.remove(prefix);
                gone.insert(*prefix);
            }
            PeerAction::Accepted { prefix, .. } => {
                again.insert(*prefix);
            }
            _ => {}
        }
    }
    assert_eq!(again, second, "held after the restart: what was announced again");
    for p in first.difference(&second) {
        assert!(gone.contains(p), "{p} stale and not announced again, yet not withdrawn");
    }
}
