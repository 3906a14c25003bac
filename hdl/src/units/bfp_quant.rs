//! RTL of the FP32-to-HBFP converter `bfp_quant` (SPEC.md section 3; the model is
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

use model::bfp::{BfpQuantParams, BfpRounding};
use model::int;

use crate::ir::{ModuleBuilder, Result, Sig};
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
    let qmax_of = |width: u32| (1i128 << (width - 1)) - 1;
    let (Some(modes), Some(mode)) = (p.modes, mode) else {
        return Ok(Width {
            extra_shift: None,
            exp_offset: m.lit(w, 125 + i128::from(mb))?,
            qmax: m.lit(mb, qmax_of(mb))?,
        });
    };
    let widths = modes.list();
    // Start from the widest (also for mode values past the list), then earlier widths.
    let widest = *widths.last().expect("two or more widths");
    let mut extra = m.lit(3, 0)?;
    let mut offset = m.lit(w, 125 + i128::from(widest))?;
    let mut qmax = m.lit(mb, qmax_of(widest))?;
    for (k, width) in widths.iter().enumerate().rev().skip(1) {
        let index = m.lit(mode.width(), k as i128)?;
        let chosen = m.eq(mode, index)?;
        let e = m.lit(3, i128::from(mb - width))?;
        extra = m.mux(chosen, e, extra)?;
        let o = m.lit(w, 125 + i128::from(*width))?;
        offset = m.mux(chosen, o, offset)?;
        let q = m.lit(mb, qmax_of(*width))?;
        qmax = m.mux(chosen, q, qmax)?;
    }
    Ok(Width {
        extra_shift: Some(m.name(extra, "mode_extra_shift")?),
        exp_offset: m.name(offset, "mode_exp_offset")?,
        qmax: m.name(qmax, "mode_qmax")?,
    })
}

/// One decoded binary32 element.
struct Element {
    sign: Sig,
    nonzero: Sig,
    special: Sig,
    /// Exponent field, 254 for NaN and infinity.
    field: Sig,
    /// Significand with the hidden one, all ones for NaN and infinity.
    sig: Sig,
}

impl Generate for BfpQuantParams {
    fn golden(&self) -> Option<Result<crate::golden::GoldenModule>> {
        Some(crate::golden::bfp_quant::golden(self))
    }

    fn rtl(&self) -> Result<Module> {
        let (mut m, io) = start_unit(self)?;
        describe(&mut m, self);
        let (clk, rst) = (io["clk"], io["rst"]);

        m.note("Stage 1: collect the block's beats.");
        let (block, last) = collect(&mut m, self, clk, rst, io["in_valid"], io["x"])?;

        m.note("Stage 2: decode the binary32 elements.");
        let elements = (0..self.block)
            .map(|i| {
                let word = m.slice(block, 32 * i + 31, 32 * i)?;
                decode(&mut m, word)
            })
            .collect::<Result<Vec<_>>>()?;

        m.note("Stage 3: shared exponent from the largest exponent field.");
        let width = select_width(&mut m, self, io.get("mode").copied())?;
        let max_field = max_tree(
            &mut m,
            &elements.iter().map(|e| e.field).collect::<Vec<_>>(),
        )?;
        let max_field = m.name(max_field, "max_field")?;
        let e = shared_exponent(&mut m, self, max_field, width.exp_offset)?;

        m.note("Stage 4: mantissas, rounded, clamped and signed.");
        let mut qs = Vec::new();
        for (i, el) in elements.iter().enumerate() {
            let rnd = if self.stochastic() {
                let r = self.rnd_bits;
                Some(m.slice(io["rnd"], r * i as u32 + r - 1, r * i as u32)?)
            } else {
                None
            };
            qs.push(mantissa(&mut m, self, i, el, max_field, &width, rnd)?);
        }
        qs.reverse(); // element 0 in the low bits
        let q = m.concat(&qs)?;
        let specials: Vec<Sig> = elements.iter().map(|e| e.special).collect();
        let specials = m.concat(&specials)?;
        let inv = m.reduce_or(specials)?;

        m.note("Stage 5: output registers.");
        let e_q = m.register("e_q", e, clk, Some(rst), Some(last))?;
        let q_q = m.register("q_q", q, clk, Some(rst), Some(last))?;
        let inv_q = m.register("inv_q", inv, clk, Some(rst), Some(last))?;
        let out_valid = m.register("out_valid_q", last, clk, Some(rst), None)?;
        m.drive_output("e", e_q)?;
        m.drive_output("q", q_q)?;
        m.drive_output("inv", inv_q)?;
        m.drive_output("out_valid", out_valid)?;
        m.finish()
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
        "{}-bit symmetric mantissas, {rounding} (SPEC.md section 3).",
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
fn collect(
    m: &mut ModuleBuilder,
    p: &BfpQuantParams,
    clk: Sig,
    rst: Sig,
    valid: Sig,
    x: Sig,
) -> Result<(Sig, Sig)> {
    let beats = p.beats_per_block();
    if beats == 1 {
        return Ok((x, valid));
    }
    let lane_bits = 32 * p.lanes();
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

fn decode(m: &mut ModuleBuilder, word: Sig) -> Result<Element> {
    let sign = m.bit(word, 31)?;
    let raw_field = m.slice(word, 30, 23)?;
    let man = m.slice(word, 22, 0)?;
    let special = m.reduce_and(raw_field)?;
    let nonzero = m.reduce_or(raw_field)?;
    let top_finite = m.lit(8, 254)?;
    let field = m.mux(special, top_finite, raw_field)?;
    let one = m.lit(1, 1)?;
    let normal_sig = m.concat(&[one, man])?;
    let all_ones = m.lit(24, 0xff_ffff)?;
    let sig = m.mux(special, all_ones, normal_sig)?;
    Ok(Element {
        sign,
        nonzero,
        special,
        field,
        sig,
    })
}

/// Unsigned maximum of equal-width signals, as a balanced tree.
fn max_tree(m: &mut ModuleBuilder, xs: &[Sig]) -> Result<Sig> {
    match xs {
        [one] => Ok(*one),
        _ => {
            let (l, r) = xs.split_at(xs.len() / 2);
            let (a, b) = (max_tree(m, l)?, max_tree(m, r)?);
            m.umax(a, b)
        }
    }
}

/// `E_s = max_field - 127 - (m - 2)`, or the minimum for an all-zero block.
fn shared_exponent(
    m: &mut ModuleBuilder,
    p: &BfpQuantParams,
    max_field: Sig,
    offset: Sig,
) -> Result<Sig> {
    let w = p.exp_bits; // >= 9: every binary32 block exponent fits
    let wide = m.zext(max_field, w)?;
    let e = m.sub(wide, offset)?;
    let any = m.reduce_or(max_field)?;
    let min = m.lit(w, int::min_value(w, true))?;
    let e = m.mux(any, e, min)?;
    m.name(e, "shared_exp")
}

/// One element's m-bit mantissa.
fn mantissa(
    m: &mut ModuleBuilder,
    p: &BfpQuantParams,
    index: usize,
    el: &Element,
    max_field: Sig,
    width: &Width,
    rnd: Option<Sig>,
) -> Result<Sig> {
    let mb = p.mant_bits;
    // Fraction bits kept past the constant shift for rounding.
    let frac = match p.rounding {
        BfpRounding::Rz => 0,
        BfpRounding::Rne => 1,
        BfpRounding::Sr => p.rnd_bits,
    };
    let cut = 25 - mb - frac; // >= 1
    let top = m.slice(el.sig, 23, cut)?; // m - 1 + frac bits
    let low = m.slice(el.sig, cut - 1, 0)?;
    let distance = m.sub(max_field, el.field)?;
    let distance = match width.extra_shift {
        // A narrower mode drops (widest - width) more bits.
        Some(extra) => {
            let d = m.zext(distance, 9)?;
            let x = m.zext(extra, 9)?;
            m.add(d, x)?
        }
        None => distance,
    };
    let shifted = m.shr(top, distance)?;
    let mag = match p.rounding {
        BfpRounding::Rz => {
            m.discard(low, &format!("truncated_{index}"))?;
            m.zext(shifted, mb)?
        }
        BfpRounding::Rne => {
            // Sticky: the constant-shift bits and the bits the barrel shifter drops.
            let ones = m.lit(top.width(), (1i128 << top.width()) - 1)?;
            let kept_mask = m.shl(ones, distance)?;
            let dropped_mask = m.not(kept_mask)?;
            let dropped = m.and(top, dropped_mask)?;
            let dropped_any = m.reduce_or(dropped)?;
            let low_any = m.reduce_or(low)?;
            let sticky = m.or(dropped_any, low_any)?;
            let guard = m.bit(shifted, 0)?;
            let kept = m.slice(shifted, top.width() - 1, 1)?;
            let odd = m.bit(kept, 0)?;
            let tie_or_more = m.or(sticky, odd)?;
            let up = m.and(guard, tie_or_more)?;
            let kept = m.zext(kept, mb)?;
            let up = m.zext(up, mb)?;
            m.add(kept, up)?
        }
        BfpRounding::Sr => {
            let rnd = rnd.expect("SR has rnd");
            m.discard(low, &format!("truncated_{index}"))?;
            let r = p.rnd_bits;
            let fraction = m.slice(shifted, r - 1, 0)?;
            let whole = m.slice(shifted, top.width() - 1, r)?;
            // fraction + rnd carries out exactly when rnd > ~fraction.
            let room = m.not(fraction)?;
            let carry = m.lt(room, rnd, false)?;
            let whole = m.zext(whole, mb)?;
            let carry = m.zext(carry, mb)?;
            m.add(whole, carry)?
        }
    };
    let mag = if p.rounding == BfpRounding::Rz {
        mag // at most 2^(m-1) - 1 already
    } else if p.modes.is_some() {
        let over = m.lt(width.qmax, mag, false)?; // rounded up past the mode's limit
        m.mux(over, width.qmax, mag)?
    } else {
        let over = m.msb(mag)?; // only 2^(m-1) can get here
        m.mux(over, width.qmax, mag)?
    };
    let zero = m.zero(mb)?;
    let negated = m.sub(zero, mag)?;
    let signed = m.mux(el.sign, negated, mag)?;
    m.mux(el.nonzero, signed, zero)
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
