//! Floating-point datapaths on the IR for the formats of `model::float` (no subnormals,
//! flush to zero and saturate with flags): normalisation, conversion of a scaled integer,
//! and addition. Each matches `FloatFormat::round` of the exact result bit for bit; the
//! units (`bfp_dot`, later `fpacc`) compose them with their own registers.
//!
//! Results are `(bits, underflow, overflow)`, like `model::float::Rounded`. `tag` prefixes
//! the names of the wires a datapath makes, so one module can hold several.

use model::float::{FloatFormat, Rounding};

use crate::ir::{ModuleBuilder, Result, Sig};

/// A rounded value: `sign | biased exponent | mantissa` and the two range flags.
#[derive(Clone, Copy, Debug)]
pub struct FloatSig {
    pub bits: Sig,
    pub underflow: Sig,
    pub overflow: Sig,
}

/// Bits of an unsigned count up to `n`.
fn count_bits(n: u32) -> u32 {
    32 - n.leading_zeros()
}

/// Shift `x` left until its top bit is one (a logarithmic shifter, one stage per bit of
/// the count). Returns the shifted value and the number of leading zeros; for `x = 0`
/// the value is 0 and the count is all ones, never less than `width - 1`.
pub fn normalize(m: &mut ModuleBuilder, x: Sig) -> Result<(Sig, Sig)> {
    let w = x.width();
    let stages = count_bits(w - 1).max(1);
    let mut v = x;
    let mut count = Vec::new(); // most significant first
    for k in (0..stages).rev() {
        let s = 1u32 << k;
        if s >= w {
            // Only reachable for w = 1: a one-bit value is normal unless zero.
            let z = m.not(v)?;
            count.push(z);
            continue;
        }
        let top = m.slice(v, w - 1, w - s)?;
        let any = m.reduce_or(top)?;
        let zero = m.not(any)?;
        let amount = m.lit(count_bits(s), s.into())?;
        let shifted = m.shl(v, amount)?;
        v = m.mux(zero, shifted, v)?;
        count.push(zero);
    }
    let count = m.concat(&count)?;
    Ok((v, count))
}

/// Signed width that holds every value in `lo..=hi`.
pub(crate) fn signed_bits(lo: i64, hi: i64) -> u32 {
    let need = |v: i64| {
        if v < 0 {
            65 - (!v).leading_zeros()
        } else {
            65 - v.leading_zeros()
        }
    };
    need(lo).max(need(hi)).max(2)
}

/// Round the positive significand `norm` (leading one at its top bit, or zero) to the
/// format's `man_bits + 1` bits: returns the stored mantissa and the carry out of
/// rounding (the value became the next power of two).
fn round_significand(
    m: &mut ModuleBuilder,
    tag: &str,
    f: &FloatFormat,
    norm: Sig,
    mode: Rounding,
) -> Result<(Sig, Sig)> {
    let (w, p) = (norm.width(), f.man_bits + 1);
    if w <= p {
        // Exact: pad below.
        let v = if w < p {
            let pad = m.zero(p - w)?;
            m.concat(&[norm, pad])?
        } else {
            norm
        };
        let top = m.bit(v, p - 1)?;
        m.discard(top, &format!("{tag}_leading_one"))?;
        let man = m.slice(v, p - 2, 0)?;
        return Ok((man, m.zero(1)?));
    }
    let kept = m.slice(norm, w - 1, w - p)?;
    let up = match mode {
        Rounding::Rz => {
            let rest = m.slice(norm, w - p - 1, 0)?;
            m.discard(rest, &format!("{tag}_truncated"))?;
            m.zero(1)?
        }
        Rounding::Rne => {
            let guard = m.bit(norm, w - p - 1)?;
            let sticky = if w - p >= 2 {
                let below = m.slice(norm, w - p - 2, 0)?;
                m.reduce_or(below)?
            } else {
                m.zero(1)?
            };
            let lsb = m.bit(kept, 0)?;
            let odd_or_above = m.or(sticky, lsb)?;
            m.and(guard, odd_or_above)?
        }
    };
    let up = m.zext(up, p + 1)?;
    let kept = m.zext(kept, p + 1)?;
    let rounded = m.add(kept, up)?;
    let carry = m.bit(rounded, p)?;
    // The leading one (or, after a carry, a zero above a zero mantissa) is implicit.
    let lead = m.bit(rounded, p - 1)?;
    m.discard(lead, &format!("{tag}_leading_one"))?;
    let man = m.slice(rounded, p - 2, 0)?;
    Ok((man, carry))
}

/// Pack sign, biased exponent (signed, any width) and mantissa, with the range checks of
/// `FloatFormat::round`: above the largest field saturate, below 1 flush to zero; `zero`
/// forces +0 without flags.
fn pack(
    m: &mut ModuleBuilder,
    tag: &str,
    f: &FloatFormat,
    neg: Sig,
    biased: Sig,
    man: Sig,
    zero: Sig,
) -> Result<FloatSig> {
    let ew = biased.width();
    let max_field = m.lit(ew, f.max_field().into())?;
    let one = m.lit(ew, 1)?;
    let too_big = m.lt(max_field, biased, true)?;
    let too_small = m.lt(biased, one, true)?;
    let nonzero = m.not(zero)?;
    let overflow = m.and(too_big, nonzero)?;
    let underflow = m.and(too_small, nonzero)?;
    let field = m.slice(biased, f.exp_bits - 1, 0)?;
    if ew > f.exp_bits {
        let high = m.slice(biased, ew - 1, f.exp_bits)?;
        m.discard(high, &format!("{tag}_exp_range"))?; // covered by the range checks
    }
    let normal = m.concat(&[neg, field, man])?;
    let width = f.width();
    let max_pos = m.lit(width, f.max_finite(false).into())?;
    let max_neg = m.lit(width, f.max_finite(true).into())?;
    let saturated = m.mux(neg, max_neg, max_pos)?;
    let flushed = m.zero(width)?;
    let to_zero = m.or(too_small, zero)?;
    let v = m.mux(too_big, saturated, normal)?;
    let bits = m.mux(to_zero, flushed, v)?;
    Ok(FloatSig {
        bits,
        underflow,
        overflow,
    })
}

/// `value * 2^exp` rounded into `f` (`FloatFormat::round(Exact::from_int(value, exp))`),
/// for a two's-complement `value` and a signed `exp`.
pub fn from_scaled_int(
    m: &mut ModuleBuilder,
    tag: &str,
    f: &FloatFormat,
    value: Sig,
    exp: Sig,
    mode: Rounding,
) -> Result<FloatSig> {
    let d = value.width();
    let neg = m.msb(value)?;
    let zero_d = m.zero(d)?;
    let negated = m.sub(zero_d, value)?;
    let magnitude = m.mux(neg, negated, value)?; // |value| <= 2^(d-1) fits d bits unsigned
    from_sign_magnitude(m, tag, f, neg, magnitude, exp, mode)
}

/// `(-1)^neg * magnitude * 2^exp` rounded into `f`, for an unsigned `magnitude` and a
/// signed `exp`. A zero magnitude gives +0 without flags.
pub fn from_sign_magnitude(
    m: &mut ModuleBuilder,
    tag: &str,
    f: &FloatFormat,
    neg: Sig,
    magnitude: Sig,
    exp: Sig,
    mode: Rounding,
) -> Result<FloatSig> {
    let d = magnitude.width();
    let any = m.reduce_or(magnitude)?;
    let zero = m.not(any)?;
    let (norm, lz) = normalize(m, magnitude)?;
    let (man, carry) = round_significand(m, tag, f, norm, mode)?;
    // Unbiased exponent of the leading one: exp + (d - 1 - lz) + carry.
    let xw = exp.width();
    let lo = -(1i64 << (xw - 1)) - i64::from((1u32 << lz.width()) - 1) + i64::from(f.bias);
    let hi = (1i64 << (xw - 1)) + i64::from(d) + i64::from(f.bias);
    let ew = signed_bits(lo, hi).max(f.exp_bits + 2);
    let exp = m.sext(exp, ew)?;
    let base = m.lit(ew, i128::from(d as i32 - 1 + f.bias))?;
    let lz = m.zext(lz, ew)?;
    let carry = m.zext(carry, ew)?;
    let biased = m.add(exp, base)?;
    let biased = m.sub(biased, lz)?;
    let biased = m.add(biased, carry)?;
    pack(m, tag, f, neg, biased, man, zero)
}

/// Fields of a format value: sign, exponent field, and the significand with its hidden
/// bit (zero when the exponent field is zero, whatever the stored mantissa).
pub fn unpack(m: &mut ModuleBuilder, f: &FloatFormat, x: Sig) -> Result<(Sig, Sig, Sig)> {
    let (e, mb) = (f.exp_bits, f.man_bits);
    let sign = m.bit(x, e + mb)?;
    let field = m.slice(x, e + mb - 1, mb)?;
    let man = m.slice(x, mb - 1, 0)?;
    let nonzero = m.reduce_or(field)?;
    let sig = m.concat(&[nonzero, man])?;
    let zero = m.zero(mb + 1)?;
    let sig = m.mux(nonzero, sig, zero)?;
    Ok((sign, field, sig))
}

/// `a + b` rounded into `f` (`FloatFormat::round(Exact::sum(decode(a), decode(b)))`).
pub fn add(
    m: &mut ModuleBuilder,
    tag: &str,
    f: &FloatFormat,
    a: Sig,
    b: Sig,
    mode: Rounding,
) -> Result<FloatSig> {
    add_formats(m, tag, (f, a), (f, b), f, mode)
}

/// Exponent fields of two formats on one scale: `field + (B - bias)` with
/// `B = max(bias_a, bias_b)`, so every nonzero value has a common exponent of at least
/// one and zero stays zero. Returns the common exponents (one width) and `B`.
fn common_exponents(
    m: &mut ModuleBuilder,
    (fa, field_a): (&FloatFormat, Sig),
    (fb, field_b): (&FloatFormat, Sig),
) -> Result<(Sig, Sig, i32)> {
    let big = fa.bias.max(fb.bias);
    let top = |f: &FloatFormat| i64::from((1i32 << f.exp_bits) - 1 + big - f.bias);
    let width = count_bits(top(fa).max(top(fb)) as u32);
    let one = |m: &mut ModuleBuilder, f: &FloatFormat, field: Sig| -> Result<Sig> {
        let field = m.zext(field, width)?;
        if f.bias == big {
            return Ok(field);
        }
        let nonzero = m.reduce_or(field)?;
        let offset = m.lit(width, i128::from(big - f.bias))?;
        let moved = m.add(field, offset)?;
        let zero = m.zero(width)?;
        m.mux(nonzero, moved, zero)
    };
    let ca = one(m, fa, field_a)?;
    let cb = one(m, fb, field_b)?;
    Ok((ca, cb, big))
}

/// `a + b` for `a` in format `fa` and `b` in `fb`, rounded into `fr`:
/// `fr.round(Exact::sum(fa.decode(a), fb.decode(b)))`.
///
/// Classic three-extra-bit adder: order by magnitude, align the smaller significand with
/// guard, round and sticky bits, add or subtract, normalise, round, range-check. Both
/// significands are widened to the largest precision P of the three formats. With guard
/// and round bits plus a sticky bit the result is the correctly rounded exact sum: a
/// shift of two or more places cancels at most one leading bit, a shift of one or none
/// loses nothing, and rounding to P or fewer bits never looks below the sticky bit.
pub fn add_formats(
    m: &mut ModuleBuilder,
    tag: &str,
    (fa, a): (&FloatFormat, Sig),
    (fb, b): (&FloatFormat, Sig),
    fr: &FloatFormat,
    mode: Rounding,
) -> Result<FloatSig> {
    let p = (fa.man_bits.max(fb.man_bits).max(fr.man_bits)) + 1;
    let (sa, fa_field, ga) = unpack(m, fa, a)?;
    let (sb, fb_field, gb) = unpack(m, fb, b)?;
    let widen = |m: &mut ModuleBuilder, g: Sig| -> Result<Sig> {
        if g.width() == p {
            return Ok(g);
        }
        let pad = m.zero(p - g.width())?;
        m.concat(&[g, pad])
    };
    let ga = widen(m, ga)?;
    let gb = widen(m, gb)?;
    let (ca, cb, common_bias) = common_exponents(m, (fa, fa_field), (fb, fb_field))?;
    let e = ca.width();

    m.note("Order the operands by magnitude.");
    let key_a = m.concat(&[ca, ga])?;
    let key_b = m.concat(&[cb, gb])?;
    let a_smaller = m.lt(key_a, key_b, false)?;
    let big_sign = m.mux(a_smaller, sb, sa)?;
    let big_field = m.mux(a_smaller, cb, ca)?;
    let small_field = m.mux(a_smaller, ca, cb)?;
    let big_sig = m.mux(a_smaller, gb, ga)?;
    let small_sig = m.mux(a_smaller, ga, gb)?;
    let distance = m.sub(big_field, small_field)?;

    m.note("Align the smaller significand: guard, round and sticky bits.");
    // Shifts of p + 3 or more all leave only a sticky bit: clamp the distance so the
    // shifter has just enough stages.
    let limit = p + 3;
    let dw = count_bits(limit);
    let distance = if e > dw {
        let cap = m.lit(e, limit.into())?;
        let far = m.lt(cap, distance, false)?;
        let near = m.slice(distance, dw - 1, 0)?;
        let cap = m.lit(dw, limit.into())?;
        let high = m.slice(distance, e - 1, dw)?;
        m.discard(high, &format!("{tag}_far_distance"))?; // covered by `far`
        m.mux(far, cap, near)?
    } else {
        distance
    };
    let three = m.zero(3)?;
    let small_ext = m.concat(&[small_sig, three])?; // p + 3 bits
    let shifted = m.shr(small_ext, distance)?;
    // Sticky: any bit below the shift distance.
    let ones = m.lit(p + 3, (1i128 << (p + 3)) - 1)?;
    let kept_mask = m.shl(ones, distance)?;
    let lost_mask = m.not(kept_mask)?;
    let lost = m.and(small_ext, lost_mask)?;
    let sticky = m.reduce_or(lost)?;
    let upper = m.slice(shifted, p + 2, 1)?;
    let low = m.bit(shifted, 0)?;
    let low = m.or(low, sticky)?;
    let aligned = m.concat(&[upper, low])?;

    m.note("Add or subtract the magnitudes (the bigger minus the smaller never borrows).");
    let big_ext = m.concat(&[big_sig, three])?;
    let big_ext = m.zext(big_ext, p + 4)?;
    let aligned = m.zext(aligned, p + 4)?;
    let same_sign = m.xor(sa, sb)?;
    let same_sign = m.not(same_sign)?;
    let plus = m.add(big_ext, aligned)?;
    let minus = m.sub(big_ext, aligned)?;
    let total = m.mux(same_sign, plus, minus)?;
    let any = m.reduce_or(total)?;
    let zero = m.not(any)?;

    m.note("Normalise and round.");
    let (norm, lz) = normalize(m, total)?;
    let (man, carry) = round_significand(m, tag, fr, norm, mode)?;
    // Leading one at bit p+2 (no carry, no cancellation) keeps big's exponent:
    // biased = big_field - common_bias + bias_r + 1 - lz + carry.
    let shift = i64::from(fr.bias - common_bias + 1);
    let lo = -i64::from((1u32 << lz.width()) - 1) + shift.min(0);
    let hi = i64::from((1u32 << e) + 1) + shift.max(0);
    let ew = signed_bits(lo, hi).max(fr.exp_bits + 2);
    let big_field = m.zext(big_field, ew)?;
    let shift = m.lit(ew, shift.into())?;
    let lz = m.zext(lz, ew)?;
    let carry = m.zext(carry, ew)?;
    let biased = m.add(big_field, shift)?;
    let biased = m.sub(biased, lz)?;
    let biased = m.add(biased, carry)?;
    pack(m, tag, fr, big_sign, biased, man, zero)
}
