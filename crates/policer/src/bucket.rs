//! The single-rate two-color token bucket, and the exact integer bucket every algorithm
//! here is built from.

use core::fmt;

use xconnect_time::Nanos;

use crate::Color;

/// Bit-nanoseconds in one byte: 8 bits × 10^9 ns per second.
pub const BIT_NS_PER_BYTE: u64 = 8_000_000_000;

/// A bad policer configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigError {
    /// A committed rate of zero passes nothing and divides by nothing: refused.
    ZeroRate,
    /// A burst of zero bytes passes nothing.
    ZeroBurst,
    /// The burst does not fit the exact arithmetic (over 2 GB).
    BurstTooLarge {
        /// The burst asked for.
        bytes: u64,
    },
    /// trTCM: the peak rate is below the committed rate (RFC 2698 §1 requires PIR ≥ CIR).
    PeakBelowCommitted,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::ZeroRate => f.write_str("rate must be above 0 bit/s"),
            ConfigError::ZeroBurst => f.write_str("burst must be at least 1 byte (and at least the largest frame)"),
            ConfigError::BurstTooLarge { bytes } => {
                write!(f, "burst of {bytes} bytes is too large: at most 2,000,000,000 bytes")
            }
            ConfigError::PeakBelowCommitted => f.write_str("peak rate (PIR) must be at least the committed rate (CIR)"),
        }
    }
}

impl std::error::Error for ConfigError {}

/// Largest burst accepted: 2 GB, so that a full bucket (2e9 × 8e9 = 1.6e19 bit-ns) still fits
/// a u64 (1.8e19).
pub const MAX_BURST_BYTES: u64 = 2_000_000_000;

/// One bucket: a level in bit-ns, capped at a size, filled at a rate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bucket {
    level: u64,
    size: u64,
}

impl Bucket {
    /// A full bucket of `burst_bytes`.
    pub fn full(burst_bytes: u64) -> Result<Bucket, ConfigError> {
        if burst_bytes > MAX_BURST_BYTES {
            return Err(ConfigError::BurstTooLarge { bytes: burst_bytes });
        }
        let size = burst_bytes * BIT_NS_PER_BYTE;
        Ok(Bucket { level: size, size })
    }

    /// Adds `amount` bit-ns and returns what overflowed the size.
    #[inline]
    pub fn fill(&mut self, amount: u64) -> u64 {
        let room = self.size - self.level;
        if amount <= room {
            self.level += amount;
            0
        } else {
            self.level = self.size;
            amount - room
        }
    }

    /// Takes `bytes` if the bucket holds them.
    #[inline]
    pub fn take(&mut self, bytes: u32) -> bool {
        let cost = u64::from(bytes) * BIT_NS_PER_BYTE;
        if self.level >= cost {
            self.level -= cost;
            true
        } else {
            false
        }
    }

    /// Whether the bucket holds `bytes`.
    #[inline]
    pub fn holds(&self, bytes: u32) -> bool {
        self.level >= u64::from(bytes) * BIT_NS_PER_BYTE
    }

    /// The level in bytes, rounded down.
    pub fn level_bytes(&self) -> u64 {
        self.level / BIT_NS_PER_BYTE
    }

    /// The level in bit-ns.
    pub fn level(&self) -> u64 {
        self.level
    }
}

/// Elapsed time since `last`, with a backwards step counted as zero; updates `last`.
#[inline]
pub(crate) fn elapsed(last: &mut Nanos, now: Nanos) -> u64 {
    let dt = now.0.saturating_sub(last.0);
    if now > *last {
        *last = now;
    }
    dt
}

/// Tokens a rate adds over `dt` ns, in bit-ns (saturating: the caller caps it anyway).
#[inline]
pub(crate) fn tokens(rate_bps: u64, dt: u64) -> u64 {
    rate_bps.saturating_mul(dt)
}

/// Single-rate two-color token bucket: a frame of L bytes is green if the bucket holds L
/// bytes (which it then spends), red otherwise. Starts full.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TokenBucket {
    rate_bps: u64,
    bucket: Bucket,
    last: Nanos,
}

impl TokenBucket {
    /// A bucket at `rate_bps` bit/s holding at most `burst_bytes`, full, at time zero.
    pub fn new(rate_bps: u64, burst_bytes: u64) -> Result<Self, ConfigError> {
        if rate_bps == 0 {
            return Err(ConfigError::ZeroRate);
        }
        if burst_bytes == 0 {
            return Err(ConfigError::ZeroBurst);
        }
        Ok(TokenBucket { rate_bps, bucket: Bucket::full(burst_bytes)?, last: Nanos(0) })
    }

    /// Empties the bucket: the steady state of a bucket whose offered load exceeds its rate
    /// (a long enough run drains it), for measuring long-run loss without simulating the drain.
    pub fn drain(&mut self) {
        self.bucket.level = 0;
    }

    /// Colors a frame of `bytes` at `now`.
    #[inline]
    pub fn decide(&mut self, now: Nanos, bytes: u32) -> Color {
        let dt = elapsed(&mut self.last, now);
        self.bucket.fill(tokens(self.rate_bps, dt));
        if self.bucket.take(bytes) {
            Color::Green
        } else {
            Color::Red
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refill_is_exact_across_tiny_steps() {
        // 1 bit/s for 1 ns adds 1 bit-ns: after 8e9 steps of 1 ns one byte is back. Check the
        // arithmetic on a scaled case: 3 bit/s, 1-byte bucket, emptied, then 2.666... s.
        let mut tb = TokenBucket::new(3, 1).unwrap();
        assert_eq!(tb.decide(Nanos(0), 1), Color::Green);
        // 8 bits at 3 bit/s take 8/3 s = 2,666,666,666.67 ns.
        assert_eq!(tb.decide(Nanos(2_666_666_666), 1), Color::Red);
        // The failed attempt spent nothing and the remainder was kept: 1 ns later it fits.
        assert_eq!(tb.decide(Nanos(2_666_666_667), 1), Color::Green);
    }

    #[test]
    fn backwards_time_adds_nothing() {
        let mut tb = TokenBucket::new(8_000, 1).unwrap(); // 1 byte per ms
        assert_eq!(tb.decide(Nanos(5_000_000), 1), Color::Green);
        assert_eq!(tb.decide(Nanos(1_000_000), 1), Color::Red);
        assert_eq!(tb.decide(Nanos(5_999_999), 1), Color::Red);
        assert_eq!(tb.decide(Nanos(6_000_000), 1), Color::Green);
    }

    #[test]
    fn a_year_at_one_gigabit_does_not_overflow() {
        let year = 365 * 24 * 3600 * 1_000_000_000u64;
        let mut tb = TokenBucket::new(1_000_000_000, 1_250_000).unwrap();
        assert_eq!(tb.decide(Nanos(0), 1_250_000), Color::Green);
        assert_eq!(tb.decide(Nanos(year), 1_250_000), Color::Green);
        assert_eq!(tb.decide(Nanos(year), 1), Color::Red);
        assert_eq!(tb.decide(Nanos(year + 8), 1), Color::Green);
    }

    #[test]
    fn bad_configs() {
        assert_eq!(TokenBucket::new(0, 100), Err(ConfigError::ZeroRate));
        assert_eq!(TokenBucket::new(100, 0), Err(ConfigError::ZeroBurst));
        assert!(matches!(TokenBucket::new(100, 3_000_000_000), Err(ConfigError::BurstTooLarge { .. })));
    }
}
