//! Reference of `mx_quant` (docs/mx.md).

use model::mx::{MxQuantParams, MxRounding};

use super::{Body, GoldenModule, Ty};
use crate::ir::Result;

/// docs/mx.md plainly: collect the block's beats (in the RTL's `held` and `beat_count`),
/// take the largest exponent, `X = max - 127 - emax` clamped to [-127, 127]; then each
/// element's magnitude in quanta of the element type: the position `p` of its leading
/// one fixes the element binade's quantum `2^step`, the significand is divided by
/// `2^(23 + step - p)` with the block's rounding, multiplied back by `2^step`, clamped
/// to the largest finite value and encoded (subnormal, or leading one -> exponent field,
/// the bits below it -> mantissa).
pub(crate) fn golden(p: &MxQuantParams) -> Result<GoldenModule> {
    super::accepted(p)?;
    use super::k;
    use std::fmt::Write as _;
    let e = p.elem;
    let (n, r, w) = (p.block, p.rnd_bits, e.width());
    let sr = p.stochastic();
    // Drops past these leave 0 in every mode (significands are below 2^24).
    let cap: u32 = if sr { 24 + r } else { 25 };
    let mut s = String::new();
    let _ = writeln!(
        s,
        "    // v / 2^d for a 24-bit significand, d in 17..={cap}, rounded per --rounding."
    );
    let _ = writeln!(
        s,
        "    function [23:0] g_div;\n        input [23:0] v;\n        input [11:0] d;"
    );
    match p.rounding {
        MxRounding::Sr => {
            let _ = writeln!(
                s,
                "        input [{rm1}:0] r_bits;
        reg [{top}:0] g_frac;
        reg [{rm1}:0] g_unused_low;
        begin
            g_frac = ({{v, {r}'h0}} >> d) + {{24'h0, r_bits}};
            {{g_div, g_unused_low}} = g_frac;
        end",
                rm1 = r - 1,
                top = 23 + r,
            );
        }
        MxRounding::Rne | MxRounding::Away => {
            let up = if p.rounding == MxRounding::Rne {
                "g_rest > g_half || (g_rest == g_half && g_div[0])"
            } else {
                "g_rest >= g_half"
            };
            let _ = writeln!(
                s,
                "        reg [24:0] g_rest, g_half;
        begin
            g_div = v >> d;
            g_rest = {{1'b0, v}} - ({{1'b0, g_div}} << d);
            g_half = 25'h1 << (d - 12'h1);
            if ({up}) g_div = g_div + 24'h1;
        end"
            );
        }
    }
    let _ = writeln!(s, "    endfunction");
    let mut b = Body::new();
    b.text(s);
    collect(&mut b, p);
    b.line(format!("reg [7:0] g_field [0:{}];", n - 1));
    b.line(format!("reg [23:0] g_sig [0:{}];", n - 1));
    b.reg("g_nan", Ty::u(1));
    let sx = b.reg("g_sx", Ty::s(11));
    b.reg("g_scale", Ty::u(8));
    b.reg("g_p", Ty::s(12));
    b.reg("g_step", Ty::s(12));
    b.reg("g_d", Ty::s(12));
    b.reg("g_mag", Ty::u(40));
    let float = e.float_shape().is_some();
    if float {
        b.reg("g_top", Ty::u(6));
    }
    let code = b.reg("g_code", Ty::u(40));
    b.reg("g_q", Ty::u(w * n));
    b.line(if float { "integer i, j;" } else { "integer i;" });
    b.discard(&code.bits(39, w));
    b.discard(&sx.bits(10, 8));
    let rnd = if sr && n * r == 1 {
        ", rnd".to_string() // a one-bit port has no bits to select
    } else if sr {
        format!(", rnd[{} * i +: {r}]", k(r))
    } else {
        String::new()
    };
    let lsb = e.lsb_exp();
    let max_int = e.max_int();
    // The element's leading-one position in quanta, its binade quantum and the drop.
    let (step, encode) = match e.float_shape() {
        None => (
            "g_step = 12'sd0;".to_string(),
            "g_code = {32'h0, g_x[32 * i + 31] ? -g_mag[7:0] : g_mag[7:0]};".to_string(),
        ),
        Some((_, m, _)) => (
            format!("g_step = g_p > 12'sd{m} ? g_p - 12'sd{m} : 12'sd0;"),
            format!(
                "// Subnormal: the magnitude itself; else leading one -> field, bits below -> mantissa.
            if (g_mag < 40'd{sub}) g_code = g_mag;
            else begin
                for (j = 0; j < 40; j = j + 1) if (g_mag[j]) g_top = j[5:0];
                g_code = ({{34'h0, g_top}} - 40'd{m} + 40'd1) << {m} | ((g_mag >> (g_top - 6'd{m})) & 40'd{mask});
            end
            if (g_x[32 * i + 31] && g_mag != 40'h0) g_code = g_code | 40'd{signbit};",
                sub = 1u64 << m,
                mask = (1u64 << m) - 1,
                signbit = 1u64 << (w - 1),
            ),
        ),
    };
    b.text(format!(
        "    always @* begin
        g_nan = 1'b0;
        for (i = {k0}; i < {kn}; i = i + {k1}) if (g_x[{k32} * i + {k23} +: 8] == 8'hff) g_nan = 1'b1;
    end
",
        k0 = k(0),
        k1 = k(1),
        k23 = k(23),
        k32 = k(32),
        kn = k(n),
    ));
    // The largest exponent field, halves first (a NaN or infinity counts as 254: the
    // block is NaN then and its maximum unused). It and the NaN flag are cut points.
    let max = max_tree(&mut b, 0, n);
    b.cut_wire("max_field", Ty::u(8), max);
    b.cut_wire("nan_block", Ty::u(1), "g_nan");
    b.text(format!(
        "    always @* begin
        {init_top}for (i = {k0}; i < {kn}; i = i + {k1}) begin
            // Zero and subnormals have field 0; NaN and infinity field 255.
            g_field[i] = g_x[{k32} * i + {k23} +: 8];
            g_sig[i] = {{1'b1, g_x[{k32} * i +: 23]}};
        end
        // X = floor(log2 max) - emax, clamped; an all-zero block clamps to -127 (byte 0).
        g_sx = $signed({{3'h0, max_field}}) - 11'sd{bias_emax};
        if (g_sx < -11'sd127) g_sx = -11'sd127;
        if (g_sx > 11'sd127) g_sx = 11'sd127;
        g_sx = g_sx + 11'sd127;
        g_scale = nan_block ? 8'hff : g_sx[7:0];
        for (i = {k0}; i < {kn}; i = i + {k1}) begin
            // |x_i| / 2^X in quanta 2^lsb: leading one at p = field - byte - lsb.
            g_p = $signed({{4'h0, g_field[i]}}) - $signed({{4'h0, g_sx[7:0]}}) + 12'sd{neg_lsb};
            {step}
            g_d = 12'sd23 + g_step - g_p;
            if (g_d > 12'sd{cap}) g_d = 12'sd{cap};
            g_mag = {{16'h0, g_div(g_sig[i], g_d{rnd})}} << g_step;
            if (g_field[i] == 8'h0) g_mag = 40'h0;
            if (g_mag > 40'd{max_int}) g_mag = 40'd{max_int};
            {encode}
            g_q[{kw} * i +: {w}] = nan_block ? {w}'h0 : g_code[{wm1}:0];
        end
    end
",
        k0 = k(0),
        k1 = k(1),
        k23 = k(23),
        k32 = k(32),
        kn = k(n),
        kw = k(w),
        wm1 = w - 1,
        bias_emax = 127 + e.emax(),
        neg_lsb = -lsb,
        init_top = if float { "g_top = 6'h0;\n        " } else { "" },
    ));
    // The outputs' next values are cut points too.
    b.cut_wire("scale_next", Ty::u(8), "g_scale");
    b.cut_wire("q_next", Ty::u(w * n), "g_q");
    b.text(super::registered_outputs_on(
        "g_last",
        &[("scale", 8, "scale_next"), ("q", w * n, "q_next")],
    ));
    b.add_state(super::registered_output_state(&["scale", "q"]));
    Ok(b.finish())
}

/// The largest exponent field of elements `lo..hi` as wires `g_f<i>` (each element's,
/// 254 for NaN or infinity) and `g_m<lo>_<hi>` (a range's: the larger of its two halves);
/// returns the name of the range's.
fn max_tree(b: &mut Body, lo: u32, hi: u32) -> String {
    if hi - lo == 1 {
        let name = format!("g_f{lo}");
        let field = format!("g_x[{}:{}]", 32 * lo + 30, 32 * lo + 23);
        b.line(format!(
            "wire [7:0] {name} = {field} == 8'hff ? 8'hfe : {field};"
        ));
        return name;
    }
    let mid = lo + (hi - lo) / 2;
    let (l, r) = (max_tree(b, lo, mid), max_tree(b, mid, hi));
    let name = format!("g_m{lo}_{hi}");
    b.line(format!("wire [7:0] {name} = {l} < {r} ? {r} : {l};"));
    name
}

/// The whole block `g_x` and its last beat `g_last`: earlier beats wait in `held`, the
/// newest beat on top; `beat_count` counts a block's beats.
fn collect(b: &mut Body, p: &MxQuantParams) {
    let beats = p.beats_per_block();
    let (last, last_state) = super::block_last(beats);
    b.text(last);
    b.add_state(last_state);
    let block = Ty::u(32 * p.block);
    if beats == 1 {
        b.wire("g_x", block, "x");
        return;
    }
    let lane_bits = 32 * p.lanes();
    let held = b.state_reg("held", Ty::u(lane_bits * (beats - 1)));
    let shifted = if beats == 2 {
        "x".to_string()
    } else {
        format!("{{x, {}}}", held.bits(held.width() - 1, lane_bits))
    };
    b.line(format!(
        "always @(posedge clk) if (in_valid) {held} <= {shifted};"
    ));
    b.wire("g_x", block, format!("{{x, {held}}}"));
}
