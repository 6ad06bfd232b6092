//! BFD for the speaker's sessions over UDP: one [`xconnect_bfd::Session`] per neighbor, one
//! socket receiving on the local address (RFC 5881 single hop: port 3784; RFC 5883 multihop:
//! 4784) and one sending socket per neighbor from a port in 49152–65535. Single hop sends with
//! TTL 255, as RFC 5881 asks.

use std::io;
use std::net::{IpAddr, SocketAddr, UdpSocket};

use xconnect_bfd::{Action, Diag, Discard, Session, State, Timers};
use xconnect_time::Nanos;

/// BFD as configured (`--bfd TX_MS,RX_MS,MULT`, `--bfd-multihop`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BfdConfig {
    /// The timers of every session.
    pub timers: Timers,
    /// Multihop (port 4784) instead of single hop (port 3784).
    pub multihop: bool,
}

impl BfdConfig {
    /// The UDP port packets go to.
    pub fn port(&self) -> u16 {
        if self.multihop {
            4784
        } else {
            3784
        }
    }
}

/// What happened to a neighbor's BFD session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BfdNews {
    /// Its state changed.
    State {
        /// The neighbor (index in the speaker's list).
        peer: usize,
        /// Before.
        from: State,
        /// After.
        to: State,
        /// Why.
        diag: Diag,
    },
    /// A packet was discarded (the first of a kind from an address, then every 1,000th).
    Discarded {
        /// Who sent it.
        from: SocketAddr,
        /// Why.
        why: Discard,
        /// Discarded from that address so far.
        count: u64,
    },
}

#[derive(Debug)]
struct Link {
    session: Session,
    socket: UdpSocket,
    to: SocketAddr,
}

/// The speaker's BFD sessions and sockets.
#[derive(Debug)]
pub struct BfdLink {
    socket: UdpSocket,
    links: Vec<Link>,
    discards: Vec<(SocketAddr, Discard, u64)>,
}

/// Packets read from the socket per call of [`BfdLink::poll`] at most.
const READ_BUDGET: usize = 256;

impl BfdLink {
    /// Sockets bound on `local`, a session per neighbor in `peers` (in the speaker's order).
    pub fn open(cfg: BfdConfig, local: IpAddr, peers: &[IpAddr], now: Nanos) -> io::Result<BfdLink> {
        let bound = |port: u16| -> io::Result<UdpSocket> {
            let s = socket2::Socket::new(
                socket2::Domain::for_address(SocketAddr::new(local, 0)),
                socket2::Type::DGRAM,
                None,
            )?;
            if !cfg.multihop {
                if local.is_ipv6() {
                    s.set_unicast_hops_v6(255)?;
                } else {
                    s.set_ttl_v4(255)?;
                }
            }
            s.bind(&SocketAddr::new(local, port).into())?;
            s.set_nonblocking(true)?;
            Ok(s.into())
        };
        let socket = bound(cfg.port())
            .map_err(|e| io::Error::new(e.kind(), format!("BFD: cannot listen on {local} port {}: {e}", cfg.port())))?;
        let mut links = Vec::new();
        let mut port = 49152u16;
        for (i, peer) in peers.iter().enumerate() {
            let sender = loop {
                match bound(port) {
                    Ok(s) => break s,
                    Err(e) if e.kind() == io::ErrorKind::AddrInUse && port < u16::MAX => port += 1,
                    Err(e) => return Err(io::Error::new(e.kind(), format!("BFD: no source port for {peer}: {e}"))),
                }
            };
            port = port.saturating_add(1);
            // Unique on this system: the process and the neighbor's place.
            let disc = ((std::process::id() & 0xffff) << 16) | (i as u32 + 1);
            links.push(Link {
                session: Session::new(cfg.timers, disc, now),
                socket: sender,
                to: SocketAddr::new(*peer, cfg.port()),
            });
        }
        Ok(BfdLink { socket, links, discards: Vec::new() })
    }

    /// The earliest time [`BfdLink::poll`] has work without a packet arriving.
    pub fn next_deadline(&self) -> Option<Nanos> {
        self.links.iter().map(|l| l.session.next_deadline()).min()
    }

    /// A neighbor's session state.
    pub fn state(&self, peer: usize) -> State {
        self.links[peer].session.state()
    }

    /// Reads what arrived, runs the due timers, sends what is due; returns what happened.
    pub fn poll(&mut self, now: Nanos) -> Vec<BfdNews> {
        let mut news = Vec::new();
        let mut buf = [0u8; 512];
        let mut out = Vec::new();
        for _ in 0..READ_BUDGET {
            let Ok((n, from)) = self.socket.recv_from(&mut buf) else { break };
            let Some(i) = self.links.iter().position(|l| l.to.ip() == from.ip()) else {
                continue;
            };
            if let Err(why) = self.links[i].session.receive(now, &buf[..n], &mut out) {
                self.discarded(from, why, &mut news);
            }
            self.carry_out(i, &mut out, &mut news);
        }
        for i in 0..self.links.len() {
            if self.links[i].session.next_deadline() <= now {
                self.links[i].session.tick(now, &mut out);
                self.carry_out(i, &mut out, &mut news);
            }
        }
        news
    }

    /// Every session AdminDown, told to the neighbors (the speaker is stopping).
    pub fn shutdown(&mut self, now: Nanos) {
        let mut out = Vec::new();
        for i in 0..self.links.len() {
            self.links[i].session.admin_down(now, &mut out);
            self.carry_out(i, &mut out, &mut Vec::new());
        }
    }

    fn carry_out(&mut self, i: usize, out: &mut Vec<Action>, news: &mut Vec<BfdNews>) {
        for a in out.drain(..) {
            match a {
                // A packet that cannot go (no route yet, buffer full) is like one lost: BFD
                // is made for that.
                Action::Send(p) => {
                    let _ = self.links[i].socket.send_to(&p, self.links[i].to);
                }
                Action::StateChange { from, to, diag } => news.push(BfdNews::State { peer: i, from, to, diag }),
            }
        }
    }

    fn discarded(&mut self, from: SocketAddr, why: Discard, news: &mut Vec<BfdNews>) {
        let count = match self.discards.iter_mut().find(|(a, w, _)| a.ip() == from.ip() && *w == why) {
            Some((_, _, n)) => {
                *n += 1;
                *n
            }
            None => {
                self.discards.push((from, why, 1));
                1
            }
        };
        if count == 1 || count.is_multiple_of(1000) {
            news.push(BfdNews::Discarded { from, why, count });
        }
    }
}
