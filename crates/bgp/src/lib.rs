//! BGP-4 for the cross-connect (DESIGN.md: "bgp").
//!
//! - [`wire`]: messages, capabilities and path attributes; decode with RFC 7606 outcomes, encode.
//! - [`fsm`]: the session state machine (RFC 4271 §8), sans-IO: events and time in, actions out.
//! - [`peer`]: one neighbor above the FSM: import policy, Adj-RIB-In (RFC 7606, max-prefix),
//!   Adj-RIB-Out; the speaker and the simulator both drive it.
//! - [`speaker`]: a TCP driver that runs sessions against real routers.
//! - [`policy`]: the provider's and the customer's import policies, with typed reject reasons.
//! - [`special`]: special-purpose IPv4 blocks and AS number classes.
//! - [`rib`]: best-path selection across sessions; [`lpm`]: the forwarding table.
//!
//! ```
//! use xconnect_bgp::wire::{DecodeCtx, Message, Open};
//! let open = Message::Open(Open::new(4_200_000_001, 90, "192.0.2.1".parse().unwrap()));
//! let bytes = open.encode(true);
//! assert_eq!(Message::decode(&bytes, DecodeCtx::default()).unwrap(), open);
//! ```
#![deny(missing_docs)]

pub mod bfd_link;
pub mod events;
pub mod fsm;
pub mod lpm;
pub mod peer;
pub mod policy;
pub mod protect;
pub mod rib;
pub mod speaker;
pub mod special;
pub mod wire;
