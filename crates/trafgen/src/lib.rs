//! Synthetic voice traffic.
//!
//! - [`codec`]: the codec catalog, the single source of truth for every bandwidth number in
//!   the project (payload per packet, packet rate, bit rate at the IP, frame and wire layers,
//!   calls per tier).
//! - [`dialog`]: calls as SIP dialogs with RTP, RTCP, comfort noise, DTMF and T.38, for
//!   realistic test captures.
//! - [`g711`]: μ-law and A-law encoding and decoding (ITU-T G.711).
//! - [`mix`]: several call plans (a codec mix) sent as one, in time order.
//! - [`source`]: RTP calls as Ethernet frames in timestamp order, written into a caller's
//!   buffer without allocating per packet.
#![deny(missing_docs)]

pub mod codec;
pub mod dialog;
pub mod g711;
pub mod generate;
pub mod mix;
pub mod source;

pub use codec::{Codec, CodecError, Layer as BandwidthLayer};
pub use mix::{Frames, Mix};
pub use source::{AddressPlan, Arrivals, CallPlan, Directions, Phase, PlanError, Source};
