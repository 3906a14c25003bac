//! The command-line form of [`FpaccParams`]: a preset and overrides.

use std::fmt;
use std::str::FromStr;

use clap::{Args, FromArgMatches};

use super::{FpaccParams, Operand, Preset};
use crate::float::{FloatFormat, Rounding};

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

/// Command-line form of [`FpaccParams`]: a preset and overrides. `FpaccParams`
/// implements clap's traits by converting from it.
#[derive(Args, Debug, Clone)]
struct FpaccArgs {
    /// Accumulator format to start from: acc12 = E4M7 bias 10 (all exponent fields
    /// finite, 2^-9..63.75), bf16 = E8M7 bias 127, fp32 = E8M23 bias 127 (IEEE encodings,
    /// no subnormals). --exp, --man and --bias override its fields.
    #[arg(long, value_enum, value_name = "PRESET", default_value_t = Preset::Acc12)]
    preset: Preset,
    /// Accumulator exponent bits E, 2..=8 [default: from --preset].
    #[arg(long = "exp", value_name = "BITS", allow_negative_numbers = true)]
    exp_bits: Option<u32>,
    /// Accumulator stored mantissa bits M, 1..=23 [default: from --preset].
    #[arg(long = "man", value_name = "BITS", allow_negative_numbers = true)]
    man_bits: Option<u32>,
    /// Accumulator exponent bias, -128..=255 [default: from --preset, or 2^(E-1)-1 when
    /// --exp is given].
    #[arg(long, value_name = "BIAS", allow_negative_numbers = true)]
    bias: Option<i32>,
    /// Product format exponent bits E_p [default: the accumulator's].
    #[arg(long = "prod-exp", value_name = "BITS", allow_negative_numbers = true)]
    prod_exp: Option<u32>,
    /// Product format stored mantissa bits M_p [default: the accumulator's].
    #[arg(long = "prod-man", value_name = "BITS", allow_negative_numbers = true)]
    prod_man: Option<u32>,
    /// Product format bias [default: the accumulator's, or 2^(E_p-1)-1 when --prod-exp
    /// is given].
    #[arg(long = "prod-bias", value_name = "BIAS", allow_negative_numbers = true)]
    prod_bias: Option<i32>,
    /// Signed integer operands of BITS bits, 2..=16.
    #[arg(
        long = "in",
        value_name = "BITS",
        default_value_t = 8,
        allow_negative_numbers = true
    )]
    in_bits: u32,
    /// Fraction bits of integer operands (value = q * 2^-F), 0..=32.
    #[arg(
        long = "in-frac",
        value_name = "F",
        default_value_t = 0,
        allow_negative_numbers = true
    )]
    in_frac: u32,
    /// Small-float operands ExMy instead of integers, e.g. 4,3 (E 2..=8, M 1..=10; no
    /// subnormals, every exponent field finite).
    #[arg(long = "in-float", value_name = "E,M", conflicts_with_all = ["in_bits", "in_frac"])]
    in_float: Option<ExpMan>,
    /// Bias of float operands [default: 2^(E-1)-1].
    #[arg(
        long = "in-bias",
        value_name = "BIAS",
        allow_negative_numbers = true,
        requires = "in_float"
    )]
    in_bias: Option<i32>,
    /// Rounding of products and sums.
    #[arg(long, value_enum, value_name = "MODE", default_value_t = Rounding::Rne)]
    rounding: Rounding,
    /// Products per chunk: an inner accumulator sums n products from zero, then adds them
    /// to the outer one. 0 = no chunking; 0..=65535.
    #[arg(
        long,
        value_name = "N",
        default_value_t = 0,
        allow_negative_numbers = true
    )]
    chunk: u32,
    /// Pipeline registers before the accumulator, 0..=2: 1 registers the rounded product,
    /// 2 also the exact product. Latency is pipeline + 1 cycles, plus 1 with --chunk.
    #[arg(
        long,
        value_name = "DEPTH",
        default_value_t = 0,
        allow_negative_numbers = true
    )]
    pipeline: u32,
}

/// The IEEE-style default bias `2^(E-1) - 1` (0 for widths this type would reject).
pub(super) fn default_bias(exp_bits: u32) -> i32 {
    if (1..=16).contains(&exp_bits) {
        (1 << (exp_bits - 1)) - 1
    } else {
        0
    }
}

impl From<FpaccArgs> for FpaccParams {
    fn from(a: FpaccArgs) -> Self {
        let base = a.preset.format();
        let acc = FloatFormat {
            exp_bits: a.exp_bits.unwrap_or(base.exp_bits),
            man_bits: a.man_bits.unwrap_or(base.man_bits),
            bias: a.bias.unwrap_or(match a.exp_bits {
                Some(e) if e != base.exp_bits => default_bias(e),
                _ => base.bias,
            }),
            reserve_top_exponent: base.reserve_top_exponent,
        };
        let product = FloatFormat {
            exp_bits: a.prod_exp.unwrap_or(acc.exp_bits),
            man_bits: a.prod_man.unwrap_or(acc.man_bits),
            bias: a.prod_bias.unwrap_or(match a.prod_exp {
                Some(e) if e != acc.exp_bits => default_bias(e),
                _ => acc.bias,
            }),
            reserve_top_exponent: acc.reserve_top_exponent,
        };
        let operand = match a.in_float {
            Some(ExpMan(e, m)) => Operand::Float {
                format: FloatFormat {
                    exp_bits: e,
                    man_bits: m,
                    bias: a.in_bias.unwrap_or(default_bias(e)),
                    reserve_top_exponent: false,
                },
            },
            None => Operand::Int {
                bits: a.in_bits,
                frac: a.in_frac,
            },
        };
        FpaccParams {
            operand,
            product,
            acc,
            rounding: a.rounding,
            chunk: a.chunk,
            pipeline: a.pipeline,
        }
    }
}

impl FromArgMatches for FpaccParams {
    fn from_arg_matches(m: &clap::ArgMatches) -> Result<Self, clap::Error> {
        FpaccArgs::from_arg_matches(m).map(FpaccParams::from)
    }
    fn update_from_arg_matches(&mut self, m: &clap::ArgMatches) -> Result<(), clap::Error> {
        *self = FpaccParams::from_arg_matches(m)?;
        Ok(())
    }
}

impl Args for FpaccParams {
    fn augment_args(cmd: clap::Command) -> clap::Command {
        FpaccArgs::augment_args(cmd)
    }
    fn augment_args_for_update(cmd: clap::Command) -> clap::Command {
        FpaccArgs::augment_args_for_update(cmd)
    }
}
