//! The integer requantizer `requant` (docs/requant.md): gemmlowp's / TFLite's
//! `MultiplyByQuantizedMultiplier` followed by the output offset and the clamp, bit-exact.
//!
//! Per lane: `y = clamp(RDBPOT(SRDHM(acc << ls, mult), rs) + zp, qmin, qmax)` with
//! `ls = max(shift, 0)` and `rs = max(-shift, 0)`, where [`srdhm`] and [`rdbpot`] are
//! gemmlowp's `SaturatingRoundingDoublingHighMul` and `RoundingDivideByPOT`, written
//! here literally from their definitions (64-bit product, nudge, C division).
//!
//! Choices the gemmlowp functions leave open, made here and mirrored by the RTL:
//! - `acc << ls` wraps to 32 bits, as TFLite's `x * (1 << left_shift)` does in 32-bit
//!   arithmetic on every machine it runs on (formally undefined in C++).
//! - A `shift` port value outside `-31..=30` (the 6-bit port also carries -32 and 31) is
//!   clamped into that range first: -32 acts as -31, 31 as 30.
//! - `+ zp` is exact (33 bits) before the clamp, so it never wraps; TFLite adds in
//!   32 bits, which agrees wherever its sum does not overflow.
//! - Per-channel parameters: lane `l` of the `t`-th valid beat since reset uses channel
//!   `(t*L + l) mod C` (a channel counter, reset to zero, advanced by `L mod C` per
//!   valid beat).
//! - Latency 1; `y` and `out_valid` are registered, `y` holds between results.

use std::ops::RangeInclusive;

use serde::{Deserialize, Serialize};

use crate::iface::{get_field, set_field, split, CycleModel, Dir, Interface, Port, Role};
use crate::int;
use crate::param::{Flags, Param, Params};
use crate::unit::{ParamError, Sampler, UnitParams};

/// `--out-bits`: the output width W.
pub const OUT_BITS: Param = Param::int(
    "--out-bits",
    "BITS",
    2..=16,
    Some(8),
    "Output width W (y is clamped to the W-bit range)",
);
/// `--signed`: a two's-complement output (the default).
pub const SIGNED: Param = Param::switch(
    "--signed",
    "Two's-complement output, clamped to [-2^(W-1), 2^(W-1) - 1] (the default)",
);
/// `--unsigned`: an unsigned output.
pub const UNSIGNED: Param = Param::switch("--unsigned", "Unsigned output, clamped to [0, 2^W - 1]");
/// `--per-channel`: the number of parameter sets C.
pub const PER_CHANNEL: Param = Param::int(
    "--per-channel",
    "C",
    1..=64,
    Some(1),
    "Channels C: mult, shift and zp carry C entries; lane l of the t-th beat uses channel \
     (t*L + l) mod C",
);
/// `--lanes`: values per beat L.
pub const LANES: Param = Param::int(
    "--lanes",
    "L",
    1..=16,
    Some(1),
    "Lanes L: accumulators requantized per beat",
);

/// Allowed output widths.
pub const OUT_WIDTHS: RangeInclusive<u32> = OUT_BITS.range();
/// The smallest and largest shift the unit applies (port values outside are clamped).
pub const SHIFT_RANGE: RangeInclusive<i32> = -31..=30;
/// Width of the `shift` port's entries.
pub const SHIFT_BITS: u32 = 6;

/// Parameters of the requantizer `requant` (docs/requant.md).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequantParams {
    /// Output width W, 2..=16.
    pub out_bits: u32,
    /// Two's-complement output; otherwise unsigned.
    pub signed: bool,
    /// Channels C, 1..=64.
    pub per_channel: u32,
    /// Lanes L, 1..=16.
    pub lanes: u32,
}

impl Default for RequantParams {
    /// Signed 8-bit output, one parameter set, one lane.
    fn default() -> Self {
        RequantParams {
            out_bits: OUT_BITS.default_u32(),
            signed: true,
            per_channel: 1,
            lanes: 1,
        }
    }
}

impl Params for RequantParams {
    const PARAMS: &'static [Param] = &[OUT_BITS, SIGNED, UNSIGNED, PER_CHANNEL, LANES];
    const CONFLICTS: &'static [(&'static Param, &'static Param)] = &[(&SIGNED, &UNSIGNED)];

    fn from_flags(flags: &dyn Flags) -> Result<Self, ParamError> {
        Ok(RequantParams {
            out_bits: OUT_BITS.u32(flags)?,
            signed: !UNSIGNED.is_on(flags),
            per_channel: PER_CHANNEL.u32(flags)?,
            lanes: LANES.u32(flags)?,
        })
    }
}

/// gemmlowp's `SaturatingRoundingDoublingHighMul(a, b)`: the high 32 bits of `2*a*b`,
/// rounded to nearest by the nudge `2^30` (`ab >= 0`) or `1 - 2^30` (`ab < 0`) and a
/// division by `2^31` that truncates toward zero (C's `/`). Ties therefore go toward
/// plus infinity (`ab = -2^30` gives 0, `ab = 2^30` gives 1). The one product that
/// overflows, `a = b = -2^31`, saturates to `2^31 - 1`.
pub fn srdhm(a: i32, b: i32) -> i32 {
    let overflow = a == b && a == i32::MIN;
    let ab = i64::from(a) * i64::from(b);
    let nudge: i64 = if ab >= 0 { 1 << 30 } else { 1 - (1 << 30) };
    // Rust's `/` on integers truncates toward zero, as C's does.
    let high = (ab + nudge) / (1i64 << 31);
    if overflow {
        i32::MAX
    } else {
        i32::try_from(high).expect("only a = b = -2^31 leaves 32 bits")
    }
}

/// gemmlowp's `RoundingDivideByPOT(x, exponent)` for `exponent` in `0..=31`:
/// `x / 2^exponent` rounded to nearest, ties away from zero, by
/// `(x >> e) + (remainder > threshold)` with `mask = 2^e - 1`, `remainder = x & mask`
/// and `threshold = (mask >> 1) + (x < 0)`.
pub fn rdbpot(x: i32, exponent: u32) -> i32 {
    assert!(
        exponent <= 31,
        "RoundingDivideByPOT exponent {exponent} > 31"
    );
    let mask = ((1i64 << exponent) - 1) as i32;
    let remainder = x & mask;
    let threshold = (mask >> 1) + i32::from(x < 0);
    (x >> exponent) + i32::from(remainder > threshold)
}

/// TFLite's `MultiplyByQuantizedMultiplier(acc, mult, shift)`: `acc` shifted left by
/// `max(shift, 0)` (wrapping to 32 bits), [`srdhm`] by `mult`, then [`rdbpot`] by
/// `max(-shift, 0)`. `shift` is clamped to [`SHIFT_RANGE`] first.
pub fn scale(acc: i32, mult: i32, shift: i32) -> i32 {
    let s = shift.clamp(*SHIFT_RANGE.start(), *SHIFT_RANGE.end());
    let (ls, rs) = (s.max(0) as u32, (-s).max(0) as u32);
    // Two's-complement wrap of the left shift: the low 32 bits of acc * 2^ls.
    let shifted = (i64::from(acc) << ls) as i32;
    rdbpot(srdhm(shifted, mult), rs)
}

/// One lane of the unit: [`scale`], plus `zp` exactly, clamped to the `out_bits`-bit range
/// of the given signedness.
pub fn requantize(acc: i32, mult: i32, shift: i32, zp: i32, out_bits: u32, signed: bool) -> i64 {
    let v = i128::from(scale(acc, mult, shift)) + i128::from(zp);
    int::saturate(v, out_bits, signed) as i64
}

impl RequantParams {
    /// The channel of lane `lane` when the channel counter holds `count`
    /// (`count = t*L mod C` for the `t`-th valid beat).
    pub fn channel(&self, count: u32, lane: u32) -> u32 {
        (count + lane) % self.per_channel
    }

    /// The channel counter after a valid beat.
    pub fn next_count(&self, count: u32) -> u32 {
        (count + self.lanes) % self.per_channel
    }

    /// Width of the channel counter (0 when C = 1: no counter).
    pub fn count_bits(&self) -> u32 {
        if self.per_channel <= 1 {
            0
        } else {
            32 - (self.per_channel - 1).leading_zeros()
        }
    }
}

impl UnitParams for RequantParams {
    const KIND: &'static str = "requant";

    fn validate(&self) -> Result<(), ParamError> {
        OUT_BITS.check(self.out_bits)?;
        PER_CHANNEL.check(self.per_channel)?;
        LANES.check(self.lanes)
    }

    /// e.g. `requant_s8`, `requant_u8_c4_l2`.
    fn module_name(&self) -> String {
        let s = if self.signed { 's' } else { 'u' };
        let mut name = format!("requant_{s}{}", self.out_bits);
        if self.per_channel > 1 {
            name += &format!("_c{}", self.per_channel);
        }
        if self.lanes > 1 {
            name += &format!("_l{}", self.lanes);
        }
        name
    }

    /// clk, rst, in_valid, acc, mult, shift, zp -> y, out_valid.
    fn interface(&self) -> Interface {
        let (c, l) = (self.per_channel, self.lanes);
        Interface {
            ports: vec![
                Port::bit("clk", Dir::In, Role::Clock),
                Port::bit("rst", Dir::In, Role::Reset),
                Port::bit("in_valid", Dir::In, Role::InValid),
                Port::int_or_vec("acc", Dir::In, 32, true, l),
                Port::int_or_vec("mult", Dir::In, 32, true, c),
                Port::int_or_vec("shift", Dir::In, SHIFT_BITS, true, c),
                Port::int_or_vec("zp", Dir::In, 32, true, c),
                Port::int_or_vec("y", Dir::Out, self.out_bits, self.signed, l),
                Port::bit("out_valid", Dir::Out, Role::OutValid),
            ],
        }
    }

    fn latency(&self) -> u32 {
        1
    }

    fn model(&self) -> Result<Box<dyn CycleModel + Send>, ParamError> {
        Ok(Box::new(Requant::new(*self)?))
    }
}

/// Cycle model of `requant`.
#[derive(Clone, Debug)]
pub struct Requant {
    p: RequantParams,
    iface: Interface,
    count: u32,
    y: Vec<i64>,
    out_valid: bool,
}

impl Requant {
    /// A requantizer in its reset state.
    pub fn new(p: RequantParams) -> Result<Requant, ParamError> {
        p.validate()?;
        Ok(Requant {
            p,
            iface: p.interface(),
            count: 0,
            y: vec![0; p.lanes as usize],
            out_valid: false,
        })
    }

    /// One valid beat on values: `acc` has L entries, `mult`, `shift`, `zp` C each.
    /// Returns the L outputs and advances the channel counter.
    pub fn beat(&mut self, acc: &[i32], mult: &[i32], shift: &[i32], zp: &[i32]) -> Vec<i64> {
        let p = self.p;
        let y = (0..p.lanes)
            .map(|l| {
                let c = p.channel(self.count, l) as usize;
                requantize(
                    acc[l as usize],
                    mult[c],
                    shift[c],
                    zp[c],
                    p.out_bits,
                    p.signed,
                )
            })
            .collect();
        self.count = p.next_count(self.count);
        y
    }
}

impl CycleModel for Requant {
    fn interface(&self) -> &Interface {
        &self.iface
    }

    fn step(&mut self, inputs: &[u64], outputs: &mut [u64]) {
        let p = self.p;
        let w = p.out_bits;
        let mut out = vec![0u64; self.iface.out_words()];
        for (l, y) in self.y.iter().enumerate() {
            set_field(
                &mut out,
                l as u32 * w,
                w,
                int::to_bits((*y).into(), w) as u64,
            );
        }
        let yw = (w * p.lanes).div_ceil(64) as usize;
        out[yw] = self.out_valid.into();
        outputs.copy_from_slice(&out);

        let ins = split(self.iface.beat_inputs(), inputs);
        let (rst, valid) = (ins[0][0] & 1 == 1, ins[1][0] & 1 == 1);
        if rst {
            *self = Requant::new(p).expect("validated");
            return;
        }
        self.out_valid = valid;
        if !valid {
            return;
        }
        let field = |words: &[u64], bits: u32, n: u32| -> Vec<i32> {
            (0..n)
                .map(|i| int::from_bits(get_field(words, i * bits, bits).into(), bits, true) as i32)
                .collect()
        };
        let acc = field(ins[2], 32, p.lanes);
        let mult = field(ins[3], 32, p.per_channel);
        let shift = field(ins[4], SHIFT_BITS, p.per_channel);
        let zp = field(ins[5], 32, p.per_channel);
        self.y = self.beat(&acc, &mult, &shift, &zp);
    }
}

impl crate::unit::Unit for RequantParams {
    const COMMAND: &'static str = "requant";
    const SUMMARY: &'static str =
        "Integer requantizer (gemmlowp/TFLite): 32-bit accumulator to W-bit output, bit-exact";
    const ABOUT: &'static str = "y = clamp(RDBPOT(SRDHM(acc << ls, mult), rs) + zp) with \
ls = max(shift, 0), rs = max(-shift, 0): gemmlowp's SaturatingRoundingDoublingHighMul and \
RoundingDivideByPOT, bit-exact, then the output offset and a clamp to W bits, signed or \
unsigned. Per-channel parameters and several lanes per beat. Latency 1.";
    const DOCS: &'static str = "docs/requant.md";
    const EXAMPLES: &'static [(&'static str, &'static str)] = &[
        ("", "one int32 accumulator to int8 per cycle"),
        (
            "--unsigned --per-channel 16 --lanes 4",
            "uint8 outputs, 16 channels, 4 lanes per beat",
        ),
    ];

    /// The default, and an unsigned 4-bit output with 2 channels (the channel counter
    /// and the selection). Three channels over two lanes also prove (equiv_induct,
    /// 171 s), too slow for the table.
    fn proof_set() -> Vec<Self> {
        vec![
            RequantParams::default(),
            RequantParams {
                out_bits: 4,
                signed: false,
                per_channel: 2,
                lanes: 1,
            },
        ]
    }

    /// The per-channel member: with one channel the pipelining pass cuts the 32x32
    /// product into partial products, which the reference's single product cannot be
    /// paired with (neither engine decides `requant --pipeline 2` in 600 s); with
    /// channels the parameters are selected per lane and the registers stay around the
    /// multiplier, which proves at depth 2 in about 30 s. Depth 2 of the default is
    /// covered by co-simulation (docs/requant.md).
    fn pipelined_proof(set: &[Self]) -> Option<Self> {
        set.iter().find(|p| p.per_channel > 1).cloned()
    }

    fn sample(rng: &mut Sampler) -> Self {
        RequantParams {
            out_bits: rng.int(OUT_WIDTHS),
            signed: rng.one_in(2),
            per_channel: rng.pick(&[1, 1, 2, 3, 4, 5, 8]),
            lanes: rng.pick(&[1, 1, 2, 3, 4]),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn worked_cases() {
        assert_eq!(srdhm(1 << 30, 1 << 30), 1 << 29);
        assert_eq!(srdhm(i32::MIN, i32::MIN), i32::MAX);
        assert_eq!(rdbpot(5, 1), 3);
        assert_eq!(rdbpot(-5, 1), -3);
        assert_eq!(rdbpot(-6, 2), -2);
        assert_eq!(rdbpot(6, 2), 2);
        assert_eq!(requantize(1000, 1_518_500_250, -4, -3, 8, true), 41);
    }

    #[test]
    fn srdhm_ties_go_up() {
        // a * b = -2^30 is -0.5 in units of 2^31: the nudge 1 - 2^30 and C's division
        // give 0; +0.5 gives 1.
        assert_eq!(srdhm(-(1 << 15), 1 << 15), 0);
        assert_eq!(srdhm(1 << 15, 1 << 15), 1);
        assert_eq!(srdhm(-3 << 15, 1 << 15), -1, "-1.5 to -1");
    }

    #[test]
    fn shift_port_extremes_clamp() {
        assert_eq!(scale(1 << 20, i32::MAX, -32), scale(1 << 20, i32::MAX, -31));
        assert_eq!(scale(3, 1 << 30, 31), scale(3, 1 << 30, 30));
        // The left shift wraps: 3 << 30 is -2^30 in 32 bits.
        assert_eq!(scale(3, 1 << 30, 30), srdhm(-(1 << 30), 1 << 30));
    }

    #[test]
    fn channels_rotate() {
        let p = RequantParams {
            per_channel: 3,
            lanes: 2,
            ..RequantParams::default()
        };
        assert_eq!(p.count_bits(), 2);
        let (mut c, mut seen) = (0, Vec::new());
        for _ in 0..3 {
            seen.extend((0..2).map(|l| p.channel(c, l)));
            c = p.next_count(c);
        }
        assert_eq!(seen, vec![0, 1, 2, 0, 1, 2]);
        assert_eq!(p.module_name(), "requant_s8_c3_l2");
    }
}
