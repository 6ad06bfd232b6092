//! One BFD session in asynchronous mode (RFC 5880 §6.8), sans IO: it is given the time and
//! the packets received, and says what to send and when its state changed.
//!
//! Choices: no demand mode and no echo function (neither is used on a cross-connect's eBGP
//! session); no authentication. While the session is not Up it sends once a second (§6.8.3);
//! once Up, at the configured rate, with a Poll Sequence announcing the change. Every
//! transmission interval is jittered to 75–100 % (75–90 % with a multiplier of 1, §6.8.7).

use xconnect_time::{Nanos, Span};

use crate::packet::{Diag, Discard, Packet, State};

/// A session's timers as configured (`--bfd TX_MS,RX_MS,MULT`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timers {
    /// Desired Min TX Interval once Up.
    pub tx: Span,
    /// Required Min RX Interval.
    pub rx: Span,
    /// Detect Mult.
    pub mult: u8,
}

/// The slowest rate a session sends at while it is not Up (RFC 5880 §6.8.3: at least 1 s).
pub const SLOW_TX: Span = Span::from_secs(1);

impl Timers {
    /// Intervals in milliseconds, 1 to 4,294,967 (the packet carries microseconds in 32 bits),
    /// and a multiplier of 1 to 255.
    pub fn new(tx_ms: u64, rx_ms: u64, mult: u64) -> Result<Timers, String> {
        const MAX_MS: u64 = u32::MAX as u64 / 1000;
        for (name, ms) in [("transmit interval", tx_ms), ("receive interval", rx_ms)] {
            if !(1..=MAX_MS).contains(&ms) {
                return Err(format!("BFD {name} {ms} ms: expected 1 to {MAX_MS} ms (microseconds in 32 bits)"));
            }
        }
        if !(1..=255).contains(&mult) {
            return Err(format!("BFD multiplier {mult}: expected 1 to 255"));
        }
        Ok(Timers { tx: Span::from_millis(tx_ms), rx: Span::from_millis(rx_ms), mult: mult as u8 })
    }
}

/// What a session asks of its driver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Send this packet to the remote system.
    Send([u8; crate::packet::LEN]),
    /// The state changed.
    StateChange {
        /// Before.
        from: State,
        /// After.
        to: State,
        /// Why (the diagnostic we now send).
        diag: Diag,
    },
}

/// One session.
#[derive(Debug, Clone)]
pub struct Session {
    timers: Timers,
    local_disc: u32,
    remote_disc: u32,
    state: State,
    diag: Diag,
    /// The remote's Required Min RX Interval (it wants packets no faster).
    remote_min_rx: Span,
    /// The remote's Desired Min TX Interval and Detect Mult (our detection time).
    remote_tx: Span,
    remote_mult: u8,
    /// Our Desired Min TX Interval as last announced.
    announced_tx: Span,
    /// Sending Poll until a Final arrives.
    polling: bool,
    next_tx: Nanos,
    /// When the remote is declared gone unless a packet arrives.
    detect_at: Option<Nanos>,
    /// Jitter source (xorshift; seeded by the discriminator, so a run is reproducible).
    rng: u64,
}

impl Session {
    /// A session in Down, sending its first packet at once. `local_disc` must be unique among
    /// the system's sessions and not 0.
    pub fn new(timers: Timers, local_disc: u32, now: Nanos) -> Session {
        assert_ne!(local_disc, 0, "a BFD discriminator is never 0");
        Session {
            timers,
            local_disc,
            remote_disc: 0,
            state: State::Down,
            diag: Diag::None,
            remote_min_rx: Span::from_millis(1),
            remote_tx: SLOW_TX,
            remote_mult: 1,
            announced_tx: SLOW_TX.max(timers.tx),
            polling: false,
            next_tx: now,
            detect_at: None,
            rng: u64::from(local_disc) | 1 << 40,
        }
    }

    /// The state.
    pub fn state(&self) -> State {
        self.state
    }

    /// The detection time: how long without a packet before the remote is declared gone
    /// (its multiplier times the slower of what we accept and what it sends at).
    pub fn detection_time(&self) -> Span {
        self.timers.rx.max(self.remote_tx) * u64::from(self.remote_mult)
    }

    /// When [`Session::tick`] must be called next.
    pub fn next_deadline(&self) -> Nanos {
        match self.detect_at {
            Some(d) if self.state != State::AdminDown => d.min(self.next_tx),
            _ => self.next_tx,
        }
    }

    /// A packet from the remote system.
    pub fn receive(&mut self, now: Nanos, bytes: &[u8], out: &mut Vec<Action>) -> Result<(), Discard> {
        let p = Packet::decode(bytes)?;
        if p.your_disc != 0 && p.your_disc != self.local_disc {
            return Err(Discard::WrongDiscriminator(p.your_disc));
        }
        if self.state == State::AdminDown {
            return Err(Discard::AdminDown);
        }
        self.remote_disc = p.my_disc;
        self.remote_min_rx = Span(u64::from(p.required_min_rx_us) * 1000);
        self.remote_tx = Span(u64::from(p.desired_min_tx_us) * 1000);
        self.remote_mult = p.detect_mult;
        if p.final_ {
            self.polling = false;
        }
        self.detect_at = Some(now + self.detection_time());
        match (self.state, p.state) {
            (State::Down, State::AdminDown) => {}
            (_, State::AdminDown) => self.change(State::Down, Diag::NeighborDown, now, out),
            (State::Down, State::Down) => self.change(State::Init, Diag::None, now, out),
            (State::Down, State::Init) | (State::Init, State::Init | State::Up) => {
                self.change(State::Up, Diag::None, now, out)
            }
            (State::Up, State::Down) => self.change(State::Down, Diag::NeighborDown, now, out),
            _ => {}
        }
        if p.poll {
            // The answer to a Poll goes at once (§6.8.6), with Final and without Poll.
            out.push(Action::Send(self.packet(true).encode()));
        }
        Ok(())
    }

    /// Time passed: sends when due, declares the remote gone after the detection time.
    pub fn tick(&mut self, now: Nanos, out: &mut Vec<Action>) {
        if self.detect_at.is_some_and(|d| now >= d) {
            self.detect_at = None;
            self.remote_disc = 0;
            if matches!(self.state, State::Init | State::Up) {
                self.change(State::Down, Diag::DetectionTimeExpired, now, out);
            }
        }
        if now >= self.next_tx {
            // A remote that requires no packets (Required Min RX 0) gets none periodically
            // (RFC 5880 §6.8.7); Finals still answer its Polls.
            if self.remote_min_rx != Span::ZERO {
                out.push(Action::Send(self.packet(false).encode()));
            }
            self.next_tx = now + self.interval();
        }
    }

    /// Holds the session down (our side stops it): the remote is told with AdminDown.
    pub fn admin_down(&mut self, now: Nanos, out: &mut Vec<Action>) {
        if self.state != State::AdminDown {
            self.change(State::AdminDown, Diag::AdminDown, now, out);
            out.push(Action::Send(self.packet(false).encode()));
        }
    }

    fn change(&mut self, to: State, diag: Diag, now: Nanos, out: &mut Vec<Action>) {
        let from = self.state;
        self.state = to;
        if diag != Diag::None || to == State::Up {
            self.diag = diag;
        }
        out.push(Action::StateChange { from, to, diag });
        // The rate we send at: configured once Up, at most once a second otherwise; the
        // remote learns of the change by a Poll Sequence.
        let tx = if to == State::Up { self.timers.tx } else { SLOW_TX.max(self.timers.tx) };
        if tx != self.announced_tx {
            self.announced_tx = tx;
            self.polling = to != State::AdminDown;
            if tx < self.next_tx.since(now) {
                self.next_tx = now;
            }
        }
    }

    fn packet(&self, final_: bool) -> Packet {
        let us = |s: Span| u32::try_from(s.0 / 1000).unwrap_or(u32::MAX);
        Packet {
            diag: self.diag,
            state: self.state,
            poll: self.polling && !final_,
            final_,
            demand: false,
            detect_mult: self.timers.mult,
            my_disc: self.local_disc,
            your_disc: self.remote_disc,
            desired_min_tx_us: us(self.announced_tx),
            required_min_rx_us: us(self.timers.rx),
        }
    }

    /// The next transmission interval: the slower of ours and what the remote accepts,
    /// jittered.
    fn interval(&mut self) -> Span {
        let base = self.announced_tx.max(self.remote_min_rx);
        debug_assert!(base >= Span::from_millis(1), "timers are at least 1 ms");
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 7;
        self.rng ^= self.rng << 17;
        let top = if self.timers.mult == 1 { 90 } else { 100 };
        let percent = 75 + self.rng % (top - 75 + 1);
        Span(base.0 / 100 * percent)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: u64 = 1_000_000;

    fn timers() -> Timers {
        Timers::new(100, 100, 3).unwrap()
    }

    /// A neighbor's packet: discriminator 9, detect multiplier 3, 1 s intervals unless changed
    /// with struct update syntax.
    fn from_neighbor(state: State, your_disc: u32) -> Packet {
        Packet {
            diag: Diag::None,
            state,
            poll: false,
            final_: false,
            demand: false,
            detect_mult: 3,
            my_disc: 9,
            your_disc,
            desired_min_tx_us: 1_000_000,
            required_min_rx_us: 1_000_000,
        }
    }

    fn sent(out: &[Action]) -> Vec<Packet> {
        out.iter()
            .filter_map(|a| match a {
                Action::Send(b) => Some(Packet::decode(b).unwrap()),
                _ => None,
            })
            .collect()
    }

    fn changes(out: &[Action]) -> Vec<(State, State, Diag)> {
        out.iter()
            .filter_map(|a| match a {
                Action::StateChange { from, to, diag } => Some((*from, *to, *diag)),
                _ => None,
            })
            .collect()
    }

    /// Two sessions wired to each other, stepped 1 ms at a time; `cut` stops b's packets from
    /// that time on. Packets are delivered at once, answers to them too.
    fn run(a: &mut Session, b: &mut Session, from: u64, to: u64, cut: Option<u64>, log: &mut Vec<(u64, char, Action)>) {
        for ms in from..to {
            let now = Nanos(ms * MS);
            let (mut oa, mut ob) = (Vec::new(), Vec::new());
            a.tick(now, &mut oa);
            b.tick(now, &mut ob);
            let (mut done_a, mut done_b) = (0, 0);
            while done_a < oa.len() || done_b < ob.len() {
                while done_a < oa.len() {
                    if let Action::Send(p) = oa[done_a] {
                        b.receive(now, &p, &mut ob).unwrap();
                    }
                    done_a += 1;
                }
                while done_b < ob.len() {
                    if let Action::Send(p) = ob[done_b] {
                        if cut.is_none_or(|c| ms < c) {
                            a.receive(now, &p, &mut oa).unwrap();
                        }
                    }
                    done_b += 1;
                }
            }
            log.extend(oa.into_iter().map(|x| (ms, 'a', x)));
            log.extend(ob.into_iter().map(|x| (ms, 'b', x)));
        }
    }

    #[test]
    fn timers_are_checked() {
        assert!(Timers::new(0, 100, 3).unwrap_err().contains("transmit interval 0 ms"));
        assert!(Timers::new(100, 4_294_968, 3).unwrap_err().contains("receive interval 4294968 ms"));
        assert!(Timers::new(100, 100, 0).unwrap_err().contains("multiplier 0"));
        assert!(Timers::new(100, 100, 256).is_err());
        assert!(Timers::new(4_294_967, 1, 255).is_ok());
    }

    #[test]
    fn two_sessions_come_up_then_one_detects_the_other_gone_within_the_detection_time() {
        let (mut a, mut b) = (Session::new(timers(), 1, Nanos(0)), Session::new(timers(), 2, Nanos(0)));
        let mut log = Vec::new();
        run(&mut a, &mut b, 0, 3000, None, &mut log);
        assert_eq!((a.state(), b.state()), (State::Up, State::Up));
        let a_changes: Vec<_> =
            log.iter().filter(|(_, w, _)| *w == 'a').flat_map(|(_, _, x)| changes(std::slice::from_ref(x))).collect();
        assert_eq!(
            a_changes,
            [(State::Down, State::Init, Diag::None), (State::Init, State::Up, Diag::None)],
            "Down -> Init -> Up"
        );
        // Once Up, a sends every 75-100 ms, and the remote's detection time is 3 x 100 ms.
        let times: Vec<u64> = log
            .iter()
            .filter(|(ms, w, x)| *w == 'a' && *ms >= 2000 && matches!(x, Action::Send(_)))
            .map(|(ms, _, _)| *ms)
            .collect();
        let gaps: Vec<u64> = times.windows(2).map(|w| w[1] - w[0]).filter(|g| *g > 0).collect();
        assert!(gaps.iter().all(|g| (75..=100).contains(g)), "{gaps:?}");
        assert_eq!(a.detection_time(), Span(300 * MS));
        // b falls silent at 3000 ms: a declares it gone between 3000 + 300 - 100 and 3000 + 300
        // ms (its last packet arrived at most one interval before the cut).
        let mut log = Vec::new();
        run(&mut a, &mut b, 3000, 4000, Some(3000), &mut log);
        let down: Vec<_> = log
            .iter()
            .filter(|(_, w, x)| *w == 'a' && matches!(x, Action::StateChange { to: State::Down, .. }))
            .collect();
        assert_eq!(down.len(), 1, "{down:?}");
        let (ms, _, x) = down[0];
        assert!((3200..=3300).contains(ms), "down at {ms} ms");
        assert_eq!(*x, Action::StateChange { from: State::Up, to: State::Down, diag: Diag::DetectionTimeExpired });
        // a sends Down with its diagnostic, once a second now.
        let after: Vec<Packet> =
            sent(&log.iter().filter(|(m, w, _)| *w == 'a' && m > ms).map(|(_, _, x)| x.clone()).collect::<Vec<_>>());
        assert!(after.iter().all(|p| p.state == State::Down && p.diag == Diag::DetectionTimeExpired), "{after:?}");
        assert!(after.len() <= 2, "slow rate while down: {}", after.len());
    }

    #[test]
    fn a_neighbor_going_admin_down_brings_us_down_with_its_diagnostic() {
        let (mut a, mut b) = (Session::new(timers(), 1, Nanos(0)), Session::new(timers(), 2, Nanos(0)));
        let mut log = Vec::new();
        run(&mut a, &mut b, 0, 3000, None, &mut log);
        let mut out = Vec::new();
        b.admin_down(Nanos(3000 * MS), &mut out);
        let Action::Send(p) = out.last().unwrap().clone() else { panic!() };
        let mut oa = Vec::new();
        a.receive(Nanos(3000 * MS), &p, &mut oa).unwrap();
        assert_eq!(changes(&oa), [(State::Up, State::Down, Diag::NeighborDown)]);
        // b, held down, ignores what a sends.
        let mut oa = Vec::new();
        a.tick(Nanos(5000 * MS), &mut oa);
        let Action::Send(p) = oa[0] else { panic!() };
        assert_eq!(b.receive(Nanos(5000 * MS), &p, &mut out), Err(Discard::AdminDown));
    }

    #[test]
    fn a_remote_that_requires_no_packets_gets_none_but_its_polls_answered() {
        let mut a = Session::new(timers(), 1, Nanos(0));
        let quiet = Packet { required_min_rx_us: 0, ..from_neighbor(State::Down, 0) };
        let mut out = Vec::new();
        a.receive(Nanos(0), &quiet.encode(), &mut out).unwrap();
        out.clear();
        for ms in 1..5000 {
            a.tick(Nanos(ms * MS), &mut out);
        }
        assert!(sent(&out).is_empty(), "{out:?}");
        a.receive(Nanos(5000 * MS), &Packet { poll: true, ..quiet }.encode(), &mut out).unwrap();
        let answers = sent(&out);
        assert_eq!(answers.len(), 1);
        assert!(answers[0].final_ && !answers[0].poll);
    }

    #[test]
    fn a_packet_for_another_session_is_discarded() {
        let mut a = Session::new(timers(), 1, Nanos(0));
        let p = from_neighbor(State::Init, 2);
        assert_eq!(a.receive(Nanos(0), &p.encode(), &mut Vec::new()), Err(Discard::WrongDiscriminator(2)));
        assert_eq!(a.state(), State::Down);
    }
}
