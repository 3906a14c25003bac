//! RTL of the block dot product `bfp_dot` (SPEC.md section 3; the model is
//! `model::bfp::BfpDot`).
//!
//! Stages:
//! 0. per beat: `lanes` exact m x m products (in mixed-mantissa mode each element is the
//!    low bits of its field, sign-extended) summed by an adder tree, added to the block's
//!    partial sum; a beat counter finds the block's last beat;
//! 1. register the block's exact sum, `ea + eb` and `clear`;
//! 2. convert `sum * 2^(ea+eb)` to binary32 (normalise; exact unless out of range) and
//!    register it;
//! 3. add it to the binary32 accumulator (or start over on `clear`), RNE, flush and
//!    saturate with sticky `uf` and `of`; `out_valid` with the new value.

use model::bfp::BfpDotParams;
use model::float::{FloatFormat, Rounding};

use crate::float;
use crate::ir::{mux, Expr, ExprOps, ModuleBuilder, Result, Sig, Val};
use crate::{start_unit, Generate, Module, UnitParams};

impl Generate for BfpDotParams {
    fn golden(&self) -> Option<Result<crate::golden::GoldenModule>> {
        Some(Ok(golden(self)))
    }

    fn rtl(&self) -> Result<Module> {
        let (mut m, io) = start_unit(self)?;
        describe(&mut m, self);
        let (clk, rst, valid) = (io["clk"], io["rst"], io["in_valid"]);
        let s = self.sum_width();

        m.note("Stage 0: element products, adder tree, and the block's partial sum.");
        let mode = io.get("mode").copied();
        let mut products = Vec::new();
        for i in 0..self.lanes() {
            let a = element(&mut m, self, io["qa"], i, mode)?;
            let b = element(&mut m, self, io["qb"], i, mode)?;
            products.push(m.val(a * b)?); // 2m bits, exact
        }
        let beat_sum = adder_tree(&mut m, products)?;
        let beat_sum = m.wire("beat_sum", beat_sum.resize(s))?;
        let last = super::block_last(&mut m, self.beats_per_block(), clk, rst, valid)?;
        let block_sum = if self.beats_per_block() == 1 {
            beat_sum
        } else {
            let partial = m.reg("partial_q", s, clk, Some((rst, 0)))?;
            let sum = m.wire("partial_sum", (partial + beat_sum).wrapping(s))?;
            m.next(partial, mux(last, 0, sum), Some(valid))?;
            sum
        };

        m.note("Stage 1: the block's exact sum and exponent.");
        let exp = m.val(io["ea"].s() + io["eb"].s())?;
        let [sum1, exp1, clear1] = m.registers(
            [
                ("block_sum_q", block_sum.sig),
                ("block_exp_q", exp.sig),
                ("block_clear_q", io["clear"]),
            ],
            clk,
            Some(rst),
            Some(last),
        )?;
        let valid1 = m.register("block_valid_q", last, clk, Some(rst), None)?;

        m.note("Stage 2: the block's value as binary32.");
        let f = FloatFormat::BINARY32;
        let v = float::from_scaled_int(&mut m, "conv", &f, sum1, exp1, Rounding::Rne)?;
        let [v2, uf2, of2, clear2] = m.registers(
            [
                ("value_q", v.bits),
                ("value_uf_q", v.underflow),
                ("value_of_q", v.overflow),
                ("value_clear_q", clear1),
            ],
            clk,
            Some(rst),
            Some(valid1),
        )?;
        let valid2 = m.register("value_valid_q", valid1, clk, Some(rst), None)?;

        m.note("Stage 3: binary32 accumulation (RNE, no subnormals).");
        let acc = m.reg("acc_q", 32, clk, Some((rst, 0)))?;
        let uf = m.reg("uf_q", 1, clk, Some((rst, 0)))?;
        let of = m.reg("of_q", 1, clk, Some((rst, 0)))?;
        let base = m.val(mux(clear2, 0, acc))?;
        let r = float::add(&mut m, "acc", &f, base.sig, v2, Rounding::Rne)?;
        m.next(acc, r.bits, Some(valid2))?;
        m.next(uf, (uf & !clear2) | uf2 | r.underflow, Some(valid2))?;
        m.next(of, (of & !clear2) | of2 | r.overflow, Some(valid2))?;
        let out_valid = m.register("out_valid_q", valid2, clk, Some(rst), None)?;
        for (name, v) in [
            ("acc", acc),
            ("uf", uf),
            ("of", of),
            ("out_valid", out_valid),
        ] {
            m.out(name, v)?;
        }
        m.finish()
    }
}

fn describe(m: &mut ModuleBuilder, p: &BfpDotParams) {
    m.comment(format!(
        "HBFP{mb} block dot product: blocks of {n} {mb}-bit mantissas with {w}-bit shared",
        mb = p.mant_bits,
        n = p.block,
        w = p.exp_bits
    ));
    m.comment(format!(
        "exponents, {} element product(s) per beat ({} beat(s) per block), exact {}-bit",
        p.lanes(),
        p.beats_per_block(),
        p.sum_width()
    ));
    m.comment("block sum, one binary32 conversion per block, binary32 accumulation (RNE,");
    m.comment("no subnormals, saturating; sticky uf/of until clear) (SPEC.md section 3).");
    if let Some(modes) = p.modes {
        m.comment(format!(
            "Mixed mantissa: mode k uses the k-th of the widths {modes}, read from the low bits"
        ));
        m.comment("of each element's field.");
    }
    m.comment(format!(
        "Latency: {} cycles from a block's last beat to out_valid.",
        p.latency()
    ));
}

/// Element `i` of a beat's field vector, as an m-bit signed value; with modes, the low
/// bits of the field for the selected width, sign-extended.
fn element(
    m: &mut ModuleBuilder,
    p: &BfpDotParams,
    q: Sig,
    i: u32,
    mode: Option<Sig>,
) -> Result<Val> {
    let mb = p.mant_bits;
    let field = m.val(q.bits(mb * i + mb - 1, mb * i).reinterpret_signed())?;
    let (Some(modes), Some(mode)) = (p.modes, mode) else {
        return Ok(field);
    };
    // The widest for the last index and past it; narrower widths by their index.
    let mut v = Expr::from(field);
    for (k, width) in modes.list().iter().enumerate().rev().skip(1) {
        let narrow = field.bits(width - 1, 0).reinterpret_signed().resize(mb);
        v = mux(mode.equal(k as u64), narrow, v);
    }
    m.val(v)
}

/// Balanced tree of exact signed additions, widths growing one bit per level.
fn adder_tree(m: &mut ModuleBuilder, mut level: Vec<Val>) -> Result<Val> {
    while level.len() > 1 {
        level = level
            .chunks(2)
            .map(|pair| match pair {
                [a, b] => m.val(*a + *b),
                [a] => Ok(*a),
                _ => unreachable!("chunks of two"),
            })
            .collect::<Result<Vec<_>>>()?;
    }
    Ok(level[0])
}

/// SPEC.md section 3 plainly: each beat's products summed exactly (a wide `*` and `+`
/// per element) into the block's sum; at the block's last beat the sum and
/// `ea + eb`; then `sum * 2^(ea+eb)` rounded into binary32 by the same rounding function
/// `fpacc`'s reference uses; then the accumulator plus that value, summed exactly in
/// 279-bit fixed point (every binary32 value is a multiple of 2^-149 below 2^128) and
/// rounded once. The stages keep the RTL's register names.
fn golden(p: &BfpDotParams) -> crate::golden::GoldenModule {
    use crate::golden::{
        accumulator_state, block_last, jam_add_function, k, lit, range, round_function,
    };
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
        kl = k(l as i32),
        km = k(mb as i32),
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
    crate::golden::GoldenModule { body: s, state }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verilog::module_verilog;

    #[test]
    fn builds_for_lanes_and_modes() {
        for (block, lanes, mant, modes) in [
            (1, 1, 2, None),
            (16, 16, 4, None),
            (16, 4, 6, Some("4,6")),
            (64, 1, 8, Some("2,5,8")),
        ] {
            let p = BfpDotParams {
                block,
                lanes: Some(lanes),
                mant_bits: mant,
                modes: modes.map(|s| s.parse().unwrap()),
                ..BfpDotParams::default()
            };
            let module = p.rtl().unwrap_or_else(|e| panic!("{p:?}: {e}"));
            let text = module_verilog(&module);
            assert!(text.contains("acc_q"), "{text}");
        }
    }
}
