//! Floating-point datapaths on the IR for the formats of `model::float` (no subnormals,
//! flush to zero and saturate with flags): normalisation, conversion of a scaled integer,
//! and addition (`add.rs`). Each matches `FloatFormat::round` of the exact result bit for
//! bit; the units (`bfp_dot`, `fpacc`) compose them with their own registers.
//!
//! Results are `(bits, underflow, overflow)`, like `model::float::Rounded`. `tag` prefixes
//! the names of the wires a datapath makes, so one module can hold several.

use model::float::{FloatFormat, Rounding};

use crate::ir::{cat, lit, mux, Expr, ExprOps, ModuleBuilder, Result, Sig, Val};

mod add;
mod sr;

pub use add::{add, add_formats, add_unpacked};
pub use sr::add_sr;

/// How a datapath rounds: a mode, or stochastic rounding (`model::float::sr_round_up`)
/// with `rnd`, a random word of its width in bits.
#[derive(Clone, Copy, Debug)]
pub enum RoundBy {
    Mode(Rounding),
    Sr(Sig),
}

impl From<Rounding> for RoundBy {
    fn from(mode: Rounding) -> RoundBy {
        RoundBy::Mode(mode)
    }
}

/// A rounded value: `sign | biased exponent | mantissa` and the two range flags.
#[derive(Clone, Copy, Debug)]
pub struct FloatSig {
    pub bits: Sig,
    pub underflow: Sig,
    pub overflow: Sig,
}

/// A value of a format held apart, as an accumulation loop keeps its state: sign,
/// exponent field and stored mantissa (no hidden bit), and `live`, set for a nonzero
/// value. Where `live` is clear the value is zero and the other fields are ignored;
/// where it is set the field is at least 1.
#[derive(Clone, Copy, Debug)]
pub struct Unpacked {
    pub sign: Sig,
    pub field: Sig,
    pub man: Sig,
    pub live: Sig,
}

/// A rounded value held apart ([`Unpacked`]) and the two range flags: a flush clears
/// `live`, a saturation sets the largest field and an all-ones mantissa.
#[derive(Clone, Copy, Debug)]
pub struct UnpackedSig {
    pub value: Unpacked,
    pub underflow: Sig,
    pub overflow: Sig,
}

/// `value` packed into the bits of `f`: `sign | field | mantissa`, or 0 where not live.
pub fn pack(m: &mut ModuleBuilder, value: Unpacked) -> Result<Sig> {
    let w = 1 + value.field.width() + value.man.width();
    let normal = cat([
        Expr::from(value.sign),
        Expr::from(value.field),
        Expr::from(value.man),
    ]);
    Ok(m.val(mux(value.live, normal, lit(0, w, false)))?.sig)
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

/// A biased exponent as a signed value of at least `exp_bits + 2` bits.
fn exponent(m: &mut ModuleBuilder, f: &FloatFormat, e: Expr) -> Result<Val> {
    let v = m.val(e.sint())?;
    m.val(v.resize(v.width().max(f.exp_bits + 2)))
}

/// A biased exponent before rounding, prepared for both outcomes of the rounding carry
/// (index 0 without, 1 with): its low `exp_bits` bits and the range checks of
/// `FloatFormat::round`, `big` (above the largest field) and `small` (below 1).
#[derive(Clone, Copy, Debug)]
struct Exponent {
    field: [Val; 2],
    big: [Val; 2],
    small: [Val; 2],
}

/// Field and range checks of `e + j` for each `j` of `js`, all from `e` in parallel.
fn exponent_offsets(
    m: &mut ModuleBuilder,
    tag: &str,
    f: &FloatFormat,
    e: Val,
    js: &[i64],
) -> Result<Vec<(Val, Val, Val)>> {
    let mut out = Vec::with_capacity(js.len());
    for &j in js {
        let v = if j == 0 { e } else { m.val(e + j)? };
        let ew = v.width();
        if ew > f.exp_bits {
            let high = m.val(v.bits(ew - 1, f.exp_bits))?;
            let label = format!(
                "{tag}_exp_range_{}{}",
                if j < 0 { "m" } else { "p" },
                j.abs()
            );
            m.discard(high.sig, &label)?; // covered by the range checks
        }
        let field = m.val(v.bits(f.exp_bits - 1, 0))?;
        let big = m.val(v.greater(f.max_field()))?;
        let small = m.val(v.less(1))?;
        out.push((field, big, small));
    }
    Ok(out)
}

impl Exponent {
    /// The exponent `e` (signed).
    fn new(m: &mut ModuleBuilder, tag: &str, f: &FloatFormat, e: Val) -> Result<Exponent> {
        let v = exponent_offsets(m, tag, f, e, &[0, 1])?;
        Ok(Exponent::of(v[0], v[1]))
    }

    /// From the field and checks without the carry and with it.
    fn of(without: (Val, Val, Val), with: (Val, Val, Val)) -> Exponent {
        Exponent {
            field: [without.0, with.0],
            big: [without.1, with.1],
            small: [without.2, with.2],
        }
    }

    /// `sel ? t : f`, part by part.
    fn select(
        m: &mut ModuleBuilder,
        sel: impl Into<Expr>,
        t: Exponent,
        f: Exponent,
    ) -> Result<Exponent> {
        let sel = m.val(sel.into())?;
        let mut pick = |a: [Val; 2], b: [Val; 2]| -> Result<[Val; 2]> {
            Ok([m.val(mux(sel, a[0], b[0]))?, m.val(mux(sel, a[1], b[1]))?])
        };
        Ok(Exponent {
            field: pick(t.field, f.field)?,
            big: pick(t.big, f.big)?,
            small: pick(t.small, f.small)?,
        })
    }
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
    mode: impl Into<RoundBy>,
) -> Result<FloatSig> {
    let d = magnitude.width();
    let zero = m.val(!magnitude.any())?;
    let (norm, lz) = m.normalize(magnitude)?;
    // Biased exponent of the leading one before rounding: exp + (d - 1 - lz) + bias.
    let base = i64::from(d) - 1 + i64::from(f.bias);
    let biased = exponent(m, f, exp.s() + base - lz)?;
    let biased = Exponent::new(m, tag, f, biased)?;
    round_pack(m, tag, f, neg, norm, biased, zero.sig, mode.into())
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

/// Round the normalised significand `norm` (leading one at its top bit, or zero) into
/// `f` and pack it with the range checks of `FloatFormat::round`: above the largest
/// field saturate, below 1 flush to zero; `zero` forces +0 without flags. `exp` is the
/// biased exponent of the leading one, prepared for both outcomes of the rounding carry
/// (`up` and every kept bit one), which only selects.
#[allow(clippy::too_many_arguments)]
fn round_pack(
    m: &mut ModuleBuilder,
    tag: &str,
    f: &FloatFormat,
    neg: Sig,
    norm: Sig,
    exp: Exponent,
    zero: Sig,
    mode: RoundBy,
) -> Result<FloatSig> {
    let r = round(m, tag, f, norm, exp, mode, false)?;
    let normal = cat([Expr::from(neg), Expr::from(r.field), Expr::from(r.man)]);
    let width = f.width();
    let max = |neg: bool| lit(f.max_finite(neg).into(), width, false);
    let saturated = mux(neg, max(true), max(false));
    let bits = m.val(mux(
        r.too_small | zero,
        0,
        mux(r.too_big, saturated, normal),
    ))?;
    Ok(FloatSig {
        bits: bits.sig,
        underflow: m.val(r.too_small & !zero)?.sig,
        overflow: m.val(r.too_big & !zero)?.sig,
    })
}

/// A rounded significand before packing: the stored mantissa, the exponent field, and
/// the range checks (`too_big`: saturate, `too_small`: flush).
struct Rounded {
    man: Val,
    field: Val,
    too_big: Val,
    too_small: Val,
    /// The rounding carry, which selected `field` and the checks.
    carry: Val,
}

/// The rounding of [`round_pack`], without the packing; `early_increment` computes the
/// rounded-up mantissa in parallel with the decision to round up.
fn round(
    m: &mut ModuleBuilder,
    tag: &str,
    f: &FloatFormat,
    norm: Sig,
    exp: Exponent,
    mode: RoundBy,
    early_increment: bool,
) -> Result<Rounded> {
    let (w, p) = (norm.width(), f.man_bits + 1);
    let (man, carry) = if w <= p {
        if let RoundBy::Sr(rnd) = mode {
            m.discard(rnd, &format!("{tag}_rnd_exact"))?; // nothing to round
        }
        let padded = m.val(norm << (p - w))?; // exact: pad below
        let lead = m.val(padded.bit(p - 1))?;
        m.discard(lead.sig, &format!("{tag}_leading_one"))?;
        (m.val(padded.bits(p - 2, 0))?, m.val(lit(0, 1, false))?)
    } else {
        let drop = w - p;
        let kept = m.wire(&format!("{tag}_kept"), norm.bits(w - 1, drop))?;
        // The leading one (or, after a carry, a zero above a zero mantissa) is implicit.
        let lead = m.val(kept.bit(p - 1))?;
        m.discard(lead.sig, &format!("{tag}_leading_one"))?;
        match mode {
            RoundBy::Sr(rnd) => {
                // The discarded fraction's top R bits (zeros below a short one) plus
                // the random word: rounding up is that sum's carry.
                let r = rnd.width();
                let top = if drop >= r {
                    if drop > r {
                        let ignored = m.val(norm.bits(drop - r - 1, 0))?;
                        m.discard(ignored.sig, &format!("{tag}_below_rnd"))?;
                    }
                    m.val(norm.bits(drop - 1, drop - r))?
                } else {
                    m.val(norm.bits(drop - 1, 0) << (r - drop))?
                };
                let sum = m.val(top + rnd)?;
                let up = m.wire(&format!("{tag}_round_up"), sum.bit(r))?;
                let low = m.val(sum.bits(r - 1, 0))?;
                m.discard(low.sig, &format!("{tag}_rnd_sum"))?;
                let man = m.val((kept.bits(p - 2, 0) + up).wrapping(p - 1))?;
                (man, m.val(up & kept.all())?)
            }
            RoundBy::Mode(Rounding::Rz) => {
                let dropped = m.val(norm.bits(drop - 1, 0))?;
                m.discard(dropped.sig, &format!("{tag}_dropped"))?;
                (m.val(kept.bits(p - 2, 0))?, m.val(lit(0, 1, false))?)
            }
            RoundBy::Mode(Rounding::Rne) => {
                let sticky = if drop >= 2 {
                    norm.bits(drop - 2, 0).any()
                } else {
                    lit(0, 1, false)
                };
                let up = norm.bit(drop - 1) & (sticky | kept.bit(0));
                let up = m.wire(&format!("{tag}_round_up"), up)?;
                // Rounding carries out when every kept bit is one.
                let man = if early_increment {
                    // The increment starts from the kept bits, beside the rounding
                    // decision, which then only selects.
                    let inc = m.wire(
                        &format!("{tag}_man_inc"),
                        (kept.bits(p - 2, 0) + 1).wrapping(p - 1),
                    )?;
                    m.val(mux(up, inc, kept.bits(p - 2, 0)))?
                } else {
                    m.val((kept.bits(p - 2, 0) + up).wrapping(p - 1))?
                };
                (man, m.val(up & kept.all())?)
            }
        }
    };
    let too_big = m.val(mux(carry, exp.big[1], exp.big[0]))?;
    let too_small = m.val(mux(carry, exp.small[1], exp.small[0]))?;
    let field = m.val(mux(carry, exp.field[1], exp.field[0]))?;
    Ok(Rounded {
        man,
        field,
        too_big,
        too_small,
        carry,
    })
}
