//! Reference of `range-stats` (docs/rangebn.md).

use std::fmt::Write as _;

use model::rangebn::RangeStatsParams;

use super::{lit, range, Body, GoldenModule, Ty, Var};
use crate::ir::Result;

/// docs/rangebn.md plainly: per channel the base state (zero under `clear`), the update
/// in wires one bit wider than the register (top bit dropped: the registers wrap), and
/// one `always` block in which a valid `clear` zeroes every channel and then the beat's
/// channel (a `case` on it) takes its update.
pub(crate) fn golden(p: &RangeStatsParams) -> Result<GoldenModule> {
    super::accepted(p)?;
    let (c, n, nb) = (p.channels, p.chunk, p.in_bits);
    let (sb, rb, kb, cb, pb, chb) = (
        p.sum_bits(),
        p.range_bits(),
        p.chunks_bits(),
        p.count_bits(),
        p.pos_bits(),
        p.chan_bits(),
    );
    let mut b = Body::new();
    let regs = [
        ("sum_q", sb),
        ("range_sum_q", rb),
        ("chunks_q", kb),
        ("count_q", cb),
        ("min_q", nb),
        ("max_q", nb),
        ("pos_q", pb),
    ];
    let nm = |s: &str, k: u32| {
        if c > 1 {
            format!("{s}_{k}")
        } else {
            s.to_string()
        }
    };
    if c > 1 {
        b.state_reg("chan_q", Ty::u(chb));
        b.line(format!(
            "wire {}g_chan = clear ? {} : chan_q;",
            range(chb),
            lit(chb, 0)
        ));
        b.line(format!(
            "wire {}g_chan_next = (g_chan == {}) ? {} : g_chan + {};",
            range(chb),
            lit(chb, (c - 1).into()),
            lit(chb, 0),
            lit(chb, 1)
        ));
    }
    b.state_reg("out_valid_q", Ty::u(1));
    for k in 0..c {
        for (r, w) in regs {
            b.state_reg(&nm(r, k), Ty::u(w));
        }
        let q = |r: &str| nm(r, k);
        let g = |s: &str| format!("g_{s}{k}");
        b.line(format!("// Channel {k}: base state and update."));
        let base = |b: &mut Body, name: &str, reg: &str, w: u32| {
            b.line(format!(
                "wire {}{} = clear ? {} : {};",
                range(w),
                g(name),
                lit(w, 0),
                q(reg)
            ));
        };
        base(&mut b, "bsum", "sum_q", sb);
        base(&mut b, "brange", "range_sum_q", rb);
        base(&mut b, "bchunks", "chunks_q", kb);
        base(&mut b, "bcount", "count_q", cb);
        base(&mut b, "bpos", "pos_q", pb);
        b.line(format!(
            "wire {f} = ({bpos} == {z});",
            f = g("first"),
            bpos = g("bpos"),
            z = lit(pb, 0)
        ));
        b.line(format!(
            "wire {l} = ({bpos} == {last});",
            l = g("last"),
            bpos = g("bpos"),
            last = lit(pb, (n - 1).into())
        ));
        b.line(format!(
            "wire signed [{t}:0] {mn} = ({f} || $signed(x) < $signed({minq})) ? $signed(x) : $signed({minq});",
            t = nb - 1,
            mn = g("min"),
            f = g("first"),
            minq = q("min_q")
        ));
        b.line(format!(
            "wire signed [{t}:0] {mx} = ({f} || $signed(x) > $signed({maxq})) ? $signed(x) : $signed({maxq});",
            t = nb - 1,
            mx = g("max"),
            f = g("first"),
            maxq = q("max_q")
        ));
        let s = b.wire(
            &g("sum"),
            Ty::s(sb + 1),
            format!(
                "$signed({{{bsum}[{t}], {bsum}}}) + {xe}",
                bsum = g("bsum"),
                t = sb - 1,
                xe = Var::named("x", Ty::s(nb)).ext(sb + 1)
            ),
        );
        b.discard(&s.bits(sb, sb));
        let d = b.wire(
            &g("diff"),
            Ty::s(nb + 1),
            format!(
                "$signed({{{mx}[{t}], {mx}}}) - $signed({{{mn}[{t}], {mn}}})",
                mx = g("max"),
                mn = g("min"),
                t = nb - 1
            ),
        );
        b.discard(&d.bits(nb, nb));
        let wide = |b: &mut Body, name: &str, w: u32, expr: String| {
            let v = b.wire(&g(name), Ty::u(w + 1), expr);
            b.discard(&v.bits(w, w));
        };
        wide(
            &mut b,
            "range",
            rb,
            format!(
                "{{1'b0, {br}}} + {{{pad}{d}}}",
                br = g("brange"),
                pad = if rb + 1 > nb {
                    format!("{}, ", lit(rb + 1 - nb, 0))
                } else {
                    String::new()
                },
                d = d.bits(nb - 1, 0)
            ),
        );
        wide(
            &mut b,
            "chunks",
            kb,
            format!("{{1'b0, {}}} + {}", g("bchunks"), lit(kb + 1, 1)),
        );
        wide(
            &mut b,
            "count",
            cb,
            format!("{{1'b0, {}}} + {}", g("bcount"), lit(cb + 1, 1)),
        );
        wide(
            &mut b,
            "pos",
            pb,
            format!("{{1'b0, {}}} + {}", g("bpos"), lit(pb + 1, 1)),
        );
    }
    // One always block.
    let mut t = String::new();
    t.push_str("    always @(posedge clk) begin\n        if (rst) begin\n");
    if c > 1 {
        let _ = writeln!(t, "            chan_q <= {};", lit(chb, 0));
    }
    let _ = writeln!(t, "            out_valid_q <= 1'b0;");
    for k in 0..c {
        for (r, w) in regs {
            let _ = writeln!(t, "            {} <= {};", nm(r, k), lit(w, 0));
        }
    }
    t.push_str("        end else begin\n            out_valid_q <= in_valid;\n");
    t.push_str("            if (in_valid) begin\n");
    if c > 1 {
        t.push_str("                chan_q <= g_chan_next;\n");
    }
    t.push_str("                if (clear) begin\n");
    for k in 0..c {
        for (r, w) in regs {
            let _ = writeln!(t, "                    {} <= {};", nm(r, k), lit(w, 0));
        }
    }
    t.push_str("                end\n");
    let update = |t: &mut String, k: u32, ind: &str| {
        let g = |s: &str| format!("g_{s}{k}");
        let q = |r: &str| nm(r, k);
        let _ = writeln!(t, "{ind}{} <= {}[{}:0];", q("sum_q"), g("sum"), sb - 1);
        let _ = writeln!(t, "{ind}{} <= {}[{}:0];", q("count_q"), g("count"), cb - 1);
        let _ = writeln!(t, "{ind}{} <= {};", q("min_q"), g("min"));
        let _ = writeln!(t, "{ind}{} <= {};", q("max_q"), g("max"));
        let _ = writeln!(t, "{ind}if ({}) begin", g("last"));
        let _ = writeln!(
            t,
            "{ind}    {} <= {}[{}:0];",
            q("range_sum_q"),
            g("range"),
            rb - 1
        );
        let _ = writeln!(
            t,
            "{ind}    {} <= {}[{}:0];",
            q("chunks_q"),
            g("chunks"),
            kb - 1
        );
        let _ = writeln!(t, "{ind}    {} <= {};", q("pos_q"), lit(pb, 0));
        let _ = writeln!(t, "{ind}end else begin");
        let _ = writeln!(t, "{ind}    {} <= {};", q("range_sum_q"), g("brange"));
        let _ = writeln!(t, "{ind}    {} <= {};", q("chunks_q"), g("bchunks"));
        let _ = writeln!(t, "{ind}    {} <= {}[{}:0];", q("pos_q"), g("pos"), pb - 1);
        let _ = writeln!(t, "{ind}end");
    };
    if c > 1 {
        t.push_str("                case (g_chan)\n");
        for k in 0..c {
            let _ = writeln!(t, "                    {}: begin", lit(chb, k.into()));
            update(&mut t, k, "                        ");
            t.push_str("                    end\n");
        }
        t.push_str("                    default: begin end\n                endcase\n");
    } else {
        update(&mut t, 0, "                ");
    }
    t.push_str("            end\n        end\n    end\n");
    let bus = |r: &str| {
        let parts: Vec<String> = (0..c).rev().map(|k| nm(r, k)).collect();
        if c > 1 {
            format!("{{{}}}", parts.join(", "))
        } else {
            parts[0].clone()
        }
    };
    for (port, r) in [
        ("sum", "sum_q"),
        ("range_sum", "range_sum_q"),
        ("chunks", "chunks_q"),
        ("count", "count_q"),
    ] {
        let _ = writeln!(t, "    assign {port} = {};", bus(r));
    }
    t.push_str("    assign out_valid = out_valid_q;\n");
    b.text(t);
    Ok(b.finish())
}
