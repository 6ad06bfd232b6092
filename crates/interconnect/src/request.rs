//! Step 1 of the provider's onboarding: the customer's request (location, bandwidth, IP routes,
//! ASN, account SID), checked rule by rule. Every rule is its own function with its own error
//! variant; [`validate`] runs them all and lists every problem with its field and line.

use std::fmt;

use ipnet::Ipv4Net;
use serde::Serialize;
use xconnect_bgp::policy::{check_prefix, RejectReason, PROVIDER_MAX_LEN, PROVIDER_MIN_LEN};
use xconnect_bgp::special::AsnClass;
use xconnect_input::Doc;

use crate::{Location, Tier};

/// A request that passed every rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Request {
    /// "AC" + 32 hex digits.
    pub account_sid: String,
    /// Where.
    pub location: Location,
    /// Which tier.
    pub tier: Tier,
    /// The customer's public ASN; `None`: the provider assigns a private one.
    pub asn: Option<u32>,
    /// The customer's public prefixes.
    pub routes: Vec<Ipv4Net>,
}

/// One broken rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RuleError {
    /// `account_sid` is not "AC" followed by 32 hexadecimal digits.
    AccountSid(String),
    /// No such location.
    UnknownLocation(String),
    /// No such tier.
    UnknownTier(String),
    /// The tier is not sold at the location (500 Mbps: London and Singapore only).
    TierNotOffered(Tier, Location),
    /// Not IPv4 CIDR notation.
    NotCidr(String),
    /// Bits set after the prefix length ("10.1.2.3/24").
    HostBitsSet(String, Ipv4Net),
    /// Not routable public space, or too long/short to be accepted.
    Unroutable(Ipv4Net, RejectReason),
    /// The same prefix twice.
    Duplicate(Ipv4Net),
    /// One route inside another.
    Overlap(Ipv4Net, Ipv4Net),
    /// No routes at all.
    NoRoutes,
    /// The ASN is private, documentation or reserved: a customer's own ASN must be public.
    NonPublicAsn(i64, &'static str),
}

impl fmt::Display for RuleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RuleError::AccountSid(s) => {
                write!(f, "{s:?} is not an account SID: expected \"AC\" followed by 32 hexadecimal digits")
            }
            RuleError::UnknownLocation(s) => {
                write!(f, "unknown location {s:?}: expected ashburn, san-jose, london or singapore")
            }
            RuleError::UnknownTier(s) => write!(f, "unknown bandwidth {s:?}: expected 10M, 100M, 500M or 1G"),
            RuleError::TierNotOffered(t, l) => {
                write!(f, "{} is not sold in {l}: 500 Mbps only in london and singapore; choose 100M or 1G", t.name())
            }
            RuleError::NotCidr(s) => write!(f, "{s:?} is not an IPv4 prefix in CIDR notation (a.b.c.d/len)"),
            RuleError::HostBitsSet(s, n) => {
                write!(f, "{s:?} has bits set after /{}: did you mean {n}?", n.prefix_len())
            }
            RuleError::Unroutable(n, r) => write!(f, "{n}: {r}"),
            RuleError::Duplicate(n) => write!(f, "{n} is listed twice"),
            RuleError::Overlap(a, b) => write!(f, "{b} overlaps {a} (one is inside the other): list each address once"),
            RuleError::NoRoutes => f.write_str("no routes: list the public prefixes the customer will announce"),
            RuleError::NonPublicAsn(a, class) => write!(
                f,
                "AS{a} is {class}: give the customer's own public ASN, or leave asn out and a private one is assigned"
            ),
        }
    }
}

/// A problem, with where it is.
pub use xconnect_input::Problem;

/// Every problem of a request file.
pub type RequestErrors = xconnect_input::Problems;

/// Rule: "AC" + 32 hex digits.
pub fn check_account_sid(s: &str) -> Result<(), RuleError> {
    let ok = s.len() == 34 && s.starts_with("AC") && s[2..].bytes().all(|b| b.is_ascii_hexdigit());
    if ok {
        Ok(())
    } else {
        Err(RuleError::AccountSid(s.to_string()))
    }
}

/// Rule: a known location.
pub fn check_location(s: &str) -> Result<Location, RuleError> {
    s.parse().map_err(|_| RuleError::UnknownLocation(s.to_string()))
}

/// Rule: a known tier.
pub fn check_tier(s: &str) -> Result<Tier, RuleError> {
    s.parse().map_err(|_| RuleError::UnknownTier(s.to_string()))
}

/// Rule: the tier is sold at the location.
pub fn check_offered(location: Location, tier: Tier) -> Result<(), RuleError> {
    if location.offers(tier) {
        Ok(())
    } else {
        Err(RuleError::TierNotOffered(tier, location))
    }
}

/// An IPv4 prefix in CIDR notation with no bits set after its length (the first half of
/// [`check_route`]; also what scenario files take for the provider's prefixes and pools).
pub fn parse_cidr(s: &str) -> Result<Ipv4Net, RuleError> {
    let net: Ipv4Net = s.trim().parse().map_err(|_| RuleError::NotCidr(s.to_string()))?;
    if net.trunc() != net {
        return Err(RuleError::HostBitsSet(s.to_string(), net.trunc()));
    }
    Ok(net)
}

/// Rule: a valid, public, routable IPv4 CIDR (/8 to /24, outside every special-purpose block).
pub fn check_route(s: &str) -> Result<Ipv4Net, RuleError> {
    let net = parse_cidr(s)?;
    check_prefix(net, PROVIDER_MIN_LEN, PROVIDER_MAX_LEN).map_err(|r| RuleError::Unroutable(net, r))?;
    Ok(net)
}

/// Rule: no route listed twice or inside another. Returns (index, error) pairs for every route
/// that repeats or overlaps one listed before it, naming the first such one, in list order.
///
/// O(n log n). Sorted by (network, length, position), the routes that contain a route come
/// before it and form a chain (kept on a stack with the smallest position in it), and the
/// routes inside it come right after it in one block (a sparse table gives the smallest
/// position in a block).
pub fn check_overlaps(routes: &[(usize, Ipv4Net)]) -> Vec<(usize, RuleError)> {
    let n = routes.len();
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by_key(|&j| (routes[j].1.network(), routes[j].1.prefix_len(), j));
    // Sparse table: min[k][p] = smallest position among sorted p .. p + 2^k.
    let mut min: Vec<Vec<usize>> = vec![order.clone()];
    let mut width = 1;
    while 2 * width <= n {
        let prev = min.last().expect("one level at least");
        let next: Vec<usize> = (0..=n - 2 * width).map(|p| prev[p].min(prev[p + width])).collect();
        min.push(next);
        width *= 2;
    }
    let range_min = |lo: usize, hi: usize| -> Option<usize> {
        (lo < hi).then(|| {
            let k = (usize::BITS - 1 - (hi - lo).leading_zeros()) as usize;
            min[k][lo].min(min[k][hi - (1 << k)])
        })
    };
    let mut first_clash = vec![usize::MAX; n];
    // (position in `routes`, smallest position on the stack up to here).
    let mut chain: Vec<(usize, usize)> = Vec::new();
    for (p, &j) in order.iter().enumerate() {
        let b = routes[j].1;
        while chain.last().is_some_and(|&(top, _)| !routes[top].1.contains(&b)) {
            chain.pop();
        }
        let container = chain.last().map(|&(_, m)| m);
        let end = p + 1 + order[p + 1..].partition_point(|&o| routes[o].1.network() <= b.broadcast());
        let inside = range_min(p + 1, end);
        first_clash[j] = container.into_iter().chain(inside).min().unwrap_or(usize::MAX);
        chain.push((j, container.map_or(j, |m| m.min(j))));
    }
    (0..n)
        .filter(|&j| first_clash[j] < j)
        .map(|j| {
            let (a, b) = (routes[first_clash[j]].1, routes[j].1);
            (routes[j].0, if a == b { RuleError::Duplicate(a) } else { RuleError::Overlap(a, b) })
        })
        .collect()
}

/// Rule: the customer's own ASN must be public (absent: one is assigned).
pub fn check_asn(asn: i64) -> Result<u32, RuleError> {
    let Ok(a) = u32::try_from(asn) else {
        return Err(RuleError::NonPublicAsn(asn, "outside 0-4294967295"));
    };
    match AsnClass::of(a) {
        AsnClass::Public => Ok(a),
        c => Err(RuleError::NonPublicAsn(asn, c.name())),
    }
}

/// Parses and checks a request; `file` names it in errors. Every problem is listed at once —
/// syntax, type, unknown key and broken rule — each with its field and line.
pub fn validate(text: &str, file: &str) -> Result<Request, RequestErrors> {
    let doc = Doc::parse(text);
    let req = read(&doc);
    doc.finish(file, req)
}

fn read(doc: &Doc<'_>) -> Option<Request> {
    let root = doc.root();
    let sid = root.get::<String>("account_sid", "the account SID, \"AC\" followed by 32 hexadecimal digits");
    if let Some(s) = &sid {
        if let Err(e) = check_account_sid(s) {
            root.problem("account_sid", e);
        }
    }
    let location = root
        .get::<String>("location", "a location: ashburn, san-jose, london or singapore")
        .and_then(|s| check_location(&s).map_err(|e| root.problem("location", e)).ok());
    let tier = root
        .get::<String>("bandwidth", "a bandwidth tier: \"10M\", \"100M\", \"500M\" or \"1G\"")
        .and_then(|s| check_tier(&s).map_err(|e| root.problem("bandwidth", e)).ok());
    if let (Some(l), Some(t)) = (location, tier) {
        if let Err(e) = check_offered(l, t) {
            root.problem("bandwidth", e);
        }
    }
    let asn = root
        .opt::<i64>("asn", "the customer's own public AS number, e.g. 3356 (or no asn line at all)")
        .and_then(|a| check_asn(a).map_err(|e| root.problem("asn", e)).ok());
    let routes = root.list::<String>("routes", "IPv4 prefixes in CIDR notation, e.g. \"45.64.0.0/22\"");
    let mut good = Vec::new();
    let mut lines = Vec::new();
    match &routes {
        None if root.raw("routes").is_none() => root.problem("routes", RuleError::NoRoutes),
        None => {}
        Some(list) if list.is_empty() => root.problem("routes", RuleError::NoRoutes),
        Some(list) => {
            lines = vec![0; list.iter().map(|(i, _, _)| i + 1).max().unwrap_or(0)];
            for (i, r, line) in list {
                lines[*i] = *line;
                match check_route(r) {
                    Ok(n) => good.push((*i, n)),
                    Err(e) => doc.push(format!("routes[{i}]"), *line, e.to_string()),
                }
            }
        }
    }
    for (i, e) in check_overlaps(&good) {
        doc.push(format!("routes[{i}]"), lines[i], e.to_string());
    }
    Some(Request {
        account_sid: sid?,
        location: location?,
        tier: tier?,
        asn,
        routes: good.into_iter().map(|(_, n)| n).collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SID: &str = "AC0123456789abcdef0123456789ABCDEF";

    #[test]
    fn each_rule_good_and_bad() {
        assert_eq!(check_account_sid(SID), Ok(()));
        for bad in ["", "AC123", "XX0123456789abcdef0123456789abcdef", "AC0123456789abcdef0123456789abcdeg"] {
            assert!(matches!(check_account_sid(bad), Err(RuleError::AccountSid(_))), "{bad}");
        }
        assert_eq!(check_location("London"), Ok(Location::London));
        assert!(matches!(check_location("paris"), Err(RuleError::UnknownLocation(_))));
        assert_eq!(check_tier("500M"), Ok(Tier::M500));
        assert!(matches!(check_tier("200M"), Err(RuleError::UnknownTier(_))));
        assert_eq!(check_offered(Location::London, Tier::M500), Ok(()));
        assert_eq!(check_offered(Location::Singapore, Tier::M500), Ok(()));
        assert_eq!(
            check_offered(Location::Ashburn, Tier::M500),
            Err(RuleError::TierNotOffered(Tier::M500, Location::Ashburn))
        );
        assert_eq!(
            check_offered(Location::SanJose, Tier::M500),
            Err(RuleError::TierNotOffered(Tier::M500, Location::SanJose))
        );
        assert_eq!(check_route("45.64.0.0/22"), Ok("45.64.0.0/22".parse().unwrap()));
        assert!(
            matches!(check_route("45.64.0.1/22"), Err(RuleError::HostBitsSet(_, n)) if n.to_string() == "45.64.0.0/22")
        );
        assert!(matches!(check_route("45.64.0.0"), Err(RuleError::NotCidr(_))));
        assert!(matches!(check_route("2001:db8::/32"), Err(RuleError::NotCidr(_))));
        let e = check_route("192.168.10.0/24").unwrap_err();
        assert!(e.to_string().contains("192.168.0.0/16 (private use, RFC 1918)"), "{e}");
        let e = check_route("100.64.1.0/24").unwrap_err();
        assert!(e.to_string().contains("RFC 6598"), "{e}");
        assert!(matches!(check_route("45.64.0.0/25"), Err(RuleError::Unroutable(_, RejectReason::TooSpecific { .. }))));
        assert_eq!(check_asn(3356), Ok(3356));
        assert_eq!(check_asn(64512), Err(RuleError::NonPublicAsn(64512, "private")));
        assert_eq!(check_asn(64496), Err(RuleError::NonPublicAsn(64496, "documentation")));
        assert_eq!(check_asn(23456), Err(RuleError::NonPublicAsn(23456, "reserved")));
        assert!(check_asn(-1).is_err());
        let n = |s: &str| s.parse::<Ipv4Net>().unwrap();
        assert_eq!(
            check_overlaps(&[
                (0, n("45.64.0.0/22")),
                (1, n("45.64.2.0/24")),
                (2, n("185.1.2.0/24")),
                (3, n("185.1.2.0/24"))
            ]),
            vec![
                (1, RuleError::Overlap(n("45.64.0.0/22"), n("45.64.2.0/24"))),
                (3, RuleError::Duplicate(n("185.1.2.0/24")))
            ]
        );
    }

    /// The quadratic definition, as the oracle of the O(n log n) one.
    fn overlaps_by_pairs(routes: &[(usize, Ipv4Net)]) -> Vec<(usize, Ipv4Net)> {
        let mut out = Vec::new();
        for (j, &(ij, b)) in routes.iter().enumerate() {
            if routes[..j].iter().any(|(_, a)| a.contains(&b) || b.contains(a)) {
                out.push((ij, b));
            }
        }
        out
    }

    #[test]
    fn overlaps_agree_with_the_pairwise_definition() {
        // A small deterministic generator: nested and repeated prefixes in a few /8s.
        let mut x = 0x2545_f491_4f6c_dd1d_u64;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for round in 0..300 {
            let len = 1 + round % 40;
            let routes: Vec<(usize, Ipv4Net)> = (0..len)
                .map(|i| {
                    let r = next();
                    let addr = std::net::Ipv4Addr::from(0x2d00_0000 | ((r as u32) & 0x0003_ffff) << 6);
                    let plen = 8 + (r >> 40) as u8 % 17;
                    (i * 2, Ipv4Net::new(addr, plen).unwrap().trunc())
                })
                .collect();
            let fast = check_overlaps(&routes);
            let flagged: Vec<(usize, Ipv4Net)> =
                fast.iter().map(|(i, _)| (*i, routes.iter().find(|(k, _)| k == i).unwrap().1)).collect();
            assert_eq!(flagged, overlaps_by_pairs(&routes), "{routes:?}");
            for (i, e) in &fast {
                let b = routes.iter().find(|(k, _)| k == i).unwrap().1;
                let a = match e {
                    RuleError::Duplicate(a) => {
                        assert_eq!(*a, b);
                        *a
                    }
                    RuleError::Overlap(a, b2) => {
                        assert_eq!(*b2, b);
                        *a
                    }
                    other => panic!("{other:?}"),
                };
                let first = routes.iter().position(|(_, r)| r.contains(&b) || b.contains(r)).unwrap();
                assert_eq!(routes[first].1, a, "names the first listed route it clashes with");
            }
        }
    }

    #[test]
    fn two_hundred_thousand_routes_are_checked_in_n_log_n() {
        // Distinct /24s and then every one again: 200,000 routes, 100,000 duplicates. The
        // pairwise check took 52 s here; this one is well under a second in a release build.
        let mut text = format!("account_sid = \"{SID}\"\nlocation = \"ashburn\"\nbandwidth = \"1G\"\nroutes = [\n");
        for i in 0..200_000u32 {
            let k = i % 100_000;
            text += &format!("\"{}.{}.{}.0/24\",\n", 45 + k / 65_536, (k / 256) % 256, k % 256);
        }
        text += "]\n";
        let e = validate(&text, "big.toml").unwrap_err();
        assert_eq!(e.problems.len(), 100_000);
        assert!(e.problems[0].message.contains("listed twice"), "{}", e.problems[0]);
        assert_eq!(e.problems[0].line, 100_005);
    }

    #[test]
    fn a_good_request() {
        let r = validate(
            &format!(
                "account_sid = \"{SID}\"\nlocation = \"london\"\nbandwidth = \"500M\"\nroutes = [\"45.64.0.0/22\"]\n"
            ),
            "r.toml",
        )
        .unwrap();
        assert_eq!((r.location, r.tier, r.asn), (Location::London, Tier::M500, None));
    }

    #[test]
    fn every_problem_listed_with_field_and_line() {
        let text = "account_sid = \"AC12\"
location = \"ashburn\"
bandwidth = \"500M\"
asn = 65001
routes = [
  \"10.0.0.0/8\",
  \"45.64.0.0/22\",
  \"45.64.1.0/24\",
  \"nonsense\",
]
";
        let e = validate(text, "req.toml").unwrap_err();
        let got: Vec<(&str, usize)> = e.problems.iter().map(|p| (p.field.as_str(), p.line)).collect();
        assert_eq!(
            got,
            [("account_sid", 1), ("bandwidth", 3), ("asn", 4), ("routes[0]", 6), ("routes[2]", 8), ("routes[3]", 9)]
        );
        let s = e.to_string();
        assert!(s.starts_with("req.toml: 6 problem(s):"), "{s}");
        assert!(s.contains("RFC 1918"), "{s}");
        // Unknown keys, wrong types, missing fields and broken rules: all at once, each with its
        // line and key.
        let e = validate(
            &format!(
                "account_sid = \"{SID}\"\nlocation = 7\ncolour = \"red\"\nasn = \"x\"\nroutes = [\"10.0.0.0/8\", 5]\n"
            ),
            "x.toml",
        )
        .unwrap_err();
        let got: Vec<String> = e.problems.iter().map(|p| p.to_string()).collect();
        assert_eq!(
            got,
            [
                "line 1: bandwidth: missing: expected a bandwidth tier: \"10M\", \"100M\", \"500M\" or \"1G\"",
                "line 2: location: expected a location: ashburn, san-jose, london or singapore; found 7",
                "line 3: colour: unknown key; this table takes: account_sid, location, bandwidth, asn, routes",
                "line 4: asn: expected the customer's own public AS number, e.g. 3356 (or no asn line at all); found the text \"x\"",
                "line 5: routes[1]: expected IPv4 prefixes in CIDR notation, e.g. \"45.64.0.0/22\"; found 5",
                "line 5: routes[0]: 10.0.0.0/8: inside special-purpose block 10.0.0.0/8 (private use, RFC 1918)",
            ]
        );
    }
}
