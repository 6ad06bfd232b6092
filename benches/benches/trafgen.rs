//! Call synthesis and RTP analysis: frames generated per second into a reused buffer; the
//! phase-sorted calendar against a binary heap of next-send times; RTP analysis per packet;
//! and `generate`'s pcap writing against a plain write of the same bytes (the page-cache limit).

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::hint::black_box;
use std::io::Write;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use xconnect_capture::PcapWriter;
use xconnect_dataplane::rtp::{Clock, RtpAnalyzer, RtpSample, StreamKey};
use xconnect_frame::LinkType;
use xconnect_trafgen::{CallPlan, Source};

fn plan(calls: u64, seconds: u64) -> CallPlan {
    CallPlan::g711(calls, 0, seconds * 1_000_000_000)
}

fn generation(c: &mut Criterion) {
    // 1000 calls, both directions: 100,000 frames of 214 bytes per second of calls.
    let frames = 100_000u64;
    let mut g = c.benchmark_group("trafgen/generate_100k_g711_frames");
    g.throughput(Throughput::Elements(frames));
    let mut buf = vec![0u8; 1600];
    g.bench_function("calendar_source_into_reused_buffer", |b| {
        b.iter_batched(
            || Source::new(&plan(1000, 1)).unwrap(),
            |mut src| {
                let mut n = 0u64;
                while let Some((t, len)) = src.next_into(&mut buf) {
                    n += t ^ len as u64;
                }
                n
            },
            criterion::BatchSize::LargeInput,
        )
    });
    // The scheduling alone: the calendar (sorted phases, walked round after round) against a
    // binary heap of (next send time, stream).
    let phases: Vec<u64> = {
        let src = Source::new(&plan(1000, 1)).unwrap();
        src.streams().iter().map(|s| s.phase_ns).collect()
    };
    g.bench_function("schedule_only_calendar", |b| {
        b.iter(|| {
            let mut acc = 0u64;
            let (mut round, mut i) = (0u64, 0usize);
            for _ in 0..frames {
                if i == phases.len() {
                    i = 0;
                    round += 1;
                }
                acc = acc.wrapping_add(round * 20_000_000 + phases[i]);
                i += 1;
            }
            black_box(acc)
        })
    });
    g.bench_function("schedule_only_binary_heap", |b| {
        b.iter(|| {
            let mut heap: BinaryHeap<Reverse<(u64, u32)>> =
                phases.iter().enumerate().map(|(i, p)| Reverse((*p, i as u32))).collect();
            let mut acc = 0u64;
            for _ in 0..frames {
                let Reverse((t, s)) = heap.pop().unwrap();
                acc = acc.wrapping_add(t);
                heap.push(Reverse((t + 20_000_000, s)));
            }
            black_box(acc)
        })
    });
    g.finish();
}

/// Packet `k` of stream `i`: 20 ms apart, streams 10 µs apart, a little jitter.
fn sample(k: u64, i: usize) -> RtpSample {
    RtpSample {
        arrival_ns: k * 20_000_000 + i as u64 * 10_000 + (k * 7 % 5) * 1000,
        seq: k as u16,
        timestamp: k as u32 * 160,
        payload_type: 0,
        marker: false,
        clock: Clock::Hz(8000),
        sent_ns: None,
    }
}

fn analysis(c: &mut Criterion) {
    // 2000 streams, 50 packets each, interleaved as they arrive.
    let keys: Vec<StreamKey> = (0..2000u32)
        .map(|i| StreamKey {
            src: std::net::Ipv4Addr::from(0xcb00_7100 + i).into(),
            src_port: 10_000 + (i as u16 % 1000) * 2,
            dst: std::net::Ipv4Addr::new(168, 86, 128, 1).into(),
            dst_port: 20_000,
            ssrc: i.wrapping_mul(2_654_435_761),
        })
        .collect();
    let mut g = c.benchmark_group("trafgen/rtp_analysis_100k_packets");
    g.throughput(Throughput::Elements(100_000));
    g.bench_function("analyzer_add", |b| {
        b.iter(|| {
            let mut a = RtpAnalyzer::new(None);
            for k in 0..50u64 {
                for (i, key) in keys.iter().enumerate() {
                    a.add(*key, sample(k, i), false, None);
                }
            }
            black_box(a.not_rtp_in_range)
        })
    });
    // As the replay and the simulator call it: each flow keeps its stream's slot, so no
    // index lookup per packet, only the stream's state.
    g.bench_function("analyzer_add_slot_hint", |b| {
        let mut hints = vec![u32::MAX; keys.len()];
        b.iter(|| {
            let mut a = RtpAnalyzer::new(None);
            hints.fill(u32::MAX);
            for k in 0..50u64 {
                for (i, key) in keys.iter().enumerate() {
                    a.add(*key, sample(k, i), false, Some(&mut hints[i]));
                }
            }
            black_box(a.not_rtp_in_range)
        })
    });
    // The same with the series' intervals closed every 100 ms (five packets of each stream),
    // as a replay's default does: each close scores every stream over its interval.
    g.bench_function("analyzer_add_slot_hint_closing_100ms", |b| {
        let mut hints = vec![u32::MAX; keys.len()];
        b.iter(|| {
            let mut a = RtpAnalyzer::new(None);
            hints.fill(u32::MAX);
            let mut active = 0;
            for k in 0..50u64 {
                if k % 5 == 0 {
                    active += a.close_interval(3.6).active;
                }
                for (i, key) in keys.iter().enumerate() {
                    a.add(*key, sample(k, i), false, Some(&mut hints[i]));
                }
            }
            black_box((a.not_rtp_in_range, active))
        })
    });
    g.finish();
}

fn writing(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let frames = 500_000u64; // 5 s of 1000 calls, both directions: 115 MB of pcap
    let mut g = c.benchmark_group("trafgen/write_500k_frames");
    g.sample_size(10);
    g.throughput(Throughput::Elements(frames));
    let path = dir.path().join("gen.pcap");
    let generate = || {
        let mut src = Source::new(&plan(1000, 5)).unwrap();
        let mut w = PcapWriter::create(&path, 65535).unwrap();
        let mut buf = vec![0u8; 1600];
        while let Some((t, len)) = src.next_into(&mut buf) {
            w.write_packet(t, LinkType::Ethernet, &buf[..len], len as u32).unwrap();
        }
        w.finish().unwrap();
    };
    g.bench_function("generate_to_pcap", |b| b.iter(generate));
    // The limit: the same number of bytes written in 1 MiB chunks, synced and renamed alike
    // (the file is written once more here: a filtered run may have skipped the bench above).
    generate();
    let bytes = std::fs::metadata(&path).unwrap().len() as usize;
    let chunk = vec![0x5au8; 1 << 20];
    let plain = dir.path().join("plain.bin");
    g.bench_function("plain_write_same_bytes", |b| {
        b.iter(|| {
            let mut f = tempfile::NamedTempFile::new_in(dir.path()).unwrap();
            let mut left = bytes;
            while left > 0 {
                let n = left.min(chunk.len());
                f.write_all(&chunk[..n]).unwrap();
                left -= n;
            }
            f.as_file().sync_all().unwrap();
            f.persist(&plain).unwrap();
        })
    });
    g.finish();
}

criterion_group!(benches, generation, analysis, writing);
criterion_main!(benches);
