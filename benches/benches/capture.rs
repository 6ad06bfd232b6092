//! Capture reading and replay on the file: `xconnect generate --calls 1000 --seconds 20
//! --both-directions --vlan 100` (2,000,000 G.711 frames of 218 bytes, 2000 RTP streams; 468 MB),
//! page-cached after the first pass.
//!
//! - the floors: a plain `read()` loop that touches every 4 KiB it reads (on one thread, and
//!   on every core, each copying its share of the chunks), and a walk of the records of a fresh
//!   mapping (what mapping and reading every page costs in one pass);
//! - the readers: xconnect mapped and streamed, beside pcap-parser;
//! - the replay: one thread's tally on the mapped reader, and `replay_file` (RTP analysis,
//!   SIP, flows, checksums) on 1 and 2 threads.

use std::hint::black_box;
use std::io::Read;
use std::path::Path;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use pcap_parser::traits::PcapReaderIterator;
use pcap_parser::{LegacyPcapReader, PcapBlockOwned, PcapError};
use xconnect_capture::{CaptureReader, PcapWriter};
use xconnect_dataplane::pipeline::{replay_file, Outputs};
use xconnect_dataplane::replay::{FrameSource, Replay, ReplayOptions};
use xconnect_frame::{LinkType, VlanId};
use xconnect_trafgen::{CallPlan, Source};

const FRAMES: u64 = 2_000_000;

fn write_file(path: &Path) {
    let plan =
        CallPlan { vlan: VlanId::try_new(100), ..CallPlan::g711(1000, 1_700_000_000_000_000_000, 20_000_000_000) };
    let mut src = Source::new(&plan).unwrap();
    let mut w = PcapWriter::create(path, 65535).unwrap();
    let mut buf = vec![0u8; 1600];
    while let Some((t, len)) = src.next_into(&mut buf) {
        w.write_packet(t, LinkType::Ethernet, &buf[..len], len as u32).unwrap();
    }
    w.finish().unwrap();
}

/// The floor of the streaming path: `read()` into a 1 MiB buffer, one byte per 4 KiB looked at.
fn read_loop(path: &Path) -> u64 {
    let mut f = std::fs::File::open(path).unwrap();
    let mut buf = vec![0u8; 1 << 20];
    let mut sum = 0u64;
    loop {
        let n = f.read(&mut buf).unwrap();
        if n == 0 {
            break;
        }
        sum += buf[..n].iter().step_by(4096).map(|&b| u64::from(b)).sum::<u64>();
    }
    sum
}

/// The same floor with every core copying: each thread `pread()`s every `threads`-th 1 MiB
/// chunk. No reader can hand out records this way (a record's start is known only once the
/// one before it is read), so this bounds what the machine could copy, not what a reader can.
fn read_loop_threads(path: &Path, threads: usize) -> u64 {
    use std::os::unix::fs::FileExt;
    const CHUNK: u64 = 1 << 20;
    let chunks = std::fs::metadata(path).unwrap().len().div_ceil(CHUNK);
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads as u64)
            .map(|first| {
                s.spawn(move || {
                    let f = std::fs::File::open(path).unwrap();
                    let mut buf = vec![0u8; CHUNK as usize];
                    let mut sum = 0u64;
                    for chunk in (first..chunks).step_by(threads) {
                        let n = f.read_at(&mut buf, chunk * CHUNK).unwrap();
                        sum += buf[..n].iter().step_by(4096).map(|&b| u64::from(b)).sum::<u64>();
                    }
                    sum
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).sum()
    })
}

/// The floor of the mapped path: map the file anew and walk its records (the page tables are
/// built and torn down once per pass, as in one `xconnect replay`).
fn mapped_walk(path: &Path) -> u64 {
    let f = std::fs::File::open(path).unwrap();
    // SAFETY: a bench file nobody else writes.
    #[allow(unsafe_code)]
    let map = unsafe { memmap2::Mmap::map(&f) }.unwrap();
    let _ = map.advise(memmap2::Advice::Sequential);
    let mut pos = 24;
    let (mut n, mut bytes) = (0u64, 0u64);
    while pos + 16 <= map.len() {
        let caplen = u32::from_le_bytes(map[pos + 8..pos + 12].try_into().unwrap()) as usize;
        xconnect_capture::prefetch::prefetch_at(&map, pos + 2048);
        bytes += u64::from(map[pos + 16]);
        pos += 16 + caplen;
        n += 1;
    }
    black_box(bytes);
    n
}

fn xconnect_read(mut r: CaptureReader<std::fs::File>) -> u64 {
    let mut n = 0u64;
    let mut bytes = 0u64;
    while let Some(p) = r.next_packet().unwrap() {
        n += 1;
        bytes += p.data.len() as u64;
    }
    black_box(bytes);
    n
}

fn pcap_parser_read(path: &Path) -> u64 {
    let file = std::fs::File::open(path).unwrap();
    let mut r = LegacyPcapReader::new(1 << 20, file).unwrap();
    let (mut n, mut bytes) = (0u64, 0u64);
    loop {
        match r.next() {
            Ok((offset, block)) => {
                if let PcapBlockOwned::Legacy(b) = block {
                    n += 1;
                    bytes += b.data.len() as u64;
                }
                r.consume(offset);
            }
            Err(PcapError::Eof) => break,
            Err(PcapError::Incomplete(_)) => r.refill().unwrap(),
            Err(e) => panic!("{e:?}"),
        }
    }
    black_box(bytes);
    n
}

fn tally(path: &Path) -> u64 {
    let mut r = CaptureReader::open(path).unwrap();
    let mut t = Replay::new(ReplayOptions { threads: 1, ..ReplayOptions::default() }, None);
    while let Some(p) = r.next_packet().unwrap() {
        t.add(&p);
    }
    t.finish("bench", &FrameSource::of(&r), None).rtp_streams.len() as u64
}

fn replay(path: &Path, threads: usize) -> u64 {
    let opts = ReplayOptions { threads, ..ReplayOptions::default() };
    let (report, _) = replay_file(path, opts, None, Outputs::default()).unwrap();
    report.frames
}

fn benches(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bench.pcap");
    write_file(&path);
    let size = std::fs::metadata(&path).unwrap().len();
    eprintln!("bench file: {FRAMES} frames, {size} bytes");
    assert_eq!(mapped_walk(&path), FRAMES);
    assert_eq!(read_loop_threads(&path, 2), read_loop(&path), "the chunks cover the file once");
    assert_eq!(xconnect_read(CaptureReader::open(&path).unwrap()), FRAMES);
    assert_eq!(pcap_parser_read(&path), FRAMES);
    assert_eq!(tally(&path), 2000, "2000 RTP streams");

    let mut g = c.benchmark_group("capture/read_2M_g711_frames");
    g.sample_size(10);
    g.throughput(Throughput::Elements(FRAMES));
    g.bench_function("floor_read_loop", |b| b.iter(|| read_loop(&path)));
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    g.bench_function(format!("floor_read_loop_{cores}threads"), |b| b.iter(|| read_loop_threads(&path, cores)));
    g.bench_function("floor_mapped_walk", |b| b.iter(|| mapped_walk(&path)));
    g.bench_function("xconnect_mapped", |b| b.iter(|| xconnect_read(CaptureReader::open(&path).unwrap())));
    g.bench_function("xconnect_streamed", |b| b.iter(|| xconnect_read(CaptureReader::open_streamed(&path).unwrap())));
    g.bench_function("pcap_parser", |b| b.iter(|| pcap_parser_read(&path)));
    g.finish();

    let mut g = c.benchmark_group("capture/replay_2M_g711_frames");
    g.sample_size(10);
    g.throughput(Throughput::Elements(FRAMES));
    g.bench_function("tally_1thread", |b| b.iter(|| tally(&path)));
    g.bench_function("replay_file_1thread", |b| b.iter(|| replay(&path, 1)));
    g.bench_function("replay_file_2threads", |b| b.iter(|| replay(&path, 2)));
    g.finish();
}

criterion_group!(capture, benches);
criterion_main!(capture);
