//! Figures per interval of time: what a report draws over time (`series` in the JSON).
//!
//! A [`Recorder`] keeps one direction of one link (or one capture) in buckets of a fixed
//! interval. Its size is bounded whatever the input: at most [`MAX_POINTS`] buckets. A recorder
//! whose time span would need more (a capture's span is not known before its end) doubles its
//! interval and adds its buckets two by two, so that a one-hour run at 1 s keeps every second
//! and a year-long capture still fits in [`MAX_POINTS`] points of a longer interval. The JSON of
//! one series is then at most a few hundred kilobytes.
//!
//! Every figure of a bucket adds up linearly or keeps a maximum or minimum, whether two
//! buckets of the same interval are added (two shards or workers that saw different calls) or
//! consecutive buckets are merged into a wider one, so that a sharded replay merges exactly
//! whatever widening happened. The calls active and below target are kept as call-intervals
//! (calls × base intervals): a widened point shows their mean over its base intervals, the
//! average number of calls at a time.

use serde::Serialize;

/// The most points a series holds.
pub const MAX_POINTS: usize = 3600;

/// Runs shorter than this get 100 ms points by default, longer ones 1 s.
pub const SHORT_RUN_NS: u64 = 60_000_000_000;

/// The interval a run of `span_ns` is recorded at: `requested`, or 1 s (100 ms under a minute),
/// widened to whole milliseconds so that the run fits in [`MAX_POINTS`] points. The second value
/// says whether it was widened.
pub fn interval_for(span_ns: u64, requested_ns: Option<u64>) -> (u64, bool) {
    let wanted = requested_ns.unwrap_or(if span_ns < SHORT_RUN_NS { 100_000_000 } else { 1_000_000_000 }).max(1);
    let least = span_ns.div_ceil(MAX_POINTS as u64).div_ceil(1_000_000) * 1_000_000;
    if least > wanted {
        (least, true)
    } else {
        (wanted, false)
    }
}

/// What one interval held.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Bucket {
    /// Bytes offered to the edge (as its limit counts them), or on the wire in a capture.
    pub offered_bytes: u64,
    /// Bytes that crossed the edge.
    pub passed_bytes: u64,
    /// The busiest millisecond of the interval, bytes.
    pub peak_1ms_bytes: u64,
    /// Frames dropped by the tier's policer.
    pub policer_drops: u64,
    /// Frames dropped at a full port.
    pub port_drops: u64,
    /// Frames dropped by an egress shaper's full queue.
    pub shaper_drops: u64,
    /// Frames lost on the way: no route, or into a link that was down.
    pub lost_frames: u64,
    /// Sum and count of the calls' jitter at the interval's end, ms.
    pub jitter_sum_ms: f64,
    /// Calls whose jitter is in `jitter_sum_ms`.
    pub jitter_n: u64,
    /// The largest jitter any call reached in the interval, ms.
    pub jitter_max_ms: f64,
    /// The calls' MOS over the interval: sum, count and lowest (calls outside the E-model's
    /// tables have none).
    pub mos: Mos,
    /// Median one-way delay of the frames sent in the interval, ns.
    pub delay_p50_ns: Option<u64>,
    /// 99th percentile of the same, ns.
    pub delay_p99_ns: Option<u64>,
    /// Calls (streams, in a capture) that sent, counted once per base interval they sent in
    /// (see the module comment).
    pub calls_active: u64,
    /// Of those, the ones whose interval scored below the MOS target, or carried nothing,
    /// counted alike.
    pub calls_below: u64,
}

impl Bucket {
    /// Adds what another recorder saw in the same interval (other calls, or the other figures).
    pub fn add_same_interval(&mut self, o: &Bucket) {
        self.offered_bytes += o.offered_bytes;
        self.passed_bytes += o.passed_bytes;
        self.peak_1ms_bytes = self.peak_1ms_bytes.max(o.peak_1ms_bytes);
        self.policer_drops += o.policer_drops;
        self.port_drops += o.port_drops;
        self.shaper_drops += o.shaper_drops;
        self.lost_frames += o.lost_frames;
        self.jitter_sum_ms += o.jitter_sum_ms;
        self.jitter_n += o.jitter_n;
        self.jitter_max_ms = self.jitter_max_ms.max(o.jitter_max_ms);
        self.mos.add(&o.mos);
        self.delay_p50_ns = self.delay_p50_ns.max(o.delay_p50_ns);
        self.delay_p99_ns = self.delay_p99_ns.max(o.delay_p99_ns);
        self.calls_active += o.calls_active;
        self.calls_below += o.calls_below;
    }

    /// Adds the quality of a group of calls over an interval `base_intervals` base intervals
    /// long (see [`Quality`]): groups are disjoint (a traffic source's calls, a shard's
    /// streams), so their calls add up.
    fn add_quality(&mut self, q: &Quality, base_intervals: u64) {
        self.jitter_sum_ms += q.jitter_sum_ms;
        self.jitter_n += q.jitter_n;
        self.jitter_max_ms = self.jitter_max_ms.max(q.jitter_max_ms);
        self.mos.add(&q.mos);
        self.calls_active += q.active * base_intervals;
        self.calls_below += q.below * base_intervals;
    }
}

/// MOS of several calls: sum, count, lowest.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Mos {
    /// Sum of the MOS values.
    pub sum: f64,
    /// How many.
    pub n: u64,
    /// The lowest (meaningless while `n` is 0).
    pub min: f64,
}

impl Mos {
    /// One call's MOS.
    #[inline]
    pub fn record(&mut self, mos: f64) {
        self.min = if self.n == 0 { mos } else { self.min.min(mos) };
        self.sum += mos;
        self.n += 1;
    }

    /// Another group's.
    pub fn add(&mut self, o: &Mos) {
        if o.n > 0 {
            self.min = if self.n == 0 { o.min } else { self.min.min(o.min) };
            self.sum += o.sum;
            self.n += o.n;
        }
    }

    /// Mean and lowest, two decimals; `None` without a call.
    fn mean_min(&self) -> (Option<f64>, Option<f64>) {
        let r = |x: f64| (x * 100.0).round() / 100.0;
        if self.n == 0 {
            (None, None)
        } else {
            (Some(r(self.sum / self.n as f64)), Some(r(self.min)))
        }
    }
}

/// The calls' quality over one interval, as an analyzer closes it.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Quality {
    /// Calls (streams) that had packets in the interval.
    pub active: u64,
    /// Of those, the ones below the MOS target or that carried nothing.
    pub below: u64,
    /// Sum and count of the jitters at the interval's end, ms.
    pub jitter_sum_ms: f64,
    /// Streams in `jitter_sum_ms`.
    pub jitter_n: u64,
    /// Largest jitter reached in the interval, ms.
    pub jitter_max_ms: f64,
    /// The calls' MOS over the interval.
    pub mos: Mos,
}

/// Buckets of one direction of one link, by time.
#[derive(Debug, Clone)]
pub struct Recorder {
    start_ns: Option<u64>,
    interval_ns: u64,
    /// The interval it started with: calls are counted per base interval.
    base_ns: u64,
    buckets: Vec<Bucket>,
    /// The millisecond being summed for the 1 ms peak (since the start) and its bytes.
    ms: u64,
    ms_bytes: u64,
    /// The last bucket looked up: its time range and index (most frames fall in the same
    /// bucket and the same millisecond as the one before: no division for them).
    hot: (u64, u64, usize),
    /// Where the millisecond being summed ends.
    ms_end: u64,
}

impl Recorder {
    /// A recorder whose first bucket starts at the first time it is given.
    pub fn new(interval_ns: u64) -> Self {
        Recorder {
            start_ns: None,
            interval_ns: interval_ns.max(1),
            base_ns: interval_ns.max(1),
            buckets: Vec::new(),
            ms: 0,
            ms_bytes: 0,
            hot: (0, 0, 0),
            ms_end: 0,
        }
    }

    /// A recorder whose first bucket starts at `start_ns`.
    pub fn starting_at(start_ns: u64, interval_ns: u64) -> Self {
        Recorder { start_ns: Some(start_ns), ..Recorder::new(interval_ns) }
    }

    /// The current interval, ns (it doubles when the span outgrows [`MAX_POINTS`]).
    pub fn interval_ns(&self) -> u64 {
        self.interval_ns
    }

    /// Where the bucket of `ts_ns` ends; a time before the start belongs to the first bucket.
    pub fn end_of(&mut self, ts_ns: u64) -> u64 {
        let i = self.index(ts_ns) as u64;
        self.start_ns.unwrap_or(ts_ns).saturating_add((i + 1).saturating_mul(self.interval_ns))
    }

    /// The bucket index of `ts_ns`, doubling the interval while it falls beyond
    /// [`MAX_POINTS`] points.
    #[inline(always)]
    fn index(&mut self, ts_ns: u64) -> usize {
        let (from, to, i) = self.hot;
        if ts_ns >= from && ts_ns < to {
            return i;
        }
        let i = self.index_slow(ts_ns);
        let start = self.start_ns.unwrap_or(ts_ns);
        let from = start.saturating_add(i as u64 * self.interval_ns);
        self.hot = (from, from.saturating_add(self.interval_ns), i);
        i
    }

    #[cold]
    fn index_slow(&mut self, ts_ns: u64) -> usize {
        let start = *self.start_ns.get_or_insert(ts_ns);
        let since = ts_ns.saturating_sub(start);
        let mut i = since / self.interval_ns;
        while i >= MAX_POINTS as u64 {
            self.widen(self.next_factor());
            i = since / self.interval_ns;
        }
        i as usize
    }

    /// How much wider the interval gets when it must: to 1 s from an interval that divides
    /// it (100 ms becomes 1 s, not 200 ms), else twice as wide.
    fn next_factor(&self) -> u64 {
        const SECOND: u64 = 1_000_000_000;
        if self.interval_ns < SECOND && SECOND.is_multiple_of(self.interval_ns) {
            SECOND / self.interval_ns
        } else {
            2
        }
    }

    /// Makes the interval `factor` times wider, adding each run of `factor` buckets into one.
    fn widen(&mut self, factor: u64) {
        let merged: Vec<Bucket> = self
            .buckets
            .chunks(factor as usize)
            .map(|c| {
                let mut b = c[0];
                for next in &c[1..] {
                    b.add_same_interval(next);
                }
                b
            })
            .collect();
        self.buckets = merged;
        self.interval_ns = self.interval_ns.saturating_mul(factor);
        self.hot = (0, 0, 0);
        // The millisecond being summed keeps its place: milliseconds do not depend on the interval.
    }

    /// Widens the interval to `interval_ns` if that is a wider multiple of it (a replay
    /// recorded at 100 ms that turned out to last a minute or more is shown at 1 s).
    pub fn widen_to(&mut self, interval_ns: u64) {
        if interval_ns > self.interval_ns && interval_ns.is_multiple_of(self.interval_ns) {
            self.widen(interval_ns / self.interval_ns);
        }
    }

    /// The bucket of `ts_ns`.
    #[inline(always)]
    pub fn at(&mut self, ts_ns: u64) -> &mut Bucket {
        let i = self.index(ts_ns);
        if i >= self.buckets.len() {
            self.grow(i);
        }
        &mut self.buckets[i]
    }

    #[cold]
    fn grow(&mut self, i: usize) {
        self.buckets.resize(i + 1, Bucket::default());
    }

    /// The quality of a group of calls over the current interval of `ts_ns` (each group
    /// closes an interval once, when a later time comes).
    pub fn quality(&mut self, ts_ns: u64, q: &Quality) {
        if *q != Quality::default() {
            let base_intervals = self.interval_ns / self.base_ns;
            self.at(ts_ns).add_quality(q, base_intervals);
        }
    }

    /// `bytes` offered at `ts_ns` (into the interval and its busiest millisecond; a time
    /// before the millisecond being summed, a capture's clock stepped back, counts in it), and
    /// the interval's bucket for what else the caller knows of the frame: one lookup per frame.
    #[inline]
    pub fn offered_into(&mut self, ts_ns: u64, bytes: u64) -> &mut Bucket {
        self.busiest_ms(ts_ns, bytes);
        let b = self.at(ts_ns);
        b.offered_bytes += bytes;
        b
    }

    #[inline]
    fn busiest_ms(&mut self, ts_ns: u64, bytes: u64) {
        if ts_ns >= self.ms_end {
            let start = self.start_ns.unwrap_or(ts_ns);
            let ms = ts_ns.saturating_sub(start) / 1_000_000;
            if ms > self.ms || self.ms_end == 0 {
                self.close_ms();
                self.ms = ms;
            }
            self.ms_end = start.saturating_add((self.ms + 1).saturating_mul(1_000_000));
        }
        self.ms_bytes += bytes;
    }

    fn close_ms(&mut self) {
        if self.ms_bytes > 0 {
            let start = self.start_ns.unwrap_or(0);
            let bytes = self.ms_bytes;
            let b = self.at(start.saturating_add(self.ms.saturating_mul(1_000_000)));
            b.peak_1ms_bytes = b.peak_1ms_bytes.max(bytes);
            self.ms_bytes = 0;
        }
    }

    /// Adds another recorder of the same start (another shard or worker): buckets of the same
    /// time add up. The finer of the two is first widened to the other's interval.
    pub fn merge(&mut self, mut other: Recorder) {
        other.close_ms();
        self.close_ms();
        if self.start_ns.is_none() {
            self.start_ns = other.start_ns;
        }
        debug_assert!(other.start_ns.is_none() || other.start_ns == self.start_ns, "merged series share a start");
        // Shards that saw the same times widened alike; otherwise the finer one follows.
        other.widen_to(self.interval_ns);
        self.widen_to(other.interval_ns);
        debug_assert_eq!(self.interval_ns, other.interval_ns, "merged series widen alike");
        if self.buckets.len() < other.buckets.len() {
            self.buckets.resize(other.buckets.len(), Bucket::default());
        }
        for (a, b) in self.buckets.iter_mut().zip(&other.buckets) {
            a.add_same_interval(b);
        }
    }

    /// The series, its last point ending at `end_ns` (rates over the part of the interval
    /// before it). Empty when nothing was recorded.
    pub fn finish(mut self, end_ns: u64) -> Series {
        self.close_ms();
        let start = self.start_ns.unwrap_or(end_ns);
        let iv = self.interval_ns;
        let mut s = Series { interval_s: iv as f64 / 1e9, start_ns: start, ..Series::default() };
        // Call-intervals to calls at a time: the mean over the point's base intervals.
        let per_point = (iv / self.base_ns) as f64;
        let n = self.buckets.len();
        let round = |x: f64| (x * 1e6).round() / 1e6;
        for (i, b) in self.buckets.iter().enumerate() {
            let from = start.saturating_add(i as u64 * iv);
            // The last bucket may be cut by the end of the run; none is shorter than 1 ms.
            let len = if i + 1 == n { end_ns.saturating_sub(from).clamp(1_000_000, iv) } else { iv };
            let mbps = |bytes: u64| round(bytes as f64 * 8.0 / (len as f64 / 1e9) / 1e6);
            s.t_s.push(round((i as u64 * iv) as f64 / 1e9));
            s.offered_mbps.push(mbps(b.offered_bytes));
            s.passed_mbps.push(mbps(b.passed_bytes));
            s.peak_1ms_mbps.push(round(b.peak_1ms_bytes as f64 * 8.0 / 1e-3 / 1e6));
            s.policer_drops.push(b.policer_drops);
            s.port_drops.push(b.port_drops);
            s.shaper_drops.push(b.shaper_drops);
            s.lost_frames.push(b.lost_frames);
            s.jitter_ms_mean.push((b.jitter_n > 0).then(|| round(b.jitter_sum_ms / b.jitter_n as f64)));
            s.jitter_ms_max.push((b.jitter_n > 0).then(|| round(b.jitter_max_ms)));
            let (mean, min) = b.mos.mean_min();
            s.mos_mean.push(mean);
            s.mos_min.push(min);
            s.delay_ms_p50.push(b.delay_p50_ns.map(|d| round(d as f64 / 1e6)));
            s.delay_ms_p99.push(b.delay_p99_ns.map(|d| round(d as f64 / 1e6)));
            s.calls_active.push(round(b.calls_active as f64 / per_point));
            s.calls_below_mos_target.push(round(b.calls_below as f64 / per_point));
        }
        s
    }
}

/// One series: parallel columns, one value per interval (the JSON's `series`; see the schema).
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Series {
    /// Length of each interval, s (the last may be cut by the end of the run).
    pub interval_s: f64,
    /// Time of the first interval's start, ns (virtual time in a simulation, since the epoch in
    /// a capture).
    pub start_ns: u64,
    /// Each interval's start, s since `start_ns`.
    pub t_s: Vec<f64>,
    /// Offered rate, Mbit/s (as the tier's limit counts bytes; on the wire in a capture).
    pub offered_mbps: Vec<f64>,
    /// Rate that crossed the edge, Mbit/s.
    pub passed_mbps: Vec<f64>,
    /// The busiest millisecond of the interval, Mbit/s.
    pub peak_1ms_mbps: Vec<f64>,
    /// Frames the policer dropped.
    pub policer_drops: Vec<u64>,
    /// Frames a full port dropped.
    pub port_drops: Vec<u64>,
    /// Frames an egress shaper dropped.
    pub shaper_drops: Vec<u64>,
    /// Frames lost on the way (no route, link down).
    pub lost_frames: Vec<u64>,
    /// Mean of the calls' jitter at the interval's end, ms (`null`: no call measured).
    pub jitter_ms_mean: Vec<Option<f64>>,
    /// Largest jitter a call reached, ms.
    pub jitter_ms_max: Vec<Option<f64>>,
    /// Mean of the calls' MOS over the interval (`null`: no call with a MOS).
    pub mos_mean: Vec<Option<f64>>,
    /// The lowest call's MOS over the interval.
    pub mos_min: Vec<Option<f64>>,
    /// Median one-way delay, ms (`null`: not known, as in a capture).
    pub delay_ms_p50: Vec<Option<f64>>,
    /// 99th percentile one-way delay, ms.
    pub delay_ms_p99: Vec<Option<f64>>,
    /// Calls (streams in a capture) that sent in the interval; in a point wider than the
    /// interval recording started with, their mean over its base intervals.
    pub calls_active: Vec<f64>,
    /// Of those, the ones below the MOS target over the interval or that carried nothing
    /// (likewise a mean in a widened point).
    pub calls_below_mos_target: Vec<f64>,
}

impl Series {
    /// Points in the series.
    pub fn len(&self) -> usize {
        self.t_s.len()
    }

    /// Whether it has no point.
    pub fn is_empty(&self) -> bool {
        self.t_s.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: u64 = 1_000_000_000;

    #[test]
    fn default_interval_and_widening() {
        assert_eq!(interval_for(10 * S, None), (100_000_000, false));
        assert_eq!(interval_for(3600 * S, None), (S, false));
        // Two hours at 1 s would be 7200 points: 2 s.
        assert_eq!(interval_for(7200 * S, None), (2 * S, true));
        assert_eq!(interval_for(10 * S, Some(5_000_000)), (5_000_000, false));
        // A year of 1 ms: widened to whole ms that fit.
        let (iv, wide) = interval_for(365 * 86_400 * S, Some(1_000_000));
        assert!(wide && (365 * 86_400 * S).div_ceil(iv) <= MAX_POINTS as u64, "{iv}");
    }

    #[test]
    fn rates_peaks_and_the_cut_last_point() {
        let mut r = Recorder::starting_at(0, S);
        // 1250 bytes in each of the first 100 ms of second 0: 10 Mbit/s each ms, 1 Mbit/s
        // over the second.
        for ms in 0..100 {
            r.offered_into(ms * 1_000_000, 1250);
        }
        r.offered_into(S + 1, 125_000);
        let s = r.finish(S + S / 2);
        assert_eq!(s.t_s, vec![0.0, 1.0]);
        assert_eq!(s.offered_mbps[0], 1.0);
        assert_eq!(s.peak_1ms_mbps[0], 10.0);
        // The last point covers half a second.
        assert_eq!(s.offered_mbps[1], 2.0);
        assert_eq!(s.peak_1ms_mbps[1], 1000.0);
    }

    #[test]
    fn a_long_span_doubles_the_interval_and_keeps_totals() {
        let mut r = Recorder::starting_at(0, S);
        for sec in 0..(3 * MAX_POINTS as u64) {
            r.at(sec * S).policer_drops += 1;
            // The same five calls close each interval once, as an analyzer does.
            if (sec * S).is_multiple_of(r.interval_ns()) {
                r.quality(sec * S, &Quality { active: 5, below: u64::from(sec % 8 < 4), ..Quality::default() });
            }
        }
        assert_eq!(r.interval_ns(), 4 * S);
        // 100 ms widens to 1 s, not 200 ms.
        let mut tenths = Recorder::starting_at(0, S / 10);
        tenths.at(MAX_POINTS as u64 * S / 10);
        assert_eq!(tenths.interval_ns(), S);
        let s = r.finish(3 * MAX_POINTS as u64 * S);
        assert!(s.len() <= MAX_POINTS);
        assert_eq!(s.policer_drops.iter().sum::<u64>(), 3 * MAX_POINTS as u64);
        // The same five calls in every second: five at a time per point, not twenty.
        assert!(s.calls_active.iter().all(|&c| c == 5.0), "{:?}", &s.calls_active[..4]);
        assert!(s.calls_below_mos_target.iter().all(|&c| c <= 1.0) && s.calls_below_mos_target.contains(&1.0));
    }

    #[test]
    fn mos_groups_add_up_and_keep_the_lowest() {
        let (mut a, mut b) = (Mos::default(), Mos::default());
        a.record(4.4);
        a.record(3.0);
        b.add(&Mos::default());
        assert_eq!(b.mean_min(), (None, None));
        b.record(1.0);
        a.add(&b);
        assert_eq!(a.mean_min(), (Some(2.8), Some(1.0)));
        let mut bucket = Bucket::default();
        bucket.add_quality(&Quality { active: 2, mos: a, ..Quality::default() }, 1);
        bucket.add_quality(&Quality { active: 1, ..Quality::default() }, 1);
        assert_eq!((bucket.calls_active, bucket.mos.n), (3, 3));
    }

    #[test]
    fn shards_merge_exactly_after_widening() {
        // Two shards see the same times (so they widen alike) but different calls; merged they
        // equal one recorder that saw every call, whatever the widening.
        let (mut one, mut a, mut b) = (Recorder::new(S / 10), Recorder::new(S / 10), Recorder::new(S / 10));
        let mut t = 0;
        for k in 0..(3 * MAX_POINTS as u64) {
            t += S / 10 * (1 + k % 7);
            let (qa, qb) = (
                Quality { active: k % 3, below: k % 2, ..Quality::default() },
                Quality { active: (k / 5) % 4, ..Quality::default() },
            );
            let all = Quality { active: qa.active + qb.active, below: qa.below + qb.below, ..Quality::default() };
            for (r, q) in [(&mut one, all), (&mut a, qa), (&mut b, qb)] {
                r.at(t);
                r.quality(t, &q);
            }
        }
        a.merge(b);
        assert!(one.interval_ns() > S);
        assert_eq!(one.finish(t + 1), a.finish(t + 1));
    }

    #[test]
    fn a_clock_far_in_the_future_stays_bounded() {
        let mut r = Recorder::new(1_000_000);
        r.offered_into(5, 100);
        r.offered_into(u64::MAX - 1, 100);
        let s = r.finish(u64::MAX);
        assert!(s.len() <= MAX_POINTS && s.offered_mbps.iter().all(|x| x.is_finite()));
    }

    #[test]
    fn merging_recorders_adds_same_times() {
        let mut a = Recorder::starting_at(0, S);
        let mut b = Recorder::starting_at(0, S / 2);
        a.at(0).policer_drops += 1;
        b.at(S / 2).policer_drops += 2;
        b.at(S + S / 2).calls_active += 3;
        a.merge(b);
        let s = a.finish(2 * S);
        assert_eq!(s.policer_drops, vec![3, 0]);
        assert_eq!(s.calls_active, vec![0.0, 3.0]);
    }
}
