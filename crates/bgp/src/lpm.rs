//! Longest-prefix match over IPv4 with a fully expanded 16-8-8 multibit trie (the DIR-24-8
//! idea of Gupta, Lin and McKeown with a 16-bit first level, so an empty table costs 256 KiB
//! instead of 64 MiB): at most three array reads per lookup, no branches on prefix length.
//!
//! The table is built from a set of routes ([`Lpm::build`]); the RIB rebuilds it when the best
//! routes change. `prefix-trie` is the oracle in the tests and the peer in the bench.

use ipnet::Ipv4Net;

const PTR: u32 = 1 << 31;

/// An IPv4 longest-prefix-match table mapping prefixes to `u32` values below 2^31 - 1.
#[derive(Debug, Clone)]
pub struct Lpm {
    /// 65,536 entries indexed by the top 16 bits.
    top: Vec<u32>,
    /// 256-entry chunks for bits 16-23 and 24-31.
    chunks: Vec<u32>,
    routes: usize,
}

impl Default for Lpm {
    fn default() -> Self {
        Lpm { top: vec![0; 1 << 16], chunks: Vec::new(), routes: 0 }
    }
}

impl Lpm {
    /// The largest value a route can map to.
    pub const MAX_VALUE: u32 = PTR - 2;

    /// Builds the table. Duplicate prefixes: the last one wins.
    ///
    /// # Panics
    /// If a value exceeds [`Lpm::MAX_VALUE`].
    pub fn build(routes: impl IntoIterator<Item = (Ipv4Net, u32)>) -> Self {
        let mut rs: Vec<(Ipv4Net, u32)> = routes.into_iter().map(|(p, v)| (p.trunc(), v)).collect();
        // Shortest first, so a longer prefix paints over a shorter one and never meets a chunk
        // pointer it would have to look through.
        rs.sort_by_key(|(p, _)| p.prefix_len());
        let mut t = Lpm::default();
        // One chunk per distinct /16 holding a longer prefix, one per distinct /24 holding a
        // prefix longer than /24: reserve exactly that, and ask for huge pages before the
        // memory is first touched.
        let mut l2: Vec<u32> =
            rs.iter().filter(|(p, _)| p.prefix_len() > 16).map(|(p, _)| u32::from(p.network()) >> 16).collect();
        let mut l3: Vec<u32> =
            rs.iter().filter(|(p, _)| p.prefix_len() > 24).map(|(p, _)| u32::from(p.network()) >> 8).collect();
        l2.sort_unstable();
        l2.dedup();
        l3.sort_unstable();
        l3.dedup();
        t.chunks.reserve_exact((l2.len() + l3.len()) * 256);
        huge_pages(t.chunks.spare_capacity_mut());
        for (p, v) in &rs {
            assert!(*v <= Self::MAX_VALUE, "LPM value {v} exceeds {}", Self::MAX_VALUE);
            t.insert(*p, *v + 1);
        }
        t.routes = rs.len();
        debug_assert_eq!(t.chunks.len(), t.chunks.capacity());
        t
    }

    fn new_chunk(&mut self, fill: u32) -> u32 {
        let idx = (self.chunks.len() / 256) as u32;
        self.chunks.resize(self.chunks.len() + 256, fill);
        idx | PTR
    }

    fn insert(&mut self, p: Ipv4Net, entry: u32) {
        let a = u32::from(p.network());
        let len = p.prefix_len();
        if len <= 16 {
            let first = (a >> 16) as usize;
            let n = 1usize << (16 - len);
            self.top[first..first + n].fill(entry);
            return;
        }
        let ti = (a >> 16) as usize;
        let mut e = self.top[ti];
        if e & PTR == 0 {
            let c = self.new_chunk(e);
            self.top[ti] = c;
            e = c;
        }
        let base = ((e & !PTR) as usize) * 256;
        let b = ((a >> 8) & 0xff) as usize;
        if len <= 24 {
            let n = 1usize << (24 - len);
            self.chunks[base + b..base + b + n].fill(entry);
            return;
        }
        let mut e2 = self.chunks[base + b];
        if e2 & PTR == 0 {
            let c = self.new_chunk(e2);
            self.chunks[base + b] = c;
            e2 = c;
        }
        let base2 = ((e2 & !PTR) as usize) * 256;
        let c = (a & 0xff) as usize;
        let n = 1usize << (32 - len);
        self.chunks[base2 + c..base2 + c + n].fill(entry);
    }

    /// The value of the longest prefix that contains `addr`.
    #[inline]
    pub fn lookup(&self, addr: u32) -> Option<u32> {
        let mut e = self.top[(addr >> 16) as usize];
        if e & PTR != 0 {
            e = self.chunks[((e & !PTR) as usize) * 256 + ((addr >> 8) & 0xff) as usize];
            if e & PTR != 0 {
                e = self.chunks[((e & !PTR) as usize) * 256 + (addr & 0xff) as usize];
            }
        }
        e.checked_sub(1)
    }

    /// Looks up a batch of addresses level by level, so the cache misses of different
    /// addresses overlap instead of each lookup waiting on its own chain of reads.
    #[inline]
    pub fn lookup_batch<const N: usize>(&self, addrs: &[u32; N]) -> [Option<u32>; N] {
        let mut e = [0u32; N];
        for i in 0..N {
            e[i] = self.top[(addrs[i] >> 16) as usize];
        }
        for i in 0..N {
            if e[i] & PTR != 0 {
                e[i] = self.chunks[((e[i] & !PTR) as usize) * 256 + ((addrs[i] >> 8) & 0xff) as usize];
            }
        }
        for i in 0..N {
            if e[i] & PTR != 0 {
                e[i] = self.chunks[((e[i] & !PTR) as usize) * 256 + (addrs[i] & 0xff) as usize];
            }
        }
        e.map(|x| x.checked_sub(1))
    }

    /// Number of routes the table was built from.
    pub fn len(&self) -> usize {
        self.routes
    }

    /// Whether the table has no routes.
    pub fn is_empty(&self) -> bool {
        self.routes == 0
    }

    /// Bytes of table memory.
    pub fn memory_bytes(&self) -> usize {
        (self.top.len() + self.chunks.len()) * 4
    }
}

/// Asks Linux to back a large table with transparent huge pages: random lookups over tens of
/// MiB otherwise miss the TLB on nearly every access. Advice only; without it (another OS, THP
/// off) the table works the same, slower.
#[cfg(target_os = "linux")]
#[allow(unsafe_code)]
fn huge_pages(v: &mut [std::mem::MaybeUninit<u32>]) {
    const HUGE: usize = 2 << 20;
    let bytes = std::mem::size_of_val(v);
    if bytes < 2 * HUGE {
        return;
    }
    // madvise wants a page-aligned start: advise the 2 MiB-aligned part inside the slice.
    let start = v.as_mut_ptr() as usize;
    let aligned = start.next_multiple_of(HUGE);
    let end = (start + bytes) / HUGE * HUGE;
    if end <= aligned {
        return;
    }
    // SAFETY: [aligned, end) lies inside the live allocation behind `v` (aligned >= start and
    // end <= start + bytes), which we borrow mutably for the call; MADV_HUGEPAGE changes how
    // the kernel backs those pages, never their contents (here not yet written), and fails
    // harmlessly (EINVAL) where THP is not available. Exercised by
    // `lpm::tests::huge_page_advice_keeps_the_table_intact`.
    // A refusal (THP off) is fine: the table works the same with small pages.
    let _refused = unsafe { libc::madvise(aligned as *mut libc::c_void, end - aligned, libc::MADV_HUGEPAGE) } != 0;
}

#[cfg(not(target_os = "linux"))]
fn huge_pages(_: &mut [std::mem::MaybeUninit<u32>]) {}

#[cfg(test)]
mod tests {
    use super::*;
    use prefix_trie::PrefixMap;
    use rand::{rngs::SmallRng, Rng, SeedableRng};
    use std::net::Ipv4Addr;

    #[test]
    fn longest_wins_at_every_level() {
        let p = |s: &str| s.parse::<Ipv4Net>().unwrap();
        let t = Lpm::build([
            (p("0.0.0.0/0"), 0),
            (p("10.0.0.0/8"), 1),
            (p("10.1.0.0/16"), 2),
            (p("10.1.2.0/24"), 3),
            (p("10.1.2.128/25"), 4),
            (p("10.1.2.129/32"), 5),
            (p("10.1.3.0/20"), 6), // not aligned: truncated to 10.1.0.0/20
        ]);
        let l = |s: &str| t.lookup(u32::from(s.parse::<Ipv4Addr>().unwrap()));
        assert_eq!(l("9.9.9.9"), Some(0));
        assert_eq!(l("10.200.0.1"), Some(1));
        assert_eq!(l("10.1.200.1"), Some(2));
        assert_eq!(l("10.1.15.1"), Some(6));
        assert_eq!(l("10.1.2.1"), Some(3));
        assert_eq!(l("10.1.2.130"), Some(4));
        assert_eq!(l("10.1.2.129"), Some(5));
        assert_eq!(Lpm::default().lookup(1), None);
    }

    #[test]
    fn huge_page_advice_keeps_the_table_intact() {
        // 40,000 /24s in distinct /16s: 40,000 chunks, 40 MiB, enough for the advice to run.
        let routes: Vec<(Ipv4Net, u32)> =
            (0..40_000u32).map(|i| (Ipv4Net::new(Ipv4Addr::from((i + 256) << 16 | 0x0100), 24).unwrap(), i)).collect();
        let t = Lpm::build(routes.iter().copied());
        assert!(t.memory_bytes() > 4 << 20);
        for (p, v) in routes.iter().step_by(97) {
            assert_eq!(t.lookup(u32::from(p.network()) + 7), Some(*v));
            assert_eq!(t.lookup(u32::from(p.network()) + 256), None);
        }
    }

    #[test]
    fn matches_prefix_trie_on_random_tables() {
        let mut rng = SmallRng::seed_from_u64(7);
        for round in 0..20 {
            let mut routes = Vec::new();
            let mut oracle: PrefixMap<Ipv4Net, u32> = PrefixMap::new();
            for v in 0..2000u32 {
                // Cluster addresses so prefixes nest often.
                let a: u32 = (rng.random::<u32>() & 0x0fff_ffff) | 0x2000_0000;
                let len = [8u8, 12, 16, 19, 22, 24, 24, 24, 27, 32][rng.random_range(0..10)];
                let p = Ipv4Net::new(Ipv4Addr::from(a), len).unwrap().trunc();
                routes.push((p, v));
                oracle.insert(p, v);
            }
            let t = Lpm::build(routes.iter().copied());
            let batch: [u32; 8] = std::array::from_fn(|_| (rng.random::<u32>() & 0x0fff_ffff) | 0x2000_0000);
            assert_eq!(t.lookup_batch(&batch), batch.map(|a| t.lookup(a)));
            for _ in 0..20_000 {
                let a: u32 = (rng.random::<u32>() & 0x0fff_ffff) | 0x2000_0000;
                let want = oracle.get_lpm(&Ipv4Net::new(Ipv4Addr::from(a), 32).unwrap()).map(|(_, v)| *v);
                assert_eq!(t.lookup(a), want, "round {round} address {}", Ipv4Addr::from(a));
            }
        }
    }
}
