//! The RIB: every accepted route per prefix from every session, the best one chosen by RFC 4271
//! §9.1.2.2 (without IGP cost: all next hops are directly connected across the cross-connect),
//! and the forwarding table ([`Lpm`]) of the best routes.
//!
//! ECMP is off: one best path per prefix. Ties after the RFC's steps break on the lower BGP
//! identifier, then on the lower session id (sessions are numbered in configuration order, so
//! the first-listed site wins a full tie).

use std::cmp::Ordering;
use std::collections::hash_map::Entry;
use std::collections::{HashMap, HashSet};
use std::net::Ipv4Addr;
use std::sync::Arc;

use ipnet::Ipv4Net;
use smallvec::SmallVec;

use crate::lpm::Lpm;
use crate::wire::{Origin, PathAttributes};

/// Prefixes in no order, hashed with a per-process random seed (a peer choosing its prefixes
/// cannot make them collide): a full table is a million of them, and an ordered map costs
/// several cache misses per lookup where this costs one.
pub type PrefixSet = HashSet<Ipv4Net, foldhash::fast::RandomState>;

/// A map by prefix, like [`PrefixSet`].
pub type PrefixMap<V> = HashMap<Ipv4Net, V, foldhash::fast::RandomState>;

/// A route learned over a session (16 bytes: a full table holds millions; the peer's BGP
/// identifier, the same for every route of a session, is kept per session by the [`Rib`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// The session it came from.
    pub session: u32,
    /// Learned over eBGP.
    pub ebgp: bool,
    /// Its attributes (shared by every prefix of one UPDATE).
    pub attrs: Arc<PathAttributes>,
}

/// A change of best route for a prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BestChange {
    /// The prefix.
    pub prefix: Ipv4Net,
    /// Session of the old best route.
    pub old: Option<u32>,
    /// Session of the new best route (None: unreachable now).
    pub new: Option<u32>,
}

/// Routes by prefix, best first.
#[derive(Debug, Default, Clone)]
pub struct Rib {
    /// Most prefixes have one route: it lives in the map's node, not behind a pointer.
    routes: PrefixMap<SmallVec<[Route; 1]>>,
    /// Each session's peer BGP identifier (for the last tie-break), by session.
    router_ids: Vec<Ipv4Addr>,
}

/// RFC 4271 §9.1.2.2 order: `Less` means `a` is better. `router_id` gives a session's peer
/// BGP identifier.
pub fn compare(a: &Route, b: &Route, router_id: impl Fn(u32) -> Ipv4Addr) -> Ordering {
    let lp = |r: &Route| r.attrs.local_pref.unwrap_or(100);
    let path_len = |r: &Route| r.attrs.as_path.as_ref().map_or(0, |p| p.len());
    let origin = |r: &Route| r.attrs.origin.unwrap_or(Origin::Incomplete);
    let neighbor = |r: &Route| r.attrs.as_path.as_ref().and_then(|p| p.first());
    lp(b)
        .cmp(&lp(a))
        .then_with(|| path_len(a).cmp(&path_len(b)))
        .then_with(|| origin(a).cmp(&origin(b)))
        .then_with(|| {
            // MED compares only between routes from the same neighbor AS (missing MED = 0).
            if neighbor(a) == neighbor(b) {
                a.attrs.med.unwrap_or(0).cmp(&b.attrs.med.unwrap_or(0))
            } else {
                Ordering::Equal
            }
        })
        .then_with(|| b.ebgp.cmp(&a.ebgp))
        .then_with(|| router_id(a.session).cmp(&router_id(b.session)))
        .then_with(|| a.session.cmp(&b.session))
}

impl Rib {
    /// An empty RIB.
    pub fn new() -> Self {
        Rib::default()
    }

    fn best_session(v: &[Route]) -> Option<u32> {
        v.first().map(|r| r.session)
    }

    /// Adds or replaces `route.session`'s route to `prefix`; `peer_router_id` is the session's
    /// peer's BGP identifier.
    pub fn announce(&mut self, prefix: Ipv4Net, route: Route, peer_router_id: Ipv4Addr) -> Option<BestChange> {
        let s = route.session as usize;
        if self.router_ids.len() <= s {
            self.router_ids.resize(s + 1, Ipv4Addr::UNSPECIFIED);
        }
        self.router_ids[s] = peer_router_id;
        let ids = &self.router_ids;
        let id = |session: u32| ids.get(session as usize).copied().unwrap_or(Ipv4Addr::UNSPECIFIED);
        let v = self.routes.entry(prefix).or_default();
        let old = Self::best_session(v);
        v.retain(|r| r.session != route.session);
        let at = v.partition_point(|r| compare(r, &route, id) == Ordering::Less);
        let changed_attrs = at == 0;
        v.insert(at, route);
        let new = Self::best_session(v);
        (old != new || changed_attrs).then_some(BestChange { prefix, old, new })
    }

    /// Removes `session`'s route to `prefix`.
    pub fn withdraw(&mut self, session: u32, prefix: Ipv4Net) -> Option<BestChange> {
        // One lookup: a full table withdrawn is a million of them.
        let Entry::Occupied(mut e) = self.routes.entry(prefix) else {
            return None;
        };
        let v = e.get_mut();
        let old = Self::best_session(v);
        let before = v.len();
        v.retain(|r| r.session != session);
        if v.len() == before {
            return None;
        }
        let new = Self::best_session(v);
        if v.is_empty() {
            e.remove();
        }
        (old != new).then_some(BestChange { prefix, old, new })
    }

    /// Brings the table's entries for `prefixes` into the cache before they are changed one by
    /// one: these lookups do not wait for each other, so their cache misses overlap, where the
    /// changes would take them one after the other (a full table does not fit in the cache;
    /// an UPDATE's entries do).
    pub fn prefetch(&self, prefixes: impl Iterator<Item = Ipv4Net>) {
        for p in prefixes {
            std::hint::black_box(self.routes.contains_key(&p));
        }
    }

    /// The best route to exactly `prefix`.
    pub fn best(&self, prefix: Ipv4Net) -> Option<&Route> {
        self.routes.get(&prefix).and_then(|v| v.first())
    }

    /// The longest prefix holding `addr`, with its best route (for a control plane's few
    /// lookups; forwarding many frames uses [`Rib::fib`]).
    pub fn lookup(&self, addr: Ipv4Addr) -> Option<(Ipv4Net, &Route)> {
        (0..=32u8).rev().find_map(|len| {
            let p = Ipv4Net::new(addr, len).expect("len <= 32").trunc();
            self.best(p).map(|r| (p, r))
        })
    }

    /// Every prefix with its best route, in prefix order.
    pub fn best_routes(&self) -> impl Iterator<Item = (Ipv4Net, &Route)> {
        let mut best: Vec<(Ipv4Net, &Route)> =
            self.routes.iter().filter_map(|(p, v)| v.first().map(|r| (*p, r))).collect();
        best.sort_unstable_by_key(|(p, _)| *p);
        best.into_iter()
    }

    /// Gives back the memory of prefixes no longer held (after a bulk withdrawal).
    pub fn shrink_to_fit(&mut self) {
        self.routes.shrink_to_fit();
    }

    /// Number of prefixes.
    pub fn len(&self) -> usize {
        self.routes.len()
    }

    /// Whether the RIB is empty.
    pub fn is_empty(&self) -> bool {
        self.routes.is_empty()
    }

    /// The forwarding table: prefix → session of its best route.
    pub fn fib(&self) -> Lpm {
        Lpm::build(self.best_routes().map(|(p, r)| (p, r.session)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::AsPath;

    fn route(session: u32, lp: Option<u32>, path: Vec<u32>, med: Option<u32>, id: u8) -> (Route, Ipv4Addr) {
        let r = Route {
            session,
            ebgp: true,
            attrs: Arc::new(PathAttributes {
                origin: Some(Origin::Igp),
                as_path: Some(AsPath::sequence(path)),
                local_pref: lp,
                med,
                ..PathAttributes::default()
            }),
        };
        (r, Ipv4Addr::new(10, 0, 0, id))
    }

    fn announce(rib: &mut Rib, p: Ipv4Net, (r, id): (Route, Ipv4Addr)) -> Option<BestChange> {
        rib.announce(p, r, id)
    }

    #[test]
    fn best_path_steps_in_order() {
        let p: Ipv4Net = "45.64.0.0/22".parse().unwrap();
        // LOCAL_PREF beats a shorter path.
        let mut rib = Rib::new();
        announce(&mut rib, p, route(1, Some(100), vec![1], None, 1));
        assert_eq!(announce(&mut rib, p, route(2, Some(200), vec![1, 2, 3], None, 2)).unwrap().new, Some(2));
        // Shorter AS_PATH.
        let mut rib = Rib::new();
        announce(&mut rib, p, route(1, None, vec![1, 1, 1], None, 1));
        assert_eq!(announce(&mut rib, p, route(2, None, vec![1], None, 2)).unwrap().new, Some(2));
        // MED, same neighbor AS.
        let mut rib = Rib::new();
        announce(&mut rib, p, route(1, None, vec![7], Some(50), 1));
        assert_eq!(announce(&mut rib, p, route(2, None, vec![7], Some(10), 2)).unwrap().new, Some(2));
        // MED ignored across neighbor ASes: router id decides.
        let mut rib = Rib::new();
        announce(&mut rib, p, route(1, None, vec![7], Some(50), 1));
        assert_eq!(announce(&mut rib, p, route(2, None, vec![8], Some(10), 2)), None);
        assert_eq!(rib.best(p).unwrap().session, 1);
        // Full tie: lower session id.
        let mut rib = Rib::new();
        announce(&mut rib, p, route(2, None, vec![7], None, 1));
        assert_eq!(announce(&mut rib, p, route(1, None, vec![7], None, 1)).unwrap().new, Some(1));
    }

    #[test]
    fn session_loss_moves_best_path_and_fib() {
        let p: Ipv4Net = "45.64.0.0/22".parse().unwrap();
        let q: Ipv4Net = "45.64.8.0/24".parse().unwrap();
        let mut rib = Rib::new();
        announce(&mut rib, p, route(1, Some(200), vec![9], None, 1));
        announce(&mut rib, p, route(2, Some(100), vec![9], None, 2));
        announce(&mut rib, q, route(1, None, vec![9], None, 1));
        let a = u32::from(Ipv4Addr::new(45, 64, 1, 1));
        assert_eq!(rib.fib().lookup(a), Some(1));
        // Re-announcing a prefix replaces the route: still one per session and prefix.
        announce(&mut rib, q, route(1, None, vec![9, 9], None, 1));
        assert_eq!(rib.routes[&q].len(), 1);
        // Session 1 goes (its peer withdraws every route it had).
        let changes: Vec<BestChange> = [p, q].into_iter().filter_map(|x| rib.withdraw(1, x)).collect();
        assert_eq!(rib.withdraw(1, p), None, "nothing left to withdraw");
        assert_eq!(
            changes,
            vec![
                BestChange { prefix: p, old: Some(1), new: Some(2) },
                BestChange { prefix: q, old: Some(1), new: None }
            ]
        );
        let fib = rib.fib();
        assert_eq!(fib.lookup(a), Some(2));
        assert_eq!(rib.lookup(Ipv4Addr::new(45, 64, 1, 1)).map(|(p, r)| (p, r.session)), Some((p, 2)));
        assert_eq!(rib.lookup(Ipv4Addr::new(45, 64, 8, 1)), None);
        assert_eq!(fib.lookup(u32::from(Ipv4Addr::new(45, 64, 8, 1))), None);
        assert_eq!(rib.withdraw(2, p), Some(BestChange { prefix: p, old: Some(2), new: None }));
        assert!(rib.is_empty());
    }
}
