//! Floating-point datapaths on the IR for the formats of `model::float` (no subnormals,
//! flush to zero and saturate with flags): normalisation, conversion of a scaled integer,
//! and addition. Each matches `FloatFormat::round` of the exact result bit for bit; the
//! units (`bfp_dot`, later `fpacc`) compose them with their own registers.
//!
//! Results are `(bits, underflow, overflow)`, like `model::float::Rounded`. `tag` prefixes
//! the names of the wires a datapath makes, so one module can hold several.

use model::float::{FloatFormat, Rounding};

use crate::ir::{cat, lit, mux, Expr, ExprOps, ModuleBuilder, Result, Round, Sig, Val};

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

/// Shift `x` left until its top bit is one; returns the shifted value and the number of
/// leading zeros (see [`ModuleBuilder::normalize`]).
pub fn normalize(m: &mut ModuleBuilder, x: Sig) -> Result<(Sig, Sig)> {
    m.normalize(x)
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
    let rounded = if w <= p {
        m.val(norm << (p - w))? // exact: pad below
    } else {
        let mode = match mode {
            Rounding::Rz => Round::Floor,
            Rounding::Rne => Round::HalfEven,
        };
        m.round(&format!("{tag}_rounded"), norm.u(), w - p, mode)?
    };
    // The leading one (or, after a carry, a zero above a zero mantissa) is implicit.
    let lead = m.val(rounded.bit(p - 1))?;
    m.discard(lead.sig, &format!("{tag}_leading_one"))?;
    let man = m.val(rounded.bits(p - 2, 0))?;
    let carry = if w <= p {
        m.zero(1)?
    } else {
        m.val(rounded.bit(p))?.sig
    };
    Ok((man.sig, carry))
}

/// A biased exponent as a signed value of at least `exp_bits + 2` bits.
fn exponent(m: &mut ModuleBuilder, f: &FloatFormat, e: Expr) -> Result<Val> {
    let v = m.val(e.sint())?;
    m.val(v.resize(v.width().max(f.exp_bits + 2)))
}

/// Pack sign, biased exponent (signed, any width) and mantissa, with the range checks of
/// `FloatFormat::round`: above the largest field saturate, below 1 flush to zero; `zero`
/// forces +0 without flags.
fn pack(
    m: &mut ModuleBuilder,
    tag: &str,
    f: &FloatFormat,
    neg: Sig,
    biased: Val,
    man: Sig,
    zero: Sig,
) -> Result<FloatSig> {
    let ew = biased.width();
    let too_big = m.val(biased.greater(f.max_field()))?;
    let too_small = m.val(biased.less(1))?;
    if ew > f.exp_bits {
        let high = m.val(biased.bits(ew - 1, f.exp_bits))?;
        m.discard(high.sig, &format!("{tag}_exp_range"))?; // covered by the range checks
    }
    let normal = cat([
        Expr::from(neg),
        biased.bits(f.exp_bits - 1, 0),
        Expr::from(man),
    ]);
    let width = f.width();
    let max = |neg: bool| lit(f.max_finite(neg).into(), width, false);
    let saturated = mux(neg, max(true), max(false));
    let bits = m.val(mux(too_small | zero, 0, mux(too_big, saturated, normal)))?;
    Ok(FloatSig {
        bits: bits.sig,
        underflow: m.val(too_small & !zero)?.sig,
        overflow: m.val(too_big & !zero)?.sig,
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
    // |value| <= 2^(d-1) fits d bits unsigned.
    let (magnitude, neg) = m.abs(&format!("{tag}_magnitude"), value.s())?;
    from_sign_magnitude(m, tag, f, neg, magnitude.sig, exp, mode)
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
    let zero = m.val(!magnitude.any())?;
    let (norm, lz) = m.normalize(magnitude)?;
    let (man, carry) = round_significand(m, tag, f, norm, mode)?;
    // Biased exponent of the leading one: exp + (d - 1 - lz) + carry + bias.
    let base = i64::from(d) - 1 + i64::from(f.bias);
    let biased = exponent(m, f, exp.s() + base - lz + carry)?;
    pack(m, tag, f, neg, biased, man, zero.sig)
}

/// Fields of a format value: sign, exponent field, and the significand with its hidden
/// bit (zero when the exponent field is zero, whatever the stored mantissa).
pub fn unpack(m: &mut ModuleBuilder, f: &FloatFormat, x: Sig) -> Result<(Sig, Sig, Sig)> {
    let (e, mb) = (f.exp_bits, f.man_bits);
    let field = m.val(x.bits(e + mb - 1, mb))?;
    let nonzero = m.val(field.any())?;
    let sig = m.val(mux(
        nonzero,
        cat([Expr::from(nonzero), x.bits(mb - 1, 0)]),
        0,
    ))?;
    Ok((m.val(x.bit(e + mb))?.sig, field.sig, sig.sig))
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
) -> Result<(Val, Val, i32)> {
    let big = fa.bias.max(fb.bias);
    let top = |f: &FloatFormat| i64::from((1i32 << f.exp_bits) - 1 + big - f.bias);
    let width = count_bits(top(fa).max(top(fb)) as u32);
    let one = |m: &mut ModuleBuilder, f: &FloatFormat, field: Sig| -> Result<Val> {
        let field = m.val(field.resize(width))?;
        if f.bias == big {
            return Ok(field);
        }
        let moved = (field + (big - f.bias)).wrapping(width);
        m.val(mux(field.any(), moved, 0))
    };
    Ok((one(m, fa, field_a)?, one(m, fb, field_b)?, big))
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
    let ga = m.val(ga << (p - ga.width()))?;
    let gb = m.val(gb << (p - gb.width()))?;
    let (ca, cb, common_bias) = common_exponents(m, (fa, fa_field), (fb, fb_field))?;
    let e = ca.width();

    m.note("Order the operands by magnitude.");
    let a_smaller = m.val(cat([ca, ga]).less(cat([cb, gb])))?;
    let big_sign = m.val(mux(a_smaller, sb, sa))?;
    let big_field = m.val(mux(a_smaller, cb, ca))?;
    let small_field = m.val(mux(a_smaller, ca, cb))?;
    let big_sig = m.val(mux(a_smaller, gb, ga))?;
    let small_sig = m.val(mux(a_smaller, ga, gb))?;
    let distance = m.val((big_field - small_field).wrapping(e).reinterpret_unsigned())?;

    m.note("Align the smaller significand: guard, round and sticky bits.");
    // Shifts of p + 3 or more all leave only a sticky bit: clamp the distance so the
    // shifter has just enough stages.
    let limit = p + 3;
    let dw = count_bits(limit);
    let distance = if e > dw {
        let high = m.val(distance.bits(e - 1, dw))?;
        m.discard(high.sig, &format!("{tag}_far_distance"))?; // covered by `far`
        let far = distance.greater(limit);
        m.val(mux(
            far,
            lit(limit.into(), dw, false),
            distance.bits(dw - 1, 0),
        ))?
    } else {
        distance
    };
    let small_ext = m.val(small_sig << 3)?; // p + 3 bits
    let shifted = m.shift_right(small_ext, distance.sig)?;
    // Sticky: any bit below the shift distance.
    let ones = m.val(lit((1i128 << (p + 3)) - 1, p + 3, false))?;
    let kept_mask = m.shift_left(ones, distance.sig)?;
    let sticky = (small_ext & !kept_mask).any();
    let aligned = m.val(cat([shifted.bits(p + 2, 1), shifted.bit(0) | sticky]))?;

    m.note("Add or subtract the magnitudes (the bigger minus the smaller never borrows).");
    let big_ext = m.val(big_sig << 3)?;
    let plus = (big_ext + aligned).wrapping(p + 4);
    let minus = (big_ext - aligned).wrapping(p + 4);
    let total = m.val(mux(!(sa ^ sb), plus, minus).reinterpret_unsigned())?;
    let zero = m.val(!total.any())?;

    m.note("Normalise and round.");
    let (norm, lz) = m.normalize(total.sig)?;
    let (man, carry) = round_significand(m, tag, fr, norm, mode)?;
    // Leading one at bit p+2 (no carry, no cancellation) keeps big's exponent:
    // biased = big_field - common_bias + bias_r + 1 - lz + carry.
    let shift = i64::from(fr.bias - common_bias + 1);
    let biased = exponent(m, fr, big_field + shift - lz + carry)?;
    pack(m, tag, fr, big_sign.sig, biased, man, zero.sig)
}
