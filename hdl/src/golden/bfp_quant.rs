//! Reference of `bfp_quant` (docs/bfp.md).

use model::bfp::{BfpQuantParams, BfpRounding};

use super::{Body, GoldenModule, Ty};
use crate::ir::Result;

/// docs/bfp.md plainly: collect the block's beats (in the RTL's `held` and
/// `beat_count`), decode every element, take the largest exponent, then each mantissa is
/// its significand divided by `2^(23 + E_s - e)` with the block's rounding, clamped to
/// the width `mode` selects, and signed.
pub(crate) fn golden(p: &BfpQuantParams) -> Result<GoldenModule> {
    super::accepted(p)?;
    use super::k;
    use std::fmt::Write as _;
    let (mb, n, w, r) = (p.mant_bits, p.block, p.exp_bits, p.rnd_bits);
    let sr = p.stochastic();
    // Shifts past these leave 0 in every mode (significands are below 2^24).
    let cap: u32 = if sr { 24 + r } else { 25 };
    let mut s = String::new();
    let _ = writeln!(
        s,
        "    // |x| / 2^d for a 24-bit significand, d at most {cap}, rounded per --rounding."
    );
    let _ = writeln!(
        s,
        "    function [23:0] g_div;\n        input [23:0] v;\n        input [8:0] d;"
    );
    match p.rounding {
        BfpRounding::Sr => {
            let _ = writeln!(
                s,
                "        input [{rm1}:0] r_bits;
        reg [{top}:0] g_frac;
        reg [{rm1}:0] g_unused_low;
        begin
            g_frac = ({{v, {r}'h0}} >> d) + {{24'h0, r_bits}};
            {{g_div, g_unused_low}} = g_frac[{top}:0];
        end",
                rm1 = r - 1,
                top = 23 + r,
            );
        }
        BfpRounding::Rne => {
            let _ = writeln!(
                s,
                "        reg [24:0] g_rest, g_half;
        begin
            g_div = v >> d;
            g_rest = {{1'b0, v}} - ({{1'b0, g_div}} << d);
            g_half = 25'h1 << (d - 9'h1);
            if (g_rest > g_half || (g_rest == g_half && g_div[0])) g_div = g_div + 24'h1;
        end"
            );
        }
        BfpRounding::Rz => {
            let _ = writeln!(s, "        begin\n            g_div = v >> d;\n        end");
        }
    }
    let _ = writeln!(s, "    endfunction");
    let mut b = Body::new();
    b.text(s);
    collect(&mut b, p);
    width_constants(&mut b, p);
    let (byte, sig) = (Ty::u(8), Ty::u(24));
    b.line(format!("reg {}g_field [0:{}];", byte.decl(), n - 1));
    b.line(format!("reg {}g_sig [0:{}];", sig.decl(), n - 1));
    b.reg("g_max", byte);
    b.reg("g_any", Ty::u(1));
    b.reg("g_inv", Ty::u(1));
    let hbfp = p.exp_rule == model::bfp::ExpRule::Hbfp;
    if hbfp {
        b.reg("g_pow2", Ty::u(1));
    }
    let d = b.reg("g_d", Ty::u(9));
    b.reg("g_mag", sig);
    let e = b.reg("g_e", Ty::u(w));
    b.reg("g_q", Ty::u(mb * n));
    b.line("integer i;");
    let rnd = if sr && n * r == 1 {
        ", rnd".to_string() // a one-bit port has no bits to select
    } else if sr {
        format!(", rnd[{} * i +: {r}]", k(r))
    } else {
        String::new()
    };
    b.text(format!(
        "    always @* begin
        g_any = 1'b0;
        g_inv = 1'b0;
        g_max = 8'h0;
        for (i = {k0}; i < {kn}; i = i + {k1}) begin
            // Zero and subnormals are zero; NaN and infinity the largest finite value.
            g_field[i] = g_x[{k32} * i + {k23} +: 8];
            g_sig[i] = {{1'b1, g_x[{k32} * i +: 23]}};
            if (g_field[i] == 8'hff) begin
                g_inv = 1'b1;
                g_field[i] = 8'hfe;
                g_sig[i] = 24'hffffff;
            end
            if (g_field[i] != 8'h0) begin
                g_any = 1'b1;
                if (g_field[i] > g_max) g_max = g_field[i];
            end
        end
{rule}        g_e = g_any ? {{{epad}'h0, g_max}} - g_offset{e_pow2} : {emin};
        for (i = {k0}; i < {kn}; i = i + {k1}) begin
            // |x_i| / 2^E_s = sig * 2^(field - 127 - 23 - E_s) = sig / 2^(max - field + 25 - m{d_note}).
            g_d = {{1'b0, g_max - g_field[i]}} + g_base{d_pow2};
            if (g_d > {capd}) g_d = {capd};
            g_mag = g_field[i] == 8'h0 ? 24'h0 : g_div(g_sig[i], g_d{rnd});
            if (g_mag > g_qmax) g_mag = g_qmax;
            g_q[{m} * i +: {mb}] = g_x[{k32} * i + {k31}] ? -g_mag[{mm1}:0] : g_mag[{mm1}:0];
        end
    end
",
        k0 = k(0),
        k1 = k(1),
        k23 = k(23),
        k31 = k(31),
        k32 = k(32),
        kn = k(n),
        m = k(mb),
        epad = w - 8,
        emin = e.lit(-super::pow2(w - 1)),
        capd = d.lit(cap.into()),
        mm1 = mb - 1,
        rule = if hbfp {
            format!(
                "        // --exp-rule hbfp: E_s = ceil(log2 max|x|) - (m - 1), which is one less than
        // floor(log2 max|x|) - (m - 2) when every largest-exponent magnitude is a power of two.
        g_pow2 = 1'b1;
        for (i = {k0}; i < {kn}; i = i + {k1})
            if (g_field[i] == g_max && g_sig[i][22:0] != 23'h0) g_pow2 = 1'b0;
",
                k0 = k(0),
                k1 = k(1),
                kn = k(n)
            )
        } else {
            "        // E_s = (largest exponent) - (m - 2); an all-zero block gets the minimum.\n"
                .to_string()
        },
        e_pow2 = if hbfp {
            format!(" - {{{}'h0, g_pow2}}", w - 1)
        } else {
            String::new()
        },
        d_pow2 = if hbfp { " - {8'h0, g_pow2}" } else { "" },
        d_note = if hbfp { " - pow2" } else { "" },
    ));
    b.text(super::registered_outputs_on(
        "g_last",
        &[("e", w, "g_e"), ("q", mb * n, "g_q"), ("inv", 1, "g_inv")],
    ));
    b.add_state(super::registered_output_state(&["e", "q", "inv"]));
    Ok(b.finish())
}

/// The whole block `g_x` and its last beat `g_last`: earlier beats wait in `held`, the
/// newest beat on top; `beat_count` counts a block's beats.
fn collect(b: &mut Body, p: &BfpQuantParams) {
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

/// The constants of the element width: `g_base = 25 - width`, `g_offset = 125 +
/// width` (for `E_s`) and `g_qmax = 2^(width-1) - 1`, chosen by `mode` with `--modes`
/// (indexes past the list select the widest).
fn width_constants(b: &mut Body, p: &BfpQuantParams) {
    let widths = p.modes.map_or(vec![p.mant_bits], |m| m.list());
    let sel = Ty::u(p.modes.map_or(1, |m| m.select_bits()));
    let pick = |ty: Ty, of: &dyn Fn(u32) -> i128| {
        let widest = ty.lit(of(*widths.last().expect("one width or more")));
        widths
            .iter()
            .enumerate()
            .rev()
            .skip(1)
            .fold(widest, |rest, (k, &width)| {
                format!(
                    "mode == {} ? {} : {rest}",
                    sel.lit(k as i128),
                    ty.lit(of(width))
                )
            })
    };
    let (base, offset, qmax) = (Ty::u(9), Ty::u(p.exp_bits), Ty::u(24));
    b.wire("g_base", base, pick(base, &|v| 25 - i128::from(v)));
    b.wire("g_offset", offset, pick(offset, &|v| 125 + i128::from(v)));
    b.wire("g_qmax", qmax, pick(qmax, &|v| super::pow2(v - 1) - 1));
}
