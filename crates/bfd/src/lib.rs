//! Bidirectional Forwarding Detection, asynchronous mode (RFC 5880; over UDP, RFC 5881 single
//! hop and RFC 5883 multihop, in the BGP speaker): the control packet ([`packet`]) and one
//! session's state machine, sans IO ([`session`]): the speaker drives it with real time and UDP,
//! the simulator with virtual time, so both detect a failure with the same code.

pub mod packet;
pub mod session;

pub use packet::{Diag, Discard, Packet, State};
pub use session::{Action, Session, Timers};
