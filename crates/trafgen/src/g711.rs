//! ITU-T G.711 companding: 16-bit linear PCM to 8-bit μ-law or A-law and back.

/// μ-law: the bias added before finding the segment, and the largest magnitude encoded.
const ULAW_BIAS: i32 = 0x84;
const ULAW_CLIP: i32 = 32_635;

/// Encodes one linear sample to μ-law (G.711 §3, the North American law).
pub fn linear_to_ulaw(sample: i16) -> u8 {
    let mut s = i32::from(sample);
    let sign = if s < 0 {
        s = -s;
        0x80
    } else {
        0
    };
    s = s.min(ULAW_CLIP) + ULAW_BIAS;
    // The segment (exponent) is the position of the highest set bit above bit 7.
    let exponent = (7 - ((s as u32) << 17).leading_zeros().min(7)) as i32;
    let mantissa = (s >> (exponent + 3)) & 0x0f;
    !((sign | (exponent << 4) | mantissa) as u8)
}

/// Decodes one μ-law byte.
pub fn ulaw_to_linear(u: u8) -> i16 {
    let u = !u;
    let exponent = i32::from((u >> 4) & 0x07);
    let mantissa = i32::from(u & 0x0f);
    let magnitude = (((mantissa << 3) + ULAW_BIAS) << exponent) - ULAW_BIAS;
    (if u & 0x80 != 0 { -magnitude } else { magnitude }) as i16
}

/// Encodes one linear sample to A-law (G.711 §2, the European law). Even bits are inverted
/// (XOR 0x55) as the standard requires.
pub fn linear_to_alaw(sample: i16) -> u8 {
    // A-law works on 13-bit magnitudes.
    let s = i32::from(sample) >> 3;
    let (sign, mag) = if s >= 0 { (0x80, s) } else { (0x00, -s - 1) };
    let segment = match mag {
        0..=0x1f => 0,
        0x20..=0x3f => 1,
        0x40..=0x7f => 2,
        0x80..=0xff => 3,
        0x100..=0x1ff => 4,
        0x200..=0x3ff => 5,
        0x400..=0x7ff => 6,
        0x800..=0xfff => 7,
        _ => 8,
    };
    let code = if segment >= 8 {
        0x7f
    } else if segment < 2 {
        (segment << 4) | ((mag >> 1) & 0x0f)
    } else {
        (segment << 4) | ((mag >> segment) & 0x0f)
    };
    ((sign | code) ^ 0x55) as u8
}

/// Decodes one A-law byte.
pub fn alaw_to_linear(a: u8) -> i16 {
    let a = a ^ 0x55;
    let segment = i32::from((a >> 4) & 0x07);
    let mut t = i32::from(a & 0x0f) << 4;
    t += 8;
    if segment >= 1 {
        t += 0x100;
    }
    if segment > 1 {
        t <<= segment - 1;
    }
    (if a & 0x80 != 0 { t } else { -t }) as i16
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn silence_codes() {
        // Silence is 0xff in μ-law and 0xd5 in A-law (the bytes RTP silence is made of).
        assert_eq!(linear_to_ulaw(0), 0xff);
        assert_eq!(linear_to_alaw(0), 0xd5);
        assert_eq!(ulaw_to_linear(0xff), 0);
        assert_eq!(alaw_to_linear(0xd5), 8);
    }

    #[test]
    fn extremes() {
        assert_eq!(linear_to_ulaw(i16::MAX), 0x80);
        assert_eq!(linear_to_ulaw(i16::MIN), 0x00);
        assert_eq!(linear_to_alaw(i16::MAX), 0xaa);
        assert_eq!(linear_to_alaw(i16::MIN), 0x2a);
    }

    #[test]
    fn round_trip_error_is_within_the_segment_step() {
        for s in (i16::MIN..=i16::MAX).step_by(7) {
            let x = i32::from(s);
            let u = i32::from(ulaw_to_linear(linear_to_ulaw(s)));
            let a = i32::from(alaw_to_linear(linear_to_alaw(s)));
            // The quantization step grows with the segment: at most 1/16 of the magnitude
            // plus the smallest step, for both laws.
            let bound = x.abs() / 16 + 16;
            assert!((u - x).abs() <= bound.max(ULAW_BIAS), "ulaw {s} -> {u}");
            assert!((a - x).abs() <= bound, "alaw {s} -> {a}");
        }
    }

    #[test]
    fn decoding_every_code_reencodes_to_itself() {
        for c in 0..=255u8 {
            assert_eq!(linear_to_alaw(alaw_to_linear(c)), c, "alaw {c:#x}");
            // μ-law has two codes for zero (0x7f and 0xff); both decode to 0.
            if c != 0x7f {
                assert_eq!(linear_to_ulaw(ulaw_to_linear(c)), c, "ulaw {c:#x}");
            }
        }
    }
}
