//! A BGP speaker over real TCP: one thread runs every session's [`Session`] on non-blocking
//! `std::net` sockets (a BGP speaker moves a few messages a second; a poll loop with a 5 ms
//! sleep keeps timers within 5 ms without an async runtime). Outgoing connects run on short-lived
//! threads so a peer that never answers cannot stall the others. Outgoing connections are bound
//! to the listen address first (socket2), since a peer checks the source address against its
//! configured neighbor.
//!
//! Incoming connections from unknown addresses are refused with Cease / Connection Rejected;
//! collisions are resolved per RFC 4271 §6.8 with Cease / Connection Collision Resolution.

use std::io::{self, Read, Write};

use std::net::{IpAddr, Ipv4Addr, Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::mpsc::{self, Receiver, Sender, TryRecvError};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ipnet::Ipv4Net;
use serde::Serialize;
use xconnect_time::Nanos;

use crate::fsm::{keep_connection_initiated_by_higher_id, Action, Event, Session, SessionConfig, State};
use crate::peer::{Peer, PeerAction};
use crate::policy::ImportPolicy;
use crate::rib::{Rib, Route};
use crate::wire::{Cease, Message, MessageReader, Notification, Origin, PathAttributes};

/// One configured neighbor.
#[derive(Debug, Clone)]
pub struct PeerSpec {
    /// Its address and BGP port.
    pub addr: SocketAddr,
    /// Session parameters.
    pub session: SessionConfig,
    /// What we accept from it.
    pub policy: ImportPolicy,
}

/// The speaker's configuration.
#[derive(Debug, Clone)]
pub struct SpeakerConfig {
    /// Address to listen on and to source outgoing connections from.
    pub listen: SocketAddr,
    /// Neighbors.
    pub peers: Vec<PeerSpec>,
    /// Prefixes to announce at start.
    pub announce: Vec<Ipv4Net>,
}

/// Commands from the operator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Add prefixes to what we announce.
    Announce(Vec<Ipv4Net>),
    /// Withdraw prefixes.
    Withdraw(Vec<Ipv4Net>),
    /// Print the RIB (as events).
    ShowRoutes,
    /// Cease / Administrative Shutdown to every peer, then return.
    Shutdown,
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
    /// A route passed the import policy and is in the RIB.
    Accepted {
        /// Peer address.
        peer: String,
        /// Prefix.
        prefix: String,
        /// AS_PATH.
        as_path: String,
        /// NEXT_HOP.
        next_hop: String,
        /// Whether it is now the best path.
        best: bool,
    },
    /// A route failed the import policy.
    Rejected {
        /// Peer address.
        peer: String,
        /// Prefix.
        prefix: String,
        /// Reason key.
        reason: String,
        /// The reason in a sentence.
        detail: String,
    },
    /// The peer withdrew a route (or its session went down).
    Withdrawn {
        /// Peer address.
        peer: String,
        /// Prefix.
        prefix: String,
    },
    /// We announced or withdrew our prefixes to a peer.
    Sent {
        /// Peer address.
        peer: String,
        /// Announced prefixes.
        announced: Vec<String>,
        /// Withdrawn prefixes.
        withdrawn: Vec<String>,
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
    /// The speaker stopped.
    Stopped,
}

struct Conn {
    stream: TcpStream,
    outgoing: bool,
    /// Splits received bytes into messages, so the session sees one message at a time and a
    /// collision is decided at the OpenConfirm transition, before later messages.
    framer: MessageReader,
}

impl Conn {
    fn new(stream: TcpStream, outgoing: bool) -> Self {
        Conn { stream, outgoing, framer: MessageReader::default() }
    }

    /// Reads what is there; returns whole messages (or, after a framing error, the raw rest
    /// for the session to reject), `Ok(None)` when nothing more is waiting, `Err` on EOF/error.
    fn next_input(&mut self, buf: &mut [u8]) -> io::Result<Option<Vec<u8>>> {
        loop {
            match self.framer.next_message() {
                Ok(Some(m)) => return Ok(Some(m.to_vec())),
                Ok(None) => {}
                Err(_) => return Ok(Some(self.framer.take_pending())),
            }
            match self.stream.read(buf) {
                Ok(0) => return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "connection closed by the peer")),
                Ok(n) => self.framer.push(&buf[..n]),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(None),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }
}

struct Pending {
    conn: Conn,
    session: Session,
}

struct Neighbor {
    spec: PeerSpec,
    name: String,
    /// Session, import policy, Adj-RIB-In and Adj-RIB-Out.
    bgp: Peer,
    conn: Option<Conn>,
    /// A second connection with its own session (RFC 4271 §6.8 runs one FSM per connection)
    /// until one of the two receives the peer's OPEN and the collision is decided.
    pending: Option<Pending>,
    connecting: bool,
}

/// Runs until [`Command::Shutdown`] arrives or `commands`' sender is dropped, reporting through
/// `emit`.
pub fn run(cfg: SpeakerConfig, commands: Receiver<Command>, mut emit: impl FnMut(SpeakerEvent)) -> io::Result<()> {
    let listener = bind_listener(cfg.listen)?;
    listener.set_nonblocking(true)?;
    emit(SpeakerEvent::Listening { address: listener.local_addr()?.to_string() });
    let mut sp = Speaker {
        start: Instant::now(),
        listen_ip: cfg.listen.ip(),
        peers: cfg
            .peers
            .into_iter()
            .map(|spec| Neighbor {
                name: spec.addr.to_string(),
                bgp: Peer::new(spec.session.clone(), spec.policy.clone()),
                spec,
                conn: None,
                pending: None,
                connecting: false,
            })
            .collect(),
        originated: Arc::new(PathAttributes { origin: Some(Origin::Igp), ..PathAttributes::default() }),
        rib: Rib::new(),
        connect_tx: None,
        events: Vec::new(),
    };
    let (ctx, crx) = mpsc::channel();
    sp.connect_tx = Some(ctx);
    sp.announce(&cfg.announce);
    for i in 0..sp.peers.len() {
        sp.event(i, Event::ManualStart);
    }
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        for e in sp.events.drain(..) {
            emit(e);
        }
        match commands.try_recv() {
            Ok(Command::Shutdown) | Err(TryRecvError::Disconnected) => break,
            Ok(c) => sp.command(c),
            Err(TryRecvError::Empty) => {}
        }
        loop {
            match listener.accept() {
                Ok((s, from)) => sp.incoming(s, from),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) => {
                    sp.log("listener", format!("accept failed: {e}"));
                    break;
                }
            }
        }
        while let Ok((i, res)) = crx.try_recv() {
            sp.connected(i, res);
        }
        for i in 0..sp.peers.len() {
            sp.read(i, &mut buf);
            sp.read_pending(i, &mut buf);
        }
        let now = sp.now();
        for i in 0..sp.peers.len() {
            if sp.peers[i].bgp.next_deadline().is_some_and(|d| d <= now) {
                sp.event(i, Event::Tick);
            }
            if sp.peers[i].pending.as_ref().and_then(|p| p.session.next_deadline()).is_some_and(|d| d <= now) {
                sp.pending_event(i, Event::Tick);
            }
        }
        for e in sp.events.drain(..) {
            emit(e);
        }
        let next = sp.peers.iter().filter_map(|p| p.bgp.next_deadline()).min();
        let wait = next.map_or(5_000_000, |d| d.0.saturating_sub(sp.now().0)).min(5_000_000);
        std::thread::sleep(Duration::from_nanos(wait.max(200_000)));
    }
    for i in 0..sp.peers.len() {
        sp.event(i, Event::ManualStop);
    }
    for e in sp.events.drain(..) {
        emit(e);
    }
    emit(SpeakerEvent::Stopped);
    Ok(())
}

fn bind_listener(addr: SocketAddr) -> io::Result<TcpListener> {
    let s = socket2::Socket::new(socket2::Domain::for_address(addr), socket2::Type::STREAM, None)?;
    s.set_reuse_address(true)?;
    s.bind(&addr.into()).map_err(|e| io::Error::new(e.kind(), format!("cannot listen on {addr}: {e}")))?;
    s.listen(16)?;
    Ok(s.into())
}

fn connect_from(local: IpAddr, peer: SocketAddr) -> io::Result<TcpStream> {
    let s = socket2::Socket::new(socket2::Domain::for_address(peer), socket2::Type::STREAM, None)?;
    s.bind(&SocketAddr::new(local, 0).into())?;
    s.connect_timeout(&peer.into(), Duration::from_secs(3))?;
    Ok(s.into())
}

struct Speaker {
    start: Instant,
    listen_ip: IpAddr,
    peers: Vec<Neighbor>,
    /// The attributes of the prefixes we originate (AS_PATH, NEXT_HOP added per neighbor).
    originated: Arc<PathAttributes>,
    rib: Rib,
    connect_tx: Option<Sender<(usize, io::Result<TcpStream>)>>,
    events: Vec<SpeakerEvent>,
}

impl Speaker {
    fn now(&self) -> Nanos {
        Nanos(self.start.elapsed().as_nanos() as u64)
    }

    fn log(&mut self, peer: &str, message: String) {
        self.events.push(SpeakerEvent::Log { peer: peer.to_string(), message });
    }

    fn command(&mut self, c: Command) {
        match c {
            Command::Announce(ps) => self.announce(&ps),
            Command::Withdraw(ps) => {
                let now = self.now();
                for i in 0..self.peers.len() {
                    let mut out = Vec::new();
                    self.peers[i].bgp.withdraw(now, &ps, &mut out);
                    self.apply(i, out);
                }
            }
            Command::ShowRoutes => {
                let rows: Vec<SpeakerEvent> = self
                    .rib
                    .best_routes()
                    .map(|(p, r)| SpeakerEvent::Route {
                        prefix: p.to_string(),
                        peer: self.peers[r.session as usize].name.clone(),
                        as_path: r.attrs.as_path.as_ref().map(|a| a.to_string()).unwrap_or_default(),
                        next_hop: r.attrs.next_hop.map(|a| a.to_string()).unwrap_or_default(),
                    })
                    .collect();
                self.events.extend(rows);
            }
            Command::Shutdown => unreachable!("handled by the loop"),
        }
    }

    /// Adds `prefixes` to what every neighbor is sent (at once where Established).
    fn announce(&mut self, prefixes: &[Ipv4Net]) {
        let now = self.now();
        for i in 0..self.peers.len() {
            let mut out = Vec::new();
            self.peers[i].bgp.announce(now, prefixes, self.originated.clone(), &mut out);
            self.apply(i, out);
        }
    }

    fn incoming(&mut self, s: TcpStream, from: SocketAddr) {
        let Some(i) = self.peers.iter().position(|p| p.spec.addr.ip() == from.ip()) else {
            refuse(s, Notification::cease(Cease::ConnectionRejected));
            self.log(
                &from.to_string(),
                "connection from an unconfigured address refused (Cease / Connection Rejected)".into(),
            );
            return;
        };
        match self.peers[i].bgp.state() {
            State::Connect | State::Active if self.peers[i].conn.is_none() => self.attach(i, s, false),
            _ => self.second_connection(i, s, false),
        }
    }

    /// A connection beside the one in use (theirs, or ours if `outgoing`): while the first
    /// still waits for the peer's OPEN the two collide and a second session runs on it;
    /// otherwise it is refused with Cease / Connection Collision Resolution.
    fn second_connection(&mut self, i: usize, s: TcpStream, outgoing: bool) {
        let name = self.peers[i].name.clone();
        let state = self.peers[i].bgp.state();
        if self.peers[i].pending.is_none() && matches!(state, State::OpenSent | State::OpenConfirm) {
            self.log(&name, "second connection: collision, decided once an OPEN arrives".into());
            self.start_pending(i, s, outgoing);
        } else {
            refuse(s, Notification::cease(Cease::ConnectionCollision));
            self.log(&name, format!("connection refused in {state} (Cease / Connection Collision Resolution)"));
        }
    }

    /// Runs a second session on a colliding connection: it sends its OPEN and waits for the
    /// peer's, like the first.
    fn start_pending(&mut self, i: usize, stream: TcpStream, outgoing: bool) {
        if stream.set_nonblocking(true).is_err() {
            return;
        }
        let _ = stream.set_nodelay(true);
        let mut session = Session::new(self.peers[i].spec.session.clone());
        let now = self.now();
        // The start's Connect action is dropped: this connection is already up.
        session.handle(now, Event::ManualStart, &mut Vec::new());
        self.peers[i].pending = Some(Pending { conn: Conn::new(stream, outgoing), session });
        self.pending_event(i, Event::TcpConnected);
    }

    fn pending_event(&mut self, i: usize, ev: Event<'_>) {
        let now = self.now();
        let name = self.peers[i].name.clone();
        let Some(p) = self.peers[i].pending.as_mut() else { return };
        let mut out = Vec::new();
        p.session.handle(now, ev, &mut out);
        let mut decide = false;
        for a in out {
            match a {
                Action::Send(bytes) => {
                    let _ = write_all_nonblocking(&mut p.conn.stream, &bytes);
                }
                Action::Disconnect => {
                    self.peers[i].pending = None;
                    self.log(&name, "second connection closed".into());
                    return;
                }
                Action::StateChange { to: State::OpenConfirm, .. } => decide = true,
                Action::NotificationSent(n, reason) => self.events.push(SpeakerEvent::NotificationSent {
                    peer: name.clone(),
                    code: n.code,
                    subcode: n.subcode,
                    meaning: n.meaning(),
                    reason: format!("second connection: {reason}"),
                }),
                _ => {}
            }
        }
        if decide {
            self.resolve_collision(i);
        }
    }

    fn read_pending(&mut self, i: usize, buf: &mut [u8]) {
        loop {
            let Some(p) = self.peers[i].pending.as_mut() else { return };
            match p.conn.next_input(buf) {
                Ok(Some(msg)) => self.pending_event(i, Event::Data(&msg)),
                Ok(None) => return,
                Err(_) => {
                    self.peers[i].pending = None;
                    return;
                }
            }
        }
    }

    /// RFC 4271 §6.8: of the two connections, the one opened by the speaker with the higher BGP
    /// identifier stays; the other is closed with Cease / Connection Collision Resolution. Both
    /// ends apply the same rule, so both keep the same connection. Called once either session
    /// has the peer's OPEN.
    fn resolve_collision(&mut self, i: usize) {
        let p = &self.peers[i];
        let (Some(pending), Some(conn)) = (p.pending.as_ref(), p.conn.as_ref()) else { return };
        let Some(remote_id) = p.bgp.session().peer_open().or(pending.session.peer_open()).map(|o| o.router_id) else {
            return;
        };
        let name = p.name.clone();
        let local_id = p.spec.session.router_id;
        let now = self.now();
        if keep_connection_initiated_by_higher_id(local_id, remote_id, conn.outgoing) {
            let mut pending = self.peers[i].pending.take().expect("checked");
            let mut out = Vec::new();
            pending.session.notify_and_reset(
                now,
                Notification::cease(Cease::ConnectionCollision),
                "connection collision".into(),
                &mut out,
            );
            for a in out {
                if let Action::Send(bytes) = a {
                    let _ = write_all_nonblocking(&mut pending.conn.stream, &bytes);
                }
            }
            let _ = pending.conn.stream.shutdown(Shutdown::Both);
            self.log(
                &name,
                "connection collision: kept the first connection (opened by the higher BGP identifier)".into(),
            );
        } else {
            let pending = self.peers[i].pending.take().expect("checked");
            let mut old = self.peers[i].bgp.replace_session(pending.session);
            let mut old_conn = self.peers[i].conn.replace(pending.conn).expect("checked");
            let mut out = Vec::new();
            old.notify_and_reset(
                now,
                Notification::cease(Cease::ConnectionCollision),
                "connection collision".into(),
                &mut out,
            );
            for a in out {
                if let Action::Send(bytes) = a {
                    let _ = write_all_nonblocking(&mut old_conn.stream, &bytes);
                }
            }
            let _ = old_conn.stream.shutdown(Shutdown::Both);
            self.log(
                &name,
                "connection collision: kept the second connection (opened by the higher BGP identifier)".into(),
            );
            self.report_open(i);
        }
    }

    /// A session taken over from a second connection may already have the peer's OPEN: report
    /// it as the first session would have.
    fn report_open(&mut self, i: usize) {
        if let Some(o) = self.peers[i].bgp.session().peer_open().cloned() {
            self.apply(i, vec![PeerAction::OpenReceived(o)]);
        }
    }

    fn attach(&mut self, i: usize, s: TcpStream, outgoing: bool) {
        if let Err(e) = s.set_nonblocking(true) {
            let name = self.peers[i].name.clone();
            self.log(&name, format!("cannot use connection: {e}"));
            return;
        }
        let _ = s.set_nodelay(true);
        let local = match s.local_addr().map(|a| a.ip()) {
            Ok(IpAddr::V4(a)) => a,
            _ => match self.listen_ip {
                IpAddr::V4(a) => a,
                IpAddr::V6(_) => Ipv4Addr::UNSPECIFIED,
            },
        };
        self.peers[i].bgp.set_local_addr(local);
        self.peers[i].conn = Some(Conn::new(s, outgoing));
        self.event(i, Event::TcpConnected);
    }

    fn connected(&mut self, i: usize, res: io::Result<TcpStream>) {
        self.peers[i].connecting = false;
        match res {
            Ok(s) if self.peers[i].conn.is_none() && self.peers[i].bgp.state() == State::Connect => {
                self.attach(i, s, true)
            }
            // The peer's connection arrived first and is in use.
            Ok(s) if self.peers[i].conn.is_some() => self.second_connection(i, s, true),
            Ok(s) => drop(s),
            Err(e) => {
                let name = self.peers[i].name.clone();
                self.log(&name, format!("connect failed: {e}"));
                if self.peers[i].bgp.state() == State::Connect {
                    self.event(i, Event::TcpFails);
                }
            }
        }
    }

    fn read(&mut self, i: usize, buf: &mut [u8]) {
        loop {
            let Some(conn) = self.peers[i].conn.as_mut() else { return };
            match conn.next_input(buf) {
                Ok(Some(msg)) => self.event(i, Event::Data(&msg)),
                Ok(None) => return,
                Err(e) => {
                    let name = self.peers[i].name.clone();
                    let what = if e.kind() == io::ErrorKind::UnexpectedEof {
                        "connection closed by the peer".to_string()
                    } else {
                        format!("connection error: {e}")
                    };
                    self.log(&name, what);
                    self.peers[i].conn = None;
                    self.event(i, Event::TcpFails);
                    return;
                }
            }
        }
    }

    fn event(&mut self, i: usize, ev: Event<'_>) {
        let mut out = Vec::new();
        let now = self.now();
        self.peers[i].bgp.handle(now, ev, &mut out);
        self.apply(i, out);
    }

    fn apply(&mut self, i: usize, actions: Vec<PeerAction>) {
        let session = i as u32;
        for a in actions {
            let name = self.peers[i].name.clone();
            match a {
                PeerAction::Connect => {
                    if !self.peers[i].connecting {
                        self.peers[i].connecting = true;
                        let tx = self.connect_tx.clone().expect("set before the first event");
                        let (local, peer) = (self.listen_ip, self.peers[i].spec.addr);
                        std::thread::spawn(move || {
                            let _ = tx.send((i, connect_from(local, peer)));
                        });
                    }
                }
                PeerAction::Send(bytes) => {
                    if let Some(c) = self.peers[i].conn.as_mut() {
                        if let Err(e) = write_all_nonblocking(&mut c.stream, &bytes) {
                            self.log(&name, format!("send failed: {e}"));
                        }
                    }
                }
                PeerAction::Disconnect => {
                    if let Some(c) = self.peers[i].conn.take() {
                        let _ = c.stream.shutdown(Shutdown::Both);
                    }
                }
                PeerAction::StateChange { from, to } => {
                    self.events.push(SpeakerEvent::State {
                        peer: name.clone(),
                        from: from.to_string(),
                        to: to.to_string(),
                    });
                    if to == State::OpenConfirm {
                        self.resolve_collision(i);
                    }
                    if matches!(to, State::Idle | State::Active) {
                        // The first connection failed: the second one carries on alone.
                        if let Some(p) = self.peers[i].pending.take() {
                            self.peers[i].bgp.replace_session(p.session);
                            self.peers[i].conn = Some(p.conn);
                            self.log(&name, "first connection gone: continuing on the second".into());
                            self.report_open(i);
                        }
                    }
                }
                PeerAction::OpenReceived(o) => self.events.push(SpeakerEvent::Open {
                    peer: name,
                    asn: o.asn(),
                    hold: (self.peers[i].bgp.session().hold_time().0 / 1_000_000_000) as u16,
                    router_id: o.router_id.to_string(),
                    capabilities: o.capabilities.iter().map(|c| c.name()).collect(),
                }),
                PeerAction::Accepted { prefix, attrs } => {
                    let peer_router_id =
                        self.peers[i].bgp.session().peer_open().map_or(Ipv4Addr::UNSPECIFIED, |o| o.router_id);
                    let ebgp = self.peers[i].bgp.is_ebgp();
                    self.rib.announce(prefix, Route { session, peer_router_id, ebgp, attrs: attrs.clone() });
                    self.events.push(SpeakerEvent::Accepted {
                        peer: name,
                        prefix: prefix.to_string(),
                        as_path: attrs.as_path.as_ref().map(|a| a.to_string()).unwrap_or_default(),
                        next_hop: attrs.next_hop.map(|a| a.to_string()).unwrap_or_default(),
                        best: self.rib.best(prefix).is_some_and(|r| r.session == session),
                    });
                }
                PeerAction::Rejected { prefix, reason } => self.events.push(SpeakerEvent::Rejected {
                    peer: name,
                    prefix: prefix.to_string(),
                    reason: reason.key().to_string(),
                    detail: reason.to_string(),
                }),
                PeerAction::Withdrawn { prefix } => {
                    self.rib.withdraw(session, prefix);
                    self.events.push(SpeakerEvent::Withdrawn { peer: name, prefix: prefix.to_string() });
                }
                PeerAction::AttributeIssue(issue) => {
                    self.log(&name, format!("RFC 7606 {:?}: {}", issue.action, issue.detail))
                }
                PeerAction::Sent { announced, withdrawn } => self.events.push(SpeakerEvent::Sent {
                    peer: name,
                    announced: announced.iter().map(|p| p.to_string()).collect(),
                    withdrawn: withdrawn.iter().map(|p| p.to_string()).collect(),
                }),
                PeerAction::NotificationSent(n, reason) => self.events.push(SpeakerEvent::NotificationSent {
                    peer: name,
                    code: n.code,
                    subcode: n.subcode,
                    meaning: n.meaning(),
                    reason,
                }),
                PeerAction::NotificationReceived(n) => self.events.push(SpeakerEvent::NotificationReceived {
                    peer: name,
                    code: n.code,
                    subcode: n.subcode,
                    meaning: n.meaning(),
                }),
            }
        }
    }
}

fn refuse(mut s: TcpStream, n: Notification) {
    let _ = s.write_all(&Message::Notification(n).encode(true));
    let _ = s.shutdown(Shutdown::Both);
}

fn write_all_nonblocking(s: &mut TcpStream, mut data: &[u8]) -> io::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(2);
    while !data.is_empty() {
        match s.write(data) {
            Ok(0) => return Err(io::Error::new(io::ErrorKind::WriteZero, "peer closed")),
            Ok(n) => data = &data[n..],
            Err(e) if e.kind() == io::ErrorKind::WouldBlock && Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(1))
            }
            Err(e) => return Err(e),
        }
    }
    Ok(())
}
