//! A reader for classic pcap (both byte orders, micro- and nanosecond timestamps) and pcapng
//! (several sections and interfaces, per-interface timestamp resolution and offset).
//!
//! Two ways to the bytes, one decoder, the same packets and errors:
//! - **Mapped** ([`CaptureReader::open`] on a regular file): the file is mapped and packets are
//!   views into the page cache; nothing is copied ([`crate::mapping`] says how resident memory
//!   stays flat). [`CaptureReader::twin`] gives another reader of the same mapping, so that
//!   several threads can walk one file without sharing a cursor.
//! - **Streamed** (pipes, stdin, anything [`Read`], and files that cannot be mapped): one buffer
//!   (1 MiB, grown only for a single larger block), whatever the file size.
//!
//! Either way [`CaptureReader::next_packet`] returns a [`Packet`] that borrows the reader until
//! the next call, so nothing is allocated per packet.

use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use xconnect_frame::LinkType;

use crate::error::{CaptureError, ErrorKind};
use crate::mapping::{Mapping, REPORT_STEP};

/// Bytes read from the file at a time.
pub const BUFFER_LEN: usize = 1 << 20;
/// The largest pcap record accepted whatever the snap length says: Wireshark's limit for
/// ordinary link types (`WTAP_MAX_PACKET_SIZE_STANDARD`, 262144). Anything larger is a corrupt
/// record header, not a packet.
pub const MAX_RECORD_LEN: u32 = 262_144;
/// How far ahead of a packet its reader prefetches: a few records of a voice capture (the
/// latency of memory is a few hundred ns; a record is read in tens).
const PREFETCH_AHEAD: usize = 2048;
/// The largest pcapng block accepted.
pub const MAX_BLOCK_LEN: u32 = 64 << 20;

const PCAP_MAGIC_US: u32 = 0xa1b2_c3d4;
const PCAP_MAGIC_NS: u32 = 0xa1b2_3c4d;
const PCAPNG_SHB: u32 = 0x0a0d_0d0a;
const PCAPNG_BOM: u32 = 0x1a2b_3c4d;

/// The container format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Classic pcap.
    Pcap {
        /// Nanosecond timestamps (magic a1b23c4d).
        nanos: bool,
        /// Written big-endian.
        big_endian: bool,
    },
    /// pcapng.
    Pcapng,
}

impl Format {
    /// "pcap" or "pcapng".
    pub fn name(self) -> &'static str {
        match self {
            Format::Pcap { .. } => "pcap",
            Format::Pcapng => "pcapng",
        }
    }
}

/// One captured packet, borrowed from the reader's buffer.
#[derive(Debug, Clone, Copy)]
pub struct Packet<'a> {
    /// Timestamp in nanoseconds since the Unix epoch.
    pub ts_ns: u64,
    /// Length of the packet on the wire (may exceed `data.len()` when the snap length cut it).
    pub orig_len: u32,
    /// Link type of the interface it was captured on.
    pub link_type: LinkType,
    /// Interface number (pcap: always 0; pcapng: counted across sections).
    pub interface: u32,
    /// The captured bytes.
    pub data: &'a [u8],
    /// Byte offset of the record (pcap) or block (pcapng) in the file.
    pub offset: u64,
}

#[derive(Debug, Clone, Copy)]
enum TsScale {
    /// ticks × n
    Mul(u64),
    /// ticks / n
    Div(u64),
    /// ticks × 10^9 / 2^k
    Pow2(u32),
}

impl TsScale {
    fn from_tsresol(r: u8) -> TsScale {
        let v = u32::from(r & 0x7f);
        if r & 0x80 != 0 {
            TsScale::Pow2(v)
        } else if v <= 9 {
            TsScale::Mul(10u64.pow(9 - v))
        } else {
            TsScale::Div(10u64.saturating_pow(v - 9))
        }
    }

    fn to_ns(self, ticks: u64) -> i128 {
        let t = i128::from(ticks);
        match self {
            TsScale::Mul(m) => t * i128::from(m),
            TsScale::Div(d) => t / i128::from(d),
            TsScale::Pow2(k) => (t * 1_000_000_000) >> k,
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Interface {
    link_type: LinkType,
    snaplen: u32,
    scale: TsScale,
    offset_ns: i128,
    global_id: u32,
}

#[derive(Debug)]
enum State {
    Pcap { big_endian: bool, nanos: bool, link_type: LinkType, snaplen: u32 },
    Pcapng { big_endian: bool, interfaces: Vec<Interface> },
}

/// Counters of oddities that do not stop reading.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReaderStats {
    /// Records whose captured length exceeds the declared snap length (accepted).
    pub over_snaplen: u64,
    /// pcapng blocks skipped because their type is not a packet or interface block.
    pub skipped_blocks: u64,
    /// pcapng sections seen.
    pub sections: u64,
    /// Timestamps that fall outside 1970..2554 (negative after the interface's offset, or too
    /// large for a u64 of nanoseconds); they are clamped to the nearest end of that range.
    pub ts_out_of_range: u64,
}

/// Where the bytes come from.
#[derive(Debug)]
enum Bytes<R> {
    /// Read into a buffer of our own.
    Stream { src: R, buf: Vec<u8> },
    /// A shared mapping of the whole file; `id` is this reader's slot in its progress table.
    Mapped { map: Arc<Mapping>, id: usize },
}

/// A capture reader. See the module documentation.
#[derive(Debug)]
pub struct CaptureReader<R: Read> {
    bytes: Bytes<R>,
    /// Mapped: the offset at which to report progress next (`usize::MAX` when streaming).
    report_at: usize,
    file: Option<PathBuf>,
    pos: usize,
    end: usize,
    /// File offset of `buf[0]`.
    base: u64,
    eof: bool,
    failed: bool,
    format: Format,
    state: State,
    records: u64,
    next_interface: u32,
    link_types: Vec<LinkType>,
    stats: ReaderStats,
}

impl CaptureReader<File> {
    /// Opens a file; the format is detected from its magic number, never from its name. A
    /// regular file is mapped; anything else (a FIFO, a device, `/dev/stdin` on a pipe), or a file the
    /// system will not map, is streamed.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, CaptureError> {
        let (file, name) = Self::open_file(path.as_ref())?;
        match Mapping::of(&file) {
            Some(map) => Self::mapped(Arc::new(map), name),
            None => Self::with_name(file, name),
        }
    }

    /// Opens a file with `read()` even if it could be mapped (the streaming path, for
    /// comparing the two and for benches).
    pub fn open_streamed(path: impl AsRef<Path>) -> Result<Self, CaptureError> {
        let (file, name) = Self::open_file(path.as_ref())?;
        Self::with_name(file, name)
    }

    fn open_file(path: &Path) -> Result<(File, Option<PathBuf>), CaptureError> {
        let name = Some(path.to_path_buf());
        match File::open(path) {
            Ok(file) => Ok((file, name)),
            Err(e) => Err(CaptureError { file: name, offset: 0, records: 0, kind: ErrorKind::Io(e) }),
        }
    }

    fn mapped(map: Arc<Mapping>, file: Option<PathBuf>) -> Result<Self, CaptureError> {
        let id = map.register();
        let end = map.bytes().len();
        Self::start(Bytes::Mapped { map, id }, end, true, file)
    }

    /// A new reader of the same mapping, at the start of the file: each thread of a pipeline
    /// walks the file with its own. `None` when this reader streams.
    ///
    /// Twins keep together: a reader more than [`crate::MAX_LEAD`] bytes ahead of the slowest
    /// of its twins waits for it (so that they share the last-level cache instead of each
    /// fetching the file from memory). So every twin must be read on its own thread until it
    /// ends, or be [closed](CaptureReader::close) or dropped.
    pub fn twin(&self) -> Option<Result<Self, CaptureError>> {
        match &self.bytes {
            Bytes::Mapped { map, .. } => Some(Self::mapped(Arc::clone(map), self.file.clone())),
            Bytes::Stream { .. } => None,
        }
    }

    /// Whether the packets are views into a mapping of the file (else copies read into a
    /// buffer).
    pub fn is_mapped(&self) -> bool {
        matches!(self.bytes, Bytes::Mapped { .. })
    }

    /// The mapping, when the file is mapped.
    pub fn mapping(&self) -> Option<&Mapping> {
        match &self.bytes {
            Bytes::Mapped { map, .. } => Some(map),
            Bytes::Stream { .. } => None,
        }
    }
}

impl<R: Read> CaptureReader<R> {
    /// Reads the file header from `src`.
    pub fn new(src: R) -> Result<Self, CaptureError> {
        Self::with_name(src, None)
    }

    fn with_name(src: R, file: Option<PathBuf>) -> Result<Self, CaptureError> {
        Self::start(Bytes::Stream { src, buf: vec![0; BUFFER_LEN] }, 0, false, file)
    }

    fn start(bytes: Bytes<R>, end: usize, eof: bool, file: Option<PathBuf>) -> Result<Self, CaptureError> {
        let report_at = if eof { REPORT_STEP } else { usize::MAX };
        let mut r = CaptureReader {
            bytes,
            report_at,
            file,
            pos: 0,
            end,
            base: 0,
            eof,
            failed: false,
            format: Format::Pcapng,
            state: State::Pcapng { big_endian: false, interfaces: Vec::new() },
            records: 0,
            next_interface: 0,
            link_types: Vec::new(),
            stats: ReaderStats::default(),
        };
        r.read_file_header()?;
        Ok(r)
    }

    /// The container format.
    pub fn format(&self) -> Format {
        self.format
    }

    /// Link types seen so far (pcap: the one in the header; pcapng: one per interface block
    /// read so far, without repeats).
    pub fn link_types(&self) -> &[LinkType] {
        &self.link_types
    }

    /// Counters of tolerated oddities.
    pub fn stats(&self) -> ReaderStats {
        self.stats
    }

    /// The read buffer's size: [`BUFFER_LEN`] unless one block was larger (0 when mapped:
    /// there is no buffer).
    pub fn buffer_len(&self) -> usize {
        match &self.bytes {
            Bytes::Stream { buf, .. } => buf.len(),
            Bytes::Mapped { .. } => 0,
        }
    }

    /// The bytes from `base` on: the buffer, or the whole mapping.
    #[inline(always)]
    fn buf(&self) -> &[u8] {
        match &self.bytes {
            Bytes::Stream { buf, .. } => buf,
            Bytes::Mapped { map, .. } => map.bytes(),
        }
    }

    /// Byte offset just past the last packet or block read.
    pub fn offset(&self) -> u64 {
        self.base + self.pos as u64
    }

    #[cold]
    fn err(&self, offset: u64, kind: ErrorKind) -> CaptureError {
        CaptureError { file: self.file.clone(), offset, records: self.records, kind }
    }

    /// Makes at least `need` bytes available at `pos` if the file has them; returns how many
    /// are available (less than `need` only at end of file). Called only when the buffer runs
    /// short, so kept out of line.
    #[inline(never)]
    fn fill(&mut self, need: usize) -> Result<usize, CaptureError> {
        // A mapping is at end of file from the start: everything is available.
        if self.end - self.pos >= need || self.eof {
            return Ok(self.end - self.pos);
        }
        let Bytes::Stream { src, buf } = &mut self.bytes else { return Ok(self.end - self.pos) };
        if buf.len() - self.pos < need {
            buf.copy_within(self.pos..self.end, 0);
            self.base += self.pos as u64;
            self.end -= self.pos;
            self.pos = 0;
            if buf.len() < need {
                buf.resize(need.next_power_of_two(), 0);
            }
        }
        while self.end - self.pos < need {
            match src.read(&mut buf[self.end..]) {
                Ok(0) => {
                    self.eof = true;
                    break;
                }
                Ok(n) => self.end += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(self.err(self.offset(), ErrorKind::Io(e))),
            }
        }
        Ok(self.end - self.pos)
    }

    #[inline(never)]
    fn need(&mut self, need: usize, what: &'static str) -> Result<(), CaptureError> {
        let have = self.fill(need)?;
        if have < need {
            self.failed = true;
            return Err(
                self.err(self.offset(), ErrorKind::Truncated { what, needed: need as u64, available: have as u64 })
            );
        }
        Ok(())
    }

    fn read_file_header(&mut self) -> Result<(), CaptureError> {
        let have = self.fill(24)?;
        if have == 0 {
            return Err(self.err(0, ErrorKind::Empty));
        }
        if have < 4 {
            return Err(self.err(0, ErrorKind::Truncated { what: "file header", needed: 4, available: have as u64 }));
        }
        let m: [u8; 4] = self.buf()[..4].try_into().unwrap();
        let (le, be) = (u32::from_le_bytes(m), u32::from_be_bytes(m));
        if le == PCAPNG_SHB {
            self.format = Format::Pcapng;
            self.state = State::Pcapng { big_endian: false, interfaces: Vec::new() };
            return Ok(());
        }
        let (big_endian, nanos) = match (le, be) {
            (PCAP_MAGIC_US, _) => (false, false),
            (PCAP_MAGIC_NS, _) => (false, true),
            (_, PCAP_MAGIC_US) => (true, false),
            (_, PCAP_MAGIC_NS) => (true, true),
            _ => return Err(self.err(0, ErrorKind::NotACapture { magic: m })),
        };
        if have < 24 {
            return Err(
                self.err(0, ErrorKind::Truncated { what: "pcap file header", needed: 24, available: have as u64 })
            );
        }
        let h = &self.buf()[..24];
        let rd = |o: usize| {
            let b = [h[o], h[o + 1], h[o + 2], h[o + 3]];
            if big_endian {
                u32::from_be_bytes(b)
            } else {
                u32::from_le_bytes(b)
            }
        };
        let snaplen = rd(16);
        // The upper bits of the link-type field may carry FCS information (pcap-savefile(5)).
        let link_type = LinkType::from(rd(20) & 0xffff);
        self.format = Format::Pcap { nanos, big_endian };
        self.state = State::Pcap { big_endian, nanos, link_type, snaplen };
        self.link_types.push(link_type);
        self.pos = 24;
        Ok(())
    }

    /// Returns the next packet, `Ok(None)` at a clean end of file, or the error that stopped
    /// reading. After an error every later call returns `Ok(None)`: the packets before the
    /// damage have all been returned, and the error says where it is.
    #[inline]
    pub fn next_packet(&mut self) -> Result<Option<Packet<'_>>, CaptureError> {
        if self.failed {
            return Ok(None);
        }
        if self.pos >= self.report_at {
            self.report_progress();
        }
        let r = match self.state {
            State::Pcap { .. } => self.next_pcap(),
            State::Pcapng { .. } => self.next_pcapng(),
        };
        match r {
            Ok(Some((start, len, meta))) => {
                self.records += 1;
                let buf = self.buf();
                // The records a few ahead: the hardware prefetcher stops at each 4 KiB page,
                // and a mapped page is new memory every time.
                crate::prefetch::prefetch_at(buf, start + PREFETCH_AHEAD);
                Ok(Some(Packet { data: &buf[start..start + len], ..meta }))
            }
            Ok(None) => {
                self.done();
                Ok(None)
            }
            Err(e) => {
                self.failed = true;
                self.done();
                Err(e)
            }
        }
    }

    /// Reads no more: every later call returns `Ok(None)`, and a mapped reader no longer holds
    /// its twins back.
    pub fn close(&mut self) {
        self.failed = true;
        self.done();
    }

    /// Mapped: tells the mapping where this reader is, so that what every reader has passed
    /// can leave resident memory.
    #[cold]
    fn report_progress(&mut self) {
        if let Bytes::Mapped { map, id } = &self.bytes {
            map.advance(*id, self.pos);
        }
        self.report_at = (self.pos / REPORT_STEP + 1) * REPORT_STEP;
    }

    /// Mapped: this reader will read no more; it no longer holds pages resident.
    fn done(&mut self) {
        if let Bytes::Mapped { map, id } = &self.bytes {
            map.advance(*id, usize::MAX);
        }
        self.report_at = usize::MAX;
    }

    #[inline]
    fn next_pcap(&mut self) -> Result<Option<(usize, usize, Packet<'static>)>, CaptureError> {
        let State::Pcap { big_endian, nanos, link_type, snaplen } = self.state else { unreachable!() };
        if self.end - self.pos < 16 {
            if self.fill(16)? == 0 {
                return Ok(None);
            }
            self.need(16, "pcap record header")?;
        }
        let offset = self.offset();
        let h = &self.buf()[self.pos..self.pos + 16];
        let rd = |o: usize| {
            let b = [h[o], h[o + 1], h[o + 2], h[o + 3]];
            if big_endian {
                u32::from_be_bytes(b)
            } else {
                u32::from_le_bytes(b)
            }
        };
        let (sec, frac, caplen, orig_len) = (rd(0), rd(4), rd(8), rd(12));
        let max = MAX_RECORD_LEN.max(snaplen.min(MAX_BLOCK_LEN));
        if caplen > max {
            return Err(self.err(offset, ErrorKind::RecordTooLong { caplen, max }));
        }
        if caplen > snaplen && snaplen != 0 {
            self.stats.over_snaplen += 1;
        }
        let total = 16 + caplen as usize;
        if self.end - self.pos < total {
            self.need(total, "pcap packet")?;
        }
        let ts_ns = u64::from(sec) * 1_000_000_000 + if nanos { u64::from(frac) } else { u64::from(frac) * 1000 };
        let start = self.pos + 16;
        self.pos += total;
        Ok(Some((start, caplen as usize, Packet { ts_ns, orig_len, link_type, interface: 0, data: &[], offset })))
    }

    fn next_pcapng(&mut self) -> Result<Option<(usize, usize, Packet<'static>)>, CaptureError> {
        loop {
            let have = self.fill(12)?;
            if have == 0 {
                return Ok(None);
            }
            let offset = self.offset();
            self.need(8, "pcapng block header")?;
            let p = self.pos;
            let raw_type: [u8; 4] = self.buf()[p..p + 4].try_into().unwrap();
            let mut big_endian = match self.state {
                State::Pcapng { big_endian, .. } => big_endian,
                State::Pcap { .. } => unreachable!(),
            };
            if u32::from_le_bytes(raw_type) == PCAPNG_SHB {
                self.need(12, "pcapng section header block")?;
                let bom: [u8; 4] = self.buf()[p + 8..p + 12].try_into().unwrap();
                big_endian = if u32::from_le_bytes(bom) == PCAPNG_BOM {
                    false
                } else if u32::from_be_bytes(bom) == PCAPNG_BOM {
                    true
                } else {
                    return Err(self.err(
                        offset,
                        ErrorKind::BadSectionHeader {
                            reason: format!("byte-order magic is {bom:02x?}, expected 1a2b3c4d in either byte order"),
                        },
                    ));
                };
            } else if self.stats.sections == 0 {
                return Err(self.err(
                    offset,
                    ErrorKind::BadSectionHeader {
                        reason: "the file does not start with a Section Header Block".into(),
                    },
                ));
            }
            let rd = |b: &[u8], o: usize| {
                let x = [b[o], b[o + 1], b[o + 2], b[o + 3]];
                if big_endian {
                    u32::from_be_bytes(x)
                } else {
                    u32::from_le_bytes(x)
                }
            };
            let block_type = rd(self.buf(), p);
            let length = rd(self.buf(), p + 4);
            let min = match block_type {
                PCAPNG_SHB => 28,
                1 => 20,
                6 => 32,
                3 => 16,
                2 => 32,
                _ => 12,
            };
            let bad = |reason| ErrorKind::BadBlockLength { block_type, length, reason };
            if length % 4 != 0 {
                return Err(self.err(offset, bad("not a multiple of 4")));
            }
            if length < min {
                return Err(self.err(offset, bad("too small for its block type")));
            }
            if length > MAX_BLOCK_LEN {
                return Err(self.err(offset, bad("larger than the 64 MiB this reader accepts")));
            }
            let len = length as usize;
            self.need(len, "pcapng block")?;
            let p = self.pos;
            let trailing = rd(self.buf(), p + len - 4);
            if trailing != length {
                return Err(self.err(offset, ErrorKind::BlockLengthMismatch { block_type, leading: length, trailing }));
            }
            let body_start = p + 8;
            let body_end = p + len - 4;
            self.pos += len;
            match block_type {
                PCAPNG_SHB => {
                    let body = &self.buf()[body_start..body_end];
                    let major = if big_endian {
                        u16::from_be_bytes([body[4], body[5]])
                    } else {
                        u16::from_le_bytes([body[4], body[5]])
                    };
                    if major != 1 {
                        return Err(self.err(
                            offset,
                            ErrorKind::BadSectionHeader { reason: format!("major version {major}, expected 1") },
                        ));
                    }
                    self.stats.sections += 1;
                    self.state = State::Pcapng { big_endian, interfaces: Vec::new() };
                }
                1 => {
                    let body = &self.buf()[body_start..body_end];
                    let lt = if big_endian {
                        u16::from_be_bytes([body[0], body[1]])
                    } else {
                        u16::from_le_bytes([body[0], body[1]])
                    };
                    let snaplen = rd(body, 4);
                    let (scale, offset_ns) =
                        parse_idb_options(&body[8..], big_endian).map_err(|reason| self.err(offset, bad(reason)))?;
                    let link_type = LinkType::from(u32::from(lt));
                    if !self.link_types.contains(&link_type) {
                        self.link_types.push(link_type);
                    }
                    let global_id = self.next_interface;
                    self.next_interface += 1;
                    if let State::Pcapng { interfaces, .. } = &mut self.state {
                        interfaces.push(Interface { link_type, snaplen, scale, offset_ns, global_id });
                    }
                }
                6 | 2 | 3 => {
                    let body = &self.buf()[body_start..body_end];
                    let (iface_id, ts, caplen, orig_len, data_off) = match block_type {
                        6 => (rd(body, 0), Some((rd(body, 4), rd(body, 8))), rd(body, 12), rd(body, 16), 20),
                        2 => {
                            let id = if big_endian {
                                u16::from_be_bytes([body[0], body[1]])
                            } else {
                                u16::from_le_bytes([body[0], body[1]])
                            };
                            (u32::from(id), Some((rd(body, 4), rd(body, 8))), rd(body, 12), rd(body, 16), 20)
                        }
                        _ => {
                            let orig = rd(body, 0);
                            (0, None, orig.min(length - 16), orig, 4)
                        }
                    };
                    let State::Pcapng { interfaces, .. } = &self.state else { unreachable!() };
                    let Some(iface) = interfaces.get(iface_id as usize).copied() else {
                        let declared = interfaces.len();
                        return Err(self.err(offset, ErrorKind::UnknownInterface { id: iface_id, declared }));
                    };
                    let caplen = if block_type == 3 && iface.snaplen != 0 { caplen.min(iface.snaplen) } else { caplen };
                    if data_off + caplen as usize > body.len() {
                        return Err(self.err(offset, bad("the captured length runs past the end of the block")));
                    }
                    if iface.snaplen != 0 && caplen > iface.snaplen {
                        self.stats.over_snaplen += 1;
                    }
                    let ts_ns = match ts {
                        None => 0,
                        Some((hi, lo)) => {
                            let ticks = (u64::from(hi) << 32) | u64::from(lo);
                            let ns = iface.scale.to_ns(ticks) + iface.offset_ns;
                            if ns < 0 || ns >= i128::from(u64::MAX) {
                                self.stats.ts_out_of_range += 1;
                            }
                            ns.clamp(0, i128::from(u64::MAX)) as u64
                        }
                    };
                    return Ok(Some((
                        body_start + data_off,
                        caplen as usize,
                        Packet {
                            ts_ns,
                            orig_len,
                            link_type: iface.link_type,
                            interface: iface.global_id,
                            data: &[],
                            offset,
                        },
                    )));
                }
                _ => self.stats.skipped_blocks += 1,
            }
        }
    }
}

impl<R: Read> Drop for CaptureReader<R> {
    fn drop(&mut self) {
        self.done();
    }
}

/// Reads `if_tsresol` (code 9) and `if_tsoffset` (code 14) from an IDB's options.
fn parse_idb_options(mut opts: &[u8], big_endian: bool) -> Result<(TsScale, i128), &'static str> {
    let mut scale = TsScale::from_tsresol(6);
    let mut offset_ns = 0i128;
    while opts.len() >= 4 {
        let (code, len) = if big_endian {
            (u16::from_be_bytes([opts[0], opts[1]]), u16::from_be_bytes([opts[2], opts[3]]))
        } else {
            (u16::from_le_bytes([opts[0], opts[1]]), u16::from_le_bytes([opts[2], opts[3]]))
        };
        if code == 0 {
            break;
        }
        let len = usize::from(len);
        let padded = (len + 3) & !3;
        if 4 + padded > opts.len() {
            return Err("an interface option runs past the end of the block");
        }
        let v = &opts[4..4 + len];
        match (code, len) {
            (9, 1) => scale = TsScale::from_tsresol(v[0]),
            (14, 8) => {
                let b: [u8; 8] = v.try_into().unwrap();
                let secs = if big_endian { i64::from_be_bytes(b) } else { i64::from_le_bytes(b) };
                offset_ns = i128::from(secs) * 1_000_000_000;
            }
            _ => {}
        }
        opts = &opts[4 + padded..];
    }
    Ok((scale, offset_ns))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tsresol_scales() {
        assert_eq!(TsScale::from_tsresol(6).to_ns(1_500_000), 1_500_000_000);
        assert_eq!(TsScale::from_tsresol(9).to_ns(7), 7);
        assert_eq!(TsScale::from_tsresol(12).to_ns(5_000), 5);
        // 2^-10 s units: 1024 ticks are one second.
        assert_eq!(TsScale::from_tsresol(0x80 | 10).to_ns(1024), 1_000_000_000);
        assert_eq!(TsScale::from_tsresol(0).to_ns(3), 3_000_000_000);
    }
}
