//! Reference of `mac` (docs/mac.md): the exact sum at full width compared with
//! the accumulator's limits, in one `always` block.

use model::mac::{MacParams, Overflow};

use super::{Body, GoldenModule, Ty, Var};
use crate::ir::Result;

/// The golden: docs/mac.md in one `always` block, the exact sum at full width
/// compared with the accumulator's limits.
pub(crate) fn golden(p: &MacParams) -> Result<GoldenModule> {
    super::accepted(p)?;
    let (na, nb, a) = (p.a().bits, p.b().bits, p.acc_bits);
    let signed = p.acc_signed();
    let w = p.sum_bits();
    let pw = p.prod_bits();
    let product = Ty { width: pw, signed };
    let mut b = Body::new();
    let (mut x, mut y) = (Var::named("a", Ty::u(na)), Var::named("b", Ty::u(nb)));
    if p.a().signed {
        x = x.as_signed();
    }
    if p.b().signed {
        y = y.as_signed();
    }
    // Same signedness: Verilog's own signed or unsigned product. Mixed: each operand
    // extended by its own signedness to the product's NA + NB bits, whose low bits the
    // multiplication keeps (the product fits them).
    let (xe, ye) = if p.a().signed == p.b().signed {
        (x.ext(na), y.ext(nb))
    } else {
        (x.ext(pw), y.ext(pw))
    };
    let (valid, clear) = ("in_valid".to_string(), "clear".to_string());
    let prod = b.wire("g_prod", product, format!("{xe} * {ye}"));
    let (lo, hi) = (
        model::int::min_value(a, signed),
        model::int::max_value(a, signed),
    );
    let acc_ty = Ty { width: a, signed };
    let acc = b.state_reg("acc_q", Ty::u(a));
    b.state_reg("ovf_q", Ty::u(1));
    b.state_reg("out_valid_q", Ty::u(1));
    let acc_v = Var::named("acc_q", acc_ty);
    let sum_ty = Ty { width: w, signed };
    b.line(format!(
        "// s = (clear ? 0 : acc) + a*b, exact in {w} bits."
    ));
    let zero = sum_ty.lit(0);
    let sum = b.wire(
        "g_sum",
        sum_ty,
        format!("({clear} ? {zero} : {}) + {}", acc_v.ext(w), prod.ext(w)),
    );
    b.wire("g_above", Ty::u(1), format!("{sum} > {}", sum.lit(hi)));
    if signed {
        b.wire("g_below", Ty::u(1), format!("{sum} < {}", sum.lit(lo)));
    } else {
        b.wire("g_below", Ty::u(1), "1'b0");
    }
    let low = sum.bits(a - 1, 0);
    let next = match p.overflow {
        Overflow::Wrap => low.to_string(),
        Overflow::Saturate => format!(
            "g_above ? {} : g_below ? {} : {low}",
            acc.lit(hi),
            acc.lit(lo),
        ),
    };
    b.text(super::accumulator_state(
        a,
        &valid,
        &clear,
        &next,
        &[("ovf", "g_above | g_below")],
    ));
    Ok(b.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reference_extends_the_product() {
        let p = MacParams {
            acc_bits: 32,
            ..MacParams::default()
        };
        let g = golden(&p).unwrap();
        assert!(
            g.body.contains("$signed({{17{g_prod[15]}}, g_prod})"),
            "{}",
            g.body
        );
    }
}
