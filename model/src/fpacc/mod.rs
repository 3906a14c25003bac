//! Low-precision floating-point accumulator `fpacc` (docs/fpacc.md):
//! `FMAq(a, b, s) = Q_acc(Q_prod(a * b) + s)`, after Blumenfeld, Hubara and Soudry (ICLR
//! 2024), who train networks to run on accumulators as narrow as 12 bits (E4M7).
//!
//! Per accepted beat, in beat order:
//! - the exact product of the operands (signed N-bit integers, optionally fixed point
//!   with `frac` fraction bits, each operand optionally of its own width and signedness,
//!   or small floats ExMy) is rounded into the product format
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
//! Choices docs/fpacc.md leaves open, made here and mirrored by the RTL:
//! - Operand floats have no subnormals either (exponent field 0 is zero) and every
//!   exponent field is finite; their bias defaults to `2^(E-1) - 1`.
//! - The product format defaults to the accumulator format.
//! - `clear` starts a new sum with the beat that carries it: the outer sum restarts, and
//!   so does the chunk (its partial sum is dropped, the beat is the chunk's first).
//! - `acc` shows the sum of the completed chunks. A stream whose length is not a multiple
//!   of n is padded with zero beats (`a = 0`): a zero product leaves every sum unchanged.
//! - Latency 1, plus 1 with chunks (a stage between the inner and the outer sum): the beat
//!   presented in cycle t shows on `acc` with `out_valid` in cycle t + latency;
//!   `--pipeline P` adds P (`crate::pipeline`).
//! - Reset clears `acc`, the flags, `out_valid`, the chunk position and every valid bit.

mod args;
mod interleave;
mod long;
mod params;
mod sum;

use std::ops::RangeInclusive;

use serde::{Deserialize, Serialize};

use crate::float::{Exact, FloatFormat};
use crate::int;

pub use args::ExpMan;
pub use interleave::{
    latency as interleave_latency, readout_stages as interleave_readout_stages, FpaccInterleaved,
    InterleavedSum, INTERLEAVE,
};
pub use long::{
    long_readout, FpaccLong, FpaccLongParams, FpaccLongSum, ReadoutPipe, GUARD, MAX_LONG_BITS,
    READOUT_STAGES,
};
pub use params::FpaccParams;
pub use sum::{Fpacc, FpaccSum, SrFields};

/// Allowed integer operand widths.
pub const INT_BITS: RangeInclusive<u32> = args::IN.range();
/// Allowed fraction bits of integer operands.
pub const FRAC_BITS: RangeInclusive<u32> = args::IN_FRAC.range();
/// Allowed exponent widths of every format.
pub const EXP_BITS: RangeInclusive<u32> = args::EXP.range();
/// Allowed stored mantissa bits of the product and accumulator formats.
pub const MAN_BITS: RangeInclusive<u32> = args::MAN.range();
/// Allowed stored mantissa bits of float operands (their exact product fits 24 bits).
pub const OPERAND_MAN_BITS: RangeInclusive<u32> = 1..=10;
/// Allowed exponent biases.
pub const BIAS: RangeInclusive<i32> = args::BIAS_FLAG.range_i32();
/// Allowed chunk sizes (0 = no chunking).
pub const CHUNK: RangeInclusive<u32> = args::CHUNK_FLAG.range();

/// One integer operand's width and signedness (the type `mac` uses for its operands).
pub use crate::mac::Operand as IntOperand;

fn yes() -> bool {
    true
}

fn is_yes(v: &bool) -> bool {
    *v
}

/// The operands' number format.
///
/// Integer operands: `bits` and `signed` describe operand `a`, and `b` too unless `b`
/// says otherwise (mixed operands, `--in-a`/`--in-b`/`--a-unsigned`/`--b-unsigned`, the
/// rules of `mac`); both share the fraction bits `frac`. `signed` defaults to true and
/// `b` to `None` and neither is written when so, so a design whose operands agree keeps
/// its parameters, name and metadata.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase", deny_unknown_fields)]
pub enum Operand {
    /// Integers of `bits` bits (two's complement unless `signed` is false) with value
    /// `q * 2^-frac`; operand `b` as `b` says when set.
    Int {
        bits: u32,
        frac: u32,
        #[serde(default = "yes", skip_serializing_if = "is_yes")]
        signed: bool,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        b: Option<IntOperand>,
    },
    /// Small floats (no subnormals, every exponent field finite).
    Float { format: FloatFormat },
}

impl Operand {
    /// Signed `bits`-bit integer operands (both alike) with `frac` fraction bits.
    pub const fn int(bits: u32, frac: u32) -> Operand {
        Operand::Int {
            bits,
            frac,
            signed: true,
            b: None,
        }
    }

    /// Integer operands `a` and `b` with `frac` fraction bits; `b` is stored only when
    /// it differs from `a`, so equal operands give [`Operand::int`]'s value.
    pub fn mixed(a: IntOperand, b: IntOperand, frac: u32) -> Operand {
        Operand::Int {
            bits: a.bits,
            frac,
            signed: a.signed,
            b: (b != a).then_some(b),
        }
    }

    /// The integer operands `(a, b)`, or `None` for float operands.
    pub fn ints(&self) -> Option<(IntOperand, IntOperand)> {
        match self {
            Operand::Int {
                bits, signed, b, ..
            } => {
                let a = IntOperand {
                    bits: *bits,
                    signed: *signed,
                };
                Some((a, b.unwrap_or(a)))
            }
            Operand::Float { .. } => None,
        }
    }

    /// Integer operands that differ from signed operands of one width.
    pub fn is_mixed(&self) -> bool {
        matches!(
            self,
            Operand::Int { signed: false, .. } | Operand::Int { b: Some(_), .. }
        )
    }

    /// Width of port `a`.
    pub fn width(&self) -> u32 {
        match self {
            Operand::Int { bits, .. } => *bits,
            Operand::Float { format } => format.width(),
        }
    }

    /// Width of port `b`.
    pub fn width_b(&self) -> u32 {
        match self.ints() {
            Some((_, b)) => b.bits,
            None => self.width(),
        }
    }

    /// Bits of the exact integer product `a * b` (`NA + NB`, which hold every product
    /// of either signedness), or `None` for float operands.
    pub fn int_product_bits(&self) -> Option<u32> {
        self.ints().map(|(a, b)| a.bits + b.bits)
    }

    /// The exact product of two operands given as raw port bits.
    pub fn product(&self, a: u64, b: u64) -> Exact {
        match self {
            Operand::Int { frac, .. } => {
                let (oa, ob) = self.ints().expect("integer operands");
                let v = |x: u64, o: IntOperand| int::from_bits(x.into(), o.bits, o.signed);
                Exact::from_int(v(a, oa) * v(b, ob), -2 * *frac as i32)
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

    /// Short name for module names: `i8`, `i8f7`, `e4m3b7`; mixed integer operands as
    /// `mac` names them, `i` for signed and `u` for unsigned: `i4x8` (widths differ),
    /// `i4xu8` (signedness differs, each its letter), `u8` (both unsigned), `i4xu8f2`.
    fn tag(&self) -> String {
        match self {
            Operand::Int { frac, .. } => {
                let (a, b) = self.ints().expect("integer operands");
                let letter = |o: IntOperand| if o.signed { 'i' } else { 'u' };
                let mut t = if a == b {
                    format!("{}{}", letter(a), a.bits)
                } else if a.signed == b.signed {
                    format!("{}{}x{}", letter(a), a.bits, b.bits)
                } else {
                    format!("{}{}x{}{}", letter(a), a.bits, letter(b), b.bits)
                };
                if *frac > 0 {
                    t += &format!("f{frac}");
                }
                t
            }
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
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Preset {
    /// E4M7 with bias 10, every exponent field finite (largest 63.75, smallest 2^-9):
    /// the 12-bit accumulator of Blumenfeld et al. and of docs/fpacc.md's worked case.
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

/// The ports of the accumulators fed by products of two operands (`fpacc`,
/// `fpacc_long`): clk, rst, in_valid, clear, a, b -> acc, uf, of, out_valid.
pub(crate) fn accumulator_interface(
    operand: &Operand,
    acc: &FloatFormat,
) -> crate::iface::Interface {
    use crate::iface::{Dir, Interface, Port, Role};
    let port = |name: &str| match (operand.ints(), operand) {
        (Some((a, b)), _) => {
            let o = if name == "a" { a } else { b };
            Port::int(name, Dir::In, o.bits, o.signed)
        }
        (None, Operand::Float { format }) => Port::float(name, Dir::In, format),
        (None, Operand::Int { .. }) => unreachable!("integer operands have ints()"),
    };
    Interface {
        ports: vec![
            Port::bit("clk", Dir::In, Role::Clock),
            Port::bit("rst", Dir::In, Role::Reset),
            Port::bit("in_valid", Dir::In, Role::InValid),
            Port::bit("clear", Dir::In, Role::Clear),
            port("a"),
            port("b"),
            Port::float("acc", Dir::Out, acc),
            Port::bit("uf", Dir::Out, Role::Flag),
            Port::bit("of", Dir::Out, Role::Flag),
            Port::bit("out_valid", Dir::Out, Role::OutValid),
        ],
    }
}
