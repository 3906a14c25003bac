//! Exponent-domain dot product of DNA-TEQ (SPEC.md section 4, `expq_dot`).
//!
//! Weights and activations are codes `(sign, zero, e)` standing for `+-b^(e + e_min)`
//! (the per-tensor scale `s * alpha` and offset `beta` are applied outside the unit). A
//! product is an exponent sum `k = e_w + e_a`, so a dot product is `sum_k c_k * b^(k +
//! 2 e_min)` where `c_k` counts the products with exponent sum `k`, signed.
//!
//! Choices SPEC.md leaves open, made here:
//! - The base `b` is a decimal number (`1.5`, `2`, `1.1892`) taken exactly as the
//!   rational it writes; `T[k] = RNE(b^(k + 2 e_min) * 2^F)` is computed exactly with
//!   big integers by [`ExpqDotParams::table`], which model and generator share.
//! - Counters have `ceil(log2(K_max + 1)) + 1` bits: SPEC.md's `ceil(log2 K_max) + 1`
//!   plus one when `K_max` is a power of two, so that `+K_max` fits. More than `K_max`
//!   products in one dot product wrap the counters (two's complement), and `y` is then
//!   the low bits of the exact sum over the wrapped counters.
//! - The output `y` (signed, `F` fractional bits) is wide enough for any dot product of
//!   up to `K_max` products: `--out` may not be narrower than that.
//! - Timing: a valid beat with a nonzero product counts it. A `flush` beat (its own pair
//!   counted first if valid) starts the walk: one counter per cycle in ascending `k`,
//!   `y_acc += c_k * T[k]`, the counter cleared. The cycle after the last counter, `y`
//!   shows the result with `out_valid` high, and holds it. Beats during the walk are
//!   ignored.

use std::ops::RangeInclusive;

use num_bigint::BigUint;
use serde::{Deserialize, Serialize};

use crate::iface::{CycleModel, Dir, Interface, Port, Role};
use crate::int;
use crate::unit::{check_range, ParamError, UnitParams};

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

impl std::str::FromStr for Base {
    type Err = String;
    fn from_str(text: &str) -> Result<Base, String> {
        let bad = || format!("'{text}' is not a decimal base such as 2, 1.5 or 1.1892");
        let (whole, frac) = text.split_once('.').unwrap_or((text, ""));
        if whole.is_empty()
            || frac.len() > 6
            || !(whole.chars().chain(frac.chars())).all(|c| c.is_ascii_digit())
        {
            return Err(bad());
        }
        let den = 10u64.pow(frac.len() as u32);
        let num: u64 = format!("{whole}{frac}").parse().map_err(|_| bad())?;
        if num <= den || num > 16 * den {
            return Err(format!("base {text} is outside (1, 16]"));
        }
        // Lowest terms, so that equal bases compare equal.
        let g = gcd(num, den);
        let text = if frac.is_empty() {
            whole.to_string()
        } else {
            text.to_string()
        };
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
pub const EXP_BITS: RangeInclusive<u32> = 1..=6;
/// Allowed fractional bits of the table and the output.
pub const FRAC_BITS: RangeInclusive<u32> = 0..=24;
/// Allowed dot-product lengths.
pub const K_MAX: RangeInclusive<u32> = 1..=65536;

/// Parameters of the DNA-TEQ exponent-domain dot product `expq_dot` (SPEC.md section 4).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, clap::Args)]
#[serde(deny_unknown_fields)]
pub struct ExpqDotParams {
    /// Exponent bits per operand code (unsigned), 1..=6.
    #[arg(long = "exp-bits", value_name = "BITS", default_value_t = 3, allow_negative_numbers = true,
          value_parser = clap::value_parser!(u32).range(1..=6))]
    pub exp_bits: u32,
    /// The base b of the exponential quantization, a decimal in (1, 16], e.g. 1.5.
    #[arg(long, value_name = "B", default_value = "2")]
    pub base: Base,
    /// Exponent of code 0 for both operands (a code e stands for b^(e + e_min)).
    #[arg(
        long = "exp-min",
        value_name = "E",
        default_value_t = 0,
        allow_negative_numbers = true
    )]
    pub exp_min: i32,
    /// Fractional bits F of the table constants and of y, 0..=24.
    #[arg(long = "frac-bits", value_name = "BITS", default_value_t = 8, allow_negative_numbers = true,
          value_parser = clap::value_parser!(u32).range(0..=24))]
    pub frac_bits: u32,
    /// Largest number of products in one dot product, 1..=65536 (sizes the counters).
    #[arg(long = "k-max", value_name = "K", default_value_t = 64, allow_negative_numbers = true,
          value_parser = clap::value_parser!(u32).range(1..=65536))]
    pub k_max: u32,
    /// Width of y [default: the smallest that holds any dot product of K_max products].
    #[arg(long = "out", value_name = "BITS", allow_negative_numbers = true)]
    #[serde(default)]
    pub out_bits: Option<u32>,
}

impl Default for ExpqDotParams {
    /// 3-bit exponents, base 2, 8 fractional bits, dot products of up to 64 pairs.
    fn default() -> Self {
        ExpqDotParams {
            exp_bits: 3,
            base: "2".parse().expect("valid base"),
            exp_min: 0,
            frac_bits: 8,
            k_max: 64,
            out_bits: None,
        }
    }
}

impl ExpqDotParams {
    /// Number of counters: every exponent sum `0 ..= 2 (2^E - 1)`.
    pub fn counters(&self) -> u32 {
        2 * ((1 << self.exp_bits) - 1) + 1
    }

    /// Counter width: holds `-K_max ..= K_max`.
    pub fn counter_bits(&self) -> u32 {
        33 - self.k_max.leading_zeros()
    }

    /// `T[k] = RNE(b^(k + 2 e_min) * 2^F)` for every exponent sum `k`, exactly.
    pub fn table(&self) -> Vec<u128> {
        let (num, den) = (BigUint::from(self.base.num), BigUint::from(self.base.den));
        let scale = BigUint::from(1u32) << self.frac_bits as usize;
        (0..self.counters())
            .map(|k| {
                let e = i64::from(k) + 2 * i64::from(self.exp_min);
                let (top, bottom) = if e >= 0 {
                    (num.pow(e as u32) * &scale, den.pow(e as u32))
                } else {
                    (den.pow((-e) as u32) * &scale, num.pow((-e) as u32))
                };
                let t = div_rne(&top, &bottom);
                u128::try_from(&t).unwrap_or(u128::MAX)
            })
            .collect()
    }

    /// Bits of the widest table constant (unsigned).
    pub fn table_bits(&self) -> u32 {
        let max = self.table().into_iter().max().unwrap_or(0);
        (128 - max.leading_zeros()).max(1)
    }

    /// The narrowest `y` that holds `+-K_max * max T`.
    pub fn min_out_bits(&self) -> u32 {
        let max = self.table().into_iter().max().unwrap_or(0);
        let worst = max.saturating_mul(u128::from(self.k_max));
        129 - worst.leading_zeros()
    }

    /// The width of `y`.
    pub fn out_bits(&self) -> u32 {
        self.out_bits.unwrap_or_else(|| self.min_out_bits())
    }
}

impl UnitParams for ExpqDotParams {
    const KIND: &'static str = "expq_dot";

    fn validate(&self) -> Result<(), ParamError> {
        check_range("--exp-bits", self.exp_bits, &EXP_BITS)?;
        check_range("--frac-bits", self.frac_bits, &FRAC_BITS)?;
        check_range("--k-max", self.k_max, &K_MAX)?;
        if self.exp_min.unsigned_abs() > 64 {
            return Err(ParamError {
                param: "--exp-min",
                value: self.exp_min.to_string(),
                allowed: "-64..=64".to_string(),
            });
        }
        // Constants must stay within 64 bits (and y within 96) for the RTL.
        let min = self.min_out_bits();
        if self.table_bits() > 64 || min > 96 {
            return Err(ParamError {
                param: "--frac-bits",
                value: self.frac_bits.to_string(),
                allowed: format!(
                    "values whose table constants fit 64 bits (base {} over exponents {}..={} \
                     needs fewer fractional bits or a smaller --exp-bits)",
                    self.base,
                    2 * self.exp_min,
                    2 * self.exp_min + self.counters() as i32 - 1
                ),
            });
        }
        if let Some(out) = self.out_bits {
            if !(min..=96).contains(&out) {
                return Err(ParamError {
                    param: "--out",
                    value: out.to_string(),
                    allowed: format!(
                        "{min}..=96 (y must hold K_max products of the largest constant)"
                    ),
                });
            }
        }
        Ok(())
    }

    /// e.g. `expq_dot_e3_b2_f8_k64` (`b1p5` for base 1.5, `_emm2` for e_min = -2,
    /// `_oN` for a non-default output width).
    fn module_name(&self) -> String {
        let mut name = format!(
            "expq_dot_e{}_b{}_f{}_k{}",
            self.exp_bits,
            self.base.to_string().replace('.', "p"),
            self.frac_bits,
            self.k_max
        );
        if self.exp_min != 0 {
            let sign = if self.exp_min < 0 { "m" } else { "" };
            name += &format!("_em{sign}{}", self.exp_min.unsigned_abs());
        }
        if self.out_bits.is_some() {
            name += &format!("_o{}", self.out_bits());
        }
        name
    }

    /// clk, rst, in_valid, flush, sw, zw, ew, sa, za, ea -> y, out_valid.
    fn interface(&self) -> Interface {
        let e = self.exp_bits;
        Interface {
            ports: vec![
                Port::bit("clk", Dir::In, Role::Clock),
                Port::bit("rst", Dir::In, Role::Reset),
                Port::bit("in_valid", Dir::In, Role::InValid),
                Port::bit("flush", Dir::In, Role::Clear),
                Port::int("sw", Dir::In, 1, false),
                Port::int("zw", Dir::In, 1, false),
                Port::int("ew", Dir::In, e, false),
                Port::int("sa", Dir::In, 1, false),
                Port::int("za", Dir::In, 1, false),
                Port::int("ea", Dir::In, e, false),
                Port::int("y", Dir::Out, self.out_bits(), true),
                Port::bit("out_valid", Dir::Out, Role::OutValid),
            ],
        }
    }

    /// From the flush beat to `out_valid`: one cycle per counter, and one.
    fn latency(&self) -> u32 {
        self.counters() + 1
    }

    fn model(&self) -> Result<Box<dyn CycleModel + Send>, ParamError> {
        Ok(Box::new(ExpqDot::new(self.clone())?))
    }
}

/// Cycle model of `expq_dot`.
#[derive(Clone, Debug)]
pub struct ExpqDot {
    p: ExpqDotParams,
    iface: Interface,
    table: Vec<u128>,
    counters: Vec<i128>,
    /// The counter the walk handles next, while walking.
    walk: Option<usize>,
    y_acc: i128,
    y: i128,
    out_valid: bool,
}

impl ExpqDot {
    pub fn new(p: ExpqDotParams) -> Result<ExpqDot, ParamError> {
        p.validate()?;
        Ok(ExpqDot {
            iface: p.interface(),
            table: p.table(),
            counters: vec![0; p.counters() as usize],
            walk: None,
            y_acc: 0,
            y: 0,
            out_valid: false,
            p,
        })
    }

    /// The counters (for tests).
    pub fn counters(&self) -> &[i128] {
        &self.counters
    }
}

impl CycleModel for ExpqDot {
    fn interface(&self) -> &Interface {
        &self.iface
    }

    fn step(&mut self, inputs: &[u64], outputs: &mut [u64]) {
        let out_bits = self.p.out_bits();
        let y = int::to_bits(self.y, out_bits);
        outputs[0] = y as u64;
        if out_bits > 64 {
            outputs[1] = (y >> 64) as u64;
        }
        let last = outputs.len() - 1;
        outputs[last] = self.out_valid.into();
        let (rst, valid, flush) = (inputs[0] & 1 == 1, inputs[1] & 1 == 1, inputs[2] & 1 == 1);
        if rst {
            *self = ExpqDot::new(self.p.clone()).expect("validated");
            return;
        }
        self.out_valid = false;
        if let Some(k) = self.walk {
            self.y_acc += self.counters[k] * self.table[k] as i128;
            self.counters[k] = 0;
            if k + 1 == self.counters.len() {
                (self.y, self.out_valid, self.walk) = (self.y_acc, true, None);
            } else {
                self.walk = Some(k + 1);
            }
            return;
        }
        let zero = inputs[4] & 1 == 1 || inputs[7] & 1 == 1;
        if valid && !zero {
            let k = (inputs[5] + inputs[8]) as usize;
            let step = if (inputs[3] ^ inputs[6]) & 1 == 1 {
                -1
            } else {
                1
            };
            let w = self.p.counter_bits();
            self.counters[k] = int::wrap(self.counters[k] + step, w, true);
        }
        if flush {
            (self.walk, self.y_acc) = (Some(0), 0);
        }
    }
}

/// Allowed input widths of the quantizer.
pub const IN_BITS: RangeInclusive<u32> = 2..=32;

/// A positive decimal scale (`alpha`), kept exactly as `num / den`.
pub type Scale = Base;

/// Parameters of the exponential quantizer `expq_quant` (SPEC.md section 4, DNA-TEQ).
///
/// The input `x` is a signed `N`-bit fixed-point number with `--in-frac` fractional bits.
/// Levels are `L_e = alpha * b^(e + e_min)` for codes `e = 0 ..= 2^E - 1`. The output is
/// the nearest level in the linear domain, ties to the smaller magnitude: the zero code
/// when `|x| <= L_0 / 2`, the top code above the last midpoint. `s` is the sign of `x`
/// (0 for the zero code). Registered: `s`, `z`, `e` show one cycle after a valid beat,
/// with `out_valid`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, clap::Args)]
#[serde(deny_unknown_fields)]
pub struct ExpqQuantParams {
    /// Input width N (two's complement), 2..=32.
    #[arg(long = "in", value_name = "BITS", default_value_t = 16, allow_negative_numbers = true,
          value_parser = clap::value_parser!(u32).range(2..=32))]
    pub in_bits: u32,
    /// Fractional bits of the input, 0..=N.
    #[arg(
        long = "in-frac",
        value_name = "BITS",
        default_value_t = 8,
        allow_negative_numbers = true
    )]
    pub in_frac: u32,
    /// Exponent bits E of the code, 1..=6.
    #[arg(long = "exp-bits", value_name = "BITS", default_value_t = 3, allow_negative_numbers = true,
          value_parser = clap::value_parser!(u32).range(1..=6))]
    pub exp_bits: u32,
    /// The base b, a decimal in (1, 16].
    #[arg(long, value_name = "B", default_value = "2")]
    pub base: Base,
    /// The scale alpha: a positive decimal with at most 6 decimals, up to 2^20 (powers of
    /// the base are better given with --exp-min).
    #[arg(long, value_name = "A", default_value = "1", value_parser = parse_scale)]
    pub alpha: Scale,
    /// Exponent of code 0 (a code e stands for alpha * b^(e + e_min)), -64..=64.
    #[arg(long = "exp-min", value_name = "E", default_value_t = -4, allow_negative_numbers = true)]
    pub exp_min: i32,
}

/// A positive decimal with at most 6 decimals, up to 2^20 (the `--alpha` flag).
pub fn parse_scale(text: &str) -> Result<Scale, String> {
    let bad = || format!("'{text}' is not a positive decimal such as 1, 0.75 or 3.2");
    let (whole, frac) = text.split_once('.').unwrap_or((text, ""));
    if whole.is_empty()
        || frac.len() > 6
        || !(whole.chars().chain(frac.chars())).all(|c| c.is_ascii_digit())
    {
        return Err(bad());
    }
    let den = 10u64.pow(frac.len() as u32);
    let num: u64 = format!("{whole}{frac}").parse().map_err(|_| bad())?;
    if num == 0 || num > den << 20 {
        return Err(format!("scale {text} is outside (0, 2^20]"));
    }
    let g = gcd(num, den);
    Ok(Base {
        num: num / g,
        den: den / g,
        text: text.to_string(),
    })
}

impl Default for ExpqQuantParams {
    /// 16-bit inputs with 8 fractional bits, 3-bit exponents, base 2, levels 2^-4 .. 2^3.
    fn default() -> Self {
        ExpqQuantParams {
            in_bits: 16,
            in_frac: 8,
            exp_bits: 3,
            base: "2".parse().expect("valid base"),
            alpha: parse_scale("1").expect("valid scale"),
            exp_min: -4,
        }
    }
}

/// `alpha * b^k * 2^F` as an exact fraction.
fn level(alpha: &Scale, base: &Base, k: i64, frac: u32) -> (BigUint, BigUint) {
    let (bn, bd) = (BigUint::from(base.num), BigUint::from(base.den));
    let (bn, bd) = if k >= 0 {
        (bn.pow(k as u32), bd.pow(k as u32))
    } else {
        (bd.pow((-k) as u32), bn.pow((-k) as u32))
    };
    let num = (BigUint::from(alpha.num) * bn) << frac as usize;
    (num, BigUint::from(alpha.den) * bd)
}

impl ExpqQuantParams {
    /// The levels `L_e * 2^F` (F = input fractional bits) as exact fractions.
    fn levels(&self) -> Vec<(BigUint, BigUint)> {
        (0..1i64 << self.exp_bits)
            .map(|e| {
                level(
                    &self.alpha,
                    &self.base,
                    e + i64::from(self.exp_min),
                    self.in_frac,
                )
            })
            .collect()
    }

    /// The code of the input magnitude `mag` (in units of `2^-F`): `None` for zero. The
    /// definition: nearest level, ties to the smaller magnitude, by exact comparisons.
    pub fn code_of(&self, mag: u64) -> Option<u64> {
        let levels = self.levels();
        let x2 = BigUint::from(mag) * 2u32;
        // Zero when 2|x| <= L_0.
        let (n0, d0) = &levels[0];
        if &x2 * d0 <= *n0 {
            return None;
        }
        // Code e when 2|x| <= L_e + L_{e+1}, the first such e; else the top code.
        for e in 0..levels.len() - 1 {
            let ((na, da), (nb, db)) = (&levels[e], &levels[e + 1]);
            if &x2 * da * db <= na * db + nb * da {
                return Some(e as u64);
            }
        }
        Some(levels.len() as u64 - 1)
    }

    /// Decision thresholds in input units, for the RTL: the zero threshold
    /// `floor(L_0 / 2)` then each midpoint `floor((L_e + L_{e+1}) / 2)`; `|x|` above
    /// threshold `j` (of the midpoints) means code `> j`. Clamped to `2^N - 1`.
    pub fn thresholds(&self) -> Vec<u64> {
        let levels = self.levels();
        let cap = (1u64 << self.in_bits) - 1;
        let floor_half = |num: BigUint, den: BigUint| {
            let q = num / (den * 2u32);
            u64::try_from(&q).unwrap_or(u64::MAX).min(cap)
        };
        let mut t = vec![floor_half(levels[0].0.clone(), levels[0].1.clone())];
        for e in 0..levels.len() - 1 {
            let ((na, da), (nb, db)) = (&levels[e], &levels[e + 1]);
            t.push(floor_half(na * db + nb * da, da * db));
        }
        t
    }
}

impl UnitParams for ExpqQuantParams {
    const KIND: &'static str = "expq_quant";

    fn validate(&self) -> Result<(), ParamError> {
        check_range("--in", self.in_bits, &IN_BITS)?;
        check_range("--in-frac", self.in_frac, &(0..=self.in_bits))?;
        check_range("--exp-bits", self.exp_bits, &EXP_BITS)?;
        if self.exp_min.unsigned_abs() > 64 {
            return Err(ParamError {
                param: "--exp-min",
                value: self.exp_min.to_string(),
                allowed: "-64..=64".to_string(),
            });
        }
        // Some input must reach the smallest level, or every code would be zero.
        if self.thresholds()[0] >= 1 << (self.in_bits - 1) {
            return Err(ParamError {
                param: "--exp-min",
                value: self.exp_min.to_string(),
                allowed: format!(
                    "values whose smallest level alpha * b^e_min is within twice the input \
                     range (|x| <= 2^{}); these levels quantize every input to zero",
                    i64::from(self.in_bits) - 1 - i64::from(self.in_frac)
                ),
            });
        }
        Ok(())
    }

    /// e.g. `expq_quant_n16f8_e3_b2_a1_emm4`.
    fn module_name(&self) -> String {
        let sign = if self.exp_min < 0 { "m" } else { "" };
        format!(
            "expq_quant_n{}f{}_e{}_b{}_a{}_em{sign}{}",
            self.in_bits,
            self.in_frac,
            self.exp_bits,
            self.base.to_string().replace('.', "p"),
            self.alpha.to_string().replace('.', "p"),
            self.exp_min.unsigned_abs()
        )
    }

    /// clk, rst, in_valid, x -> s, z, e, out_valid.
    fn interface(&self) -> Interface {
        Interface {
            ports: vec![
                Port::bit("clk", Dir::In, Role::Clock),
                Port::bit("rst", Dir::In, Role::Reset),
                Port::bit("in_valid", Dir::In, Role::InValid),
                Port::int("x", Dir::In, self.in_bits, true),
                Port::int("s", Dir::Out, 1, false),
                Port::int("z", Dir::Out, 1, false),
                Port::int("e", Dir::Out, self.exp_bits, false),
                Port::bit("out_valid", Dir::Out, Role::OutValid),
            ],
        }
    }

    fn latency(&self) -> u32 {
        1
    }

    fn model(&self) -> Result<Box<dyn CycleModel + Send>, ParamError> {
        self.validate()?;
        Ok(Box::new(ExpqQuant {
            p: self.clone(),
            iface: self.interface(),
            out: [0; 4],
        }))
    }
}

/// Cycle model of `expq_quant`.
#[derive(Clone, Debug)]
pub struct ExpqQuant {
    p: ExpqQuantParams,
    iface: Interface,
    out: [u64; 4],
}

impl CycleModel for ExpqQuant {
    fn interface(&self) -> &Interface {
        &self.iface
    }

    fn step(&mut self, inputs: &[u64], outputs: &mut [u64]) {
        outputs.copy_from_slice(&self.out);
        let (rst, valid) = (inputs[0] & 1 == 1, inputs[1] & 1 == 1);
        if rst {
            self.out = [0, 0, 0, 0];
            return;
        }
        self.out[3] = valid.into();
        if !valid {
            return;
        }
        let x = int::from_bits(inputs[2].into(), self.p.in_bits, true);
        let (s, z, e) = match self.p.code_of(x.unsigned_abs() as u64) {
            None => (0, 1, 0),
            Some(e) => (u64::from(x < 0), 0, e),
        };
        self.out[..3].copy_from_slice(&[s, z, e]);
    }
}

/// One exponential quantization of a tensor found by [`fit`]: `1 + exp_bits` bits per
/// value, of which one exponent code is reserved for zero, so `2^exp_bits - 1` levels
/// `alpha * b^(e + e_min)`, `e = 0 ..= 2^exp_bits - 2`, with `e_min = -(2^exp_bits - 2)`
/// (the top level is `alpha`).
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Fit {
    pub bits: u32,
    pub exp_bits: u32,
    pub base: f64,
    pub alpha: f64,
    pub exp_min: i32,
    /// Mean squared error over the tensor.
    pub mse: f64,
}

/// The error measure [`fit`] minimizes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Metric {
    /// Mean squared error.
    Mse,
    /// Mean absolute error.
    Mae,
}

/// Quantize `x` to the nearest of `levels` (ascending magnitudes) in the linear domain,
/// ties to the smaller magnitude, zero when `|x| <= levels[0] / 2` (the rule of
/// `expq_quant`).
pub fn quantize_to_levels(x: f64, levels: &[f64]) -> f64 {
    let m = x.abs();
    if m <= levels[0] / 2.0 {
        return 0.0;
    }
    let i = levels.partition_point(|l| *l < m);
    // Below the first level, above the last, or between two: the nearer, ties down.
    let q = if i == 0 {
        levels[0]
    } else if i < levels.len() && levels[i] - m < m - levels[i - 1] {
        levels[i]
    } else {
        levels[i - 1]
    };
    q.copysign(x)
}

fn error(values: &[f32], metric: Metric, q: impl Fn(f64) -> f64) -> (f64, f64) {
    let (mut se, mut ae) = (0.0, 0.0);
    for v in values {
        let x = f64::from(*v);
        let d = x - q(x);
        se += d * d;
        ae += d.abs();
    }
    let n = values.len().max(1) as f64;
    let (mse, mae) = (se / n, ae / n);
    (
        match metric {
            Metric::Mse => mse,
            Metric::Mae => mae,
        },
        mse,
    )
}

/// Mean squared error of symmetric uniform quantization to `bits`-bit integers with one
/// per-tensor scale `max|x| / (2^(bits-1) - 1)` and round to nearest (the INT8/INT4
/// baselines).
pub fn uniform_mse(values: &[f32], bits: u32) -> f64 {
    let max = values.iter().fold(0f64, |m, v| m.max(f64::from(*v).abs()));
    if max == 0.0 {
        return 0.0;
    }
    let qmax = f64::from((1u32 << (bits - 1)) - 1);
    let scale = max / qmax;
    error(values, Metric::Mse, |x| {
        (x / scale).round_ties_even().clamp(-qmax, qmax) * scale
    })
    .1
}

/// DNA-TEQ-style search: for a tensor and `bits` bits per value (1 sign bit and
/// `bits - 1` exponent bits), the base and top level that minimize `metric`. The base
/// runs over a grid from 1.05 to 4 (ratio steps of 1%), the top level over fractions of
/// `max|x|` from 0.25 to 1 (the clipping point). Deterministic.
pub fn fit(values: &[f32], bits: u32, metric: Metric) -> Fit {
    let exp_bits = bits - 1;
    let count = (1usize << exp_bits) - 1;
    let max = values.iter().fold(0f64, |m, v| m.max(f64::from(*v).abs()));
    let mut best: Option<(f64, Fit)> = None;
    let mut base = 1.05f64;
    while base <= 4.0 {
        for step in 0..=30 {
            let top = max * (0.25 + 0.75 * f64::from(step) / 30.0);
            if top == 0.0 {
                continue;
            }
            let levels: Vec<f64> = (0..count)
                .map(|i| top * base.powi(i as i32 - (count as i32 - 1)))
                .collect();
            let (score, mse) = error(values, metric, |x| quantize_to_levels(x, &levels));
            if best.as_ref().is_none_or(|(s, _)| score < *s) {
                let fit = Fit {
                    bits,
                    exp_bits,
                    base,
                    alpha: top,
                    exp_min: -(count as i32 - 1),
                    mse,
                };
                best = Some((score, fit));
            }
        }
        base *= 1.01;
    }
    best.map(|(_, f)| f).unwrap_or(Fit {
        bits,
        exp_bits,
        base: 2.0,
        alpha: 0.0,
        exp_min: 0,
        mse: 0.0,
    })
}

impl crate::unit::Unit for ExpqDotParams {
    const COMMAND: &'static str = "expq-dot";
    const SUMMARY: &'static str =
        "DNA-TEQ exponent-domain dot product: count exponent sums, then one weighted walk";
    const ABOUT: &'static str = "Streams pairs of (sign, zero, exponent) codes: one signed \
counter per possible exponent sum k counts the products' signs; a `flush` beat walks the \
counters and accumulates c_k * RNE(b^k * 2^F) in k order into `y`, for any base b in (1, 16].";
    const DOCS: &'static str = "docs/log-domain.md";
    const EXAMPLES: &'static [(&'static str, &'static str)] = &[
        (
            "--exp-bits 3 --base 2 --k-max 64",
            "3-bit exponents, base 2, up to 64 pairs",
        ),
        (
            "--exp-bits 4 --base 1.5 --frac-bits 10",
            "4-bit exponents in base 1.5",
        ),
    ];

    /// The default and a base that is not a power of two.
    fn proof_set() -> Vec<Self> {
        let d = ExpqDotParams::default();
        let mut odd = d.clone();
        odd.base = "1.5".parse().expect("a decimal base");
        odd.exp_bits = 2;
        vec![d, odd]
    }

    fn sample(rng: &mut crate::unit::Sampler) -> Self {
        crate::unit::sample_valid(rng, |rng| ExpqDotParams {
            exp_bits: rng.int(1..=4),
            base: rng
                .pick(&["2", "1.5", "1.1892", "3", "1.25"])
                .parse()
                .expect("a decimal base"),
            exp_min: rng.int_i32(-8..=4),
            frac_bits: rng.int(0..=16),
            k_max: rng.int(1..=256),
            out_bits: None,
        })
    }
}

impl crate::unit::Unit for ExpqQuantParams {
    const COMMAND: &'static str = "expq-quant";
    const SUMMARY: &'static str =
        "DNA-TEQ exponential quantizer: fixed-point input to (sign, zero, exponent) codes";
    const ABOUT: &'static str = "Quantizes a two's-complement fixed-point input to the nearest \
level alpha * b^(e + e_min) in the linear domain (ties to the smaller magnitude), or to zero, \
by comparing |x| with precomputed midpoints. Latency 1.";
    const DOCS: &'static str = "docs/log-domain.md";
    const EXAMPLES: &'static [(&'static str, &'static str)] = &[
        (
            "--in 16 --in-frac 8 --exp-bits 3 --base 2",
            "Q8.8 input to 3-bit base-2 codes",
        ),
        (
            "--exp-bits 3 --base 1.5 --alpha 0.75",
            "base 1.5 levels scaled by 0.75",
        ),
    ];

    /// Base 2, and base 1.5 with a scale (uneven thresholds).
    fn proof_set() -> Vec<Self> {
        let d = ExpqQuantParams::default();
        let mut odd = d.clone();
        odd.base = "1.5".parse().expect("a decimal base");
        odd.alpha = parse_scale("0.75").expect("a decimal scale");
        vec![d, odd]
    }

    fn sample(rng: &mut crate::unit::Sampler) -> Self {
        crate::unit::sample_valid(rng, |rng| {
            let in_bits = rng.int(IN_BITS);
            ExpqQuantParams {
                in_bits,
                in_frac: rng.int(0..=in_bits),
                exp_bits: rng.int(1..=5),
                base: rng
                    .pick(&["2", "1.5", "1.1892", "3"])
                    .parse()
                    .expect("a decimal base"),
                alpha: parse_scale(rng.pick(&["1", "0.75", "3.2", "0.1"])).expect("a scale"),
                exp_min: rng.int_i32(-12..=4),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// SPEC.md section 4: b = 2, weights (+,1), (-,2), (+,0) with activations (+,2),
    /// (+,0), (+,1) give c3 = +1, c2 = -1, c1 = +1 and 8 - 4 + 2 = 6.
    #[test]
    fn spec_worked_case() {
        let p = ExpqDotParams {
            frac_bits: 0,
            k_max: 3,
            ..ExpqDotParams::default()
        };
        assert_eq!(p.counter_bits(), 3);
        assert_eq!(p.table(), (0..15).map(|k| 1u128 << k).collect::<Vec<_>>());
        let mut m = ExpqDot::new(p.clone()).unwrap();
        let mut o = vec![0u64; 2];
        // rst, in_valid, flush, sw, zw, ew, sa, za, ea
        m.step(&[0, 1, 0, 0, 0, 1, 0, 0, 2], &mut o);
        m.step(&[0, 1, 0, 1, 0, 2, 0, 0, 0], &mut o);
        m.step(&[0, 1, 1, 0, 0, 0, 0, 0, 1], &mut o);
        let mut want = vec![0i128; 15];
        (want[3], want[2], want[1]) = (1, -1, 1);
        assert_eq!(m.counters(), &want[..]);
        for _ in 0..15 {
            assert_eq!(o[1], 0);
            m.step(&[0; 9], &mut o);
        }
        m.step(&[0; 9], &mut o);
        assert_eq!(o, [6, 1]);
        assert!(m.counters().iter().all(|c| *c == 0), "counters cleared");
        m.step(&[0; 9], &mut o);
        assert_eq!(o, [6, 0], "y holds");
    }

    #[test]
    fn tables_for_other_bases_are_exact() {
        let p = ExpqDotParams {
            exp_bits: 1,
            base: "1.5".parse().unwrap(),
            exp_min: -1,
            frac_bits: 4,
            ..ExpqDotParams::default()
        };
        // b^-2, b^-1, b^0 times 16: 7.11, 10.67, 16 -> 7, 11, 16.
        assert_eq!(p.table(), vec![7, 11, 16]);
        assert_eq!(p.module_name(), "expq_dot_e1_b1p5_f4_k64_emm1");
        // 64 * 16 needs 11 bits plus the sign.
        assert_eq!(p.min_out_bits(), 12);
        // A tie: 2.5 * 2^0 rounds to 2 (even), 3.5 to 4.
        let two_and_half = ExpqDotParams {
            exp_bits: 1,
            base: "2.5".parse().unwrap(),
            frac_bits: 0,
            ..ExpqDotParams::default()
        };
        assert_eq!(two_and_half.table(), vec![1, 2, 6]);
        let b: Base = "3.50".parse().unwrap();
        assert_eq!((b.num, b.den), (7, 2));
    }

    #[test]
    fn quantizer_picks_the_nearest_level() {
        // Levels 2^-4 .. 2^3 with 8 fractional input bits: 16, 32, ..., 2048 units.
        let p = ExpqQuantParams::default();
        assert_eq!(p.thresholds(), vec![8, 24, 48, 96, 192, 384, 768, 1536]);
        assert_eq!(p.code_of(8), None, "half the smallest level is a tie: zero");
        assert_eq!(p.code_of(9), Some(0));
        assert_eq!(p.code_of(24), Some(0), "tie between 16 and 32: the smaller");
        assert_eq!(p.code_of(25), Some(1));
        assert_eq!(p.code_of(256), Some(4), "1.0 = 2^0 is code 4");
        assert_eq!(p.code_of(32767), Some(7), "above the top: the top code");
        // Base 1.5, alpha 0.75: levels 0.75 * 1.5^(e-1) = 0.5, 0.75, 1.125, ...
        let q = ExpqQuantParams {
            in_frac: 4,
            exp_bits: 2,
            base: "1.5".parse().unwrap(),
            alpha: parse_scale("0.75").unwrap(),
            exp_min: -1,
            ..ExpqQuantParams::default()
        };
        // In 1/16 units: 8, 12, 18, 27; midpoints 4 (zero), 10, 15, 22.5.
        assert_eq!(q.thresholds(), vec![4, 10, 15, 22]);
        assert_eq!(q.code_of(22), Some(2));
        assert_eq!(q.code_of(23), Some(3));
        assert_eq!(q.module_name(), "expq_quant_n16f4_e2_b1p5_a0p75_emm1");
    }

    #[test]
    fn fit_finds_exact_levels_and_beats_uniform_on_exponential_data() {
        // Powers of two times 3: a 4-bit fit with base 2 reproduces them exactly.
        let values: Vec<f32> = (0..7)
            .flat_map(|i| [3.0 * 2f32.powi(-i), -3.0 * 2f32.powi(-i)])
            .collect();
        let f = fit(&values, 4, Metric::Mse);
        assert!(f.mse < 1e-4, "{f:?}");
        assert!(
            (f.alpha - 3.0).abs() < 1e-9 && (f.base - 2.0).abs() < 0.03,
            "{f:?}"
        );
        // Uniform INT4 on the same values loses the small ones.
        assert!(uniform_mse(&values, 4) > 100.0 * f.mse.max(1e-9));
        assert_eq!(
            quantize_to_levels(1.5, &[1.0, 2.0]),
            1.0,
            "ties to the smaller"
        );
        assert_eq!(
            quantize_to_levels(-0.5, &[1.0, 2.0]),
            0.0,
            "half the smallest: zero"
        );
        assert_eq!(quantize_to_levels(-9.0, &[1.0, 2.0]), -2.0);
    }

    #[test]
    fn parameters_are_checked() {
        assert!("1".parse::<Base>().is_err());
        assert!("16.5".parse::<Base>().is_err());
        assert!("1.2.3".parse::<Base>().is_err());
        assert!("-2".parse::<Base>().is_err());
        let p = ExpqDotParams {
            out_bits: Some(4),
            ..ExpqDotParams::default()
        };
        let e = p.validate().unwrap_err();
        assert_eq!(
            (e.param, e.allowed.as_str()),
            (
                "--out",
                "30..=96 (y must hold K_max products of the largest constant)"
            )
        );
        let p = ExpqDotParams {
            exp_bits: 6,
            base: "16".parse().unwrap(),
            frac_bits: 24,
            ..ExpqDotParams::default()
        };
        assert_eq!(p.validate().unwrap_err().param, "--frac-bits");
    }
}
