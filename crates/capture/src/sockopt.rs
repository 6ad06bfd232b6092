//! The socket calls that neither pnet nor socket2 offer, as safe functions: the only `unsafe`
//! of the crate, each call with what makes it sound. Exercised by the unit tests below (on
//! UDP sockets) and on packet sockets by `crates/cli/tests/live.rs` (as root).
#![allow(unsafe_code)]

use std::io;
use std::os::fd::{AsRawFd, RawFd};

/// `SOL_PACKET` options (linux/if_packet.h).
const PACKET_STATISTICS: libc::c_int = 6;
const PACKET_IGNORE_OUTGOING: libc::c_int = 23;

/// `SO_TIMESTAMPNS` (= `SCM_TIMESTAMPNS`), asm-generic/socket.h: x86-64 and aarch64 (a
/// 64-bit `time_t`).
const SO_TIMESTAMPNS: libc::c_int = 35;

/// `struct tpacket_stats` (linux/if_packet.h): two unsigned ints.
#[repr(C)]
#[derive(Default)]
struct TpacketStats {
    tp_packets: libc::c_uint,
    tp_drops: libc::c_uint,
}

fn set_int(fd: RawFd, level: libc::c_int, name: libc::c_int, value: libc::c_int) -> io::Result<()> {
    // SAFETY: `value` is a live c_int on this stack frame and the length passed is its size;
    // the kernel only reads that many bytes. A bad descriptor is an error, not undefined
    // behaviour.
    let r = unsafe {
        libc::setsockopt(
            fd,
            level,
            name,
            (&value as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if r == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// `PACKET_IGNORE_OUTGOING`: the socket no longer sees the frames this host sends.
pub fn ignore_outgoing(socket: &impl AsRawFd) -> io::Result<()> {
    set_int(socket.as_raw_fd(), libc::SOL_PACKET, PACKET_IGNORE_OUTGOING, 1)
}

/// `SO_RCVBUFFORCE` (root only): a receive buffer beyond `net.core.rmem_max`.
pub fn force_recv_buffer(socket: &impl AsRawFd, bytes: usize) -> io::Result<()> {
    set_int(socket.as_raw_fd(), libc::SOL_SOCKET, libc::SO_RCVBUFFORCE, bytes.min(i32::MAX as usize) as libc::c_int)
}

/// `PACKET_STATISTICS`: (frames, drops) since the last call; the kernel resets both.
pub fn packet_statistics(fd: RawFd) -> io::Result<(u32, u32)> {
    let mut stats = TpacketStats::default();
    let mut len = std::mem::size_of::<TpacketStats>() as libc::socklen_t;
    // SAFETY: `stats` is a live, writable `repr(C)` struct of the layout the kernel fills for
    // this option, and `len` says its size; the kernel writes at most `len` bytes and updates
    // `len`. A bad descriptor or a socket of another family is an error.
    let r = unsafe {
        libc::getsockopt(fd, libc::SOL_PACKET, PACKET_STATISTICS, (&mut stats as *mut TpacketStats).cast(), &mut len)
    };
    if r == 0 {
        Ok((stats.tp_packets, stats.tp_drops))
    } else {
        Err(io::Error::last_os_error())
    }
}

/// `SO_TIMESTAMPNS`: every frame received carries the kernel's time of its arrival.
pub fn enable_timestamps(fd: RawFd) -> io::Result<()> {
    set_int(fd, libc::SOL_SOCKET, SO_TIMESTAMPNS, 1)
}

/// Waits up to `timeout_ms` for something to read (`true`) or nothing (`false`).
pub fn wait_readable(fd: RawFd, timeout_ms: i32) -> io::Result<bool> {
    let mut p = libc::pollfd { fd, events: libc::POLLIN, revents: 0 };
    // SAFETY: one live, initialized pollfd and the count 1; the kernel writes only `revents`.
    let r = unsafe { libc::poll(&mut p, 1, timeout_ms) };
    match r {
        0 => Ok(false),
        r if r > 0 => Ok(true),
        _ => Err(io::Error::last_os_error()),
    }
}

/// One non-blocking receive into `buf` with the kernel's arrival time (ns since the Unix
/// epoch) when the socket has [`enable_timestamps`]. A frame longer than `buf` is cut to it.
pub fn recv_stamped(fd: RawFd, buf: &mut [u8]) -> io::Result<(usize, Option<u64>)> {
    let mut iov = libc::iovec { iov_base: buf.as_mut_ptr().cast(), iov_len: buf.len() };
    // Room for a few control messages, aligned for cmsghdr.
    let mut control = [0u64; 16];
    // SAFETY: an all-zero msghdr is valid (no name, no buffers).
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.as_mut_ptr().cast();
    msg.msg_controllen = std::mem::size_of_val(&control);
    // SAFETY: `msg` points to one iovec over `buf` (live, writable, its length given) and to
    // `control` (live, writable, its length given); the kernel writes within them and updates
    // the lengths.
    let n = unsafe { libc::recvmsg(fd, &mut msg, libc::MSG_DONTWAIT) };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    let mut stamp = None;
    // SAFETY: `msg` is the header recvmsg filled; CMSG_FIRSTHDR and CMSG_NXTHDR only walk
    // within `msg_control` up to the `msg_controllen` the kernel set, and return null past it.
    let mut c = unsafe { libc::CMSG_FIRSTHDR(&msg) };
    while !c.is_null() {
        // SAFETY: `c` is non-null and within `control` (above).
        let h = unsafe { &*c };
        if h.cmsg_level == libc::SOL_SOCKET && h.cmsg_type == SO_TIMESTAMPNS {
            // SAFETY: an SCM_TIMESTAMPNS message carries one timespec after its header; it may
            // not be aligned for timespec, hence the unaligned read.
            let t: libc::timespec = unsafe { std::ptr::read_unaligned(libc::CMSG_DATA(c).cast()) };
            stamp = Some(t.tv_sec as u64 * 1_000_000_000 + t.tv_nsec as u64);
        }
        // SAFETY: as for CMSG_FIRSTHDR.
        c = unsafe { libc::CMSG_NXTHDR(&msg, c) };
    }
    Ok((n as usize, stamp))
}

/// The most frames one [`send_many`] hands the kernel.
pub const SEND_BATCH: usize = 64;

/// Clears `O_NONBLOCK`: a send waits for room in the socket's buffer instead of failing.
pub fn set_blocking(fd: RawFd) -> io::Result<()> {
    // SAFETY: F_GETFL and F_SETFL take and return plain integers; a bad descriptor is an
    // error.
    let flags = unsafe { libc::fcntl(fd, libc::F_GETFL) };
    if flags < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: as above.
    if unsafe { libc::fcntl(fd, libc::F_SETFL, flags & !libc::O_NONBLOCK) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Sends `frames` (ranges of `buf`, at most [`SEND_BATCH`]) on a bound packet socket with as
/// few `sendmmsg` calls as the kernel allows. Returns how many were sent before an error, and
/// the error (a frame the kernel refuses, e.g. longer than the MTU, stops the batch there).
pub fn send_many(fd: RawFd, buf: &[u8], frames: &[(usize, usize)]) -> (usize, Option<io::Error>) {
    assert!(frames.len() <= SEND_BATCH, "at most SEND_BATCH frames");
    assert!(frames.iter().all(|&(at, len)| at.checked_add(len).is_some_and(|end| end <= buf.len())));
    // SAFETY: all-zero iovec and mmsghdr values are valid (null pointers, zero lengths).
    let mut iov: [libc::iovec; SEND_BATCH] = unsafe { std::mem::zeroed() };
    // SAFETY: as above.
    let mut msgs: [libc::mmsghdr; SEND_BATCH] = unsafe { std::mem::zeroed() };
    for (i, &(at, len)) in frames.iter().enumerate() {
        // The kernel only reads through these pointers (a send); each range is inside `buf`,
        // checked above, and `buf` outlives the call.
        iov[i] = libc::iovec { iov_base: buf[at..].as_ptr() as *mut libc::c_void, iov_len: len };
        msgs[i].msg_hdr.msg_iov = &mut iov[i];
        msgs[i].msg_hdr.msg_iovlen = 1;
    }
    let mut sent = 0;
    while sent < frames.len() {
        // SAFETY: `msgs[sent..len]` are initialized headers, each pointing to one iovec of
        // `iov` (alive on this frame) that points into `buf`; no address is given (the socket
        // is bound to its interface). The kernel writes only `msg_len` of each header.
        let r = unsafe { libc::sendmmsg(fd, msgs[sent..].as_mut_ptr(), (frames.len() - sent) as libc::c_uint, 0) };
        if r < 0 {
            let e = io::Error::last_os_error();
            if e.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return (sent, Some(e));
        }
        sent += r as usize;
    }
    (sent, None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::UdpSocket;

    #[test]
    fn each_call_on_a_socket_of_another_family_is_an_error_not_a_crash() {
        // A UDP socket: the packet options do not apply, and the kernel says so.
        let udp = UdpSocket::bind("127.0.0.1:0").unwrap();
        assert!(ignore_outgoing(&udp).is_err());
        assert!(packet_statistics(udp.as_raw_fd()).is_err());
        // Nothing to read: would block, not a crash.
        let mut buf = [0u8; 4];
        assert_eq!(recv_stamped(udp.as_raw_fd(), &mut buf).unwrap_err().kind(), io::ErrorKind::WouldBlock);
        // A datagram longer than the buffer: cut to it.
        let tx = UdpSocket::bind("127.0.0.1:0").unwrap();
        tx.send_to(b"abcdefgh", udp.local_addr().unwrap()).unwrap();
        std::thread::sleep(std::time::Duration::from_millis(20));
        assert_eq!(recv_stamped(udp.as_raw_fd(), &mut buf).unwrap(), (4, None));
        assert_eq!(&buf, b"abcd");
        // A closed descriptor number: an error.
        assert!(packet_statistics(-1).is_err());
        assert!(set_blocking(-1).is_err());
    }

    #[test]
    fn send_many_sends_each_range_once_in_order_and_stops_at_a_refused_one() {
        // A connected UDP socket takes sendmmsg without addresses, as a bound packet socket does.
        let rx = UdpSocket::bind("127.0.0.1:0").unwrap();
        let tx = UdpSocket::bind("127.0.0.1:0").unwrap();
        tx.connect(rx.local_addr().unwrap()).unwrap();
        set_blocking(tx.as_raw_fd()).unwrap();
        let buf: Vec<u8> = (0..=255u8).collect();
        let ranges: Vec<(usize, usize)> = (0..SEND_BATCH).map(|i| (i * 3, 1 + i % 3)).collect();
        assert!(matches!(send_many(tx.as_raw_fd(), &buf, &ranges), (n, None) if n == SEND_BATCH));
        let mut got = [0u8; 8];
        for &(at, len) in &ranges {
            let n = rx.recv(&mut got).unwrap();
            assert_eq!(&got[..n], &buf[at..at + len]);
        }
        // A datagram larger than UDP allows: the kernel refuses it, after the first was sent.
        let big = vec![0u8; 70_000];
        let (n, e) = send_many(tx.as_raw_fd(), &big, &[(0, 10), (0, 70_000), (0, 10)]);
        assert_eq!(n, 1);
        assert_eq!(e.unwrap().raw_os_error(), Some(libc::EMSGSIZE));
    }

    #[test]
    fn a_datagram_received_carries_the_kernels_arrival_time() {
        let rx = UdpSocket::bind("127.0.0.1:0").unwrap();
        let tx = UdpSocket::bind("127.0.0.1:0").unwrap();
        let mut buf = [0u8; 16];
        // Nothing yet: not readable after 10 ms, and a receive would block.
        assert!(!wait_readable(rx.as_raw_fd(), 10).unwrap());
        assert_eq!(recv_stamped(rx.as_raw_fd(), &mut buf).unwrap_err().kind(), io::ErrorKind::WouldBlock);
        // Without timestamps on: no time.
        tx.send_to(b"one", rx.local_addr().unwrap()).unwrap();
        assert!(wait_readable(rx.as_raw_fd(), 1000).unwrap());
        assert_eq!(recv_stamped(rx.as_raw_fd(), &mut buf).unwrap(), (3, None));
        enable_timestamps(rx.as_raw_fd()).unwrap();
        // The kernel turns receive stamping on for the whole host a moment later (a deferred
        // static key); until then a frame is stamped when read.
        std::thread::sleep(std::time::Duration::from_millis(200));
        let now = || std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as u64;
        let before = now();
        tx.send_to(b"two!", rx.local_addr().unwrap()).unwrap();
        std::thread::sleep(std::time::Duration::from_millis(30));
        let after = now();
        assert!(wait_readable(rx.as_raw_fd(), 1000).unwrap());
        let (n, t) = recv_stamped(rx.as_raw_fd(), &mut buf).unwrap();
        assert_eq!(&buf[..n], b"two!");
        // Stamped when it arrived, not when it was read 30 ms later.
        let t = t.expect("a timestamp");
        assert!(t >= before && t + 20_000_000 < after, "{before} {t} {after}");
    }

    #[test]
    #[should_panic(expected = "at most SEND_BATCH")]
    fn more_than_a_batch_is_a_bug() {
        let _ = send_many(-1, &[0u8; 1], &[(0, 1); SEND_BATCH + 1]);
    }

    #[test]
    #[should_panic]
    fn a_range_outside_the_buffer_is_a_bug_not_a_read_past_it() {
        let _ = send_many(-1, &[0u8; 10], &[(5, 6)]);
    }
}
