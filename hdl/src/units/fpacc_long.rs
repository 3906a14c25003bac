//! RTL of the long fixed-point accumulator `fpacc-long` (docs/fpacc.md, "The long
//! accumulator"; the model is `model::fpacc::FpaccLongParams`).
//!
//! 1. exact product in LSB units of the long register, sign-extended to its width:
//!    integers multiply (mixed operands each of its own width and signedness, the
//!    product narrowed to `FpaccLongParams::product_width` bits); small floats multiply their significands and shift the product
//!    left by the sum of their exponent fields minus two;
//! 2. the loop: `long_q <= (clear ? 0 : long_q) + product` on a valid beat, the sticky
//!    `long_of_q` set when the sum leaves the register's range. Nothing else is in it;
//! 3. the read-out, four free-running register stages behind `long_q`:
//!    `|long_q|` and its sign; the coarse normalising shifts; the fine ones, which bring
//!    the leading one to the top (only the bits rounding can see are kept, the rest
//!    folded into a sticky bit), with the biased
//!    exponent and its range checks; rounding the significand, flush and saturation,
//!    registered on `acc`, `uf` and `of` (OR-ed with the sticky overflow). The rounding
//!    is `model::float::FloatFormat::round` (as `crate::float::from_sign_magnitude`
//!    does it), split so that no stage normalises twice.
//!
//! Stage 1 depends on the beat alone: `--pipeline` cuts it (`crate::pipeline`).

use model::fpacc::{FpaccLongParams, IntOperand, Operand, READOUT_STAGES};

use crate::float;
use crate::ir::{cat, lit, mux, Expr, ExprOps, ModuleBuilder, Result, Round, Sig, Val};
use crate::{start_unit, Generate, Module, UnitParams};
use model::float::{FloatFormat, Rounding};

/// Normalising shifts of `x` by `2^k` for each `k` of `levels` (from the top down):
/// where the top `2^k` bits are zero, shift them out. Returns the shifted value and the
/// shift bits (one per level, most significant first), as `ModuleBuilder::normalize`
/// does for every level at once.
fn shift_up(
    m: &mut ModuleBuilder,
    x: Sig,
    levels: impl Iterator<Item = u32>,
) -> Result<(Sig, Sig)> {
    let w = x.width();
    let mut x = x;
    let mut count = Vec::new();
    for k in levels {
        let s = 1u32 << k;
        let zero = m.val(!x.bits(w - 1, w - s).any())?.sig;
        let shifted = cat([x.bits(w - 1 - s, 0), lit(0, s, false)]);
        x = m.val(mux(zero, shifted, x))?.sig;
        count.push(Expr::from(zero));
    }
    Ok((x, m.val(cat(count))?.sig))
}

/// The exact product in LSB units of the long register, as a signed `w`-bit value.
fn fixed_product(m: &mut ModuleBuilder, p: &FpaccLongParams, a: Sig, b: Sig) -> Result<Val> {
    let w = p.long_width();
    match &p.operand {
        Operand::Int { .. } if p.operand.is_mixed() => {
            // Each operand of its own signedness. The typed layer multiplies two alike
            // into NA + NB bits of that signedness and signed by unsigned into NA + NB + 1
            // signed bits; as a signed value the product then has `product_width` bits
            // (NA + NB, one more for two unsigned operands), which hold every product:
            // the bits above them only copy the sign.
            let (oa, ob) = p.operand.ints().expect("integer operands");
            let typed = |s: Sig, o: IntOperand| Val {
                sig: s,
                signed: o.signed,
            };
            let full = m.wire("product_full", (typed(a, oa) * typed(b, ob)).sint())?;
            let exact = m.narrow("product_exact", full, p.product_width())?;
            m.wire("product", exact.resize(w))
        }
        Operand::Int { .. } => {
            let prod = m.val(a.s() * b.s())?; // 2N bits, exact
            m.wire("product", prod.resize(w))
        }
        Operand::Float { format } => {
            let (sa, ea, ga) = float::unpack(m, format, a)?;
            let (sb, eb, gb) = float::unpack(m, format, b)?;
            let sig = m.val(ga * gb)?; // zero when either operand is
            let sig = m.val(sig.resize(w))?;
            // Both fields are at least 1 when the product is nonzero; a zero product
            // shifts to zero whatever the (wrapped) amount.
            let e = format.exp_bits + 1;
            let amount = m.val((ea + eb - 2).wrapping(e).reinterpret_unsigned())?;
            let shifted = m.shift_left(sig, amount.sig)?;
            let mag = m.val(shifted.reinterpret_signed())?; // below 2^(w-1-guard)
            let neg = m.val(sa ^ sb)?;
            m.wire("product", mux(neg, (-mag).wrapping(w), mag))
        }
    }
}

impl Generate for FpaccLongParams {
    fn rtl(&self) -> Result<Module> {
        let (mut m, io) = start_unit(self)?;
        describe(&mut m, self);
        let (clk, rst) = (io["clk"], io["rst"]);
        let (valid, clear) = (io["in_valid"], io["clear"]);
        let w = self.long_width();

        m.note("Stage 1: the exact product in LSB units of the long register.");
        let product = fixed_product(&mut m, self, io["a"], io["b"])?;

        m.note("The loop: an integer add into the long register, wrapping with a sticky flag.");
        let long = m.reg("long_q", w, clk, Some((rst, 0)))?;
        let sticky = m.reg("long_of_q", 1, clk, Some((rst, 0)))?;
        let base = m.val(mux(clear, 0, long.s()))?;
        let sum = m.wire("long_sum", base + product)?; // w + 1 bits, exact
        let wrapped = m.val(sum.bit(w) ^ sum.bit(w - 1))?;
        m.next(long, sum.bits(w - 1, 0), Some(valid))?;
        m.next(sticky, (sticky & !clear) | wrapped, Some(valid))?;
        let valid_q = m.register("valid_q", valid, clk, Some(rst), None)?;

        let outputs = readout(
            &mut m,
            (long, sticky, valid_q),
            (self.long_lsb(), &self.acc, self.rounding),
            (clk, rst),
        )?;
        super::accumulator_outputs(&mut m, outputs)?;
        m.finish()
    }
}

/// The read-out of a long register (shared with `bfp_dot --acc long`): `READOUT_STAGES`
/// free-running register stages from `long` (signed, LSB `2^lsb`), its sticky overflow
/// and its valid bit to `acc_q` (`long * 2^lsb` rounded once into `f` as
/// `model::fpacc::long_readout` does), `uf_q`, `of_q` (OR-ed with the sticky overflow) and
/// `out_valid_q`, returned in that order.
pub(crate) fn readout(
    m: &mut ModuleBuilder,
    (long, sticky, valid_q): (Sig, Sig, Sig),
    (lsb, f, rounding): (i32, &FloatFormat, Rounding),
    (clk, rst): (Sig, Sig),
) -> Result<[Sig; 4]> {
    let w = long.width();
    m.note("Read-out stage 1: the magnitude of the long sum.");
    let (mag, neg) = m.abs("long_magnitude", long.s())?;
    let [neg1, mag1, of1, valid1] = m.registers(
        [
            ("readout1_neg_q", neg),
            ("readout1_magnitude_q", mag.sig),
            ("readout1_of_q", sticky),
            ("readout1_valid_q", valid_q),
        ],
        clk,
        Some(rst),
        None,
    )?;

    // Normalising shifts by 2^k for each k from the top down when the top 2^k bits are
    // zero; the shift amounts are the leading-zero count, most significant first.
    // Stage 2 makes the coarse shifts, stage 3 the fine ones.
    let levels = 32 - (w - 1).leading_zeros(); // 2^(levels - 1) < w
    let coarse = levels.div_ceil(2);
    m.note("Read-out stage 2: the coarse normalising shifts.");
    let (mid, lz_high) = shift_up(m, mag1, (levels - coarse..levels).rev())?;
    let [neg2, mid2, lz_high2, of2, valid2] = m.registers(
        [
            ("readout2_neg_q", neg1),
            ("readout2_mid_q", mid),
            ("readout2_lz_q", lz_high),
            ("readout2_of_q", of1),
            ("readout2_valid_q", valid1),
        ],
        clk,
        Some(rst),
        None,
    )?;

    m.note("Read-out stage 3: the fine shifts; keep what rounding can see, the rest as sticky.");
    let (norm, lz_low) = shift_up(m, mid2, (0..levels - coarse).rev())?;
    let lz = m.wire("readout_lz", cat([lz_high2, lz_low]))?.sig;
    let keep = f.man_bits + 3; // the significand, a round bit and a sticky bit
    let (sig, offset) = if w > keep {
        let sticky_bits = m.val(norm.bits(w - keep, 0).any())?;
        let top = cat([norm.bits(w - 1, w - keep + 1), Expr::from(sticky_bits)]);
        (m.wire("readout_sig", top)?.sig, i64::from(w - keep))
    } else {
        (norm, 0)
    };
    // The biased exponent of the leading one before rounding: sig * 2^(lsb + offset
    // - lz) has its leading one at bit width - 1. Its range checks are made here for
    // both outcomes of the rounding carry, so that stage 4 only selects.
    let k = i64::from(lsb) + offset + i64::from(sig.width()) - 1 + i64::from(f.bias);
    let kw = float::signed_bits(k, k);
    let biased = m.wire("readout_biased", lit(k.into(), kw, true) - lz.u())?;
    let max = i64::from(f.max_field());
    let big = m.val(biased.greater(max))?.sig;
    let big_carry = m.val(biased.greater(max - 1))?.sig;
    let small = m.val(biased.less(1))?.sig;
    let small_carry = m.val(biased.less(0))?.sig;
    let [neg3, sig3, biased3, big3, big_carry3, small3, small_carry3, of3, valid3] = m.registers(
        [
            ("readout3_neg_q", neg2),
            ("readout3_sig_q", sig),
            ("readout3_biased_q", biased.sig),
            ("readout3_big_q", big),
            ("readout3_big_carry_q", big_carry),
            ("readout3_small_q", small),
            ("readout3_small_carry_q", small_carry),
            ("readout3_of_q", of2),
            ("readout3_valid_q", valid2),
        ],
        clk,
        Some(rst),
        None,
    )?;

    m.note("Read-out stage 4: round the significand, range-check and pack.");
    let sw = sig3.width();
    let p = f.man_bits + 1;
    let (man, carry) = if sw <= p {
        // Exact: the bits below the (implicit) leading one, zero-padded on the right.
        let below = match (sw > 1, p > sw) {
            (true, true) => cat([sig3.bits(sw - 2, 0), lit(0, p - sw, false)]),
            (true, false) => sig3.bits(sw - 2, 0),
            (false, _) => lit(0, p - 1, false),
        };
        (m.val(below)?, m.zero(1)?)
    } else {
        let mode = match rounding {
            model::float::Rounding::Rz => Round::Floor,
            model::float::Rounding::Rne => Round::HalfEven,
        };
        let rounded = m.round("readout_rounded", sig3.u(), sw - p, mode)?; // p + 1 bits
                                                                           // The leading one (or after a carry, the zero above a zero mantissa) is implicit.
        let lead = m.val(rounded.bit(p - 1))?;
        m.discard(lead.sig, "readout_leading_one")?;
        (m.val(rounded.bits(p - 2, 0))?, m.val(rounded.bit(p))?.sig)
    };
    let zero = m.val(!sig3.bit(sw - 1))?; // normalised: zero unless the top bit is set
    let too_big = m.val(mux(carry, big_carry3, big3))?;
    let too_small = m.val(mux(carry, small_carry3, small3))?;
    // Exact at this width (the largest biased exponent is `k`); at least E + 1 bits.
    let fw = biased3.width().max(f.exp_bits + 1);
    let field = m.val((biased3.s() + carry).wrapping(fw))?;
    if field.width() > f.exp_bits {
        let high = m.val(field.bits(field.width() - 1, f.exp_bits))?;
        m.discard(high.sig, "readout_exp_range")?; // covered by the range checks
    }
    let normal = cat([
        Expr::from(neg3),
        field.bits(f.exp_bits - 1, 0),
        Expr::from(man),
    ]);
    let max_bits = |n: bool| lit(f.max_finite(n).into(), f.width(), false);
    let saturated = mux(neg3, max_bits(true), max_bits(false));
    let bits = m.wire(
        "readout_bits",
        mux(too_small | zero, 0, mux(too_big, saturated, normal)),
    )?;
    let uf = m.val(too_small & !zero)?;
    let of = m.val((too_big & !zero) | of3)?;
    let [acc, uf, of, out_valid] = m.registers(
        [
            ("acc_q", bits.sig),
            ("uf_q", uf.sig),
            ("of_q", of.sig),
            ("out_valid_q", valid3),
        ],
        clk,
        Some(rst),
        None,
    )?;
    debug_assert_eq!(READOUT_STAGES, 4, "four read-out stages above");
    Ok([acc, uf, of, out_valid])
}

/// The behavioural reference: `crate::golden::fpacc_long`.
impl crate::Reference for FpaccLongParams {
    fn golden(&self) -> Result<crate::golden::GoldenModule> {
        crate::golden::fpacc_long::golden(self)
    }
}

fn describe(m: &mut ModuleBuilder, p: &FpaccLongParams) {
    let operand = super::fpacc::describe_operand(&p.operand, |f| {
        format!("E{}M{} bias {}", f.exp_bits, f.man_bits, f.bias)
    });
    m.comment(format!(
        "Long accumulator: long <= (clear ? 0 : long) + a*b exactly (docs/fpacc.md); operands {operand};"
    ));
    m.comment(format!(
        "long register {} bits, LSB 2^{}, {} guard bits (wraps with a sticky of beyond);",
        p.long_width(),
        p.long_lsb(),
        p.guard
    ));
    m.comment(format!(
        "acc = the long sum rounded once into E{}M{} bias {} ({}), flush (uf), saturate (of).",
        p.acc.exp_bits,
        p.acc.man_bits,
        p.acc.bias,
        p.rounding.name()
    ));
    m.comment(format!(
        "Latency: {} cycle(s) from in_valid to out_valid.",
        p.latency()
    ));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verilog::module_verilog;
    use model::float::FloatFormat;
    use model::fpacc::Preset;

    #[test]
    fn builds_presets_and_float_operands() {
        let e4m3 = Operand::Float {
            format: FloatFormat {
                exp_bits: 4,
                man_bits: 3,
                bias: 7,
                reserve_top_exponent: false,
            },
        };
        for (preset, operand) in [
            (Preset::Acc12, Operand::int(8, 0)),
            (Preset::Fp32, Operand::int(16, 0)),
            (Preset::Bf16, e4m3),
        ] {
            let p = FpaccLongParams {
                acc: preset.format(),
                operand,
                ..FpaccLongParams::default()
            };
            let module = p.rtl().unwrap_or_else(|e| panic!("{p:?}: {e}"));
            assert!(module_verilog(&module).contains("long_q"));
        }
    }
}
