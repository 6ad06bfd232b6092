//! Invariants of every report, over many generated scenarios (issue 12): loss inside 0-100 %
//! and consistent with the frame counts, mean MOS never under the minimum and both on the
//! E-model's scale, calls that lost frames shown in their MOS, the work estimate never below
//! the work done.

use std::sync::atomic::AtomicU64;

use proptest::prelude::*;
use xconnect_sim::budget::Work;
use xconnect_sim::scenario::Scenario;
use xconnect_sim::sim::simulate;

fn scenario(
    calls: u64,
    tier: &str,
    burst: Option<u64>,
    duration_ms: u64,
    sync: bool,
    variation_ms: u64,
    failover: bool,
) -> String {
    format!(
        "name = \"p\"\nduration_s = {}\ncheck_failover = {failover}\nloss_target_pct = 0.5\n\
         [traffic]\ncodec = \"g711u\"\nphase = \"{}\"\n[link]\npropagation_ms = 2\ndelay_variation_ms = {variation_ms}\n\
         [[sites]]\nname = \"a\"\nlocation = \"london\"\ntier = \"{tier}\"\ncalls = {calls}\n{}\
         [[sites]]\nname = \"b\"\nlocation = \"singapore\"\ntier = \"{tier}\"\ncalls = {}\n",
        duration_ms as f64 / 1000.0,
        if sync { "sync" } else { "random" },
        burst.map_or(String::new(), |b| format!("burst_bytes = {b}\n")),
        calls / 2 + 1,
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn reports_are_consistent(
        calls in 1u64..400,
        tier in prop::sample::select(vec!["10M", "100M", "500M"]),
        burst in prop::option::of(218u64..20_000),
        duration_ms in 1u64..1500,
        sync in any::<bool>(),
        variation_ms in 0u64..60,
        failover in any::<bool>(),
    ) {
        let text = scenario(calls, tier, burst, duration_ms, sync, variation_ms, failover);
        let sc = Scenario::parse(&text, "p.toml").unwrap();
        let work = Work::simulate(&sc);
        let r = simulate(&sc, 2, &AtomicU64::new(0));
        prop_assert!(r.frames <= work.frames, "estimate {} < {} simulated", work.frames, r.frames);
        for site in r.sites.iter().chain(&r.failover) {
            let d = site.directions.as_ref().expect("every site has both directions");
            // The site is its two directions combined.
            prop_assert_eq!(site.offered_frames, d.to_provider.offered_frames + d.to_customer.offered_frames);
            prop_assert_eq!(site.dropped_frames, d.to_provider.dropped_frames + d.to_customer.dropped_frames);
            prop_assert!((site.offered_mbps - d.to_provider.offered_mbps - d.to_customer.offered_mbps).abs() < 1e-6);
            // A call is as bad as its worse leg.
            let legs_min = [d.to_provider.mos_min, d.to_customer.mos_min].into_iter().flatten().reduce(f64::min);
            prop_assert_eq!(site.mos_min, legs_min, "{:?}", site);
            prop_assert!(site.calls_below_mos_target >= d.to_provider.calls_below_mos_target.max(d.to_customer.calls_below_mos_target));
            prop_assert!(site.calls_below_mos_target <= d.to_provider.calls_below_mos_target + d.to_customer.calls_below_mos_target);
            for (s, legs) in [(site, 2), (&d.to_provider, 1), (&d.to_customer, 1)] {
                prop_assert!((0.0..=100.0).contains(&s.loss_pct), "{:?}", s);
                prop_assert_eq!(s.offered_frames, s.passed_frames + s.dropped_frames);
                prop_assert_eq!(s.dropped_frames, s.policer_drops + s.port_drops + s.shaper_drops);
                match (s.mos_min, s.mos_mean) {
                    (Some(min), Some(mean)) => {
                        prop_assert!((1.0..=4.5).contains(&min) && (1.0..=4.5).contains(&mean), "{:?}", s);
                        prop_assert!(mean >= min, "mean {} under min {}", mean, min);
                    }
                    // A call that sent one packet each way has nothing to judge; beyond that every
                    // call has one.
                    (None, None) => {
                        prop_assert!(s.offered_frames <= legs * s.calls, "no MOS although calls sent more: {:?}", s)
                    }
                    other => prop_assert!(false, "{:?}", other),
                }
                // Loss beyond a few percent cannot leave every call above the target.
                if s.loss_pct > 5.0 {
                    prop_assert!(s.calls_below_mos_target > 0, "{:.2} % lost, no call below target: {:?}", s.loss_pct, s);
                    prop_assert!(!s.ok);
                }
                prop_assert_eq!(s.ok, s.loss_pct <= r.loss_target_pct && s.calls_below_mos_target == 0);
            }
        }
        prop_assert_eq!(r.verdict.starts_with("OK"), r.sites.iter().all(|s| s.ok));
    }
}
