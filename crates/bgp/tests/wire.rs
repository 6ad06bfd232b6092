//! Codec tests: known bytes both ways, random round trips, and every malformed case mapped to
//! its NOTIFICATION (RFC 4271 §6) or RFC 7606 outcome.

use std::net::Ipv4Addr;

use ipnet::Ipv4Net;
use proptest::prelude::*;
use xconnect_bgp::wire::{
    AsPath, AsWidth, AttrAction, Capability, DecodeCtx, Header, Message, MessageReader, Notification, Open, Origin,
    PathAttributes, RawAttribute, Segment, SegmentType, Update,
};

fn hex(s: &str) -> Vec<u8> {
    let s: String = s.split_whitespace().collect();
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
}

const FOUR: DecodeCtx = DecodeCtx { as_width: AsWidth::Four };
const TWO: DecodeCtx = DecodeCtx { as_width: AsWidth::Two };

fn net(s: &str) -> Ipv4Net {
    s.parse().unwrap()
}

#[test]
fn test_open_bytes_both_ways() {
    // OPEN, AS 65001, hold 90, id 10.0.0.1, capabilities MP(1,1), route refresh, graceful
    // restart (restart time 120 s, no address family: the receiving side only), 4-octet AS
    // 65001. Every byte fixed, the length too: 19 + 10 + 20 = 49 (0x0031).
    let bytes = hex("ffffffffffffffffffffffffffffffff 0031 01
         04 fde9 005a 0a000001 14
         02 12 01 04 0001 00 01 02 00 40 02 0078 41 04 0000fde9");
    assert_eq!(bytes.len(), 49);
    let open = Open::new(65001, 90, Ipv4Addr::new(10, 0, 0, 1));
    assert_eq!(Message::Open(open.clone()).encode(true), bytes);
    assert_eq!(Message::decode(&bytes, DecodeCtx::default()).unwrap(), Message::Open(open));
}

#[test]
fn test_open_four_octet_asn_uses_as_trans() {
    let open = Open::new(4_200_000_001, 180, Ipv4Addr::new(1, 2, 3, 4));
    assert_eq!(open.my_as, 23456);
    let back = Message::decode(&Message::Open(open).encode(true), DecodeCtx::default()).unwrap();
    let Message::Open(o) = back else { panic!() };
    assert_eq!(o.asn(), 4_200_000_001);
    assert!(o.four_octet());
}

#[test]
fn test_update_bytes_both_ways() {
    // ORIGIN IGP, AS_PATH SEQ [65001 3356] (2-octet), NEXT_HOP 192.0.2.1, MED 10,
    // COMMUNITIES 65001:100, NLRI 45.64.0.0/22 and 185.1.2.0/24; withdrawn 100.100.0.0/16.
    // Every byte fixed, the length too: 19 + 2 + 3 + 2 + 34 + 8 = 68 (0x0044).
    let bytes = hex("ffffffffffffffffffffffffffffffff 0044 02
         0003 10 6464
         0022
         40 01 01 00
         40 02 06 02 02 fde9 0d1c
         40 03 04 c0000201
         80 04 04 0000000a
         c0 08 04 fde90064
         16 2d4000 18 b90102");
    assert_eq!(bytes.len(), 68);
    let u = Update {
        withdrawn: vec![net("100.100.0.0/16")],
        attrs: PathAttributes {
            origin: Some(Origin::Igp),
            as_path: Some(AsPath::sequence(vec![65001, 3356])),
            next_hop: Some(Ipv4Addr::new(192, 0, 2, 1)),
            med: Some(10),
            communities: vec![(65001 << 16) | 100],
            ..PathAttributes::default()
        },
        nlri: vec![net("45.64.0.0/22"), net("185.1.2.0/24")],
        issues: vec![],
    };
    assert_eq!(Message::decode(&bytes, TWO).unwrap(), Message::Update(u.clone()));
    assert_eq!(Message::Update(u.clone()).encode(false), bytes);
    // Unknown width: the 2-octet reading is consistent and taken.
    assert_eq!(Message::decode(&bytes, DecodeCtx::default()).unwrap(), Message::Update(u));
}

#[test]
fn test_four_octet_path_to_a_two_octet_peer_goes_in_as4_path() {
    let u = Update {
        attrs: PathAttributes {
            origin: Some(Origin::Igp),
            as_path: Some(AsPath::sequence(vec![4_200_000_001, 3356])),
            next_hop: Some(Ipv4Addr::new(192, 0, 2, 1)),
            ..PathAttributes::default()
        },
        nlri: vec![net("45.64.0.0/22")],
        ..Update::default()
    };
    let old = Message::Update(u.clone()).encode(false);
    // The 2-octet speaker sees AS_TRANS; the merge with AS4_PATH recovers the real path.
    let Message::Update(back) = Message::decode(&old, TWO).unwrap() else { panic!() };
    assert_eq!(back.attrs.as_path, u.attrs.as_path);
    assert!(back.issues.is_empty());
}

#[test]
fn test_unknown_optional_transitive_is_kept_with_partial() {
    let mut u = Update {
        attrs: PathAttributes {
            origin: Some(Origin::Egp),
            as_path: Some(AsPath::sequence(vec![1])),
            next_hop: Some(Ipv4Addr::new(1, 1, 1, 1)),
            other: vec![RawAttribute { flags: 0xc0, code: 99, value: vec![1, 2, 3] }],
            ..PathAttributes::default()
        },
        nlri: vec![net("1.0.0.0/24")],
        ..Update::default()
    };
    let Message::Update(back) = Message::decode(&Message::Update(u.clone()).encode(true), FOUR).unwrap() else {
        panic!()
    };
    u.attrs.other[0].flags |= 0x20;
    assert_eq!(back, u);
    // Unknown optional non-transitive ones are dropped quietly.
    u.attrs.other[0].flags = 0x80;
    let Message::Update(back) = Message::decode(&Message::Update(u).encode(true), FOUR).unwrap() else { panic!() };
    assert!(back.attrs.other.is_empty());
}

#[test]
fn test_notification_keepalive_route_refresh() {
    for m in [
        Message::Keepalive,
        Message::RouteRefresh { afi: 1, safi: 1 },
        Message::Notification(Notification { code: 6, subcode: 2, data: b"bye".to_vec() }),
    ] {
        assert_eq!(Message::decode(&m.encode(true), FOUR).unwrap(), m);
    }
    assert_eq!(Message::Keepalive.encode(true), hex("ffffffffffffffffffffffffffffffff 0013 04"));
    assert_eq!(Notification::new(6, 1).meaning(), "Cease / Maximum Number of Prefixes Reached");
    assert_eq!(Notification::new(4, 0).meaning(), "Hold Timer Expired");
    assert_eq!(Notification::new(6, 9).meaning(), "Cease / Hard Reset");
}

#[test]
fn test_big_announcements_split_under_4096_bytes() {
    let attrs = PathAttributes {
        origin: Some(Origin::Igp),
        as_path: Some(AsPath::sequence(vec![65001])),
        next_hop: Some(Ipv4Addr::new(192, 0, 2, 1)),
        ..PathAttributes::default()
    };
    let nlri: Vec<Ipv4Net> =
        (0..10_000u32).map(|i| Ipv4Net::new(Ipv4Addr::from(0x2d00_0000 + (i << 8)), 24).unwrap()).collect();
    let mut msgs = Vec::new();
    Update::encode_split(&attrs, &nlri, &[], true, &mut msgs);
    assert!(msgs.len() > 1);
    let mut got = Vec::new();
    for m in &msgs {
        assert!(m.len() <= Header::MAX_LEN);
        let Message::Update(u) = Message::decode(m, FOUR).unwrap() else { panic!() };
        got.extend(u.nlri);
    }
    assert_eq!(got, nlri);
}

fn err(bytes: &[u8], ctx: DecodeCtx) -> (u8, u8) {
    let e = Message::decode(bytes, ctx).unwrap_err();
    (e.code, e.subcode)
}

fn update_with(attrs: &[u8], nlri: &[u8]) -> Vec<u8> {
    let mut b = vec![0xff; 16];
    b.extend_from_slice(&[0, 0, 2, 0, 0]);
    b.extend_from_slice(&(attrs.len() as u16).to_be_bytes());
    b.extend_from_slice(attrs);
    b.extend_from_slice(nlri);
    let len = b.len() as u16;
    b[16..18].copy_from_slice(&len.to_be_bytes());
    b
}

const GOOD_ATTRS: &str = "40 01 01 00  40 02 06 02 01 0000fde9  40 03 04 c0000201";

#[test]
fn test_malformed_header() {
    let mut k = Message::Keepalive.encode(true);
    k[3] = 0;
    assert_eq!(err(&k, FOUR), (1, 1), "bad marker");
    let mut k = Message::Keepalive.encode(true);
    k[17] = 20;
    k.push(0);
    let e = Message::decode(&k, FOUR).unwrap_err();
    assert_eq!((e.code, e.subcode, e.data.clone()), (1, 2, vec![0, 20]), "KEEPALIVE of 20 bytes");
    let mut k = Message::Keepalive.encode(true);
    k[18] = 9;
    assert_eq!(err(&k, FOUR), (1, 3), "type 9");
    let mut big = vec![0xff; 16];
    big.extend_from_slice(&[0x10, 0x01, 2]);
    assert_eq!(Header::check(&big).unwrap_err().subcode, 2, "4097 bytes");
}

#[test]
fn test_malformed_update_lengths_reset_the_session() {
    // Withdrawn length overruns the message.
    let mut b = vec![0xff; 16];
    b.extend_from_slice(&[0, 25, 2, 0, 9, 0, 0, 0, 0, 0, 0]);
    assert_eq!(err(&b[..25], FOUR), (3, 1));
    // Total attribute length overruns.
    let mut u = update_with(&hex(GOOD_ATTRS), &[]);
    u[21] = 0xff;
    assert_eq!(err(&u, FOUR), (3, 1));
    // NLRI prefix of /33, and one cut short.
    assert_eq!(err(&update_with(&hex(GOOD_ATTRS), &[33, 1, 2, 3, 4, 5]), FOUR), (3, 10));
    assert_eq!(err(&update_with(&hex(GOOD_ATTRS), &[24, 1, 2]), FOUR), (3, 10));
    // Unrecognized well-known attribute (optional bit clear, code 42).
    let mut a = hex(GOOD_ATTRS);
    a.extend_from_slice(&[0x40, 42, 1, 0]);
    assert_eq!(err(&update_with(&a, &[8, 45]), FOUR), (3, 2));
    // Two MP_REACH_NLRI.
    let mut a = hex(GOOD_ATTRS);
    a.extend_from_slice(&[0x80, 14, 1, 0, 0x80, 14, 1, 0]);
    assert_eq!(err(&update_with(&a, &[8, 45]), FOUR), (3, 1));
}

fn issues(attrs: &[u8], nlri: &[u8], ctx: DecodeCtx) -> Vec<(u8, AttrAction, u8)> {
    let Message::Update(u) = Message::decode(&update_with(attrs, nlri), ctx).unwrap() else { panic!() };
    u.issues.iter().map(|i| (i.code, i.action, i.subcode)).collect()
}

#[test]
fn test_rfc7606_outcomes() {
    use AttrAction::*;
    let nlri = [8u8, 45];
    // Attribute length overrunning the attribute list: treat-as-withdraw, Attribute Length Error.
    let mut a = hex(GOOD_ATTRS);
    a.extend_from_slice(&[0x80, 4, 8, 0, 0]);
    assert_eq!(issues(&a, &nlri, FOUR), vec![(4, TreatAsWithdraw, 5)]);
    // ORIGIN 7.
    assert_eq!(
        issues(&hex("40 01 01 07  40 02 06 02 01 0000fde9  40 03 04 c0000201"), &nlri, FOUR),
        vec![(1, TreatAsWithdraw, 6)]
    );
    // NEXT_HOP of 3 bytes.
    assert_eq!(
        issues(&hex("40 01 01 00  40 02 06 02 01 0000fde9  40 03 03 c00002"), &nlri, FOUR),
        vec![(3, TreatAsWithdraw, 5)]
    );
    // AS_PATH segment count that overruns.
    assert_eq!(
        issues(&hex("40 01 01 00  40 02 06 02 02 0000fde9  40 03 04 c0000201"), &nlri, FOUR),
        vec![(2, TreatAsWithdraw, 11)]
    );
    // Missing NEXT_HOP.
    assert_eq!(issues(&hex("40 01 01 00  40 02 06 02 01 0000fde9"), &nlri, FOUR), vec![(3, TreatAsWithdraw, 3)]);
    // ORIGIN marked optional: flags error.
    assert_eq!(
        issues(&hex("c0 01 01 00  40 02 06 02 01 0000fde9  40 03 04 c0000201"), &nlri, FOUR)[0],
        (1, TreatAsWithdraw, 4)
    );
    // ATOMIC_AGGREGATE with a value and a bad AGGREGATOR: discarded, the route stands.
    let mut a = hex(GOOD_ATTRS);
    a.extend_from_slice(&[0x40, 6, 1, 0, 0xc0, 7, 3, 1, 2, 3]);
    assert_eq!(issues(&a, &nlri, FOUR), vec![(6, Discard, 5), (7, Discard, 5)]);
    // A duplicate MED: the first one counts.
    let mut a = hex(GOOD_ATTRS);
    a.extend_from_slice(&hex("80 04 04 00000001 80 04 04 00000002"));
    let Message::Update(u) = Message::decode(&update_with(&a, &nlri), FOUR).unwrap() else { panic!() };
    assert_eq!(u.attrs.med, Some(1));
    assert!(!u.treat_as_withdraw());
    // A withdraw-only UPDATE needs no attributes.
    assert_eq!(issues(&[], &[], FOUR), vec![]);
}

#[test]
fn test_reader_splits_a_stream_at_any_boundary() {
    let msgs = [
        Message::Open(Open::new(65001, 90, Ipv4Addr::new(10, 0, 0, 1))),
        Message::Keepalive,
        Message::Notification(Notification::new(6, 2)),
    ];
    let stream: Vec<u8> = msgs.iter().flat_map(|m| m.encode(true)).collect();
    for cut in 1..stream.len() {
        let mut r = MessageReader::default();
        let mut got = Vec::new();
        for part in [&stream[..cut], &stream[cut..]] {
            r.push(part);
            while let Some(m) = r.next_message().unwrap() {
                got.push(Message::decode(m, FOUR).unwrap());
            }
        }
        assert_eq!(got, msgs, "cut at {cut}");
        assert_eq!(r.pending(), 0);
    }
}

/// Fuzz crash (bgp_stream, 2026-11-25): an unknown attribute sent with Extended Length on a
/// short value and the unused low flag bits set came back with other flags after a re-encode.
#[test]
fn regression_unknown_attribute_flags_are_normalized() {
    let attrs = hex("ff 00 0000  ef ff 03 010203");
    let Message::Update(u) = Message::decode(&update_with(&attrs, &[]), FOUR).unwrap() else { panic!() };
    assert_eq!(u.attrs.other.iter().map(|r| r.flags).collect::<Vec<_>>(), [0xe0, 0xe0]);
    let again = Message::decode(&Message::Update(u.clone()).encode(true), FOUR).unwrap();
    assert_eq!(again, Message::Update(u));
}

fn arb_net() -> impl Strategy<Value = Ipv4Net> {
    (any::<u32>(), 0u8..=32).prop_map(|(a, l)| Ipv4Net::new(Ipv4Addr::from(a), l).unwrap().trunc())
}

fn arb_path() -> impl Strategy<Value = AsPath> {
    prop::collection::vec(
        (prop_oneof![Just(SegmentType::Sequence), Just(SegmentType::Set)], prop::collection::vec(1u32..u32::MAX, 1..6)),
        0..4,
    )
    .prop_map(|segs| AsPath { segments: segs.into_iter().map(|(kind, asns)| Segment { kind, asns }).collect() })
}

fn arb_attrs() -> impl Strategy<Value = PathAttributes> {
    (
        prop_oneof![Just(Origin::Igp), Just(Origin::Egp), Just(Origin::Incomplete)],
        arb_path(),
        any::<u32>(),
        prop::option::of(any::<u32>()),
        prop::option::of(any::<u32>()),
        any::<bool>(),
        prop::option::of((any::<u32>(), any::<u32>())),
        prop::collection::vec(any::<u32>(), 0..5),
    )
        .prop_map(|(origin, path, nh, med, lp, atomic, aggr, communities)| PathAttributes {
            origin: Some(origin),
            as_path: Some(path),
            next_hop: Some(Ipv4Addr::from(nh)),
            med,
            local_pref: lp,
            atomic_aggregate: atomic,
            aggregator: aggr.map(|(a, b)| (a, Ipv4Addr::from(b))),
            communities,
            other: vec![],
        })
}

proptest! {
    #[test]
    fn prop_update_round_trip(attrs in arb_attrs(), nlri in prop::collection::vec(arb_net(), 0..50),
                              withdrawn in prop::collection::vec(arb_net(), 0..50)) {
        let u = Update { withdrawn, attrs, nlri, issues: vec![] };
        let bytes = Message::Update(u.clone()).encode(true);
        prop_assert_eq!(Message::decode(&bytes, FOUR).unwrap(), Message::Update(u));
    }

    #[test]
    fn prop_open_round_trip(asn in 1u32.., hold in prop_oneof![Just(0u16), 3u16..], id in 1u32..,
                            extra in prop::collection::vec((70u8..200, prop::collection::vec(any::<u8>(), 0..8)), 0..3)) {
        let mut o = Open::new(asn, hold, Ipv4Addr::from(id));
        o.capabilities.extend(extra.into_iter().map(|(code, value)| Capability::Other { code, value }));
        let m = Message::Open(o);
        prop_assert_eq!(Message::decode(&m.encode(true), FOUR).unwrap(), m);
    }

    #[test]
    fn prop_decode_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..200), ty in 1u8..6) {
        let mut b = vec![0xff; 16];
        b.extend_from_slice(&((19 + bytes.len()) as u16).to_be_bytes());
        b.push(ty);
        b.extend_from_slice(&bytes);
        for ctx in [FOUR, TWO, DecodeCtx::default()] {
            let _ = Message::decode(&b, ctx);
        }
    }
}
