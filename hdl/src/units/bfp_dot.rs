//! RTL of the block dot product `bfp_dot` (SPEC.md section 3; the model is
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
use crate::ir::{ModuleBuilder, Result, Sig};
use crate::{start_unit, Generate, Module, UnitParams};

impl Generate for BfpDotParams {
    fn golden(&self) -> Option<Result<crate::golden::GoldenModule>> {
        Some(crate::golden::bfp_dot::golden(self))
    }

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
            products.push(m.mul(a, b, true)?); // 2m bits, exact
        }
        let beat_sum = adder_tree(&mut m, products)?;
        let beat_sum = m.sext(beat_sum, s)?;
        let beat_sum = m.name(beat_sum, "beat_sum")?;
        let last = super::block_last(&mut m, self.beats_per_block(), clk, rst, valid)?;
        let block_sum = if self.beats_per_block() == 1 {
            beat_sum
        } else {
            let partial = m.reg("partial_q", s, clk, Some((rst, 0)))?;
            let sum = m.add(partial, beat_sum)?;
            let zero = m.zero(s)?;
            let next = m.mux(last, zero, sum)?;
            m.drive_reg(partial, next, Some(valid))?;
            sum
        };

        m.note("Stage 1: the block's exact sum and exponent.");
        let exp = m.add_exact(io["ea"], io["eb"], true)?;
        let sum1 = m.register("block_sum_q", block_sum, clk, Some(rst), Some(last))?;
        let exp1 = m.register("block_exp_q", exp, clk, Some(rst), Some(last))?;
        let clear1 = m.register("block_clear_q", io["clear"], clk, Some(rst), Some(last))?;
        let valid1 = m.register("block_valid_q", last, clk, Some(rst), None)?;

        m.note("Stage 2: the block's value as binary32.");
        let f = FloatFormat::BINARY32;
        let v = float::from_scaled_int(&mut m, "conv", &f, sum1, exp1, Rounding::Rne)?;
        let v2 = m.register("value_q", v.bits, clk, Some(rst), Some(valid1))?;
        let uf2 = m.register("value_uf_q", v.underflow, clk, Some(rst), Some(valid1))?;
        let of2 = m.register("value_of_q", v.overflow, clk, Some(rst), Some(valid1))?;
        let clear2 = m.register("value_clear_q", clear1, clk, Some(rst), Some(valid1))?;
        let valid2 = m.register("value_valid_q", valid1, clk, Some(rst), None)?;

        m.note("Stage 3: binary32 accumulation (RNE, no subnormals).");
        let acc = m.reg("acc_q", 32, clk, Some((rst, 0)))?;
        let uf = m.reg("uf_q", 1, clk, Some((rst, 0)))?;
        let of = m.reg("of_q", 1, clk, Some((rst, 0)))?;
        let keep = m.not(clear2)?;
        let zero = m.zero(32)?;
        let base = m.mux(clear2, zero, acc)?;
        let base_uf = m.and(uf, keep)?;
        let base_of = m.and(of, keep)?;
        let r = float::add(&mut m, "acc", &f, base, v2, Rounding::Rne)?;
        let uf_in = m.or(uf2, r.underflow)?;
        let uf_next = m.or(base_uf, uf_in)?;
        let of_in = m.or(of2, r.overflow)?;
        let of_next = m.or(base_of, of_in)?;
        m.drive_reg(acc, r.bits, Some(valid2))?;
        m.drive_reg(uf, uf_next, Some(valid2))?;
        m.drive_reg(of, of_next, Some(valid2))?;
        let out_valid = m.register("out_valid_q", valid2, clk, Some(rst), None)?;
        m.drive_output("acc", acc)?;
        m.drive_output("uf", uf)?;
        m.drive_output("of", of)?;
        m.drive_output("out_valid", out_valid)?;
        m.finish()
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
    m.comment("no subnormals, saturating; sticky uf/of until clear) (SPEC.md section 3).");
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
) -> Result<Sig> {
    let mb = p.mant_bits;
    let field = m.slice(q, mb * i + mb - 1, mb * i)?;
    let (Some(modes), Some(mode)) = (p.modes, mode) else {
        return Ok(field);
    };
    // The widest for the last index and past it; narrower widths by their index.
    let widths = modes.list();
    let mut v = field;
    for (k, width) in widths.iter().enumerate().rev().skip(1) {
        let low = m.slice(field, width - 1, 0)?;
        let narrow = m.sext(low, mb)?;
        let index = m.lit(mode.width(), k as i128)?;
        let chosen = m.eq(mode, index)?;
        v = m.mux(chosen, narrow, v)?;
    }
    Ok(v)
}

/// Balanced tree of exact signed additions, widths growing one bit per level.
fn adder_tree(m: &mut ModuleBuilder, mut level: Vec<Sig>) -> Result<Sig> {
    while level.len() > 1 {
        let mut next = Vec::new();
        for pair in level.chunks(2) {
            next.push(match pair {
                [a, b] => m.add_exact(*a, *b, true)?,
                [a] => *a,
                _ => unreachable!("chunks of two"),
            });
        }
        level = next;
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
