//! One generator per unit kind. Each lives beside its model in `model` under the same
//! name and implements [`crate::Generate`] for the unit's parameter type.

pub mod bfp_add;
pub mod bfp_dot;
pub mod bfp_quant;
pub mod lns_mac;
pub mod lns_mul;
pub mod mac;

use crate::ir::{ModuleBuilder, Result, Sig};

/// For units that take a block in `beats` valid beats: a beat counter (reset by `rst`)
/// and the strobe that is high on a block's last valid beat.
pub(crate) fn block_last(
    m: &mut ModuleBuilder,
    beats: u32,
    clk: Sig,
    rst: Sig,
    valid: Sig,
) -> Result<Sig> {
    if beats == 1 {
        return Ok(valid);
    }
    let count_bits = (32 - (beats - 1).leading_zeros()).max(1);
    let count = m.reg("beat_count", count_bits, clk, Some((rst, 0)))?;
    let final_count = m.lit(count_bits, i128::from(beats - 1))?;
    let at_last = m.eq(count, final_count)?;
    let one = m.lit(count_bits, 1)?;
    let incremented = m.add(count, one)?;
    let zero = m.zero(count_bits)?;
    let count_next = m.mux(at_last, zero, incremented)?;
    m.drive_reg(count, count_next, Some(valid))?;
    let last = m.and(valid, at_last)?;
    m.name(last, "block_last")
}
