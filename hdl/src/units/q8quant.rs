//! RTL of the min/max affine quantizer `q8-quant` (docs/q8quant.md; the model is
//! `model::q8quant`).
//!
//! Two parts:
//! 1. The divider (state only): `load` with `hi > lo` latches `div_q = hi - lo` and
//!    `pend_lo_q = lo` and starts a restoring divider of `M * 2^(P-b)` (M = 2^b - 1) by
//!    `div_q`, one quotient bit per cycle, most significant first. The dividend is a
//!    constant whose bit i is 1 exactly for i >= P - b, so the bit shifted in is
//!    `cnt_q >= P - b`. After P steps the quotient (truncated) and the pending `lo`
//!    become `recip_q` and `lo_q` together and `ready_q` rises. `load` with `hi <= lo`
//!    clears `recip_q`, sets `bad_range_q` (sticky) and `ready_q`.
//! 2. Per lane (combinational, then registered): `t = (x - lo_q) * recip_q` exactly,
//!    rounded at P - b fraction bits (RNE, or SR: up iff the top R fraction bits exceed
//!    the lane's `rnd`), clamped to [0, M]; `q_q` and `out_valid_q` registered.
//!
//! `--pipeline` cuts only the input cone in front of the state (the generic pass delays
//! every input, `load`, `lo` and `hi` included, by the same number of cycles, so the
//! divider sees its operands in the same order): `x - lo_q` and the product wait for the
//! state, so the cuts go into the `load` side (`hi - lo`, its sign) and `x`'s wires.

use model::q8quant::Q8QuantParams;

use crate::ir::{cat, mux, ExprOps, ModuleBuilder, Result, Round};
use crate::{start_unit, Generate, Module, UnitParams};

impl Generate for Q8QuantParams {
    fn rtl(&self) -> Result<Module> {
        let (mut m, io) = start_unit(self)?;
        describe(&mut m, self);
        let (clk, rst, valid, load) = (io["clk"], io["rst"], io["in_valid"], io["load"]);
        let (n, l, p) = (self.in_bits, self.lanes, self.recip_bits);
        let f = self.recip_frac();
        let cw = count_bits(p);

        m.note("State: the active reciprocal and lower bound, the divider, the flags.");
        let recip_q = m.reg("recip_q", p, clk, Some((rst, 0)))?;
        let lo_q = m.reg("lo_q", n, clk, Some((rst, 0)))?;
        let busy_q = m.reg("busy_q", 1, clk, Some((rst, 0)))?;
        let cnt_q = m.reg("cnt_q", cw, clk, Some((rst, 0)))?;
        let rem_q = m.reg("rem_q", n, clk, Some((rst, 0)))?;
        let quo_q = m.reg("quo_q", p - 1, clk, Some((rst, 0)))?;
        let div_q = m.reg("div_q", n, clk, Some((rst, 0)))?;
        let pend_lo_q = m.reg("pend_lo_q", n, clk, Some((rst, 0)))?;
        let ready_q = m.reg("ready_q", 1, clk, Some((rst, 0)))?;
        let bad_q = m.reg("bad_range_q", 1, clk, Some((rst, 0)))?;

        m.note("load: the range hi - lo and whether it is positive.");
        let range = m.wire("range", io["hi"].s() - io["lo"].s())?;
        let good = m.wire("range_good", range.greater(0))?;
        let range_n = m.narrow("range_n", range, n)?;
        let load_good = m.wire("load_good", load.u() & good)?;
        let load_bad = m.wire("load_bad", load.u() & !good)?;

        m.note("Divider step: shift in the dividend bit (cnt_q >= P - b), subtract if it fits.");
        let in_bit = m.wire("div_in", cnt_q.u().at_least(f))?;
        let shifted = m.wire("rem_shift", cat([rem_q, in_bit.sig]))?;
        let ge = m.wire("div_ge", shifted.at_least(div_q.u()))?;
        let diff = m.val(mux(ge, (shifted - div_q.u()).wrapping(n + 1), shifted))?;
        let rem_next = m.narrow("rem_next", diff, n)?;
        // P >= 3 (validated): quo_q has at least two bits.
        let quo_low = m.slice(quo_q, p - 3, 0)?;
        let quo_next = m.wire("quo_next", cat([quo_low, ge.sig]))?;
        let last = m.wire("div_last", busy_q.u() & cnt_q.u().equal(0))?;
        let step = m.wire("div_step", busy_q.u() & !load.u())?;
        let quotient = m.wire("quotient", cat([quo_q, ge.sig]))?;

        m.note("Divider registers: load takes priority over a step.");
        let p1 = m.lit(cw, i128::from(p - 1))?;
        let cnt_dec = m.val((cnt_q.u() - 1u32).wrapping(cw))?;
        let advance = m.wire("div_advance", load_good | step)?;
        m.next(cnt_q, mux(load_good, p1, cnt_dec), Some(advance.sig))?;
        let zero_n = m.zero(n)?;
        m.next(rem_q, mux(load_good, zero_n, rem_next), Some(advance.sig))?;
        let zero_q = m.zero(p - 1)?;
        m.next(quo_q, mux(load_good, zero_q, quo_next), Some(advance.sig))?;
        m.next(div_q, range_n, Some(load_good.sig))?;
        m.next(pend_lo_q, io["lo"], Some(load_good.sig))?;
        let not_last = m.wire("div_more", busy_q.u() & !last)?;
        m.next(busy_q, mux(load, good, not_last), None)?;

        m.note("The reciprocal and lo switch when the divider finishes; a bad load clears it.");
        let finish = m.wire("div_finish", last)?;
        let zero_p = m.zero(p)?;
        let set = m.wire("recip_set", finish | load_bad)?;
        m.next(recip_q, mux(load_bad, zero_p, quotient), Some(set.sig))?;
        m.next(lo_q, mux(load_bad, io["lo"], pend_lo_q), Some(set.sig))?;
        m.next(ready_q, mux(load, !good, finish | ready_q.u()), None)?;
        m.next(bad_q, bad_q.u() | load_bad, None)?;

        let mut qs = Vec::new();
        for lane in 0..l {
            let name = |s: &str| {
                if l > 1 {
                    format!("{s}_{lane}")
                } else {
                    s.to_string()
                }
            };
            m.note(format!(
                "Lane {lane}: t = (x - lo) * recip, rounded, clamped."
            ));
            let x = m.slice(io["x"], n * lane + n - 1, n * lane)?;
            let d = m.wire(&name("xd"), x.s() - lo_q.s())?;
            let t = m.wire(&name("t"), d * recip_q.u())?;
            let r = if self.sr() {
                let rb = self.rnd_bits;
                let rnd = m.slice(io["rnd"], rb * lane + rb - 1, rb * lane)?;
                let floor = m.round(&name("t_floor"), t, f, Round::Floor)?;
                let top = m.slice(t.sig, f - 1, f - rb)?;
                let up = m.wire(&name("sr_up"), top.u().greater(rnd.u()))?;
                m.wire(&name("t_round"), floor + up)?
            } else {
                m.round(&name("t_round"), t, f, Round::HalfEven)?
            };
            let q = m.clamp(&name("q_lane"), r, 0, i128::from(self.qmax()))?;
            qs.push(q);
        }
        m.note("Registered outputs, lane 0 lowest.");
        let packed = m.val(cat(qs.iter().rev().map(|v| v.sig)))?;
        let q_q = m.register("q_q", packed.sig, clk, Some(rst), Some(valid))?;
        let out_valid = m.register("out_valid_q", valid, clk, Some(rst), None)?;
        m.outs([
            ("q", q_q),
            ("ready", ready_q),
            ("bad_range", bad_q),
            ("out_valid", out_valid),
        ])?;
        m.finish()
    }
}

/// Width of the divider's step counter (holds P - 1).
pub fn count_bits(p: u32) -> u32 {
    model::int::index_bits(p)
}

/// The behavioural reference: `crate::golden::q8quant`.
impl crate::Reference for Q8QuantParams {
    fn golden(&self) -> Result<crate::golden::GoldenModule> {
        crate::golden::q8quant::golden(self)
    }
}

fn describe(m: &mut ModuleBuilder, p: &Q8QuantParams) {
    m.comment(format!(
        "Min/max affine quantizer (GEMMLOWP), {n}-bit x/lo/hi with {fr} fraction bits to \
         {b}-bit codes, {l} lane(s), {r} (docs/q8quant.md).",
        n = p.in_bits,
        fr = p.in_frac,
        b = p.bits,
        l = p.lanes,
        r = if p.sr() {
            format!("stochastic rounding with {} random bits", p.rnd_bits)
        } else {
            "round to nearest even".to_string()
        }
    ));
    m.comment("q = clamp(round((x - lo) * recip / 2^(P-b)), 0, 2^b - 1) with");
    m.comment(format!(
        "recip = floor((2^b - 1) * 2^(P-b) / (hi - lo)), P = {}, from a load strobe;",
        p.recip_bits
    ));
    m.comment(format!(
        "the divider takes {} cycles, then recip and lo switch and ready rises.",
        p.recip_bits
    ));
    m.comment(format!(
        "Latency: {} cycle from in_valid to out_valid.",
        p.latency()
    ));
}
