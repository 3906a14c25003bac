//! RTL of the MX block dot product `mx_dot` (docs/mx.md; the model is
//! `model::mx::MxDot`).
//!
//! Stage 0, per beat: each element code decoded (significand with its hidden bit, shift
//! `field - 1`, sign; INT8 as magnitude and sign; NaN or infinity codes flagged), each
//! lane's exact product in quanta formed as the significands' product shifted by the sum
//! of the shifts and signed (0 for a NaN or infinity code; the same value as multiplying
//! the two decoded `Elem::int_bits`-bit integers, with the shifts kept out of the
//! multiplier), `lanes` products summed by `bfp_dot`'s adder tree into the block's
//! partial sum, NaN codes OR-ed into a partial flag. With the block's last beat the
//! block's exponent `Xa + Xb + lsb_a + lsb_b` is formed from the scale bytes, a NaN
//! scale byte joins the flag, and a NaN block's sum is zeroed (it then adds +0). Stages 1
//! to 3 (the block register, the binary32 conversion and the binary32 accumulation) are
//! `bfp_dot`'s ([`super::bfp_dot::binary32_stages`]), which carry the NaN bit beside the
//! value to the sticky `nan_q`.

use model::mx::{Elem, MxDotParams, SCALE_BIAS};

use super::bfp_dot::{adder_tree, binary32_stages};
use crate::ir::{cat, lit, mux, Expr, ExprOps, ModuleBuilder, Result, Sig, Val};
use crate::{start_unit, Generate, Module, UnitParams};

/// Width of the block exponent `Xa + Xb + lsb_a + lsb_b` (from -286 to 508).
pub const EXP_WIDTH: u32 = 11;

impl Generate for MxDotParams {
    fn rtl(&self) -> Result<Module> {
        let (mut m, io) = start_unit(self)?;
        describe(&mut m, self);
        let (clk, rst, valid) = (io["clk"], io["rst"], io["in_valid"]);
        let s = self.sum_width();

        m.note("Stage 0: elements decoded to integers, products, adder tree, partial sum.");
        let mut products = Vec::new();
        let mut nans = Vec::new();
        for j in 0..self.lanes() {
            let a = element(&mut m, self.elem_a, io["qa"], j, "a")?;
            let b = element(&mut m, self.elem_b, io["qb"], j, "b")?;
            products.push(product(&mut m, self, j, &a, &b)?);
            nans.extend(a.nan.into_iter().chain(b.nan));
        }
        let beat_sum = adder_tree(&mut m, products)?;
        let beat_sum = m.wire("beat_sum", beat_sum.resize(s))?;
        let beat_nan = match nans.split_first() {
            None => None,
            Some((first, rest)) => {
                let any = rest
                    .iter()
                    .fold(*first, |acc, n| m.or(acc, *n).expect("1 bit"));
                Some(m.wire("beat_nan", any)?.sig)
            }
        };
        let last = super::block_last(&mut m, self.beats_per_block(), clk, rst, valid)?;
        let (block_sum, element_nan) = if self.beats_per_block() == 1 {
            (beat_sum, beat_nan)
        } else {
            let partial = m.reg("partial_q", s, clk, Some((rst, 0)))?;
            let sum = m.wire("partial_sum", (partial + beat_sum).wrapping(s))?;
            m.next(partial, mux(last, 0, sum), Some(valid))?;
            let nan = match beat_nan {
                None => None,
                Some(beat_nan) => {
                    let seen = m.reg("partial_nan_q", 1, clk, Some((rst, 0)))?;
                    let nan = m.wire("partial_nan", seen | beat_nan)?;
                    m.next(seen, mux(last, 0, nan), Some(valid))?;
                    Some(nan.sig)
                }
            };
            (sum, nan)
        };
        let scale_nan = m.val(io["xa"].all() | io["xb"].all())?;
        let nan = match element_nan {
            None => scale_nan,
            Some(e) => m.val(scale_nan | e)?,
        };
        let nan = m.wire("block_nan", nan)?;
        let block_sum = m.wire("block_sum", mux(nan, lit(0, s, true), block_sum))?;

        m.note("Stage 1: the block's exact sum and exponent Xa + Xb + lsb_a + lsb_b.");
        let c = i64::from(self.lsb_exp() - 2 * SCALE_BIAS);
        let exp = m.val(io["xa"] + io["xb"] + c)?;
        let exp = m.fit(exp, EXP_WIDTH)?;
        let stages = (
            self.conversion_stages(),
            self.accumulation_stages(),
            self.beats_per_block(),
        );
        let ports = (clk, rst, io["clear"], last);
        let ([acc, uf, of, out_valid], nan_q) =
            binary32_stages(&mut m, ports, stages, block_sum, exp, Some(nan.sig))?;
        let nan_q = nan_q.expect("a NaN input gives a NaN flag");
        m.outs([
            ("acc", acc),
            ("uf", uf),
            ("of", of),
            ("nan", nan_q),
            ("out_valid", out_valid),
        ])?;
        m.finish()
    }
}

/// A decoded element: its magnitude in quanta is `sig << shift`, negative with `neg`;
/// `nan` (E4M3, E5M2) marks a NaN or infinity code.
struct Element {
    /// An INT8 code as a signed value.
    int: Option<Val>,
    sig: Val,
    shift: Option<Sig>,
    neg: Sig,
    nan: Option<Sig>,
}

/// Lane `j`'s code of type `e` on `q`, decoded (`model::mx::Elem::decode`): a float's
/// significand with its hidden bit (none for subnormals, which sit in the first binade's
/// quanta) and the shift `field - 1` (0 for subnormals), its sign, and for E4M3 and E5M2
/// whether it is a NaN or infinity code; an INT8 code's magnitude (up to 128) and sign.
fn element(m: &mut ModuleBuilder, e: Elem, q: Sig, j: u32, side: &str) -> Result<Element> {
    let w = e.width();
    let code = m.val(q.bits(w * j + w - 1, w * j))?;
    let Some((eb, mb, _)) = e.float_shape() else {
        let v = m.val(code.reinterpret_signed())?;
        let (mag, neg) = m.abs(&format!("{side}{j}_mag"), v)?;
        return Ok(Element {
            int: Some(v),
            sig: mag,
            shift: None,
            neg,
            nan: None,
        });
    };
    let field = m.val(code.bits(w - 2, mb))?;
    let normal = m.val(field.any())?;
    let sig = m.wire(
        &format!("{side}{j}_sig"),
        cat([Expr::from(normal), code.bits(mb - 1, 0)]),
    )?;
    let one = m.lit(eb, 1)?;
    let field_less_one = m.sub(field.sig, one)?;
    let zero = m.zero(eb)?;
    let shift = m.mux(normal.sig, field_less_one, zero)?;
    let shift = m.name(shift, &format!("{side}{j}_shift"))?;
    let nan = match e {
        Elem::E4m3 => Some(m.val(code.bits(w - 2, 0).all())?.sig),
        Elem::E5m2 => Some(m.val(field.all())?.sig),
        _ => None,
    };
    let neg = m.val(code.bit(w - 1))?;
    Ok(Element {
        int: None,
        sig,
        shift: Some(shift),
        neg: neg.sig,
        nan,
    })
}

/// The exact product of two decoded elements in quanta `2^(lsb_a + lsb_b)`, signed
/// `int_bits_a + int_bits_b` bits: the significands multiplied (at most 8 x 8 bits), the
/// product shifted by the sum of the shifts, the sign applied; 0 when either is a NaN or
/// infinity code. This is `decode(a) * decode(b)` with the shifts taken out of the
/// multiplier.
fn product(
    m: &mut ModuleBuilder,
    p: &MxDotParams,
    j: u32,
    a: &Element,
    b: &Element,
) -> Result<Val> {
    let w = p.elem_a.int_bits() + p.elem_b.int_bits();
    if let (Some(x), Some(y)) = (a.int, b.int) {
        return m.wire(&format!("p{j}"), x * y); // INT8 x INT8: 16 bits signed
    }
    // |product| < 2^(w-2) (a float's |decode| is below 2^(int_bits-1)), or up to
    // 128 * 2^(int_bits_b - 1) with an INT8 side: w - 1 bits hold either.
    let mag_bits = w - 1;
    let sig = m.val(a.sig * b.sig)?;
    let wide = m.val(sig.resize(mag_bits))?;
    let mag = match (a.shift, b.shift) {
        (None, None) => wide,
        (Some(s), None) | (None, Some(s)) => m.shift_left(wide, s)?,
        (Some(sa), Some(sb)) => {
            let s = m.val(sa + sb)?;
            m.shift_left(wide, s.sig)?
        }
    };
    let mag = m.wire(&format!("p{j}_mag"), mag)?;
    let neg = m.val(a.neg ^ b.neg)?;
    let negated = m.val((-mag).wrapping(w).reinterpret_signed())?; // |product| < 2^(w-1)
    let signed = mux(neg, negated, mag.sint());
    let nan = match (a.nan, b.nan) {
        (None, None) => None,
        (Some(n), None) | (None, Some(n)) => Some(Expr::from(n)),
        (Some(x), Some(y)) => Some(x | y),
    };
    let value = match nan {
        Some(nan) => mux(nan, lit(0, w, true), signed),
        None => signed,
    };
    let value = m.val(value)?;
    let value = m.fit(value, w)?;
    m.wire(&format!("p{j}"), value)
}

/// The behavioural reference: `crate::golden::mx_dot`.
impl crate::Reference for MxDotParams {
    fn golden(&self) -> Result<crate::golden::GoldenModule> {
        crate::golden::mx_dot::golden(self)
    }
}

fn describe(m: &mut ModuleBuilder, p: &MxDotParams) {
    let (a, b) = (
        p.elem_a.name().to_uppercase(),
        p.elem_b.name().to_uppercase(),
    );
    m.comment(format!(
        "MX block dot product: blocks of {} {a} x {b} elements, each block with E8M0 scales",
        p.block
    ));
    m.comment(format!(
        "xa, xb; {} element product(s) per beat ({} beat(s) per block), exact {}-bit block",
        p.lanes(),
        p.beats_per_block(),
        p.sum_width()
    ));
    m.comment("sum in quanta, one binary32 conversion per block, binary32 accumulation (RNE,");
    m.comment("no subnormals, saturating; sticky uf/of until clear). A NaN scale byte or a");
    m.comment("NaN/infinity element makes the block add +0 and sets sticky nan (docs/mx.md).");
    m.comment(format!(
        "Latency: {} cycles from a block's last beat to out_valid.",
        p.latency()
    ));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verilog::module_verilog;

    #[test]
    fn builds_for_every_element_pair() {
        for a in Elem::ALL {
            for b in Elem::ALL {
                let p = MxDotParams {
                    elem_a: a,
                    elem_b: b,
                    block: 4,
                    lanes: Some(2),
                };
                let module = p.rtl().unwrap_or_else(|e| panic!("{p:?}: {e}"));
                assert!(module_verilog(&module).contains("nan_q"));
            }
        }
    }
}
