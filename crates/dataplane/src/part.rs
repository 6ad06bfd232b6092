//! Parts of the flow space: what a replay's shards divide, and what its memory bounds are
//! kept per, so that neither depends on the number of shards.

use std::net::IpAddr;

/// Parts of the flow space: a flow's part is a hash of its two ends, so that both directions
/// of a conversation, and an RTP stream with its RTCP (ports 2n and 2n + 1), fall in the same
/// part. Shards take whole parts, and the flow table's and the RTP analysis's limits are kept
/// per part, so that which flows and streams are tracked does not depend on the number of
/// shards.
pub const FLOW_PARTS: usize = 64;

/// The part of the flow space of a conversation between two ends (see [`FLOW_PARTS`]).
#[inline]
pub fn flow_part(src: IpAddr, src_port: u16, dst: IpAddr, dst_port: u16) -> usize {
    let end = |ip: IpAddr, port: u16| -> u64 {
        let a = match ip {
            IpAddr::V4(a) => u64::from(u32::from(a)),
            IpAddr::V6(a) => {
                let x = u128::from(a);
                (x as u64) ^ ((x >> 64) as u64).rotate_left(29)
            }
        };
        // Ports 2n and 2n + 1 (RTP and its RTCP) are one end.
        a << 15 ^ u64::from(port >> 1)
    };
    let (x, y) = (end(src, src_port), end(dst, dst_port));
    let (lo, hi) = if x <= y { (x, y) } else { (y, x) };
    let h = (lo.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ hi).wrapping_mul(0xd6e8_feb8_6659_fd93);
    (h >> 58) as usize
}

const _: () = assert!(FLOW_PARTS == 1 << 6, "flow_part keeps the top 6 bits");

/// A count of things kept in each part, each part to the same share of a bound.
#[derive(Debug, Clone)]
pub struct PartBound {
    counts: [usize; FLOW_PARTS],
    per_part: usize,
}

impl PartBound {
    /// At most `total` in all, `total` / [`FLOW_PARTS`] (rounded up) in each part.
    pub fn new(total: usize) -> Self {
        PartBound { counts: [0; FLOW_PARTS], per_part: total.div_ceil(FLOW_PARTS) }
    }

    /// Takes a place in `part` if it has one left.
    #[inline]
    pub fn take(&mut self, part: usize) -> bool {
        let room = self.counts[part] < self.per_part;
        self.counts[part] += usize::from(room);
        room
    }

    /// Whether `part` has a place left.
    #[inline]
    pub fn has_room(&self, part: usize) -> bool {
        self.counts[part] < self.per_part
    }

    /// Adds the places another shard took (shards take disjoint parts).
    pub fn absorb(&mut self, other: &PartBound) {
        for (x, y) in self.counts.iter_mut().zip(other.counts) {
            *x += y;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_directions_and_rtcp_share_a_part() {
        let (a, b): (IpAddr, IpAddr) = ("192.0.2.1".parse().unwrap(), "2001:db8::7".parse().unwrap());
        let p = flow_part(a, 40_000, b, 50_000);
        assert_eq!(flow_part(b, 50_000, a, 40_000), p);
        assert_eq!(flow_part(a, 40_001, b, 50_001), p, "RTCP on the next odd ports");
        assert!(p < FLOW_PARTS);
    }

    #[test]
    fn a_bound_is_kept_per_part() {
        let mut b = PartBound::new(130); // 3 a part
        assert!((0..3).all(|_| b.take(5)));
        assert!(!b.take(5) && !b.has_room(5));
        assert!(b.take(6) && b.has_room(6));
    }
}
