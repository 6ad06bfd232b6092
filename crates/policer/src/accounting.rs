//! Which bytes of a frame count against the rate.

use core::fmt;
use core::str::FromStr;

/// Byte accounting of a frame against a rate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Accounting {
    /// The Ethernet frame from destination address to FCS inclusive, as MEF 10.3 counts
    /// (the default). A capture normally lacks the 4-byte FCS; it is added back.
    #[default]
    Frame,
    /// The frame as captured, without the FCS: what Linux `tc` (police, tbf) charges, the
    /// skb length.
    L2,
    /// The IP packet only (IPv4 total length): what an IP-layer policer counts.
    Ip,
    /// The frame plus preamble, start delimiter and inter-frame gap (8 + 12 bytes): what the
    /// fiber carries, and what a line-rate figure is measured in.
    Wire,
}

impl Accounting {
    /// Bytes per frame beyond the frame proper, on the wire.
    pub const PREAMBLE_AND_IFG: u32 = 20;
    /// The frame check sequence.
    pub const FCS: u32 = 4;

    /// Bytes counted for a frame whose captured form (without FCS) is `frame_len` bytes and
    /// whose IP packet, if any, is `ip_len` bytes.
    #[inline]
    pub fn bytes(self, frame_len: u32, ip_len: Option<u32>) -> u32 {
        match self {
            Accounting::Frame => frame_len + Self::FCS,
            Accounting::L2 => frame_len,
            Accounting::Ip => ip_len.unwrap_or(frame_len),
            Accounting::Wire => frame_len + Self::FCS + Self::PREAMBLE_AND_IFG,
        }
    }

    /// "frame", "l2", "ip" or "wire".
    pub fn as_str(self) -> &'static str {
        match self {
            Accounting::Frame => "frame",
            Accounting::L2 => "l2",
            Accounting::Ip => "ip",
            Accounting::Wire => "wire",
        }
    }
}

impl fmt::Display for Accounting {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Accounting {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "frame" => Ok(Accounting::Frame),
            "l2" => Ok(Accounting::L2),
            "ip" => Ok(Accounting::Ip),
            "wire" => Ok(Accounting::Wire),
            other => Err(format!("unknown accounting {other:?}: expected frame, l2, ip or wire")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn g711_frame_counts() {
        // voip-bandwidth.md: a G.711/20 ms packet is 200 B at IP, 218 B as a frame, 238 B on
        // the wire; the capture holds 214 B (no FCS).
        assert_eq!(Accounting::Ip.bytes(214, Some(200)), 200);
        assert_eq!(Accounting::Frame.bytes(214, Some(200)), 218);
        assert_eq!(Accounting::L2.bytes(214, Some(200)), 214);
        assert_eq!(Accounting::Wire.bytes(214, Some(200)), 238);
    }
}
