//! Capacity planning: Erlang B, calls to bandwidth, the smallest tier, and a redundant pair of
//! sites (reference/capacity-planning.md).

use serde::Serialize;
use xconnect_interconnect::{Location, Tier};
use xconnect_trafgen::{BandwidthLayer, Codec};

/// Headroom over the calls' RTP rate when choosing a tier: RTCP may take 5 % of the session
/// bandwidth (RFC 3550 §6.2), and another 5 % is kept for SIP signalling and short bursts.
pub const HEADROOM_PCT: f64 = 10.0;

/// Erlang B blocking probability for `erlangs` of traffic on `trunks` trunks, by the stable
/// recursion B(E, 0) = 1, B(E, m) = E·B(E, m−1) / (m + E·B(E, m−1)).
pub fn erlang_b(erlangs: f64, trunks: u64) -> f64 {
    let mut b = 1.0;
    for m in 1..=trunks {
        b = erlangs * b / (m as f64 + erlangs * b);
    }
    b
}

/// The fewest trunks (concurrent calls) with blocking at or under `blocking`.
pub fn trunks_for(erlangs: f64, blocking: f64) -> u64 {
    let mut b = 1.0;
    let mut m = 0u64;
    while b > blocking {
        m += 1;
        b = erlangs * b / (m as f64 + erlangs * b);
    }
    m
}

/// The customer's port: a gigabit fiber (its preamble and inter-frame gap count on it, not in
/// the policer).
pub const PORT_BPS: u64 = 1_000_000_000;

/// What a tier on a port carries, by the codec catalog's arithmetic. `capacity`, `plan`, the
/// scenario checks and the verdict all use this one rule, so they agree on calls per tier.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Carried {
    /// Calls the tier's policer passes: Ethernet frames with FCS at the tier's rate.
    pub tier: u64,
    /// Calls the customer's port carries: wire bytes (frame, preamble and gap) at its rate.
    pub port: u64,
}

impl Carried {
    /// The arithmetic for `tier_bps` behind a `port_bps` port.
    pub fn of(tier_bps: u64, port_bps: u64, codec: Codec, ptime_ms: u32, vlan: bool) -> Carried {
        Carried {
            tier: codec.calls_per_rate(tier_bps, ptime_ms, BandwidthLayer::Frame, vlan),
            port: codec.calls_per_rate(port_bps, ptime_ms, BandwidthLayer::Wire, vlan),
        }
    }

    /// The fewer of the two: what binds.
    pub fn calls(self) -> u64 {
        self.tier.min(self.port)
    }
}

/// Calls a tier carries behind the customer's gigabit port ([`Carried::calls`]).
pub fn carried_calls(tier: Tier, codec: Codec, ptime_ms: u32, vlan: bool) -> u64 {
    Carried::of(tier.rate_bps(), PORT_BPS, codec, ptime_ms, vlan).calls()
}

/// Where a customer's users are: a location, or a region that names several.
pub fn parse_locations(list: &str) -> Result<Vec<Location>, String> {
    let mut out = Vec::new();
    for item in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let these: Vec<Location> = match item.to_ascii_lowercase().as_str() {
            "us" | "usa" | "north-america" | "americas" => vec![Location::Ashburn, Location::SanJose],
            "europe" | "eu" | "emea" => vec![Location::London],
            "asia" | "apac" => vec![Location::Singapore],
            "any" | "all" => Location::ALL.to_vec(),
            other => vec![other.parse::<Location>().map_err(|_| {
                format!(
                    "{item:?}: expected a location (ashburn, san-jose, london, singapore) or a region (us, europe, asia, any)"
                )
            })?],
        };
        for l in these {
            if !out.contains(&l) {
                out.push(l);
            }
        }
    }
    if out.is_empty() {
        return Err("no location given: name at least one location or region".into());
    }
    Ok(out)
}

/// One site of a plan.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct PlanSite {
    /// Location.
    pub location: String,
    /// Tier bought there, bit/s.
    pub tier_bps: u64,
    /// Calls the tier carries ([`carried_calls`]).
    pub tier_calls: u64,
}

/// One way to buy the cross-connects: a site per location, each with the smallest tier it
/// sells that carries its share with the headroom when another site has failed.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct PlanOption {
    /// The sites.
    pub sites: Vec<PlanSite>,
    /// Bandwidth bought over all sites, bit/s (what the options are ranked by).
    pub total_bps: u64,
}

/// The plan (`plan --json`).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Plan {
    /// Offered traffic, when given.
    pub erlangs: Option<f64>,
    /// Blocking target, when traffic was given.
    pub blocking: Option<f64>,
    /// Concurrent calls to carry.
    pub calls: u64,
    /// Codec.
    pub codec: String,
    /// Packet time, ms.
    pub ptime_ms: u32,
    /// One call, one direction, as Ethernet frames with FCS (what the tier's policer counts).
    pub bps_per_call: f64,
    /// calls × bps_per_call, per direction.
    pub bps_per_direction: f64,
    /// Headroom applied, percent.
    pub headroom_pct: f64,
    /// Sites asked for.
    pub sites_wanted: usize,
    /// Calls each site must carry: all of them over `sites_wanted - 1` surviving sites.
    pub calls_per_site: u64,
    /// Locations acceptable for the customer's users.
    pub acceptable_locations: Vec<String>,
    /// The recommended option's largest tier, bit/s (`null` when nothing carries the load).
    pub tier_bps: Option<u64>,
    /// Every location that sells that tier.
    pub locations_offering: Vec<String>,
    /// The recommended sites (the first option).
    pub sites: Vec<PlanSite>,
    /// Every option that carries the load, least bandwidth bought first.
    pub options: Vec<PlanOption>,
    /// What to know.
    pub notes: Vec<String>,
}

/// Plans `calls` concurrent calls over `sites` sites at the `acceptable` locations, each
/// site able to carry its share when one other site has failed. `sites` is at least 1 (the
/// caller refuses 0).
pub fn plan(
    calls: u64,
    erlangs: Option<(f64, f64)>,
    codec: Codec,
    ptime_ms: u32,
    sites: usize,
    acceptable: &[Location],
) -> Plan {
    let bps = codec.stream_bps(ptime_ms, BandwidthLayer::Frame, false);
    let sites = sites.max(1);
    let survivors = (sites as u64 - 1).max(1);
    let per_site = calls.div_ceil(survivors);
    // The smallest tier a location sells that carries `per_site` calls with the headroom.
    let tier_at = |l: Location| {
        Tier::ALL.into_iter().filter(|t| l.offers(*t)).find(|t| {
            carried_calls(*t, codec, ptime_ms, false) as f64 >= per_site as f64 * (1.0 + HEADROOM_PCT / 100.0)
        })
    };
    let site = |l: Location, t: Tier| PlanSite {
        location: l.to_string(),
        tier_bps: t.rate_bps(),
        tier_calls: carried_calls(t, codec, ptime_ms, false),
    };
    let usable: Vec<(Location, Tier)> = acceptable.iter().filter_map(|&l| tier_at(l).map(|t| (l, t))).collect();
    let mut choices = combinations(usable.len(), sites);
    // Least bandwidth bought first; ties in the locations' catalog order.
    choices.sort_by_cached_key(|c| (c.iter().map(|&i| usable[i].1.rate_bps()).sum::<u64>(), c.clone()));
    let options: Vec<PlanOption> = choices
        .into_iter()
        .map(|c| {
            let chosen: Vec<PlanSite> = c.iter().map(|&i| site(usable[i].0, usable[i].1)).collect();
            PlanOption { total_bps: chosen.iter().map(|s| s.tier_bps).sum(), sites: chosen }
        })
        .collect();
    let mut notes = Vec::new();
    if sites == 1 {
        notes.push(
            "one site is a single point of failure: the provider recommends two geographically separate locations"
                .into(),
        );
    }
    if options.is_empty() {
        if acceptable.len() < sites {
            notes.push(format!(
                "{sites} sites need {sites} different locations, and only {} are acceptable ({})",
                acceptable.len(),
                names(acceptable).join(", ")
            ));
        } else {
            notes.push(format!(
                "no tier sold at {} carries {per_site} calls per site ({:.1} Mbit/s with {HEADROOM_PCT} % headroom): \
                 split the calls over more sites (--sites) or more cross-connects",
                names(acceptable).join(", "),
                per_site as f64 * bps * (1.0 + HEADROOM_PCT / 100.0) / 1e6
            ));
        }
    }
    let best = options.first().cloned();
    let tier = best.as_ref().and_then(|o| o.sites.iter().map(|s| s.tier_bps).max());
    if best.as_ref().is_some_and(|o| o.sites.iter().any(|s| s.tier_bps == Tier::M500.rate_bps())) {
        notes.push("500 Mbps is sold only in London and Singapore; elsewhere the next tier is 1 Gbps".into());
    }
    Plan {
        erlangs: erlangs.map(|e| e.0),
        blocking: erlangs.map(|e| e.1),
        calls,
        codec: codec.to_string(),
        ptime_ms,
        bps_per_call: bps,
        bps_per_direction: calls as f64 * bps,
        headroom_pct: HEADROOM_PCT,
        sites_wanted: sites,
        calls_per_site: per_site,
        acceptable_locations: names(acceptable),
        tier_bps: tier,
        locations_offering: tier
            .and_then(|t| Tier::ALL.into_iter().find(|x| x.rate_bps() == t))
            .map(|t| Location::ALL.into_iter().filter(|l| l.offers(t)).map(|l| l.to_string()).collect())
            .unwrap_or_default(),
        sites: best.map(|o| o.sites).unwrap_or_default(),
        options,
        notes,
    }
}

fn names(ls: &[Location]) -> Vec<String> {
    ls.iter().map(|l| l.to_string()).collect()
}

/// Every `k`-subset of `0..n` as a list of indices (n is at most the four locations).
fn combinations(n: usize, k: usize) -> Vec<Vec<usize>> {
    (0u32..1 << n)
        .filter(|m| m.count_ones() as usize == k)
        .map(|m| (0..n).filter(|i| m & (1 << i) != 0).collect())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn erlang_b_published_values() {
        // reference/capacity-planning.md: 10 Erl at 1 % -> 18 trunks; 100 Erl at 1 % -> 117.
        assert_eq!(trunks_for(10.0, 0.01), 18);
        assert_eq!(trunks_for(100.0, 0.01), 117);
        // And the blocking itself: B(10, 18) just under 1 %, B(10, 17) above.
        assert!(erlang_b(10.0, 18) <= 0.01 && erlang_b(10.0, 17) > 0.01);
        assert_eq!(erlang_b(5.0, 0), 1.0);
    }

    fn locations(p: &Plan) -> Vec<&str> {
        p.sites.iter().map(|s| s.location.as_str()).collect()
    }

    #[test]
    fn smallest_tier_with_headroom_and_a_redundant_pair() {
        // 1000 G.711 calls: 87.2 Mbit/s, 95.9 with 10 % headroom: 100 Mbps, Ashburn + San Jose.
        let p = plan(1000, None, Codec::G711U, 20, 2, &Location::ALL);
        assert_eq!(p.tier_bps, Some(100_000_000));
        assert_eq!(locations(&p), ["ashburn", "san-jose"]);
        // 1100 calls need 105.5 Mbit/s with headroom: 500 Mbps in London and Singapore buys the
        // least, and the US pair at 1 Gbps is offered beside it.
        let p = plan(1100, None, Codec::G711U, 20, 2, &Location::ALL);
        assert_eq!(p.tier_bps, Some(500_000_000));
        assert_eq!(locations(&p), ["london", "singapore"]);
        assert!(p.options.iter().any(|o| o.sites.iter().all(|s| s.tier_bps == 1_000_000_000)
            && o.sites.iter().map(|s| s.location.as_str()).collect::<Vec<_>>() == ["ashburn", "san-jose"]));
        // A customer whose users are in the US gets the US pair.
        let p = plan(1100, None, Codec::G711U, 20, 2, &parse_locations("us").unwrap());
        assert_eq!((p.tier_bps, locations(&p)), (Some(1_000_000_000), vec!["ashburn", "san-jose"]));
        let p = plan(100, None, Codec::G711U, 20, 1, &Location::ALL);
        assert!(p.notes[0].contains("single point of failure"));
        let p = plan(20_000, None, Codec::G711U, 20, 2, &Location::ALL);
        assert_eq!(p.tier_bps, None);
        assert!(p.notes[0].contains("split the calls"), "{:?}", p.notes);
    }

    #[test]
    fn three_sites_share_the_load_of_a_failed_one() {
        // Three sites: when one fails the other two carry 1100 calls, 550 each: 100 Mbps will do.
        let p = plan(1100, None, Codec::G711U, 20, 3, &Location::ALL);
        assert_eq!(p.sites.len(), 3);
        assert_eq!(p.calls_per_site, 550);
        assert!(p.sites.iter().all(|s| s.tier_bps == 100_000_000 && s.tier_calls >= 550));
        // Only two locations acceptable: three sites cannot be geographically separate.
        let p = plan(1100, None, Codec::G711U, 20, 3, &parse_locations("us").unwrap());
        assert!(p.sites.is_empty() && p.notes[0].contains("3 sites need 3 different locations"), "{:?}", p.notes);
        assert!(parse_locations("mars").is_err());
    }

    #[test]
    fn calls_per_tier_agree_with_the_port() {
        // 1G: the policer would pass 11467 G.711 calls, the gigabit fiber carries 10504.
        assert_eq!(carried_calls(Tier::G1, Codec::G711U, 20, false), 10_504);
        assert_eq!(carried_calls(Tier::M100, Codec::G711U, 20, false), 1146);
    }
}
