//! A run's work, estimated from the scenario before it starts, and the limits it must fit: no
//! run may eat the machine's memory or run for hours unless the user raised the limit.

use crate::scenario::Scenario;
use xconnect_trafgen::Directions;

/// Frames simulated at most unless the user raises the limit (`--max-frames`): about ten
/// minutes on one core of this project's 2-core machine (15-25 M frames/s).
pub const DEFAULT_MAX_FRAMES: u64 = 10_000_000_000;

/// Memory a call's stream holds while a run lasts (its source state, RTP analysis and report
/// row): measured as about 1 KB (3 million calls took 2.9 GB); rounded up.
pub const BYTES_PER_STREAM: u64 = 1200;

/// Memory a BFD packet of the simulated control plane holds until the run ends: its entry in
/// the packets sent (24 bytes) and in the frames charged to the tier (24 bytes), with room
/// for the vectors' growth.
pub const BYTES_PER_CONTROL_FRAME: u64 = 96;

/// What a run will do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Work {
    /// Frames to simulate (an upper estimate: silence suppression sends fewer), control
    /// frames included.
    pub frames: u64,
    /// Call streams held at once at the most.
    pub streams: u64,
    /// BFD packets the control plane sends and keeps until the run ends (at most).
    pub control: u64,
}

/// The limits a run must fit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Frames.
    pub max_frames: u64,
    /// Bytes of memory.
    pub max_memory_bytes: u64,
}

impl Limits {
    /// `max_frames`, and three quarters of the memory this machine has available now.
    pub fn of_machine(max_frames: u64) -> Limits {
        let available = std::fs::read_to_string("/proc/meminfo")
            .ok()
            .and_then(|m| {
                m.lines()
                    .find(|l| l.starts_with("MemAvailable:"))
                    .and_then(|l| l.split_whitespace().nth(1).and_then(|kb| kb.parse::<u64>().ok()).map(|kb| kb * 1024))
            })
            .unwrap_or(4 << 30);
        Limits { max_frames, max_memory_bytes: available / 4 * 3 }
    }
}

/// Why a run was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TooBig(pub String);

impl std::fmt::Display for TooBig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for TooBig {}

/// Packet times in `duration_ns` (at least one).
fn rounds(duration_ns: u64, ptime_ms: u32) -> u64 {
    duration_ns.div_ceil(u64::from(ptime_ms.max(1)) * 1_000_000).max(1)
}

/// Frames and streams of `calls` for the scenario's duration (Poisson: `calls` Erlangs, plus
/// every call that arrives; each sends at least one frame).
fn run_work(sc: &Scenario, calls: u64) -> Work {
    let rounds = rounds(sc.duration.0, sc.traffic.shortest_ptime_ms());
    match sc.mean_hold.map(|h| h.0) {
        None => Work { frames: calls.saturating_mul(rounds), streams: calls, control: 0 },
        Some(hold) => {
            let arrivals = (calls as f64 * sc.duration.0 as f64 / hold as f64).ceil();
            let arrivals = if arrivals >= u64::MAX as f64 { u64::MAX } else { arrivals as u64 };
            Work {
                frames: calls.saturating_mul(rounds).saturating_add(arrivals),
                streams: calls.saturating_add(arrivals),
                control: 0,
            }
        }
    }
}

impl Work {
    /// Both pieces of work.
    pub fn and(self, o: Work) -> Work {
        Work {
            frames: self.frames.saturating_add(o.frames),
            streams: self.streams.saturating_add(o.streams),
            control: self.control.saturating_add(o.control),
        }
    }

    /// `simulate`: every site and the failover cases, both directions of every call; the
    /// stray calls (one direction: nobody answers them).
    pub fn simulate(sc: &Scenario) -> Work {
        let total: u64 = sc.sites.iter().map(|s| s.calls).sum();
        let both = |calls| {
            let w = run_work(sc, calls);
            w.and(w)
        };
        let mut w = sc.sites.iter().fold(Work { frames: 0, streams: 0, control: 0 }, |w, s| w.and(both(s.calls)));
        if sc.check_failover && sc.control.is_none() && sc.sites.len() > 1 {
            for _ in &sc.sites {
                w = w.and(both(total));
            }
        }
        if let Some(c) = &sc.control {
            w = w.and(run_work(sc, c.stray_calls));
            // BFD: each side of each site sends every interval, jittered to 75 % of it at the
            // shortest (once a second before it is up), and answers each Poll at once: a few
            // per state change, 16 allowed.
            for timers in sc.sites.iter().filter_map(|s| s.bfd) {
                let per_side = (sc.duration.0 / (timers.tx.0 / 4 * 3).max(1)).saturating_add(16);
                let bfd = per_side.saturating_mul(2);
                w = w.and(Work { frames: bfd, streams: 0, control: bfd });
            }
        }
        w
    }

    /// `generate`: `calls` for `duration_ns`, in one direction or both; with `sip`, each call's
    /// dialog (at most ten messages) and its RTCP (an SR per leg at least every 2.5 s, after
    /// the first at 1.25 s at the earliest) too.
    pub fn generate(calls: u64, duration_ns: u64, ptime_ms: u32, directions: Directions, sip: bool) -> Work {
        let streams = calls.saturating_mul(directions.per_call());
        let media = streams.saturating_mul(rounds(duration_ns, ptime_ms));
        let signalling = if sip {
            let rtcp_per_leg = duration_ns / 2_500_000_000 + 1;
            calls.saturating_mul(10 + 2 * rtcp_per_leg)
        } else {
            0
        };
        Work { frames: media.saturating_add(signalling), streams, control: 0 }
    }

    /// `generate --scenario`: one site's `calls` both ways, as `simulate` counts a site (every
    /// call that arrives included), and with `sip` each call's dialog and RTCP as
    /// [`Work::generate`] counts them.
    pub fn generate_site(sc: &Scenario, calls: u64, sip: bool) -> Work {
        let one_way = run_work(sc, calls);
        let media = one_way.and(one_way);
        if !sip {
            return media;
        }
        let rtcp_per_leg = sc.duration.0 / 2_500_000_000 + 1;
        let signalling = one_way.streams.saturating_mul(10 + 2 * rtcp_per_leg);
        media.and(Work { frames: signalling, streams: 0, control: 0 })
    }

    /// `capacity`: the bisection's trials, each at most [`capacity_ceiling`] calls.
    pub fn capacity(sc: &Scenario) -> Work {
        let most = capacity_ceiling(sc);
        // Doubling from the start to the ceiling, halving back, and the two final trials; each
        // trial runs both directions.
        let trials = 2 * u64::from(64 - most.leading_zeros()) + 3;
        let w = run_work(sc, most);
        Work { frames: w.frames.saturating_mul(2 * trials), streams: w.streams.saturating_mul(2), control: 0 }
    }

    /// Refuses a run beyond `limits`, saying the estimate, the limit and what to change.
    pub fn check(&self, limits: &Limits) -> Result<(), TooBig> {
        let memory = self
            .streams
            .saturating_mul(BYTES_PER_STREAM)
            .saturating_add(self.control.saturating_mul(BYTES_PER_CONTROL_FRAME));
        if memory > limits.max_memory_bytes {
            return Err(TooBig(format!(
                "this run would hold about {} call streams and {} BFD packets, {:.1} GB of memory, more than the \
                 {:.1} GB it may use on this machine (three quarters of what is available): use fewer calls, a \
                 shorter duration_s, a longer mean_hold_s or a longer bfd_interval_ms",
                self.streams,
                self.control,
                memory as f64 / 1e9,
                limits.max_memory_bytes as f64 / 1e9
            )));
        }
        if self.frames > limits.max_frames {
            return Err(TooBig(format!(
                "this run would make about {:.3e} frames, more than the limit of {:.3e} (about {:.0} s at 15 M \
                 frames/s): make it shorter or smaller, or raise the limit with --max-frames {}",
                self.frames as f64,
                limits.max_frames as f64,
                limits.max_frames as f64 / 15e6,
                self.frames
            )));
        }
        Ok(())
    }
}

/// The most calls a capacity bisection tries: four times what the binding limit (the tier at
/// the frame layer, or the port at the wire layer) carries, and never more than the address
/// plan holds. Beyond it, loss is above 75 %, far over any loss target capacity accepts.
pub fn capacity_ceiling(sc: &Scenario) -> u64 {
    let carried = sc.traffic.carried(sc.sites[0].tier.rate_bps(), sc.port_bps, sc.vlan.is_some());
    (4 * carried.calls()).max(2).min(xconnect_trafgen::AddressPlan::default().capacity())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn estimates_and_refusals() {
        let sc = Scenario::default_scenario();
        // 1000 calls per site, 30 s of 20 ms packets, the two sites and the two failover cases,
        // both directions.
        let w = Work::simulate(&sc);
        assert_eq!(w.frames, 2 * (1000 + 1000 + 2000 + 2000) * 1500);
        let limits = Limits { max_frames: DEFAULT_MAX_FRAMES, max_memory_bytes: 1 << 30 };
        assert_eq!(w.check(&limits), Ok(()));
        let e = w.check(&Limits { max_frames: 1_000_000, ..limits }).unwrap_err();
        assert!(e.0.contains("raise the limit with --max-frames 18000000"), "{e}");
        // Poisson with 10 ms holding times: 1000 Erlangs make 3 million calls in 30 s at each
        // site (6 million at a site alone, within its address pairs): 36 million streams.
        let text = crate::scenario::DEFAULT_SCENARIO
            .replace("codec = \"g711u\"", "codec = \"g711u\"\narrivals = \"poisson\"\nmean_hold_s = 0.01");
        let p = Scenario::parse(&text, "p").unwrap();
        let e = Work::simulate(&p).check(&limits).unwrap_err();
        assert!(e.0.contains("GB of memory"), "{e}");
        // Capacity at 1G for an hour: refused; for 2 s: fine.
        let mut c = Scenario::default_scenario();
        c.sites.truncate(1);
        c.sites[0].tier = xconnect_interconnect::Tier::G1;
        c.duration = xconnect_time::Span::from_secs(3600);
        assert!(Work::capacity(&c).check(&limits).is_err());
        c.duration = xconnect_time::Span::from_secs(2);
        assert_eq!(Work::capacity(&c).check(&limits), Ok(()));
        // BFD every millisecond for a day on both sites: the packets alone would not fit.
        let bfd = include_str!("../../../fixtures/scenarios/failover-bfd.toml")
            .replace("bfd_interval_ms = 300", "bfd_interval_ms = 1")
            .replace("duration_s = 60", "duration_s = 86400");
        let b = Scenario::parse(&bfd, "b").unwrap();
        let w = Work::simulate(&b);
        // Per side: 86,400 s / 0.75 ms + 16; two sides, two sites.
        assert_eq!(w.control, 4 * (86_400_000_000_000 / 750_000 + 16));
        let e = w.check(&Limits { max_frames: u64::MAX, ..limits }).unwrap_err();
        assert!(e.0.contains("BFD packets") && e.0.contains("bfd_interval_ms"), "{e}");
    }

    #[test]
    fn the_generate_estimate_bounds_what_is_written() {
        use xconnect_trafgen::dialog::{DialogPlan, DialogSource, MAX_FRAME};
        use xconnect_trafgen::{CallPlan, Source};
        for (calls, seconds, sip) in [(30u64, 0.1f64, true), (30, 7.0, true), (30, 7.0, false), (1, 0.02, true)] {
            let plan = CallPlan { seed: 2, ..CallPlan::g711(calls, 1_700_000_000_000_000_000, (seconds * 1e9) as u64) };
            let mut buf = vec![0u8; MAX_FRAME];
            let mut frames = 0u64;
            if sip {
                let plan = DialogPlan { calls: plan.clone(), comfort_noise: false, dtmf_share: 1.0, t38_share: 1.0 };
                let mut d = DialogSource::new(&plan).unwrap();
                while d.next_into(&mut buf).is_some() {
                    frames += 1;
                }
            } else {
                let mut s = Source::new(&plan).unwrap();
                while s.next_into(&mut buf).is_some() {
                    frames += 1;
                }
            }
            let w = Work::generate(calls, plan.duration_ns, 20, Directions::Both, sip);
            assert!(
                frames <= w.frames,
                "{calls} calls, {seconds} s, sip {sip}: wrote {frames}, estimated {}",
                w.frames
            );
            assert!(frames * 2 >= w.frames, "the estimate stays close: {frames} of {}", w.frames);
        }
    }
}
