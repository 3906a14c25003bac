//! Reference of `mac` (SPEC.md section 1).

use model::mac::{MacParams, Overflow};

use super::GoldenModule;
use crate::ir::Result;

/// The golden: SPEC.md section 1 in one `always` block, the exact sum at full width
/// compared with the accumulator's limits.
pub(crate) fn golden(p: &MacParams) -> Result<GoldenModule> {
    super::accepted(p)?;
    use super::{lit, range, slit};
    use std::fmt::Write as _;
    let (n, a) = (p.in_bits, p.acc_bits);
    let w = p.sum_bits();
    let sg = |x: &str| {
        if p.signed {
            format!("$signed({x})")
        } else {
            x.to_string()
        }
    };
    // The pipeline registers keep the generated RTL's names (they are matched state):
    // operands at depth 1, the full product at depth 2.
    let mut s = String::new();
    let (mut v, mut c, mut prod) = (
        "in_valid".to_string(),
        "clear".to_string(),
        format!("{} * {}", sg("a"), sg("b")),
    );
    let mut state: Vec<String> = vec!["acc_q".into(), "ovf_q".into(), "out_valid_q".into()];
    if p.pipeline >= 1 {
        let _ = writeln!(
            s,
            "    // Pipeline depth {}: the generated unit's registers.",
            p.pipeline
        );
        let _ = writeln!(s, "    reg valid_1, clear_1;");
        let _ = writeln!(s, "    reg {r}a_1, b_1;", r = range(n));
        let mut regs = String::from(
            "        valid_1 <= rst ? 1'b0 : in_valid;\n        clear_1 <= clear;\n        a_1 <= a;\n        b_1 <= b;\n",
        );
        (v, c, prod) = (
            "valid_1".into(),
            "clear_1".into(),
            format!("{} * {}", sg("a_1"), sg("b_1")),
        );
        state.extend(["valid_1", "clear_1", "a_1", "b_1"].map(String::from));
        if p.pipeline >= 2 {
            let _ = writeln!(s, "    reg valid_2, clear_2;");
            let _ = writeln!(s, "    reg {}prod_2;", range(2 * n));
            regs += &format!("        valid_2 <= rst ? 1'b0 : valid_1;\n        clear_2 <= clear_1;\n        prod_2 <= {prod};\n");
            (v, c, prod) = ("valid_2".into(), "clear_2".into(), sg("prod_2"));
            state.extend(["valid_2", "clear_2", "prod_2"].map(String::from));
        }
        let _ = write!(s, "    always @(posedge clk) begin\n{regs}    end\n");
    }
    let d = [v, c];
    let (lo, hi) = (
        model::int::min_value(a, p.signed),
        model::int::max_value(a, p.signed),
    );
    let _ = writeln!(s, "    reg {}acc_q;", range(a));
    let _ = writeln!(s, "    reg ovf_q;");
    let _ = writeln!(s, "    reg out_valid_q;");
    let _ = writeln!(s, "    // s = (clear ? 0 : acc) + a*b, exact in {w} bits.");
    if p.signed {
        let _ = writeln!(
            s,
            "    wire signed [{}:0] g_sum = ({c} ? {z} : $signed({{{{{pad}{{acc_q[{am1}]}}}}, acc_q}})) + {prod};",
            w - 1,
            c = d[1],
            z = slit(w, 0),
            pad = w - a,
            am1 = a - 1,
        );
        let _ = writeln!(s, "    wire g_above = g_sum > {};", slit(w, hi));
        let _ = writeln!(s, "    wire g_below = g_sum < {};", slit(w, lo));
    } else {
        let _ = writeln!(
            s,
            "    wire [{}:0] g_sum = ({c} ? {z} : {{{pad}'h0, acc_q}}) + {prod};",
            w - 1,
            c = d[1],
            z = lit(w, 0),
            pad = w - a,
        );
        let _ = writeln!(s, "    wire g_above = g_sum > {};", lit(w, hi));
        let _ = writeln!(s, "    wire g_below = 1'b0;");
    }
    let next = match p.overflow {
        Overflow::Wrap => format!("g_sum[{}:0]", a - 1),
        Overflow::Saturate => format!(
            "g_above ? {} : g_below ? {} : g_sum[{}:0]",
            lit(a, hi),
            lit(a, lo),
            a - 1
        ),
    };
    s += &super::accumulator_state(a, &d[0], &d[1], &next, &[("ovf", "g_above | g_below")]);
    Ok(super::GoldenModule { body: s, state })
}
