//! Long fixed-point accumulator `fpacc-long` (docs/fpacc.md, "The long accumulator"),
//! after the Kulisch accumulator and FloPoCo's FPLargeAcc: every exact product is added
//! exactly into a wide two's-complement register, and the sum is rounded once, on the
//! way out.
//!
//! - The register's LSB is the smallest product's LSB (`2^-2F` for integer operands
//!   with `F` fraction bits, `2^(2 - 2 bias - 2M)` for float operands ExMy), and its
//!   width covers the largest product magnitude plus `guard` bits: any `2^guard`
//!   products sum exactly. [`FpaccLongParams::long_width`] gives it (at most 128 bits:
//!   operand formats that need more are refused).
//! - Per valid beat: `long <= (clear ? 0 : long) + product`. A sum that leaves the
//!   register's range wraps (two's complement) and sets a sticky overflow, cleared by
//!   `clear` (with the beat that carries it) and by reset.
//! - `acc` shows the long sum rounded once into the output format with
//!   [`FloatFormat::round`] (RNE or RZ, no subnormals: flush to zero with `uf`,
//!   saturate with `of`); `uf` is that rounding's underflow, `of` its overflow OR the
//!   sticky register overflow. Neither is sticky by itself: they describe the value
//!   `acc` shows.
//! - Timing: the accumulation loop is only the integer add. The read-out runs in
//!   [`READOUT_STAGES`] register stages behind the long register (absolute value,
//!   coarse and fine normalising shifts, rounding), so the beat presented in cycle t shows on `acc` with
//!   `out_valid` in cycle `t + 1 + READOUT_STAGES`; `--pipeline P` adds P.
//! - Reset clears the long register, the sticky overflow, the read-out stages (they show
//!   +0 without flags) and every valid bit.

use serde::{Deserialize, Serialize};

use super::args::{
    default_bias, A_UNSIGNED, BIAS_FLAG, B_UNSIGNED, EXP, IN, IN_A, IN_B, IN_BIAS, IN_FLOAT,
    IN_FRAC, MAN, PRESET, ROUNDING,
};
use super::{format_tag, IntOperand, Operand, Preset, EXP_BITS};
use crate::float::{Exact, FloatFormat, Rounded, Rounding};
use crate::iface::{split, CycleModel, Interface};
use crate::param::{Flags, Param, Params};
use crate::unit::{ParamError, UnitParams};

/// Register stages of the read-out between the long register and `acc`.
pub const READOUT_STAGES: u32 = 4;
/// The widest long register (bits, sign included).
pub const MAX_LONG_BITS: u32 = 128;

/// `--guard`: extra integer bits above the largest product.
pub const GUARD: Param = Param::int(
    "--guard",
    "G",
    0..=32,
    Some(8),
    "Guard bits above the largest product: any 2^G products sum without overflow",
);

/// The read-out of a long register (shared with `bfp_dot --acc long`): `long * 2^lsb`
/// rounded once into `acc` ([`FloatFormat::round`]: no subnormals, flush with the
/// underflow flag, saturate with the overflow flag), the register's sticky overflow
/// OR-ed into `overflow`.
pub fn long_readout(
    acc: &FloatFormat,
    rounding: Rounding,
    long: i128,
    lsb: i32,
    sticky_of: bool,
) -> Rounded {
    let mut r = acc.round(Exact::from_int(long, lsb), rounding);
    r.overflow |= sticky_of;
    r
}

/// Parameters of the long accumulator. One value gives the model, the RTL, the metadata
/// and the command-line flags (`gen fpacc-long --help`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FpaccLongParams {
    /// Operand format.
    pub operand: Operand,
    /// Output format the long sum is rounded into.
    pub acc: FloatFormat,
    /// Rounding of the read-out.
    pub rounding: Rounding,
    /// Guard bits above the largest product magnitude.
    pub guard: u32,
}

impl Default for FpaccLongParams {
    /// Signed 8-bit integer operands, the acc12 output format, RNE, 8 guard bits.
    fn default() -> Self {
        FpaccLongParams {
            operand: Operand::int(8, 0),
            acc: Preset::Acc12.format(),
            rounding: Rounding::Rne,
            guard: GUARD.default_u32(),
        }
    }
}

impl FpaccLongParams {
    /// The exponent of the long register's LSB.
    pub fn long_lsb(&self) -> i32 {
        match &self.operand {
            Operand::Int { frac, .. } => -2 * *frac as i32,
            Operand::Float { format } => 2 * (format.min_exp() - format.man_bits as i32),
        }
    }

    /// Bits (sign included) of the products in LSB units, as signed values. Integers of
    /// `NA` and `NB` bits: `NA + NB` when either is signed (`-2^(NA-1) * -2^(NB-1) =
    /// 2^(NA+NB-2)` for two signed ones, `|a*b| < 2^(NA+NB-1)` for signed by unsigned),
    /// `NA + NB + 1` when both are unsigned (`a*b <= (2^NA-1)(2^NB-1)`, which reaches
    /// `2^(NA+NB-1)`, and a sign bit); `2N` for the usual signed `N`-bit pair. Floats: the
    /// significand product (below `2^(2M+2)`) shifted by at most `2 (max field - 1)`, so
    /// below `2^(2M + 2 max field)`, one more bit for the sign.
    ///
    /// Panics on widths whose sum leaves `u32` (never for validated parameters).
    pub fn product_width(&self) -> u32 {
        let width = match (&self.operand, self.operand.ints()) {
            (_, Some((a, b))) => a
                .bits
                .checked_add(b.bits)
                .and_then(|n| n.checked_add(u32::from(!a.signed && !b.signed))),
            (Operand::Float { format }, None) => {
                let field = u32::try_from(format.max_field().max(0)).ok();
                field
                    .and_then(|f| f.checked_add(format.man_bits))
                    .and_then(|n| n.checked_mul(2))
                    .and_then(|n| n.checked_add(1))
            }
            (Operand::Int { .. }, None) => unreachable!("integer operands have ints()"),
        };
        width.expect("product width overflows u32")
    }

    /// Bits of the long register, sign included: the product width plus the guard bits.
    ///
    /// Panics when the sum leaves `u32` (never for validated parameters).
    pub fn long_width(&self) -> u32 {
        self.product_width()
            .checked_add(self.guard)
            .expect("long register width overflows u32")
    }

    /// The exact product of two operands (raw port bits) in LSB units of the long
    /// register.
    pub fn fixed_product(&self, a: u64, b: u64) -> i128 {
        let x = self.operand.product(a, b);
        if x.sig == 0 {
            return 0;
        }
        let shift = x.exp - self.long_lsb();
        assert!(shift >= 0, "a product below the long register's LSB");
        let mag = i128::try_from(x.sig << shift).expect("a product fits the register");
        if x.neg {
            -mag
        } else {
            mag
        }
    }

    /// `long + product` in the long register: the wrapped sum and whether the exact
    /// sum left the register's range.
    pub fn add(&self, long: i128, product: i128) -> (i128, bool) {
        let w = self.long_width();
        let (sum, carried) = long.overflowing_add(product);
        if w == 128 {
            return (sum, carried);
        }
        // |long|, |product| < 2^(w-1) <= 2^126: the i128 sum is exact.
        let shift = 128 - w;
        let wrapped = (sum << shift) >> shift;
        (wrapped, wrapped != sum)
    }

    /// The long value rounded once into the output format, the sticky overflow OR-ed
    /// into `overflow`.
    pub fn readout(&self, long: i128, sticky_of: bool) -> Rounded {
        long_readout(&self.acc, self.rounding, long, self.long_lsb(), sticky_of)
    }
}

impl UnitParams for FpaccLongParams {
    const KIND: &'static str = "fpacc_long";

    fn validate(&self) -> Result<(), ParamError> {
        // The operand and output formats as `fpacc` checks them.
        let as_fpacc = super::FpaccParams {
            operand: self.operand,
            product: self.acc,
            acc: self.acc,
            rounding: self.rounding,
            sr: None,
            chunk: 0,
            interleave: 1,
        };
        as_fpacc.validate()?;
        GUARD.check(self.guard)?;
        let w = self.long_width();
        if w > MAX_LONG_BITS {
            let allowed = format!(
                "a long register of at most {MAX_LONG_BITS} bits (the products need {}, the \
                 guard adds {})",
                self.product_width(),
                self.guard
            );
            return Err(if self.product_width() <= MAX_LONG_BITS {
                GUARD.error_because(self.guard, allowed)
            } else {
                let f = match &self.operand {
                    Operand::Float { format } => format!("{},{}", format.exp_bits, format.man_bits),
                    Operand::Int { bits, .. } => bits.to_string(),
                };
                IN_FLOAT.error_because(f, allowed)
            });
        }
        Ok(())
    }

    /// e.g. `fpacc_long_i8_e4m7b10_rne_g8`.
    fn module_name(&self) -> String {
        format!(
            "fpacc_long_{}_{}_{}_g{}",
            self.operand.tag(),
            format_tag(&self.acc),
            match self.rounding {
                Rounding::Rne => "rne",
                Rounding::Rz => "rz",
            },
            self.guard
        )
    }

    /// As `fpacc`: clk, rst, in_valid, clear, a, b -> acc, uf, of, out_valid.
    fn interface(&self) -> Interface {
        super::accumulator_interface(&self.operand, &self.acc)
    }

    fn latency(&self) -> u32 {
        1 + READOUT_STAGES
    }

    fn model(&self) -> Result<Box<dyn CycleModel + Send>, ParamError> {
        Ok(Box::new(FpaccLong::new(*self)?))
    }
}

impl Params for FpaccLongParams {
    const PARAMS: &'static [Param] = &[
        PRESET, EXP, MAN, BIAS_FLAG, IN, IN_A, IN_B, A_UNSIGNED, B_UNSIGNED, IN_FRAC, IN_FLOAT,
        IN_BIAS, ROUNDING, GUARD,
    ];
    const CONFLICTS: &'static [(&'static Param, &'static Param)] = super::args::OPERAND_CONFLICTS;

    fn from_flags(flags: &dyn Flags) -> Result<Self, ParamError> {
        // `fpacc`'s reading of the shared flags, shown only the flags this unit has (its
        // product format and chunks then take their defaults and are dropped).
        struct Ours<'a>(&'a dyn Flags);
        impl Flags for Ours<'_> {
            fn given(&self, flag: &str) -> Option<String> {
                let ours = FpaccLongParams::PARAMS.iter().any(|p| p.name() == flag);
                ours.then(|| self.0.given(flag)).flatten()
            }
        }
        let f = super::FpaccParams::from_flags(&Ours(flags))?;
        Ok(FpaccLongParams {
            operand: f.operand,
            acc: f.acc,
            rounding: f.rounding,
            guard: GUARD.u32(flags)?,
        })
    }
}

/// The arithmetic without timing: feed beats, read the long sum and its rounding.
#[derive(Clone, Debug)]
pub struct FpaccLongSum {
    p: FpaccLongParams,
    /// The long register, in LSB units ([`FpaccLongParams::long_lsb`]).
    pub long: i128,
    /// The sticky register overflow.
    pub of: bool,
}

impl FpaccLongSum {
    pub fn new(p: FpaccLongParams) -> FpaccLongSum {
        FpaccLongSum {
            p,
            long: 0,
            of: false,
        }
    }

    /// One beat of operands given as raw port bits.
    pub fn push(&mut self, clear: bool, a: u64, b: u64) {
        let base = if clear { 0 } else { self.long };
        let (long, of) = self.p.add(base, self.p.fixed_product(a, b));
        self.long = long;
        self.of = (self.of && !clear) || of;
    }

    /// What `acc`, `uf` and `of` show for the current sum.
    pub fn readout(&self) -> Rounded {
        self.p.readout(self.long, self.of)
    }
}

/// The read-out behind a long register, as a cycle model (shared with `bfp_dot --acc
/// long`): [`READOUT_STAGES`] free-running stages of the rounded value, and the valid bits
/// of the long register and of each stage. Reset empties it (+0, no flags, not valid).
#[derive(Clone, Copy, Debug, Default)]
pub struct ReadoutPipe {
    /// The read-out stages, oldest last.
    stages: [Rounded; READOUT_STAGES as usize],
    /// The valid bits of the long register and of each read-out stage, oldest last.
    valid: [bool; 1 + READOUT_STAGES as usize],
}

impl ReadoutPipe {
    /// `acc`, `uf`, `of` and `out_valid` as the last stage shows them, into `outputs`.
    pub fn show(&self, outputs: &mut [u64]) {
        let out = self.stages[self.stages.len() - 1];
        outputs[0] = out.bits;
        outputs[1] = out.underflow.into();
        outputs[2] = out.overflow.into();
        outputs[3] = self.valid[self.valid.len() - 1].into();
    }

    /// One clock edge: the first stage takes `value`, the long register's read-out as it
    /// is before this cycle's add, and the register's valid bit becomes `valid`.
    pub fn step(&mut self, value: Rounded, valid: bool) {
        self.stages.rotate_right(1);
        self.stages[0] = value;
        self.valid.rotate_right(1);
        self.valid[0] = valid;
    }
}

/// Cycle model of `fpacc-long`: [`FpaccLongSum`] behind the RTL's registers.
#[derive(Clone, Debug)]
pub struct FpaccLong {
    p: FpaccLongParams,
    iface: Interface,
    sum: FpaccLongSum,
    readout: ReadoutPipe,
}

impl FpaccLong {
    pub fn new(p: FpaccLongParams) -> Result<FpaccLong, ParamError> {
        p.validate()?;
        Ok(FpaccLong {
            p,
            iface: p.interface(),
            sum: FpaccLongSum::new(p),
            readout: ReadoutPipe::default(),
        })
    }
}

impl CycleModel for FpaccLong {
    fn interface(&self) -> &Interface {
        &self.iface
    }

    fn step(&mut self, inputs: &[u64], outputs: &mut [u64]) {
        self.readout.show(outputs);
        let ins = split(self.iface.beat_inputs(), inputs);
        if ins[0][0] & 1 == 1 {
            *self = FpaccLong::new(self.p).expect("validated");
            return;
        }
        let valid = ins[1][0] & 1 == 1;
        self.readout.step(self.sum.readout(), valid);
        if valid {
            self.sum.push(ins[2][0] & 1 == 1, ins[3][0], ins[4][0]);
        }
    }
}

impl crate::unit::Unit for FpaccLongParams {
    const COMMAND: &'static str = "fpacc-long";
    const SUMMARY: &'static str =
        "Long fixed-point (Kulisch) accumulator: exact sum of a*b, rounded once on read-out";
    const ABOUT: &'static str = "Multiplies integer (each operand its own width and signedness \
with --in-a/--in-b/--a-unsigned/--b-unsigned) or small-float operands exactly and adds \
each product exactly into a wide two's-complement register (the smallest product's LSB, the \
largest product plus --guard bits; wraps with a sticky `of` beyond), after FloPoCo's \
FPLargeAcc. The loop is only that integer add; the sum is rounded once into the output format \
(RNE or RZ, flush with `uf`, saturate with `of`) in pipelined read-out stages.";
    const DOCS: &'static str = "docs/fpacc.md";
    const EXAMPLES: &'static [(&'static str, &'static str)] = &[
        (
            "--preset acc12",
            "int8 products summed exactly, read out in E4M7",
        ),
        (
            "--preset fp32 --in 16",
            "int16 products summed exactly, read out in binary32",
        ),
        (
            "--preset bf16 --in-float 4,3 --guard 12",
            "E4M3 operands, 4096 products without overflow, bfloat16 read-out",
        ),
        (
            "--in-a 4 --in-b 8 --b-unsigned --in-frac 4 --guard 12",
            "W4A8: int4 weights (a) x uint8 activations (b), 4096 products exactly, read out \
             in E4M7",
        ),
    ];

    /// The default (int8 into acc12), 4-bit integers into a small format, E2M2 operands
    /// with RZ, fixed point into bf16 with no guard bits (the register can wrap), and
    /// mixed operands (int4 by uint3, W4A8 narrowed) into the small format.
    fn proof_set() -> Vec<Self> {
        let f = FloatFormat::finite;
        let small = FpaccLongParams {
            operand: Operand::int(4, 0),
            acc: f(3, 3, 4),
            guard: 2,
            ..FpaccLongParams::default()
        };
        vec![
            FpaccLongParams::default(),
            small,
            FpaccLongParams {
                operand: Operand::Float { format: f(2, 2, 1) },
                rounding: Rounding::Rz,
                ..small
            },
            FpaccLongParams {
                operand: Operand::int(5, 3),
                acc: Preset::Bf16.format(),
                guard: 0,
                ..small
            },
            FpaccLongParams {
                operand: Operand::mixed(IntOperand::signed(4), IntOperand::unsigned(3), 0),
                ..small
            },
        ]
    }

    /// Quantized rows through the long register (`crate::study::float`).
    fn study(
        &self,
        workload: &crate::study::Workload,
    ) -> Option<Result<crate::study::Errors, crate::study::StudyError>> {
        Some(crate::study::float::fpacc_long(self, workload))
    }

    fn sample(rng: &mut crate::unit::Sampler) -> Self {
        crate::unit::sample_valid(rng, |rng| {
            let operand = if rng.one_in(3) {
                let exp_bits = rng.int(2..=4);
                Operand::Float {
                    format: FloatFormat {
                        exp_bits,
                        man_bits: rng.int(1..=4),
                        bias: default_bias(exp_bits) + rng.int_i32(-2..=2),
                        reserve_top_exponent: false,
                    },
                }
            } else if rng.one_in(2) {
                // Operands of their own width and signedness (`Operand::mixed` keeps `b`
                // only when it differs from `a`).
                let int = |rng: &mut crate::unit::Sampler| IntOperand {
                    bits: rng.int(2..=12),
                    signed: rng.one_in(2),
                };
                let a = int(rng);
                let b = int(rng);
                Operand::mixed(a, b, rng.int(0..=8))
            } else {
                Operand::int(rng.int(2..=12), rng.int(0..=8))
            };
            let exp_bits = rng.int(EXP_BITS);
            let acc = FloatFormat {
                exp_bits,
                man_bits: rng.int(1..=23),
                bias: default_bias(exp_bits) + rng.int_i32(-2..=2),
                reserve_top_exponent: rng.one_in(4),
            };
            FpaccLongParams {
                operand,
                acc,
                rounding: rng.pick(&[Rounding::Rne, Rounding::Rz]),
                guard: rng.int(0..=12),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fpacc::{FpaccParams, FpaccSum};

    fn fp32_in16() -> FpaccLongParams {
        FpaccLongParams {
            operand: Operand::int(16, 0),
            acc: Preset::Fp32.format(),
            ..FpaccLongParams::default()
        }
    }

    /// 16-bit two's complement bits of `v`.
    fn i16b(v: i64) -> u64 {
        (v as u64) & 0xffff
    }

    /// docs/fpacc.md: 2^24 + 1 - 2^24 is exactly 1.0 in the long accumulator, 0 in
    /// `fpacc --preset fp32 --in 16` (2^24 + 1 rounds to 2^24 at each step).
    #[test]
    fn worked_case_exact_against_per_step_rounding() {
        let beats = [(4096, 4096), (1, 1), (-4096, 4096)];
        let p = fp32_in16();
        let mut long = FpaccLongSum::new(p);
        let f = FpaccParams {
            operand: p.operand,
            product: p.acc,
            acc: p.acc,
            ..FpaccParams::default()
        };
        let mut step = FpaccSum::new(f);
        for (i, (a, b)) in beats.into_iter().enumerate() {
            long.push(i == 0, i16b(a), i16b(b));
            step.push(i == 0, i16b(a), i16b(b));
        }
        let r = long.readout();
        assert_eq!(
            (f32::from_bits(r.bits as u32), r.underflow, r.overflow),
            (1.0, false, false)
        );
        assert_eq!((step.acc, step.uf, step.of), (0, false, false));
    }

    #[test]
    fn geometry_names_and_limits() {
        let p = FpaccLongParams::default();
        assert_eq!(p.module_name(), "fpacc_long_i8_e4m7b10_rne_g8");
        assert_eq!((p.long_lsb(), p.long_width()), (0, 24));
        assert_eq!(p.latency(), 5);
        // E4M3 bias 7: LSB 2^(2 (1 - 7 - 3)) = 2^-18; products below 2^(6 + 30).
        let e4m3 = FpaccLongParams {
            operand: Operand::Float {
                format: FloatFormat {
                    exp_bits: 4,
                    man_bits: 3,
                    bias: 7,
                    reserve_top_exponent: false,
                },
            },
            ..p
        };
        assert_eq!((e4m3.long_lsb(), e4m3.long_width()), (-18, 37 + 8));
        // The largest product: significands 15 (1.111b) squared, fields 15 + 15 - 2
        // places above the LSB.
        let max = 0x7f;
        assert_eq!(e4m3.fixed_product(max, max), (15i128 * 15) << 28);
        assert!(e4m3.fixed_product(max, max) < 1 << (e4m3.product_width() - 1));
        assert!(e4m3.validate().is_ok());
        let e8 = FpaccLongParams {
            operand: Operand::Float {
                format: FloatFormat {
                    exp_bits: 8,
                    man_bits: 3,
                    bias: 127,
                    reserve_top_exponent: false,
                },
            },
            ..p
        };
        assert_eq!(e8.validate().unwrap_err().param, "--in-float");
        let wide = FpaccLongParams { guard: 33, ..p };
        assert_eq!(wide.validate().unwrap_err().param, "--guard");
    }

    fn int_op(bits: u32, signed: bool) -> IntOperand {
        IntOperand { bits, signed }
    }

    /// Mixed operands are accepted: the name as `fpacc` gives it, the ports of each
    /// operand's own width and signedness, and a product width that holds every product
    /// of every small pair and is needed by one (so it is exact, not just enough).
    #[test]
    fn mixed_operands_product_width_is_exact() {
        let d = FpaccLongParams::default();
        let w4a8 = FpaccLongParams {
            operand: Operand::mixed(int_op(4, true), int_op(8, false), 4),
            ..d
        };
        assert!(w4a8.validate().is_ok());
        assert_eq!(w4a8.module_name(), "fpacc_long_i4xu8f4_e4m7b10_rne_g8");
        assert_eq!((w4a8.long_lsb(), w4a8.product_width()), (-8, 12));
        let i = w4a8.interface();
        let port = |n: &str| i.ports.iter().find(|p| p.name == n).unwrap().clone();
        assert_eq!(
            port("a"),
            crate::iface::Port::int("a", crate::iface::Dir::In, 4, true)
        );
        assert_eq!(
            port("b"),
            crate::iface::Port::int("b", crate::iface::Dir::In, 8, false)
        );
        // -8 * 255 = -2040 in units of 2^-8.
        assert_eq!(w4a8.fixed_product(0x8, 0xff), -2040);
        for na in 2..=6 {
            for nb in 2..=6 {
                for (sa, sb) in [(true, true), (true, false), (false, true), (false, false)] {
                    let (oa, ob) = (int_op(na, sa), int_op(nb, sb));
                    let p = FpaccLongParams {
                        operand: Operand::mixed(oa, ob, 0),
                        guard: 0,
                        ..d
                    };
                    assert!(p.validate().is_ok(), "{p:?}");
                    let w = p.product_width();
                    let mut widest = 0;
                    for a in 0..1u64 << na {
                        for b in 0..1u64 << nb {
                            let v = crate::int::from_bits(a.into(), na, sa)
                                * crate::int::from_bits(b.into(), nb, sb);
                            let x = p.fixed_product(a, b);
                            assert_eq!(x, v, "{p:?} {a} {b}");
                            // Bits of x as a signed value.
                            let bits = 129 - if x < 0 { !x } else { x }.leading_zeros();
                            widest = widest.max(bits);
                        }
                    }
                    assert_eq!(widest, w, "{oa:?} x {ob:?}");
                    // No guard bits: adding the product to zero never wraps.
                    let mut s = FpaccLongSum::new(p);
                    s.push(true, (1 << na) - 1, (1 << nb) - 1);
                    assert!(!s.of);
                }
            }
        }
    }

    /// The proof set holds one mixed configuration, int4 x uint3, which with the fewest
    /// input bits is also the one proven at `--pipeline 2` (docs/verification.md).
    #[test]
    fn proof_set_has_one_mixed_configuration() {
        use crate::unit::Unit;
        let set = FpaccLongParams::proof_set();
        let mixed: Vec<_> = set.iter().filter(|p| p.operand.is_mixed()).collect();
        assert_eq!(mixed.len(), 1);
        assert_eq!(mixed[0].module_name(), "fpacc_long_i4xu3_e3m3b4_rne_g2");
        assert_eq!(
            FpaccLongParams::pipelined_proof(&set).as_ref(),
            Some(mixed[0])
        );
    }

    /// The flags `--in-a`/`--in-b`/`--a-unsigned`/`--b-unsigned`, read as `fpacc` reads
    /// them; `b` left `None` when it equals `a`, so the default is unchanged.
    #[test]
    fn mixed_operand_flags() {
        use crate::param::{Given, Params};
        let given = |flags: &[(&str, &str)]| FpaccLongParams::from_flags(&Given::of(flags));
        let d = FpaccLongParams::default();
        assert_eq!(given(&[]).unwrap(), d);
        assert_eq!(given(&[("in-a", "8"), ("in-b", "8")]).unwrap(), d);
        let p = given(&[
            ("in-a", "4"),
            ("b-unsigned", ""),
            ("in-frac", "4"),
            ("guard", "12"),
        ])
        .unwrap();
        assert_eq!(
            p.operand,
            Operand::mixed(int_op(4, true), int_op(8, false), 4)
        );
        assert_eq!(p.guard, 12);
        let u = given(&[("in", "6"), ("a-unsigned", ""), ("b-unsigned", "")]).unwrap();
        assert_eq!(u.module_name(), "fpacc_long_u6_e4m7b10_rne_g8");
        assert_eq!(u.long_width(), 13 + 8);
        let json = serde_json::to_string(&p).unwrap();
        assert_eq!(serde_json::from_str::<FpaccLongParams>(&json).unwrap(), p);
    }

    /// The sampler draws mixed operands of both kinds, and operands of one width and
    /// signedness.
    #[test]
    fn sampler_draws_mixed_operands() {
        use crate::unit::{Sampler, Unit};
        let mut rng = Sampler::new(11);
        let draws: Vec<FpaccLongParams> = (0..300)
            .map(|_| FpaccLongParams::sample(&mut rng))
            .collect();
        assert!(draws.iter().all(|p| p.validate().is_ok()));
        let ints: Vec<(IntOperand, IntOperand)> =
            draws.iter().filter_map(|p| p.operand.ints()).collect();
        assert!(ints.iter().any(|(a, b)| a == b && a.signed));
        assert!(ints.iter().any(|(a, b)| a.signed != b.signed));
        assert!(ints.iter().any(|(a, b)| !a.signed && !b.signed));
        assert!(ints
            .iter()
            .any(|(a, b)| a.signed == b.signed && a.bits != b.bits));
    }

    /// With no guard bits, two largest products wrap: `of` sticks until `clear`.
    #[test]
    fn wrap_sets_sticky_overflow() {
        let p = FpaccLongParams {
            operand: Operand::int(4, 0),
            guard: 0,
            ..FpaccLongParams::default()
        };
        let mut s = FpaccLongSum::new(p);
        s.push(true, 8, 8); // (-8)^2 = 64, the largest product; width 8: max 127
        assert_eq!((s.long, s.of), (64, false));
        s.push(false, 8, 8); // 128 wraps to -128
        assert_eq!((s.long, s.of), (-128, true));
        assert!(s.readout().overflow);
        s.push(false, 1, 1);
        assert!(s.of);
        s.push(true, 1, 1);
        assert_eq!((s.long, s.of), (1, false));
    }

    /// The cycle model shows each beat's readout `latency` cycles after it.
    #[test]
    fn cycle_model_latency() {
        let p = FpaccLongParams::default();
        let mut m = FpaccLong::new(p).unwrap();
        let mut out = [0u64; 4];
        m.step(&[0, 1, 1, 3, 2], &mut out);
        for _ in 0..p.latency() {
            assert_eq!(out[3], 0);
            m.step(&[0, 0, 0, 0, 0], &mut out);
        }
        assert_eq!(out[3], 1);
        assert_eq!(p.acc.decode(out[0]).to_f64(), 6.0);
    }
}
