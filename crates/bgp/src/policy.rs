//! Import policy: what each side of the cross-connect accepts from the other.
//!
//! - The provider accepts a customer prefix only if it is public (not in any RFC 6890
//!   special-purpose block), between /8 and /24 (RFC 7454 §6.1.3), and its AS_PATH starts with
//!   the customer's ASN and carries no other private or reserved ASN; more than `max_prefixes`
//!   accepted prefixes ends the session with Cease / Maximum Number of Prefixes Reached.
//! - The customer accepts only the provider's own prefixes (for example the media range
//!   168.86.128.0/18) and their subnets.
//! - Inside one AS (iBGP between a customer's sites) everything is accepted: the eBGP edge
//!   where the route entered has filtered it.

use std::fmt;

use ipnet::Ipv4Net;

use crate::special::{special_purpose, AsnClass, SpecialRange};
use crate::wire::PathAttributes;

/// Why a route was rejected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RejectReason {
    /// Inside (or covering) a special-purpose block.
    SpecialPurpose(SpecialRange),
    /// Longer than the longest accepted prefix.
    TooSpecific {
        /// The prefix length.
        len: u8,
        /// The longest accepted.
        max: u8,
    },
    /// Shorter than the shortest accepted prefix.
    TooBroad {
        /// The prefix length.
        len: u8,
        /// The shortest accepted.
        min: u8,
    },
    /// AS_PATH missing or empty.
    EmptyAsPath,
    /// AS_PATH does not start with the peer's ASN (RFC 4271 §6.3 enforce-first-as).
    FirstAsNotPeer {
        /// The peer's ASN.
        expected: u32,
        /// First ASN found (None: the path starts with an AS_SET).
        found: Option<u32>,
    },
    /// A private, documentation or reserved ASN behind the peer.
    NonPublicAsnInPath {
        /// The ASN.
        asn: u32,
        /// Its class.
        class: AsnClass,
    },
    /// Not one of the provider's prefixes (the customer's import policy).
    NotProviderPrefix,
    /// RFC 7606 treat-as-withdraw: the UPDATE's attributes were malformed.
    MalformedAttributes(String),
}

impl RejectReason {
    /// A stable short key: "special_purpose", "too_specific", ...
    pub fn key(&self) -> &'static str {
        match self {
            RejectReason::SpecialPurpose(_) => "special_purpose",
            RejectReason::TooSpecific { .. } => "too_specific",
            RejectReason::TooBroad { .. } => "too_broad",
            RejectReason::EmptyAsPath => "empty_as_path",
            RejectReason::FirstAsNotPeer { .. } => "first_as_not_peer",
            RejectReason::NonPublicAsnInPath { .. } => "non_public_asn_in_path",
            RejectReason::NotProviderPrefix => "not_provider_prefix",
            RejectReason::MalformedAttributes(_) => "malformed_attributes",
        }
    }
}

impl fmt::Display for RejectReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RejectReason::SpecialPurpose(r) => write!(f, "inside special-purpose block {r}"),
            RejectReason::TooSpecific { len, max } => write!(f, "/{len} is longer than /{max}"),
            RejectReason::TooBroad { len, min } => write!(f, "/{len} is shorter than /{min}"),
            RejectReason::EmptyAsPath => f.write_str("AS_PATH is empty"),
            RejectReason::FirstAsNotPeer { expected, found: Some(a) } => {
                write!(f, "AS_PATH starts with AS{a}, expected the peer's AS{expected}")
            }
            RejectReason::FirstAsNotPeer { expected, found: None } => {
                write!(f, "AS_PATH starts with an AS_SET, expected the peer's AS{expected}")
            }
            RejectReason::NonPublicAsnInPath { asn, class } => write!(f, "AS_PATH carries {} AS{asn}", class.name()),
            RejectReason::NotProviderPrefix => f.write_str("not one of the provider's prefixes"),
            RejectReason::MalformedAttributes(d) => write!(f, "treat-as-withdraw (RFC 7606): {d}"),
        }
    }
}

/// The import policy of one side.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImportPolicy {
    /// What the provider's edge accepts from a customer.
    Provider {
        /// The customer's ASN (may be private: the provider assigns one to customers without).
        peer_asn: u32,
        /// Shortest accepted prefix length.
        min_len: u8,
        /// Longest accepted prefix length.
        max_len: u8,
        /// Accepted prefixes after which the session is closed (Cease 1).
        max_prefixes: usize,
    },
    /// What the customer's border router accepts from the provider.
    Customer {
        /// The provider's prefixes.
        provider_prefixes: Vec<Ipv4Net>,
    },
    /// An iBGP neighbor inside one's own AS: everything (the eBGP edge already filtered it).
    Internal,
}

/// The shortest prefix the provider accepts from a customer.
pub const PROVIDER_MIN_LEN: u8 = 8;
/// The longest prefix the provider accepts from a customer (the usual limit of the
/// Internet's default-free zone).
pub const PROVIDER_MAX_LEN: u8 = 24;
/// Accepted prefixes after which the provider closes a customer's session.
pub const PROVIDER_MAX_PREFIXES: usize = 1000;

impl ImportPolicy {
    /// The provider's policy with the usual limits ([`PROVIDER_MIN_LEN`] to
    /// [`PROVIDER_MAX_LEN`], [`PROVIDER_MAX_PREFIXES`] prefixes).
    pub fn provider(peer_asn: u32) -> Self {
        Self::provider_with_limit(peer_asn, PROVIDER_MAX_PREFIXES)
    }

    /// The provider's policy with another max-prefix limit (`--max-prefixes`, a scenario's
    /// `[control] max_prefixes`).
    pub fn provider_with_limit(peer_asn: u32, max_prefixes: usize) -> Self {
        ImportPolicy::Provider { peer_asn, min_len: PROVIDER_MIN_LEN, max_len: PROVIDER_MAX_LEN, max_prefixes }
    }

    /// Checks one announced prefix with its attributes.
    pub fn check(&self, prefix: Ipv4Net, attrs: &PathAttributes) -> Result<(), RejectReason> {
        self.check_prefix(prefix)?;
        self.check_attributes(attrs)
    }

    /// The rules on the prefix alone (the prefix's verdict comes first when both fail).
    pub fn check_prefix(&self, prefix: Ipv4Net) -> Result<(), RejectReason> {
        match self {
            ImportPolicy::Provider { min_len, max_len, .. } => check_prefix(prefix, *min_len, *max_len),
            ImportPolicy::Customer { provider_prefixes } => {
                if provider_prefixes.iter().any(|p| p.contains(&prefix)) {
                    Ok(())
                } else {
                    Err(RejectReason::NotProviderPrefix)
                }
            }
            ImportPolicy::Internal => Ok(()),
        }
    }

    /// The rules on the path attributes alone: the same for every prefix of an UPDATE, so
    /// checked once per UPDATE.
    pub fn check_attributes(&self, attrs: &PathAttributes) -> Result<(), RejectReason> {
        match self {
            ImportPolicy::Provider { peer_asn, .. } => check_path(*peer_asn, attrs),
            ImportPolicy::Customer { .. } | ImportPolicy::Internal => Ok(()),
        }
    }

    /// The max-prefix limit, if this policy has one.
    pub fn max_prefixes(&self) -> Option<usize> {
        match self {
            ImportPolicy::Provider { max_prefixes, .. } => Some(*max_prefixes),
            ImportPolicy::Customer { .. } | ImportPolicy::Internal => None,
        }
    }
}

/// The prefix rules alone: public space, length within `min_len..=max_len`.
pub fn check_prefix(prefix: Ipv4Net, min_len: u8, max_len: u8) -> Result<(), RejectReason> {
    if let Some(r) = special_purpose(prefix) {
        return Err(RejectReason::SpecialPurpose(*r));
    }
    let len = prefix.prefix_len();
    if len > max_len {
        return Err(RejectReason::TooSpecific { len, max: max_len });
    }
    if len < min_len {
        return Err(RejectReason::TooBroad { len, min: min_len });
    }
    Ok(())
}

/// The AS_PATH rules: starts with `peer_asn`; every other ASN public.
pub fn check_path(peer_asn: u32, attrs: &PathAttributes) -> Result<(), RejectReason> {
    let path = attrs.as_path.as_ref().filter(|p| !p.is_empty()).ok_or(RejectReason::EmptyAsPath)?;
    let first = path.first();
    if first != Some(peer_asn) {
        return Err(RejectReason::FirstAsNotPeer { expected: peer_asn, found: first });
    }
    // The peer's own ASN may be private (assigned by the provider); anything behind it must be
    // public: a private ASN there leaks someone's internal routing.
    for asn in path.asns().filter(|&a| a != peer_asn) {
        let class = AsnClass::of(asn);
        if class != AsnClass::Public {
            return Err(RejectReason::NonPublicAsnInPath { asn, class });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::{AsPath, Origin};

    fn attrs(path: Vec<u32>) -> PathAttributes {
        PathAttributes {
            origin: Some(Origin::Igp),
            as_path: Some(AsPath::sequence(path)),
            next_hop: Some("192.0.2.1".parse().unwrap()),
            ..PathAttributes::default()
        }
    }

    #[test]
    fn provider_policy_rules() {
        let pol = ImportPolicy::provider(64512);
        let p = |s: &str| s.parse::<Ipv4Net>().unwrap();
        assert_eq!(pol.check(p("45.64.0.0/22"), &attrs(vec![64512])), Ok(()));
        assert_eq!(pol.check(p("45.64.0.0/22"), &attrs(vec![64512, 64512, 3356])), Ok(()));
        let e = pol.check(p("10.1.0.0/16"), &attrs(vec![64512])).unwrap_err();
        assert_eq!(e.key(), "special_purpose");
        assert!(e.to_string().contains("10.0.0.0/8 (private use, RFC 1918)"), "{e}");
        assert_eq!(
            pol.check(p("45.64.1.0/25"), &attrs(vec![64512])),
            Err(RejectReason::TooSpecific { len: 25, max: 24 })
        );
        assert_eq!(pol.check(p("44.0.0.0/7"), &attrs(vec![64512])), Err(RejectReason::TooBroad { len: 7, min: 8 }));
        assert_eq!(
            pol.check(p("45.64.0.0/22"), &attrs(vec![3356, 64512])),
            Err(RejectReason::FirstAsNotPeer { expected: 64512, found: Some(3356) })
        );
        assert_eq!(
            pol.check(p("45.64.0.0/22"), &attrs(vec![64512, 65001])),
            Err(RejectReason::NonPublicAsnInPath { asn: 65001, class: AsnClass::Private })
        );
        assert_eq!(pol.check(p("45.64.0.0/22"), &attrs(vec![])), Err(RejectReason::EmptyAsPath));
    }

    #[test]
    fn customer_policy_accepts_only_provider_prefixes() {
        let p = |s: &str| s.parse::<Ipv4Net>().unwrap();
        let pol = ImportPolicy::Customer { provider_prefixes: vec![p("168.86.128.0/18")] };
        assert_eq!(pol.check(p("168.86.128.0/18"), &attrs(vec![1])), Ok(()));
        assert_eq!(pol.check(p("168.86.160.0/19"), &attrs(vec![1])), Ok(()));
        assert_eq!(pol.check(p("168.86.0.0/16"), &attrs(vec![1])), Err(RejectReason::NotProviderPrefix));
        assert_eq!(pol.check(p("8.8.8.0/24"), &attrs(vec![1])), Err(RejectReason::NotProviderPrefix));
    }
}
