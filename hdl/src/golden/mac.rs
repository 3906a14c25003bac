//! Reference of `mac` (docs/mac.md): the exact sum at full width compared with
//! the accumulator's limits, in one `always` block.

use model::mac::{MacParams, Overflow};

use super::{Body, GoldenModule, Ty, Var};
use crate::ir::Result;

/// The golden: docs/mac.md in one `always` block, the exact sum at full width
/// compared with the accumulator's limits.
pub(crate) fn golden(p: &MacParams) -> Result<GoldenModule> {
    super::accepted(p)?;
    let (n, a) = (p.in_bits, p.acc_bits);
    let w = p.sum_bits();
    let operand = Ty {
        width: n,
        signed: p.signed,
    };
    let product = Ty {
        width: 2 * n,
        signed: p.signed,
    };
    let mut b = Body::new();
    let (mut x, mut y) = (Var::named("a", Ty::u(n)), Var::named("b", Ty::u(n)));
    if p.signed {
        (x, y) = (x.as_signed(), y.as_signed());
    }
    // The pipeline registers keep the generated RTL's names (they are matched state):
    // operands at depth 1, the full product at depth 2.
    let (mut valid, mut clear) = ("in_valid".to_string(), "clear".to_string());
    let mut prod = None;
    if p.pipeline >= 1 {
        b.line(format!(
            "// Pipeline depth {}: the generated unit's registers.",
            p.pipeline
        ));
        let v1 = b.state_reg("valid_1", Ty::u(1));
        let c1 = b.state_reg("clear_1", Ty::u(1));
        let a1 = b.state_reg("a_1", operand);
        let b1 = b.state_reg("b_1", operand);
        let mut regs = format!(
            "        {v1} <= rst ? 1'b0 : in_valid;\n        {c1} <= clear;\n        {a1} <= {x};\n        {b1} <= {y};\n"
        );
        (valid, clear, x, y) = (v1.to_string(), c1.to_string(), a1, b1);
        if p.pipeline >= 2 {
            let v2 = b.state_reg("valid_2", Ty::u(1));
            let c2 = b.state_reg("clear_2", Ty::u(1));
            let p2 = b.state_reg("prod_2", product);
            regs += &format!(
                "        {v2} <= rst ? 1'b0 : {valid};\n        {c2} <= {clear};\n        {p2} <= {x} * {y};\n"
            );
            (valid, clear) = (v2.to_string(), c2.to_string());
            prod = Some(p2);
        }
        b.text(format!("    always @(posedge clk) begin\n{regs}    end\n"));
    }
    let prod = match prod {
        Some(p2) => p2,
        None => b.wire("g_prod", product, format!("{} * {}", x.ext(n), y.ext(n))),
    };
    let (lo, hi) = (
        model::int::min_value(a, p.signed),
        model::int::max_value(a, p.signed),
    );
    let acc_ty = Ty {
        width: a,
        signed: p.signed,
    };
    let acc = b.state_reg("acc_q", Ty::u(a));
    b.state_reg("ovf_q", Ty::u(1));
    b.state_reg("out_valid_q", Ty::u(1));
    let acc_v = Var::named("acc_q", acc_ty);
    let sum_ty = Ty {
        width: w,
        signed: p.signed,
    };
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
    if p.signed {
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
    fn pipelined_mac_reference_extends_the_product() {
        let p = MacParams {
            acc_bits: 32,
            pipeline: 2,
            ..MacParams::default()
        };
        let g = golden(&p).unwrap();
        assert!(
            g.body.contains("$signed({{17{prod_2[15]}}, prod_2})"),
            "{}",
            g.body
        );
        assert!(g.state.contains(&"prod_2".to_string()));
    }
}
