//! GEMMLOWP's min/max affine quantizer `q8-quant` (docs/q8quant.md):
//! `q = clamp(round((x - lo) * (2^b - 1) / (hi - lo)), 0, 2^b - 1)`, with the division
//! done once per tensor by a small sequential divider.
//!
//! The rule, exactly (M = 2^b - 1, P = `--recip-bits`, every value an integer in units
//! of 2^-F, which cancels out of the ratio):
//! - `load` samples `lo` and `hi`. If `hi > lo`, a divider computes the reciprocal
//!   `recip = floor(M * 2^(P-b) / (hi - lo))`: an unsigned P-bit fixed-point number with
//!   P - b fraction bits, truncated. It takes P cycles; the new `recip` and the sampled
//!   `lo` take effect together (atomically) when it finishes, and `ready` rises. If
//!   `hi <= lo`, `recip` becomes 0 at once, `bad_range` is set (sticky until reset) and
//!   `ready` stays or becomes high. A `load` while the divider runs restarts it.
//! - Per lane, with the active `recip` and `lo`: `t = (x - lo) * recip` exactly (P - b
//!   fraction bits), rounded to an integer: RNE, or SR (round up iff the fraction bits
//!   truncated to their top R bits, read as an unsigned integer, exceed the lane's `rnd`),
//!   then clamped to `[0, M]`.
//! - After reset `recip = 0`, `lo = 0`, so every `q` is 0 until a load completes.
//! - Latency 1: `q` and `out_valid` registered, `q` holds between results.

use serde::{Deserialize, Serialize};

use crate::iface::{get_field, set_field, split, CycleModel, Dir, Interface, Port, Role};
use crate::int;
use crate::param::{Flags, Param, Params};
use crate::unit::{ParamError, Sampler, UnitParams};

/// `--in`: the width N of `x`, `lo` and `hi`.
pub const IN_BITS: Param = Param::int(
    "--in",
    "N",
    4..=32,
    Some(16),
    "Width N of x, lo and hi (two's complement)",
);
/// `--in-frac`: fraction bits of `x`, `lo`, `hi`.
pub const IN_FRAC: Param = Param::int(
    "--in-frac",
    "F",
    0..=31,
    Some(8),
    "Fraction bits F of x, lo and hi, 0..=N-1 (they cancel out of the ratio; metadata)",
);
/// `--bits`: the output width b.
pub const BITS: Param = Param::int(
    "--bits",
    "B",
    2..=16,
    Some(8),
    "Output width b: q is an unsigned code in [0, 2^b - 1]",
);
/// `--lanes`: values per beat L.
pub const LANES: Param = Param::int(
    "--lanes",
    "L",
    1..=16,
    Some(1),
    "Lanes L: values quantized per beat",
);
/// `--rounding`.
pub const ROUNDING: Param = Param::choice(
    "--rounding",
    "MODE",
    &[
        ("rne", "Round to nearest, ties to even"),
        (
            "sr",
            "Stochastic: round up iff the fraction truncated to R bits exceeds rnd",
        ),
    ],
    "rne",
    "Rounding of (x - lo) * recip to an integer",
);
/// `--rnd-bits`: random bits R per lane.
pub const RND_BITS: Param = Param::int(
    "--rnd-bits",
    "R",
    1..=16,
    Some(8),
    "Random bits R per lane for --rounding sr (at most P - b)",
);
/// `--recip-bits`: width P of the reciprocal.
pub const RECIP_BITS: Param = Param::int(
    "--recip-bits",
    "P",
    3..=48,
    Some(32),
    "Width P of the reciprocal floor((2^b - 1) * 2^(P-b) / (hi - lo)), P - b fraction \
     bits; P >= b + 1 (b + R with sr); the divider takes P cycles",
);

/// How `t` is rounded to an integer.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Q8Rounding {
    /// Round to nearest, ties to even.
    #[default]
    Rne,
    /// Stochastic rounding with an `rnd` input of R bits per lane.
    Sr,
}

/// Parameters of `q8-quant` (docs/q8quant.md).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Q8QuantParams {
    /// Width N of x, lo, hi.
    pub in_bits: u32,
    /// Fraction bits F of x, lo, hi.
    pub in_frac: u32,
    /// Output width b.
    pub bits: u32,
    /// Lanes L.
    pub lanes: u32,
    /// Rounding mode.
    pub rounding: Q8Rounding,
    /// Random bits R per lane (SR only).
    pub rnd_bits: u32,
    /// Reciprocal width P.
    pub recip_bits: u32,
}

impl Default for Q8QuantParams {
    fn default() -> Self {
        Q8QuantParams {
            in_bits: IN_BITS.default_u32(),
            in_frac: IN_FRAC.default_u32(),
            bits: BITS.default_u32(),
            lanes: 1,
            rounding: Q8Rounding::Rne,
            rnd_bits: RND_BITS.default_u32(),
            recip_bits: RECIP_BITS.default_u32(),
        }
    }
}

impl Params for Q8QuantParams {
    const PARAMS: &'static [Param] = &[
        IN_BITS, IN_FRAC, BITS, LANES, ROUNDING, RND_BITS, RECIP_BITS,
    ];
    const CONFLICTS: &'static [(&'static Param, &'static Param)] = &[];

    fn from_flags(flags: &dyn Flags) -> Result<Self, ParamError> {
        let rounding = match ROUNDING.choice_value(flags)? {
            "sr" => Q8Rounding::Sr,
            _ => Q8Rounding::Rne,
        };
        if rounding != Q8Rounding::Sr {
            if let Some(v) = flags.given(RND_BITS.name()) {
                return Err(RND_BITS.error_because(
                    v,
                    "only with --rounding sr (round to nearest takes no random bits)",
                ));
            }
        }
        let p = Q8QuantParams {
            in_bits: IN_BITS.u32(flags)?,
            in_frac: IN_FRAC.u32(flags)?,
            bits: BITS.u32(flags)?,
            lanes: LANES.u32(flags)?,
            rounding,
            rnd_bits: RND_BITS.u32(flags)?,
            recip_bits: RECIP_BITS.u32(flags)?,
        };
        p.validate()?;
        Ok(p)
    }
}

impl Q8QuantParams {
    /// `2^b - 1`, the largest code.
    pub fn qmax(&self) -> u64 {
        (1u64 << self.bits) - 1
    }

    /// Fraction bits of the reciprocal and of `t`: P - b.
    pub fn recip_frac(&self) -> u32 {
        self.recip_bits - self.bits
    }

    /// Whether the unit has an `rnd` input.
    pub fn sr(&self) -> bool {
        self.rounding == Q8Rounding::Sr
    }

    /// The reciprocal for a range `[lo, hi]` (values of N bits): 0 when `hi <= lo`,
    /// otherwise `floor((2^b - 1) * 2^(P-b) / (hi - lo))`.
    pub fn reciprocal(&self, lo: i64, hi: i64) -> u64 {
        if hi <= lo {
            return 0;
        }
        let d = (hi - lo) as u128;
        let num = u128::from(self.qmax()) << self.recip_frac();
        (num / d) as u64
    }

    /// One lane: `x` quantized with the active reciprocal and `lo` (`rnd` used by SR).
    pub fn quantize(&self, x: i64, lo: i64, recip: u64, rnd: u64) -> u64 {
        let f = self.recip_frac();
        let t = i128::from(x - lo) * i128::from(recip);
        let floor = t >> f; // floor division by 2^f
        let frac = (t - (floor << f)) as u128; // 0 ..= 2^f - 1
        let up = match self.rounding {
            Q8Rounding::Rne => {
                let half = 1u128 << f >> 1;
                if f == 0 {
                    false
                } else {
                    frac > half || (frac == half && floor & 1 == 1)
                }
            }
            Q8Rounding::Sr => {
                let top = frac >> (f - self.rnd_bits);
                top > u128::from(rnd)
            }
        };
        let r = floor + i128::from(up);
        r.clamp(0, i128::from(self.qmax())) as u64
    }
}

impl UnitParams for Q8QuantParams {
    const KIND: &'static str = "q8_quant";

    fn validate(&self) -> Result<(), ParamError> {
        IN_BITS.check(self.in_bits)?;
        BITS.check(self.bits)?;
        LANES.check(self.lanes)?;
        RND_BITS.check(self.rnd_bits)?;
        RECIP_BITS.check(self.recip_bits)?;
        if self.in_frac >= self.in_bits {
            return Err(IN_FRAC.error_because(self.in_frac, format!("0..={}", self.in_bits - 1)));
        }
        let need = self.bits + if self.sr() { self.rnd_bits } else { 1 };
        if self.recip_bits < need {
            let why = if self.sr() { "b + R" } else { "b + 1" };
            return Err(
                RECIP_BITS.error_because(self.recip_bits, format!("{need}..=48 (at least {why})"))
            );
        }
        Ok(())
    }

    /// e.g. `q8_quant_i16f8_b8_r32`, `q8_quant_i8f4_b4_r12_sr4_l2`.
    fn module_name(&self) -> String {
        let mut name = format!(
            "q8_quant_i{}f{}_b{}_r{}",
            self.in_bits, self.in_frac, self.bits, self.recip_bits
        );
        if self.sr() {
            name += &format!("_sr{}", self.rnd_bits);
        }
        if self.lanes > 1 {
            name += &format!("_l{}", self.lanes);
        }
        name
    }

    /// clk, rst, in_valid, load, x, lo, hi (, rnd) -> q, ready, bad_range, out_valid.
    fn interface(&self) -> Interface {
        let (n, l) = (self.in_bits, self.lanes);
        let vec = |name: &str, dir, bits, signed| Port::int_or_vec(name, dir, bits, signed, l);
        let mut ports = vec![
            Port::bit("clk", Dir::In, Role::Clock),
            Port::bit("rst", Dir::In, Role::Reset),
            Port::bit("in_valid", Dir::In, Role::InValid),
            Port::bit("load", Dir::In, Role::Data),
            vec("x", Dir::In, n, true),
            Port::int("lo", Dir::In, n, true),
            Port::int("hi", Dir::In, n, true),
        ];
        if self.sr() {
            ports.push(Port::random("rnd", self.rnd_bits * l));
        }
        ports.extend([
            vec("q", Dir::Out, self.bits, false),
            Port::bit("ready", Dir::Out, Role::Data),
            Port::bit("bad_range", Dir::Out, Role::Flag),
            Port::bit("out_valid", Dir::Out, Role::OutValid),
        ]);
        Interface { ports }
    }

    fn latency(&self) -> u32 {
        1
    }

    fn model(&self) -> Result<Box<dyn CycleModel + Send>, ParamError> {
        Ok(Box::new(Q8Quant::new(*self)?))
    }
}

/// Cycle model of `q8-quant`.
#[derive(Clone, Debug)]
pub struct Q8Quant {
    p: Q8QuantParams,
    iface: Interface,
    /// Active reciprocal and lower bound.
    pub recip: u64,
    pub lo: i64,
    /// The divider: cycles left (0 = idle), and the operands of the pending load.
    busy_left: u32,
    pend_lo: i64,
    pend_hi: i64,
    ready: bool,
    bad_range: bool,
    q: Vec<u64>,
    out_valid: bool,
}

impl Q8Quant {
    /// A quantizer in its reset state.
    pub fn new(p: Q8QuantParams) -> Result<Q8Quant, ParamError> {
        p.validate()?;
        Ok(Q8Quant {
            p,
            iface: p.interface(),
            recip: 0,
            lo: 0,
            busy_left: 0,
            pend_lo: 0,
            pend_hi: 0,
            ready: false,
            bad_range: false,
            q: vec![0; p.lanes as usize],
            out_valid: false,
        })
    }
}

impl CycleModel for Q8Quant {
    fn interface(&self) -> &Interface {
        &self.iface
    }

    fn step(&mut self, inputs: &[u64], outputs: &mut [u64]) {
        let p = self.p;
        let (b, n, l) = (p.bits, p.in_bits, p.lanes);
        let mut out = vec![0u64; self.iface.out_words()];
        for (i, q) in self.q.iter().enumerate() {
            set_field(&mut out, i as u32 * b, b, *q);
        }
        let mut w = (b * l).div_ceil(64) as usize;
        out[w] = self.ready.into();
        w += 1;
        out[w] = self.bad_range.into();
        out[w + 1] = self.out_valid.into();
        outputs.copy_from_slice(&out);

        let ins = split(self.iface.beat_inputs(), inputs);
        let bit = |k: usize| ins[k][0] & 1 == 1;
        if bit(0) {
            *self = Q8Quant::new(p).expect("validated");
            return;
        }
        let (valid, load) = (bit(1), bit(2));
        let sval = |words: &[u64], i: u32| -> i64 {
            int::from_bits(get_field(words, i * n, n).into(), n, true) as i64
        };
        // The beat uses the reciprocal active before this edge.
        self.out_valid = valid;
        if valid {
            let r = p.rnd_bits;
            self.q = (0..l)
                .map(|i| {
                    let rnd = if p.sr() {
                        get_field(ins[6], i * r, r)
                    } else {
                        0
                    };
                    p.quantize(sval(ins[3], i), self.lo, self.recip, rnd)
                })
                .collect();
        }
        // The divider: one quotient bit per cycle, P cycles after the load edge.
        if self.busy_left > 0 {
            self.busy_left -= 1;
            if self.busy_left == 0 {
                self.recip = p.reciprocal(self.pend_lo, self.pend_hi);
                self.lo = self.pend_lo;
                self.ready = true;
            }
        }
        if load {
            let (lo, hi) = (sval(ins[4], 0), sval(ins[5], 0));
            if hi > lo {
                self.busy_left = p.recip_bits;
                self.pend_lo = lo;
                self.pend_hi = hi;
                self.ready = false;
            } else {
                self.busy_left = 0;
                self.recip = 0;
                self.lo = lo;
                self.ready = true;
                self.bad_range = true;
            }
        }
    }
}

impl crate::unit::Unit for Q8QuantParams {
    const COMMAND: &'static str = "q8-quant";
    const SUMMARY: &'static str =
        "GEMMLOWP min/max affine quantizer: x in [lo, hi] to b-bit codes, RNE or stochastic";
    const ABOUT: &'static str = "q = clamp(round((x - lo) * (2^b - 1) / (hi - lo)), 0, 2^b - 1). \
A load strobe samples lo and hi and starts a sequential divider (P cycles) for the reciprocal \
floor((2^b - 1) * 2^(P-b) / (hi - lo)); beats keep the previous reciprocal until ready. Then \
per lane an exact product, round to nearest even or stochastic rounding, and a clamp. \
hi <= lo gives q = 0 and a sticky bad_range. Latency 1.";
    const DOCS: &'static str = "docs/q8quant.md";
    const EXAMPLES: &'static [(&'static str, &'static str)] = &[
        ("", "16-bit Q7.8 inputs to 8-bit codes, one per cycle"),
        (
            "--rounding sr --rnd-bits 8 --lanes 4",
            "stochastic rounding, four values per beat",
        ),
    ];

    /// The default is too wide for the provers (a 17x32 product and a 32-step divider);
    /// the set is small configurations that keep every piece: RNE, and SR over two lanes.
    fn proof_set() -> Vec<Self> {
        vec![
            Q8QuantParams {
                in_bits: 4,
                in_frac: 2,
                bits: 2,
                lanes: 1,
                rounding: Q8Rounding::Rne,
                rnd_bits: 8,
                recip_bits: 4,
            },
            Q8QuantParams {
                in_bits: 4,
                in_frac: 0,
                bits: 2,
                lanes: 2,
                rounding: Q8Rounding::Sr,
                rnd_bits: 2,
                recip_bits: 4,
            },
        ]
    }

    /// Activations quantized per row and read back (`crate::study::block`).
    fn study(
        &self,
        workload: &crate::study::Workload,
    ) -> Option<Result<crate::study::Errors, crate::study::StudyError>> {
        Some(crate::study::block::q8_quant(self, workload))
    }

    fn sample(rng: &mut Sampler) -> Self {
        crate::unit::sample_valid(rng, |rng| {
            let in_bits = rng.pick(&[4, 5, 8, 12, 16, 32]);
            let bits = rng.int(2..=16);
            let rounding = if rng.one_in(2) {
                Q8Rounding::Sr
            } else {
                Q8Rounding::Rne
            };
            let rnd_bits = if rounding == Q8Rounding::Sr {
                rng.int(1..=16)
            } else {
                8
            };
            Q8QuantParams {
                in_bits,
                in_frac: rng.int(0..=in_bits - 1),
                bits,
                lanes: rng.pick(&[1, 1, 2, 3]),
                rounding,
                rnd_bits,
                // Often the narrowest accepted P (one fraction bit, or exactly R), else any.
                recip_bits: match rng.int(0..=3) {
                    0 => {
                        bits + if rounding == Q8Rounding::Sr {
                            rnd_bits
                        } else {
                            1
                        }
                    }
                    1 => bits + rnd_bits + 1,
                    _ => rng.int(3..=48),
                },
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(f: u32) -> impl Fn(f64) -> i64 {
        move |v| (v * f64::from(1u32 << f)) as i64
    }

    #[test]
    fn worked_cases() {
        let p = Q8QuantParams::default();
        let v = at(p.in_frac);
        let r = p.reciprocal(v(-1.0), v(1.0));
        assert_eq!(r, 255 << (p.recip_frac() - 9), "255/512 exactly");
        assert_eq!(p.quantize(v(0.5), v(-1.0), r, 0), 191);
        assert_eq!(p.quantize(v(-1.0), v(-1.0), r, 0), 0);
        assert_eq!(p.quantize(v(1.0), v(-1.0), r, 0), 255);
        assert_eq!(p.quantize(v(-3.0), v(-1.0), r, 0), 0);
        assert_eq!(p.quantize(v(2.5), v(-1.0), r, 0), 255);
        let sr = Q8QuantParams {
            rounding: Q8Rounding::Sr,
            ..p
        };
        let ups = (0..256)
            .filter(|&rnd| sr.quantize(v(0.5), v(-1.0), r, rnd) == 192)
            .count();
        let downs = (0..256)
            .filter(|&rnd| sr.quantize(v(0.5), v(-1.0), r, rnd) == 191)
            .count();
        assert_eq!((ups, downs), (64, 192));
    }

    #[test]
    fn bad_range_and_timing() {
        let p = Q8QuantParams {
            in_bits: 8,
            in_frac: 0,
            recip_bits: 12,
            bits: 4,
            ..Q8QuantParams::default()
        };
        assert_eq!(p.reciprocal(3, 3), 0);
        assert_eq!(p.reciprocal(5, 3), 0);
        // 15 * 2^8 / 10 = 384
        assert_eq!(p.reciprocal(0, 10), 384);
        let mut m = Q8Quant::new(p).unwrap();
        let iface = p.interface();
        let beat = |rst: u64, v: u64, load: u64, x: i64, lo: i64, hi: i64| {
            vec![
                rst,
                v,
                load,
                x as u64 & 0xff,
                lo as u64 & 0xff,
                hi as u64 & 0xff,
            ]
        };
        let mut o = vec![0; iface.out_words()];
        m.step(&beat(0, 0, 1, 0, 0, 10), &mut o);
        for _ in 0..p.recip_bits {
            assert_eq!(o[1], 0, "not ready while dividing");
            m.step(&beat(0, 1, 0, 5, 0, 0), &mut o);
            assert_eq!(o[0], 0, "old reciprocal: 0");
        }
        m.step(&beat(0, 1, 0, 5, 0, 0), &mut o);
        assert_eq!(o[1], 1, "ready");
        m.step(&beat(0, 0, 1, 0, 4, 4), &mut o);
        assert_eq!(o[0], 8, "5 of 10 in 15 steps: 7.5 to even 8");
        m.step(&beat(0, 1, 0, 5, 0, 0), &mut o);
        assert_eq!((o[1], o[2]), (1, 1), "bad range: ready, flagged");
        m.step(&beat(0, 0, 0, 0, 0, 0), &mut o);
        assert_eq!(o[0], 0, "reciprocal 0");
    }
}
