//! RTL of the integer requantizer `requant` (docs/requant.md; the model is
//! `model::requant`, which follows gemmlowp's definitions literally).
//!
//! Per lane, a few named wires each:
//! 1. channel: with C > 1, `chan_q` (the channel of lane 0) plus `l mod C`, reduced
//!    once; `mult`, `shift` and `zp` picked by a mux tree on its bits;
//! 2. shift: clamped to -31..=30, split into `ls` and `rs`;
//! 3. `a = acc << ls` (a 32-bit barrel shift: the bits above wrap away);
//! 4. SRDHM: the exact 64-bit product `a * mult`, rounded at bit 31 half up (ties toward
//!    plus infinity: `floor((ab + 2^30) / 2^31)`, which is what gemmlowp's nudge and
//!    truncating division compute), the one overflow `-2^31 * -2^31` replaced by
//!    `2^31 - 1`;
//! 5. RDBPOT: `(x + bias) >>> rs` with `bias = 2^(rs-1)` for `x >= 0`, `2^(rs-1) - 1`
//!    for `x < 0` and 0 for `rs = 0`, read from the mask `2^rs - 1` (ties away from
//!    zero);
//! 6. `+ zp` exactly, clamp to W bits; `y_q`, `out_valid_q` and `chan_q` registered.
//!
//! With C = 1 everything before the registers depends on the beat alone, so
//! `--pipeline` cuts it anywhere, the 32x32 product included (the pass splits it into
//! partial products). With C > 1 the operands wait for the channel counter (state), so
//! only the `acc` side before the product can be cut.

use model::requant::{RequantParams, SHIFT_BITS};

use crate::ir::{cat, limits, lit, mux, ExprOps, ModuleBuilder, Result, Round, Sig, Val};
use crate::{start_unit, Generate, Module, UnitParams};

impl Generate for RequantParams {
    fn rtl(&self) -> Result<Module> {
        let (mut m, io) = start_unit(self)?;
        describe(&mut m, self);
        let (clk, rst, valid) = (io["clk"], io["rst"], io["in_valid"]);
        let (c, l) = (self.per_channel, self.lanes);
        let entries = |m: &mut ModuleBuilder, port: Sig, bits: u32, n: u32| {
            (0..n)
                .map(|i| m.slice(port, bits * i + bits - 1, bits * i))
                .collect::<Result<Vec<_>>>()
        };
        let accs = entries(&mut m, io["acc"], 32, l)?;
        let mults = entries(&mut m, io["mult"], 32, c)?;
        let shifts = entries(&mut m, io["shift"], SHIFT_BITS, c)?;
        let zps = entries(&mut m, io["zp"], 32, c)?;

        let count = if c > 1 {
            m.note("Channel counter: the channel of lane 0 of this beat.");
            let cw = self.count_bits();
            let q = m.reg("chan_q", cw, clk, Some((rst, 0)))?;
            let next = advance(&mut m, self, q, l, "chan_next")?;
            m.next(q, next, Some(valid))?;
            Some(q)
        } else {
            None
        };

        let mut ys = Vec::new();
        for lane in 0..l {
            let n = |s: &str| {
                if l > 1 {
                    format!("{s}_{lane}")
                } else {
                    s.to_string()
                }
            };
            let (mult, shift, zp) = match count {
                None => (mults[0], shifts[0], zps[0]),
                Some(q) => {
                    m.note(format!("Lane {lane}: its channel and parameters."));
                    let ch = advance(&mut m, self, q, lane, &n("chan"))?;
                    let mult = select(&mut m, &mults, ch)?;
                    // Named: the reference names it alike (a cut point of the proof).
                    let mult = m.name(mult, &n("mult_sel"))?;
                    (
                        mult,
                        select(&mut m, &shifts, ch)?,
                        select(&mut m, &zps, ch)?,
                    )
                }
            };
            let y = lane_datapath(&mut m, self, &n, accs[lane as usize], mult, shift, zp)?;
            ys.push(y);
        }
        m.note("Registered outputs, lane 0 lowest.");
        let packed = m.val(cat(ys.iter().rev().map(|v| v.sig)))?;
        let y_q = m.register("y_q", packed.sig, clk, Some(rst), Some(valid))?;
        let out_valid = m.register("out_valid_q", valid, clk, Some(rst), None)?;
        m.outs([("y", y_q), ("out_valid", out_valid)])?;
        m.finish()
    }
}

/// The behavioural reference: `crate::golden::requant`.
impl crate::Reference for RequantParams {
    fn golden(&self) -> Result<crate::golden::GoldenModule> {
        crate::golden::requant::golden(self)
    }
}

/// `(q + k) mod C` for the counter value `q < C` (one conditional subtraction), in the
/// counter's width.
fn advance(m: &mut ModuleBuilder, p: &RequantParams, q: Sig, k: u32, name: &str) -> Result<Sig> {
    let (c, cw) = (p.per_channel, p.count_bits());
    let k = k % c;
    if k == 0 {
        return Ok(q);
    }
    let sum = m.wire(&format!("{name}_sum"), q.u() + k)?;
    let wraps = sum.at_least(c);
    let reduced = m.val(mux(wraps, sum - c, sum))?;
    Ok(m.narrow(name, reduced, cw)?.sig)
}

/// `entries[idx]` by a mux tree on the bits of `idx`; an index at or above the count
/// (never reached) picks entry 0.
fn select(m: &mut ModuleBuilder, entries: &[Sig], idx: Sig) -> Result<Sig> {
    let bits = idx.width();
    let mut level: Vec<Sig> = (0..1usize << bits)
        .map(|i| *entries.get(i).unwrap_or(&entries[0]))
        .collect();
    for k in 0..bits {
        let b = m.bit(idx, k)?;
        level = level
            .chunks(2)
            .map(|pair| m.mux(b, pair[1], pair[0]))
            .collect::<Result<Vec<_>>>()?;
    }
    Ok(level[0])
}

/// One lane: steps 2 to 6 of the module documentation. Returns `y` in W bits.
fn lane_datapath(
    m: &mut ModuleBuilder,
    p: &RequantParams,
    n: &dyn Fn(&str) -> String,
    acc: Sig,
    mult: Sig,
    shift: Sig,
    zp: Sig,
) -> Result<Val> {
    m.note("Shift: clamped to -31..=30; ls = max(shift, 0), rs = max(-shift, 0).");
    let sh = m.clamp(&n("shift_c"), shift.s(), -31, 30)?;
    let neg = m.wire(&n("shift_neg"), sh.bit(SHIFT_BITS - 1))?;
    let low = m.wire(&n("shift_low"), sh.bits(4, 0))?;
    let ls = m.wire(&n("ls"), mux(neg, lit(0, 5, false), low))?;
    let negated = (lit(0, 5, false) - low).wrapping(5);
    let rs = m.wire(&n("rs"), mux(neg, negated, lit(0, 5, false)))?;

    m.note("a = acc << ls, wrapping to 32 bits.");
    let a = m.shift_left(acc.s(), ls.sig)?;
    let a = m.wire(&n("a"), a)?;
    let b = mult.s();

    m.note("SRDHM: floor((a*b + 2^30) / 2^31); -2^31 * -2^31 saturates to 2^31 - 1.");
    let min = lit(i32::MIN.into(), 32, true);
    let sat = m.wire(&n("srdhm_sat"), a.equal(min.clone()) & b.equal(min))?;
    let prod = m.wire(&n("prod"), a * b)?;
    let low_bits = m.slice(prod.sig, 29, 0)?;
    m.discard(low_bits, &n("prod_low"))?;
    let rounded = m.round(&n("srdhm_round"), prod, 31, Round::HalfUp)?;
    let high = m.val(mux(sat, lit(i32::MAX.into(), 32, true), rounded))?;
    let x = m.narrow(&n("srdhm"), high, 32)?;

    m.note("RDBPOT: (x + bias) >>> rs, bias = (mask >> 1) + (rs != 0 && x >= 0).");
    let ones = m.lit(32, -1)?;
    let shifted_ones = m.shift_left(ones.u(), rs.sig)?;
    let mask = m.wire(&n("mask"), !shifted_ones)?;
    let x_neg = m.wire(&n("x_neg"), x.bit(31))?;
    let bias = m.wire(&n("bias"), mask.bits(31, 1) + (mask.bit(0) & !x_neg))?;
    let biased = m.wire(&n("biased"), x + bias)?;
    let quotient = m.shift_right(biased, rs.sig)?;
    let r = m.narrow(&n("rdbpot"), quotient, 32)?;

    m.note("Offset exactly, clamp to the output range.");
    let v = m.wire(&n("offset"), r + zp.s())?;
    let (lo, hi) = limits(p.out_bits, p.signed);
    m.clamp(&n("y_lane"), v, lo, hi)
}

fn describe(m: &mut ModuleBuilder, p: &RequantParams) {
    let kind = if p.signed { "signed" } else { "unsigned" };
    m.comment(format!(
        "Integer requantizer (gemmlowp/TFLite), {w}-bit {kind} output, {c} channel(s), {l} \
         lane(s) (docs/requant.md).",
        w = p.out_bits,
        c = p.per_channel,
        l = p.lanes
    ));
    m.comment("y = clamp(RDBPOT(SRDHM(acc << ls, mult), rs) + zp), ls = max(shift, 0),");
    m.comment("rs = max(-shift, 0), shift clamped to -31..=30; lane l of the t-th valid beat");
    m.comment("uses channel (t*L + l) mod C.");
    m.comment(format!(
        "Latency: {} cycle from in_valid to out_valid.",
        p.latency()
    ));
}
