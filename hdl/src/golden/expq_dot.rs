//! Reference of `expq_dot` (SPEC.md section 4).

use model::expq::ExpqDotParams;

use super::GoldenModule;
use crate::ir::Result;

/// SPEC.md section 4 plainly: one counter per exponent sum, `+1` or `-1` per nonzero
/// product while idle; a flush starts a walk that adds `c_k * T[k]` (a `case` over the
/// constants) for k = 0, 1, ... and clears each counter; `y` the cycle after the last.
/// The counters, the walk state and the running sum are the RTL's registers, by name.
pub(crate) fn golden(p: &ExpqDotParams) -> Result<GoldenModule> {
    super::accepted(p)?;
    use super::lit;
    use std::fmt::Write as _;
    let (n, cw, ow) = (p.counters(), p.counter_bits(), p.out_bits());
    let iw = p.exp_bits + 1;
    let e = p.exp_bits;
    let tw = p.table_bits() + 1;
    let table = p.table();
    let mut state: Vec<String> = ["walking_q", "walk_index_q", "y_acc_q", "y_q", "out_valid_q"]
        .map(String::from)
        .to_vec();
    let mut s = String::new();
    let _ = writeln!(s, "    reg walking_q, out_valid_q;");
    let _ = writeln!(s, "    reg [{}:0] walk_index_q;", iw - 1);
    let _ = writeln!(s, "    reg [{}:0] y_acc_q, y_q;", ow - 1);
    for k in 0..n {
        let _ = writeln!(s, "    reg [{}:0] count_{k}_q;", cw - 1);
        state.push(format!("count_{k}_q"));
    }
    let _ = writeln!(
        s,
        "    wire g_count_beat = in_valid && !(zw || za) && !walking_q;"
    );
    let _ = writeln!(s, "    wire [{}:0] g_sum = {{1'b0, ew}} + {{1'b0, ea}};", e);
    let _ = writeln!(
        s,
        "    wire [{}:0] g_step = (sw ^ sa) ? {} : {};",
        cw - 1,
        lit(cw, -1),
        lit(cw, 1)
    );
    let _ = writeln!(
        s,
        "    reg [{}:0] g_c;\n    reg [{}:0] g_t;",
        cw - 1,
        tw - 1
    );
    let _ = writeln!(s, "    always @* begin\n        case (walk_index_q)");
    for (k, t) in table.iter().enumerate() {
        let _ = writeln!(
            s,
            "            {}: begin g_c = count_{k}_q; g_t = {}; end",
            lit(iw, k as i128),
            lit(tw, *t as i128)
        );
    }
    let _ = writeln!(
        s,
        "            default: begin g_c = {}; g_t = {}; end\n        endcase\n    end",
        lit(cw, 0),
        lit(tw, 0)
    );
    let _ = writeln!(
        s,
        "    wire [{}:0] g_next = $signed(y_acc_q) + $signed(g_c) * $signed(g_t);",
        ow - 1
    );
    let _ = writeln!(
        s,
        "    wire g_last = walking_q && walk_index_q == {};",
        lit(iw, (n - 1).into())
    );
    let _ = writeln!(s, "    always @(posedge clk) begin\n        if (rst) begin");
    let _ = writeln!(
        s,
        "            walking_q <= 1'b0;\n            out_valid_q <= 1'b0;"
    );
    let _ = writeln!(s, "            walk_index_q <= {};", lit(iw, 0));
    let _ = writeln!(
        s,
        "            y_acc_q <= {};\n            y_q <= {};",
        lit(ow, 0),
        lit(ow, 0)
    );
    for k in 0..n {
        let _ = writeln!(s, "            count_{k}_q <= {};", lit(cw, 0));
    }
    let _ = writeln!(s, "        end else begin");
    let _ = writeln!(s, "            out_valid_q <= g_last;");
    let _ = writeln!(
        s,
        "            if (walking_q) begin
                y_acc_q <= g_next;
                walk_index_q <= g_last ? {z} : walk_index_q + {one};
                if (g_last) begin
                    walking_q <= 1'b0;
                    y_q <= g_next;
                end
            end else begin
                y_acc_q <= {zy};
                if (flush) walking_q <= 1'b1;
            end",
        z = lit(iw, 0),
        one = lit(iw, 1),
        zy = lit(ow, 0)
    );
    for k in 0..n {
        let _ = writeln!(
            s,
            "            if (walking_q && walk_index_q == {kk}) count_{k}_q <= {z};
            else if (g_count_beat && g_sum == {kk}) count_{k}_q <= count_{k}_q + g_step;",
            kk = lit(iw, k.into()),
            z = lit(cw, 0)
        );
    }
    let _ = write!(
        s,
        "        end
    end
    assign y = y_q;
    assign out_valid = out_valid_q;
"
    );
    Ok(GoldenModule { body: s, state })
}
