//! An output file that never leaves a half-written file and never replaces anything that is not
//! a regular file:
//!
//! - a new or existing **regular file** is written to a temporary file beside it and renamed
//!   over it by [`OutputFile::finish`]; an existing file keeps its permissions, a new one gets
//!   0666 less the umask, as any program's output;
//! - `-` is **standard output**;
//! - an existing **character device or FIFO** (`/dev/null`, a pipe made with `mkfifo`) is
//!   written in place; a directory, socket or block device (a disk: writing a capture over it
//!   would destroy it) is refused; a **symbolic link** is followed, and the file it points to is
//!   what is replaced (the link stays).
//!
//! If the writer is dropped without `finish` (an error, a panic), the temporary file is
//! removed; on SIGINT/SIGTERM a binary calls [`remove_unfinished`] before it exits.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use tempfile::NamedTempFile;

/// Temporary files being written, for [`remove_unfinished`].
static UNFINISHED: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

/// Removes every temporary file a writer has not finished: for a signal handler that is about
/// to exit the process (destructors do not run then).
pub fn remove_unfinished() {
    let list = UNFINISHED.lock().unwrap_or_else(|e| e.into_inner());
    for p in list.iter() {
        let _ = std::fs::remove_file(p);
    }
}

fn forget(path: &Path) {
    UNFINISHED.lock().unwrap_or_else(|e| e.into_inner()).retain(|p| p != path);
}

/// Where the bytes go.
enum Sink {
    /// A temporary file renamed over the target at the end.
    Atomic(BufWriter<NamedTempFile>),
    /// Standard output, a device or a FIFO: written as it comes.
    Direct(BufWriter<Box<dyn Write + Send>>),
}

impl std::fmt::Debug for Sink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Sink::Atomic(_) => "Sink::Atomic",
            Sink::Direct(_) => "Sink::Direct",
        })
    }
}

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Sink::Atomic(w) => w.write(buf),
            Sink::Direct(w) => w.write(buf),
        }
    }
    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        match self {
            Sink::Atomic(w) => w.write_all(buf),
            Sink::Direct(w) => w.write_all(buf),
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        match self {
            Sink::Atomic(w) => w.flush(),
            Sink::Direct(w) => w.flush(),
        }
    }
}

/// An output file being written. See the module documentation.
#[derive(Debug)]
pub struct OutputFile {
    out: Sink,
    target: PathBuf,
}

impl OutputFile {
    /// Opens the output (see the module documentation). For a regular file the temporary file
    /// (named `.xconnect-*{suffix}`) is created in the target's directory, so that the rename
    /// stays on one file system, and an unwritable directory fails here, before any work.
    pub fn create(target: impl AsRef<Path>, suffix: &str) -> io::Result<OutputFile> {
        let given = target.as_ref().to_path_buf();
        let direct = |w: Box<dyn Write + Send>, target: PathBuf| OutputFile {
            out: Sink::Direct(BufWriter::with_capacity(1 << 20, w)),
            target,
        };
        if given.as_os_str() == "-" {
            return Ok(direct(Box::new(io::stdout()), given));
        }
        // Follow a symbolic link: the file it names is the one replaced.
        let target = match std::fs::symlink_metadata(&given) {
            Ok(m) if m.file_type().is_symlink() => std::fs::canonicalize(&given).map_err(|e| {
                io::Error::new(e.kind(), format!("{} is a symbolic link to nothing usable: {e}", given.display()))
            })?,
            _ => given,
        };
        let existing = match std::fs::metadata(&target) {
            Ok(m) => Some(m),
            Err(e) if e.kind() == io::ErrorKind::NotFound => None,
            Err(e) => return Err(io::Error::new(e.kind(), format!("{}: {e}", target.display()))),
        };
        if let Some(m) = &existing {
            use std::os::unix::fs::FileTypeExt;
            let t = m.file_type();
            if t.is_char_device() || t.is_fifo() {
                let f = std::fs::OpenOptions::new().write(true).open(&target)?;
                return Ok(direct(Box::new(f), target));
            }
            if !t.is_file() {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!(
                        "{} is not a regular file, a character device or a FIFO: refusing to write over it",
                        target.display()
                    ),
                ));
            }
        }
        let dir = match target.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => PathBuf::from("."),
        };
        use std::os::unix::fs::PermissionsExt;
        // A new file: 0666 less the umask (applied by open). An existing one: its own mode, set
        // again after creation since the umask may have cut it.
        let mode = existing.as_ref().map_or(0o666, |m| m.permissions().mode() & 0o7777);
        let tmp = tempfile::Builder::new()
            .prefix(".xconnect-")
            .suffix(suffix)
            .permissions(std::fs::Permissions::from_mode(mode))
            .tempfile_in(&dir)
            .map_err(|e| {
                io::Error::new(e.kind(), format!("cannot create a temporary file in {}: {e}", dir.display()))
            })?;
        if existing.is_some() {
            tmp.as_file().set_permissions(std::fs::Permissions::from_mode(mode))?;
        }
        UNFINISHED.lock().unwrap_or_else(|e| e.into_inner()).push(tmp.path().to_path_buf());
        let out = Sink::Atomic(BufWriter::with_capacity(1 << 20, tmp));
        Ok(OutputFile { out, target })
    }

    /// The path given (or the file a symbolic link named).
    pub fn target(&self) -> &Path {
        &self.target
    }

    /// Flushes; for a regular file, syncs and renames it into place. Returns the path written
    /// (`-` for standard output).
    pub fn finish(mut self) -> io::Result<PathBuf> {
        let target = std::mem::take(&mut self.target);
        match std::mem::replace(&mut self.out, Sink::Direct(BufWriter::new(Box::new(io::sink())))) {
            Sink::Direct(mut w) => {
                w.flush()?;
                Ok(target)
            }
            Sink::Atomic(w) => {
                let tmp = w.into_inner().map_err(|e| e.into_error())?;
                let tmp_path = tmp.path().to_path_buf();
                tmp.as_file().sync_all()?;
                let r = tmp.persist(&target).map_err(|e| e.error);
                forget(&tmp_path);
                r?;
                // Make the rename itself durable.
                if let Some(dir) = target.parent().filter(|d| !d.as_os_str().is_empty()) {
                    if let Ok(d) = File::open(dir) {
                        let _ = d.sync_all();
                    }
                }
                Ok(target)
            }
        }
    }
}

impl Write for OutputFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.out.write(buf)
    }
    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.out.write_all(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

impl Drop for OutputFile {
    fn drop(&mut self) {
        // NamedTempFile removes its file; the list forgets it.
        if let Sink::Atomic(w) = &self.out {
            forget(w.get_ref().path());
        }
    }
}
