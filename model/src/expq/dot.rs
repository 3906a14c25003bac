//! The exponent-domain dot product `expq_dot`: parameters, table and cycle model.

use num_bigint::BigUint;
use serde::{Deserialize, Serialize};

use super::{div_rne, Base, BASE, EXP_BITS_FLAG, EXP_MIN};
use crate::iface::{CycleModel, Dir, Interface, Port, Role};
use crate::int;
use crate::param::{Flags, Param, Params};
use crate::unit::{ParamError, UnitParams};

/// `--frac-bits`: fractional bits of the table constants and of `y`.
pub const FRAC_BITS_FLAG: Param = Param::int(
    "--frac-bits",
    "BITS",
    0..=24,
    Some(8),
    "Fractional bits F of the table constants and of y",
);
/// `--k-max`: the longest dot product.
pub const K_MAX_FLAG: Param = Param::int(
    "--k-max",
    "K",
    1..=65536,
    Some(64),
    "Largest number of products in one dot product (sizes the counters)",
);
/// Register stages the walk puts between reading a counter and adding its term to `y_acc`:
/// the selected counter and its constant, then their product (docs/log-domain.md). Fixed:
/// they cut the walk's read-multiply-add into three cycles of about a third each and
/// cost two cycles of latency per dot product.
pub const WALK_STAGES: usize = 2;

/// `--out-bits`: the width of `y`.
pub const OUT_BITS: Param = Param::int(
    "--out-bits",
    "BITS",
    1..=96,
    None,
    "Width of y [default: the smallest that holds any dot product of K_max products]",
);

/// Parameters of the DNA-TEQ exponent-domain dot product `expq_dot` (docs/log-domain.md).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExpqDotParams {
    /// Exponent bits per operand code (unsigned), 1..=6.
    pub exp_bits: u32,
    /// The base b of the exponential quantization, a decimal in (1, 16], e.g. 1.5.
    pub base: Base,
    /// Exponent of code 0 for both operands (a code e stands for b^(e + e_min)).
    pub exp_min: i32,
    /// Fractional bits F of the table constants and of y, 0..=24.
    pub frac_bits: u32,
    /// Largest number of products in one dot product, 1..=65536 (sizes the counters).
    pub k_max: u32,
    /// Width of y [default: the smallest that holds any dot product of K_max products].
    #[serde(default)]
    pub out_bits: Option<u32>,
}

impl Params for ExpqDotParams {
    const PARAMS: &'static [Param] = &[
        EXP_BITS_FLAG,
        BASE,
        EXP_MIN,
        FRAC_BITS_FLAG,
        K_MAX_FLAG,
        OUT_BITS,
    ];

    fn from_flags(flags: &dyn Flags) -> Result<Self, ParamError> {
        Ok(ExpqDotParams {
            exp_bits: EXP_BITS_FLAG.u32(flags)?,
            base: BASE
                .parse(flags, |t| t.parse::<Base>())?
                .expect("--base has a default"),
            exp_min: EXP_MIN.i32(flags)?,
            frac_bits: FRAC_BITS_FLAG.u32(flags)?,
            k_max: K_MAX_FLAG.u32(flags)?,
            out_bits: OUT_BITS.opt_u32(flags)?,
        })
    }
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
        crate::int::unsigned_bits(max)
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
        EXP_BITS_FLAG.check(self.exp_bits)?;
        FRAC_BITS_FLAG.check(self.frac_bits)?;
        K_MAX_FLAG.check(self.k_max)?;
        EXP_MIN.check(self.exp_min)?;
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
                    param: "--out-bits",
                    value: out.to_string(),
                    allowed: format!(
                        "{min}..=96 (y must hold K_max products of the largest constant)"
                    ),
                });
            }
        }
        // Every constant RNE(b^k * 2^F) rounds to zero exactly when the largest does
        // (b > 1): then y is always 0, a unit that computes nothing.
        if self.table().last().is_none_or(|t| *t == 0) {
            let lowest = (*EXP_MIN.range_i32().start()..=*EXP_MIN.range_i32().end()).find(|e| {
                let p = ExpqDotParams {
                    exp_min: *e,
                    ..self.clone()
                };
                p.table().last().is_some_and(|t| *t != 0)
            });
            return Err(EXP_MIN.error_because(
                self.exp_min,
                format!(
                    "{}..=64 at --base {} --frac-bits {}: below it every table constant \
                     RNE(b^k * 2^F) rounds to 0 and y is always 0",
                    lowest.map_or("none".to_string(), |e| e.to_string()),
                    self.base,
                    self.frac_bits
                ),
            ));
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

    /// From the flush beat to `out_valid`: one cycle per counter, the walk's
    /// [`WALK_STAGES`], and one.
    fn latency(&self) -> u32 {
        self.counters() + WALK_STAGES as u32 + 1
    }

    /// `K_max` pairs, then the walk's read of every counter; the next dot product's
    /// pairs may come while the last terms are still in the walk's stages, so the
    /// counters and not the latency: `K / (K + counters)`.
    fn macs_per_cycle(&self) -> f64 {
        let k = f64::from(self.k_max);
        k / (k + f64::from(self.counters()))
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
    /// The walk's terms in flight, newest first: `c_k * T[k]` and whether k is the last
    /// counter; `(0, false)` where the walk read nothing.
    terms: [(i128, bool); WALK_STAGES],
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
            terms: [(0, false); WALK_STAGES],
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
        // The oldest term in flight reaches y_acc; the last of a walk goes to y, and
        // y_acc starts again from 0 for the next walk.
        let (term, last) = self.terms[WALK_STAGES - 1];
        self.terms.copy_within(0..WALK_STAGES - 1, 1);
        self.terms[0] = (0, false);
        self.out_valid = last;
        if last {
            (self.y, self.y_acc) = (self.y_acc + term, 0);
        } else {
            self.y_acc += term;
        }
        if let Some(k) = self.walk {
            let last = k + 1 == self.counters.len();
            self.terms[0] = (self.counters[k] * self.table[k] as i128, last);
            self.counters[k] = 0;
            self.walk = if last { None } else { Some(k + 1) };
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
            self.walk = Some(0);
        }
    }
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

    /// Rows coded on the levels, through the cycle model (`crate::study::log`).
    fn study(
        &self,
        workload: &crate::study::Workload,
    ) -> Option<Result<crate::study::Errors, crate::study::StudyError>> {
        Some(crate::study::log::expq_dot(self, workload))
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

#[cfg(test)]
mod tests {
    use super::*;

    /// docs/log-domain.md: b = 2, weights (+,1), (-,2), (+,0) with activations (+,2),
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
        // The flush beat's outputs, the 15 walk cycles and the 2 walk stages: 18 cycles
        // (the latency) after the flush beat, y shows up.
        assert_eq!(p.latency(), 18);
        for _ in 0..17 {
            assert_eq!(o[1], 0);
            m.step(&[0; 9], &mut o);
        }
        assert!(m.counters().iter().all(|c| *c == 0), "counters cleared");
        m.step(&[0; 9], &mut o);
        assert_eq!(o, [6, 1]);
        m.step(&[0; 9], &mut o);
        assert_eq!(o, [6, 0], "y holds");
    }

    /// The cycles after a walk, while its last terms are in flight, count beats as usual,
    /// and a flush there starts the next walk without disturbing the first's result.
    #[test]
    fn a_walk_may_follow_the_last_directly() {
        let p = ExpqDotParams {
            exp_bits: 1,
            frac_bits: 0,
            k_max: 3,
            ..ExpqDotParams::default()
        };
        let n = p.counters() as usize; // 3 counters, T = 1, 2, 4
        let mut m = ExpqDot::new(p.clone()).unwrap();
        let mut o = vec![0u64; 2];
        let mut seen = Vec::new();
        // rst, in_valid, flush, sw, zw, ew, sa, za, ea: 2^1 * 2^1 = +4, flushed.
        let mut beats = vec![[0, 1, 1, 0, 0, 1, 0, 0, 1]];
        beats.extend(vec![[0u64; 9]; n]);
        // Right after the walk, with its last terms in flight: -2^0 * 2^1 = -2, flushed.
        beats.push([0, 1, 1, 1, 0, 0, 0, 0, 1]);
        beats.extend(vec![[0u64; 9]; n + WALK_STAGES + 2]);
        for (t, b) in beats.iter().enumerate() {
            m.step(b, &mut o);
            if o[1] == 1 {
                seen.push((t, int::from_bits(o[0].into(), p.out_bits(), true)));
            }
        }
        let latency = p.latency() as usize;
        assert_eq!(seen, vec![(latency, 4), (n + 1 + latency, -2)]);
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

    /// A configuration whose every table constant rounds to zero computes nothing: it is
    /// rejected, naming the lowest --exp-min that works.
    #[test]
    fn a_unit_whose_y_is_always_zero_is_rejected() {
        let p = ExpqDotParams {
            exp_bits: 3,
            exp_min: -31,
            frac_bits: 0,
            ..ExpqDotParams::default()
        };
        let e = p.validate().unwrap_err();
        assert_eq!(e.param, "--exp-min");
        assert!(e.allowed.starts_with("-7..=64"), "{e}");
        let lowest = ExpqDotParams { exp_min: -7, ..p };
        assert!(lowest.validate().is_ok());
        assert!(lowest.table().iter().any(|t| *t != 0));
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
                "--out-bits",
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
