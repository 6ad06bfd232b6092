//! Frames sent onto a [`Port`] at their own times against the wall clock, as tcpreplay does,
//! and how well that went: the pacing error of every frame (actual minus scheduled send time).
//!
//! A frame is never sent early. Until its time the sender sleeps, when the wait is long
//! enough for the kernel's timer to be trusted ([`SLEEP_ABOVE`]), then spins on the monotonic
//! clock. A frame whose time has passed (the sender fell behind) goes at once and its lateness
//! is what the report's percentiles show: nothing is skipped to catch up.

use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;

use crate::port::{Port, SEND_BATCH};

/// Waits longer than this are slept (less [`SLEEP_MARGIN`]); shorter ones are spun.
pub const SLEEP_ABOVE: Duration = Duration::from_micros(300);
/// What a sleep leaves to the spin: the kernel's timer slack and wake-up latency.
pub const SLEEP_MARGIN: Duration = Duration::from_micros(200);
/// The first frame is scheduled this long after the start, so that it is not late already.
pub const LEAD: Duration = Duration::from_millis(5);
/// How often the link is looked at while sending.
const LINK_CHECK: Duration = Duration::from_millis(100);

/// Why a paced send ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended {
    /// Every frame was sent.
    Done,
    /// SIGINT or SIGTERM (the stop flag).
    Stopped,
    /// The interface went down or lost its carrier.
    LinkDown,
}

impl Ended {
    /// "done", "stopped" or "link down".
    pub fn name(self) -> &'static str {
        match self {
            Ended::Done => "done",
            Ended::Stopped => "stopped",
            Ended::LinkDown => "link down",
        }
    }
}

/// What a paced send did.
#[derive(Debug, Clone)]
pub struct PacingReport {
    /// Frames sent.
    pub frames: u64,
    /// Their bytes (Ethernet frames without FCS).
    pub bytes: u64,
    /// From the first frame's send to the last's, seconds.
    pub seconds: f64,
    /// From the first frame's scheduled time to the last's, seconds.
    pub scheduled_seconds: f64,
    /// Pacing error (actual minus scheduled send time), µs: median, 99th percentile, largest.
    pub error_p50_us: f64,
    /// 99th percentile.
    pub error_p99_us: f64,
    /// Largest.
    pub error_max_us: f64,
    /// Frames sent more than 1 ms after their time.
    pub late_over_1ms: u64,
    /// Frames whose time was before the previous frame's (a capture's timestamps going
    /// backwards): sent right after it.
    pub out_of_order: u64,
    /// Frames the interface refused as longer than its MTU (not sent, counted).
    pub too_large: u64,
    /// Why it ended.
    pub ended: Ended,
}

impl PacingReport {
    /// Frames per second achieved (over the send span).
    pub fn frames_per_s(&self) -> f64 {
        if self.seconds > 0.0 {
            self.frames as f64 / self.seconds
        } else {
            0.0
        }
    }

    /// Mbit/s achieved (frames without FCS).
    pub fn mbps(&self) -> f64 {
        if self.seconds > 0.0 {
            self.bytes as f64 * 8.0 / self.seconds / 1e6
        } else {
            0.0
        }
    }
}

/// Sends the frames `next` writes into its buffer, each at `start + offset` (its offset in ns
/// from the first frame's time), until `next` returns `None`, `stop` is set, or the link goes
/// down. A send error other than the link going away or a frame too long for the interface is
/// returned as an error.
///
/// `next` returns the frame's time in ns (any origin: the first frame's time is the origin)
/// and its length. Frames already due when the sender gets to them (it fell behind, or several
/// share a time) go to the kernel together, up to [`SEND_BATCH`] in one system call; a frame
/// not yet due first sends those, then waits for its time.
pub fn send_paced(
    port: &mut Port,
    stop: &AtomicBool,
    mut next: impl FnMut(&mut [u8]) -> Option<(u64, usize)>,
) -> io::Result<PacingReport> {
    let mut batch = Batch::new();
    let start = Instant::now() + LEAD;
    let mut origin = None;
    let mut last_offset = 0u64;
    let mut out_of_order = 0u64;
    let mut last_check = Instant::now();
    let ended = loop {
        if stop.load(Ordering::Relaxed) {
            break Ended::Stopped;
        }
        // Also when the sender is behind and never waits: a frame sent on a link without a
        // carrier is lost without an error.
        if last_check.elapsed() > LINK_CHECK {
            last_check = Instant::now();
            if !port.link_up() {
                break Ended::LinkDown;
            }
        }
        let mut at = batch.room();
        let Some((ts, len)) = next(&mut batch.buf[at..at + crate::port::MAX_FRAME]) else { break Ended::Done };
        let len = len.min(crate::port::MAX_FRAME);
        let origin = *origin.get_or_insert(ts);
        let mut offset = ts.saturating_sub(origin);
        if offset < last_offset {
            out_of_order += 1;
            offset = last_offset;
        }
        last_offset = offset;
        let due = start + Duration::from_nanos(offset);
        let now = Instant::now();
        if due > now {
            // Not due yet: what is due goes first, then the wait.
            if let Some(end) = batch.flush(port, now)? {
                break end;
            }
            // The batch is empty now: this frame becomes its first.
            batch.buf.copy_within(at..at + len, 0);
            at = 0;
            if !wait_until(due, stop) {
                break Ended::Stopped;
            }
        }
        batch.push(at, len, due);
        if batch.full() {
            if let Some(end) = batch.flush(port, Instant::now())? {
                break end;
            }
        }
    };
    if ended == Ended::Done {
        if let Some(end) = batch.flush(port, Instant::now())? {
            return Ok(batch.report(last_offset, out_of_order, end));
        }
    }
    Ok(batch.report(last_offset, out_of_order, ended))
}

/// Waits for `due`: sleeps (in steps of at most [`LINK_CHECK`], looking at `stop` between
/// them) while the wait is long, then spins. `false` if `stop` was set.
fn wait_until(due: Instant, stop: &AtomicBool) -> bool {
    loop {
        let now = Instant::now();
        if now >= due {
            return true;
        }
        if stop.load(Ordering::Relaxed) {
            return false;
        }
        let left = due - now;
        if left > SLEEP_ABOVE {
            std::thread::sleep((left - SLEEP_MARGIN).min(LINK_CHECK));
        } else {
            std::hint::spin_loop();
        }
    }
}

/// Frames written and due, waiting to go to the kernel together, and what was sent.
struct Batch {
    buf: Vec<u8>,
    /// (offset in `buf`, length, due).
    frames: Vec<(usize, usize, Instant)>,
    ranges: Vec<(usize, usize)>,
    errors: Histogram<u64>,
    sent: u64,
    bytes: u64,
    late: u64,
    too_large: u64,
    first_send: Option<Instant>,
    last_send: Option<Instant>,
}

impl Batch {
    fn new() -> Batch {
        Batch {
            buf: vec![0u8; SEND_BATCH * crate::port::MAX_FRAME],
            frames: Vec::with_capacity(SEND_BATCH),
            ranges: Vec::with_capacity(SEND_BATCH),
            errors: Histogram::new_with_bounds(1, 3_600_000_000_000, 3).expect("valid bounds"),
            sent: 0,
            bytes: 0,
            late: 0,
            too_large: 0,
            first_send: None,
            last_send: None,
        }
    }

    /// Where the next frame is written.
    fn room(&self) -> usize {
        self.frames.len() * crate::port::MAX_FRAME
    }

    fn push(&mut self, at: usize, len: usize, due: Instant) {
        self.frames.push((at, len, due));
    }

    fn full(&self) -> bool {
        self.frames.len() == SEND_BATCH
    }

    /// Sends what is waiting; each frame's pacing error is `now` minus its time. `Some` when
    /// the link went down.
    fn flush(&mut self, port: &mut Port, now: Instant) -> io::Result<Option<Ended>> {
        let mut from = 0;
        while from < self.frames.len() {
            self.ranges.clear();
            self.ranges.extend(self.frames[from..].iter().map(|&(at, len, _)| (at, len)));
            let (n, error) = port.send_batch(&self.buf, &self.ranges);
            for &(_, len, due) in &self.frames[from..from + n] {
                let error = now.saturating_duration_since(due).as_nanos() as u64;
                self.errors.saturating_record(error.max(1));
                if error > 1_000_000 {
                    self.late += 1;
                }
                self.bytes += len as u64;
            }
            self.sent += n as u64;
            if n > 0 {
                self.first_send.get_or_insert(now);
                self.last_send = Some(now);
            }
            from += n;
            match error {
                None => {}
                Some(e) if is_link_gone(&e) => {
                    self.frames.clear();
                    return Ok(Some(Ended::LinkDown));
                }
                // The frame the kernel refused as too long: counted, skipped.
                Some(e) if e.raw_os_error() == Some(libc::EMSGSIZE) => {
                    self.too_large += 1;
                    from += 1;
                }
                Some(e) => return Err(e),
            }
        }
        self.frames.clear();
        Ok(None)
    }

    fn report(&self, last_offset: u64, out_of_order: u64, ended: Ended) -> PacingReport {
        let us = |q: f64| if self.sent == 0 { 0.0 } else { self.errors.value_at_quantile(q) as f64 / 1e3 };
        PacingReport {
            frames: self.sent,
            bytes: self.bytes,
            seconds: match (self.first_send, self.last_send) {
                (Some(a), Some(b)) => (b - a).as_secs_f64(),
                _ => 0.0,
            },
            scheduled_seconds: last_offset as f64 / 1e9,
            error_p50_us: us(0.5),
            error_p99_us: us(0.99),
            error_max_us: if self.sent == 0 { 0.0 } else { self.errors.max() as f64 / 1e3 },
            late_over_1ms: self.late,
            out_of_order,
            too_large: self.too_large,
            ended,
        }
    }
}

/// Errors that mean the interface went away or down rather than a bad frame.
pub fn is_link_gone(e: &io::Error) -> bool {
    matches!(e.raw_os_error(), Some(libc::ENETDOWN) | Some(libc::ENXIO) | Some(libc::ENODEV))
}
