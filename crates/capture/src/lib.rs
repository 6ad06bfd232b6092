//! Frames from and to the outside: capture files — a pcap/pcapng reader (mapped or streamed,
//! flat memory, byte-offset errors) and an atomic nanosecond-pcap writer — and live Layer-2
//! ports ([`port`]: an interface through pnet's `AF_PACKET` channel, checked before use) with
//! frames sent at their own times ([`pace`]).
//!
//! ```no_run
//! use xconnect_capture::CaptureReader;
//!
//! let mut reader = CaptureReader::open("calls.pcap")?;
//! while let Some(packet) = reader.next_packet()? {
//!     println!("{} ns, {} bytes on {}", packet.ts_ns, packet.data.len(), packet.link_type);
//! }
//! # Ok::<(), xconnect_capture::CaptureError>(())
//! ```
//!
//! A truncated or corrupt file yields every good packet before the damage, then one
//! [`CaptureError`] with the byte offset; the caller decides whether that is fatal.
#![deny(missing_docs)]

mod error;
mod mapping;
mod output;
pub mod pace;
pub mod port;
pub mod prefetch;
mod reader;
mod sockopt;
mod writer;

pub use error::{CaptureError, ErrorKind};
pub use mapping::{Mapping, MAX_LEAD, RELEASE_CHUNK, REPORT_STEP};
pub use output::{remove_unfinished, OutputFile};
pub use reader::{CaptureReader, Format, Packet, ReaderStats, BUFFER_LEN, MAX_BLOCK_LEN, MAX_RECORD_LEN};
pub use writer::PcapWriter;
