//! Reference of `mx_dequant` (docs/mx.md).

use model::mx::{Elem, MxDequantParams};

use super::{Body, GoldenModule, Ty};
use crate::ir::Result;

/// docs/mx.md plainly: each element's value in quanta (`(2^m + man) << (field - 1)`, or
/// `man` for a subnormal, or INT8's integer), its leading one found by a loop, the
/// binary32 exponent `top + X + lsb` checked against the binary32 range, and the bits
/// below the leading one as the mantissa.
pub(crate) fn golden(p: &MxDequantParams) -> Result<GoldenModule> {
    super::accepted(p)?;
    use super::k;
    let e = p.elem;
    let (n, w) = (p.lanes, e.width());
    let mut b = Body::new();
    b.reg("g_mag", Ty::u(40));
    b.reg("g_neg", Ty::u(1));
    b.reg("g_bad", Ty::u(1));
    b.reg("g_top", Ty::u(6));
    let be = b.reg("g_e", Ty::s(12));
    let frac = b.reg("g_frac", Ty::u(64));
    b.reg("g_y", Ty::u(32 * n));
    b.reg("g_uf", Ty::u(1));
    b.reg("g_of", Ty::u(1));
    b.reg("g_nan", Ty::u(1));
    b.line(format!("reg [{}:0] g_code;", w - 1));
    b.line("integer i, j;");
    b.discard(&be.bits(11, 8));
    b.discard(&frac.bits(63, 23));
    // Decode one code (in g_code's low W bits) to a sign and a magnitude in quanta.
    let decode = match e.float_shape() {
        None => "g_neg = g_code[7];
            g_mag = {32'h0, g_code[7] ? -g_code : g_code};
            g_bad = 1'b0;"
            .to_string(),
        Some((eb, m, _)) => {
            let field = format!("g_code[{}:{m}]", w - 2);
            let man = format!("g_code[{}:0]", m - 1);
            let bad = match e {
                Elem::E4m3 => format!(
                    "{field} == {eb}'h{:x} && {man} == {m}'h{:x}",
                    (1 << eb) - 1,
                    (1 << m) - 1
                ),
                Elem::E5m2 => format!("{field} == {eb}'h{:x}", (1 << eb) - 1),
                _ => "1'b0".to_string(),
            };
            format!(
                "g_neg = g_code[{sb}];
            g_bad = {bad};
            if ({field} == {eb}'h0) g_mag = {{{pad}'h0, {man}}};
            else g_mag = {{{pad1}'h0, 1'b1, {man}}} << ({field} - {eb}'h1);",
                sb = w - 1,
                pad = 40 - m,
                pad1 = 39 - m,
            )
        }
    };
    let code_pad = format!("q[{} * i +: {w}]", k(w));
    b.text(format!(
        "    always @* begin
        g_uf = 1'b0;
        g_of = 1'b0;
        g_nan = 1'b0;
        g_top = 6'h0;
        g_e = 12'sh0;
        g_frac = 64'h0;
        g_y = {yw}'h0;
        for (i = {k0}; i < {kn}; i = i + {k1}) begin
            g_code = {code_pad};
            {decode}
            if (scale == 8'hff || g_bad) begin
                g_nan = 1'b1;
                g_y[32 * i +: 32] = 32'h7fc00000;
            end else if (g_mag == 40'h0) begin
                g_y[32 * i +: 32] = 32'h0;
            end else begin
                for (j = 0; j < 40; j = j + 1) if (g_mag[j]) g_top = j[5:0];
                // value = mag * 2^(scale - 127 + lsb); biased exponent top + scale + lsb.
                g_e = $signed({{6'h0, g_top}}) + $signed({{4'h0, scale}}) - 12'sd{neg_lsb};
                g_frac = ({{24'h0, g_mag}} << 23) >> g_top;
                if (g_e < 12'sd1) begin
                    g_uf = 1'b1;
                    g_y[32 * i +: 32] = 32'h0;
                end else if (g_e > 12'sd254) begin
                    g_of = 1'b1;
                    g_y[32 * i +: 32] = {{g_neg, 31'h7f7fffff}};
                end else
                    g_y[32 * i +: 32] = {{g_neg, g_e[7:0], g_frac[22:0]}};
            end
        end
    end
",
        yw = 32 * n,
        k0 = k(0),
        k1 = k(1),
        kn = k(n),
        neg_lsb = -e.lsb_exp(),
    ));
    b.text(super::registered_outputs(&[
        ("y", 32 * n, "g_y"),
        ("uf", 1, "g_uf"),
        ("of", 1, "g_of"),
        ("nan", 1, "g_nan"),
    ]));
    b.add_state(super::registered_output_state(&["y", "uf", "of", "nan"]));
    Ok(b.finish())
}
