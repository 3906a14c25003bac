//! RTL of the LNS multiply-accumulate `lns_mac` (SPEC.md section 4; the model is
//! `model::lns::LnsMacParams::term` and `model::mac::accumulate`).
//!
//! Stages (one cycle):
//! 1. multiply in the log domain: sign xor, exponent-code add, offset `2 e_min`;
//! 2. split the product exponent into `p_int` and `p_frac`; look `p_frac` up in the
//!    `2^F`-entry table of `model::lns::exp2_table` (a mux tree of constants);
//! 3. shift the entry by `p_int` (clamped to `[-L, A+1]`; right shifts truncate), sign;
//! 4. the MAC's accumulator: exact sum, saturate or wrap, sticky `ovf`, `out_valid`.

use model::lns::LnsMacParams;

use crate::float::signed_bits;
use crate::ir::{ModuleBuilder, Result};
use crate::units::mac::{accumulator, Accumulator};
use crate::{start_unit, Generate, Module, UnitParams};

impl Generate for LnsMacParams {
    fn rtl(&self) -> Result<Module> {
        let (mut m, io) = start_unit(self)?;
        describe(&mut m, self);
        let (k, f, l, a) = (
            self.exp_bits,
            self.frac_bits,
            self.table_bits,
            self.acc_bits,
        );

        m.note("Stage 1: log-domain product.");
        let zero = m.or(io["za"], io["zb"])?;
        let zero = m.name(zero, "product_zero")?;
        let sign = m.xor(io["sa"], io["sb"])?;
        let code = m.add_exact(io["ea"], io["eb"], false)?; // k + 1 bits
        let offset = 2 * i64::from(self.exp_min());
        let code_max = 2 * ((1i64 << k) - 1);
        let w = signed_bits(offset.min(0), code_max + offset.max(0)) + 1;
        let code = m.zext(code, w)?;
        let offset = m.lit(w, offset.into())?;
        let exp = m.add(code, offset)?;
        let exp = m.name(exp, "product_exp")?;

        m.note("Stage 2: integer and fractional parts; table lookup of 2^(p_frac / 2^F).");
        let p_int = m.slice(exp, w - 1, f)?;
        let table = self.table();
        let entry = if f == 0 {
            m.lit(l, table[0].into())?
        } else {
            let p_frac = m.slice(exp, f - 1, 0)?;
            let table: Vec<u128> = table.iter().map(|t| u128::from(*t)).collect();
            super::rom(&mut m, &table, l, p_frac)?
        };
        let entry = m.name(entry, "table_entry")?;

        m.note("Stage 3: shift by p_int (clamped to [-L, A+1]; right shifts truncate), sign.");
        let (lo, hi) = (-i64::from(l), i64::from(a) + 1);
        let pw = signed_bits(lo, hi + i64::from(l)).max(w - f) + 1;
        let p_int = m.sext(p_int, pw)?;
        let lo_s = m.lit(pw, lo.into())?;
        let hi_s = m.lit(pw, hi.into())?;
        let below = m.lt(p_int, lo_s, true)?;
        let above = m.lt(hi_s, p_int, true)?;
        let clamped = m.mux(below, lo_s, p_int)?;
        let clamped = m.mux(above, hi_s, clamped)?;
        let l_s = m.lit(pw, l.into())?;
        let amount = m.add(clamped, l_s)?; // 0 ..= A + 1 + L
        let sw = 64 - ((hi + i64::from(l)) as u64).leading_zeros();
        let amount_bits = m.slice(amount, sw - 1, 0)?;
        let high = m.slice(amount, pw - 1, sw)?;
        m.discard(high, "shift_range")?; // zero after the clamp
        let wide_w = a + 1 + 2 * l;
        let wide = m.zext(entry, wide_w)?;
        let shifted = m.shl(wide, amount_bits)?;
        let magnitude = m.slice(shifted, wide_w - 1, l)?; // a + l + 1 bits
        let dropped = m.slice(shifted, l - 1, 0)?;
        m.discard(dropped, "truncated")?;
        let tw = a + l + 2;
        let magnitude = m.zext(magnitude, tw)?;
        let none = m.zero(tw)?;
        let magnitude = m.mux(zero, none, magnitude)?;
        let negated = m.sub(none, magnitude)?;
        let term = m.mux(sign, negated, magnitude)?;
        let term = m.name(term, "term")?;

        let (acc, ovf, out_valid) = accumulator(
            &mut m,
            Accumulator {
                clk: io["clk"],
                rst: io["rst"],
                valid: io["in_valid"],
                clear: io["clear"],
                term,
                acc_bits: a,
                signed: true,
                overflow: self.overflow,
            },
        )?;
        m.drive_output("acc", acc)?;
        m.drive_output("ovf", ovf)?;
        m.drive_output("out_valid", out_valid)?;
        m.finish()
    }

    fn golden(&self) -> Option<Result<crate::golden::GoldenModule>> {
        Some(crate::golden::lns_mac::golden(self))
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
        "truncate; {}-bit accumulator in units of 2^-{}, {} (SPEC.md section 4).",
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
