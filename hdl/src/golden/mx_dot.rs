//! Reference of `mx_dot` (docs/mx.md).

use model::mx::{Elem, MxDotParams};

use super::bfp_dot::{binary32_stages, running_sum};
use super::{block_last, k, lit, slit, Body, GoldenModule, Ty, Var};
use crate::ir::Result;

/// docs/mx.md plainly: a function per operand reads an element code as its value in
/// quanta (`sign ? -mag : mag`, `mag` the mantissa for a zero exponent field, else the
/// mantissa with its leading one shifted left by field - 1; INT8 codes as they are; a NaN
/// or infinity code reads as 0), each beat's products summed exactly into the block's
/// sum and NaN codes OR-ed into a flag; at the block's last beat a NaN scale byte joins
/// the flag, a NaN block's sum is zeroed, and the block's exponent is `xa + xb - 254 +
/// lsb_a + lsb_b`; from there on `bfp_dot`'s reference ([`binary32_stages`]).
pub(crate) fn golden(p: &MxDotParams) -> Result<GoldenModule> {
    super::accepted(p)?;
    let l = p.lanes();
    let sum_t = Ty::s(p.sum_width());
    let mut b = Body::new();
    let sides = [("a", p.elem_a), ("b", p.elem_b)];
    for (side, e) in sides {
        decode_function(&mut b, side, e);
    }
    let nan_terms: Vec<String> = sides
        .iter()
        .filter_map(|(side, e)| {
            let (lo, n) = nan_bits(*e)?;
            let w = e.width();
            Some(format!(
                "g_nan_{side}(q{side}[{} * g_i + {} +: {n}])",
                k(w),
                k(lo)
            ))
        })
        .collect();
    b.line("// The beat's exact sum of products, and whether it holds a NaN or infinity code.");
    let beat = b.reg("g_beat", sum_t);
    let beat_nan = (!nan_terms.is_empty()).then(|| b.reg("g_beat_nan", Ty::u(1)));
    let (wa, wb) = (p.elem_a.width(), p.elem_b.width());
    let mut loop_body = format!(
        "            {beat} = {beat} + g_dec_a(qa[{ka} * g_i +: {wa}]) * g_dec_b(qb[{kb} * g_i +: {wb}]);\n",
        ka = k(wa),
        kb = k(wb),
    );
    if let Some(n) = &beat_nan {
        loop_body += &format!("            {n} = {n} | {};\n", nan_terms.join(" | "));
    }
    b.text(format!(
        "    integer g_i;
    always @* begin
        {beat} = {zero};
{init}        for (g_i = {k0}; g_i < {kl}; g_i = g_i + {k1}) begin
{loop_body}        end
    end
",
        zero = sum_t.lit(0),
        init = beat_nan
            .as_ref()
            .map(|n| format!("        {n} = 1'b0;\n"))
            .unwrap_or_default(),
        k0 = k(0),
        k1 = k(1),
        kl = k(l),
    ));
    let beats = p.beats_per_block();
    let (last, last_state) = block_last(beats);
    b.text(last);
    b.add_state(last_state);
    let (sum, element_nan) = if beats == 1 {
        let sum = b.wire("g_sum", sum_t, &beat);
        (sum, beat_nan.map(|n| n.to_string()))
    } else {
        let sum = running_sum(&mut b, sum_t, &beat);
        let nan = beat_nan.map(|beat_nan| {
            let seen = b.state_reg("partial_nan_q", Ty::u(1));
            let nan = b.wire("g_partial_nan", Ty::u(1), format!("{seen} | {beat_nan}"));
            b.text(format!(
                "    always @(posedge clk) begin
        if (rst) {seen} <= 1'b0;
        else if (in_valid) {seen} <= g_last ? 1'b0 : {nan};
    end
"
            ));
            nan.to_string()
        });
        (sum, nan)
    };
    b.line("// A NaN block: a NaN scale byte on either side or a NaN/infinity element.");
    let scale_nan = format!("xa == {} || xb == {}", lit(8, 0xff), lit(8, 0xff));
    let nan = b.wire(
        "g_nan",
        Ty::u(1),
        match element_nan {
            Some(e) => format!("{scale_nan} || {e}"),
            None => scale_nan,
        },
    );
    let masked = b.wire(
        "g_block_sum",
        sum_t,
        format!("{nan} ? {} : {sum}", sum_t.lit(0)),
    );
    let exp_w = crate::units::mx_dot::EXP_WIDTH;
    let pad = exp_w - 8;
    let exp = format!(
        "$signed({{{pad}'h0, xa}}) + $signed({{{pad}'h0, xb}}) + {}",
        slit(exp_w, i128::from(p.lsb_exp() - 254))
    );
    let stages = (p.conversion_stages(), p.accumulation_stages());
    binary32_stages(
        &mut b,
        &masked,
        (Ty::s(exp_w), &exp),
        Some(&nan.to_string()),
        stages,
    );
    Ok(b.finish())
}

/// Where the NaN and infinity codes of `e` are marked (E4M3: all ones below the sign,
/// E5M2: an all-ones exponent field), as `(lowest bit, bits)`; `None` when every code is
/// finite.
fn nan_bits(e: Elem) -> Option<(u32, u32)> {
    match e {
        Elem::E4m3 => Some((0, 7)),
        Elem::E5m2 => Some((2, 5)),
        _ => None,
    }
}

/// `g_dec_<side>`: a code of type `e` as its signed value in quanta (a NaN or infinity
/// code as 0); and for E4M3 and E5M2 `g_nan_<side>`, whether a code is NaN or infinity.
fn decode_function(b: &mut Body, side: &str, e: Elem) {
    let w = e.width();
    let ib = e.int_bits();
    let c = Var::named("c", Ty::u(w));
    let out = Ty::s(ib);
    if let Some((lo, n)) = nan_bits(e) {
        b.line(format!(
            "// Whether the {n} bits from {lo} up of a {} code mark a NaN or infinity.",
            e.name().to_uppercase()
        ));
        b.line(format!("function g_nan_{side};"));
        b.line(format!("    input {}c;", Ty::u(n).decl()));
        b.line("    begin");
        b.line(format!(
            "        g_nan_{side} = c == {};",
            lit(n, (1 << n) - 1)
        ));
        b.line("    end");
        b.line("endfunction");
    }
    b.line(format!(
        "// A {} code as its value in units of 2^{}.",
        e.name().to_uppercase(),
        e.lsb_exp()
    ));
    b.line(format!("function {}g_dec_{side};", out.decl()));
    b.line(format!("    input {}c;", c.ty().decl()));
    let Some((_, mb, _)) = e.float_shape() else {
        b.line("    begin");
        b.line(format!("        g_dec_{side} = $signed(c);"));
        b.line("    end");
        b.line("endfunction");
        return;
    };
    let mag_t = Ty::u(ib - 1);
    let field = c.bits(w - 2, mb);
    let man = c.bits(mb - 1, 0);
    let hidden = Var::named(&format!("{{1'b1, {man}}}"), Ty::u(mb + 1));
    b.line(format!("    reg {}mag;", mag_t.decl()));
    b.line("    begin");
    b.line(format!(
        "        if ({field} == {}) mag = {};",
        field.lit(0),
        man.ext(ib - 1)
    ));
    b.line(format!(
        "        else mag = {} << ({field} - {});",
        hidden.ext(ib - 1),
        field.lit(1)
    ));
    b.line(format!(
        "        g_dec_{side} = {} ? -$signed({{1'b0, mag}}) : $signed({{1'b0, mag}});",
        c.msb()
    ));
    if let Some((lo, n)) = nan_bits(e) {
        b.line(format!(
            "        if (g_nan_{side}({})) g_dec_{side} = {};",
            c.bits(lo + n - 1, lo),
            out.lit(0)
        ));
    }
    b.line("    end");
    b.line("endfunction");
}
