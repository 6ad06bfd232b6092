//! The capture reader and the replay tally on arbitrary files: no panic, errors carry an
//! offset inside the file, and reading stops after the first error.
#![no_main]

use libfuzzer_sys::fuzz_target;
use xconnect_capture::CaptureReader;
use xconnect_dataplane::replay::{Replay, ReplayOptions};

fuzz_target!(|data: &[u8]| {
    let Ok(mut r) = CaptureReader::new(data) else { return };
    let mut t = Replay::new(ReplayOptions { max_flows: 64, ..ReplayOptions::default() }, None);
    let stop = loop {
        match r.next_packet() {
            Ok(Some(p)) => {
                assert!(p.offset < data.len() as u64);
                t.add(&p);
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
    let report = t.finish("fuzz", &r, stop.as_ref());
    assert_eq!(report.truncated, stop.is_some());
});
