//! The flags of [`FpaccParams`]: a preset and overrides, declared once.

use std::fmt;
use std::str::FromStr;

use super::{FpaccParams, IntOperand, Operand, Preset};
use crate::float::{FloatFormat, Rounding};
use crate::param::{Flags, Param, Params};
use crate::unit::ParamError;

/// `E,M` as in `--in-float 4,3`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ExpMan(pub u32, pub u32);

impl FromStr for ExpMan {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || format!("'{s}' is not E,M (exponent and mantissa bits, e.g. 4,3)");
        let (e, m) = s.split_once(',').ok_or_else(bad)?;
        let e = e.trim().parse().map_err(|_| bad())?;
        let m = m.trim().parse().map_err(|_| bad())?;
        Ok(ExpMan(e, m))
    }
}

impl fmt::Display for ExpMan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{},{}", self.0, self.1)
    }
}

/// Exponent widths of every format.
const EXP_RANGE: std::ops::RangeInclusive<i64> = 2..=8;
/// Stored mantissa bits of the product and accumulator formats.
const MAN_RANGE: std::ops::RangeInclusive<i64> = 1..=23;
/// Exponent biases.
const BIAS_RANGE: std::ops::RangeInclusive<i64> = -128..=255;

/// `--preset`: the accumulator format to start from.
pub const PRESET: Param = Param::choice(
    "--preset",
    "PRESET",
    &[
        (
            "acc12",
            "E4M7, bias 10, every exponent field finite (2^-9..63.75)",
        ),
        ("bf16", "E8M7, bias 127, IEEE encodings without subnormals"),
        ("fp32", "E8M23, bias 127, IEEE encodings without subnormals"),
    ],
    "acc12",
    "Accumulator format to start from; --exp, --man and --bias override its fields",
);
/// `--exp`: accumulator exponent bits.
pub const EXP: Param = Param::int(
    "--exp",
    "BITS",
    EXP_RANGE,
    None,
    "Accumulator exponent bits E [default: from --preset]",
);
/// `--man`: accumulator stored mantissa bits.
pub const MAN: Param = Param::int(
    "--man",
    "BITS",
    MAN_RANGE,
    None,
    "Accumulator stored mantissa bits M [default: from --preset]",
);
/// `--bias`: accumulator exponent bias.
pub const BIAS_FLAG: Param = Param::int(
    "--bias",
    "BIAS",
    BIAS_RANGE,
    None,
    "Accumulator exponent bias [default: from --preset, or 2^(E-1)-1 when --exp is given]",
);
/// `--prod-exp`: product exponent bits.
pub const PROD_EXP: Param = Param::int(
    "--prod-exp",
    "BITS",
    EXP_RANGE,
    None,
    "Product format exponent bits E_p [default: the accumulator's]",
);
/// `--prod-man`: product stored mantissa bits.
pub const PROD_MAN: Param = Param::int(
    "--prod-man",
    "BITS",
    MAN_RANGE,
    None,
    "Product format stored mantissa bits M_p [default: the accumulator's]",
);
/// `--prod-bias`: product exponent bias.
pub const PROD_BIAS: Param = Param::int(
    "--prod-bias",
    "BIAS",
    BIAS_RANGE,
    None,
    "Product format bias [default: the accumulator's, or 2^(E_p-1)-1 when --prod-exp is given]",
);
/// `--in`: integer operand width.
pub const IN: Param = Param::int(
    "--in",
    "BITS",
    2..=16,
    Some(8),
    "Signed integer operands of BITS bits",
);
/// `--in-a`: operand `a`'s width, overriding `--in` for `a`.
pub const IN_A: Param = Param::int(
    "--in-a",
    "BITS",
    2..=16,
    None,
    "Width of integer operand a in bits (default: --in)",
);
/// `--in-b`: operand `b`'s width, overriding `--in` for `b`.
pub const IN_B: Param = Param::int(
    "--in-b",
    "BITS",
    2..=16,
    None,
    "Width of integer operand b in bits (default: --in)",
);
/// `--a-unsigned`: integer operand `a` unsigned.
pub const A_UNSIGNED: Param = Param::switch(
    "--a-unsigned",
    "Integer operand a unsigned (b stays signed unless --b-unsigned)",
);
/// `--b-unsigned`: integer operand `b` unsigned.
pub const B_UNSIGNED: Param = Param::switch(
    "--b-unsigned",
    "Integer operand b unsigned, e.g. activations after a ReLU (a stays signed unless \
     --a-unsigned)",
);
/// `--in-frac`: fraction bits of integer operands.
pub const IN_FRAC: Param = Param::int(
    "--in-frac",
    "F",
    0..=32,
    Some(0),
    "Fraction bits of integer operands (value = q * 2^-F)",
);
/// `--in-float`: small-float operands.
pub const IN_FLOAT: Param = Param::text(
    "--in-float",
    "E,M",
    None,
    "Small-float operands ExMy instead of integers, e.g. 4,3 (E 2..=8, M 1..=10; no \
     subnormals, every exponent field finite)",
)
.samples(&["2,1", "4,3", "5,2", "8,10", "3,4"]);
/// `--in-bias`: bias of float operands.
pub const IN_BIAS: Param = Param::int(
    "--in-bias",
    "BIAS",
    BIAS_RANGE,
    None,
    "Bias of float operands (with --in-float) [default: 2^(E-1)-1]",
);
/// `--rounding`: rounding of products and sums.
pub const ROUNDING: Param = Param::choice(
    "--rounding",
    "MODE",
    &[
        ("rne", "Round to nearest, ties to even"),
        ("rz", "Round toward zero (truncate the magnitude)"),
    ],
    "rne",
    "Rounding of products and sums",
);
/// `fpacc`'s `--rounding`: the modes of [`ROUNDING`] and stochastic rounding.
pub const ROUNDING_SR: Param = Param::choice(
    "--rounding",
    "MODE",
    &[
        ("rne", "Round to nearest, ties to even"),
        ("rz", "Round toward zero (truncate the magnitude)"),
        (
            "sr",
            "Stochastic: an rnd input of 2R bits per beat, R for the product, R for the sum",
        ),
    ],
    "rne",
    "Rounding of products and sums",
);
/// `--chunk`: products per chunk.
pub const CHUNK_FLAG: Param = Param::int(
    "--chunk",
    "N",
    0..=65535,
    Some(0),
    "Products per chunk: an inner accumulator sums n products from zero, then adds them to \
     the outer one; 0 = no chunking",
);
/// `--interleave`: partial sums.
pub const INTERLEAVE_FLAG: Param = Param::int(
    "--interleave",
    "K",
    1..=8,
    Some(1),
    "Partial sums (1, 2, 4 or 8): beats go round K sums in turn, so the adder may take K \
     cycles; the sums are combined on read-out (docs/fpacc.md)",
);

/// The IEEE-style default bias `2^(E-1) - 1` (0 for widths this type would reject).
pub(super) fn default_bias(exp_bits: u32) -> i32 {
    if (1..=16).contains(&exp_bits) {
        (1 << (exp_bits - 1)) - 1
    } else {
        0
    }
}

/// Float operands (`--in-float`) against every integer operand flag: what `fpacc` and
/// `fpacc-long` both refuse together.
pub const OPERAND_CONFLICTS: &[(&Param, &Param)] = &[
    (&IN_FLOAT, &IN),
    (&IN_FLOAT, &IN_FRAC),
    (&IN_FLOAT, &IN_A),
    (&IN_FLOAT, &IN_B),
    (&IN_FLOAT, &A_UNSIGNED),
    (&IN_FLOAT, &B_UNSIGNED),
];

impl Params for FpaccParams {
    const PARAMS: &'static [Param] = &[
        PRESET,
        EXP,
        MAN,
        BIAS_FLAG,
        PROD_EXP,
        PROD_MAN,
        PROD_BIAS,
        IN,
        IN_A,
        IN_B,
        A_UNSIGNED,
        B_UNSIGNED,
        IN_FRAC,
        IN_FLOAT,
        IN_BIAS,
        ROUNDING_SR,
        crate::bfp::RND_BITS_FLAG,
        CHUNK_FLAG,
        INTERLEAVE_FLAG,
    ];
    const CONFLICTS: &'static [(&'static Param, &'static Param)] = OPERAND_CONFLICTS;

    fn from_flags(flags: &dyn Flags) -> Result<Self, ParamError> {
        let preset = match PRESET.choice_value(flags)? {
            "bf16" => Preset::Bf16,
            "fp32" => Preset::Fp32,
            _ => Preset::Acc12,
        };
        let base = preset.format();
        let exp_bits = EXP.opt_u32(flags)?;
        let acc = FloatFormat {
            exp_bits: exp_bits.unwrap_or(base.exp_bits),
            man_bits: MAN.opt_u32(flags)?.unwrap_or(base.man_bits),
            bias: BIAS_FLAG.opt_i32(flags)?.unwrap_or(match exp_bits {
                Some(e) if e != base.exp_bits => default_bias(e),
                _ => base.bias,
            }),
            reserve_top_exponent: base.reserve_top_exponent,
        };
        let prod_exp = PROD_EXP.opt_u32(flags)?;
        let product = FloatFormat {
            exp_bits: prod_exp.unwrap_or(acc.exp_bits),
            man_bits: PROD_MAN.opt_u32(flags)?.unwrap_or(acc.man_bits),
            bias: PROD_BIAS.opt_i32(flags)?.unwrap_or(match prod_exp {
                Some(e) if e != acc.exp_bits => default_bias(e),
                _ => acc.bias,
            }),
            reserve_top_exponent: acc.reserve_top_exponent,
        };
        let in_bias = IN_BIAS.opt_i32(flags)?;
        let operand = match IN_FLOAT.parse(flags, |t| t.parse::<ExpMan>())? {
            Some(ExpMan(e, m)) => Operand::Float {
                format: FloatFormat {
                    exp_bits: e,
                    man_bits: m,
                    bias: in_bias.unwrap_or(default_bias(e)),
                    reserve_top_exponent: false,
                },
            },
            None => {
                if let Some(b) = in_bias {
                    return Err(IN_BIAS.error_because(b, "only with --in-float"));
                }
                let n = IN.u32(flags)?;
                let a = IntOperand {
                    bits: IN_A.opt_u32(flags)?.unwrap_or(n),
                    signed: !A_UNSIGNED.is_on(flags),
                };
                let b = IntOperand {
                    bits: IN_B.opt_u32(flags)?.unwrap_or(n),
                    signed: !B_UNSIGNED.is_on(flags),
                };
                Operand::mixed(a, b, IN_FRAC.u32(flags)?)
            }
        };
        let rounding = ROUNDING_SR.choice_value(flags)?;
        let sr = if rounding == "sr" {
            Some(super::SrFields {
                bits: crate::bfp::RND_BITS_FLAG.u32(flags)?,
            })
        } else {
            if let Some(v) = flags.given(crate::bfp::RND_BITS_FLAG.name()) {
                return Err(crate::bfp::RND_BITS_FLAG.error_because(
                    v,
                    "only with --rounding sr (the other modes take no random bits)",
                ));
            }
            None
        };
        Ok(FpaccParams {
            operand,
            product,
            acc,
            rounding: match rounding {
                "rz" => Rounding::Rz,
                _ => Rounding::Rne,
            },
            sr,
            chunk: CHUNK_FLAG.u32(flags)?,
            interleave: INTERLEAVE_FLAG.u32(flags)?,
        })
    }
}
