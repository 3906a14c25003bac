//! RTL of the floating-point accumulator `fpacc` (docs/fpacc.md; the model is
//! `model::fpacc`).
//!
//! Stages:
//! 1. exact product: integers multiply into `2N` bits (`NA + NB` for mixed operands,
//!    each of its own signedness) at the constant exponent `-2F`;
//!    small floats multiply their significands and add their exponents;
//! 2. `Q_prod`: normalise and round into the product format, flush or saturate with
//!    flags (`crate::float::from_sign_magnitude`);
//! 3. `Q_acc`: `(clear ? 0 : acc) + product` rounded into the accumulator format
//!    (`crate::float::add_formats`), sticky `uf`/`of`, `out_valid`;
//!    with chunks, this sum is the inner accumulator (restarting every n beats and on
//!    `clear`), registered with its flags and a `done` bit; one cycle later a second
//!    adder adds a completed chunk into `acc`.
//!
//! Stages 1 and 2 depend on the beat alone: `--pipeline` cuts them (`crate::pipeline`),
//! so the loop holds only the accumulation.

use model::float::FloatFormat;
use model::fpacc::{FpaccParams, IntOperand, Operand};

use crate::float::{self, signed_bits, FloatSig, Unpacked};
use crate::ir::{lit, mux, Expr, ExprOps, ModuleBuilder, Result, Sig, Stage, Val};
use crate::{start_unit, Generate, Module, UnitParams};

/// The exact product `(-1)^neg * magnitude * 2^exp` as a stage: fields `prod_neg`,
/// `prod_magnitude` (unsigned) and `prod_exp` (signed), with `valid` and `clear`.
fn exact_product(
    m: &mut ModuleBuilder,
    p: &FpaccParams,
    beat: Stage,
    a: Sig,
    b: Sig,
) -> Result<Stage> {
    let (neg, magnitude, exp) = match &p.operand {
        Operand::Int { frac, .. } => {
            let (oa, ob) = p.operand.ints().expect("integer operands");
            let prod = if !p.operand.is_mixed() {
                m.val(a.s() * b.s())? // 2N bits, exact: |a*b| <= 2^(2N-2) fits.
            } else if oa.signed == ob.signed {
                // NA + NB bits of the operands' common signedness, exact.
                let typed = |s: Sig| Val {
                    sig: s,
                    signed: oa.signed,
                };
                m.val(typed(a) * typed(b))?
            } else {
                // Signed by unsigned: the typed layer zero-extends the unsigned operand by
                // a bit, so the product has NA + NB + 1 bits; NA + NB hold every value
                // (model::fpacc::Operand::int_product_bits), the top bit copies the sign.
                let typed = |s: Sig, o: IntOperand| Val {
                    sig: s,
                    signed: o.signed,
                };
                let full = m.wire("prod_full", typed(a, oa) * typed(b, ob))?;
                let bits = p.operand.int_product_bits().expect("integer operands");
                m.narrow("prod", full, bits)?
            };
            // An unsigned product is its own magnitude (neg a constant 0).
            let (magnitude, neg) = m.abs("prod_magnitude", prod)?;
            let e = -2 * i64::from(*frac);
            (
                neg,
                magnitude,
                m.val(lit(e.into(), signed_bits(e, 0), true))?,
            )
        }
        Operand::Float { format } => {
            let (sa, ea, ga) = float::unpack(m, format, a)?;
            let (sb, eb, gb) = float::unpack(m, format, b)?;
            // exp = (ea - bias - M) + (eb - bias - M); the magnitude is zero when either is.
            let offset = -2 * i64::from(format.bias + format.man_bits as i32);
            let neg = m.val(sa ^ sb)?.sig;
            let magnitude = m.wire("prod_magnitude", ga * gb)?;
            (neg, magnitude, m.val((ea + eb + offset).sint())?)
        }
    };
    Ok(beat
        .with("prod_neg", neg)
        .with("prod_magnitude", magnitude)
        .with("prod_exp", exp))
}

impl Generate for FpaccParams {
    fn rtl(&self) -> Result<Module> {
        let (mut m, io) = start_unit(self)?;
        describe(&mut m, self);
        let (clk, rst) = (io["clk"], io["rst"]);

        m.note("Stage 1: exact product.");
        let beat = Stage::new(io["in_valid"]).with("clear", io["clear"]);
        let x = exact_product(&mut m, self, beat, io["a"], io["b"])?;

        m.note("Stage 2: Q_prod, the product rounded into the product format.");
        let (neg, magnitude, exp) = (
            x.get("prod_neg"),
            x.get("prod_magnitude"),
            x.get("prod_exp"),
        );
        // Stochastic rounding: the product's field of rnd, rnd[R-1:0].
        let prod_round = match self.sr {
            Some(sr) => float::RoundBy::Sr(m.wire("rnd_prod", io["rnd"].bits(sr.bits - 1, 0))?.sig),
            None => self.rounding.into(),
        };
        let q = float::from_sign_magnitude(
            &mut m,
            "qprod",
            &self.product,
            neg.sig,
            magnitude.sig,
            exp.sig,
            prod_round,
        )?;
        let y = Stage::new(x.valid)
            .with("clear", x.get("clear"))
            .with("product", m.wire("product", q.bits.u())?)
            .with("product_uf", q.underflow)
            .with("product_of", q.overflow);
        let (valid, clear) = (y.valid, y.get("clear").sig);
        let q = FloatSig {
            bits: y.get("product").sig,
            underflow: y.get("product_uf").sig,
            overflow: y.get("product_of").sig,
        };

        let (acc, uf, of, out_valid) = if let Some(sr) = self.sr {
            m.note("Stage 3: Q_acc with stochastic rounding, rnd[2R-1:R].");
            let rnd_acc = m.wire("rnd_acc", io["rnd"].bits(2 * sr.bits - 1, sr.bits))?;
            let state = State::new(&mut m, self.acc.width(), clk, rst)?;
            let base = m.val(mux(clear, 0, state.acc))?;
            let r = float::add_sr(
                &mut m,
                "qacc",
                (&self.acc, base.sig),
                (&self.product, q.bits),
                &self.acc,
                rnd_acc.sig,
            )?;
            let new_uf = m.val(q.underflow | r.underflow)?;
            let new_of = m.val(q.overflow | r.overflow)?;
            state.update(&mut m, clear, r.bits, new_uf, new_of, valid)?;
            let out_valid = m.register("out_valid_q", valid, clk, Some(rst), None)?;
            (state.acc, state.uf, state.of, out_valid)
        } else if self.interleave > 1 {
            interleaved(&mut m, self, clk, rst, valid, clear, q)?
        } else if self.chunk == 0 {
            m.note("Stage 3: Q_acc, the product added into the accumulator, which is kept");
            m.note("apart (sign, field, mantissa, live) so the loop neither unpacks nor packs.");
            let f = &self.acc;
            let reg =
                |m: &mut ModuleBuilder, name: &str, w: u32| m.reg(name, w, clk, Some((rst, 0)));
            let state = Unpacked {
                sign: reg(&mut m, "acc_sign_q", 1)?,
                field: reg(&mut m, "acc_field_q", f.exp_bits)?,
                man: reg(&mut m, "acc_man_q", f.man_bits)?,
                live: reg(&mut m, "acc_live_q", 1)?,
            };
            let (uf, of) = (reg(&mut m, "uf_q", 1)?, reg(&mut m, "of_q", 1)?);
            // clear only kills the accumulator's live flag: the adder takes a dead
            // operand as zero whatever its fields.
            let live = m.wire("acc_base_live", state.live & !clear)?.sig;
            let r = float::add_unpacked(
                &mut m,
                "qacc",
                (f, Unpacked { live, ..state }),
                (&self.product, q.bits),
                f,
                self.rounding,
            )?;
            let next = r.value;
            m.next(state.sign, next.sign, Some(valid))?;
            m.next(state.field, next.field, Some(valid))?;
            m.next(state.man, next.man, Some(valid))?;
            m.next(state.live, next.live, Some(valid))?;
            m.next(uf, (uf & !clear) | q.underflow | r.underflow, Some(valid))?;
            m.next(of, (of & !clear) | q.overflow | r.overflow, Some(valid))?;
            let out_valid = m.register("out_valid_q", valid, clk, Some(rst), None)?;
            // The packed value takes the name the reference gives its accumulator
            // register, so `gen prove` pairs the two (docs/verification.md).
            let packed = float::pack(&mut m, state)?;
            (m.name(packed, "acc_q")?, uf, of, out_valid)
        } else {
            chunked(&mut m, self, clk, rst, valid, clear, q)?
        };
        super::accumulator_outputs(&mut m, [acc, uf, of, out_valid])?;
        m.finish()
    }
}

/// The behavioural reference: `crate::golden::fpacc`.
impl crate::Reference for FpaccParams {
    fn golden(&self) -> Result<crate::golden::GoldenModule> {
        crate::golden::fpacc::golden(self)
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

    /// On `enable`: `acc <= next`, each flag `<= (flag & !clear) | new`.
    fn update(
        &self,
        m: &mut ModuleBuilder,
        clear: Sig,
        next: impl Into<Expr>,
        new_uf: impl Into<Expr>,
        new_of: impl Into<Expr>,
        enable: Sig,
    ) -> Result<()> {
        m.next(self.acc, next, Some(enable))?;
        m.next(self.uf, (self.uf & !clear) | new_uf, Some(enable))?;
        m.next(self.of, (self.of & !clear) | new_of, Some(enable))
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
    let (base, done, inner) = if p.chunk == 1 {
        (m.zero(w)?, m.lit(1, 1)?, None)
    } else {
        let cw = 32 - (p.chunk - 1).leading_zeros();
        let count = m.reg("chunk_pos_q", cw, clk, Some((rst, 0)))?;
        let pos = m.val(mux(clear, 0, count))?;
        let done = m.wire("chunk_done", pos.equal(p.chunk - 1))?;
        m.next(count, mux(done, 0, (pos + 1).wrapping(cw)), Some(valid))?;
        let inner = m.reg("inner_q", w, clk, None)?;
        let base = m.val(mux(pos.equal(0), 0, inner))?;
        (base.sig, done.sig, Some(inner))
    };
    let r = float::add_formats(m, "inner", (f, base), (&p.product, q.bits), f, p.rounding)?;
    let r_bits = m.name(r.bits, "inner_sum")?;
    if let Some(inner) = inner {
        m.next(inner, r_bits, Some(valid))?;
    }
    let new_uf = m.val(q.underflow | r.underflow)?.sig;
    let new_of = m.val(q.overflow | r.overflow)?.sig;
    let valid_c = m.register("chunk_valid_q", valid, clk, Some(rst), None)?;
    let [clear_c, done_c, sum_c, uf_c, of_c] = m.registers(
        [
            ("chunk_clear_q", clear),
            ("chunk_done_q", done),
            ("chunk_sum_q", r_bits),
            ("chunk_uf_q", new_uf),
            ("chunk_of_q", new_of),
        ],
        clk,
        None,
        None,
    )?;

    m.note("Stage 4: a completed chunk added into the outer accumulator.");
    let state = State::new(m, w, clk, rst)?;
    let base = m.val(mux(clear_c, 0, state.acc))?;
    let r = float::add_formats(m, "outer", (f, base.sig), (f, sum_c), f, p.rounding)?;
    let next = mux(done_c, r.bits, base);
    let new_uf = uf_c | (done_c & r.underflow);
    let new_of = of_c | (done_c & r.overflow);
    state.update(m, clear_c, next, new_uf, new_of, valid_c)?;
    let out_valid = m.register("out_valid_q", valid_c, clk, Some(rst), None)?;
    Ok((state.acc, state.uf, state.of, out_valid))
}

/// `--interleave K`: the ring of K partial sums (the adder cut into K register stages,
/// its output fed back) and the read-out that combines the last K finished partial sums
/// by halves. Returns `(acc, uf, of, out_valid)`.
fn interleaved(
    m: &mut ModuleBuilder,
    p: &FpaccParams,
    clk: Sig,
    rst: Sig,
    valid: Sig,
    clear: Sig,
    q: FloatSig,
) -> Result<(Sig, Sig, Sig, Sig)> {
    let (k, f) = (p.interleave, &p.acc);
    let w = f.width();
    m.note(format!(
        "Stage 3: the ring. The adder takes {k} cycles and the {k} partial sums are what is in"
    ));
    m.note("flight in it: every cycle the finished sum ring_q goes back in with this cycle's");
    m.note("product (zero without a beat). A clear kills the sums entering in its cycle and");
    m.note(format!("the {} after it.", k - 1));
    let cw = 32 - (k - 1).leading_zeros();
    let left = m.reg("kill_left_q", cw, clk, Some((rst, 0)))?;
    let restart = m.val(valid & clear)?;
    let busy = m.val(left.any())?;
    m.next(
        left,
        mux(
            restart,
            i64::from(k - 1),
            mux(busy, (left - 1).wrapping(cw), 0),
        ),
        None,
    )?;
    let ring = m.reg("ring_q", w, clk, Some((rst, 0)))?;
    let base = m.wire("ring_base", mux(restart | busy, 0, ring))?;
    let product = m.wire("ring_product", mux(valid, q.bits, 0))?;
    let (puf, pof) = (m.val(valid & q.underflow)?, m.val(valid & q.overflow)?);
    let (product_format, rounding) = (p.product, p.rounding);
    let out = super::bfp_dot::staged(
        m,
        "ring",
        k - 1,
        (clk, rst),
        &[
            ("base", base.sig),
            ("product", product.sig),
            ("puf", puf.sig),
            ("pof", pof.sig),
            ("valid", valid),
            ("clear", restart.sig),
        ],
        |m, i| {
            let r = float::add_formats(
                m,
                "ring",
                (f, i["base"]),
                (&product_format, i["product"]),
                f,
                rounding,
            )?;
            let uf = m.val(i["puf"] | r.underflow)?.sig;
            let of = m.val(i["pof"] | r.overflow)?.sig;
            Ok(vec![
                ("sum", r.bits),
                ("uf", uf),
                ("of", of),
                ("valid", i["valid"]),
                ("clear", i["clear"]),
            ])
        },
    )?;
    m.next(ring, out["sum"], None)?;
    let [ring_uf, ring_of, ring_valid, ring_clear] = m.registers(
        [
            ("ring_uf_q", out["uf"]),
            ("ring_of_q", out["of"]),
            ("ring_valid_q", out["valid"]),
            ("ring_clear_q", out["clear"]),
        ],
        clk,
        Some(rst),
        None,
    )?;

    m.note("Sticky flags of every rounding since clear, as of the sum in ring_q.");
    let (uf, of) = (
        m.reg("uf_q", 1, clk, Some((rst, 0)))?,
        m.reg("of_q", 1, clk, Some((rst, 0)))?,
    );
    let uf_now = m.wire("uf_now", (uf & !ring_clear) | ring_uf)?;
    let of_now = m.wire("of_now", (of & !ring_clear) | ring_of)?;
    m.next(uf, uf_now, None)?;
    m.next(of, of_now, None)?;

    m.note(format!(
        "The window: the last {k} finished partial sums, the older ones zero after a clear."
    ));
    let mut window = vec![ring];
    for r in 1..k {
        let slot = m.reg(&format!("window{r}_q"), w, clk, Some((rst, 0)))?;
        let older = window[r as usize - 1];
        let d = if r == 1 {
            older
        } else {
            m.val(mux(ring_clear, 0, older))?.sig
        };
        m.next(slot, d, None)?;
        window.push(slot);
    }
    for s in window.iter_mut().skip(1) {
        *s = m.val(mux(ring_clear, 0, *s))?.sig;
    }

    m.note(format!(
        "Read-out: the window combined by halves (slots K/2 apart), cut into {} stages.",
        model::fpacc::interleave_readout_stages(k)
    ));
    let mut ins: Vec<(String, Sig)> = window
        .iter()
        .enumerate()
        .map(|(r, s)| (format!("p{r}"), *s))
        .collect();
    ins.extend([
        ("uf".to_string(), uf_now.sig),
        ("of".to_string(), of_now.sig),
        ("valid".to_string(), ring_valid),
    ]);
    let ins: Vec<(&str, Sig)> = ins.iter().map(|(n, s)| (n.as_str(), *s)).collect();
    let out = super::bfp_dot::staged(
        m,
        "readout",
        model::fpacc::interleave_readout_stages(k),
        (clk, rst),
        &ins,
        |m, i| {
            let mut v: Vec<(Sig, Sig, Sig)> = (0..k)
                .map(|r| (i[&format!("p{r}")], i["uf"], i["of"]))
                .collect();
            let mut level = 0;
            while v.len() > 1 {
                let half = v.len() / 2;
                let mut next = Vec::with_capacity(half);
                for j in 0..half {
                    let (a, b) = (v[j], v[j + half]);
                    let r = float::add_formats(
                        m,
                        &format!("fold{level}_{j}"),
                        (f, a.0),
                        (f, b.0),
                        f,
                        rounding,
                    )?;
                    let uf = m.val(a.1 | b.1 | r.underflow)?.sig;
                    let of = m.val(a.2 | b.2 | r.overflow)?.sig;
                    next.push((r.bits, uf, of));
                }
                v = next;
                level += 1;
            }
            Ok(vec![
                ("acc", v[0].0),
                ("uf", v[0].1),
                ("of", v[0].2),
                ("valid", i["valid"]),
            ])
        },
    )?;
    let [acc, uf_out, of_out, out_valid] = m.registers(
        [
            ("acc_q", out["acc"]),
            ("acc_uf_q", out["uf"]),
            ("acc_of_q", out["of"]),
            ("out_valid_q", out["valid"]),
        ],
        clk,
        Some(rst),
        None,
    )?;
    Ok((acc, uf_out, of_out, out_valid))
}

/// The operands as the header comment of `fpacc` and `fpacc-long` names them, float
/// formats written by `float`.
pub(crate) fn describe_operand(op: &Operand, float: impl Fn(&FloatFormat) -> String) -> String {
    let kind = |o: IntOperand| if o.signed { "signed" } else { "unsigned" };
    match op {
        Operand::Int { frac, .. } if op.is_mixed() => {
            let (a, b) = op.ints().expect("integer operands");
            format!(
                "a {} {}-bit, b {} {}-bit, {frac} fraction bits",
                kind(a),
                a.bits,
                kind(b),
                b.bits
            )
        }
        Operand::Int { bits, frac: 0, .. } => format!("signed {bits}-bit integers"),
        Operand::Int { bits, frac, .. } => {
            format!("signed {bits}-bit fixed point, {frac} fraction bits")
        }
        Operand::Float { format } => format!("floats {}", float(format)),
    }
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
    let operand = describe_operand(&p.operand, fmt);
    m.comment(format!(
        "Floating-point accumulator: acc <= Q_acc(Q_prod(a*b) + acc) (docs/fpacc.md); operands {operand},"
    ));
    m.comment(format!(
        "products in {}, accumulator {}, {}; no subnormals (flush, sticky uf),",
        fmt(&p.product),
        fmt(&p.acc),
        match p.sr {
            Some(sr) => format!(
                "stochastic rounding (rnd: {r} bits for the product, {r} for the sum)",
                r = sr.bits
            ),
            None => p.rounding.name().to_string(),
        }
    ));
    m.comment("saturation at the largest finite value (sticky of); clear starts a new sum.");
    if p.chunk > 0 {
        m.comment(format!(
            "Chunks of {}: an inner sum from zero per chunk, added into acc when complete.",
            p.chunk
        ));
    }
    if p.interleave > 1 {
        m.comment(format!(
            "Interleaved: {k} partial sums, the beat of cycle c into sum c mod {k}; acc shows them",
            k = p.interleave
        ));
        m.comment("combined by halves, each sum rounded (docs/fpacc.md).");
    }
    m.comment(format!(
        "Latency: {} cycle(s) from in_valid to out_valid.",
        p.latency()
    ));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verilog::module_verilog;
    use model::fpacc::Preset;

    #[test]
    fn builds_presets_and_chunks() {
        for (preset, chunk) in [
            (Preset::Acc12, 0),
            (Preset::Acc12, 1),
            (Preset::Bf16, 16),
            (Preset::Fp32, 3),
        ] {
            let p = FpaccParams {
                acc: preset.format(),
                product: preset.format(),
                chunk,
                ..FpaccParams::default()
            };
            let module = p.rtl().unwrap_or_else(|e| panic!("{p:?}: {e}"));
            // Without chunks the accumulator is kept apart; with them, packed.
            let state = if chunk == 0 { "acc_live_q" } else { "acc_q" };
            assert!(module_verilog(&module).contains(state));
        }
    }
}
