//! Block floating point, HBFP style (docs/bfp.md): one shared exponent `E_s` per
//! block of `n` values, each value an `m`-bit two's-complement integer `q_i` clamped to the
//! symmetric range `[-(2^(m-1)-1), 2^(m-1)-1]`; `value_i = q_i * 2^E_s`.
//!
//! This module is the arithmetic of the converter ([`quantize`]), the block dot product
//! ([`dot`], [`DotAccumulator`]) and the shared-exponent block adder ([`add`]). Choices
//! docs/bfp.md leaves open, made here:
//! - `E_s` is clamped to the range of its `exp_bits`-bit two's-complement field; an
//!   all-zero block gets the minimum. (With the default 10 bits no binary32 input clamps.)
//! - Stochastic rounding (SR) takes `rnd_bits` random bits per element: the scaled value is
//!   cut to `rnd_bits` fraction bits (truncating), `rnd` is added there, and the fraction
//!   is dropped. In the converter this acts on the magnitude (sign-magnitude input); in
//!   the adder on the two's-complement value (a floor), both unbiased.
//! - The adder rounds twice at most: aligning the smaller-exponent block (random bits in
//!   `rnd`'s low `rnd_bits`), and the one renormalising shift (the next `rnd_bits`).
//! - The dot product's binary32 accumulator saturates at `f32::MAX` and flushes below
//!   `f32::MIN_POSITIVE`, with sticky `of`/`uf` flags, like `fpacc` (docs/fpacc.md).

mod add;
mod binary32;
mod dot;
mod dot_long;
mod modes;
mod quant;

use std::ops::RangeInclusive;

use serde::{Deserialize, Serialize};

use crate::int;
use crate::param::{Flags, Param};
use crate::unit::ParamError;

pub use add::{add, BfpAdd, BfpAddParams, ADD_EXP_BITS};
pub use binary32::{
    binary32_accumulation_stages, block_to_binary32, conversion_stages, DotAccumulator, DotStages,
    MAX_ACCUMULATION_STAGES,
};
pub use dot::{dot, dot_width, BfpDot, BfpDotParams, ACC_FLAG, DOT_EXP_BITS};
pub use dot_long::{BfpDotLong, LongDotSum, LongWindow, LONG_BITS, LONG_LSB};
pub use modes::Modes;
pub use quant::{quantize, quantize_with_rule, BfpQuant, BfpQuantParams, Quantized};

/// Rounding of the converter and the adder.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BfpRounding {
    /// Round to nearest, ties to even.
    Rne,
    /// Round toward zero.
    Rz,
    /// Stochastic: add random bits below the kept LSB, then truncate.
    Sr,
}

/// The shape of one HBFP format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct BfpFormat {
    /// Mantissa bits m, two's complement, symmetric range.
    pub mant_bits: u32,
    /// Width of the shared exponent, two's complement.
    pub exp_bits: u32,
}

impl BfpFormat {
    /// Largest mantissa magnitude, `2^(m-1) - 1`.
    pub fn qmax(&self) -> i64 {
        (1 << (self.mant_bits - 1)) - 1
    }
    pub fn exp_min(&self) -> i32 {
        int::min_value(self.exp_bits, true) as i32
    }
    pub fn exp_max(&self) -> i32 {
        int::max_value(self.exp_bits, true) as i32
    }
    fn clamp_q(&self, q: i64) -> i64 {
        q.clamp(-self.qmax(), self.qmax())
    }
}

/// One block: shared exponent and mantissas.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Block {
    pub exp: i32,
    pub q: Vec<i64>,
}

/// A converter's block collector (`bfp_quant`, `mx_quant`): the binary32 values of the
/// block being received, `lanes` a beat from the `x` port's words.
#[derive(Clone, Debug, Default)]
pub struct Collector {
    pending: Vec<u32>,
}

impl Collector {
    /// Take one valid beat; the whole block once it holds `block` values.
    pub fn push(&mut self, x: &[u64], lanes: u32, block: u32) -> Option<Vec<u32>> {
        self.pending
            .extend((0..lanes).map(|i| crate::iface::get_field(x, 32 * i, 32) as u32));
        (self.pending.len() >= block as usize).then(|| std::mem::take(&mut self.pending))
    }
}

/// The `rnd` port's `count` words of `bits` random bits (a stochastic converter's).
pub fn random_words(rnd: &[u64], count: u32, bits: u32) -> Vec<u64> {
    (0..count)
        .map(|i| crate::iface::get_field(rnd, i * bits, bits))
        .collect()
}

/// `v / 2^shift` rounded, for a non-negative `v`: the converter's magnitude rounding.
fn round_magnitude(v: u128, shift: i32, mode: BfpRounding, rnd: u64, rnd_bits: u32) -> u128 {
    if shift <= 0 {
        return v << (-shift).min(64);
    }
    if shift >= 127 {
        // Below every rounding threshold: only SR with a carry could reach 1, and it cannot
        // since the kept fraction truncates to zero.
        return 0;
    }
    let s = shift as u32;
    match mode {
        BfpRounding::Rz => v >> s,
        BfpRounding::Rne => {
            let (kept, rest, half) = (v >> s, v & ((1 << s) - 1), 1u128 << (s - 1));
            kept + u128::from(rest > half || (rest == half && kept & 1 == 1))
        }
        BfpRounding::Sr => {
            let rest = v & ((1 << s) - 1);
            (v >> s) + u128::from(crate::float::sr_round_up(rest, s, rnd, rnd_bits))
        }
    }
}

/// `v / 2^shift` rounded, for a signed `v`: the adder's alignment and renormalisation.
pub fn shift_round(v: i64, shift: u32, mode: BfpRounding, rnd: u64, rnd_bits: u32) -> i64 {
    if shift == 0 {
        return v;
    }
    match mode {
        BfpRounding::Rne | BfpRounding::Rz => {
            let mag = round_magnitude(
                u128::from(v.unsigned_abs()),
                shift.min(126) as i32,
                mode,
                0,
                0,
            ) as i64;
            if v < 0 {
                -mag
            } else {
                mag
            }
        }
        BfpRounding::Sr => {
            // floor(v * 2^(rnd_bits - shift)), plus rnd, then floor by 2^rnd_bits.
            let wide = i128::from(v) << rnd_bits;
            let frac = wide >> shift.min(126);
            ((frac + i128::from(rnd)) >> rnd_bits) as i64
        }
    }
}

/// Allowed block sizes n.
pub const BLOCK: RangeInclusive<u32> = BLOCK_FLAG.range();
/// Allowed mantissa widths m.
pub const MANT_BITS: RangeInclusive<u32> = MANT.range();
/// Allowed shared-exponent widths: 9 bits hold every exponent a binary32 block can have.
pub const EXP_BITS: RangeInclusive<u32> = quant::EXP_BITS_FLAG.range();
/// Allowed random bits per element for stochastic rounding.
pub const RND_BITS: RangeInclusive<u32> = RND_BITS_FLAG.range();

/// `--block`: the block size, shared by every block unit.
pub const BLOCK_FLAG: Param = Param::int(
    "--block",
    "N",
    1..=64,
    Some(16),
    "Block size n: values sharing one exponent",
);
/// `--mant`: the mantissa width.
pub const MANT: Param = Param::int(
    "--mant",
    "BITS",
    2..=8,
    Some(4),
    "Mantissa bits m (two's complement, symmetric range)",
);
/// `--rounding`: how mantissas are rounded.
pub const ROUNDING: Param = Param::choice(
    "--rounding",
    "MODE",
    &[
        ("rne", "Round to nearest, ties to even"),
        ("rz", "Round toward zero"),
        (
            "sr",
            "Stochastic: add random bits below the kept LSB, then truncate",
        ),
    ],
    "rne",
    "Rounding of the mantissas",
);
/// `--exp-rule`: how the converter picks the shared exponent.
pub const EXP_RULE: Param = Param::choice(
    "--exp-rule",
    "RULE",
    &[
        (
            "mx",
            "floor(log2 max|x|) - (m-2): the largest value keeps m-1 magnitude bits, as OCP MX does",
        ),
        (
            "hbfp",
            "ceil(log2 max|x|) - (m-1), as the HBFP training emulator: the same unless the \
             largest magnitude is a power of two, which then saturates",
        ),
    ],
    "mx",
    "Shared-exponent rule of the converter",
);

/// The converter's shared-exponent rule (docs/bfp.md, "Two exponent rules").
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ExpRule {
    /// `floor(log2 max|x|) - (m - 2)`.
    #[default]
    Mx,
    /// `ceil(log2 max|x|) - (m - 1)`.
    Hbfp,
}

impl ExpRule {
    fn from_flags(flags: &dyn Flags) -> Result<ExpRule, ParamError> {
        Ok(match EXP_RULE.choice_value(flags)? {
            "hbfp" => ExpRule::Hbfp,
            _ => ExpRule::Mx,
        })
    }
}

/// `--rnd-bits`: random bits per element for stochastic rounding.
pub const RND_BITS_FLAG: Param = Param::int(
    "--rnd-bits",
    "BITS",
    1..=16,
    Some(8),
    "Random bits per element for --rounding sr",
);
/// `--lanes`: values per beat.
pub const LANES: Param = Param::int(
    "--lanes",
    "L",
    1..=64,
    None,
    "Values accepted per beat, a divisor of --block [default: the whole block]",
);
/// `--modes`: run-time mantissa widths.
pub const MODES: Param = Param::text(
    "--modes",
    "M,M,..",
    None,
    "Mixed mantissa: widths a `mode` input selects at run time, e.g. 4,6 with --mant 6 \
     (--mant must be the widest). Mode k selects the k-th smallest width",
)
.samples(&["2,4", "4,6", "3,8", "2,5,8", "4,5,6,7,8", "2,3"]);

impl BfpRounding {
    /// The rounding `--rounding` names.
    pub fn from_flags(flags: &dyn Flags) -> Result<BfpRounding, ParamError> {
        Ok(match ROUNDING.choice_value(flags)? {
            "rz" => BfpRounding::Rz,
            "sr" => BfpRounding::Sr,
            _ => BfpRounding::Rne,
        })
    }
}

/// `--rnd-bits` for `rounding`: an error when given without `--rounding sr`, where it
/// would have no effect.
pub fn rnd_bits_from_flags(flags: &dyn Flags, rounding: BfpRounding) -> Result<u32, ParamError> {
    if rounding != BfpRounding::Sr && flags.given(RND_BITS_FLAG.name()).is_some() {
        return Err(RND_BITS_FLAG.error_because(
            flags.given(RND_BITS_FLAG.name()).unwrap_or_default(),
            "only with --rounding sr (the other modes take no random bits)",
        ));
    }
    RND_BITS_FLAG.u32(flags)
}

/// `--lanes` and `--modes`.
pub fn lanes_modes_from_flags(
    flags: &dyn Flags,
) -> Result<(Option<u32>, Option<Modes>), ParamError> {
    Ok((
        LANES.opt_u32(flags)?,
        MODES.parse(flags, |t| t.parse::<Modes>())?,
    ))
}

/// `--lanes` must divide `--block`.
pub(crate) fn check_lanes(block: u32, lanes: u32) -> Result<(), ParamError> {
    if lanes == 0 || lanes > block || !block.is_multiple_of(lanes) {
        let divisors: Vec<String> = (1..=block)
            .filter(|d| block.is_multiple_of(*d))
            .map(|d| d.to_string())
            .collect();
        return Err(ParamError {
            param: "--lanes",
            value: lanes.to_string(),
            allowed: format!("a divisor of --block {block}: {}", divisors.join(", ")),
        });
    }
    Ok(())
}

/// Helpers shared by the unit tests of the submodules.
/// A random block shape for the samplers: block size, a divisor of it as lanes (or
/// none), and a set of run-time widths ending at `mant_bits` (or none).
pub(crate) fn sample_shape(
    rng: &mut crate::unit::Sampler,
    max_block: u32,
) -> (u32, u32, Option<u32>, Option<Modes>) {
    let block = rng.int(1..=max_block);
    let mant_bits = rng.int(MANT_BITS);
    let divisors: Vec<u32> = (1..=block).filter(|d| block.is_multiple_of(*d)).collect();
    let lanes = rng.one_in(2).then(|| rng.pick(&divisors));
    let narrower: Vec<String> = (*MANT_BITS.start()..mant_bits)
        .filter(|_| rng.one_in(2))
        .map(|m| m.to_string())
        .collect();
    let modes = (rng.one_in(3) && !narrower.is_empty()).then(|| {
        format!("{},{mant_bits}", narrower.join(","))
            .parse()
            .expect("widths in range")
    });
    (block, mant_bits, lanes, modes)
}

pub(crate) fn sample_rounding(rng: &mut crate::unit::Sampler) -> BfpRounding {
    rng.pick(&[BfpRounding::Rne, BfpRounding::Rz, BfpRounding::Sr])
}

#[cfg(test)]
mod test_support {
    use super::*;
    use proptest::prelude::*;

    pub(super) const HBFP4: BfpFormat = BfpFormat {
        mant_bits: 4,
        exp_bits: 10,
    };

    pub(super) fn q(x: &[f32], mode: BfpRounding) -> Block {
        let bits: Vec<u32> = x.iter().map(|v| v.to_bits()).collect();
        quantize(&HBFP4, &bits, mode, &[], 0).block
    }

    pub(super) fn block_values() -> impl Strategy<Value = Vec<f32>> {
        prop::collection::vec(
            (-30i32..30, -1.0f32..1.0).prop_map(|(e, v)| v * 2f32.powi(e)),
            1..16,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::test_support::{q, HBFP4};
    use super::*;

    #[test]
    fn spec_worked_cases() {
        assert_eq!(
            q(&[1.5, -0.3, 0.05, 0.9], BfpRounding::Rne),
            Block {
                exp: -2,
                q: vec![6, -1, 0, 4]
            }
        );
        assert_eq!(q(&[1.5, -0.3, 0.05, 0.9], BfpRounding::Rz).q[3], 3);
        assert_eq!(
            q(&[1.0, 0.3], BfpRounding::Rne),
            Block {
                exp: -2,
                q: vec![4, 1]
            }
        );
        assert_eq!(q(&[1.5, 0.375, 0.625], BfpRounding::Rne).q, vec![6, 2, 2]);
        let w = q(&[0.5, 0.5, -1.0, 0.25], BfpRounding::Rne);
        assert_eq!(
            w,
            Block {
                exp: -2,
                q: vec![2, 2, -4, 1]
            }
        );
        let x = q(&[1.5, -0.3, 0.05, 0.9], BfpRounding::Rne);
        assert_eq!(dot(&x, &w), (14, -4));
        let mut acc = DotAccumulator::default();
        acc.step(true, &x, &w);
        assert_eq!(f32::from_bits(acc.acc), 0.875);
        // Clamp: 1.99 / 2^-2 = 7.96 rounds to 8 and clamps to 7.
        assert_eq!(
            q(&[1.99, 0.5], BfpRounding::Rne),
            Block {
                exp: -2,
                q: vec![7, 2]
            }
        );
    }

    #[test]
    fn stochastic_rounding_uses_the_random_bits() {
        // 0.9 / 2^-2 = 3.6: with 8 random bits, r < 0.4 * 256 keeps 3, larger rounds up.
        let bits = [1.5f32.to_bits(), 0.9f32.to_bits()];
        let at = |r: u64| quantize(&HBFP4, &bits, BfpRounding::Sr, &[0, r], 8).block.q[1];
        assert_eq!((at(0), at(102), at(103), at(255)), (3, 3, 4, 4));
        // Signed SR in the adder is a floor after adding the random bits.
        assert_eq!(shift_round(-3, 1, BfpRounding::Sr, 0, 4), -2);
        assert_eq!(shift_round(-3, 1, BfpRounding::Sr, 8, 4), -1);
        assert_eq!(shift_round(-3, 1, BfpRounding::Rne, 0, 0), -2);
        assert_eq!(shift_round(-3, 1, BfpRounding::Rz, 0, 0), -1);
    }
}
