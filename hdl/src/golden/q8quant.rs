//! Reference of `q8-quant` (docs/q8quant.md).

use std::fmt::Write as _;

use model::q8quant::Q8QuantParams;

use super::{lit, registered_output_state, registered_outputs, GoldenModule, Ty};
use crate::ir::Result;

/// docs/q8quant.md plainly: one `always` block for the load and the long division (the
/// dividend `(2^b - 1) << (P - b)` as a constant, its bit `cnt_q` brought down each
/// cycle), then per lane the product in one signed multiply, the rounding read from the
/// fraction bits and the clamp, all in wires.
pub(crate) fn golden(p: &Q8QuantParams) -> Result<GoldenModule> {
    super::accepted(p)?;
    let (n, b, l, pb) = (p.in_bits, p.bits, p.lanes, p.recip_bits);
    let f = p.recip_frac();
    let cw = crate::units::q8quant::count_bits(pb);
    let mut body = super::Body::new();
    for (name, w) in [
        ("recip_q", pb),
        ("lo_q", n),
        ("busy_q", 1),
        ("cnt_q", cw),
        ("rem_q", n),
        ("quo_q", pb - 1),
        ("div_q", n),
        ("pend_lo_q", n),
        ("ready_q", 1),
        ("bad_range_q", 1),
    ] {
        body.state_reg(name, Ty::u(w));
    }
    let dividend = i128::from(p.qmax()) << f;
    body.line(format!(
        "wire [{}:0] g_dividend = {};",
        pb - 1,
        lit(pb, dividend)
    ));
    body.line(format!(
        "wire signed [{n}:0] g_range = $signed({{hi[{t}], hi}}) - $signed({{lo[{t}], lo}});",
        t = n - 1
    ));
    body.line(format!(
        "wire g_good = g_range > {};",
        super::slit(n + 1, 0)
    ));
    body.line("wire g_bit = g_dividend[cnt_q];");
    body.line(format!("wire [{n}:0] g_trial = {{rem_q, g_bit}};"));
    body.line("wire g_fits = g_trial >= {1'b0, div_q};");
    body.line(format!(
        "wire [{n}:0] g_after = g_fits ? g_trial - {{1'b0, div_q}} : g_trial;"
    ));
    body.discard(&super::Var::named("g_after", Ty::u(n + 1)).bits(n, n));
    let mut s = String::new();
    let _ = write!(
        s,
        "    always @(posedge clk) begin
        if (rst) begin
            recip_q <= {zp}; lo_q <= {zn}; busy_q <= 1'b0; cnt_q <= {zc};
            rem_q <= {zn}; quo_q <= {zq}; div_q <= {zn}; pend_lo_q <= {zn};
            ready_q <= 1'b0; bad_range_q <= 1'b0;
        end else begin
            // A running division: one quotient bit; the last one ends it.
            if (busy_q) begin
                if (cnt_q == {zc}) begin
                    recip_q <= {{quo_q, g_fits}};
                    lo_q <= pend_lo_q;
                    ready_q <= 1'b1;
                    busy_q <= 1'b0;
                end else begin
                    busy_q <= 1'b1;
                end
                rem_q <= g_after[{nt}:0];
                quo_q <= {{quo_q[{qt}:0], g_fits}};
                cnt_q <= cnt_q - {one};
            end
            // load wins over the step above.
            if (load) begin
                if (g_good) begin
                    busy_q <= 1'b1;
                    cnt_q <= {last};
                    rem_q <= {zn};
                    quo_q <= {zq};
                    div_q <= g_range[{nt}:0];
                    pend_lo_q <= lo;
                    ready_q <= 1'b0;
                end else begin
                    busy_q <= 1'b0;
                    recip_q <= {zp};
                    lo_q <= lo;
                    ready_q <= 1'b1;
                    bad_range_q <= 1'b1;
                end
            end
        end
    end
",
        zp = lit(pb, 0),
        zn = lit(n, 0),
        zc = lit(cw, 0),
        zq = lit(pb - 1, 0),
        one = lit(cw, 1),
        last = lit(cw, (pb - 1).into()),
        nt = n - 1,
        qt = pb - 3,
    );
    body.text(s);
    // t = (x - lo) * recip: (N + 1) + (P + 1) bits, signed.
    let tw = n + pb + 2;
    let mut qs = Vec::new();
    for lane in 0..l {
        let g = |s: &str| format!("g_{s}{lane}");
        body.line(format!("// Lane {lane}."));
        body.line(format!(
            "wire signed [{n}:0] {d} = $signed({{x[{top}], x[{top}:{bot}]}}) - $signed({{lo_q[{t}], lo_q}});",
            d = g("d"),
            top = n * lane + n - 1,
            bot = n * lane,
            t = n - 1
        ));
        body.line(format!(
            "wire signed [{tt}:0] {t} = {d} * $signed({{1'b0, recip_q}});",
            tt = tw - 1,
            t = g("t"),
            d = g("d")
        ));
        body.line(format!(
            "wire signed [{tt}:0] {fl} = {t} >>> {f};",
            tt = tw - 1,
            fl = g("fl"),
            t = g("t")
        ));
        let up = if p.sr() {
            let r = p.rnd_bits;
            // A one-bit `rnd` port (one lane, R = 1) is a scalar: no part select.
            let rnd = if r * p.lanes == 1 {
                "rnd".to_string()
            } else {
                format!("rnd[{}:{}]", r * lane + r - 1, r * lane)
            };
            format!("{t}[{f1}:{fb}] > {rnd}", t = g("t"), f1 = f - 1, fb = f - r,)
        } else {
            body.line(format!(
                "wire [{f1}:0] {fr} = {t}[{f1}:0];",
                f1 = f - 1,
                fr = g("fr"),
                t = g("t")
            ));
            let tie = format!(
                "(({fr} == {half}) && {fl}[0])",
                fr = g("fr"),
                half = lit(f, 1i128 << (f - 1)),
                fl = g("fl")
            );
            if f == 1 {
                // One fraction bit: it is the half; nothing lies above it.
                tie
            } else {
                format!("({} > {}) || {tie}", g("fr"), lit(f, 1i128 << (f - 1)))
            }
        };
        body.line(format!("wire {} = {up};", g("up")));
        body.line(format!(
            "wire signed [{tw}:0] {r} = $signed({{{fl}[{tt}], {fl}}}) + $signed({{{pad}'h0, {u}}});",
            r = g("r"),
            fl = g("fl"),
            tt = tw - 1,
            pad = tw,
            u = g("up")
        ));
        let m = i128::from(p.qmax());
        body.line(format!(
            "wire [{b1}:0] {q} = ({r} < {z}) ? {b0} : ({r} > {mx}) ? {bm} : {r}[{b1}:0];",
            b1 = b - 1,
            q = g("q"),
            r = g("r"),
            z = super::slit(tw + 1, 0),
            mx = super::slit(tw + 1, m),
            b0 = lit(b, 0),
            bm = lit(b, m)
        ));
        qs.push(g("q"));
    }
    let packed = format!(
        "{{{}}}",
        qs.iter().rev().cloned().collect::<Vec<_>>().join(", ")
    );
    body.text(registered_outputs(&[("q", b * l, &packed)]));
    body.line("assign ready = ready_q;");
    body.line("assign bad_range = bad_range_q;");
    body.add_state(registered_output_state(&["q"]));
    Ok(body.finish())
}
