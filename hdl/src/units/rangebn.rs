//! RTL of the Range BatchNorm normalisation unit `rangebn` (docs/rangebn.md; the model
//! is `model::rangebn::norm`).
//!
//! 1. `load` latches every channel's statistics (`st_*`), starts the divider at division
//!    0 and drops `ready`; a load during a run restarts it.
//! 2. The divider runs 2C divisions, `idx_q` = 2k (channel k's mean) or 2k + 1 (its
//!    reciprocal). A setup cycle (`setup_q`) loads the division's operands from channel
//!    `idx_q / 2`: the divisor `dv_q`, the high part of the dividend as the starting
//!    remainder `rem_q` (`ovf_q` when it is not below the divisor: the quotient does not
//!    fit and saturates), its low part at the top of `dq_q`, the mean's sign `neg_q`.
//!    Then one restoring step per cycle shifts `dq_q`'s top bit into the remainder and a
//!    quotient bit in at the bottom; the last step writes the result into the channel's
//!    pending register and the next cycle is the next setup. At `idx_q = 2C` the setup
//!    cycle commits every pending mean and reciprocal together, raises `ready` and ORs
//!    the run's degenerate flag into `bad_stats`.
//! 3. Per valid beat (channel counter as in `range-stats`): `(x * 2^A - mean) * recip`,
//!    rounded to nearest even at A + P - 1 - G bits, saturated to M bits; registered.

use model::rangebn::RangeBnParams;

use crate::ir::{cat, mux, ExprOps, ModuleBuilder, Result, Round, Val};
use crate::{start_unit, Generate, Module, UnitParams};

/// Widths of the divider of `p`: (quotient register L, remainder and divisor W, step
/// counter, division index).
pub fn divider_widths(p: &RangeBnParams) -> (u32, u32, u32, u32) {
    let lm = p.mean_quot_bits();
    let l = lm.max(p.recip_bits);
    let w = (p.stats.count_bits() + 1).max(model::int::unsigned_bits(p.max_divisor()));
    let cw = model::int::unsigned_bits(u128::from(l - 1));
    let iw = model::int::unsigned_bits(2 * u128::from(p.stats.channels));
    (l, w, cw, iw)
}

/// `vals[sel]` for `sel` in `0..vals.len()`, the last entry otherwise.
fn select(m: &mut ModuleBuilder, sel: Val, vals: &[Val]) -> Result<Val> {
    let mut acc = *vals.last().expect("one channel at least");
    for (k, v) in vals.iter().enumerate().rev().skip(1) {
        acc = m.val(mux(sel.equal(k as i128), *v, acc))?;
    }
    Ok(acc)
}

impl Generate for RangeBnParams {
    fn rtl(&self) -> Result<Module> {
        let (mut m, io) = start_unit(self)?;
        describe(&mut m, self);
        let (clk, rst, valid, clear, load) = (
            io["clk"],
            io["rst"],
            io["in_valid"],
            io["clear"],
            io["load"],
        );
        let s = self.stats;
        let c = s.channels;
        let (a, b, pb) = (self.mean_frac, self.cn_bits, self.recip_bits);
        let (sb, cb, rb, kb) = (
            s.sum_bits(),
            s.count_bits(),
            s.range_bits(),
            s.chunks_bits(),
        );
        let lm = self.mean_quot_bits();
        let mw = self.mean_bits();
        let (l, w, cw, iw) = divider_widths(self);
        let nm = |t: &str, k: u32| {
            if c > 1 {
                format!("{t}_{k}")
            } else {
                t.to_string()
            }
        };

        m.note("Divider control.");
        let busy_q = m.reg("busy_q", 1, clk, Some((rst, 0)))?;
        let setup_q = m.reg("setup_q", 1, clk, Some((rst, 0)))?;
        let idx_q = m.reg("idx_q", iw, clk, Some((rst, 0)))?;
        let cnt_q = m.reg("cnt_q", cw, clk, Some((rst, 0)))?;
        let rem_q = m.reg("rem_q", w, clk, Some((rst, 0)))?;
        let dq_q = m.reg("dq_q", l, clk, Some((rst, 0)))?;
        let dv_q = m.reg("dv_q", w, clk, Some((rst, 0)))?;
        let ovf_q = m.reg("ovf_q", 1, clk, Some((rst, 0)))?;
        let neg_q = m.reg("neg_q", 1, clk, Some((rst, 0)))?;
        let pbad_q = m.reg("pbad_q", 1, clk, Some((rst, 0)))?;
        let ready_q = m.reg("ready_q", 1, clk, Some((rst, 0)))?;
        let bad_q = m.reg("bad_stats_q", 1, clk, Some((rst, 0)))?;

        let commit = m.wire(
            "commit",
            busy_q.u() & setup_q.u() & idx_q.u().equal(i128::from(2 * c)),
        )?;
        let setup = m.wire("div_setup", busy_q.u() & setup_q.u() & !commit)?;
        let step = m.wire("div_step", busy_q.u() & !setup_q.u())?;
        let last = m.wire("div_last", step & cnt_q.u().equal(0))?;
        let is_recip = m.wire("div_recip", idx_q.u().bit(0))?;
        let ch = m.wire("div_chan", idx_q.u().bits(iw - 1, 1))?;

        let (mut sums, mut counts, mut ranges, mut chunkss) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        let (mut means, mut recips) = (Vec::new(), Vec::new());
        let (mut pms, mut prs) = (Vec::new(), Vec::new());
        for k in 0..c {
            m.note(format!(
                "Channel {k}: sampled statistics, pending and active values."
            ));
            let regs = [
                ("st_sum", sb, "sum"),
                ("st_count", cb, "count"),
                ("st_range_sum", rb, "range_sum"),
                ("st_chunks", kb, "chunks"),
            ];
            let mut got = Vec::new();
            for (r, width, port) in regs {
                let q = m.reg(&nm(r, k), width, clk, Some((rst, 0)))?;
                let v = m.slice(io[port], width * k + width - 1, width * k)?;
                m.next(q, v, Some(load))?;
                got.push(q);
            }
            sums.push(got[0].s());
            counts.push(got[1].u());
            ranges.push(got[2].u());
            chunkss.push(got[3].u());
            pms.push(m.reg(&nm("pend_mean_q", k), mw, clk, Some((rst, 0)))?);
            prs.push(m.reg(&nm("pend_recip_q", k), pb, clk, Some((rst, 0)))?);
            means.push(m.reg(&nm("mean_q", k), mw, clk, Some((rst, 0)))?);
            recips.push(m.reg(&nm("recip_q", k), pb, clk, Some((rst, 0)))?);
        }

        m.note("Setup: the operands of division idx_q from channel idx_q / 2.");
        let sum = select(&mut m, ch, &sums)?;
        let count = select(&mut m, ch, &counts)?;
        let range = select(&mut m, ch, &ranges)?;
        let chunks = select(&mut m, ch, &chunkss)?;
        let (sum, count, range, chunks) = if c > 1 {
            (
                m.wire("op_sum", sum)?,
                m.wire("op_count", count)?,
                m.wire("op_range_sum", range)?,
                m.wire("op_chunks", chunks)?,
            )
        } else {
            (sum, count, range, chunks)
        };
        // Mean: a = 2 sum 2^A + count, its magnitude |a| (a >= 0) or ~a (a < 0).
        let mean_a = m.wire("mean_a", (sum << (a + 1)) + count)?;
        let neg = m.wire("mean_neg", mean_a.bit(mean_a.width() - 1))?;
        let mag = m.val(mux(neg, !mean_a, mean_a))?;
        let mag = m.narrow("mean_mag", mag, mag.width() - 1)?;
        let mag_hi = m.wire("mean_x_hi", mag.bits(mag.width() - 1, lm))?;
        let mag_lo = m.wire("mean_x_lo", mag.bits(lm - 1, 0))?;
        let mean_dv = m.wire("mean_dv", count << 1)?;
        // Reciprocal: chunks 2^(B+P-1) / D, D = Cq range_sum + eps chunks 2^B.
        let scaled = m.val(range * i128::from(self.cq()))?;
        let d = if self.eps > 0 {
            m.val(scaled + ((chunks * i128::from(self.eps)) << b))?
        } else {
            scaled
        };
        let d = m.wire("recip_dv", d)?;
        let rec_hi = m.wire("recip_x_hi", chunks << (b - 1))?;
        let x_hi = m.wire("div_x_hi", mux(is_recip, rec_hi, mag_hi))?;
        let dv = m.wire("div_dv", mux(is_recip, d, mean_dv))?;
        let ovf = m.wire("div_ovf", x_hi.at_least(dv))?;
        let rem0 = m.narrow("div_rem0", x_hi, w)?;
        let dv_n = m.narrow("div_dv_n", dv, w)?;
        let lo_top = if l > lm {
            let pad = m.zero(l - lm)?;
            m.val(cat([mag_lo.sig, pad]))?
        } else {
            mag_lo
        };
        let dq0 = m.wire("div_dq0", mux(is_recip, 0, lo_top))?;
        let cnt0 = m.wire(
            "div_cnt0",
            mux(is_recip, i128::from(pb - 1), i128::from(lm - 1)),
        )?;
        let zero_dv = m.wire("div_dv_zero", dv.equal(0))?;
        let bad_now = m.wire("div_bad", zero_dv | (is_recip & chunks.equal(0)))?;

        m.note("Step: bring down dq_q's top bit, subtract the divisor if it fits.");
        let top = m.wire("div_in", dq_q.u().bit(l - 1))?;
        let trial = m.wire("div_trial", cat([rem_q, top.sig]))?;
        let ge = m.wire("div_ge", trial.at_least(dv_q.u()))?;
        let diff = m.val(mux(ge, (trial - dv_q.u()).wrapping(w + 1), trial))?;
        let rem_next = m.narrow("div_rem_next", diff, w)?;
        let dq_low = m.slice(dq_q, l - 2, 0)?;
        let dq_next = m.wire("div_dq_next", cat([dq_low, ge.sig]))?;
        let cnt_dec = m.val((cnt_q.u() - 1u32).wrapping(cw))?;

        m.note("Results of the last step: saturated on overflow, 0 for a zero divisor.");
        let dv_zero_q = m.wire("div_zero", dv_q.u().equal(0))?;
        let q_mean = m.wire("quot_mean", dq_next.bits(lm - 1, 0))?;
        let sat_mean = m.wire("quot_mean_sat", mux(ovf_q, (1i128 << lm) - 1, q_mean))?;
        let flipped = m.val(sat_mean ^ mux(neg_q, (1i128 << lm) - 1, 0))?;
        let signed_mean = m.val(cat([neg_q, flipped.sig]))?;
        let res_mean = m.wire("res_mean", mux(dv_zero_q, 0, signed_mean))?;
        let q_recip = m.wire("quot_recip", dq_next.bits(pb - 1, 0))?;
        let sat_recip = m.wire("quot_recip_sat", mux(ovf_q, (1i128 << pb) - 1, q_recip))?;
        let res_recip = m.wire("res_recip", mux(dv_zero_q, 0, sat_recip))?;

        m.note("Divider registers: load restarts, setup loads operands, a step advances.");
        m.next(busy_q, mux(load, 1, busy_q.u() & !commit), None)?;
        m.next(
            setup_q,
            mux(load, 1, mux(setup, 0, setup_q.u() | last)),
            None,
        )?;
        let idx_inc = m.val((idx_q.u() + 1u32).wrapping(iw))?;
        let idx_go = m.wire("idx_go", load | last)?;
        m.next(idx_q, mux(load, 0, idx_inc), Some(idx_go.sig))?;
        let go = m.wire("div_go", setup | step)?;
        m.next(cnt_q, mux(setup, cnt0, cnt_dec), Some(go.sig))?;
        m.next(rem_q, mux(setup, rem0, rem_next), Some(go.sig))?;
        m.next(dq_q, mux(setup, dq0, dq_next), Some(go.sig))?;
        m.next(dv_q, dv_n, Some(setup.sig))?;
        m.next(ovf_q, ovf, Some(setup.sig))?;
        m.next(neg_q, neg, Some(setup.sig))?;
        m.next(pbad_q, mux(load, 0, pbad_q.u() | (setup & bad_now)), None)?;
        m.next(ready_q, mux(load, 0, ready_q.u() | commit), None)?;
        m.next(bad_q, bad_q.u() | (commit & pbad_q.u()), None)?;
        for k in 0..c {
            let mine = m.val(ch.equal(i128::from(k)))?;
            let wm = m.wire(&nm("write_mean", k), last & !is_recip & mine)?;
            let wr = m.wire(&nm("write_recip", k), last & is_recip & mine)?;
            m.next(pms[k as usize], res_mean, Some(wm.sig))?;
            m.next(prs[k as usize], res_recip, Some(wr.sig))?;
            m.next(means[k as usize], pms[k as usize], Some(commit.sig))?;
            m.next(recips[k as usize], prs[k as usize], Some(commit.sig))?;
        }

        m.note("Beats: the channel counter, then (x 2^A - mean) * recip, rounded, saturated.");
        let chan = if c > 1 {
            let q = m.reg("chan_q", s.chan_bits(), clk, Some((rst, 0)))?;
            let chan = m.wire("chan", mux(clear, 0, q.u()))?;
            let inc = m.wire("chan_sum", chan + 1u32)?;
            let wrapped = m.val(mux(inc.at_least(c), 0, inc))?;
            let next = m.narrow("chan_next", wrapped, s.chan_bits())?;
            m.next(q, next, Some(valid))?;
            Some(chan)
        } else {
            // One channel: every beat is channel 0's, clear changes nothing.
            m.discard(clear, "clear")?;
            None
        };
        let means_s: Vec<Val> = means.iter().map(|v| v.s()).collect();
        let recips_u: Vec<Val> = recips.iter().map(|v| v.u()).collect();
        let (mean, recip) = match chan {
            Some(chan) => (
                select(&mut m, chan, &means_s)?,
                select(&mut m, chan, &recips_u)?,
            ),
            None => (means_s[0], recips_u[0]),
        };
        let (mean, recip) = if c > 1 {
            (m.wire("mean", mean)?, m.wire("recip", recip)?)
        } else {
            (mean, recip)
        };
        let dx = m.wire("dx", (io["x"].s() << a) - mean)?;
        let t = m.wire("t", dx * recip)?;
        let r = m.round("t_round", t, self.shift(), Round::HalfEven)?;
        let mo = self.out_bits;
        let y = m.clamp("y_sat", r, -(1i128 << (mo - 1)), (1i128 << (mo - 1)) - 1)?;
        let y_q = m.register("y_q", y.sig, clk, Some(rst), Some(valid))?;
        let out_valid = m.register("out_valid_q", valid, clk, Some(rst), None)?;
        m.outs([
            ("y", y_q),
            ("out_valid", out_valid),
            ("ready", ready_q),
            ("bad_stats", bad_q),
        ])?;
        m.finish()
    }
}

/// The behavioural reference: `crate::golden::rangebn`.
impl crate::Reference for RangeBnParams {
    fn golden(&self) -> Result<crate::golden::GoldenModule> {
        crate::golden::rangebn::golden(self)
    }
}

fn describe(m: &mut ModuleBuilder, p: &RangeBnParams) {
    let s = p.stats;
    m.comment(format!(
        "Range BatchNorm, {n}-bit x with {f} fraction bits, {c} channel(s), chunks of {k}, \
         to {mo}-bit y with {g} fraction bits (docs/rangebn.md).",
        n = s.in_bits,
        f = p.in_frac,
        c = s.channels,
        k = s.chunk,
        mo = p.out_bits,
        g = p.out_frac
    ));
    m.comment(format!(
        "y = sat(RNE((x 2^{a} - mean) * recip / 2^{sh})), mean = sum/count at {a} fraction bits,",
        a = p.mean_frac,
        sh = p.shift()
    ));
    m.comment(format!(
        "recip = floor(chunks 2^{e} / (Cq range_sum + {eps} chunks 2^{b})), Cq = {cq}; a load \
         takes {cy} cycles.",
        e = p.cn_bits + p.recip_bits - 1,
        eps = p.eps,
        b = p.cn_bits,
        cq = p.cq(),
        cy = p.load_cycles()
    ));
    m.comment(format!(
        "Latency: {} cycle from in_valid to out_valid.",
        p.latency()
    ));
}
