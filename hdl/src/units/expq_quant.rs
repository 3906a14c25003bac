//! RTL of the exponential quantizer `expq_quant` (docs/log-domain.md; the model is
//! `model::expq::ExpqQuantParams::code_of`, which decides by exact rational comparisons).
//!
//! Stages: the input's magnitude; one comparison per decision threshold
//! (`ExpqQuantParams::thresholds`, exact midpoints floored to input units); the code is
//! the number of midpoints the magnitude exceeds (they ascend); registered outputs.

use model::expq::ExpqQuantParams;

use crate::ir::{lit, mux, ExprOps, ModuleBuilder, Result, Sig};
use crate::{start_unit, Generate, Module, UnitParams};

impl Generate for ExpqQuantParams {
    fn rtl(&self) -> Result<Module> {
        let (mut m, io) = start_unit(self)?;
        describe(&mut m, self);
        let (clk, rst, valid, x) = (io["clk"], io["rst"], io["in_valid"], io["x"]);
        let (n, e) = (self.in_bits, self.exp_bits);

        m.note("Stage 1: magnitude (|x| <= 2^(N-1) fits N bits unsigned).");
        let (magnitude, negative) = m.abs("magnitude", x.s())?;

        m.note("Stage 2: compare with the decision thresholds.");
        // |x| never exceeds 2^(N-1): a threshold at or above that is never passed.
        let exceeds = |t: u64| {
            if t >= 1 << (n - 1) {
                lit(0, 1, false)
            } else {
                magnitude.greater(t)
            }
        };
        let thresholds = self.thresholds();
        let zero = m.wire("zero_code", !exceeds(thresholds[0]))?;
        let above = thresholds[1..]
            .iter()
            .map(|t| Ok(m.val(exceeds(*t).resize(e))?.sig))
            .collect::<Result<Vec<_>>>()?;
        let code = count(&mut m, above)?;
        let code = m.wire("code", code)?;

        m.note("Stage 3: canonical zero, registered outputs.");
        let s = m.val(negative & !zero)?;
        let code = m.val(mux(zero, 0, code))?;
        super::registered_outputs(
            &mut m,
            [("s", s.sig), ("z", zero.sig), ("e", code.sig)],
            valid,
            clk,
            rst,
        )?;
        m.finish()
    }
}

/// The behavioural reference: `crate::golden::expq_quant`.
impl crate::Reference for ExpqQuantParams {
    fn golden(&self) -> Result<crate::golden::GoldenModule> {
        crate::golden::expq_quant::golden(self)
    }
}

/// Sum of `E`-bit values (each 0 or 1; at most `2^E - 1` of them), as a balanced tree.
fn count(m: &mut ModuleBuilder, mut level: Vec<Sig>) -> Result<Sig> {
    if level.is_empty() {
        return m.zero(1);
    }
    while level.len() > 1 {
        level = level
            .chunks(2)
            .map(|pair| match pair {
                [a, b] => m.add(*a, *b),
                [a] => Ok(*a),
                _ => unreachable!("chunks of two"),
            })
            .collect::<Result<Vec<_>>>()?;
    }
    Ok(level[0])
}

fn describe(m: &mut ModuleBuilder, p: &ExpqQuantParams) {
    m.comment(format!(
        "Exponential quantizer: {n}-bit input with {f} fractional bits to {e}-bit codes,",
        n = p.in_bits,
        f = p.in_frac,
        e = p.exp_bits
    ));
    m.comment(format!(
        "levels alpha * b^(e + e_min) with alpha {}, b {}, e_min {}: nearest level in the",
        p.alpha, p.base, p.exp_min
    ));
    m.comment("linear domain, ties to the smaller magnitude, zero code for |x| <= L_0 / 2.");
    m.comment(format!(
        "Latency: {} cycle (docs/log-domain.md).",
        p.latency()
    ));
}
