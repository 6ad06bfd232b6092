//! The BFD control packet (RFC 5880 §4.1): 24 bytes without authentication.

use std::fmt;

/// A session state as carried in packets (RFC 5880 §4.1, `Sta`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum State {
    /// Held down by its operator.
    AdminDown,
    /// Down, or not yet up.
    Down,
    /// Hearing the remote system, which has not said it hears us yet.
    Init,
    /// Both sides hear each other.
    Up,
}

impl State {
    fn from_bits(b: u8) -> State {
        match b & 3 {
            0 => State::AdminDown,
            1 => State::Down,
            2 => State::Init,
            _ => State::Up,
        }
    }

    fn bits(self) -> u8 {
        match self {
            State::AdminDown => 0,
            State::Down => 1,
            State::Init => 2,
            State::Up => 3,
        }
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            State::AdminDown => "AdminDown",
            State::Down => "Down",
            State::Init => "Init",
            State::Up => "Up",
        })
    }
}

/// Why a session last left Up (RFC 5880 §4.1, `Diag`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Diag {
    /// No diagnostic.
    None,
    /// Control Detection Time Expired: nothing heard for the detection time.
    DetectionTimeExpired,
    /// Echo Function Failed.
    EchoFailed,
    /// Neighbor Signaled Session Down.
    NeighborDown,
    /// Forwarding Plane Reset.
    ForwardingReset,
    /// Path Down.
    PathDown,
    /// Concatenated Path Down.
    ConcatenatedPathDown,
    /// Administratively Down.
    AdminDown,
    /// Reverse Concatenated Path Down.
    ReverseConcatenatedPathDown,
    /// A value RFC 5880 does not assign.
    Other(u8),
}

impl Diag {
    fn from_bits(b: u8) -> Diag {
        match b & 0x1f {
            0 => Diag::None,
            1 => Diag::DetectionTimeExpired,
            2 => Diag::EchoFailed,
            3 => Diag::NeighborDown,
            4 => Diag::ForwardingReset,
            5 => Diag::PathDown,
            6 => Diag::ConcatenatedPathDown,
            7 => Diag::AdminDown,
            8 => Diag::ReverseConcatenatedPathDown,
            n => Diag::Other(n),
        }
    }

    fn bits(self) -> u8 {
        match self {
            Diag::None => 0,
            Diag::DetectionTimeExpired => 1,
            Diag::EchoFailed => 2,
            Diag::NeighborDown => 3,
            Diag::ForwardingReset => 4,
            Diag::PathDown => 5,
            Diag::ConcatenatedPathDown => 6,
            Diag::AdminDown => 7,
            Diag::ReverseConcatenatedPathDown => 8,
            Diag::Other(n) => n & 0x1f,
        }
    }
}

impl fmt::Display for Diag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Diag::None => f.write_str("none"),
            Diag::DetectionTimeExpired => f.write_str("control detection time expired"),
            Diag::EchoFailed => f.write_str("echo function failed"),
            Diag::NeighborDown => f.write_str("neighbor signaled session down"),
            Diag::ForwardingReset => f.write_str("forwarding plane reset"),
            Diag::PathDown => f.write_str("path down"),
            Diag::ConcatenatedPathDown => f.write_str("concatenated path down"),
            Diag::AdminDown => f.write_str("administratively down"),
            Diag::ReverseConcatenatedPathDown => f.write_str("reverse concatenated path down"),
            Diag::Other(n) => write!(f, "diagnostic {n}"),
        }
    }
}

/// One control packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Packet {
    /// Diagnostic.
    pub diag: Diag,
    /// The sender's state.
    pub state: State,
    /// Poll: the sender changed a parameter and asks for a Final.
    pub poll: bool,
    /// Final: the answer to a Poll.
    pub final_: bool,
    /// Demand mode asked (not supported here: we never ask; a peer asking is still sent to).
    pub demand: bool,
    /// Detect Mult.
    pub detect_mult: u8,
    /// My Discriminator.
    pub my_disc: u32,
    /// Your Discriminator.
    pub your_disc: u32,
    /// Desired Min TX Interval, microseconds.
    pub desired_min_tx_us: u32,
    /// Required Min RX Interval, microseconds.
    pub required_min_rx_us: u32,
}

/// Bytes of a packet without authentication.
pub const LEN: usize = 24;

/// Why a received packet was discarded (RFC 5880 §6.8.6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Discard {
    /// Shorter than 24 bytes, or shorter than its Length field.
    Short,
    /// Version other than 1.
    Version(u8),
    /// Length field below 24, or not 24 without authentication.
    Length(u8),
    /// Detect Mult zero.
    ZeroDetectMult,
    /// Multipoint bit set.
    Multipoint,
    /// My Discriminator zero.
    ZeroMyDiscriminator,
    /// Your Discriminator zero while the sender is neither Down nor AdminDown.
    ZeroYourDiscriminator,
    /// Your Discriminator is not this session's.
    WrongDiscriminator(u32),
    /// Authentication present (not configured here).
    Authentication,
    /// Our session is held AdminDown.
    AdminDown,
}

impl fmt::Display for Discard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Discard::Short => f.write_str("shorter than a BFD control packet (24 bytes)"),
            Discard::Version(v) => write!(f, "version {v}, expected 1"),
            Discard::Length(l) => write!(f, "length field {l}, expected 24 (26 or more with authentication)"),
            Discard::ZeroDetectMult => f.write_str("detect multiplier 0"),
            Discard::Multipoint => f.write_str("multipoint bit set"),
            Discard::ZeroMyDiscriminator => f.write_str("its own discriminator is 0"),
            Discard::ZeroYourDiscriminator => f.write_str("our discriminator 0 while the sender is not down"),
            Discard::WrongDiscriminator(d) => write!(f, "our discriminator given as {d}, not this session's"),
            Discard::Authentication => f.write_str("authentication present, none configured"),
            Discard::AdminDown => f.write_str("our session is administratively down"),
        }
    }
}

impl Packet {
    /// The 24 bytes on the wire.
    pub fn encode(&self) -> [u8; LEN] {
        let mut b = [0u8; LEN];
        b[0] = (1 << 5) | self.diag.bits();
        b[1] = (self.state.bits() << 6)
            | (u8::from(self.poll) << 5)
            | (u8::from(self.final_) << 4)
            | (u8::from(self.demand) << 1);
        b[2] = self.detect_mult;
        b[3] = LEN as u8;
        b[4..8].copy_from_slice(&self.my_disc.to_be_bytes());
        b[8..12].copy_from_slice(&self.your_disc.to_be_bytes());
        b[12..16].copy_from_slice(&self.desired_min_tx_us.to_be_bytes());
        b[16..20].copy_from_slice(&self.required_min_rx_us.to_be_bytes());
        // Required Min Echo RX Interval: 0, no echo function.
        b
    }

    /// A packet from the wire, with the checks of RFC 5880 §6.8.6 that need no session.
    pub fn decode(b: &[u8]) -> Result<Packet, Discard> {
        if b.len() < LEN {
            return Err(Discard::Short);
        }
        let version = b[0] >> 5;
        if version != 1 {
            return Err(Discard::Version(version));
        }
        let auth = b[1] & 0x04 != 0;
        let length = b[3];
        // With authentication the packet is at least 26 bytes; without, exactly 24.
        if (!auth && length as usize != LEN) || (auth && (length as usize) < LEN + 2) {
            return Err(Discard::Length(length));
        }
        if b.len() < length as usize {
            return Err(Discard::Short);
        }
        if auth {
            return Err(Discard::Authentication);
        }
        let word = |at: usize| u32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]]);
        let p = Packet {
            diag: Diag::from_bits(b[0]),
            state: State::from_bits(b[1] >> 6),
            poll: b[1] & 0x20 != 0,
            final_: b[1] & 0x10 != 0,
            demand: b[1] & 0x02 != 0,
            detect_mult: b[2],
            my_disc: word(4),
            your_disc: word(8),
            desired_min_tx_us: word(12),
            required_min_rx_us: word(16),
        };
        if p.detect_mult == 0 {
            return Err(Discard::ZeroDetectMult);
        }
        if b[1] & 0x01 != 0 {
            return Err(Discard::Multipoint);
        }
        if p.my_disc == 0 {
            return Err(Discard::ZeroMyDiscriminator);
        }
        if p.your_disc == 0 && !matches!(p.state, State::Down | State::AdminDown) {
            return Err(Discard::ZeroYourDiscriminator);
        }
        Ok(p)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn packet() -> Packet {
        Packet {
            diag: Diag::DetectionTimeExpired,
            state: State::Up,
            poll: true,
            final_: false,
            demand: false,
            detect_mult: 3,
            my_disc: 0x0102_0304,
            your_disc: 7,
            desired_min_tx_us: 300_000,
            required_min_rx_us: 200_000,
        }
    }

    #[test]
    fn every_byte_of_a_packet() {
        let b = packet().encode();
        assert_eq!(
            b,
            [0x21, 0xe0, 3, 24, 1, 2, 3, 4, 0, 0, 0, 7, 0x00, 0x04, 0x93, 0xe0, 0x00, 0x03, 0x0d, 0x40, 0, 0, 0, 0]
        );
        assert_eq!(Packet::decode(&b), Ok(packet()));
    }

    #[test]
    fn bad_packets_are_discarded_with_the_reason() {
        let good = packet().encode();
        let with = |at: usize, v: u8| {
            let mut b = good;
            b[at] = v;
            Packet::decode(&b)
        };
        assert_eq!(Packet::decode(&good[..23]), Err(Discard::Short));
        assert_eq!(with(0, 0x41), Err(Discard::Version(2)));
        assert_eq!(with(3, 20), Err(Discard::Length(20)));
        assert_eq!(with(3, 28), Err(Discard::Length(28)));
        assert_eq!(with(2, 0), Err(Discard::ZeroDetectMult));
        assert_eq!(with(1, 0xe1), Err(Discard::Multipoint));
        assert_eq!(with(1, 0xe4), Err(Discard::Length(24)), "authentication needs a longer packet");
        let mut long = good.to_vec();
        long.extend([1, 2]);
        long[1] = 0xe4;
        long[3] = 26;
        assert_eq!(Packet::decode(&long), Err(Discard::Authentication));
        let mut b = good;
        b[4..8].fill(0);
        assert_eq!(Packet::decode(&b), Err(Discard::ZeroMyDiscriminator));
        let mut b = good;
        b[8..12].fill(0);
        assert_eq!(Packet::decode(&b), Err(Discard::ZeroYourDiscriminator));
        b[1] = 0x40; // Down: your discriminator may be 0
        assert!(Packet::decode(&b).is_ok());
    }
}
