//! RTL of the floating-point accumulator `fpacc` (SPEC.md section 2; the model is
//! `model::fpacc`).
//!
//! Stages:
//! 1. exact product: integers multiply into `2N` bits at the constant exponent `-2F`;
//!    small floats multiply their significands and add their exponents (registered when
//!    `pipeline = 2`);
//! 2. `Q_prod`: normalise and round into the product format, flush or saturate with
//!    flags (`crate::float::from_sign_magnitude`; registered when `pipeline >= 1`);
//! 3. `Q_acc`: `(clear ? 0 : acc) + product` rounded into the accumulator format
//!    (`crate::float::add_formats`), sticky `uf`/`of`, `out_valid`;
//!    with chunks, this sum is the inner accumulator (restarting every n beats and on
//!    `clear`), registered with its flags and a `done` bit; one cycle later a second
//!    adder adds a completed chunk into `acc`.

use model::float::FloatFormat;
use model::fpacc::{FpaccParams, Operand};

use crate::float::{self, signed_bits, FloatSig};
use crate::ir::{ModuleBuilder, Result, Sig};
use crate::{start_unit, Generate, Module, UnitParams};

/// An exact product: `(-1)^neg * magnitude * 2^exp`.
struct ExactProduct {
    neg: Sig,
    magnitude: Sig,
    exp: Sig,
}

fn exact_product(m: &mut ModuleBuilder, p: &FpaccParams, a: Sig, b: Sig) -> Result<ExactProduct> {
    match &p.operand {
        Operand::Int { frac, .. } => {
            let prod = m.mul(a, b, true)?; // 2N bits, exact
            let w = prod.width();
            let neg = m.msb(prod)?;
            let zero = m.zero(w)?;
            let negated = m.sub(zero, prod)?;
            let magnitude = m.mux(neg, negated, prod)?; // |a*b| <= 2^(2N-2) fits
            let e = -2 * i64::from(*frac);
            let exp = m.lit(signed_bits(e, 0), e.into())?;
            Ok(ExactProduct {
                neg,
                magnitude,
                exp,
            })
        }
        Operand::Float { format } => {
            let (sa, ea, ga) = float::unpack(m, format, a)?;
            let (sb, eb, gb) = float::unpack(m, format, b)?;
            let neg = m.xor(sa, sb)?;
            let magnitude = m.mul(ga, gb, false)?; // zero when either is zero
                                                   // exp = (ea - bias - M) + (eb - bias - M)
            let offset = -2 * i64::from(format.bias + format.man_bits as i32);
            let top = 2 * ((1i64 << format.exp_bits) - 1);
            let w = signed_bits(offset.min(0), top + offset.max(0)) + 1;
            let ea = m.zext(ea, w)?;
            let eb = m.zext(eb, w)?;
            let sum = m.add(ea, eb)?;
            let offset = m.lit(w, offset.into())?;
            let exp = m.add(sum, offset)?;
            Ok(ExactProduct {
                neg,
                magnitude,
                exp,
            })
        }
    }
}

impl Generate for FpaccParams {
    fn rtl(&self) -> Result<Module> {
        let (mut m, io) = start_unit(self)?;
        describe(&mut m, self);
        let (clk, rst) = (io["clk"], io["rst"]);
        let (mut valid, mut clear) = (io["in_valid"], io["clear"]);

        m.note("Stage 1: exact product (registered when pipeline = 2).");
        let mut x = exact_product(&mut m, self, io["a"], io["b"])?;
        x.magnitude = m.name(x.magnitude, "prod_magnitude")?;
        if self.pipeline >= 2 {
            valid = m.register("valid_1", valid, clk, Some(rst), None)?;
            clear = m.register("clear_1", clear, clk, None, None)?;
            x = ExactProduct {
                neg: m.register("prod_neg_1", x.neg, clk, None, None)?,
                magnitude: m.register("prod_magnitude_1", x.magnitude, clk, None, None)?,
                exp: m.register("prod_exp_1", x.exp, clk, None, None)?,
            };
        }

        m.note("Stage 2: Q_prod, the product rounded into the product format.");
        let mut q = float::from_sign_magnitude(
            &mut m,
            "qprod",
            &self.product,
            x.neg,
            x.magnitude,
            x.exp,
            self.rounding,
        )?;
        q.bits = m.name(q.bits, "product")?;
        if self.pipeline >= 1 {
            valid = m.register("valid_2", valid, clk, Some(rst), None)?;
            clear = m.register("clear_2", clear, clk, None, None)?;
            q = FloatSig {
                bits: m.register("product_2", q.bits, clk, None, None)?,
                underflow: m.register("product_uf_2", q.underflow, clk, None, None)?,
                overflow: m.register("product_of_2", q.overflow, clk, None, None)?,
            };
        }

        let (acc, uf, of, out_valid) = if self.chunk == 0 {
            m.note("Stage 3: Q_acc, the product added into the accumulator.");
            let state = State::new(&mut m, self.acc.width(), clk, rst)?;
            let keep = m.not(clear)?;
            let zero = m.zero(self.acc.width())?;
            let base = m.mux(clear, zero, state.acc)?;
            let r = float::add_formats(
                &mut m,
                "qacc",
                (&self.acc, base),
                (&self.product, q.bits),
                &self.acc,
                self.rounding,
            )?;
            let new_uf = m.or(q.underflow, r.underflow)?;
            let new_of = m.or(q.overflow, r.overflow)?;
            state.update(&mut m, keep, r.bits, new_uf, new_of, valid)?;
            let out_valid = m.register("out_valid_q", valid, clk, Some(rst), None)?;
            (state.acc, state.uf, state.of, out_valid)
        } else {
            chunked(&mut m, self, clk, rst, valid, clear, q)?
        };
        m.drive_output("acc", acc)?;
        m.drive_output("uf", uf)?;
        m.drive_output("of", of)?;
        m.drive_output("out_valid", out_valid)?;
        m.finish()
    }

    fn golden(&self) -> Option<Result<crate::golden::GoldenModule>> {
        Some(crate::golden::fpacc::golden(self))
    }
}

/// The accumulator and its sticky flags, reset to zero.
struct State {
    acc: Sig,
    uf: Sig,
    of: Sig,
}

impl State {
    fn new(m: &mut ModuleBuilder, width: u32, clk: Sig, rst: Sig) -> Result<State> {
        Ok(State {
            acc: m.reg("acc_q", width, clk, Some((rst, 0)))?,
            uf: m.reg("uf_q", 1, clk, Some((rst, 0)))?,
            of: m.reg("of_q", 1, clk, Some((rst, 0)))?,
        })
    }

    /// On `enable`: `acc <= next`, each flag `<= (keep & flag) | new`.
    fn update(
        &self,
        m: &mut ModuleBuilder,
        keep: Sig,
        next: Sig,
        new_uf: Sig,
        new_of: Sig,
        enable: Sig,
    ) -> Result<()> {
        let old_uf = m.and(self.uf, keep)?;
        let uf = m.or(old_uf, new_uf)?;
        let old_of = m.and(self.of, keep)?;
        let of = m.or(old_of, new_of)?;
        m.drive_reg(self.acc, next, Some(enable))?;
        m.drive_reg(self.uf, uf, Some(enable))?;
        m.drive_reg(self.of, of, Some(enable))
    }
}

/// The inner (per-chunk) and outer accumulators. Returns `(acc, uf, of, out_valid)`.
fn chunked(
    m: &mut ModuleBuilder,
    p: &FpaccParams,
    clk: Sig,
    rst: Sig,
    valid: Sig,
    clear: Sig,
    q: FloatSig,
) -> Result<(Sig, Sig, Sig, Sig)> {
    let f: &FloatFormat = &p.acc;
    let w = f.width();
    m.note(format!(
        "Stage 3: the inner accumulator, restarting every {} beats and on clear.",
        p.chunk
    ));
    let zero = m.zero(w)?;
    let (base, done, inner) = if p.chunk == 1 {
        let one = m.lit(1, 1)?;
        (zero, one, None)
    } else {
        let cw = 32 - (p.chunk - 1).leading_zeros();
        let count = m.reg("chunk_pos_q", cw, clk, Some((rst, 0)))?;
        let first = m.zero(cw)?;
        let pos = m.mux(clear, first, count)?;
        let last = m.lit(cw, i128::from(p.chunk - 1))?;
        let done = m.eq(pos, last)?;
        let one = m.lit(cw, 1)?;
        let after = m.add(pos, one)?;
        let next = m.mux(done, first, after)?;
        m.drive_reg(count, next, Some(valid))?;
        let starts = m.eq(pos, first)?;
        let inner = m.reg("inner_q", w, clk, None)?;
        let base = m.mux(starts, zero, inner)?;
        (base, done, Some(inner))
    };
    let r = float::add_formats(m, "inner", (f, base), (&p.product, q.bits), f, p.rounding)?;
    let r_bits = m.name(r.bits, "inner_sum")?;
    if let Some(inner) = inner {
        m.drive_reg(inner, r_bits, Some(valid))?;
    }
    let new_uf = m.or(q.underflow, r.underflow)?;
    let new_of = m.or(q.overflow, r.overflow)?;
    let valid_c = m.register("chunk_valid_q", valid, clk, Some(rst), None)?;
    let clear_c = m.register("chunk_clear_q", clear, clk, None, None)?;
    let done_c = m.register("chunk_done_q", done, clk, None, None)?;
    let sum_c = m.register("chunk_sum_q", r_bits, clk, None, None)?;
    let uf_c = m.register("chunk_uf_q", new_uf, clk, None, None)?;
    let of_c = m.register("chunk_of_q", new_of, clk, None, None)?;

    m.note("Stage 4: a completed chunk added into the outer accumulator.");
    let state = State::new(m, w, clk, rst)?;
    let keep = m.not(clear_c)?;
    let base = m.mux(clear_c, zero, state.acc)?;
    let r = float::add_formats(m, "outer", (f, base), (f, sum_c), f, p.rounding)?;
    let next = m.mux(done_c, r.bits, base)?;
    let outer_uf = m.and(done_c, r.underflow)?;
    let outer_of = m.and(done_c, r.overflow)?;
    let new_uf = m.or(uf_c, outer_uf)?;
    let new_of = m.or(of_c, outer_of)?;
    state.update(m, keep, next, new_uf, new_of, valid_c)?;
    let out_valid = m.register("out_valid_q", valid_c, clk, Some(rst), None)?;
    Ok((state.acc, state.uf, state.of, out_valid))
}

fn describe(m: &mut ModuleBuilder, p: &FpaccParams) {
    let fmt = |f: &FloatFormat| {
        format!(
            "E{}M{} bias {}{}",
            f.exp_bits,
            f.man_bits,
            f.bias,
            if f.reserve_top_exponent {
                " (top exponent reserved)"
            } else {
                ""
            }
        )
    };
    let operand = match &p.operand {
        Operand::Int { bits, frac: 0 } => format!("signed {bits}-bit integers"),
        Operand::Int { bits, frac } => {
            format!("signed {bits}-bit fixed point, {frac} fraction bits")
        }
        Operand::Float { format } => format!("floats {}", fmt(format)),
    };
    m.comment(format!(
        "Floating-point accumulator: acc <= Q_acc(Q_prod(a*b) + acc) (SPEC.md section 2); operands {operand},"
    ));
    m.comment(format!(
        "products in {}, accumulator {}, {}; no subnormals (flush, sticky uf),",
        fmt(&p.product),
        fmt(&p.acc),
        match p.rounding {
            model::float::Rounding::Rne => "RNE",
            model::float::Rounding::Rz => "RZ",
        }
    ));
    m.comment("saturation at the largest finite value (sticky of); clear starts a new sum.");
    if p.chunk > 0 {
        m.comment(format!(
            "Chunks of {}: an inner sum from zero per chunk, added into acc when complete.",
            p.chunk
        ));
    }
    m.comment(format!(
        "Latency: {} cycle(s) from in_valid to out_valid; pipeline depth {}.",
        p.latency(),
        p.pipeline
    ));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verilog::module_verilog;
    use model::fpacc::Preset;

    #[test]
    fn builds_presets_chunks_and_pipelines() {
        for (preset, chunk, pipeline) in [
            (Preset::Acc12, 0, 0),
            (Preset::Acc12, 1, 0),
            (Preset::Bf16, 16, 1),
            (Preset::Fp32, 3, 2),
        ] {
            let p = FpaccParams {
                acc: preset.format(),
                product: preset.format(),
                chunk,
                pipeline,
                ..FpaccParams::default()
            };
            let module = p.rtl().unwrap_or_else(|e| panic!("{p:?}: {e}"));
            assert!(module_verilog(&module).contains("acc_q"));
        }
    }
}
