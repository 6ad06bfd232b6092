//! Capture errors: each names the file (when known), the byte offset, how many records were
//! read before it, and what was expected.

use std::fmt;
use std::io;
use std::path::PathBuf;

/// Why a capture could not be read further.
#[derive(Debug)]
pub enum ErrorKind {
    /// An I/O error from the operating system.
    Io(io::Error),
    /// The file has no bytes at all.
    Empty,
    /// The first four bytes are not a pcap or pcapng magic number.
    NotACapture {
        /// The bytes found.
        magic: [u8; 4],
    },
    /// The file ends inside a file header, record header, block or packet.
    Truncated {
        /// What was being read.
        what: &'static str,
        /// Bytes it needs.
        needed: u64,
        /// Bytes the file still had.
        available: u64,
    },
    /// A pcap record claims more captured bytes than any capture can hold.
    RecordTooLong {
        /// Captured length in the record header.
        caplen: u32,
        /// The most this reader accepts.
        max: u32,
    },
    /// A pcapng block length is not a multiple of 4, is too small for its type, or too large.
    BadBlockLength {
        /// Block type.
        block_type: u32,
        /// Block total length.
        length: u32,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A pcapng block's trailing length differs from its leading one.
    BlockLengthMismatch {
        /// Block type.
        block_type: u32,
        /// Leading total length.
        leading: u32,
        /// Trailing total length.
        trailing: u32,
    },
    /// A pcapng packet names an interface that no Interface Description Block declared.
    UnknownInterface {
        /// Interface id in the packet.
        id: u32,
        /// Interfaces declared in this section.
        declared: usize,
    },
    /// A pcapng file does not start with a Section Header Block, or a version is unsupported.
    BadSectionHeader {
        /// What is wrong.
        reason: String,
    },
}

/// An error while reading a capture.
#[derive(Debug)]
pub struct CaptureError {
    /// The file, when the reader was opened from a path.
    pub file: Option<PathBuf>,
    /// Byte offset in the file of the record or block that failed.
    pub offset: u64,
    /// Records successfully returned before the error.
    pub records: u64,
    /// What went wrong.
    pub kind: ErrorKind,
}

impl CaptureError {
    /// Whether the file simply ends early (every record before `offset` was good).
    pub fn is_truncation(&self) -> bool {
        matches!(self.kind, ErrorKind::Truncated { .. })
    }

    /// The message without the file name and offset.
    pub fn message(&self) -> String {
        match &self.kind {
            ErrorKind::Io(e) => format!("I/O error: {e}"),
            ErrorKind::Empty => "the file is empty; expected a pcap or pcapng header".into(),
            ErrorKind::NotACapture { magic } => format!(
                "not a pcap or pcapng file: magic bytes are {:02x} {:02x} {:02x} {:02x}, expected a1b2c3d4 or a1b23c4d (pcap, either byte order) or 0a0d0d0a (pcapng)",
                magic[0], magic[1], magic[2], magic[3]
            ),
            ErrorKind::Truncated { what, needed, available } => format!(
                "file cut short in the middle of a {what}: it needs {needed} bytes, only {available} remain"
            ),
            ErrorKind::RecordTooLong { caplen, max } => format!(
                "record header says {caplen} captured bytes, more than the {max} a capture record may hold (corrupt record header)"
            ),
            ErrorKind::BadBlockLength { block_type, length, reason } => {
                format!("pcapng block type {block_type:#010x} has total length {length}: {reason}")
            }
            ErrorKind::BlockLengthMismatch { block_type, leading, trailing } => format!(
                "pcapng block type {block_type:#010x}: leading total length {leading} differs from trailing {trailing}"
            ),
            ErrorKind::UnknownInterface { id, declared } => format!(
                "packet names interface {id} but the section declared {declared} interface(s)"
            ),
            ErrorKind::BadSectionHeader { reason } => format!("pcapng section header: {reason}"),
        }
    }
}

impl fmt::Display for CaptureError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(file) = &self.file {
            write!(f, "{}: ", file.display())?;
        }
        write!(f, "at byte {} (after {} records): {}", self.offset, self.records, self.message())
    }
}

/// The message already says what the I/O error said, so it is not also given as a source
/// (a chain printer would say it twice).
impl std::error::Error for CaptureError {}
