//! RFC 2697 single-rate three-color marker.

use crate::bucket::{elapsed, tokens, Bucket, ConfigError};
use xconnect_time::Nanos;

use crate::Color;

/// srTCM (RFC 2697): one rate (CIR) fills bucket C up to CBS, and what overflows C fills
/// bucket E up to EBS. Both start full.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SrTcm {
    cir_bps: u64,
    c: Bucket,
    e: Bucket,
    last: Nanos,
}

impl SrTcm {
    /// CIR in bit/s, CBS and EBS in bytes. RFC 2697 §2 asks that at least one of CBS and EBS
    /// be above 0; here CBS must be (a zero EBS disables yellow).
    pub fn new(cir_bps: u64, cbs: u64, ebs: u64) -> Result<Self, ConfigError> {
        if cir_bps == 0 {
            return Err(ConfigError::ZeroRate);
        }
        if cbs == 0 {
            return Err(ConfigError::ZeroBurst);
        }
        Ok(SrTcm { cir_bps, c: Bucket::full(cbs)?, e: Bucket::full(ebs)?, last: Nanos(0) })
    }

    /// Colors a frame. `pre` is the color it arrives with: pass `Color::Green` for
    /// color-blind mode; in color-aware mode a yellow frame can only stay yellow or turn red,
    /// and a red one stays red (RFC 2697 §4).
    #[inline]
    pub fn decide(&mut self, now: Nanos, bytes: u32, pre: Color) -> Color {
        let dt = elapsed(&mut self.last, now);
        let over = self.c.fill(tokens(self.cir_bps, dt));
        self.e.fill(over);
        if pre == Color::Green && self.c.take(bytes) {
            Color::Green
        } else if pre != Color::Red && self.e.take(bytes) {
            Color::Yellow
        } else {
            Color::Red
        }
    }

    /// The committed bucket.
    pub fn committed(&self) -> Bucket {
        self.c
    }
    /// The excess bucket.
    pub fn excess(&self) -> Bucket {
        self.e
    }
}
