//! Reference of `lns_mac` (SPEC.md section 4).

use model::lns::LnsMacParams;

use super::GoldenModule;
use crate::float::signed_bits;
use crate::ir::Result;

/// SPEC.md section 4 plainly: the exact product exponent, floor division by 2^F, a
/// `case` table, `<<` or `>>` by the integer part; a product whose integer part exceeds
/// the accumulator width leaves the range by itself (saturate: the limit of its sign;
/// wrap: its low A bits are zero).
pub(crate) fn golden(p: &LnsMacParams) -> Result<GoldenModule> {
    super::accepted(p)?;
    use super::{lit, range, slit};
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
    s += &super::accumulator_state(
        a,
        "in_valid",
        "clear",
        &next,
        &[("ovf", "g_above | g_below")],
    );
    Ok(GoldenModule {
        body: s,
        state: vec!["acc_q".into(), "ovf_q".into(), "out_valid_q".into()],
    })
}
