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
        let amount = m.val(p_int + l_i)?;
        let amount = m.clamp("shift_amount", amount, 0, hi + l_i)?;
        let wide = m.val(entry.resize(a + 1 + 2 * l))?;
        let shifted = m.shift_left(wide, amount.sig)?;
        let magnitude = m.round("shifted", shifted, l, Round::Floor)?;
        let magnitude = m.wire("magnitude", mux(zero, 0, magnitude))?;
        let term = m.wire("term", mux(sign, -magnitude, magnitude))?;

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

    fn golden(&self) -> Option<Result<crate::golden::GoldenModule>> {
        Some(Ok(golden(self)))
    }
}

/// SPEC.md section 4 plainly: the exact product exponent, floor division by 2^F, a
/// `case` table, `<<` or `>>` by the integer part; a product whose integer part exceeds
/// the accumulator width leaves the range by itself (saturate: the limit of its sign;
/// wrap: its low A bits are zero).
fn golden(p: &LnsMacParams) -> crate::golden::GoldenModule {
    use crate::golden::{lit, range, slit};
    use std::fmt::Write as _;
    let (k, f, l, a) = (p.exp_bits, p.frac_bits, p.table_bits, p.acc_bits);
    let emin2 = 2 * i64::from(p.exp_min());
    // Widths: the product exponent, its integer part, the term and the sum.
    let pw = signed_bits(emin2.min(0), 2 * ((1i64 << k) - 1) + emin2.max(0)) + 1;
    let iw = (pw - f).max(9); // wide enough to compare with A <= 64
    let mw = a + l + 2; // |term| < 2^(A+1+L) when p_int <= A
    let sw = mw + 2;
    let mut s = String::new();
    let _ = writeln!(s, "    reg {}acc_q;", range(a));
    let _ = writeln!(s, "    reg ovf_q;");
    let _ = writeln!(s, "    reg out_valid_q;");
    let _ = writeln!(
        s,
        "    wire signed [{}:0] g_p = $signed({{{}'h0, ea}}) + $signed({{{}'h0, eb}}) + {};",
        pw - 1,
        pw - k,
        pw - k,
        slit(pw, emin2.into())
    );
    let _ = writeln!(s, "    wire signed [{}:0] g_int = g_p >>> {f};", iw - 1);
    let _ = writeln!(s, "    reg [{}:0] g_t;", l - 1);
    let table = p.table();
    if f == 0 {
        let _ = writeln!(s, "    always @* g_t = {};", lit(l, table[0].into()));
    } else {
        let _ = writeln!(s, "    always @* begin\n        case (g_p[{}:0])", f - 1);
        for (j, t) in table.iter().enumerate() {
            let _ = writeln!(
                s,
                "            {}: g_t = {};",
                lit(f, j as i128),
                lit(l, (*t).into())
            );
        }
        let _ = writeln!(
            s,
            "            default: g_t = {};\n        endcase\n    end",
            lit(l, 0)
        );
    }
    let _ = writeln!(s, "    wire g_zero = za | zb;");
    let _ = writeln!(
        s,
        "    wire g_huge = !g_zero && g_int > {};",
        slit(iw, a.into())
    );
    let _ = writeln!(
        s,
        "    wire [{}:0] g_left = {{{}'h0, g_t}} << g_int;",
        mw - 1,
        mw - l
    );
    let _ = writeln!(s, "    wire [{}:0] g_right = g_t >> (-g_int);", l - 1);
    let _ = writeln!(
        s,
        "    wire [{}:0] g_mag = g_zero ? {} : g_int >= {} ? g_left : {{{}'h0, g_right}};",
        mw - 1,
        lit(mw, 0),
        slit(iw, 0),
        mw - l
    );
    let _ = writeln!(
        s,
        "    wire signed [{}:0] g_term = (sa ^ sb) ? -$signed({{2'b00, g_mag}}) : $signed({{2'b00, g_mag}});",
        sw - 1
    );
    let _ = writeln!(
        s,
        "    wire signed [{}:0] g_sum = (clear ? {} : $signed({{{{{}{{acc_q[{}]}}}}, acc_q}})) + g_term;",
        sw - 1,
        slit(sw, 0),
        sw - a,
        a - 1
    );
    let (lo, hi) = (
        model::int::min_value(a, true),
        model::int::max_value(a, true),
    );
    let _ = writeln!(
        s,
        "    wire g_above = g_huge ? !(sa ^ sb) : g_sum > {};",
        slit(sw, hi)
    );
    let _ = writeln!(
        s,
        "    wire g_below = g_huge ? (sa ^ sb) : g_sum < {};",
        slit(sw, lo)
    );
    let next = match p.overflow {
        model::mac::Overflow::Saturate => format!(
            "g_above ? {} : g_below ? {} : g_sum[{}:0]",
            lit(a, hi),
            lit(a, lo),
            a - 1
        ),
        model::mac::Overflow::Wrap => format!(
            "g_huge ? (clear ? {} : acc_q) : g_sum[{}:0]",
            lit(a, 0),
            a - 1
        ),
    };
    s += &crate::golden::accumulator_state(
        a,
        "in_valid",
        "clear",
        &next,
        &[("ovf", "g_above | g_below")],
    );
    crate::golden::GoldenModule {
        body: s,
        state: vec!["acc_q".into(), "ovf_q".into(), "out_valid_q".into()],
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
