//! A capture file mapped into memory, shared by the readers that walk it.
//!
//! Mapping a page-cached file lets a reader hand out views into the page cache: no `read()`
//! copies the bytes into a buffer first. Several readers (one per pipeline shard) may walk the
//! same mapping, each at its own pace.
//!
//! **Resident memory stays flat.** Pages of a mapped file count in the process's RSS once
//! touched; on a 10 GB file that would be 10 GB of RSS (reclaimable page cache, but it looks
//! like ours and competes with everything else). So every reader reports its position every
//! [`RELEASE_CHUNK`] bytes, and the chunks behind the slowest reader are released with
//! `MADV_DONTNEED`: the pages leave our page tables and stay in the page cache. Resident memory
//! is then the chunk the readers are in, the one mapped ahead, and the distance between the
//! fastest and the slowest reader.
//!
//! **Faults.** Touching a mapped page for the first time is a page fault; the kernel maps 16
//! cached pages per fault ("fault-around"). Mapping a chunk ahead in one call
//! (`MADV_POPULATE_READ`) was measured slower than that: it maps page by page. So the pages are
//! left to fault, and the next chunk is read ahead from disk in the background
//! (`MADV_WILLNEED`; `MADV_SEQUENTIAL` on the whole mapping), so that a file that is not cached
//! yet streams without stalls.
//!
//! **The hazard of mapping.** If another process truncates the file while it is mapped, a
//! read past the new end raises SIGBUS and the process ends; there is no way to turn that into
//! an error. Captures being written by another program should be read through a pipe
//! (`cat FILE | xconnect replay /dev/stdin`), which takes the streaming `read()` path. (Standard
//! input redirected from the file itself, `< FILE`, is that regular file, and is mapped.)

use std::fs::File;
use std::sync::{Condvar, Mutex};

use memmap2::{Advice, Mmap, UncheckedAdvice};

/// Chunks behind the slowest reader are released in steps of this many bytes (a multiple of
/// every page size).
pub const RELEASE_CHUNK: usize = 16 << 20;
/// Readers report their position every this many bytes.
pub const REPORT_STEP: usize = 2 << 20;
/// How far a reader may run ahead of the slowest before it waits: readers that stay this close
/// read bytes that the first of them has just brought into the shared last-level cache, instead
/// of each fetching the whole file from memory.
pub const MAX_LEAD: usize = 8 << 20;

/// A read-only shared mapping of a whole file, and where its readers are.
#[derive(Debug)]
pub struct Mapping {
    map: Mmap,
    progress: Mutex<Progress>,
    /// Signalled whenever a reader moves, for readers waiting to keep within `MAX_LEAD`.
    moved: Condvar,
}

#[derive(Debug, Default)]
struct Progress {
    /// Each registered reader's position (`usize::MAX` once it is done).
    positions: Vec<usize>,
    /// Everything below this offset has been released.
    released: usize,
    /// Everything below this offset has been asked for ahead.
    asked: usize,
}

impl Mapping {
    /// Maps `file` if it is a regular, non-empty file that can be mapped; `None` otherwise
    /// (the caller then reads it with `read()`).
    pub(crate) fn of(file: &File) -> Option<Mapping> {
        let meta = file.metadata().ok()?;
        if !meta.is_file() || meta.len() == 0 || usize::try_from(meta.len()).is_err() {
            return None;
        }
        // SAFETY: the mapping is shared and read-only, and the file is not changed by this
        // process. Another process truncating it while it is mapped would make a later read
        // fault with SIGBUS; the module documentation says so and names the streaming path for
        // files that are still being written. Exercised by every test that opens a fixture.
        #[allow(unsafe_code)]
        let map = unsafe { Mmap::map(file) }.ok()?;
        // Advice is a hint: a kernel that ignores it reads the same bytes.
        let _ = map.advise(Advice::Sequential);
        let m = Mapping { map, progress: Mutex::new(Progress::default()), moved: Condvar::new() };
        m.ahead(&mut m.progress.lock().unwrap_or_else(|e| e.into_inner()), 0);
        Some(m)
    }

    /// The file's bytes.
    #[inline]
    pub fn bytes(&self) -> &[u8] {
        &self.map
    }

    /// Registers a reader starting at offset 0; returns its id.
    pub(crate) fn register(&self) -> usize {
        let mut p = self.progress.lock().unwrap_or_else(|e| e.into_inner());
        p.positions.push(0);
        p.positions.len() - 1
    }

    /// Reader `id` is at `pos` (`usize::MAX`: done). Releases the whole chunks that every
    /// reader has passed and asks for the next chunk to be read ahead.
    pub(crate) fn advance(&self, id: usize, pos: usize) {
        let mut p = self.progress.lock().unwrap_or_else(|e| e.into_inner());
        p.positions[id] = pos;
        self.moved.notify_all();
        // Sleep while this reader leads the slowest by too much (it wakes when a reader moves);
        // a reader that is done or dropped is at usize::MAX and holds nobody back.
        while pos != usize::MAX && pos > p.positions.iter().copied().min().unwrap_or(pos).saturating_add(MAX_LEAD) {
            p = self.moved.wait(p).unwrap_or_else(|e| e.into_inner());
        }
        let slowest = p.positions.iter().copied().min().unwrap_or(usize::MAX).min(self.map.len());
        let upto = slowest / RELEASE_CHUNK * RELEASE_CHUNK;
        if upto > p.released {
            // SAFETY: MADV_DONTNEED on a shared read-only file mapping drops only our page-table
            // entries: a later access faults the same file bytes back in from the page cache
            // (it would read zeros only for private or anonymous memory, which this is not), so
            // a reader that still looks at a released byte reads it unchanged, only slower.
            // Exercised by `capture/tests/mapping.rs`, which checks RSS and the bytes read.
            #[allow(unsafe_code)]
            let _ =
                unsafe { self.map.unchecked_advise_range(UncheckedAdvice::DontNeed, p.released, upto - p.released) };
            p.released = upto;
        }
        if pos < self.map.len() {
            self.ahead(&mut p, pos);
        }
    }

    /// Has the kernel read the chunk after the one `pos` is in.
    fn ahead(&self, p: &mut Progress, pos: usize) {
        let len = self.map.len();
        let upto = ((pos / RELEASE_CHUNK + 2) * RELEASE_CHUNK).min(len);
        if upto > p.asked {
            // Advice is a hint: without it the pages are read when they fault.
            let _ = self.map.advise_range(Advice::WillNeed, p.asked, upto - p.asked);
            p.asked = upto;
        }
    }

    /// Bytes released so far (for tests and the benches' notes).
    pub fn released(&self) -> usize {
        self.progress.lock().unwrap_or_else(|e| e.into_inner()).released
    }
}
