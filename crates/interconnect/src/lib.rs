//! The provider's offer as data and rules (DESIGN.md, "The provider's offer").
//!
//! - [`Tier`]: the bandwidth tiers (10, 100, 500, 1000 Mbps) with their policer defaults.
//! - [`Location`]: where cross-connects are sold, their data centers, and which tiers each
//!   offers (500 Mbps only in London and Singapore).
//! - [`request`]: step 1 of onboarding, the customer's request checked rule by rule.
//! - [`onboarding`]: steps 2-4 as a state machine, with point-to-point and private-ASN pools.
#![deny(missing_docs)]

mod catalog;
pub mod onboarding;
pub mod request;

pub use catalog::{Location, Tier, TierError, DEFAULT_BURST_INTERVAL_NS, MAX_FRAME_BYTES, PROVIDER_PREFIXES};
