//! The BGP session as a sans-IO state machine (RFC 4271 §8): feed it events and the current
//! time, carry out the actions it returns. The TCP driver ([`crate::speaker`]) and the
//! simulator's virtual-time engine drive the same code.
//!
//! Timers are deadlines in [`Nanos`]; [`Session::next_deadline`] tells the driver when to call
//! back with [`Event::Tick`] at the latest. Choices where RFC 4271 leaves room:
//! - Automatic restart: after an error the session waits in Idle, then starts again (the RFC's
//!   optional IdleHoldTimer with AutomaticStart). The wait is `connect_retry` after the first
//!   error and doubles with each error in a row up to `idle_hold_max` (§8.1.1
//!   DampPeerOscillations; BIRD's `error wait time` works the same way); a session that stayed
//!   Established for `idle_hold_max` has its errors forgotten. [`Session::hold_in_idle`] keeps
//!   it down until a given time or a manual start (after max-prefix).
//! - The hold timer in OpenSent (the RFC suggests "a large value", 4 minutes) is the configured
//!   hold time when that is non-zero, so a half-open peer that never sends an OPEN is dropped
//!   with Hold Timer Expired after one hold time.
//! - Connection collisions (§6.8) involve two connections, so the driver resolves them with
//!   [`keep_connection_initiated_by_higher_id`] and runs one `Session` per connection.

use std::fmt;
use std::net::Ipv4Addr;

use xconnect_time::{Nanos, Span};

use crate::special::AsnClass;
use crate::wire::{
    error_code, AsWidth, Cease, DecodeCtx, DecodeError, Message, MessageReader, Notification, Open, Update,
};

/// RFC 4271 §8.2.2 states.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum State {
    /// Refuses connections; waits for a start event.
    Idle,
    /// Waiting for the outgoing TCP connection.
    Connect,
    /// Waiting for the peer to connect.
    Active,
    /// OPEN sent, waiting for the peer's OPEN.
    OpenSent,
    /// OPENs exchanged, waiting for KEEPALIVE.
    OpenConfirm,
    /// Exchanging UPDATEs.
    Established,
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

/// Session configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionConfig {
    /// Our ASN.
    pub local_asn: u32,
    /// The peer's ASN (RFC 4271 §6.2: a different one in its OPEN is Bad Peer AS).
    pub peer_asn: u32,
    /// Our BGP identifier.
    pub router_id: Ipv4Addr,
    /// Proposed hold time in seconds (0 or at least 3).
    pub hold_time: u16,
    /// ConnectRetry time, also the wait in Idle before an automatic restart.
    pub connect_retry: Span,
    /// Wait for the peer to connect instead of connecting (RFC 4271 PassiveTcpEstablishment).
    pub passive: bool,
    /// The longest wait in Idle after errors in a row.
    pub idle_hold_max: Span,
}

impl SessionConfig {
    /// Defaults: hold 90 s, ConnectRetry 5 s (RFC 4271 suggests 120 s; a lab tool retries
    /// sooner), active, at most 300 s in Idle after errors in a row.
    pub fn new(local_asn: u32, peer_asn: u32, router_id: Ipv4Addr) -> Self {
        SessionConfig {
            local_asn,
            peer_asn,
            router_id,
            hold_time: 90,
            connect_retry: Span::from_secs(5),
            passive: false,
            idle_hold_max: Span::from_secs(300),
        }
    }
}

/// Input events, named after RFC 4271 §8.1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event<'a> {
    /// Event 1 ManualStart (Event 5 ManualStart_with_PassiveTcpEstablishment when passive).
    ManualStart,
    /// Event 2 ManualStop: Cease / Administrative Shutdown.
    ManualStop,
    /// Events 16/17 Tcp_CR_Acked / TcpConnectionConfirmed: a connection is up (ours or theirs).
    TcpConnected,
    /// Event 18 TcpConnectionFails: connect failed or the connection closed.
    TcpFails,
    /// Bytes received on the connection (Events 19-28 once framed and decoded).
    Data(&'a [u8]),
    /// Only time passes (timer Events 9-11 fire from here).
    Tick,
}

/// What the driver must do, and what happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Open a TCP connection to the peer.
    Connect,
    /// Send these bytes.
    Send(Vec<u8>),
    /// Close the TCP connection.
    Disconnect,
    /// The state changed.
    StateChange {
        /// Old state.
        from: State,
        /// New state.
        to: State,
    },
    /// The peer's OPEN was accepted.
    OpenReceived(Open),
    /// An UPDATE arrived in Established.
    Update(Update),
    /// The peer asked for our routes again (RFC 2918).
    RouteRefresh,
    /// We sent a NOTIFICATION, for this reason.
    NotificationSent(Notification, String),
    /// The peer sent a NOTIFICATION.
    NotificationReceived(Notification),
}

/// One BGP session over one transport connection.
#[derive(Debug)]
pub struct Session {
    cfg: SessionConfig,
    state: State,
    reader: MessageReader,
    connect_retry_at: Option<Nanos>,
    hold_at: Option<Nanos>,
    keepalive_at: Option<Nanos>,
    /// The negotiated hold time (zero: no hold timer, no keepalives).
    hold: Span,
    peer_open: Option<Open>,
    /// Errors in a row: each doubles the wait in Idle.
    failures: u32,
    /// When the session last reached Established.
    established_at: Option<Nanos>,
}

/// RFC 4271 §6.8: of two connections between the same speakers, keep the one initiated by the
/// speaker with the higher BGP identifier. Returns whether the connection `we_initiated` is kept.
pub fn keep_connection_initiated_by_higher_id(local_id: Ipv4Addr, remote_id: Ipv4Addr, we_initiated: bool) -> bool {
    (local_id > remote_id) == we_initiated
}

impl Session {
    /// A session in Idle.
    pub fn new(cfg: SessionConfig) -> Self {
        Session {
            cfg,
            state: State::Idle,
            reader: MessageReader::default(),
            connect_retry_at: None,
            hold_at: None,
            keepalive_at: None,
            hold: Span::ZERO,
            peer_open: None,
            failures: 0,
            established_at: None,
        }
    }

    /// Current state.
    pub fn state(&self) -> State {
        self.state
    }

    /// The configuration.
    pub fn config(&self) -> &SessionConfig {
        &self.cfg
    }

    /// The peer's OPEN once received.
    pub fn peer_open(&self) -> Option<&Open> {
        self.peer_open.as_ref()
    }

    /// Negotiated hold time (0 until OpenConfirm, or when both sides asked for none).
    pub fn hold_time(&self) -> Span {
        self.hold
    }

    /// How the peer's messages are read: we always offer 4-octet ASNs, so the peer's OPEN
    /// decides (RFC 6793); before it, the width is not known.
    fn ctx(&self) -> DecodeCtx {
        let as_width = match &self.peer_open {
            Some(o) if o.four_octet() => AsWidth::Four,
            Some(_) => AsWidth::Two,
            None => AsWidth::Guess,
        };
        DecodeCtx { as_width }
    }

    /// Whether both sides use 4-octet ASNs.
    pub fn four_octet(&self) -> bool {
        self.ctx().as_width == AsWidth::Four
    }

    /// The earliest armed timer.
    pub fn next_deadline(&self) -> Option<Nanos> {
        [self.connect_retry_at, self.hold_at, self.keepalive_at].into_iter().flatten().min()
    }

    fn go(&mut self, to: State, out: &mut Vec<Action>) {
        if self.state != to {
            out.push(Action::StateChange { from: self.state, to });
            self.state = to;
        }
    }

    fn send(&self, m: &Message, out: &mut Vec<Action>) {
        out.push(Action::Send(m.encode(self.four_octet())));
    }

    /// Back to Idle after an error: drop the connection and all timers, restart later.
    fn reset(&mut self, now: Nanos, out: &mut Vec<Action>) {
        out.push(Action::Disconnect);
        self.reader = MessageReader::default();
        self.hold_at = None;
        self.keepalive_at = None;
        self.hold = Span::ZERO;
        self.peer_open = None;
        let max = self.cfg.idle_hold_max.max(self.cfg.connect_retry);
        if self.established_at.take().is_some_and(|t| now.since(t) >= max) {
            self.failures = 0;
        }
        self.failures = self.failures.saturating_add(1);
        self.connect_retry_at = Some(now + self.idle_hold());
        self.go(State::Idle, out);
    }

    /// The wait in Idle after the errors so far: ConnectRetry, doubled per error in a row, at
    /// most `idle_hold_max`.
    pub fn idle_hold(&self) -> Span {
        let max = self.cfg.idle_hold_max.max(self.cfg.connect_retry);
        let doublings = self.failures.saturating_sub(1).min(40);
        Span(self.cfg.connect_retry.0.saturating_mul(1u64 << doublings)).min(max)
    }

    /// In Idle, stays there until `until` (`None`: until [`Event::ManualStart`]) instead of
    /// restarting by itself.
    pub fn hold_in_idle(&mut self, until: Option<Nanos>) {
        if self.state == State::Idle {
            self.connect_retry_at = until;
        }
    }

    /// Sends `n` (when a connection is up), closes, and goes to Idle.
    pub fn notify_and_reset(&mut self, now: Nanos, n: Notification, reason: String, out: &mut Vec<Action>) {
        if matches!(self.state, State::OpenSent | State::OpenConfirm | State::Established) {
            self.send(&Message::Notification(n.clone()), out);
            out.push(Action::NotificationSent(n, reason));
        }
        self.reset(now, out);
    }

    /// Sends an UPDATE if Established; returns whether it was sent.
    pub fn send_update(&mut self, now: Nanos, u: &Update, out: &mut Vec<Action>) -> bool {
        if self.state != State::Established {
            return false;
        }
        let mut msgs = Vec::new();
        Update::encode_split(&u.attrs, &u.nlri, &u.withdrawn, self.four_octet(), &mut msgs);
        out.extend(msgs.into_iter().map(Action::Send));
        self.restart_keepalive(now);
        true
    }

    /// Sends End-of-RIB for IPv4 unicast (an UPDATE with nothing in it, RFC 4724 §2) if
    /// Established; returns whether it went.
    pub fn send_end_of_rib(&mut self, now: Nanos, out: &mut Vec<Action>) -> bool {
        if self.state != State::Established {
            return false;
        }
        out.push(Action::Send(Message::Update(Update::default()).encode(self.four_octet())));
        self.restart_keepalive(now);
        true
    }

    fn restart_keepalive(&mut self, now: Nanos) {
        if self.hold > Span::ZERO && self.state == State::Established {
            self.keepalive_at = Some(now + self.hold / 3);
        }
    }

    fn start_connecting(&mut self, now: Nanos, out: &mut Vec<Action>) {
        self.connect_retry_at = Some(now + self.cfg.connect_retry);
        if self.cfg.passive {
            self.go(State::Active, out);
        } else {
            out.push(Action::Connect);
            self.go(State::Connect, out);
        }
    }

    /// Handles one event at time `now` (timers due by `now` fire first).
    pub fn handle(&mut self, now: Nanos, ev: Event<'_>, out: &mut Vec<Action>) {
        self.fire_timers(now, out);
        match ev {
            Event::ManualStart => {
                if self.state == State::Idle {
                    self.start_connecting(now, out);
                }
            }
            Event::ManualStop => {
                self.notify_and_reset(
                    now,
                    Notification::cease(Cease::AdminShutdown),
                    "administrative shutdown".into(),
                    out,
                );
                self.connect_retry_at = None;
            }
            Event::TcpConnected => match self.state {
                State::Connect | State::Active => {
                    self.connect_retry_at = None;
                    self.send(
                        &Message::Open(Open::new(self.cfg.local_asn, self.cfg.hold_time, self.cfg.router_id)),
                        out,
                    );
                    let open_hold = if self.cfg.hold_time > 0 { u64::from(self.cfg.hold_time) } else { 240 };
                    self.hold_at = Some(now + Span::from_secs(open_hold));
                    self.go(State::OpenSent, out);
                }
                // Event 16/17 in any other state is an FSM error for that connection: refuse it.
                _ => out.push(Action::Disconnect),
            },
            Event::TcpFails => match self.state {
                State::Connect => {
                    self.connect_retry_at = Some(now + self.cfg.connect_retry);
                    self.go(State::Active, out);
                }
                State::OpenSent => {
                    self.reader = MessageReader::default();
                    self.hold_at = None;
                    self.connect_retry_at = Some(now + self.cfg.connect_retry);
                    self.go(State::Active, out);
                }
                State::OpenConfirm | State::Established => self.reset(now, out),
                State::Idle | State::Active => {}
            },
            Event::Data(bytes) => {
                if matches!(self.state, State::OpenSent | State::OpenConfirm | State::Established) {
                    self.reader.push(bytes);
                    self.drain_messages(now, out);
                }
            }
            Event::Tick => {}
        }
    }

    fn fire_timers(&mut self, now: Nanos, out: &mut Vec<Action>) {
        if self.hold_at.is_some_and(|t| t <= now) {
            self.hold_at = None;
            self.notify_and_reset(now, Notification::hold_timer_expired(), "hold timer expired".into(), out);
        }
        if self.keepalive_at.is_some_and(|t| t <= now) {
            self.send(&Message::Keepalive, out);
            self.keepalive_at = Some(now + self.hold / 3);
        }
        if self.connect_retry_at.is_some_and(|t| t <= now) {
            self.connect_retry_at = None;
            match self.state {
                State::Idle => self.start_connecting(now, out),
                State::Connect | State::Active => {
                    // ConnectRetryTimer_Expires (Event 9): try again.
                    out.push(Action::Disconnect);
                    self.start_connecting(now, out);
                }
                _ => {}
            }
        }
    }

    fn drain_messages(&mut self, now: Nanos, out: &mut Vec<Action>) {
        loop {
            if !matches!(self.state, State::OpenSent | State::OpenConfirm | State::Established) {
                return;
            }
            let ctx = self.ctx();
            let decoded = match self.reader.next_message() {
                Ok(None) => return,
                Ok(Some(raw)) => Message::decode(raw, ctx),
                Err(e) => Err(e),
            };
            match decoded {
                Ok(m) => self.on_message(now, m, out),
                Err(e) => {
                    let reason = e.detail.clone();
                    self.notify_and_reset(now, e.notification(), reason, out);
                    return;
                }
            }
        }
    }

    fn fsm_error(&mut self, now: Nanos, m: &Message, out: &mut Vec<Action>) {
        let sub = match self.state {
            State::OpenSent => 1,
            State::OpenConfirm => 2,
            _ => 3,
        };
        let reason = format!("{} received in {}", m.kind().name(), self.state);
        self.notify_and_reset(now, Notification::new(error_code::FSM, sub), reason, out);
    }

    fn check_open(&self, o: &Open) -> Result<(), DecodeError> {
        let asn = o.asn();
        if asn != self.cfg.peer_asn {
            return Err(DecodeError::new(
                2,
                2,
                o.my_as.to_be_bytes().to_vec(),
                format!("peer AS is {asn}, expected {}", self.cfg.peer_asn),
            ));
        }
        if AsnClass::of(asn) == crate::special::AsnClass::Reserved {
            return Err(DecodeError::new(2, 2, o.my_as.to_be_bytes().to_vec(), format!("peer AS {asn} is reserved")));
        }
        if o.router_id == self.cfg.router_id {
            return Err(DecodeError::new(2, 3, Vec::new(), format!("peer BGP identifier {} equals ours", o.router_id)));
        }
        Ok(())
    }

    fn on_message(&mut self, now: Nanos, m: Message, out: &mut Vec<Action>) {
        // Any message restarts the hold timer (RFC 4271 §8.2.2, Events 26/27).
        if self.hold > Span::ZERO {
            self.hold_at = Some(now + self.hold);
        }
        if let Message::Notification(n) = m {
            out.push(Action::NotificationReceived(n));
            self.reset(now, out);
            return;
        }
        match (self.state, m) {
            (State::OpenSent, Message::Open(o)) => {
                if let Err(e) = self.check_open(&o) {
                    let reason = e.detail.clone();
                    self.notify_and_reset(now, e.notification(), reason, out);
                    return;
                }
                let hold = self.cfg.hold_time.min(o.hold_time);
                self.hold = Span::from_secs(u64::from(hold));
                self.hold_at = (hold > 0).then(|| now + self.hold);
                self.peer_open = Some(o.clone());
                out.push(Action::OpenReceived(o));
                self.send(&Message::Keepalive, out);
                self.go(State::OpenConfirm, out);
                if self.hold > Span::ZERO {
                    self.keepalive_at = Some(now + self.hold / 3);
                }
            }
            (State::OpenConfirm, Message::Keepalive) => {
                self.established_at = Some(now);
                self.go(State::Established, out);
                self.restart_keepalive(now);
            }
            (State::Established, Message::Keepalive) => {}
            (State::Established, Message::Update(u)) => out.push(Action::Update(u)),
            (State::Established, Message::RouteRefresh { afi: 1, safi: 1 }) => out.push(Action::RouteRefresh),
            (State::Established, Message::RouteRefresh { .. }) => {}
            (_, m) => self.fsm_error(now, &m, out),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEC: u64 = 1_000_000_000;

    fn cfg(asn: u32, peer: u32, id: u8, passive: bool) -> SessionConfig {
        SessionConfig { hold_time: 9, passive, ..SessionConfig::new(asn, peer, Ipv4Addr::new(10, 0, 0, id)) }
    }

    /// Two sessions wired back to back in virtual time: delivers every Send to the other side.
    struct Pair {
        a: Session,
        b: Session,
        now: Nanos,
        log: Vec<(char, Action)>,
    }

    impl Pair {
        fn new(a: SessionConfig, b: SessionConfig) -> Self {
            Pair { a: Session::new(a), b: Session::new(b), now: Nanos(0), log: Vec::new() }
        }
        /// Delivers `ev` to `who`, then everything it causes, in FIFO order (a wire in each
        /// direction keeps order).
        fn step(&mut self, who: char, ev: Event<'_>) {
            enum Ev {
                Connected,
                Fails,
                Data(Vec<u8>),
            }
            let mut queue = std::collections::VecDeque::new();
            let mut first = Some(ev);
            loop {
                let mut out = Vec::new();
                let now = self.now;
                let (w, owned);
                if let Some(ev) = first.take() {
                    w = who;
                    match w {
                        'a' => self.a.handle(now, ev, &mut out),
                        _ => self.b.handle(now, ev, &mut out),
                    }
                } else {
                    let Some((x, e)) = queue.pop_front() else { break };
                    w = x;
                    owned = e;
                    let ev = match &owned {
                        Ev::Connected => Event::TcpConnected,
                        Ev::Fails => Event::TcpFails,
                        Ev::Data(d) => Event::Data(d),
                    };
                    match w {
                        'a' => self.a.handle(now, ev, &mut out),
                        _ => self.b.handle(now, ev, &mut out),
                    }
                }
                let other = if w == 'a' { 'b' } else { 'a' };
                for act in out {
                    match &act {
                        Action::Send(bytes) => queue.push_back((other, Ev::Data(bytes.clone()))),
                        Action::Connect => {
                            queue.push_back((other, Ev::Connected));
                            queue.push_back((w, Ev::Connected));
                        }
                        Action::Disconnect => queue.push_back((other, Ev::Fails)),
                        _ => {}
                    }
                    self.log.push((w, act));
                }
            }
        }
        fn advance_to(&mut self, t: u64) {
            while let Some(d) = [self.a.next_deadline(), self.b.next_deadline()].into_iter().flatten().min() {
                if d.0 > t {
                    break;
                }
                self.now = d;
                self.step('a', Event::Tick);
                self.step('b', Event::Tick);
            }
            self.now = Nanos(t);
        }
    }

    #[test]
    fn establishes_and_keeps_alive_then_detects_a_silent_peer() {
        let mut p = Pair::new(cfg(64512, 65000, 1, false), cfg(65000, 64512, 2, true));
        p.step('b', Event::ManualStart);
        assert_eq!(p.b.state(), State::Active);
        p.step('a', Event::ManualStart);
        assert_eq!((p.a.state(), p.b.state()), (State::Established, State::Established));
        assert_eq!(p.a.hold_time(), Span::from_secs(9));
        assert!(p.a.four_octet());
        // Keepalives every 3 s keep it up for a minute.
        p.advance_to(60 * SEC);
        assert_eq!((p.a.state(), p.b.state()), (State::Established, State::Established));
        // Now b goes silent (a fresh session in Idle ignores everything): a's hold timer fires
        // exactly 9 s after b's last keepalive.
        let last_from_b = p.b.keepalive_at.unwrap().0 - 3 * SEC;
        p.b = Session::new(cfg(65000, 64512, 2, true));
        p.advance_to(last_from_b + 9 * SEC - 1);
        assert_eq!(p.a.state(), State::Established);
        p.log.clear();
        p.advance_to(last_from_b + 9 * SEC);
        assert_eq!(p.a.state(), State::Idle);
        assert!(p
            .log
            .iter()
            .any(|(w, a)| *w == 'a' && matches!(a, Action::NotificationSent(n, _) if n.is_hold_timer_expired())));
    }

    #[test]
    fn hold_expiry_is_exactly_one_hold_time_after_the_last_message() {
        let mut a = Session::new(cfg(64512, 65000, 1, true));
        let mut out = Vec::new();
        a.handle(Nanos(0), Event::ManualStart, &mut out);
        a.handle(Nanos(0), Event::TcpConnected, &mut out);
        let open = Message::Open(Open::new(65000, 30, Ipv4Addr::new(10, 0, 0, 2))).encode(true);
        a.handle(Nanos(SEC), Event::Data(&open), &mut out);
        a.handle(Nanos(SEC), Event::Data(&Message::Keepalive.encode(true)), &mut out);
        assert_eq!(a.state(), State::Established);
        assert_eq!(a.hold_time(), Span::from_secs(9), "min(9, 30)");
        out.clear();
        a.handle(Nanos(10 * SEC - 1), Event::Tick, &mut out);
        assert_eq!(a.state(), State::Established);
        a.handle(Nanos(10 * SEC), Event::Tick, &mut out);
        assert_eq!(a.state(), State::Idle);
        assert!(out
            .iter()
            .any(|x| matches!(x, Action::NotificationSent(n, _) if *n == Notification::hold_timer_expired())));
    }

    fn open_sent() -> (Session, Vec<Action>) {
        let mut a = Session::new(cfg(64512, 65000, 1, true));
        let mut out = Vec::new();
        a.handle(Nanos(0), Event::ManualStart, &mut out);
        a.handle(Nanos(0), Event::TcpConnected, &mut out);
        (a, out)
    }

    fn sent_notification(out: &[Action]) -> Option<Notification> {
        out.iter().find_map(|x| if let Action::NotificationSent(n, _) = x { Some(n.clone()) } else { None })
    }

    #[test]
    fn bad_opens_get_the_right_notification() {
        for (open, code, sub) in [
            (Open::new(65001, 90, Ipv4Addr::new(10, 0, 0, 2)), 2, 2),
            (Open { hold_time: 2, ..Open::new(65000, 90, Ipv4Addr::new(10, 0, 0, 2)) }, 2, 6),
            (Open { hold_time: 1, ..Open::new(65000, 90, Ipv4Addr::new(10, 0, 0, 2)) }, 2, 6),
            (Open::new(65000, 90, Ipv4Addr::new(10, 0, 0, 1)), 2, 3),
            (Open { version: 3, ..Open::new(65000, 90, Ipv4Addr::new(10, 0, 0, 2)) }, 2, 1),
        ] {
            let (mut a, mut out) = open_sent();
            a.handle(Nanos(1), Event::Data(&Message::Open(open.clone()).encode(true)), &mut out);
            let n = sent_notification(&out).expect("a NOTIFICATION");
            assert_eq!((n.code, n.subcode), (code, sub), "{open:?}");
            assert_eq!(a.state(), State::Idle);
        }
    }

    #[test]
    fn garbage_and_unexpected_messages() {
        let (mut a, mut out) = open_sent();
        a.handle(Nanos(1), Event::Data(&[0u8; 40]), &mut out);
        assert_eq!(sent_notification(&out), Some(Notification::new(1, 1)));
        let (mut a, mut out) = open_sent();
        a.handle(Nanos(1), Event::Data(&Message::Keepalive.encode(true)), &mut out);
        assert_eq!(sent_notification(&out), Some(Notification::new(5, 1)));
        // A half-open connection: nothing arrives, the OpenSent hold timer (= hold time) fires.
        let (mut a, mut out) = open_sent();
        assert_eq!(a.next_deadline(), Some(Nanos(9 * SEC)));
        a.handle(Nanos(9 * SEC), Event::Tick, &mut out);
        assert_eq!(sent_notification(&out), Some(Notification::hold_timer_expired()));
        // After the reset it restarts by itself after ConnectRetry.
        out.clear();
        a.handle(Nanos(9 * SEC + 5 * SEC), Event::Tick, &mut out);
        assert_eq!(a.state(), State::Active);
    }

    #[test]
    fn errors_in_a_row_double_the_wait_in_idle_up_to_the_most() {
        // A peer that answers every OPEN with garbage: each error doubles the wait (5, 10, 20,
        // 40 s, ...) up to idle_hold_max, as DampPeerOscillations asks.
        let cfg = SessionConfig { idle_hold_max: Span::from_secs(60), ..cfg(64512, 65000, 1, true) };
        let mut a = Session::new(cfg);
        let mut out = Vec::new();
        let mut now = Nanos(0);
        a.handle(now, Event::ManualStart, &mut out);
        let mut waits = Vec::new();
        for _ in 0..6 {
            a.handle(now, Event::TcpConnected, &mut out);
            a.handle(now, Event::Data(&[0u8; 19]), &mut out);
            assert_eq!(a.state(), State::Idle);
            let restart = a.next_deadline().unwrap();
            waits.push(restart.since(now).0 / SEC);
            now = restart;
            a.handle(now, Event::Tick, &mut out);
            assert_eq!(a.state(), State::Active);
        }
        assert_eq!(waits, [5, 10, 20, 40, 60, 60]);
        // A session that stays up for idle_hold_max has its errors forgotten.
        a.handle(now, Event::TcpConnected, &mut out);
        let open = Message::Open(Open::new(65000, 9, Ipv4Addr::new(10, 0, 0, 2))).encode(true);
        a.handle(now, Event::Data(&open), &mut out);
        a.handle(now, Event::Data(&Message::Keepalive.encode(true)), &mut out);
        assert_eq!(a.state(), State::Established);
        for _ in 0..30 {
            now += Span::from_secs(3);
            a.handle(now, Event::Data(&Message::Keepalive.encode(true)), &mut out);
        }
        a.handle(now, Event::TcpFails, &mut out);
        assert_eq!(a.next_deadline().map(|d| d.since(now)), Some(Span::from_secs(5)));
    }

    #[test]
    fn collision_rule() {
        let lo = Ipv4Addr::new(1, 1, 1, 1);
        let hi = Ipv4Addr::new(2, 2, 2, 2);
        assert!(keep_connection_initiated_by_higher_id(hi, lo, true));
        assert!(!keep_connection_initiated_by_higher_id(hi, lo, false));
        assert!(!keep_connection_initiated_by_higher_id(lo, hi, true));
        assert!(keep_connection_initiated_by_higher_id(lo, hi, false));
    }
}
