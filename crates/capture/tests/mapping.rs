//! The mapped reader against the streaming one (same packets, same errors, on every fixture
//! and on damaged copies of them), and its resident memory on a file larger than it may keep.

mod common;

use std::io::Write;
use std::path::Path;

use common::fixtures;
use xconnect_capture::{CaptureReader, PcapWriter, MAX_LEAD, RELEASE_CHUNK, REPORT_STEP};
use xconnect_frame::LinkType;

/// Everything a reader says about a file, in order.
#[derive(Debug, PartialEq)]
struct Seen {
    packets: Vec<(u64, u32, String, u32, Vec<u8>, u64)>,
    end: Result<(), (u64, String)>,
    format: String,
    link_types: Vec<String>,
    stats: String,
    offset: u64,
}

fn walk<R: std::io::Read>(r: Result<CaptureReader<R>, xconnect_capture::CaptureError>) -> Result<Seen, String> {
    let mut r = r.map_err(|e| e.to_string())?;
    let mut packets = Vec::new();
    let end = loop {
        match r.next_packet() {
            Ok(Some(p)) => {
                packets.push((p.ts_ns, p.orig_len, p.link_type.to_string(), p.interface, p.data.to_vec(), p.offset))
            }
            Ok(None) => break Ok(()),
            Err(e) => break Err((e.offset, e.to_string())),
        }
    };
    // After the end, or an error, nothing more.
    assert!(matches!(r.next_packet(), Ok(None)));
    Ok(Seen {
        packets,
        end,
        format: r.format().name().into(),
        link_types: r.link_types().iter().map(|l| l.to_string()).collect(),
        stats: format!("{:?}", r.stats()),
        offset: r.offset(),
    })
}

fn agree(path: &Path) {
    let mapped = CaptureReader::open(path);
    if let Ok(r) = &mapped {
        assert!(r.is_mapped(), "{}: a regular file is mapped", path.display());
        let twin = walk(r.twin().expect("a mapped reader has twins"));
        assert_eq!(twin, walk(CaptureReader::open_streamed(path)), "{}: a twin reads the same", path.display());
    }
    let streamed = CaptureReader::open_streamed(path);
    assert!(streamed.as_ref().map_or(true, |r| !r.is_mapped()));
    assert_eq!(walk(mapped), walk(streamed), "{}: mapped and streamed differ", path.display());
}

#[test]
fn mapped_and_streamed_read_the_same_on_every_fixture() {
    let all = fixtures();
    assert!(all.len() >= 20, "the fixtures are there");
    for path in all {
        agree(&path);
    }
}

#[test]
fn mapped_and_streamed_agree_on_damaged_files() {
    let dir = tempfile::tempdir().unwrap();
    let mut checked = 0;
    for path in fixtures() {
        let bytes = std::fs::read(&path).unwrap();
        // Cut at 40 places spread over the file (inside headers, records and blocks), and flip
        // a length byte at 10 places.
        let cuts = (1..=40).map(|i| bytes.len() * i / 41).chain([1, 3, 23, 25, 31]);
        for (k, cut) in cuts.enumerate() {
            let p = dir.path().join(format!("cut-{k}"));
            std::fs::write(&p, &bytes[..cut.min(bytes.len())]).unwrap();
            agree(&p);
            checked += 1;
        }
        for i in 1..=10 {
            let mut b = bytes.clone();
            let at = (b.len() * i / 11).max(8);
            b[at] ^= 0xff;
            let p = dir.path().join(format!("flip-{i}"));
            std::fs::write(&p, &b).unwrap();
            agree(&p);
            checked += 1;
        }
    }
    assert!(checked > 1000);
}

#[test]
fn an_empty_file_and_a_fifo_are_not_mapped() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty.pcap");
    std::fs::write(&empty, b"").unwrap();
    let e = CaptureReader::open(&empty).unwrap_err();
    assert!(e.to_string().contains("empty"), "{e}");
    // A FIFO streams: its writer sends a small capture.
    let fifo = dir.path().join("fifo");
    let status = std::process::Command::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(status.success());
    let src = fixtures().into_iter().find(|p| p.ends_with("sipp-g711a.pcap")).unwrap();
    let bytes = std::fs::read(&src).unwrap();
    let f2 = fifo.clone();
    let writer =
        std::thread::spawn(move || std::fs::OpenOptions::new().write(true).open(f2).unwrap().write_all(&bytes));
    let r = CaptureReader::open(&fifo).unwrap();
    assert!(!r.is_mapped());
    let seen = walk(Ok(r)).unwrap();
    writer.join().unwrap().unwrap();
    assert_eq!(seen.packets, walk(CaptureReader::open(&src)).unwrap().packets);
}

/// Resident file-backed memory of this process, bytes.
fn rss_file() -> u64 {
    let s = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = s.lines().find(|l| l.starts_with("RssFile:")).expect("RssFile in /proc/self/status");
    line.split_whitespace().nth(1).unwrap().parse::<u64>().unwrap() * 1024
}

#[test]
fn resident_memory_stays_flat_and_only_behind_the_slowest_reader_is_released() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.pcap");
    // 8 release chunks of 1,000-byte frames.
    let frame = vec![0x5au8; 1000];
    let frames = 8 * RELEASE_CHUNK as u64 / 1016;
    let mut w = PcapWriter::create(&path, 65535).unwrap();
    for i in 0..frames {
        w.write_packet(i * 1000, LinkType::Ethernet, &frame, 1000).unwrap();
    }
    w.finish().unwrap();
    let size = std::fs::metadata(&path).unwrap().len();

    // One reader: what it has passed leaves resident memory as it goes.
    let before = rss_file();
    let mut one = CaptureReader::open(&path).unwrap();
    let (mut n, mut peak) = (0u64, 0u64);
    while let Some(p) = one.next_packet().unwrap() {
        assert_eq!(p.data.len(), 1000);
        n += 1;
        if n % 4096 == 0 {
            peak = peak.max(rss_file().saturating_sub(before));
        }
    }
    assert_eq!(n, frames);
    let released = one.mapping().unwrap().released() as u64;
    assert!(released >= size - RELEASE_CHUNK as u64, "released {released} of {size}");
    drop(one);

    // Two readers: the one in front waits for the other within MAX_LEAD, nothing is released
    // while one of them has not moved, and pages released behind the slower read back the same.
    let a = CaptureReader::open(&path).unwrap();
    let mut b = a.twin().unwrap().unwrap();
    let read_by_a = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let counter = std::sync::Arc::clone(&read_by_a);
    let ahead = std::thread::spawn(move || {
        let mut a = a;
        while a.next_packet().unwrap().is_some() {
            counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
        a
    });
    std::thread::sleep(std::time::Duration::from_millis(300));
    let lead = read_by_a.load(std::sync::atomic::Ordering::Relaxed) * 1016;
    assert!(lead <= (MAX_LEAD + 2 * REPORT_STEP) as u64, "the reader in front ran {lead} bytes ahead");
    assert_eq!(b.mapping().unwrap().released(), 0, "the twin at offset 0 holds every page");
    let (mut m, mut sum) = (0u64, 0u64);
    while let Some(p) = b.next_packet().unwrap() {
        m += 1;
        sum += u64::from(p.data[999]);
    }
    let a = ahead.join().unwrap();
    assert_eq!(read_by_a.load(std::sync::atomic::Ordering::Relaxed), frames);
    assert_eq!((m, sum), (frames, frames * 0x5a));
    assert!(a.mapping().unwrap().released() as u64 >= size - RELEASE_CHUNK as u64);
    // A closed twin holds nobody back.
    let mut c = CaptureReader::open(&path).unwrap();
    let mut d = c.twin().unwrap().unwrap();
    d.close();
    assert!(d.next_packet().unwrap().is_none());
    let mut n = 0;
    while c.next_packet().unwrap().is_some() {
        n += 1;
    }
    assert_eq!(n, frames);
    // While one reader walked, at most the chunk it was in, the one read ahead and the rounding
    // stayed resident, never the whole file.
    assert!(peak < 4 * RELEASE_CHUNK as u64, "resident {peak} bytes of a {size}-byte file");
}
