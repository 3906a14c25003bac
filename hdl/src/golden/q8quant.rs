//! Reference of `q8-quant` (docs/q8quant.md).
use model::q8quant::Q8QuantParams;
use super::GoldenModule;
use crate::ir::Result;
pub(crate) fn golden(p: &Q8QuantParams) -> Result<GoldenModule> {
    super::accepted(p)?;
    todo!()
}
