//! Reference of `lns_mul` (docs/log-domain.md).

use model::lns::LnsMulParams;

use super::{Body, GoldenModule, Ty, Var};
use crate::ir::Result;

/// docs/log-domain.md plainly: zero if either is zero, else xor and exact add.
pub(crate) fn golden(p: &LnsMulParams) -> Result<GoldenModule> {
    super::accepted(p)?;
    let k = p.exp_bits;
    let (ea, eb) = (Var::named("ea", Ty::u(k)), Var::named("eb", Ty::u(k)));
    let e = Ty::u(k + 1);
    let mut b = Body::new();
    b.line("assign z = za | zb;");
    b.line("assign s = (za | zb) ? 1'b0 : sa ^ sb;");
    b.line(format!(
        "assign e = (za | zb) ? {} : {} + {};",
        e.lit(0),
        ea.ext(e.width),
        eb.ext(e.width)
    ));
    Ok(b.finish())
}
