//! Step 1 of the provider's onboarding: the customer's request (location, bandwidth, IP routes,
//! ASN, account SID), checked rule by rule. Every rule is its own function with its own error
//! variant; [`validate`] runs them all and lists every problem with its field and line.

use std::fmt;
use std::ops::Range;

use ipnet::Ipv4Net;
use serde::{Deserialize, Serialize};
use toml::Spanned;
use xconnect_bgp::policy::{check_prefix, RejectReason};
use xconnect_bgp::special::AsnClass;

use crate::{Location, Tier};

/// The request file (TOML).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RequestFile {
    account_sid: Spanned<String>,
    location: Spanned<String>,
    bandwidth: Spanned<String>,
    #[serde(default)]
    asn: Option<Spanned<i64>>,
    routes: Spanned<Vec<Spanned<String>>>,
}

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
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// The field: "account_sid", "routes[2]", ...
    pub field: String,
    /// 1-based line in the file (0: not from a line).
    pub line: usize,
    /// What is wrong and what is expected.
    pub message: String,
}

/// Every problem of a request file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestErrors {
    /// The file.
    pub file: String,
    /// The problems, in file order.
    pub problems: Vec<Problem>,
}

impl fmt::Display for RequestErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {} problem(s):", self.file, self.problems.len())?;
        for p in &self.problems {
            write!(f, "\n  - line {}: {}: {}", p.line, p.field, p.message)?;
        }
        Ok(())
    }
}

impl std::error::Error for RequestErrors {}

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

/// Rule: a valid, public, routable IPv4 CIDR (/8 to /24, outside every special-purpose block).
pub fn check_route(s: &str) -> Result<Ipv4Net, RuleError> {
    let net: Ipv4Net = s.trim().parse().map_err(|_| RuleError::NotCidr(s.to_string()))?;
    if net.trunc() != net {
        return Err(RuleError::HostBitsSet(s.to_string(), net.trunc()));
    }
    check_prefix(net, 8, 24).map_err(|r| RuleError::Unroutable(net, r))?;
    Ok(net)
}

/// Rule: no route listed twice or inside another. Returns (index, error) pairs.
pub fn check_overlaps(routes: &[(usize, Ipv4Net)]) -> Vec<(usize, RuleError)> {
    let mut out = Vec::new();
    for (j, &(ij, b)) in routes.iter().enumerate() {
        if let Some(&(_, a)) = routes[..j].iter().find(|(_, a)| *a == b) {
            out.push((ij, RuleError::Duplicate(a)));
        } else if let Some(&(_, a)) = routes[..j].iter().find(|(_, a)| a.contains(&b) || b.contains(a)) {
            out.push((ij, RuleError::Overlap(a, b)));
        }
    }
    out
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

fn line_of(text: &str, span: Range<usize>) -> usize {
    text[..span.start.min(text.len())].matches('\n').count() + 1
}

/// Parses and checks a request; `file` names it in errors.
pub fn validate(text: &str, file: &str) -> Result<Request, RequestErrors> {
    let f: RequestFile = toml::from_str(text).map_err(|e| RequestErrors {
        file: file.to_string(),
        problems: vec![Problem {
            field: "(file)".into(),
            line: e.span().map_or(0, |s| line_of(text, s)),
            message: e.message().to_string(),
        }],
    })?;
    let mut problems = Vec::new();
    let mut note = |field: String, span: Range<usize>, e: RuleError| {
        problems.push(Problem { field, line: line_of(text, span), message: e.to_string() });
    };
    if let Err(e) = check_account_sid(f.account_sid.get_ref()) {
        note("account_sid".into(), f.account_sid.span(), e);
    }
    let location = check_location(f.location.get_ref()).map_err(|e| note("location".into(), f.location.span(), e)).ok();
    let tier = check_tier(f.bandwidth.get_ref()).map_err(|e| note("bandwidth".into(), f.bandwidth.span(), e)).ok();
    if let (Some(l), Some(t)) = (location, tier) {
        if let Err(e) = check_offered(l, t) {
            note("bandwidth".into(), f.bandwidth.span(), e);
        }
    }
    let asn = match &f.asn {
        Some(a) => check_asn(*a.get_ref()).map_err(|e| note("asn".into(), a.span(), e)).ok(),
        None => None,
    };
    let mut good = Vec::new();
    if f.routes.get_ref().is_empty() {
        note("routes".into(), f.routes.span(), RuleError::NoRoutes);
    }
    for (i, r) in f.routes.get_ref().iter().enumerate() {
        match check_route(r.get_ref()) {
            Ok(n) => good.push((i, n)),
            Err(e) => note(format!("routes[{i}]"), r.span(), e),
        }
    }
    for (i, e) in check_overlaps(&good) {
        note(format!("routes[{i}]"), f.routes.get_ref()[i].span(), e);
    }
    problems.sort_by_key(|p| p.line);
    if !problems.is_empty() {
        return Err(RequestErrors { file: file.to_string(), problems });
    }
    Ok(Request {
        account_sid: f.account_sid.into_inner(),
        location: location.expect("no problems"),
        tier: tier.expect("no problems"),
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
        // Unknown keys and wrong types: the line and the key.
        let e = validate(&format!("account_sid = \"{SID}\"\nlocation = 7\n"), "x.toml").unwrap_err();
        assert_eq!(e.problems[0].line, 2);
        let e = validate(&format!("account_sid = \"{SID}\"\ncolour = \"red\"\n"), "x.toml").unwrap_err();
        assert!(e.problems[0].message.contains("colour"), "{e}");
    }
}
