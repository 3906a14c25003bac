//! RTL of the shared-exponent block adder `bfp_add` (SPEC.md section 3; the model is
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

use crate::ir::{ModuleBuilder, Result, Sig};
use crate::{start_unit, Generate, Module, UnitParams};

impl Generate for BfpAddParams {
    fn rtl(&self) -> Result<Module> {
        let (mut m, io) = start_unit(self)?;
        describe(&mut m, self);
        let (clk, rst, valid) = (io["clk"], io["rst"], io["in_valid"]);
        let (mb, n, w) = (self.mant_bits, self.block, self.exp_bits);

        m.note("Stage 1: order the blocks by exponent.");
        let a_smaller = m.lt(io["ea"], io["eb"], true)?;
        let big_e = m.mux(a_smaller, io["eb"], io["ea"])?;
        let big_e = m.name(big_e, "big_exp")?;
        let small_e = m.mux(a_smaller, io["ea"], io["eb"])?;
        let big_q = m.mux(a_smaller, io["qb"], io["qa"])?;
        let small_q = m.mux(a_smaller, io["qa"], io["qb"])?;
        let d = m.sub(big_e, small_e)?; // 0 ..= 2^w - 1, unsigned
        let d = m.name(d, "distance")?;

        m.note("Stage 2 and 3: align the smaller block and add exactly.");
        let r = self.rnd_bits;
        let rnd = |m: &mut ModuleBuilder, i: u32, half: u32| -> Result<Option<Sig>> {
            if self.rounding != BfpRounding::Sr {
                return Ok(None);
            }
            let lo = 2 * r * i + r * half;
            Ok(Some(m.slice(io["rnd"], lo + r - 1, lo)?))
        };
        let mut sums = Vec::new();
        for i in 0..n {
            let x = m.slice(big_q, mb * i + mb - 1, mb * i)?;
            let y = m.slice(small_q, mb * i + mb - 1, mb * i)?;
            let ry = rnd(&mut m, i, 0)?;
            let y = shift_round(&mut m, self, y, d, ry)?;
            sums.push(m.add_exact(x, y, true)?);
        }

        m.note("Stage 4: renormalise once if a sum overflows, then clamp.");
        let qmax = (1i128 << (mb - 1)) - 1;
        let hi = m.lit(mb + 1, qmax)?;
        let lo = m.lit(mb + 1, -qmax)?;
        let overflows = sums
            .iter()
            .map(|s| {
                let above = m.lt(hi, *s, true)?;
                let below = m.lt(*s, lo, true)?;
                m.or(above, below)
            })
            .collect::<Result<Vec<_>>>()?;
        let overflows = m.concat(&overflows)?;
        let any = m.reduce_or(overflows)?;
        let e_max = m.lit(w, int::max_value(w, true))?;
        let at_max = m.eq(big_e, e_max)?;
        let room = m.not(at_max)?;
        let renorm = m.and(any, room)?;
        let renorm = m.name(renorm, "renormalise")?;
        let one = m.lit(1, 1)?;
        let mut qs = Vec::new();
        for (i, s) in sums.iter().enumerate() {
            let rs = rnd(&mut m, i as u32, 1)?;
            let halved = shift_round(&mut m, self, *s, one, rs)?;
            let v = m.mux(renorm, halved, *s)?;
            let too_big = m.lt(hi, v, true)?;
            let too_small = m.lt(v, lo, true)?;
            let v = m.mux(too_big, hi, v)?;
            let v = m.mux(too_small, lo, v)?;
            // Clamped into the symmetric m-bit range: the top bit is a sign copy.
            qs.push(m.slice(v, mb - 1, 0)?);
            let top = m.bit(v, mb)?;
            m.discard(top, &format!("sign_copy_{i}"))?;
        }
        qs.reverse(); // element 0 in the low bits
        let q = m.concat(&qs)?;
        let one_w = m.lit(w, 1)?;
        let bumped = m.add(big_e, one_w)?;
        let e = m.mux(renorm, bumped, big_e)?;

        m.note("Stage 5: output registers.");
        let e_q = m.register("e_q", e, clk, Some(rst), Some(valid))?;
        let q_q = m.register("q_q", q, clk, Some(rst), Some(valid))?;
        let out_valid = m.register("out_valid_q", valid, clk, Some(rst), None)?;
        m.drive_output("e", e_q)?;
        m.drive_output("q", q_q)?;
        m.drive_output("out_valid", out_valid)?;
        m.finish()
    }

    fn golden(&self) -> Option<Result<crate::golden::GoldenModule>> {
        Some(crate::golden::bfp_add::golden(self))
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
        "{rounding} (SPEC.md section 3). Align the smaller-exponent block, add exactly,"
    ));
    m.comment("renormalise once if a sum leaves the m-bit range, clamp symmetric.");
    m.comment(format!(
        "Latency: {} cycle from in_valid to out_valid.",
        p.latency()
    ));
}

/// `v / 2^d` rounded as `model::bfp::shift_round` does, for a two's-complement `v`.
fn shift_round(
    m: &mut ModuleBuilder,
    p: &BfpAddParams,
    v: Sig,
    d: Sig,
    rnd: Option<Sig>,
) -> Result<Sig> {
    let width = v.width();
    match (p.rounding, rnd) {
        (BfpRounding::Sr, Some(rnd)) => {
            // floor(v * 2^(R - d)), plus rnd, floored by 2^R: the carry out of the fraction.
            let r = p.rnd_bits;
            let zeros = m.zero(r)?;
            let scaled = m.concat(&[v, zeros])?;
            let shifted = m.ashr(scaled, d)?;
            let fraction = m.slice(shifted, r - 1, 0)?;
            let whole = m.slice(shifted, width + r - 1, r)?;
            let room = m.not(fraction)?;
            let carry = m.lt(room, rnd, false)?;
            let carry = m.zext(carry, width)?;
            m.add(whole, carry)
        }
        _ => {
            let negative = m.msb(v)?;
            let zero = m.zero(width)?;
            let negated = m.sub(zero, v)?;
            let magnitude = m.mux(negative, negated, v)?; // |v| <= 2^(width-1) fits unsigned
            let rounded = match p.rounding {
                BfpRounding::Rz => m.shr(magnitude, d)?,
                _ => {
                    // One guard bit below the magnitude; sticky from every dropped bit.
                    let zero_bit = m.zero(1)?;
                    let t = m.concat(&[magnitude, zero_bit])?;
                    let shifted = m.shr(t, d)?;
                    let ones = m.lit(width + 1, (1i128 << (width + 1)) - 1)?;
                    let kept_mask = m.shl(ones, d)?;
                    let dropped_mask = m.not(kept_mask)?;
                    let dropped = m.and(t, dropped_mask)?;
                    let sticky = m.reduce_or(dropped)?; // bits below the guard
                    let guard = m.bit(shifted, 0)?;
                    let kept = m.slice(shifted, width, 1)?;
                    let odd = m.bit(kept, 0)?;
                    let tie_or_more = m.or(sticky, odd)?;
                    let up = m.and(guard, tie_or_more)?;
                    let up = m.zext(up, width)?;
                    m.add(kept, up)?
                }
            };
            let back = m.sub(zero, rounded)?;
            m.mux(negative, back, rounded)
        }
    }
}
