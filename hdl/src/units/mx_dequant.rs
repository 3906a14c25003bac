//! RTL of the MX-to-binary32 converter `mx_dequant` (docs/mx.md; the model is
//! `model::mx::dequantize`).
//!
//! Per lane, combinationally, then one output register:
//! 1. decode the code: sign, the significand as an integer `u` (the hidden one joined to
//!    the mantissa, none for subnormals; INT8's magnitude) and the binade offset of the
//!    exponent field; NaN/infinity codes of E4M3 and E5M2;
//! 2. normalise `u` (leading-zero count and shift): the binary32 biased exponent is
//!    `scale + offset + (width(u) - 1 + lsb) - lz`, the mantissa the bits below the
//!    leading one (element values have at most 8 significant bits, so they are exact);
//! 3. biased exponent below 1: flush to +0 (`uf`); above 254: the largest finite binary32
//!    (`of`); a NaN scale byte or code: the quiet NaN 0x7FC00000 (`nan`).

use model::mx::{Elem, MxDequantParams, QUIET_NAN};

use crate::ir::{cat, lit, mux, ExprOps, ModuleBuilder, Result, Sig, Val};
use crate::{start_unit, Generate, Module};

/// One lane's result: binary32 bits and its uf, of, nan.
struct Lane {
    y: Val,
    uf: Val,
    of: Val,
    nan: Val,
}

impl Generate for MxDequantParams {
    fn rtl(&self) -> Result<Module> {
        let (mut m, io) = start_unit(self)?;
        m.comment(format!(
            "OCP MX {} elements to binary32, {} per beat with one E8M0 scale byte (docs/mx.md).",
            self.elem.name().to_uppercase(),
            self.lanes
        ));
        m.comment("y_i = q_i * 2^(scale - 127): exact, flushed to +0 below 2^-126 (uf),");
        m.comment("saturated to the largest finite binary32 (of), or 0x7FC00000 for a NaN (nan).");
        m.comment("Latency: 1 cycle; the flags belong to the beat.");
        let (clk, rst, valid) = (io["clk"], io["rst"], io["in_valid"]);
        let scale = m.val(io["scale"])?;
        let scale_nan = m.wire("scale_nan", scale.all())?;
        let mut lanes = Vec::new();
        for i in 0..self.lanes {
            lanes.push(lane(&mut m, self.elem, i, io["q"], scale, scale_nan)?);
        }
        let y = m.val(cat(lanes.iter().rev().map(|l| l.y)))?;
        let uf = m.val(cat(lanes.iter().map(|l| l.uf)).any())?;
        let of = m.val(cat(lanes.iter().map(|l| l.of)).any())?;
        let nan = m.val(cat(lanes.iter().map(|l| l.nan)).any())?;
        super::registered_outputs(
            &mut m,
            [
                ("y", y.sig),
                ("uf", uf.sig),
                ("of", of.sig),
                ("nan", nan.sig),
            ],
            valid,
            clk,
            rst,
        )?;
        m.finish()
    }
}

/// The behavioural reference: `crate::golden::mx_dequant`.
impl crate::Reference for MxDequantParams {
    fn golden(&self) -> Result<crate::golden::GoldenModule> {
        crate::golden::mx_dequant::golden(self)
    }
}

/// Lane `i`: the code `q[W*i +: W]` times `2^(scale - 127)`.
fn lane(
    m: &mut ModuleBuilder,
    elem: Elem,
    i: u32,
    q: Sig,
    scale: Val,
    scale_nan: Val,
) -> Result<Lane> {
    let w = elem.width();
    let code = m.val(q.bits(w * i + w - 1, w * i))?;
    // (sign, significand as an integer, binade offset, NaN/infinity code)
    let (sign, u, offset, special) = match elem.float_shape() {
        None => {
            let (mag, sign) = m.abs(&format!("mag_{i}"), code.sig.s())?;
            (m.val(sign)?, mag, m.val(lit(0, 1, false))?, None)
        }
        Some((e, mb, _)) => {
            let field = m.val(code.bits(w - 2, mb))?;
            let man = m.val(code.bits(mb - 1, 0))?;
            let special = match elem {
                Elem::E4m3 => Some(m.val(field.all() & man.all())?),
                Elem::E5m2 => Some(m.val(field.all())?),
                _ => None,
            };
            let u = m.val(cat([field.any(), man.into()]))?;
            let offset = m.val(mux(field.any(), (field - 1).wrapping(e), lit(0, e, false)))?;
            (m.val(code.bit(w - 1))?, u, offset, special)
        }
    };
    let uw = u.width();
    let (norm, lz) = m.normalize(u.sig)?;
    let norm = m.val(norm)?;
    let c = uw as i32 - 1 + elem.lsb_exp();
    let biased = m.wire(&format!("exp_{i}"), scale + offset + i128::from(c) - lz.u())?;
    let nonzero = m.val(u.any())?;
    let nan = match special {
        Some(s) => m.val(scale_nan | s)?,
        None => scale_nan,
    };
    let uf = m.val(nonzero & biased.less(1) & !nan)?;
    let of = m.val(biased.greater(254) & !nan)?;
    // The bits below the leading one (at most 7), then zeros.
    let frac = cat([norm.bits(uw - 2, 0), lit(0, 24 - uw, false)]);
    let top = m_top(m, norm)?;
    m.discard(top, &format!("leading_one_{i}"))?;
    let normal = cat([sign.into(), biased.bits(7, 0), frac]);
    let max = cat([sign.into(), lit(0x7f7f_ffff, 31, false)]);
    let y = mux(
        nan,
        lit(QUIET_NAN.into(), 32, false),
        mux(of, max, mux(nonzero & !uf, normal, lit(0, 32, false))),
    );
    Ok(Lane {
        y: m.val(y)?,
        uf,
        of,
        nan,
    })
}

/// The leading one of a normalised value (always one for a nonzero value).
fn m_top(m: &mut ModuleBuilder, norm: Val) -> Result<Sig> {
    Ok(m.val(norm.bit(norm.width() - 1))?.sig)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::module_verilog;

    #[test]
    fn builds_for_every_element_and_lane_count() {
        for elem in Elem::ALL {
            for lanes in [1, 3, 64] {
                let p = MxDequantParams { elem, lanes };
                p.rtl().unwrap_or_else(|e| panic!("{p:?}: {e}"));
            }
        }
        let v = module_verilog(&MxDequantParams::default().rtl().unwrap());
        assert!(v.contains("module mx_dequant_e4m3_l4 ("), "{v}");
    }
}
