//! Exactness: the interval bound, lossless conforming sources, the RFC worked behaviour, and a
//! long saturation run.

use proptest::prelude::*;
use xconnect_policer::{Color, CouplingFlag, MefProfile, Meter, SrTcm, TokenBucket, TrTcm, BIT_NS_PER_BYTE};
use xconnect_time::Nanos;

/// Arrival sequences: up to 300 frames of 64..=1518 bytes with gaps of 0..200 µs.
fn arrivals() -> impl Strategy<Value = Vec<(u64, u32)>> {
    prop::collection::vec((0u64..200_000, 64u32..=1518), 1..300).prop_map(|v| {
        let mut t = 0;
        v.into_iter()
            .map(|(gap, len)| {
                t += gap;
                (t, len)
            })
            .collect()
    })
}

/// Checks that green bytes in every window [t_i, t_j] stay within rate × (t_j − t_i) + burst.
fn check_interval_bound(arr: &[(u64, u32)], colors: &[Color], rate: u64, burst: u64) -> Result<(), TestCaseError> {
    let mut prefix = vec![0u64; arr.len() + 1];
    for (i, ((_, len), c)) in arr.iter().zip(colors).enumerate() {
        prefix[i + 1] = prefix[i] + if *c == Color::Green { u64::from(*len) } else { 0 };
    }
    for i in 0..arr.len() {
        for j in i..arr.len() {
            let passed = u128::from(prefix[j + 1] - prefix[i]) * u128::from(BIT_NS_PER_BYTE);
            let allowed =
                u128::from(rate) * u128::from(arr[j].0 - arr[i].0) + u128::from(burst) * u128::from(BIT_NS_PER_BYTE);
            prop_assert!(passed <= allowed, "window {i}..={j}: {passed} > {allowed}");
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(500))]

    #[test]
    fn single_rate_never_exceeds_rate_times_time_plus_burst(
        arr in arrivals(), rate in 1_000_000u64..1_000_000_000, burst in 1518u64..200_000,
    ) {
        let mut tb = TokenBucket::new(rate, burst).unwrap();
        let colors: Vec<Color> = arr.iter().map(|(t, l)| tb.decide(Nanos(*t), *l)).collect();
        check_interval_bound(&arr, &colors, rate, burst)?;
    }

    #[test]
    fn mef_green_never_exceeds_cir_times_time_plus_cbs(
        arr in arrivals(), cir in 1_000_000u64..1_000_000_000, cbs in 1518u64..200_000, coupled in any::<bool>(),
    ) {
        let cf = if coupled { CouplingFlag::Coupled } else { CouplingFlag::Uncoupled };
        let mut m = MefProfile::new(cir, cbs, cir / 2, cbs, cf).unwrap();
        let colors: Vec<Color> = arr.iter().map(|(t, l)| m.decide(Nanos(*t), *l, Color::Green)).collect();
        check_interval_bound(&arr, &colors, cir, cbs)?;
    }

    #[test]
    fn a_source_at_exactly_the_rate_loses_nothing(
        sizes in prop::collection::vec(64u32..=1518, 1..2000), rate in 1_000_000u64..10_000_000_000, burst in 1518u64..100_000,
    ) {
        let mut tb = TokenBucket::new(rate, burst).unwrap();
        // Start from an empty bucket: the first frame spends it all, then each next frame is
        // sent exactly when the rate has paid for the one before.
        let mut t = 0u64;
        let _ = tb.decide(Nanos(0), burst as u32);
        for len in sizes {
            t += (u64::from(len) * BIT_NS_PER_BYTE).div_ceil(rate);
            prop_assert_eq!(tb.decide(Nanos(t), len), Color::Green);
        }
    }
}

#[test]
fn rfc2697_srtcm_worked_sequence() {
    // CIR 8000 bit/s = 1 byte per ms; CBS 100 B, EBS 200 B; both buckets start full.
    let mut m = SrTcm::new(8_000, 100, 200).unwrap();
    let ms = |x: u64| Nanos(x * 1_000_000);
    assert_eq!(m.decide(ms(0), 100, Color::Green), Color::Green); // C 100 -> 0
    assert_eq!(m.decide(ms(0), 150, Color::Green), Color::Yellow); // E 200 -> 50
    assert_eq!(m.decide(ms(0), 60, Color::Green), Color::Red); // C 0, E 50
    assert_eq!(m.decide(ms(50), 40, Color::Green), Color::Green); // C +50 = 50 -> 10
    assert_eq!(m.decide(ms(50), 60, Color::Green), Color::Red); // C 10, E 50
                                                                // 250 ms later: C fills to 100 (+90), the other 160 overflow into E: 50 + 160 = 210,
                                                                // capped at 200.
    assert_eq!(m.decide(ms(300), 200, Color::Green), Color::Yellow);
    assert_eq!((m.committed().level_bytes(), m.excess().level_bytes()), (100, 0));
    // Color-aware: a pre-yellow frame cannot be green even with C full: with E empty it is red,
    // and 10 ms later (C already full, so all 10 bytes go to E) it is yellow.
    assert_eq!(m.decide(ms(300), 10, Color::Yellow), Color::Red);
    assert_eq!(m.decide(ms(310), 10, Color::Yellow), Color::Yellow);
    assert_eq!(m.decide(ms(310), 10, Color::Red), Color::Red);
}

#[test]
fn rfc2698_trtcm_worked_sequence() {
    // CIR 1 B/ms, CBS 100; PIR 2 B/ms, PBS 200.
    let mut m = TrTcm::new(8_000, 100, 16_000, 200).unwrap();
    let ms = |x: u64| Nanos(x * 1_000_000);
    assert_eq!(m.decide(ms(0), 150, Color::Green), Color::Yellow); // P 200 -> 50, C stays 100
    assert_eq!(m.decide(ms(0), 60, Color::Green), Color::Red); // P 50 < 60
    assert_eq!(m.decide(ms(0), 50, Color::Green), Color::Green); // P 0, C 50
    assert_eq!(m.decide(ms(25), 50, Color::Green), Color::Green); // P +50, C +25 = 75 -> 25
    assert_eq!((m.peak().level_bytes(), m.committed().level_bytes()), (0, 25));
    assert_eq!(m.decide(ms(100), 10, Color::Yellow), Color::Yellow); // color-aware
    assert_eq!(m.decide(ms(100), 10, Color::Red), Color::Red);
}

#[test]
fn mef_coupling_flag_moves_green_overflow_to_yellow() {
    let ms = |x: u64| Nanos(x * 1_000_000);
    for (cf, expect) in [(CouplingFlag::Coupled, Color::Yellow), (CouplingFlag::Uncoupled, Color::Red)] {
        // CIR 1 B/ms, CBS 100; EIR 0, EBS 100.
        let mut m = MefProfile::new(8_000, 100, 0, 100, cf).unwrap();
        assert_eq!(m.decide(ms(0), 100, Color::Green), Color::Green);
        assert_eq!(m.decide(ms(0), 100, Color::Green), Color::Yellow);
        // 300 ms: green refills 100 and overflows 200; only CF = 1 passes that to yellow.
        assert_eq!(m.decide(ms(300), 100, Color::Green), Color::Green);
        assert_eq!(m.decide(ms(300), 100, Color::Green), expect, "{cf:?}");
    }
}

/// Ten minutes of virtual time at twice the rate: what passes is the rate within 0.01 %.
fn saturate(meter: &mut dyn Meter, rate: u64) -> f64 {
    let frame = 218u32; // a G.711 frame as MEF counts it
    let gap = (u64::from(frame) * BIT_NS_PER_BYTE) / (2 * rate);
    let end = 600 * 1_000_000_000u64;
    let (mut t, mut green) = (0u64, 0u64);
    while t < end {
        if meter.decide(Nanos(t), frame) == Color::Green {
            green += u64::from(frame);
        }
        t += gap;
    }
    green as f64 * 8.0 / 600.0
}

#[test]
fn ten_minute_saturation_passes_the_rate_within_a_hundredth_of_a_percent() {
    let rate = 100_000_000;
    let burst = 125_000;
    let mut tb = TokenBucket::new(rate, burst).unwrap();
    let mut sr = SrTcm::new(rate, burst, burst).unwrap();
    let mut mef = MefProfile::new(rate, burst, 0, 0, CouplingFlag::Uncoupled).unwrap();
    for (name, m) in [("single-rate", &mut tb as &mut dyn Meter), ("srTCM green", &mut sr), ("MEF green", &mut mef)] {
        let got = saturate(m, rate);
        let err = (got - rate as f64).abs() / rate as f64;
        assert!(err < 1e-4, "{name}: passed {got} bit/s, error {:.5} %", err * 100.0);
    }
}
