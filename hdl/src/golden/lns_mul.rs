//! Reference of `lns_mul` (SPEC.md section 4).

use model::lns::LnsMulParams;

use super::{lit, GoldenModule};
use crate::ir::Result;

/// SPEC.md section 4 plainly: zero if either is zero, else xor and exact add.
pub(crate) fn golden(p: &LnsMulParams) -> Result<GoldenModule> {
    super::accepted(p)?;
    let k = p.exp_bits;
    let body = format!(
        "    assign z = za | zb;
    assign s = (za | zb) ? 1'b0 : sa ^ sb;
    assign e = (za | zb) ? {zero} : {{1'b0, ea}} + {{1'b0, eb}};
",
        zero = lit(k + 1, 0)
    );
    Ok(GoldenModule {
        body,
        state: vec![],
    })
}
