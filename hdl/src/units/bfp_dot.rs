//! RTL of the block dot product `bfp_dot` (docs/bfp.md; the model is
//! `model::bfp::BfpDot`).
//!
//! Stages:
//! 0. per beat: `lanes` exact m x m products (in mixed-mantissa mode each element is the
//!    low bits of its field, sign-extended) summed by an adder tree, added to the block's
//!    partial sum; a beat counter finds the block's last beat;
//! 1. register the block's exact sum, `ea + eb` and `clear`;
//! 2. convert `sum * 2^(ea+eb)` to binary32 (normalise; exact unless out of range) and
//!    register it;
//! 3. add it to the binary32 accumulator (or start over on `clear`), RNE, flush and
//!    saturate with sticky `uf` and `of`; `out_valid` with the new value.

use model::bfp::BfpDotParams;
use model::float::{FloatFormat, Rounding};

use crate::float;
use crate::ir::{mux, Expr, ExprOps, ModuleBuilder, Result, Sig, Val};
use crate::{start_unit, Generate, Module, UnitParams};

impl Generate for BfpDotParams {
    fn rtl(&self) -> Result<Module> {
        let (mut m, io) = start_unit(self)?;
        describe(&mut m, self);
        let (clk, rst, valid) = (io["clk"], io["rst"], io["in_valid"]);
        let s = self.sum_width();

        m.note("Stage 0: element products, adder tree, and the block's partial sum.");
        let mode = io.get("mode").copied();
        let mut products = Vec::new();
        for i in 0..self.lanes() {
            let a = element(&mut m, self, io["qa"], i, mode)?;
            let b = element(&mut m, self, io["qb"], i, mode)?;
            products.push(m.val(a * b)?); // 2m bits, exact
        }
        let beat_sum = adder_tree(&mut m, products)?;
        let beat_sum = m.wire("beat_sum", beat_sum.resize(s))?;
        let last = super::block_last(&mut m, self.beats_per_block(), clk, rst, valid)?;
        let block_sum = if self.beats_per_block() == 1 {
            beat_sum
        } else {
            let partial = m.reg("partial_q", s, clk, Some((rst, 0)))?;
            let sum = m.wire("partial_sum", (partial + beat_sum).wrapping(s))?;
            m.next(partial, mux(last, 0, sum), Some(valid))?;
            sum
        };

        m.note("Stage 1: the block's exact sum and exponent.");
        let exp = m.val(io["ea"].s() + io["eb"].s())?;
        let [sum1, exp1, clear1] = m.registers(
            [
                ("block_sum_q", block_sum.sig),
                ("block_exp_q", exp.sig),
                ("block_clear_q", io["clear"]),
            ],
            clk,
            Some(rst),
            Some(last),
        )?;
        let valid1 = m.register("block_valid_q", last, clk, Some(rst), None)?;

        m.note("Stage 2: the block's value as binary32.");
        let f = FloatFormat::BINARY32;
        let v = float::from_scaled_int(&mut m, "conv", &f, sum1, exp1, Rounding::Rne)?;
        let [v2, uf2, of2, clear2] = m.registers(
            [
                ("value_q", v.bits),
                ("value_uf_q", v.underflow),
                ("value_of_q", v.overflow),
                ("value_clear_q", clear1),
            ],
            clk,
            Some(rst),
            Some(valid1),
        )?;
        let valid2 = m.register("value_valid_q", valid1, clk, Some(rst), None)?;

        m.note("Stage 3: binary32 accumulation (RNE, no subnormals).");
        let acc = m.reg("acc_q", 32, clk, Some((rst, 0)))?;
        let uf = m.reg("uf_q", 1, clk, Some((rst, 0)))?;
        let of = m.reg("of_q", 1, clk, Some((rst, 0)))?;
        let base = m.val(mux(clear2, 0, acc))?;
        let r = float::add(&mut m, "acc", &f, base.sig, v2, Rounding::Rne)?;
        m.next(acc, r.bits, Some(valid2))?;
        m.next(uf, (uf & !clear2) | uf2 | r.underflow, Some(valid2))?;
        m.next(of, (of & !clear2) | of2 | r.overflow, Some(valid2))?;
        let out_valid = m.register("out_valid_q", valid2, clk, Some(rst), None)?;
        for (name, v) in [
            ("acc", acc),
            ("uf", uf),
            ("of", of),
            ("out_valid", out_valid),
        ] {
            m.out(name, v)?;
        }
        m.finish()
    }
}

/// The behavioural reference: `crate::golden::bfp_dot`.
impl crate::Reference for BfpDotParams {
    fn golden(&self) -> Result<crate::golden::GoldenModule> {
        crate::golden::bfp_dot::golden(self)
    }
}

fn describe(m: &mut ModuleBuilder, p: &BfpDotParams) {
    m.comment(format!(
        "HBFP{mb} block dot product: blocks of {n} {mb}-bit mantissas with {w}-bit shared",
        mb = p.mant_bits,
        n = p.block,
        w = p.exp_bits
    ));
    m.comment(format!(
        "exponents, {} element product(s) per beat ({} beat(s) per block), exact {}-bit",
        p.lanes(),
        p.beats_per_block(),
        p.sum_width()
    ));
    m.comment("block sum, one binary32 conversion per block, binary32 accumulation (RNE,");
    m.comment("no subnormals, saturating; sticky uf/of until clear) (docs/bfp.md).");
    if let Some(modes) = p.modes {
        m.comment(format!(
            "Mixed mantissa: mode k uses the k-th of the widths {modes}, read from the low bits"
        ));
        m.comment("of each element's field.");
    }
    m.comment(format!(
        "Latency: {} cycles from a block's last beat to out_valid.",
        p.latency()
    ));
}

/// Element `i` of a beat's field vector, as an m-bit signed value; with modes, the low
/// bits of the field for the selected width, sign-extended.
fn element(
    m: &mut ModuleBuilder,
    p: &BfpDotParams,
    q: Sig,
    i: u32,
    mode: Option<Sig>,
) -> Result<Val> {
    let mb = p.mant_bits;
    let field = m.val(q.bits(mb * i + mb - 1, mb * i).reinterpret_signed())?;
    let (Some(modes), Some(mode)) = (p.modes, mode) else {
        return Ok(field);
    };
    // The widest for the last index and past it; narrower widths by their index.
    let mut v = Expr::from(field);
    for (k, width) in modes.list().iter().enumerate().rev().skip(1) {
        let narrow = field.bits(width - 1, 0).reinterpret_signed().resize(mb);
        v = mux(mode.equal(k as u64), narrow, v);
    }
    m.val(v)
}

/// Balanced tree of exact signed additions, widths growing one bit per level.
fn adder_tree(m: &mut ModuleBuilder, mut level: Vec<Val>) -> Result<Val> {
    while level.len() > 1 {
        level = level
            .chunks(2)
            .map(|pair| match pair {
                [a, b] => m.val(*a + *b),
                [a] => Ok(*a),
                _ => unreachable!("chunks of two"),
            })
            .collect::<Result<Vec<_>>>()?;
    }
    Ok(level[0])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verilog::module_verilog;

    #[test]
    fn builds_for_lanes_and_modes() {
        for (block, lanes, mant, modes) in [
            (1, 1, 2, None),
            (16, 16, 4, None),
            (16, 4, 6, Some("4,6")),
            (64, 1, 8, Some("2,5,8")),
        ] {
            let p = BfpDotParams {
                block,
                lanes: Some(lanes),
                mant_bits: mant,
                modes: modes.map(|s| s.parse().unwrap()),
                ..BfpDotParams::default()
            };
            let module = p.rtl().unwrap_or_else(|e| panic!("{p:?}: {e}"));
            let text = module_verilog(&module);
            assert!(text.contains("acc_q"), "{text}");
        }
    }
}
