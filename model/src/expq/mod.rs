//! Exponent-domain dot product of DNA-TEQ (docs/log-domain.md, `expq_dot`).
//!
//! Weights and activations are codes `(sign, zero, e)` standing for `+-b^(e + e_min)`
//! (the per-tensor scale `s * alpha` and offset `beta` are applied outside the unit). A
//! product is an exponent sum `k = e_w + e_a`, so a dot product is `sum_k c_k * b^(k +
//! 2 e_min)` where `c_k` counts the products with exponent sum `k`, signed.
//!
//! Choices docs/log-domain.md leaves open, made here:
//! - The base `b` is a decimal number (`1.5`, `2`, `1.1892`) taken exactly as the
//!   rational it writes; `T[k] = RNE(b^(k + 2 e_min) * 2^F)` is computed exactly with
//!   big integers by [`ExpqDotParams::table`], which model and generator share.
//! - Counters have `ceil(log2(K_max + 1)) + 1` bits: the `ceil(log2 K_max) + 1` of
//!   docs/log-domain.md plus one when `K_max` is a power of two, so that `+K_max` fits.
//!   More than `K_max` products in one dot product wrap the counters (two's complement),
//!   and `y` is then the low bits of the exact sum over the wrapped counters.
//! - The output `y` (signed, `F` fractional bits) is wide enough for any dot product of
//!   up to `K_max` products: `--out` may not be narrower than that.
//! - Timing: a valid beat with a nonzero product counts it. A `flush` beat (its own pair
//!   counted first if valid) starts the walk: one counter per cycle in ascending `k`,
//!   `y_acc += c_k * T[k]`, the counter cleared. The cycle after the last counter, `y`
//!   shows the result with `out_valid` high, and holds it. Beats during the walk are
//!   ignored.

mod dot;
mod fit;
mod quant;

use std::ops::RangeInclusive;

use num_bigint::BigUint;
use serde::{Deserialize, Serialize};

use crate::param::Param;

pub use dot::{ExpqDot, ExpqDotParams, WALK_STAGES};
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
