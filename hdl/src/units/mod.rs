//! One generator per unit kind. Each lives beside its model in `model` under the same
//! name and implements [`crate::Generate`] for the unit's parameter type.

pub mod bfp_add;
pub mod bfp_dot;
pub mod bfp_quant;
pub mod expq_dot;
pub mod expq_quant;
pub mod fpacc;
pub mod fpacc_long;
pub mod lns_mac;
pub mod lns_mul;
pub mod mac;
pub mod mx_dequant;
pub mod mx_dot;
pub mod mx_quant;
pub mod palq_pe;
pub mod palq_shuffle;
pub mod q8quant;
pub mod range_stats;
pub mod rangebn;
pub mod requant;

use crate::ir::{ModuleBuilder, Result, Sig};

/// Drive the outputs every accumulator shares (`model::fpacc::accumulator_interface`:
/// fpacc, fpacc-long, bfp-dot) from `[acc, uf, of, out_valid]`.
pub(crate) fn accumulator_outputs(
    m: &mut ModuleBuilder,
    [acc, uf, of, out_valid]: [Sig; 4],
) -> Result<()> {
    m.outs([
        ("acc", acc),
        ("uf", uf),
        ("of", of),
        ("out_valid", out_valid),
    ])
}

/// Registered outputs of a unit that shows one result per `load`: each value in a
/// register `<name>_q` (reset to zero) loaded on `load` and driving port `name`, and
/// `out_valid` one cycle after `load`.
pub(crate) fn registered_outputs<const N: usize>(
    m: &mut ModuleBuilder,
    outputs: [(&str, Sig); N],
    load: Sig,
    clk: Sig,
    rst: Sig,
) -> Result<()> {
    for (name, v) in outputs {
        let r = m.register(&format!("{name}_q"), v, clk, Some(rst), Some(load))?;
        m.out(name, r)?;
    }
    let out_valid = m.register("out_valid_q", load, clk, Some(rst), None)?;
    m.out("out_valid", out_valid)
}

/// A balanced tree over `level`: pairs joined left to right, level by level, an odd one
/// out passed up as it is. `join` gets the level (from 1), the pair's index in it and
/// the two items (the adder trees of `bfp_dot`, `mx_dot`, `palq_pe` and `expq_dot`).
pub(crate) fn balanced_tree<T: Copy>(
    mut level: Vec<T>,
    mut join: impl FnMut(usize, usize, T, T) -> Result<T>,
) -> Result<T> {
    let mut depth = 0;
    while level.len() > 1 {
        depth += 1;
        let mut next = Vec::with_capacity(level.len().div_ceil(2));
        for (i, pair) in level.chunks(2).enumerate() {
            next.push(match *pair {
                [a, b] => join(depth, i, a, b)?,
                [a] => a,
                _ => unreachable!("chunks of two"),
            });
        }
        level = next;
    }
    Ok(level[0])
}

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
    let count_bits = model::int::index_bits(beats);
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

/// `items[index]` as a tree of 2:1 muxes (bit 0 of `index` at the leaves), named `name`.
/// Indexes past the end select zero. All items have one width.
pub(crate) fn select(m: &mut ModuleBuilder, name: &str, items: &[Sig], index: Sig) -> Result<Sig> {
    let width = items[0].width();
    let mut level = items.to_vec();
    level.resize(1 << index.width(), m.zero(width)?);
    for bit in 0..index.width() {
        let sel = m.bit(index, bit)?;
        level = level
            .chunks(2)
            .map(|pair| m.mux(sel, pair[1], pair[0]))
            .collect::<Result<Vec<_>>>()?;
    }
    m.name(level[0], name)
}

/// A constant table read at `index`: [`select`] over `width`-bit literals.
pub(crate) fn rom(
    m: &mut ModuleBuilder,
    name: &str,
    table: &[u128],
    width: u32,
    index: Sig,
) -> Result<Sig> {
    let items = table
        .iter()
        .map(|t| m.lit(width, *t as i128))
        .collect::<Result<Vec<_>>>()?;
    select(m, name, &items, index)
}
