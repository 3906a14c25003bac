//! The exponential quantizer `expq_quant`: parameters, levels and cycle model.

use std::ops::RangeInclusive;

use num_bigint::BigUint;
use serde::{Deserialize, Serialize};

use super::{gcd, Base, BASE, EXP_BITS_FLAG};
use crate::iface::{CycleModel, Dir, Interface, Port, Role};
use crate::int;
use crate::param::{Flags, Param, Params};
use crate::unit::{check_range, ParamError, UnitParams};

/// `--in`: the input width.
pub const IN: Param = Param::int(
    "--in",
    "BITS",
    2..=32,
    Some(16),
    "Input width N (two's complement)",
);
/// `--in-frac`: fractional bits of the input.
pub const IN_FRAC: Param = Param::int(
    "--in-frac",
    "BITS",
    0..=32,
    Some(8),
    "Fractional bits of the input, at most N",
);
/// `--alpha`: the scale of the levels.
pub const ALPHA: Param = Param::text(
    "--alpha",
    "A",
    Some("1"),
    "The scale alpha: a positive decimal with at most 6 decimals, up to 2^20 (powers of the \
     base are better given with --exp-min)",
)
.samples(&["1", "0.75", "3.2", "0.000001", "1048576", "0.1"]);
/// `--exp-min` of the quantizer (its default centres the levels below 1.0).
pub const EXP_MIN_QUANT: Param = Param::int(
    "--exp-min",
    "E",
    -64..=64,
    Some(-4),
    "Exponent of code 0 (a code e stands for alpha * b^(e + e_min))",
);

/// Allowed input widths of the quantizer.
pub const IN_BITS: RangeInclusive<u32> = IN.range();

/// A positive decimal scale (`alpha`), kept exactly as `num / den`.
pub type Scale = Base;

/// Parameters of the exponential quantizer `expq_quant` (docs/log-domain.md, DNA-TEQ).
///
/// The input `x` is a signed `N`-bit fixed-point number with `--in-frac` fractional bits.
/// Levels are `L_e = alpha * b^(e + e_min)` for codes `e = 0 ..= 2^E - 1`. The output is
/// the nearest level in the linear domain, ties to the smaller magnitude: the zero code
/// when `|x| <= L_0 / 2`, the top code above the last midpoint. `s` is the sign of `x`
/// (0 for the zero code). Registered: `s`, `z`, `e` show one cycle after a valid beat,
/// with `out_valid`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExpqQuantParams {
    /// Input width N (two's complement), 2..=32.
    pub in_bits: u32,
    /// Fractional bits of the input, 0..=N.
    pub in_frac: u32,
    /// Exponent bits E of the code, 1..=6.
    pub exp_bits: u32,
    /// The base b, a decimal in (1, 16].
    pub base: Base,
    /// The scale alpha: a positive decimal with at most 6 decimals, up to 2^20 (powers of
    /// the base are better given with --exp-min).
    pub alpha: Scale,
    /// Exponent of code 0 (a code e stands for alpha * b^(e + e_min)), -64..=64.
    pub exp_min: i32,
}

/// A positive decimal with at most 6 decimals, up to 2^20 (the `--alpha` flag).
pub fn parse_scale(text: &str) -> Result<Scale, String> {
    let (num, den) = super::parse_decimal(text)
        .ok_or_else(|| format!("'{text}' is not a positive decimal such as 1, 0.75 or 3.2"))?;
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

impl Params for ExpqQuantParams {
    const PARAMS: &'static [Param] = &[IN, IN_FRAC, EXP_BITS_FLAG, BASE, ALPHA, EXP_MIN_QUANT];

    fn from_flags(flags: &dyn Flags) -> Result<Self, ParamError> {
        Ok(ExpqQuantParams {
            in_bits: IN.u32(flags)?,
            in_frac: IN_FRAC.u32(flags)?,
            exp_bits: EXP_BITS_FLAG.u32(flags)?,
            base: BASE
                .parse(flags, |t| t.parse::<Base>())?
                .expect("--base has a default"),
            alpha: ALPHA
                .parse(flags, parse_scale)?
                .expect("--alpha has a default"),
            exp_min: EXP_MIN_QUANT.i32(flags)?,
        })
    }
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
        IN.check(self.in_bits)?;
        check_range("--in-frac", self.in_frac, &(0..=self.in_bits))?;
        EXP_BITS_FLAG.check(self.exp_bits)?;
        EXP_MIN_QUANT.check(self.exp_min)?;
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

    /// Activations coded and read back (`crate::study::log`).
    fn study(
        &self,
        workload: &crate::study::Workload,
    ) -> Option<Result<crate::study::Errors, crate::study::StudyError>> {
        Some(crate::study::log::expq_quant(self, workload))
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
}
