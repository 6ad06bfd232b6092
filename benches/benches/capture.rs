//! Capture read throughput on a generated 2-million-frame pcap (page-cached after the first
//! pass): xconnect's reader beside pcap-parser, and the whole replay tally (parse + count +
//! flows + peak windows) on top of xconnect's reader.

use std::hint::black_box;
use std::path::Path;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use pcap_parser::traits::PcapReaderIterator;
use pcap_parser::{LegacyPcapReader, PcapBlockOwned, PcapError};
use xconnect_benches::mixed_ring;
use xconnect_capture::{CaptureReader, PcapWriter};
use xconnect_dataplane::pipeline::{replay_file, Outputs};
use xconnect_dataplane::replay::{Replay, ReplayOptions};
use xconnect_frame::LinkType;

const FRAMES: u64 = 2_000_000;

fn write_file(path: &Path) {
    let ring = mixed_ring();
    let mut w = PcapWriter::create(path, 65535).unwrap();
    for i in 0..FRAMES {
        let f = &ring[(i % 4096) as usize];
        // 20 µs apart: 50,000 frames/s, about a 100 Mbps tier's worth of G.711.
        w.write_packet(1_700_000_000_000_000_000 + i * 20_000, LinkType::Ethernet, f, f.len() as u32).unwrap();
    }
    w.finish().unwrap();
}

fn xconnect_read(path: &Path) -> u64 {
    let mut r = CaptureReader::open(path).unwrap();
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

fn replay(path: &Path) -> u64 {
    let mut r = CaptureReader::open(path).unwrap();
    let mut t = Replay::new(ReplayOptions::default(), None);
    while let Some(p) = r.next_packet().unwrap() {
        t.add(&p);
    }
    let report = t.finish("bench", &r, None);
    report.frames
}

fn benches(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bench.pcap");
    write_file(&path);
    let size = std::fs::metadata(&path).unwrap().len();
    eprintln!("bench file: {FRAMES} frames, {size} bytes");
    assert_eq!(xconnect_read(&path), FRAMES);
    assert_eq!(pcap_parser_read(&path), FRAMES);

    let mut g = c.benchmark_group("capture/read_2M_frames");
    g.sample_size(10);
    g.throughput(Throughput::Elements(FRAMES));
    g.bench_function("xconnect", |b| b.iter(|| xconnect_read(&path)));
    g.bench_function("pcap_parser", |b| b.iter(|| pcap_parser_read(&path)));
    g.bench_function("xconnect_replay_tally_1thread", |b| b.iter(|| replay(&path)));
    g.bench_function("xconnect_replay_file_2threads", |b| {
        b.iter(|| replay_file(&path, ReplayOptions::default(), None, Outputs::default()).unwrap().0.frames)
    });
    g.finish();
}

criterion_group!(capture, benches);
criterion_main!(capture);
