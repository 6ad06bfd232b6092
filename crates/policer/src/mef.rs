//! The MEF 10.3 bandwidth profile (§12), as RFC 4115 also describes it.

use crate::bucket::{elapsed, tokens, Bucket, ConfigError};
use xconnect_time::Nanos;

use crate::Color;

/// The coupling flag: whether tokens overflowing the green bucket feed the yellow one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CouplingFlag {
    /// CF = 0: the yellow bucket fills at EIR only.
    Uncoupled,
    /// CF = 1: the yellow bucket also receives the green bucket's overflow.
    Coupled,
}

/// MEF 10.3 bandwidth profile: green bucket (CIR, CBS), yellow bucket (EIR, EBS), coupling
/// flag, and color mode (color-blind when every frame is offered as green).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MefProfile {
    cir_bps: u64,
    eir_bps: u64,
    coupling: CouplingFlag,
    green: Bucket,
    yellow: Bucket,
    last: Nanos,
}

impl MefProfile {
    /// CIR > 0 and CBS > 0; EIR and EBS may be 0 (no excess service).
    pub fn new(cir_bps: u64, cbs: u64, eir_bps: u64, ebs: u64, coupling: CouplingFlag) -> Result<Self, ConfigError> {
        if cir_bps == 0 {
            return Err(ConfigError::ZeroRate);
        }
        if cbs == 0 {
            return Err(ConfigError::ZeroBurst);
        }
        Ok(MefProfile {
            cir_bps,
            eir_bps,
            coupling,
            green: Bucket::full(cbs)?,
            yellow: Bucket::full(ebs)?,
            last: Nanos(0),
        })
    }

    /// Colors a frame. `pre` is its color on arrival (color-aware mode); pass `Color::Green`
    /// for color-blind mode. A frame is green if it is green-eligible and fits the green
    /// bucket; else yellow if it is not red and fits the yellow bucket; else red.
    #[inline]
    pub fn decide(&mut self, now: Nanos, bytes: u32, pre: Color) -> Color {
        let dt = elapsed(&mut self.last, now);
        let over = self.green.fill(tokens(self.cir_bps, dt));
        let extra = if self.coupling == CouplingFlag::Coupled { over } else { 0 };
        self.yellow.fill(tokens(self.eir_bps, dt).saturating_add(extra));
        if pre == Color::Green && self.green.take(bytes) {
            Color::Green
        } else if pre != Color::Red && self.yellow.take(bytes) {
            Color::Yellow
        } else {
            Color::Red
        }
    }
}
