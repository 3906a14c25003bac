//! Exponent-domain dot product of DNA-TEQ (docs/log-domain.md, `expq_dot`).
//!
//! Weights and activations are codes `(sign, zero, e)` standing for `+-(b^(e + e_min) +
//! o)`, with one offset `o` per operand (`--offset-w`, `--offset-a`; the paper's levels
//! `s * (alpha * b^e + beta)` with `alpha` folded into the per-tensor scale, applied
//! outside the unit, and `o = beta / alpha`). A product of offset levels is
//! `b^(ew+ea+2e_min) + o_a b^(ew+e_min) + o_w b^(ea+e_min) + o_w o_a`, so a dot product is
//! `sum_k c_k b^(k + 2 e_min) + o_a sum_j w_j b^(j + e_min) + o_w sum_i a_i b^(i + e_min)
//! + o_w o_a s` where `c_k` counts the products with exponent sum `k`, `w_j` those with
//! weight exponent `j`, `a_i` those with activation exponent `i`, and `s` all of them,
//! each signed by the product's sign. With both offsets 0 only the `c_k` exist.
//!
//! Choices docs/log-domain.md leaves open, made here:
//! - The base `b` and the offsets are decimal numbers (`1.5`, `2`, `1.1892`; `0.5`) taken
//!   exactly as the rationals they write; every walk constant (`T[k] = RNE(b^(k +
//!   2 e_min) 2^F)`, `RNE(o_a b^(j + e_min) 2^F)`, `RNE(o_w b^(i + e_min) 2^F)`,
//!   `RNE(o_w o_a 2^F)`) is computed exactly with big integers by
//!   [`ExpqDotParams::table`], which model and generator share. Offsets are in `[0, 16]`.
//! - A zero flag (`zw` or `za`) is a true zero, offset or not: the product is 0 and no
//!   counter moves (the level `+-o` itself is not a code).
//! - Counters have `ceil(log2(K_max + 1)) + 1` bits: the `ceil(log2 K_max) + 1` of
//!   docs/log-domain.md plus one when `K_max` is a power of two, so that `+K_max` fits.
//!   More than `K_max` products in one dot product wrap the counters (two's complement),
//!   and `y` is then the low bits of the exact sum over the wrapped counters.
//! - The output `y` (signed, `F` fractional bits) is wide enough for any dot product of
//!   up to `K_max` products: `--out` may not be narrower than that. `y` is within
//!   `K_max * 4 * 2^-(F+1)` of the exact dot product (at most four rounded constants per
//!   product, each within half an ulp; one with both offsets 0).
//! - Timing: a valid beat with a nonzero product counts it. A `flush` beat (its own pair
//!   counted first if valid) starts the walk: one counter per cycle (the `c_k` in
//!   ascending `k`, then the `w_j`, the `a_i` and `s`), `y_acc += count * constant`, the
//!   counter cleared. The cycle after the last counter, `y` shows the result with
//!   `out_valid` high, and holds it. Beats during the walk are ignored. Latency: the
//!   number of counters `2^(E+1) - 1 (+ 2^E per nonzero offset, + 1 if both are) +
//!   WALK_STAGES + 1` cycles from the flush beat.

mod dot;
mod fit;
mod quant;

use std::ops::RangeInclusive;

use num_bigint::BigUint;
use serde::{Deserialize, Serialize};

use crate::param::Param;

pub use dot::{ExpqDot, ExpqDotParams, OFFSET_A, OFFSET_W, WALK_STAGES};
pub use fit::{fit, quantize_to_levels, uniform_mse, Fit, Metric};
pub use quant::{parse_scale, ExpqQuant, ExpqQuantParams, Scale, IN_BITS};

/// A base `b > 1` written as a decimal, kept exactly as `num / den`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Base {
    pub num: u64,
    pub den: u64,
    text: String,
}

impl Base {
    /// The value as `f64` (for display and estimates only).
    pub fn to_f64(&self) -> f64 {
        self.num as f64 / self.den as f64
    }
}

/// `text` as the exact fraction `num / 10^decimals` (digits, an optional point, at most
/// 6 decimals); `None` for anything else. `--base` and `--alpha` read their decimals so.
pub(crate) fn parse_decimal(text: &str) -> Option<(u64, u64)> {
    let (whole, frac) = text.split_once('.').unwrap_or((text, ""));
    if whole.is_empty()
        || frac.len() > 6
        || !(whole.chars().chain(frac.chars())).all(|c| c.is_ascii_digit())
    {
        return None;
    }
    let den = 10u64.pow(frac.len() as u32);
    let num: u64 = format!("{whole}{frac}").parse().ok()?;
    Some((num, den))
}

impl std::str::FromStr for Base {
    type Err = String;
    fn from_str(text: &str) -> Result<Base, String> {
        let (num, den) = parse_decimal(text)
            .ok_or_else(|| format!("'{text}' is not a decimal base such as 2, 1.5 or 1.1892"))?;
        if num <= den || num > 16 * den {
            return Err(format!("base {text} is outside (1, 16]"));
        }
        // Lowest terms, so that equal bases compare equal.
        let g = gcd(num, den);
        // "2." is written as "2".
        let text = text.strip_suffix('.').unwrap_or(text).to_string();
        Ok(Base {
            num: num / g,
            den: den / g,
            text,
        })
    }
}

fn gcd(a: u64, b: u64) -> u64 {
    if b == 0 {
        a
    } else {
        gcd(b, a % b)
    }
}

impl std::fmt::Display for Base {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.text)
    }
}

impl Serialize for Base {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.text.serialize(s)
    }
}

impl<'de> Deserialize<'de> for Base {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Base, D::Error> {
        String::deserialize(d)?
            .parse()
            .map_err(serde::de::Error::custom)
    }
}

/// An offset `o >= 0` of `expq_dot`'s levels (`b^(e + e_min) + o`, the paper's `beta /
/// alpha`), written as a decimal and kept exactly as `num / den`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Offset {
    pub num: u64,
    pub den: u64,
    text: String,
}

impl Offset {
    /// The offset 0: the levels are `b^(e + e_min)`.
    pub fn zero() -> Offset {
        Offset {
            num: 0,
            den: 1,
            text: "0".into(),
        }
    }

    pub fn is_zero(&self) -> bool {
        self.num == 0
    }

    /// The value as `f64` (for display and estimates only).
    pub fn to_f64(&self) -> f64 {
        self.num as f64 / self.den as f64
    }
}

impl Default for Offset {
    fn default() -> Offset {
        Offset::zero()
    }
}

impl std::str::FromStr for Offset {
    type Err = String;
    fn from_str(text: &str) -> Result<Offset, String> {
        let (num, den) = parse_decimal(text)
            .ok_or_else(|| format!("'{text}' is not a decimal offset such as 0, 0.5 or 0.125"))?;
        if num > 16 * den {
            return Err(format!("offset {text} is outside [0, 16]"));
        }
        if num == 0 {
            // "0.000" is the offset 0, written one way.
            return Ok(Offset::zero());
        }
        let g = gcd(num, den);
        let text = text.strip_suffix('.').unwrap_or(text).to_string();
        Ok(Offset {
            num: num / g,
            den: den / g,
            text,
        })
    }
}

impl std::fmt::Display for Offset {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.text)
    }
}

impl Serialize for Offset {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.text.serialize(s)
    }
}

impl<'de> Deserialize<'de> for Offset {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Offset, D::Error> {
        String::deserialize(d)?
            .parse()
            .map_err(serde::de::Error::custom)
    }
}

/// `RNE(num / den)` for big integers.
fn div_rne(num: &BigUint, den: &BigUint) -> BigUint {
    let q = num / den;
    let r2 = (num % den) * 2u32;
    let one = BigUint::from(1u32);
    if r2 > *den || (r2 == *den && q.bit(0)) {
        q + one
    } else {
        q
    }
}

/// Allowed exponent bits per operand.
pub const EXP_BITS: RangeInclusive<u32> = EXP_BITS_FLAG.range();
/// Allowed fractional bits of the table and the output.
pub const FRAC_BITS: RangeInclusive<u32> = dot::FRAC_BITS_FLAG.range();
/// Allowed dot-product lengths.
pub const K_MAX: RangeInclusive<u32> = dot::K_MAX_FLAG.range();

/// `--exp-bits`: exponent bits of a code, shared by the DNA-TEQ units.
pub const EXP_BITS_FLAG: Param = Param::int(
    "--exp-bits",
    "BITS",
    1..=6,
    Some(3),
    "Exponent bits E of a code (unsigned)",
);
/// `--base`: the base of the exponential levels.
pub const BASE: Param = Param::text(
    "--base",
    "B",
    Some("2"),
    "The base b of the exponential quantization, a decimal in (1, 16], e.g. 1.5",
)
.samples(&["2", "1.5", "1.1892", "3", "16", "1.01", "4"]);
/// `--exp-min`: the exponent of code 0.
pub const EXP_MIN: Param = Param::int(
    "--exp-min",
    "E",
    -64..=64,
    Some(0),
    "Exponent of code 0 (a code e stands for b^(e + e_min))",
);
