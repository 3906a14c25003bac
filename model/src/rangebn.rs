//! Range BatchNorm statistics, the unit `range-stats` (docs/rangebn.md), and the
//! floating-point Range BatchNorm of Banner et al. (NeurIPS 2018) that `gen
//! rangebn-error` compares with exact BatchNorm.
//!
//! `range-stats` keeps, per channel, exact integer statistics of a stream of signed
//! N-bit values: the running sum, the number of values, the number of finished chunks
//! of n values and the sum over finished chunks of (max - min). Everything is exact;
//! the divisions (mean = sum / count, mean range = range_sum / chunks) belong to the
//! normalisation stage that reads these outputs.
//!
//! Choices, mirrored by the RTL and the reference:
//! - Channels: the `t`-th valid beat since `rst` or the last `clear` (counting the beat
//!   that carries `clear` as `t = 0`) belongs to channel `t mod C` (a channel counter).
//! - `clear` is read on valid beats only: that beat starts a new batch, every channel's
//!   statistics restart from zero and the beat's value is channel 0's first.
//! - Widths hold a batch of up to K chunks of n values per channel (`--max-chunks K`)
//!   exactly; beyond that every register wraps modulo its width (the model wraps alike).
//! - Latency 1: the outputs are the state registers; `out_valid` follows a valid beat.

use serde::{Deserialize, Serialize};

pub mod norm;
pub use norm::{cn_q, RangeBn, RangeBnParams};

use crate::iface::{get_field, set_field, split, CycleModel, Dir, Interface, Port, Role};
use crate::int;
use crate::param::{Flags, Param, Params};
use crate::unit::{ParamError, Sampler, UnitParams};

/// `--in`: input width N.
pub const IN_BITS: Param = Param::int(
    "--in",
    "BITS",
    4..=32,
    Some(16),
    "Input width N: x is a signed N-bit integer (any fixed-point scale)",
);
/// `--channels`: channels C.
pub const CHANNELS: Param = Param::int(
    "--channels",
    "C",
    1..=64,
    Some(1),
    "Channels C: the t-th valid beat since rst or clear belongs to channel t mod C",
);
/// `--chunk`: values per chunk n.
pub const CHUNK: Param = Param::int(
    "--chunk",
    "N",
    2..=256,
    Some(16),
    "Chunk size n: values per channel per chunk (max - min is taken per chunk)",
);
/// `--max-chunks`: the batch capacity K in chunks per channel.
pub const MAX_CHUNKS: Param = Param::int(
    "--max-chunks",
    "K",
    1..=65536,
    Some(256),
    "Capacity K: statistics are exact for up to K chunks (K*n values) per channel; \
     beyond that the registers wrap",
);

/// Parameters of `range-stats` (docs/rangebn.md).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RangeStatsParams {
    /// Input width N, 4..=32.
    pub in_bits: u32,
    /// Channels C, 1..=64.
    pub channels: u32,
    /// Chunk size n, 2..=256.
    pub chunk: u32,
    /// Capacity K in chunks per channel, 1..=65536.
    pub max_chunks: u32,
}

impl Default for RangeStatsParams {
    /// 16-bit inputs, one channel, chunks of 16, up to 256 chunks (4096 values).
    fn default() -> Self {
        RangeStatsParams {
            in_bits: IN_BITS.default_u32(),
            channels: CHANNELS.default_u32(),
            chunk: CHUNK.default_u32(),
            max_chunks: MAX_CHUNKS.default_u32(),
        }
    }
}

impl Params for RangeStatsParams {
    const PARAMS: &'static [Param] = &[IN_BITS, CHANNELS, CHUNK, MAX_CHUNKS];
    const CONFLICTS: &'static [(&'static Param, &'static Param)] = &[];

    fn from_flags(flags: &dyn Flags) -> Result<Self, ParamError> {
        Ok(RangeStatsParams {
            in_bits: IN_BITS.u32(flags)?,
            channels: CHANNELS.u32(flags)?,
            chunk: CHUNK.u32(flags)?,
            max_chunks: MAX_CHUNKS.u32(flags)?,
        })
    }
}

/// `ceil(log2 v)` for `v >= 1`.
fn clog2(v: u64) -> u32 {
    64 - (v - 1).leading_zeros()
}

impl RangeStatsParams {
    /// Values per channel the widths hold exactly: K * n.
    pub fn capacity(&self) -> u64 {
        u64::from(self.max_chunks) * u64::from(self.chunk)
    }
    /// Width of `sum` entries (signed): N + ceil(log2(K*n)).
    pub fn sum_bits(&self) -> u32 {
        self.in_bits + clog2(self.capacity())
    }
    /// Width of `range_sum` entries (unsigned): N + ceil(log2 K), which holds
    /// K * (2^N - 1).
    pub fn range_bits(&self) -> u32 {
        self.in_bits + clog2(self.max_chunks.into())
    }
    /// Width of `chunks` entries (unsigned), holding K.
    pub fn chunks_bits(&self) -> u32 {
        crate::int::unsigned_bits(self.max_chunks.into())
    }
    /// Width of `count` entries (unsigned), holding K * n.
    pub fn count_bits(&self) -> u32 {
        crate::int::unsigned_bits(self.capacity().into())
    }
    /// Width of the per-channel position inside the current chunk (0..n-1).
    pub fn pos_bits(&self) -> u32 {
        clog2(self.chunk.into())
    }
    /// Width of the channel counter (0 when C = 1: no counter).
    pub fn chan_bits(&self) -> u32 {
        clog2(self.channels.into())
    }
}

impl UnitParams for RangeStatsParams {
    const KIND: &'static str = "range_stats";

    fn validate(&self) -> Result<(), ParamError> {
        IN_BITS.check(self.in_bits)?;
        CHANNELS.check(self.channels)?;
        CHUNK.check(self.chunk)?;
        MAX_CHUNKS.check(self.max_chunks)
    }

    /// e.g. `range_stats_s16_n16_k256`, `range_stats_s8_c4_n8_k16`.
    fn module_name(&self) -> String {
        let mut name = format!("range_stats_s{}", self.in_bits);
        if self.channels > 1 {
            name += &format!("_c{}", self.channels);
        }
        name + &format!("_n{}_k{}", self.chunk, self.max_chunks)
    }

    /// clk, rst, in_valid, clear, x -> sum, range_sum, chunks, count, out_valid.
    fn interface(&self) -> Interface {
        let c = self.channels;
        Interface {
            ports: vec![
                Port::bit("clk", Dir::In, Role::Clock),
                Port::bit("rst", Dir::In, Role::Reset),
                Port::bit("in_valid", Dir::In, Role::InValid),
                Port::bit("clear", Dir::In, Role::Clear),
                Port::int("x", Dir::In, self.in_bits, true),
                Port::int_or_vec("sum", Dir::Out, self.sum_bits(), true, c),
                Port::int_or_vec("range_sum", Dir::Out, self.range_bits(), false, c),
                Port::int_or_vec("chunks", Dir::Out, self.chunks_bits(), false, c),
                Port::int_or_vec("count", Dir::Out, self.count_bits(), false, c),
                Port::bit("out_valid", Dir::Out, Role::OutValid),
            ],
        }
    }

    fn latency(&self) -> u32 {
        1
    }

    fn model(&self) -> Result<Box<dyn CycleModel + Send>, ParamError> {
        Ok(Box::new(RangeStats::new(*self)?))
    }
}

/// One channel's statistics.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ChannelStats {
    /// Sum of the values, wrapped to `sum_bits` (signed).
    pub sum: i64,
    /// Sum over finished chunks of max - min, wrapped to `range_bits`.
    pub range_sum: u64,
    /// Finished chunks, wrapped to `chunks_bits`.
    pub chunks: u64,
    /// Values, wrapped to `count_bits`.
    pub count: u64,
    /// Smallest value of the current chunk (meaningless when `pos = 0`).
    pub min: i64,
    /// Largest value of the current chunk (meaningless when `pos = 0`).
    pub max: i64,
    /// Values already in the current chunk, 0..n-1.
    pub pos: u32,
}

impl ChannelStats {
    /// Add value `x` under parameters `p`.
    pub fn push(&mut self, p: &RangeStatsParams, x: i64) {
        let wrap_u = |v: u64, bits: u32| v & ((1u64 << bits) - 1);
        let first = self.pos == 0;
        self.min = if first { x } else { self.min.min(x) };
        self.max = if first { x } else { self.max.max(x) };
        self.sum = int::wrap(i128::from(self.sum) + i128::from(x), p.sum_bits(), true) as i64;
        self.count = wrap_u(self.count + 1, p.count_bits());
        if self.pos + 1 == p.chunk {
            let range = (self.max - self.min) as u64;
            self.range_sum = wrap_u(self.range_sum + range, p.range_bits());
            self.chunks = wrap_u(self.chunks + 1, p.chunks_bits());
            self.pos = 0;
        } else {
            self.pos += 1;
        }
    }
}

/// Cycle model of `range-stats`.
#[derive(Clone, Debug)]
pub struct RangeStats {
    p: RangeStatsParams,
    iface: Interface,
    chan: u32,
    stats: Vec<ChannelStats>,
    out_valid: bool,
}

impl RangeStats {
    /// The unit in its reset state.
    pub fn new(p: RangeStatsParams) -> Result<RangeStats, ParamError> {
        p.validate()?;
        Ok(RangeStats {
            p,
            iface: p.interface(),
            chan: 0,
            stats: vec![ChannelStats::default(); p.channels as usize],
            out_valid: false,
        })
    }

    /// One valid beat: `clear` restarts every channel first; `x` goes to the current
    /// channel, and the channel counter advances.
    pub fn beat(&mut self, clear: bool, x: i64) {
        if clear {
            self.chan = 0;
            self.stats.fill(ChannelStats::default());
        }
        let p = self.p;
        self.stats[self.chan as usize].push(&p, x);
        self.chan = (self.chan + 1) % p.channels;
    }

    /// The statistics of every channel.
    pub fn stats(&self) -> &[ChannelStats] {
        &self.stats
    }
}

impl CycleModel for RangeStats {
    fn interface(&self) -> &Interface {
        &self.iface
    }

    fn step(&mut self, inputs: &[u64], outputs: &mut [u64]) {
        let p = self.p;
        let mut out = vec![0u64; self.iface.out_words()];
        let mut at = 0u32;
        let mut put = |out: &mut Vec<u64>, bits: u32, vals: &mut dyn Iterator<Item = u64>| {
            for (i, v) in vals.enumerate() {
                set_field(out, at + i as u32 * bits, bits, v);
            }
            at += (bits * p.channels).div_ceil(64) * 64;
        };
        let sb = p.sum_bits();
        put(
            &mut out,
            sb,
            &mut self
                .stats
                .iter()
                .map(|s| int::to_bits(s.sum.into(), sb) as u64),
        );
        put(
            &mut out,
            p.range_bits(),
            &mut self.stats.iter().map(|s| s.range_sum),
        );
        put(
            &mut out,
            p.chunks_bits(),
            &mut self.stats.iter().map(|s| s.chunks),
        );
        put(
            &mut out,
            p.count_bits(),
            &mut self.stats.iter().map(|s| s.count),
        );
        set_field(&mut out, at, 1, self.out_valid.into());
        outputs.copy_from_slice(&out);

        let ins = split(self.iface.beat_inputs(), inputs);
        let (rst, valid) = (ins[0][0] & 1 == 1, ins[1][0] & 1 == 1);
        if rst {
            *self = RangeStats::new(p).expect("validated");
            return;
        }
        self.out_valid = valid;
        if !valid {
            return;
        }
        let clear = ins[2][0] & 1 == 1;
        let x = int::from_bits(get_field(ins[3], 0, p.in_bits).into(), p.in_bits, true) as i64;
        self.beat(clear, x);
    }
}

impl crate::unit::Unit for RangeStatsParams {
    const COMMAND: &'static str = "range-stats";
    const SUMMARY: &'static str =
        "Range BatchNorm statistics: per-channel exact sum, count, and sum of chunk ranges";
    const ABOUT: &'static str = "Streaming per-channel statistics for Range BatchNorm (Banner \
et al. 2018): the t-th valid beat since rst or clear belongs to channel t mod C; per channel \
the exact sum of x, the count of values, the number of finished chunks of n values and the \
sum over finished chunks of (max - min). Exact integers, nothing divided or rounded. \
Latency 1.";
    const DOCS: &'static str = "docs/rangebn.md";
    const EXAMPLES: &'static [(&'static str, &'static str)] = &[
        (
            "",
            "16-bit values, one channel, chunks of 16, up to 4096 values",
        ),
        (
            "--in 8 --channels 16 --chunk 8 --max-chunks 64",
            "int8 activations of 16 interleaved channels, 512 values each",
        ),
    ];

    /// The default, and 4-bit values over 3 channels in chunks of 3 (the channel
    /// counter, a chunk size that is not a power of two, wrapping past K = 2).
    fn proof_set() -> Vec<Self> {
        vec![
            RangeStatsParams::default(),
            RangeStatsParams {
                in_bits: 4,
                channels: 3,
                chunk: 3,
                max_chunks: 2,
            },
        ]
    }

    fn sample(rng: &mut Sampler) -> Self {
        RangeStatsParams {
            in_bits: rng.pick(&[4, 5, 8, 12, 16, 24, 32]),
            channels: rng.pick(&[1, 1, 2, 3, 4, 5, 8, 64]),
            chunk: rng.pick(&[2, 3, 4, 5, 8, 16, 256]),
            max_chunks: rng.pick(&[1, 2, 3, 4, 7, 256, 65536]),
        }
    }
}

/// Banner et al.'s constant `C(n) = 1 / sqrt(2 ln n)` for chunks of n values.
pub fn c_of_n(n: u32) -> f64 {
    1.0 / (2.0 * f64::from(n).ln()).sqrt()
}

/// What the later `rangebn` stage will compute from one channel's statistics, in f64:
/// `(mean, C(n) * mean range)` with `mean = sum / count` and `mean range = range_sum /
/// chunks`, in units of the input's least significant bit. `None` before the first
/// finished chunk.
pub fn range_bn_scale(p: &RangeStatsParams, s: &ChannelStats) -> Option<(f64, f64)> {
    if s.chunks == 0 || s.count == 0 {
        return None;
    }
    let mean = s.sum as f64 / s.count as f64;
    let range = s.range_sum as f64 / s.chunks as f64;
    Some((mean, c_of_n(p.chunk) * range))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn widths() {
        let p = RangeStatsParams::default();
        assert_eq!(p.sum_bits(), 28);
        assert_eq!(p.range_bits(), 24);
        assert_eq!(p.chunks_bits(), 9);
        assert_eq!(p.count_bits(), 13);
        assert_eq!(p.pos_bits(), 4);
        assert_eq!(p.chan_bits(), 0);
        assert_eq!(p.module_name(), "range_stats_s16_n16_k256");
    }

    #[test]
    fn worked_case() {
        // Two channels, chunks of 3: channel 0 gets 1, 5, -2 (range 7) then 4;
        // channel 1 gets -8, 7, 0 (range 15).
        let p = RangeStatsParams {
            in_bits: 4,
            channels: 2,
            chunk: 3,
            max_chunks: 4,
        };
        let mut u = RangeStats::new(p).unwrap();
        for x in [1, -8, 5, 7, -2, 0, 4] {
            u.beat(false, x);
        }
        let s = u.stats();
        assert_eq!(
            (s[0].sum, s[0].range_sum, s[0].chunks, s[0].count),
            (8, 7, 1, 4)
        );
        assert_eq!(
            (s[1].sum, s[1].range_sum, s[1].chunks, s[1].count),
            (-1, 15, 1, 3)
        );
        u.beat(true, 3);
        let s = u.stats();
        assert_eq!((s[0].sum, s[0].count, s[0].chunks), (3, 1, 0));
        assert_eq!(s[1], ChannelStats::default());
    }
}
