//! RTL of the block dot product `bfp_dot` (docs/bfp.md; the model is
//! `model::bfp::BfpDot`).
//!
//! Stages:
//! 0. per beat: `lanes` exact m x m products (in mixed-mantissa mode each element is the
//!    low bits of its field, sign-extended) summed by an adder tree, added to the block's
//!    partial sum; a beat counter finds the block's last beat;
//! 1. register the block's exact sum, `ea + eb` and `clear`;
//! 2. convert `sum * 2^(ea+eb)` to binary32 (normalise; exact unless out of range) and
//!    register it;
//! 3. add it to the binary32 accumulator (or start over on `clear`), RNE, flush and
//!    saturate with sticky `uf` and `of`; `out_valid` with the new value.
//!
//! With several beats per block, stages 2 and 3 take `conversion_stages` and
//! `accumulation_stages` extra cycles: each datapath is built as a module of its own, cut
//! by the generic pipelining pass (`crate::ir::pipeline`, registers reset to their
//! all-zero-input value) with the valid and clear bits passed through beside it, and
//! copied into the unit. Blocks are at least `beats` cycles apart and the adder takes at
//! most `beats` cycles, so a block's value enters the adder only once `acc_q` holds the
//! previous sum.

use model::bfp::{BfpDotParams, LongWindow};
use model::float::{FloatFormat, Rounding};

use std::collections::{BTreeMap, BTreeSet};

use crate::float;
use crate::ir::delay::DelayModel;
use crate::ir::pipeline::pipeline;
use crate::ir::{
    cat, lit, mux, BinOp, Expr, ExprOps, ModuleBuilder, Node, Op, Result, Sig, UnOp, Val,
};
use crate::{start_unit, Generate, Module, UnitParams};

impl Generate for BfpDotParams {
    fn rtl(&self) -> Result<Module> {
        let (mut m, io) = start_unit(self)?;
        describe(&mut m, self);
        let (clk, rst, valid) = (io["clk"], io["rst"], io["in_valid"]);
        let s = self.sum_width();

        let mode = io.get("mode").copied();
        let (beat_sum, last) = match (self.packed_width(), mode) {
            (Some(w), Some(mode)) => packed_products(&mut m, self, w, (&io, mode))?,
            _ => {
                m.note("Stage 0: element products, adder tree, and the block's partial sum.");
                let mut products = Vec::new();
                for i in 0..self.lanes() {
                    let a = element(&mut m, self, io["qa"], i, mode)?;
                    let b = element(&mut m, self, io["qb"], i, mode)?;
                    products.push(m.val(a * b)?); // 2m bits, exact
                }
                let beat_sum = adder_tree(&mut m, products)?;
                let beat_sum = m.wire("beat_sum", beat_sum.resize(s))?;
                let last = super::block_last(&mut m, self.beats_per_block(), clk, rst, valid)?;
                (beat_sum, last)
            }
        };
        let block_sum = if self.beats_per_block() == 1 {
            beat_sum
        } else {
            let partial = m.reg("partial_q", s, clk, Some((rst, 0)))?;
            let sum = m.wire("partial_sum", (partial + beat_sum).wrapping(s))?;
            m.next(partial, mux(last, 0, sum), Some(valid))?;
            sum
        };

        if let Some(window) = self.long {
            let exp = m.val(io["ea"].s() + io["eb"].s())?;
            let ports = (clk, rst, io["clear"], last);
            return long_accumulation(m, window, ports, block_sum, exp);
        }

        m.note("Stage 1: the block's exact sum and exponent.");
        let exp = m.val(io["ea"].s() + io["eb"].s())?;
        let stages = (
            self.conversion_stages(),
            self.accumulation_stages(),
            self.min_beats_per_block(),
        );
        let ports = (clk, rst, io["clear"], last);
        let (outputs, _) = binary32_stages(&mut m, ports, stages, block_sum, exp, None)?;
        super::accumulator_outputs(&mut m, outputs)?;
        m.finish()
    }
}

/// Stages 1 to 3 of a block dot product (`bfp_dot`, `mx_dot`; `model::bfp::DotStages`),
/// from the block's exact sum `block_sum` and exponent `exp`, valid with `last` (the
/// stage-1 note and `exp` are the caller's): the registered sum, its binary32 value
/// (`kc` extra cycles), the binary32 accumulator (`ka` extra cycles, blocks `beats` beats
/// apart). Returns `[acc, uf, of, out_valid]`, and with `nan` (a NaN block, whose sum the
/// caller has already zeroed so it adds +0) the sticky `nan_q` flag beside them.
pub(crate) fn binary32_stages(
    m: &mut ModuleBuilder,
    (clk, rst, clear, last): (Sig, Sig, Sig, Sig),
    (kc, ka, beats): (u32, u32, u32),
    block_sum: Val,
    exp: Val,
    nan: Option<Sig>,
) -> Result<([Sig; 4], Option<Sig>)> {
    let [sum1, exp1, clear1] = m.registers(
        [
            ("block_sum_q", block_sum.sig),
            ("block_exp_q", exp.sig),
            ("block_clear_q", clear),
        ],
        clk,
        Some(rst),
        Some(last),
    )?;
    let valid1 = m.register("block_valid_q", last, clk, Some(rst), None)?;
    let nan1 = nan
        .map(|n| m.register("block_nan_q", n, clk, Some(rst), Some(last)))
        .transpose()?;

    let f = FloatFormat::BINARY32;
    m.note(if kc == 0 {
        "Stage 2: the block's value as binary32.".to_string()
    } else {
        format!(
            "Stage 2: the block's value as binary32, in {} cycles.",
            kc + 1
        )
    });
    let mut inputs = vec![
        ("valid", valid1),
        ("clear", clear1),
        ("sum", sum1),
        ("exp", exp1),
    ];
    inputs.extend(nan1.map(|n| ("nan", n)));
    let conv = staged(m, "conv", kc, (clk, rst), &inputs, |m, i| {
        let v = float::from_scaled_int(m, "conv", &f, i["sum"], i["exp"], Rounding::Rne)?;
        let mut outputs = vec![
            ("valid", i["valid"]),
            ("clear", i["clear"]),
            ("bits", v.bits),
            ("uf", v.underflow),
            ("of", v.overflow),
        ];
        outputs.extend(i.get("nan").map(|n| ("nan", *n)));
        Ok(outputs)
    })?;
    let [v2, uf2, of2, clear2] = m.registers(
        [
            ("value_q", conv["bits"]),
            ("value_uf_q", conv["uf"]),
            ("value_of_q", conv["of"]),
            ("value_clear_q", conv["clear"]),
        ],
        clk,
        Some(rst),
        Some(conv["valid"]),
    )?;
    let valid2 = m.register("value_valid_q", conv["valid"], clk, Some(rst), None)?;
    let nan2 = conv
        .get("nan")
        .map(|n| m.register("value_nan_q", *n, clk, Some(rst), Some(conv["valid"])))
        .transpose()?;

    m.note(if ka == 0 {
        "Stage 3: binary32 accumulation (RNE, no subnormals).".to_string()
    } else {
        format!(
            "Stage 3: binary32 accumulation (RNE, no subnormals) in {} cycles: blocks are \
                 at least {} cycles apart, so acc_q holds the previous sum before the next \
                 value enters the adder.",
            ka + 1,
            beats
        )
    });
    let acc = m.reg("acc_q", 32, clk, Some((rst, 0)))?;
    let uf = m.reg("uf_q", 1, clk, Some((rst, 0)))?;
    let of = m.reg("of_q", 1, clk, Some((rst, 0)))?;
    let mut inputs = vec![
        ("valid", valid2),
        ("clear", clear2),
        ("value_uf", uf2),
        ("value_of", of2),
        ("acc", acc),
        ("value", v2),
    ];
    inputs.extend(nan2.map(|n| ("nan", n)));
    let sum = staged(m, "acc", ka, (clk, rst), &inputs, |m, i| {
        let base = m.val(mux(i["clear"], 0, i["acc"]))?;
        let r = float::add(m, "acc", &f, base.sig, i["value"], Rounding::Rne)?;
        let mut outputs = vec![
            ("valid", i["valid"]),
            ("clear", i["clear"]),
            ("value_uf", i["value_uf"]),
            ("value_of", i["value_of"]),
            ("bits", r.bits),
            ("uf", r.underflow),
            ("of", r.overflow),
        ];
        outputs.extend(i.get("nan").map(|n| ("nan", *n)));
        Ok(outputs)
    })?;
    let (valid3, clear3) = (sum["valid"], sum["clear"]);
    m.next(acc, sum["bits"], Some(valid3))?;
    m.next(
        uf,
        (uf & !clear3) | sum["value_uf"] | sum["uf"],
        Some(valid3),
    )?;
    m.next(
        of,
        (of & !clear3) | sum["value_of"] | sum["of"],
        Some(valid3),
    )?;
    let nan_q = match sum.get("nan") {
        Some(nan3) => {
            let q = m.reg("nan_q", 1, clk, Some((rst, 0)))?;
            m.next(q, (q & !clear3) | *nan3, Some(valid3))?;
            Some(q)
        }
        None => None,
    };
    let out_valid = m.register("out_valid_q", valid3, clk, Some(rst), None)?;
    Ok(([acc, uf, of, out_valid], nan_q))
}

/// `--acc long` after stage 0: the block's value placed in the window and registered (stage
/// 1), the loop `long_q <= (clear ? 0 : long_q) + value` (stage 2) and the read-out shared
/// with `fpacc-long`.
fn long_accumulation(
    mut m: ModuleBuilder,
    window: LongWindow,
    (clk, rst, clear, last): (Sig, Sig, Sig, Sig),
    block_sum: Val,
    exp: Val,
) -> Result<Module> {
    let b = window.bits;
    m.note("Stage 1: the block's value sum * 2^(ea+eb) in the long register's window.");
    let (value, value_of) = place(&mut m, window, block_sum, exp)?;
    let [value1, value_of1, clear1] = m.registers(
        [
            ("block_value_q", value.sig),
            ("block_value_of_q", value_of),
            ("block_clear_q", clear),
        ],
        clk,
        Some(rst),
        Some(last),
    )?;
    let valid1 = m.register("block_valid_q", last, clk, Some(rst), None)?;

    m.note("The loop: an integer add into the long register, wrapping with a sticky flag.");
    let long = m.reg("long_q", b, clk, Some((rst, 0)))?;
    let sticky = m.reg("long_of_q", 1, clk, Some((rst, 0)))?;
    let base = m.val(mux(clear1, 0, long.s()))?;
    let sum = m.wire("long_sum", base + value1.s())?; // b + 1 bits, exact
    let wrapped = m.val(sum.bit(b) ^ sum.bit(b - 1))?;
    m.next(long, sum.bits(b - 1, 0), Some(valid1))?;
    m.next(
        sticky,
        (sticky & !clear1) | value_of1 | wrapped,
        Some(valid1),
    )?;
    let valid2 = m.register("long_valid_q", valid1, clk, Some(rst), None)?;
    let outputs = super::fpacc_long::readout(
        &mut m,
        (long, sticky, valid2),
        (window.lsb, &FloatFormat::BINARY32, Rounding::Rne),
        (clk, rst),
    )?;
    super::accumulator_outputs(&mut m, outputs)?;
    m.finish()
}

/// `model::bfp::LongWindow::place`: the block sum `sum` (S bits) times `2^exp` in units of
/// the window's LSB, truncated (floor), as its low `bits` bits, and whether it does not fit
/// the register. The sum, sign-extended to `bits + S` bits, is taken to have S fraction
/// bits and shifted left by `exp - lsb + S` clamped to `0..=bits + S` (below 0 the value
/// floors to 0 or -1 as at 0; at or above `bits + S` no bit stays); the register's bits
/// are the shifted value's top `bits`. The value fits exactly when the sum fits
/// `d = bits - (exp - lsb)` signed bits, found from a leading-zero count (below).
fn place(m: &mut ModuleBuilder, window: LongWindow, sum: Val, exp: Val) -> Result<(Val, Sig)> {
    let (b, lsb) = (window.bits, i64::from(window.lsb));
    let s = sum.width();
    let w = b + s;
    // exp is (E + 1)-bit signed; the shift and d are exact at these widths.
    let (elo, ehi) = (
        -(1i64 << (exp.width() - 1)),
        (1i64 << (exp.width() - 1)) - 1,
    );
    let (c, dc) = (i64::from(s) - lsb, i64::from(b) + lsb);
    let tw = float::signed_bits(elo + c, ehi + c);
    let t = m.wire(
        "place_shift",
        (exp + lit(c.into(), float::signed_bits(c, c), true)).wrapping(tw), // exact
    )?;
    let aw = 32 - w.leading_zeros(); // holds 0..=w
    let t_low = if tw > aw {
        t.bits(aw - 1, 0)
    } else {
        t.resize(aw).bits(aw - 1, 0)
    };
    let amount = m.wire(
        "place_amount",
        mux(
            t.less(0),
            lit(0, aw, false),
            mux(t.greater(i64::from(w)), lit(w.into(), aw, false), t_low),
        ),
    )?;
    let wide = m.val(sum.resize(w))?;
    let shifted = m.shift_left(wide, amount.sig)?;
    let value = m.wire("place_value", shifted.bits(w - 1, s).reinterpret_signed())?;
    let fraction = m.val(shifted.bits(s - 1, 0))?;
    m.discard(fraction.sig, "place_fraction")?; // below the LSB: truncated

    let d = m.wire(
        "place_room",
        lit(dc.into(), float::signed_bits(dc, dc), true) - exp,
    )?;
    // u = the sum with its sign bit XOR-ed into every bit below it (|sum| - 1 for a
    // negative one): the sum fits j signed bits when u < 2^(j-1). With a one appended
    // below, u's leading zeros count z = S - 1 - bitlength(u), so the value fits when
    // d >= bitlength(u) + 1, that is d + z >= S; a zero sum always fits.
    let sign = m.val(sum.bit(s - 1))?;
    let spread = m.val(cat([
        sum.bits(s - 2, 0) ^ cat((1..s).map(|_| sign)),
        lit(1, 1, false),
    ]))?;
    let z = m.lzc("place_lz", spread.sig)?;
    let zero = !sum.bits(s - 1, 0).any();
    let fits = m.val(zero | (d + z).greater(i64::from(s) - 1))?;
    let value_of = m.wire("place_of", !fits)?;
    Ok((value, value_of.sig))
}

/// The behavioural reference: `crate::golden::bfp_dot`.
impl crate::Reference for BfpDotParams {
    fn golden(&self) -> Result<crate::golden::GoldenModule> {
        crate::golden::bfp_dot::golden(self)
    }
}

fn describe(m: &mut ModuleBuilder, p: &BfpDotParams) {
    m.comment(format!(
        "HBFP{mb} block dot product: blocks of {n} {mb}-bit mantissas with {w}-bit shared",
        mb = p.mant_bits,
        n = p.block,
        w = p.exp_bits
    ));
    m.comment(format!(
        "exponents, {} element product(s) per beat ({} beat(s) per block), exact {}-bit",
        p.lanes(),
        p.beats_per_block(),
        p.sum_width()
    ));
    m.comment("block sum, one binary32 conversion per block, binary32 accumulation (RNE,");
    m.comment("no subnormals, saturating; sticky uf/of until clear) (docs/bfp.md).");
    match (p.packed_width(), p.modes) {
        (Some(w), _) => {
            m.comment(format!(
                "Packed narrow mode: mode 0 (per block, from its first beat) reads two {w}-bit"
            ));
            m.comment(format!(
                "elements from each lane's {}-bit field, {} products a beat and {} beat(s) a block;",
                p.field_bits(),
                2 * p.lanes(),
                p.beats_per_block() / 2
            ));
            m.comment(format!(
                "mode 1 one {}-bit element from the field's low bits.",
                p.mant_bits
            ));
        }
        (None, Some(modes)) => {
            m.comment(format!(
                "Mixed mantissa: mode k uses the k-th of the widths {modes}, read from the low bits"
            ));
            m.comment("of each element's field.");
        }
        (None, None) => {}
    }
    m.comment(format!(
        "Latency: {} cycles from a block's last beat to out_valid.",
        p.latency()
    ));
}

/// Outputs of a [`staged`] datapath, by name.
pub(crate) type Outputs = BTreeMap<String, Sig>;

/// The combinational datapath `body` (inputs by name to outputs by name) cut into
/// `stages` register stages: with none, built in `m` as is; otherwise built as a module of
/// its own with a clock and a reset, cut by the generic pass [`pipeline`] (every path from
/// an input to an output crosses `stages` registers, reset to their value for all-zero
/// inputs), and copied into `m` with its names prefixed by `tag`. Inputs that are only
/// passed through come out `stages` cycles late with the rest.
pub(crate) fn staged(
    m: &mut ModuleBuilder,
    tag: &str,
    stages: u32,
    (clk, rst): (Sig, Sig),
    inputs: &[(&str, Sig)],
    body: impl FnOnce(&mut ModuleBuilder, &Outputs) -> Result<Vec<(&'static str, Sig)>>,
) -> Result<Outputs> {
    let named = |v: Vec<(&str, Sig)>| v.into_iter().map(|(n, s)| (n.to_string(), s)).collect();
    if stages == 0 {
        let ins: Outputs = named(inputs.to_vec());
        return Ok(named(body(m, &ins)?));
    }
    let mut c = ModuleBuilder::new(tag);
    let (cclk, crst) = (c.input("clk", 1)?, c.input("rst", 1)?);
    let mut ins = Outputs::new();
    for (name, s) in inputs {
        ins.insert(name.to_string(), c.input(name, s.width())?);
    }
    // Outputs as `<name>_o`: a passed-through input keeps its own name.
    for (name, s) in body(&mut c, &ins)? {
        let port = format!("{name}_o");
        c.output(&port, s.width())?;
        c.drive_output(&port, s)?;
    }
    // The clock and the reset serve the pipeline registers only.
    c.discard(cclk, "clk")?;
    c.discard(crst, "rst")?;
    let child = pipeline(
        &c.finish()?,
        stages,
        "clk",
        Some("rst"),
        &DelayModel::default(),
    )?;
    let mut wires: Vec<(&str, Sig)> = vec![("clk", clk), ("rst", rst)];
    wires.extend_from_slice(inputs);
    let outs = inline(m, &child.module, tag, &wires)?;
    Ok(outs
        .into_iter()
        .map(|(port, s)| (port.trim_end_matches("_o").to_string(), s))
        .collect())
}

/// Copy the finished module `c` (no instances) into `m`, its inputs connected by name to
/// `inputs`; returns its outputs by name. Given names are kept, prefixed by `tag` unless
/// they start with it; automatic names are left for `m` to give; the discards of `c`'s
/// clock and reset are dropped.
fn inline(m: &mut ModuleBuilder, c: &Module, tag: &str, inputs: &[(&str, Sig)]) -> Result<Outputs> {
    let err = |message: String| crate::HdlError {
        module: c.name.clone(),
        message,
    };
    let prefixed = |name: &str| {
        if name.starts_with(&format!("{tag}_")) {
            name.to_string()
        } else {
            format!("{tag}_{name}")
        }
    };
    let value = |words: &[u64], width: u32| -> Result<i128> {
        if width > 127 {
            return Err(err(format!("a {width}-bit constant")));
        }
        Ok(words
            .iter()
            .take(2)
            .enumerate()
            .fold(0i128, |v, (i, w)| v | (i128::from(*w) << (64 * i))))
    };
    let mut map: BTreeMap<usize, Sig> = BTreeMap::new();
    let mut made: BTreeSet<Sig> = BTreeSet::new();
    // Signals of `c` by their node (the IR keeps a signal's id to itself).
    let ids: BTreeMap<*const Node, usize> = c
        .nodes
        .iter()
        .map(|(id, n)| (n as *const Node, *id))
        .collect();
    let get = |map: &BTreeMap<usize, Sig>, s: Sig| -> Result<Sig> {
        let id = ids[&(c.node(s) as *const Node)];
        map.get(&id)
            .copied()
            .ok_or_else(|| err(format!("'{}' used before it is made", c.node(s).name)))
    };
    let mut regs = Vec::new();
    for (id, n) in &c.nodes {
        let auto = n.name.ends_with(&format!("_{id}"))
            || matches!(&n.op, Op::Ext { a, .. } if n.name == format!("{}_ext", c.node(*a).name));
        let s = match &n.op {
            Op::Input => {
                let (_, s) = inputs
                    .iter()
                    .find(|(name, _)| *name == n.name)
                    .ok_or_else(|| err(format!("input '{}' is not connected", n.name)))?;
                *s
            }
            Op::Const(w) => m.lit(n.width, value(w, n.width)?)?,
            Op::Reg(i) => {
                let r = &c.regs[*i];
                let reset = match &r.reset {
                    Some((rs, w)) => Some((get(&map, *rs)?, value(w, r.width)?)),
                    None => None,
                };
                let clock = get(&map, r.clock)?;
                let s = m.reg(&prefixed(&r.name), r.width, clock, reset)?;
                regs.push((s, r));
                s
            }
            Op::Unary(UnOp::ReduceOr, a)
                if n.name.starts_with("unused_") && matches!(c.node(*a).op, Op::Input) =>
            {
                continue; // the clock's or the reset's discard
            }
            Op::Unary(UnOp::ReduceOr, a) if n.name.starts_with("unused_") => {
                let a = get(&map, *a)?;
                m.discard(a, &prefixed(&n.name["unused_".len()..]))?;
                continue;
            }
            Op::Unary(u, a) => {
                let a = get(&map, *a)?;
                match u {
                    UnOp::Not => m.not(a)?,
                    UnOp::ReduceAnd => m.reduce_and(a)?,
                    UnOp::ReduceOr => m.reduce_or(a)?,
                }
            }
            Op::Binary(b, x, y) => {
                let (x, y) = (get(&map, *x)?, get(&map, *y)?);
                match b {
                    BinOp::And => m.and(x, y)?,
                    BinOp::Or => m.or(x, y)?,
                    BinOp::Xor => m.xor(x, y)?,
                    BinOp::Add => m.add(x, y)?,
                    BinOp::Sub => m.sub(x, y)?,
                    BinOp::Eq => m.eq(x, y)?,
                    BinOp::Lt { signed } => m.lt(x, y, *signed)?,
                }
            }
            Op::Mul { a, b, signed } => {
                let (a, b) = (get(&map, *a)?, get(&map, *b)?);
                m.mul(a, b, *signed)?
            }
            Op::Mux { sel, t, f } => {
                let (sel, t, f) = (get(&map, *sel)?, get(&map, *t)?, get(&map, *f)?);
                m.mux(sel, t, f)?
            }
            Op::Slice { a, lo } => {
                let a = get(&map, *a)?;
                m.slice(a, lo + n.width - 1, *lo)?
            }
            Op::Concat(parts) => {
                let parts = parts
                    .iter()
                    .map(|p| get(&map, *p))
                    .collect::<Result<Vec<_>>>()?;
                m.concat(&parts)?
            }
            Op::Ext { a, signed } => {
                let a = get(&map, *a)?;
                m.ext(a, n.width, *signed)?
            }
            Op::Shift {
                a,
                amount,
                left,
                arith,
            } => {
                let (a, k) = (get(&map, *a)?, get(&map, *amount)?);
                match (left, arith) {
                    (true, _) => m.shl(a, k)?,
                    (false, true) => m.ashr(a, k)?,
                    (false, false) => m.shr(a, k)?,
                }
            }
            Op::InstOut { .. } => return Err(err("an instance".into())),
        };
        if s.width() != n.width {
            return Err(err(format!(
                "'{}' is {} bits, its copy {}",
                n.name,
                n.width,
                s.width()
            )));
        }
        let fresh = !matches!(n.op, Op::Input | Op::Reg(_)) && made.insert(s);
        if fresh && !auto && !n.inline {
            m.name(s, &prefixed(&n.name))?;
        }
        map.insert(*id, s);
    }
    for (s, r) in regs {
        let d = get(&map, r.d)?;
        let enable = r.enable.map(|e| get(&map, e)).transpose()?;
        m.drive_reg(s, d, enable)?;
    }
    c.outputs
        .iter()
        .map(|(name, s)| Ok((name.clone(), get(&map, *s)?)))
        .collect()
}

/// Stage 0 with `--narrow-pack` (narrow width `w`): returns the beat's exact sum of products
/// and the block's last beat. Each lane's field is 2w bits. The block's mode is sampled with
/// its first beat (`mode` then, `pack_mode_q` after) and picks the block's beats: B = n / L
/// wide, B / 2 narrow. Each lane has an m x m multiplier, fed the field's low m bits (wide)
/// or its low w bits sign-extended (narrow), and a w x w multiplier fed the field's high w
/// bits in the narrow mode and zero in the wide one, so a narrow beat does 2L products
/// and a wide one L. This costs L small multipliers beside the L wide ones; the other way to
/// get two w-bit products from one m x m array (re-routing its partial products by mode)
/// needs a mux on every partial-product column and mode-dependent signedness, and Yosys
/// maps a plain `*` of this size to LUTs and carries about as well (docs/bfp.md).
fn packed_products(
    m: &mut ModuleBuilder,
    p: &BfpDotParams,
    w: u32,
    (io, mode): (&BTreeMap<String, Sig>, Sig),
) -> Result<(Val, Sig)> {
    let (clk, rst, valid) = (io["clk"], io["rst"], io["in_valid"]);
    let (mb, f, beats) = (p.mant_bits, p.field_bits(), p.beats_per_block());
    m.note(format!(
        "Stage 0 (packed narrow mode): the block's mode from its first beat; {beats} beats \
         a wide block, {} a narrow one.",
        beats / 2
    ));
    let count_bits = model::int::index_bits(beats);
    let count = m.reg("beat_count", count_bits, clk, Some((rst, 0)))?;
    let first = m.val(count.equal(0))?;
    let mode_q = m.reg("pack_mode_q", mode.width(), clk, Some((rst, 0)))?;
    let load = m.val(valid & first)?;
    m.next(mode_q, mode, Some(load.sig))?;
    let block_mode = m.wire("block_mode", mux(first, mode, mode_q))?;
    let narrow = m.wire("narrow", block_mode.equal(0))?;
    let at_last = m.val(mux(
        narrow,
        count.equal(u64::from(beats / 2 - 1)),
        count.equal(u64::from(beats - 1)),
    ))?;
    let next = m.val((count + 1u64).wrapping(count_bits))?; // below `beats`: no wrap
    m.next(
        count,
        mux(at_last, lit(0, count_bits, false), next),
        Some(valid),
    )?;
    let last = m.wire("block_last", valid & at_last)?;

    m.note("Stage 0: two products per lane (the second only narrow), adder tree, partial sum.");
    let mut products = Vec::new();
    for i in 0..p.lanes() {
        let mut ops = Vec::new();
        for q in [io["qa"], io["qb"]] {
            let field = m.val(q.bits(f * i + f - 1, f * i))?;
            let wide = field.bits(mb - 1, 0).reinterpret_signed();
            let low = field.bits(w - 1, 0).reinterpret_signed().resize(mb);
            let high = field.bits(2 * w - 1, w).reinterpret_signed();
            let big = m.val(mux(narrow, low, wide))?;
            let small = m.val(mux(narrow, high, lit(0, w, true)))?;
            ops.push((big, small));
        }
        let [(a, a2), (b, b2)] = [ops[0], ops[1]];
        products.push(m.val(a * b)?); // 2m bits, exact
        products.push(m.val((a2 * b2).resize(2 * mb))?); // 2w bits, exact, widened
    }
    let beat_sum = adder_tree(m, products)?;
    let beat_sum = m.wire("beat_sum", beat_sum.resize(p.sum_width()))?;
    Ok((beat_sum, last.sig))
}

/// Element `i` of a beat's field vector, as an m-bit signed value; with modes, the low
/// bits of the field for the selected width, sign-extended.
fn element(
    m: &mut ModuleBuilder,
    p: &BfpDotParams,
    q: Sig,
    i: u32,
    mode: Option<Sig>,
) -> Result<Val> {
    let mb = p.mant_bits;
    let field = m.val(q.bits(mb * i + mb - 1, mb * i).reinterpret_signed())?;
    let (Some(modes), Some(mode)) = (p.modes, mode) else {
        return Ok(field);
    };
    // The widest for the last index and past it; narrower widths by their index.
    let mut v = Expr::from(field);
    for (k, width) in modes.list().iter().enumerate().rev().skip(1) {
        let narrow = field.bits(width - 1, 0).reinterpret_signed().resize(mb);
        v = mux(mode.equal(k as u64), narrow, v);
    }
    m.val(v)
}

/// Balanced tree of exact signed additions, widths growing one bit per level.
pub(crate) fn adder_tree(m: &mut ModuleBuilder, level: Vec<Val>) -> Result<Val> {
    super::balanced_tree(level, |_, _, a, b| m.val(a + b))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verilog::module_verilog;

    #[test]
    fn builds_for_lanes_and_modes() {
        for (block, lanes, mant, modes) in [
            (1, 1, 2, None),
            (16, 16, 4, None),
            (16, 4, 6, Some("4,6")),
            (64, 1, 8, Some("2,5,8")),
        ] {
            let p = BfpDotParams {
                block,
                lanes: Some(lanes),
                mant_bits: mant,
                modes: modes.map(|s| s.parse().unwrap()),
                ..BfpDotParams::default()
            };
            let module = p.rtl().unwrap_or_else(|e| panic!("{p:?}: {e}"));
            let text = module_verilog(&module);
            assert!(text.contains("acc_q"), "{text}");
        }
    }
}
