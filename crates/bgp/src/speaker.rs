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
use xconnect_time::{Nanos, Span};

use crate::bfd_link::{BfdConfig, BfdLink, BfdNews};
use crate::events::{Emitted, EventDetail, Events, RouteRun, RunChange, SpeakerEvent};
use crate::fsm::{keep_connection_initiated_by_higher_id, Action, Event, Session, SessionConfig, State};
use crate::peer::{Peer, PeerAction};
use crate::policy::ImportPolicy;
use crate::protect::{KernelDrops, Protection};
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
    /// After a max-prefix Cease, the wait before the session restarts (`None`: until
    /// [`Command::Clear`]).
    pub max_prefix_restart: Option<Span>,
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
    /// Route events one per prefix, or one per UPDATE.
    pub events: EventDetail,
    /// TCP-MD5 and GTSM on every session.
    pub protection: Protection,
    /// BFD with every neighbor; its Down brings the BGP session down at once.
    pub bfd: Option<BfdConfig>,
}

/// Commands from the operator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Add prefixes to what we announce (sorted, without duplicates).
    Announce(Vec<Ipv4Net>),
    /// Withdraw prefixes.
    Withdraw(Vec<Ipv4Net>),
    /// Print the RIB (as events).
    ShowRoutes,
    /// Restart the session with this neighbor (its address): Cease / Administrative Reset if
    /// it is up, then start again at once, whatever wait it was in.
    Clear(IpAddr),
    /// Cease / Administrative Shutdown to every peer, then return.
    Shutdown,
}

struct Conn {
    stream: TcpStream,
    outgoing: bool,
    /// Splits received bytes into messages, so the session sees one message at a time and a
    /// collision is decided at the OpenConfirm transition, before later messages.
    framer: MessageReader,
    /// Bytes the socket did not take yet (a peer that reads slowly), from `unsent_at` on:
    /// written as it takes them, never by waiting, so one peer cannot stall the others.
    unsent: Vec<u8>,
    unsent_at: usize,
}

impl Conn {
    fn new(stream: TcpStream, outgoing: bool) -> Self {
        Conn { stream, outgoing, framer: MessageReader::default(), unsent: Vec::new(), unsent_at: 0 }
    }

    /// Queues `data` after what is unsent and writes what the socket takes now. An error when
    /// the connection failed, or the peer has left more than [`MAX_UNSENT`] bytes unread.
    fn send(&mut self, data: &[u8]) -> io::Result<()> {
        self.unsent.extend_from_slice(data);
        self.flush()?;
        let queued = self.unsent.len() - self.unsent_at;
        if queued > MAX_UNSENT {
            return Err(io::Error::other(format!("the peer is not reading: {queued} bytes wait to be sent")));
        }
        Ok(())
    }

    /// Writes what the socket takes of the unsent bytes.
    fn flush(&mut self) -> io::Result<()> {
        while self.unsent_at < self.unsent.len() {
            match self.stream.write(&self.unsent[self.unsent_at..]) {
                Ok(0) => return Err(io::Error::new(io::ErrorKind::WriteZero, "connection closed")),
                Ok(n) => self.unsent_at += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        self.unsent.clear();
        self.unsent_at = 0;
        Ok(())
    }

    /// Reads what is there; puts the next whole message in `msg` (or, after a framing error,
    /// the raw rest for the session to reject) and returns `Ok(true)`; `Ok(false)` when
    /// nothing more is waiting, `Err` on EOF/error. `msg` is the caller's, reused: no
    /// allocation per message.
    fn next_input(&mut self, buf: &mut [u8], msg: &mut Vec<u8>) -> io::Result<bool> {
        loop {
            msg.clear();
            match self.framer.next_message() {
                Ok(Some(m)) => {
                    msg.extend_from_slice(m);
                    return Ok(true);
                }
                Ok(None) => {}
                Err(_) => {
                    msg.extend_from_slice(&self.framer.take_pending());
                    return Ok(true);
                }
            }
            match self.stream.read(buf) {
                Ok(0) => return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "connection closed by the peer")),
                Ok(n) => self.framer.push(&buf[..n]),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(false),
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
    /// Its address as text (shared by the per-prefix events).
    name: Arc<str>,
    /// Session, import policy, Adj-RIB-In and Adj-RIB-Out.
    bgp: Peer,
    conn: Option<Conn>,
    /// A second connection with its own session (RFC 4271 §6.8 runs one FSM per connection)
    /// until one of the two receives the peer's OPEN and the collision is decided.
    pending: Option<Pending>,
    connecting: bool,
    /// Failed connection attempts since the last logged one (logged once per streak).
    connect_failures: u32,
}

/// Runs until [`Command::Shutdown`] arrives or `commands`' sender is dropped, reporting through
/// `emit`.
/// Events go to `emit` in batches (all that one turn of the loop produced, in order; handed
/// over, so that the caller may format and write them on another thread), each
/// with when it happened since the speaker started (not when `emit` runs).
pub fn run(cfg: SpeakerConfig, commands: Receiver<Command>, mut emit: impl FnMut(Events) + 'static) -> io::Result<()> {
    let listener = bind_listener(cfg.listen, &cfg.protection, cfg.peers.iter().map(|p| p.addr.ip()))?;
    listener.set_nonblocking(true)?;
    let start = Instant::now();
    let peer_ips: Vec<IpAddr> = cfg.peers.iter().map(|p| p.addr.ip()).collect();
    let bfd = cfg.bfd.map(|b| BfdLink::open(b, cfg.listen.ip(), &peer_ips, Nanos(0))).transpose()?;
    emit(vec![(Span::ZERO, Emitted::Event(SpeakerEvent::Listening { address: listener.local_addr()?.to_string() }))]);
    let mut sp = Speaker {
        start,
        msg: Vec::with_capacity(4096),
        bfd,
        listen_ip: cfg.listen.ip(),
        peers: cfg
            .peers
            .into_iter()
            .map(|spec| {
                let mut bgp = Peer::new(spec.session.clone(), spec.policy.clone());
                bgp.set_max_prefix_restart(spec.max_prefix_restart);
                Neighbor {
                    name: spec.addr.to_string().into(),
                    bgp,
                    spec,
                    conn: None,
                    pending: None,
                    connecting: false,
                    connect_failures: 0,
                }
            })
            .collect(),
        originated: Arc::new(PathAttributes { origin: Some(Origin::Igp), ..PathAttributes::default() }),
        detail: cfg.events,
        drops: (KernelDrops::now(), Instant::now()),
        protection: cfg.protection,
        rib_high: 0,
        trim_at: None,
        rib: Rib::new(),
        connect_tx: None,
        events: Vec::new(),
        events_weight: 0,
        open_runs: [None; 2],
        emit: Box::new(emit),
        closing: Vec::new(),
        originations: Default::default(),
    };
    let (ctx, crx) = mpsc::channel();
    sp.connect_tx = Some(ctx);
    let mut originate = cfg.announce;
    originate.sort_unstable();
    originate.dedup();
    if sp.may_originate(&originate) {
        sp.originations.push_back((true, originate));
        while sp.originate_some() {}
    }
    for i in 0..sp.peers.len() {
        sp.event(i, Event::ManualStart);
    }
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        sp.flush();
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
        // Fairness: each peer reads at most READ_BUDGET bytes per turn, and every peer's timers
        // run after each peer's turn, so a bulk feed on one session delays another session's
        // keepalives by one budget's work at most. While anything arrives the loop does not
        // sleep.
        sp.flush_all();
        let mut busy = sp.originate_some();
        for i in 0..sp.peers.len() {
            busy |= sp.read(i, &mut buf);
            busy |= sp.read_pending(i, &mut buf);
            sp.timers();
            // Out with the events of each turn: a bulk feed holds at most a turn's worth.
            sp.flush();
        }
        sp.drain_closing(&mut buf);
        sp.give_back_memory();
        sp.protection_drops();
        sp.bfd();
        sp.flush();
        if busy {
            continue;
        }
        let next = sp
            .peers
            .iter()
            .filter_map(|p| p.bgp.next_deadline())
            .chain(sp.bfd.as_ref().and_then(BfdLink::next_deadline))
            .min();
        let wait = next.map_or(5_000_000, |d| d.0.saturating_sub(sp.now().0)).min(5_000_000);
        std::thread::sleep(Duration::from_nanos(wait.max(200_000)));
    }
    for i in 0..sp.peers.len() {
        sp.event(i, Event::ManualStop);
    }
    let now = sp.now();
    if let Some(b) = sp.bfd.as_mut() {
        b.shutdown(now);
    }
    // The NOTIFICATIONs just sent reach the peers before the connections close.
    let deadline = Instant::now() + CLOSE_DRAIN;
    while !sp.closing.is_empty() && Instant::now() < deadline {
        sp.drain_closing(&mut buf);
        std::thread::sleep(Duration::from_millis(5));
    }
    sp.flush();
    sp.push(SpeakerEvent::Stopped);
    sp.flush();
    Ok(())
}

/// Returns the heap's free memory to the system (glibc's `malloc_trim`).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)]
fn trim_heap() {
    // SAFETY: malloc_trim only releases free memory at the top of the heap and in free
    // chunks of the arenas back to the kernel; it touches no allocated block and is safe to
    // call at any time from any thread. Exercised by the test
    // `bgp::a_table_feed_costs_under_150_bytes_a_prefix_and_delays_no_other_session`, which
    // checks that resident memory falls once the table is gone.
    unsafe {
        libc::malloc_trim(0);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn trim_heap() {}

/// How often the kernel's TCP-MD5 and GTSM drop counts are looked at.
const DROPS_EVERY: Duration = Duration::from_secs(5);

/// Events (counting each route of a run) handed on at a time at most.
const EVENT_BATCH: usize = 16_384;

/// Own prefixes announced or withdrawn per loop turn.
const ORIGINATE_BUDGET: usize = 16_384;

/// Bytes a peer may leave unread (our UPDATEs and keepalives queued for it) before its
/// connection is given up.
const MAX_UNSENT: usize = 32 * 1024 * 1024;

/// Prefixes the speaker originates at most (`--announce` and `announce` together).
pub const MAX_ORIGINATED: usize = 1_000_000;

/// Bytes a peer's connection is read per loop turn before the other peers' turns and timers.
const READ_BUDGET: usize = 16 * 1024;

/// How long a closed connection is drained (RFC 4271 §6: after a NOTIFICATION, close once the
/// peer has it): our side is shut for writing at once, what the peer still sends is read and
/// dropped until it closes too or this time has passed.
const CLOSE_DRAIN: Duration = Duration::from_secs(2);

/// Bytes drained from one closing connection at most: a peer that floods while we close
/// cannot keep us reading.
const CLOSE_DRAIN_BYTES: usize = 64 * 1024 * 1024;

fn bind_listener(
    addr: SocketAddr,
    protection: &Protection,
    peers: impl Iterator<Item = IpAddr>,
) -> io::Result<TcpListener> {
    let s = socket2::Socket::new(socket2::Domain::for_address(addr), socket2::Type::STREAM, None)?;
    s.set_reuse_address(true)?;
    protection.listener(&s, addr, peers)?;
    s.bind(&addr.into()).map_err(|e| io::Error::new(e.kind(), format!("cannot listen on {addr}: {e}")))?;
    s.listen(16)?;
    Ok(s.into())
}

fn connect_from(local: IpAddr, peer: SocketAddr, protection: &Protection) -> io::Result<TcpStream> {
    let s = socket2::Socket::new(socket2::Domain::for_address(peer), socket2::Type::STREAM, None)?;
    protection.outgoing(&s, peer.ip())?;
    s.bind(&SocketAddr::new(local, 0).into())?;
    s.connect_timeout(&peer.into(), Duration::from_secs(3))?;
    Ok(s.into())
}

/// A route change on its way into a [`RouteRun`].
enum RouteChange<'a> {
    Accepted { prefix: Ipv4Net, best: bool, as_path: &'a Arc<str>, next_hop: &'a Arc<str> },
    Withdrawn(Ipv4Net),
}

struct Speaker {
    start: Instant,
    /// The message being handled, a buffer reused from one message to the next.
    msg: Vec<u8>,
    /// BFD with the neighbors, when configured.
    bfd: Option<BfdLink>,
    listen_ip: IpAddr,
    peers: Vec<Neighbor>,
    /// The attributes of the prefixes we originate (AS_PATH, NEXT_HOP added per neighbor).
    originated: Arc<PathAttributes>,
    rib: Rib,
    connect_tx: Option<Sender<(usize, io::Result<TcpStream>)>>,
    /// Events with the time they happened, until handed to `emit`.
    events: Events,
    /// Events and routes in `events`.
    events_weight: usize,
    /// The runs of `events` that routes may still join, accepted and withdrawn: they came from
    /// the same UPDATE. Per prefix, only the last event is open, so that the lines keep the
    /// order of the changes; in summary, an UPDATE has one run of each kind.
    open_runs: [Option<usize>; 2],
    /// Where events go.
    emit: Box<dyn FnMut(Events)>,
    /// Connections being closed.
    closing: Vec<Closing>,
    /// Route events per prefix or per UPDATE.
    detail: EventDetail,
    /// TCP-MD5 and GTSM.
    protection: Protection,
    /// The kernel's protection drop counts when last looked at, and when.
    drops: (KernelDrops, Instant),
    /// The most prefixes the RIB held since memory was last given back to the system.
    rib_high: usize,
    /// When to give freed memory back to the system.
    trim_at: Option<Instant>,
    /// Announcements (`true`) and withdrawals of our own prefixes still to apply, in order.
    originations: std::collections::VecDeque<(bool, Vec<Ipv4Net>)>,
}

/// A connection being closed: what we still send goes out, then our side is shut for
/// writing, and what the peer sends is drained until it closes or the deadline.
struct Closing {
    stream: TcpStream,
    unsent: Vec<u8>,
    deadline: Instant,
    drained: usize,
}

impl Speaker {
    fn now(&self) -> Nanos {
        Nanos(self.start.elapsed().as_nanos() as u64)
    }

    fn log(&mut self, peer: &str, message: String) {
        self.push(SpeakerEvent::Log { peer: peer.to_string(), message });
    }

    /// Once the RIB has shrunk to half of its high-water mark (and by at least 65,536
    /// prefixes: a session with a full table went down, or withdrew it), shrinks the hash
    /// tables, which keep their size when emptied, and asks the allocator to return the freed
    /// memory to the system, which the C allocator keeps resident unless asked.
    /// The trim waits a second, for the events of the withdrawal to be written and freed.
    fn give_back_memory(&mut self) {
        let held = self.rib.len();
        self.rib_high = self.rib_high.max(held);
        if held <= self.rib_high / 2 && self.rib_high - held >= 65_536 {
            self.trim_at = Some(Instant::now() + Duration::from_secs(1));
            self.rib_high = held;
        }
        if self.trim_at.is_some_and(|t| Instant::now() >= t) {
            self.trim_at = None;
            // Hash tables keep their size when emptied: shrink them first.
            self.rib.shrink_to_fit();
            for p in &mut self.peers {
                p.bgp.shrink_to_fit();
            }
            trim_heap();
        }
    }

    /// BFD's packets and timers; a session that leaves Up takes its BGP session down at once
    /// (the connection is treated as failed: RFC 5882 §4.3), without waiting for the hold time.
    fn bfd(&mut self) {
        let now = self.now();
        let Some(news) = self.bfd.as_mut().map(|b| b.poll(now)) else { return };
        for n in news {
            match n {
                BfdNews::State { peer, from, to, diag } => {
                    let name = self.peers[peer].name.to_string();
                    self.push(SpeakerEvent::BfdState {
                        peer: name.clone(),
                        from: from.to_string(),
                        to: to.to_string(),
                        diag: diag.to_string(),
                    });
                    if from == xconnect_bfd::State::Up && self.peers[peer].conn.is_some() {
                        // As in the simulator: Cease / BFD Down (RFC 9384), then closed.
                        let mut out = Vec::new();
                        let n = Notification::cease(Cease::BfdDown);
                        self.peers[peer].bgp.notify_and_reset(now, n, format!("BFD down: {diag}"), &mut out);
                        self.apply(peer, out);
                    }
                }
                BfdNews::Discarded { from, why, count } => {
                    self.log(&from.ip().to_string(), format!("BFD packet discarded: {why} ({count} so far)"))
                }
            }
        }
    }

    /// With TCP-MD5 or GTSM on, every [`DROPS_EVERY`]: whether the kernel dropped segments
    /// for a bad signature or a low TTL since the last look, said once in a log line with the
    /// sessions that are not up (the kernel drops them silently; its counters are all there is,
    /// and they count for the whole system).
    fn protection_drops(&mut self) {
        if !self.protection.is_on() || self.drops.1.elapsed() < DROPS_EVERY {
            return;
        }
        let now = KernelDrops::now();
        let d = now.since(self.drops.0);
        self.drops = (now, Instant::now());
        if d == KernelDrops::default() {
            return;
        }
        let down: Vec<&str> =
            self.peers.iter().filter(|p| p.bgp.state() != State::Established).map(|p| &*p.name).collect();
        let down = if down.is_empty() { "none".to_string() } else { down.join(", ") };
        let secs = DROPS_EVERY.as_secs();
        if d.md5 > 0 {
            self.log(
                "tcp-md5",
                format!(
                    "the kernel dropped {} segments with a wrong, missing or unexpected TCP-MD5 signature in the last {secs} s \
                     (counted for the whole system); sessions not up: {down}",
                    d.md5
                ),
            );
        }
        if d.min_ttl > 0 {
            self.log(
                "gtsm",
                format!(
                    "the kernel dropped {} segments that arrived with a TTL below {} in the last {secs} s \
                     (counted for the whole system); sessions not up: {down}",
                    d.min_ttl,
                    self.protection.min_ttl().unwrap_or(255)
                ),
            );
        }
    }

    /// Hands the events so far to `emit`, and forgets them.
    fn flush(&mut self) {
        self.open_runs = [None; 2];
        self.events_weight = 0;
        if self.events.is_empty() {
            return;
        }
        let mut events = std::mem::take(&mut self.events);
        if self.detail == EventDetail::Summary {
            events = events
                .into_iter()
                .filter_map(|(t, e)| match e {
                    Emitted::Routes(run) => run.summary().map(|b| (t, Emitted::Event(b))),
                    e => Some((t, e)),
                })
                .collect();
        }
        (self.emit)(events);
    }

    /// Records an event, stamped with the time it happens; hands them on every
    /// [`EVENT_BATCH`] (a session with a full table that goes down withdraws millions at once).
    fn push(&mut self, e: SpeakerEvent) {
        let t = Span(self.now().0);
        if self.detail == EventDetail::PerPrefix {
            self.open_runs = [None; 2];
        }
        self.events.push((t, Emitted::Event(e)));
        self.weigh();
    }

    /// Counts one more event or route; hands them on at [`EVENT_BATCH`].
    fn weigh(&mut self) {
        self.events_weight += 1;
        if self.events_weight >= EVENT_BATCH {
            self.flush();
        }
    }

    /// Records a route accepted from (or withdrawn by) peer `i`: it joins the open run of its
    /// kind when that run is the same peer's with the same path, else starts one.
    fn route(&mut self, i: usize, change: RouteChange) {
        let peer = &self.peers[i].name;
        let kind = match change {
            RouteChange::Accepted { .. } => 0,
            RouteChange::Withdrawn(_) => 1,
        };
        let run = self.open_runs[kind].and_then(|at| match &mut self.events[at].1 {
            Emitted::Routes(run) if Arc::ptr_eq(&run.peer, peer) => Some(run),
            _ => None,
        });
        let joined = match (run.map(|r| &mut r.change), &change) {
            (
                Some(RunChange::Accepted { as_path, routes, .. }),
                RouteChange::Accepted { as_path: path, prefix, best, .. },
            ) if Arc::ptr_eq(as_path, path) => {
                routes.push((*prefix, *best));
                true
            }
            (Some(RunChange::Withdrawn { prefixes }), RouteChange::Withdrawn(prefix)) => {
                prefixes.push(*prefix);
                true
            }
            _ => false,
        };
        if !joined {
            let change = match change {
                RouteChange::Accepted { prefix, best, as_path, next_hop } => RunChange::Accepted {
                    as_path: as_path.clone(),
                    next_hop: next_hop.clone(),
                    routes: vec![(prefix, best)],
                },
                RouteChange::Withdrawn(prefix) => RunChange::Withdrawn { prefixes: vec![prefix] },
            };
            let t = Span(self.now().0);
            self.events.push((t, Emitted::Routes(RouteRun { peer: peer.clone(), change })));
            if self.detail == EventDetail::PerPrefix {
                self.open_runs = [None; 2];
            }
            self.open_runs[kind] = Some(self.events.len() - 1);
        }
        self.weigh();
    }

    /// Every peer's due timers.
    fn timers(&mut self) {
        let now = self.now();
        for i in 0..self.peers.len() {
            if self.peers[i].bgp.next_deadline().is_some_and(|d| d <= now) {
                self.event(i, Event::Tick);
            }
            if self.peers[i].pending.as_ref().and_then(|p| p.session.next_deadline()).is_some_and(|d| d <= now) {
                self.pending_event(i, Event::Tick);
            }
        }
    }

    /// Closes a connection the RFC 4271 §6 way: what we wrote (a NOTIFICATION) is sent, our
    /// side shut for writing, and what the peer still sends drained, so that the kernel does
    /// not answer unread data with a reset that would destroy the NOTIFICATION on its way.
    /// What the connection had not sent yet goes out first.
    fn close_conn(&mut self, c: Conn) {
        let unsent = c.unsent[c.unsent_at..].to_vec();
        self.close_after(c.stream, unsent);
    }

    fn close_after(&mut self, stream: TcpStream, unsent: Vec<u8>) {
        if unsent.is_empty() {
            let _ = stream.shutdown(Shutdown::Write);
        }
        self.closing.push(Closing { stream, unsent, deadline: Instant::now() + CLOSE_DRAIN, drained: 0 });
    }

    /// Writes every connection's unsent bytes that its socket takes now; a connection that
    /// fails is dropped.
    fn flush_all(&mut self) {
        for i in 0..self.peers.len() {
            if let Some(Err(_)) = self.peers[i].pending.as_mut().map(|p| p.conn.flush()) {
                self.peers[i].pending = None;
            }
            if let Some(Err(e)) = self.peers[i].conn.as_mut().map(|c| c.flush()) {
                let name = self.peers[i].name.clone();
                self.log(&name, format!("send failed: {e}"));
                self.peers[i].conn = None;
                self.event(i, Event::TcpFails);
            }
        }
    }

    /// Refuses a connection with `n`, closed as [`Speaker::close_conn`] does.
    fn refuse(&mut self, s: TcpStream, n: Notification) {
        let _ = s.set_nonblocking(true);
        self.close_after(s, Message::Notification(n).encode(true));
    }

    /// Reads and drops what closing connections still receive; forgets each once the peer has
    /// closed, the deadline has passed or [`CLOSE_DRAIN_BYTES`] were read.
    fn drain_closing(&mut self, buf: &mut [u8]) {
        let now = Instant::now();
        self.closing.retain_mut(|c| {
            if now >= c.deadline || c.drained >= CLOSE_DRAIN_BYTES {
                return false;
            }
            // First what we still had to send; then our side is shut for writing.
            if !c.unsent.is_empty() {
                match c.stream.write(&c.unsent) {
                    Ok(n) if n > 0 => {
                        c.unsent.drain(..n);
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock || e.kind() == io::ErrorKind::Interrupted => {}
                    _ => return false,
                }
                if c.unsent.is_empty() {
                    let _ = c.stream.shutdown(Shutdown::Write);
                }
            }
            loop {
                match c.stream.read(buf) {
                    Ok(0) => return !c.unsent.is_empty(),
                    Ok(n) => c.drained += n,
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => return true,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(_) => return false,
                }
            }
        });
    }

    fn command(&mut self, c: Command) {
        match c {
            Command::Announce(ps) => {
                if self.may_originate(&ps) {
                    self.originations.push_back((true, ps));
                }
            }
            Command::Withdraw(ps) => self.originations.push_back((false, ps)),
            Command::ShowRoutes => {
                let rows: Vec<SpeakerEvent> = self
                    .rib
                    .best_routes()
                    .map(|(p, r)| SpeakerEvent::Route {
                        prefix: p.to_string(),
                        peer: self.peers[r.session as usize].name.to_string(),
                        as_path: r.attrs.as_path.as_ref().map(|a| a.to_string()).unwrap_or_default(),
                        next_hop: r.attrs.next_hop.map(|a| a.to_string()).unwrap_or_default(),
                    })
                    .collect();
                for r in rows {
                    self.push(r);
                }
            }
            Command::Clear(ip) => {
                let Some(i) = self.peers.iter().position(|p| p.spec.addr.ip() == ip) else {
                    self.log("local", format!("clear {ip}: not a configured neighbor"));
                    return;
                };
                let name = self.peers[i].name.clone();
                self.log(&name, "cleared by the operator".into());
                if self.peers[i].bgp.state() != State::Idle {
                    let now = self.now();
                    let mut out = Vec::new();
                    self.peers[i].bgp.notify_and_reset(
                        now,
                        Notification::cease(Cease::AdminReset),
                        "cleared by the operator".into(),
                        &mut out,
                    );
                    self.apply(i, out);
                }
                self.event(i, Event::ManualStart);
            }
            Command::Shutdown => unreachable!("handled by the loop"),
        }
    }

    /// Whether `prefixes` (without duplicates: [`Command::Announce`] is sorted and deduplicated
    /// by whoever sends it) may be added to what we originate; if not (more than
    /// [`MAX_ORIGINATED`] in all, counting what is queued), says why in a log line.
    fn may_originate(&mut self, prefixes: &[Ipv4Net]) -> bool {
        let out = self.peers.first().map(|p| p.bgp.adj_rib_out());
        let held = out.map_or(0, |o| o.len());
        let queued: usize = self.originations.iter().filter(|(a, _)| *a).map(|(_, v)| v.len()).sum();
        let new = prefixes.iter().filter(|p| out.is_none_or(|o| !o.contains_key(p))).count();
        if held.saturating_add(queued).saturating_add(new) <= MAX_ORIGINATED {
            return true;
        }
        self.log(
            "local",
            format!(
                "announce of {} prefixes refused: with the {} announced or queued already that is more than the \
                 {MAX_ORIGINATED} this speaker originates (each costs memory per neighbor)",
                prefixes.len(),
                held + queued
            ),
        );
        false
    }

    /// Applies queued announcements and withdrawals, at most [`ORIGINATE_BUDGET`] prefixes per
    /// loop turn (a million-prefix `announce` must not hold up the sessions' timers); returns
    /// whether some are left.
    fn originate_some(&mut self) -> bool {
        let mut budget = ORIGINATE_BUDGET;
        while budget > 0 {
            let Some((announce, mut prefixes)) = self.originations.pop_front() else { return false };
            if prefixes.len() > budget {
                let rest = prefixes.split_off(budget);
                self.originations.push_front((announce, rest));
            }
            budget -= prefixes.len();
            let now = self.now();
            for i in 0..self.peers.len() {
                let mut out = Vec::new();
                if announce {
                    self.peers[i].bgp.announce(now, &prefixes, self.originated.clone(), &mut out);
                } else {
                    self.peers[i].bgp.withdraw(now, &prefixes, &mut out);
                }
                self.apply(i, out);
            }
        }
        !self.originations.is_empty()
    }

    fn incoming(&mut self, s: TcpStream, from: SocketAddr) {
        let Some(i) = self.peers.iter().position(|p| p.spec.addr.ip() == from.ip()) else {
            self.refuse(s, Notification::cease(Cease::ConnectionRejected));
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
        } else if state == State::Idle {
            // Waiting after an error (or held down after max-prefix): no session now.
            self.refuse(s, Notification::cease(Cease::ConnectionRejected));
            let wait = self.peers[i].bgp.next_deadline().map_or("until `clear`".to_string(), |d| {
                format!("for {:.1} s more", d.since(self.now()).as_secs_f64())
            });
            self.log(&name, format!("connection refused in Idle, {wait} (Cease / Connection Rejected)"));
        } else {
            self.refuse(s, Notification::cease(Cease::ConnectionCollision));
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
                    if let Some(p) = self.peers[i].pending.as_mut() {
                        if p.conn.send(&bytes).is_err() {
                            self.peers[i].pending = None;
                        }
                    }
                }
                Action::Disconnect => {
                    if let Some(p) = self.peers[i].pending.take() {
                        self.close_conn(p.conn);
                    }
                    self.log(&name, "second connection closed".into());
                    return;
                }
                Action::StateChange { to: State::OpenConfirm, .. } => decide = true,
                Action::NotificationSent(n, reason) => self.push(SpeakerEvent::NotificationSent {
                    peer: name.to_string(),
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

    /// Reads a colliding second connection, like [`Speaker::read`].
    fn read_pending(&mut self, i: usize, buf: &mut [u8]) -> bool {
        let mut msg = std::mem::take(&mut self.msg);
        let busy = self.read_pending_into(i, buf, &mut msg);
        self.msg = msg;
        busy
    }

    fn read_pending_into(&mut self, i: usize, buf: &mut [u8], msg: &mut Vec<u8>) -> bool {
        let mut taken = 0;
        loop {
            if taken >= READ_BUDGET {
                return true;
            }
            let Some(p) = self.peers[i].pending.as_mut() else { return taken > 0 };
            match p.conn.next_input(buf, msg) {
                Ok(true) => {
                    taken += msg.len();
                    self.pending_event(i, Event::Data(msg));
                }
                Ok(false) => return taken > 0,
                Err(_) => {
                    self.peers[i].pending = None;
                    return false;
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
            let pending = self.peers[i].pending.take().expect("checked");
            self.lose_collision(now, pending.session, pending.conn);
            self.log(
                &name,
                "connection collision: kept the first connection (opened by the higher BGP identifier)".into(),
            );
        } else {
            let pending = self.peers[i].pending.take().expect("checked");
            let old = self.peers[i].bgp.replace_session(pending.session);
            let old_conn = self.peers[i].conn.replace(pending.conn).expect("checked");
            self.lose_collision(now, old, old_conn);
            self.log(
                &name,
                "connection collision: kept the second connection (opened by the higher BGP identifier)".into(),
            );
            self.report_open(i);
        }
    }

    /// The session that lost a collision: Cease / Connection Collision Resolution on its
    /// connection, which is then closed.
    fn lose_collision(&mut self, now: Nanos, mut session: Session, mut conn: Conn) {
        let mut out = Vec::new();
        let n = Notification::cease(Cease::ConnectionCollision);
        session.notify_and_reset(now, n, "connection collision".into(), &mut out);
        for a in out {
            if let Action::Send(bytes) = a {
                conn.unsent.extend_from_slice(&bytes);
            }
        }
        self.close_conn(conn);
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
        let failed = std::mem::take(&mut self.peers[i].connect_failures);
        if failed > 1 {
            let name = self.peers[i].name.clone();
            self.log(&name, format!("connected after {failed} failed attempts"));
        }
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
                // Logged once per streak of failures, with the count when the streak ends.
                let name = self.peers[i].name.clone();
                if self.peers[i].connect_failures == 0 {
                    self.log(&name, format!("connect failed: {e} (retrying; further failures are counted)"));
                }
                self.peers[i].connect_failures += 1;
                if self.peers[i].bgp.state() == State::Connect {
                    self.event(i, Event::TcpFails);
                }
            }
        }
    }

    /// Reads the peer's connection up to [`READ_BUDGET`] bytes; returns whether it read
    /// anything (then more may follow at once: the loop does not sleep).
    fn read(&mut self, i: usize, buf: &mut [u8]) -> bool {
        let mut msg = std::mem::take(&mut self.msg);
        let busy = self.read_into(i, buf, &mut msg);
        self.msg = msg;
        busy
    }

    fn read_into(&mut self, i: usize, buf: &mut [u8], msg: &mut Vec<u8>) -> bool {
        let mut taken = 0;
        loop {
            if taken >= READ_BUDGET {
                return true;
            }
            let Some(conn) = self.peers[i].conn.as_mut() else { return taken > 0 };
            match conn.next_input(buf, msg) {
                Ok(true) => {
                    taken += msg.len();
                    self.event(i, Event::Data(msg));
                }
                Ok(false) => return taken > 0,
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
                    return true;
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
        let name = self.peers[i].name.clone();
        // The text of the path the last accepted routes came with (an UPDATE's prefixes share
        // one attribute set).
        let mut path: Option<(Arc<PathAttributes>, Arc<str>, Arc<str>)> = None;
        self.rib.prefetch(actions.iter().filter_map(|a| match a {
            PeerAction::Accepted { prefix, .. } | PeerAction::Withdrawn { prefix } => Some(*prefix),
            _ => None,
        }));
        for a in actions {
            match a {
                PeerAction::Connect => {
                    if !self.peers[i].connecting {
                        self.peers[i].connecting = true;
                        let tx = self.connect_tx.clone().expect("set before the first event");
                        let (local, peer) = (self.listen_ip, self.peers[i].spec.addr);
                        let protection = self.protection.clone();
                        std::thread::spawn(move || {
                            let _ = tx.send((i, connect_from(local, peer, &protection)));
                        });
                    }
                }
                PeerAction::Send(bytes) => {
                    if let Some(c) = self.peers[i].conn.as_mut() {
                        if let Err(e) = c.send(&bytes) {
                            self.log(&name, format!("send failed: {e}"));
                            self.peers[i].conn = None;
                            self.event(i, Event::TcpFails);
                        }
                    }
                }
                PeerAction::Disconnect => {
                    if let Some(c) = self.peers[i].conn.take() {
                        self.close_conn(c);
                    }
                }
                PeerAction::StateChange { from, to } => {
                    self.push(SpeakerEvent::State {
                        peer: name.to_string(),
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
                PeerAction::OpenReceived(o) => self.push(SpeakerEvent::Open {
                    peer: name.to_string(),
                    asn: o.asn(),
                    hold: (self.peers[i].bgp.session().hold_time().0 / 1_000_000_000) as u16,
                    router_id: o.router_id.to_string(),
                    capabilities: o.capabilities.iter().map(|c| c.name()).collect(),
                }),
                PeerAction::Accepted { prefix, attrs } => {
                    let nb = &self.peers[i];
                    let peer_router_id = nb.bgp.session().peer_open().map_or(Ipv4Addr::UNSPECIFIED, |o| o.router_id);
                    let ebgp = nb.bgp.is_ebgp();
                    let (_, as_path, next_hop) = match path {
                        Some(ref p) if Arc::ptr_eq(&p.0, &attrs) => p,
                        _ => path.insert((
                            attrs.clone(),
                            attrs.as_path.as_ref().map(|a| a.to_string()).unwrap_or_default().into(),
                            attrs.next_hop.map(|a| a.to_string()).unwrap_or_default().into(),
                        )),
                    };
                    let change = self.rib.announce(prefix, Route { session, ebgp, attrs }, peer_router_id);
                    let best = change.is_some_and(|c| c.new == Some(session));
                    self.route(i, RouteChange::Accepted { prefix, best, as_path, next_hop });
                }
                PeerAction::Rejected { prefix, reason } => self.push(SpeakerEvent::Rejected {
                    peer: name.to_string(),
                    prefix,
                    reason: reason.key().to_string(),
                    detail: reason.to_string(),
                }),
                PeerAction::Withdrawn { prefix } => {
                    self.rib.withdraw(session, prefix);
                    self.route(i, RouteChange::Withdrawn(prefix));
                }
                PeerAction::Stale { routes, until } => self.push(SpeakerEvent::GracefulRestart {
                    peer: name.to_string(),
                    stale: routes,
                    restart_time_s: until.since(self.now()).as_secs_f64().round(),
                }),
                PeerAction::RestartDone { withdrawn } => {
                    self.push(SpeakerEvent::RestartDone { peer: name.to_string(), withdrawn })
                }
                PeerAction::AttributeIssue(issue) => {
                    self.log(&name, format!("RFC 7606 {:?}: {}", issue.action, issue.detail))
                }
                PeerAction::Sent { announced, withdrawn } if self.detail == EventDetail::Summary => {
                    self.push(SpeakerEvent::SentBatch {
                        peer: name.clone(),
                        announced: announced.len(),
                        withdrawn: withdrawn.len(),
                    })
                }
                PeerAction::Sent { announced, withdrawn } => {
                    self.push(SpeakerEvent::Sent { peer: name.to_string(), announced, withdrawn })
                }
                PeerAction::NotificationSent(n, reason) => self.push(SpeakerEvent::NotificationSent {
                    peer: name.to_string(),
                    code: n.code,
                    subcode: n.subcode,
                    meaning: n.meaning(),
                    reason,
                }),
                PeerAction::NotificationReceived(n) => self.push(SpeakerEvent::NotificationReceived {
                    peer: name.to_string(),
                    code: n.code,
                    subcode: n.subcode,
                    meaning: n.meaning(),
                }),
            }
        }
        // The next UPDATE's routes start runs of their own.
        self.open_runs = [None; 2];
    }
}
