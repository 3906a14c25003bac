//! RTL of the DNA-TEQ exponent-domain dot product `expq_dot` (docs/log-domain.md; the
//! model is `model::expq::ExpqDot`).
//!
//! Stages:
//! 1. count: a valid beat with a nonzero product adds `+-1` to the counter of its
//!    exponent sum `ew + ea`, and with offsets (`--offset-w`, `--offset-a`) also to the
//!    counter of its weight exponent `ew` (if `o_a != 0`), of its activation exponent
//!    `ea` (if `o_w != 0`) and to the sign counter (if both are): the cross terms of
//!    `(b^ew + o_w)(b^ea + o_a)`, walked after the exponent sums with their own
//!    constants (`ExpqDotParams::table`);
//! 2. flush: a `flush` beat starts the walk; each walk cycle reads counter `k` into
//!    `walk_count_q` and `T[k]` (constants from `ExpqDotParams::table`) into
//!    `walk_constant_q`, and clears the counter; the next cycle registers their product
//!    in `walk_term_q`, the one after adds it to `y_acc` (`model::expq::WALK_STAGES`:
//!    the select, the multiply and the add each get a cycle);
//! 3. with the last counter's term, `y` takes the sum with `out_valid` and `y_acc`
//!    starts again from 0, so a walk may follow the previous one at once.

use model::expq::ExpqDotParams;

use crate::ir::{cat, lit, mux, Expr, ExprOps, ModuleBuilder, Result, Sig, Val};
use crate::{start_unit, Generate, Module, UnitParams};

/// The unit's ports by name.
type Io = std::collections::BTreeMap<String, Sig>;

impl Generate for ExpqDotParams {
    fn rtl(&self) -> Result<Module> {
        let (mut m, io) = start_unit(self)?;
        describe(&mut m, self);
        let (clk, rst, flush) = (io["clk"], io["rst"], io["flush"]);
        let (n, cw, ow) = (self.counters(), self.counter_bits(), self.out_bits());
        // Index of a counter: exp_bits + 1 bits without offsets.
        let iw = model::int::index_bits(n);

        m.note("Walk state: which counter the walk reads next.");
        let walking = m.reg("walking_q", 1, clk, Some((rst, 0)))?;
        let index = m.reg("walk_index_q", iw, clk, Some((rst, 0)))?;
        let finishing = m.wire("walk_done", walking & index.equal(n - 1))?;
        let starting = m.wire("walk_start", !walking & flush)?;
        m.next(walking, (walking & !finishing) | starting, None)?;
        let advanced = mux(walking, (index + 1).wrapping(iw), 0);
        m.next(index, mux(finishing, 0, advanced), None)?;

        let counters = if self.lanes == 1 {
            count_one_lane(&mut m, self, &io, walking, index)?
        } else {
            count_lanes(&mut m, self, &io, walking, index)?
        };

        m.note("Stage 2a: the walk reads c_k (0 while idle) and T[k].");
        let selected = super::select(&mut m, "walk_selected", &counters, index)?;
        let count = m.reg("walk_count_q", cw, clk, Some((rst, 0)))?;
        m.next(count, mux(walking, selected, 0), None)?;
        let tw = self.table_bits() + 1; // positive, as a signed operand
        let constant = super::rom(&mut m, "walk_rom", &self.table(), tw, index)?;
        let constant = m.register("walk_constant_q", constant, clk, Some(rst), None)?;
        let last_read = m.register("walk_last_1_q", finishing.sig, clk, Some(rst), None)?;

        m.note("Stage 2b: the term c_k * T[k], modulo 2^W like y.");
        let product = m.val(count.s() * constant.s())?; // cw + tw bits, exact
        let product = m.narrow("walk_product", product, ow)?;
        let term = m.register("walk_term_q", product.sig, clk, Some(rst), None)?;
        let last_term = m.register("walk_last_2_q", last_read, clk, Some(rst), None)?;

        m.note("Stage 2c: y_acc += term; 0 again after the last term.");
        let y_acc = m.reg("y_acc_q", ow, clk, Some((rst, 0)))?;
        let added = m.wire("y_sum", (y_acc + term).wrapping(ow))?;
        m.next(y_acc, mux(last_term, 0, added), None)?;

        m.note("Stage 3: the result.");
        let y = m.register("y_q", added.sig, clk, Some(rst), Some(last_term))?;
        let out_valid = m.register("out_valid_q", last_term, clk, Some(rst), None)?;
        m.out("y", y)?;
        m.out("out_valid", out_valid)?;
        m.finish()
    }
}

/// Stage 1 with one lane: each counter takes `+-1` when the beat's product selects it.
fn count_one_lane(
    m: &mut ModuleBuilder,
    p: &ExpqDotParams,
    io: &Io,
    walking: Sig,
    index: Sig,
) -> Result<Vec<Sig>> {
    let (clk, rst, valid) = (io["clk"], io["rst"], io["in_valid"]);
    let (n, cw) = (p.counters(), p.counter_bits());
    m.note(if n == p.sum_counters() {
        "Stage 1: count the product's exponent sum."
    } else {
        "Stage 1: count the product's exponent sum, exponents and sign."
    });
    let counting = m.wire("count_beat", valid & !(io["zw"] | io["za"]) & !walking)?;
    let sum = m.wire("exp_sum", io["ew"] + io["ea"])?;
    let minus_one = lit((1 << cw) - 1, cw, false);
    let step = m.wire("count_step", mux(io["sw"] ^ io["sa"], minus_one, 1))?;
    let mut counters = Vec::new();
    let codes = 1u32 << p.exp_bits;
    for k in 0..n {
        let c = m.reg(&format!("count_{k}_q"), cw, clk, Some((rst, 0)))?;
        let clear = m.val(walking & index.equal(k))?;
        // The exponent sum k, or the weight exponent, the activation exponent, or
        // every product (the sign counter).
        let hit = match (p.weight_counters(), p.activation_counters()) {
            _ if k < p.sum_counters() => m.val(counting & sum.equal(k))?,
            (Some(w), _) if (w..w + codes).contains(&k) => {
                m.val(counting & io["ew"].equal(k - w))?
            }
            (_, Some(a)) if (a..a + codes).contains(&k) => {
                m.val(counting & io["ea"].equal(k - a))?
            }
            _ => counting,
        };
        let load = m.val(clear | hit)?;
        m.next(c, mux(clear, 0, (c + step).wrapping(cw)), Some(load.sig))?;
        counters.push(c);
    }
    Ok(counters)
}

/// Stage 1 with L lanes: lane l's fields of the operand buses; per counter, each lane's
/// `+1`, `-1` or 0 as a 2-bit signed value `{hit & negative, hit}`, summed by a balanced
/// tree whose every node has exactly the bits of `-n ..= n` for its n lanes; the counter
/// adds the sum (modulo 2^W: the counter width, or the sum's if that is narrower).
fn count_lanes(
    m: &mut ModuleBuilder,
    p: &ExpqDotParams,
    io: &Io,
    walking: Sig,
    index: Sig,
) -> Result<Vec<Sig>> {
    let (clk, rst, valid) = (io["clk"], io["rst"], io["in_valid"]);
    let (n, cw, e) = (p.counters(), p.counter_bits(), p.exp_bits);
    let codes = 1u32 << e;
    m.note(format!(
        "Stage 1: {} lanes; each lane's product counts its exponent sum{}.",
        p.lanes,
        if n == p.sum_counters() {
            ""
        } else {
            ", exponents and sign"
        }
    ));
    let mut lanes = Vec::new();
    for l in 0..p.lanes {
        let field = |m: &mut ModuleBuilder, port: &str, w: u32| -> Result<Val> {
            m.wire(&format!("{port}_{l}"), io[port].bits(l * w + w - 1, l * w))
        };
        let (sw, zw, ew) = (field(m, "sw", 1)?, field(m, "zw", 1)?, field(m, "ew", e)?);
        let (sa, za, ea) = (field(m, "sa", 1)?, field(m, "za", 1)?, field(m, "ea", e)?);
        let counting = m.wire(&format!("count_beat_{l}"), valid & !(zw | za) & !walking)?;
        let negative = m.wire(&format!("count_negative_{l}"), sw ^ sa)?;
        let sum = m.wire(&format!("exp_sum_{l}"), ew + ea)?;
        lanes.push((counting, negative, sum, ew, ea));
    }
    let mut counters = Vec::new();
    for k in 0..n {
        let c = m.reg(&format!("count_{k}_q"), cw, clk, Some((rst, 0)))?;
        let clear = m.val(walking & index.equal(k))?;
        let mut steps = Vec::new();
        for &(counting, negative, sum, ew, ea) in &lanes {
            // The exponent sum k, or the weight exponent, the activation exponent, or
            // every product (the sign counter).
            let hit = match (p.weight_counters(), p.activation_counters()) {
                _ if k < p.sum_counters() => m.val(counting & sum.equal(k))?,
                (Some(w), _) if (w..w + codes).contains(&k) => m.val(counting & ew.equal(k - w))?,
                (_, Some(a)) if (a..a + codes).contains(&k) => m.val(counting & ea.equal(k - a))?,
                _ => counting,
            };
            let step = m.val(cat([hit & negative, Expr::from(hit)]).reinterpret_signed())?;
            steps.push((step, 1u32));
        }
        let delta = tree(m, &format!("count_{k}_delta"), steps)?;
        let delta = if delta.width() > cw {
            m.narrow(&format!("count_{k}_step"), delta, cw)?
        } else {
            delta
        };
        m.next(c, mux(clear, 0, (c + delta).wrapping(cw)), None)?;
        counters.push(c);
    }
    Ok(counters)
}

/// A balanced adder tree of signed counts, each with the number of lanes it sums: pairs
/// added level by level (`<name>_<level>_<i>`), each sum in exactly the signed bits of
/// `-n ..= n` for its n lanes.
fn tree(m: &mut ModuleBuilder, name: &str, level: Vec<(Val, u32)>) -> Result<Val> {
    let (sum, _) = super::balanced_tree(level, |depth, i, (a, na), (b, nb)| {
        let lanes = na + nb;
        let bits = model::int::unsigned_bits(lanes.into()) + 1;
        let s = m.wire(&format!("{name}_{depth}_{i}"), (a + b).wrapping(bits))?;
        Ok((s, lanes))
    })?;
    Ok(sum)
}

/// The behavioural reference: `crate::golden::expq_dot`.
impl crate::Reference for ExpqDotParams {
    fn golden(&self) -> Result<crate::golden::GoldenModule> {
        crate::golden::expq_dot::golden(self)
    }
}

fn describe(m: &mut ModuleBuilder, p: &ExpqDotParams) {
    m.comment(format!(
        "DNA-TEQ exponent-domain dot product: {e}-bit exponent codes, base {b}, code e = b^(e{sign}{em}),",
        e = p.exp_bits,
        b = p.base,
        sign = if p.exp_min < 0 { "" } else { "+" },
        em = p.exp_min
    ));
    m.comment(format!(
        "{} signed {}-bit counters (one per exponent sum, up to {} products), then a walk:",
        p.counters(),
        p.counter_bits(),
        p.k_max
    ));
    m.comment(format!(
        "y = sum_k c_k * T[k], T[k] = RNE(b^(k + 2 e_min) * 2^{}), k ascending (docs/log-domain.md).",
        p.frac_bits
    ));
    if p.counters() != p.sum_counters() {
        m.comment(format!(
            "Offsets: weight levels b^e + {}, activation levels b^e + {}; counters {}.. add \
             the cross terms (per-operand exponent counts, the sign count) with their constants.",
            p.offset_w,
            p.offset_a,
            p.sum_counters()
        ));
    }
    m.comment(format!(
        "Latency: {} cycles from the flush beat to out_valid; beats during the walk's reads are ignored.",
        p.latency()
    ));
}
