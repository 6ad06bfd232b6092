//! Several call plans sent as one, in time order: a traffic mix (one plan per codec, packet
//! time and silence suppression). Each plan is its own generator; the mix hands out the
//! earliest next frame of any of them (ties: the first plan's). With one plan it is that plan's
//! generator, unchanged and without a copy.

use crate::dialog::{DialogSource, MAX_FRAME};
use crate::source::Source;

/// What a mix needs of a generator.
pub trait Frames {
    /// Writes the next frame into `buf` and returns its time (ns) and length, or `None` at
    /// the end.
    fn next_into(&mut self, buf: &mut [u8]) -> Option<(u64, usize)>;
    /// The stream that wrote the last frame, 0..[`Frames::total_streams`].
    fn last_stream(&self) -> usize;
    /// Streams over the whole run.
    fn total_streams(&self) -> usize;
    /// Bytes the caller's buffer needs.
    fn frame_len(&self) -> usize;
}

impl Frames for Source {
    #[inline]
    fn next_into(&mut self, buf: &mut [u8]) -> Option<(u64, usize)> {
        Source::next_into(self, buf)
    }
    fn last_stream(&self) -> usize {
        Source::last_stream(self)
    }
    fn total_streams(&self) -> usize {
        Source::total_streams(self)
    }
    fn frame_len(&self) -> usize {
        Source::frame_len(self)
    }
}

impl Frames for DialogSource {
    fn next_into(&mut self, buf: &mut [u8]) -> Option<(u64, usize)> {
        DialogSource::next_into(self, buf)
    }
    /// Dialogs are not told apart by stream (only the simulator asks, with [`Source`]s).
    fn last_stream(&self) -> usize {
        0
    }
    fn total_streams(&self) -> usize {
        2 * self.calls()
    }
    fn frame_len(&self) -> usize {
        MAX_FRAME
    }
}

struct Part<G> {
    gen: G,
    /// The first stream number of this part in the mix.
    base: usize,
    buf: Vec<u8>,
    /// The part's next frame, already written into `buf`: (time, length, stream in the mix).
    next: Option<(u64, usize, usize)>,
}

impl<G: Frames> Part<G> {
    fn advance(&mut self) {
        self.next = self.gen.next_into(&mut self.buf).map(|(t, len)| (t, len, self.base + self.gen.last_stream()));
    }
}

/// The generators of a mix, merged. See the module documentation.
pub struct Mix<G> {
    parts: Vec<Part<G>>,
    last: usize,
}

impl<G> std::fmt::Debug for Mix<G> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Mix({} parts)", self.parts.len())
    }
}

impl<G: Frames> Mix<G> {
    /// The mix of `gens` (at least one).
    ///
    /// # Panics
    /// If `gens` is empty.
    pub fn new(gens: Vec<G>) -> Mix<G> {
        assert!(!gens.is_empty(), "a mix has at least one generator");
        let single = gens.len() == 1;
        let mut base = 0;
        let parts = gens
            .into_iter()
            .map(|gen| {
                let mut p = Part { buf: Vec::new(), base, next: None, gen };
                base += p.gen.total_streams();
                if !single {
                    p.buf = vec![0; p.gen.frame_len()];
                    p.advance();
                }
                p
            })
            .collect();
        Mix { parts, last: 0 }
    }

    /// The generators, in the order given.
    pub fn parts(&self) -> impl Iterator<Item = &G> {
        self.parts.iter().map(|p| &p.gen)
    }
}

impl<G: Frames> Frames for Mix<G> {
    #[inline]
    fn next_into(&mut self, buf: &mut [u8]) -> Option<(u64, usize)> {
        if let [one] = self.parts.as_mut_slice() {
            return one.gen.next_into(buf);
        }
        let i = (0..self.parts.len()).filter(|&i| self.parts[i].next.is_some()).min_by_key(|&i| {
            let (t, _, _) = self.parts[i].next.expect("filtered");
            (t, i)
        })?;
        let p = &mut self.parts[i];
        let (t, len, stream) = p.next.expect("chosen among the parts with a frame");
        buf[..len].copy_from_slice(&p.buf[..len]);
        self.last = stream;
        p.advance();
        Some((t, len))
    }

    fn last_stream(&self) -> usize {
        match self.parts.as_slice() {
            [one] => one.gen.last_stream(),
            _ => self.last,
        }
    }

    fn total_streams(&self) -> usize {
        self.parts.iter().map(|p| p.gen.total_streams()).sum()
    }

    fn frame_len(&self) -> usize {
        self.parts.iter().map(|p| p.gen.frame_len()).max().expect("at least one part")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::{AddressPlan, CallPlan, Directions};
    use crate::Codec;
    use xconnect_frame::{parse_ethernet, RtpPacket};

    #[test]
    fn a_mix_sends_every_part_in_time_order_with_its_own_streams_and_addresses() {
        let g711 = CallPlan {
            directions: Directions::ToProvider,
            addresses: AddressPlan { lane: (0, 2), ..AddressPlan::default() },
            ..CallPlan::g711(30, 1_000_000_000, 1_000_000_000)
        };
        let g729 = CallPlan {
            codec: Codec::G729,
            ptime_ms: 30,
            seed: 2,
            addresses: AddressPlan { lane: (1, 2), ..AddressPlan::default() },
            ..g711.clone()
        };
        let alone: Vec<u64> = [&g711, &g729].iter().map(|p| count(Source::new(p).unwrap())).collect();
        let mut mix = Mix::new(vec![Source::new(&g711).unwrap(), Source::new(&g729).unwrap()]);
        assert_eq!(mix.total_streams(), 60);
        let mut buf = vec![0u8; mix.frame_len()];
        let (mut last_t, mut per_pt) = (0, [0u64; 2]);
        let mut streams = std::collections::HashMap::new();
        while let Some((t, len)) = mix.next_into(&mut buf) {
            assert!(t >= last_t, "time order");
            last_t = t;
            let f = &buf[..len];
            let p = parse_ethernet(f).unwrap();
            assert_eq!(p.udp_checksum_ok(f), Some(true));
            let rtp = RtpPacket::new_checked(p.payload(f)).unwrap();
            per_pt[usize::from(rtp.payload_type().value() == 18)] += 1;
            let tuple = (p.flow_key(), p.addresses());
            // One stream number per 5-tuple, the G.729 part's after the G.711 part's.
            let stream = mix.last_stream();
            assert_eq!(*streams.entry(tuple).or_insert(stream), stream);
            assert_eq!(stream >= 30, rtp.payload_type().value() == 18);
        }
        assert_eq!(per_pt.to_vec(), alone, "each part's frames, none lost or added");
        assert_eq!(streams.len(), 60, "no two calls of the mix share an address/port pair");
    }

    fn count(mut s: Source) -> u64 {
        let mut buf = vec![0u8; s.frame_len()];
        let mut n = 0;
        while s.next_into(&mut buf).is_some() {
            n += 1;
        }
        n
    }
}
