//! The load of the calls' RTP streams per site and direction, and what each stream's packets
//! say of its packet time and talkspurts: a second pass over the capture (the replay's report
//! has the streams but not their bytes per direction and tag, and its analysis, the hot loop
//! of every replay, keeps only what its report shows). Frames are counted at the frame layer
//! with FCS, as the tier's policer counts them by default, and peaks over 1 ms and 1 s are
//! kept as the frames go by, in constant memory.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::net::IpAddr;
use std::path::Path;

use serde::Serialize;
use xconnect_capture::{CaptureError, CaptureReader};
use xconnect_dataplane::police::Direction;
use xconnect_frame::{RtpPacket, Transport};

use crate::sides::Sides;

/// A stream's addresses and ports (every SSRC between them).
pub(crate) type Flow = (IpAddr, u16, IpAddr, u16);

/// Ethernet header and FCS: 14 + 4 bytes.
const ETHERNET: u32 = 18;

/// The most bytes in one interval, kept as frames arrive in time order.
#[derive(Debug, Clone, Copy, Default)]
struct Peak {
    width_ns: u64,
    bin: u64,
    bytes: u64,
    max: u64,
}

impl Peak {
    fn new(width_ns: u64) -> Peak {
        Peak { width_ns, ..Peak::default() }
    }

    fn add(&mut self, ts: u64, bytes: u64) {
        let bin = ts / self.width_ns;
        // A frame stamped before the current interval (a capture's clock stepping back) counts
        // in it.
        if bin > self.bin {
            self.max = self.max.max(self.bytes);
            self.bin = bin;
            self.bytes = 0;
        }
        self.bytes += bytes;
    }

    fn mbps(&self) -> f64 {
        self.max.max(self.bytes) as f64 * 8.0 / (self.width_ns as f64 / 1e9) / 1e6
    }
}

/// One direction of one VLAN (or of untagged frames).
#[derive(Debug, Clone)]
pub(crate) struct Tally {
    pub frames: u64,
    /// Frame bytes with FCS.
    pub bytes: u64,
    ms: Peak,
    s: Peak,
    /// Frames per frame size (bytes with FCS).
    pub sizes: BTreeMap<u32, u64>,
}

impl Tally {
    fn new() -> Tally {
        Tally { frames: 0, bytes: 0, ms: Peak::new(1_000_000), s: Peak::new(1_000_000_000), sizes: BTreeMap::new() }
    }

    /// Peak over 1 ms, Mbit/s.
    pub fn peak_1ms_mbps(&self) -> f64 {
        self.ms.mbps()
    }

    /// Peak over 1 s, Mbit/s.
    pub fn peak_1s_mbps(&self) -> f64 {
        self.s.mbps()
    }
}

/// What the pass learns of one RTP stream (a flow and an SSRC) that the replay's analysis does
/// not keep: how often it restarted a talkspurt, its payload size, its packet time in
/// timestamp units.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Facts {
    /// Packets with the marker bit (a talkspurt's or an event's start).
    pub markers: u64,
    /// Payload bytes of the last packet of the stream's first payload type (its codec's).
    pub payload_bytes: u16,
    /// The smallest timestamp increase between consecutive sequence numbers of the first
    /// payload type (0: none seen): the samples per packet, silence or not.
    pub ts_step: u32,
    first_pt: Option<u8>,
    /// The last packet's (sequence number, timestamp) when it had the first payload type.
    last: Option<(u16, u32)>,
}

impl Facts {
    /// Facts as a test states them.
    #[cfg(test)]
    pub(crate) fn of(markers: u64, payload_bytes: u16, ts_step: u32) -> Facts {
        Facts { markers, payload_bytes, ts_step, ..Facts::default() }
    }

    fn add(&mut self, marker: bool, pt: u8, seq: u16, ts: u32, payload: u16) {
        self.markers += u64::from(marker);
        let first = *self.first_pt.get_or_insert(pt);
        if pt != first {
            self.last = None;
            return;
        }
        self.payload_bytes = payload;
        if let Some((s, t)) = self.last {
            let step = ts.wrapping_sub(t);
            if seq == s.wrapping_add(1) && step != 0 && step < 0x8000_0000 && (self.ts_step == 0 || step < self.ts_step)
            {
                self.ts_step = step;
            }
        }
        self.last = Some((seq, ts));
    }
}

/// Which site a stream's frames cross.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum SiteKey {
    /// Sites told apart by the frames' outer VLAN id (`None`: untagged).
    Vlan(Option<u16>),
    /// The site whose prefix (`--site-prefix`) holds one of the stream's addresses.
    Prefix(usize),
    /// In none of the sites' prefixes.
    Outside,
}

/// The site of a stream between `flow`'s addresses, tagged `vlan`: by the sites' prefixes
/// when given (the first that holds either address), else by the tag.
pub(crate) fn site_key(flow: &Flow, vlan: Option<u16>, prefixes: &[(String, ipnet::IpNet)]) -> SiteKey {
    if prefixes.is_empty() {
        return SiteKey::Vlan(vlan);
    }
    prefixes
        .iter()
        .position(|(_, p)| p.contains(&flow.0) || p.contains(&flow.2))
        .map_or(SiteKey::Outside, SiteKey::Prefix)
}

/// What the pass found.
#[derive(Debug, Default)]
pub(crate) struct Load {
    /// Per (site, direction): 0 is customer → provider, 1 the other way, 2 between addresses
    /// the sides' prefixes do not place.
    pub tallies: BTreeMap<(SiteKey, usize), Tally>,
    /// The site of each stream's flow (from its first frame).
    pub flow_site: HashMap<Flow, SiteKey>,
    /// The first outer VLAN id seen, and frames with and without a tag.
    pub first_vlan: Option<u16>,
    pub tagged_frames: u64,
    pub untagged_frames: u64,
    /// The most tags a stream's frame carried.
    pub max_tags: usize,
    /// Frames of the streams whose direction the prefixes do not tell.
    pub undirected_frames: u64,
    /// Per stream (flow and SSRC).
    pub facts: HashMap<(Flow, u32), Facts>,
}

/// A frame size and how often it was seen.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Size {
    /// Bytes with FCS.
    pub bytes: u32,
    /// Share of the direction's frames.
    pub share: f64,
}

/// A flow of the pass: its site, its tally, its streams' facts (found at its first frame).
#[derive(Debug, Default)]
struct Entry {
    /// Its site and the index of its (site, direction) tally, once its first frame is seen.
    seen: Option<(SiteKey, usize)>,
    /// Facts per SSRC (a flow rarely has more than one).
    ssrcs: Vec<(u32, Facts)>,
}

/// Reads `path` and tallies the frames of `flows` sent within `[from, to]` (ns), per site
/// (by `prefixes`, else by VLAN) and direction. One hash lookup per frame: a flow's site,
/// direction and tally are found at its first frame.
pub(crate) fn load(
    path: &Path,
    flows: &HashSet<Flow>,
    from: u64,
    to: u64,
    sides: &Sides,
    prefixes: &[(String, ipnet::IpNet)],
) -> Result<Load, CaptureError> {
    let mut reader = CaptureReader::open(path)?;
    let mut out = Load::default();
    let mut entries: HashMap<Flow, Entry> = flows.iter().map(|f| (*f, Entry::default())).collect();
    let mut tallies: Vec<((SiteKey, usize), Tally)> = Vec::new();
    while let Some(pkt) = reader.next_packet()? {
        if pkt.ts_ns < from || pkt.ts_ns > to {
            continue;
        }
        // Lax, as the replay reads a frame its snap length cut: sizes come from the headers'
        // length fields, not from the bytes captured.
        let p = xconnect_frame::parse_lax(pkt.link_type, pkt.data).parsed;
        let Transport::Udp { src_port, dst_port, length: udp_len, .. } = p.transport else { continue };
        let Some((src, dst)) = p.addresses() else { continue };
        let flow = (src, src_port, dst, dst_port);
        let Some(e) = entries.get_mut(&flow) else { continue };
        let tags = p.vlans.as_slice();
        out.max_tags = out.max_tags.max(tags.len());
        let vlan = tags.first().map(|t| t.vid.value());
        if vlan.is_some() {
            out.tagged_frames += 1;
            out.first_vlan = out.first_vlan.or(vlan);
        } else {
            out.untagged_frames += 1;
        }
        let (_, tally) = *e.seen.get_or_insert_with(|| {
            let site = site_key(&flow, vlan, prefixes);
            let d = match sides.direction(src, dst) {
                Some(Direction::ToProvider) => 0,
                Some(Direction::ToCustomer) => 1,
                None => 2,
            };
            let i = tallies.iter().position(|(k, _)| *k == (site, d)).unwrap_or_else(|| {
                tallies.push(((site, d), Tally::new()));
                tallies.len() - 1
            });
            (site, i)
        });
        let captured = p.payload(pkt.data);
        if let Ok(rtp) = RtpPacket::new_checked(captured) {
            let ssrc = rtp.ssrc();
            // A whole packet's payload less its padding; a cut one's by the UDP length.
            let payload = if captured.len() + 8 == usize::from(udp_len) {
                rtp.payload().len() as u16
            } else {
                udp_len.saturating_sub(8 + rtp.header_len() as u16)
            };
            let i = e.ssrcs.iter().position(|(s, _)| *s == ssrc).unwrap_or_else(|| {
                e.ssrcs.push((ssrc, Facts::default()));
                e.ssrcs.len() - 1
            });
            e.ssrcs[i].1.add(rtp.marker(), rtp.payload_type().value(), rtp.sequence_number(), rtp.timestamp(), payload);
        }
        let ((_, d), t) = &mut tallies[tally];
        out.undirected_frames += u64::from(*d == 2);
        let ip = u32::from(p.transport_offset - p.net_offset) + u32::from(udp_len);
        let bytes = ETHERNET + 4 * tags.len() as u32 + ip;
        t.frames += 1;
        t.bytes += u64::from(bytes);
        t.ms.add(pkt.ts_ns, u64::from(bytes));
        t.s.add(pkt.ts_ns, u64::from(bytes));
        *t.sizes.entry(bytes).or_default() += 1;
    }
    out.tallies = tallies.into_iter().collect();
    for (flow, e) in entries {
        if let Some((site, _)) = e.seen {
            out.flow_site.insert(flow, site);
        }
        out.facts.extend(e.ssrcs.into_iter().map(|(ssrc, f)| ((flow, ssrc), f)));
    }
    Ok(out)
}

/// The most common frame sizes of a tally, at most `n`, most frequent first.
pub(crate) fn top_sizes(t: &Tally, n: usize) -> Vec<Size> {
    let mut v: Vec<(u32, u64)> = t.sizes.iter().map(|(&b, &c)| (b, c)).collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    v.into_iter().take(n).map(|(bytes, c)| Size { bytes, share: c as f64 / t.frames.max(1) as f64 }).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn facts_count_talkspurts_and_the_smallest_step_of_the_codec() {
        let mut f = Facts::default();
        // 20 ms G.711 (160 units), a pause of 5 packet times, an event packet (PT 101) that
        // repeats a timestamp, then audio again.
        f.add(true, 0, 1, 1000, 160);
        f.add(false, 0, 2, 1160, 160);
        f.add(true, 0, 3, 2120, 160);
        f.add(true, 101, 4, 2120, 4);
        f.add(false, 0, 5, 2440, 160);
        f.add(false, 0, 6, 2600, 160);
        assert_eq!(f, Facts { markers: 3, payload_bytes: 160, ts_step: 160, first_pt: Some(0), last: Some((6, 2600)) });
        // A lost packet's gap (sequence + 2) is not a step.
        let mut g = Facts::default();
        g.add(false, 0, 1, 0, 160);
        g.add(false, 0, 3, 320, 160);
        assert_eq!(g.ts_step, 0);
    }

    #[test]
    fn peaks_are_the_busiest_interval() {
        let mut p = Peak::new(1_000_000);
        for (t, b) in [(0, 100), (500_000, 100), (1_200_000, 50), (3_000_000, 300), (2_900_000, 10)] {
            p.add(t, b);
        }
        // 200 B in the first ms; 300 + 10 (a frame stamped just before) in the fourth.
        assert!((p.mbps() - 310.0 * 8.0 / 1e-3 / 1e6).abs() < 1e-9, "{}", p.mbps());
    }
}
