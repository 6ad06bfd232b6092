//! The xconnect pipeline (DESIGN.md: source → parse → classify → police → link → analyze).
//!
//! Module map:
//! - [`replay`]: what is in a capture: per-layer, per-VLAN and per-flow counts, malformed
//!   frames by reason, time span and peak rates.
//! - [`live`]: the replay's tally fed from a live port (`replay --iface`).
//! - [`pipeline`]: `replay`'s threads: a mapped file walked by every shard, or a stream read
//!   into batches.
//! - [`part`]: the parts of the flow space that shards divide and memory bounds are kept per.
//! - [`rate`]: peak rate over fixed windows.
//! - [`series`]: figures per interval of time, bounded, for the reports' charts.
#![deny(missing_docs)]

pub mod bgp;
pub mod live;
pub mod part;
pub mod pipeline;
pub mod police;
pub mod rate;
pub mod replay;
pub mod rtcp;
pub mod rtp;
pub mod series;
pub mod sip;
