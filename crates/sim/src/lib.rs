//! The simulator, above the dataplane's stages: what a capacity planner runs.
//!
//! Module map:
//! - [`scenario`]: scenario files read and checked field by field (`xconnect-input`).
//! - [`traffic`]: what the calls are: one class (codec, packet time, silence suppression) or
//!   a mix with shares.
//! - [`sim`]: the virtual-time engine: calls generated, policed at each site's edge, carried
//!   over its port, analyzed per stream; capacity by bisection.
//! - [`site`]: one site's data path (edge, receiver) and what its report says of its calls,
//!   shared by the engine and the failover cases.
//! - [`failover`]: the control plane in virtual time (onboarding, BGP sessions, detection,
//!   withdrawal) and the failover cases.
//! - [`plan`]: calls per tier (`Carried`), Erlang B trunks, which tier and which sites.
//! - [`budget`]: the work a run will do, estimated and bounded before it starts.
//! - [`series`]: the run over time, per site and direction, for the reports' charts.
#![deny(missing_docs)]

pub mod budget;
pub mod failover;
pub mod plan;
pub mod scenario;
pub mod series;
pub mod sim;
pub mod site;
pub mod traffic;
