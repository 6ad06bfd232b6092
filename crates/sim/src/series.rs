//! The simulation over time: what each site's edge did per interval, and how its calls fared
//! (`series` in the report; the HTML report draws it).
//!
//! The engines feed two recorders as frames go by, in the order they were sent:
//! - [`Link`]: one site's direction — bytes offered and passed, drops by cause, one-way delay
//!   percentiles of the frames sent in the interval (the dataplane's [`Recorder`]).
//! - [`Calls`]: the calls of one traffic source — per interval, each call's loss (against what
//!   it sent, which a simulation knows), its jitter (RFC 3550's estimator on the frames'
//!   transit times, the rule the RTP analysis uses) and its MOS by the same E-model rule as a
//!   whole stream; closed into the recorder of the site the calls belong to.
//!
//! In a failover scenario a site's rates, drops and delays are its edge's (whatever calls cross
//! it), and its calls' quality is that of the calls homed there, wherever they went.

use hdrhistogram::Histogram;
use serde::Serialize;
use xconnect_dataplane::rtp::{impairment, jitter_step, stream_mos};
use xconnect_dataplane::series::{Quality, Recorder, Series};

use xconnect_trafgen::{Mix, Source};

use crate::scenario::Scenario;
use crate::site::EdgeDrop;

/// Why a frame did not arrive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Loss {
    /// At the edge: policer, port or shaper.
    Edge(EdgeDrop),
    /// On the way: no route, or a link that was down.
    Lost,
}

/// The one-way delays of one interval, ns, in log-linear bins: the values below 16 ns one by
/// one, above them 16 bins per power of two, so a bin is at most 1/16 of its value wide and
/// its midpoint within 3.2 % of anything in it. Recording is a few instructions (hdrhistogram
/// took about 60 per frame here, the whole simulation 10 % longer); hdrhistogram stays the
/// test oracle of the percentiles.
#[derive(Debug, Clone)]
pub(crate) struct DelayBins {
    counts: Vec<u32>,
    n: u64,
}

/// Bins: 16 exact ones, then 16 per power of two from 2^4 to 2^63.
const DELAY_BIN_COUNT: usize = 16 + 60 * 16;

impl DelayBins {
    pub(crate) fn new() -> Self {
        DelayBins { counts: vec![0; DELAY_BIN_COUNT], n: 0 }
    }

    #[inline]
    fn bin(v: u64) -> usize {
        if v < 16 {
            v as usize
        } else {
            let e = 63 - v.leading_zeros() as usize; // 4..=63
            let sub = ((v >> (e - 4)) & 15) as usize;
            16 + (e - 4) * 16 + sub
        }
    }

    /// The middle of bin `i`, ns.
    fn middle(i: usize) -> f64 {
        if i < 16 {
            i as f64
        } else {
            let (e, sub) = ((i - 16) / 16 + 4, (i - 16) % 16);
            let width = (1u64 << (e - 4)) as f64;
            ((16 + sub) as f64) * width + width / 2.0
        }
    }

    #[inline]
    pub(crate) fn record(&mut self, ns: u64) {
        self.counts[Self::bin(ns)] += 1;
        self.n += 1;
    }

    /// The value at quantile `q` (0 to 1), ns; `None` when empty.
    pub(crate) fn quantile(&self, q: f64) -> Option<f64> {
        if self.n == 0 {
            return None;
        }
        let rank = ((q * self.n as f64).ceil() as u64).clamp(1, self.n);
        let mut seen = 0u64;
        for (i, &c) in self.counts.iter().enumerate() {
            seen += u64::from(c);
            if seen >= rank {
                return Some(Self::middle(i));
            }
        }
        None
    }

    fn is_empty(&self) -> bool {
        self.n == 0
    }

    fn reset(&mut self) {
        self.counts.fill(0);
        self.n = 0;
    }
}

/// What became of a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// It arrived at this time.
    Arrived(u64),
    /// It was lost.
    Lost(Loss),
}

/// One site's direction over time.
#[derive(Debug)]
pub(crate) struct Link {
    rec: Recorder,
    interval_ns: u64,
    /// Start and end of the interval whose delays are being collected.
    from: u64,
    to: u64,
    /// One-way delays of the frames sent in the current interval.
    delays: DelayBins,
}

impl Link {
    pub(crate) fn new(interval_ns: u64) -> Self {
        Link {
            rec: Recorder::starting_at(0, interval_ns),
            interval_ns,
            from: 0,
            to: interval_ns,
            delays: DelayBins::new(),
        }
    }

    /// Moves to `sent` (times come in order): the delays of an interval that ended are kept.
    #[inline(always)]
    fn tick(&mut self, sent: u64) {
        if sent >= self.to {
            self.next_interval(sent);
        }
    }

    #[cold]
    #[inline(never)]
    fn next_interval(&mut self, sent: u64) {
        self.close_delays();
        self.from = sent - sent % self.interval_ns;
        self.to = self.from.saturating_add(self.interval_ns);
    }

    fn close_delays(&mut self) {
        if !self.delays.is_empty() {
            let b = self.rec.at(self.from);
            b.delay_p50_ns = self.delays.quantile(0.5).map(|ns| ns as u64);
            b.delay_p99_ns = self.delays.quantile(0.99).map(|ns| ns as u64);
            self.delays.reset();
        }
    }

    /// A frame sent at `sent`, `offered_bytes` of it offered to the edge (as the edge counts
    /// them; 0 when it never reached one), and what became of it.
    #[inline(always)]
    pub(crate) fn frame(&mut self, sent: u64, offered_bytes: u64, outcome: Outcome) {
        self.tick(sent);
        let b = self.rec.offered_into(sent, offered_bytes);
        match outcome {
            Outcome::Arrived(arrival) => {
                b.passed_bytes += offered_bytes;
                self.delays.record(arrival - sent);
            }
            Outcome::Lost(Loss::Edge(EdgeDrop::Policer)) => b.policer_drops += 1,
            Outcome::Lost(Loss::Edge(EdgeDrop::Port)) => b.port_drops += 1,
            Outcome::Lost(Loss::Edge(EdgeDrop::Shaper)) => b.shaper_drops += 1,
            Outcome::Lost(Loss::Lost) => b.lost_frames += 1,
        }
    }

    /// Adds the quality of calls for the interval that starts at `from`.
    pub(crate) fn quality(&mut self, from: u64, q: &Quality) {
        self.rec.quality(from, q);
    }

    /// The series of a run that ended at `end_ns`.
    pub(crate) fn finish(mut self, end_ns: u64) -> Series {
        self.close_delays();
        self.rec.finish(end_ns)
    }
}

/// One call's figures in the current interval.
#[derive(Debug, Clone, Copy)]
struct Call {
    /// Frames sent in the whole run.
    total: u32,
    /// Frames sent in the interval (0: not yet in the interval's list).
    sent: u32,
    passed: u32,
    delay_sum_ns: u64,
    /// Transit time (arrival − send) of its last frame that arrived, ns ([`NO_TRANSIT`]: none
    /// yet): RFC 3550's D is the difference of two transits.
    last_transit: i64,
    /// Jitter, ms (an f32 holds it to far below a microsecond; 32 bytes a call keep a
    /// failover's 2000 calls in 64 KiB).
    jitter: f32,
    max_jitter: f32,
}

const NO_TRANSIT: i64 = i64::MIN;

impl Default for Call {
    fn default() -> Self {
        Call { total: 0, sent: 0, passed: 0, delay_sum_ns: 0, last_transit: NO_TRANSIT, jitter: 0.0, max_jitter: 0.0 }
    }
}

/// A class of a source's streams: (the first stream after it, its codec's E-model constants,
/// its packet time in ms).
type StreamClass = (usize, Option<(f64, f64)>, f64);

/// The calls of one traffic source, per interval.
#[derive(Debug)]
pub(crate) struct Calls {
    calls: Vec<Call>,
    touched: Vec<u32>,
    interval_ns: u64,
    from: u64,
    to: u64,
    /// Per class of calls, by stream number: (the first stream after the class, its codec's
    /// E-model constants (`None`: no MOS; a call is then below only when it carried nothing),
    /// its packet time in ms).
    classes: Vec<StreamClass>,
    mos_target: f64,
}

impl Calls {
    /// The calls of `source`, whose streams are numbered class after class.
    pub(crate) fn new(sc: &Scenario, source: &Mix<Source>, interval_ns: u64) -> Self {
        let mut end = 0;
        let classes = source
            .parts()
            .map(|s| {
                end += s.total_streams();
                (end, impairment(s.payload_type()), f64::from(s.ptime_ms()))
            })
            .collect();
        Calls {
            calls: vec![Call::default(); end],
            touched: Vec::new(),
            interval_ns,
            from: 0,
            to: interval_ns,
            classes,
            mos_target: sc.mos_target,
        }
    }

    /// Moves to `sent`; when an interval ended, its quality goes to `link`.
    #[inline(always)]
    fn tick(&mut self, sent: u64, link: &mut Link) {
        if sent >= self.to {
            self.next_interval(sent, link);
        }
    }

    #[cold]
    #[inline(never)]
    fn next_interval(&mut self, sent: u64, link: &mut Link) {
        let q = self.close();
        link.quality(self.from, &q);
        self.from = sent - sent % self.interval_ns;
        self.to = self.from.saturating_add(self.interval_ns);
    }

    /// Starts loading call `call`'s state: its frame is on the way (the edge decides first).
    #[inline(always)]
    pub(crate) fn prefetch(&self, call: usize) {
        xconnect_capture::prefetch::prefetch_item(&self.calls, call);
    }

    /// Call `call` sent a frame at `sent` that arrived at `arrival`, or not at all.
    #[inline(always)]
    pub(crate) fn frame(&mut self, call: usize, sent: u64, arrival: Option<u64>, link: &mut Link) {
        self.tick(sent, link);
        let c = &mut self.calls[call];
        if c.sent == 0 {
            self.touched.push(call as u32);
        }
        c.sent += 1;
        c.total = c.total.saturating_add(1);
        let Some(arrival) = arrival else { return };
        c.passed += 1;
        let transit = arrival - sent;
        c.delay_sum_ns += transit;
        let transit = transit as i64;
        if c.last_transit != NO_TRANSIT {
            // The transit difference against the call's previous arrival, ms.
            let d_ms = (transit - c.last_transit) as f64 * 1e-6;
            c.jitter = jitter_step(f64::from(c.jitter), d_ms) as f32;
            c.max_jitter = c.max_jitter.max(c.jitter);
        }
        c.last_transit = transit;
    }

    /// The interval's quality: calls that sent, those below the MOS target (or that carried
    /// nothing), their jitter.
    fn close(&mut self) -> Quality {
        let mut q = Quality::default();
        for &i in &self.touched {
            let c = &mut self.calls[i as usize];
            q.active += 1;
            // A call that carried nothing in the interval scores the scale's floor, as over a
            // whole run.
            let (_, scored, ptime_ms) = self.classes[self.classes.partition_point(|c| c.0 <= i as usize)];
            let mos = scored.map(|e| {
                if c.passed == 0 {
                    1.0
                } else {
                    let loss_pct = f64::from(c.sent - c.passed.min(c.sent)) * 100.0 / f64::from(c.sent);
                    let delay_ms = c.delay_sum_ns as f64 / f64::from(c.passed) / 1e6;
                    stream_mos(e, ptime_ms, f64::from(c.max_jitter), delay_ms, loss_pct)
                }
            });
            if let Some(m) = mos {
                q.mos.record(m);
            }
            let below = c.passed == 0 || mos.is_some_and(|m| m < self.mos_target);
            q.below += u64::from(below);
            if c.passed > 0 {
                q.jitter_sum_ms += f64::from(c.jitter);
                q.jitter_n += 1;
                q.jitter_max_ms = q.jitter_max_ms.max(f64::from(c.max_jitter));
            }
            *c = Call {
                total: c.total,
                last_transit: c.last_transit,
                jitter: c.jitter,
                max_jitter: c.jitter,
                ..Call::default()
            };
        }
        self.touched.clear();
        q
    }

    /// Every frame each call sent in the run, by call.
    pub(crate) fn sent_per_call(&self) -> Vec<u32> {
        self.calls.iter().map(|c| c.total).collect()
    }

    /// Closes the last interval into `link`.
    pub(crate) fn finish(&mut self, link: &mut Link) {
        let q = self.close();
        link.quality(self.from, &q);
    }
}

/// One series of a simulation report: a site (or failover case) and a direction.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct LinkSeries {
    /// The site or failover case, as in `sites` and `failover`.
    pub site: String,
    /// "to_provider" (customer → provider) or "to_customer".
    pub direction: &'static str,
    /// The tier that polices this direction, bit/s (the chart's line).
    pub tier_bps: u64,
    /// The figures per interval.
    #[serde(flatten)]
    pub series: Series,
    /// Each call's MOS over the whole run (a call none of whose frames arrived at the floor, 1).
    pub mos_histogram: Bins,
    /// Every frame's one-way delay, ms.
    pub delay_ms_histogram: Bins,
}

/// A distribution: `counts[i]` values in `[from + i·width, from + (i+1)·width)` (the last bin
/// includes its upper end).
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Bins {
    /// The first bin's lower end.
    pub from: f64,
    /// Each bin's width.
    pub width: f64,
    /// Values per bin.
    pub counts: Vec<u64>,
}

/// Bins of MOS: 0.1 wide from 1.0 to 4.5.
const MOS_BINS: usize = 35;
/// Bins of the delay histogram.
const DELAY_BINS: usize = 30;

impl Bins {
    /// The calls' MOS; calls without one (a codec outside the E-model) are not counted.
    pub(crate) fn of_mos(scores: &[crate::site::LegScore]) -> Bins {
        let mut counts = vec![0u64; MOS_BINS];
        for m in scores.iter().filter_map(|s| s.mos) {
            let i = (((m - 1.0) / 0.1 + 1e-9).floor().max(0.0) as usize).min(MOS_BINS - 1);
            counts[i] += 1;
        }
        Bins { from: 1.0, width: 0.1, counts }
    }

    /// One-way delays (a histogram of ns) in equal bins from the smallest to the largest, ms.
    pub(crate) fn of_delays(h: &Histogram<u64>) -> Bins {
        if h.is_empty() {
            return Bins::default();
        }
        let (lo, hi) = (h.min() as f64 / 1e6, h.max() as f64 / 1e6);
        let width = ((hi - lo) / DELAY_BINS as f64).max(0.001);
        let mut counts = vec![0u64; DELAY_BINS];
        for v in h.iter_recorded() {
            let ms = h.median_equivalent(v.value_iterated_to()) as f64 / 1e6;
            let i = (((ms - lo) / width).floor().max(0.0) as usize).min(DELAY_BINS - 1);
            counts[i] += v.count_at_value();
        }
        Bins { from: lo, width, counts }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    #[test]
    fn delay_bins_agree_with_hdrhistogram_within_their_width() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        // Delays in ns: a few ns (exact bins), µs, ms, seconds.
        for (base, spread) in
            [(1u64, 15u64), (1_900, 10), (2_000, 1_000), (2_000_000, 500_000), (1_000_000_000, 5_000_000_000)]
        {
            let (mut bins, mut hdr) = (DelayBins::new(), Histogram::<u64>::new_with_bounds(1, 1 << 40, 3).unwrap());
            for _ in 0..20_000 {
                let ns = base + rng.random_range(0..spread);
                bins.record(ns);
                hdr.record(ns).unwrap();
            }
            for q in [0.5, 0.99] {
                let (a, b) = (bins.quantile(q).unwrap(), hdr.value_at_quantile(q) as f64);
                assert!((a - b).abs() <= b * 0.033 + 1.0, "{base} + {spread}, q {q}: {a} vs {b}");
            }
        }
        // Every bin's middle maps back to the bin.
        for i in 0..DELAY_BIN_COUNT - 16 {
            assert_eq!(DelayBins::bin(DelayBins::middle(i) as u64), i, "{i}");
        }
        assert_eq!(DelayBins::new().quantile(0.5), None);
        let mut one = DelayBins::new();
        one.record(u64::MAX);
        assert!(one.quantile(0.99).unwrap() > 9e18);
    }
}
