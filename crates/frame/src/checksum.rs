//! The Internet checksum (RFC 1071): one's-complement sum of 16-bit big-endian words.

/// Adds `data` to a running one's-complement sum (not yet folded). An odd trailing byte is
/// padded with a zero byte on the right, as RFC 1071 specifies. `data` starts on a 16-bit word
/// of the checksummed text.
#[inline]
pub fn sum(acc: u64, data: &[u8]) -> u64 {
    // The one's-complement sum does not depend on byte order (RFC 1071 §2(B)): adding the words
    // byte-swapped gives the byte-swapped sum. So the bytes are added as they lie in memory, as
    // little-endian 64-bit words (four 16-bit words each, since 2^16 ≡ 1 mod 0xffff), with the
    // carry out of each addition added back in (end-around carry: `add` then `adc 0`, two
    // instructions per 8 bytes, in two chains that the processor runs side by side); the
    // folded sum is swapped back once.
    let add = |x: u64, w: u64| {
        let (s, carry) = x.overflowing_add(w);
        s + u64::from(carry)
    };
    let (mut a, mut b) = (0u64, 0u64);
    let mut chunks = data.chunks_exact(16);
    for c in &mut chunks {
        let (lo, hi) = c.split_at(8);
        a = add(a, u64::from_le_bytes(lo.try_into().expect("8 bytes")));
        b = add(b, u64::from_le_bytes(hi.try_into().expect("8 bytes")));
    }
    let mut rest = chunks.remainder();
    if rest.len() >= 8 {
        a = add(a, u64::from_le_bytes(rest[..8].try_into().expect("8 bytes")));
        rest = &rest[8..];
    }
    // The last 0 to 7 bytes as one word, zero-padded on the right (an odd last byte is the
    // high byte of a big-endian word: the low byte of a little-endian one, as it lies); read
    // 4, 2 and 1 at a time (a copy of a variable length is a call to memcpy).
    let (mut tail, mut shift) = (0u64, 0);
    if let Some((four, more)) = rest.split_first_chunk::<4>() {
        tail = u64::from(u32::from_le_bytes(*four));
        (rest, shift) = (more, 32);
    }
    if let Some((two, more)) = rest.split_first_chunk::<2>() {
        tail |= u64::from(u16::from_le_bytes(*two)) << shift;
        (rest, shift) = (more, shift + 16);
    }
    if let [last] = rest {
        tail |= u64::from(*last) << shift;
    }
    b = add(b, tail);
    // a + b in one's complement, then to 32 bits (two 16-bit halves each) without loss.
    let s = add(a, b);
    let le = (s & 0xffff_ffff) + (s >> 32);
    acc + u64::from(fold(le).swap_bytes())
}

/// Folds a running sum to 16 bits (without complementing).
#[inline]
pub fn fold(mut acc: u64) -> u16 {
    while acc > 0xffff {
        acc = (acc & 0xffff) + (acc >> 16);
    }
    acc as u16
}

/// The checksum field value for `data`: `!fold(sum(0, data))`.
#[inline]
pub fn checksum(data: &[u8]) -> u16 {
    !fold(sum(0, data))
}

/// Running sum of the IPv4 pseudo-header for UDP/TCP (RFC 768, RFC 793).
#[inline]
pub fn pseudo_header_v4(src: [u8; 4], dst: [u8; 4], protocol: u8, length: u16) -> u64 {
    u64::from(u32::from_be_bytes(src)) + u64::from(u32::from_be_bytes(dst)) + u64::from(protocol) + u64::from(length)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc1071_example() {
        // RFC 1071 §3 numerical example: the words 0001 f203 f4f5 f6f7 sum to ddf2.
        let data = [0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7];
        assert_eq!(fold(sum(0, &data)), 0xddf2);
        assert_eq!(checksum(&data), !0xddf2);
    }

    #[test]
    fn odd_length_pads_right() {
        assert_eq!(fold(sum(0, &[0x12, 0x34, 0x56])), 0x1234 + 0x5600);
    }

    #[test]
    fn matches_16_bit_reference_on_all_lengths() {
        let data: Vec<u8> = (0..300u32).map(|i| (i * 7 + 3) as u8).collect();
        for n in 0..data.len() {
            let mut reference: u32 = 0;
            for w in data[..n].chunks(2) {
                let word = if w.len() == 2 { u16::from_be_bytes([w[0], w[1]]) } else { u16::from(w[0]) << 8 };
                reference += u32::from(word);
                reference = (reference & 0xffff) + (reference >> 16);
            }
            assert_eq!(u32::from(fold(sum(0, &data[..n]))), reference, "length {n}");
        }
    }

    /// RFC 1071's 16-bit loop, big-endian words, as the oracle.
    fn reference(acc: u64, data: &[u8]) -> u16 {
        let mut s = acc;
        for w in data.chunks(2) {
            s += u64::from(if w.len() == 2 { u16::from_be_bytes([w[0], w[1]]) } else { u16::from(w[0]) << 8 });
        }
        fold(s)
    }

    proptest::proptest! {
        #[test]
        fn matches_the_16_bit_loop(data in proptest::collection::vec(proptest::num::u8::ANY, 0..1600),
                                    acc in 0u64..(1 << 40)) {
            proptest::prop_assert_eq!(fold(sum(acc, &data)), reference(acc, &data));
        }
    }

    #[test]
    fn all_ones_and_all_zeros() {
        for n in 0..200 {
            for byte in [0x00, 0xff, 0x80, 0x01] {
                let data = vec![byte; n];
                assert_eq!(fold(sum(0, &data)), reference(0, &data), "{n} bytes of {byte:#x}");
                assert_eq!(fold(sum(0xffff, &data)), reference(0xffff, &data));
            }
        }
    }
}
