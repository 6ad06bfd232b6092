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

/// One site's direction over time.
#[derive(Debug)]
pub(crate) struct Link {
    rec: Recorder,
    interval_ns: u64,
    /// Start and end of the interval whose delays are being collected.
    from: u64,
    to: u64,
    /// One-way delays of the frames sent in the current interval, µs.
    delays: Histogram<u64>,
}

impl Link {
    pub(crate) fn new(interval_ns: u64) -> Self {
        Link {
            rec: Recorder::starting_at(0, interval_ns),
            interval_ns,
            from: 0,
            to: interval_ns,
            delays: Histogram::new_with_bounds(1, 3_600_000_000, 2).expect("valid bounds"),
        }
    }

    /// Moves to `sent` (times come in order): the delays of an interval that ended are kept.
    #[inline]
    fn tick(&mut self, sent: u64) {
        if sent >= self.to {
            self.close_delays();
            self.from = sent - sent % self.interval_ns;
            self.to = self.from.saturating_add(self.interval_ns);
        }
    }

    fn close_delays(&mut self) {
        if !self.delays.is_empty() {
            let b = self.rec.at(self.from);
            b.delay_p50_ns = Some(self.delays.value_at_quantile(0.5) * 1000);
            b.delay_p99_ns = Some(self.delays.value_at_quantile(0.99) * 1000);
            self.delays.reset();
        }
    }

    /// A frame of `bytes` (as the edge counts them) offered at `sent`.
    #[inline]
    pub(crate) fn offered(&mut self, sent: u64, bytes: u64) {
        self.tick(sent);
        self.rec.offered(sent, bytes);
    }

    /// The frame sent at `sent` crossed the edge and arrived at `arrival`.
    #[inline]
    pub(crate) fn passed(&mut self, sent: u64, arrival: u64, bytes: u64) {
        self.tick(sent);
        self.rec.at(sent).passed_bytes += bytes;
        self.delays.saturating_record(((arrival - sent) / 1000).max(1));
    }

    /// The frame sent at `sent` was lost.
    #[inline]
    pub(crate) fn lost(&mut self, sent: u64, why: Loss) {
        self.tick(sent);
        let b = self.rec.at(sent);
        match why {
            Loss::Edge(EdgeDrop::Policer) => b.policer_drops += 1,
            Loss::Edge(EdgeDrop::Port) => b.port_drops += 1,
            Loss::Edge(EdgeDrop::Shaper) => b.shaper_drops += 1,
            Loss::Lost => b.lost_frames += 1,
        }
    }

    /// Adds the quality of calls for the interval that starts at `from`.
    pub(crate) fn quality(&mut self, from: u64, q: &Quality) {
        if *q != Quality::default() {
            self.rec.at(from).add_quality(q);
        }
    }

    /// The series of a run that ended at `end_ns`.
    pub(crate) fn finish(mut self, end_ns: u64) -> Series {
        self.close_delays();
        self.rec.finish(end_ns)
    }
}

/// One call's figures in the current interval.
#[derive(Debug, Clone, Copy, Default)]
struct Call {
    sent: u32,
    passed: u32,
    delay_sum_ns: u64,
    /// Send and arrival time of its last frame that arrived (`last_sent` 0: none yet).
    last_sent: u64,
    last_arrival: u64,
    jitter: f64,
    max_jitter: f64,
    touched: bool,
}

/// The calls of one traffic source, per interval.
#[derive(Debug)]
pub(crate) struct Calls {
    calls: Vec<Call>,
    touched: Vec<u32>,
    interval_ns: u64,
    from: u64,
    to: u64,
    /// The codec's E-model constants (`None`: no MOS; a call is then below only when it
    /// carried nothing).
    scored: Option<(f64, f64)>,
    ptime_ms: f64,
    mos_target: f64,
}

impl Calls {
    pub(crate) fn new(sc: &Scenario, calls: usize, interval_ns: u64) -> Self {
        Calls {
            calls: vec![Call::default(); calls],
            touched: Vec::new(),
            interval_ns,
            from: 0,
            to: interval_ns,
            scored: impairment(sc.codec.payload_type()),
            ptime_ms: f64::from(sc.ptime_ms),
            mos_target: sc.mos_target,
        }
    }

    /// Moves to `sent`; when an interval ended, its quality goes to `link`.
    #[inline]
    fn tick(&mut self, sent: u64, link: &mut Link) {
        if sent >= self.to {
            let q = self.close();
            link.quality(self.from, &q);
            self.from = sent - sent % self.interval_ns;
            self.to = self.from.saturating_add(self.interval_ns);
        }
    }

    /// Call `call` sent a frame at `sent` (its fate follows).
    #[inline]
    pub(crate) fn sent(&mut self, call: usize, sent: u64, link: &mut Link) {
        self.tick(sent, link);
        let c = &mut self.calls[call];
        c.sent += 1;
        if !c.touched {
            c.touched = true;
            self.touched.push(call as u32);
        }
    }

    /// The frame call `call` sent at `sent` arrived at `arrival`.
    #[inline]
    pub(crate) fn arrived(&mut self, call: usize, sent: u64, arrival: u64) {
        let c = &mut self.calls[call];
        c.passed += 1;
        c.delay_sum_ns += arrival - sent;
        if c.last_sent != 0 {
            // The transit difference against the call's previous arrival, ms.
            let d = (arrival as f64 - c.last_arrival as f64) - (sent as f64 - c.last_sent as f64);
            c.jitter = jitter_step(c.jitter, d / 1e6);
            c.max_jitter = c.max_jitter.max(c.jitter);
        }
        (c.last_sent, c.last_arrival) = (sent.max(1), arrival);
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
            let mos = self.scored.map(|e| {
                if c.passed == 0 {
                    1.0
                } else {
                    let loss_pct = f64::from(c.sent - c.passed.min(c.sent)) * 100.0 / f64::from(c.sent);
                    let delay_ms = c.delay_sum_ns as f64 / f64::from(c.passed) / 1e6;
                    stream_mos(e, self.ptime_ms, c.max_jitter, delay_ms, loss_pct)
                }
            });
            if let Some(m) = mos {
                q.mos.record(m);
            }
            let below = c.passed == 0 || mos.is_some_and(|m| m < self.mos_target);
            q.below += u64::from(below);
            if c.passed > 0 {
                q.jitter_sum_ms += c.jitter;
                q.jitter_n += 1;
                q.jitter_max_ms = q.jitter_max_ms.max(c.max_jitter);
            }
            *c = Call {
                last_sent: c.last_sent,
                last_arrival: c.last_arrival,
                jitter: c.jitter,
                max_jitter: c.jitter,
                ..Call::default()
            };
        }
        self.touched.clear();
        q
    }

    /// Closes the last interval into `link`.
    pub(crate) fn finish(mut self, link: &mut Link) {
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
