//! Locations and tiers.

use core::fmt;
use core::str::FromStr;

use serde::Serialize;

/// The largest frame the policer must pass whole: 1500-byte payload + 14 Ethernet header +
/// 4 for an 802.1Q tag + 4 FCS (IEEE 802.3 clause 3.2.7, "1522 octets").
pub const MAX_FRAME_BYTES: u64 = 1522;

/// The provider's media and signalling ranges that a customer reaches over the cross-connect
/// (the prefixes its edge announces): what a capture's frames are classified against when no
/// prefix is given.
pub const PROVIDER_PREFIXES: &[&str] = &["168.86.128.0/18"];

/// The default burst is the tier's rate over this interval: 10 ms. Vendor guidance sizes a
/// policer's burst to "the rate times a short interval, about 10 ms" (e.g. 125 KB at
/// 100 Mbps; reference/token-bucket.md, "Burst size guidance"), and never below the largest
/// frame. 10 ms also covers one whole round of synchronized 20 ms G.711 calls up to half the
/// tier's rate, which is the burst pattern that hurts voice (same reference).
pub const DEFAULT_BURST_INTERVAL_NS: u64 = 10_000_000;

/// A bandwidth tier the provider sells.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub enum Tier {
    /// 10 Mbit/s.
    M10,
    /// 100 Mbit/s.
    M100,
    /// 500 Mbit/s (London and Singapore only).
    M500,
    /// 1 Gbit/s.
    G1,
}

impl Tier {
    /// Every tier, smallest first.
    pub const ALL: [Tier; 4] = [Tier::M10, Tier::M100, Tier::M500, Tier::G1];

    /// The committed rate the edge enforces, bit/s.
    pub const fn rate_bps(self) -> u64 {
        match self {
            Tier::M10 => 10_000_000,
            Tier::M100 => 100_000_000,
            Tier::M500 => 500_000_000,
            Tier::G1 => 1_000_000_000,
        }
    }

    /// The default policer burst in bytes: [`DEFAULT_BURST_INTERVAL_NS`] at the rate, and at
    /// least [`MAX_FRAME_BYTES`]. 10 Mbit/s → 12,500 B; 100 → 125,000; 500 → 625,000;
    /// 1 Gbit/s → 1,250,000.
    pub const fn default_burst_bytes(self) -> u64 {
        let b = self.rate_bps() / 8 * DEFAULT_BURST_INTERVAL_NS / 1_000_000_000;
        if b < MAX_FRAME_BYTES {
            MAX_FRAME_BYTES
        } else {
            b
        }
    }

    /// "10M", "100M", "500M" or "1G".
    pub const fn name(self) -> &'static str {
        match self {
            Tier::M10 => "10M",
            Tier::M100 => "100M",
            Tier::M500 => "500M",
            Tier::G1 => "1G",
        }
    }
}

impl fmt::Display for Tier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A tier name that is not sold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TierError(pub String);

impl fmt::Display for TierError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "no such tier {:?}: the tiers are 10M, 100M, 500M and 1G (10, 100, 500 and 1000 Mbps)", self.0)
    }
}

impl std::error::Error for TierError {}

impl FromStr for Tier {
    type Err = TierError;
    fn from_str(s: &str) -> Result<Tier, TierError> {
        match s.trim().to_ascii_lowercase().as_str() {
            "10m" | "10mbps" | "10" => Ok(Tier::M10),
            "100m" | "100mbps" | "100" => Ok(Tier::M100),
            "500m" | "500mbps" | "500" => Ok(Tier::M500),
            "1g" | "1gbps" | "1000m" | "1000mbps" | "1000" => Ok(Tier::G1),
            _ => Err(TierError(s.to_string())),
        }
    }
}

/// A location where the provider sells cross-connects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub enum Location {
    /// Ashburn, Virginia (US East).
    Ashburn,
    /// San Jose, California (US West).
    SanJose,
    /// London.
    London,
    /// Singapore.
    Singapore,
}

impl Location {
    /// Every location.
    pub const ALL: [Location; 4] = [Location::Ashburn, Location::SanJose, Location::London, Location::Singapore];

    /// The data centers of the location's meet-me rooms.
    pub const fn data_centers(self) -> &'static [&'static str] {
        match self {
            Location::Ashburn => &[
                "Equinix DC1",
                "Equinix DC2",
                "Equinix DC3",
                "Equinix DC4",
                "Equinix DC5",
                "Equinix DC6",
                "Equinix DC10",
                "Equinix DC11",
            ],
            Location::SanJose => &["Equinix SV1", "Equinix SV5"],
            Location::London => &["London"],
            Location::Singapore => &["Equinix SG3"],
        }
    }

    /// Whether the tier is sold here: 500 Mbps only in London and Singapore.
    pub const fn offers(self, tier: Tier) -> bool {
        match tier {
            Tier::M500 => matches!(self, Location::London | Location::Singapore),
            _ => true,
        }
    }
}

impl Location {
    /// "ashburn", "san-jose", "london" or "singapore".
    pub const fn name(self) -> &'static str {
        match self {
            Location::Ashburn => "ashburn",
            Location::SanJose => "san-jose",
            Location::London => "london",
            Location::Singapore => "singapore",
        }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Location {
    type Err = String;
    fn from_str(s: &str) -> Result<Location, String> {
        match s.trim().to_ascii_lowercase().replace([' ', '_'], "-").as_str() {
            "ashburn" => Ok(Location::Ashburn),
            "san-jose" | "sanjose" => Ok(Location::SanJose),
            "london" => Ok(Location::London),
            "singapore" => Ok(Location::Singapore),
            _ => Err(format!("unknown location {s:?}: the locations are ashburn, san-jose, london and singapore")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_bursts() {
        let b: Vec<u64> = Tier::ALL.iter().map(|t| t.default_burst_bytes()).collect();
        assert_eq!(b, [12_500, 125_000, 625_000, 1_250_000]);
    }

    #[test]
    fn five_hundred_only_in_london_and_singapore() {
        let offering: Vec<Location> = Location::ALL.into_iter().filter(|l| l.offers(Tier::M500)).collect();
        assert_eq!(offering, [Location::London, Location::Singapore]);
        assert!(Location::ALL.iter().all(|l| l.offers(Tier::M10) && l.offers(Tier::M100) && l.offers(Tier::G1)));
    }

    #[test]
    fn data_centers_of_the_guide() {
        assert_eq!(Location::Ashburn.data_centers().len(), 8);
        assert!(Location::Ashburn.data_centers().contains(&"Equinix DC11"));
        assert_eq!(Location::SanJose.data_centers(), ["Equinix SV1", "Equinix SV5"]);
        assert_eq!(Location::Singapore.data_centers(), ["Equinix SG3"]);
    }

    #[test]
    fn parse_tiers() {
        assert_eq!("100M".parse::<Tier>(), Ok(Tier::M100));
        assert_eq!("1g".parse::<Tier>(), Ok(Tier::G1));
        let e = "200M".parse::<Tier>().unwrap_err();
        assert!(e.to_string().contains("10M, 100M, 500M and 1G"), "{e}");
    }
}
