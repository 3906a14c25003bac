//! RTL of the LNS multiply-accumulate `lns_mac` (docs/log-domain.md; the model is
//! `model::lns::LnsMacParams::term` and `model::mac::accumulate`).
//!
//! Stages (one cycle):
//! 1. multiply in the log domain: sign xor, exponent-code add, offset `2 e_min`;
//! 2. split the product exponent into `p_int` and `p_frac`; look `p_frac` up in the
//!    `2^F`-entry table of `model::lns::exp2_table` (a mux tree of constants);
//! 3. shift the entry by `p_int` (clamped to `[-L, A+1]`; right shifts truncate),
//!    saturate the magnitude to `A+1` bits when the accumulator saturates, sign;
//! 4. the MAC's accumulator: exact sum, saturate or wrap, sticky `ovf`, `out_valid`.

use model::lns::LnsMacParams;
use model::mac::Overflow;

use crate::ir::{lit, mux, ExprOps, ModuleBuilder, Result, Round};
use crate::units::mac::{accumulator, Accumulator};
use crate::{start_unit, Generate, Module, UnitParams};

impl Generate for LnsMacParams {
    fn rtl(&self) -> Result<Module> {
        let (mut m, io) = start_unit(self)?;
        describe(&mut m, self);
        let (f, l, a) = (self.frac_bits, self.table_bits, self.acc_bits);

        m.note("Stage 1: log-domain product.");
        let zero = m.wire("product_zero", io["za"] | io["zb"])?;
        let sign = m.wire("product_sign", io["sa"] ^ io["sb"])?;
        let offset = 2 * i64::from(self.exp_min());
        let exp = m.wire("product_exp", (io["ea"] + io["eb"] + offset).sint())?;
        let w = exp.width();

        m.note("Stage 2: integer and fractional parts; table lookup of 2^(p_frac / 2^F).");
        let p_int = m.val(exp.bits(w - 1, f).reinterpret_signed())?;
        let table = self.table();
        let entry = if f == 0 {
            m.wire("table_entry", lit(table[0].into(), l, false))?
        } else {
            let p_frac = m.wire("p_frac", exp.bits(f - 1, 0))?;
            let table: Vec<u128> = table.iter().map(|t| u128::from(*t)).collect();
            super::rom(&mut m, "table_entry", &table, l, p_frac.sig)?.u()
        };

        m.note("Stage 3: shift by p_int (clamped to [-L, A+1]; right shifts truncate), sign.");
        let (l_i, hi) = (i128::from(l), i128::from(a) + 1);
        // Clamp p_int itself, then add L and keep the low bits: Yosys maps this with a
        // much shorter carry chain than clamping p_int + L (K3/F2/L8/A24 on the UP5K:
        // 95 LUTs, 35 carries, 34 MHz, against 207 LUTs, 83 carries, 13 MHz).
        let p_int = m.clamp("p_int_clamped", p_int, -l_i, hi)?;
        let amount = m.val(p_int + l_i)?;
        // In 0..=A+1+L after the clamp: its low bits are the shift amount.
        let bits = 128 - (hi + l_i).leading_zeros();
        if amount.width() > bits {
            let top = m.val(amount.bits(amount.width() - 1, bits))?;
            m.discard(top.sig, "shift_amount_range")?;
        }
        let amount = m.wire("shift_amount", amount.bits(bits - 1, 0))?;
        let wide = m.val(entry.resize(a + 1 + 2 * l))?;
        let shifted = m.shift_left(wide, amount.sig)?;
        let magnitude = m.round("shifted", shifted, l, Round::Floor)?;
        let magnitude = m.wire("magnitude", mux(zero, 0, magnitude))?;
        // Saturating, a magnitude of 2^(A+1) - 1 or more takes any A-bit accumulator out
        // of range on the term's side (2^(A+1) - 1 - 2^(A-1) > 2^(A-1) - 1, and
        // likewise below): saturating it to A+1 bits before the sign changes no result
        // (the accumulator's range check, limit and sticky flag see the same side) and
        // keeps the negation and the accumulator loop's adder and range check A+2 bits
        // wide instead of up to A+1+L (K4/F2/L8/A24 --freq 40 on the UP5K: 42.6 MHz at
        // depth 3, against 32.1 MHz at depth 4 with the 37-bit loop adder). Wrapping
        // needs the exact term: its low bits and its range both count.
        let term = match self.overflow {
            Overflow::Saturate => {
                let magnitude = m.saturate("magnitude_sat", magnitude, a + 1)?.0;
                let signed = m.val(mux(sign, -magnitude, magnitude))?;
                // |term| <= 2^(A+1) - 1 fits A+2 signed bits exactly.
                m.narrow("term", signed, a + 2)?
            }
            Overflow::Wrap => m.wire("term", mux(sign, -magnitude, magnitude))?,
        };

        let (acc, ovf, out_valid) = accumulator(
            &mut m,
            Accumulator {
                clk: io["clk"],
                rst: io["rst"],
                valid: io["in_valid"],
                clear: io["clear"],
                term,
                acc_bits: a,
                overflow: self.overflow,
            },
        )?;
        m.drive_output("acc", acc)?;
        m.drive_output("ovf", ovf)?;
        m.drive_output("out_valid", out_valid)?;
        m.finish()
    }
}

/// The behavioural reference: `crate::golden::lns_mac`.
impl crate::Reference for LnsMacParams {
    fn golden(&self) -> Result<crate::golden::GoldenModule> {
        crate::golden::lns_mac::golden(self)
    }
}

fn describe(m: &mut ModuleBuilder, p: &LnsMacParams) {
    m.comment(format!(
        "LNS multiply-accumulate: {k}-bit exponent codes, base 2^(1/2^{f}), code 0 = 2^({e}/2^{f});",
        k = p.exp_bits,
        f = p.frac_bits,
        e = p.exp_min()
    ));
    m.comment(format!(
        "term = +-T[p_frac] << p_int with T[j] = RNE(2^(j/2^{f}) * 2^{}) ({} bits), right shifts",
        p.table_bits - 1,
        p.table_bits,
        f = p.frac_bits
    ));
    m.comment(format!(
        "truncate; {}-bit accumulator in units of 2^-{}, {} (docs/log-domain.md).",
        p.acc_bits,
        p.table_bits - 1,
        match p.overflow {
            model::mac::Overflow::Saturate => "saturating",
            model::mac::Overflow::Wrap => "wrapping",
        }
    ));
    m.comment(format!(
        "Latency: {} cycle from in_valid to out_valid.",
        p.latency()
    ));
}
