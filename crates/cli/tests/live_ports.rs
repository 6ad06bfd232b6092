//! Live ports and the live lab, for real (root: network namespaces and veth pairs each test
//! makes and removes). A binary of their own: cargo runs test binaries one at a time, so the
//! wall-clock pacing measured here does not share the machine with the other tests.

#[allow(dead_code)]
mod util;

mod lab;
mod live;
