//! RTL of the binary32-to-MX converter `mx_quant` (docs/mx.md; the model is
//! `model::mx`).
//!
//! It shares `bfp_quant`'s datapath: the beat collector, the binary32 decoder, the
//! largest-exponent tree and the per-element alignment/rounding shifter
//! ([`super::bfp_quant::round_aligned`]). Stages:
//! 1. collect the block's beats; decode each element (exponent field 0 is zero; NaN and
//!    infinity make the whole block NaN);
//! 2. scale byte `max(max_field - emax, 0)` (`X + 127` with `X` clamped at -127; the upper
//!    clamp never binds since `max_field <= 254`), 0xFF for a NaN block;
//! 3. each element: its distance `r = scale + emax - field` below the top binade of the
//!    element type sets the element binade `step = max(nb - r, 0)` and the extra right
//!    shift `sh = max(r - nb, 0)` into the subnormals (`nb = emax + bias - 1`, the normal
//!    binades above the first); the significand's top `m + 1` bits shifted by `sh` and
//!    rounded are the element's significand, and the code magnitude is simply
//!    `(step << m) + rounded` (a carry moves into the next binade by itself); codes past
//!    the largest finite one saturate. INT8 is the fixed-point case: shift by `r`, round
//!    to 7 bits, saturate at 127, negate;
//! 4. output registers loaded on the block's last beat, `out_valid` one cycle later.

use model::mx::{MxQuantParams, MxRounding};

use super::bfp_quant::{collect, decode, max_tree, round_aligned, AlignRound, Element};
use crate::ir::{cat, lit, mux, ExprOps, ModuleBuilder, Result, Sig, Val};
use crate::{start_unit, Generate, Module};

impl Generate for MxQuantParams {
    fn rtl(&self) -> Result<Module> {
        let (mut m, io) = start_unit(self)?;
        describe(&mut m, self);
        let (clk, rst) = (io["clk"], io["rst"]);

        m.note("Stage 1: collect the block's beats and decode the binary32 elements.");
        let (block, last) = collect(
            &mut m,
            (self.lanes(), self.beats_per_block()),
            clk,
            rst,
            io["in_valid"],
            io["x"],
        )?;
        let elements = (0..self.block)
            .map(|i| decode(&mut m, block, i))
            .collect::<Result<Vec<_>>>()?;

        m.note("Stage 2: the scale byte from the largest exponent field.");
        let fields: Vec<Sig> = elements.iter().map(|e| e.field).collect();
        let max_field = max_tree(&mut m, &fields)?;
        let max_field = m.wire("max_field", max_field)?;
        let emax = self.elem.emax();
        let scale = if emax == 0 {
            max_field
        } else {
            let below = max_field.less(emax);
            m.wire(
                "scale_x",
                mux(below, lit(0, 8, false), (max_field - emax).wrapping(8)),
            )?
        };
        let nan = m.wire("nan_block", cat(elements.iter().map(|e| e.special)).any())?;

        m.note("Stage 3: the elements, rounded, saturated and signed.");
        let mut codes = Vec::new();
        for (i, el) in elements.iter().enumerate() {
            let rnd = if self.stochastic() {
                let r = self.rnd_bits;
                Some(m.slice(io["rnd"], r * i as u32 + r - 1, r * i as u32)?)
            } else {
                None
            };
            codes.push(element(&mut m, self, i, el, scale, rnd)?);
        }
        codes.reverse(); // element 0 in the low bits
        let w = self.elem.width() * self.block;
        // Named as in the reference, which shares them (and max_field, nan_block) with the
        // prover as cut points.
        let q = m.wire("q_next", mux(nan, lit(0, w, false), cat(codes)))?;
        let scale = m.wire("scale_next", mux(nan, lit(0xff, 8, false), scale))?;

        m.note("Stage 4: output registers.");
        super::registered_outputs(&mut m, [("scale", scale.sig), ("q", q.sig)], last, clk, rst)?;
        m.finish()
    }
}

/// The behavioural reference: `crate::golden::mx_quant`.
impl crate::Reference for MxQuantParams {
    fn golden(&self) -> Result<crate::golden::GoldenModule> {
        crate::golden::mx_quant::golden(self)
    }
}

fn describe(m: &mut ModuleBuilder, p: &MxQuantParams) {
    let rounding = match p.rounding {
        MxRounding::Rne => "RNE".to_string(),
        MxRounding::Away => "round to nearest, ties away from zero".to_string(),
        MxRounding::Sr => format!("SR with {} random bits per element", p.rnd_bits),
    };
    m.comment(format!(
        "Binary32 to OCP MX, {} elements: blocks of {} values, {} per beat, {rounding} (docs/mx.md).",
        p.elem.name().to_uppercase(),
        p.block,
        p.lanes()
    ));
    m.comment(format!(
        "scale = X + 127, X = floor(log2(max|x|)) - {} clamped to [-127, 127] (0xFF: NaN/inf in the block);",
        p.elem.emax()
    ));
    m.comment("q_i = x_i / 2^X rounded to the element grid, saturating; zero is +0.");
    m.comment(format!(
        "Latency: 1 cycle from a block's last beat ({} beat(s) per block) to out_valid.",
        p.beats_per_block()
    ));
}

/// Element `i`'s code.
fn element(
    m: &mut ModuleBuilder,
    p: &MxQuantParams,
    index: usize,
    el: &Element,
    scale: Val,
    rnd: Option<Sig>,
) -> Result<Val> {
    let mode = match p.rounding {
        MxRounding::Rne => AlignRound::Rne,
        MxRounding::Away => AlignRound::Away,
        MxRounding::Sr => AlignRound::Sr(p.rnd_bits),
    };
    let emax = p.elem.emax();
    let Some((e, mb, bias)) = p.elem.float_shape() else {
        // INT8: 7 magnitude bits at the top binade, `r` binades below it shift further.
        let mag = round_aligned(m, el.sig, 8, mode, rnd, index, |m| {
            m.val((scale - el.field).wrapping(9))
        })?;
        let over = m.val(mag.greater(127))?;
        let mag = m.val(mux(over, lit(127, 8, false), mag))?;
        let mag = m.val(mux(el.nonzero, mag, lit(0, 8, false)))?;
        return m.val(mux(el.sign, (-mag).wrapping(8), mag));
    };
    let nb = emax + bias - 1; // normal binades above the first
    let r = m.val((scale + emax - el.field).wrapping(9))?;
    let step_bits = 32 - (nb as u32).leading_zeros();
    // Below nb, r fits in step_bits bits.
    let r_low = r.bits(step_bits - 1, 0);
    let step = m.val(mux(
        r.less(nb),
        (lit(nb.into(), step_bits, false) - r_low).wrapping(step_bits),
        lit(0, step_bits, false),
    ))?;
    let rounded = round_aligned(m, el.sig, mb + 2, mode, rnd, index, |m| {
        m.val(mux(r.greater(nb), (r - nb).wrapping(9), lit(0, 9, false)))
    })?;
    let sum = m.val(cat([step.into(), lit(0, mb, false)]) + rounded)?;
    let max_code = p.elem.encode(false, p.elem.max_int());
    let mag_bits = e + mb;
    let sat = m.val(mux(
        sum.greater(max_code),
        lit(max_code.into(), mag_bits, false),
        sum.bits(mag_bits - 1, 0),
    ))?;
    let mag = m.val(mux(el.nonzero, sat, lit(0, mag_bits, false)))?;
    let sign = el.sign & mag.any();
    m.val(cat([sign, mag.into()]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::module_verilog;
    use model::mx::Elem;

    #[test]
    fn builds_for_every_element_rounding_and_lane_count() {
        for elem in Elem::ALL {
            for rounding in [MxRounding::Rne, MxRounding::Away, MxRounding::Sr] {
                for (block, lanes) in [(1, 1), (4, 1), (32, 8), (64, 64)] {
                    let p = MxQuantParams {
                        elem,
                        block,
                        lanes: Some(lanes),
                        rounding,
                        rnd_bits: 16,
                    };
                    p.rtl().unwrap_or_else(|e| panic!("{p:?}: {e}"));
                }
            }
        }
        let v = module_verilog(&MxQuantParams::default().rtl().unwrap());
        assert!(v.contains("module mx_quant_e4m3_k32_rne ("), "{v}");
    }
}
