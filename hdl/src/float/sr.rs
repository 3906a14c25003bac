//! Addition with stochastic rounding: `fr.round_with(Exact::sum(fa.decode(a),
//! fb.decode(b)), Sr { rnd, R })` bit for bit.
//!
//! Stochastic rounding looks at R bits of the discarded fraction, not only at guard,
//! round and sticky bits, so the dual-path adder of `add.rs` (which keeps three bits
//! below the result) cannot serve it; this is a plain single-path adder instead. Both
//! significands are aligned to the larger exponent in a window of `P + G` bits, `P` the
//! wider significand and `G = R + 1` bits below it; what the smaller one loses below the
//! window is a sticky bit. Rounding takes the floor of the exact magnitude at the
//! R-th bit below the result's LSB:
//! - an addition's floor is the window sum (the lost bits only add a fraction below the
//!   window);
//! - a subtraction's is the window difference minus one when bits were lost. Bits are
//!   lost only for a shift of more than `G >= 2` places, so the difference keeps its top
//!   bit or the one below; the window then reaches `P + G - 2 >= M_r + 1 + R` bits below
//!   the result's leading one, which covers the rounding's R bits.
//!
//! Then normalise, round stochastically and range-check as `round_pack` does.

use model::float::FloatFormat;

use super::{exponent, round_pack, unpack, Exponent, FloatSig, RoundBy};
use crate::ir::{mux, ExprOps, ModuleBuilder, Result, Sig};

/// `a + b` for `a` in `fa` and `b` in `fb`, rounded into `fr` stochastically with the
/// random word `rnd` (R bits, R its width).
pub fn add_sr(
    m: &mut ModuleBuilder,
    tag: &str,
    (fa, a): (&FloatFormat, Sig),
    (fb, b): (&FloatFormat, Sig),
    fr: &FloatFormat,
    rnd: Sig,
) -> Result<FloatSig> {
    let r = rnd.width();
    let p = fa.man_bits.max(fb.man_bits) + 1;
    let g = r + 1;
    let w = p + g;
    m.note("Stochastic-rounding adder: align both significands in one window.");
    let (sa, ea, ga) = unpack(m, fa, a)?;
    let (sb, eb, gb) = unpack(m, fb, b)?;
    // Significands left-aligned in P bits, then G zero bits below: W bits.
    let wa = m.val(ga << (p - fa.man_bits - 1 + g))?;
    let wb = m.val(gb << (p - fb.man_bits - 1 + g))?;
    // Exponents of the leading bits, biased by fr's bias.
    let xa = m.val((ea.u() + i64::from(fr.bias - fa.bias)).sint())?;
    let xb = m.val((eb.u() + i64::from(fr.bias - fb.bias)).sint())?;
    let (live_a, live_b) = (m.val(ea.any())?, m.val(eb.any())?);
    // The larger operand: a, unless a is zero or b is live with a larger exponent.
    let a_big = m.wire(&format!("{tag}_a_big"), live_a & !(live_b & xb.greater(xa)))?;
    let big = m.val(mux(a_big, wa, wb))?;
    let small = m.wire(&format!("{tag}_small"), mux(a_big, wb, wa))?;
    let x_big = m.val(mux(a_big, xa, xb))?;
    let x_small = m.val(mux(a_big, xb, xa))?;
    let s_big = m.val(mux(a_big, sa, sb))?;
    let s_small = m.val(mux(a_big, sb, sa))?;
    // A zero smaller operand has no bits: any shift will do, so past the window.
    let d = m.val(x_big - x_small)?;
    let past = m.val(d.greater(i64::from(w)) | d.less(0))?;
    let aw = model::int::unsigned_bits(u128::from(w));
    let d_wide = m.val(d.resize(d.width().max(aw)))?; // narrow exponents: widen first
    let d_low = m.val(d_wide.bits(aw - 1, 0))?;
    let amount = m.wire(&format!("{tag}_shift"), mux(past, i64::from(w), d_low))?;
    let aligned = m.shift_right(small.sig.u(), amount.sig)?;
    let back = m.shift_left(aligned, amount.sig)?;
    let sticky = m.wire(&format!("{tag}_sticky"), back.unequal(small))?;
    let sub = m.val(s_big ^ s_small)?;
    let sum = m.val(big + aligned)?; // W + 1 bits
    let diff = m.val(big - aligned - sticky)?; // signed; negative only without a shift
    let (dmag, dneg) = m.abs(&format!("{tag}_diff_mag"), diff)?;
    // |diff| <= 2^W: the bits above are zero.
    let high = m.val(dmag.bits(dmag.width() - 1, w + 1))?;
    m.discard(high.sig, &format!("{tag}_diff_high"))?;
    let dmag = m.val(dmag.bits(w, 0))?;
    let mag = m.wire(&format!("{tag}_mag"), mux(sub, dmag, sum))?;
    let neg = m.val(s_big ^ (sub & dneg))?;
    let zero = m.val(!mag.any())?;
    m.note("Normalise, round stochastically, range-check.");
    let (norm, lz) = m.normalize(mag.sig)?;
    // mag's top bit (W) is x_big + 1.
    let biased = exponent(m, fr, x_big + 1 - lz.u())?;
    let biased = Exponent::new(m, tag, fr, biased)?;
    round_pack(
        m,
        tag,
        fr,
        neg.sig,
        norm,
        biased,
        zero.sig,
        RoundBy::Sr(rnd),
    )
}
