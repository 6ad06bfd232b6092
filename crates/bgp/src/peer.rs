//! One BGP neighbor, sans-IO: the session state machine ([`Session`]) plus everything above it
//! that a router does per neighbor — the import policy, the Adj-RIB-In of accepted routes
//! (RFC 7606 outcomes, max-prefix, flushed when the session goes down), and the Adj-RIB-Out
//! of what we advertise (sent when the session reaches Established, again on ROUTE-REFRESH,
//! and as it changes).
//!
//! The TCP speaker ([`crate::speaker`]) and the simulator's virtual-time control plane drive
//! this same type: feed it events and the time, carry out the [`PeerAction`]s it returns, and
//! apply its route changes ([`PeerAction::Accepted`], [`PeerAction::Withdrawn`]) to the
//! router's Loc-RIB ([`crate::rib::Rib`]).
//!
//! Export rules (RFC 4271 §5.1): over eBGP our ASN is prepended to the AS_PATH, LOCAL_PREF is
//! not sent and a route without a NEXT_HOP gets ours ("next hop self"); over iBGP the AS_PATH
//! is sent as it is, LOCAL_PREF defaults to 100 and the NEXT_HOP is left as it is.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::sync::Arc;

use ipnet::Ipv4Net;
use xconnect_time::{Nanos, Span};

use crate::fsm::{Action, Event, Session, SessionConfig, State};
use crate::policy::{ImportPolicy, RejectReason};
use crate::rib::PrefixSet;
use crate::wire::{AsPath, AttrAction, AttrIssue, Notification, Open, PathAttributes, Update};

/// What the driver must do, and what happened, for one neighbor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PeerAction {
    /// Open a TCP connection to the neighbor.
    Connect,
    /// Send these bytes.
    Send(Vec<u8>),
    /// Close the TCP connection.
    Disconnect,
    /// The session's state changed.
    StateChange {
        /// Old state.
        from: State,
        /// New state.
        to: State,
    },
    /// The neighbor's OPEN was accepted.
    OpenReceived(Open),
    /// A route passed the import policy and is in the Adj-RIB-In (new, or replacing the
    /// neighbor's previous route to the prefix).
    Accepted {
        /// The prefix.
        prefix: Ipv4Net,
        /// Its attributes (shared by the prefixes of one UPDATE).
        attrs: Arc<PathAttributes>,
    },
    /// A route failed the import policy (a route the neighbor had to the prefix, if any, is
    /// withdrawn with it: [`PeerAction::Withdrawn`] follows).
    Rejected {
        /// The prefix.
        prefix: Ipv4Net,
        /// Why.
        reason: RejectReason,
    },
    /// A route left the Adj-RIB-In: withdrawn by the neighbor, replaced by a rejected one, or
    /// flushed because the session left Established.
    Withdrawn {
        /// The prefix.
        prefix: Ipv4Net,
    },
    /// The session went down without a NOTIFICATION and the neighbor had announced graceful
    /// restart (RFC 4724): its routes stay, marked stale, until it is back and sends
    /// End-of-RIB (those it did not announce again are then withdrawn) or until `until`.
    Stale {
        /// Routes kept stale.
        routes: usize,
        /// When they go unless refreshed.
        until: Nanos,
    },
    /// The neighbor's End-of-RIB after a graceful restart: what it did not announce again was
    /// withdrawn ([`PeerAction::Withdrawn`] each), the rest is fresh.
    RestartDone {
        /// Routes withdrawn as stale.
        withdrawn: usize,
    },
    /// A malformed attribute handled without a reset (RFC 7606).
    AttributeIssue(AttrIssue),
    /// We sent an UPDATE.
    Sent {
        /// Announced prefixes.
        announced: Vec<Ipv4Net>,
        /// Withdrawn prefixes.
        withdrawn: Vec<Ipv4Net>,
    },
    /// We sent a NOTIFICATION, for this reason.
    NotificationSent(Notification, String),
    /// The neighbor sent a NOTIFICATION.
    NotificationReceived(Notification),
}

/// One neighbor: session, import policy, Adj-RIB-In and Adj-RIB-Out.
#[derive(Debug)]
pub struct Peer {
    session: Session,
    policy: ImportPolicy,
    /// The prefixes accepted and held (their routes, with attributes, are in the caller's RIB).
    adj_in: PrefixSet,
    /// What we advertise, as originated or learned (before the export rules).
    adj_out: BTreeMap<Ipv4Net, Arc<PathAttributes>>,
    /// Our address on the connection (the NEXT_HOP of "next hop self").
    local_addr: Ipv4Addr,
    /// After a max-prefix Cease, the wait before the session may restart (`None`: only a
    /// manual start restarts it).
    max_prefix_restart: Option<Span>,
    /// The neighbor's graceful restart capability for IPv4 unicast (RFC 4724), from its last
    /// OPEN: its restart time, and whether it kept its forwarding state.
    peer_restart: Option<(Span, bool)>,
    /// Whether a NOTIFICATION (other than our Hold Timer Expired) went either way as the
    /// session went down: then there is no graceful restart (RFC 4724 §4.2).
    notified: bool,
    /// Routes kept stale while the neighbor restarts, and until when.
    stale: Option<(PrefixSet, Nanos)>,
}

impl Peer {
    /// A neighbor in Idle with nothing advertised.
    pub fn new(cfg: SessionConfig, policy: ImportPolicy) -> Self {
        Peer {
            session: Session::new(cfg),
            policy,
            adj_in: PrefixSet::default(),
            adj_out: BTreeMap::new(),
            local_addr: Ipv4Addr::UNSPECIFIED,
            max_prefix_restart: None,
            peer_restart: None,
            notified: false,
            stale: None,
        }
    }

    /// After a max-prefix Cease the session stays down for `wait`, then restarts as after any
    /// error; `None` (the default): it stays down until a manual start ([`Event::ManualStart`],
    /// an operator's `clear`). A peer that overflows keeps overflowing: restarting at once only
    /// repeats the flood.
    pub fn set_max_prefix_restart(&mut self, wait: Option<Span>) {
        self.max_prefix_restart = wait;
    }

    /// The session.
    pub fn session(&self) -> &Session {
        &self.session
    }

    /// Its state.
    pub fn state(&self) -> State {
        self.session.state()
    }

    /// The import policy.
    pub fn policy(&self) -> &ImportPolicy {
        &self.policy
    }

    /// Whether the session is external (the neighbor's ASN differs from ours).
    pub fn is_ebgp(&self) -> bool {
        let c = self.session.config();
        c.local_asn != c.peer_asn
    }

    /// The earliest timer: call [`Peer::handle`] with [`Event::Tick`] by then.
    pub fn next_deadline(&self) -> Option<Nanos> {
        let stale = self.stale.as_ref().map(|(_, until)| *until);
        self.session.next_deadline().into_iter().chain(stale).min()
    }

    /// The prefixes accepted and held (in no order).
    pub fn adj_rib_in(&self) -> &PrefixSet {
        &self.adj_in
    }

    /// Gives back the memory of prefixes no longer held (after a bulk withdrawal).
    pub fn shrink_to_fit(&mut self) {
        self.adj_in.shrink_to_fit();
    }

    /// What we advertise, by prefix (before the export rules).
    pub fn adj_rib_out(&self) -> &BTreeMap<Ipv4Net, Arc<PathAttributes>> {
        &self.adj_out
    }

    /// Our address on the connection: the NEXT_HOP of routes advertised without one.
    pub fn set_local_addr(&mut self, addr: Ipv4Addr) {
        self.local_addr = addr;
    }

    /// Replaces the session by one that won a connection collision (RFC 4271 §6.8) and
    /// returns the loser. Only before Established, when the Adj-RIB-In is still empty.
    pub fn replace_session(&mut self, session: Session) -> Session {
        debug_assert!(self.adj_in.is_empty(), "collisions are decided before Established");
        std::mem::replace(&mut self.session, session)
    }

    /// Handles one event at `now`.
    pub fn handle(&mut self, now: Nanos, ev: Event<'_>, out: &mut Vec<PeerAction>) {
        let mut actions = Vec::new();
        self.session.handle(now, ev, &mut actions);
        self.carry_out(now, actions, out);
        if self.stale.as_ref().is_some_and(|(_, until)| now >= *until) {
            self.end_restart(out);
        }
    }

    /// Sends `n` (when a connection is up), closes and goes to Idle; the Adj-RIB-In is flushed.
    pub fn notify_and_reset(&mut self, now: Nanos, n: Notification, reason: String, out: &mut Vec<PeerAction>) {
        let mut actions = Vec::new();
        self.session.notify_and_reset(now, n, reason, &mut actions);
        self.carry_out(now, actions, out);
    }

    /// Adds `prefixes` with `attrs` to what we advertise (replacing earlier attributes) and
    /// sends them when Established.
    pub fn announce(
        &mut self,
        now: Nanos,
        prefixes: &[Ipv4Net],
        attrs: Arc<PathAttributes>,
        out: &mut Vec<PeerAction>,
    ) {
        for p in prefixes {
            self.adj_out.insert(*p, attrs.clone());
        }
        self.send(now, &attrs, prefixes, &[], out);
    }

    /// Stops advertising `prefixes` and sends the withdrawal when Established (prefixes we
    /// did not advertise are not sent).
    pub fn withdraw(&mut self, now: Nanos, prefixes: &[Ipv4Net], out: &mut Vec<PeerAction>) {
        let gone: Vec<Ipv4Net> = prefixes.iter().filter(|p| self.adj_out.remove(p).is_some()).copied().collect();
        if !gone.is_empty() {
            self.send(now, &PathAttributes::default(), &[], &gone, out);
        }
    }

    /// The attributes as the neighbor receives them (RFC 4271 §5.1).
    fn export(&self, attrs: &PathAttributes) -> PathAttributes {
        let mut a = attrs.clone();
        let local_asn = self.session.config().local_asn;
        if self.is_ebgp() {
            a.as_path =
                Some(a.as_path.as_ref().map_or_else(|| AsPath::sequence(vec![local_asn]), |p| p.prepend(local_asn)));
            a.local_pref = None;
            if a.next_hop.is_none() {
                a.next_hop = Some(self.local_addr);
            }
        } else {
            a.as_path.get_or_insert_with(AsPath::default);
            a.local_pref.get_or_insert(100);
            a.next_hop.get_or_insert(self.local_addr);
        }
        a
    }

    fn send(
        &mut self,
        now: Nanos,
        attrs: &PathAttributes,
        nlri: &[Ipv4Net],
        withdrawn: &[Ipv4Net],
        out: &mut Vec<PeerAction>,
    ) {
        if self.session.state() != State::Established || (nlri.is_empty() && withdrawn.is_empty()) {
            return;
        }
        let u = Update {
            withdrawn: withdrawn.to_vec(),
            attrs: if nlri.is_empty() { PathAttributes::default() } else { self.export(attrs) },
            nlri: nlri.to_vec(),
            issues: Vec::new(),
        };
        let mut actions = Vec::new();
        if self.session.send_update(now, &u, &mut actions) {
            out.extend(sends(actions));
            out.push(PeerAction::Sent { announced: nlri.to_vec(), withdrawn: withdrawn.to_vec() });
        }
    }

    /// End-of-RIB after the first full Adj-RIB-Out, to a neighbor that announced graceful
    /// restart (RFC 4724 §2): a restarting neighbor waits for it before it settles its routes.
    fn end_of_rib(&mut self, now: Nanos, out: &mut Vec<PeerAction>) {
        let graceful = self.session.peer_open().is_some_and(|o| {
            o.capabilities.iter().any(|c| matches!(c, crate::wire::Capability::GracefulRestart { .. }))
        });
        let mut actions = Vec::new();
        if graceful && self.session.send_end_of_rib(now, &mut actions) {
            out.extend(sends(actions));
        }
    }

    /// The whole Adj-RIB-Out, one UPDATE per set of attributes (on Established and on
    /// ROUTE-REFRESH).
    fn send_all(&mut self, now: Nanos, out: &mut Vec<PeerAction>) {
        let mut groups: Vec<(Arc<PathAttributes>, Vec<Ipv4Net>)> = Vec::new();
        for (p, a) in &self.adj_out {
            match groups.iter_mut().find(|(g, _)| Arc::ptr_eq(g, a) || **g == **a) {
                Some((_, v)) => v.push(*p),
                None => groups.push((a.clone(), vec![*p])),
            }
        }
        for (a, ps) in groups {
            self.send(now, &a, &ps, &[], out);
        }
    }

    /// The session left Established: the Adj-RIB-In is flushed, or with graceful restart
    /// (the neighbor announced it, and no NOTIFICATION was exchanged) kept stale.
    fn left_established(&mut self, now: Nanos, out: &mut Vec<PeerAction>) {
        match self.peer_restart {
            Some((time, _)) if !self.notified => {
                let (stale, until) = self.stale.get_or_insert_with(Default::default);
                stale.extend(std::mem::take(&mut self.adj_in));
                *until = now + time;
                out.push(PeerAction::Stale { routes: stale.len(), until: *until });
            }
            _ => {
                let stale = self.stale.take().map(|(s, _)| s).unwrap_or_default();
                withdraw_all(std::mem::take(&mut self.adj_in).into_iter().chain(stale), out);
            }
        }
        self.notified = false;
    }

    /// The restart is over (End-of-RIB, the restart time passed, or the neighbor came back
    /// without keeping its forwarding state): the routes still stale are withdrawn.
    fn end_restart(&mut self, out: &mut Vec<PeerAction>) {
        let Some((stale, _)) = self.stale.take() else { return };
        let withdrawn = withdraw_all(stale, out);
        out.push(PeerAction::RestartDone { withdrawn });
    }

    /// Whether the neighbor held `p` (fresh or stale); it holds it no more.
    fn forget(&mut self, p: &Ipv4Net) -> bool {
        self.adj_in.remove(p) | self.stale.as_mut().is_some_and(|(s, _)| s.remove(p))
    }

    fn carry_out(&mut self, now: Nanos, actions: Vec<Action>, out: &mut Vec<PeerAction>) {
        for a in actions {
            match a {
                Action::Connect => out.push(PeerAction::Connect),
                Action::Send(b) => out.push(PeerAction::Send(b)),
                Action::Disconnect => out.push(PeerAction::Disconnect),
                Action::StateChange { from, to } => {
                    out.push(PeerAction::StateChange { from, to });
                    if from == State::Established {
                        self.left_established(now, out);
                    } else if to == State::Idle {
                        self.notified = false;
                    }
                    if to == State::Established {
                        self.send_all(now, out);
                        self.end_of_rib(now, out);
                    }
                }
                Action::OpenReceived(o) => {
                    self.peer_restart = o.graceful_restart_ipv4();
                    // Back without its forwarding state (or without the capability): the stale
                    // routes go now (RFC 4724 §4.2).
                    if !self.peer_restart.is_some_and(|(_, kept)| kept) {
                        self.end_restart(out);
                    }
                    out.push(PeerAction::OpenReceived(o));
                }
                Action::Update(u) => self.update(now, u, out),
                Action::RouteRefresh => self.send_all(now, out),
                Action::NotificationSent(n, r) => {
                    // Hold Timer Expired is how a restarting neighbor that froze is noticed:
                    // graceful restart still applies; anything else we send ends the session.
                    self.notified |= !n.is_hold_timer_expired();
                    out.push(PeerAction::NotificationSent(n, r));
                }
                Action::NotificationReceived(n) => {
                    self.notified = true;
                    out.push(PeerAction::NotificationReceived(n));
                }
            }
        }
    }

    fn update(&mut self, now: Nanos, u: Update, out: &mut Vec<PeerAction>) {
        out.reserve(u.withdrawn.len() + u.nlri.len());
        // The Adj-RIB-In's entries into the cache first, their misses overlapping (see
        // `Rib::prefetch`).
        for p in u.withdrawn.iter().chain(&u.nlri) {
            std::hint::black_box(self.adj_in.contains(p));
        }
        // End-of-RIB (RFC 4724 §2): an UPDATE with nothing in it.
        if u.withdrawn.is_empty() && u.nlri.is_empty() && u.attrs == PathAttributes::default() && u.issues.is_empty() {
            self.end_restart(out);
            return;
        }
        for p in &u.withdrawn {
            if self.forget(p) {
                out.push(PeerAction::Withdrawn { prefix: *p });
            }
        }
        let treat_as_withdraw = u.issues.iter().find(|i| i.action == AttrAction::TreatAsWithdraw).cloned();
        out.extend(u.issues.into_iter().map(PeerAction::AttributeIssue));
        let attrs = Arc::new(u.attrs);
        let path_verdict = self.policy.check_attributes(&attrs);
        for p in &u.nlri {
            let verdict = match &treat_as_withdraw {
                Some(issue) => Err(RejectReason::MalformedAttributes(issue.detail.clone())),
                None => self.policy.check_prefix(*p).and_then(|()| path_verdict.clone()),
            };
            match verdict {
                Ok(()) => {
                    if let Some((stale, _)) = self.stale.as_mut() {
                        stale.remove(p);
                    }
                    self.adj_in.insert(*p);
                    out.push(PeerAction::Accepted { prefix: *p, attrs: attrs.clone() });
                }
                Err(reason) => {
                    out.push(PeerAction::Rejected { prefix: *p, reason });
                    if self.forget(p) {
                        out.push(PeerAction::Withdrawn { prefix: *p });
                    }
                }
            }
        }
        if let Some(max) = self.policy.max_prefixes() {
            let held = self.adj_in.len() + self.stale.as_ref().map_or(0, |(s, _)| s.len());
            if held > max {
                let n = Notification::max_prefixes(max);
                self.notify_and_reset(now, n, format!("{held} prefixes accepted, the limit is {max}"), out);
                self.session.hold_in_idle(self.max_prefix_restart.map(|w| now + w));
            }
        }
    }
}

/// The session's messages to send, as the neighbor's actions.
fn sends(actions: Vec<Action>) -> impl Iterator<Item = PeerAction> {
    actions.into_iter().filter_map(|a| match a {
        Action::Send(b) => Some(PeerAction::Send(b)),
        _ => None,
    })
}

/// Withdraws `prefixes`, in prefix order (the same order whatever the hashing); returns how many.
fn withdraw_all(prefixes: impl IntoIterator<Item = Ipv4Net>, out: &mut Vec<PeerAction>) -> usize {
    let mut gone: Vec<Ipv4Net> = prefixes.into_iter().collect();
    gone.sort_unstable();
    let n = gone.len();
    out.extend(gone.into_iter().map(|prefix| PeerAction::Withdrawn { prefix }));
    n
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::{Capability, Cease, Message, Origin};

    const SEC: u64 = 1_000_000_000;

    fn p(s: &str) -> Ipv4Net {
        s.parse().unwrap()
    }

    /// A provider-side peer of AS 64512 (passive), established over a fake connection.
    fn established(max_prefixes: usize) -> (Peer, Vec<PeerAction>) {
        let cfg = SessionConfig {
            passive: true,
            hold_time: 9,
            ..SessionConfig::new(65000, 64512, Ipv4Addr::new(10, 0, 0, 1))
        };
        let policy = ImportPolicy::provider_with_limit(64512, max_prefixes);
        let mut peer = Peer::new(cfg, policy);
        peer.set_local_addr(Ipv4Addr::new(169, 254, 0, 1));
        let mut out = Vec::new();
        peer.announce(
            Nanos(0),
            &[p("168.86.128.0/18")],
            Arc::new(PathAttributes { origin: Some(Origin::Igp), ..PathAttributes::default() }),
            &mut out,
        );
        assert!(out.is_empty(), "nothing is sent before Established");
        peer.handle(Nanos(0), Event::ManualStart, &mut out);
        peer.handle(Nanos(0), Event::TcpConnected, &mut out);
        let open = Message::Open(Open::new(64512, 9, Ipv4Addr::new(10, 0, 0, 2))).encode(true);
        peer.handle(Nanos(1), Event::Data(&open), &mut out);
        out.clear();
        peer.handle(Nanos(1), Event::Data(&Message::Keepalive.encode(true)), &mut out);
        assert_eq!(peer.state(), State::Established);
        (peer, out)
    }

    fn update(nlri: &[&str], withdrawn: &[&str], path: Vec<u32>) -> Vec<u8> {
        Message::Update(Update {
            withdrawn: withdrawn.iter().map(|s| p(s)).collect(),
            attrs: PathAttributes {
                origin: Some(Origin::Igp),
                as_path: Some(AsPath::sequence(path)),
                next_hop: Some(Ipv4Addr::new(169, 254, 0, 2)),
                ..PathAttributes::default()
            },
            nlri: nlri.iter().map(|s| p(s)).collect(),
            issues: Vec::new(),
        })
        .encode(true)
    }

    fn sent_updates(out: &[PeerAction]) -> Vec<Update> {
        out.iter()
            .filter_map(|a| match a {
                PeerAction::Send(b) => match Message::decode(b, Default::default()).unwrap() {
                    Message::Update(u) => Some(u),
                    _ => None,
                },
                _ => None,
            })
            .collect()
    }

    #[test]
    fn advertises_on_established_with_the_ebgp_export_rules() {
        let (_, out) = established(10);
        let u = sent_updates(&out);
        // The routes, then End-of-RIB (the neighbor announced graceful restart).
        assert_eq!(u.len(), 2, "{out:?}");
        assert_eq!(u[1], Update::default(), "End-of-RIB last");
        assert_eq!(u[0].nlri, vec![p("168.86.128.0/18")]);
        assert_eq!(u[0].attrs.as_path, Some(AsPath::sequence(vec![65000])), "our ASN prepended");
        assert_eq!(u[0].attrs.next_hop, Some(Ipv4Addr::new(169, 254, 0, 1)), "next hop self");
        assert_eq!(u[0].attrs.local_pref, None, "no LOCAL_PREF over eBGP");
    }

    #[test]
    fn accepts_rejects_withdraws_and_flushes() {
        let (mut peer, _) = established(10);
        let mut out = Vec::new();
        peer.handle(Nanos(2), Event::Data(&update(&["45.64.0.0/22", "10.0.0.0/8"], &[], vec![64512])), &mut out);
        assert!(out.iter().any(|a| matches!(a, PeerAction::Accepted { prefix, .. } if *prefix == p("45.64.0.0/22"))));
        assert!(out.iter().any(|a| matches!(a, PeerAction::Rejected { reason: RejectReason::SpecialPurpose(_), .. })));
        assert_eq!(peer.adj_rib_in().len(), 1);
        // A re-announcement that fails the policy takes the old route out.
        out.clear();
        peer.handle(Nanos(3), Event::Data(&update(&["45.64.0.0/22"], &[], vec![3356])), &mut out);
        assert_eq!(
            out,
            vec![
                PeerAction::Rejected {
                    prefix: p("45.64.0.0/22"),
                    reason: RejectReason::FirstAsNotPeer { expected: 64512, found: Some(3356) }
                },
                PeerAction::Withdrawn { prefix: p("45.64.0.0/22") }
            ]
        );
        peer.handle(Nanos(4), Event::Data(&update(&["45.64.0.0/22", "45.64.4.0/24"], &[], vec![64512])), &mut out);
        out.clear();
        peer.handle(Nanos(5), Event::Data(&update(&[], &["45.64.4.0/24", "45.99.0.0/24"], vec![64512])), &mut out);
        assert_eq!(out, vec![PeerAction::Withdrawn { prefix: p("45.64.4.0/24") }], "only what it had");
        // The session goes down (hold timer): the rest is flushed.
        out.clear();
        peer.handle(Nanos(5 + 9 * SEC), Event::Tick, &mut out);
        assert_eq!(peer.state(), State::Idle);
        assert!(out.contains(&PeerAction::Withdrawn { prefix: p("45.64.0.0/22") }), "{out:?}");
        assert!(peer.adj_rib_in().is_empty());
    }

    #[test]
    fn max_prefix_closes_with_cease_1_and_flushes() {
        let (mut peer, _) = established(2);
        let mut out = Vec::new();
        peer.handle(Nanos(2), Event::Data(&update(&["45.64.0.0/24", "45.64.1.0/24"], &[], vec![64512])), &mut out);
        assert_eq!(peer.state(), State::Established, "at the limit is fine");
        out.clear();
        peer.handle(Nanos(3), Event::Data(&update(&["45.64.2.0/24"], &[], vec![64512])), &mut out);
        let n =
            out.iter().find_map(|a| if let PeerAction::NotificationSent(n, _) = a { Some(n.clone()) } else { None });
        let n = n.expect("a NOTIFICATION");
        assert!(n.is_cease(Cease::MaxPrefixes), "{n:?}");
        assert_eq!(n.data, vec![0, 1, 1, 0, 0, 0, 2], "AFI 1, SAFI 1, the limit (RFC 4486)");
        assert_eq!(peer.state(), State::Idle);
        assert_eq!(out.iter().filter(|a| matches!(a, PeerAction::Withdrawn { .. })).count(), 3);
        assert!(peer.adj_rib_in().is_empty());
        // No automatic restart: an hour later it is still down; a manual start restarts it.
        out.clear();
        peer.handle(Nanos(3) + Span::from_secs(3600), Event::Tick, &mut out);
        assert_eq!(peer.state(), State::Idle);
        assert_eq!(peer.next_deadline(), None);
        peer.handle(Nanos(4) + Span::from_secs(3600), Event::ManualStart, &mut out);
        assert_eq!(peer.state(), State::Active);
        // With a restart time, it waits that long.
        let (mut peer, _) = established(2);
        peer.set_max_prefix_restart(Some(Span::from_secs(60)));
        peer.handle(
            Nanos(2),
            Event::Data(&update(&["45.64.0.0/24", "45.64.1.0/24", "45.64.2.0/24"], &[], vec![64512])),
            &mut out,
        );
        assert_eq!(peer.state(), State::Idle);
        assert_eq!(peer.next_deadline(), Some(Nanos(2) + Span::from_secs(60)));
        peer.handle(Nanos(2) + Span::from_secs(60), Event::Tick, &mut out);
        assert_eq!(peer.state(), State::Active);
    }

    #[test]
    fn announce_and_withdraw_while_established_and_route_refresh() {
        let (mut peer, _) = established(10);
        let mut out = Vec::new();
        let learned = Arc::new(PathAttributes {
            origin: Some(Origin::Igp),
            as_path: Some(AsPath::sequence(vec![3356])),
            next_hop: Some(Ipv4Addr::new(192, 0, 2, 9)),
            local_pref: Some(200),
            ..PathAttributes::default()
        });
        peer.announce(Nanos(2), &[p("8.8.8.0/24")], learned, &mut out);
        let u = sent_updates(&out);
        assert_eq!(u[0].attrs.as_path, Some(AsPath::sequence(vec![65000, 3356])));
        assert_eq!(u[0].attrs.next_hop, Some(Ipv4Addr::new(192, 0, 2, 9)), "a learned next hop is kept");
        out.clear();
        peer.withdraw(Nanos(3), &[p("8.8.8.0/24"), p("9.9.9.0/24")], &mut out);
        assert_eq!(sent_updates(&out)[0].withdrawn, vec![p("8.8.8.0/24")]);
        out.clear();
        peer.handle(Nanos(4), Event::Data(&Message::RouteRefresh { afi: 1, safi: 1 }.encode(true)), &mut out);
        assert_eq!(sent_updates(&out)[0].nlri, vec![p("168.86.128.0/18")]);
    }

    #[test]
    fn ibgp_export_keeps_the_path_and_sets_local_pref() {
        let cfg = SessionConfig::new(64512, 64512, Ipv4Addr::new(10, 0, 0, 1));
        let mut peer = Peer::new(cfg, ImportPolicy::Internal);
        peer.set_local_addr(Ipv4Addr::new(10, 0, 0, 1));
        assert!(!peer.is_ebgp());
        let a =
            peer.export(&PathAttributes { as_path: Some(AsPath::sequence(vec![65000])), ..PathAttributes::default() });
        assert_eq!(a.as_path, Some(AsPath::sequence(vec![65000])));
        assert_eq!(a.local_pref, Some(100));
        assert_eq!(a.next_hop, Some(Ipv4Addr::new(10, 0, 0, 1)));
    }

    /// An OPEN from AS 64512 announcing graceful restart for IPv4 unicast, `forwarding` the F
    /// bit, restart time 60 s.
    fn restarting_open(forwarding: bool) -> Vec<u8> {
        let mut open = Open::new(64512, 9, Ipv4Addr::new(10, 0, 0, 2));
        open.capabilities.retain(|c| !matches!(c, Capability::GracefulRestart { .. }));
        let flags = if forwarding { 0x80 } else { 0 };
        open.capabilities.push(Capability::GracefulRestart { flags_time: 60, families: vec![0, 1, 1, flags] });
        Message::Open(open).encode(true)
    }

    /// A provider-side peer whose neighbor announced graceful restart, holding two routes.
    fn with_restart_and_two_routes() -> Peer {
        let cfg = SessionConfig {
            passive: true,
            hold_time: 9,
            ..SessionConfig::new(65000, 64512, Ipv4Addr::new(10, 0, 0, 1))
        };
        let mut peer = Peer::new(cfg, ImportPolicy::provider(64512));
        let mut out = Vec::new();
        peer.handle(Nanos(0), Event::ManualStart, &mut out);
        come_back(&mut peer, Nanos(0), true, &mut out);
        peer.handle(Nanos(2), Event::Data(&update(&["45.64.0.0/24", "45.64.1.0/24"], &[], vec![64512])), &mut out);
        assert_eq!(peer.adj_rib_in().len(), 2);
        peer
    }

    fn come_back(peer: &mut Peer, at: Nanos, forwarding: bool, out: &mut Vec<PeerAction>) {
        peer.handle(at, Event::TcpConnected, out);
        peer.handle(at, Event::Data(&restarting_open(forwarding)), out);
        peer.handle(at, Event::Data(&Message::Keepalive.encode(true)), out);
        assert_eq!(peer.state(), State::Established);
    }

    fn withdrawn(out: &[PeerAction]) -> Vec<Ipv4Net> {
        out.iter().filter_map(|a| if let PeerAction::Withdrawn { prefix } = a { Some(*prefix) } else { None }).collect()
    }

    fn end_of_rib() -> Vec<u8> {
        Message::Update(Update::default()).encode(true)
    }

    #[test]
    fn graceful_restart_keeps_routes_stale_until_end_of_rib() {
        let mut peer = with_restart_and_two_routes();
        let mut out = Vec::new();
        // The connection fails (no NOTIFICATION): the routes stay, stale.
        peer.handle(Nanos(5 * SEC), Event::TcpFails, &mut out);
        assert!(withdrawn(&out).is_empty(), "{out:?}");
        assert!(out.contains(&PeerAction::Stale { routes: 2, until: Nanos(65 * SEC) }), "{out:?}");
        assert_eq!(peer.next_deadline().map(|d| d <= Nanos(65 * SEC)), Some(true));
        // Back with its forwarding state: one route announced again, then End-of-RIB: the
        // other one goes, the first is fresh.
        let mut out = Vec::new();
        peer.handle(Nanos(20 * SEC), Event::ManualStart, &mut out);
        come_back(&mut peer, Nanos(20 * SEC), true, &mut out);
        assert!(withdrawn(&out).is_empty(), "{out:?}");
        peer.handle(Nanos(21 * SEC), Event::Data(&update(&["45.64.1.0/24"], &[], vec![64512])), &mut out);
        let mut out = Vec::new();
        peer.handle(Nanos(22 * SEC), Event::Data(&end_of_rib()), &mut out);
        assert_eq!(withdrawn(&out), [p("45.64.0.0/24")]);
        assert!(out.contains(&PeerAction::RestartDone { withdrawn: 1 }));
        assert_eq!(peer.adj_rib_in().len(), 1);
        // Nothing stale is left to expire.
        let mut out = Vec::new();
        peer.handle(Nanos(80 * SEC), Event::Tick, &mut out);
        assert!(withdrawn(&out).is_empty(), "{out:?}");
    }

    #[test]
    fn graceful_restart_ends_at_the_restart_time_or_without_forwarding_state() {
        // Not back within the restart time: both routes go when it has passed.
        // (Frozen, it is noticed by the hold timer: that is no reason to drop its routes.)
        let mut peer = with_restart_and_two_routes();
        let mut out = Vec::new();
        peer.handle(Nanos(12 * SEC), Event::Tick, &mut out);
        assert!(out.iter().any(|a| matches!(a, PeerAction::NotificationSent(n, _) if n.is_hold_timer_expired())));
        assert!(out.iter().any(|a| matches!(a, PeerAction::Stale { routes: 2, .. })), "{out:?}");
        peer.handle(Nanos(71 * SEC), Event::Tick, &mut out);
        assert!(withdrawn(&out).is_empty());
        peer.handle(Nanos(72 * SEC), Event::Tick, &mut out);
        assert_eq!(withdrawn(&out), [p("45.64.0.0/24"), p("45.64.1.0/24")]);
        // Back without its forwarding state: the stale routes go at its OPEN.
        let mut peer = with_restart_and_two_routes();
        let mut out = Vec::new();
        peer.handle(Nanos(5 * SEC), Event::TcpFails, &mut out);
        peer.handle(Nanos(20 * SEC), Event::ManualStart, &mut out);
        out.clear();
        come_back(&mut peer, Nanos(20 * SEC), false, &mut out);
        assert_eq!(withdrawn(&out), [p("45.64.0.0/24"), p("45.64.1.0/24")]);
        // A NOTIFICATION: no graceful restart, the routes go at once.
        let mut peer = with_restart_and_two_routes();
        let mut out = Vec::new();
        let cease = Message::Notification(Notification::cease(Cease::AdminShutdown)).encode(true);
        peer.handle(Nanos(5 * SEC), Event::Data(&cease), &mut out);
        assert_eq!(withdrawn(&out), [p("45.64.0.0/24"), p("45.64.1.0/24")]);
        assert!(!out.iter().any(|a| matches!(a, PeerAction::Stale { .. })));
    }
}
