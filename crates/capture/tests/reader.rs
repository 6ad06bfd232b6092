//! The reader on real captures (against pcap-parser as the oracle) and on damaged files.

mod common;

use std::path::PathBuf;

use common::fixtures;
use pcap_parser::{create_reader, Block, PcapBlockOwned, PcapError};
use xconnect_capture::{CaptureReader, ErrorKind, Format};

/// (captured bytes, original length) of every packet, by pcap-parser. Every fixture read here
/// is whole, so anything but a clean end of file fails the test.
fn oracle(path: &PathBuf) -> Vec<(Vec<u8>, u32)> {
    let file = std::fs::File::open(path).unwrap();
    let mut r = create_reader(65536, file).unwrap();
    let mut out = Vec::new();
    // Incomplete twice in a row: the refill brought nothing, the file ends inside a record.
    let mut refilled = false;
    loop {
        match r.next() {
            Ok((offset, block)) => {
                match block {
                    PcapBlockOwned::Legacy(b) => out.push((b.data[..b.caplen as usize].to_vec(), b.origlen)),
                    PcapBlockOwned::NG(Block::EnhancedPacket(b)) => {
                        out.push((b.data[..b.caplen as usize].to_vec(), b.origlen))
                    }
                    _ => {}
                }
                r.consume(offset);
                refilled = false;
            }
            Err(PcapError::Eof) => return out,
            Err(PcapError::Incomplete(_)) => {
                assert!(!refilled, "{}: pcap-parser finds the file cut inside a record", path.display());
                r.refill().unwrap();
                refilled = true;
            }
            Err(e) => panic!("{}: pcap-parser: {e:?}", path.display()),
        }
    }
}

#[test]
fn same_packets_as_pcap_parser() {
    let mut compared = 0;
    for path in fixtures() {
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        if name.starts_with("ndpi-fuzz") {
            continue; // a corrupt first record: crates/cli/tests/oracle.rs checks what we report
        }
        let want = oracle(&path);
        let mut r = CaptureReader::open(&path).unwrap();
        let mut got = Vec::new();
        while let Some(p) = r.next_packet().unwrap() {
            got.push((p.data.to_vec(), p.orig_len));
        }
        assert_eq!(got.len(), want.len(), "{name}: packet count");
        assert!(got == want, "{name}: packet bytes differ");
        compared += got.len();
    }
    assert!(compared > 600, "{compared}");
}

#[test]
fn formats_detected_by_magic_not_name() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/pcap");
    let fmt = |n: &str| CaptureReader::open(dir.join(n)).unwrap().format();
    assert_eq!(fmt("pcapplusplus-bgp-packets.pcap"), Format::Pcapng);
    assert_eq!(fmt("arkime-bigendian.pcap"), Format::Pcap { nanos: false, big_endian: true });
    assert_eq!(fmt("pcapplusplus-nanosecs.pcap"), Format::Pcap { nanos: true, big_endian: false });
}

#[test]
fn nanosecond_and_big_endian_timestamps() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/pcap");
    // Expected values: `tshark -T fields -e frame.time_epoch` on each file (tshark 4.0).
    let ts = |n: &str| {
        let mut r = CaptureReader::open(dir.join(n)).unwrap();
        let mut v = Vec::new();
        while let Some(p) = r.next_packet().unwrap() {
            v.push(p.ts_ns);
        }
        v
    };
    assert_eq!(ts("pcapplusplus-nanosecs.pcap"), [1_000_002_000, 1_000_001_234]);
    assert_eq!(ts("arkime-bigendian.pcap"), [1_335_958_313_152_630_000, 1_335_958_317_529_201_000]);
}

fn pcap_header() -> Vec<u8> {
    let mut h = Vec::new();
    h.extend_from_slice(&0xa1b2c3d4u32.to_le_bytes());
    h.extend_from_slice(&2u16.to_le_bytes());
    h.extend_from_slice(&4u16.to_le_bytes());
    h.extend_from_slice(&[0; 8]);
    h.extend_from_slice(&65535u32.to_le_bytes());
    h.extend_from_slice(&1u32.to_le_bytes());
    h
}

fn record(h: &mut Vec<u8>, caplen: u32, data_len: usize) {
    h.extend_from_slice(&[1, 0, 0, 0, 0, 0, 0, 0]);
    h.extend_from_slice(&caplen.to_le_bytes());
    h.extend_from_slice(&caplen.to_le_bytes());
    h.extend(std::iter::repeat_n(0xab, data_len));
}

#[test]
fn truncated_record_yields_good_records_then_offset() {
    let mut f = pcap_header();
    record(&mut f, 60, 60);
    record(&mut f, 60, 60);
    record(&mut f, 60, 10); // cut
    let mut r = CaptureReader::new(&f[..]).unwrap();
    assert!(r.next_packet().unwrap().is_some());
    assert!(r.next_packet().unwrap().is_some());
    let e = r.next_packet().unwrap_err();
    assert!(e.is_truncation());
    assert_eq!((e.offset, e.records), (24 + 2 * 76, 2));
    assert!(e.to_string().contains("needs 76 bytes, only 26 remain"), "{e}");
    assert!(r.next_packet().unwrap().is_none(), "nothing after the damage");
}

#[test]
fn record_longer_than_the_snap_length_is_read_and_counted() {
    // Header snap length 100, one record of 150 captured bytes: some writers get the snap
    // length wrong; the record is kept and counted (Wireshark also reads it).
    let mut f = pcap_header();
    f[16..20].copy_from_slice(&100u32.to_le_bytes());
    record(&mut f, 150, 150);
    let mut r = CaptureReader::new(&f[..]).unwrap();
    assert_eq!(r.next_packet().unwrap().unwrap().data.len(), 150);
    assert!(r.next_packet().unwrap().is_none());
    assert_eq!(r.stats().over_snaplen, 1);
}

#[test]
fn record_longer_than_any_capture_is_corrupt() {
    let mut f = pcap_header();
    record(&mut f, 10_000_000, 100);
    let mut r = CaptureReader::new(&f[..]).unwrap();
    let e = r.next_packet().unwrap_err();
    assert!(matches!(e.kind, ErrorKind::RecordTooLong { caplen: 10_000_000, .. }), "{e}");
    assert_eq!(e.offset, 24);
}

#[test]
fn wrong_magic_and_empty_and_short_header() {
    let e = CaptureReader::new(&b"GIF89a........................"[..]).unwrap_err();
    assert!(matches!(e.kind, ErrorKind::NotACapture { magic } if &magic == b"GIF8"));
    assert!(matches!(CaptureReader::new(&b""[..]).unwrap_err().kind, ErrorKind::Empty));
    let h = pcap_header();
    assert!(matches!(CaptureReader::new(&h[..10]).unwrap_err().kind, ErrorKind::Truncated { needed: 24, .. }));
}

fn shb() -> Vec<u8> {
    let mut b = Vec::new();
    b.extend_from_slice(&0x0a0d0d0au32.to_le_bytes());
    b.extend_from_slice(&28u32.to_le_bytes());
    b.extend_from_slice(&0x1a2b3c4du32.to_le_bytes());
    b.extend_from_slice(&1u16.to_le_bytes());
    b.extend_from_slice(&0u16.to_le_bytes());
    b.extend_from_slice(&(-1i64).to_le_bytes());
    b.extend_from_slice(&28u32.to_le_bytes());
    b
}

fn idb(b: &mut Vec<u8>, tsresol: Option<u8>) {
    let opts: Vec<u8> = match tsresol {
        Some(r) => vec![9, 0, 1, 0, r, 0, 0, 0, 0, 0, 0, 0],
        None => vec![],
    };
    let len = 20 + opts.len() as u32;
    b.extend_from_slice(&1u32.to_le_bytes());
    b.extend_from_slice(&len.to_le_bytes());
    b.extend_from_slice(&1u16.to_le_bytes());
    b.extend_from_slice(&0u16.to_le_bytes());
    b.extend_from_slice(&0u32.to_le_bytes());
    b.extend_from_slice(&opts);
    b.extend_from_slice(&len.to_le_bytes());
}

fn epb(b: &mut Vec<u8>, iface: u32, ts: u64, data: &[u8]) {
    let padded = (data.len() + 3) & !3;
    let len = 32 + padded as u32;
    b.extend_from_slice(&6u32.to_le_bytes());
    b.extend_from_slice(&len.to_le_bytes());
    b.extend_from_slice(&iface.to_le_bytes());
    b.extend_from_slice(&((ts >> 32) as u32).to_le_bytes());
    b.extend_from_slice(&(ts as u32).to_le_bytes());
    b.extend_from_slice(&(data.len() as u32).to_le_bytes());
    b.extend_from_slice(&(data.len() as u32).to_le_bytes());
    b.extend_from_slice(data);
    b.extend(std::iter::repeat_n(0, padded - data.len()));
    b.extend_from_slice(&len.to_le_bytes());
}

#[test]
fn pcapng_interfaces_resolutions_and_sections() {
    let mut f = shb();
    idb(&mut f, None); // microseconds
    idb(&mut f, Some(9)); // nanoseconds
    epb(&mut f, 0, 1_500_000, &[1; 60]);
    epb(&mut f, 1, 1_500_000, &[2; 61]);
    f.extend_from_slice(&shb()); // a second section resets the interfaces
    idb(&mut f, Some(3)); // milliseconds
    epb(&mut f, 0, 7, &[3; 62]);
    let mut r = CaptureReader::new(&f[..]).unwrap();
    let mut got = Vec::new();
    while let Some(p) = r.next_packet().unwrap() {
        got.push((p.interface, p.ts_ns, p.data.len()));
    }
    assert_eq!(got, [(0, 1_500_000_000, 60), (1, 1_500_000, 61), (2, 7_000_000, 62)]);
    assert_eq!(r.stats().sections, 2);
}

#[test]
fn pcapng_bad_block_length_and_unknown_interface() {
    let mut f = shb();
    idb(&mut f, None);
    let good_end = f.len();
    epb(&mut f, 0, 0, &[1; 60]);
    f[good_end + 4] = 0x5d; // total length 0x5d = 93: not a multiple of 4
    let mut r = CaptureReader::new(&f[..]).unwrap();
    let e = r.next_packet().unwrap_err();
    assert!(matches!(e.kind, ErrorKind::BadBlockLength { length: 93, .. }), "{e}");
    assert_eq!(e.offset, good_end as u64);

    let mut f = shb();
    idb(&mut f, None);
    epb(&mut f, 3, 0, &[1; 60]);
    let e = CaptureReader::new(&f[..]).unwrap().next_packet().unwrap_err();
    assert!(matches!(e.kind, ErrorKind::UnknownInterface { id: 3, declared: 1 }), "{e}");

    let mut f = shb();
    idb(&mut f, None);
    epb(&mut f, 0, 0, &[1; 60]);
    let n = f.len();
    f[n - 4] ^= 0xff; // trailing length differs
    let e = CaptureReader::new(&f[..]).unwrap().next_packet().unwrap_err();
    assert!(matches!(e.kind, ErrorKind::BlockLengthMismatch { .. }), "{e}");
}

#[test]
fn big_endian_pcapng() {
    // One section written big-endian: SHB, IDB, EPB.
    let mut f = Vec::new();
    let be = |v: u32| v.to_be_bytes();
    f.extend_from_slice(&be(0x0a0d0d0a));
    f.extend_from_slice(&be(28));
    f.extend_from_slice(&be(0x1a2b3c4d));
    f.extend_from_slice(&1u16.to_be_bytes());
    f.extend_from_slice(&0u16.to_be_bytes());
    f.extend_from_slice(&(-1i64).to_be_bytes());
    f.extend_from_slice(&be(28));
    f.extend_from_slice(&be(1));
    f.extend_from_slice(&be(20));
    f.extend_from_slice(&1u16.to_be_bytes());
    f.extend_from_slice(&0u16.to_be_bytes());
    f.extend_from_slice(&be(0));
    f.extend_from_slice(&be(20));
    f.extend_from_slice(&be(6));
    f.extend_from_slice(&be(36));
    f.extend_from_slice(&be(0));
    f.extend_from_slice(&be(0));
    f.extend_from_slice(&be(2_000_000));
    f.extend_from_slice(&be(4));
    f.extend_from_slice(&be(4));
    f.extend_from_slice(&[9, 8, 7, 6]);
    f.extend_from_slice(&be(36));
    let mut r = CaptureReader::new(&f[..]).unwrap();
    let p = r.next_packet().unwrap().unwrap();
    assert_eq!((p.ts_ns, p.data), (2_000_000_000, &[9u8, 8, 7, 6][..]));
}

#[test]
fn memory_is_one_buffer_whatever_the_file_size() {
    // A 40 MB stream through the reader: the buffer never grows past its initial size.
    struct Gen {
        left: usize,
        header: Vec<u8>,
        pos: usize,
    }
    impl std::io::Read for Gen {
        fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
            let mut n = 0;
            while n < out.len() {
                if self.pos == self.header.len() {
                    if self.left == 0 {
                        break;
                    }
                    self.left -= 1;
                    self.header.clear();
                    record(&mut self.header, 200, 200);
                    self.pos = 0;
                }
                let k = (self.header.len() - self.pos).min(out.len() - n);
                out[n..n + k].copy_from_slice(&self.header[self.pos..self.pos + k]);
                self.pos += k;
                n += k;
            }
            Ok(n)
        }
    }
    let h = pcap_header();
    let g = Gen { left: 200_000, header: h.clone(), pos: 0 };
    let mut r = CaptureReader::new(g).unwrap();
    let mut n = 0u64;
    while r.next_packet().unwrap().is_some() {
        n += 1;
    }
    assert_eq!(n, 200_000);
    assert_eq!(r.offset(), 24 + 200_000 * 216);
    assert_eq!(r.buffer_len(), xconnect_capture::BUFFER_LEN);
}
