//! Low-precision floating-point accumulator `fpacc` (SPEC.md section 2):
//! `FMAq(a, b, s) = Q_acc(Q_prod(a * b) + s)`, after Blumenfeld, Hubara and Soudry (ICLR
//! 2024), who train networks to run on accumulators as narrow as 12 bits (E4M7).
//!
//! Per accepted beat, in beat order:
//! - the exact product of the operands (signed N-bit integers, optionally fixed point
//!   with `frac` fraction bits, or small floats ExMy) is rounded into the product format
//!   (`Q_prod`);
//! - without chunking, `acc <= Q_acc((clear ? 0 : acc) + product)`;
//! - with chunks of n, an inner accumulator sums the products of a chunk from zero with
//!   the same `Q_acc`; after a chunk's n-th product, `acc <= Q_acc(acc + chunk sum)`.
//!
//! Every rounding is [`FloatFormat::round`] of the exact value: no subnormals (below
//! `2^(1 - bias)` a result is zero and sets `uf`), overflow saturates to the largest
//! finite value and sets `of`; no NaN or infinity ever appears. `uf` and `of` collect the
//! events of every rounding (product, inner and outer sums) and are sticky until `clear`.
//!
//! Choices SPEC.md leaves open, made here and mirrored by the RTL:
//! - Operand floats have no subnormals either (exponent field 0 is zero) and every
//!   exponent field is finite; their bias defaults to `2^(E-1) - 1`.
//! - The product format defaults to the accumulator format.
//! - `clear` starts a new sum with the beat that carries it: the outer sum restarts, and
//!   so does the chunk (its partial sum is dropped, the beat is the chunk's first).
//! - `acc` shows the sum of the completed chunks. A stream whose length is not a multiple
//!   of n is padded with zero beats (`a = 0`): a zero product leaves every sum unchanged.
//! - Pipeline depth P (0..=2): P >= 1 registers the rounded product, P = 2 also the exact
//!   product. Chunking adds one stage between the inner and the outer sum. Latency is
//!   `P + 1`, plus 1 with chunks: the beat presented in cycle t shows on `acc` with
//!   `out_valid` in cycle t + latency.
//! - Reset clears `acc`, the flags, `out_valid`, the chunk position and every valid bit.

use std::collections::VecDeque;
use std::fmt;
use std::ops::RangeInclusive;
use std::str::FromStr;

use clap::{Args, FromArgMatches};
use serde::{Deserialize, Serialize};

use crate::float::{Exact, FloatFormat, Rounded, Rounding};
use crate::iface::{split, CycleModel, Dir, Interface, Port, Role};
use crate::int;
use crate::unit::{check_range, ParamError, UnitParams};

/// Allowed integer operand widths.
pub const INT_BITS: RangeInclusive<u32> = 2..=16;
/// Allowed fraction bits of integer operands.
pub const FRAC_BITS: RangeInclusive<u32> = 0..=32;
/// Allowed exponent widths of every format.
pub const EXP_BITS: RangeInclusive<u32> = 2..=8;
/// Allowed stored mantissa bits of the product and accumulator formats.
pub const MAN_BITS: RangeInclusive<u32> = 1..=23;
/// Allowed stored mantissa bits of float operands (their exact product fits 24 bits).
pub const OPERAND_MAN_BITS: RangeInclusive<u32> = 1..=10;
/// Allowed exponent biases.
pub const BIAS: RangeInclusive<i32> = -128..=255;
/// Allowed chunk sizes (0 = no chunking).
pub const CHUNK: RangeInclusive<u32> = 0..=65535;
/// Allowed pipeline depths.
pub const PIPELINE: RangeInclusive<u32> = 0..=2;

/// The operands' number format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase", deny_unknown_fields)]
pub enum Operand {
    /// Two's-complement integers of `bits` bits with value `q * 2^-frac`.
    Int { bits: u32, frac: u32 },
    /// Small floats (no subnormals, every exponent field finite).
    Float { format: FloatFormat },
}

impl Operand {
    /// Width of one operand port.
    pub fn width(&self) -> u32 {
        match self {
            Operand::Int { bits, .. } => *bits,
            Operand::Float { format } => format.width(),
        }
    }

    /// The exact product of two operands given as raw port bits.
    pub fn product(&self, a: u64, b: u64) -> Exact {
        match self {
            Operand::Int { bits, frac } => {
                let v = |x: u64| int::from_bits(x.into(), *bits, true);
                Exact::from_int(v(a) * v(b), -2 * *frac as i32)
            }
            Operand::Float { format } => {
                let (x, y) = (format.decode(a), format.decode(b));
                if x.sig == 0 || y.sig == 0 {
                    return Exact::ZERO;
                }
                Exact {
                    neg: x.neg != y.neg,
                    sig: x.sig * y.sig,
                    exp: x.exp + y.exp,
                }
            }
        }
    }

    /// Short name for module names: `i8`, `i8f7`, `e4m3b7`.
    fn tag(&self) -> String {
        match self {
            Operand::Int { bits, frac: 0 } => format!("i{bits}"),
            Operand::Int { bits, frac } => format!("i{bits}f{frac}"),
            Operand::Float { format } => format_tag(format),
        }
    }
}

/// `e4m7b10`, `e8m23b127r` (`r`: top exponent reserved), `bm3` for a bias of -3.
fn format_tag(f: &FloatFormat) -> String {
    let bias = if f.bias < 0 {
        format!("m{}", -f.bias)
    } else {
        f.bias.to_string()
    };
    let r = if f.reserve_top_exponent { "r" } else { "" };
    format!("e{}m{}b{bias}{r}", f.exp_bits, f.man_bits)
}

/// Named accumulator formats (`--preset`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Preset {
    /// E4M7 with bias 10, every exponent field finite (largest 63.75, smallest 2^-9):
    /// the 12-bit accumulator of Blumenfeld et al. and of SPEC.md's worked case.
    Acc12,
    /// bfloat16 without subnormals: E8M7, bias 127, top exponent reserved.
    Bf16,
    /// IEEE binary32 without subnormals: E8M23, bias 127, top exponent reserved.
    Fp32,
}

impl Preset {
    /// The accumulator format.
    pub fn format(self) -> FloatFormat {
        match self {
            Preset::Acc12 => FloatFormat {
                exp_bits: 4,
                man_bits: 7,
                bias: 10,
                reserve_top_exponent: false,
            },
            Preset::Bf16 => FloatFormat {
                exp_bits: 8,
                man_bits: 7,
                bias: 127,
                reserve_top_exponent: true,
            },
            Preset::Fp32 => FloatFormat::BINARY32,
        }
    }
}

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
    /// Rounding of every `Q_prod` and `Q_acc`.
    pub rounding: Rounding,
    /// Products per chunk, 0 for no chunking.
    pub chunk: u32,
    /// Pipeline registers before the accumulator, 0..=2.
    pub pipeline: u32,
}

impl Default for FpaccParams {
    /// Signed 8-bit integer operands into the acc12 preset (products in E4M7 too), RNE,
    /// no chunks, not pipelined.
    fn default() -> Self {
        let acc = Preset::Acc12.format();
        FpaccParams {
            operand: Operand::Int { bits: 8, frac: 0 },
            product: acc,
            acc,
            rounding: Rounding::Rne,
            chunk: 0,
            pipeline: 0,
        }
    }
}

impl FpaccParams {
    /// The operands' value as exact products rounded into the product format.
    pub fn q_prod(&self, a: u64, b: u64) -> Rounded {
        self.product
            .round(self.operand.product(a, b), self.rounding)
    }

    /// `Q_acc(s + product)` with `s` in the accumulator format and `product` in the
    /// product format.
    pub fn q_acc(&self, s: u64, product: u64) -> Rounded {
        let sum = Exact::sum(self.acc.decode(s), self.product.decode(product));
        self.acc.round(sum, self.rounding)
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
            Operand::Int { bits, frac } => {
                check_range("--in", *bits, &INT_BITS)?;
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
        check_range("--pipeline", self.pipeline, &PIPELINE)
    }

    /// e.g. `fpacc_i8_e4m7b10_rne`, `fpacc_i8_e8m23b127r_rne_c16_p1`, with `_p<format>`
    /// after the operand when the product format differs from the accumulator's.
    fn module_name(&self) -> String {
        let mut name = format!("fpacc_{}", self.operand.tag());
        if self.product != self.acc {
            name += &format!("_p{}", format_tag(&self.product));
        }
        name += &format!(
            "_{}_{}",
            format_tag(&self.acc),
            match self.rounding {
                Rounding::Rne => "rne",
                Rounding::Rz => "rz",
            }
        );
        if self.chunk > 0 {
            name += &format!("_c{}", self.chunk);
        }
        if self.pipeline > 0 {
            name += &format!("_p{}", self.pipeline);
        }
        name
    }

    /// SPEC.md section 2: clk, rst, in_valid, clear, a, b -> acc, uf, of, out_valid.
    fn interface(&self) -> Interface {
        let operand = |name: &str| match &self.operand {
            Operand::Int { bits, .. } => Port::int(name, Dir::In, *bits, true),
            Operand::Float { format } => Port::float(name, Dir::In, format),
        };
        Interface {
            ports: vec![
                Port::bit("clk", Dir::In, Role::Clock),
                Port::bit("rst", Dir::In, Role::Reset),
                Port::bit("in_valid", Dir::In, Role::InValid),
                Port::bit("clear", Dir::In, Role::Clear),
                operand("a"),
                operand("b"),
                Port::float("acc", Dir::Out, &self.acc),
                Port::bit("uf", Dir::Out, Role::Flag),
                Port::bit("of", Dir::Out, Role::Flag),
                Port::bit("out_valid", Dir::Out, Role::OutValid),
            ],
        }
    }

    fn latency(&self) -> u32 {
        self.pipeline + 1 + u32::from(self.chunk > 0)
    }

    fn model(&self) -> Result<Box<dyn CycleModel + Send>, ParamError> {
        Ok(Box::new(Fpacc::new(*self)?))
    }

    fn pipeline_depths(&self) -> Option<RangeInclusive<u32>> {
        Some(PIPELINE)
    }

    fn with_pipeline(&self, depth: u32) -> Self {
        FpaccParams {
            pipeline: depth,
            ..*self
        }
    }
}

/// The arithmetic of SPEC.md section 2 without any timing: feed products in beat order,
/// read the accumulator. The cycle model and the accuracy tables both use it.
#[derive(Clone, Debug)]
pub struct FpaccSum {
    p: FpaccParams,
    /// The accumulator (sum of completed chunks) and its sticky flags.
    pub acc: u64,
    pub uf: bool,
    pub of: bool,
    inner: u64,
    pos: u32,
}

/// What one beat did inside the chunk: the inner sum after it, its flags (product
/// rounding and inner sum) and whether it completed the chunk.
#[derive(Clone, Copy, Debug, Default)]
struct InnerStep {
    sum: u64,
    uf: bool,
    of: bool,
    done: bool,
}

impl FpaccSum {
    pub fn new(p: FpaccParams) -> FpaccSum {
        FpaccSum {
            p,
            acc: 0,
            uf: false,
            of: false,
            inner: 0,
            pos: 0,
        }
    }

    /// The inner half of a chunked beat: add the product into the chunk's sum.
    fn inner_step(&mut self, clear: bool, product: Rounded) -> InnerStep {
        let pos = if clear { 0 } else { self.pos };
        let base = if pos == 0 { 0 } else { self.inner };
        let r = self.p.q_acc(base, product.bits);
        let done = pos + 1 == self.p.chunk;
        self.inner = r.bits;
        self.pos = if done { 0 } else { pos + 1 };
        InnerStep {
            sum: r.bits,
            uf: product.underflow || r.underflow,
            of: product.overflow || r.overflow,
            done,
        }
    }

    /// The outer half: restart on `clear`, add a completed chunk.
    fn outer_step(&mut self, clear: bool, s: InnerStep) {
        if clear {
            (self.acc, self.uf, self.of) = (0, false, false);
        }
        self.uf |= s.uf;
        self.of |= s.of;
        if s.done {
            let r = self.p.q_outer(self.acc, s.sum);
            self.acc = r.bits;
            self.uf |= r.underflow;
            self.of |= r.overflow;
        }
    }

    /// One beat with the product already rounded (`FpaccParams::q_prod`).
    fn step(&mut self, clear: bool, product: Rounded) {
        if self.p.chunk == 0 {
            let base = if clear { 0 } else { self.acc };
            let r = self.p.q_acc(base, product.bits);
            let keep = !clear;
            self.acc = r.bits;
            self.uf = (self.uf && keep) || product.underflow || r.underflow;
            self.of = (self.of && keep) || product.overflow || r.overflow;
        } else {
            let s = self.inner_step(clear, product);
            self.outer_step(clear, s);
        }
    }

    /// One beat of operands given as raw port bits.
    pub fn push(&mut self, clear: bool, a: u64, b: u64) {
        let product = self.p.q_prod(a, b);
        self.step(clear, product);
    }
}

/// A beat between the operands and the accumulator.
#[derive(Clone, Copy, Debug, Default)]
struct InFlight {
    valid: bool,
    clear: bool,
    product: Rounded,
}

/// Cycle model of `fpacc`: [`FpaccSum`] behind the RTL's registers.
#[derive(Clone, Debug)]
pub struct Fpacc {
    p: FpaccParams,
    iface: Interface,
    /// Product pipeline, newest first, `pipeline` entries.
    stages: VecDeque<InFlight>,
    sum: FpaccSum,
    /// With chunks: the register between the inner and the outer sum.
    chunk_stage: Option<(bool, InnerStep)>,
    out_valid: bool,
}

impl Fpacc {
    pub fn new(p: FpaccParams) -> Result<Fpacc, ParamError> {
        p.validate()?;
        Ok(Fpacc {
            p,
            iface: p.interface(),
            stages: std::iter::repeat_n(InFlight::default(), p.pipeline as usize).collect(),
            sum: FpaccSum::new(p),
            chunk_stage: None,
            out_valid: false,
        })
    }
}

impl CycleModel for Fpacc {
    fn interface(&self) -> &Interface {
        &self.iface
    }

    fn step(&mut self, inputs: &[u64], outputs: &mut [u64]) {
        outputs[0] = self.sum.acc;
        outputs[1] = self.sum.uf.into();
        outputs[2] = self.sum.of.into();
        outputs[3] = self.out_valid.into();
        let ins = split(self.iface.beat_inputs(), inputs);
        if ins[0][0] & 1 == 1 {
            *self = Fpacc::new(self.p).expect("validated");
            return;
        }
        let entering = InFlight {
            valid: ins[1][0] & 1 == 1,
            clear: ins[2][0] & 1 == 1,
            product: self.p.q_prod(ins[3][0], ins[4][0]),
        };
        self.stages.push_front(entering);
        let beat = self.stages.pop_back().expect("at least the entering beat");
        if self.p.chunk == 0 {
            self.out_valid = beat.valid;
            if beat.valid {
                self.sum.step(beat.clear, beat.product);
            }
            return;
        }
        // The outer sum takes last cycle's chunk register, then the inner sum refills it.
        self.out_valid = false;
        if let Some((clear, s)) = self.chunk_stage.take() {
            self.sum.outer_step(clear, s);
            self.out_valid = true;
        }
        if beat.valid {
            let s = self.sum.inner_step(beat.clear, beat.product);
            self.chunk_stage = Some((beat.clear, s));
        }
    }
}

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
fn default_bias(exp_bits: u32) -> i32 {
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
        bias: default_bias(exp_bits) + rng.int_i32(-2..=2),
        reserve_top_exponent: rng.one_in(4),
    }
}

impl crate::unit::Unit for FpaccParams {
    const COMMAND: &'static str = "fpacc";
    const SUMMARY: &'static str =
        "Low-precision floating-point accumulator: acc <= Q_acc(Q_prod(a*b) + acc)";
    const ABOUT: &'static str = "Multiplies integer or small-float operands exactly, rounds the \
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
    ];

    /// The default (8-bit operands into E4M7), the bf16 preset (PDR, about 30 s; the fp32
    /// preset takes equiv_induct about 2 minutes and is left to `gen prove fpacc --preset
    /// fp32`), and narrow ones in each mode (chunks, pipelines, float operands, RZ, a
    /// product wider than the accumulator).
    fn proof_set() -> Vec<Self> {
        let f = |exp_bits, man_bits, bias| FloatFormat {
            exp_bits,
            man_bits,
            bias,
            reserve_top_exponent: false,
        };
        let small = FpaccParams {
            operand: Operand::Int { bits: 4, frac: 0 },
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
                operand: Operand::Int { bits: 5, frac: 0 },
                product: f(4, 4, 7),
                acc: f(4, 4, 7),
                ..small
            },
            FpaccParams {
                chunk: 4,
                pipeline: 2,
                ..small
            },
            FpaccParams {
                operand: Operand::Float { format: f(2, 2, 1) },
                rounding: Rounding::Rz,
                pipeline: 1,
                ..small
            },
            FpaccParams {
                operand: Operand::Int { bits: 3, frac: 0 },
                product: f(4, 4, 6),
                acc: f(3, 2, 3),
                ..small
            },
        ]
    }

    fn sample(rng: &mut crate::unit::Sampler) -> Self {
        crate::unit::sample_valid(rng, |rng| {
            let operand = if rng.one_in(3) {
                let mut format = sample_format(rng, 2..=5, 1..=4);
                format.reserve_top_exponent = false;
                Operand::Float { format }
            } else {
                Operand::Int {
                    bits: rng.int(INT_BITS),
                    frac: rng.int(0..=8),
                }
            };
            let acc = sample_format(rng, EXP_BITS, MAN_BITS);
            let product = if rng.one_in(2) {
                acc
            } else {
                sample_format(rng, EXP_BITS, MAN_BITS)
            };
            FpaccParams {
                operand,
                product,
                acc,
                rounding: rng.pick(&[Rounding::Rne, Rounding::Rz]),
                chunk: if rng.one_in(2) { 0 } else { rng.int(1..=20) },
                pipeline: rng.int(PIPELINE),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn acc12_float_operands() -> FpaccParams {
        // E5M2 operands with bias 15 reach 2^-4 * 2^-4 = 2^-8 exactly.
        FpaccParams {
            operand: Operand::Float {
                format: FloatFormat {
                    exp_bits: 5,
                    man_bits: 2,
                    bias: 15,
                    reserve_top_exponent: false,
                },
            },
            ..FpaccParams::default()
        }
    }

    /// E5M2 bits of 2^e.
    fn pow2(e: i32) -> u64 {
        ((e + 15) as u64) << 2
    }

    /// SPEC.md section 2: start at 1.0, add 2^-8 256 times: 1.0 without chunks (every add
    /// is a tie to even), 2.0 with chunks of 16 (1.0 enters as a chunk of its own: 1.0 and
    /// 15 zeros).
    #[test]
    fn spec_worked_cases() {
        let p = acc12_float_operands();
        let value = |s: &FpaccSum| p.acc.decode(s.acc).to_f64();
        let mut s = FpaccSum::new(p);
        s.push(true, pow2(0), pow2(0));
        for _ in 0..256 {
            s.push(false, pow2(-4), pow2(-4));
        }
        assert_eq!((value(&s), s.uf, s.of), (1.0, false, false));

        let p = FpaccParams { chunk: 16, ..p };
        let mut s = FpaccSum::new(p);
        s.push(true, pow2(0), pow2(0));
        for _ in 0..15 {
            s.push(false, 0, 0);
        }
        assert_eq!(value(&s), 1.0);
        for _ in 0..256 {
            s.push(false, pow2(-4), pow2(-4));
        }
        assert_eq!((value(&s), s.uf, s.of), (2.0, false, false));

        // 63.75 + 1 saturates at 63.75 and sets `of`: integer operands 63.75 = 255 * 2^-2.
        let p = FpaccParams {
            operand: Operand::Int { bits: 10, frac: 1 },
            ..FpaccParams::default()
        };
        let mut s = FpaccSum::new(p);
        s.push(true, 255, 1); // 255/2 * 1/2
        assert_eq!((value(&s), s.of), (63.75, false));
        s.push(false, 2, 2); // 1.0
        assert_eq!((value(&s), s.of), (63.75, true));
        // 2^-10 alone flushes to zero and sets `uf`.
        let p = FpaccParams {
            operand: Operand::Int { bits: 8, frac: 5 },
            ..FpaccParams::default()
        };
        let mut s = FpaccSum::new(p);
        s.push(true, 1, 1); // 2^-10
        assert_eq!((s.acc, s.uf, s.of), (0, true, false));
        // clear drops the flag.
        s.push(true, 32, 32);
        assert_eq!((value(&s), s.uf), (1.0, false));
    }

    #[test]
    fn presets_and_names() {
        let p = FpaccParams::default();
        assert_eq!(p.module_name(), "fpacc_i8_e4m7b10_rne");
        assert_eq!(p.latency(), 1);
        let fp32 = FpaccParams {
            acc: Preset::Fp32.format(),
            product: Preset::Fp32.format(),
            chunk: 16,
            pipeline: 1,
            ..p
        };
        assert_eq!(fp32.module_name(), "fpacc_i8_e8m23b127r_rne_c16_p1");
        assert_eq!(fp32.latency(), 3);
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

    /// The cycle model shows each beat's result `latency` cycles after it.
    #[test]
    fn cycle_model_latency() {
        for (chunk, pipeline) in [(0, 0), (0, 2), (1, 0), (3, 1)] {
            let p = FpaccParams {
                chunk,
                pipeline,
                ..FpaccParams::default()
            };
            let mut m = Fpacc::new(p).unwrap();
            let mut out = [0u64; 4];
            // rst, in_valid, clear, a, b: 3 * 2 = 6 with clear.
            m.step(&[0, 1, 1, 3, 2], &mut out);
            for _ in 0..p.latency() {
                assert_eq!(out[3], 0, "{p:?}");
                m.step(&[0, 0, 0, 0, 0], &mut out);
            }
            assert_eq!(out[3], 1, "{p:?}");
            let want = if chunk == 3 { 0.0 } else { 6.0 };
            assert_eq!(p.acc.decode(out[0]).to_f64(), want, "{p:?}");
        }
    }
}
