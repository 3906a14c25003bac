//! Reference of `bfp_add` (docs/bfp.md).

use model::bfp::{BfpAddParams, BfpRounding};

use super::{k, GoldenModule, Ty, Var};
use crate::ir::Result;

/// docs/bfp.md plainly: one function rounds `v / 2^d` (RNE or RZ on the magnitude,
/// or SR: floor after adding the random bits), one loop over the elements aligns, adds,
/// checks the range, renormalises once and clamps.
pub(crate) fn golden(p: &BfpAddParams) -> Result<GoldenModule> {
    super::accepted(p)?;
    use super::{lit, slit};
    use std::fmt::Write as _;
    let (mb, n, e, r) = (p.mant_bits, p.block, p.exp_bits, p.rnd_bits);
    let w = mb + 1; // a sum of two m-bit mantissas
    let sr = p.rounding == BfpRounding::Sr;
    // Shift distances are clamped where the result stops changing: w for RNE and RZ
    // (|v| <= 2^(w-1)), w + r for SR (every bit of v * 2^r shifted out).
    let cap = if sr { w + r } else { w };
    let dw = 32 - cap.leading_zeros() + 1;
    // The exponent difference, wide enough for both the difference and the cap.
    let gd = Ty::u((e + 1).max(dw));
    let (big_e, small_e) = (
        Var::named("g_big_e", Ty::s(e)),
        Var::named("g_small_e", Ty::s(e)),
    );
    let qmax = super::pow2(mb - 1) - 1;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "    // v / 2^d, rounded as --rounding says; d is at most {cap}."
    );
    let _ = writeln!(s, "    function signed [{}:0] g_div;", w - 1);
    let _ = writeln!(s, "        input signed [{}:0] v;", w - 1);
    let _ = writeln!(s, "        input [{}:0] d;", dw - 1);
    if sr {
        let _ = writeln!(s, "        input [{}:0] r_bits;", r - 1);
        // floor(v * 2^r / 2^d) + rnd, then floor by 2^r: the kept bits are exact modulo
        // 2^(w+r), and the fraction below them is dropped.
        let _ = writeln!(s, "        reg signed [{}:0] g_wide;", w + r - 1);
        let _ = writeln!(s, "        reg [{}:0] g_unused_frac;", r - 1);
        let _ = writeln!(
            s,
            "        begin
            g_wide = ($signed({{v, {r}'h0}}) >>> d) + $signed({{{w}'h0, r_bits}});
            {{g_div, g_unused_frac}} = g_wide;
        end"
        );
    } else {
        let rne = p.rounding == BfpRounding::Rne;
        if rne {
            let _ = writeln!(s, "        reg [{}:0] g_m, g_quo, g_rem, g_half;", w - 1);
        } else {
            let _ = writeln!(s, "        reg [{}:0] g_m, g_quo;", w - 1);
        }
        let up = if rne {
            format!(
                "g_rem = g_m - (g_quo << d);
            g_half = d == {d0} ? {z} : {one} << (d - {d1});
            if (d != {d0} && (g_rem > g_half || (g_rem == g_half && g_quo[0]))) g_quo = g_quo + {one};",
                d0 = lit(dw, 0),
                d1 = lit(dw, 1),
                z = lit(w, 0),
                one = lit(w, 1),
            )
        } else {
            "// toward zero: the remainder is dropped".to_string()
        };
        let _ = writeln!(
            s,
            "        begin
            g_m = v[{wm1}] ? -v : v;
            g_quo = g_m >> d;
            {up}
            g_div = v[{wm1}] ? -g_quo : g_quo;
        end",
            wm1 = w - 1,
        );
    }
    let _ = writeln!(s, "    endfunction");
    let _ = writeln!(
        s,
        "    reg [{}:0] g_e;\n    reg [{}:0] g_q;",
        e - 1,
        mb * n - 1
    );
    let _ = writeln!(s, "    reg signed [{}:0] g_big_e, g_small_e;", e - 1);
    let _ = writeln!(s, "    reg [{}:0] g_big_q, g_small_q;", mb * n - 1);
    let _ = writeln!(s, "    reg {}g_d;", gd.decl());
    let _ = writeln!(s, "    reg [{}:0] g_dc;", dw - 1);
    let _ = writeln!(s, "    reg signed [{}:0] g_sum [0:{}];", w - 1, n - 1);
    let _ = writeln!(s, "    reg g_over;");
    let _ = writeln!(s, "    integer i;");
    let rnd = |half: u32| {
        if sr {
            format!(", rnd[{} * i + {} +: {r}]", k(2 * r), k(r * half))
        } else {
            String::new()
        }
    };
    // Element i of a block, sign-extended to w bits.
    let elem = |blk: &str| {
        format!(
            "$signed({{{blk}[{m} * i + {mm1}], {blk}[{m} * i +: {mb}]}})",
            m = k(mb),
            mm1 = k(mb - 1)
        )
    };
    let _ = write!(
        s,
        "    always @* begin
        if ($signed(ea) >= $signed(eb)) begin
            g_big_e = ea; g_big_q = qa; g_small_e = eb; g_small_q = qb;
        end else begin
            g_big_e = eb; g_big_q = qb; g_small_e = ea; g_small_q = qa;
        end
        g_d = {big_x} - {small_x};
        g_dc = g_d > {dmax} ? {dcap} : g_d[{dm}:0];
        g_over = 1'b0;
        for (i = {k0}; i < {kn}; i = i + {k1}) begin
            g_sum[i] = {big} + g_div({small}, g_dc{r0});
            if (g_sum[i] > {qmax} || g_sum[i] < {qmin}) g_over = 1'b1;
        end
        if (g_over && g_big_e != {emax}) begin
            g_e = g_big_e + {one_e};
            for (i = {k0}; i < {kn}; i = i + {k1}) g_sum[i] = g_div(g_sum[i], {one_d}{r1});
        end else begin
            g_e = g_big_e;
        end
        for (i = {k0}; i < {kn}; i = i + {k1})
            g_q[{m} * i +: {mb}] = g_sum[i] > {qmax} ? {qmax_m} : g_sum[i] < {qmin} ? {qmin_m} : g_sum[i][{mm1}:0];
    end
",
        big_x = big_e.ext(gd.width),
        small_x = small_e.ext(gd.width),
        dm = dw - 1,
        dmax = gd.lit(cap.into()),
        dcap = lit(dw, cap.into()),
        k0 = k(0),
        k1 = k(1),
        kn = k(n),
        m = k(mb),
        big = elem("g_big_q"),
        small = elem("g_small_q"),
        qmax = slit(w, qmax),
        qmin = slit(w, -qmax),
        qmax_m = lit(mb, qmax),
        qmin_m = lit(mb, -qmax),
        mm1 = mb - 1,
        emax = lit(e, super::pow2(e - 1) - 1),
        one_e = lit(e, 1),
        one_d = lit(dw, 1),
        r0 = rnd(0),
        r1 = rnd(1),
    );
    s += &super::registered_outputs(&[("e", e, "g_e"), ("q", mb * n, "g_q")]);
    Ok(GoldenModule {
        body: s,
        state: super::registered_output_state(&["e", "q"]),
        cuts: Vec::new(),
        children: String::new(),
        scope: None,
    })
}
