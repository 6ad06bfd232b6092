//! A live Layer-2 port: an `AF_PACKET` socket bound to one Linux interface by pnet's datalink
//! layer, to send frames onto it (in batches, [`Port::send_batch`]) and to receive the frames
//! that arrive on it with their arrival time ([`Port::recv`]).
//!
//! [`Port::open`] checks everything before the first frame moves: that the interface exists
//! (the error lists those that do), that it carries Ethernet frames, that it is up and has a
//! carrier, and that the process may open a raw socket (`CAP_NET_RAW`). While a run goes on,
//! [`Port::link_up`] tells whether the link is still there, and [`Port::kernel_stats`] what the kernel saw and dropped for this
//! socket (`PACKET_STATISTICS`): frames the socket's buffer had no room for, which a report
//! must show rather than hide.
//!
//! The receiving side ignores the frames this host sends on the interface
//! (`PACKET_IGNORE_OUTGOING`), so a port analyzes only what arrives, and each frame comes with
//! the kernel's time of its arrival (`SO_TIMESTAMPNS`), not the time the analyzer got to it; its socket buffer is made
//! as large as the kernel allows (`SO_RCVBUFFORCE` as root, 64 MiB), because an analyzer that
//! falls behind for a few milliseconds must not lose frames it could have read later.

use std::io;
use std::os::fd::{IntoRawFd, RawFd};
use std::time::Duration;

use pnet_datalink::{Channel, ChannelType, Config, DataLinkReceiver, DataLinkSender, NetworkInterface};

use crate::sockopt;
pub use crate::sockopt::SEND_BATCH;

/// Why a port cannot be used.
#[derive(Debug)]
pub enum PortError {
    /// No interface of that name in this network namespace.
    Missing {
        /// The name asked for.
        name: String,
        /// The interfaces that exist.
        available: Vec<String>,
    },
    /// The interface is administratively down, or has no carrier.
    Down {
        /// The interface.
        name: String,
        /// "administratively down" or "up but without a carrier (no link)".
        why: &'static str,
    },
    /// The interface does not carry Ethernet frames (a tun, WireGuard or PPP device).
    NotEthernet {
        /// The interface.
        name: String,
        /// Its hardware type (`ARPHRD_*`, linux/if_arp.h).
        hw_type: u16,
    },
    /// The process may not open a raw socket.
    NotPermitted {
        /// The interface.
        name: String,
    },
    /// Anything else the system refused.
    Io {
        /// The interface.
        name: String,
        /// What was being done.
        doing: &'static str,
        /// The system's error.
        error: io::Error,
    },
}

impl std::fmt::Display for PortError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PortError::Missing { name, available } => write!(
                f,
                "interface {name:?}: no such interface in this network namespace (there are: {})",
                if available.is_empty() { "none".to_string() } else { available.join(", ") }
            ),
            PortError::Down { name, why } => {
                let fix = if *why == ADMIN_DOWN {
                    format!("bring it up first (ip link set {name} up)")
                } else {
                    "connect its other end (or cable) and bring that up first".to_string()
                };
                write!(f, "interface {name:?} is {why}: {fix}")
            }
            PortError::NotEthernet { name, hw_type } => write!(
                f,
                "interface {name:?} carries no Ethernet frames (its hardware type is {hw_type}, not 1, Ethernet: a \
                 tun, WireGuard or PPP device): xconnect sends and analyzes Layer-2 Ethernet frames"
            ),
            PortError::NotPermitted { name } => write!(
                f,
                "interface {name:?}: opening a raw (AF_PACKET) socket needs the CAP_NET_RAW capability, which this \
                 process lacks: run as root, or give the binary the capability (setcap cap_net_raw+ep)"
            ),
            PortError::Io { name, doing, error } => write!(f, "interface {name:?}: {doing}: {error}"),
        }
    }
}

impl std::error::Error for PortError {}

/// What the kernel counted for a receiving socket since it was opened.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct KernelStats {
    /// Frames the kernel handed to the socket, dropped ones included.
    pub packets: u64,
    /// Frames dropped because the socket's buffer was full.
    pub drops: u64,
}

/// The largest frame a port receives whole (a jumbo frame with tags).
pub const MAX_FRAME: usize = 65_536;
/// How long a receive waits before it lets the caller look at the clock and its flags.
pub const POLL: Duration = Duration::from_millis(50);
/// How long an interface that is up may take to report its carrier.
pub const CARRIER_WAIT: Duration = Duration::from_millis(1500);
/// The receive buffer asked for.
const RCVBUF: usize = 64 << 20;

/// An open port. See the module documentation.
pub struct Port {
    name: String,
    /// pnet's channel, kept for the descriptor it owns (closed when the port is dropped):
    /// frames are sent by [`Port::send_batch`] and received by [`Port::recv`] on it directly.
    _channel: (Box<dyn DataLinkSender>, Box<dyn DataLinkReceiver>),
    fd: RawFd,
    stats: KernelStats,
    /// A receiving port's frame buffer.
    buf: Vec<u8>,
}

impl std::fmt::Debug for Port {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Port").field("name", &self.name).field("fd", &self.fd).finish()
    }
}

/// Which way frames go through a port.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Frames are sent onto the interface.
    Send,
    /// Frames arriving on the interface are received; what this host sends is ignored.
    Receive,
}

fn find(name: &str) -> Result<NetworkInterface, PortError> {
    let all = pnet_datalink::interfaces();
    match all.iter().find(|i| i.name == name) {
        Some(i) => Ok(i.clone()),
        None => {
            Err(PortError::Missing { name: name.to_string(), available: all.into_iter().map(|i| i.name).collect() })
        }
    }
}

const ADMIN_DOWN: &str = "administratively down";

/// `ARPHRD_ETHER` and `ARPHRD_LOOPBACK` (which Linux frames as Ethernet).
const ETHERNET_TYPES: [u16; 2] = [1, 772];

/// The interface's hardware type from sysfs, when sysfs shows this network namespace's
/// interface of that name (its index is the one the kernel gave us).
fn hw_type(i: &NetworkInterface) -> Option<u16> {
    let dir = std::path::Path::new("/sys/class/net").join(&i.name);
    let read = |f: &str| std::fs::read_to_string(dir.join(f)).ok()?.trim().parse::<u32>().ok();
    (read("ifindex")? == i.index).then(|| read("type").and_then(|t| u16::try_from(t).ok())).flatten()
}

fn check_up(i: &NetworkInterface) -> Result<(), PortError> {
    if !i.is_up() {
        return Err(PortError::Down { name: i.name.clone(), why: ADMIN_DOWN });
    }
    if !i.is_running() {
        return Err(PortError::Down { name: i.name.clone(), why: "up but without a carrier (no link)" });
    }
    Ok(())
}

impl Port {
    /// Opens `name` for `role`, after checking that it exists, is up with a carrier, and that
    /// this process may open a raw socket.
    pub fn open(name: &str, role: Role) -> Result<Port, PortError> {
        let mut iface = find(name)?;
        if let Some(t) = hw_type(&iface).filter(|t| !ETHERNET_TYPES.contains(t)) {
            return Err(PortError::NotEthernet { name: name.to_string(), hw_type: t });
        }
        // The kernel reports a carrier found at bring-up a little later (its link watch runs
        // up to a second behind): an interface just set up gets that long.
        let waited = std::time::Instant::now();
        while iface.is_up() && !iface.is_running() && waited.elapsed() < CARRIER_WAIT {
            std::thread::sleep(Duration::from_millis(20));
            iface = find(name)?;
        }
        check_up(&iface)?;
        let io = |doing, error| PortError::Io { name: name.to_string(), doing, error };
        let protocol = socket2::Protocol::from(i32::from((libc::ETH_P_ALL as u16).to_be()));
        let socket = socket2::Socket::new_raw(socket2::Domain::PACKET, socket2::Type::RAW, Some(protocol)).map_err(
            |e| match e.raw_os_error() {
                Some(libc::EPERM) | Some(libc::EACCES) => PortError::NotPermitted { name: name.to_string() },
                _ => io("opening an AF_PACKET socket", e),
            },
        )?;
        if role == Role::Receive {
            sockopt::ignore_outgoing(&socket).map_err(|e| io("ignoring outgoing frames", e))?;
            if sockopt::force_recv_buffer(&socket, RCVBUF).is_err() {
                // Not root: as large as net.core.rmem_max lets it be.
                socket.set_recv_buffer_size(RCVBUF).map_err(|e| io("sizing the receive buffer", e))?;
            }
        } else {
            socket.set_send_buffer_size(4 << 20).map_err(|e| io("sizing the send buffer", e))?;
            // A sending socket bound to every protocol is handed every frame that arrives, and
            // never reads one: the smallest buffer the kernel allows keeps what it holds small.
            socket.set_recv_buffer_size(0).map_err(|e| io("sizing the receive buffer", e))?;
        }
        let fd = socket.into_raw_fd();
        let config = Config {
            write_buffer_size: MAX_FRAME,
            read_buffer_size: MAX_FRAME,
            read_timeout: Some(POLL),
            write_timeout: Some(Duration::from_secs(1)),
            channel_type: ChannelType::Layer2,
            socket_fd: Some(fd),
            ..Config::default()
        };
        // pnet binds the socket to the interface and owns the descriptor from here on.
        let (tx, rx) = match pnet_datalink::channel(&iface, config) {
            Ok(Channel::Ethernet(tx, rx)) => (tx, rx),
            Ok(_) => {
                return Err(io("binding the socket", io::Error::other("pnet gave a channel that is not Ethernet")))
            }
            Err(e) => return Err(io("binding the socket to the interface", e)),
        };
        let buf = if role == Role::Receive { vec![0u8; MAX_FRAME] } else { Vec::new() };
        let port = Port { name: name.to_string(), _channel: (tx, rx), fd, stats: KernelStats::default(), buf };
        if role == Role::Send {
            // pnet made the socket non-blocking; a batch waits for room instead.
            sockopt::set_blocking(fd).map_err(|e| io("making the socket blocking", e))?;
        }
        if role == Role::Receive {
            // Frames that arrived between the socket's creation and its binding came from any
            // interface: read and forget them, and start the kernel's counts from here.
            let mut probe = [0u8; 1];
            while sockopt::recv_stamped(fd, &mut probe).is_ok() {}
            sockopt::packet_statistics(fd).map_err(|e| io("reading PACKET_STATISTICS", e))?;
            sockopt::enable_timestamps(fd).map_err(|e| io("asking for arrival times", e))?;
        }
        Ok(port)
    }

    /// The interface's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Sends whole Ethernet frames (without FCS), each a range of `buf`, at most
    /// [`SEND_BATCH`] of them, in as few system calls as the kernel allows (`sendmmsg`: pnet's
    /// sender makes two calls per frame, which measured at under half the rate). Returns how
    /// many were sent, and the error that stopped the rest.
    pub fn send_batch(&mut self, buf: &[u8], frames: &[(usize, usize)]) -> (usize, Option<io::Error>) {
        sockopt::send_many(self.fd, buf, frames)
    }

    /// The next frame that arrives with the kernel's time of its arrival (ns since the Unix
    /// epoch), or `None` after [`POLL`] without one. A frame whose time the kernel did not give
    /// is stamped with the clock when it is read.
    pub fn recv(&mut self) -> io::Result<Option<(u64, &[u8])>> {
        self.receive(true)
    }

    /// The next frame the socket already holds, without waiting (`None` when it holds none).
    pub fn try_recv(&mut self) -> io::Result<Option<(u64, &[u8])>> {
        self.receive(false)
    }

    fn receive(&mut self, wait: bool) -> io::Result<Option<(u64, &[u8])>> {
        let got = match sockopt::recv_stamped(self.fd, &mut self.buf) {
            Err(e) if e.kind() == io::ErrorKind::WouldBlock && wait => {
                match sockopt::wait_readable(self.fd, POLL.as_millis() as i32) {
                    Ok(true) => sockopt::recv_stamped(self.fd, &mut self.buf),
                    Ok(false) => return Ok(None),
                    Err(e) => Err(e),
                }
            }
            other => other,
        };
        match got {
            Ok((n, stamp)) => {
                let ts = stamp.unwrap_or_else(|| {
                    std::time::SystemTime::now()
                        .duration_since(std::time::UNIX_EPOCH)
                        .map_or(0, |d| d.as_nanos() as u64)
                });
                Ok(Some((ts, &self.buf[..n.min(self.buf.len())])))
            }
            Err(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Whether the interface is still up with a carrier.
    pub fn link_up(&self) -> bool {
        find(&self.name).and_then(|i| check_up(&i)).is_ok()
    }

    /// What the kernel counted for this socket since it was opened (a receiving port; a
    /// sending one counts nothing).
    pub fn kernel_stats(&mut self) -> io::Result<KernelStats> {
        // The kernel resets its counters at every read: add them up here.
        let (packets, drops) = sockopt::packet_statistics(self.fd)?;
        self.stats.packets += u64::from(packets);
        self.stats.drops += u64::from(drops);
        Ok(self.stats)
    }
}
