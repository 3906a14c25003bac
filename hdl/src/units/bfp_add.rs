//! RTL of the shared-exponent block adder `bfp_add` (docs/bfp.md; the model is
//! `model::bfp::add`).
//!
//! Stages:
//! 1. order: the block with the larger exponent is `big`, the other `small`, `d` the
//!    exponent difference;
//! 2. align: each `small` mantissa shifted right by `d` with the chosen rounding (RNE and
//!    RZ on the magnitude, SR as a floor after adding the random bits);
//! 3. add: exact `m+1`-bit sums;
//! 4. renormalise: if any sum leaves the symmetric m-bit range (and the exponent can
//!    grow), every sum is shifted right once with rounding and the exponent goes up by one;
//!    then each is clamped to `[-(2^(m-1)-1), 2^(m-1)-1]`;
//! 5. outputs: `e`, `q` loaded on a valid beat, `out_valid` one cycle later.

use model::bfp::{BfpAddParams, BfpRounding};
use model::int;

use crate::ir::{cat, lit, mux, ExprOps, ModuleBuilder, Result, Sig, Val};
use crate::{start_unit, Generate, Module, UnitParams};

impl Generate for BfpAddParams {
    fn rtl(&self) -> Result<Module> {
        let (mut m, io) = start_unit(self)?;
        describe(&mut m, self);
        let (clk, rst, valid) = (io["clk"], io["rst"], io["in_valid"]);
        let (mb, n, w) = (self.mant_bits, self.block, self.exp_bits);

        m.note("Stage 1: order the blocks by exponent.");
        let (ea, eb) = (io["ea"].s(), io["eb"].s());
        let a_smaller = m.wire("a_smaller", ea.less(eb))?;
        let big_e = m.wire("big_exp", mux(a_smaller, eb, ea))?;
        let small_e = m.val(mux(a_smaller, ea, eb))?;
        let big_q = m.val(mux(a_smaller, io["qb"], io["qa"]))?;
        let small_q = m.val(mux(a_smaller, io["qa"], io["qb"]))?;
        // 0 ..= 2^w - 1, unsigned.
        let d = m.wire(
            "distance",
            (big_e - small_e).wrapping(w).reinterpret_unsigned(),
        )?;

        m.note("Stage 2 and 3: align the smaller block and add exactly.");
        let r = self.rnd_bits;
        let rnd = |m: &mut ModuleBuilder, i: u32, half: u32| -> Result<Option<Sig>> {
            if self.rounding != BfpRounding::Sr {
                return Ok(None);
            }
            let lo = 2 * r * i + r * half;
            Ok(Some(m.slice(io["rnd"], lo + r - 1, lo)?))
        };
        let element = |q: Val, i: u32| q.bits(mb * i + mb - 1, mb * i).reinterpret_signed();
        let mut sums = Vec::new();
        for i in 0..n {
            let y = m.val(element(small_q, i))?;
            let ry = rnd(&mut m, i, 0)?;
            let y = shift_round(&mut m, self, &format!("align_{i}"), y, d.sig, ry)?;
            sums.push(m.wire(&format!("sum_{i}"), element(big_q, i) + y)?);
        }

        m.note("Stage 4: renormalise once if a sum overflows, then clamp.");
        let qmax = (1i128 << (mb - 1)) - 1;
        let overflows = cat(sums.iter().map(|s| s.greater(qmax) | s.less(-qmax)));
        let room = big_e.unequal(int::max_value(w, true));
        let renorm = m.wire("renormalise", overflows.any() & room)?;
        let one = m.lit(1, 1)?;
        let mut qs = Vec::new();
        for (i, s) in sums.iter().enumerate() {
            let rs = rnd(&mut m, i as u32, 1)?;
            let halved = shift_round(&mut m, self, &format!("halve_{i}"), *s, one, rs)?;
            let v = m.val(mux(renorm, halved, *s))?;
            qs.push(m.clamp(&format!("q_{i}"), v, -qmax, qmax)?);
        }
        qs.reverse(); // element 0 in the low bits
        let q = m.val(cat(qs))?;
        let e = m.val(mux(renorm, (big_e + 1).wrapping(w), big_e))?;

        m.note("Stage 5: output registers.");
        super::registered_outputs(&mut m, [("e", e.sig), ("q", q.sig)], valid, clk, rst)?;
        m.finish()
    }
}

/// The behavioural reference: `crate::golden::bfp_add`.
impl crate::Reference for BfpAddParams {
    fn golden(&self) -> Result<crate::golden::GoldenModule> {
        crate::golden::bfp_add::golden(self)
    }
}

fn describe(m: &mut ModuleBuilder, p: &BfpAddParams) {
    let rounding = match p.rounding {
        BfpRounding::Rne => "RNE".to_string(),
        BfpRounding::Rz => "RZ".to_string(),
        BfpRounding::Sr => format!("SR with 2x{} random bits per element", p.rnd_bits),
    };
    m.comment(format!(
        "HBFP{m} block adder: two blocks of {n} {m}-bit mantissas with {w}-bit shared exponents,",
        m = p.mant_bits,
        n = p.block,
        w = p.exp_bits
    ));
    m.comment(format!(
        "{rounding} (docs/bfp.md). Align the smaller-exponent block, add exactly,"
    ));
    m.comment("renormalise once if a sum leaves the m-bit range, clamp symmetric.");
    m.comment(format!(
        "Latency: {} cycle from in_valid to out_valid.",
        p.latency()
    ));
}

/// `v / 2^d` rounded as `model::bfp::shift_round` does, for a two's-complement `v`;
/// `tag` prefixes the names of its wires.
fn shift_round(
    m: &mut ModuleBuilder,
    p: &BfpAddParams,
    tag: &str,
    v: Val,
    d: Sig,
    rnd: Option<Sig>,
) -> Result<Val> {
    let width = v.width();
    if let (BfpRounding::Sr, Some(rnd)) = (p.rounding, rnd) {
        // floor(v * 2^(R - d)), plus rnd, floored by 2^R: the carry out of the fraction.
        let r = p.rnd_bits;
        let scaled = m.val(v << r)?;
        let shifted = m.shift_right(scaled, d)?;
        let whole = shifted.bits(width + r - 1, r).reinterpret_signed();
        let carry = (!shifted.bits(r - 1, 0)).less(rnd);
        return m.wire(tag, (whole + carry).wrapping(width));
    }
    let (magnitude, negative) = m.abs(&format!("{tag}_magnitude"), v)?;
    let rounded = if p.rounding == BfpRounding::Rz {
        m.shift_right(magnitude, d)?
    } else {
        // One guard bit below the magnitude; sticky from every dropped bit.
        let t = m.val(magnitude << 1)?;
        let shifted = m.shift_right(t, d)?;
        let ones = m.val(lit((1i128 << (width + 1)) - 1, width + 1, false))?;
        let kept_mask = m.shift_left(ones, d)?;
        let sticky = (t & !kept_mask).any(); // bits below the guard
        let up = shifted.bit(0) & (sticky | shifted.bit(1));
        m.val((shifted.bits(width, 1) + up).wrapping(width))?
    };
    let rounded = rounded.sig.s();
    m.wire(tag, mux(negative, (-rounded).wrapping(width), rounded))
}
