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

/// One site of a plan.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct PlanSite {
    /// Location.
    pub location: String,
    /// Tier bought there, bit/s.
    pub tier_bps: u64,
    /// Calls the tier carries at the frame layer.
    pub tier_calls: u64,
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
    /// The smallest tier with the headroom (per site: each site alone carries every call).
    pub tier_bps: Option<u64>,
    /// Every location that sells that tier.
    pub locations_offering: Vec<String>,
    /// The sites.
    pub sites: Vec<PlanSite>,
    /// What to know.
    pub notes: Vec<String>,
}

/// Plans `calls` concurrent calls over `sites` sites, each able to carry all of them alone.
pub fn plan(calls: u64, erlangs: Option<(f64, f64)>, codec: Codec, ptime_ms: u32, sites: usize) -> Plan {
    let bps = codec.stream_bps(ptime_ms, BandwidthLayer::Frame, false);
    let need = calls as f64 * bps * (1.0 + HEADROOM_PCT / 100.0);
    let tier = Tier::ALL.into_iter().find(|t| t.rate_bps() as f64 >= need);
    let mut notes = Vec::new();
    // Prefer the US pair, then London and Singapore (the only places selling 500 Mbps).
    let order = [Location::Ashburn, Location::SanJose, Location::London, Location::Singapore];
    let chosen: Vec<PlanSite> = match tier {
        Some(t) => order
            .into_iter()
            .filter(|l| l.offers(t))
            .take(sites)
            .map(|l| PlanSite {
                location: l.to_string(),
                tier_bps: t.rate_bps(),
                tier_calls: codec.calls_per_rate(t.rate_bps(), ptime_ms, BandwidthLayer::Frame, false),
            })
            .collect(),
        None => {
            notes.push(format!(
                "no single tier carries {:.1} Mbit/s with {HEADROOM_PCT} % headroom: split the calls over more cross-connects",
                need / 1e6
            ));
            Vec::new()
        }
    };
    if tier == Some(Tier::M500) {
        notes.push("500 Mbps is sold only in London and Singapore; elsewhere the next tier is 1 Gbps".into());
    }
    if sites < 2 {
        notes.push(
            "one site is a single point of failure: the provider recommends two geographically separate locations"
                .into(),
        );
    } else if chosen.len() < sites && tier.is_some() {
        notes.push(format!("only {} locations sell that tier", chosen.len()));
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
        tier_bps: tier.map(Tier::rate_bps),
        locations_offering: tier
            .map(|t| Location::ALL.into_iter().filter(|l| l.offers(t)).map(|l| l.to_string()).collect())
            .unwrap_or_default(),
        sites: chosen,
        notes,
    }
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

    #[test]
    fn smallest_tier_with_headroom_and_a_redundant_pair() {
        // 1000 G.711 calls: 87.2 Mbit/s, 95.9 with 10 % headroom: 100 Mbps, Ashburn + San Jose.
        let p = plan(1000, None, Codec::G711U, 20, 2);
        assert_eq!(p.tier_bps, Some(100_000_000));
        assert_eq!(p.sites.iter().map(|s| s.location.as_str()).collect::<Vec<_>>(), ["ashburn", "san-jose"]);
        // 1100 calls need 105.5 Mbit/s with headroom: 500 Mbps, sold only in London and Singapore.
        let p = plan(1100, None, Codec::G711U, 20, 2);
        assert_eq!(p.tier_bps, Some(500_000_000));
        assert_eq!(p.sites.iter().map(|s| s.location.as_str()).collect::<Vec<_>>(), ["london", "singapore"]);
        let p = plan(100, None, Codec::G711U, 20, 1);
        assert!(p.notes[0].contains("single point of failure"));
        let p = plan(20_000, None, Codec::G711U, 20, 2);
        assert_eq!(p.tier_bps, None);
    }
}
