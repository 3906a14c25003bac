//! RTL of the FP32-to-HBFP converter `bfp_quant` (docs/bfp.md; the model is
//! `model::bfp`).
//!
//! Stages:
//! 1. collect: with fewer lanes than the block, earlier beats wait in a shift register and
//!    a beat counter finds the block's last beat;
//! 2. decode: per element sign, exponent field and significand; NaN and infinity become
//!    the largest finite magnitude and raise `inv`; exponent field 0 (zero, subnormal) is
//!    zero;
//! 3. shared exponent: the largest exponent field (a tree of comparators), minus
//!    `127 + (m - 2)`; an all-zero block gets the minimum;
//! 4. mantissas: each significand shifted right by `25 - m` (a constant) plus the
//!    distance of its exponent from the largest (a barrel shifter), rounded (RNE: guard and
//!    sticky; RZ: truncation; SR: the carry out of the random bits added to the fraction),
//!    clamped to `2^(m-1) - 1` and given its sign;
//! 5. outputs: `e`, `q`, `inv` loaded on the block's last beat, `out_valid` one cycle later.

use model::bfp::{BfpQuantParams, BfpRounding, ExpRule};
use model::int;

use crate::ir::{cat, lit, mux, Expr, ExprOps, ModuleBuilder, Result, Sig, Val};
use crate::{start_unit, Generate, Module};

/// What the mantissa width changes: the extra right shift (widest width minus the one in
/// use), the shared-exponent offset `125 + m`, and the clamp limit `2^(m-1) - 1`. Constants
/// for a single width, muxes on `mode` for a mixed-mantissa unit.
struct Width {
    extra_shift: Option<Sig>,
    exp_offset: Sig,
    qmax: Sig,
}

/// The widths' constants, selected by `mode` when there are several.
fn select_width(m: &mut ModuleBuilder, p: &BfpQuantParams, mode: Option<Sig>) -> Result<Width> {
    let (mb, w) = (p.mant_bits, p.exp_bits);
    let qmax_of = |width: u32| lit((1i128 << (width - 1)) - 1, mb, false);
    let offset_of = |width: u32| lit(125 + i128::from(width), w, false);
    let (Some(modes), Some(mode)) = (p.modes, mode) else {
        return Ok(Width {
            extra_shift: None,
            exp_offset: m.val(offset_of(mb))?.sig,
            qmax: m.val(qmax_of(mb))?.sig,
        });
    };
    let widths = modes.list();
    // Start from the widest (also for mode values past the list), then earlier widths.
    let widest = *widths.last().expect("two or more widths");
    let (mut extra, mut offset, mut qmax) = (lit(0, 3, false), offset_of(widest), qmax_of(widest));
    for (k, width) in widths.iter().enumerate().rev().skip(1) {
        let chosen = m.val(mode.equal(k as u64))?;
        extra = mux(chosen, lit(i128::from(mb - width), 3, false), extra);
        offset = mux(chosen, offset_of(*width), offset);
        qmax = mux(chosen, qmax_of(*width), qmax);
    }
    Ok(Width {
        extra_shift: Some(m.wire("mode_extra_shift", extra)?.sig),
        exp_offset: m.wire("mode_exp_offset", offset)?.sig,
        qmax: m.wire("mode_qmax", qmax)?.sig,
    })
}

/// One decoded binary32 element.
pub(crate) struct Element {
    pub sign: Sig,
    pub nonzero: Sig,
    pub special: Sig,
    /// Exponent field, 254 for NaN and infinity.
    pub field: Sig,
    /// Significand with the hidden one, all ones for NaN and infinity.
    pub sig: Sig,
}

impl Generate for BfpQuantParams {
    fn rtl(&self) -> Result<Module> {
        let (mut m, io) = start_unit(self)?;
        describe(&mut m, self);
        let (clk, rst) = (io["clk"], io["rst"]);

        m.note("Stage 1: collect the block's beats.");
        let (block, last) = collect(
            &mut m,
            (self.lanes(), self.beats_per_block()),
            clk,
            rst,
            io["in_valid"],
            io["x"],
        )?;

        m.note("Stage 2: decode the binary32 elements.");
        let elements = (0..self.block)
            .map(|i| decode(&mut m, block, i))
            .collect::<Result<Vec<_>>>()?;

        m.note("Stage 3: shared exponent from the largest exponent field.");
        let width = select_width(&mut m, self, io.get("mode").copied())?;
        let fields: Vec<Sig> = elements.iter().map(|e| e.field).collect();
        let max_field = max_tree(&mut m, &fields)?;
        let max_field = m.wire("max_field", max_field)?;
        let power_of_two = match self.exp_rule {
            ExpRule::Mx => None,
            ExpRule::Hbfp => Some(largest_is_power_of_two(&mut m, &elements, max_field)?),
        };
        let e = shared_exponent(&mut m, self, max_field, width.exp_offset, power_of_two)?;

        m.note("Stage 4: mantissas, rounded, clamped and signed.");
        let mut qs = Vec::new();
        for (i, el) in elements.iter().enumerate() {
            let rnd = if self.stochastic() {
                let r = self.rnd_bits;
                Some(m.slice(io["rnd"], r * i as u32 + r - 1, r * i as u32)?)
            } else {
                None
            };
            qs.push(mantissa(
                &mut m,
                self,
                i,
                el,
                (max_field, power_of_two),
                &width,
                rnd,
            )?);
        }
        qs.reverse(); // element 0 in the low bits
        let q = m.val(cat(qs))?;
        let inv = m.val(cat(elements.iter().map(|e| e.special)).any())?;

        m.note("Stage 5: output registers.");
        super::registered_outputs(
            &mut m,
            [("e", e.sig), ("q", q.sig), ("inv", inv.sig)],
            last,
            clk,
            rst,
        )?;
        m.finish()
    }
}

/// The behavioural reference: `crate::golden::bfp_quant`.
impl crate::Reference for BfpQuantParams {
    fn golden(&self) -> Result<crate::golden::GoldenModule> {
        crate::golden::bfp_quant::golden(self)
    }
}

fn describe(m: &mut ModuleBuilder, p: &BfpQuantParams) {
    let rounding = match p.rounding {
        BfpRounding::Rne => "RNE".to_string(),
        BfpRounding::Rz => "RZ".to_string(),
        BfpRounding::Sr => format!("SR with {} random bits per element", p.rnd_bits),
    };
    m.comment(format!(
        "FP32 to HBFP{m}: blocks of {n} binary32 values, {l} per beat, one {w}-bit shared exponent,",
        m = p.mant_bits,
        n = p.block,
        l = p.lanes(),
        w = p.exp_bits
    ));
    m.comment(format!(
        "{}-bit symmetric mantissas, {rounding} (docs/bfp.md).",
        p.mant_bits
    ));
    m.comment(
        "E_s = floor(log2(max|x|)) - (m-2); q_i = round(x_i / 2^E_s) clamped; NaN/inf set inv.",
    );
    if let Some(modes) = p.modes {
        m.comment(format!(
            "Mixed mantissa: 'mode' k selects the k-th of the widths {modes} (past the list: the widest);"
        ));
        m.comment(format!(
            "narrower mantissas are sign-extended in their {}-bit fields.",
            p.mant_bits
        ));
    }
    m.comment(format!(
        "Latency: 1 cycle from a block's last beat ({} beat(s) per block) to out_valid.",
        p.beats_per_block()
    ));
}

/// The whole block (element 0 in the low bits) and the strobe of its last beat.
/// (`lanes` binary32 values a beat, `beats` beats a block; shared with `mx_quant`).
pub(crate) fn collect(
    m: &mut ModuleBuilder,
    (lanes, beats): (u32, u32),
    clk: Sig,
    rst: Sig,
    valid: Sig,
    x: Sig,
) -> Result<(Sig, Sig)> {
    if beats == 1 {
        return Ok((x, valid));
    }
    let lane_bits = 32 * lanes;
    let held = m.reg("held", lane_bits * (beats - 1), clk, None)?;
    let shifted = if beats == 2 {
        x
    } else {
        let older = m.slice(held, held.width() - 1, lane_bits)?;
        m.concat(&[x, older])?
    };
    m.drive_reg(held, shifted, Some(valid))?;
    let last = super::block_last(m, beats, clk, rst, valid)?;
    let block = m.concat(&[x, held])?;
    Ok((block, last))
}

/// Element `i` of the block.
pub(crate) fn decode(m: &mut ModuleBuilder, block: Sig, i: u32) -> Result<Element> {
    let word = m.val(block.bits(32 * i + 31, 32 * i))?;
    let raw_field = m.val(word.bits(30, 23))?;
    let special = m.val(raw_field.all())?.sig;
    let normal_sig = cat([lit(1, 1, false), word.bits(22, 0)]);
    Ok(Element {
        sign: m.val(word.bit(31))?.sig,
        nonzero: m.val(raw_field.any())?.sig,
        special,
        field: m.val(mux(special, lit(254, 8, false), raw_field))?.sig,
        sig: m
            .val(mux(special, lit(0xff_ffff, 24, false), normal_sig))?
            .sig,
    })
}

/// Unsigned maximum of equal-width signals, as a balanced tree.
pub(crate) fn max_tree(m: &mut ModuleBuilder, xs: &[Sig]) -> Result<Sig> {
    match xs {
        [one] => Ok(*one),
        _ => {
            let (l, r) = xs.split_at(xs.len() / 2);
            let (a, b) = (max_tree(m, l)?, max_tree(m, r)?);
            m.umax(a, b)
        }
    }
}

/// `--exp-rule hbfp`: whether every element with the largest exponent field is exactly a
/// power of two (no fraction bits; NaN and infinity decode to all ones, so they are not),
/// so that `ceil(log2 max|x|)` equals `floor(log2 max|x|)`.
fn largest_is_power_of_two(
    m: &mut ModuleBuilder,
    elements: &[Element],
    max_field: Val,
) -> Result<Sig> {
    let mut fraction = Vec::new();
    for el in elements {
        let frac = m.val(el.sig.bits(22, 0))?;
        fraction.push(m.val(el.field.equal(max_field) & frac.any())?.sig);
    }
    let any = m.val(cat(fraction).any())?;
    Ok(m.wire("largest_is_pow2", !any)?.sig)
}

/// `E_s = max_field - 127 - (m - 2)`, one less under `--exp-rule hbfp` when the largest
/// magnitude is a power of two, or the minimum for an all-zero block.
fn shared_exponent(
    m: &mut ModuleBuilder,
    p: &BfpQuantParams,
    max_field: Val,
    offset: Sig,
    power_of_two: Option<Sig>,
) -> Result<Val> {
    let w = p.exp_bits; // >= 9: every binary32 block exponent fits
    let e = match power_of_two {
        None => (max_field - offset).wrapping(w).reinterpret_signed(),
        Some(pow2) => {
            let offset = m.val((offset + pow2).wrapping(w))?;
            (max_field - offset).wrapping(w).reinterpret_signed()
        }
    };
    let min = lit(int::min_value(w, true), w, true);
    m.wire("shared_exp", mux(max_field.any(), e, min))
}

/// One element's m-bit mantissa. With `power_of_two` (`--exp-rule hbfp`) the shared
/// exponent is one lower when it is high: every element shifts one place less, and an
/// element that would shift by less than nothing is a largest one, exactly `2^(w-1)`
/// for the mode's width w, which saturates.
fn mantissa(
    m: &mut ModuleBuilder,
    p: &BfpQuantParams,
    index: usize,
    el: &Element,
    (max_field, power_of_two): (Val, Option<Sig>),
    width: &Width,
    rnd: Option<Sig>,
) -> Result<Val> {
    let mb = p.mant_bits;
    let mode = match p.rounding {
        BfpRounding::Rz => AlignRound::Rz,
        BfpRounding::Rne => AlignRound::Rne,
        BfpRounding::Sr => AlignRound::Sr(p.rnd_bits),
    };
    let mut saturate = None;
    let mag = round_aligned(m, el.sig, mb, mode, rnd, index, |m| {
        let distance = (max_field - el.field).wrapping(8);
        // A narrower mode drops (widest - width) more bits.
        let d = match width.extra_shift {
            Some(extra) => m.val((distance + extra).wrapping(9))?,
            None => m.val(distance)?,
        };
        let Some(pow2) = power_of_two else {
            return Ok(d);
        };
        let none = m.val(!d.any())?;
        saturate = Some(m.val(pow2 & none)?.sig);
        m.val((d - (pow2 & !none)).wrapping(d.width()))
    })?;
    let mag = match saturate {
        Some(s) => m.val(mux(s, width.qmax, mag))?,
        None => mag,
    };
    if p.rounding == BfpRounding::Rz && power_of_two.is_none() {
        return m.val(signed_mantissa(el, mag, mb)); // at most 2^(m-1) - 1 already
    }
    // (Under --exp-rule hbfp a narrower mode's largest element reaches 2^(w-1) even
    // truncated: it is exactly a power of two, one binade higher.)
    let over = if p.modes.is_some() {
        m.val(width.qmax.less(mag))? // rounded up past the mode's limit
    } else {
        m.val(mag.bit(mb - 1))? // only 2^(m-1) can get here
    };
    let mag = m.val(mux(over, width.qmax, mag))?;
    m.val(signed_mantissa(el, mag, mb))
}

/// How [`round_aligned`] rounds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum AlignRound {
    /// Toward zero.
    Rz,
    /// To nearest, ties to even.
    Rne,
    /// To nearest, ties away from zero.
    Away,
    /// Stochastic with this many random bits.
    Sr(u32),
}

/// The alignment and rounding shifter of one element (shared with `mx_quant`): the
/// 24-bit significand `sig` divided by `2^(25 - mb + distance)` and rounded, as an
/// `mb`-bit magnitude (a rounding carry may reach `2^(mb-1)`). `sig` is first cut to its
/// top `mb - 1` bits and the rounding's fraction bits (a constant), then a barrel shifter
/// moves it right by `distance` (which `distance` builds, after the cut). RNE: guard and
/// sticky; away: the guard alone; RZ: truncation; SR: the carry out of the `rnd` bits
/// added to the fraction.
pub(crate) fn round_aligned(
    m: &mut ModuleBuilder,
    sig: Sig,
    mb: u32,
    mode: AlignRound,
    rnd: Option<Sig>,
    index: usize,
    distance: impl FnOnce(&mut ModuleBuilder) -> Result<Val>,
) -> Result<Val> {
    // Fraction bits kept past the constant shift for rounding.
    let frac = match mode {
        AlignRound::Rz => 0,
        AlignRound::Rne | AlignRound::Away => 1,
        AlignRound::Sr(r) => r,
    };
    let cut = 25 - mb - frac; // >= 1
    let top = m.val(sig.bits(23, cut))?; // mb - 1 + frac bits
    let tw = top.width();
    let low = m.val(sig.bits(cut - 1, 0))?;
    let distance = distance(m)?;
    let shifted = m.shift_right(top, distance.sig)?;
    match mode {
        AlignRound::Rz => {
            m.discard(low.sig, &format!("truncated_{index}"))?;
            m.val(shifted.resize(mb))
        }
        AlignRound::Rne => {
            // Sticky: the constant-shift bits and the bits the barrel shifter drops.
            let ones = m.val(lit((1i128 << tw) - 1, tw, false))?;
            let kept_mask = m.shift_left(ones, distance.sig)?;
            let sticky = (top & !kept_mask).any() | low.any();
            let up = shifted.bit(0) & (sticky | shifted.bit(1));
            m.val((shifted.bits(tw - 1, 1) + up).wrapping(mb))
        }
        AlignRound::Away => {
            m.discard(low.sig, &format!("truncated_{index}"))?;
            m.val((shifted.bits(tw - 1, 1) + shifted.bit(0)).wrapping(mb))
        }
        AlignRound::Sr(r) => {
            m.discard(low.sig, &format!("truncated_{index}"))?;
            // fraction + rnd carries out exactly when rnd > ~fraction.
            let carry = (!shifted.bits(r - 1, 0)).less(rnd.expect("SR has rnd"));
            m.val((shifted.bits(tw - 1, r) + carry).wrapping(mb))
        }
    }
}

/// `mag` with the element's sign, or zero.
fn signed_mantissa(el: &Element, mag: Val, mb: u32) -> Expr {
    mux(el.nonzero, mux(el.sign, (-mag).wrapping(mb), mag), 0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::module_verilog;

    #[test]
    fn builds_for_every_rounding_and_lane_count() {
        for rounding in [BfpRounding::Rne, BfpRounding::Rz, BfpRounding::Sr] {
            for (block, lanes) in [(1, 1), (4, 4), (4, 1), (16, 4), (64, 64), (12, 3)] {
                for mant_bits in [2, 4, 8] {
                    let p = BfpQuantParams {
                        block,
                        lanes: Some(lanes),
                        mant_bits,
                        rounding,
                        ..BfpQuantParams::default()
                    };
                    p.rtl().unwrap_or_else(|e| panic!("{p:?}: {e}"));
                }
            }
        }
        let v = module_verilog(&BfpQuantParams::default().rtl().unwrap());
        assert!(v.contains("module bfp_quant_n16_m4_e10_rne ("), "{v}");
    }
}
