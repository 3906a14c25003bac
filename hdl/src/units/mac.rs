//! RTL of the integer MAC (docs/mac.md; the model is `model::mac`).
//!
//! Stages, each a few named wires:
//! 1. operands with `in_valid` and `clear` (`--pipeline` registers them and the product
//!    where the delay model says, `crate::pipeline`);
//! 2. product: the exact `2N`-bit product;
//! 3. sum: `base = clear ? 0 : acc`, extended with the product to one bit more than the
//!    wider of the two, and added exactly;
//! 4. range: the sum fits the accumulator when its bits from `A-1` (signed) or `A`
//!    (unsigned) upwards are all copies of the sign (or all zero);
//! 5. policy: wrap keeps the low `A` bits; saturate picks the limit on the sum's side;
//! 6. state: `acc`, the sticky `ovf` and `out_valid`, loaded on a valid beat.
//!
//! Stages 3 to 6 are [`accumulator`], shared with `lns_mac`.

use model::mac::{MacParams, Overflow};

use crate::ir::{mux, ModuleBuilder, Result, Sig, Stage, Val};
use crate::{start_unit, Generate, Module, UnitParams};

impl Generate for MacParams {
    fn rtl(&self) -> Result<Module> {
        let (mut m, io) = start_unit(self)?;
        describe(&mut m, self);
        let (clk, rst) = (io["clk"], io["rst"]);
        let (a, b) = (self.a(), self.b());
        let typed = |s: Sig, signed: bool| Val { sig: s, signed };

        m.note("Stages 1 and 2: the exact product.");
        let (x, y) = (typed(io["a"], a.signed), typed(io["b"], b.signed));
        let prod = if a.signed == b.signed {
            m.wire("prod", x * y)?
        } else {
            // Signed by unsigned: the typed layer zero-extends the unsigned operand by a
            // bit, so the product has NA + NB + 1 bits; NA + NB hold every value
            // (model::mac::MacParams::prod_bits), the top bit is a copy of the sign.
            let full = m.wire("prod_full", x * y)?;
            m.narrow("prod", full, self.prod_bits())?
        };
        let beat = Stage::new(io["in_valid"])
            .with("clear", io["clear"])
            .with("prod", prod);

        let (acc, ovf, out_valid) = accumulator(
            &mut m,
            Accumulator {
                clk,
                rst,
                valid: beat.valid,
                clear: beat.get("clear").sig,
                term: beat.get("prod"),
                acc_bits: self.acc_bits,
                overflow: self.overflow,
            },
        )?;
        m.outs([("acc", acc), ("ovf", ovf), ("out_valid", out_valid)])?;
        m.finish()
    }
}

/// The behavioural reference: `crate::golden::mac`.
impl crate::Reference for MacParams {
    fn golden(&self) -> Result<crate::golden::GoldenModule> {
        crate::golden::mac::golden(self)
    }
}

fn describe(m: &mut ModuleBuilder, p: &MacParams) {
    let kind = |signed: bool| if signed { "signed" } else { "unsigned" };
    let policy = match p.overflow {
        Overflow::Saturate => "saturating",
        Overflow::Wrap => "wrapping",
    };
    let (a, b) = (p.a(), p.b());
    let acc = p.acc_bits;
    m.comment(if a == b {
        format!(
            "{n}x{n} {} multiply-accumulate, {acc}-bit {policy} accumulator (docs/mac.md).",
            kind(a.signed),
            n = a.bits
        )
    } else {
        format!(
            "{}x{} multiply-accumulate ({} a, {} b), {acc}-bit {} {policy} accumulator \
             (docs/mac.md).",
            a.bits,
            b.bits,
            kind(a.signed),
            kind(b.signed),
            kind(p.acc_signed())
        )
    });
    m.comment("Per valid beat: s = (clear ? 0 : acc) + a*b exactly; acc <= policy(s);");
    m.comment("ovf <= (clear ? 0 : ovf) | (s outside the accumulator range).");
    m.comment(format!(
        "Latency: {} cycle(s) from in_valid to out_valid.",
        p.latency()
    ));
}

/// The accumulator stage shared by the integer accumulators (`mac`, `lns_mac`), the RTL
/// of `model::mac::accumulate`.
pub(crate) struct Accumulator {
    pub clk: Sig,
    pub rst: Sig,
    pub valid: Sig,
    pub clear: Sig,
    /// The exact addend (product or term); the accumulator takes its signedness.
    pub term: Val,
    pub acc_bits: u32,
    pub overflow: Overflow,
}

/// Accumulator and sticky flag registers, loaded on valid beats, and `out_valid` one
/// cycle later. Returns `(acc, ovf, out_valid)`.
pub(crate) fn accumulator(m: &mut ModuleBuilder, a: Accumulator) -> Result<(Sig, Sig, Sig)> {
    m.note("Accumulator: state.");
    let acc = m.reg("acc_q", a.acc_bits, a.clk, Some((a.rst, 0)))?;
    let ovf = m.reg("ovf_q", 1, a.clk, Some((a.rst, 0)))?;
    m.note("Accumulator: exact sum (clear ? 0 : acc) + term, one bit wider than either addend.");
    let acc_v = Val {
        sig: acc,
        signed: a.term.signed,
    };
    let base = m.wire("base", mux(a.clear, 0, acc_v))?;
    let sum = m.wire("sum", base + a.term)?;
    m.note("Accumulator: range check and overflow policy.");
    let (next, in_range) = match a.overflow {
        Overflow::Wrap => (
            m.wrap("acc_next", sum, a.acc_bits)?,
            m.fits("in_range", sum, a.acc_bits)?,
        ),
        Overflow::Saturate => m.saturate("acc_next", sum, a.acc_bits)?,
    };
    m.next(acc, next, Some(a.valid))?;

    m.note("Accumulator: sticky overflow flag and out_valid.");
    let ovf_next = m.wire("ovf_next", (ovf & !a.clear) | !in_range)?;
    m.next(ovf, ovf_next, Some(a.valid))?;
    let out_valid = m.register("out_valid_q", a.valid, a.clk, Some(a.rst), None)?;
    Ok((acc, ovf, out_valid))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::module_verilog;
    use model::mac::Operand;

    #[test]
    fn default_mac_verilog_reads_well() {
        let v = module_verilog(&MacParams::default().rtl().unwrap());
        assert!(v.contains("module mac_s8x8_acc12_sat ("), "{v}");
        assert!(
            v.contains("wire [15:0] prod = $signed(a) * $signed(b);"),
            "{v}"
        );
        assert!(v.contains("wire [16:0] sum = base_ext + prod_ext;"), "{v}");
        assert!(
            v.contains("\n    // Accumulator: exact sum"),
            "stage notes: {v}"
        );
        assert!(
            v.contains("wire [16:0] prod_ext = {prod[15], prod};"),
            "{v}"
        );
        assert!(
            v.contains("wire [11:0] acc_next_limit = sum_negative ? 12'h800 : 12'h7ff;"),
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
                        let p = MacParams {
                            in_bits: n,
                            acc_bits: a,
                            signed,
                            overflow,
                            b: None,
                        };
                        p.rtl().unwrap_or_else(|e| panic!("{p:?}: {e}"));
                        // Mixed: b of every width, of either signedness.
                        for bits in [2, 3, 8, 16, 32] {
                            for b_signed in [false, true] {
                                let q = MacParams {
                                    b: Some(Operand {
                                        bits,
                                        signed: b_signed,
                                    }),
                                    ..p
                                };
                                q.rtl().unwrap_or_else(|e| panic!("{q:?}: {e}"));
                                crate::Reference::golden(&q)
                                    .unwrap_or_else(|e| panic!("{q:?}: {e}"));
                            }
                        }
                    }
                }
            }
        }
    }

    /// int4 x uint8: the unsigned operand gains a zero, the product is cut to its
    /// 12 bits, the accumulator is signed.
    #[test]
    fn mixed_product_is_exact_and_narrowed() {
        let p = MacParams {
            in_bits: 4,
            b: Some(Operand::unsigned(8)),
            ..MacParams::default()
        };
        let v = module_verilog(&p.rtl().unwrap());
        assert!(v.contains("module mac_s4xu8_acc12_sat ("), "{v}");
        assert!(v.contains("wire [8:0] b_ext = {1'b0, b};"), "{v}");
        assert!(
            v.contains("wire [12:0] prod_full = $signed(a) * $signed(b_ext);"),
            "{v}"
        );
        assert!(v.contains("wire [11:0] prod = prod_full[11:0];"), "{v}");
        assert!(
            v.contains("wire [11:0] acc_next_limit = sum_negative ? 12'h800 : 12'h7ff;"),
            "{v}"
        );
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
