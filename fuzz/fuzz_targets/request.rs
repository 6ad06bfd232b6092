//! Onboarding requests: any bytes validate without a panic; every problem has a field and a
//! line inside the text; a valid request's routes are public, /8-/24 and never overlap.
#![no_main]

use libfuzzer_sys::fuzz_target;
use xconnect_interconnect::request::validate;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let lines = text.lines().count().max(1) + 1;
    match validate(text, "fuzz.toml") {
        Err(e) => {
            assert!(!e.problems.is_empty());
            for p in &e.problems {
                assert!(!p.field.is_empty() && p.line <= lines, "{p:?} in {lines} lines");
            }
        }
        Ok(r) => {
            for (i, a) in r.routes.iter().enumerate() {
                assert!((8..=24).contains(&a.prefix_len()));
                for b in &r.routes[..i] {
                    assert!(!a.contains(b) && !b.contains(a), "{a} and {b}");
                }
            }
        }
    }
});
