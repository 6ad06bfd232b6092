//! Time as every floor of xconnect counts it: nanoseconds in a `u64`, an instant ([`Nanos`]:
//! since an epoch, the Unix epoch for captures, the run's start in virtual time) and a span
//! ([`Span`]: between two instants). The arithmetic says which is which: an instant plus a
//! span is an instant, an instant minus an instant is a span; an instant plus an instant does
//! not compile. Arithmetic saturates (2^64 ns is 584 years: a run never reaches it, and a
//! timestamp going backwards gives a zero span, not a wrap).
#![deny(missing_docs)]

use core::fmt;
use core::ops::{Add, AddAssign, Div, Mul, Sub};

/// An instant, ns since an epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Nanos(pub u64);

/// A span of time, ns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Span(pub u64);

impl Span {
    /// Nothing.
    pub const ZERO: Span = Span(0);

    /// Whole seconds.
    pub const fn from_secs(s: u64) -> Span {
        Span(s.saturating_mul(1_000_000_000))
    }

    /// Whole milliseconds.
    pub const fn from_millis(ms: u64) -> Span {
        Span(ms.saturating_mul(1_000_000))
    }

    /// In seconds, for reports.
    pub fn as_secs_f64(self) -> f64 {
        self.0 as f64 / 1e9
    }

    /// In milliseconds, for reports.
    pub fn as_millis_f64(self) -> f64 {
        self.0 as f64 / 1e6
    }
}

impl Nanos {
    /// The span since `earlier`, zero if `earlier` is later.
    pub fn since(self, earlier: Nanos) -> Span {
        Span(self.0.saturating_sub(earlier.0))
    }
}

impl Add<Span> for Nanos {
    type Output = Nanos;
    fn add(self, d: Span) -> Nanos {
        Nanos(self.0.saturating_add(d.0))
    }
}

impl AddAssign<Span> for Nanos {
    fn add_assign(&mut self, d: Span) {
        *self = *self + d;
    }
}

impl Sub<Nanos> for Nanos {
    type Output = Span;
    fn sub(self, earlier: Nanos) -> Span {
        self.since(earlier)
    }
}

impl Add for Span {
    type Output = Span;
    fn add(self, d: Span) -> Span {
        Span(self.0.saturating_add(d.0))
    }
}

impl Mul<u64> for Span {
    type Output = Span;
    fn mul(self, k: u64) -> Span {
        Span(self.0.saturating_mul(k))
    }
}

impl Div<u64> for Span {
    type Output = Span;
    /// # Panics
    /// On a division by zero, as integer division does.
    fn div(self, k: u64) -> Span {
        Span(self.0 / k)
    }
}

impl fmt::Display for Nanos {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ns", self.0)
    }
}

impl fmt::Display for Span {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ns", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instants_and_spans() {
        let t = Nanos(5_000);
        assert_eq!(t + Span(2_000), Nanos(7_000));
        assert_eq!(Nanos(7_000) - t, Span(2_000));
        assert_eq!(t - Nanos(7_000), Span::ZERO, "backwards is a zero span, not a wrap");
        assert_eq!(Nanos(u64::MAX) + Span(1), Nanos(u64::MAX), "saturates");
        assert_eq!(Span::from_secs(3) / 3, Span::from_millis(1000));
        assert_eq!(Span::from_millis(20) * 50, Span::from_secs(1));
        assert_eq!(Span::from_secs(u64::MAX), Span(u64::MAX));
        let mut u = t;
        u += Span(1);
        assert_eq!(u, Nanos(5_001));
        assert_eq!(Span(1_500_000).as_millis_f64(), 1.5);
    }
}
