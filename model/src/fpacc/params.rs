//! [`FpaccParams`]: the formats, their checks, the name and the ports of `fpacc`.

use std::ops::RangeInclusive;

use serde::{Deserialize, Serialize};

use super::{
    format_tag, Fpacc, IntOperand, Operand, Preset, SrFields, BIAS, CHUNK, EXP_BITS, FRAC_BITS,
    INT_BITS, MAN_BITS, OPERAND_MAN_BITS,
};
use crate::float::{Exact, FloatFormat, RoundWith, Rounded, Rounding};
use crate::iface::{CycleModel, Interface};
use crate::unit::{check_range, ParamError, UnitParams};

/// Parameters of the floating-point accumulator. One value gives the model, the RTL, the
/// metadata and the command-line flags (`gen fpacc --help`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FpaccParams {
    /// Operand format.
    pub operand: Operand,
    /// Format products are rounded into (`Q_prod`).
    pub product: FloatFormat,
    /// Accumulator format (`Q_acc`).
    pub acc: FloatFormat,
    /// Rounding of every `Q_prod` and `Q_acc` (RNE when `sr` is set).
    pub rounding: Rounding,
    /// Stochastic rounding of every `Q_prod` and `Q_acc` instead of `rounding`, with an
    /// `rnd` input of two fields of R bits per beat (`--rounding sr --rnd-bits R`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sr: Option<SrFields>,
    /// Products per chunk, 0 for no chunking.
    pub chunk: u32,
    /// Partial sums the beats are spread over, combined on read-out (1, 2, 4 or 8;
    /// 1 is the plain accumulator).
    #[serde(default = "one", skip_serializing_if = "is_one")]
    pub interleave: u32,
}

fn one() -> u32 {
    1
}

fn is_one(k: &u32) -> bool {
    *k == 1
}

impl Default for FpaccParams {
    /// Signed 8-bit integer operands into the acc12 preset (products in E4M7 too), RNE,
    /// no chunks.
    fn default() -> Self {
        let acc = Preset::Acc12.format();
        FpaccParams {
            operand: Operand::int(8, 0),
            product: acc,
            acc,
            rounding: Rounding::Rne,
            sr: None,
            chunk: 0,
            interleave: 1,
        }
    }
}

impl FpaccParams {
    /// The operands' value as exact products rounded into the product format.
    pub fn q_prod(&self, a: u64, b: u64) -> Rounded {
        self.q_prod_with(a, b, RoundWith::Mode(self.rounding))
    }

    /// [`FpaccParams::q_prod`] rounded `how` (stochastic rounding: [`super::SrFields`]).
    pub fn q_prod_with(&self, a: u64, b: u64, how: RoundWith) -> Rounded {
        self.product.round_with(self.operand.product(a, b), how)
    }

    /// `Q_acc(s + product)` with `s` in the accumulator format and `product` in the
    /// product format.
    pub fn q_acc(&self, s: u64, product: u64) -> Rounded {
        self.q_acc_with(s, product, RoundWith::Mode(self.rounding))
    }

    /// [`FpaccParams::q_acc`] rounded `how`.
    pub fn q_acc_with(&self, s: u64, product: u64, how: RoundWith) -> Rounded {
        let sum = Exact::sum(self.acc.decode(s), self.product.decode(product));
        self.acc.round_with(sum, how)
    }

    /// `Q_acc(s + chunk)`, both in the accumulator format.
    pub fn q_outer(&self, s: u64, chunk: u64) -> Rounded {
        let sum = Exact::sum(self.acc.decode(s), self.acc.decode(chunk));
        self.acc.round(sum, self.rounding)
    }
}

fn check_format(
    f: &FloatFormat,
    exp: &'static str,
    man: &'static str,
    man_range: &RangeInclusive<u32>,
    bias: &'static str,
) -> Result<(), ParamError> {
    check_range(exp, f.exp_bits, &EXP_BITS)?;
    check_range(man, f.man_bits, man_range)?;
    if !BIAS.contains(&f.bias) {
        return Err(ParamError {
            param: bias,
            value: f.bias.to_string(),
            allowed: format!("{}..={}", BIAS.start(), BIAS.end()),
        });
    }
    if f.max_field() < 1 {
        return Err(ParamError {
            param: exp,
            value: f.exp_bits.to_string(),
            allowed: "a width that leaves a finite exponent field".into(),
        });
    }
    Ok(())
}

impl UnitParams for FpaccParams {
    const KIND: &'static str = "fpacc";

    fn validate(&self) -> Result<(), ParamError> {
        match &self.operand {
            Operand::Int { bits, frac, b, .. } => {
                check_range("--in", *bits, &INT_BITS)?;
                if let Some(b) = b {
                    check_range("--in-b", b.bits, &INT_BITS)?;
                }
                check_range("--in-frac", *frac, &FRAC_BITS)?;
            }
            Operand::Float { format } => {
                if !EXP_BITS.contains(&format.exp_bits)
                    || !OPERAND_MAN_BITS.contains(&format.man_bits)
                {
                    return Err(ParamError {
                        param: "--in-float",
                        value: format!("{},{}", format.exp_bits, format.man_bits),
                        allowed: format!(
                            "E,M with E in {}..={} and M in {}..={}",
                            EXP_BITS.start(),
                            EXP_BITS.end(),
                            OPERAND_MAN_BITS.start(),
                            OPERAND_MAN_BITS.end()
                        ),
                    });
                }
                check_format(
                    format,
                    "--in-float",
                    "--in-float",
                    &OPERAND_MAN_BITS,
                    "--in-bias",
                )?
            }
        }
        // The accumulator first: the product format defaults to it.
        check_format(&self.acc, "--exp", "--man", &MAN_BITS, "--bias")?;
        check_format(
            &self.product,
            "--prod-exp",
            "--prod-man",
            &MAN_BITS,
            "--prod-bias",
        )?;
        check_range("--chunk", self.chunk, &CHUNK)?;
        if let Some(sr) = self.sr {
            check_range("--rnd-bits", sr.bits, &crate::bfp::RND_BITS)?;
            if self.rounding != Rounding::Rne {
                return Err(ParamError {
                    param: "--rounding",
                    value: self.rounding.name().to_lowercase(),
                    allowed: "rne beside stochastic rounding (its canonical form)".into(),
                });
            }
            if self.chunk > 0 || self.interleave > 1 {
                return Err(ParamError {
                    param: "--rounding",
                    value: "sr".into(),
                    allowed: "rne or rz with --chunk or --interleave (sr rounds the plain sum \
                              only)"
                        .into(),
                });
            }
        }
        if !super::INTERLEAVE.contains(&self.interleave) {
            return Err(ParamError {
                param: "--interleave",
                value: self.interleave.to_string(),
                allowed: "1, 2, 4 or 8".into(),
            });
        }
        if self.interleave > 1 && self.chunk > 0 {
            return Err(ParamError {
                param: "--interleave",
                value: self.interleave.to_string(),
                allowed: "1 with --chunk (chunks and interleaved sums do not combine)".into(),
            });
        }
        Ok(())
    }

    /// e.g. `fpacc_i8_e4m7b10_rne`, `fpacc_i8_e8m23b127r_rne_c16`, with `_p<format>`
    /// after the operand when the product format differs from the accumulator's.
    fn module_name(&self) -> String {
        let mut name = format!("fpacc_{}", self.operand.tag());
        if self.product != self.acc {
            name += &format!("_p{}", format_tag(&self.product));
        }
        name += &format!(
            "_{}_{}",
            format_tag(&self.acc),
            match (self.sr, self.rounding) {
                (Some(sr), _) => format!("sr{}", sr.bits),
                (None, Rounding::Rne) => "rne".into(),
                (None, Rounding::Rz) => "rz".into(),
            }
        );
        if self.chunk > 0 {
            name += &format!("_c{}", self.chunk);
        }
        if self.interleave > 1 {
            name += &format!("_i{}", self.interleave);
        }
        name
    }

    /// docs/fpacc.md: clk, rst, in_valid, clear, a, b -> acc, uf, of, out_valid.
    /// With stochastic rounding, `rnd` (2R bits) after `b`.
    fn interface(&self) -> Interface {
        let mut i = super::accumulator_interface(&self.operand, &self.acc);
        if let Some(sr) = self.sr {
            let at = i.ports.iter().position(|p| p.name == "b").expect("b") + 1;
            i.ports
                .insert(at, crate::iface::Port::random("rnd", sr.width()));
        }
        i
    }

    fn latency(&self) -> u32 {
        if self.interleave > 1 {
            super::interleave::latency(self.interleave)
        } else {
            1 + u32::from(self.chunk > 0)
        }
    }

    fn model(&self) -> Result<Box<dyn CycleModel + Send>, ParamError> {
        if self.interleave > 1 {
            Ok(Box::new(super::FpaccInterleaved::new(*self)?))
        } else {
            Ok(Box::new(Fpacc::new(*self)?))
        }
    }
}

/// A random float format for the sampler: `exp_bits` and `man_bits` from the given
/// ranges, the IEEE-style bias or a nearby one, every exponent field finite.
fn sample_format(
    rng: &mut crate::unit::Sampler,
    exp: RangeInclusive<u32>,
    man: RangeInclusive<u32>,
) -> FloatFormat {
    let exp_bits = rng.int(exp);
    FloatFormat {
        exp_bits,
        man_bits: rng.int(man),
        bias: super::args::default_bias(exp_bits) + rng.int_i32(-2..=2),
        reserve_top_exponent: rng.one_in(4),
    }
}

impl crate::unit::Unit for FpaccParams {
    const COMMAND: &'static str = "fpacc";
    const SUMMARY: &'static str =
        "Low-precision floating-point accumulator: acc <= Q_acc(Q_prod(a*b) + acc)";
    const ABOUT: &'static str = "Multiplies integer (each operand its own width and signedness \
with --in-a/--in-b/--a-unsigned/--b-unsigned) or small-float operands exactly, rounds the \
product into the product format and adds it into a narrow floating-point accumulator (RNE or \
RZ), with no subnormals (flush, sticky `uf`) and saturation (sticky `of`); optional chunks of \
n products summed apart first. Presets: acc12 (E4M7), bf16 and fp32.";
    const DOCS: &'static str = "docs/fpacc.md";
    const EXAMPLES: &'static [(&'static str, &'static str)] = &[
        (
            "--preset acc12",
            "int8 products into a 12-bit E4M7 accumulator",
        ),
        (
            "--preset acc12 --chunk 16",
            "the same with chunks of 16 products",
        ),
        (
            "--preset bf16 --in-float 4,3",
            "E4M3 operands into a bfloat16 accumulator",
        ),
        (
            "--preset fp32 --pipeline 1",
            "binary32 accumulator (no subnormals), pipelined",
        ),
        (
            "--in-a 4 --in-b 8 --b-unsigned --in-frac 4",
            "W4A8: int4 weights (a) x uint8 activations (b) into E4M7",
        ),
    ];

    /// The default (8-bit operands into E4M7), the bf16 preset (PDR, about 30 s; the fp32
    /// preset takes equiv_induct about 2 minutes and is left to `gen prove fpacc --preset
    /// fp32`), and narrow ones in each mode (chunks, float operands, RZ, a
    /// product wider than the accumulator, two interleaved partial sums, stochastic
    /// rounding, mixed integer operands).
    fn proof_set() -> Vec<Self> {
        let f = FloatFormat::finite;
        let small = FpaccParams {
            operand: Operand::int(4, 0),
            product: f(3, 3, 4),
            acc: f(3, 3, 4),
            ..FpaccParams::default()
        };
        let bf16_format = Preset::Bf16.format();
        let bf16 = FpaccParams {
            acc: bf16_format,
            product: bf16_format,
            ..FpaccParams::default()
        };
        vec![
            FpaccParams::default(),
            bf16,
            small,
            FpaccParams {
                operand: Operand::int(5, 0),
                product: f(4, 4, 7),
                acc: f(4, 4, 7),
                ..small
            },
            FpaccParams { chunk: 4, ..small },
            FpaccParams {
                operand: Operand::Float { format: f(2, 2, 1) },
                rounding: Rounding::Rz,
                ..small
            },
            FpaccParams {
                operand: Operand::int(3, 0),
                product: f(4, 4, 6),
                acc: f(3, 2, 3),
                ..small
            },
            // Two interleaved partial sums (PDR, about 15 s).
            FpaccParams {
                interleave: 2,
                ..small
            },
            // Stochastic rounding: one format, and a product wider than the accumulator.
            FpaccParams {
                sr: Some(SrFields { bits: 3 }),
                ..small
            },
            FpaccParams {
                operand: Operand::int(3, 0),
                product: f(4, 4, 6),
                acc: f(3, 2, 3),
                sr: Some(SrFields { bits: 2 }),
                ..small
            },
            // Mixed operands, W4A8 narrowed: int4 weights by uint3 activations (PDR,
            // about 3 s; 5 s at --pipeline 2).
            FpaccParams {
                operand: Operand::mixed(IntOperand::signed(4), IntOperand::unsigned(3), 0),
                ..small
            },
        ]
    }

    /// Quantized rows through the accumulator (`crate::study::float`).
    fn study(
        &self,
        workload: &crate::study::Workload,
    ) -> Option<Result<crate::study::Errors, crate::study::StudyError>> {
        Some(crate::study::float::fpacc(self, workload))
    }

    fn sample(rng: &mut crate::unit::Sampler) -> Self {
        crate::unit::sample_valid(rng, |rng| {
            let operand = if rng.one_in(3) {
                let mut format = sample_format(rng, 2..=5, 1..=4);
                format.reserve_top_exponent = false;
                Operand::Float { format }
            } else {
                // Half the integer draws have operands of their own width and signedness.
                let a = IntOperand::signed(rng.int(INT_BITS));
                let frac = rng.int(0..=8);
                if rng.one_in(2) {
                    let a = IntOperand {
                        signed: rng.one_in(2),
                        ..a
                    };
                    let b = IntOperand {
                        bits: rng.int(INT_BITS),
                        signed: rng.one_in(2),
                    };
                    Operand::mixed(a, b, frac)
                } else {
                    Operand::int(a.bits, frac)
                }
            };
            let acc = sample_format(rng, EXP_BITS, MAN_BITS);
            let product = if rng.one_in(2) {
                acc
            } else {
                sample_format(rng, EXP_BITS, MAN_BITS)
            };
            let sr = rng.one_in(4).then(|| SrFields {
                bits: rng.int(crate::bfp::RND_BITS),
            });
            let chunk = if sr.is_some() || rng.one_in(2) {
                0
            } else {
                rng.int(1..=20)
            };
            FpaccParams {
                operand,
                product,
                acc,
                rounding: if sr.is_some() {
                    Rounding::Rne
                } else {
                    rng.pick(&[Rounding::Rne, Rounding::Rz])
                },
                sr,
                chunk,
                interleave: if chunk == 0 && sr.is_none() && rng.one_in(3) {
                    rng.pick(&[2, 4, 8])
                } else {
                    1
                },
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_and_names() {
        let p = FpaccParams::default();
        assert_eq!(p.module_name(), "fpacc_i8_e4m7b10_rne");
        assert_eq!(p.latency(), 1);
        let fp32 = FpaccParams {
            acc: Preset::Fp32.format(),
            product: Preset::Fp32.format(),
            chunk: 16,
            ..p
        };
        assert_eq!(fp32.module_name(), "fpacc_i8_e8m23b127r_rne_c16");
        assert_eq!(fp32.latency(), 2);
        let neg = FpaccParams {
            product: FloatFormat { bias: -3, ..p.acc },
            ..p
        };
        assert_eq!(neg.module_name(), "fpacc_i8_pe4m7bm3_e4m7b10_rne");
        assert!(neg.validate().is_ok());
        let bad = FpaccParams {
            acc: FloatFormat {
                man_bits: 24,
                ..p.acc
            },
            ..p
        };
        assert_eq!(bad.validate().unwrap_err().param, "--man");
    }

    fn int_op(bits: u32, signed: bool) -> IntOperand {
        IntOperand { bits, signed }
    }

    /// Mixed operands: names as `mac` gives them, ports of each operand's own width and
    /// signedness, the exact product of a signed and an unsigned operand, and equal
    /// operands giving today's value.
    #[test]
    fn mixed_operands() {
        let d = FpaccParams::default();
        let w4a8 = FpaccParams {
            operand: Operand::mixed(int_op(4, true), int_op(8, false), 4),
            ..d
        };
        assert_eq!(w4a8.module_name(), "fpacc_i4xu8f4_e4m7b10_rne");
        assert!(w4a8.validate().is_ok());
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
        // -8 * 255 * 2^-8 = -7.96875, in E4M7 -7.96875 exactly (8 significant bits).
        let q = w4a8.q_prod(0x8, 0xff);
        assert_eq!(w4a8.product.decode(q.bits).to_f64(), -7.96875);
        assert_eq!(
            w4a8.operand.product(0x7, 0xff).to_f64(),
            7.0 * 255.0 / 256.0
        );
        for (a, b, name) in [
            (int_op(3, false), int_op(4, true), "fpacc_u3xi4_e4m7b10_rne"),
            (int_op(4, true), int_op(3, true), "fpacc_i4x3_e4m7b10_rne"),
            (int_op(4, false), int_op(3, false), "fpacc_u4x3_e4m7b10_rne"),
            (int_op(5, false), int_op(5, false), "fpacc_u5_e4m7b10_rne"),
        ] {
            let p = FpaccParams {
                operand: Operand::mixed(a, b, 0),
                ..d
            };
            assert_eq!(p.module_name(), name);
            assert_eq!(p.operand.ints(), Some((a, b)));
        }
        // Equal signed operands are today's value, JSON included.
        assert_eq!(
            Operand::mixed(int_op(8, true), int_op(8, true), 0),
            d.operand
        );
        assert_eq!(
            serde_json::to_string(&d.operand).unwrap(),
            r#"{"kind":"int","bits":8,"frac":0}"#
        );
        let json = serde_json::to_string(&w4a8).unwrap();
        assert_eq!(serde_json::from_str::<FpaccParams>(&json).unwrap(), w4a8);
        let bad = FpaccParams {
            operand: Operand::mixed(int_op(4, true), int_op(17, false), 0),
            ..d
        };
        assert_eq!(bad.validate().unwrap_err().param, "--in-b");
    }

    /// The flags: `--in-a`/`--in-b`/`--a-unsigned`/`--b-unsigned` as in `mac`, `b` left
    /// `None` when it equals `a`.
    #[test]
    fn operand_flags() {
        use crate::param::{Given, Params};
        let given = |flags: &[(&str, &str)]| FpaccParams::from_flags(&Given::of(flags));
        let d = FpaccParams::default();
        assert_eq!(given(&[]).unwrap(), d);
        assert_eq!(given(&[("in-a", "8"), ("in-b", "8")]).unwrap(), d);
        assert_eq!(
            given(&[("in-a", "4"), ("b-unsigned", ""), ("in-frac", "4")])
                .unwrap()
                .operand,
            Operand::mixed(int_op(4, true), int_op(8, false), 4)
        );
        let u = given(&[("in", "6"), ("a-unsigned", ""), ("b-unsigned", "")]).unwrap();
        assert_eq!(
            u.operand,
            Operand::Int {
                bits: 6,
                frac: 0,
                signed: false,
                b: None
            }
        );
        assert_eq!(u.module_name(), "fpacc_u6_e4m7b10_rne");
    }

    /// The sampler draws mixed operands of both kinds (own width, own signedness), and
    /// never a `b` equal to `a`.
    #[test]
    fn sampler_draws_mixed_operands() {
        use crate::unit::{Sampler, Unit};
        let mut rng = Sampler::new(7);
        let draws: Vec<FpaccParams> = (0..300).map(|_| FpaccParams::sample(&mut rng)).collect();
        assert!(draws.iter().all(|p| p.validate().is_ok()));
        let ints: Vec<(IntOperand, IntOperand)> =
            draws.iter().filter_map(|p| p.operand.ints()).collect();
        assert!(draws.iter().all(|p| !matches!(
            p.operand,
            Operand::Int { bits, signed, b: Some(b), .. } if b == int_op(bits, signed)
        )));
        assert!(ints.iter().any(|(a, b)| a == b && a.signed));
        assert!(ints.iter().any(|(a, b)| a.signed != b.signed));
        assert!(ints
            .iter()
            .any(|(a, b)| a.signed == b.signed && a.bits != b.bits));
    }
}
