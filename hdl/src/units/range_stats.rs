//! RTL of the Range BatchNorm statistics unit `range-stats` (docs/rangebn.md; the model
//! is `model::rangebn`).
//!
//! 1. channel: with C > 1 a counter `chan_q` (the channel of the next beat); a beat
//!    with `clear` goes to channel 0 (`chan`), and the counter moves to `chan + 1 mod C`;
//! 2. per channel `k`, its own datapath on its own registers: `hit_k` (a valid beat for
//!    channel `k`), the base state (zero under `clear`), the chunk's min and max with x
//!    (x alone at the chunk's first value), the exact sum, the count, and at the chunk's
//!    last value the range `max - min` added to `range_sum`, `chunks` counted and the
//!    position back to zero;
//! 3. a channel's registers load on `hit_k` (its update) or on a valid `clear` (zero);
//!    the outputs are those registers, and `out_valid_q` follows `in_valid`.

use model::rangebn::RangeStatsParams;

use crate::ir::{cat, mux, ExprOps, ModuleBuilder, Result, Sig};
use crate::{start_unit, Generate, Module, UnitParams};

impl Generate for RangeStatsParams {
    fn rtl(&self) -> Result<Module> {
        let (mut m, io) = start_unit(self)?;
        describe(&mut m, self);
        let (clk, rst, valid, clear, x) =
            (io["clk"], io["rst"], io["in_valid"], io["clear"], io["x"]);
        let (c, n) = (self.channels, self.chunk);
        let (sb, rb, kb, cb, pb) = (
            self.sum_bits(),
            self.range_bits(),
            self.chunks_bits(),
            self.count_bits(),
            self.pos_bits(),
        );
        let nb = self.in_bits;

        let chan = if c > 1 {
            m.note("Channel counter: the channel of this beat (0 under clear).");
            let cw = self.chan_bits();
            let q = m.reg("chan_q", cw, clk, Some((rst, 0)))?;
            let chan = m.wire("chan", mux(clear, 0, q.u()))?;
            let sum = m.wire("chan_sum", chan + 1u32)?;
            let wrapped = m.val(mux(sum.at_least(c), 0, sum))?;
            let next = m.narrow("chan_next", wrapped, cw)?;
            m.next(q, next, Some(valid))?;
            Some(chan)
        } else {
            None
        };
        let load_clear = m.wire("load_clear", valid & clear)?;

        let (mut sums, mut ranges, mut chunkss, mut counts) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for k in 0..c {
            let nm = |s: &str| {
                if c > 1 {
                    format!("{s}_{k}")
                } else {
                    s.to_string()
                }
            };
            m.note(format!("Channel {k}: state."));
            let sum_q = m.reg(&nm("sum_q"), sb, clk, Some((rst, 0)))?;
            let range_q = m.reg(&nm("range_sum_q"), rb, clk, Some((rst, 0)))?;
            let chunks_q = m.reg(&nm("chunks_q"), kb, clk, Some((rst, 0)))?;
            let count_q = m.reg(&nm("count_q"), cb, clk, Some((rst, 0)))?;
            let min_q = m.reg(&nm("min_q"), nb, clk, Some((rst, 0)))?;
            let max_q = m.reg(&nm("max_q"), nb, clk, Some((rst, 0)))?;
            let pos_q = m.reg(&nm("pos_q"), pb, clk, Some((rst, 0)))?;

            m.note(format!(
                "Channel {k}: the beat's channel, and the state it builds on."
            ));
            let hit = match chan {
                None => valid.u(),
                Some(ch) => m.wire(&nm("hit"), valid & ch.equal(k))?,
            };
            let base = |m: &mut ModuleBuilder, q: Sig, signed: bool, name: &str| {
                let v = if signed { q.s() } else { q.u() };
                m.wire(&nm(name), mux(clear, 0, v))
            };
            let b_sum = base(&mut m, sum_q, true, "base_sum")?;
            let b_range = base(&mut m, range_q, false, "base_range")?;
            let b_chunks = base(&mut m, chunks_q, false, "base_chunks")?;
            let b_count = base(&mut m, count_q, false, "base_count")?;
            let b_pos = base(&mut m, pos_q, false, "base_pos")?;

            m.note(format!("Channel {k}: chunk min and max, exact sum, count."));
            let first = m.wire(&nm("first"), b_pos.equal(0))?;
            let lo = m.wire(
                &nm("min_new"),
                mux(first | x.s().less(min_q.s()), x.s(), min_q.s()),
            )?;
            let hi = m.wire(
                &nm("max_new"),
                mux(first | x.s().greater(max_q.s()), x.s(), max_q.s()),
            )?;
            let sum_next = m.wire(&nm("sum_next"), (b_sum + x.s()).wrapping(sb))?;
            let count_next = m.wire(&nm("count_next"), (b_count + 1u32).wrapping(cb))?;

            m.note(format!(
                "Channel {k}: at the chunk's last value, its range into range_sum."
            ));
            let last = m.wire(&nm("last"), b_pos.equal(n - 1))?;
            let range = m.wire(&nm("range"), (hi - lo).wrapping(nb).reinterpret_unsigned())?;
            let range_next = m.wire(
                &nm("range_next"),
                mux(last, (b_range + range).wrapping(rb), b_range),
            )?;
            let chunks_next = m.wire(
                &nm("chunks_next"),
                mux(last, (b_chunks + 1u32).wrapping(kb), b_chunks),
            )?;
            let pos_inc = m.wire(&nm("pos_inc"), (b_pos + 1u32).wrapping(pb))?;
            let pos_next = m.wire(&nm("pos_next"), mux(last, 0, pos_inc))?;

            m.note(format!(
                "Channel {k}: load the update on a hit, zero on another channel's clear."
            ));
            let load = m.wire(&nm("load"), hit | load_clear)?;
            let load = Some(load.sig);
            for (q, v, name) in [
                (sum_q, sum_next, "sum"),
                (range_q, range_next, "range_sum"),
                (chunks_q, chunks_next, "chunks"),
                (count_q, count_next, "count"),
                (min_q, lo, "min"),
                (max_q, hi, "max"),
                (pos_q, pos_next, "pos"),
            ] {
                let d = m.val(mux(hit, v, 0))?;
                let d = m.narrow(&nm(&format!("{name}_d")), d, q.width())?;
                m.next(q, d.reinterpret_unsigned(), load)?;
            }
            sums.push(sum_q);
            ranges.push(range_q);
            chunkss.push(chunks_q);
            counts.push(count_q);
        }
        m.note("Outputs: the channel registers, channel 0 lowest.");
        let bus = |m: &mut ModuleBuilder, v: &[Sig]| m.val(cat(v.iter().rev().copied()));
        let sum = bus(&mut m, &sums)?;
        let range_sum = bus(&mut m, &ranges)?;
        let chunks = bus(&mut m, &chunkss)?;
        let count = bus(&mut m, &counts)?;
        let out_valid = m.register("out_valid_q", valid, clk, Some(rst), None)?;
        m.outs([
            ("sum", sum.sig),
            ("range_sum", range_sum.sig),
            ("chunks", chunks.sig),
            ("count", count.sig),
            ("out_valid", out_valid),
        ])?;
        m.finish()
    }
}

/// The behavioural reference: `crate::golden::range_stats`.
impl crate::Reference for RangeStatsParams {
    fn golden(&self) -> Result<crate::golden::GoldenModule> {
        crate::golden::range_stats::golden(self)
    }
}

fn describe(m: &mut ModuleBuilder, p: &RangeStatsParams) {
    m.comment(format!(
        "Range BatchNorm statistics, {n}-bit signed x, {c} channel(s), chunks of {k}, up to \
         {kk} chunks per channel exactly (docs/rangebn.md).",
        n = p.in_bits,
        c = p.channels,
        k = p.chunk,
        kk = p.max_chunks
    ));
    m.comment("Per channel: sum of x, count, finished chunks, sum over finished chunks of");
    m.comment("(max - min). The t-th valid beat since rst or clear goes to channel t mod C;");
    m.comment("clear (on a valid beat) restarts every channel.");
    m.comment(format!(
        "Latency: {} cycle from in_valid to out_valid.",
        p.latency()
    ));
}
