//! RTCP compound packets (RFC 3550 §6): sender reports, receiver report blocks, SDES, BYE,
//! and the VoIP metrics block of extended reports (RFC 3611 §4.7). Zero-copy: [`walk`] hands
//! each item to a closure.

use core::fmt;

/// Sender report.
pub const PT_SR: u8 = 200;
/// Receiver report.
pub const PT_RR: u8 = 201;
/// Source description.
pub const PT_SDES: u8 = 202;
/// Goodbye.
pub const PT_BYE: u8 = 203;
/// Extended report.
pub const PT_XR: u8 = 207;

/// Why bytes are not a valid compound packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RtcpError {
    /// Shorter than a header, or than its report blocks.
    Truncated,
    /// Version is not 2.
    Version,
    /// A packet's length field runs past the datagram.
    Length,
}

impl RtcpError {
    /// Stable key for the report's `malformed` tally.
    pub fn key(self) -> &'static str {
        match self {
            RtcpError::Truncated => "rtcp.truncated",
            RtcpError::Version => "rtcp.version_not_2",
            RtcpError::Length => "rtcp.length_beyond_datagram",
        }
    }
}

impl fmt::Display for RtcpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RtcpError::Truncated => "an RTCP packet is shorter than its header or its report blocks",
            RtcpError::Version => "an RTCP packet's version is not 2",
            RtcpError::Length => "an RTCP packet's length field runs past the end of the datagram",
        })
    }
}

/// One reception report block (RFC 3550 §6.4.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReportBlock {
    /// The source this block is about.
    pub ssrc: u32,
    /// Fraction lost since the last report, /256.
    pub fraction_lost: u8,
    /// Cumulative packets lost (signed 24 bits).
    pub cumulative_lost: i32,
    /// Extended highest sequence number received.
    pub highest_seq: u32,
    /// Interarrival jitter, timestamp units.
    pub jitter: u32,
    /// Middle 32 bits of the last SR's NTP timestamp (0: none yet).
    pub lsr: u32,
    /// Delay since that SR, 1/65536 s.
    pub dlsr: u32,
}

/// The VoIP metrics of an extended report (RFC 3611 §4.7.1), the fields a voice report uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VoipMetrics {
    /// The source the metrics are about.
    pub ssrc: u32,
    /// Loss rate, /256.
    pub loss_rate: u8,
    /// Discard rate, /256.
    pub discard_rate: u8,
    /// Round-trip delay, ms.
    pub round_trip_ms: u16,
    /// R factor (127: unavailable).
    pub r_factor: u8,
    /// MOS-LQ × 10 (127: unavailable).
    pub mos_lq: u8,
    /// MOS-CQ × 10 (127: unavailable).
    pub mos_cq: u8,
}

/// One item of a compound packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Item {
    /// A sender report's sender info.
    Sender {
        /// The sender.
        ssrc: u32,
        /// NTP timestamp.
        ntp: u64,
        /// Packets sent.
        packets: u32,
    },
    /// A reception report block, from an SR or an RR.
    Report {
        /// Who reports.
        reporter: u32,
        /// The block.
        block: ReportBlock,
    },
    /// VoIP metrics from an XR.
    Voip {
        /// Who reports.
        reporter: u32,
        /// The metrics.
        metrics: VoipMetrics,
    },
    /// A BYE for this many sources.
    Bye(u8),
    /// SDES or another packet type.
    Other(u8),
}

fn be32(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// Whether a UDP payload starts like RTCP: version 2 and a packet type 200–207.
#[inline]
pub fn looks_like_rtcp(b: &[u8]) -> bool {
    b.len() >= 8 && b[0] >> 6 == 2 && (PT_SR..=PT_XR).contains(&b[1])
}

fn blocks(b: &[u8], reporter: u32, count: usize, f: &mut impl FnMut(Item)) -> Result<(), RtcpError> {
    if b.len() < count * 24 {
        return Err(RtcpError::Truncated);
    }
    for i in 0..count {
        let x = &b[i * 24..];
        let cum = be32(x, 4) & 0x00ff_ffff;
        let cumulative_lost = ((cum << 8) as i32) >> 8;
        f(Item::Report {
            reporter,
            block: ReportBlock {
                ssrc: be32(x, 0),
                fraction_lost: x[4],
                cumulative_lost,
                highest_seq: be32(x, 8),
                jitter: be32(x, 12),
                lsr: be32(x, 16),
                dlsr: be32(x, 20),
            },
        });
    }
    Ok(())
}

/// Walks a compound packet, calling `f` for each item. Items before an error are delivered.
pub fn walk(mut b: &[u8], mut f: impl FnMut(Item)) -> Result<(), RtcpError> {
    if b.len() < 4 {
        return Err(RtcpError::Truncated);
    }
    while b.len() >= 4 {
        if b[0] >> 6 != 2 {
            return Err(RtcpError::Version);
        }
        let count = usize::from(b[0] & 0x1f);
        let pt = b[1];
        let len = (usize::from(u16::from_be_bytes([b[2], b[3]])) + 1) * 4;
        if len > b.len() {
            return Err(RtcpError::Length);
        }
        // Padding (P bit) only in the last packet: its count is in the last byte.
        let body = &b[4..len];
        match pt {
            PT_SR => {
                if body.len() < 24 {
                    return Err(RtcpError::Truncated);
                }
                let ssrc = be32(body, 0);
                let ntp = u64::from(be32(body, 4)) << 32 | u64::from(be32(body, 8));
                f(Item::Sender { ssrc, ntp, packets: be32(body, 16) });
                blocks(&body[24..], ssrc, count, &mut f)?;
            }
            PT_RR => {
                if body.len() < 4 {
                    return Err(RtcpError::Truncated);
                }
                blocks(&body[4..], be32(body, 0), count, &mut f)?;
            }
            PT_BYE => f(Item::Bye(count as u8)),
            PT_XR => {
                if body.len() < 4 {
                    return Err(RtcpError::Truncated);
                }
                let reporter = be32(body, 0);
                let mut x = &body[4..];
                while x.len() >= 4 {
                    let bt = x[0];
                    let blen = (usize::from(u16::from_be_bytes([x[2], x[3]])) + 1) * 4;
                    if blen > x.len() {
                        return Err(RtcpError::Length);
                    }
                    if bt == 7 && blen >= 36 {
                        f(Item::Voip {
                            reporter,
                            metrics: VoipMetrics {
                                ssrc: be32(x, 4),
                                loss_rate: x[8],
                                discard_rate: x[9],
                                round_trip_ms: u16::from_be_bytes([x[16], x[17]]),
                                r_factor: x[24],
                                mos_lq: x[26],
                                mos_cq: x[27],
                            },
                        });
                    }
                    x = &x[blen..];
                }
            }
            other => f(Item::Other(other)),
        }
        b = &b[len..];
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sender_report_with_a_block_then_sdes() {
        let mut p = vec![0x81, 200, 0, 12];
        p.extend_from_slice(&7u32.to_be_bytes());
        p.extend_from_slice(&0x0102_0304_0506_0708u64.to_be_bytes());
        p.extend_from_slice(&160u32.to_be_bytes());
        p.extend_from_slice(&50u32.to_be_bytes());
        p.extend_from_slice(&8000u32.to_be_bytes());
        p.extend_from_slice(&9u32.to_be_bytes());
        p.extend_from_slice(&[64, 0xff, 0xff, 0xfe]); // 25 %, cumulative −2
        p.extend_from_slice(&1000u32.to_be_bytes());
        p.extend_from_slice(&80u32.to_be_bytes());
        p.extend_from_slice(&0x0304_0506u32.to_be_bytes());
        p.extend_from_slice(&65_536u32.to_be_bytes());
        p.extend_from_slice(&[0x81, 202, 0, 1, 0, 0, 0, 7]);
        let mut items = Vec::new();
        walk(&p, |i| items.push(i)).unwrap();
        assert_eq!(items[0], Item::Sender { ssrc: 7, ntp: 0x0102_0304_0506_0708, packets: 50 });
        let Item::Report { reporter: 7, block } = items[1] else { panic!("{items:?}") };
        assert_eq!((block.ssrc, block.fraction_lost, block.cumulative_lost, block.jitter), (9, 64, -2, 80));
        assert_eq!((block.lsr, block.dlsr), (0x0304_0506, 65_536));
        assert_eq!(items[2], Item::Other(202));
    }

    #[test]
    fn extended_report_voip_metrics() {
        // XR from SSRC 3: one VoIP metrics block (BT 7, length 8 words) about SSRC 9.
        let mut p = vec![0x80, 207, 0, 10, 0, 0, 0, 3, 7, 0, 0, 8];
        let mut block = [0u8; 32];
        block[0..4].copy_from_slice(&9u32.to_be_bytes());
        block[4] = 5; // loss rate 5/256
        block[5] = 2; // discard rate
        block[12..14].copy_from_slice(&42u16.to_be_bytes()); // round trip, ms
        block[20] = 88; // R factor
        block[22] = 41; // MOS-LQ 4.1
        block[23] = 127; // MOS-CQ unavailable
        p.extend_from_slice(&block);
        let mut items = Vec::new();
        walk(&p, |i| items.push(i)).unwrap();
        let want = VoipMetrics {
            ssrc: 9,
            loss_rate: 5,
            discard_rate: 2,
            round_trip_ms: 42,
            r_factor: 88,
            mos_lq: 41,
            mos_cq: 127,
        };
        assert_eq!(items, [Item::Voip { reporter: 3, metrics: want }]);
    }

    #[test]
    fn wrong_lengths_and_versions() {
        assert_eq!(walk(&[0x81, 201, 0, 7, 0, 0, 0, 1], |_| {}), Err(RtcpError::Length));
        assert_eq!(walk(&[0x41, 201, 0, 1, 0, 0, 0, 1], |_| {}), Err(RtcpError::Version));
        assert_eq!(walk(&[0x81, 201, 0, 1, 0, 0, 0, 1], |_| {}), Err(RtcpError::Truncated), "RC 1, no block");
        assert_eq!(walk(&[0x80, 201], |_| {}), Err(RtcpError::Truncated));
    }
}
