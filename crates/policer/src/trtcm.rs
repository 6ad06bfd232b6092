//! RFC 2698 two-rate three-color marker.

use crate::bucket::{elapsed, tokens, Bucket, ConfigError};
use xconnect_time::Nanos;

use crate::Color;

/// trTCM (RFC 2698): bucket P (PBS) fills at PIR, bucket C (CBS) at CIR; both start full.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TrTcm {
    pir_bps: u64,
    cir_bps: u64,
    p: Bucket,
    c: Bucket,
    last: Nanos,
}

impl TrTcm {
    /// PIR ≥ CIR > 0 in bit/s; PBS, CBS > 0 in bytes.
    pub fn new(cir_bps: u64, cbs: u64, pir_bps: u64, pbs: u64) -> Result<Self, ConfigError> {
        if cir_bps == 0 {
            return Err(ConfigError::ZeroRate);
        }
        if pir_bps < cir_bps {
            return Err(ConfigError::PeakBelowCommitted);
        }
        if cbs == 0 || pbs == 0 {
            return Err(ConfigError::ZeroBurst);
        }
        Ok(TrTcm { pir_bps, cir_bps, p: Bucket::full(pbs)?, c: Bucket::full(cbs)?, last: Nanos(0) })
    }

    /// Colors a frame (RFC 2698 §3). `pre` as in [`SrTcm::decide`](crate::SrTcm::decide).
    #[inline]
    pub fn decide(&mut self, now: Nanos, bytes: u32, pre: Color) -> Color {
        let dt = elapsed(&mut self.last, now);
        self.p.fill(tokens(self.pir_bps, dt));
        self.c.fill(tokens(self.cir_bps, dt));
        if pre == Color::Red || !self.p.holds(bytes) {
            Color::Red
        } else if pre == Color::Yellow || !self.c.holds(bytes) {
            self.p.take(bytes);
            Color::Yellow
        } else {
            self.p.take(bytes);
            self.c.take(bytes);
            Color::Green
        }
    }

    /// The peak bucket.
    pub fn peak(&self) -> Bucket {
        self.p
    }
    /// The committed bucket.
    pub fn committed(&self) -> Bucket {
        self.c
    }
}
