//! BFD packets from a neighbor, as a misbehaving one would send them: each 24-byte slice of the
//! input, at times from the input, into a session. Nothing may panic; a packet is either used
//! or discarded with a reason; the session only moves as RFC 5880 §6.8.6 allows (Down → Init
//! → Up, or to Down) and always has a deadline ahead.
#![no_main]

use libfuzzer_sys::fuzz_target;
use xconnect_bfd::{Action, Session, State, Timers};
use xconnect_time::Nanos;

fuzz_target!(|data: &[u8]| {
    let timers = Timers::new(50, 50, 3).unwrap();
    let mut s = Session::new(timers, 1, Nanos(0));
    let mut now = 0u64;
    let mut out = Vec::new();
    for chunk in data.chunks(25) {
        let (step, packet) = chunk.split_first().unwrap_or((&0, &[]));
        now += u64::from(*step) * 10_000_000;
        s.tick(Nanos(now), &mut out);
        let _ = s.receive(Nanos(now), packet, &mut out);
        for a in out.drain(..) {
            if let Action::StateChange { from, to, .. } = a {
                let allowed = matches!(
                    (from, to),
                    (State::Down, State::Init)
                        | (State::Down, State::Up)
                        | (State::Init, State::Up)
                        | (State::Init | State::Up, State::Down)
                );
                assert!(allowed, "{from} -> {to}");
            }
        }
        assert!(s.next_deadline().0 >= now, "a deadline in the past");
    }
});
