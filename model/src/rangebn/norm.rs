//! The Range BatchNorm normalisation unit `rangebn` (docs/rangebn.md): `y = (x - mean) /
//! (C(n) * range + eps)` per channel, from the statistics `range-stats` produces.
//!
//! The rule, exactly (N, F: width and fraction bits of x; A = `--mean-frac`; B =
//! `--cn-bits`; P = `--recip-bits`; M, G: width and fraction bits of y; every
//! statistic an integer in units of x's least significant bit):
//! - `Cq = round(2^B * C(n))`, C(n) = 1/sqrt(2 ln n) ([`cn_q`]).
//! - `load` samples every channel's `sum`, `count`, `range_sum` and `chunks`. One
//!   sequential restoring divider then computes, channel by channel, the mean and the
//!   reciprocal of the scale ([`RangeBnParams::mean`], [`RangeBnParams::recip`]):
//!   - `mean = floor((2 * sum * 2^A + count) / (2 * count))` (sum/count rounded half up
//!     at A fraction bits), its magnitude saturated: the quotient of `|a|` or `~a` by
//!     `2 * count` is kept in N + A bits; `count = 0` gives `mean = 0`;
//!   - `D = Cq * range_sum + eps * chunks * 2^B` (the scale times `chunks * 2^B`) and
//!     `recip = floor(chunks * 2^(B+P-1) / D)` (P - 1 fraction bits, `2^(P-1) / scale`),
//!     saturated to `2^P - 1` (only possible with eps = 0); `D = 0` gives `recip = 0`.
//! - Each channel takes (N + A + 1) + (P + 1) cycles; one more cycle commits every
//!   channel's new `mean` and `recip` together and raises `ready`. A `load` during a run
//!   restarts it. A channel with `count = 0`, `chunks = 0` or `D = 0` sets the sticky
//!   `bad_stats` at the commit.
//! - Per valid beat, channel `t mod C` (t counted since rst or the last valid `clear`, as
//!   in `range-stats`): `y = sat_M(RNE((x * 2^A - mean) * recip / 2^(A+P-1-G)))`.
//! - After reset `mean = 0`, `recip = 0`, `ready = 0`: y is 0 until a load completes.
//! - Latency 1: `y` and `out_valid` registered, `y` holds between results.

use serde::{Deserialize, Serialize};

use super::{c_of_n, RangeStatsParams, CHANNELS, CHUNK, IN_BITS, MAX_CHUNKS};
use crate::iface::{get_field, set_field, split, CycleModel, Dir, Interface, Port, Role};
use crate::int;
use crate::param::{Flags, Param, Params};
use crate::unit::{ParamError, Sampler, UnitParams};

/// `--in-frac`: fraction bits of x.
pub const IN_FRAC: Param = Param::int(
    "--in-frac",
    "F",
    0..=31,
    Some(8),
    "Fraction bits F of x, 0..=N-1 (eps is in units of 2^-F)",
);
/// `--out-bits`: width M of y (`--out` is `--output-dir`'s alias).
pub const OUT_BITS: Param = Param::int(
    "--out-bits",
    "M",
    2..=16,
    Some(8),
    "Output width M: y is signed, saturated",
);
/// `--out-frac`: fraction bits G of y.
pub const OUT_FRAC: Param = Param::int("--out-frac", "G", 0..=15, Some(5), "Fraction bits G of y");
/// `--cn-bits`: bits B of the constant C(n).
pub const CN_BITS: Param = Param::int(
    "--cn-bits",
    "B",
    2..=24,
    Some(16),
    "Bits B of C(n) = 1/sqrt(2 ln n), an unsigned Q0.B constant round(2^B C(n))",
);
/// `--eps`: eps in units of 2^-F.
pub const EPS: Param = Param::int(
    "--eps",
    "E",
    0..=65535,
    Some(1),
    "eps in units of 2^-F (0 allows a zero scale: recip saturates, D = 0 gives y = 0)",
);
/// `--mean-frac`: fraction bits A of the mean.
pub const MEAN_FRAC: Param = Param::int(
    "--mean-frac",
    "A",
    0..=8,
    Some(2),
    "Fraction bits A of the mean sum/count (rounded half up)",
);
/// `--recip-bits`: width P of the reciprocal.
pub const RECIP_BITS: Param = Param::int(
    "--recip-bits",
    "P",
    2..=32,
    Some(24),
    "Width P of recip = floor(2^(P-1) / scale), P - 1 fraction bits; A + P >= G + 2",
);

/// Parameters of `rangebn` (docs/rangebn.md).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RangeBnParams {
    /// The statistics' parameters (input width N, channels, chunk, capacity).
    pub stats: RangeStatsParams,
    /// Fraction bits F of x.
    pub in_frac: u32,
    /// Output width M.
    pub out_bits: u32,
    /// Output fraction bits G.
    pub out_frac: u32,
    /// Bits B of C(n).
    pub cn_bits: u32,
    /// eps in units of 2^-F.
    pub eps: u32,
    /// Fraction bits A of the mean.
    pub mean_frac: u32,
    /// Width P of the reciprocal.
    pub recip_bits: u32,
}

impl Default for RangeBnParams {
    /// 16-bit Q7.8 input, one channel, chunks of 16 (range-stats' default), int8 output
    /// with 5 fraction bits, C(n) in 16 bits, eps = 2^-8, mean with 2 fraction bits, a
    /// 24-bit reciprocal.
    fn default() -> Self {
        RangeBnParams {
            stats: RangeStatsParams::default(),
            in_frac: IN_FRAC.default_u32(),
            out_bits: OUT_BITS.default_u32(),
            out_frac: OUT_FRAC.default_u32(),
            cn_bits: CN_BITS.default_u32(),
            eps: EPS.default_u32(),
            mean_frac: MEAN_FRAC.default_u32(),
            recip_bits: RECIP_BITS.default_u32(),
        }
    }
}

impl Params for RangeBnParams {
    const PARAMS: &'static [Param] = &[
        IN_BITS, IN_FRAC, CHANNELS, CHUNK, MAX_CHUNKS, OUT_BITS, OUT_FRAC, CN_BITS, EPS, MEAN_FRAC,
        RECIP_BITS,
    ];
    const CONFLICTS: &'static [(&'static Param, &'static Param)] = &[];

    fn from_flags(flags: &dyn Flags) -> Result<Self, ParamError> {
        let p = RangeBnParams {
            stats: RangeStatsParams {
                in_bits: IN_BITS.u32(flags)?,
                channels: CHANNELS.u32(flags)?,
                chunk: CHUNK.u32(flags)?,
                max_chunks: MAX_CHUNKS.u32(flags)?,
            },
            in_frac: IN_FRAC.u32(flags)?,
            out_bits: OUT_BITS.u32(flags)?,
            out_frac: OUT_FRAC.u32(flags)?,
            cn_bits: CN_BITS.u32(flags)?,
            eps: EPS.u32(flags)?,
            mean_frac: MEAN_FRAC.u32(flags)?,
            recip_bits: RECIP_BITS.u32(flags)?,
        };
        p.validate()?;
        Ok(p)
    }
}

/// `Cq = round(2^B * C(n))`, the constant C(n) = 1/sqrt(2 ln n) as an unsigned Q0.B
/// number (model and generator both use this function). At B = 16: n = 2 gives 55 661,
/// n = 16 gives 27 831, n = 256 gives 19 679.
pub fn cn_q(n: u32, b: u32) -> u64 {
    (c_of_n(n) * (1u64 << b) as f64).round() as u64
}

/// One channel's statistics as `rangebn` samples them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    pub sum: i64,
    pub count: u64,
    pub range_sum: u64,
    pub chunks: u64,
}

impl RangeBnParams {
    /// Input width N.
    pub fn in_bits(&self) -> u32 {
        self.stats.in_bits
    }
    /// `Cq` of these parameters.
    pub fn cq(&self) -> u64 {
        cn_q(self.stats.chunk, self.cn_bits)
    }
    /// Quotient bits of the mean division: N + A (the magnitude saturates there).
    pub fn mean_quot_bits(&self) -> u32 {
        self.in_bits() + self.mean_frac
    }
    /// Width of the mean register (signed): N + A + 1.
    pub fn mean_bits(&self) -> u32 {
        self.mean_quot_bits() + 1
    }
    /// Bits dropped when rounding `(x * 2^A - mean) * recip` to y: A + P - 1 - G.
    pub fn shift(&self) -> u32 {
        self.mean_frac + self.recip_bits - 1 - self.out_frac
    }
    /// Cycles per channel: (N + A + 1) + (P + 1).
    pub fn cycles_per_channel(&self) -> u32 {
        self.mean_quot_bits() + self.recip_bits + 2
    }
    /// Cycles from the load edge to the commit edge: C * cycles per channel + 1.
    pub fn load_cycles(&self) -> u32 {
        self.stats.channels * self.cycles_per_channel() + 1
    }
    /// `D = Cq * range_sum + eps * chunks * 2^B`.
    pub fn divisor(&self, s: &Stats) -> u128 {
        u128::from(self.cq()) * u128::from(s.range_sum)
            + ((u128::from(self.eps) * u128::from(s.chunks)) << self.cn_bits)
    }
    /// The largest `D` the statistic widths allow.
    pub fn max_divisor(&self) -> u128 {
        let r = (1u128 << self.stats.range_bits()) - 1;
        let k = (1u128 << self.stats.chunks_bits()) - 1;
        u128::from(self.cq()) * r + ((u128::from(self.eps) * k) << self.cn_bits)
    }
    /// The mean at A fraction bits: `floor((2 sum 2^A + count) / (2 count))` with the
    /// magnitude of the unsigned quotient saturated to N + A bits; 0 when `count = 0`.
    pub fn mean(&self, s: &Stats) -> i64 {
        if s.count == 0 {
            return 0;
        }
        let a = (i128::from(s.sum) << (self.mean_frac + 1)) + i128::from(s.count);
        let neg = a < 0;
        let u = if neg { !a } else { a } as u128;
        let q = (u / (2 * u128::from(s.count))).min((1u128 << self.mean_quot_bits()) - 1) as i64;
        if neg {
            !q
        } else {
            q
        }
    }
    /// `recip = min(floor(chunks * 2^(B+P-1) / D), 2^P - 1)`; 0 when `D = 0`.
    pub fn recip(&self, s: &Stats) -> u64 {
        let d = self.divisor(s);
        if d == 0 {
            return 0;
        }
        let num = u128::from(s.chunks) << (self.cn_bits + self.recip_bits - 1);
        (num / d).min((1u128 << self.recip_bits) - 1) as u64
    }
    /// Whether a channel's statistics are degenerate (sets `bad_stats`).
    pub fn degenerate(&self, s: &Stats) -> bool {
        s.count == 0 || s.chunks == 0 || self.divisor(s) == 0
    }
    /// One value normalised with a channel's `mean` and `recip`.
    pub fn normalise(&self, x: i64, mean: i64, recip: u64) -> i64 {
        let d = (i128::from(x) << self.mean_frac) - i128::from(mean);
        let t = d * i128::from(recip);
        let s = self.shift();
        let floor = t >> s;
        let frac = t - (floor << s);
        let half = 1i128 << (s - 1);
        let up = frac > half || (frac == half && floor & 1 == 1);
        let r = floor + i128::from(up);
        let m = self.out_bits;
        r.clamp(-(1i128 << (m - 1)), (1i128 << (m - 1)) - 1) as i64
    }
}

impl UnitParams for RangeBnParams {
    const KIND: &'static str = "rangebn";

    fn validate(&self) -> Result<(), ParamError> {
        self.stats.validate()?;
        OUT_BITS.check(self.out_bits)?;
        OUT_FRAC.check(self.out_frac)?;
        CN_BITS.check(self.cn_bits)?;
        EPS.check(self.eps)?;
        MEAN_FRAC.check(self.mean_frac)?;
        RECIP_BITS.check(self.recip_bits)?;
        if self.in_frac >= self.in_bits() {
            return Err(IN_FRAC.error_because(self.in_frac, format!("0..={}", self.in_bits() - 1)));
        }
        if self.mean_frac + self.recip_bits < self.out_frac + 2 {
            let need = (self.out_frac + 2).saturating_sub(self.mean_frac).max(2);
            return Err(RECIP_BITS.error_because(
                self.recip_bits,
                format!("{need}..=32 (A + P >= G + 2: at least one bit rounded off)"),
            ));
        }
        Ok(())
    }

    /// e.g. `rangebn_s16f8_n16_k256_y8f5_b16_e1_a2_r24`, with `_c4` after the input
    /// when C > 1.
    fn module_name(&self) -> String {
        let s = &self.stats;
        let mut name = format!("rangebn_s{}f{}", s.in_bits, self.in_frac);
        if s.channels > 1 {
            name += &format!("_c{}", s.channels);
        }
        name + &format!(
            "_n{}_k{}_y{}f{}_b{}_e{}_a{}_r{}",
            s.chunk,
            s.max_chunks,
            self.out_bits,
            self.out_frac,
            self.cn_bits,
            self.eps,
            self.mean_frac,
            self.recip_bits
        )
    }

    /// clk, rst, in_valid, clear, x, load, sum, count, range_sum, chunks -> y,
    /// out_valid, ready, bad_stats.
    fn interface(&self) -> Interface {
        let s = &self.stats;
        let c = s.channels;
        Interface {
            ports: vec![
                Port::bit("clk", Dir::In, Role::Clock),
                Port::bit("rst", Dir::In, Role::Reset),
                Port::bit("in_valid", Dir::In, Role::InValid),
                Port::bit("clear", Dir::In, Role::Clear),
                Port::int("x", Dir::In, s.in_bits, true),
                Port::bit("load", Dir::In, Role::Data),
                Port::int_or_vec("sum", Dir::In, s.sum_bits(), true, c),
                Port::int_or_vec("count", Dir::In, s.count_bits(), false, c),
                Port::int_or_vec("range_sum", Dir::In, s.range_bits(), false, c),
                Port::int_or_vec("chunks", Dir::In, s.chunks_bits(), false, c),
                Port::int("y", Dir::Out, self.out_bits, true),
                Port::bit("out_valid", Dir::Out, Role::OutValid),
                Port::bit("ready", Dir::Out, Role::Data),
                Port::bit("bad_stats", Dir::Out, Role::Flag),
            ],
        }
    }

    fn latency(&self) -> u32 {
        1
    }

    fn model(&self) -> Result<Box<dyn CycleModel + Send>, ParamError> {
        Ok(Box::new(RangeBn::new(*self)?))
    }
}

/// Cycle model of `rangebn`.
#[derive(Clone, Debug)]
pub struct RangeBn {
    p: RangeBnParams,
    iface: Interface,
    chan: u32,
    /// Active per-channel mean and reciprocal.
    pub mean: Vec<i64>,
    pub recip: Vec<u64>,
    /// Statistics sampled by the last load.
    pending: Vec<Stats>,
    /// Edges left until the commit (0: idle).
    busy_left: u32,
    ready: bool,
    bad: bool,
    y: i64,
    out_valid: bool,
}

impl RangeBn {
    /// The unit in its reset state.
    pub fn new(p: RangeBnParams) -> Result<RangeBn, ParamError> {
        p.validate()?;
        let c = p.stats.channels as usize;
        Ok(RangeBn {
            p,
            iface: p.interface(),
            chan: 0,
            mean: vec![0; c],
            recip: vec![0; c],
            pending: vec![Stats::default(); c],
            busy_left: 0,
            ready: false,
            bad: false,
            y: 0,
            out_valid: false,
        })
    }

    /// Whether the last load has been committed.
    pub fn ready(&self) -> bool {
        self.ready
    }

    /// The sticky degenerate-statistics flag.
    pub fn bad_stats(&self) -> bool {
        self.bad
    }

    /// One clock edge without reset: a valid beat (`Some((clear, x))`) is normalised
    /// with the active values and returns y; the divider advances; `load` samples
    /// `stats` (one entry per channel) and restarts it.
    pub fn edge(&mut self, beat: Option<(bool, i64)>, load: Option<&[Stats]>) -> Option<i64> {
        let p = self.p;
        let y = beat.map(|(clear, x)| {
            let ch = if clear { 0 } else { self.chan } as usize;
            self.chan = (ch as u32 + 1) % p.stats.channels;
            p.normalise(x, self.mean[ch], self.recip[ch])
        });
        if self.busy_left > 0 {
            self.busy_left -= 1;
            if self.busy_left == 0 {
                for (k, s) in self.pending.iter().enumerate() {
                    self.mean[k] = p.mean(s);
                    self.recip[k] = p.recip(s);
                    self.bad |= p.degenerate(s);
                }
                self.ready = true;
            }
        }
        if let Some(stats) = load {
            self.pending.copy_from_slice(stats);
            self.busy_left = p.load_cycles();
            self.ready = false;
        }
        y
    }
}

impl CycleModel for RangeBn {
    fn interface(&self) -> &Interface {
        &self.iface
    }

    fn step(&mut self, inputs: &[u64], outputs: &mut [u64]) {
        let p = self.p;
        let s = p.stats;
        let mut out = vec![0u64; self.iface.out_words()];
        let at = |name: &str| self.iface.out_offset(name).expect("port") as u32 * 64;
        set_field(
            &mut out,
            at("y"),
            p.out_bits,
            int::to_bits(self.y.into(), p.out_bits) as u64,
        );
        set_field(&mut out, at("out_valid"), 1, self.out_valid.into());
        set_field(&mut out, at("ready"), 1, self.ready.into());
        set_field(&mut out, at("bad_stats"), 1, self.bad.into());
        outputs.copy_from_slice(&out);

        let ins = split(self.iface.beat_inputs(), inputs);
        let bit = |k: usize| ins[k][0] & 1 == 1;
        if bit(0) {
            *self = RangeBn::new(p).expect("validated");
            return;
        }
        let valid = bit(1);
        let n = s.in_bits;
        let beat = valid.then(|| {
            let x = int::from_bits(get_field(ins[3], 0, n).into(), n, true) as i64;
            (bit(2), x)
        });
        let stats: Option<Vec<Stats>> = bit(4).then(|| {
            let (sb, cb, rb, kb) = (
                s.sum_bits(),
                s.count_bits(),
                s.range_bits(),
                s.chunks_bits(),
            );
            (0..s.channels)
                .map(|k| Stats {
                    sum: int::from_bits(get_field(ins[5], k * sb, sb).into(), sb, true) as i64,
                    count: get_field(ins[6], k * cb, cb),
                    range_sum: get_field(ins[7], k * rb, rb),
                    chunks: get_field(ins[8], k * kb, kb),
                })
                .collect()
        });
        self.out_valid = valid;
        if let Some(y) = self.edge(beat, stats.as_deref()) {
            self.y = y;
        }
    }
}

impl crate::unit::Unit for RangeBnParams {
    const COMMAND: &'static str = "rangebn";
    const SUMMARY: &'static str =
        "Range BatchNorm: y = (x - mean) / (C(n) * range + eps) per channel, from range-stats";
    const ABOUT: &'static str = "Range BatchNorm normalisation (Banner et al. 2018) reading \
range-stats' outputs: a load strobe samples every channel's sum, count, range_sum and chunks; \
one sequential divider computes per channel the mean sum/count (A fraction bits, rounded half \
up) and recip = floor(chunks * 2^(B+P-1) / (Cq * range_sum + eps * chunks * 2^B)) with \
Cq = round(2^B / sqrt(2 ln n)); all channels switch together when ready rises. Per valid \
beat (channel t mod C): y = sat(RNE((x - mean) * recip)). No finished chunk or a zero scale gives \
y = 0; those and count = 0 set a sticky bad_stats. Latency 1.";
    const DOCS: &'static str = "docs/rangebn.md";
    const EXAMPLES: &'static [(&'static str, &'static str)] = &[
        (
            "",
            "16-bit Q7.8 input, one channel, chunks of 16, int8 output with 5 fraction bits",
        ),
        (
            "--in 8 --in-frac 4 --channels 16 --chunk 8 --max-chunks 64",
            "int8 activations of 16 interleaved channels, as range-stats' second example",
        ),
    ];

    /// The default is too wide for the provers (a 19x24 product, 40-step divisions); a
    /// small set keeps every piece: two channels, a chunk that is not a power of two.
    fn proof_set() -> Vec<Self> {
        vec![RangeBnParams {
            stats: RangeStatsParams {
                in_bits: 4,
                channels: 2,
                chunk: 3,
                max_chunks: 2,
            },
            in_frac: 2,
            out_bits: 4,
            out_frac: 2,
            cn_bits: 3,
            eps: 1,
            mean_frac: 1,
            recip_bits: 4,
        }]
    }

    fn sample(rng: &mut Sampler) -> Self {
        crate::unit::sample_valid(rng, |rng| {
            let in_bits = rng.pick(&[4, 5, 8, 12, 16, 24, 32]);
            RangeBnParams {
                stats: RangeStatsParams {
                    in_bits,
                    channels: rng.pick(&[1, 1, 2, 3, 4]),
                    chunk: rng.pick(&[2, 3, 4, 5, 8, 16, 256]),
                    max_chunks: rng.pick(&[1, 2, 3, 4, 7, 256, 65536]),
                },
                in_frac: rng.int(0..=in_bits - 1),
                out_bits: rng.int(2..=16),
                out_frac: rng.int(0..=15),
                cn_bits: rng.int(2..=24),
                eps: if rng.one_in(4) {
                    0
                } else {
                    rng.pick(&[1, 1, 2, 3, 100, 65535])
                },
                mean_frac: rng.int(0..=8),
                recip_bits: rng.int(2..=32),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constants() {
        assert_eq!(cn_q(2, 16), 55661);
        assert_eq!(cn_q(16, 16), 27831);
        assert_eq!(cn_q(256, 16), 19679);
    }

    #[test]
    fn mean_rounds_half_up() {
        let p = RangeBnParams {
            mean_frac: 0,
            ..RangeBnParams::default()
        };
        let m = |sum, count| {
            p.mean(&Stats {
                sum,
                count,
                ..Stats::default()
            })
        };
        assert_eq!(m(5, 2), 3);
        assert_eq!(m(-5, 2), -2);
        assert_eq!(m(-7, 3), -2);
        assert_eq!(m(7, 3), 2);
        assert_eq!(m(-6, 3), -2);
        assert_eq!(m(9, 0), 0);
    }
}
