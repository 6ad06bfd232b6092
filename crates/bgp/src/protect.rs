//! Session protection on the sockets: TCP-MD5 signatures (RFC 2385) and the Generalized TTL
//! Security Mechanism (GTSM, RFC 5082), both done by the kernel once the options are set.
//!
//! - **TCP-MD5**: every segment to and from a configured peer carries an MD5 signature over the
//!   segment and a shared key. The key is set per peer address on the listening socket (an
//!   accepted connection inherits it) and on each outgoing socket before it connects. A
//!   segment with a wrong or missing signature is dropped by the kernel without a word to the
//!   application; the kernel counts it (`TcpExtTCPMD5Failure`, `TcpExtTCPMD5NotFound`,
//!   `TcpExtTCPMD5Unexpected` in `/proc/net/netstat`), and [`KernelDrops`] reads those counts
//!   so the speaker can say why a session does not come up.
//! - **GTSM**: we send with TTL (IPv6: hop limit) 255 and the kernel drops what arrives with
//!   less than 256 - hops (`IP_MINTTL`, `IPV6_MINHOPCOUNT`): a directly connected peer (1 hop,
//!   as BIRD counts) must arrive with 255, which no packet from beyond a router can. Drops are
//!   counted in `TcpExtTCPMinTTLDrop`.
//!
//! Linux only; elsewhere asking for either is an error, not a silent no-op.

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::path::Path;

/// The longest TCP-MD5 key the kernel takes (`TCP_MD5SIG_MAXKEYLEN`).
pub const MD5_MAX_KEY: usize = 80;

/// A TCP-MD5 key, read from a file (never from the command line or the environment, where `ps`
/// and `/proc` would show it). Its `Debug` does not show it either.
#[derive(Clone, PartialEq, Eq)]
pub struct Md5Key(Vec<u8>);

impl std::fmt::Debug for Md5Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Md5Key({} bytes)", self.0.len())
    }
}

impl Md5Key {
    /// The key in `path`: the file's bytes without one final newline (`\n` or `\r\n`), 1 to
    /// [`MD5_MAX_KEY`] bytes.
    /// Only a regular file is read, and only as far as a key can go: a device (`/dev/zero`)
    /// or a pipe would never end.
    pub fn read(path: &Path) -> Result<Md5Key, String> {
        use std::io::Read;
        let cannot = |e: &dyn std::fmt::Display| format!("{}: cannot read the TCP-MD5 key: {e}", path.display());
        let file = std::fs::File::open(path).map_err(|e| cannot(&e))?;
        if !file.metadata().map_err(|e| cannot(&e))?.is_file() {
            return Err(cannot(&"not a regular file"));
        }
        // One byte more than the longest key with its newline tells a key too long.
        let mut bytes = Vec::with_capacity(MD5_MAX_KEY + 3);
        file.take(MD5_MAX_KEY as u64 + 3).read_to_end(&mut bytes).map_err(|e| cannot(&e))?;
        if bytes.len() > MD5_MAX_KEY + 2 {
            return Err(format!("{}: the TCP-MD5 key is longer than {MD5_MAX_KEY} bytes", path.display()));
        }
        Md5Key::new(bytes).map_err(|e| format!("{}: {e}", path.display()))
    }

    /// A key of 1 to [`MD5_MAX_KEY`] bytes (one final newline removed).
    pub fn new(mut bytes: Vec<u8>) -> Result<Md5Key, String> {
        if bytes.last() == Some(&b'\n') {
            bytes.pop();
            if bytes.last() == Some(&b'\r') {
                bytes.pop();
            }
        }
        match bytes.len() {
            0 => Err("the TCP-MD5 key is empty: expected 1 to 80 bytes".into()),
            n if n > MD5_MAX_KEY => {
                Err(format!("the TCP-MD5 key is {n} bytes long: the kernel takes at most {MD5_MAX_KEY}"))
            }
            _ => Ok(Md5Key(bytes)),
        }
    }
}

/// What protects the sessions' sockets.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Protection {
    /// The TCP-MD5 key shared with every peer.
    pub md5: Option<Md5Key>,
    /// GTSM: the peers' distance in hops (1: directly connected); `None`: off.
    pub ttl_security_hops: Option<u8>,
}

impl Protection {
    /// Whether anything is on.
    pub fn is_on(&self) -> bool {
        self.md5.is_some() || self.ttl_security_hops.is_some()
    }

    /// The smallest TTL accepted from a peer with GTSM on: 256 - hops.
    pub fn min_ttl(&self) -> Option<u8> {
        self.ttl_security_hops.map(|h| (256 - u16::from(h.max(1))) as u8)
    }

    /// Sets the options on the socket listening on `local`, with the MD5 key for each of
    /// `peers` (an accepted connection inherits them all).
    pub fn listener(
        &self,
        s: &socket2::Socket,
        local: SocketAddr,
        peers: impl Iterator<Item = IpAddr>,
    ) -> io::Result<()> {
        if let Some(key) = &self.md5 {
            for p in peers {
                set_md5(s, p, key)?;
            }
        }
        self.ttl(s, local.is_ipv6())
    }

    /// Sets the options on a socket about to connect to `peer`.
    pub fn outgoing(&self, s: &socket2::Socket, peer: IpAddr) -> io::Result<()> {
        if let Some(key) = &self.md5 {
            set_md5(s, peer, key)?;
        }
        self.ttl(s, peer.is_ipv6())
    }

    fn ttl(&self, s: &socket2::Socket, v6: bool) -> io::Result<()> {
        let Some(min) = self.min_ttl() else { return Ok(()) };
        if v6 {
            s.set_unicast_hops_v6(255)?;
        } else {
            s.set_ttl_v4(255)?;
        }
        set_min_ttl(s, v6, min)
    }
}

#[cfg(target_os = "linux")]
mod sys {
    use std::io;
    use std::net::{IpAddr, SocketAddr};
    use std::os::fd::AsRawFd;

    use super::{Md5Key, MD5_MAX_KEY};

    /// `struct tcp_md5sig` of <linux/tcp.h>.
    #[repr(C)]
    struct TcpMd5Sig {
        addr: libc::sockaddr_storage,
        flags: u8,
        prefixlen: u8,
        keylen: u16,
        ifindex: libc::c_int,
        key: [u8; MD5_MAX_KEY],
    }

    /// `setsockopt(2)` with `value` as the option.
    pub(crate) fn setsockopt<T>(s: &impl AsRawFd, level: libc::c_int, name: libc::c_int, value: &T) -> io::Result<()> {
        // SAFETY: `value` is a live, initialized `T` for the whole call and the length passed is
        // its size, so the kernel reads only inside it; the descriptor belongs to `s`, which
        // outlives the call. Exercised by the tests of this module (TCP_MD5SIG, IP_MINTTL and
        // IPV6_MINHOPCOUNT set and read back or seen working), by bfd_link's (IP_RECVTTL) and
        // by the BIRD interop tests.
        #[allow(unsafe_code)]
        let r = unsafe {
            libc::setsockopt(
                s.as_raw_fd(),
                level,
                name,
                (value as *const T).cast(),
                std::mem::size_of::<T>() as libc::socklen_t,
            )
        };
        if r == 0 {
            Ok(())
        } else {
            Err(io::Error::last_os_error())
        }
    }

    pub fn set_md5(s: &socket2::Socket, peer: IpAddr, key: &Md5Key) -> io::Result<()> {
        let addr = socket2::SockAddr::from(SocketAddr::new(peer, 0));
        // SAFETY: sockaddr_storage is plain old data for which all zeroes is a valid value.
        #[allow(unsafe_code)]
        let mut sig = TcpMd5Sig {
            addr: unsafe { std::mem::zeroed() },
            flags: 0,
            prefixlen: 0,
            keylen: key.0.len() as u16,
            ifindex: 0,
            key: [0; MD5_MAX_KEY],
        };
        // SAFETY: `addr.as_ptr()` points at `addr.len()` initialized bytes of a socket address,
        // at most the size of sockaddr_storage, which `sig.addr` is; the two do not overlap.
        #[allow(unsafe_code)]
        unsafe {
            std::ptr::copy_nonoverlapping(
                addr.as_ptr().cast::<u8>(),
                (&mut sig.addr as *mut libc::sockaddr_storage).cast::<u8>(),
                addr.len() as usize,
            );
        }
        sig.key[..key.0.len()].copy_from_slice(&key.0);
        setsockopt(s, libc::IPPROTO_TCP, libc::TCP_MD5SIG, &sig)
            .map_err(|e| io::Error::new(e.kind(), format!("setting the TCP-MD5 key for {peer}: {e}")))
    }

    pub fn set_min_ttl(s: &socket2::Socket, v6: bool, min: u8) -> io::Result<()> {
        let (level, name) =
            if v6 { (libc::IPPROTO_IPV6, libc::IPV6_MINHOPCOUNT) } else { (libc::IPPROTO_IP, libc::IP_MINTTL) };
        setsockopt(s, level, name, &libc::c_int::from(min))
            .map_err(|e| io::Error::new(e.kind(), format!("setting the minimum TTL {min} (GTSM): {e}")))
    }
}

#[cfg(not(target_os = "linux"))]
mod sys {
    use std::io;
    use std::net::IpAddr;

    use super::Md5Key;

    pub fn set_md5(_: &socket2::Socket, _: IpAddr, _: &Md5Key) -> io::Result<()> {
        Err(io::Error::new(io::ErrorKind::Unsupported, "TCP-MD5 is supported on Linux only"))
    }

    pub fn set_min_ttl(_: &socket2::Socket, _: bool, _: u8) -> io::Result<()> {
        Err(io::Error::new(io::ErrorKind::Unsupported, "GTSM is supported on Linux only"))
    }
}

#[cfg(target_os = "linux")]
pub(crate) use sys::setsockopt;
use sys::{set_md5, set_min_ttl};

/// The kernel's counts of segments it dropped for protection (system-wide, since boot).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct KernelDrops {
    /// TCP-MD5: wrong signature, or none where one was expected, or one where none was.
    pub md5: u64,
    /// GTSM: below the minimum TTL.
    pub min_ttl: u64,
}

impl KernelDrops {
    /// The counts now (zeroes where the kernel does not report them).
    pub fn now() -> KernelDrops {
        std::fs::read_to_string("/proc/net/netstat").map(|t| KernelDrops::parse(&t)).unwrap_or_default()
    }

    /// The counts in the text of `/proc/net/netstat` (pairs of lines: names, then values).
    pub fn parse(netstat: &str) -> KernelDrops {
        let mut d = KernelDrops::default();
        let lines: Vec<&str> = netstat.lines().collect();
        for pair in lines.chunks_exact(2) {
            let (Some(names), Some(values)) = (pair[0].strip_prefix("TcpExt:"), pair[1].strip_prefix("TcpExt:")) else {
                continue;
            };
            for (name, value) in names.split_whitespace().zip(values.split_whitespace()) {
                let v: u64 = value.parse().unwrap_or(0);
                match name {
                    "TCPMD5Failure" | "TCPMD5NotFound" | "TCPMD5Unexpected" => d.md5 += v,
                    "TCPMinTTLDrop" => d.min_ttl += v,
                    _ => {}
                }
            }
        }
        d
    }

    /// What happened since `before`.
    pub fn since(self, before: KernelDrops) -> KernelDrops {
        KernelDrops { md5: self.md5.saturating_sub(before.md5), min_ttl: self.min_ttl.saturating_sub(before.min_ttl) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_1_to_80_bytes_without_the_final_newline() {
        assert_eq!(Md5Key::new(b"secret\n".to_vec()).unwrap(), Md5Key(b"secret".to_vec()));
        assert_eq!(Md5Key::new(b"secret\r\n".to_vec()).unwrap(), Md5Key(b"secret".to_vec()));
        assert_eq!(Md5Key::new(b"two\n\n".to_vec()).unwrap(), Md5Key(b"two\n".to_vec()), "only one newline goes");
        assert!(Md5Key::new(b"\n".to_vec()).unwrap_err().contains("empty"));
        assert!(Md5Key::new(vec![b'k'; 81]).unwrap_err().contains("81 bytes"));
        assert!(Md5Key::new(vec![b'k'; 80]).is_ok());
        assert_eq!(format!("{:?}", Md5Key::new(b"secret".to_vec()).unwrap()), "Md5Key(6 bytes)");
        let e = Md5Key::read(Path::new("/nonexistent/key")).unwrap_err();
        assert!(e.starts_with("/nonexistent/key: cannot read the TCP-MD5 key"), "{e}");
        // A device never ends: refused, not read.
        let e = Md5Key::read(Path::new("/dev/zero")).unwrap_err();
        assert_eq!(e, "/dev/zero: cannot read the TCP-MD5 key: not a regular file");
        // A huge file is read only as far as a key goes.
        let dir = std::env::temp_dir().join(format!("md5-key-{}", std::process::id()));
        std::fs::write(&dir, vec![b'k'; 1 << 20]).unwrap();
        let e = Md5Key::read(&dir).unwrap_err();
        std::fs::remove_file(&dir).unwrap();
        assert!(e.ends_with("the TCP-MD5 key is longer than 80 bytes"), "{e}");
    }

    #[test]
    fn min_ttl_is_256_minus_hops() {
        let p = |h| Protection { md5: None, ttl_security_hops: h };
        assert_eq!(p(None).min_ttl(), None);
        assert_eq!(p(Some(1)).min_ttl(), Some(255));
        assert_eq!(p(Some(2)).min_ttl(), Some(254));
        assert_eq!(p(Some(255)).min_ttl(), Some(1));
        assert_eq!(p(Some(0)).min_ttl(), Some(255), "0 hops is taken as a direct peer");
    }

    #[test]
    fn kernel_counters_are_read_from_netstat_text() {
        let text = "TcpExt: SyncookiesSent TCPMD5NotFound TCPMD5Unexpected TCPMD5Failure TCPMinTTLDrop\n\
                    TcpExt: 0 2 1 7 3\n\
                    IpExt: InNoRoutes TCPMD5Failure\n\
                    IpExt: 0 99\n";
        assert_eq!(KernelDrops::parse(text), KernelDrops { md5: 10, min_ttl: 3 });
        let later = KernelDrops { md5: 12, min_ttl: 3 };
        assert_eq!(later.since(KernelDrops::parse(text)), KernelDrops { md5: 2, min_ttl: 0 });
        assert_eq!(KernelDrops::parse("garbage"), KernelDrops::default());
    }

    /// The options are accepted by this kernel on real sockets, and GTSM works: a client
    /// sending with TTL 64 cannot connect to a listener that wants 255, one sending 255 can.
    #[cfg(target_os = "linux")]
    #[test]
    fn options_take_on_real_sockets_and_gtsm_drops_a_low_ttl() {
        use std::net::{Ipv4Addr, TcpListener};
        use std::time::Duration;
        let on = Protection { md5: None, ttl_security_hops: Some(1) };
        let s = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
        let local = SocketAddr::from((Ipv4Addr::LOCALHOST, 0));
        s.bind(&local.into()).unwrap();
        on.listener(&s, local, std::iter::empty()).unwrap();
        assert_eq!(s.ttl_v4().unwrap(), 255);
        s.listen(4).unwrap();
        let listener: TcpListener = s.into();
        let to = listener.local_addr().unwrap();
        let connect = |ttl: u32| {
            let c = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
            c.set_ttl_v4(ttl).unwrap();
            c.connect_timeout(&to.into(), Duration::from_millis(400))
        };
        let before = KernelDrops::now();
        assert!(connect(64).is_err(), "a SYN with TTL 64 is dropped");
        assert!(KernelDrops::now().since(before).min_ttl >= 1, "and counted");
        connect(255).expect("a SYN with TTL 255 gets through");

        let s = socket2::Socket::new(socket2::Domain::IPV6, socket2::Type::STREAM, None).unwrap();
        on.outgoing(&s, "::1".parse().unwrap()).unwrap();
        assert_eq!(s.unicast_hops_v6().unwrap(), 255);
    }

    /// TCP-MD5 works: with the listener's key a client connects; with another key or none
    /// its SYN is dropped, and the kernel counts it.
    #[cfg(target_os = "linux")]
    #[test]
    fn md5_lets_only_the_right_key_in() {
        use std::net::{Ipv4Addr, TcpListener};
        use std::time::Duration;
        let with = |k: &[u8]| Protection { md5: Some(Md5Key::new(k.to_vec()).unwrap()), ttl_security_hops: None };
        let here = IpAddr::from(Ipv4Addr::LOCALHOST);
        let s = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
        let local = SocketAddr::new(here, 0);
        s.bind(&local.into()).unwrap();
        with(b"secret").listener(&s, local, std::iter::once(here)).unwrap();
        s.listen(4).unwrap();
        let listener: TcpListener = s.into();
        let to = listener.local_addr().unwrap();
        let connect = |p: Option<Protection>| {
            let c = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
            if let Some(p) = p {
                p.outgoing(&c, here).unwrap();
            }
            c.connect_timeout(&to.into(), Duration::from_millis(400))
        };
        let before = KernelDrops::now();
        assert!(connect(Some(with(b"wrong"))).is_err(), "a wrong key does not connect");
        assert!(connect(None).is_err(), "no key does not connect");
        assert!(KernelDrops::now().since(before).md5 >= 2, "and both are counted");
        connect(Some(with(b"secret"))).expect("the right key connects");
    }
}
