//! The codec catalog: the single source of truth for every bandwidth number in the project.
//!
//! Bytes per packet at each layer (reference/voip-bandwidth.md): payload + 12 RTP + 8 UDP +
//! 20 IPv4 = IP; + 14 Ethernet header + 4 FCS = frame (what MEF counts); + 8 preamble/SFD +
//! 12 inter-frame gap = wire; an 802.1Q tag adds 4 to the frame and the wire.

use core::fmt;
use core::str::FromStr;

use serde::Serialize;

/// RTP + UDP + IPv4 headers.
pub const IP_OVERHEAD: u32 = 12 + 8 + 20;
/// Ethernet header and FCS.
pub const FRAME_OVERHEAD: u32 = 14 + 4;
/// Preamble, start delimiter and inter-frame gap.
pub const WIRE_OVERHEAD: u32 = 8 + 12;
/// One 802.1Q tag.
pub const VLAN_TAG: u32 = 4;

/// A voice codec as RTP carries it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Codec {
    /// G.711 μ-law (PCMU), 64 kbit/s.
    G711U,
    /// G.711 A-law (PCMA), 64 kbit/s.
    G711A,
    /// G.729, 8 kbit/s.
    G729,
    /// G.722, 64 kbit/s (16 kHz audio, but an 8000 Hz RTP clock: RFC 3551 §4.5.2).
    G722,
    /// Opus at a nominal 32 kbit/s (variable in reality), 48 kHz RTP clock, dynamic PT 111.
    Opus,
}

/// A bandwidth layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum Layer {
    /// The IP packet.
    Ip,
    /// The Ethernet frame with FCS (MEF's count, the policer's default).
    Frame,
    /// The frame plus preamble and inter-frame gap.
    Wire,
}

/// A codec or packet time that is not in the catalog.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CodecError {
    /// Unknown codec name.
    Unknown(String),
    /// A packet time the codec does not allow.
    Ptime {
        /// The codec.
        codec: Codec,
        /// The packet time asked for.
        ptime_ms: u32,
    },
}

impl fmt::Display for CodecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CodecError::Unknown(s) => write!(f, "unknown codec {s:?}: expected g711u, g711a, g729, g722 or opus"),
            CodecError::Ptime { codec, ptime_ms } => {
                write!(f, "{codec} does not allow a {ptime_ms} ms packet time: allowed are {:?} ms", codec.ptimes())
            }
        }
    }
}

impl std::error::Error for CodecError {}

impl Codec {
    /// Every codec.
    pub const ALL: [Codec; 5] = [Codec::G711U, Codec::G711A, Codec::G729, Codec::G722, Codec::Opus];

    /// The RTP payload type (RFC 3551 static types; 111 for Opus, a common dynamic choice).
    pub const fn payload_type(self) -> u8 {
        match self {
            Codec::G711U => 0,
            Codec::G711A => 8,
            Codec::G729 => 18,
            Codec::G722 => 9,
            Codec::Opus => 111,
        }
    }

    /// The RTP clock rate in Hz.
    pub const fn clock_rate(self) -> u32 {
        match self {
            Codec::Opus => 48_000,
            _ => 8_000,
        }
    }

    /// The codec bit rate, bit/s.
    pub const fn bitrate_bps(self) -> u32 {
        match self {
            Codec::G711U | Codec::G711A | Codec::G722 => 64_000,
            Codec::G729 => 8_000,
            Codec::Opus => 32_000,
        }
    }

    /// Allowed packet times in ms: multiples of 10 ms up to 60 (G.729 frames are 10 ms; Opus
    /// frames 10, 20, 40 or 60 ms; G.711 and G.722 are sample-based and 10–60 ms is what
    /// RTP profiles and SDP `ptime` use in practice).
    pub const fn ptimes(self) -> &'static [u32] {
        match self {
            Codec::Opus => &[10, 20, 40, 60],
            _ => &[10, 20, 30, 40, 50, 60],
        }
    }

    /// Checks a packet time.
    pub fn check_ptime(self, ptime_ms: u32) -> Result<(), CodecError> {
        if self.ptimes().contains(&ptime_ms) {
            Ok(())
        } else {
            Err(CodecError::Ptime { codec: self, ptime_ms })
        }
    }

    /// Audio payload bytes per packet: bit rate × ptime / 8.
    pub const fn payload_bytes(self, ptime_ms: u32) -> u32 {
        self.bitrate_bps() / 1000 * ptime_ms / 8
    }

    /// RTP timestamp increment per packet.
    pub const fn timestamp_step(self, ptime_ms: u32) -> u32 {
        self.clock_rate() / 1000 * ptime_ms
    }

    /// Bytes per packet at a layer, with or without an 802.1Q tag.
    pub const fn packet_bytes(self, ptime_ms: u32, layer: Layer, vlan: bool) -> u32 {
        let ip = self.payload_bytes(ptime_ms) + IP_OVERHEAD;
        let tag = if vlan { VLAN_TAG } else { 0 };
        match layer {
            Layer::Ip => ip,
            Layer::Frame => ip + FRAME_OVERHEAD + tag,
            Layer::Wire => ip + FRAME_OVERHEAD + WIRE_OVERHEAD + tag,
        }
    }

    /// Bit rate of one stream (one direction of a call) at a layer, bit/s (exact rational:
    /// bytes × 8 × 1000 / ptime).
    pub fn stream_bps(self, ptime_ms: u32, layer: Layer, vlan: bool) -> f64 {
        f64::from(self.packet_bytes(ptime_ms, layer, vlan)) * 8.0 * 1000.0 / f64::from(ptime_ms)
    }

    /// How many calls (streams in one direction) fit a rate at a layer: the largest n with
    /// n × stream rate ≤ rate, computed in integers.
    pub fn calls_per_rate(self, rate_bps: u64, ptime_ms: u32, layer: Layer, vlan: bool) -> u64 {
        // n × bytes × 8 × 1000 / ptime ≤ rate  ⇔  n ≤ rate × ptime / (bytes × 8000)
        rate_bps * u64::from(ptime_ms) / (u64::from(self.packet_bytes(ptime_ms, layer, vlan)) * 8000)
    }

    /// "g711u", "g711a", "g729", "g722" or "opus".
    pub const fn name(self) -> &'static str {
        match self {
            Codec::G711U => "g711u",
            Codec::G711A => "g711a",
            Codec::G729 => "g729",
            Codec::G722 => "g722",
            Codec::Opus => "opus",
        }
    }
}

impl fmt::Display for Codec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Codec {
    type Err = CodecError;
    fn from_str(s: &str) -> Result<Codec, CodecError> {
        match s.to_ascii_lowercase().as_str() {
            "g711u" | "pcmu" | "g711" => Ok(Codec::G711U),
            "g711a" | "pcma" => Ok(Codec::G711A),
            "g729" => Ok(Codec::G729),
            "g722" => Ok(Codec::G722),
            "opus" => Ok(Codec::Opus),
            _ => Err(CodecError::Unknown(s.to_string())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// reference/voip-bandwidth.md, "Codecs": kbit/s at IP, frame and wire.
    #[test]
    fn reference_table() {
        let kbps = |c: Codec, p, l| (c.stream_bps(p, l, false) / 100.0).round() / 10.0;
        for (codec, ptime, ip, frame, wire) in [
            (Codec::G711U, 10, 96.0, 110.4, 126.4),
            (Codec::G711U, 20, 80.0, 87.2, 95.2),
            (Codec::G711A, 30, 74.7, 79.5, 84.8),
            (Codec::G729, 20, 24.0, 31.2, 39.2),
            (Codec::G722, 20, 80.0, 87.2, 95.2),
        ] {
            assert_eq!(kbps(codec, ptime, Layer::Ip), ip, "{codec}/{ptime} IP");
            assert_eq!(kbps(codec, ptime, Layer::Frame), frame, "{codec}/{ptime} frame");
            assert_eq!(kbps(codec, ptime, Layer::Wire), wire, "{codec}/{ptime} wire");
        }
        assert_eq!(Codec::G711U.payload_bytes(20), 160);
        assert_eq!(Codec::G722.timestamp_step(20), 160, "G.722's RTP clock is 8000 Hz");
        assert_eq!(Codec::Opus.timestamp_step(20), 960);
    }

    /// reference/voip-bandwidth.md, "Calls per tier, one direction, G.711/20 ms".
    #[test]
    fn calls_per_tier() {
        let c = Codec::G711U;
        for (rate, ip, frame, wire) in [
            (10_000_000u64, 125, 114, 105),
            (100_000_000, 1250, 1146, 1050),
            (500_000_000, 6250, 5733, 5252),
            (1_000_000_000, 12500, 11467, 10504),
        ] {
            assert_eq!(c.calls_per_rate(rate, 20, Layer::Ip, false), ip);
            assert_eq!(c.calls_per_rate(rate, 20, Layer::Frame, false), frame);
            assert_eq!(c.calls_per_rate(rate, 20, Layer::Wire, false), wire);
        }
        // With an 802.1Q tag: 222-byte frames -> 1126 per 100 Mbit/s; 242 on the wire -> 1033.
        assert_eq!(c.calls_per_rate(100_000_000, 20, Layer::Frame, true), 1126);
        assert_eq!(c.calls_per_rate(100_000_000, 20, Layer::Wire, true), 1033);
    }

    #[test]
    fn bad_names_and_ptimes() {
        assert!("speex".parse::<Codec>().unwrap_err().to_string().contains("g711u, g711a"));
        assert_eq!(Codec::G729.check_ptime(25), Err(CodecError::Ptime { codec: Codec::G729, ptime_ms: 25 }));
        assert!(Codec::Opus.check_ptime(30).is_err());
        assert!(Codec::G711A.check_ptime(30).is_ok());
    }
}
