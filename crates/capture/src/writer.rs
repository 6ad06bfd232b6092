//! An atomic pcap writer: nanosecond-resolution pcap written to a temporary file beside the
//! target and renamed over it by [`PcapWriter::finish`]. If the writer is dropped without
//! `finish` (an error, a panic, Ctrl-C unwinding), the temporary file is removed, so a
//! half-written capture never appears under the target name.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use tempfile::NamedTempFile;
use xconnect_frame::LinkType;

/// Writes a nanosecond pcap atomically. See the module documentation.
#[derive(Debug)]
pub struct PcapWriter {
    out: BufWriter<NamedTempFile>,
    target: PathBuf,
    snaplen: u32,
    packets: u64,
    /// Written into the file header with the first packet (or at `finish`): a pcap holds one.
    link_type: Option<LinkType>,
}

impl PcapWriter {
    /// Creates the temporary file in the target's directory (so the rename stays on one file
    /// system). Fails early if the directory is not writable. The file header, which names the
    /// link type, is written with the first packet.
    pub fn create(target: impl AsRef<Path>, snaplen: u32) -> io::Result<PcapWriter> {
        let target = target.as_ref().to_path_buf();
        let dir = match target.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let tmp = tempfile::Builder::new().prefix(".xconnect-").suffix(".pcap.tmp").tempfile_in(&dir).map_err(|e| {
            io::Error::new(e.kind(), format!("cannot create a temporary file in {}: {e}", dir.display()))
        })?;
        let out = BufWriter::with_capacity(1 << 20, tmp);
        Ok(PcapWriter { out, target, snaplen, packets: 0, link_type: None })
    }

    fn write_header(&mut self, link_type: LinkType) -> io::Result<()> {
        let mut h = [0u8; 24];
        h[0..4].copy_from_slice(&0xa1b2_3c4du32.to_le_bytes());
        h[4..6].copy_from_slice(&2u16.to_le_bytes());
        h[6..8].copy_from_slice(&4u16.to_le_bytes());
        h[16..20].copy_from_slice(&self.snaplen.to_le_bytes());
        h[20..24].copy_from_slice(&u32::from(link_type).to_le_bytes());
        self.link_type = Some(link_type);
        self.out.write_all(&h)
    }

    /// Appends one packet. `orig_len` is the length on the wire (at least `data.len()`);
    /// data longer than the snap length is cut to it, as a capture would. Every packet must
    /// have the link type of the first: a pcap file cannot mix them.
    pub fn write_packet(&mut self, ts_ns: u64, link_type: LinkType, data: &[u8], orig_len: u32) -> io::Result<()> {
        match self.link_type {
            None => self.write_header(link_type)?,
            Some(l) if l != link_type => {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!(
                        "{}: a pcap file holds one link type, and the packets mix {l} and {link_type}",
                        self.target.display()
                    ),
                ))
            }
            Some(_) => {}
        }
        let caplen = data.len().min(self.snaplen as usize);
        let sec = u32::try_from(ts_ns / 1_000_000_000).map_err(|_| {
            io::Error::new(io::ErrorKind::InvalidInput, "timestamp beyond the year 2106 does not fit pcap")
        })?;
        let mut h = [0u8; 16];
        h[0..4].copy_from_slice(&sec.to_le_bytes());
        h[4..8].copy_from_slice(&((ts_ns % 1_000_000_000) as u32).to_le_bytes());
        h[8..12].copy_from_slice(&(caplen as u32).to_le_bytes());
        h[12..16].copy_from_slice(&orig_len.max(data.len() as u32).to_le_bytes());
        self.out.write_all(&h)?;
        self.out.write_all(&data[..caplen])?;
        self.packets += 1;
        Ok(())
    }

    /// Flushes, syncs and renames the file into place. A file with no packets gets an
    /// Ethernet header.
    pub fn finish(mut self) -> io::Result<PathBuf> {
        if self.link_type.is_none() {
            self.write_header(LinkType::Ethernet)?;
        }
        let tmp = self.out.into_inner().map_err(|e| e.into_error())?;
        tmp.as_file().sync_all()?;
        let target = self.target;
        tmp.persist(&target).map_err(|e| e.error)?;
        // Make the rename itself durable.
        if let Some(dir) = target.parent().filter(|d| !d.as_os_str().is_empty()) {
            if let Ok(d) = File::open(dir) {
                let _ = d.sync_all();
            }
        }
        Ok(target)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::CaptureReader;

    #[test]
    fn write_then_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.pcap");
        let mut w = PcapWriter::create(&path, 100).unwrap();
        w.write_packet(1_700_000_000_123_456_789, LinkType::Ethernet, &[1, 2, 3], 3).unwrap();
        w.write_packet(1_700_000_001_000_000_001, LinkType::Ethernet, &[7; 150], 150).unwrap();
        let e = w.write_packet(1_700_000_002_000_000_000, LinkType::LinuxSll, &[7; 20], 20).unwrap_err();
        assert!(e.to_string().contains("mix ether and linux-sll"), "{e}");
        assert!(!path.exists(), "nothing appears under the target name before finish");
        w.finish().unwrap();
        let mut r = CaptureReader::open(&path).unwrap();
        let p = r.next_packet().unwrap().unwrap();
        assert_eq!((p.ts_ns, p.data, p.orig_len), (1_700_000_000_123_456_789, &[1u8, 2, 3][..], 3));
        let p = r.next_packet().unwrap().unwrap();
        assert_eq!((p.ts_ns, p.data.len(), p.orig_len), (1_700_000_001_000_000_001, 100, 150));
        assert!(r.next_packet().unwrap().is_none());
    }

    #[test]
    fn dropped_writer_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.pcap");
        {
            let mut w = PcapWriter::create(&path, 65535).unwrap();
            w.write_packet(0, LinkType::Ethernet, &[0; 64], 64).unwrap();
        }
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    #[test]
    fn unwritable_directory_fails_at_create() {
        let e = PcapWriter::create("/nonexistent-dir/x.pcap", 65535).unwrap_err();
        assert!(e.to_string().contains("/nonexistent-dir"), "{e}");
    }
}
