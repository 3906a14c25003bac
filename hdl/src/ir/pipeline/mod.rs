//! Input-side pipelining of a finished module (the RTL of `model::pipeline::Piped`).
//!
//! The *input cone* is every node computed from the data inputs alone: not from a
//! register, an instance, the clock or the reset. For depth `N` the pass gives each
//! cone node a stage `0..=N` by its estimated arrival time ([`super::delay`]): with `D`
//! the longest path that starts at an input, stage `k` holds the nodes that arrive in
//! `[k * D/(N+1), (k+1) * D/(N+1))`, and everything outside the cone is stage `N`. Every
//! edge from a node of stage `i` to a user of stage `j > i` passes through `j - i`
//! registers, so every path from an input to the unit's state or outputs crosses exactly
//! `N` of them: the unit sees its inputs `N` cycles late, which is all
//! `model::pipeline::Delayed` models.
//!
//! The pipeline registers are reset with the unit, each to the value its node takes when
//! every data input is zero. After a reset the unit therefore sees `N` all-zero beats
//! (no `in_valid`), exactly as the model's delay line, whatever the unit does with its
//! inputs: no unit has to know that it is pipelined. On iCE40 and ECP5 a synchronous
//! reset costs no LUTs.
//!
//! Only the cone is cut: a loop through the unit's state (an accumulator's add, align
//! and round) keeps its length, and the delay model says so (`Estimate`): its critical
//! path stops shrinking at some depth.

mod eval;
mod split;

use std::collections::{BTreeMap, BTreeSet};

use num_bigint::BigUint;

use super::delay::{arrivals, estimate, operands, DelayModel, Estimate};
use super::netlist::{Module, Node, Op, Register};
use super::{HdlError, Result, Sig};
use eval::{eval, words};

/// The stage plan of one depth: the rebuilt module and its estimated critical path.
#[derive(Clone, Debug)]
pub struct Pipelined {
    pub module: Module,
    pub depth: u32,
    pub estimate: Estimate,
}

/// `m` with `depth` register stages in its input cone, balanced for `dm`. `clock` and
/// `reset` name the ports that are not data (the reset acts at once, undelayed).
pub fn pipeline(
    m: &Module,
    depth: u32,
    clock: &str,
    reset: Option<&str>,
    dm: &DelayModel,
) -> Result<Pipelined> {
    if depth == 0 {
        return Ok(Pipelined {
            module: m.clone(),
            depth,
            estimate: estimate(m, dm),
        });
    }
    // Multipliers are cut by writing them as sums of narrower products: try chunk widths
    // from none down to 2 bits and keep the fastest (the first among equals).
    let first = Retimer::new(m, clock, reset, dm)?;
    let mut best: Option<Pipelined> = None;
    for chunk in [None, Some(16), Some(8), Some(4), Some(2)] {
        let split = match chunk {
            None => m.clone(),
            Some(c) => match first.split_products(c) {
                Some(s) => s,
                None => continue,
            },
        };
        let module = Retimer::new(&split, clock, reset, dm)?.rebuild(depth)?;
        let estimate = estimate(&module, dm);
        if best
            .as_ref()
            .is_none_or(|b| estimate.ns < b.estimate.ns - 1e-9)
        {
            best = Some(Pipelined {
                module,
                depth,
                estimate,
            });
        }
    }
    Ok(best.expect("the unsplit module is always tried"))
}

/// The shallowest depth in `0..=max_depth` whose estimated critical path fits `period_ns`,
/// or, when none does, the shallowest depth at which the estimate stops improving (the
/// unit's loop limits it; pipelining the inputs further would only add latency).
pub fn pipeline_for(
    m: &Module,
    period_ns: f64,
    max_depth: u32,
    clock: &str,
    reset: Option<&str>,
    dm: &DelayModel,
) -> Result<Pipelined> {
    let mut best: Option<Pipelined> = None;
    for depth in 0..=max_depth {
        let p = pipeline(m, depth, clock, reset, dm)?;
        if p.estimate.ns <= period_ns {
            return Ok(p);
        }
        // Keep the shallowest depth among those within 2% of the best estimate.
        match &best {
            Some(b) if p.estimate.ns >= 0.98 * b.estimate.ns => {}
            _ => best = Some(p),
        }
    }
    Ok(best.expect("depth 0 is always tried"))
}

/// What the rebuild keeps track of.
struct Context {
    /// Stage of every old node.
    stage: Vec<u32>,
    /// Value of every cone node when the data inputs are zero (the registers' reset).
    zero: Vec<Option<BigUint>>,
    /// The new signal of an old node (index) in a stage.
    at: BTreeMap<(usize, u32), Sig>,
    /// Every name in use.
    taken: BTreeSet<String>,
    owner: u32,
    clock: Option<Sig>,
    reset: Option<Sig>,
}

struct Retimer<'a> {
    m: &'a Module,
    dm: &'a DelayModel,
    clock: &'a str,
    reset: Option<&'a str>,
    /// Per node (index into `m.nodes`): whether it is in the input cone.
    cone: Vec<bool>,
}

impl<'a> Retimer<'a> {
    fn new(
        m: &'a Module,
        clock: &'a str,
        reset: Option<&'a str>,
        dm: &'a DelayModel,
    ) -> Result<Self> {
        let not_data: BTreeSet<&str> = [Some(clock), reset].into_iter().flatten().collect();
        let mut cone = Vec::with_capacity(m.nodes.len());
        for (_, n) in &m.nodes {
            let inside = match &n.op {
                Op::Input => !not_data.contains(n.name.as_str()),
                Op::Reg(_) | Op::InstOut { .. } => false,
                Op::Const(_) => true,
                op => operands(op).iter().all(|&s| cone[index(m, s)]),
            };
            cone.push(inside);
        }
        if !m.nodes.iter().any(|(_, n)| n.name == clock) {
            return Err(HdlError {
                module: m.name.clone(),
                message: format!("pipelining needs the clock '{clock}'"),
            });
        }
        Ok(Retimer {
            m,
            dm,
            clock,
            reset,
            cone,
        })
    }

    /// Stages of every node for `depth` (non-cone nodes at `depth`).
    /// The delay each of the `depth + 1` pieces of the longest input path gets.
    fn piece(&self, depth: u32) -> f64 {
        let m = self.m;
        let at = arrivals(m, self.dm);
        // Longest path from each node's value to a register or an output.
        let mut rest = vec![0.0f64; m.nodes.len()];
        for (i, (_, n)) in m.nodes.iter().enumerate().rev() {
            let through = rest[i] + self.dm.node(m, &n.op, n.width);
            for s in operands(&n.op) {
                let j = index(m, s);
                rest[j] = rest[j].max(through);
            }
        }
        let longest = (0..m.nodes.len())
            .filter(|&i| self.cone[i])
            .map(|i| at[i].0 + rest[i])
            .fold(0.0, f64::max);
        longest / f64::from(depth + 1)
    }
}

impl Retimer<'_> {
    /// Stages of every node for `depth` (non-cone nodes at `depth`).
    fn stages(&self, depth: u32) -> Vec<u32> {
        let m = self.m;
        let at = arrivals(m, self.dm);
        let piece = self.piece(depth);
        (0..m.nodes.len())
            .map(|i| {
                if !self.cone[i] {
                    depth
                } else if piece <= 0.0 {
                    0
                } else {
                    // A hair under the boundary counts as before it (rounding).
                    ((at[i].0 / piece + 1e-9).floor() as u32).min(depth)
                }
            })
            .collect()
    }

    fn rebuild(&self, depth: u32) -> Result<Module> {
        let m = self.m;
        let stage = self.stages(depth);
        let mut cx = Context {
            stage,
            zero: self.zero_values(),
            at: BTreeMap::new(),
            taken: names_in_use(m),
            owner: owner(m),
            clock: None,
            reset: None,
        };
        let mut out = Module {
            nodes: Vec::new(),
            notes: Vec::new(),
            ..m.clone()
        };
        // The ports first: the pipeline registers need the clock and the reset.
        for (i, (_, n)) in m.nodes.iter().enumerate() {
            if !matches!(n.op, Op::Input) {
                continue;
            }
            let new = push(&mut out, cx.owner, n.clone());
            if n.name == self.clock {
                cx.clock = Some(new);
            }
            if Some(n.name.as_str()) == self.reset {
                cx.reset = Some(new);
            }
            cx.at.insert((i, cx.stage[i]), new);
        }
        let mut notes = m.notes.iter().peekable();
        for (i, (old_id, n)) in m.nodes.iter().enumerate() {
            if matches!(n.op, Op::Input) {
                continue;
            }
            let s = cx.stage[i];
            // Operands from earlier stages go through registers first.
            let op = map_operands(n.op.clone(), |a| self.delayed(a, s, &mut cx, &mut out))?;
            while notes.peek().is_some_and(|(nid, _)| nid <= old_id) {
                let (_, text) = notes.next().expect("peeked");
                let next = out.nodes.last().map_or(0, |(id, _)| id + 1);
                out.notes.push((next, text.clone()));
            }
            let new = push(&mut out, cx.owner, Node { op, ..n.clone() });
            cx.at.insert((i, s), new);
        }
        // Sinks: register inputs, instance inputs and outputs, all in the last stage.
        // Their pipeline registers come after every wire, which is fine: only `always`
        // blocks, instances and output `assign`s read them.
        for (ri, r) in m.regs.iter().enumerate() {
            let clock = self.delayed(r.clock, depth, &mut cx, &mut out)?;
            let d = self.delayed(r.d, depth, &mut cx, &mut out)?;
            let enable = match r.enable {
                Some(en) => Some(self.delayed(en, depth, &mut cx, &mut out)?),
                None => None,
            };
            let reset = match &r.reset {
                Some((rs, v)) => Some((self.delayed(*rs, depth, &mut cx, &mut out)?, v.clone())),
                None => None,
            };
            out.regs[ri] = Register {
                clock,
                d,
                enable,
                reset,
                ..r.clone()
            };
        }
        for (ii, inst) in m.instances.iter().enumerate() {
            for (pi, (_, s)) in inst.inputs.iter().enumerate() {
                let new = self.delayed(*s, depth, &mut cx, &mut out)?;
                out.instances[ii].inputs[pi].1 = new;
            }
        }
        for (oi, (_, s)) in m.outputs.iter().enumerate() {
            let new = self.delayed(*s, depth, &mut cx, &mut out)?;
            out.outputs[oi].1 = new;
        }
        out.comments.push(String::new());
        out.comments.push(format!(
            "Pipelined: {depth} register stage(s) between the inputs and the state, cleared by \
             reset; latency +{depth}."
        ));
        Ok(out)
    }

    /// The signal of old node `old` as seen in stage `want`: itself, or a chain of
    /// pipeline registers behind it. Constants are the same in every stage.
    fn delayed(&self, old: Sig, want: u32, cx: &mut Context, out: &mut Module) -> Result<Sig> {
        let m = self.m;
        let i = index(m, old);
        let n = &m.nodes[i].1;
        let from = cx.stage[i];
        if matches!(n.op, Op::Const(_)) {
            return Ok(cx.at[&(i, from)]);
        }
        if want < from {
            return Err(HdlError {
                module: m.name.clone(),
                message: format!("pipelining: '{}' used before its stage", n.name),
            });
        }
        let mut sig = cx.at[&(i, from)];
        for k in from + 1..=want {
            if let Some(&s) = cx.at.get(&(i, k)) {
                sig = s;
                continue;
            }
            let name = fresh(
                &mut cx.taken,
                &format!("{}_s{k}", n.name.trim_start_matches('_')),
            );
            let value = cx.zero[i].clone().unwrap_or_default();
            let clock = cx.clock.ok_or_else(|| HdlError {
                module: m.name.clone(),
                message: "pipelining needs a clock".into(),
            })?;
            out.regs.push(Register {
                name: name.clone(),
                width: n.width,
                clock,
                reset: cx.reset.map(|r| (r, words(&value, n.width))),
                d: sig,
                enable: None,
            });
            let reg = Node {
                op: Op::Reg(out.regs.len() - 1),
                width: n.width,
                name,
                inline: false,
            };
            sig = push(out, cx.owner, reg);
            cx.at.insert((i, k), sig);
        }
        Ok(sig)
    }

    /// The value of every cone node when every data input is zero.
    fn zero_values(&self) -> Vec<Option<BigUint>> {
        let m = self.m;
        let mut v: Vec<Option<BigUint>> = Vec::with_capacity(m.nodes.len());
        for (i, (_, n)) in m.nodes.iter().enumerate() {
            if !self.cone[i] {
                v.push(None);
                continue;
            }
            let get = |s: Sig| v[index(m, s)].clone().expect("cone operand");
            v.push(Some(eval(&n.op, n.width, get)));
        }
        v
    }
}

/// The module id the signals of `m` carry.
fn owner(m: &Module) -> u32 {
    m.outputs
        .first()
        .map(|(_, s)| s.owner)
        .or_else(|| m.regs.first().map(|r| r.clock.owner))
        .unwrap_or(0)
}

/// Every name `m` declares: wires, registers, ports and instances.
fn names_in_use(m: &Module) -> BTreeSet<String> {
    m.nodes
        .iter()
        .map(|(_, n)| n.name.clone())
        .chain(m.regs.iter().map(|r| r.name.clone()))
        .chain(m.ports.iter().map(|p| p.name.clone()))
        .chain(m.instances.iter().map(|i| i.name.clone()))
        .collect()
}

/// Index of `s` in `m.nodes`.
fn index(m: &Module, s: Sig) -> usize {
    m.nodes
        .binary_search_by_key(&s.id, |(id, _)| *id)
        .expect("signal of this module")
}

fn push(out: &mut Module, owner: u32, n: Node) -> Sig {
    let id = out.nodes.last().map_or(0, |(id, _)| id + 1);
    let sig = Sig {
        owner,
        id,
        width: n.width,
    };
    out.nodes.push((id, n));
    sig
}

fn fresh(taken: &mut BTreeSet<String>, base: &str) -> String {
    let mut name = base.to_string();
    let mut k = 2;
    while taken.contains(&name) {
        name = format!("{base}_{k}");
        k += 1;
    }
    taken.insert(name.clone());
    name
}

fn map_operands(op: Op, mut f: impl FnMut(Sig) -> Result<Sig>) -> Result<Op> {
    Ok(match op {
        Op::Unary(u, a) => Op::Unary(u, f(a)?),
        Op::Binary(b, x, y) => Op::Binary(b, f(x)?, f(y)?),
        Op::Mul { a, b, signed } => Op::Mul {
            a: f(a)?,
            b: f(b)?,
            signed,
        },
        Op::Mux { sel, t, f: e } => Op::Mux {
            sel: f(sel)?,
            t: f(t)?,
            f: f(e)?,
        },
        Op::Slice { a, lo } => Op::Slice { a: f(a)?, lo },
        Op::Concat(parts) => Op::Concat(parts.into_iter().map(&mut f).collect::<Result<_>>()?),
        Op::Ext { a, signed } => Op::Ext { a: f(a)?, signed },
        Op::Shift {
            a,
            amount,
            left,
            arith,
        } => Op::Shift {
            a: f(a)?,
            amount: f(amount)?,
            left,
            arith,
        },
        other => other,
    })
}

#[cfg(test)]
mod tests;
