//! The exponent-domain dot product `expq_dot`: parameters, table and cycle model.

use num_bigint::BigUint;
use serde::{Deserialize, Serialize};

use super::{div_rne, Base, Offset, BASE, EXP_BITS_FLAG, EXP_MIN};
use crate::iface::{get_field, split, CycleModel, Dir, Interface, Port, Role};
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

/// `--offset-w`: the weights' offset.
pub const OFFSET_W: Param = Param::text(
    "--offset-w",
    "O",
    Some("0"),
    "Offset o_w of the weights' levels: a weight code e stands for +-(b^(e + e_min) + o_w) \
     (the paper's beta / alpha), a decimal in [0, 16]",
)
.samples(&["0", "0.5", "0.25", "1", "0.125", "2.75"]);
/// `--offset-a`: the activations' offset.
pub const OFFSET_A: Param = Param::text(
    "--offset-a",
    "O",
    Some("0"),
    "Offset o_a of the activations' levels: an activation code e stands for \
     +-(b^(e + e_min) + o_a), a decimal in [0, 16]",
)
.samples(&["0", "0.5", "0.25", "1", "0.125", "2.75"]);

/// `--lanes`: operand pairs per beat.
pub const LANES: Param = Param::int(
    "--lanes",
    "L",
    1..=16,
    Some(1),
    "Operand pairs per beat, all counted into one set of counters (sw, zw, ew, sa, za, ea \
     carry L fields, lane 0 lowest); one walk per dot product",
);

fn one() -> u32 {
    1
}

fn is_one(v: &u32) -> bool {
    *v == 1
}

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
    /// Offset o_w of the weights' levels, a decimal in [0, 16] (0: no offset).
    #[serde(default, skip_serializing_if = "Offset::is_zero")]
    pub offset_w: Offset,
    /// Offset o_a of the activations' levels, a decimal in [0, 16] (0: no offset).
    #[serde(default, skip_serializing_if = "Offset::is_zero")]
    pub offset_a: Offset,
    /// Operand pairs per beat, 1..=16, all counted into the one set of counters.
    #[serde(default = "one", skip_serializing_if = "is_one")]
    pub lanes: u32,
}

impl Params for ExpqDotParams {
    const PARAMS: &'static [Param] = &[
        EXP_BITS_FLAG,
        BASE,
        EXP_MIN,
        OFFSET_W,
        OFFSET_A,
        FRAC_BITS_FLAG,
        K_MAX_FLAG,
        LANES,
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
            offset_w: OFFSET_W
                .parse(flags, |t| t.parse::<Offset>())?
                .expect("--offset-w has a default"),
            offset_a: OFFSET_A
                .parse(flags, |t| t.parse::<Offset>())?
                .expect("--offset-a has a default"),
            lanes: LANES.u32(flags)?,
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
            offset_w: Offset::zero(),
            offset_a: Offset::zero(),
            lanes: 1,
        }
    }
}

impl ExpqDotParams {
    /// Number of exponent-sum counters `c_k`: every sum `0 ..= 2 (2^E - 1)`.
    pub fn sum_counters(&self) -> u32 {
        2 * ((1 << self.exp_bits) - 1) + 1
    }

    /// Where the weight-exponent counters `w_j` (one per code `j`, weighted by `o_a`)
    /// start in the walk, if `o_a != 0`.
    pub fn weight_counters(&self) -> Option<u32> {
        (!self.offset_a.is_zero()).then(|| self.sum_counters())
    }

    /// Where the activation-exponent counters `a_i` (weighted by `o_w`) start in the
    /// walk, if `o_w != 0`.
    pub fn activation_counters(&self) -> Option<u32> {
        let after_w =
            self.sum_counters() + self.weight_counters().map_or(0, |_| 1 << self.exp_bits);
        (!self.offset_w.is_zero()).then_some(after_w)
    }

    /// The sign counter `s` (weighted by `o_w o_a`), the last in the walk, if both
    /// offsets are nonzero.
    pub fn sign_counter(&self) -> Option<u32> {
        (!self.offset_w.is_zero() && !self.offset_a.is_zero()).then(|| self.counters() - 1)
    }

    /// Number of counters the walk reads: the exponent sums, then `2^E` per nonzero
    /// offset, then the sign counter if both offsets are nonzero.
    pub fn counters(&self) -> u32 {
        let (w, a) = (!self.offset_a.is_zero(), !self.offset_w.is_zero());
        self.sum_counters()
            + (u32::from(w) + u32::from(a)) * (1 << self.exp_bits)
            + u32::from(w && a)
    }

    /// The counters a nonzero product with exponents `ew`, `ea` moves, in walk order.
    pub fn counters_of(&self, ew: u32, ea: u32) -> Vec<usize> {
        let mut v = vec![(ew + ea) as usize];
        v.extend(self.weight_counters().map(|b| (b + ew) as usize));
        v.extend(self.activation_counters().map(|b| (b + ea) as usize));
        v.extend(self.sign_counter().map(|s| s as usize));
        v
    }

    /// `RNE(m * b^e * 2^F)` for the rational `m = num / den`, exactly.
    fn constant(&self, (m_num, m_den): (u64, u64), e: i64) -> u128 {
        let (num, den) = (BigUint::from(self.base.num), BigUint::from(self.base.den));
        let scale = BigUint::from(m_num) << self.frac_bits as usize;
        let m_den = BigUint::from(m_den);
        let (top, bottom) = if e >= 0 {
            (num.pow(e as u32) * &scale, den.pow(e as u32) * m_den)
        } else {
            (den.pow((-e) as u32) * &scale, num.pow((-e) as u32) * m_den)
        };
        let t = div_rne(&top, &bottom);
        u128::try_from(&t).unwrap_or(u128::MAX)
    }

    /// Counter width: holds `-K_max ..= K_max`.
    pub fn counter_bits(&self) -> u32 {
        33 - self.k_max.leading_zeros()
    }

    /// The walk's constant of every counter, exactly: `T[k] = RNE(b^(k + 2 e_min) * 2^F)`
    /// for every exponent sum `k`, then `RNE(o_a b^(j + e_min) 2^F)` for the weight
    /// exponents `j`, `RNE(o_w b^(i + e_min) 2^F)` for the activation exponents `i`, and
    /// `RNE(o_w o_a 2^F)` for the sign counter (those that exist, see [`Self::counters`]).
    pub fn table(&self) -> Vec<u128> {
        let em = i64::from(self.exp_min);
        let codes = 1i64 << self.exp_bits;
        let (ow, oa) = (&self.offset_w, &self.offset_a);
        let mut t: Vec<u128> = (0..i64::from(self.sum_counters()))
            .map(|k| self.constant((1, 1), k + 2 * em))
            .collect();
        if self.weight_counters().is_some() {
            t.extend((0..codes).map(|j| self.constant((oa.num, oa.den), j + em)));
        }
        if self.activation_counters().is_some() {
            t.extend((0..codes).map(|i| self.constant((ow.num, ow.den), i + em)));
        }
        if self.sign_counter().is_some() {
            let m = (
                u128::from(ow.num) * u128::from(oa.num),
                u128::from(ow.den) * u128::from(oa.den),
            );
            // o_w o_a as a fraction: numerators <= 16 * 10^6, denominators <= 10^6.
            let top = BigUint::from(m.0) << self.frac_bits as usize;
            let c = div_rne(&top, &BigUint::from(m.1));
            t.push(u128::try_from(&c).unwrap_or(u128::MAX));
        }
        t
    }

    /// Bits of the widest table constant (unsigned).
    pub fn table_bits(&self) -> u32 {
        let max = self.table().into_iter().max().unwrap_or(0);
        crate::int::unsigned_bits(max)
    }

    /// The largest term one product adds: the largest `T[k]`, plus the largest constant of
    /// each other group of counters (a product moves one counter of each group).
    fn max_per_product(&self) -> u128 {
        let t = self.table();
        let codes = 1usize << self.exp_bits;
        let group_max = |start: Option<u32>, len: usize| {
            start.map_or(0, |s| {
                t[s as usize..s as usize + len]
                    .iter()
                    .copied()
                    .max()
                    .unwrap_or(0)
            })
        };
        let sums = t[..self.sum_counters() as usize]
            .iter()
            .copied()
            .max()
            .unwrap_or(0);
        sums.saturating_add(group_max(self.weight_counters(), codes))
            .saturating_add(group_max(self.activation_counters(), codes))
            .saturating_add(group_max(self.sign_counter(), 1))
    }

    /// The narrowest `y` that holds `+-K_max` times the largest term of one product.
    pub fn min_out_bits(&self) -> u32 {
        let worst = self
            .max_per_product()
            .saturating_mul(u128::from(self.k_max));
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
        LANES.check(self.lanes)?;
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
        if self.table().iter().all(|t| *t == 0) {
            let lowest = (*EXP_MIN.range_i32().start()..=*EXP_MIN.range_i32().end()).find(|e| {
                let p = ExpqDotParams {
                    exp_min: *e,
                    ..self.clone()
                };
                p.table().iter().any(|t| *t != 0)
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
        for (tag, o) in [("ow", &self.offset_w), ("oa", &self.offset_a)] {
            if !o.is_zero() {
                name += &format!("_{tag}{}", o.to_string().replace('.', "p"));
            }
        }
        if self.lanes != 1 {
            name += &format!("_l{}", self.lanes);
        }
        name
    }

    /// clk, rst, in_valid, flush, sw, zw, ew, sa, za, ea -> y, out_valid; with `--lanes
    /// L` the six operand ports are vectors of L fields, lane 0 lowest.
    fn interface(&self) -> Interface {
        let (e, l) = (self.exp_bits, self.lanes);
        Interface {
            ports: vec![
                Port::bit("clk", Dir::In, Role::Clock),
                Port::bit("rst", Dir::In, Role::Reset),
                Port::bit("in_valid", Dir::In, Role::InValid),
                Port::bit("flush", Dir::In, Role::Clear),
                Port::int_or_vec("sw", Dir::In, 1, false, l),
                Port::int_or_vec("zw", Dir::In, 1, false, l),
                Port::int_or_vec("ew", Dir::In, e, false, l),
                Port::int_or_vec("sa", Dir::In, 1, false, l),
                Port::int_or_vec("za", Dir::In, 1, false, l),
                Port::int_or_vec("ea", Dir::In, e, false, l),
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

    /// `K_max` pairs in `ceil(K_max / L)` beats, then the walk's read of every counter;
    /// the next dot product's pairs may come while the last terms are still in the
    /// walk's stages, so the counters and not the latency: `K / (ceil(K / L) +
    /// counters)`.
    fn macs_per_cycle(&self) -> f64 {
        let beats = self.k_max.div_ceil(self.lanes);
        f64::from(self.k_max) / f64::from(beats + self.counters())
    }

    fn model(&self) -> Result<Box<dyn CycleModel + Send>, ParamError> {
        Ok(Box::new(ExpqDot::new(self.clone())?))
    }
}

/// Cycle model of `expq_dot`.
#[derive(Clone, Debug)]
pub struct ExpqDot {
    p: ExpqDotParams,
    /// `p.out_bits()`, computed once (the default comes from the exact table).
    out_bits: u32,
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
            out_bits: p.out_bits(),
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
        let out_bits = self.out_bits;
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
        if valid {
            // rst, in_valid, flush, sw, zw, ew, sa, za, ea: lane l at field l.
            let ins = split(self.iface.beat_inputs(), inputs);
            let e = self.p.exp_bits;
            let w = self.p.counter_bits();
            for l in 0..self.p.lanes {
                let bit = |port: usize| get_field(ins[port], l, 1) == 1;
                if bit(4) || bit(7) {
                    continue;
                }
                let step = if bit(3) != bit(6) { -1 } else { 1 };
                let (ew, ea) = (get_field(ins[5], l * e, e), get_field(ins[8], l * e, e));
                for k in self.p.counters_of(ew as u32, ea as u32) {
                    self.counters[k] = int::wrap(self.counters[k] + step, w, true);
                }
            }
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

    /// The default, a base that is not a power of two, offsets on both operands (every
    /// group of counters), and two lanes (the adder trees; 2.1 s, 2.5 s at `--pipeline
    /// 2`).
    fn proof_set() -> Vec<Self> {
        let d = ExpqDotParams::default();
        let mut odd = d.clone();
        odd.base = "1.5".parse().expect("a decimal base");
        odd.exp_bits = 2;
        let mut offset = d.clone();
        offset.exp_bits = 2;
        offset.offset_w = "0.5".parse().expect("a decimal offset");
        offset.offset_a = "0.375".parse().expect("a decimal offset");
        let lanes = ExpqDotParams {
            exp_bits: 2,
            lanes: 2,
            ..d.clone()
        };
        vec![d, odd, offset, lanes]
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
            offset_w: rng
                .pick(&["0", "0", "0.5", "0.25", "1", "0.375", "2.75"])
                .parse()
                .expect("a decimal offset"),
            offset_a: rng
                .pick(&["0", "0", "0.5", "0.125", "1", "0.3", "3"])
                .parse()
                .expect("a decimal offset"),
            lanes: rng.pick(&[1, 1, 1, 2, 3, 4, 8, 16]),
        })
    }
}

#[cfg(test)]
mod tests;
