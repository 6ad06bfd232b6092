//! BGP: UPDATE decoding in prefixes per second over a 1-million-prefix stream of realistic
//! UPDATEs; longest-prefix-match lookups per second on a 1-million-prefix table with random
//! addresses: xconnect's 16-8-8 table beside prefix-trie (the crate it is tested against); and
//! a full table into the speaker's RIB and out again, in sorted and in shuffled order, with and
//! without the lookup pass ahead of each UPDATE's changes, beside an ordered map (BTreeMap).
//!
//! `cargo bench -p xconnect-benches --bench bgp`

use std::collections::BTreeMap;
use std::hint::black_box;
use std::net::Ipv4Addr;
use std::sync::Arc;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use ipnet::Ipv4Net;
use prefix_trie::PrefixMap;
use rand::seq::SliceRandom;
use rand::{rngs::SmallRng, Rng, SeedableRng};
use xconnect_bgp::lpm::Lpm;
use xconnect_bgp::rib::{Rib, Route};
use xconnect_bgp::wire::{
    AsPath, AsWidth, DecodeCtx, Message, MessageReader, Origin, PathAttributes, Update, UpdateBuffer,
};

const PREFIXES: usize = 1_000_000;

/// A full-table-like set: about 60 % /24, the rest /16 to /23, spread over public space.
fn table(rng: &mut SmallRng) -> Vec<Ipv4Net> {
    let mut v: Vec<Ipv4Net> = (0..PREFIXES)
        .map(|_| {
            let len = match rng.random_range(0..100) {
                0..=59 => 24,
                60..=69 => 23,
                70..=79 => 22,
                80..=87 => 21,
                88..=93 => 20,
                94..=97 => 19,
                _ => rng.random_range(16..=18),
            };
            let a = rng.random_range(0x0100_0000u32..0xdf00_0000);
            Ipv4Net::new(Ipv4Addr::from(a), len).unwrap().trunc()
        })
        .collect();
    v.sort();
    v.dedup();
    v
}

/// The prefixes as a byte stream of UPDATEs: groups of 1-40 prefixes sharing attributes
/// (AS_PATH of 2-6 ASNs, 4-octet, communities on some), as a router sends a full table.
fn update_stream(prefixes: &[Ipv4Net], rng: &mut SmallRng) -> Vec<u8> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < prefixes.len() {
        let n = rng.random_range(1..=40).min(prefixes.len() - i);
        let path: Vec<u32> = (0..rng.random_range(2..=6)).map(|_| rng.random_range(1..400_000)).collect();
        let attrs = PathAttributes {
            origin: Some(Origin::Igp),
            as_path: Some(AsPath::sequence(path)),
            next_hop: Some(Ipv4Addr::new(192, 0, 2, 1)),
            med: rng.random_bool(0.3).then(|| rng.random_range(0..1000)),
            communities: if rng.random_bool(0.5) { vec![rng.random(), rng.random()] } else { vec![] },
            ..PathAttributes::default()
        };
        let u = Update { attrs, nlri: prefixes[i..i + n].to_vec(), ..Update::default() };
        out.extend(Message::Update(u).encode(true));
        i += n;
    }
    out
}

fn decode(c: &mut Criterion) {
    let mut rng = SmallRng::seed_from_u64(1);
    let prefixes = table(&mut rng);
    let stream = update_stream(&prefixes, &mut rng);
    let ctx = DecodeCtx { as_width: AsWidth::Four };
    let mut g = c.benchmark_group("bgp_decode");
    g.sample_size(10);
    g.throughput(Throughput::Elements(prefixes.len() as u64));
    // The reader holds the stream (as a session's socket buffer would); the timing is the
    // decoding: messages framed, UPDATEs decoded into one reused buffer (no allocation per
    // message, `crates/bgp/tests/alloc.rs`).
    let mut reader = MessageReader::default();
    g.bench_function(format!("updates_{}_prefixes_{}_MB", prefixes.len(), stream.len() >> 20), |b| {
        let mut buf = UpdateBuffer::default();
        b.iter(|| {
            reader.push(&stream);
            let mut n = 0usize;
            while let Some(m) = reader.next_message().unwrap() {
                if Message::decode_reusing(m, ctx, &mut buf).unwrap().is_none() {
                    n += buf.update().nlri.len();
                }
            }
            assert_eq!(n, prefixes.len());
            black_box(n)
        })
    });
    // The same with a new `Message` per UPDATE (what the speaker's session does today).
    g.bench_function("updates_owned_messages", |b| {
        b.iter(|| {
            reader.push(&stream);
            let mut n = 0usize;
            while let Some(m) = reader.next_message().unwrap() {
                if let Message::Update(u) = Message::decode(m, ctx).unwrap() {
                    n += u.nlri.len();
                }
            }
            assert_eq!(n, prefixes.len());
            black_box(n)
        })
    });
    g.finish();
}

fn lpm(c: &mut Criterion) {
    let mut rng = SmallRng::seed_from_u64(2);
    let prefixes = table(&mut rng);
    let ours = Lpm::build(prefixes.iter().enumerate().map(|(i, p)| (*p, i as u32)));
    let mut trie: PrefixMap<Ipv4Net, u32> = PrefixMap::new();
    for (i, p) in prefixes.iter().enumerate() {
        trie.insert(*p, i as u32);
    }
    let addrs: Vec<u32> = (0..1 << 20).map(|_| rng.random()).collect();
    // Same answers before timing anything.
    for a in addrs.iter().take(100_000) {
        let want = trie.get_lpm(&Ipv4Net::new(Ipv4Addr::from(*a), 32).unwrap()).map(|(_, v)| *v);
        assert_eq!(ours.lookup(*a), want);
    }
    eprintln!("LPM table: {} prefixes, {} MiB (16-8-8)", ours.len(), ours.memory_bytes() >> 20);
    let mut g = c.benchmark_group("lpm_1m_prefixes_random_addresses");
    g.throughput(Throughput::Elements(addrs.len() as u64));
    g.bench_function("xconnect_16_8_8", |b| {
        b.iter(|| {
            let mut hits = 0u32;
            for &a in &addrs {
                hits += u32::from(ours.lookup(a).is_some());
            }
            black_box(hits)
        })
    });
    g.bench_function("xconnect_16_8_8_batch8", |b| {
        b.iter(|| {
            let mut hits = 0u32;
            for chunk in addrs.chunks_exact(8) {
                let batch: &[u32; 8] = chunk.try_into().unwrap();
                for r in ours.lookup_batch(batch) {
                    hits += u32::from(r.is_some());
                }
            }
            black_box(hits)
        })
    });
    g.sample_size(10);
    g.bench_function("prefix_trie", |b| {
        b.iter(|| {
            let mut hits = 0u32;
            for &a in &addrs {
                hits += u32::from(trie.get_lpm(&Ipv4Net::new(Ipv4Addr::from(a), 32).unwrap()).is_some());
            }
            black_box(hits)
        })
    });
    g.finish();
}

/// Prefixes per UPDATE in the RIB benchmark (a full-table feed packs about 1,000 /24s into a
/// 4,096-byte UPDATE).
const PER_UPDATE: usize = 1000;

fn rib(c: &mut Criterion) {
    let mut rng = SmallRng::seed_from_u64(3);
    let sorted = table(&mut rng);
    let mut shuffled = sorted.clone();
    shuffled.shuffle(&mut rng);
    let attrs = Arc::new(PathAttributes {
        origin: Some(Origin::Igp),
        as_path: Some(AsPath::sequence(vec![64512])),
        next_hop: Some(Ipv4Addr::new(192, 0, 2, 1)),
        ..PathAttributes::default()
    });
    let route = || Route { session: 0, ebgp: true, attrs: attrs.clone() };
    let id = Ipv4Addr::new(192, 0, 2, 1);
    let mut g = c.benchmark_group("rib_full_table_in_and_out");
    g.sample_size(10);
    g.throughput(Throughput::Elements(2 * sorted.len() as u64));
    for (order, prefixes) in [("sorted", &sorted), ("shuffled", &shuffled)] {
        for lookahead in [true, false] {
            let name = format!("{order}_xconnect_rib{}", if lookahead { "_lookahead" } else { "" });
            g.bench_function(name, |b| {
                b.iter(|| {
                    let mut rib = Rib::new();
                    for update in prefixes.chunks(PER_UPDATE) {
                        if lookahead {
                            rib.prefetch(update.iter().copied());
                        }
                        for p in update {
                            rib.announce(*p, route(), id);
                        }
                    }
                    assert_eq!(rib.len(), prefixes.len());
                    for update in prefixes.chunks(PER_UPDATE) {
                        if lookahead {
                            rib.prefetch(update.iter().copied());
                        }
                        for p in update {
                            rib.withdraw(0, *p);
                        }
                    }
                    assert!(rib.is_empty());
                })
            });
        }
        g.bench_function(format!("{order}_btreemap"), |b| {
            b.iter(|| {
                let mut map = BTreeMap::new();
                for p in prefixes {
                    map.insert(*p, route());
                }
                assert_eq!(map.len(), prefixes.len());
                for p in prefixes {
                    map.remove(p);
                }
                assert!(map.is_empty());
            })
        });
    }
    g.finish();
}

criterion_group!(benches, decode, lpm, rib);
criterion_main!(benches);
