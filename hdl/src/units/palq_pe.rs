//! RTL of the PalQuant array `palq-pe` (docs/palquant.md; the model is
//! `model::palq::PalqPe`).
//!
//! Per group g, each a few named wires:
//! 1. lanes: the codes `w_g_p`, `a_g_p` sliced from the buses, and the exact unsigned
//!    products `prod_g_p` (2c bits);
//! 2. trees: `sum(k*j)` and `sum(j)` over the group's P lanes, a balanced adder tree
//!    each (`kj_tree_g_*`, `j_tree_g_*`), exact;
//! 3. accumulate: `base = clear ? 0 : acc`, the exact sum with the tree, and its low
//!    bits into `kj_g_q` / `j_g_q` on a valid beat (modulo 2^width past K products);
//! 4. read-out: `y_g = 2 * kj_g_q - (L-1) * j_g_q` from the registers, exact, then its
//!    low Y bits; `out_valid_q` follows `in_valid`.
//!
//! `--pipeline` cuts registers into stages 1 to 3 through the generic pass.

use model::palq::PalqPeParams;

use crate::ir::{cat, mux, ExprOps, ModuleBuilder, Result, Val};
use crate::{start_unit, Generate, Module, UnitParams};

impl Generate for PalqPeParams {
    fn rtl(&self) -> Result<Module> {
        let (mut m, io) = start_unit(self)?;
        describe(&mut m, self);
        let (clk, rst, valid, clear) = (io["clk"], io["rst"], io["in_valid"], io["clear"]);
        let (c, n, lanes) = (self.code_bits(), self.products(), self.lanes);
        let (kb, jb, yb) = (self.kj_bits(), self.j_bits(), self.out_bits());

        let mut ys = Vec::new();
        for g in 0..self.groups {
            m.note(format!("Group {g}: lane codes and products."));
            let (mut prods, mut acts) = (Vec::new(), Vec::new());
            for p in 0..lanes {
                let lo = c * (g * lanes + p);
                let code = |m: &mut ModuleBuilder, port: &str| -> Result<Val> {
                    let bus = io[port];
                    if n == 1 {
                        Ok(bus.u())
                    } else {
                        m.wire(&format!("{port}_{g}_{p}"), bus.bits(lo + c - 1, lo))
                    }
                };
                let k = code(&mut m, "w")?;
                let j = code(&mut m, "a")?;
                prods.push(m.wire(&format!("prod_{g}_{p}"), k * j)?);
                acts.push(j);
            }
            m.note(format!("Group {g}: adder trees over the lanes."));
            let kj_sum = tree(&mut m, &format!("kj_tree_{g}"), prods)?;
            let j_sum = tree(&mut m, &format!("j_tree_{g}"), acts)?;

            m.note(format!(
                "Group {g}: accumulators, (clear ? 0 : acc) + tree modulo 2^width."
            ));
            let mut accs = Vec::new();
            for (name, sum, bits) in [("kj", kj_sum, kb), ("j", j_sum, jb)] {
                let q = m.reg(&format!("{name}_{g}_q"), bits, clk, Some((rst, 0)))?;
                let base = m.wire(&format!("{name}_base_{g}"), mux(clear, 0, q.u()))?;
                let s = m.wire(&format!("{name}_sum_{g}"), base + sum)?;
                let next = m.narrow(&format!("{name}_next_{g}"), s, bits)?;
                m.next(q, next, Some(valid))?;
                accs.push(q);
            }

            m.note(format!(
                "Group {g}: read-out, 2 * sum(k*j) - (L-1) * sum(j), low Y bits."
            ));
            let full = m.wire(
                &format!("y_full_{g}"),
                (accs[0].u() << 1) - accs[1].u() * (self.levels - 1),
            )?;
            ys.push(m.narrow(&format!("y_{g}"), full, yb)?);
        }
        m.note("Outputs: group 0 lowest.");
        let y = m.val(cat(ys.iter().rev().map(|v| v.sig)))?;
        let out_valid = m.register("out_valid_q", valid, clk, Some(rst), None)?;
        m.outs([("y", y.sig), ("out_valid", out_valid)])?;
        m.finish()
    }
}

/// A balanced adder tree: pairs added level by level (`<name>_<level>_<i>`), each sum
/// one bit wider than its wider addend, so exact.
fn tree(m: &mut ModuleBuilder, name: &str, level: Vec<Val>) -> Result<Val> {
    super::balanced_tree(level, |depth, i, a, b| {
        m.wire(&format!("{name}_{depth}_{i}"), a + b)
    })
}

/// The behavioural reference: `crate::golden::palq_pe`.
impl crate::Reference for PalqPeParams {
    fn golden(&self) -> Result<crate::golden::GoldenModule> {
        crate::golden::palq_pe::golden(self)
    }
}

fn describe(m: &mut ModuleBuilder, p: &PalqPeParams) {
    m.comment(format!(
        "PalQuant array: {g} group(s) x {l} lane(s) of {c}-bit codes at L = {lv} levels, \
         exact for {k} products per group (docs/palquant.md).",
        g = p.groups,
        l = p.lanes,
        c = p.code_bits(),
        lv = p.levels,
        k = p.k_max
    ));
    m.comment(
        "Per valid beat and group: kj += sum(w*a), j += sum(a) over the lanes (restart on clear);",
    );
    m.comment(format!(
        "y = 2*kj - {}*j, the signed dot product of (2k-(L-1))/(L-1) and j/(L-1) times (L-1)^2.",
        p.levels - 1
    ));
    m.comment(format!(
        "Latency: {} cycle from in_valid to out_valid.",
        p.latency()
    ));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::module_verilog;

    #[test]
    fn default_verilog_reads_well() {
        let v = module_verilog(&PalqPeParams::default().rtl().unwrap());
        assert!(v.contains("module palq_pe_g4_p8_l4_k1024 ("), "{v}");
        assert!(v.contains("kj_tree_3_3_0"), "a three-level tree: {v}");
        assert!(v.contains("reg  [13:0] kj_0_q;"), "{v}");
    }

    #[test]
    fn corners_build() {
        for (groups, lanes) in [(1, 1), (1, 32), (16, 1), (3, 5)] {
            for levels in [2, 3, 4, 5, 16] {
                for k_max in [1, 7, 1 << 20] {
                    let p = PalqPeParams {
                        groups,
                        lanes,
                        levels,
                        k_max,
                    };
                    p.rtl().unwrap_or_else(|e| panic!("{p:?}: {e}"));
                }
            }
        }
    }
}
