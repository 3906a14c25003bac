//! RTL of the DNA-TEQ exponent-domain dot product `expq_dot` (SPEC.md section 4; the
//! model is `model::expq::ExpqDot`).
//!
//! Stages:
//! 1. count: a valid beat with a nonzero product adds `+-1` to the counter of its
//!    exponent sum `ew + ea`;
//! 2. flush: a `flush` beat starts the walk; each walk cycle reads counter `k` and
//!    `T[k]` (constants from `ExpqDotParams::table`), adds `c_k * T[k]` to `y_acc` and
//!    clears the counter;
//! 3. the cycle after the last counter, `y` takes the sum with `out_valid`.

use model::expq::ExpqDotParams;

use crate::ir::{ModuleBuilder, Result};
use crate::{start_unit, Generate, Module, UnitParams};

impl Generate for ExpqDotParams {
    fn rtl(&self) -> Result<Module> {
        let (mut m, io) = start_unit(self)?;
        describe(&mut m, self);
        let (clk, rst, valid, flush) = (io["clk"], io["rst"], io["in_valid"], io["flush"]);
        let (n, cw, ow) = (self.counters(), self.counter_bits(), self.out_bits());
        let iw = self.exp_bits + 1; // index of a counter

        m.note("Walk state: which counter the walk reads next.");
        let walking = m.reg("walking_q", 1, clk, Some((rst, 0)))?;
        let index = m.reg("walk_index_q", iw, clk, Some((rst, 0)))?;
        let last_index = m.lit(iw, i128::from(n - 1))?;
        let at_last = m.eq(index, last_index)?;
        let finishing = m.and(walking, at_last)?;
        let finishing = m.name(finishing, "walk_done")?;
        let idle = m.not(walking)?;
        let starting = m.and(idle, flush)?;
        let starting = m.name(starting, "walk_start")?;
        let still = m.not(finishing)?;
        let walk_next = m.and(walking, still)?;
        let walk_next = m.or(walk_next, starting)?;
        m.drive_reg(walking, walk_next, None)?;
        let one = m.lit(iw, 1)?;
        let advanced = m.add(index, one)?;
        let zero_index = m.zero(iw)?;
        let index_next = m.mux(walking, advanced, zero_index)?;
        let index_next = m.mux(finishing, zero_index, index_next)?;
        m.drive_reg(index, index_next, None)?;

        m.note("Stage 1: count the product's exponent sum.");
        let zero = m.or(io["zw"], io["za"])?;
        let nonzero = m.not(zero)?;
        let counting = m.and(valid, nonzero)?;
        let counting = m.and(counting, idle)?;
        let counting = m.name(counting, "count_beat")?;
        let negative = m.xor(io["sw"], io["sa"])?;
        let sum = m.add_exact(io["ew"], io["ea"], false)?;
        let sum = m.name(sum, "exp_sum")?;
        let plus = m.lit(cw, 1)?;
        let minus = m.lit(cw, -1)?;
        let step = m.mux(negative, minus, plus)?;
        let cleared = m.zero(cw)?;
        let mut counters = Vec::new();
        for k in 0..n {
            let c = m.reg(&format!("count_{k}_q"), cw, clk, Some((rst, 0)))?;
            let kk = m.lit(iw, i128::from(k))?;
            let hit = m.eq(sum, kk)?;
            let bump = m.and(counting, hit)?;
            let read = m.eq(index, kk)?;
            let clear = m.and(walking, read)?;
            let stepped = m.add(c, step)?;
            let next = m.mux(clear, cleared, stepped)?;
            let load = m.or(bump, clear)?;
            m.drive_reg(c, next, Some(load))?;
            counters.push(c);
        }

        m.note("Stage 2: the walk, y_acc += c_k * T[k].");
        let count = super::select(&mut m, &counters, index)?;
        let count = m.name(count, "walk_count")?;
        let tw = self.table_bits() + 1; // positive, as a signed operand
        let constant = super::rom(&mut m, &self.table(), tw, index)?;
        let constant = m.name(constant, "walk_constant")?;
        let product = m.mul(count, constant, true)?; // cw + tw bits, exact
                                                     // |c_k * T[k]| <= K_max * max T fits y, whose width holds that.
        let pw = product.width();
        let product = if pw >= ow {
            let high = m.slice(product, pw - 1, ow)?;
            m.discard(high, "product_sign_copies")?;
            m.slice(product, ow - 1, 0)?
        } else {
            m.sext(product, ow)?
        };
        let product = m.name(product, "walk_term")?;
        let y_acc = m.reg("y_acc_q", ow, clk, Some((rst, 0)))?;
        let added = m.add(y_acc, product)?;
        let zero_y = m.zero(ow)?;
        let acc_next = m.mux(walking, added, zero_y)?;
        m.drive_reg(y_acc, acc_next, None)?;

        m.note("Stage 3: the result.");
        let y = m.register("y_q", added, clk, Some(rst), Some(finishing))?;
        let out_valid = m.register("out_valid_q", finishing, clk, Some(rst), None)?;
        m.drive_output("y", y)?;
        m.drive_output("out_valid", out_valid)?;
        m.finish()
    }

    fn golden(&self) -> Option<Result<crate::golden::GoldenModule>> {
        Some(crate::golden::expq_dot::golden(self))
    }
}

fn describe(m: &mut ModuleBuilder, p: &ExpqDotParams) {
    m.comment(format!(
        "DNA-TEQ exponent-domain dot product: {e}-bit exponent codes, base {b}, code e = b^(e{sign}{em}),",
        e = p.exp_bits,
        b = p.base,
        sign = if p.exp_min < 0 { "" } else { "+" },
        em = p.exp_min
    ));
    m.comment(format!(
        "{} signed {}-bit counters (one per exponent sum, up to {} products), then a walk:",
        p.counters(),
        p.counter_bits(),
        p.k_max
    ));
    m.comment(format!(
        "y = sum_k c_k * T[k], T[k] = RNE(b^(k + 2 e_min) * 2^{}), k ascending (SPEC.md section 4).",
        p.frac_bits
    ));
    m.comment(format!(
        "Latency: {} cycles from the flush beat to out_valid; beats during the walk are ignored.",
        p.latency()
    ));
}
