//! The load of the calls' RTP streams per direction and VLAN: a second pass over the capture
//! (the replay's report has the streams but not their bytes per direction and tag). Frames
//! are counted at the frame layer with FCS, as the tier's policer counts them by default, and
//! peaks over 1 ms and 1 s are kept as the frames go by, in constant memory.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::net::IpAddr;
use std::path::Path;

use serde::Serialize;
use xconnect_capture::{CaptureError, CaptureReader};
use xconnect_dataplane::police::Direction;
use xconnect_frame::Transport;

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
}

/// A frame size and how often it was seen.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Size {
    /// Bytes with FCS.
    pub bytes: u32,
    /// Share of the direction's frames.
    pub share: f64,
}

/// Reads `path` and tallies the frames of `flows` sent within `[from, to]` (ns), per site
/// (by `prefixes`, else by VLAN) and direction.
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
    while let Some(pkt) = reader.next_packet()? {
        if pkt.ts_ns < from || pkt.ts_ns > to {
            continue;
        }
        let Ok(p) = xconnect_frame::parse(pkt.link_type, pkt.data) else { continue };
        let Transport::Udp { src_port, dst_port, .. } = p.transport else { continue };
        let Some((src, dst)) = p.addresses() else { continue };
        let flow = (src, src_port, dst, dst_port);
        if !flows.contains(&flow) {
            continue;
        }
        let tags = p.vlans.as_slice();
        out.max_tags = out.max_tags.max(tags.len());
        let vlan = tags.first().map(|t| t.vid.value());
        if vlan.is_some() {
            out.tagged_frames += 1;
            out.first_vlan = out.first_vlan.or(vlan);
        } else {
            out.untagged_frames += 1;
        }
        let site = *out.flow_site.entry(flow).or_insert_with(|| site_key(&flow, vlan, prefixes));
        let d = match sides.direction(src, dst) {
            Some(Direction::ToProvider) => 0,
            Some(Direction::ToCustomer) => 1,
            None => {
                out.undirected_frames += 1;
                2
            }
        };
        let ip = u32::from(p.transport_offset - p.net_offset) + 8 + u32::from(p.payload_len);
        let bytes = ETHERNET + 4 * tags.len() as u32 + ip;
        let t = out.tallies.entry((site, d)).or_insert_with(Tally::new);
        t.frames += 1;
        t.bytes += u64::from(bytes);
        t.ms.add(pkt.ts_ns, u64::from(bytes));
        t.s.add(pkt.ts_ns, u64::from(bytes));
        *t.sizes.entry(bytes).or_default() += 1;
    }
    Ok(out)
}

/// The most common frame sizes of a tally, at most `n`, most frequent first.
pub(crate) fn top_sizes(t: &Tally, n: usize) -> Vec<Size> {
    let mut v: Vec<(u32, u64)> = t.sizes.iter().map(|(&b, &c)| (b, c)).collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    v.into_iter().take(n).map(|(bytes, c)| Size { bytes, share: c as f64 / t.frames.max(1) as f64 }).collect()
}
