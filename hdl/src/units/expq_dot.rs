//! RTL of the DNA-TEQ exponent-domain dot product `expq_dot` (docs/log-domain.md; the
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

use crate::ir::{lit, mux, ExprOps, ModuleBuilder, Result};
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
        let finishing = m.wire("walk_done", walking & index.equal(n - 1))?;
        let starting = m.wire("walk_start", !walking & flush)?;
        m.next(walking, (walking & !finishing) | starting, None)?;
        let advanced = mux(walking, (index + 1).wrapping(iw), 0);
        m.next(index, mux(finishing, 0, advanced), None)?;

        m.note("Stage 1: count the product's exponent sum.");
        let counting = m.wire("count_beat", valid & !(io["zw"] | io["za"]) & !walking)?;
        let sum = m.wire("exp_sum", io["ew"] + io["ea"])?;
        let minus_one = lit((1 << cw) - 1, cw, false);
        let step = m.wire("count_step", mux(io["sw"] ^ io["sa"], minus_one, 1))?;
        let mut counters = Vec::new();
        for k in 0..n {
            let c = m.reg(&format!("count_{k}_q"), cw, clk, Some((rst, 0)))?;
            let clear = m.val(walking & index.equal(k))?;
            let load = m.val(clear | (counting & sum.equal(k)))?;
            m.next(c, mux(clear, 0, (c + step).wrapping(cw)), Some(load.sig))?;
            counters.push(c);
        }

        m.note("Stage 2: the walk, y_acc += c_k * T[k].");
        let count = super::select(&mut m, "walk_count", &counters, index)?.s();
        let tw = self.table_bits() + 1; // positive, as a signed operand
        let constant = super::rom(&mut m, "walk_constant", &self.table(), tw, index)?.s();
        let product = m.val(count * constant)?; // cw + tw bits, exact
                                                // |c_k * T[k]| <= K_max * max T fits y, whose width holds that.
        let term = m.narrow("walk_term", product, ow)?;
        let y_acc = m.reg("y_acc_q", ow, clk, Some((rst, 0)))?;
        let added = m.wire("y_sum", (y_acc + term).wrapping(ow))?;
        m.next(y_acc, mux(walking, added, 0), None)?;

        m.note("Stage 3: the result.");
        let y = m.register("y_q", added.sig, clk, Some(rst), Some(finishing.sig))?;
        let out_valid = m.register("out_valid_q", finishing.sig, clk, Some(rst), None)?;
        m.out("y", y)?;
        m.out("out_valid", out_valid)?;
        m.finish()
    }
}

/// The behavioural reference: `crate::golden::expq_dot`.
impl crate::Reference for ExpqDotParams {
    fn golden(&self) -> Result<crate::golden::GoldenModule> {
        crate::golden::expq_dot::golden(self)
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
        "y = sum_k c_k * T[k], T[k] = RNE(b^(k + 2 e_min) * 2^{}), k ascending (docs/log-domain.md).",
        p.frac_bits
    ));
    m.comment(format!(
        "Latency: {} cycles from the flush beat to out_valid; beats during the walk are ignored.",
        p.latency()
    ));
}
