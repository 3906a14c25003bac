//! RTL of the exponential quantizer `expq_quant` (SPEC.md section 4; the model is
//! `model::expq::ExpqQuantParams::code_of`, which decides by exact rational comparisons).
//!
//! Stages: the input's magnitude; one comparison per decision threshold
//! (`ExpqQuantParams::thresholds`, exact midpoints floored to input units); the code is
//! the number of midpoints the magnitude exceeds (they ascend); registered outputs.

use model::expq::ExpqQuantParams;

use crate::ir::{ModuleBuilder, Result, Sig};
use crate::{start_unit, Generate, Module, UnitParams};

impl Generate for ExpqQuantParams {
    fn rtl(&self) -> Result<Module> {
        let (mut m, io) = start_unit(self)?;
        describe(&mut m, self);
        let (clk, rst, valid, x) = (io["clk"], io["rst"], io["in_valid"], io["x"]);
        let (n, e) = (self.in_bits, self.exp_bits);

        m.note("Stage 1: magnitude (|x| <= 2^(N-1) fits N bits unsigned).");
        let negative = m.msb(x)?;
        let zero_n = m.zero(n)?;
        let negated = m.sub(zero_n, x)?;
        let magnitude = m.mux(negative, negated, x)?;
        let magnitude = m.name(magnitude, "magnitude")?;

        m.note("Stage 2: compare with the decision thresholds.");
        let thresholds = self.thresholds();
        // |x| never exceeds 2^(N-1): a threshold at or above that is never passed.
        let exceeds = |m: &mut ModuleBuilder, t: u64| -> Result<Sig> {
            if t >= 1 << (n - 1) {
                m.zero(1)
            } else {
                let t = m.lit(n, t.into())?;
                m.lt(t, magnitude, false)
            }
        };
        let above_zero = exceeds(&mut m, thresholds[0])?;
        let zero = m.not(above_zero)?;
        let zero = m.name(zero, "zero_code")?;
        let mut above = Vec::new();
        for t in &thresholds[1..] {
            let gt = exceeds(&mut m, *t)?;
            above.push(m.zext(gt, e)?);
        }
        let code = count(&mut m, above)?;
        let code = m.name(code, "code")?;

        m.note("Stage 3: canonical zero, registered outputs.");
        let nonzero = m.not(zero)?;
        let s = m.and(negative, nonzero)?;
        let zero_e = m.zero(e)?;
        let code = m.mux(zero, zero_e, code)?;
        let s_q = m.register("s_q", s, clk, Some(rst), Some(valid))?;
        let z_q = m.register("z_q", zero, clk, Some(rst), Some(valid))?;
        let e_q = m.register("e_q", code, clk, Some(rst), Some(valid))?;
        let out_valid = m.register("out_valid_q", valid, clk, Some(rst), None)?;
        m.drive_output("s", s_q)?;
        m.drive_output("z", z_q)?;
        m.drive_output("e", e_q)?;
        m.drive_output("out_valid", out_valid)?;
        m.finish()
    }

    fn golden(&self) -> Option<Result<crate::golden::GoldenModule>> {
        Some(crate::golden::expq_quant::golden(self))
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
        "Latency: {} cycle (SPEC.md section 4).",
        p.latency()
    ));
}
