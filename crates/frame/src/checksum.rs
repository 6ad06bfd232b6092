//! The Internet checksum (RFC 1071): one's-complement sum of 16-bit big-endian words.

/// Adds `data` to a running one's-complement sum (not yet folded). An odd trailing byte is
/// padded with a zero byte on the right, as RFC 1071 specifies.
#[inline]
pub fn sum(mut acc: u64, data: &[u8]) -> u64 {
    // One's-complement addition is associative and works on any word size that is a multiple
    // of 16 bits (RFC 1071 §2(B), "parallel summation"): add 64-bit big-endian words with
    // end-around carry counted separately (2^64 ≡ 1 mod 0xffff), then fold.
    let mut chunks = data.chunks_exact(8);
    let mut wide = 0u64;
    let mut carries = 0u64;
    for c in &mut chunks {
        let (s, overflow) = wide.overflowing_add(u64::from_be_bytes(c.try_into().unwrap()));
        wide = s;
        carries += u64::from(overflow);
    }
    acc += (wide >> 32) + (wide & 0xffff_ffff) + carries;
    let mut rest = chunks.remainder();
    if rest.len() >= 4 {
        acc += u64::from(u32::from_be_bytes([rest[0], rest[1], rest[2], rest[3]]));
        rest = &rest[4..];
    }
    if rest.len() >= 2 {
        acc += u64::from(u16::from_be_bytes([rest[0], rest[1]]));
        rest = &rest[2..];
    }
    if let Some(&b) = rest.first() {
        acc += u64::from(b) << 8;
    }
    acc
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
}
