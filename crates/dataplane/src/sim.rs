//! The virtual-time simulation of a cross-connect (DESIGN.md's pipeline with the traffic
//! generator as the source): calls → the customer's port (frames serialized one after the
//! other at the port's rate, so simultaneous frames queue) → the provider edge's policer at the
//! tier → propagation and delay variation → the receiver, which parses every frame with the
//! real parser and analyzes every RTP stream (loss, jitter, one-way delay, MOS).
//!
//! Each site is simulated on its own (its own source, port, policer and receiver, seeded from
//! the scenario's seed and the site's position), so sites run on separate threads and the
//! report is the same whatever the thread count. Direction simulated: customer → provider,
//! the one the provider's edge polices.

use hdrhistogram::Histogram;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::Serialize;
use xconnect_frame::{parse_ethernet, Net, RtpPacket, Transport};
use xconnect_policer::{Accounting, Nanos, TokenBucket};
use xconnect_trafgen::{AddressPlan, CallPlan, Phase, Source};

use crate::rtp::{RtpAnalyzer, RtpSample, StreamKey};
use crate::scenario::{Scenario, Site};

/// Delay percentiles, ms.
#[derive(Debug, Clone, Copy, Serialize, PartialEq)]
pub struct Delay {
    /// Median.
    pub p50: f64,
    /// 99th percentile.
    pub p99: f64,
    /// Largest.
    pub max: f64,
}

/// One simulated site (or one failover case).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct SiteReport {
    /// Site name (for a failover case: "san-jose alone (ashburn failed)").
    pub name: String,
    /// Location.
    pub location: String,
    /// Tier, bit/s.
    pub tier_bps: u64,
    /// Policer burst, bytes.
    pub burst_bytes: u64,
    /// Concurrent calls.
    pub calls: u64,
    /// Frames the calls sent.
    pub offered_frames: u64,
    /// Frames the policer passed.
    pub passed_frames: u64,
    /// Frames the policer dropped.
    pub dropped_frames: u64,
    /// Dropped / offered, percent.
    pub loss_pct: f64,
    /// Offered rate as the policer counts it (Ethernet frame with FCS), Mbit/s.
    pub offered_mbps: f64,
    /// Passed rate, Mbit/s.
    pub passed_mbps: f64,
    /// Mean over streams of their mean jitter, ms.
    pub mean_jitter_ms: f64,
    /// One-way delay from the call's send time to the receiver, over every packet.
    pub delay_ms: Delay,
    /// Lowest MOS of any call.
    pub mos_min: f64,
    /// Mean MOS over calls.
    pub mos_mean: f64,
    /// Calls below the MOS target.
    pub calls_below_mos_target: u64,
    /// Whether the site met the loss and MOS targets.
    pub ok: bool,
}

/// The simulation report (`simulate --json`).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct SimReport {
    /// Scenario name.
    pub scenario: String,
    /// Seed.
    pub seed: u64,
    /// Simulated seconds.
    pub duration_s: f64,
    /// Codec.
    pub codec: String,
    /// Packet time, ms.
    pub ptime_ms: u32,
    /// Loss target, percent.
    pub loss_target_pct: f64,
    /// MOS target.
    pub mos_target: f64,
    /// Each site with its own calls.
    pub sites: Vec<SiteReport>,
    /// Each site alone with every site's calls (when the scenario asks).
    pub failover: Vec<SiteReport>,
    /// Frames simulated in all.
    pub frames: u64,
    /// One sentence.
    pub verdict: String,
}

/// One run: a site, the calls it carries, and a seed.
#[derive(Debug, Clone)]
struct Run {
    name: String,
    site: Site,
    calls: u64,
    seed: u64,
}

/// Simulates a site carrying `calls` calls.
fn simulate_run(sc: &Scenario, run: &Run) -> SiteReport {
    let plan = CallPlan {
        calls: run.calls,
        codec: sc.codec,
        ptime_ms: sc.ptime_ms,
        vlan: sc.vlan,
        phase: if sc.sync { Phase::Sync } else { Phase::Random },
        both_directions: false,
        seed: run.seed,
        start_ns: 0,
        duration_ns: sc.duration_ns,
        addresses: AddressPlan::default(),
        silence_suppression: sc.silence_suppression,
    };
    let mut source = Source::new(&plan).expect("scenario checked: calls, codec and ptime are valid");
    let rate = run.site.tier.rate_bps();
    let mut policer = TokenBucket::new(rate, run.site.burst_bytes).expect("scenario checked: tier and burst");
    let mut rtp = RtpAnalyzer::new(None);
    let mut hints = vec![u32::MAX; source.streams().len()];
    let mut delays = Histogram::<u64>::new_with_bounds(1, 3_600_000_000_000, 3).expect("valid bounds");
    let mut jitter_rng = StdRng::seed_from_u64(run.seed ^ 0x6a09_e667_f3bc_c908);
    let mut buf = vec![0u8; source.frame_len()];
    let (mut offered, mut passed, mut offered_bytes, mut passed_bytes) = (0u64, 0u64, 0u64, 0u64);
    let mut port_free = 0u64;
    while let Some((sent, len)) = source.next_into(&mut buf) {
        let stream = source.last_stream();
        let frame = &buf[..len];
        offered += 1;
        let bytes = Accounting::Frame.bytes(len as u32, None);
        offered_bytes += u64::from(bytes);
        // The customer's port: frames leave one after the other, each taking its wire bytes
        // (frame + FCS + preamble + gap) at the port's rate; the edge has it once it is whole.
        let wire_bits = u64::from(Accounting::Wire.bytes(len as u32, None)) * 8;
        let start = sent.max(port_free);
        let at_edge = start + (wire_bits * 1_000_000_000).div_ceil(sc.port_bps);
        port_free = at_edge;
        if policer.decide(Nanos(at_edge), bytes) == xconnect_policer::Color::Red {
            continue;
        }
        passed += 1;
        passed_bytes += u64::from(bytes);
        let variation = if sc.variation_ns > 0 { jitter_rng.random_range(0..=sc.variation_ns) } else { 0 };
        let arrival = at_edge + sc.propagation_ns + variation;
        // The receiver parses the real frame.
        let Ok(p) = parse_ethernet(frame) else { continue };
        let (Net::Ipv4(ip), Transport::Udp { src_port, dst_port, .. }) = (p.net, p.transport) else { continue };
        let Ok(r) = RtpPacket::new_checked(p.payload(frame)) else { continue };
        let key = StreamKey { src: ip.src.into(), src_port, dst: ip.dst.into(), dst_port, ssrc: r.ssrc() };
        let sample = RtpSample {
            arrival_ns: arrival,
            seq: r.sequence_number(),
            timestamp: r.timestamp(),
            payload_type: r.payload_type().value(),
            sent_ns: Some(sent),
        };
        rtp.add(key, sample, true, Some(&mut hints[stream]));
        delays.saturating_record((arrival - sent).max(1));
    }
    let rows = rtp.rows();
    let mos: Vec<f64> = rows.iter().filter_map(|r| r.mos).collect();
    let mos_min = mos.iter().copied().fold(f64::INFINITY, f64::min);
    let mos_mean = if mos.is_empty() { 0.0 } else { mos.iter().sum::<f64>() / mos.len() as f64 };
    let jit: Vec<f64> = rows.iter().filter_map(|r| r.mean_jitter_ms).collect();
    let secs = sc.duration_ns as f64 / 1e9;
    let dropped = offered - passed;
    let loss_pct = if offered == 0 { 0.0 } else { dropped as f64 * 100.0 / offered as f64 };
    let below = mos.iter().filter(|m| **m < sc.mos_target).count() as u64 + (run.calls - rows.len() as u64);
    let ms = |v: u64| v as f64 / 1e6;
    SiteReport {
        name: run.name.clone(),
        location: run.site.location.to_string(),
        tier_bps: rate,
        burst_bytes: run.site.burst_bytes,
        calls: run.calls,
        offered_frames: offered,
        passed_frames: passed,
        dropped_frames: dropped,
        loss_pct,
        offered_mbps: offered_bytes as f64 * 8.0 / secs / 1e6,
        passed_mbps: passed_bytes as f64 * 8.0 / secs / 1e6,
        mean_jitter_ms: if jit.is_empty() { 0.0 } else { jit.iter().sum::<f64>() / jit.len() as f64 },
        delay_ms: if delays.is_empty() {
            Delay { p50: 0.0, p99: 0.0, max: 0.0 }
        } else {
            Delay {
                p50: ms(delays.value_at_quantile(0.5)),
                p99: ms(delays.value_at_quantile(0.99)),
                max: ms(delays.max()),
            }
        },
        mos_min: if mos.is_empty() { 1.0 } else { mos_min },
        mos_mean,
        calls_below_mos_target: below,
        ok: loss_pct <= sc.loss_target_pct && below == 0,
    }
}

/// Runs a scenario on up to `threads` threads. The report does not depend on `threads`.
pub fn simulate(sc: &Scenario, threads: usize) -> SimReport {
    let mut runs: Vec<Run> = sc
        .sites
        .iter()
        .enumerate()
        .map(|(i, s)| Run {
            name: s.name.clone(),
            site: s.clone(),
            calls: s.calls,
            seed: sc.seed.wrapping_add(i as u64 * 0x9e37_79b9),
        })
        .collect();
    let n_sites = runs.len();
    if sc.check_failover && sc.sites.len() > 1 {
        let total: u64 = sc.sites.iter().map(|s| s.calls).sum();
        for (i, s) in sc.sites.iter().enumerate() {
            let others: Vec<&str> = sc.sites.iter().filter(|o| o.name != s.name).map(|o| o.name.as_str()).collect();
            runs.push(Run {
                name: format!("{} alone ({} failed)", s.name, others.join(", ")),
                site: s.clone(),
                calls: total,
                seed: sc.seed.wrapping_add((n_sites + i) as u64 * 0x9e37_79b9),
            });
        }
    }
    let threads = threads.max(1);
    let mut results: Vec<Option<SiteReport>> = vec![None; runs.len()];
    std::thread::scope(|scope| {
        for (chunk_runs, chunk_out) in
            runs.chunks(runs.len().div_ceil(threads)).zip(results.chunks_mut(runs.len().div_ceil(threads)))
        {
            scope.spawn(move || {
                for (run, out) in chunk_runs.iter().zip(chunk_out.iter_mut()) {
                    *out = Some(simulate_run(sc, run));
                }
            });
        }
    });
    let mut reports: Vec<SiteReport> = results.into_iter().map(|r| r.expect("every run finished")).collect();
    let failover = reports.split_off(n_sites);
    let frames = reports.iter().chain(&failover).map(|r| r.offered_frames).sum();
    SimReport {
        scenario: sc.name.clone(),
        seed: sc.seed,
        duration_s: sc.duration_ns as f64 / 1e9,
        codec: sc.codec.to_string(),
        ptime_ms: sc.ptime_ms,
        loss_target_pct: sc.loss_target_pct,
        mos_target: sc.mos_target,
        verdict: verdict(sc, &reports, &failover),
        sites: reports,
        failover,
        frames,
    }
}

fn verdict(sc: &Scenario, sites: &[SiteReport], failover: &[SiteReport]) -> String {
    let bad: Vec<String> = sites
        .iter()
        .filter(|s| !s.ok)
        .map(|s| format!("{} loses {:.2} % (lowest MOS {:.2})", s.name, s.loss_pct, s.mos_min))
        .collect();
    let mut v = if bad.is_empty() {
        format!(
            "OK: every site carries its calls within {} % loss and MOS {} or better",
            sc.loss_target_pct, sc.mos_target
        )
    } else {
        format!("UNDERSIZED: {}", bad.join("; "))
    };
    if sc.sites.len() == 1 {
        v.push_str(". Single site: a single point of failure (the provider recommends two locations)");
    } else if !failover.is_empty() {
        let weak: Vec<String> = failover
            .iter()
            .filter(|f| !f.ok)
            .map(|f| format!("{} drops {:.1} % of {} calls", f.name, f.loss_pct, f.calls))
            .collect();
        if weak.is_empty() {
            v.push_str(". Redundant: each site alone carries every call");
        } else {
            v.push_str(&format!(". NOT redundant: {}", weak.join("; ")));
        }
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    fn small(calls: u64, tier: &str, sync: bool) -> Scenario {
        let text = format!(
            "name = \"t\"\nduration_s = 3\n[traffic]\ncodec = \"g711u\"\nphase = \"{}\"\n[[sites]]\nname = \"a\"\nlocation = \"ashburn\"\ntier = \"{tier}\"\ncalls = {calls}\n",
            if sync { "sync" } else { "random" }
        );
        Scenario::parse(&text, "t").unwrap()
    }

    #[test]
    fn calls_within_the_tier_lose_nothing() {
        // 100 calls on 10 Mbit/s: 8.72 Mbit/s of frames (114 fit).
        let r = simulate(&small(100, "10M", false), 1);
        let s = &r.sites[0];
        assert_eq!(s.offered_frames, 100 * 50 * 3);
        assert_eq!(s.dropped_frames, 0);
        assert!((s.offered_mbps - 8.72).abs() < 1e-9, "{}", s.offered_mbps);
        assert!(s.ok && s.mos_min > 4.3, "{s:?}");
        assert!(r.verdict.contains("single point of failure"), "{}", r.verdict);
    }

    #[test]
    fn an_overloaded_tier_drops_the_excess() {
        // 200 calls on 10 Mbit/s: 17.44 Mbit/s offered; in steady state 10 of 17.44 pass:
        // 42.7 % lost, less what the initial 12,500-byte burst let through.
        let r = simulate(&small(200, "10M", false), 1);
        let s = &r.sites[0];
        let expected = (1.0 - 10.0 / 17.44) * 100.0;
        assert!((s.loss_pct - expected).abs() < 1.0, "{} vs {expected}", s.loss_pct);
        assert!(!s.ok && r.verdict.starts_with("UNDERSIZED"));
        assert!((s.passed_mbps - 10.0).abs() < 0.05, "{}", s.passed_mbps);
    }

    #[test]
    fn synchronized_calls_queue_on_the_port_and_burst_into_the_policer() {
        // 114 synchronized calls fit 10 Mbit/s on average (9.94 Mbit/s), and the burst of one
        // round (114 × 218 = 24,852 B) exceeds the 12,500-byte bucket: the policer drops what
        // exceeds the bucket in every round even though the average fits.
        let r = simulate(&small(114, "10M", true), 1);
        let s = &r.sites[0];
        assert!(s.dropped_frames > 0 && s.loss_pct > 10.0, "{s:?}");
        // Random phases at the same load lose nothing.
        let r = simulate(&small(114, "10M", false), 1);
        assert_eq!(r.sites[0].dropped_frames, 0);
    }

    #[test]
    fn same_report_whatever_the_thread_count() {
        let sc = Scenario::default_scenario();
        let mut short = sc.clone();
        short.duration_ns = 2_000_000_000;
        assert_eq!(simulate(&short, 1), simulate(&short, 4));
    }
}
