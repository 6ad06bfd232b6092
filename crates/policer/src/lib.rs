//! Token-bucket policers and a shaper with exact integer arithmetic.
//!
//! Time is [`Nanos`] and rates are bits per second. A bucket's level is kept in
//! **bit-nanoseconds**: one byte is `8 × 10^9` bit-ns, and a rate of R bit/s adds exactly
//! `R × Δt` bit-ns over Δt nanoseconds. Nothing is rounded, so nothing drifts however long a
//! run is; every sum saturates instead of overflowing, and a saturated sum is always then capped
//! at the bucket size, so a year of virtual time at 1 Gbps is as exact as a millisecond.
//!
//! - [`TokenBucket`]: single-rate two-color (rate, burst).
//! - [`SrTcm`]: RFC 2697 single-rate three-color marker.
//! - [`TrTcm`]: RFC 2698 two-rate three-color marker.
//! - [`MefProfile`]: the MEF 10.3 bandwidth profile (RFC 4115 style) with coupling flag and
//!   color mode.
//! - [`Shaper`]: a FIFO token-bucket shaper with a bounded buffer, reporting delay.
//! - [`Accounting`]: which bytes of a frame count against the rate.
//!
//! ```
//! use xconnect_policer::{Color, TokenBucket};
//! use xconnect_time::Nanos;
//!
//! // 100 Mbit/s with a 125,000-byte burst (10 ms at the rate).
//! let mut tb = TokenBucket::new(100_000_000, 125_000).unwrap();
//! assert_eq!(tb.decide(Nanos(0), 1518), Color::Green);
//! ```
#![deny(missing_docs)]

mod accounting;
mod bucket;
mod mef;
mod shaper;
mod srtcm;
mod trtcm;

pub use accounting::Accounting;
pub use bucket::{Bucket, ConfigError, TokenBucket, BIT_NS_PER_BYTE, MAX_BURST_BYTES};
pub use mef::{CouplingFlag, MefProfile};
pub use shaper::{Shaper, ShaperOutcome};
pub use srtcm::SrTcm;
pub use trtcm::TrTcm;

use xconnect_time::Nanos;

/// A frame's color: green conforms to the committed rate, yellow to the excess rate, red to
/// neither (dropped by a policer).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Color {
    /// Within the committed profile.
    Green,
    /// Within the excess profile.
    Yellow,
    /// Out of profile.
    Red,
}

impl Color {
    /// "green", "yellow" or "red".
    pub fn as_str(self) -> &'static str {
        match self {
            Color::Green => "green",
            Color::Yellow => "yellow",
            Color::Red => "red",
        }
    }
}

/// A policer algorithm that colors frames in time order. Timestamps that go backwards are
/// treated as no time having passed.
pub trait Meter {
    /// Colors a frame of `bytes` bytes arriving at `now` (color-blind).
    fn decide(&mut self, now: Nanos, bytes: u32) -> Color;
}

impl Meter for TokenBucket {
    #[inline]
    fn decide(&mut self, now: Nanos, bytes: u32) -> Color {
        TokenBucket::decide(self, now, bytes)
    }
}

impl Meter for SrTcm {
    #[inline]
    fn decide(&mut self, now: Nanos, bytes: u32) -> Color {
        SrTcm::decide(self, now, bytes, Color::Green)
    }
}

impl Meter for TrTcm {
    #[inline]
    fn decide(&mut self, now: Nanos, bytes: u32) -> Color {
        TrTcm::decide(self, now, bytes, Color::Green)
    }
}

impl Meter for MefProfile {
    #[inline]
    fn decide(&mut self, now: Nanos, bytes: u32) -> Color {
        MefProfile::decide(self, now, bytes, Color::Green)
    }
}
