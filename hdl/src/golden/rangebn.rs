//! Reference of `rangebn` (docs/rangebn.md).

use std::fmt::Write as _;

use model::rangebn::RangeBnParams;

use super::{
    lit, range, registered_output_state, registered_outputs, slit, Body, GoldenModule, Ty, Var,
};
use crate::ir::Result;

/// docs/rangebn.md plainly: the operands of a division picked by a `case` on the
/// channel, computed in one wide unsigned width; the long division (the dividend's low
/// bits brought down from the top of `dq_q`) and the control in one `always` block; per
/// beat one signed multiply, the rounding read from the dropped bits and a clamp.
pub(crate) fn golden(p: &RangeBnParams) -> Result<GoldenModule> {
    super::accepted(p)?;
    let s = p.stats;
    let (c, n, a, bb, pb) = (s.channels, s.in_bits, p.mean_frac, p.cn_bits, p.recip_bits);
    let (sb, cb, rb, kb) = (
        s.sum_bits(),
        s.count_bits(),
        s.range_bits(),
        s.chunks_bits(),
    );
    let lm = p.mean_quot_bits();
    let mw = p.mean_bits();
    let (l, w, cw, iw) = crate::units::rangebn::divider_widths(p);
    let chb = s.chan_bits();
    // One width for every divider operand: D, both dividends' high parts.
    let aw = sb + a + 2;
    let dw = 128 - p.max_divisor().leading_zeros();
    let xw = dw.max(aw).max(kb + bb).max(cb + 1).max(w) + 1;
    let nm = |t: &str, k: u32| {
        if c > 1 {
            format!("{t}_{k}")
        } else {
            t.to_string()
        }
    };
    // The divider's and the control's registers (all reset to 0).
    let control = [
        ("busy_q", 1),
        ("setup_q", 1),
        ("idx_q", iw),
        ("cnt_q", cw),
        ("rem_q", w),
        ("dq_q", l),
        ("dv_q", w),
        ("ovf_q", 1),
        ("neg_q", 1),
        ("pbad_q", 1),
        ("ready_q", 1),
        ("bad_stats_q", 1),
    ];
    let mut b = Body::new();
    for (name, width) in control {
        b.state_reg(name, Ty::u(width));
    }
    if c > 1 {
        b.state_reg("chan_q", Ty::u(chb));
    }
    let regs = [
        ("st_sum", sb, "sum"),
        ("st_count", cb, "count"),
        ("st_range_sum", rb, "range_sum"),
        ("st_chunks", kb, "chunks"),
        ("pend_mean_q", mw, ""),
        ("pend_recip_q", pb, ""),
        ("mean_q", mw, ""),
        ("recip_q", pb, ""),
    ];
    for k in 0..c {
        for (r, width, _) in regs {
            b.state_reg(&nm(r, k), Ty::u(width));
        }
    }

    // The division's channel and its statistics.
    let ch = if iw > 1 {
        format!("idx_q[{}:1]", iw - 1)
    } else {
        unreachable!("2C >= 2 needs two index bits")
    };
    b.line("wire g_recip = idx_q[0];");
    for (g, r, width) in [
        ("g_sum", "st_sum", sb),
        ("g_count", "st_count", cb),
        ("g_range", "st_range_sum", rb),
        ("g_chunks", "st_chunks", kb),
    ] {
        b.reg(g, Ty::u(width));
        let mut t = String::from("    always @* begin\n");
        if c > 1 {
            let _ = writeln!(t, "        case ({ch})");
            for k in 0..c - 1 {
                let _ = writeln!(
                    t,
                    "            {}: {g} = {};",
                    lit(iw - 1, k.into()),
                    nm(r, k)
                );
            }
            let _ = writeln!(t, "            default: {g} = {};", nm(r, c - 1));
            t.push_str("        endcase\n");
        } else {
            let _ = writeln!(t, "        {g} = {r};");
            // One channel: the index's channel bits are always 0.
        }
        t.push_str("    end\n");
        b.text(t);
    }
    if c == 1 {
        b.discard(&Var::named("idx_q", Ty::u(iw)).bits(iw - 1, 1));
    }
    // Mean: a = 2 sum 2^A + count, magnitude |a| or ~a.
    b.line(format!(
        "wire signed [{t}:0] g_a = $signed({{g_sum[{st}], g_sum, {z}}}) + $signed({{{pad}, g_count}});",
        t = aw - 1,
        st = sb - 1,
        z = lit(a + 1, 0),
        pad = lit(aw - cb, 0)
    ));
    b.line(format!("wire g_neg = g_a[{}];", aw - 1));
    b.line(format!(
        "wire [{t}:0] g_mag = g_neg ? ~g_a : g_a;",
        t = aw - 1
    ));
    b.discard(&Var::named("g_mag", Ty::u(aw)).bits(aw - 1, aw - 1));
    let ext = |v: &str, width: u32| format!("{{{}, {v}}}", lit(xw - width, 0));
    b.line(format!(
        "wire [{t}:0] g_d = {cq} * {r} + ({eps} * {k} << {bb});",
        t = xw - 1,
        cq = lit(xw, p.cq().into()),
        r = ext("g_range", rb),
        eps = lit(xw, p.eps.into()),
        k = ext("g_chunks", kb),
    ));
    b.line(format!(
        "wire [{t}:0] g_xhi = g_recip ? {rec} : {mean};",
        t = xw - 1,
        rec = ext(&format!("{{g_chunks, {}}}", lit(bb - 1, 0)), kb + bb - 1),
        mean = ext(&format!("g_mag[{}:{lm}]", aw - 2), aw - 1 - lm),
    ));
    b.line(format!(
        "wire [{t}:0] g_dv = g_recip ? g_d : {cnt};",
        t = xw - 1,
        cnt = ext("{g_count, 1'b0}", cb + 1)
    ));
    b.line("wire g_ovf = g_xhi >= g_dv;");
    b.line(format!(
        "wire g_bad = (g_dv == {}) || (g_recip && g_chunks == {});",
        lit(xw, 0),
        lit(kb, 0)
    ));
    b.discard(&Var::named("g_xhi", Ty::u(xw)).bits(xw - 1, w));
    b.discard(&Var::named("g_dv", Ty::u(xw)).bits(xw - 1, w));
    let dq0 = if l > lm {
        format!("{{g_mag[{}:0], {}}}", lm - 1, lit(l - lm, 0))
    } else {
        format!("g_mag[{}:0]", lm - 1)
    };
    b.line(format!(
        "wire [{t}:0] g_dq0 = g_recip ? {z} : {dq0};",
        t = l - 1,
        z = lit(l, 0)
    ));
    // One restoring step.
    b.line(format!(
        "wire [{w}:0] g_trial = {{rem_q, dq_q[{}]}};",
        l - 1
    ));
    b.line("wire g_fits = g_trial >= {1'b0, dv_q};");
    b.line(format!(
        "wire [{w}:0] g_after = g_fits ? g_trial - {{1'b0, dv_q}} : g_trial;"
    ));
    b.discard(&Var::named("g_after", Ty::u(w + 1)).bits(w, w));
    b.line(format!(
        "wire [{t}:0] g_quot = {{dq_q[{t2}:0], g_fits}};",
        t = l - 1,
        t2 = l - 2
    ));
    b.line(format!(
        "wire [{t}:0] g_qm = ovf_q ? {ones} : g_quot[{t}:0];",
        t = lm - 1,
        ones = lit(lm, (1i128 << lm) - 1)
    ));
    b.line(format!(
        "wire [{t}:0] g_qr = ovf_q ? {ones} : g_quot[{t}:0];",
        t = pb - 1,
        ones = lit(pb, (1i128 << pb) - 1)
    ));
    b.line(format!(
        "wire [{t}:0] g_mean_res = (dv_q == {z}) ? {zm} : neg_q ? ~{{1'b0, g_qm}} : {{1'b0, g_qm}};",
        t = mw - 1,
        z = lit(w, 0),
        zm = lit(mw, 0)
    ));
    b.line(format!(
        "wire [{t}:0] g_recip_res = (dv_q == {z}) ? {zr} : g_qr;",
        t = pb - 1,
        z = lit(w, 0),
        zr = lit(pb, 0)
    ));

    // The beat's channel and the normalisation.
    if c > 1 {
        b.line(format!(
            "wire {}g_chan = clear ? {} : chan_q;",
            range(chb),
            lit(chb, 0)
        ));
    } else {
        b.discard(&Var::named("clear", Ty::u(1)));
    }
    for (g, r, width) in [("g_bmean", "mean_q", mw), ("g_brecip", "recip_q", pb)] {
        b.reg(g, Ty::u(width));
        let mut t = String::from("    always @* begin\n");
        if c > 1 {
            t.push_str("        case (g_chan)\n");
            for k in 0..c - 1 {
                let _ = writeln!(t, "            {}: {g} = {};", lit(chb, k.into()), nm(r, k));
            }
            let _ = writeln!(t, "            default: {g} = {};", nm(r, c - 1));
            t.push_str("        endcase\n");
        } else {
            let _ = writeln!(t, "        {g} = {r};");
        }
        t.push_str("    end\n");
        b.text(t);
    }
    let dxw = n + a + 2;
    let xa = if a > 0 {
        format!("{{x[{t}], x[{t}], x, {}}}", lit(a, 0), t = n - 1)
    } else {
        format!("{{x[{t}], x[{t}], x}}", t = n - 1)
    };
    b.line(format!(
        "wire signed [{t}:0] g_dx = $signed({xa}) - $signed({{g_bmean[{m}], g_bmean}});",
        t = dxw - 1,
        m = mw - 1
    ));
    let tw = dxw + pb + 1;
    let sh = p.shift();
    b.line(format!(
        "wire signed [{t}:0] g_t = g_dx * $signed({{1'b0, g_brecip}});",
        t = tw - 1
    ));
    b.line(format!(
        "wire signed [{t}:0] g_fl = g_t >>> {sh};",
        t = tw - 1
    ));
    b.line(format!("wire [{t}:0] g_fr = g_t[{t}:0];", t = sh - 1));
    let half = lit(sh, 1i128 << (sh - 1));
    let up = if sh == 1 {
        format!("(g_fr == {half}) && g_fl[0]")
    } else {
        format!("(g_fr > {half}) || ((g_fr == {half}) && g_fl[0])")
    };
    b.line(format!("wire g_up = {up};"));
    b.line(format!(
        "wire signed [{tw}:0] g_r = $signed({{g_fl[{t}], g_fl}}) + $signed({{{pad}, g_up}});",
        t = tw - 1,
        pad = lit(tw, 0)
    ));
    let mo = p.out_bits;
    let (ymin, ymax) = (-(1i128 << (mo - 1)), (1i128 << (mo - 1)) - 1);
    // The clamp compares in a width that holds both g_r and the output's limits.
    let kw = (tw + 1).max(mo + 1);
    let rx = if kw > tw + 1 {
        format!("{{{{{}{{g_r[{tw}]}}}}, g_r}}", kw - tw - 1)
    } else {
        "g_r".to_string()
    };
    b.line(format!("wire signed [{t}:0] g_rx = {rx};", t = kw - 1));
    b.line(format!(
        "wire [{m}:0] g_y = (g_rx < {lo}) ? {blo} : (g_rx > {hi}) ? {bhi} : g_rx[{m}:0];",
        m = mo - 1,
        lo = slit(kw, ymin),
        hi = slit(kw, ymax),
        blo = lit(mo, ymin),
        bhi = lit(mo, ymax)
    ));

    // State.
    let mut t = String::new();
    t.push_str("    always @(posedge clk) begin\n        if (rst) begin\n");
    for (name, width) in control {
        let _ = writeln!(t, "            {name} <= {};", lit(width, 0));
    }
    if c > 1 {
        let _ = writeln!(t, "            chan_q <= {};", lit(chb, 0));
    }
    for k in 0..c {
        for (r, width, _) in regs {
            let _ = writeln!(t, "            {} <= {};", nm(r, k), lit(width, 0));
        }
    }
    t.push_str("        end else begin\n");
    if c > 1 {
        let _ = writeln!(
            t,
            "            if (in_valid) chan_q <= (g_chan >= {last}) ? {z} : g_chan + {one};",
            last = lit(chb, (c - 1).into()),
            z = lit(chb, 0),
            one = lit(chb, 1)
        );
    }
    let _ = writeln!(
        t,
        "            if (busy_q && setup_q) begin\n                if (idx_q == {}) begin",
        lit(iw, (2 * c).into())
    );
    t.push_str("                    // Every channel's new values at once.\n");
    for k in 0..c {
        let _ = writeln!(
            t,
            "                    {} <= {};\n                    {} <= {};",
            nm("mean_q", k),
            nm("pend_mean_q", k),
            nm("recip_q", k),
            nm("pend_recip_q", k)
        );
    }
    let _ = write!(
        t,
        "                    ready_q <= 1'b1;
                    bad_stats_q <= bad_stats_q | pbad_q;
                    busy_q <= 1'b0;
                end else begin
                    rem_q <= g_xhi[{wt}:0];
                    dv_q <= g_dv[{wt}:0];
                    dq_q <= g_dq0;
                    cnt_q <= g_recip ? {cr} : {cm};
                    ovf_q <= g_ovf;
                    neg_q <= g_neg;
                    pbad_q <= pbad_q | g_bad;
                    setup_q <= 1'b0;
                end
            end else if (busy_q) begin
                rem_q <= g_after[{wt}:0];
                dq_q <= g_quot;
                cnt_q <= cnt_q - {one};
                if (cnt_q == {zc}) begin
                    idx_q <= idx_q + {ione};
                    setup_q <= 1'b1;
",
        wt = w - 1,
        cr = lit(cw, (pb - 1).into()),
        cm = lit(cw, (lm - 1).into()),
        one = lit(cw, 1),
        zc = lit(cw, 0),
        ione = lit(iw, 1),
    );
    t.push_str("                    case (idx_q)\n");
    for k in 0..c {
        let _ = writeln!(
            t,
            "                        {}: {} <= g_mean_res;\n                        {}: {} <= g_recip_res;",
            lit(iw, (2 * k).into()),
            nm("pend_mean_q", k),
            lit(iw, (2 * k + 1).into()),
            nm("pend_recip_q", k)
        );
    }
    t.push_str("                        default: begin end\n                    endcase\n");
    t.push_str("                end\n            end\n");
    t.push_str("            if (load) begin\n");
    for k in 0..c {
        for (r, width, port) in regs.iter().take(4) {
            let src = if c > 1 {
                format!("{port}[{}:{}]", width * k + width - 1, width * k)
            } else {
                port.to_string()
            };
            let _ = writeln!(t, "                {} <= {src};", nm(r, k));
        }
    }
    t.push_str(
        "                busy_q <= 1'b1;
                setup_q <= 1'b1;
",
    );
    let _ = writeln!(t, "                idx_q <= {};", lit(iw, 0));
    t.push_str(
        "                pbad_q <= 1'b0;
                ready_q <= 1'b0;
            end
        end
    end
",
    );
    b.text(t);
    b.text(registered_outputs(&[("y", mo, "g_y")]));
    b.line("assign ready = ready_q;");
    b.line("assign bad_stats = bad_stats_q;");
    b.add_state(registered_output_state(&["y"]));
    let _ = (n, cb);
    Ok(b.finish())
}
