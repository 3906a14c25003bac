//! Two's-complement and unsigned integer helpers: ranges, saturation and wrapping at a
//! run-time bit width (docs/conventions.md).
//!
//! Values are carried in `i128`, wide enough for every exact intermediate the integer
//! units produce (a 32x32 product plus a 64-bit accumulator needs 66 bits).

/// The fewest bits of an unsigned register that hold `x` (1 for 0).
pub fn unsigned_bits(x: u128) -> u32 {
    (u128::BITS - x.leading_zeros()).max(1)
}

/// The fewest bits of an index or counter over `0..n` (`ceil(log2 n)`, at least 1).
pub fn index_bits(n: u32) -> u32 {
    assert!(n > 0, "an index over an empty range");
    unsigned_bits(u128::from(n - 1))
}

/// Smallest value representable in `bits` bits.
pub fn min_value(bits: u32, signed: bool) -> i128 {
    debug_assert!((1..=127).contains(&bits));
    if signed {
        -(1i128 << (bits - 1))
    } else {
        0
    }
}

/// Largest value representable in `bits` bits.
pub fn max_value(bits: u32, signed: bool) -> i128 {
    debug_assert!((1..=127).contains(&bits));
    if signed {
        (1i128 << (bits - 1)) - 1
    } else {
        (1i128 << bits) - 1
    }
}

/// True when `x` lies in the range of a `bits`-bit integer.
pub fn fits(x: i128, bits: u32, signed: bool) -> bool {
    (min_value(bits, signed)..=max_value(bits, signed)).contains(&x)
}

/// Clamp `x` to the range of a `bits`-bit integer ("saturate to W bits").
pub fn saturate(x: i128, bits: u32, signed: bool) -> i128 {
    x.clamp(min_value(bits, signed), max_value(bits, signed))
}

/// Keep the low `bits` bits of `x` and reinterpret them ("wrap to W bits").
pub fn wrap(x: i128, bits: u32, signed: bool) -> i128 {
    let low = x & ((1i128 << bits) - 1);
    if signed && low > max_value(bits, true) {
        low - (1i128 << bits)
    } else {
        low
    }
}

/// The raw bit pattern of `x` in `bits` bits (two's complement), as a port carries it.
pub fn to_bits(x: i128, bits: u32) -> u128 {
    debug_assert!(bits <= 128);
    if bits == 128 {
        x as u128
    } else {
        (x as u128) & ((1u128 << bits) - 1)
    }
}

/// Interpret the low `bits` bits of `raw` as a signed or unsigned integer.
pub fn from_bits(raw: u128, bits: u32, signed: bool) -> i128 {
    wrap(raw as i128, bits, signed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        assert_eq!((min_value(12, true), max_value(12, true)), (-2048, 2047));
        assert_eq!((min_value(12, false), max_value(12, false)), (0, 4095));
        assert_eq!(max_value(64, true), i64::MAX as i128);
        assert_eq!(max_value(64, false), u64::MAX as i128);
    }

    #[test]
    fn saturate_and_wrap() {
        assert_eq!(saturate(5000, 12, true), 2047);
        assert_eq!(saturate(-5000, 12, true), -2048);
        assert_eq!(wrap(2048, 12, true), -2048);
        assert_eq!(wrap(-1, 12, false), 4095);
        assert_eq!(wrap(4096 + 7, 12, false), 7);
        assert_eq!(from_bits(0xfff, 12, true), -1);
        assert_eq!(to_bits(-1, 12), 0xfff);
    }
}
