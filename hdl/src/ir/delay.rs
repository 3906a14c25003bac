//! A static delay model of the FPGA fabrics `gen synth` targets, in the spirit of
//! FloPoCo's `Target`s: each IR operation gets an estimated delay from a handful of
//! per-device constants (a LUT level with its typical routing, a carry-chain bit, a
//! register's clock-to-out plus setup), and a module's critical path is the longest
//! register-to-register (or port-to-register) path through them.
//!
//! The constants were fitted to nextpnr 0.11's post-route reports (YoWASP builds, seed 1)
//! on 50 small designs measured one operation at a time: adders, comparators, LUT chains
//! and trees, shifters, multipliers, a leading-zero count (`docs/fpga.md`, "Delay
//! model"). Adders and comparators come within 6%, LUT logic mostly within 15%. The
//! model exists to place pipeline registers ([`super::pipeline`]) without running place
//! and route once per depth; `gen synth` still reports the routed Fmax, and
//! `--pipeline auto` retries once deeper when the route misses the target.

use super::netlist::{BinOp, Module, Op, UnOp};
use super::Sig;

/// Per-device delay constants, nanoseconds.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DelayModel {
    /// The device, as `gen synth --device` names it.
    pub device: &'static str,
    /// Clock to output of a register plus the setup of the next, with one route.
    pub t_reg: f64,
    /// One LUT level with its typical routing.
    pub t_lut: f64,
    /// Entering and leaving a carry chain (the LUTs around it and their routes).
    pub t_carry: f64,
    /// Each bit of a carry chain.
    pub t_carry_bit: f64,
}

impl DelayModel {
    /// iCE40 UltraPlus UP5K: LUTs and routing about 2.9 times slower than the HX8K's.
    pub const UP5K: DelayModel = DelayModel {
        device: "up5k",
        t_reg: 3.88,
        t_lut: 2.61,
        t_carry: 0.9,
        t_carry_bit: 0.34,
    };
    /// iCE40 HX8K.
    pub const HX8K: DelayModel = DelayModel {
        device: "hx8k",
        t_reg: 1.24,
        t_lut: 0.90,
        t_carry: 0.53,
        t_carry_bit: 0.147,
    };
    /// ECP5 (25k and 85k alike): fast carries, wide LUTs.
    pub const ECP5: DelayModel = DelayModel {
        device: "ecp5",
        t_reg: 1.22,
        t_lut: 0.93,
        t_carry: 1.3,
        t_carry_bit: 0.037,
    };

    /// The model for a device name as `gen synth --device` spells it.
    pub fn for_device(name: &str) -> Option<DelayModel> {
        match name {
            "up5k" => Some(Self::UP5K),
            "hx8k" => Some(Self::HX8K),
            "ecp5-25k" | "ecp5-85k" => Some(Self::ECP5),
            _ => None,
        }
    }

    fn carry(&self, bits: u32) -> f64 {
        self.t_carry + f64::from(bits) * self.t_carry_bit
    }

    /// LUT levels of a tree that combines `inputs` signals, four per LUT.
    fn tree(&self, inputs: u32) -> f64 {
        let mut levels = 0;
        let mut n = inputs.max(1);
        while n > 1 {
            n = n.div_ceil(4);
            levels += 1;
        }
        f64::from(levels) * self.t_lut
    }

    /// The estimated delay of one node of `m`, from its operands to its value.
    pub fn node(&self, m: &Module, op: &Op, width: u32) -> f64 {
        match op {
            Op::Input | Op::Const(_) | Op::Reg(_) | Op::InstOut { .. } => 0.0,
            // Wiring, and inversions that fold into the next LUT.
            Op::Slice { .. } | Op::Concat(_) | Op::Ext { .. } | Op::Unary(UnOp::Not, _) => 0.0,
            Op::Unary(_, a) => self.tree(a.width()),
            // Bitwise logic merges with its neighbours about two operations per LUT.
            Op::Binary(BinOp::And | BinOp::Or | BinOp::Xor, ..) => 0.5 * self.t_lut,
            Op::Binary(BinOp::Add | BinOp::Sub | BinOp::Lt { .. }, a, _) => self.carry(a.width()),
            Op::Binary(BinOp::Eq, a, _) => self.tree(2 * a.width()),
            Op::Mux { .. } => self.t_lut,
            Op::Shift { a, amount, .. } => {
                let useful = 32 - a.width().leading_zeros();
                f64::from(amount.width().min(useful)) * self.t_lut
            }
            Op::Mul { a, b, .. } => self.mul(m, *a, *b, width),
        }
    }

    /// A multiplier in LUTs and carries (`gen synth` maps none to DSPs unless `--dsp`):
    /// `2 log2(w) + 1` LUT levels and a carry chain of the product's width.
    fn mul(&self, _m: &Module, a: Sig, b: Sig, width: u32) -> f64 {
        let w = a.width().min(b.width());
        if w <= 1 {
            return self.t_lut;
        }
        let log2 = 32 - (w - 1).leading_zeros();
        self.t_lut * f64::from(2 * log2 + 1) + self.t_carry_bit * f64::from(width)
    }
}

impl Default for DelayModel {
    fn default() -> Self {
        Self::UP5K
    }
}

/// A module's estimated critical path.
#[derive(Clone, Debug, PartialEq)]
pub struct Estimate {
    /// Register (or input) to register (or output), including [`DelayModel::t_reg`].
    pub ns: f64,
    /// The named wires along it, first to last.
    pub path: Vec<String>,
}

impl Estimate {
    /// The clock this path allows, MHz.
    pub fn mhz(&self) -> f64 {
        1000.0 / self.ns
    }
}

/// Arrival times of every node of `m` (index into `m.nodes`), counting from register
/// outputs and inputs at zero, with the predecessor on the longest path.
pub(super) fn arrivals(m: &Module, dm: &DelayModel) -> Vec<(f64, Option<usize>)> {
    let index = |s: Sig| {
        m.nodes
            .binary_search_by_key(&s.id, |(id, _)| *id)
            .expect("operand of this module")
    };
    let mut at: Vec<(f64, Option<usize>)> = Vec::with_capacity(m.nodes.len());
    for (_, n) in &m.nodes {
        let mut start = (0.0, None);
        for s in operands(&n.op) {
            let i = index(s);
            if at[i].0 >= start.0 {
                start = (at[i].0, Some(i));
            }
        }
        at.push((start.0 + dm.node(m, &n.op, n.width), start.1));
    }
    at
}

/// The longest path of `m` under `dm`.
pub fn estimate(m: &Module, dm: &DelayModel) -> Estimate {
    let at = arrivals(m, dm);
    let index = |s: Sig| {
        m.nodes
            .binary_search_by_key(&s.id, |(id, _)| *id)
            .expect("sink of this module")
    };
    let sinks = m
        .regs
        .iter()
        .flat_map(|r| {
            [Some(r.d), r.enable, r.reset.as_ref().map(|(s, _)| *s)]
                .into_iter()
                .flatten()
        })
        .chain(m.outputs.iter().map(|(_, s)| *s))
        .chain(
            m.instances
                .iter()
                .flat_map(|i| i.inputs.iter().map(|(_, s)| *s)),
        );
    let mut end = None::<usize>;
    for s in sinks {
        let i = index(s);
        if end.is_none_or(|e| at[i].0 > at[e].0) {
            end = Some(i);
        }
    }
    let mut path = Vec::new();
    let mut cur = end;
    while let Some(i) = cur {
        let n = &m.nodes[i].1;
        if !n.inline {
            path.push(n.name.clone());
        }
        cur = at[i].1;
    }
    path.reverse();
    Estimate {
        ns: dm.t_reg + end.map_or(0.0, |e| at[e].0),
        path,
    }
}

/// The operands of an operation, as signals.
pub(super) fn operands(op: &Op) -> Vec<Sig> {
    match op {
        Op::Input | Op::Const(_) | Op::Reg(_) | Op::InstOut { .. } => vec![],
        Op::Unary(_, a) | Op::Slice { a, .. } | Op::Ext { a, .. } => vec![*a],
        Op::Binary(_, a, b) | Op::Mul { a, b, .. } => vec![*a, *b],
        Op::Shift { a, amount, .. } => vec![*a, *amount],
        Op::Mux { sel, t, f } => vec![*sel, *t, *f],
        Op::Concat(parts) => parts.clone(),
    }
}
