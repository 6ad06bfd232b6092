//! `xconnect replay`'s threads: the file is read, and the tally's shards (see
//! [`Shard`]) work, on as many threads as asked.
//!
//! - **A mapped file** (a regular file): every shard walks the mapping with its own reader,
//!   the readers kept within 8 MiB of each other so that they share the last-level cache.
//!   Nothing is copied and nothing passes between threads until the shards are merged.
//! - **A stream** (a pipe, a FIFO, a file that cannot be mapped): one thread reads batches of
//!   4096 frames into buffers allocated once, and every shard reads every batch.
//!
//! Shard 0 runs on the calling thread and writes the policer's output files.

use std::fs::File;
use std::io::Read;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use xconnect_capture::{CaptureError, CaptureReader, Packet, PcapWriter};

use crate::police::{Duplex, Verdict};
use crate::replay::{FrameSource, Replay, ReplayOptions, ReplayReport, Shard, MAX_THREADS};

/// Frames per batch handed from the reading thread to the shards.
const BATCH_FRAMES: usize = 4096;
/// Batches in flight: enough to keep every thread busy, few enough to bound memory
/// (about 8 × 4096 frames × their length).
const BATCHES: usize = 8;
/// Frames between two updates of the progress counter.
const PROGRESS_STEP: u64 = 4096;
/// Frames between two looks at whether another thread has given up.
const ABORT_CHECK: u64 = 1 << 16;

/// Where a what-if replay writes the frames its policer passed and dropped.
#[derive(Debug, Default)]
pub struct Outputs {
    /// Frames passed (at their departure time when shaping).
    pub passed: Option<PcapWriter>,
    /// Frames dropped.
    pub dropped: Option<PcapWriter>,
    /// A live port's every frame as received (`replay --iface --write`); a file has it already.
    pub received: Option<PcapWriter>,
}

impl Outputs {
    /// Writes a frame where its verdict says.
    pub(crate) fn write(&mut self, verdict: Option<Verdict>, p: &Packet<'_>) -> std::io::Result<()> {
        let w = match verdict {
            Some(Verdict::Pass { departs, .. }) => self.passed.as_mut().map(|w| (w, departs.0)),
            Some(Verdict::Drop) => self.dropped.as_mut().map(|w| (w, p.ts_ns)),
            None => None,
        };
        match w {
            Some((w, ts)) => w.write_packet(ts, p.link_type, p.data, p.orig_len),
            None => Ok(()),
        }
    }
}

/// Why a replay failed.
#[derive(Debug)]
pub enum ReplayError {
    /// The input cannot be opened or is not a capture.
    Capture(CaptureError),
    /// An output could not be written.
    Write(std::io::Error),
    /// The options are out of range.
    Options(String),
    /// A live port failed while being read.
    Port(std::io::Error),
}

impl std::fmt::Display for ReplayError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReplayError::Capture(e) => e.fmt(f),
            ReplayError::Write(e) => write!(f, "writing output: {e}"),
            ReplayError::Options(m) => f.write_str(m),
            ReplayError::Port(e) => write!(f, "reading the live port: {e}"),
        }
    }
}

/// Each variant's message already holds its cause's, so none is given again as a source (a
/// chain printer said "Is a directory" three times).
impl std::error::Error for ReplayError {}

/// Replays a whole file, optionally through a tier's policer, writing what it passed and
/// dropped to `outputs` (returned unfinished: the caller finishes them, or drops them, which
/// removes their temporary files). A file that stops early yields a report with `truncated`
/// set and the error's offset. The report is the same whatever `opts.threads`.
pub fn replay_file(
    path: &Path,
    opts: ReplayOptions,
    police: Option<Duplex>,
    outputs: Outputs,
) -> Result<(ReplayReport, Outputs), ReplayError> {
    replay_file_with_progress(path, opts, police, outputs, &AtomicU64::new(0))
}

/// [`replay_file`], storing in `progress` the bytes of the file read so far (every few
/// thousand frames), for a display.
pub fn replay_file_with_progress(
    path: &Path,
    opts: ReplayOptions,
    police: Option<Duplex>,
    outputs: Outputs,
    progress: &AtomicU64,
) -> Result<(ReplayReport, Outputs), ReplayError> {
    if !(1..=MAX_THREADS).contains(&opts.threads) {
        return Err(ReplayError::Options(format!("{} threads: expected 1 to {MAX_THREADS}", opts.threads)));
    }
    let reader = CaptureReader::open(path).map_err(ReplayError::Capture)?;
    let name = path.display().to_string();
    if reader.is_mapped() {
        mapped(&name, reader, opts, police, outputs, progress)
    } else {
        streamed(&name, reader, opts, police, outputs, progress)
    }
}

/// The shards' tallies, each with its own copy of the policer: shard 0 and the others.
fn shards(opts: ReplayOptions, police: Option<Duplex>) -> (Replay, Vec<Replay>) {
    let count = opts.threads;
    let others = (1..count).map(|index| Replay::shard(opts, police.clone(), Shard { index, count })).collect();
    (Replay::shard(opts, police, Shard { index: 0, count }), others)
}

fn mapped(
    name: &str,
    mut reader: CaptureReader<File>,
    opts: ReplayOptions,
    police: Option<Duplex>,
    mut outputs: Outputs,
    progress: &AtomicU64,
) -> Result<(ReplayReport, Outputs), ReplayError> {
    let (mut first, tallies) = shards(opts, police);
    let mut others = Vec::new();
    for t in tallies {
        let twin = reader.twin().expect("a mapped reader has twins").map_err(ReplayError::Capture)?;
        others.push((t, twin));
    }
    let abort = AtomicBool::new(false);
    std::thread::scope(|s| {
        let handles: Vec<_> = others
            .into_iter()
            .map(|(mut t, mut r)| {
                let abort = &abort;
                s.spawn(move || {
                    // The twin meets the same end, or the same damage, as shard 0's reader.
                    while let Ok(Some(p)) = r.next_packet() {
                        t.add(&p);
                        if t.frames() % ABORT_CHECK == 0 && abort.load(Ordering::Relaxed) {
                            break;
                        }
                    }
                    t
                })
            })
            .collect();
        let mut write_error = None;
        let stop = loop {
            if first.frames() % PROGRESS_STEP == 0 {
                progress.store(reader.offset(), Ordering::Relaxed);
            }
            match reader.next_packet() {
                Ok(Some(p)) => {
                    let verdict = first.add(&p);
                    if let Err(e) = outputs.write(verdict, &p) {
                        write_error = Some(e);
                        abort.store(true, Ordering::Relaxed);
                        // The other shards may be waiting for this reader to move on.
                        reader.close();
                        break None;
                    }
                }
                Ok(None) => break None,
                Err(e) => break Some(e),
            }
        };
        let mut all = vec![first];
        all.extend(handles.into_iter().map(|h| h.join().expect("a shard does not panic")));
        if let Some(e) = write_error {
            return Err(ReplayError::Write(e));
        }
        Ok((Replay::merge(all).finish(name, &FrameSource::of(&reader), stop.as_ref()), outputs))
    })
}

/// A batch of packets copied out of the reader's buffer, reused across the whole replay.
struct Batch {
    data: Vec<u8>,
    meta: Vec<(Packet<'static>, usize, usize)>,
}

impl Batch {
    fn push(&mut self, p: &Packet<'_>) {
        let start = self.data.len();
        self.data.extend_from_slice(p.data);
        self.meta.push((Packet { data: &[], ..*p }, start, p.data.len()));
    }

    fn packets(&self) -> impl Iterator<Item = Packet<'_>> {
        self.meta.iter().map(|(meta, start, len)| Packet { data: &self.data[*start..*start + *len], ..*meta })
    }
}

fn streamed<R: Read + Send>(
    name: &str,
    mut reader: CaptureReader<R>,
    opts: ReplayOptions,
    police: Option<Duplex>,
    mut outputs: Outputs,
    progress: &AtomicU64,
) -> Result<(ReplayReport, Outputs), ReplayError> {
    let (mut first, tallies) = shards(opts, police);
    let count = opts.threads;
    // One channel of full batches per shard; every shard hands its copy of a batch back, and
    // the reader refills a batch once no shard holds it.
    let (full_tx, full_rx): (Vec<_>, Vec<_>) =
        (0..count).map(|_| crossbeam_channel::bounded::<Arc<Batch>>(BATCHES)).unzip();
    let (back_tx, back_rx) = crossbeam_channel::bounded::<Arc<Batch>>(BATCHES * count);
    let mut full_rx = full_rx.into_iter();
    let first_rx = full_rx.next().expect("one shard at least");
    std::thread::scope(|s| {
        let read = s.spawn(move || {
            let mut free: Vec<Arc<Batch>> = (0..BATCHES)
                .map(|_| {
                    Arc::new(Batch {
                        data: Vec::with_capacity(BATCH_FRAMES * 256),
                        meta: Vec::with_capacity(BATCH_FRAMES),
                    })
                })
                .collect();
            let stop = 'file: loop {
                let mut batch = loop {
                    if let Some(b) = free.pop() {
                        break b;
                    }
                    match back_rx.recv() {
                        Ok(b) if Arc::strong_count(&b) == 1 => break b,
                        Ok(_) => {} // another shard still reads it
                        Err(_) => break 'file None,
                    }
                };
                let b = Arc::get_mut(&mut batch).expect("no shard holds a batch handed back by all");
                b.data.clear();
                b.meta.clear();
                let stop = loop {
                    if b.meta.len() == BATCH_FRAMES {
                        break None;
                    }
                    match reader.next_packet() {
                        Ok(Some(p)) => b.push(&p),
                        Ok(None) => break Some(None),
                        Err(e) => break Some(Some(e)),
                    }
                };
                progress.store(reader.offset(), Ordering::Relaxed);
                if full_tx.iter().any(|tx| tx.send(Arc::clone(&batch)).is_err()) {
                    break None;
                }
                drop(batch);
                if let Some(stop) = stop {
                    break 'file stop;
                }
            };
            drop(full_tx);
            (reader, stop)
        });
        let handles: Vec<_> = tallies
            .into_iter()
            .zip(full_rx)
            .map(|(mut t, rx)| {
                let back = back_tx.clone();
                s.spawn(move || {
                    for batch in rx {
                        batch.packets().for_each(|p| {
                            t.add(&p);
                        });
                        let _ = back.send(batch);
                    }
                    t
                })
            })
            .collect();
        let mut write_error = None;
        for batch in first_rx.iter() {
            for p in batch.packets() {
                let verdict = first.add(&p);
                if let Err(e) = outputs.write(verdict, &p) {
                    write_error = Some(e);
                    break;
                }
            }
            let _ = back_tx.send(batch);
            if write_error.is_some() {
                break;
            }
        }
        // Dropping our ends unblocks the reader and the other shards if we stopped early.
        drop(first_rx);
        drop(back_tx);
        let mut all = vec![first];
        all.extend(handles.into_iter().map(|h| h.join().expect("a shard does not panic")));
        let (reader, stop) = read.join().expect("the reading thread does not panic");
        if let Some(e) = write_error {
            return Err(ReplayError::Write(e));
        }
        Ok((Replay::merge(all).finish(name, &FrameSource::of(&reader), stop.as_ref()), outputs))
    })
}
