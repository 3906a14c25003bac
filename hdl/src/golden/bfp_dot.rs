//! Reference of `bfp_dot` (docs/bfp.md).

use model::bfp::{BfpDotParams, LongWindow};
use model::float::{FloatFormat, Rounding};

use super::{
    accumulator_state, block_last, jam_add_function, k, round_function, Body, GoldenModule, Ty, Var,
};
use crate::ir::Result;

/// docs/bfp.md plainly: each beat's products summed exactly (a wide `*` and `+`
/// per element) into the block's sum; at the block's last beat the sum and
/// `ea + eb`; then `sum * 2^(ea+eb)` rounded into binary32 by the same rounding function
/// `fpacc`'s reference uses; then the accumulator plus that value (the jammed adder,
/// checked against the exact sum in tests/golden.rs), rounded once. The stages keep the
/// RTL's register names. When a block takes several beats the RTL spends more cycles on
/// the conversion and the addition (`conversion_stages`, `accumulation_stages`); here the
/// value and the sum are computed at once, as in one cycle, and then wait in plain delay
/// registers (`g_conv_line_d<i>`, `g_sum_line_d<i>`, cleared by reset) before the state takes them.
pub(crate) fn golden(p: &BfpDotParams) -> Result<GoldenModule> {
    super::accepted(p)?;
    let w = p.exp_bits;
    let mut b = Body::new();
    let sum = match p.packed_width() {
        Some(nw) => packed_sum(&mut b, p, nw),
        None => beat_sums(&mut b, p),
    };
    if let Some(window) = p.long {
        long(&mut b, p, window, &sum);
        return Ok(b.finish());
    }
    let (ea, eb) = (
        Var::named("ea", Ty::u(w)).as_signed(),
        Var::named("eb", Ty::u(w)).as_signed(),
    );
    let exp = format!("{} + {}", ea.ext(w + 1), eb.ext(w + 1));
    let stages = (p.conversion_stages(), p.accumulation_stages());
    binary32_stages(&mut b, &sum, (Ty::s(w + 1), &exp), None, stages);
    Ok(b.finish())
}

/// `--narrow-pack` with narrow width `nw`, from docs/bfp.md: the block's mode is the `mode`
/// of its first beat; a narrow block is n / 2L beats of 2L elements packed `nw` bits apart,
/// a wide one n / L beats of L elements, each the low m bits of a 2nw-bit field. Each
/// beat's products are summed exactly into the block's sum; returns the sum, valid with
/// `g_last`.
fn packed_sum(b: &mut Body, p: &BfpDotParams, nw: u32) -> Var {
    let (mb, l, f) = (p.mant_bits, p.lanes(), p.field_bits());
    let sum_t = Ty::s(p.sum_width());
    let beats = p.beats_per_block();
    let cw = model::int::index_bits(beats);
    let count_t = Ty::u(cw);
    let count = b.state_reg("beat_count", count_t);
    let mode_q = b.state_reg("pack_mode_q", Ty::u(1));
    // `narrow` and `beat_sum` are cut points (the RTL's wires of the same names and values).
    let narrow = b.cut_wire(
        "narrow",
        Ty::u(1),
        format!(
            "({count} == {z} ? mode : {mode_q}) == 1'b0",
            z = count_t.lit(0)
        ),
    );
    b.text(format!(
        "    wire g_last = in_valid && {count} == ({narrow} ? {nl} : {wl});
    always @(posedge clk) begin
        if (rst) begin
            {count} <= {z};
            {mode_q} <= 1'b0;
        end else if (in_valid) begin
            {count} <= g_last ? {z} : {count} + {one};
            if ({count} == {z}) {mode_q} <= mode;
        end
    end
",
        z = count_t.lit(0),
        one = count_t.lit(1),
        nl = count_t.lit((beats / 2 - 1).into()),
        wl = count_t.lit((beats - 1).into()),
    ));
    b.line("// The beat's exact sum of products: 2L narrow elements or L wide ones.");
    b.line(format!("function {}g_el_wide;", Ty::s(mb).decl()));
    b.line(format!("    input {}fw;", Ty::u(mb).decl()));
    b.line("    g_el_wide = fw;");
    b.line("endfunction");
    b.line(format!("function {}g_el_small;", Ty::s(nw).decl()));
    b.line(format!("    input {}fs;", Ty::u(nw).decl()));
    b.line("    g_el_small = fs;");
    b.line("endfunction");
    let beat = b.reg("g_beat", sum_t);
    b.text(format!(
        "    integer g_i;
    always @* begin
        {beat} = {zero};
        if ({narrow})
            for (g_i = {k0}; g_i < {k2l}; g_i = g_i + {k1})
                {beat} = {beat} + g_el_small(qa[{knw} * g_i +: {nw}]) * g_el_small(qb[{knw} * g_i +: {nw}]);
        else
            for (g_i = {k0}; g_i < {kl}; g_i = g_i + {k1})
                {beat} = {beat} + g_el_wide(qa[{kf} * g_i +: {mb}]) * g_el_wide(qb[{kf} * g_i +: {mb}]);
    end
",
        zero = sum_t.lit(0),
        k0 = k(0),
        k1 = k(1),
        k2l = k(2 * l),
        kl = k(l),
        knw = k(nw),
        kf = k(f),
    ));
    let beat = b.cut_wire("beat_sum", sum_t, beat);
    running_sum(b, sum_t, &beat)
}

/// A block of several beats (`bfp_dot`, `mx_dot`): `partial_q` holds the sum of the
/// block's earlier beats and clears after `g_last`; returns `g_sum`, it plus `beat`.
pub(crate) fn running_sum(b: &mut Body, sum_t: Ty, beat: &Var) -> Var {
    let partial = b.state_reg("partial_q", sum_t);
    let sum = b.wire("g_sum", sum_t, format!("{partial} + {beat}"));
    b.text(format!(
        "    always @(posedge clk) begin
        if (rst) {partial} <= {z};
        else if (in_valid) {partial} <= g_last ? {z} : {sum};
    end
",
        z = sum_t.lit(0),
    ));
    sum
}

/// The block's sum without `--narrow-pack`: each beat's L products (the mode of the beat
/// picking the width) summed exactly; returns the sum, valid with `g_last`.
fn beat_sums(b: &mut Body, p: &BfpDotParams) -> Var {
    let (mb, l) = (p.mant_bits, p.lanes());
    let sum_t = Ty::s(p.sum_width());
    let el_t = Ty::s(mb);

    // An element: its m-bit field, or with --modes the low bits the mode selects,
    // sign-extended (past the list: the widest).
    let field = Var::named("field", Ty::u(mb));
    b.line(format!("function {}g_el;", el_t.decl()));
    b.line(format!("    input {}{field};", field.ty().decl()));
    match p.modes {
        None => {
            b.line("    begin");
            b.line(format!("        g_el = {field};"));
            b.line("    end");
        }
        Some(modes) => {
            let sel = Var::named("sel", Ty::u(modes.select_bits()));
            b.line(format!("    input {}{sel};", sel.ty().decl()));
            b.line("    begin");
            b.line(format!("        g_el = {field};"));
            for (i, width) in modes.list().iter().enumerate() {
                if *width < mb {
                    b.line(format!(
                        "        if ({sel} == {}) g_el = {};",
                        sel.lit(i as i128),
                        field.bits(width - 1, 0).as_signed().ext(mb)
                    ));
                }
            }
            b.line("    end");
        }
    }
    b.line("endfunction");
    let sel = if p.modes.is_some() { ", mode" } else { "" };
    b.line("// The beat's exact sum of products.");
    let beat = b.reg("g_beat", sum_t);
    b.text(format!(
        "    integer g_i;
    always @* begin
        {beat} = {zero};
        for (g_i = {k0}; g_i < {kl}; g_i = g_i + {k1})
            {beat} = {beat} + g_el(qa[{km} * g_i +: {mb}]{sel}) * g_el(qb[{km} * g_i +: {mb}]{sel});
    end
",
        zero = sum_t.lit(0),
        k0 = k(0),
        k1 = k(1),
        kl = k(l),
        km = k(mb),
    ));
    let beats = p.beats_per_block();
    let (last, last_state) = block_last(beats);
    b.text(last);
    b.add_state(last_state);
    if beats == 1 {
        b.wire("g_sum", sum_t, &beat)
    } else {
        running_sum(b, sum_t, &beat)
    }
}

/// Stages 1 to 3 of a block dot product's reference (`bfp_dot`, `mx_dot`), from the
/// block's exact sum `sum` (valid with `g_last`) and its exponent (`exp`: the register's
/// type and the expression it loads): the registered sum and exponent, the value
/// `sum * 2^exp` rounded into binary32 by the rounding function `fpacc`'s reference uses,
/// then the accumulator plus that value (the jammed adder, checked against the exact sum in
/// tests/golden.rs), rounded once; the `kc` and `ka` extra cycles of the RTL's conversion
/// and addition are plain delay lines after them. With `nan` (an expression, true for a
/// NaN block, whose sum the caller has zeroed), the bit travels beside the value to the
/// sticky `nan_q`, cleared by `clear` like `uf_q` and `of_q`.
pub(crate) fn binary32_stages(
    b: &mut Body,
    sum: &Var,
    (exp_t, exp): (Ty, &str),
    nan: Option<&str>,
    (kc, ka): (u32, u32),
) {
    let f = FloatFormat::BINARY32;
    let sum_t = sum.ty();
    let word = Ty::u(32);
    // A rounded binary32 value with its flags: {uf, of, bits}.
    let rounded = Ty::u(34);
    b.text(round_function("g_q32", &f, Rounding::Rne, sum_t.width));
    b.text(round_function("g_qacc", &f, Rounding::Rne, f.man_bits + 5));
    b.text(jam_add_function("g_add", "g_qacc", &f));

    let block_sum = b.state_reg("block_sum_q", sum_t);
    let block_exp = b.state_reg("block_exp_q", exp_t);
    let block_clear = b.state_reg("block_clear_q", Ty::u(1));
    let block_valid = b.state_reg("block_valid_q", Ty::u(1));
    let value = b.state_reg("value_q", word);
    let value_uf = b.state_reg("value_uf_q", Ty::u(1));
    let value_of = b.state_reg("value_of_q", Ty::u(1));
    let value_clear = b.state_reg("value_clear_q", Ty::u(1));
    let value_valid = b.state_reg("value_valid_q", Ty::u(1));
    let (block_nan, value_nan) = match nan {
        Some(_) => (
            b.state_reg("block_nan_q", Ty::u(1)),
            b.state_reg("value_nan_q", Ty::u(1)),
        ),
        None => (
            Var::named("block_nan_q", Ty::u(1)),
            Var::named("value_nan_q", Ty::u(1)),
        ),
    };
    b.line("// The block's value sum * 2^(ea+eb) in binary32: {uf, of, bits}.");
    let neg = b.wire("g_neg", Ty::u(1), format!("{block_sum} < {}", sum_t.lit(0)));
    let mag = b.wire(
        "g_mag",
        Ty::u(sum_t.width),
        format!("{neg} ? -{block_sum} : {block_sum}"),
    );
    let g_value = b.wire(
        "g_value",
        rounded,
        format!("g_q32({neg}, {mag}, {})", block_exp.ext(32)),
    );
    // {valid, clear, uf, of, bits} of the conversion, `conversion_stages` cycles late.
    let nan_bit = |i: usize| nan.map(|_| format!("{}, ", [&block_nan, &value_nan][i]));
    let conv = delay_line(
        b,
        "g_conv_line",
        kc,
        &format!(
            "{{{}{block_valid}, {block_clear}, {g_value}}}",
            nan_bit(0).unwrap_or_default()
        ),
        36 + u32::from(nan.is_some()),
    );
    let (conv_valid, conv_clear, conv_value) =
        (conv.bit(35), conv.bit(34), conv.bits(33, 0).to_string());
    b.text(format!(
        "    always @(posedge clk) begin
        if (rst) begin
            {block_sum} <= {zs};
            {block_exp} <= {ze};
            {block_clear} <= 1'b0;
            {block_valid} <= 1'b0;
            {value} <= {zw};
            {value_uf} <= 1'b0;
            {value_of} <= 1'b0;
            {value_clear} <= 1'b0;
            {value_valid} <= 1'b0;
        end else begin
            {block_valid} <= g_last;
            if (g_last) begin
                {block_sum} <= {sum};
                {block_exp} <= {exp};
                {block_clear} <= clear;
            end
            {value_valid} <= {conv_valid};
            if ({conv_valid}) begin
                {{{value_uf}, {value_of}, {value}}} <= {conv_value};
                {value_clear} <= {conv_clear};
            end
        end
    end
",
        zs = sum_t.lit(0),
        ze = block_exp.lit(0),
        zw = word.lit(0),
    ));
    if let Some(nan) = nan {
        b.text(format!(
            "    always @(posedge clk) begin
        if (rst) begin
            {block_nan} <= 1'b0;
            {value_nan} <= 1'b0;
        end else begin
            if (g_last) {block_nan} <= {nan};
            if ({conv_valid}) {value_nan} <= {conv_nan};
        end
    end
",
            conv_nan = conv.bit(36),
        ));
    }
    b.line("// The accumulator plus the value, rounded once.");
    let r = b.wire(
        "g_r",
        rounded,
        format!("g_add({value_clear} ? {} : acc_q, {value})", word.lit(0)),
    );
    // {valid, clear, value uf, value of, sum uf, sum of, sum bits}, `accumulation_stages`
    // cycles late.
    let sum = delay_line(
        b,
        "g_sum_line",
        ka,
        &format!(
            "{{{}{value_valid}, {value_clear}, {value_uf}, {value_of}, {r}}}",
            nan_bit(1).unwrap_or_default()
        ),
        38 + u32::from(nan.is_some()),
    );
    b.state_reg("acc_q", word);
    b.state_reg("uf_q", Ty::u(1));
    b.state_reg("of_q", Ty::u(1));
    let uf = format!("{} | {}", sum.bit(35), sum.bit(33));
    let of = format!("{} | {}", sum.bit(34), sum.bit(32));
    let mut flags = vec![("uf", uf.as_str()), ("of", of.as_str())];
    let nan_new = nan.map(|_| sum.bit(38));
    if let Some(new) = &nan_new {
        b.state_reg("nan_q", Ty::u(1));
        flags.push(("nan", new.as_str()));
    }
    b.state_reg("out_valid_q", Ty::u(1));
    b.text(accumulator_state(
        32,
        &sum.bit(37),
        &sum.bit(36),
        &sum.bits(31, 0).to_string(),
        &flags,
    ));
}

/// `--acc long` from the block's sum on: `sum * 2^(ea+eb)` in units of `2^lsb`, floored,
/// computed with Verilog's shifts on a signed value `bits + S` wide (exact for shifts up
/// to `bits`; beyond, only a zero sum fits and the low bits still come out right), its
/// low `bits` bits and whether it does not fit them, registered with the block's last
/// beat; then the long register and its read-out into binary32 as `fpacc-long`'s
/// reference writes them ([`super::fpacc_long::long_register`]).
fn long(b: &mut Body, p: &BfpDotParams, window: LongWindow, sum: &Var) {
    let (bits, lsb, s, w) = (window.bits, window.lsb, p.sum_width(), p.exp_bits);
    let ww = bits + s;
    let (ea, eb) = (
        Var::named("ea", Ty::u(w)).as_signed(),
        Var::named("eb", Ty::u(w)).as_signed(),
    );
    b.line(format!(
        "// The block's value in units of the long register's LSB 2^{lsb}, floored."
    ));
    let g_k = b.wire(
        "g_k",
        Ty::s(32),
        format!("{} + {} - {}", ea.ext(32), eb.ext(32), k(lsb)),
    );
    let wide = b.wire("g_wide", Ty::s(ww), sum.ext(ww));
    let placed = b.wire(
        "g_placed",
        Ty::s(ww),
        format!(
            "{g_k} < {k0} ? {wide} >>> (-{g_k}) : {wide} <<< {g_k}",
            k0 = k(0)
        ),
    );
    let top = placed.bits(ww - 1, bits - 1);
    let value_of = b.wire(
        "g_value_of",
        Ty::u(1),
        format!(
            "{g_k} > {kb} ? {sum} != {z} : ({top} != {t0} && {top} != {t1})",
            kb = k(bits),
            z = sum.lit(0),
            t0 = top.lit(0),
            t1 = top.lit((1i128 << top.width()) - 1),
        ),
    );
    let value = placed.bits(bits - 1, 0).as_signed();
    let lt = Ty::s(bits);
    let block_value = b.state_reg("block_value_q", lt);
    let block_value_of = b.state_reg("block_value_of_q", Ty::u(1));
    let block_clear = b.state_reg("block_clear_q", Ty::u(1));
    let block_valid = b.state_reg("block_valid_q", Ty::u(1));
    b.text(format!(
        "    always @(posedge clk) begin
        if (rst) begin
            {block_value} <= {zl};
            {block_value_of} <= 1'b0;
            {block_clear} <= 1'b0;
            {block_valid} <= 1'b0;
        end else begin
            {block_valid} <= g_last;
            if (g_last) begin
                {block_value} <= {value};
                {block_value_of} <= {value_of};
                {block_clear} <= clear;
            end
        end
    end
",
        zl = lt.lit(0),
        value = value.ext(bits),
    ));
    super::fpacc_long::long_register(
        b,
        super::fpacc_long::LongRegister {
            width: bits,
            lsb,
            format: &FloatFormat::BINARY32,
            rounding: Rounding::Rne,
            add: block_valid.to_string(),
            clear: block_clear.to_string(),
            value: block_value,
            value_of: Some(block_value_of.to_string()),
            valid_q: "long_valid_q",
        },
    );
}

/// `value` (`width` bits) delayed by `stages` registers named `<name>_d<i>`, cleared by
/// reset; with no stages, a wire `<name>` equal to `value`.
fn delay_line(b: &mut Body, name: &str, stages: u32, value: &str, width: u32) -> Var {
    let ty = Ty::u(width);
    let mut from = b.wire(name, ty, value);
    if stages == 0 {
        return from;
    }
    let mut regs = String::new();
    for i in 1..=stages {
        let d = b.reg(&format!("{name}_d{i}"), ty);
        regs.push_str(&format!("        {d} <= rst ? {} : {from};\n", ty.lit(0)));
        from = d;
    }
    b.text(format!("    always @(posedge clk) begin\n{regs}    end\n"));
    from
}
