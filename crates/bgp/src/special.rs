//! Address and AS-number registries a provider checks customer input against: the IPv4
//! special-purpose ranges (RFC 6890 and its updates) and the reserved, documentation and private
//! AS numbers (RFC 6996, 5398, 6793, 7300).

use std::fmt;
use std::net::Ipv4Addr;

use ipnet::Ipv4Net;

/// One IPv4 special-purpose block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SpecialRange {
    /// The block.
    pub net: Ipv4Net,
    /// What it is for ("private use", "shared address space", ...).
    pub name: &'static str,
    /// Where it is defined.
    pub rfc: &'static str,
}

impl fmt::Display for SpecialRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({}, {})", self.net, self.name, self.rfc)
    }
}

const fn net(a: u8, b: u8, c: u8, d: u8, len: u8) -> Ipv4Net {
    Ipv4Net::new_assert(Ipv4Addr::new(a, b, c, d), len)
}

/// The IPv4 blocks that are never globally routed customer space.
pub const SPECIAL_PURPOSE: [SpecialRange; 15] = [
    SpecialRange { net: net(0, 0, 0, 0, 8), name: "this network", rfc: "RFC 791" },
    SpecialRange { net: net(10, 0, 0, 0, 8), name: "private use", rfc: "RFC 1918" },
    SpecialRange { net: net(100, 64, 0, 0, 10), name: "shared address space (CGN)", rfc: "RFC 6598" },
    SpecialRange { net: net(127, 0, 0, 0, 8), name: "loopback", rfc: "RFC 1122" },
    SpecialRange { net: net(169, 254, 0, 0, 16), name: "link local", rfc: "RFC 3927" },
    SpecialRange { net: net(172, 16, 0, 0, 12), name: "private use", rfc: "RFC 1918" },
    SpecialRange { net: net(192, 0, 0, 0, 24), name: "IETF protocol assignments", rfc: "RFC 6890" },
    SpecialRange { net: net(192, 0, 2, 0, 24), name: "documentation (TEST-NET-1)", rfc: "RFC 5737" },
    SpecialRange { net: net(192, 88, 99, 0, 24), name: "6to4 relay anycast (deprecated)", rfc: "RFC 7526" },
    SpecialRange { net: net(192, 168, 0, 0, 16), name: "private use", rfc: "RFC 1918" },
    SpecialRange { net: net(198, 18, 0, 0, 15), name: "benchmarking", rfc: "RFC 2544" },
    SpecialRange { net: net(198, 51, 100, 0, 24), name: "documentation (TEST-NET-2)", rfc: "RFC 5737" },
    SpecialRange { net: net(203, 0, 113, 0, 24), name: "documentation (TEST-NET-3)", rfc: "RFC 5737" },
    SpecialRange { net: net(224, 0, 0, 0, 4), name: "multicast", rfc: "RFC 5771" },
    SpecialRange { net: net(240, 0, 0, 0, 4), name: "reserved (and limited broadcast)", rfc: "RFC 1112" },
];

/// The special-purpose block `prefix` falls in or covers, if any.
pub fn special_purpose(prefix: Ipv4Net) -> Option<&'static SpecialRange> {
    SPECIAL_PURPOSE.iter().find(|r| overlap(r.net, prefix))
}

/// Whether one of `a` and `b` holds the other: they agree on the bits of the shorter prefix
/// (checked for every prefix of a full table, so in integer arithmetic).
fn overlap(a: Ipv4Net, b: Ipv4Net) -> bool {
    let len = a.prefix_len().min(b.prefix_len());
    let mask = u32::MAX.checked_shl(32 - u32::from(len)).unwrap_or(0);
    (u32::from(a.addr()) ^ u32::from(b.addr())) & mask == 0
}

/// What an AS number is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AsnClass {
    /// 0, 65535, 4294967295 (RFC 7607, 7300) and AS_TRANS 23456 (RFC 6793): never a peer's ASN.
    Reserved,
    /// 64496-64511 and 65536-65551 (RFC 5398).
    Documentation,
    /// 64512-65534 and 4200000000-4294967294 (RFC 6996).
    Private,
    /// Anything else: a globally unique ASN.
    Public,
}

impl AsnClass {
    /// Classifies `asn`.
    pub fn of(asn: u32) -> AsnClass {
        match asn {
            0 | 23456 | 65535 | 4_294_967_295 => AsnClass::Reserved,
            64496..=64511 | 65536..=65551 => AsnClass::Documentation,
            64512..=65534 | 4_200_000_000..=4_294_967_294 => AsnClass::Private,
            _ => AsnClass::Public,
        }
    }
    /// "reserved", "documentation", "private", "public".
    pub fn name(self) -> &'static str {
        match self {
            AsnClass::Reserved => "reserved",
            AsnClass::Documentation => "documentation",
            AsnClass::Private => "private",
            AsnClass::Public => "public",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn special_purpose_hits_inside_and_covering() {
        let p = |s: &str| s.parse::<Ipv4Net>().unwrap();
        assert_eq!(special_purpose(p("10.1.0.0/16")).unwrap().rfc, "RFC 1918");
        assert_eq!(special_purpose(p("172.31.255.0/24")).unwrap().rfc, "RFC 1918");
        assert_eq!(special_purpose(p("100.127.0.0/16")).unwrap().rfc, "RFC 6598");
        // A supernet that swallows a special block is as bad as a subnet of it.
        assert_eq!(special_purpose(p("192.0.0.0/8")).unwrap().net, p("192.0.0.0/24"));
        assert!(special_purpose(p("172.32.0.0/16")).is_none());
        assert!(special_purpose(p("168.86.128.0/18")).is_none());
        assert!(special_purpose(p("100.128.0.0/16")).is_none());
        assert!(special_purpose(p("11.0.0.0/8")).is_none());
        for r in SPECIAL_PURPOSE {
            assert_eq!(special_purpose(r.net), Some(&r), "{r}");
        }
    }

    #[test]
    fn asn_classes_at_their_edges() {
        for (asn, class) in [
            (0, AsnClass::Reserved),
            (1, AsnClass::Public),
            (23456, AsnClass::Reserved),
            (64495, AsnClass::Public),
            (64496, AsnClass::Documentation),
            (64511, AsnClass::Documentation),
            (64512, AsnClass::Private),
            (65534, AsnClass::Private),
            (65535, AsnClass::Reserved),
            (65536, AsnClass::Documentation),
            (65551, AsnClass::Documentation),
            (65552, AsnClass::Public),
            (4_199_999_999, AsnClass::Public),
            (4_200_000_000, AsnClass::Private),
            (4_294_967_294, AsnClass::Private),
            (4_294_967_295, AsnClass::Reserved),
        ] {
            assert_eq!(AsnClass::of(asn), class, "AS{asn}");
        }
    }
}
