//! The capture reader and the replay tally on arbitrary files: no panic, errors carry an
//! offset inside the file, and reading stops after the first error. The tally split into 3
//! shards and merged gives the same report as one tally of every frame (the property that makes
//! `replay --threads` safe on captures we did not write).
#![no_main]

use libfuzzer_sys::fuzz_target;
use xconnect_capture::CaptureReader;
use xconnect_dataplane::replay::{FrameSource, Replay, ReplayOptions, Shard};

fuzz_target!(|data: &[u8]| {
    let Ok(mut r) = CaptureReader::new(data) else { return };
    let opts = ReplayOptions { max_flows: 64, malformed_examples: 5, ..ReplayOptions::default() };
    let mut whole = Replay::new(opts, None);
    let mut shards: Vec<Replay> =
        (0..3).map(|index| Replay::shard(opts, None, Shard { index, count: 3 })).collect();
    let stop = loop {
        match r.next_packet() {
            Ok(Some(p)) => {
                assert!(p.offset < data.len() as u64);
                whole.add(&p);
                for s in &mut shards {
                    s.add(&p);
                }
            }
            Ok(None) => break None,
            Err(e) => {
                assert!(e.offset <= data.len() as u64, "offset {} past the end {}", e.offset, data.len());
                let _ = e.to_string();
                break Some(e);
            }
        }
    };
    if stop.is_some() {
        assert!(matches!(r.next_packet(), Ok(None)));
    }
    let report = whole.finish("fuzz", &FrameSource::of(&r), stop.as_ref());
    assert_eq!(report.truncated, stop.is_some());
    let merged = Replay::merge(shards).finish("fuzz", &FrameSource::of(&r), stop.as_ref());
    assert_eq!(serde_json::to_string(&report).unwrap(), serde_json::to_string(&merged).unwrap());
});
