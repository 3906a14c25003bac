//! Reference of `expq_quant` (SPEC.md section 4).

use model::expq::ExpqQuantParams;

use super::GoldenModule;
use crate::ir::Result;

/// SPEC.md section 4 plainly: |x| at one extra bit, then an `if` chain over the decision
/// thresholds (midpoints between levels, `model::expq::ExpqQuantParams::thresholds`) from
/// the zero code upwards.
pub(crate) fn golden(p: &ExpqQuantParams) -> Result<GoldenModule> {
    super::accepted(p)?;
    use super::{lit, range};
    use std::fmt::Write as _;
    let (n, e) = (p.in_bits, p.exp_bits);
    let t: Vec<u64> = p
        .thresholds()
        .iter()
        .map(|t| (*t).min(1 << n)) // |x| <= 2^(N-1): larger thresholds are never passed
        .collect();
    let mut s = String::new();
    let _ = writeln!(
        s,
        "    wire signed [{n}:0] g_x = $signed({{x[{}], x}});",
        n - 1
    );
    let _ = writeln!(s, "    wire [{n}:0] g_mag = g_x[{n}] ? -g_x : g_x;");
    let _ = writeln!(s, "    reg g_z;\n    reg {}g_e;", range(e));
    let _ = writeln!(s, "    always @* begin");
    let _ = writeln!(s, "        g_z = 1'b0;");
    let _ = writeln!(
        s,
        "        if (g_mag <= {}) begin g_z = 1'b1; g_e = {}; end",
        lit(n + 1, t[0].into()),
        lit(e, 0)
    );
    for (k, tk) in t[1..].iter().enumerate() {
        let _ = writeln!(
            s,
            "        else if (g_mag <= {}) g_e = {};",
            lit(n + 1, (*tk).into()),
            lit(e, k as i128)
        );
    }
    let _ = writeln!(s, "        else g_e = {};", lit(e, (t.len() - 1) as i128));
    let _ = writeln!(s, "    end");
    let sign = format!("g_x[{n}] & ~g_z");
    s += &super::registered_outputs(&[("s", 1, &sign), ("z", 1, "g_z"), ("e", e, "g_e")]);
    Ok(GoldenModule {
        body: s,
        state: super::registered_output_state(&["s", "z", "e"]),
    })
}
