//! Which side of the cross-connect an address is on: the replay's rule and prefixes
//! (`--customer-prefix`, `--provider-prefix`, else the catalog's provider ranges).

use std::net::IpAddr;

use serde::Serialize;
use xconnect_dataplane::police::{Classifier, Direction, Sides as Prefixes};

/// A side of the cross-connect.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Side {
    /// The customer's network.
    Customer,
    /// The provider's.
    Provider,
}

/// The prefixes that tell the sides apart, and where they came from.
#[derive(Debug, Clone)]
pub struct Sides {
    classifier: Classifier,
    /// "--customer-prefix 203.0.113.0/24", or the default's description.
    pub described: String,
}

impl Sides {
    /// From the prefixes given, as `replay --tier` takes them (`--customer-prefix`,
    /// `--provider-prefix`, else the catalog's provider ranges); `defaulted` says the last.
    pub fn new(prefixes: &Prefixes, defaulted: bool) -> Sides {
        let described = match (prefixes, defaulted) {
            (Prefixes::Provider(v), true) => {
                format!("the catalog's provider range {} (no --customer-prefix or --provider-prefix)", list(v))
            }
            (Prefixes::Customer(v), _) => format!("--customer-prefix {}", list(v)),
            (Prefixes::Provider(v), false) => format!("--provider-prefix {}", list(v)),
        };
        Sides { classifier: Classifier::new(prefixes), described }
    }

    /// The side of an endpoint `a` talking with `peer`: the prefixes' side when `a` is
    /// within them, the other when `peer` is; `None` when neither is.
    pub fn side(&self, a: IpAddr, peer: Option<IpAddr>) -> Option<Side> {
        let listed = if self.classifier.provider() { Side::Provider } else { Side::Customer };
        let other = if listed == Side::Provider { Side::Customer } else { Side::Provider };
        if self.classifier.within(a) {
            Some(listed)
        } else if peer.is_some_and(|p| self.classifier.within(p)) {
            Some(other)
        } else {
            None
        }
    }

    /// The direction of a packet from `src` to `dst` (`None`: neither is within the prefixes).
    pub fn direction(&self, src: IpAddr, dst: IpAddr) -> Option<Direction> {
        self.classifier.direction(src, dst)
    }
}

fn list(v: &[ipnet::IpNet]) -> String {
    v.iter().map(ToString::to_string).collect::<Vec<_>>().join(",")
}
