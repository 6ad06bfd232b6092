//! A pcap writer; the file is an [`OutputFile`]: never half-written, never replacing anything
//! that is not a regular file.

use std::io::{self, Write};
use std::path::{Path, PathBuf};

use xconnect_frame::LinkType;

use crate::output::OutputFile;

/// Writes a nanosecond pcap. See the module documentation.
#[derive(Debug)]
pub struct PcapWriter {
    out: OutputFile,
    snaplen: u32,
    packets: u64,
    /// Written into the file header with the first packet (or at `finish`): a pcap holds one.
    link_type: Option<LinkType>,
}

impl PcapWriter {
    /// Opens the output (see [`OutputFile::create`]). The file header, which names the link
    /// type, is written with the first packet.
    pub fn create(target: impl AsRef<Path>, snaplen: u32) -> io::Result<PcapWriter> {
        Ok(PcapWriter { out: OutputFile::create(target, ".pcap.tmp")?, snaplen, packets: 0, link_type: None })
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
                        self.out.target().display()
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

    /// Flushes; for a regular file, syncs and renames it into place. A file with no packets
    /// gets an Ethernet header. Returns the path written (`-` for standard output).
    pub fn finish(mut self) -> io::Result<PathBuf> {
        if self.link_type.is_none() {
            self.write_header(LinkType::Ethernet)?;
        }
        self.out.finish()
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
    fn devices_and_fifos_are_written_in_place_and_never_replaced() {
        use std::os::unix::fs::{FileTypeExt, PermissionsExt};
        // /dev/null stays a character device.
        let mut w = PcapWriter::create("/dev/null", 65535).unwrap();
        w.write_packet(0, LinkType::Ethernet, &[0; 64], 64).unwrap();
        w.finish().unwrap();
        assert!(std::fs::metadata("/dev/null").unwrap().file_type().is_char_device());
        // A FIFO: a reader on the other end gets the capture, and the FIFO stays.
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("pipe");
        assert!(std::process::Command::new("mkfifo").arg(&fifo).status().unwrap().success());
        let reader = {
            let fifo = fifo.clone();
            std::thread::spawn(move || std::fs::read(fifo).unwrap())
        };
        let mut w = PcapWriter::create(&fifo, 65535).unwrap();
        w.write_packet(0, LinkType::Ethernet, &[9; 64], 64).unwrap();
        w.finish().unwrap();
        assert_eq!(reader.join().unwrap().len(), 24 + 16 + 64);
        assert!(std::fs::metadata(&fifo).unwrap().file_type().is_fifo());
        // A block device (a disk) is refused before it is opened. The node made here names a
        // loop device that does not exist, so even a broken check could not write to a disk.
        let blk = dir.path().join("disk");
        let made = std::process::Command::new("mknod").arg(&blk).args(["b", "7", "250"]).status();
        if made.is_ok_and(|s| s.success()) {
            let e = PcapWriter::create(&blk, 65535).unwrap_err();
            assert!(e.to_string().contains("refusing to write over it"), "{e}");
        } else if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!("mknod failed: CI runs as root and must test the block-device refusal");
        } else {
            eprintln!("SKIPPED: the block-device case needs root (mknod)");
        }
        // A directory is refused.
        let e = PcapWriter::create(dir.path(), 65535).unwrap_err();
        assert!(e.to_string().contains("not a regular file, a character device or a FIFO"), "{e}");
        // An existing file keeps its mode; a symbolic link stays a link to the new capture.
        let file = dir.path().join("kept.pcap");
        std::fs::write(&file, b"old").unwrap();
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o640)).unwrap();
        let link = dir.path().join("link.pcap");
        std::os::unix::fs::symlink(&file, &link).unwrap();
        let mut w = PcapWriter::create(&link, 65535).unwrap();
        w.write_packet(0, LinkType::Ethernet, &[1; 60], 60).unwrap();
        w.finish().unwrap();
        assert!(std::fs::symlink_metadata(&link).unwrap().file_type().is_symlink());
        assert_eq!(std::fs::metadata(&file).unwrap().permissions().mode() & 0o777, 0o640);
        assert_eq!(std::fs::read(&file).unwrap().len(), 24 + 16 + 60);
    }

    #[test]
    fn unwritable_directory_fails_at_create() {
        let e = PcapWriter::create("/nonexistent-dir/x.pcap", 65535).unwrap_err();
        assert!(e.to_string().contains("/nonexistent-dir"), "{e}");
    }
}
