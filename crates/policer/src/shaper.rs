//! A FIFO token-bucket shaper with a bounded buffer.

use std::collections::VecDeque;

use hdrhistogram::Histogram;

use crate::bucket::{ConfigError, BIT_NS_PER_BYTE};
use xconnect_time::Nanos;

/// What the shaper did with a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShaperOutcome {
    /// Sent at `departs` (≥ arrival).
    Sent {
        /// Departure time.
        departs: Nanos,
    },
    /// The buffer was full: dropped at the tail.
    TailDrop,
    /// The frame is larger than the burst, so the bucket can never hold it: dropped.
    Oversize,
}

/// A shaper: frames leave in arrival order as soon as a bucket of `burst` bytes filling at
/// `rate` holds them; frames that find `buffer` bytes already waiting are dropped.
///
/// Exact in integer bit-ns like the policers: a frame that must wait leaves at the first
/// nanosecond at which the bucket holds it.
#[derive(Debug, Clone)]
pub struct Shaper {
    rate_bps: u64,
    size: u64,
    /// Bucket level right after the last departure, at `t_last`.
    level: u64,
    t_last: u64,
    buffer_bytes: u64,
    /// (departure time, bytes) of frames still waiting, oldest first.
    queue: VecDeque<(u64, u32)>,
    queued_bytes: u64,
    delays: Histogram<u64>,
}

impl Shaper {
    /// A shaper at `rate_bps` with a `burst_bytes` bucket (full) and a `buffer_bytes` queue.
    pub fn new(rate_bps: u64, burst_bytes: u64, buffer_bytes: u64) -> Result<Self, ConfigError> {
        if rate_bps == 0 {
            return Err(ConfigError::ZeroRate);
        }
        if burst_bytes == 0 {
            return Err(ConfigError::ZeroBurst);
        }
        let size = crate::Bucket::full(burst_bytes)?.level();
        Ok(Shaper {
            rate_bps,
            size,
            level: size,
            t_last: 0,
            buffer_bytes,
            queue: VecDeque::with_capacity(1024),
            queued_bytes: 0,
            // Delays from 1 ns to an hour, 3 significant digits.
            delays: Histogram::new_with_bounds(1, 3_600_000_000_000, 3).expect("valid histogram bounds"),
        })
    }

    /// Offers a frame of `bytes` arriving at `now` (arrivals in time order; an earlier time is
    /// taken as `now` = the latest arrival).
    pub fn offer(&mut self, now: Nanos, bytes: u32) -> ShaperOutcome {
        let now = now.0;
        while let Some(&(dep, b)) = self.queue.front() {
            if dep > now {
                break;
            }
            self.queue.pop_front();
            self.queued_bytes -= u64::from(b);
        }
        if self.queued_bytes + u64::from(bytes) > self.buffer_bytes && !self.queue.is_empty() {
            return ShaperOutcome::TailDrop;
        }
        // The frame starts waiting for tokens once it is at the head: after the previous
        // departure, and not before it arrives.
        let start = now.max(self.t_last);
        let level = self.level.saturating_add(self.rate_bps.saturating_mul(start - self.t_last)).min(self.size);
        let cost = u64::from(bytes) * BIT_NS_PER_BYTE;
        if cost > self.size {
            return ShaperOutcome::Oversize;
        }
        let (departs, level) = if level >= cost {
            (start, level - cost)
        } else {
            // Wait ceil((cost - level) / rate) ns. The bucket never reaches its size while a
            // frame waits (level < cost <= size), so nothing overflows: what accrues beyond
            // `cost` within that last nanosecond is kept, and departures never drift.
            let wait = (cost - level).div_ceil(self.rate_bps);
            (start + wait, (level + wait * self.rate_bps - cost).min(self.size))
        };
        self.t_last = departs;
        self.level = level;
        if departs > now {
            self.queue.push_back((departs, bytes));
            self.queued_bytes += u64::from(bytes);
        }
        let _ = self.delays.record((departs - now).max(1));
        ShaperOutcome::Sent { departs: Nanos(departs) }
    }

    /// Delay distribution of sent frames (ns; a frame sent at once counts as 1 ns).
    pub fn delays(&self) -> &Histogram<u64> {
        &self.delays
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conforming_frames_leave_at_once() {
        let mut s = Shaper::new(8_000_000, 1000, 10_000).unwrap(); // 1 byte/µs
        assert_eq!(s.offer(Nanos(0), 1000), ShaperOutcome::Sent { departs: Nanos(0) });
        // Bucket empty: the next 500 bytes need 500 µs.
        assert_eq!(s.offer(Nanos(0), 500), ShaperOutcome::Sent { departs: Nanos(500_000) });
        // Another 500 queued behind: 500 µs more.
        assert_eq!(s.offer(Nanos(100), 500), ShaperOutcome::Sent { departs: Nanos(1_000_000) });
    }

    #[test]
    fn tail_drop_when_buffer_full() {
        let mut s = Shaper::new(8_000_000, 600, 1000).unwrap();
        assert_eq!(s.offer(Nanos(0), 601), ShaperOutcome::Oversize);
        assert!(matches!(s.offer(Nanos(0), 100), ShaperOutcome::Sent { .. }));
        assert!(matches!(s.offer(Nanos(0), 600), ShaperOutcome::Sent { .. }));
        assert!(matches!(s.offer(Nanos(0), 400), ShaperOutcome::Sent { .. }));
        assert_eq!(s.offer(Nanos(0), 1), ShaperOutcome::TailDrop);
        // 100 B left at once from the full 600 B bucket, 500 B remained; the 600 B frame waits
        // 100 µs, the 400 B frame 400 µs more. Once the 600 B frame has left, there is room.
        assert!(matches!(s.offer(Nanos(100_000), 500), ShaperOutcome::Sent { .. }));
    }

    #[test]
    fn long_run_rate_is_exact() {
        // 7 bit/s does not divide 8e9: departures must still average exactly 7 bit/s.
        let mut s = Shaper::new(7, 1, 1_000_000).unwrap();
        let mut last = Nanos(0);
        for _ in 0..1000 {
            if let ShaperOutcome::Sent { departs } = s.offer(Nanos(0), 1) {
                last = departs;
            }
        }
        // 1000 bytes, the first from the full bucket: 999 × 8 bits at 7 bit/s.
        assert_eq!(last.0, (999u64 * 8_000_000_000).div_ceil(7));
    }
}
