//! BFD for the speaker's sessions over UDP: one [`xconnect_bfd::Session`] per neighbor, one
//! socket receiving on the local address (RFC 5881 single hop: port 3784; RFC 5883 multihop:
//! 4784) and one sending socket per neighbor from a port in 49152–65535. Single hop sends with
//! TTL 255 and discards what arrives with less, as RFC 5881 §5 asks (read from each packet's
//! IP header: Linux's IP_MINTTL applies to TCP only).

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
        why: BfdDiscard,
        /// Discarded from that address so far.
        count: u64,
    },
}

/// Why a received packet was not used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BfdDiscard {
    /// Single hop, and it arrived with this TTL, not 255 (RFC 5881 §5).
    Ttl(u8),
    /// The packet itself (RFC 5880 §6.8.6).
    Packet(Discard),
}

impl std::fmt::Display for BfdDiscard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BfdDiscard::Ttl(t) => write!(f, "arrived with TTL {t}; single-hop BFD needs 255 (RFC 5881)"),
            BfdDiscard::Packet(d) => d.fmt(f),
        }
    }
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
    /// Single hop: packets must arrive with TTL 255.
    single_hop: bool,
    links: Vec<Link>,
    discards: Vec<(SocketAddr, BfdDiscard, u64)>,
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
        if !cfg.multihop {
            ttl::receive_ttl(&socket, local.is_ipv6())?;
        }
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
        Ok(BfdLink { socket, links, discards: Vec::new(), single_hop: !cfg.multihop })
    }

    /// The earliest time [`BfdLink::poll`] has work without a packet arriving.
    pub fn next_deadline(&self) -> Option<Nanos> {
        self.links.iter().map(|l| l.session.next_deadline()).min()
    }

    /// Reads what arrived, runs the due timers, sends what is due; returns what happened.
    pub fn poll(&mut self, now: Nanos) -> Vec<BfdNews> {
        let mut news = Vec::new();
        let mut buf = [0u8; 512];
        let mut out = Vec::new();
        for _ in 0..READ_BUDGET {
            let Ok((n, from, ttl)) = ttl::recv(&self.socket, &mut buf) else { break };
            let Some(i) = self.links.iter().position(|l| l.to.ip() == from.ip()) else {
                continue;
            };
            if self.single_hop && ttl.is_some_and(|t| t < 255) {
                self.discarded(from, BfdDiscard::Ttl(ttl.unwrap_or(0)), &mut news);
                continue;
            }
            if let Err(why) = self.links[i].session.receive(now, &buf[..n], &mut out) {
                self.discarded(from, BfdDiscard::Packet(why), &mut news);
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

    fn discarded(&mut self, from: SocketAddr, why: BfdDiscard, news: &mut Vec<BfdNews>) {
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

/// Each packet's TTL (IPv6: hop limit), from the control message the kernel adds when asked.
#[cfg(target_os = "linux")]
mod ttl {
    use std::io;
    use std::net::{SocketAddr, UdpSocket};
    use std::os::fd::AsRawFd;

    /// Asks the kernel to report each packet's TTL.
    pub fn receive_ttl(s: &UdpSocket, v6: bool) -> io::Result<()> {
        let (level, name) =
            if v6 { (libc::IPPROTO_IPV6, libc::IPV6_RECVHOPLIMIT) } else { (libc::IPPROTO_IP, libc::IP_RECVTTL) };
        crate::protect::setsockopt(s, level, name, &(1 as libc::c_int))
    }

    /// One packet: its length, sender and TTL (`None` when the kernel did not say).
    pub fn recv(s: &UdpSocket, buf: &mut [u8]) -> io::Result<(usize, SocketAddr, Option<u8>)> {
        let mut from: libc::sockaddr_storage = unsafe_zeroed();
        let mut iov = libc::iovec { iov_base: buf.as_mut_ptr().cast(), iov_len: buf.len() };
        // Room for one control message of an int, 8-byte aligned.
        let mut control = [0u64; 8];
        let mut msg: libc::msghdr = unsafe_zeroed();
        msg.msg_name = (&mut from as *mut libc::sockaddr_storage).cast();
        msg.msg_namelen = std::mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t;
        msg.msg_iov = &mut iov;
        msg.msg_iovlen = 1;
        msg.msg_control = control.as_mut_ptr().cast();
        msg.msg_controllen = std::mem::size_of_val(&control) as _;
        // SAFETY: every pointer in `msg` points at a live local (`from`, `iov` over `buf`,
        // `control`) with its true size, for the duration of the call; the descriptor is `s`'s
        // (non-blocking: it returns at once).
        #[allow(unsafe_code)]
        let n = unsafe { libc::recvmsg(s.as_raw_fd(), &mut msg, 0) };
        if n < 0 {
            return Err(io::Error::last_os_error());
        }
        let mut ttl = None;
        // SAFETY: the CMSG_* walk stays within `msg.msg_control`/`msg_controllen` as the kernel
        // filled them; the data of an IP_TTL or IPV6_HOPLIMIT message is one c_int.
        #[allow(unsafe_code)]
        unsafe {
            let mut c = libc::CMSG_FIRSTHDR(&msg);
            while !c.is_null() {
                let h = &*c;
                if (h.cmsg_level == libc::IPPROTO_IP && h.cmsg_type == libc::IP_TTL)
                    || (h.cmsg_level == libc::IPPROTO_IPV6 && h.cmsg_type == libc::IPV6_HOPLIMIT)
                {
                    let v = std::ptr::read_unaligned(libc::CMSG_DATA(c).cast::<libc::c_int>());
                    ttl = u8::try_from(v).ok();
                }
                c = libc::CMSG_NXTHDR(&msg, c);
            }
        }
        let addr = socket2_addr(&from, msg.msg_namelen)?;
        Ok((n as usize, addr, ttl))
    }

    fn socket2_addr(from: &libc::sockaddr_storage, len: libc::socklen_t) -> io::Result<SocketAddr> {
        // SAFETY: `from` holds `len` bytes of a socket address the kernel wrote.
        #[allow(unsafe_code)]
        let a = unsafe {
            socket2::SockAddr::try_init(|storage, l| {
                std::ptr::copy_nonoverlapping(
                    (from as *const libc::sockaddr_storage).cast::<u8>(),
                    storage.cast::<u8>(),
                    len as usize,
                );
                *l = len;
                Ok(())
            })
        }?
        .1;
        a.as_socket().ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "not an IP sender"))
    }

    fn unsafe_zeroed<T>() -> T {
        // SAFETY: only called for libc's plain C structs (sockaddr_storage, msghdr), for
        // which all zeroes is a valid value.
        #[allow(unsafe_code)]
        unsafe {
            std::mem::zeroed()
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn a_single_hop_packet_below_ttl_255_is_discarded() {
            let r = UdpSocket::bind("127.0.0.132:0").unwrap();
            receive_ttl(&r, false).unwrap();
            r.set_read_timeout(Some(std::time::Duration::from_secs(1))).unwrap();
            let s = UdpSocket::bind("127.0.0.133:0").unwrap();
            for ttl in [64u32, 255] {
                s.set_ttl(ttl).unwrap();
                s.send_to(b"bfd", r.local_addr().unwrap()).unwrap();
                let mut buf = [0u8; 16];
                let (n, from, got) = recv(&r, &mut buf).unwrap();
                assert_eq!((&buf[..n], from, got), (&b"bfd"[..], s.local_addr().unwrap(), Some(ttl as u8)));
            }
        }
    }
}

#[cfg(not(target_os = "linux"))]
mod ttl {
    use std::io;
    use std::net::{SocketAddr, UdpSocket};

    pub fn receive_ttl(_: &UdpSocket, _: bool) -> io::Result<()> {
        Err(io::Error::new(io::ErrorKind::Unsupported, "single-hop BFD is supported on Linux only"))
    }

    pub fn recv(s: &UdpSocket, buf: &mut [u8]) -> io::Result<(usize, SocketAddr, Option<u8>)> {
        s.recv_from(buf).map(|(n, a)| (n, a, None))
    }
}
