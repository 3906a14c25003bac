//! Reference of `palq-pe` (docs/palquant.md).

use std::fmt::Write as _;

use model::palq::PalqPeParams;

use super::{lit, Body, GoldenModule, Ty, Var};
use crate::ir::Result;

/// docs/palquant.md plainly: per group, one flat sum of the lanes' products (and one of
/// the activation codes) added to the accumulator (0 under `clear`) in a width that
/// holds it, the low bits kept; the result `2*kj - (L-1)*j` computed modulo 2^W for a W
/// of at least Y bits and its low Y bits driven out. One `always` block holds the
/// accumulators (the RTL's `kj_<g>_q`, `j_<g>_q`) and `out_valid_q`.
pub(crate) fn golden(p: &PalqPeParams) -> Result<GoldenModule> {
    super::accepted(p)?;
    let (c, n, lanes, groups) = (p.code_bits(), p.products(), p.lanes, p.groups);
    let (kb, jb, yb) = (p.kj_bits(), p.j_bits(), p.out_bits());
    let cm = u128::from(p.code_max());
    let bits = model::int::unsigned_bits;
    // Sum widths: the accumulator or the beat's largest sum, whichever is wider, plus one.
    let ks = kb.max(bits(u128::from(lanes) * cm * cm)) + 1;
    let js = jb.max(bits(u128::from(lanes) * cm)) + 1;
    // Read-out modulo 2^rw: at least Y bits and wide enough for both terms.
    let rw = yb.max(kb + 1).max(jb + 4);
    let (w_port, a_port) = (Var::named("w", Ty::u(c * n)), Var::named("a", Ty::u(c * n)));
    let mut b = Body::new();
    b.state_reg("out_valid_q", Ty::u(1));
    let mut regs = String::new();
    let mut resets = String::new();
    let mut outs = Vec::new();
    for g in 0..groups {
        let kj = b.state_reg(&format!("kj_{g}_q"), Ty::u(kb));
        let j = b.state_reg(&format!("j_{g}_q"), Ty::u(jb));
        let (mut products, mut codes) = (Vec::new(), Vec::new());
        for l in 0..lanes {
            let lo = c * (g * lanes + l);
            let (wk, aj) = (w_port.bits(lo + c - 1, lo), a_port.bits(lo + c - 1, lo));
            products.push(format!("{} * {}", wk.ext(ks), aj.ext(ks)));
            codes.push(aj.ext(js));
        }
        b.line(format!("// Group {g}: all {lanes} lane(s) in one sum."));
        let kj_next = b.wire(
            &format!("g_kj_next_{g}"),
            Ty::u(ks),
            format!(
                "(clear ? {} : {}) + {}",
                lit(ks, 0),
                kj.ext(ks),
                products.join(" + ")
            ),
        );
        let j_next = b.wire(
            &format!("g_j_next_{g}"),
            Ty::u(js),
            format!(
                "(clear ? {} : {}) + {}",
                lit(js, 0),
                j.ext(js),
                codes.join(" + ")
            ),
        );
        b.discard(&kj_next.bits(ks - 1, kb));
        b.discard(&j_next.bits(js - 1, jb));
        let y = b.wire(
            &format!("g_y_{g}"),
            Ty::u(rw),
            format!(
                "{} * {} - {} * {}",
                kj.ext(rw),
                lit(rw, 2),
                j.ext(rw),
                lit(rw, (p.levels - 1).into())
            ),
        );
        if rw > yb {
            b.discard(&y.bits(rw - 1, yb));
        }
        outs.push(y.bits(yb - 1, 0).to_string());
        let _ = writeln!(resets, "            {kj} <= {};", lit(kb, 0));
        let _ = writeln!(resets, "            {j} <= {};", lit(jb, 0));
        let _ = writeln!(regs, "                {kj} <= {};", kj_next.bits(kb - 1, 0));
        let _ = writeln!(regs, "                {j} <= {};", j_next.bits(jb - 1, 0));
    }
    outs.reverse();
    let y = if outs.len() == 1 {
        outs[0].clone()
    } else {
        format!("{{{}}}", outs.join(", "))
    };
    b.text(format!(
        "    always @(posedge clk) begin
        if (rst) begin
            out_valid_q <= 1'b0;
{resets}        end else begin
            out_valid_q <= in_valid;
            if (in_valid) begin
{regs}            end
        end
    end
    assign y = {y};
    assign out_valid = out_valid_q;
"
    ));
    Ok(b.finish())
}
