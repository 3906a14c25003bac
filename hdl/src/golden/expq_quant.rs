//! Reference of `expq_quant` (docs/log-domain.md).

use model::expq::ExpqQuantParams;

use super::{Body, GoldenModule, Ty, Var};
use crate::ir::Result;

/// docs/log-domain.md plainly: |x| at one extra bit, then an `if` chain over the decision
/// thresholds (midpoints between levels, `model::expq::ExpqQuantParams::thresholds`) from
/// the zero code upwards.
pub(crate) fn golden(p: &ExpqQuantParams) -> Result<GoldenModule> {
    super::accepted(p)?;
    let (n, e) = (p.in_bits, p.exp_bits);
    let top = super::pow2(n);
    // |x| <= 2^(N-1): larger thresholds are never passed.
    let t: Vec<i128> = p
        .thresholds()
        .iter()
        .map(|t| i128::from(*t).min(top))
        .collect();
    let mut b = Body::new();
    let x = b.wire(
        "g_x",
        Ty::s(n + 1),
        Var::named("x", Ty::u(n)).as_signed().ext(n + 1),
    );
    let mag = b.wire("g_mag", Ty::u(n + 1), format!("{} ? -{x} : {x}", x.msb()));
    let z = b.reg("g_z", Ty::u(1));
    let code = b.reg("g_e", Ty::u(e));
    b.line("always @* begin");
    b.line(format!("    {z} = 1'b0;"));
    b.line(format!(
        "    if ({mag} <= {}) begin {z} = 1'b1; {code} = {}; end",
        mag.lit(t[0]),
        code.lit(0)
    ));
    for (k, tk) in t[1..].iter().enumerate() {
        b.line(format!(
            "    else if ({mag} <= {}) {code} = {};",
            mag.lit(*tk),
            code.lit(k as i128)
        ));
    }
    b.line(format!(
        "    else {code} = {};",
        code.lit((t.len() - 1) as i128)
    ));
    b.line("end");
    let sign = format!("{} & ~{z}", x.msb());
    b.text(super::registered_outputs(&[
        ("s", 1, &sign),
        ("z", 1, "g_z"),
        ("e", e, "g_e"),
    ]));
    b.add_state(super::registered_output_state(&["s", "z", "e"]));
    Ok(b.finish())
}
