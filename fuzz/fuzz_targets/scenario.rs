//! Scenario text: parse and check any bytes without a panic; a scenario that passes its
//! checks and fits a small work budget is simulated, and its report must be consistent (mean
//! MOS never under the minimum, loss within 0-100 %, drops adding up).
#![no_main]

use std::sync::atomic::AtomicU64;

use libfuzzer_sys::fuzz_target;
use xconnect_sim::budget::{Limits, Work};
use xconnect_sim::scenario::Scenario;
use xconnect_sim::sim::simulate;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let sc = match Scenario::parse(text, "fuzz.toml") {
        Ok(sc) => sc,
        Err(e) => {
            assert!(!e.problems.is_empty());
            let _ = e.to_string();
            return;
        }
    };
    // A small budget: the fuzzer must stay fast, and the estimate must bound the real work.
    let work = Work::simulate(&sc);
    if work.check(&Limits { max_frames: 200_000, max_memory_bytes: 64 << 20 }).is_err() {
        return;
    }
    let r = simulate(&sc, 1, &AtomicU64::new(0));
    assert!(r.frames <= work.frames, "estimate {} below the {} frames simulated", work.frames, r.frames);
    for s in r.sites.iter().chain(&r.failover) {
        assert!((0.0..=100.0).contains(&s.loss_pct), "{s:?}");
        assert_eq!(s.offered_frames, s.passed_frames + s.dropped_frames, "{s:?}");
        assert!(s.policer_drops + s.port_drops <= s.dropped_frames, "{s:?}");
        match (s.mos_min, s.mos_mean) {
            (Some(min), Some(mean)) => assert!((1.0..=4.5).contains(&min) && mean >= min && mean <= 4.5, "{s:?}"),
            (None, None) => {}
            other => panic!("{other:?}"),
        }
    }
});
