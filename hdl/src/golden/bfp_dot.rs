//! Reference of `bfp_dot` (SPEC.md section 3).

use model::bfp::BfpDotParams;
use model::float::{FloatFormat, Rounding};

use super::GoldenModule;
use crate::ir::Result;

/// SPEC.md section 3 plainly: each beat's products summed exactly (a wide `*` and `+`
/// per element) into the block's sum; at the block's last beat the sum and
/// `ea + eb`; then `sum * 2^(ea+eb)` rounded into binary32 by the same rounding function
/// `fpacc`'s reference uses; then the accumulator plus that value, summed exactly in
/// 279-bit fixed point (every binary32 value is a multiple of 2^-149 below 2^128) and
/// rounded once. The stages keep the RTL's register names.
pub(crate) fn golden(p: &BfpDotParams) -> Result<GoldenModule> {
    super::accepted(p)?;
    use super::{accumulator_state, block_last, jam_add_function, k, lit, range, round_function};
    use std::fmt::Write as _;
    let (mb, w, l) = (p.mant_bits, p.exp_bits, p.lanes());
    let sw = p.sum_width();
    let f = FloatFormat::BINARY32;
    let mut s = String::new();
    let mut state: Vec<String> = [
        "block_sum_q",
        "block_exp_q",
        "block_clear_q",
        "block_valid_q",
        "value_q",
        "value_uf_q",
        "value_of_q",
        "value_clear_q",
        "value_valid_q",
        "acc_q",
        "uf_q",
        "of_q",
        "out_valid_q",
    ]
    .map(String::from)
    .to_vec();

    // An element: its m-bit field, or with --modes the low bits the mode selects,
    // sign-extended (past the list: the widest).
    let _ = writeln!(
        s,
        "    function signed [{mm1}:0] g_el;\n        input [{mm1}:0] field;",
        mm1 = mb - 1
    );
    match p.modes {
        None => s.push_str("        begin\n            g_el = field;\n        end\n"),
        Some(modes) => {
            let sb = modes.select_bits();
            let _ = writeln!(
                s,
                "        input {}sel;\n        begin\n            g_el = field;",
                range(sb)
            );
            for (i, width) in modes.list().iter().enumerate() {
                if *width < mb {
                    let _ = writeln!(
                        s,
                        "            if (sel == {}) g_el = {{{{{}{{field[{}]}}}}, field[{}:0]}};",
                        lit(sb, i as i128),
                        mb - width,
                        width - 1,
                        width - 1
                    );
                }
            }
            s.push_str("        end\n");
        }
    }
    s.push_str("    endfunction\n");
    let sel = if p.modes.is_some() { ", mode" } else { "" };
    let _ = write!(
        s,
        "    // The beat's exact sum of products.
    reg signed [{sm1}:0] g_beat;
    integer g_i;
    always @* begin
        g_beat = {zero_s};
        for (g_i = {k0}; g_i < {kl}; g_i = g_i + {k1})
            g_beat = g_beat + g_el(qa[{km} * g_i +: {mb}]{sel}) * g_el(qb[{km} * g_i +: {mb}]{sel});
    end
",
        sm1 = sw - 1,
        zero_s = lit(sw, 0),
        k0 = k(0),
        k1 = k(1),
        kl = k(l),
        km = k(mb),
    );
    let beats = p.beats_per_block();
    let (last, last_state) = block_last(beats);
    s += &last;
    state.extend(last_state);
    if beats == 1 {
        let _ = writeln!(s, "    wire [{}:0] g_sum = g_beat;", sw - 1);
    } else {
        let _ = write!(
            s,
            "    reg [{sm1}:0] partial_q;
    wire [{sm1}:0] g_sum = partial_q + g_beat;
    always @(posedge clk) begin
        if (rst) partial_q <= {zs};
        else if (in_valid) partial_q <= g_last ? {zs} : g_sum;
    end
",
            sm1 = sw - 1,
            zs = lit(sw, 0),
        );
        state.push("partial_q".into());
    }
    s += &round_function("g_q32", &f, Rounding::Rne, sw);
    s += &round_function("g_qacc", &f, Rounding::Rne, f.man_bits + 5);
    s += &jam_add_function("g_add", "g_qacc", &f);
    let _ = write!(
        s,
        "    reg [{sm1}:0] block_sum_q;
    reg [{w}:0] block_exp_q;
    reg block_clear_q, block_valid_q;
    reg [31:0] value_q;
    reg value_uf_q, value_of_q, value_clear_q, value_valid_q;
    // The block's value sum * 2^(ea+eb) in binary32: {{uf, of, bits}}.
    wire g_neg = $signed(block_sum_q) < $signed({zs});
    wire [{sm1}:0] g_mag = g_neg ? -block_sum_q : block_sum_q;
    wire [33:0] g_value = g_q32(g_neg, g_mag, $signed({{{{{pad}{{block_exp_q[{w}]}}}}, block_exp_q}}));
    always @(posedge clk) begin
        if (rst) begin
            block_sum_q <= {zs};
            block_exp_q <= {ze};
            block_clear_q <= 1'b0;
            block_valid_q <= 1'b0;
            value_q <= 32'h0;
            value_uf_q <= 1'b0;
            value_of_q <= 1'b0;
            value_clear_q <= 1'b0;
            value_valid_q <= 1'b0;
        end else begin
            block_valid_q <= g_last;
            if (g_last) begin
                block_sum_q <= g_sum;
                block_exp_q <= $signed(ea) + $signed(eb);
                block_clear_q <= clear;
            end
            value_valid_q <= block_valid_q;
            if (block_valid_q) begin
                {{value_uf_q, value_of_q, value_q}} <= g_value;
                value_clear_q <= block_clear_q;
            end
        end
    end
    // The accumulator plus the value, rounded once.
    wire [33:0] g_r = g_add(value_clear_q ? 32'h0 : acc_q, value_q);
    reg [31:0] acc_q;
    reg uf_q, of_q, out_valid_q;
",
        sm1 = sw - 1,
        zs = lit(sw, 0),
        ze = lit(w + 1, 0),
        pad = 31 - w,
    );
    s += &accumulator_state(
        32,
        "value_valid_q",
        "value_clear_q",
        "g_r[31:0]",
        &[
            ("uf", "value_uf_q | g_r[33]"),
            ("of", "value_of_q | g_r[32]"),
        ],
    );
    Ok(GoldenModule { body: s, state })
}
