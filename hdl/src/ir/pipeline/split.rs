//! Cutting multipliers: a product of the input cone written as a sum of narrower partial
//! products, so that the pipelining pass can place a register between the products and
//! their sum.

use std::collections::BTreeSet;

use super::{fresh, index, map_operands, names_in_use, owner, push, Retimer};
use crate::ir::netlist::{BinOp, Module, Node, Op};
use crate::ir::Sig;

impl Retimer<'_> {
    /// `m` with every multiplier of the input cone written as a sum of partial products
    /// of one operand and `chunk`-bit pieces of the other, so that a cut can fall between
    /// the products and their sum; `None` if no multiplier is wider than `chunk`. Exact:
    /// the sum of the shifted partial products modulo `2^(a+b)` is the product.
    pub(super) fn split_products(&self, chunk: u32) -> Option<Module> {
        let m = self.m;
        let mut out = Module {
            nodes: Vec::new(),
            ..m.clone()
        };
        let owner = owner(m);
        let mut new: Vec<Sig> = Vec::with_capacity(m.nodes.len());
        let mut taken = names_in_use(m);
        let mut starts = Vec::with_capacity(m.nodes.len());
        let mut any_split = false;
        for (i, (_, n)) in m.nodes.iter().enumerate() {
            starts.push(out.nodes.len());
            let remap = |s: Sig| new[index(m, s)];
            let op = map_operands(n.op.clone(), |s| Ok(remap(s))).expect("infallible");
            let split = match &op {
                Op::Mul { a, b, signed } if self.cone[i] => {
                    chunked_product(&mut out, &mut taken, owner, n, *a, *b, *signed, chunk)
                }
                _ => None,
            };
            any_split |= split.is_some();
            let sig = match split {
                Some(s) => s,
                None => push(&mut out, owner, Node { op, ..n.clone() }),
            };
            new.push(sig);
        }
        // Register inputs, outputs and instance inputs follow their nodes.
        for r in &mut out.regs {
            r.clock = new[index(m, r.clock)];
            r.d = new[index(m, r.d)];
            r.enable = r.enable.map(|s| new[index(m, s)]);
            if let Some((s, _)) = &mut r.reset {
                *s = new[index(m, *s)];
            }
        }
        for inst in &mut out.instances {
            for (_, s) in &mut inst.inputs {
                *s = new[index(m, *s)];
            }
        }
        for (_, s) in &mut out.outputs {
            *s = new[index(m, *s)];
        }
        // Notes keep their place: before the first node made for the node they preceded.
        out.notes = m
            .notes
            .iter()
            .map(|(at, text)| {
                let i = m.nodes.partition_point(|(id, _)| id < at);
                (starts.get(i).copied().unwrap_or(usize::MAX), text.clone())
            })
            .collect();
        any_split.then_some(out)
    }
}

/// `a * b` (the node `n`) as partial products of `a` and `c`-bit chunks of `b` (the
/// narrower operand) plus an adder tree; `None` when `b` is not wider than `c`.
#[allow(clippy::too_many_arguments)]
fn chunked_product(
    out: &mut Module,
    taken: &mut BTreeSet<String>,
    owner: u32,
    n: &Node,
    a: Sig,
    b: Sig,
    signed: bool,
    c: u32,
) -> Option<Sig> {
    let (a, b) = if a.width() >= b.width() {
        (a, b)
    } else {
        (b, a)
    };
    let width = n.width;
    if c >= b.width() {
        return None;
    }
    let mut node = |out: &mut Module, base: &str, op: Op, w: u32| {
        let name = fresh(taken, base);
        push(
            out,
            owner,
            Node {
                op,
                width: w,
                name,
                inline: false,
            },
        )
    };
    let chunks = b.width().div_ceil(c);
    let mut terms = Vec::new();
    for k in 0..chunks {
        let lo = k * c;
        let cw = c.min(b.width() - lo);
        let top = k + 1 == chunks;
        let chunk = node(out, &format!("{}_b{k}", n.name), Op::Slice { a: b, lo }, cw);
        // Lower chunks are unsigned; in a signed product they get a zero bit on top.
        let (chunk, cw) = if signed && !top {
            let z = node(
                out,
                &format!("{}_b{k}x", n.name),
                Op::Ext {
                    a: chunk,
                    signed: false,
                },
                cw + 1,
            );
            (z, cw + 1)
        } else {
            (chunk, cw)
        };
        let pw = a.width() + cw;
        let p = node(
            out,
            &format!("{}_pp{k}", n.name),
            Op::Mul {
                a,
                b: chunk,
                signed,
            },
            pw,
        );
        // Extend to the bits above `lo` (the partial product fits them: `lo + pw` is
        // at most the product's width) and shift it into place.
        let room = width - lo;
        let ext = if pw < room {
            node(
                out,
                &format!("{}_pp{k}x", n.name),
                Op::Ext { a: p, signed },
                room,
            )
        } else {
            p
        };
        let placed = if lo == 0 {
            ext
        } else {
            let zeros = node(
                out,
                &format!("{}_z{k}", n.name),
                Op::Const(vec![0; lo.div_ceil(64) as usize]),
                lo,
            );
            node(
                out,
                &format!("{}_pp{k}s", n.name),
                Op::Concat(vec![ext, zeros]),
                width,
            )
        };
        terms.push(placed);
    }
    while terms.len() > 1 {
        let mut next = Vec::new();
        for pair in terms.chunks(2) {
            next.push(match pair {
                [x, y] => node(
                    out,
                    &format!("{}_sum", n.name),
                    Op::Binary(BinOp::Add, *x, *y),
                    width,
                ),
                [x] => *x,
                _ => unreachable!("chunks of two"),
            });
        }
        terms = next;
    }
    // The last sum takes the product's own name.
    let last = out.nodes.last_mut().expect("a sum");
    taken.insert(n.name.clone());
    last.1.name = n.name.clone();
    Some(terms[0])
}
