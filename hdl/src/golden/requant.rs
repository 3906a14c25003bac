//! Reference of `requant` (docs/requant.md).

use model::requant::RequantParams;

use super::{lit, registered_output_state, registered_outputs, slit, Body, GoldenModule, Ty};
use crate::ir::Result;

/// docs/requant.md plainly, gemmlowp's way: per lane a `case` on the channel, the
/// shift clamp, the 64-bit product with gemmlowp's nudge and a division by 2^31 that
/// truncates toward zero (floor, plus one for an inexact negative), RoundingDivideByPOT
/// by mask, remainder and threshold, the offset and the clamp, all in wires.
pub(crate) fn golden(p: &RequantParams) -> Result<GoldenModule> {
    super::accepted(p)?;
    let (c, l, w) = (p.per_channel, p.lanes, p.out_bits);
    let cw = p.count_bits();
    let mut b = Body::new();
    // The channel of lane 0, then `(chan_q + k) mod C` as text for a constant k.
    let chan_plus = |b: &mut Body, name: &str, k: u32| -> String {
        let k = k % c;
        if k == 0 {
            return "chan_q".into();
        }
        let s = b.wire(
            &format!("{name}_s"),
            Ty::u(cw + 1),
            format!("{{1'b0, chan_q}} + {}", lit(cw + 1, k.into())),
        );
        let r = b.wire(
            &format!("{name}_r"),
            Ty::u(cw + 1),
            format!(
                "({s} >= {c1}) ? {s} - {c1} : {s}",
                c1 = lit(cw + 1, c.into())
            ),
        );
        b.discard(&r.bits(cw, cw));
        let v = b.wire(name, Ty::u(cw), r.bits(cw - 1, 0));
        v.to_string()
    };
    if c > 1 {
        b.state_reg("chan_q", Ty::u(cw));
        let next = chan_plus(&mut b, "g_chan_next", l);
        b.line("always @(posedge clk) begin");
        b.line(format!("    if (rst) chan_q <= {};", lit(cw, 0)));
        b.line(format!("    else if (in_valid) chan_q <= {next};"));
        b.line("end");
    }
    let mut ys = Vec::new();
    for lane in 0..l {
        // The RTL's names of the shifted accumulator, the lane's multiplier and the
        // product: the proof pairs them (cut points), so that the two 32x32 products
        // are the same `*` of the same operands.
        let rtl = |s: &str| {
            if l > 1 {
                format!("{s}_{lane}")
            } else {
                s.to_string()
            }
        };
        let m = if c == 1 {
            format!("g_m{lane}")
        } else {
            rtl("mult_sel")
        };
        let (s, z) = (format!("g_s{lane}"), format!("g_z{lane}"));
        if c == 1 {
            b.line(format!("wire [31:0] {m} = mult;"));
            b.line(format!("wire [5:0] {s} = shift;"));
            b.line(format!("wire [31:0] {z} = zp;"));
        } else {
            let ch = chan_plus(&mut b, &format!("g_chan{lane}"), lane);
            b.line(format!("reg [31:0] {m};"));
            b.line(format!("reg [5:0] {s};"));
            b.line(format!("reg [31:0] {z};"));
            b.line("always @* begin");
            b.line(format!("    case ({ch})"));
            for k in 0..c {
                b.line(format!(
                    "        {}: begin {m} = mult[{}:{}]; {s} = shift[{}:{}]; {z} = zp[{}:{}]; end",
                    lit(cw, k.into()),
                    32 * k + 31,
                    32 * k,
                    6 * k + 5,
                    6 * k,
                    32 * k + 31,
                    32 * k
                ));
            }
            b.line(format!(
                "        default: begin {m} = mult[31:0]; {s} = shift[5:0]; {z} = zp[31:0]; end"
            ));
            b.line("    endcase");
            b.line("end");
        }
        let g = |x: &str| format!("g_{x}{lane}");
        let mut cut = vec![rtl("a"), rtl("prod")];
        if c > 1 {
            cut.push(m.clone());
        }
        b.add_state(cut);
        let acc = if l == 1 {
            "acc".to_string()
        } else {
            format!("acc[{}:{}]", 32 * lane + 31, 32 * lane)
        };
        b.line(format!("// Lane {lane}: the shift, clamped to -31..=30."));
        b.line(format!(
            "wire signed [5:0] {sc} = ($signed({s}) < {lo}) ? {lo} : ($signed({s}) > {hi}) ? {hi} : $signed({s});",
            sc = g("sc"),
            lo = slit(6, -31),
            hi = slit(6, 30)
        ));
        b.line(format!(
            "wire [4:0] {ls} = {sc}[5] ? 5'h0 : {sc}[4:0];",
            ls = g("ls"),
            sc = g("sc")
        ));
        b.line(format!(
            "wire [4:0] {rs} = {sc}[5] ? 5'h0 - {sc}[4:0] : 5'h0;",
            rs = g("rs"),
            sc = g("sc")
        ));
        b.line("// SaturatingRoundingDoublingHighMul(acc << ls, mult), gemmlowp's text.");
        b.line(format!(
            "wire [31:0] {a} = {acc} << {ls};",
            a = rtl("a"),
            ls = g("ls")
        ));
        b.line(format!(
            "wire signed [63:0] {ab} = $signed({a}) * $signed({m});",
            ab = rtl("prod"),
            a = rtl("a")
        ));
        b.line(format!(
            "wire {ovf} = ({a} == 32'h80000000) && ({m} == 32'h80000000);",
            ovf = g("ovf"),
            a = rtl("a")
        ));
        b.line(format!(
            "wire signed [63:0] {nudge} = {ab}[63] ? {neg} : {pos};",
            nudge = g("nudge"),
            ab = rtl("prod"),
            neg = slit(64, 1 - (1 << 30)),
            pos = slit(64, 1 << 30)
        ));
        b.line(format!(
            "wire signed [63:0] {sum} = {ab} + {nudge};",
            sum = g("sum"),
            ab = rtl("prod"),
            nudge = g("nudge")
        ));
        b.line(format!(
            "wire [32:0] {tr} = {sum}[63:31] + {{32'h0, {sum}[63] & (|{sum}[30:0])}};",
            tr = g("trunc"),
            sum = g("sum")
        ));
        let trunc = super::Var::named(&g("trunc"), Ty::u(33));
        b.discard(&trunc.bits(32, 32));
        b.line(format!(
            "wire signed [31:0] {hi} = {ovf} ? 32'sh7fffffff : $signed({tr}[31:0]);",
            hi = g("hi"),
            ovf = g("ovf"),
            tr = g("trunc")
        ));
        b.line("// RoundingDivideByPOT(x, rs), gemmlowp's text.");
        b.line(format!(
            "wire [31:0] {mask} = (32'h1 << {rs}) - 32'h1;",
            mask = g("mask"),
            rs = g("rs")
        ));
        b.line(format!(
            "wire [31:0] {rem} = {hi} & {mask};",
            rem = g("rem"),
            hi = g("hi"),
            mask = g("mask")
        ));
        b.line(format!(
            "wire [31:0] {thr} = ({mask} >> 1) + {{31'h0, {hi}[31]}};",
            thr = g("thr"),
            mask = g("mask"),
            hi = g("hi")
        ));
        b.line(format!(
            "wire signed [31:0] {shr} = {hi} >>> {rs};",
            shr = g("shr"),
            hi = g("hi"),
            rs = g("rs")
        ));
        b.line(format!(
            "wire signed [32:0] {r} = $signed({{{shr}[31], {shr}}}) + $signed({{32'h0, {rem} > {thr}}});",
            r = g("r"),
            shr = g("shr"),
            rem = g("rem"),
            thr = g("thr")
        ));
        b.line("// The offset, exactly, and the clamp.");
        b.line(format!(
            "wire signed [33:0] {v} = $signed({{{r}[32], {r}}}) + $signed({{{{2{{{z}[31]}}}}, {z}}});",
            v = g("v"),
            r = g("r")
        ));
        let (lo, hi) = (
            model::int::min_value(w, p.signed),
            model::int::max_value(w, p.signed),
        );
        let y = g("y");
        b.line(format!(
            "wire [{top}:0] {y} = ({v} < {lo}) ? {lo_w} : ({v} > {hi}) ? {hi_w} : {v}[{top}:0];",
            top = w - 1,
            v = g("v"),
            lo = slit(34, lo),
            hi = slit(34, hi),
            lo_w = lit(w, lo),
            hi_w = lit(w, hi),
        ));
        ys.push(y);
    }
    let packed = format!(
        "{{{}}}",
        ys.iter().rev().cloned().collect::<Vec<_>>().join(", ")
    );
    b.text(registered_outputs(&[("y", w * l, &packed)]));
    b.add_state(registered_output_state(&["y"]));
    Ok(b.finish())
}
