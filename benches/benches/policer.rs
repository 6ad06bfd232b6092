//! Policer decisions per second on a realistic arrival stream, per algorithm; and the replay
//! pipeline with the 100M tier's policer on against the same pipeline with it off.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use xconnect_capture::PcapWriter;
use xconnect_dataplane::pipeline::{replay_file, Outputs};
use xconnect_dataplane::police::{Duplex, Mode, PolicerConfig, Profile, Sides};
use xconnect_dataplane::replay::ReplayOptions;
use xconnect_frame::LinkType;
use xconnect_interconnect::Tier;
use xconnect_policer::{Accounting, Color, CouplingFlag, MefProfile, Meter, SrTcm, TokenBucket, TrTcm};
use xconnect_time::Nanos;

/// 65,536 arrivals: G.711 frames (218 B) from 1200 calls on a 100 Mbit/s tier, 20 ms apart per
/// call with random phase (about 105 Mbit/s offered, so the bucket hovers near empty and both
/// outcomes occur), with 5 % of larger frames mixed in.
fn arrivals() -> Vec<(Nanos, u32)> {
    let mut rng = SmallRng::seed_from_u64(7);
    let calls = 1200u64;
    let mut v: Vec<(Nanos, u32)> = (0..65_536u64)
        .map(|i| {
            let call = i % calls;
            let round = i / calls;
            let phase = call * 20_000_000 / calls + rng.random_range(0..1000);
            let len = if rng.random_bool(0.05) { rng.random_range(64..1522) } else { 218 };
            (Nanos(round * 20_000_000 + phase), len)
        })
        .collect();
    v.sort_unstable();
    v
}

fn run(m: &mut dyn Meter, arr: &[(Nanos, u32)]) -> u64 {
    let mut green = 0u64;
    for &(t, len) in arr {
        green += u64::from(m.decide(black_box(t), black_box(len)) != Color::Red);
    }
    green
}

fn decisions(c: &mut Criterion) {
    let arr = arrivals();
    let rate = Tier::M100.rate_bps();
    let burst = Tier::M100.default_burst_bytes();
    let mut g = c.benchmark_group("policer/decide_65536");
    g.throughput(Throughput::Elements(arr.len() as u64));
    g.bench_function("single_rate", |b| b.iter(|| run(&mut TokenBucket::new(rate, burst).unwrap(), &arr)));
    g.bench_function("srtcm_rfc2697", |b| b.iter(|| run(&mut SrTcm::new(rate, burst, burst).unwrap(), &arr)));
    g.bench_function("trtcm_rfc2698", |b| {
        b.iter(|| run(&mut TrTcm::new(rate, burst, 2 * rate, 2 * burst).unwrap(), &arr))
    });
    g.bench_function("mef_10_3", |b| {
        b.iter(|| run(&mut MefProfile::new(rate, burst, rate / 2, burst, CouplingFlag::Coupled).unwrap(), &arr))
    });
    g.finish();
}

fn pipeline(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("calls.pcap");
    let frame = xconnect_benches::g711_frame(&[]);
    let mut w = PcapWriter::create(&path, 65535).unwrap();
    let arr = arrivals();
    for i in 0..1_000_000u64 {
        let (t, _) = arr[(i % 65_536) as usize];
        let lap = i / 65_536;
        w.write_packet(1_700_000_000_000_000_000 + lap * 1_100_000_000 + t.0, LinkType::Ethernet, &frame[..214], 214)
            .unwrap();
    }
    w.finish().unwrap();
    // Full duplex; every frame classified as the customer's (customer → provider), so each
    // is classified and policed.
    let police = || {
        let sides = Sides::Customer(vec!["0.0.0.0/0".parse().unwrap()]);
        Duplex::new(
            PolicerConfig {
                rate_bps: Tier::M100.rate_bps(),
                burst_bytes: Tier::M100.default_burst_bytes(),
                excess_rate_bps: 0,
                excess_burst_bytes: 0,
                profile: Profile::SingleRate,
                accounting: Accounting::Frame,
                mode: Mode::Police,
            },
            sides,
        )
        .unwrap()
    };
    let mut g = c.benchmark_group("policer/replay_1M_frames");
    g.sample_size(10);
    g.throughput(Throughput::Elements(1_000_000));
    g.bench_function("policer_off", |b| {
        b.iter(|| replay_file(&path, ReplayOptions::default(), None, Outputs::default()).unwrap().0.frames)
    });
    g.bench_function("policer_100M_on", |b| {
        b.iter(|| replay_file(&path, ReplayOptions::default(), Some(police()), Outputs::default()).unwrap().0.frames)
    });
    g.finish();
}

criterion_group!(benches, decisions, pipeline);
criterion_main!(benches);
