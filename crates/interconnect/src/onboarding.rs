//! Steps 2-4 of the provider's onboarding as a sans-IO state machine: the cross-connect is
//! ordered with the provider's Letter of Authorization (LOA), the physical link comes up, the
//! provider hands out point-to-point addresses (and a private ASN to a customer without one),
//! and BGP comes up over the link.
//!
//! The pools never hand out the same /30 (or /31) or the same ASN twice within a run.

use std::net::Ipv4Addr;

use ipnet::Ipv4Net;
use serde::Serialize;

use crate::Location;

/// Point-to-point subnets from a configurable pool.
#[derive(Debug, Clone)]
pub struct P2pPool {
    pool: Ipv4Net,
    len: u8,
    next: u64,
}

/// One point-to-point link's addresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct P2pLink {
    /// The subnet.
    pub subnet: Ipv4Net,
    /// The provider's address (first usable).
    pub provider: Ipv4Addr,
    /// The customer's address.
    pub customer: Ipv4Addr,
}

impl P2pPool {
    /// A pool of /`len` (30 or 31) subnets inside `pool`.
    pub fn new(pool: Ipv4Net, len: u8) -> Result<Self, String> {
        if len != 30 && len != 31 {
            return Err(format!("point-to-point subnets are /30 or /31, not /{len}"));
        }
        if pool.prefix_len() > len {
            return Err(format!("pool {pool} is smaller than one /{len}"));
        }
        Ok(P2pPool { pool: pool.trunc(), len, next: 0 })
    }

    /// The next unused subnet, or `None` when the pool is exhausted.
    pub fn allocate(&mut self) -> Option<P2pLink> {
        let count = 1u64 << (self.len - self.pool.prefix_len());
        if self.next >= count {
            return None;
        }
        let base = u32::from(self.pool.network()) + (self.next as u32) * (1u32 << (32 - self.len));
        self.next += 1;
        let subnet = Ipv4Net::new(Ipv4Addr::from(base), self.len).expect("len <= 32");
        // A /31 uses both addresses (RFC 3021); a /30 skips the network and broadcast ones.
        let first = if self.len == 31 { base } else { base + 1 };
        Some(P2pLink { subnet, provider: Ipv4Addr::from(first), customer: Ipv4Addr::from(first + 1) })
    }
}

/// Private ASNs for customers without one, from the provider's range (65000 up to 65534).
#[derive(Debug, Clone)]
pub struct AsnPool {
    next: u32,
}

impl Default for AsnPool {
    fn default() -> Self {
        AsnPool { next: 65000 }
    }
}

impl AsnPool {
    /// The next unused private ASN, or `None` when the range is used up.
    pub fn allocate(&mut self) -> Option<u32> {
        (self.next <= 65534).then(|| {
            self.next += 1;
            self.next - 1
        })
    }
}

/// What the provider hands out to one customer's sites: point-to-point subnets, and one private
/// ASN for all of them when the customer has none.
#[derive(Debug, Clone)]
pub struct Provisioning {
    p2p: P2pPool,
    asns: AsnPool,
    assigned_asn: Option<u32>,
}

impl Provisioning {
    /// Subnets from `p2p`, private ASNs from the provider's range.
    pub fn new(p2p: P2pPool) -> Self {
        Provisioning { p2p, asns: AsnPool::default(), assigned_asn: None }
    }

    /// The customer's private ASN: assigned on first use, the same at every site after.
    fn private_asn(&mut self) -> Result<u32, String> {
        if let Some(a) = self.assigned_asn {
            return Ok(a);
        }
        let a = self.asns.allocate().ok_or("the private ASN range is used up")?;
        self.assigned_asn = Some(a);
        Ok(a)
    }
}

/// The Letter of Authorization the provider issues for one cross-connect.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Loa {
    /// The site's name in the plan.
    pub site: String,
    /// Data center of the meet-me room.
    pub data_center: String,
    /// The provider's cage.
    pub cage: String,
    /// Patch panel.
    pub panel: String,
    /// Port on the panel.
    pub port: u32,
}

/// Onboarding states.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Stage {
    /// Request accepted.
    Requested,
    /// LOA issued; the customer orders the cross-connect.
    LoaIssued,
    /// The fiber is up.
    LinkUp,
    /// Point-to-point addresses (and ASN) assigned.
    Addressed,
    /// BGP established over the link.
    BgpEstablished,
}

/// Events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnboardingEvent {
    /// The customer orders the cross-connect (with the provider's LOA).
    Order,
    /// The data center reports the physical link up.
    LinkUp,
    /// The BGP session reached Established.
    BgpEstablished,
}

/// One site's onboarding.
#[derive(Debug, Clone, Serialize)]
pub struct Onboarding {
    /// Where it is.
    pub stage: Stage,
    /// The LOA, once issued.
    pub loa: Option<Loa>,
    /// The point-to-point link, once addressed.
    pub p2p: Option<P2pLink>,
    /// The customer's ASN on this link (its own, or the one assigned).
    pub customer_asn: Option<u32>,
    /// Whether the ASN was assigned by the provider.
    pub asn_assigned: bool,
    #[serde(skip)]
    site: String,
    #[serde(skip)]
    location: Location,
    #[serde(skip)]
    own_asn: Option<u32>,
    #[serde(skip)]
    index: u32,
}

impl Onboarding {
    /// A new request for `site` at `location`; `index` numbers the provider's ports.
    pub fn new(site: &str, location: Location, own_asn: Option<u32>, index: u32) -> Self {
        Onboarding {
            stage: Stage::Requested,
            loa: None,
            p2p: None,
            customer_asn: None,
            asn_assigned: false,
            site: site.to_string(),
            location,
            own_asn,
            index,
        }
    }

    /// Applies an event; addresses and a private ASN come from `prov` (shared by the customer's
    /// sites).
    pub fn handle(&mut self, ev: OnboardingEvent, prov: &mut Provisioning) -> Result<Stage, String> {
        match (self.stage, ev) {
            (Stage::Requested, OnboardingEvent::Order) => {
                let dcs = self.location.data_centers();
                self.loa = Some(Loa {
                    site: self.site.clone(),
                    data_center: dcs[self.index as usize % dcs.len()].to_string(),
                    cage: format!("{}-C{:02}", self.location.name().to_ascii_uppercase(), 1 + self.index / 48),
                    panel: format!("PP{:02}", 1 + self.index / 24),
                    port: 1 + self.index % 24,
                });
                self.stage = Stage::LoaIssued;
            }
            (Stage::LoaIssued, OnboardingEvent::LinkUp) => {
                self.p2p = Some(prov.p2p.allocate().ok_or("the point-to-point pool is exhausted")?);
                self.customer_asn = Some(match self.own_asn {
                    Some(a) => a,
                    None => {
                        self.asn_assigned = true;
                        prov.private_asn()?
                    }
                });
                self.stage = Stage::Addressed;
            }
            (Stage::Addressed, OnboardingEvent::BgpEstablished) => self.stage = Stage::BgpEstablished,
            (Stage::BgpEstablished, OnboardingEvent::BgpEstablished) => {}
            (s, e) => return Err(format!("onboarding of {}: {e:?} is not expected in {s:?}", self.site)),
        }
        Ok(self.stage)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn pools_never_repeat_and_run_out_cleanly() {
        let mut p = P2pPool::new("169.254.200.0/28".parse().unwrap(), 30).unwrap();
        let mut seen = HashSet::new();
        while let Some(l) = p.allocate() {
            assert!(seen.insert(l.subnet));
            assert!(l.subnet.contains(&l.provider) && l.subnet.contains(&l.customer));
            assert_ne!(l.provider, l.subnet.network());
            assert_ne!(l.customer, l.subnet.broadcast());
        }
        assert_eq!(seen.len(), 4);
        let mut p = P2pPool::new("169.254.200.0/30".parse().unwrap(), 31).unwrap();
        let a = p.allocate().unwrap();
        assert_eq!((a.provider.to_string(), a.customer.to_string()), ("169.254.200.0".into(), "169.254.200.1".into()));
        assert_eq!(p.allocate().unwrap().provider.to_string(), "169.254.200.2");
        assert!(p.allocate().is_none());
        assert!(P2pPool::new("169.254.200.0/24".parse().unwrap(), 29).is_err());
        let mut asns = AsnPool::default();
        let all: Vec<u32> = std::iter::from_fn(|| asns.allocate()).collect();
        assert_eq!(all.len(), 535);
        assert_eq!((all[0], *all.last().unwrap()), (65000, 65534));
    }

    #[test]
    fn the_four_steps_in_order() {
        let mut prov = Provisioning::new(P2pPool::new("169.254.200.0/24".parse().unwrap(), 30).unwrap());
        let mut a = Onboarding::new("ashburn", Location::Ashburn, None, 0);
        let mut b = Onboarding::new("san-jose", Location::SanJose, None, 1);
        assert!(a.handle(OnboardingEvent::LinkUp, &mut prov).is_err());
        for o in [&mut a, &mut b] {
            o.handle(OnboardingEvent::Order, &mut prov).unwrap();
            o.handle(OnboardingEvent::LinkUp, &mut prov).unwrap();
            assert_eq!(o.handle(OnboardingEvent::BgpEstablished, &mut prov), Ok(Stage::BgpEstablished));
        }
        assert_eq!(a.loa.as_ref().unwrap().data_center, "Equinix DC1");
        assert_ne!(a.p2p.unwrap().subnet, b.p2p.unwrap().subnet);
        // One customer, one assigned ASN at both sites.
        assert_eq!((a.customer_asn, b.customer_asn), (Some(65000), Some(65000)));
        assert!(a.asn_assigned);
        let mut c = Onboarding::new("london", Location::London, Some(3356), 2);
        c.handle(OnboardingEvent::Order, &mut prov).unwrap();
        c.handle(OnboardingEvent::LinkUp, &mut prov).unwrap();
        assert_eq!((c.customer_asn, c.asn_assigned), (Some(3356), false));
    }
}
