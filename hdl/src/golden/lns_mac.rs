//! Reference of `lns_mac` (docs/log-domain.md).

use model::lns::LnsMacParams;
use model::mac::Overflow;

use super::{Body, GoldenModule, Ty, Var};
use crate::ir::Result;

/// docs/log-domain.md plainly: the exact product exponent, floor division by 2^F, a
/// `case` table, `<<` or `>>` by the integer part; a product whose integer part exceeds
/// the accumulator width leaves the range by itself (saturate: the limit of its sign;
/// wrap: its low A bits are zero).
pub(crate) fn golden(p: &LnsMacParams) -> Result<GoldenModule> {
    super::accepted(p)?;
    let (k, f, l, a) = (p.exp_bits, p.frac_bits, p.table_bits, p.acc_bits);
    let emin2 = 2 * i64::from(p.exp_min());
    // Widths: the product exponent, its integer part, the term and the sum.
    let top = 2 * (super::pow2(k) - 1);
    let pw = super::signed_width(emin2.min(0).into(), top + i128::from(emin2.max(0))) + 1;
    let iw = (pw - f).max(9); // wide enough to compare with A <= 64
    let mw = a + l + 2; // |term| < 2^(A+1+L) when p_int <= A
    let sw = mw + 2;
    let mut b = Body::new();
    let acc = b.state_reg("acc_q", Ty::u(a));
    b.state_reg("ovf_q", Ty::u(1));
    b.state_reg("out_valid_q", Ty::u(1));
    let (ea, eb) = (Var::named("ea", Ty::u(k)), Var::named("eb", Ty::u(k)));
    let pt = Ty::s(pw);
    let prod = b.wire(
        "g_p",
        pt,
        format!(
            "$signed({}) + $signed({}) + {}",
            ea.ext(pw),
            eb.ext(pw),
            pt.lit(emin2.into())
        ),
    );
    // floor(P / 2^F): the bits above F, sign-extended.
    let int = b.wire("g_int", Ty::s(iw), prod.bits(pw - 1, f).as_signed().ext(iw));
    let t = b.reg("g_t", Ty::u(l));
    let table = p.table();
    if f == 0 {
        b.line(format!("always @* {t} = {};", t.lit(table[0].into())));
    } else {
        let frac = prod.bits(f - 1, 0);
        b.line("always @* begin");
        b.line(format!("    case ({frac})"));
        for (j, v) in table.iter().enumerate() {
            b.line(format!(
                "        {}: {t} = {};",
                frac.lit(j as i128),
                t.lit((*v).into())
            ));
        }
        b.line(format!("        default: {t} = {};", t.lit(0)));
        b.line("    endcase");
        b.line("end");
    }
    let zero = b.wire("g_zero", Ty::u(1), "za | zb");
    let huge = b.wire(
        "g_huge",
        Ty::u(1),
        format!("!{zero} && {int} > {}", int.lit(a.into())),
    );
    let left = b.wire("g_left", Ty::u(mw), format!("{} << {int}", t.ext(mw)));
    let right = b.wire("g_right", Ty::u(l), format!("{t} >> (-{int})"));
    let mag = b.wire(
        "g_mag",
        Ty::u(mw),
        format!(
            "{zero} ? {} : {int} >= {} ? {left} : {}",
            Ty::u(mw).lit(0),
            int.lit(0),
            right.ext(mw)
        ),
    );
    let smag = mag.signed_ext(sw);
    let term = b.wire("g_term", Ty::s(sw), format!("(sa ^ sb) ? -{smag} : {smag}"));
    let st = Ty::s(sw);
    let sum = b.wire(
        "g_sum",
        st,
        format!(
            "(clear ? {} : {}) + {term}",
            st.lit(0),
            Var::named("acc_q", Ty::s(a)).ext(sw)
        ),
    );
    let (lo, hi) = (
        model::int::min_value(a, true),
        model::int::max_value(a, true),
    );
    b.wire(
        "g_above",
        Ty::u(1),
        format!("{huge} ? !(sa ^ sb) : {sum} > {}", sum.lit(hi)),
    );
    b.wire(
        "g_below",
        Ty::u(1),
        format!("{huge} ? (sa ^ sb) : {sum} < {}", sum.lit(lo)),
    );
    let low = sum.bits(a - 1, 0);
    let next = match p.overflow {
        Overflow::Saturate => format!(
            "g_above ? {} : g_below ? {} : {low}",
            acc.lit(hi),
            acc.lit(lo),
        ),
        Overflow::Wrap => format!("{huge} ? (clear ? {} : {acc}) : {low}", acc.lit(0)),
    };
    b.text(super::accumulator_state(
        a,
        "in_valid",
        "clear",
        &next,
        &[("ovf", "g_above | g_below")],
    ));
    Ok(b.finish())
}
