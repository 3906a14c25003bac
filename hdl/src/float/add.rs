//! The dual-path floating-point adder (`add`, `add_formats`, `add_unpacked`) in its
//! named stages: [`order`], [`far_path`], [`near_path`], then the choice of path and the
//! exponent ([`add_core`]); rounding and packing are the parent module's.

use model::float::{FloatFormat, Rounding};

use super::*;
use crate::ir::{cat, lit, mux, Expr, ExprOps, ModuleBuilder, Result, Sig, Val};

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
    a_flagged: bool,
) -> Result<(Val, Val, i32)> {
    let big = fa.bias.max(fb.bias);
    let top = |f: &FloatFormat| i64::from((1i32 << f.exp_bits) - 1 + big - f.bias);
    let width = count_bits(top(fa).max(top(fb)) as u32);
    // A flagged zero (`a_flagged`: its zero-ness is a flag, not a zero field) needs no
    // zero kept at zero.
    let one = |m: &mut ModuleBuilder, f: &FloatFormat, field: Sig, flagged: bool| {
        let field = m.val(field.resize(width))?;
        if f.bias == big {
            return Ok(field);
        }
        let moved = (field + (big - f.bias)).wrapping(width);
        if flagged {
            return m.val(moved);
        }
        m.val(mux(field.any(), moved, 0))
    };
    Ok((
        one(m, fa, field_a, a_flagged)?,
        one(m, fb, field_b, false)?,
        big,
    ))
}

/// `a + b` for `a` in format `fa` and `b` in `fb`, rounded into `fr`:
/// `fr.round(Exact::sum(fa.decode(a), fb.decode(b)))`.
///
/// A dual-path adder (as FloPoCo's `FPAddDualPath`), shallow because it sits in
/// accumulation loops whose result is needed the next cycle. Both significands are
/// widened to the largest precision P of the three formats; the operands are ordered by
/// exponent alone (two differences in parallel, the sign of one picks), `d` is the
/// exponent distance.
///
/// - Far path (an addition, or a subtraction with `d >= 2`): the classic three-extra-bit
///   adder. The smaller significand is aligned with guard, round and sticky bits and
///   added or subtracted; the sum's leading one moves at most one place up (a carry) or,
///   since `d >= 2`, one place down, so normalising is a choice of three. With guard and
///   round bits plus a sticky bit the result is the correctly rounded exact sum: a shift
///   of two or more places cancels at most one leading bit, and rounding to P or fewer
///   bits never looks below the sticky bit.
/// - Near path (a subtraction with `d <= 1`): no alignment beyond one place, so the
///   difference is exact (P + 1 bits); for `d = 0` both orders are subtracted in
///   parallel and the one that does not borrow is kept. A leading-zero tree and one
///   barrel shift normalise it.
///
/// The chosen path's normalised significand is rounded once; the exponent and its range
/// checks are computed before rounding for both outcomes of the rounding carry, which
///  then only selects.
pub fn add_formats(
    m: &mut ModuleBuilder,
    tag: &str,
    (fa, a): (&FloatFormat, Sig),
    (fb, b): (&FloatFormat, Sig),
    fr: &FloatFormat,
    mode: Rounding,
) -> Result<FloatSig> {
    let u = add_core(m, tag, (fa, First::Packed(a)), (fb, b), fr)?;
    round_pack(m, tag, fr, u.neg, u.norm, u.biased, u.zero, mode.into())
}

/// [`add_formats`] with the first operand held apart ([`Unpacked`]) and the result
/// too, for a loop that keeps its state apart: the first operand's zero test is its
/// `live` flag (which may also carry a `clear`) rather than a test of its field, and
/// the result leaves flush and saturation to the flag and two constant selects.
pub fn add_unpacked(
    m: &mut ModuleBuilder,
    tag: &str,
    (fa, a): (&FloatFormat, Unpacked),
    (fb, b): (&FloatFormat, Sig),
    fr: &FloatFormat,
    mode: Rounding,
) -> Result<UnpackedSig> {
    let u = add_core(m, tag, (fa, First::Unpacked(a)), (fb, b), fr)?;
    let c = u.candidates.expect("candidates of a held-apart sum");
    let ones = lit((1i128 << fr.man_bits) - 1, fr.man_bits, false);
    let max_field = lit(fr.max_field().into(), fr.exp_bits, false);
    // Each candidate rounded, saturated and range-checked in parallel; the selects of
    // the normalisation then choose among finished results.
    let mut finished = Vec::with_capacity(c.each.len());
    for (name, norm, exp) in c.each {
        let r = round(
            m,
            &format!("{tag}_{name}"),
            fr,
            norm,
            exp,
            mode.into(),
            true,
        )?;
        let mut sat = |i: usize| m.val(mux(exp.big[i], max_field.clone(), exp.field[i]));
        let (without, with) = (sat(0)?, sat(1)?);
        let field = m.val(mux(r.carry, with, without))?;
        let man = m.val(mux(r.too_big, ones.clone(), r.man))?;
        finished.push([man, field, r.too_big, r.too_small]);
    }
    let pick = |m: &mut ModuleBuilder, name: &str, i: usize| -> Result<Val> {
        let [n, m1, m2, p0, p1] = [0, 1, 2, 3, 4].map(|k| finished[k][i]);
        let far = mux(c.sub, mux(c.kept_top, m1, m2), mux(c.carry_out, p0, p1));
        m.wire(&format!("{tag}_{name}"), mux(c.near, n, far))
    };
    let man = pick(m, "man", 0)?;
    let field = pick(m, "field", 1)?;
    let too_big = pick(m, "too_big", 2)?;
    let too_small = pick(m, "too_small", 3)?;
    let zero = u.zero;
    let value = Unpacked {
        sign: u.neg,
        field: field.sig,
        man: man.sig,
        live: m.wire(&format!("{tag}_live"), !(too_small | zero))?.sig,
    };
    Ok(UnpackedSig {
        value,
        underflow: m.val(too_small & !zero)?.sig,
        overflow: m.val(too_big & !zero)?.sig,
    })
}

/// The first operand of [`add_core`].
#[derive(Clone, Copy, Debug)]
enum First {
    Packed(Sig),
    Unpacked(Unpacked),
}

/// A sum before rounding: its sign, its significand normalised (leading one at the
/// top), its biased exponent for both outcomes of the rounding carry, and `zero`.
struct Unrounded {
    neg: Sig,
    norm: Sig,
    biased: Exponent,
    zero: Sig,
    /// Held apart: the candidates `norm` is chosen from, to be rounded before the choice.
    candidates: Option<Candidates>,
}

/// The normalised significands `norm` is chosen from, each with its exponent, and the
/// selects: `near` ? near : `sub` ? (`kept_top` ? minus1 : minus2) :
/// (`carry_out` ? plus0 : plus1).
struct Candidates {
    near: Sig,
    sub: Sig,
    kept_top: Sig,
    carry_out: Sig,
    /// near, minus1, minus2, plus0, plus1.
    each: [(&'static str, Sig, Exponent); 5],
}

/// The operands of [`add_core`] on one scale and ordered by exponent: significands
/// widened to the common precision `p`, common exponents `e` bits wide, both exponent
/// differences, and what the far and near paths start from.
struct Ordered {
    p: u32,
    e: u32,
    /// The first operand's `live` flag when it is held apart.
    a_live: Option<Sig>,
    /// Nonzero tests: a field test, or the flag.
    a_nz: Expr,
    cb: Val,
    /// `ca - cb` and `cb - ca`, `e + 1` bits.
    dab: Val,
    dba: Val,
    /// b's exponent is the larger (or a is a flagged zero).
    swap: Val,
    big_sign: Val,
    big_field: Val,
    big_sig: Val,
    /// The first significand, masked where a flagged zero is the smaller.
    small_a: Val,
    gb: Val,
    /// Packed: the smaller significand and its distance, chosen before the shift.
    small: Option<(Val, Val)>,
    sub: Val,
    both_zero: Val,
    /// A subtraction of nonzero operands at most one place apart.
    near: Val,
    /// Raw significands (hidden bit set, not masked) for the near path.
    ra: Val,
    rb: Val,
    same: Val,
    common_bias: i32,
}

/// Stage 1 of [`add_core`]: unpack, bring both exponents to one scale and order the
/// operands by exponent (both differences at once, the sign of one picks).
fn order(
    m: &mut ModuleBuilder,
    tag: &str,
    (fa, a): (&FloatFormat, First),
    (fb, b): (&FloatFormat, Sig),
    fr: &FloatFormat,
) -> Result<Ordered> {
    let p = (fa.man_bits.max(fb.man_bits).max(fr.man_bits)) + 1;
    // A held-apart operand's significand is taken with its hidden bit set (`live`
    // decides zero); a packed one is zero where its field is.
    let (sa, fa_field, ga, a_live) = match a {
        First::Packed(a) => {
            let (s, f, g) = unpack(m, fa, a)?;
            (s, f, g, None)
        }
        First::Unpacked(u) => {
            let g = m.val(cat([lit(1, 1, false), Expr::from(u.man)]))?;
            (u.sign, u.field, g.sig, Some(u.live))
        }
    };
    let (sb, fb_field, gb) = unpack(m, fb, b)?;
    let ga = m.val(ga << (p - ga.width()))?;
    let gb = m.val(gb << (p - gb.width()))?;
    let (ca, cb, common_bias) =
        common_exponents(m, (fa, fa_field), (fb, fb_field), a_live.is_some())?;
    let e = ca.width();
    // a is nonzero: a test of its field, or its flag.
    let a_nz: Expr = match a_live {
        None => ca.any(),
        Some(l) => l.into(),
    };

    m.note("Order the operands by exponent: both differences at once, the sign of one picks.");
    let dab = m.wire(&format!("{tag}_dab"), (ca - cb).wrapping(e + 1))?;
    let dba = m.wire(&format!("{tag}_dba"), (cb - ca).wrapping(e + 1))?;
    // b's exponent is the larger; a flagged zero is always the smaller (its field is
    // arbitrary), so its significand is masked only where it is the smaller.
    let swap = match a_live {
        None => m.val(dab.bit(e))?,
        Some(l) => m.val(dab.bit(e) | !l)?,
    };
    let big_sign = m.val(mux(swap, sb, sa))?;
    let big_field = m.val(mux(swap, cb, ca))?;
    let big_sig = m.val(mux(swap, gb, ga))?;
    let small_a = match a_live {
        None => ga,
        Some(l) => m.val(mux(l, ga, 0))?,
    };
    // Packed: the smaller significand and its distance are chosen, then shifted. Held
    // apart: both operands are shifted, each by its own difference, which the shifters
    // take bit by bit as the subtractions produce them, and `swap` picks afterwards.
    let small = match a_live {
        None => {
            let small_sig = m.val(mux(swap, small_a, gb))?;
            let distance = m.val(mux(swap, dba.bits(e - 1, 0), dab.bits(e - 1, 0)))?;
            Some((small_sig, distance))
        }
        Some(_) => None,
    };
    let unused = m.val(dba.bit(e))?;
    m.discard(unused.sig, &format!("{tag}_dba_sign"))?; // the opposite of dab's
    let sub = m.val(sa ^ sb)?;
    let both_zero = m.val(!(a_nz.clone() | cb.any()))?;
    // d <= 1: dab is -1 (all ones), 0 or 1 (nothing above bit 0).
    let close = m.val(dab.all() | !dab.bits(e, 1).any())?;
    // Zero operands take the far path, so the near path needs no masked significands:
    // it subtracts the raw ones, hidden bit set, without waiting for the zero tests.
    let nonzero = a_nz.clone() & cb.any();
    let near = m.wire(&format!("{tag}_near"), sub & close & nonzero)?;
    let raw = |m: &mut ModuleBuilder, f: &FloatFormat, x: Sig| -> Result<Val> {
        let sig = cat([lit(1, 1, false), x.bits(f.man_bits - 1, 0)]);
        m.val(sig << (p - f.man_bits - 1))
    };
    let ra = match a {
        First::Packed(a) => raw(m, fa, a)?,
        First::Unpacked(_) => ga, // its hidden bit is already set
    };
    let rb = raw(m, fb, b)?;
    let same = m.val(ca.equal(cb))?;
    Ok(Ordered {
        p,
        e,
        a_live,
        a_nz,
        cb,
        dab,
        dba,
        swap,
        big_sign,
        big_field,
        big_sig,
        small_a,
        gb,
        small,
        sub,
        both_zero,
        near,
        ra,
        rb,
        same,
        common_bias,
    })
}

/// `v` (p + 4 bits) shifted up `k` places within its frame.
fn up_in_frame(v: Val, p: u32, k: u32) -> Expr {
    cat([v.bits(p + 3 - k, 0), lit(0, k, false)])
}

/// The far path's sums in the frame of p + 4 bits: `plus` (leading one at p + 3 when
/// `carry_out`, else p + 2), `minus` (p + 3 bits: at p + 2 when `kept_top`, else p + 1),
/// and the normalised choice.
struct Far {
    plus: Val,
    minus: Val,
    carry_out: Expr,
    kept_top: Expr,
    norm: Val,
}

/// Stage 2 of [`add_core`], the far path (an addition, or a subtraction with d >= 2):
/// align the smaller significand with guard, round and sticky bits, add or subtract,
/// and normalise by at most one place either way.
fn far_path(m: &mut ModuleBuilder, tag: &str, o: &Ordered) -> Result<Far> {
    let (p, e) = (o.p, o.e);
    m.note("Far path: align the smaller significand (guard, round and sticky bits).");
    let shifted = match o.small {
        Some((small_sig, distance)) => {
            let small_ext = m.val(small_sig << 3)?; // p + 3 bits
            m.shift_right(small_ext, distance.sig)?
        }
        None => {
            let mut by = |x: Val, d: Val| -> Result<Val> {
                let ext = m.val(x << 3)?;
                let d = m.val(d.bits(e - 1, 0))?;
                m.shift_right(ext, d.sig)
            };
            let a_shifted = by(o.small_a, o.dba)?;
            let b_shifted = by(o.gb, o.dab)?;
            m.val(mux(o.swap, a_shifted, b_shifted))?
        }
    };
    // Sticky: any bit below the shift distance (a distance of p + 3 or more leaves only
    // the sticky bit).
    // small_ext's lowest one is at its trailing-zero count; the counts of both operands
    // come from trees in parallel with the exponent differences, and each difference is
    // compared with the other operand's count (a zero operand has no bits to lose).
    let tz_a = m.tzc(&format!("{tag}_tz_a"), o.ra.sig)?;
    let tz_b = m.tzc(&format!("{tag}_tz_b"), o.rb.sig)?;
    let (lost_a, lost_b) = if o.a_live.is_none() {
        (
            m.val(o.a_nz.clone() & o.dba.greater(tz_a + 3))?,
            m.val(o.cb.any() & o.dab.greater(tz_b + 3))?,
        )
    } else {
        // The 3 comes off the differences, beside the counts: the comparisons then wait
        // for no addition after the count (the accumulator's count is in the loop).
        let dba3 = m.val(o.dba - 3)?;
        let dab3 = m.val(o.dab - 3)?;
        (
            m.val(o.a_nz.clone() & dba3.greater(tz_a))?,
            m.val(o.cb.any() & dab3.greater(tz_b))?,
        )
    };
    let sticky = mux(o.swap, lost_a, lost_b);
    // The aligned value: p bits above big's guard position, and guard, round and sticky.
    let high = m.val(shifted.bits(p + 2, 3))?;
    let low = m.val(cat([shifted.bits(2, 1), shifted.bit(0) | sticky]))?;

    m.note("Far path: add or subtract (the bigger minus the smaller never borrows), then");
    m.note("normalise by at most one place either way.");
    // big has zeros in the three low places: the sum's low bits are `low`, and the
    // difference borrows from its high part exactly when `low` is nonzero. Both high
    // differences are made, so the sticky bit only selects and never enters a carry.
    let big_sig = o.big_sig;
    let plus = m.wire(
        &format!("{tag}_far_plus"),
        cat([big_sig + high, Expr::from(low)]),
    )?;
    let exact = m.wire(&format!("{tag}_far_minus"), (big_sig - high).wrapping(p))?;
    let borrowed = m.wire(
        &format!("{tag}_far_minus_borrow"),
        (big_sig + !high).wrapping(p),
    )?;
    let minus = m.val(cat([
        mux(
            low.any(),
            borrowed.reinterpret_unsigned(),
            exact.reinterpret_unsigned(),
        ),
        (!low + 1).wrapping(3),
    ]))?;
    let carry_out = plus.bit(p + 3);
    let kept_top = minus.bit(p + 2);
    let norm = m.val(mux(
        o.sub,
        mux(
            kept_top.clone(),
            up_in_frame(minus, p, 1),
            up_in_frame(minus, p, 2),
        ),
        mux(carry_out.clone(), plus, up_in_frame(plus, p, 1)),
    ))?;
    Ok(Far {
        plus,
        minus,
        carry_out,
        kept_top,
        norm,
    })
}

/// The near path's exact difference normalised, its leading-zero count, whether it is
/// zero, and whether `a - b` borrowed.
struct Near {
    norm: Sig,
    lz: Sig,
    zero: Val,
    borrow: Val,
}

/// Stage 3 of [`add_core`], the near path (a subtraction of nonzero operands with
/// d <= 1): the exact difference of p + 1 bits, then a leading-zero tree and one shift.
fn near_path(m: &mut ModuleBuilder, tag: &str, o: &Ordered) -> Result<Near> {
    let (p, ra, rb, swap) = (o.p, o.ra, o.rb, o.swap);
    m.note("Near path: exact difference of p + 1 bits, then normalise.");
    // Both operands nonzero. d = 0: both orders (a and b unswapped), keep the one that
    // does not borrow; d = 1: the bigger doubled minus the smaller, never negative.
    let ab = m.wire(&format!("{tag}_near_ab"), (ra - rb).wrapping(p + 1))?;
    let ba = m.wire(&format!("{tag}_near_ba"), (rb - ra).wrapping(p + 1))?;
    let borrow = m.val(ab.bit(p))?;
    let one = if o.a_live.is_none() {
        let (big_raw, small_raw) = (mux(swap, rb, ra), mux(swap, ra, rb));
        m.wire(
            &format!("{tag}_near_one"),
            ((big_raw << 1) - small_raw).wrapping(p + 1),
        )?
    } else {
        // Both orders beside the exponent subtraction; its sign picks.
        let one_ab = m.wire(
            &format!("{tag}_near_one_ab"),
            ((ra << 1) - rb).wrapping(p + 1),
        )?;
        let one_ba = m.wire(
            &format!("{tag}_near_one_ba"),
            ((rb << 1) - ra).wrapping(p + 1),
        )?;
        m.val(mux(swap, one_ba, one_ab))?
    };
    let diff = m.wire(
        &format!("{tag}_near_diff"),
        mux(
            o.same,
            mux(borrow, ba.bits(p - 1, 0) << 1, ab.bits(p - 1, 0) << 1),
            one.reinterpret_unsigned(),
        ),
    )?;
    let unused = m.val(ba.bit(p))?;
    m.discard(unused.sig, &format!("{tag}_near_ba_sign"))?; // set only when ab's is not
    let zero = m.val(!diff.any())?;
    let (norm, lz) = m.normalize(diff.sig)?;
    Ok(Near {
        norm,
        lz,
        zero,
        borrow,
    })
}

/// The near path's biased exponent for both outcomes of the rounding carry: `top - 1 -
/// lz`, range-checked after the subtraction (packed), or (held apart) with its range
/// checks made by comparing the count with thresholds made from `top` while it is
/// counted: e = top - 1 + j - lz is above the largest field when lz < top - 1 + j - max,
/// below 1 when lz > top - 2 + j.
fn near_exponent(
    m: &mut ModuleBuilder,
    tag: &str,
    fr: &FloatFormat,
    top: Val,
    lz: Sig,
    held_apart: bool,
) -> Result<Exponent> {
    if !held_apart {
        let near_top = exponent(m, fr, top - 1 - lz.u())?;
        return Exponent::new(m, &format!("{tag}_near"), fr, near_top);
    }
    let mut part = |j: i64| -> Result<(Val, Val, Val)> {
        let base = m.val(top + (j - 1))?;
        let e = m.val(base - lz.u())?;
        let ew = e.width();
        if ew > fr.exp_bits {
            let high = m.val(e.bits(ew - 1, fr.exp_bits))?;
            m.discard(high.sig, &format!("{tag}_near_exp_range_p{j}"))?;
        }
        let field = m.val(e.bits(fr.exp_bits - 1, 0))?;
        let big_at = m.val(base - i64::from(fr.max_field()))?;
        let small_at = m.val(base - 1)?;
        let big = m.val(big_at.greater(lz.u()))?;
        let small = m.val(lz.u().greater(small_at))?;
        Ok((field, big, small))
    };
    let without = part(0)?;
    let with = part(1)?;
    Ok(Exponent::of(without, with))
}

/// The dual-path adder of [`add_formats`] up to rounding: [`order`], [`far_path`],
/// [`near_path`], then the choice of path and the exponent.
fn add_core(
    m: &mut ModuleBuilder,
    tag: &str,
    a: (&FloatFormat, First),
    b: (&FloatFormat, Sig),
    fr: &FloatFormat,
) -> Result<Unrounded> {
    let o = order(m, tag, a, b, fr)?;
    let far = far_path(m, tag, &o)?;
    let near = near_path(m, tag, &o)?;
    let p = o.p;

    m.note("Choose the path, round, and range-check.");
    // In the frame of p + 4 bits the near difference sits two places up, its top bit 0.
    let norm = m.wire(
        &format!("{tag}_norm"),
        mux(
            o.near,
            cat([Expr::from(near.norm), lit(0, 3, false)]),
            far.norm,
        ),
    )?;
    let zero = m.val(mux(o.near, near.zero, o.both_zero))?;
    let neg = m.val(o.big_sign ^ (o.near & o.same & near.borrow))?;
    // A leading one at bit p + 3 of the frame has big's exponent plus one:
    // biased = big_field - common_bias + bias_r + 1 - (leading zeros of the frame), plus
    // the rounding carry. The far path's 0, 1 or 2 leading zeros and the carry make four
    // candidates, checked in parallel with the additions; the near path's count comes
    // from its tree, before its shift.
    let shift = i64::from(fr.bias - o.common_bias + 1);
    let top = exponent(m, fr, o.big_field + shift)?;
    let v = exponent_offsets(m, tag, fr, top, &[-2, -1, 0, 1])?;
    let far_exp = |lz: usize| Exponent::of(v[2 - lz], v[3 - lz]);
    let minus_exp = Exponent::select(m, far.kept_top.clone(), far_exp(1), far_exp(2))?;
    let plus_exp = Exponent::select(m, far.carry_out.clone(), far_exp(0), far_exp(1))?;
    let far_chosen = Exponent::select(m, o.sub, minus_exp, plus_exp)?;
    let near_exp = near_exponent(m, tag, fr, top, near.lz, o.a_live.is_some())?;
    let biased = Exponent::select(m, o.near, near_exp, far_chosen)?;
    let candidates = match o.a_live {
        None => None,
        Some(_) => {
            let near_frame = m.val(cat([Expr::from(near.norm), lit(0, 3, false)]))?;
            let minus1 = m.val(up_in_frame(far.minus, p, 1))?;
            let minus2 = m.val(up_in_frame(far.minus, p, 2))?;
            let plus1 = m.val(up_in_frame(far.plus, p, 1))?;
            Some(Candidates {
                near: o.near.sig,
                sub: o.sub.sig,
                kept_top: m.val(far.minus.bit(p + 2))?.sig,
                carry_out: m.val(far.plus.bit(p + 3))?.sig,
                each: [
                    ("near", near_frame.sig, near_exp),
                    ("m1", minus1.sig, far_exp(1)),
                    ("m2", minus2.sig, far_exp(2)),
                    ("p0", far.plus.sig, far_exp(0)),
                    ("p1", plus1.sig, far_exp(1)),
                ],
            })
        }
    };
    Ok(Unrounded {
        neg: neg.sig,
        norm: norm.sig,
        biased,
        zero: zero.sig,
        candidates,
    })
}
