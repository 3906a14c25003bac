//! RTL of the integer MAC (SPEC.md section 1; the model is `model::mac`).
//!
//! Stages, each a few named wires:
//! 1. operands: optionally registered (`pipeline >= 1`) with `in_valid` and `clear`;
//! 2. product: the exact `2N`-bit product, optionally registered (`pipeline = 2`);
//! 3. sum: `base = clear ? 0 : acc`, extended with the product to one bit more than the
//!    wider of the two, and added exactly;
//! 4. range: the sum fits the accumulator when its bits from `A-1` (signed) or `A`
//!    (unsigned) upwards are all copies of the sign (or all zero);
//! 5. policy: wrap keeps the low `A` bits; saturate picks the limit on the sum's side;
//! 6. state: `acc`, the sticky `ovf` and `out_valid`, loaded on a valid beat.
//!
//! Stages 3 to 6 are [`accumulator`], shared with `lns_mac`.

use model::mac::{MacParams, Overflow};

use crate::ir::{ModuleBuilder, Result, Sig};
use crate::{start_unit, Generate, Module, UnitParams};

/// Operands and control of the beat that reaches the product stage.
struct Beat {
    valid: Sig,
    clear: Sig,
    a: Sig,
    b: Sig,
}

impl Generate for MacParams {
    fn rtl(&self) -> Result<Module> {
        let (mut m, io) = start_unit(self)?;
        describe(&mut m, self);
        let (clk, rst) = (io["clk"], io["rst"]);

        m.note("Stage 1: operands (registered when pipeline >= 1).");
        let mut beat = Beat {
            valid: io["in_valid"],
            clear: io["clear"],
            a: io["a"],
            b: io["b"],
        };
        if self.pipeline >= 1 {
            beat = Beat {
                valid: m.register("valid_1", beat.valid, clk, Some(rst), None)?,
                clear: m.register("clear_1", beat.clear, clk, None, None)?,
                a: m.register("a_1", beat.a, clk, None, None)?,
                b: m.register("b_1", beat.b, clk, None, None)?,
            };
        }
        m.note("Stage 2: exact product (registered when pipeline = 2).");
        let prod = m.mul(beat.a, beat.b, self.signed)?;
        let mut prod = m.name(prod, "prod")?;
        let (mut valid, mut clear) = (beat.valid, beat.clear);
        if self.pipeline >= 2 {
            valid = m.register("valid_2", valid, clk, Some(rst), None)?;
            clear = m.register("clear_2", clear, clk, None, None)?;
            prod = m.register("prod_2", prod, clk, None, None)?;
        }

        let (acc, ovf, out_valid) = accumulator(
            &mut m,
            Accumulator {
                clk,
                rst,
                valid,
                clear,
                term: prod,
                acc_bits: self.acc_bits,
                signed: self.signed,
                overflow: self.overflow,
            },
        )?;

        m.drive_output("acc", acc)?;
        m.drive_output("ovf", ovf)?;
        m.drive_output("out_valid", out_valid)?;
        m.finish()
    }

    fn golden(&self) -> Option<Result<crate::golden::GoldenModule>> {
        Some(crate::golden::mac::golden(self))
    }
}

fn describe(m: &mut ModuleBuilder, p: &MacParams) {
    let kind = if p.signed { "signed" } else { "unsigned" };
    let policy = match p.overflow {
        Overflow::Saturate => "saturating",
        Overflow::Wrap => "wrapping",
    };
    m.comment(format!(
        "{n}x{n} {kind} multiply-accumulate, {a}-bit {policy} accumulator (SPEC.md section 1).",
        n = p.in_bits,
        a = p.acc_bits
    ));
    m.comment("Per valid beat: s = (clear ? 0 : acc) + a*b exactly; acc <= policy(s);");
    m.comment("ovf <= (clear ? 0 : ovf) | (s outside the accumulator range).");
    m.comment(format!(
        "Latency: {} cycle(s) from in_valid to out_valid; pipeline depth {}.",
        p.latency(),
        p.pipeline
    ));
}

/// `(clear ? 0 : acc) + prod`, exact.
/// The accumulator stage shared by the integer accumulators (`mac`, `lns_mac`), the RTL
/// of `model::mac::accumulate`.
pub(crate) struct Accumulator {
    pub clk: Sig,
    pub rst: Sig,
    pub valid: Sig,
    pub clear: Sig,
    /// The exact addend (product or term), two's complement if `signed`.
    pub term: Sig,
    pub acc_bits: u32,
    pub signed: bool,
    pub overflow: Overflow,
}

/// Accumulator and sticky flag registers, loaded on valid beats, and `out_valid` one
/// cycle later. Returns `(acc, ovf, out_valid)`.
pub(crate) fn accumulator(m: &mut ModuleBuilder, a: Accumulator) -> Result<(Sig, Sig, Sig)> {
    m.note("Accumulator: state.");
    let acc = m.reg("acc_q", a.acc_bits, a.clk, Some((a.rst, 0)))?;
    let ovf = m.reg("ovf_q", 1, a.clk, Some((a.rst, 0)))?;
    let sum = exact_sum(m, &a, acc)?;
    let (next, in_range) = apply_policy(m, &a, sum)?;
    m.drive_reg(acc, next, Some(a.valid))?;

    m.note("Accumulator: sticky overflow flag and out_valid.");
    let kept = m.not(a.clear)?;
    let kept = m.and(ovf, kept)?;
    let out_of_range = m.not(in_range)?;
    let ovf_next = m.or(kept, out_of_range)?;
    let ovf_next = m.name(ovf_next, "ovf_next")?;
    m.drive_reg(ovf, ovf_next, Some(a.valid))?;
    let out_valid = m.register("out_valid_q", a.valid, a.clk, Some(a.rst), None)?;
    Ok((acc, ovf, out_valid))
}

/// Width of the exact sum `base + term`: one bit more than the wider addend.
fn sum_bits(a: &Accumulator) -> u32 {
    a.acc_bits.max(a.term.width()) + 1
}

fn exact_sum(m: &mut ModuleBuilder, a: &Accumulator, acc: Sig) -> Result<Sig> {
    m.note("Accumulator: exact sum (clear ? 0 : acc) + term, one bit wider than either addend.");
    let zero = m.zero(a.acc_bits)?;
    let base = m.mux(a.clear, zero, acc)?;
    let base = m.name(base, "base")?;
    let w = sum_bits(a);
    let base_x = m.ext(base, w, a.signed)?;
    let base_x = m.name(base_x, "base_x")?;
    let term_x = m.ext(a.term, w, a.signed)?;
    let term_x = m.name(term_x, "term_x")?;
    let sum = m.add(base_x, term_x)?;
    m.name(sum, "sum")
}

fn apply_policy(m: &mut ModuleBuilder, p: &Accumulator, sum: Sig) -> Result<(Sig, Sig)> {
    let (w, a) = (sum_bits(p), p.acc_bits);
    m.note("Accumulator: range check and overflow policy.");
    let in_range = if p.signed {
        // In range iff bits [w-1 : a-1] are all ones or all zeros.
        let top = m.slice(sum, w - 1, a - 1)?;
        let top = m.name(top, "sum_top")?;
        let all_ones = m.reduce_and(top)?;
        let any_one = m.reduce_or(top)?;
        let all_zeros = m.not(any_one)?;
        m.or(all_ones, all_zeros)?
    } else {
        let top = m.slice(sum, w - 1, a)?;
        let top = m.name(top, "sum_top")?;
        let any_one = m.reduce_or(top)?;
        m.not(any_one)?
    };
    let in_range = m.name(in_range, "in_range")?;
    let low = m.slice(sum, a - 1, 0)?;
    let low = m.name(low, "sum_low")?;
    let next = match p.overflow {
        Overflow::Wrap => low,
        Overflow::Saturate => {
            let limit = if p.signed {
                let max = m.lit(a, model::int::max_value(a, true))?;
                let min = m.lit(a, model::int::min_value(a, true))?;
                let negative = m.msb(sum)?;
                let negative = m.name(negative, "sum_negative")?;
                m.mux(negative, min, max)?
            } else {
                m.lit(a, model::int::max_value(a, false))?
            };
            let limit = m.name(limit, "limit")?;
            m.mux(in_range, low, limit)?
        }
    };
    Ok((m.name(next, "acc_next")?, in_range))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::module_verilog;

    #[test]
    fn default_mac_verilog_reads_well() {
        let v = module_verilog(&MacParams::default().rtl().unwrap());
        assert!(v.contains("module mac_s8x8_acc12_sat ("), "{v}");
        assert!(
            v.contains("wire [15:0] prod = $signed(a) * $signed(b);"),
            "{v}"
        );
        assert!(v.contains("wire [16:0] sum = base_x + term_x;"), "{v}");
        assert!(
            v.contains("\n    // Accumulator: exact sum"),
            "stage notes: {v}"
        );
        assert!(v.contains("wire [16:0] term_x = {prod[15], prod};"), "{v}");
        assert!(
            v.contains("wire [11:0] limit = sum_negative ? 12'h800 : 12'h7ff;"),
            "{v}"
        );
        assert!(
            !v.contains("'d") && !v.contains("'sd"),
            "hex literals only: {v}"
        );
    }

    #[test]
    fn every_parameter_set_builds() {
        for n in [2, 3, 8, 16, 32] {
            for a in [2, 3, 12, 31, 64] {
                for signed in [false, true] {
                    for overflow in [Overflow::Saturate, Overflow::Wrap] {
                        for pipeline in 0..=2 {
                            let p = MacParams {
                                in_bits: n,
                                acc_bits: a,
                                signed,
                                overflow,
                                pipeline,
                            };
                            p.rtl().unwrap_or_else(|e| panic!("{p:?}: {e}"));
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn bad_parameters_are_rejected() {
        let p = MacParams {
            acc_bits: 65,
            ..MacParams::default()
        };
        let e = p.rtl().unwrap_err();
        assert!(e.message.contains("'--acc'"), "{e}");
    }
}
