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

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::Serialize;
use xconnect_interconnect::Tier;
use xconnect_policer::Accounting;
use xconnect_time::Span;
use xconnect_trafgen::{AddressPlan, BandwidthLayer, Codec, Frames};

use crate::scenario::{Scenario, Site};
use crate::series::{Bins, Calls, Link, LinkSeries, Loss, Outcome};
use crate::site::{
    delay_histogram, leg_scores, mos_text, rows_against_sent, Counts, Direction, Edge, EdgeDrop, Leg, Receiver, Seen,
    SiteReport,
};

/// The simulation report (`simulate --json`).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct SimReport {
    /// Scenario name.
    pub scenario: String,
    /// Seed.
    pub seed: u64,
    /// Simulated seconds.
    pub duration_s: f64,
    /// Codec (a mix: its largest class's; `traffic` has every class).
    pub codec: String,
    /// Packet time, ms (a mix: its largest class's).
    pub ptime_ms: u32,
    /// The calls' classes, largest share first (one for a single codec).
    pub traffic: Vec<crate::traffic::Class>,
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
    /// Each site's (and failover case's) two directions over time; the control plane's
    /// events with their times are `control.timeline`.
    pub series: Vec<LinkSeries>,
    /// Whether the series' interval was widened from the one asked, to keep at most
    /// 3600 points per series.
    pub series_interval_widened: bool,
}

impl SimReport {
    /// The calls in words ([`crate::traffic::describe`]).
    pub fn traffic_label(&self) -> String {
        crate::traffic::describe(&self.traffic)
    }
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

/// Simulates one direction of a site carrying `calls` calls, with `workers` extra threads for
/// the per-flow work (parsing and analysis; 0: all on this thread). Adds frames done to
/// `progress`.
fn simulate_leg(sc: &Scenario, run: &Run, dir: Direction, progress: &AtomicU64, workers: usize) -> Leg {
    let plans = sc.call_plans(run.calls, dir.legs(), run.seed, 0, AddressPlan::default());
    let mut source = Scenario::source(&plans);
    let rate = run.site.tier.rate_bps();
    let mut edge = Edge::new(sc, &run.site, dir);
    // Every call talking, as the policer counts its frames.
    let offered_bps: f64 = plans
        .iter()
        .map(|p| {
            let frame = p.codec.packet_bytes(p.ptime_ms, BandwidthLayer::Frame, sc.vlan.is_some()) - Accounting::FCS;
            f64::from(edge.accounted(frame)) * 8.0 * 1000.0 / f64::from(p.ptime_ms) * p.calls as f64
        })
        .sum();
    if run.steady_state && offered_bps > rate as f64 {
        edge.drain();
    }
    let streams = source.total_streams();
    let mut jitter_rng = StdRng::seed_from_u64(run.seed ^ 0x6a09_e667_f3bc_c908 ^ dir.salt());
    let mut buf = vec![0u8; source.frame_len()];
    let (mut offered, mut passed, mut offered_bytes, mut passed_bytes) = (0u64, 0u64, 0u64, 0u64);
    let wire_bps = sc.traffic.stream_bps(BandwidthLayer::Wire, sc.vlan.is_some()) * run.calls as f64;
    // Steady state of an overloaded port: its buffer is full (the customer's port; the
    // provider's toward the customer carries only what the tier's limit let through).
    if run.steady_state && dir == Direction::ToProvider && wire_bps > sc.port_bps as f64 {
        edge.port_free = edge.buffer_ns;
    }
    let (mut port_drops, mut shaper_drops) = (0u64, 0u64);
    let (interval, _) = sc.series_interval();
    let mut link = Link::new(interval);
    let mut quality = Calls::new(sc, &source, interval);
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
            quality.prefetch(stream);
            let frame = &buf[..len];
            offered += 1;
            let bytes = edge.accounted(len as u32);
            offered_bytes += u64::from(bytes);
            let at_edge = match edge.offer(sent, len as u32) {
                Ok(t) => t,
                Err(drop) => {
                    match drop {
                        EdgeDrop::Port => port_drops += 1,
                        EdgeDrop::Shaper => shaper_drops += 1,
                        EdgeDrop::Policer => {}
                    }
                    link.frame(sent, u64::from(bytes), Outcome::Lost(Loss::Edge(drop)));
                    quality.frame(stream, sent, None, &mut link);
                    continue;
                }
            };
            passed += 1;
            passed_bytes += u64::from(bytes);
            let variation = if sc.variation.0 > 0 { jitter_rng.random_range(0..=sc.variation.0) } else { 0 };
            let arrival = at_edge + sc.propagation.0 + variation;
            link.frame(sent, u64::from(bytes), Outcome::Arrived(arrival));
            quality.frame(stream, sent, Some(arrival), &mut link);
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
        let mut delays = delay_histogram();
        for r in &receivers {
            delays.add(&r.delays).expect("same bounds");
        }
        // Every frame each call sent, whatever became of it (counted with its interval's).
        let sent_per_stream = quality.sent_per_call();
        let rows = rows_against_sent(&mut receivers, &sent_per_stream);
        let scored = sc.traffic.scored();
        let scores = leg_scores(&receivers, &sent_per_stream, scored);
        let counts = Counts {
            offered,
            passed,
            policer: offered - passed - port_drops - shaper_drops,
            port: port_drops,
            shaper: shaper_drops,
            offered_bytes,
            passed_bytes,
        };
        quality.finish(&mut link);
        let mut leg = Leg::new(sc, run.name.clone(), &run.site, run.calls, counts, Seen { rows, scores, delays });
        leg.series = link.finish(sc.duration.0);
        leg
    })
}

/// Simulates both directions of a run (on two threads when `threads` > 1) and combines them.
fn simulate_run(sc: &Scenario, run: &Run, progress: &AtomicU64, threads: usize) -> SiteReport {
    let workers = threads.saturating_sub(2) / 2;
    let (up, down) = if threads > 1 {
        std::thread::scope(|scope| {
            let down = scope.spawn(|| simulate_leg(sc, run, Direction::ToCustomer, progress, workers));
            let up = simulate_leg(sc, run, Direction::ToProvider, progress, workers);
            (up, down.join().expect("a leg does not panic"))
        })
    } else {
        (
            simulate_leg(sc, run, Direction::ToProvider, progress, 0),
            simulate_leg(sc, run, Direction::ToCustomer, progress, 0),
        )
    };
    SiteReport::both(up, down, sc)
}

/// Runs a scenario on up to `threads` threads. The report does not depend on `threads`.
/// `progress` counts frames simulated so far (roughly, in steps of 65,536), for a display.
pub fn simulate(sc: &Scenario, threads: usize, progress: &AtomicU64) -> SimReport {
    if sc.control.is_some() {
        let (sites, control, frames, series) = crate::failover::simulate_control(sc, progress);
        let v = crate::failover::verdict(&sites, &control, sc.loss_target_pct, sc.mos_target);
        return report(sc, sites, Vec::new(), frames, v, Some(control), series);
    }
    let mut runs: Vec<Run> = sc
        .sites
        .iter()
        .enumerate()
        .map(|(i, s)| Run {
            name: s.name.clone(),
            site: s.clone(),
            calls: s.calls,
            seed: sc.run_seed(i),
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
                seed: sc.run_seed(n_sites + i),
                steady_state: false,
            });
        }
    }
    // Threads go first to the legs (every site's two directions are independent); threads
    // left over become analysis workers inside each leg. Neither choice changes the report.
    let legs: Vec<(usize, Direction)> = (0..runs.len()).flat_map(|r| Direction::BOTH.map(|d| (r, d))).collect();
    let threads = threads.max(1);
    let workers = (threads / legs.len()).saturating_sub(1);
    let per_chunk = legs.len().div_ceil(threads);
    let mut done: Vec<Option<Leg>> = std::iter::repeat_with(|| None).take(legs.len()).collect();
    std::thread::scope(|scope| {
        for (chunk, out) in legs.chunks(per_chunk).zip(done.chunks_mut(per_chunk)) {
            let runs = &runs;
            scope.spawn(move || {
                for (&(r, dir), out) in chunk.iter().zip(out.iter_mut()) {
                    *out = Some(simulate_leg(sc, &runs[r], dir, progress, workers));
                }
            });
        }
    });
    let mut done = done.into_iter().map(|l| l.expect("every leg finished"));
    let mut series = Vec::new();
    let results: Vec<SiteReport> = runs
        .iter()
        .map(|run| {
            let mut up = done.next().expect("two legs per run");
            let mut down = done.next().expect("two legs per run");
            for (dir, leg) in [(Direction::ToProvider, &mut up), (Direction::ToCustomer, &mut down)] {
                series.push(LinkSeries {
                    site: run.name.clone(),
                    direction: dir.name(),
                    tier_bps: run.site.tier.rate_bps(),
                    series: std::mem::take(&mut leg.series),
                    mos_histogram: Bins::of_mos(&leg.scores),
                    delay_ms_histogram: Bins::of_delays(&leg.delays),
                });
            }
            SiteReport::both(up, down, sc)
        })
        .collect();
    let mut reports = results;
    let failover = reports.split_off(n_sites);
    let frames = reports.iter().chain(&failover).map(|r| r.offered_frames).sum();
    let v = verdict(sc, &reports, &failover);
    report(sc, reports, failover, frames, v, None, series)
}

fn report(
    sc: &Scenario,
    sites: Vec<SiteReport>,
    failover: Vec<SiteReport>,
    frames: u64,
    verdict: String,
    control: Option<crate::failover::ControlReport>,
    series: Vec<LinkSeries>,
) -> SimReport {
    SimReport {
        scenario: sc.name.clone(),
        seed: sc.seed,
        duration_s: sc.duration.0 as f64 / 1e9,
        codec: sc.traffic.main().codec.to_string(),
        ptime_ms: sc.traffic.main().ptime_ms,
        traffic: sc.traffic.classes().to_vec(),
        loss_target_pct: sc.loss_target_pct,
        mos_target: sc.mos_target,
        verdict,
        sites,
        failover,
        frames,
        control,
        series,
        series_interval_widened: sc.series_interval().1,
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
    /// Every simulation the search ran, in the order it ran them (the report's loss-against-
    /// calls chart).
    pub trials: Vec<Trial>,
}

/// One simulation of a capacity search.
#[derive(Debug, Clone, Copy, Serialize, PartialEq)]
pub struct Trial {
    /// Calls simulated.
    pub calls: u64,
    /// Loss of the worse direction, percent.
    pub loss_pct: f64,
}

/// Most loss `capacity` accepts as a target, percent (beyond 20 % loss the E-model scores a
/// G.711 call below MOS 2.6).
pub const MAX_LOSS_TARGET_PCT: f64 = 20.0;

/// What `capacity` is asked: a tier and the calls' codec, phases and burst.
#[derive(Debug, Clone, PartialEq)]
pub struct CapacityAsk {
    /// The tier.
    pub tier: Tier,
    /// Codec.
    pub codec: Codec,
    /// Packet time, ms.
    pub ptime_ms: u32,
    /// All calls send at the same instant (the policer's worst case).
    pub sync: bool,
    /// Policer burst, bytes (`None`: the tier's default, 10 ms at its rate).
    pub burst_bytes: Option<u64>,
    /// Most loss allowed, percent.
    pub loss_target_pct: f64,
    /// Simulated seconds per trial.
    pub seconds: f64,
}

impl CapacityAsk {
    /// The one-site scenario [`capacity`] searches over, every value checked first: a site
    /// where the tier is sold, no delay, no failover case.
    pub fn scenario(&self) -> Result<Scenario, String> {
        let (codec, ptime) = (self.codec, self.ptime_ms);
        codec.check_ptime(ptime).map_err(|e| format!("--ptime: {e}"))?;
        let loss = self.loss_target_pct;
        if !(0.0..=MAX_LOSS_TARGET_PCT).contains(&loss) {
            return Err(format!(
                "--loss-target {loss}: expected 0 to {MAX_LOSS_TARGET_PCT} percent (beyond 20 % loss the E-model \
                 scores a G.711 call below MOS 2.6)"
            ));
        }
        let seconds = self.seconds;
        if !(seconds > 0.0 && seconds <= 3600.0) {
            return Err(format!("--seconds {seconds}: expected more than 0 and at most 3600"));
        }
        if let Some(b) = self.burst_bytes {
            let frame = crate::traffic::min_burst_bytes(codec, ptime, false, Accounting::Frame);
            if b < frame || b > xconnect_policer::MAX_BURST_BYTES {
                return Err(format!(
                    "--burst {b}: expected from {frame} bytes (one {codec} frame: a smaller burst drops every frame) \
                     to {} bytes",
                    xconnect_policer::MAX_BURST_BYTES
                ));
            }
        }
        let tier = self.tier;
        let location = xconnect_interconnect::Location::ALL
            .into_iter()
            .find(|l| l.offers(tier))
            .expect("every tier is sold somewhere");
        let mut sc = Scenario::default_scenario();
        sc.name = format!("capacity of {tier}");
        sc.duration = Span((seconds * 1e9) as u64);
        sc.loss_target_pct = loss;
        sc.traffic = crate::traffic::Traffic::single(codec, ptime, false);
        sc.sync = self.sync;
        sc.check_failover = false;
        sc.propagation = Span::ZERO;
        sc.variation = Span::ZERO;
        sc.sites = vec![Site {
            name: tier.to_string(),
            location,
            tier,
            calls: 1,
            burst_bytes: self.burst_bytes.unwrap_or(tier.default_burst_bytes()),
            accounting: Accounting::Frame,
            egress: crate::scenario::Egress::Police,
            bfd: None,
        }];
        Ok(sc)
    }
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
    let carried = sc.traffic.carried(rate, sc.port_bps, sc.vlan.is_some());
    let (arithmetic, port_limit) = (carried.tier, carried.port);
    let most = crate::budget::capacity_ceiling(sc);
    // A trial's loss is its worse direction's (each direction has the tier to itself); the
    // two run side by side.
    let mut trials: Vec<Trial> = Vec::new();
    let mut loss_at = |calls: u64| {
        if let Some(t) = trials.iter().find(|t| t.calls == calls) {
            return t.loss_pct;
        }
        let run = Run { name: site.name.clone(), site: site.clone(), calls, seed: sc.seed, steady_state: true };
        let r = simulate_run(sc, &run, progress, 2);
        let d = r.directions.expect("a run has both directions");
        let loss_pct = d.to_provider.loss_pct.max(d.to_customer.loss_pct);
        trials.push(Trial { calls, loss_pct });
        loss_pct
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
    let loss_pct_at_max = if lo == 0 { 0.0 } else { loss_at(lo) };
    let loss_pct_above = loss_at(lo + 1);
    let rule = rate / 100_000;
    CapacityReport {
        tier_bps: rate,
        burst_bytes: site.burst_bytes,
        codec: sc.traffic.main().codec.to_string(),
        ptime_ms: sc.traffic.main().ptime_ms,
        phase: if sc.sync { "sync" } else { "random" },
        loss_target_pct: sc.loss_target_pct,
        accounting: site.accounting.as_str(),
        max_calls: lo,
        loss_pct_at_max,
        loss_pct_above,
        arithmetic_calls: arithmetic,
        port_limit_calls: port_limit,
        rule_of_thumb_calls: rule,
        ratio_to_arithmetic: lo as f64 / carried.calls() as f64,
        ratio_to_rule_of_thumb: lo as f64 / rule as f64,
        simulations,
        trials,
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
    // Each direction has the tier to itself: the one that lost more says what binds.
    if let Some(d) = &s.directions {
        let (worse, arrow) = if d.to_customer.dropped_frames > d.to_provider.dropped_frames
            || (d.to_customer.dropped_frames == d.to_provider.dropped_frames
                && d.to_customer.calls_below_mos_target > d.to_provider.calls_below_mos_target)
        {
            (&d.to_customer, "provider -> customer")
        } else {
            (&d.to_provider, "customer -> provider")
        };
        return format!("{arrow}: {}", binding(sc, worse, accounting));
    }
    let vlan = sc.vlan.is_some();
    if s.port_drops > 0 {
        let port = sc.traffic.carried(s.tier_bps, sc.port_bps, vlan).port;
        return format!(
            "the {} Mbit/s port is the limit ({} drops there; it carries {port} calls): split the calls over more ports",
            sc.port_bps / 1_000_000,
            s.port_drops
        );
    }
    if s.policer_drops > 0 || s.shaper_drops > 0 {
        let limit = if s.shaper_drops > 0 { "egress shaper" } else { "policer" };
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
                "the {limit}'s rate is the limit ({:.1} Mbit/s offered on {} Mbit/s): {}",
                offered_bps / 1e6,
                s.tier_bps / 1_000_000,
                next.map_or("no tier is large enough; split the calls".into(), |t| format!(
                    "the smallest tier that passes is {t}"
                ))
            );
        }
        // Within the rate: the bursts overflow the bucket. One round of every call must fit.
        let frame = sc.traffic.min_burst_bytes(vlan, accounting);
        if s.shaper_drops > 0 {
            return format!(
                "the egress shaper's queue is the limit: the calls' average fits the rate, their bursts overflow its \
                 queue; a longer shaper_queue_ms or a burst of {} B (one frame of every call) would pass",
                frame.saturating_mul(s.calls)
            );
        }
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
        // Both directions, each on its own tier; the site's figures are the two added.
        let d = s.directions.as_ref().unwrap();
        for leg in [&d.to_provider, &d.to_customer] {
            assert_eq!(leg.offered_frames, 100 * 50 * 3);
            assert_eq!(leg.dropped_frames, 0);
            assert!((leg.offered_mbps - 8.72).abs() < 1e-9, "{}", leg.offered_mbps);
            assert!(leg.ok && leg.mos_min.unwrap() > 4.3, "{leg:?}");
        }
        assert_eq!(s.offered_frames, 2 * 100 * 50 * 3);
        assert!((s.offered_mbps - 2.0 * 8.72).abs() < 1e-9, "{}", s.offered_mbps);
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
        let d = s.directions.as_ref().unwrap();
        // The provider's egress polices provider → customer to the same tier.
        for leg in [&d.to_provider, &d.to_customer] {
            assert!((leg.loss_pct - expected).abs() < 1.0, "{} vs {expected}", leg.loss_pct);
            assert!((leg.passed_mbps - 10.0).abs() < 0.05, "{}", leg.passed_mbps);
            assert_eq!(leg.policer_drops, leg.dropped_frames);
        }
        assert!((s.loss_pct - expected).abs() < 1.0, "{} vs {expected}", s.loss_pct);
        assert!(!s.ok && r.verdict.starts_with("UNDERSIZED"));
        assert!((s.passed_mbps - 20.0).abs() < 0.1, "{}", s.passed_mbps);
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

    #[test]
    fn an_egress_shaper_queues_the_bursts_a_policer_drops() {
        // 114 synchronized calls on 10 Mbit/s: each round (24,852 B) overflows the 12,500-byte
        // bucket. Customer -> provider is policed: frames are dropped. Provider -> customer is
        // shaped with a 50 ms queue (62,500 B): nothing is dropped, the burst waits instead.
        let text = "name = \"t\"\nduration_s = 3\n[traffic]\ncodec = \"g711u\"\nphase = \"sync\"\n[[sites]]\nname = \"a\"\nlocation = \"ashburn\"\ntier = \"10M\"\ncalls = 114\negress = \"shape\"\n";
        let sc = Scenario::parse(text, "t").unwrap();
        let r = simulate(&sc, 2, &AtomicU64::new(0));
        let d = r.sites[0].directions.as_ref().unwrap();
        assert!(d.to_provider.policer_drops > 0, "{:?}", d.to_provider);
        assert_eq!(d.to_customer.dropped_frames, 0, "{:?}", d.to_customer);
        // The last frame of a round waits for the bucket to refill (24,852 - 12,500 B at
        // 10 Mbit/s, about 9.9 ms), less what the port's serialization already spent.
        assert!(d.to_customer.delay_ms.max > 9.0 && d.to_customer.delay_ms.max < 10.5, "{:?}", d.to_customer.delay_ms);
        assert!(d.to_provider.delay_ms.max < 1.0, "{:?}", d.to_provider.delay_ms);
        // A queue smaller than what a round leaves over drops at the tail.
        let small = text.replace("egress = \"shape\"", "egress = \"shape\"\nshaper_queue_ms = 1");
        let r = simulate(&Scenario::parse(&small, "t").unwrap(), 2, &AtomicU64::new(0));
        let down = &r.sites[0].directions.as_ref().unwrap().to_customer;
        assert!(down.shaper_drops > 0 && down.shaper_drops == down.dropped_frames, "{down:?}");
        // shaper_queue_ms means nothing when policing.
        let bad = text.replace("egress = \"shape\"", "shaper_queue_ms = 5");
        assert!(Scenario::parse(&bad, "t").unwrap_err().to_string().contains("only with egress = \"shape\""));
    }

    fn cap(tier: &str, sync: bool, burst: Option<u64>) -> CapacityReport {
        let mut sc = small(1, tier, sync);
        sc.duration = Span::from_secs(1);
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
        let d = s.directions.as_ref().unwrap();
        assert!((d.to_provider.offered_frames as f64 / 300_000.0 - 1.0).abs() < 0.12, "{}", s.offered_frames);
        // The answer leg of every call: the same calls, so the same frames, give or take one
        // per call (each leg has its own phase inside the call's window).
        let calls = 50 * 120 / 20 + 50;
        assert!(d.to_customer.offered_frames.abs_diff(d.to_provider.offered_frames) < 2 * calls, "{d:?}");
        assert_eq!(s.dropped_frames, 0, "50 Erlangs (4.4 Mbit/s) fit 10 Mbit/s");
        let bad = text.replace("mean_hold_s = 20\n", "");
        assert!(Scenario::parse(&bad, "p").unwrap_err().to_string().contains("mean_hold_s"));
    }

    #[test]
    fn a_mix_offers_each_class_its_share() {
        // 100 calls for 1 s: 50 G.711 at 20 ms (87.2 kbit/s as frames with FCS), 30 G.729 at
        // 20 ms (31.2 kbit/s), 20 G.711 at 30 ms (298 B frames: 79.47 kbit/s).
        let text = "name = \"m\"\nduration_s = 1\n[traffic]\n\
            [[traffic.mix]]\ncodec = \"g711u\"\nshare = 0.5\n\
            [[traffic.mix]]\ncodec = \"g729\"\nshare = 0.3\n\
            [[traffic.mix]]\ncodec = \"g711u\"\nptime_ms = 30\nshare = 0.2\n\
            [[sites]]\nname = \"a\"\nlocation = \"ashburn\"\ntier = \"100M\"\ncalls = 100\n";
        let sc = Scenario::parse(text, "m").unwrap();
        assert_eq!(sc.traffic.classes().len(), 3);
        let r = simulate(&sc, 1, &AtomicU64::new(0));
        let d = r.sites[0].directions.as_ref().unwrap();
        for s in [&d.to_provider, &d.to_customer] {
            // 50 × 50 + 30 × 50 + 20 × 33 or 34 (a 30 ms stream's count depends on its phase).
            assert!((4660..=4680).contains(&s.offered_frames), "{}", s.offered_frames);
            let mbps = s.offered_mbps;
            let expected = 50.0 * 0.0872 + 30.0 * 0.0312 + 20.0 * 298.0 * 8.0 / 30.0 / 1000.0;
            assert!((mbps - expected).abs() < 0.02, "{mbps} vs {expected}");
            assert_eq!(s.dropped_frames, 0);
            // Every class is scored, G.729 lowest (its Ie is 11; G.711 at 30 ms waits longer).
            assert!(s.mos_min.unwrap() < 4.2 && s.mos_min.unwrap() > 3.9, "{:?}", s.mos_min);
        }
        assert_eq!(r.traffic.len(), 3);
        assert_eq!(r.codec, "g711u");
        // The shares must add up, and a class is given in one place.
        let bad = text.replace("share = 0.2", "share = 0.3");
        let e = Scenario::parse(&bad, "m").unwrap_err().to_string();
        assert!(e.contains("the shares add up to 1.1"), "{e}");
        let bad = text.replace("[traffic]\n", "[traffic]\ncodec = \"g711u\"\n");
        assert!(Scenario::parse(&bad, "m").unwrap_err().to_string().contains("give it in each [[traffic.mix]]"));
    }

    #[test]
    fn analysis_workers_do_not_change_the_report() {
        let sc = small(300, "10M", false);
        let run = Run { name: "a".into(), site: sc.sites[0].clone(), calls: 300, seed: 3, steady_state: false };
        for dir in Direction::BOTH {
            let inline = simulate_leg(&sc, &run, dir, &AtomicU64::new(0), 0);
            for workers in [1, 2, 3] {
                let w = simulate_leg(&sc, &run, dir, &AtomicU64::new(0), workers);
                assert_eq!(w.report, inline.report, "{dir:?}, {workers} workers");
                assert_eq!(w.scores, inline.scores, "{dir:?}, {workers} workers");
            }
            assert!(inline.report.dropped_frames > 0, "an overloaded case, so drops are compared too");
        }
        // Both legs on one thread or side by side: the same report.
        let one = simulate_run(&sc, &run, &AtomicU64::new(0), 1);
        assert_eq!(simulate_run(&sc, &run, &AtomicU64::new(0), 2), one);
        assert_eq!(simulate_run(&sc, &run, &AtomicU64::new(0), 6), one);
    }

    #[test]
    fn same_report_whatever_the_thread_count() {
        let sc = Scenario::default_scenario();
        let mut short = sc.clone();
        short.duration = Span::from_secs(2);
        assert_eq!(simulate(&short, 1, &AtomicU64::new(0)), simulate(&short, 4, &AtomicU64::new(0)));
    }
}
