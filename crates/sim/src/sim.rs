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

use std::sync::atomic::{AtomicU64, Ordering};

use hdrhistogram::Histogram;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::Serialize;
use xconnect_policer::Accounting;
use xconnect_trafgen::{AddressPlan, Arrivals, BandwidthLayer, CallPlan, Phase, Source};

use crate::plan::Carried;
use crate::scenario::{Scenario, Site};
use crate::site::{mos_text, rows_against_sent, CallQuality, Delay, Edge, EdgeDrop, Receiver, SiteReport};

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
    /// Onboarding, BGP, faults and failover (scenarios with `[control]`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub control: Option<crate::failover::ControlReport>,
}

/// One run: a site, the calls it carries, and a seed.
#[derive(Debug, Clone)]
struct Run {
    name: String,
    site: Site,
    calls: u64,
    seed: u64,
    /// Start the policer's bucket in its steady state instead of full (see [`capacity`]).
    steady_state: bool,
}

/// Frames handed to an analysis worker at a time.
const BATCH: usize = 1024;

/// Passed frames for one analysis worker: bytes back to back, and per frame (stream, sent,
/// arrival, offset, length).
struct Batch {
    data: Vec<u8>,
    meta: Vec<(u32, u64, u64, u32, u16)>,
}

impl Batch {
    fn new() -> Self {
        Batch { data: Vec::with_capacity(BATCH * 256), meta: Vec::with_capacity(BATCH) }
    }
}

/// Where passed frames go: the receiver itself, or analysis workers sharded by stream, so
/// that every stream's packets reach one worker in order and the result does not depend on
/// the number of workers.
enum Sink {
    Inline(Receiver),
    Workers {
        batches: Vec<Batch>,
        full: Vec<crossbeam_channel::Sender<Batch>>,
        empty: Vec<crossbeam_channel::Receiver<Batch>>,
    },
}

impl Sink {
    #[inline]
    fn push(&mut self, frame: &[u8], stream: usize, sent: u64, arrival: u64) {
        match self {
            Sink::Inline(r) => r.receive(frame, stream, sent, arrival),
            Sink::Workers { batches, full, empty } => {
                let w = stream % batches.len();
                let b = &mut batches[w];
                b.meta.push((stream as u32, sent, arrival, b.data.len() as u32, frame.len() as u16));
                b.data.extend_from_slice(frame);
                if b.meta.len() == BATCH {
                    let next = empty[w].recv().expect("the worker returns every batch");
                    let done = std::mem::replace(b, next);
                    full[w].send(done).expect("the worker runs until the channel closes");
                }
            }
        }
    }
}

/// Simulates a site carrying `calls` calls, with `workers` extra threads for the per-flow
/// work (parsing and analysis; 0: all on this thread). Adds frames done to `progress`.
fn simulate_run(sc: &Scenario, run: &Run, progress: &AtomicU64, workers: usize) -> SiteReport {
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
        arrivals: match sc.mean_hold_ns {
            Some(mean_hold_ns) => Arrivals::Poisson { mean_hold_ns },
            None => Arrivals::Fixed,
        },
    };
    let mut source = Source::new(&plan).expect("scenario checked: calls, codec and ptime are valid");
    let rate = run.site.tier.rate_bps();
    let mut edge = Edge::new(sc, &run.site);
    let offered_bps =
        f64::from(edge.accounted(source.frame_len() as u32)) * 8.0 * 1000.0 / f64::from(sc.ptime_ms) * run.calls as f64;
    if run.steady_state && offered_bps > rate as f64 {
        edge.policer.drain();
    }
    let streams = source.total_streams();
    let mut jitter_rng = StdRng::seed_from_u64(run.seed ^ 0x6a09_e667_f3bc_c908);
    let mut buf = vec![0u8; source.frame_len()];
    let (mut offered, mut passed, mut offered_bytes, mut passed_bytes) = (0u64, 0u64, 0u64, 0u64);
    let wire_bps = sc.codec.stream_bps(sc.ptime_ms, BandwidthLayer::Wire, sc.vlan.is_some()) * run.calls as f64;
    // Steady state of an overloaded port: its buffer is full.
    if run.steady_state && wire_bps > sc.port_bps as f64 {
        edge.port_free = edge.buffer_ns;
    }
    let mut port_drops = 0u64;
    let mut sent_per_stream = vec![0u32; streams];
    std::thread::scope(|scope| {
        let mut handles = Vec::new();
        let mut sink = if workers == 0 {
            Sink::Inline(Receiver::new(streams))
        } else {
            let (mut full, mut empty, mut batches) = (Vec::new(), Vec::new(), Vec::new());
            for _ in 0..workers {
                let (full_tx, full_rx) = crossbeam_channel::bounded::<Batch>(4);
                let (empty_tx, empty_rx) = crossbeam_channel::bounded::<Batch>(4);
                for _ in 0..3 {
                    empty_tx.send(Batch::new()).expect("room for the spare batches");
                }
                handles.push(scope.spawn(move || {
                    let mut r = Receiver::new(streams);
                    for mut b in full_rx {
                        for &(stream, sent, arrival, off, len) in &b.meta {
                            let frame = &b.data[off as usize..off as usize + usize::from(len)];
                            r.receive(frame, stream as usize, sent, arrival);
                        }
                        b.data.clear();
                        b.meta.clear();
                        let _ = empty_tx.send(b);
                    }
                    r
                }));
                full.push(full_tx);
                empty.push(empty_rx);
                batches.push(Batch::new());
            }
            Sink::Workers { batches, full, empty }
        };
        while let Some((sent, len)) = source.next_into(&mut buf) {
            if offered % 65_536 == 0 {
                progress.fetch_add(65_536, Ordering::Relaxed);
            }
            let stream = source.last_stream();
            sent_per_stream[stream] = sent_per_stream[stream].saturating_add(1);
            let frame = &buf[..len];
            offered += 1;
            let bytes = edge.accounted(len as u32);
            offered_bytes += u64::from(bytes);
            let at_edge = match edge.offer(sent, len as u32) {
                Ok(t) => t,
                Err(EdgeDrop::Port) => {
                    port_drops += 1;
                    continue;
                }
                Err(EdgeDrop::Policer) => continue,
            };
            passed += 1;
            passed_bytes += u64::from(bytes);
            let variation = if sc.variation_ns > 0 { jitter_rng.random_range(0..=sc.variation_ns) } else { 0 };
            let arrival = at_edge + sc.propagation_ns + variation;
            // The receiver parses the real frame.
            sink.push(frame, stream, sent, arrival);
        }
        // Gather the receivers: rows of every stream, sorted as one analyzer sorts them, and the
        // delay histograms added (exactly).
        let mut receivers: Vec<Receiver> = match sink {
            Sink::Inline(r) => vec![r],
            Sink::Workers { batches, full, empty } => {
                for (b, tx) in batches.into_iter().zip(&full) {
                    tx.send(b).expect("the worker runs until the channel closes");
                }
                drop(full);
                let rs = handles.into_iter().map(|h| h.join().expect("analysis workers do not panic")).collect();
                drop(empty);
                rs
            }
        };
        let mut delays = Histogram::<u64>::new_with_bounds(1, 3_600_000_000_000, 3).expect("valid bounds");
        for r in &receivers {
            delays.add(&r.delays).expect("same bounds");
        }
        let (rows, missing) = rows_against_sent(&mut receivers, &sent_per_stream);
        let q = CallQuality::of(&rows, missing, sc);
        let secs = sc.duration_ns as f64 / 1e9;
        let dropped = offered - passed;
        let policer_drops = dropped - port_drops;
        let loss_pct = if offered == 0 { 0.0 } else { dropped as f64 * 100.0 / offered as f64 };
        SiteReport {
            name: run.name.clone(),
            location: run.site.location.to_string(),
            tier_bps: rate,
            burst_bytes: run.site.burst_bytes,
            calls: run.calls,
            offered_frames: offered,
            passed_frames: passed,
            dropped_frames: dropped,
            policer_drops,
            port_drops,
            loss_pct,
            offered_mbps: offered_bytes as f64 * 8.0 / secs / 1e6,
            passed_mbps: passed_bytes as f64 * 8.0 / secs / 1e6,
            mean_jitter_ms: q.mean_jitter_ms,
            delay_ms: Delay::of(&delays),
            mos_min: q.mos_min,
            mos_mean: q.mos_mean,
            calls_below_mos_target: q.below,
            ok: loss_pct <= sc.loss_target_pct && q.below == 0,
        }
    })
}

/// Frames a scenario will simulate (without silence suppression; with it, fewer): for a
/// progress display.
pub fn expected_frames(sc: &Scenario) -> u64 {
    let rounds = sc.duration_ns / (u64::from(sc.ptime_ms) * 1_000_000);
    let calls: u64 = sc.sites.iter().map(|s| s.calls).sum();
    let failover = if sc.check_failover && sc.sites.len() > 1 { calls * sc.sites.len() as u64 } else { 0 };
    (calls + failover) * rounds
}

/// Runs a scenario on up to `threads` threads. The report does not depend on `threads`.
/// `progress` counts frames simulated so far (roughly, in steps of 65,536), for a display.
pub fn simulate(sc: &Scenario, threads: usize, progress: &AtomicU64) -> SimReport {
    if sc.control.is_some() {
        let (sites, control, frames) = crate::failover::simulate_control(sc, progress);
        let v = crate::failover::verdict(&sites, &control, sc.loss_target_pct, sc.mos_target);
        return report(sc, sites, Vec::new(), frames, v, Some(control));
    }
    let mut runs: Vec<Run> = sc
        .sites
        .iter()
        .enumerate()
        .map(|(i, s)| Run {
            name: s.name.clone(),
            site: s.clone(),
            calls: s.calls,
            seed: sc.seed.wrapping_add(i as u64 * 0x9e37_79b9),
            steady_state: false,
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
                steady_state: false,
            });
        }
    }
    // Threads go first to runs (sites are independent); threads left over become analysis
    // workers inside each run. Neither choice changes the report.
    let threads = threads.max(1);
    let workers = (threads / runs.len()).saturating_sub(1);
    let per_chunk = runs.len().div_ceil(threads);
    let mut results: Vec<Option<SiteReport>> = vec![None; runs.len()];
    std::thread::scope(|scope| {
        for (chunk_runs, chunk_out) in runs.chunks(per_chunk).zip(results.chunks_mut(per_chunk)) {
            scope.spawn(move || {
                for (run, out) in chunk_runs.iter().zip(chunk_out.iter_mut()) {
                    *out = Some(simulate_run(sc, run, progress, workers));
                }
            });
        }
    });
    let mut reports: Vec<SiteReport> = results.into_iter().map(|r| r.expect("every run finished")).collect();
    let failover = reports.split_off(n_sites);
    let frames = reports.iter().chain(&failover).map(|r| r.offered_frames).sum();
    let v = verdict(sc, &reports, &failover);
    report(sc, reports, failover, frames, v, None)
}

fn report(
    sc: &Scenario,
    sites: Vec<SiteReport>,
    failover: Vec<SiteReport>,
    frames: u64,
    verdict: String,
    control: Option<crate::failover::ControlReport>,
) -> SimReport {
    SimReport {
        scenario: sc.name.clone(),
        seed: sc.seed,
        duration_s: sc.duration_ns as f64 / 1e9,
        codec: sc.codec.to_string(),
        ptime_ms: sc.ptime_ms,
        loss_target_pct: sc.loss_target_pct,
        mos_target: sc.mos_target,
        verdict,
        sites,
        failover,
        frames,
        control,
    }
}

/// The capacity answer (`capacity --json`).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct CapacityReport {
    /// Tier, bit/s.
    pub tier_bps: u64,
    /// Policer burst, bytes.
    pub burst_bytes: u64,
    /// Codec.
    pub codec: String,
    /// Packet time, ms.
    pub ptime_ms: u32,
    /// "random" or "sync".
    pub phase: &'static str,
    /// Loss target, percent.
    pub loss_target_pct: f64,
    /// Byte accounting of the policer.
    pub accounting: &'static str,
    /// The most calls with loss at or under the target, found by simulation.
    pub max_calls: u64,
    /// Loss at `max_calls`, percent.
    pub loss_pct_at_max: f64,
    /// Loss at `max_calls + 1`, percent.
    pub loss_pct_above: f64,
    /// The arithmetic answer: floor(tier / per-call frame rate) from the codec catalog.
    pub arithmetic_calls: u64,
    /// What the customer's port carries: floor(port rate / per-call wire rate). At the 1G
    /// tier on a 1 Gbps fiber this, not the tier, is the limit (preamble and gap count on the
    /// fiber, not in the policer).
    pub port_limit_calls: u64,
    /// The provider's rule of thumb: 10 calls per Mbps.
    pub rule_of_thumb_calls: u64,
    /// max_calls / the smaller of arithmetic_calls and port_limit_calls.
    pub ratio_to_arithmetic: f64,
    /// max_calls / rule_of_thumb_calls.
    pub ratio_to_rule_of_thumb: f64,
    /// Simulations run by the bisection.
    pub simulations: u32,
}

/// Finds the largest number of calls a site carries with loss at or under the scenario's
/// `loss_target_pct`, by bisection over simulations of the first site of `sc` (its tier, burst
/// and the scenario's traffic).
///
/// Each simulation measures the long run: the policer's bucket starts in its steady state —
/// full when the calls' average rate fits the tier (the level at the start of each packet time
/// can then only rise, so full is where it settles), empty when it exceeds it (a long enough
/// run drains it; with one call too many at 1 Gbps that takes over 1000 s of simulated time).
/// What remains for the simulation to decide is the burst structure: synchronized calls
/// overflow the bucket within every packet time long before their average reaches the tier.
///
/// `progress` counts frames simulated (see [`crate::budget::Work::capacity`] for the total).
pub fn capacity(sc: &Scenario, progress: &AtomicU64) -> CapacityReport {
    let site = sc.sites[0].clone();
    let rate = site.tier.rate_bps();
    let carried = Carried::of(rate, sc.port_bps, sc.codec, sc.ptime_ms, sc.vlan.is_some());
    let (arithmetic, port_limit) = (carried.tier, carried.port);
    let most = crate::budget::capacity_ceiling(sc);
    let loss_at = |calls: u64| {
        let run = Run { name: site.name.clone(), site: site.clone(), calls, seed: sc.seed, steady_state: true };
        simulate_run(sc, &run, progress, 0).loss_pct
    };
    // Invariant: loss(lo) <= target < loss(hi); 0 calls lose nothing.
    let mut simulations = 1;
    let (mut lo, mut hi) = (0u64, (2 * arithmetic).clamp(2, most));
    while loss_at(hi) <= sc.loss_target_pct {
        simulations += 1;
        lo = hi;
        if hi == most {
            break;
        }
        hi = (hi * 2).min(most);
    }
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        simulations += 1;
        if loss_at(mid) <= sc.loss_target_pct {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    let rule = rate / 100_000;
    CapacityReport {
        tier_bps: rate,
        burst_bytes: site.burst_bytes,
        codec: sc.codec.to_string(),
        ptime_ms: sc.ptime_ms,
        phase: if sc.sync { "sync" } else { "random" },
        loss_target_pct: sc.loss_target_pct,
        accounting: site.accounting.as_str(),
        max_calls: lo,
        loss_pct_at_max: if lo == 0 { 0.0 } else { loss_at(lo) },
        loss_pct_above: loss_at(lo + 1),
        arithmetic_calls: arithmetic,
        port_limit_calls: port_limit,
        rule_of_thumb_calls: rule,
        ratio_to_arithmetic: lo as f64 / carried.calls() as f64,
        ratio_to_rule_of_thumb: lo as f64 / rule as f64,
        simulations,
    }
}

fn verdict(sc: &Scenario, sites: &[SiteReport], failover: &[SiteReport]) -> String {
    // Reports and failover cases are in the order of the scenario's sites.
    let bad: Vec<String> = sites
        .iter()
        .zip(&sc.sites)
        .filter(|(s, _)| !s.ok)
        .map(|(s, site)| {
            let why = binding(sc, s, site.accounting);
            format!("{} loses {:.2} % (lowest MOS {}): {why}", s.name, s.loss_pct, mos_text(s.mos_min))
        })
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
            .zip(&sc.sites)
            .filter(|(f, _)| !f.ok)
            .map(|(f, site)| {
                format!(
                    "{} drops {:.1} % of {} calls: {}",
                    f.name,
                    f.loss_pct,
                    f.calls,
                    binding(sc, f, site.accounting)
                )
            })
            .collect();
        if weak.is_empty() {
            v.push_str(". Redundant: each site alone carries every call");
        } else {
            v.push_str(&format!(". NOT redundant: {}", weak.join("; ")));
        }
    }
    v
}

/// What limits a site that failed its targets, and the smallest change that would pass.
/// `accounting` is the site's: the rates and bursts are compared as its policer counts them.
pub(crate) fn binding(sc: &Scenario, s: &SiteReport, accounting: Accounting) -> String {
    let vlan = sc.vlan.is_some();
    if s.port_drops > 0 {
        let port = Carried::of(s.tier_bps, sc.port_bps, sc.codec, sc.ptime_ms, vlan).port;
        return format!(
            "the customer's {} Mbit/s port is the limit ({} drops there; it carries {port} calls): split the calls over more ports",
            sc.port_bps / 1_000_000,
            s.port_drops
        );
    }
    if s.policer_drops > 0 {
        // The offered rate as the policer counts it (the site's accounting, whatever the
        // arrivals and silence suppression made of the calls).
        let offered_bps = s.offered_mbps * 1e6;
        if offered_bps > s.tier_bps as f64 {
            let location = s.location.parse::<xconnect_interconnect::Location>().ok();
            let next = xconnect_interconnect::Tier::ALL
                .into_iter()
                .filter(|t| location.is_none_or(|l| l.offers(*t)))
                .find(|t| t.rate_bps() as f64 >= offered_bps);
            return format!(
                "the policer's rate is the limit ({:.1} Mbit/s offered on {} Mbit/s): {}",
                offered_bps / 1e6,
                s.tier_bps / 1_000_000,
                next.map_or("no tier is large enough; split the calls".into(), |t| format!(
                    "the smallest tier that passes is {t}"
                ))
            );
        }
        // Within the rate: the bursts overflow the bucket. One round of every call must fit.
        let frame = crate::scenario::min_burst_bytes(sc.codec, sc.ptime_ms, vlan, accounting);
        return format!(
            "the bucket's burst is the limit ({} B): the calls' average fits the rate, their bursts do not; a burst of \
             {} B (one frame of every call) would pass",
            s.burst_bytes,
            frame.saturating_mul(s.calls)
        );
    }
    if s.dropped_frames == 0 && s.calls_below_mos_target > 0 {
        return format!(
            "no frame was dropped at the edge: the delay and jitter of the path put calls below MOS {}",
            sc.mos_target
        );
    }
    "frames were lost on the way (routing or a failed link)".into()
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
        let r = simulate(&small(100, "10M", false), 1, &AtomicU64::new(0));
        let s = &r.sites[0];
        assert_eq!(s.offered_frames, 100 * 50 * 3);
        assert_eq!(s.dropped_frames, 0);
        assert!((s.offered_mbps - 8.72).abs() < 1e-9, "{}", s.offered_mbps);
        assert!(s.ok && s.mos_min.unwrap() > 4.3, "{s:?}");
        assert!(r.verdict.contains("single point of failure"), "{}", r.verdict);
    }

    #[test]
    fn an_overloaded_tier_drops_the_excess() {
        // 200 calls on 10 Mbit/s: 17.44 Mbit/s offered; in steady state 10 of 17.44 pass:
        // 42.7 % lost, less what the initial 12,500-byte burst let through.
        let r = simulate(&small(200, "10M", false), 1, &AtomicU64::new(0));
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
        let r = simulate(&small(114, "10M", true), 1, &AtomicU64::new(0));
        let s = &r.sites[0];
        assert!(s.dropped_frames > 0 && s.loss_pct > 10.0, "{s:?}");
        // Random phases at the same load lose nothing.
        let r = simulate(&small(114, "10M", false), 1, &AtomicU64::new(0));
        assert_eq!(r.sites[0].dropped_frames, 0);
    }

    fn cap(tier: &str, sync: bool, burst: Option<u64>) -> CapacityReport {
        let mut sc = small(1, tier, sync);
        sc.duration_ns = 1_000_000_000;
        sc.loss_target_pct = 0.0;
        if let Some(b) = burst {
            sc.sites[0].burst_bytes = b;
        }
        capacity(&sc, &AtomicU64::new(0))
    }

    #[test]
    fn capacity_at_random_phase_is_the_arithmetic() {
        // reference/voip-bandwidth.md: 114 G.711/20 ms calls fit 10 Mbit/s as frames.
        let c = cap("10M", false, None);
        assert_eq!(c.arithmetic_calls, 114);
        assert!(c.max_calls.abs_diff(114) <= 1, "{c:?}");
        assert_eq!(c.rule_of_thumb_calls, 100);
    }

    #[test]
    fn capacity_of_synchronized_calls_is_set_by_the_burst() {
        // All calls send in the same instant: one round must fit the bucket. 12,500 B / 218 B
        // = 57 frames, plus what the rate refills while the round crosses the 1 Gbps port
        // (57 frames × 238 B × 8 ns ≈ 109 µs at 10 Mbit/s ≈ 136 B: not one more frame).
        let c = cap("10M", true, None);
        assert_eq!(c.max_calls, 57, "{c:?}");
        // A burst of a whole round restores the arithmetic answer.
        let c = cap("10M", true, Some(114 * 218));
        assert!(c.max_calls.abs_diff(114) <= 1, "{c:?}");
    }

    #[test]
    fn poisson_arrivals_offer_the_erlangs() {
        // 50 Erlangs with 20 s calls for 120 s: about 50 × 50 packets/s × 120 s = 300,000
        // frames (the time-average of calls up is 50 within a few standard errors).
        let text = "name = \"p\"\nduration_s = 120\n[traffic]\ncodec = \"g711u\"\narrivals = \"poisson\"\nmean_hold_s = 20\n[[sites]]\nname = \"a\"\nlocation = \"ashburn\"\ntier = \"10M\"\ncalls = 50\n";
        let sc = Scenario::parse(text, "p").unwrap();
        let r = simulate(&sc, 1, &AtomicU64::new(0));
        let s = &r.sites[0];
        assert!((s.offered_frames as f64 / 300_000.0 - 1.0).abs() < 0.12, "{}", s.offered_frames);
        assert_eq!(s.dropped_frames, 0, "50 Erlangs (4.4 Mbit/s) fit 10 Mbit/s");
        let bad = text.replace("mean_hold_s = 20\n", "");
        assert!(Scenario::parse(&bad, "p").unwrap_err().to_string().contains("mean_hold_s"));
    }

    #[test]
    fn analysis_workers_do_not_change_the_report() {
        let sc = small(300, "10M", false);
        let run = Run { name: "a".into(), site: sc.sites[0].clone(), calls: 300, seed: 3, steady_state: false };
        let inline = simulate_run(&sc, &run, &AtomicU64::new(0), 0);
        for workers in [1, 2, 3] {
            assert_eq!(simulate_run(&sc, &run, &AtomicU64::new(0), workers), inline, "{workers} workers");
        }
        assert!(inline.dropped_frames > 0, "an overloaded case, so drops are compared too");
    }

    #[test]
    fn same_report_whatever_the_thread_count() {
        let sc = Scenario::default_scenario();
        let mut short = sc.clone();
        short.duration_ns = 2_000_000_000;
        assert_eq!(simulate(&short, 1, &AtomicU64::new(0)), simulate(&short, 4, &AtomicU64::new(0)));
    }
}
