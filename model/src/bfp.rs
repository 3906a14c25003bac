//! Block floating point, HBFP style (SPEC.md section 3): one shared exponent `E_s` per
//! block of `n` values, each value an `m`-bit two's-complement integer `q_i` clamped to the
//! symmetric range `[-(2^(m-1)-1), 2^(m-1)-1]`; `value_i = q_i * 2^E_s`.
//!
//! This module is the arithmetic of the converter ([`quantize`]), the block dot product
//! ([`dot`], [`DotAccumulator`]) and the shared-exponent block adder ([`add`]). Choices
//! SPEC.md leaves open, made here:
//! - `E_s` is clamped to the range of its `exp_bits`-bit two's-complement field; an
//!   all-zero block gets the minimum. (With the default 10 bits no binary32 input clamps.)
//! - Stochastic rounding (SR) takes `rnd_bits` random bits per element: the scaled value is
//!   cut to `rnd_bits` fraction bits (truncating), `rnd` is added there, and the fraction
//!   is dropped. In the converter this acts on the magnitude (sign-magnitude input); in
//!   the adder on the two's-complement value (a floor), both unbiased.
//! - The adder rounds twice at most: aligning the smaller-exponent block (random bits in
//!   `rnd`'s low `rnd_bits`), and the one renormalising shift (the next `rnd_bits`).
//! - The dot product's binary32 accumulator saturates at `f32::MAX` and flushes below
//!   `f32::MIN_POSITIVE`, with sticky `of`/`uf` flags, like `fpacc` (SPEC.md section 2).

use std::ops::RangeInclusive;

use serde::{Deserialize, Serialize};

use crate::float::{Exact, FloatFormat, Rounded, Rounding};
use crate::iface::{get_field, set_field, split, CycleModel, Dir, Interface, Port, Role};
use crate::int;
use crate::unit::{check_range, ParamError, UnitParams};

/// Rounding of the converter and the adder.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum BfpRounding {
    /// Round to nearest, ties to even.
    Rne,
    /// Round toward zero.
    Rz,
    /// Stochastic: add random bits below the kept LSB, then truncate.
    Sr,
}

/// The shape of one HBFP format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct BfpFormat {
    /// Mantissa bits m, two's complement, symmetric range.
    pub mant_bits: u32,
    /// Width of the shared exponent, two's complement.
    pub exp_bits: u32,
}

impl BfpFormat {
    /// Largest mantissa magnitude, `2^(m-1) - 1`.
    pub fn qmax(&self) -> i64 {
        (1 << (self.mant_bits - 1)) - 1
    }
    pub fn exp_min(&self) -> i32 {
        int::min_value(self.exp_bits, true) as i32
    }
    pub fn exp_max(&self) -> i32 {
        int::max_value(self.exp_bits, true) as i32
    }
    fn clamp_q(&self, q: i64) -> i64 {
        q.clamp(-self.qmax(), self.qmax())
    }
}

/// One block: shared exponent and mantissas.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Block {
    pub exp: i32,
    pub q: Vec<i64>,
}

/// `v / 2^shift` rounded, for a non-negative `v`: the converter's magnitude rounding.
fn round_magnitude(v: u128, shift: i32, mode: BfpRounding, rnd: u64, rnd_bits: u32) -> u128 {
    if shift <= 0 {
        return v << (-shift).min(64);
    }
    if shift >= 127 {
        // Below every rounding threshold: only SR with a carry could reach 1, and it cannot
        // since the kept fraction truncates to zero.
        return 0;
    }
    let s = shift as u32;
    match mode {
        BfpRounding::Rz => v >> s,
        BfpRounding::Rne => {
            let (kept, rest, half) = (v >> s, v & ((1 << s) - 1), 1u128 << (s - 1));
            kept + u128::from(rest > half || (rest == half && kept & 1 == 1))
        }
        BfpRounding::Sr => {
            let frac = if s >= rnd_bits {
                v >> (s - rnd_bits)
            } else {
                v << (rnd_bits - s)
            };
            (frac + u128::from(rnd)) >> rnd_bits
        }
    }
}

/// `v / 2^shift` rounded, for a signed `v`: the adder's alignment and renormalisation.
pub fn shift_round(v: i64, shift: u32, mode: BfpRounding, rnd: u64, rnd_bits: u32) -> i64 {
    if shift == 0 {
        return v;
    }
    match mode {
        BfpRounding::Rne | BfpRounding::Rz => {
            let mag = round_magnitude(
                u128::from(v.unsigned_abs()),
                shift.min(126) as i32,
                mode,
                0,
                0,
            ) as i64;
            if v < 0 {
                -mag
            } else {
                mag
            }
        }
        BfpRounding::Sr => {
            // floor(v * 2^(rnd_bits - shift)), plus rnd, then floor by 2^rnd_bits.
            let wide = i128::from(v) << rnd_bits;
            let frac = wide >> shift.min(126);
            ((frac + i128::from(rnd)) >> rnd_bits) as i64
        }
    }
}

/// The converter's result.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Quantized {
    pub block: Block,
    /// Some input was NaN or infinity.
    pub inv: bool,
}

/// Convert a block of binary32 values (as bits) to HBFP (SPEC.md section 3, `bfp_quant`).
/// `rnd` holds one random word per element (used with [`BfpRounding::Sr`] only).
pub fn quantize(
    f: &BfpFormat,
    x: &[u32],
    mode: BfpRounding,
    rnd: &[u64],
    rnd_bits: u32,
) -> Quantized {
    let mut inv = false;
    // (negative, significand with the hidden one, unbiased exponent) of each nonzero input.
    let parts: Vec<Option<(bool, u128, i32)>> = x
        .iter()
        .map(|&bits| {
            let neg = bits >> 31 == 1;
            let (field, man) = ((bits >> 23) & 0xff, bits & 0x7f_ffff);
            match field {
                0 => None, // zero or subnormal: zero
                255 => {
                    inv = true; // NaN or infinity: the largest finite magnitude
                    Some((neg, 0xff_ffff, 127))
                }
                _ => Some((neg, u128::from(man | 0x80_0000), field as i32 - 127)),
            }
        })
        .collect();
    let Some(max_exp) = parts.iter().flatten().map(|p| p.2).max() else {
        return Quantized {
            block: Block {
                exp: f.exp_min(),
                q: vec![0; x.len()],
            },
            inv,
        };
    };
    let exp = (max_exp - (f.mant_bits as i32 - 2)).clamp(f.exp_min(), f.exp_max());
    let q = parts
        .iter()
        .enumerate()
        .map(|(i, p)| match p {
            None => 0,
            Some((neg, sig, e)) => {
                // |x| / 2^exp = sig * 2^(e - 23 - exp).
                let r = rnd.get(i).copied().unwrap_or(0);
                let mag = round_magnitude(*sig, 23 + exp - e, mode, r, rnd_bits)
                    .min(f.qmax() as u128) as i64;
                if *neg {
                    -mag
                } else {
                    mag
                }
            }
        })
        .collect();
    Quantized {
        block: Block { exp, q },
        inv,
    }
}

/// Width of the exact integer dot product of two blocks of `n` m-bit mantissas:
/// `2(m-1) + ceil(log2 n) + 1`.
pub fn dot_width(mant_bits: u32, n: u32) -> u32 {
    2 * (mant_bits - 1) + n.next_power_of_two().trailing_zeros() + 1
}

/// Exact dot product of two blocks: integer sum of products and exponent `E_a + E_b`.
pub fn dot(a: &Block, b: &Block) -> (i64, i32) {
    let sum = a.q.iter().zip(&b.q).map(|(x, y)| x * y).sum();
    (sum, a.exp + b.exp)
}

/// One block's exact dot product `sum * 2^exp` as binary32 (RNE, no subnormals): the
/// conversion stage of `bfp_dot`. Block sums have at most 22 bits, so only the exponent
/// range can make it inexact (flush to zero or saturate, with the flag).
pub fn block_to_binary32(sum: i64, exp: i32) -> Rounded {
    FloatFormat::BINARY32.round(Exact::from_int(sum.into(), exp), Rounding::Rne)
}

/// The cross-block binary32 accumulator of `bfp_dot`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DotAccumulator {
    /// binary32 bits.
    pub acc: u32,
    pub uf: bool,
    pub of: bool,
}

impl DotAccumulator {
    /// Add one block's converted dot product `v` (RNE, no subnormals); `clear` starts a
    /// new dot product with `v` (and fresh flags).
    pub fn add(&mut self, clear: bool, v: Rounded) {
        let f = FloatFormat::BINARY32;
        let (base, uf, of) = if clear {
            (0, false, false)
        } else {
            (self.acc, self.uf, self.of)
        };
        let r = f.round(
            Exact::sum(f.decode(base.into()), f.decode(v.bits)),
            Rounding::Rne,
        );
        *self = DotAccumulator {
            acc: r.bits as u32,
            uf: uf || v.underflow || r.underflow,
            of: of || v.overflow || r.overflow,
        };
    }

    /// Add one block pair: the exact block dot product is converted to binary32, then
    /// accumulated ([`DotAccumulator::add`]).
    pub fn step(&mut self, clear: bool, a: &Block, b: &Block) {
        let (sum, exp) = dot(a, b);
        self.add(clear, block_to_binary32(sum, exp));
    }
}

/// Shared-exponent block adder (SPEC.md section 3, `bfp_add`). `rnd` holds one random
/// word per element: its low `rnd_bits` for the alignment, the next `rnd_bits` for the
/// renormalising shift (SR only).
pub fn add(
    f: &BfpFormat,
    a: &Block,
    b: &Block,
    mode: BfpRounding,
    rnd: &[u64],
    rnd_bits: u32,
) -> Block {
    let (big, small) = if a.exp >= b.exp { (a, b) } else { (b, a) };
    let d = (big.exp - small.exp) as u32;
    let mask = (1u64 << rnd_bits) - 1;
    let r = |i: usize, k: u32| rnd.get(i).map_or(0, |w| (w >> (k * rnd_bits)) & mask);
    let mut sums: Vec<i64> = big
        .q
        .iter()
        .zip(&small.q)
        .enumerate()
        .map(|(i, (x, y))| x + shift_round(*y, d, mode, r(i, 0), rnd_bits))
        .collect();
    let mut exp = big.exp;
    if sums.iter().any(|s| s.abs() > f.qmax()) && exp < f.exp_max() {
        sums = sums
            .iter()
            .enumerate()
            .map(|(i, s)| shift_round(*s, 1, mode, r(i, 1), rnd_bits))
            .collect();
        exp += 1;
    }
    Block {
        exp,
        q: sums.into_iter().map(|s| f.clamp_q(s)).collect(),
    }
}

/// Allowed block sizes n.
pub const BLOCK: RangeInclusive<u32> = 1..=64;
/// Allowed mantissa widths m.
pub const MANT_BITS: RangeInclusive<u32> = 2..=8;
/// Allowed shared-exponent widths: 9 bits hold every exponent a binary32 block can have.
pub const EXP_BITS: RangeInclusive<u32> = 9..=16;
/// Allowed random bits per element for stochastic rounding.
pub const RND_BITS: RangeInclusive<u32> = 1..=16;

/// Mantissa widths a mixed-mantissa unit can switch between at run time, e.g. `4,6`
/// (HBFP4 for most layers, HBFP6 where accuracy needs it). A set of widths in 2..=8;
/// written and serialized as the ascending list.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Modes(u16);

impl Modes {
    /// The widths, ascending.
    pub fn list(&self) -> Vec<u32> {
        (2..=8).filter(|m| self.0 >> m & 1 == 1).collect()
    }

    /// Bits of the `mode` input: enough to index every width.
    pub fn select_bits(&self) -> u32 {
        let n = self.list().len() as u32;
        (32 - (n - 1).leading_zeros()).max(1)
    }

    /// The width `mode` selects: the mode-th smallest; indexes past the list select the
    /// widest.
    pub fn width(&self, mode: u64) -> u32 {
        let l = self.list();
        l[(mode as usize).min(l.len() - 1)]
    }
}

impl std::str::FromStr for Modes {
    type Err = String;
    fn from_str(text: &str) -> Result<Modes, String> {
        let mut bits = 0u16;
        for part in text.split(',') {
            let m: u32 = part
                .trim()
                .parse()
                .map_err(|_| format!("'{part}' is not a width; give widths such as 4,6"))?;
            if !MANT_BITS.contains(&m) {
                return Err(format!("width {m} is outside 2..=8"));
            }
            bits |= 1 << m;
        }
        Ok(Modes(bits))
    }
}

impl std::fmt::Display for Modes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let l: Vec<String> = self.list().iter().map(u32::to_string).collect();
        write!(f, "{}", l.join(","))
    }
}

impl Serialize for Modes {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.list().serialize(s)
    }
}

impl<'de> Deserialize<'de> for Modes {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Modes, D::Error> {
        let l = Vec::<u32>::deserialize(d)?;
        let text: Vec<String> = l.iter().map(u32::to_string).collect();
        text.join(",").parse().map_err(serde::de::Error::custom)
    }
}

/// `--modes` must list two or more widths, the widest equal to `--mant`.
fn check_modes(modes: Option<Modes>, mant_bits: u32) -> Result<(), ParamError> {
    let Some(modes) = modes else { return Ok(()) };
    let l = modes.list();
    if l.len() < 2 || l.last() != Some(&mant_bits) {
        return Err(ParamError {
            param: "--modes",
            value: modes.to_string(),
            allowed: format!(
                "two or more widths in 2..={mant_bits}, the widest equal to --mant {mant_bits}"
            ),
        });
    }
    Ok(())
}

/// `--lanes` must divide `--block`.
fn check_lanes(block: u32, lanes: u32) -> Result<(), ParamError> {
    if lanes == 0 || lanes > block || !block.is_multiple_of(lanes) {
        let divisors: Vec<String> = (1..=block)
            .filter(|d| block.is_multiple_of(*d))
            .map(|d| d.to_string())
            .collect();
        return Err(ParamError {
            param: "--lanes",
            value: lanes.to_string(),
            allowed: format!("a divisor of --block {block}: {}", divisors.join(", ")),
        });
    }
    Ok(())
}

/// Parameters of the FP32-to-HBFP converter `bfp_quant` (SPEC.md section 3).
///
/// Beats carry `lanes` binary32 values on `x`; every `block / lanes` valid beats make one
/// block, and one cycle after a block's last beat `e`, `q` and `inv` show its conversion
/// with `out_valid` high (latency 1 from the last beat). `inv` tells that the block had a
/// NaN or infinity. With `--rounding sr` the unit has an input `rnd` of `rnd_bits` random
/// bits per element, sampled with the block's last beat; the other modes have no `rnd`.
/// Reset clears the outputs and drops a partly received block.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, clap::Args)]
#[serde(deny_unknown_fields)]
pub struct BfpQuantParams {
    /// Block size n: values sharing one exponent, 1..=64.
    #[arg(long, value_name = "N", default_value_t = 16, allow_negative_numbers = true,
          value_parser = clap::value_parser!(u32).range(1..=64))]
    pub block: u32,
    /// Mantissa bits m (two's complement, symmetric range), 2..=8.
    #[arg(long = "mant", value_name = "BITS", default_value_t = 4, allow_negative_numbers = true,
          value_parser = clap::value_parser!(u32).range(2..=8))]
    pub mant_bits: u32,
    /// Width of the signed shared exponent, 9..=16.
    #[arg(long = "exp-bits", value_name = "BITS", default_value_t = 10, allow_negative_numbers = true,
          value_parser = clap::value_parser!(u32).range(9..=16))]
    pub exp_bits: u32,
    /// Rounding of the mantissas.
    #[arg(long, value_enum, value_name = "MODE", default_value_t = BfpRounding::Rne)]
    pub rounding: BfpRounding,
    /// Random bits per element for --rounding sr, 1..=16.
    #[arg(long = "rnd-bits", value_name = "BITS", default_value_t = 8, allow_negative_numbers = true,
          value_parser = clap::value_parser!(u32).range(1..=16))]
    pub rnd_bits: u32,
    /// Values accepted per beat, a divisor of --block [default: the whole block].
    #[arg(long, value_name = "L", allow_negative_numbers = true)]
    pub lanes: Option<u32>,
    /// Mixed mantissa: widths a `mode` input selects at run time, e.g. 4,6 with --mant 6
    /// (--mant must be the widest). Mode k selects the k-th smallest width.
    #[arg(long, value_name = "M,M,..")]
    #[serde(default)]
    pub modes: Option<Modes>,
}

impl Default for BfpQuantParams {
    /// HBFP4, blocks of 16, the whole block per beat, RNE.
    fn default() -> Self {
        BfpQuantParams {
            block: 16,
            mant_bits: 4,
            exp_bits: 10,
            rounding: BfpRounding::Rne,
            rnd_bits: 8,
            lanes: None,
            modes: None,
        }
    }
}

impl BfpQuantParams {
    /// Values per beat.
    pub fn lanes(&self) -> u32 {
        self.lanes.unwrap_or(self.block)
    }

    /// Beats per block.
    pub fn beats_per_block(&self) -> u32 {
        self.block / self.lanes()
    }

    /// The HBFP format.
    pub fn format(&self) -> BfpFormat {
        BfpFormat {
            mant_bits: self.mant_bits,
            exp_bits: self.exp_bits,
        }
    }

    /// Whether the unit has an `rnd` input.
    pub fn stochastic(&self) -> bool {
        self.rounding == BfpRounding::Sr
    }
}

impl UnitParams for BfpQuantParams {
    const KIND: &'static str = "bfp_quant";

    fn validate(&self) -> Result<(), ParamError> {
        check_range("--block", self.block, &BLOCK)?;
        check_range("--mant", self.mant_bits, &MANT_BITS)?;
        check_range("--exp-bits", self.exp_bits, &EXP_BITS)?;
        check_range("--rnd-bits", self.rnd_bits, &RND_BITS)?;
        check_modes(self.modes, self.mant_bits)?;
        check_lanes(self.block, self.lanes())
    }

    /// e.g. `bfp_quant_n16_m4_e10_rne`, `bfp_quant_n16_m4_e10_sr8_l4`.
    fn module_name(&self) -> String {
        let r = match self.rounding {
            BfpRounding::Rne => "rne".to_string(),
            BfpRounding::Rz => "rz".to_string(),
            BfpRounding::Sr => format!("sr{}", self.rnd_bits),
        };
        let mut name = format!(
            "bfp_quant_n{}_m{}_e{}_{r}",
            self.block, self.mant_bits, self.exp_bits
        );
        if self.lanes() < self.block {
            name += &format!("_l{}", self.lanes());
        }
        if let Some(modes) = self.modes {
            name += &format!("_modes{}", modes.to_string().replace(',', "_"));
        }
        name
    }

    /// clk, rst, in_valid, x[32L-1:0], rnd (SR only), mode (mixed mantissa only) ->
    /// e, q[m*n-1:0], inv, out_valid.
    fn interface(&self) -> Interface {
        let mut ports = vec![
            Port::bit("clk", Dir::In, Role::Clock),
            Port::bit("rst", Dir::In, Role::Reset),
            Port::bit("in_valid", Dir::In, Role::InValid),
            Port::binary32("x", Dir::In, self.lanes()),
        ];
        if self.stochastic() {
            ports.push(Port::random("rnd", self.rnd_bits * self.block));
        }
        if let Some(modes) = self.modes {
            ports.push(Port::int("mode", Dir::In, modes.select_bits(), false));
        }
        ports.extend([
            Port::int("e", Dir::Out, self.exp_bits, true),
            Port::int_vec("q", Dir::Out, self.mant_bits, true, self.block),
            Port::bit("inv", Dir::Out, Role::Flag),
            Port::bit("out_valid", Dir::Out, Role::OutValid),
        ]);
        Interface { ports }
    }

    fn latency(&self) -> u32 {
        1
    }

    fn model(&self) -> Result<Box<dyn CycleModel + Send>, ParamError> {
        Ok(Box::new(BfpQuant::new(*self)?))
    }
}

/// Cycle model of `bfp_quant`.
#[derive(Clone, Debug)]
pub struct BfpQuant {
    p: BfpQuantParams,
    iface: Interface,
    /// Values of the block being received.
    pending: Vec<u32>,
    e: i32,
    q: Vec<i64>,
    inv: bool,
    out_valid: bool,
}

impl BfpQuant {
    pub fn new(p: BfpQuantParams) -> Result<BfpQuant, ParamError> {
        p.validate()?;
        Ok(BfpQuant {
            p,
            iface: p.interface(),
            pending: Vec::new(),
            e: 0,
            q: vec![0; p.block as usize],
            inv: false,
            out_valid: false,
        })
    }
}

impl CycleModel for BfpQuant {
    fn interface(&self) -> &Interface {
        &self.iface
    }

    fn step(&mut self, inputs: &[u64], outputs: &mut [u64]) {
        let p = self.p;
        let mut out = split(self.iface.outputs(), outputs)
            .into_iter()
            .map(<[u64]>::to_vec)
            .collect::<Vec<_>>();
        out[0][0] = int::to_bits(self.e.into(), p.exp_bits) as u64;
        for (i, q) in self.q.iter().enumerate() {
            set_field(
                &mut out[1],
                i as u32 * p.mant_bits,
                p.mant_bits,
                int::to_bits((*q).into(), p.mant_bits) as u64,
            );
        }
        out[2][0] = self.inv as u64;
        out[3][0] = self.out_valid as u64;
        outputs.copy_from_slice(&out.concat());

        let ins = split(self.iface.beat_inputs(), inputs);
        let (rst, valid) = (ins[0][0] & 1 == 1, ins[1][0] & 1 == 1);
        self.out_valid = false;
        if rst {
            *self = BfpQuant::new(p).expect("validated");
            return;
        }
        if !valid {
            return;
        }
        self.pending
            .extend((0..p.lanes()).map(|i| get_field(ins[2], 32 * i, 32) as u32));
        if self.pending.len() < p.block as usize {
            return;
        }
        let rnd: Vec<u64> = if p.stochastic() {
            (0..p.block)
                .map(|i| get_field(ins[3], i * p.rnd_bits, p.rnd_bits))
                .collect()
        } else {
            Vec::new()
        };
        // A mixed-mantissa unit converts with the width `mode` selects; the m-bit result
        // sits sign-extended in the --mant-bit field.
        let format = match p.modes {
            Some(modes) => BfpFormat {
                mant_bits: modes.width(ins[ins.len() - 1][0]),
                ..p.format()
            },
            None => p.format(),
        };
        let r = quantize(&format, &self.pending, p.rounding, &rnd, p.rnd_bits);
        self.pending.clear();
        (self.e, self.q, self.inv, self.out_valid) = (r.block.exp, r.block.q, r.inv, true);
    }
}

/// Allowed shared-exponent widths of the block dot product (exponent sums outside the
/// binary32 range flush or saturate with a flag).
pub const DOT_EXP_BITS: RangeInclusive<u32> = 2..=16;

/// Parameters of the block dot product `bfp_dot` (SPEC.md section 3).
///
/// Beats carry `lanes` elements of each block on `qa` and `qb` (element i of the beat at
/// bits `[m*i + m-1 : m*i]`); every `block / lanes` valid beats make one block pair.
/// `ea`, `eb` and `clear` are sampled with a block's last beat: `clear` makes this block
/// the first of a new dot product. The block's exact integer dot product (inputs may use
/// the whole m-bit range, so the sum is kept one bit wider than SPEC.md's symmetric-range
/// width) times `2^(ea+eb)` is converted to binary32 (exact unless out of range), then
/// added to the binary32 accumulator `acc` (RNE, no subnormals, saturating); `uf` and
/// `of` are sticky until the next `clear`. Three cycles after a block's last beat `acc`
/// shows the running dot product with `out_valid` high. With `--modes` an input `mode`,
/// sampled every beat, selects the element width: each element is then the low bits of
/// its m-bit field, sign-extended. Reset clears everything and drops a partial block.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, clap::Args)]
#[serde(deny_unknown_fields)]
pub struct BfpDotParams {
    /// Block size n, 1..=64.
    #[arg(long, value_name = "N", default_value_t = 16, allow_negative_numbers = true,
          value_parser = clap::value_parser!(u32).range(1..=64))]
    pub block: u32,
    /// Mantissa bits m of both operands, 2..=8.
    #[arg(long = "mant", value_name = "BITS", default_value_t = 4, allow_negative_numbers = true,
          value_parser = clap::value_parser!(u32).range(2..=8))]
    pub mant_bits: u32,
    /// Width of the signed shared exponents, 2..=16.
    #[arg(long = "exp-bits", value_name = "BITS", default_value_t = 10, allow_negative_numbers = true,
          value_parser = clap::value_parser!(u32).range(2..=16))]
    pub exp_bits: u32,
    /// Element products per beat, a divisor of --block [default: the whole block].
    #[arg(long, value_name = "L", allow_negative_numbers = true)]
    pub lanes: Option<u32>,
    /// Mixed mantissa: widths a `mode` input selects at run time, e.g. 4,6 with --mant 6
    /// (--mant must be the widest). Mode k selects the k-th smallest width.
    #[arg(long, value_name = "M,M,..")]
    #[serde(default)]
    pub modes: Option<Modes>,
}

impl Default for BfpDotParams {
    /// HBFP4, blocks of 16, the whole block per beat.
    fn default() -> Self {
        BfpDotParams {
            block: 16,
            mant_bits: 4,
            exp_bits: 10,
            lanes: None,
            modes: None,
        }
    }
}

impl BfpDotParams {
    /// The HBFP format of both operands.
    pub fn format(&self) -> BfpFormat {
        BfpFormat {
            mant_bits: self.mant_bits,
            exp_bits: self.exp_bits,
        }
    }

    /// Element products per beat.
    pub fn lanes(&self) -> u32 {
        self.lanes.unwrap_or(self.block)
    }

    /// Beats per block pair.
    pub fn beats_per_block(&self) -> u32 {
        self.block / self.lanes()
    }

    /// Width of the exact block sum for any m-bit inputs: SPEC.md's
    /// `2(m-1) + ceil(log2 n) + 1` plus one bit for `-2^(m-1) * -2^(m-1)`.
    pub fn sum_width(&self) -> u32 {
        dot_width(self.mant_bits, self.block) + 1
    }

    /// The element width of a beat with this `mode` input.
    pub fn width_for_mode(&self, mode: u64) -> u32 {
        self.modes.map_or(self.mant_bits, |m| m.width(mode))
    }
}

impl UnitParams for BfpDotParams {
    const KIND: &'static str = "bfp_dot";

    fn validate(&self) -> Result<(), ParamError> {
        check_range("--block", self.block, &BLOCK)?;
        check_range("--mant", self.mant_bits, &MANT_BITS)?;
        check_range("--exp-bits", self.exp_bits, &DOT_EXP_BITS)?;
        check_modes(self.modes, self.mant_bits)?;
        check_lanes(self.block, self.lanes())
    }

    /// e.g. `bfp_dot_n16_m4_e10`, `bfp_dot_n16_m6_e10_l4_modes4_6`.
    fn module_name(&self) -> String {
        let mut name = format!(
            "bfp_dot_n{}_m{}_e{}",
            self.block, self.mant_bits, self.exp_bits
        );
        if self.lanes() < self.block {
            name += &format!("_l{}", self.lanes());
        }
        if let Some(modes) = self.modes {
            name += &format!("_modes{}", modes.to_string().replace(',', "_"));
        }
        name
    }

    /// clk, rst, in_valid, clear, ea, qa[m*L-1:0], eb, qb[m*L-1:0], mode (mixed mantissa
    /// only) -> acc[31:0] (binary32), uf, of, out_valid.
    fn interface(&self) -> Interface {
        let (w, m, l) = (self.exp_bits, self.mant_bits, self.lanes());
        let mut ports = vec![
            Port::bit("clk", Dir::In, Role::Clock),
            Port::bit("rst", Dir::In, Role::Reset),
            Port::bit("in_valid", Dir::In, Role::InValid),
            Port::bit("clear", Dir::In, Role::Clear),
            Port::int("ea", Dir::In, w, true),
            Port::int_vec("qa", Dir::In, m, true, l),
            Port::int("eb", Dir::In, w, true),
            Port::int_vec("qb", Dir::In, m, true, l),
        ];
        if let Some(modes) = self.modes {
            ports.push(Port::int("mode", Dir::In, modes.select_bits(), false));
        }
        ports.extend([
            Port::binary32("acc", Dir::Out, 1),
            Port::bit("uf", Dir::Out, Role::Flag),
            Port::bit("of", Dir::Out, Role::Flag),
            Port::bit("out_valid", Dir::Out, Role::OutValid),
        ]);
        Interface { ports }
    }

    /// Block sum register, binary32 conversion register, accumulator.
    fn latency(&self) -> u32 {
        3
    }

    fn model(&self) -> Result<Box<dyn CycleModel + Send>, ParamError> {
        Ok(Box::new(BfpDot::new(*self)?))
    }
}

/// Cycle model of `bfp_dot`: the same three registered stages as the RTL.
#[derive(Clone, Debug)]
pub struct BfpDot {
    p: BfpDotParams,
    iface: Interface,
    /// Sum of the products of the block being received, and its beats so far.
    partial: i64,
    beats: u32,
    /// Stage 1: a finished block's exact sum, exponent and `clear`.
    block: Option<(i64, i32, bool)>,
    /// Stage 2: its binary32 value and `clear`.
    converted: Option<(Rounded, bool)>,
    /// Stage 3: the accumulator.
    acc: DotAccumulator,
    out_valid: bool,
}

impl BfpDot {
    pub fn new(p: BfpDotParams) -> Result<BfpDot, ParamError> {
        p.validate()?;
        Ok(BfpDot {
            p,
            iface: p.interface(),
            partial: 0,
            beats: 0,
            block: None,
            converted: None,
            acc: DotAccumulator::default(),
            out_valid: false,
        })
    }
}

impl CycleModel for BfpDot {
    fn interface(&self) -> &Interface {
        &self.iface
    }

    fn step(&mut self, inputs: &[u64], outputs: &mut [u64]) {
        let p = self.p;
        outputs[0] = self.acc.acc.into();
        outputs[1] = self.acc.uf.into();
        outputs[2] = self.acc.of.into();
        outputs[3] = self.out_valid.into();

        let ins = split(self.iface.beat_inputs(), inputs);
        let (rst, valid, clear) = (ins[0][0] & 1 == 1, ins[1][0] & 1 == 1, ins[2][0] & 1 == 1);
        if rst {
            *self = BfpDot::new(p).expect("validated");
            return;
        }
        // Stage 3, then 2, then 1: each takes what the previous stage held.
        self.out_valid = self.converted.is_some();
        if let Some((v, clear)) = self.converted.take() {
            self.acc.add(clear, v);
        }
        self.converted = self
            .block
            .take()
            .map(|(sum, exp, clear)| (block_to_binary32(sum, exp), clear));
        if !valid {
            return;
        }
        let (w, m) = (p.exp_bits, p.mant_bits);
        let width = p.width_for_mode(ins.get(7).map_or(0, |mode| mode[0]));
        let element = |q: &[u64], i: u32| {
            int::from_bits(get_field(q, i * m, width).into(), width, true) as i64
        };
        self.partial += (0..p.lanes())
            .map(|i| element(ins[4], i) * element(ins[6], i))
            .sum::<i64>();
        self.beats += 1;
        if self.beats == p.beats_per_block() {
            let exp = |e: &[u64]| int::from_bits(e[0].into(), w, true) as i32;
            self.block = Some((self.partial, exp(ins[3]) + exp(ins[5]), clear));
            (self.partial, self.beats) = (0, 0);
        }
    }
}

/// Allowed shared-exponent widths of the block adder (any width is exact).
pub const ADD_EXP_BITS: RangeInclusive<u32> = 2..=16;

/// Parameters of the shared-exponent block adder `bfp_add` (SPEC.md section 3).
///
/// One beat carries two whole blocks (`ea`, `qa`, `eb`, `qb`, element i of a block at bits
/// `[m*i + m-1 : m*i]`); one cycle later `e` and `q` show their sum with `out_valid`
/// high. With `--rounding sr` an input `rnd` carries `2 * rnd_bits` random bits per
/// element: the low half rounds the alignment, the high half the renormalising shift.
/// Inputs may use the whole m-bit range (including `-2^(m-1)`); outputs are clamped to
/// the symmetric range. When the larger exponent is already the largest the exponent
/// field holds, the sums are clamped instead of renormalised.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, clap::Args)]
#[serde(deny_unknown_fields)]
pub struct BfpAddParams {
    /// Block size n, 1..=64.
    #[arg(long, value_name = "N", default_value_t = 16, allow_negative_numbers = true,
          value_parser = clap::value_parser!(u32).range(1..=64))]
    pub block: u32,
    /// Mantissa bits m, 2..=8.
    #[arg(long = "mant", value_name = "BITS", default_value_t = 4, allow_negative_numbers = true,
          value_parser = clap::value_parser!(u32).range(2..=8))]
    pub mant_bits: u32,
    /// Width of the signed shared exponents, 2..=16.
    #[arg(long = "exp-bits", value_name = "BITS", default_value_t = 10, allow_negative_numbers = true,
          value_parser = clap::value_parser!(u32).range(2..=16))]
    pub exp_bits: u32,
    /// Rounding of the alignment and renormalisation shifts.
    #[arg(long, value_enum, value_name = "MODE", default_value_t = BfpRounding::Rne)]
    pub rounding: BfpRounding,
    /// Random bits per rounding for --rounding sr, 1..=16.
    #[arg(long = "rnd-bits", value_name = "BITS", default_value_t = 8, allow_negative_numbers = true,
          value_parser = clap::value_parser!(u32).range(1..=16))]
    pub rnd_bits: u32,
}

impl Default for BfpAddParams {
    /// HBFP4 blocks of 16, RNE.
    fn default() -> Self {
        BfpAddParams {
            block: 16,
            mant_bits: 4,
            exp_bits: 10,
            rounding: BfpRounding::Rne,
            rnd_bits: 8,
        }
    }
}

impl BfpAddParams {
    /// The HBFP format.
    pub fn format(&self) -> BfpFormat {
        BfpFormat {
            mant_bits: self.mant_bits,
            exp_bits: self.exp_bits,
        }
    }
}

impl UnitParams for BfpAddParams {
    const KIND: &'static str = "bfp_add";

    fn validate(&self) -> Result<(), ParamError> {
        check_range("--block", self.block, &BLOCK)?;
        check_range("--mant", self.mant_bits, &MANT_BITS)?;
        check_range("--exp-bits", self.exp_bits, &ADD_EXP_BITS)?;
        check_range("--rnd-bits", self.rnd_bits, &RND_BITS)
    }

    /// e.g. `bfp_add_n16_m4_e10_rne`.
    fn module_name(&self) -> String {
        let r = match self.rounding {
            BfpRounding::Rne => "rne".to_string(),
            BfpRounding::Rz => "rz".to_string(),
            BfpRounding::Sr => format!("sr{}", self.rnd_bits),
        };
        format!(
            "bfp_add_n{}_m{}_e{}_{r}",
            self.block, self.mant_bits, self.exp_bits
        )
    }

    /// clk, rst, in_valid, ea, qa, eb, qb, rnd (SR only) -> e, q, out_valid.
    fn interface(&self) -> Interface {
        let (w, m, n) = (self.exp_bits, self.mant_bits, self.block);
        let mut ports = vec![
            Port::bit("clk", Dir::In, Role::Clock),
            Port::bit("rst", Dir::In, Role::Reset),
            Port::bit("in_valid", Dir::In, Role::InValid),
            Port::int("ea", Dir::In, w, true),
            Port::int_vec("qa", Dir::In, m, true, n),
            Port::int("eb", Dir::In, w, true),
            Port::int_vec("qb", Dir::In, m, true, n),
        ];
        if self.rounding == BfpRounding::Sr {
            ports.push(Port::random("rnd", 2 * self.rnd_bits * n));
        }
        ports.extend([
            Port::int("e", Dir::Out, w, true),
            Port::int_vec("q", Dir::Out, m, true, n),
            Port::bit("out_valid", Dir::Out, Role::OutValid),
        ]);
        Interface { ports }
    }

    fn latency(&self) -> u32 {
        1
    }

    fn model(&self) -> Result<Box<dyn CycleModel + Send>, ParamError> {
        Ok(Box::new(BfpAdd::new(*self)?))
    }
}

/// Cycle model of `bfp_add`.
#[derive(Clone, Debug)]
pub struct BfpAdd {
    p: BfpAddParams,
    iface: Interface,
    out: Block,
    out_valid: bool,
}

impl BfpAdd {
    pub fn new(p: BfpAddParams) -> Result<BfpAdd, ParamError> {
        p.validate()?;
        Ok(BfpAdd {
            p,
            iface: p.interface(),
            out: Block {
                exp: 0,
                q: vec![0; p.block as usize],
            },
            out_valid: false,
        })
    }

    fn block_from(&self, e: &[u64], q: &[u64]) -> Block {
        let (w, m) = (self.p.exp_bits, self.p.mant_bits);
        Block {
            exp: int::from_bits(e[0].into(), w, true) as i32,
            q: (0..self.p.block)
                .map(|i| int::from_bits(get_field(q, i * m, m).into(), m, true) as i64)
                .collect(),
        }
    }
}

impl CycleModel for BfpAdd {
    fn interface(&self) -> &Interface {
        &self.iface
    }

    fn step(&mut self, inputs: &[u64], outputs: &mut [u64]) {
        let p = self.p;
        let qw = self.iface.port("q").expect("q").words();
        outputs[0] = int::to_bits(self.out.exp.into(), p.exp_bits) as u64;
        outputs[1..1 + qw].fill(0);
        for (i, q) in self.out.q.iter().enumerate() {
            set_field(
                &mut outputs[1..1 + qw],
                i as u32 * p.mant_bits,
                p.mant_bits,
                int::to_bits((*q).into(), p.mant_bits) as u64,
            );
        }
        outputs[1 + qw] = self.out_valid as u64;

        let ins = split(self.iface.beat_inputs(), inputs);
        let (rst, valid) = (ins[0][0] & 1 == 1, ins[1][0] & 1 == 1);
        if rst {
            *self = BfpAdd::new(p).expect("validated");
            return;
        }
        self.out_valid = valid;
        if !valid {
            return;
        }
        let (a, b) = (
            self.block_from(ins[2], ins[3]),
            self.block_from(ins[4], ins[5]),
        );
        let r = 2 * p.rnd_bits;
        let rnd: Vec<u64> = if p.rounding == BfpRounding::Sr {
            (0..p.block).map(|i| get_field(ins[6], i * r, r)).collect()
        } else {
            Vec::new()
        };
        self.out = add(&p.format(), &a, &b, p.rounding, &rnd, p.rnd_bits);
    }
}

/// A random block shape for the samplers: block size, a divisor of it as lanes (or
/// none), and a set of run-time widths ending at `mant_bits` (or none).
fn sample_shape(
    rng: &mut crate::unit::Sampler,
    max_block: u32,
) -> (u32, u32, Option<u32>, Option<Modes>) {
    let block = rng.int(1..=max_block);
    let mant_bits = rng.int(MANT_BITS);
    let divisors: Vec<u32> = (1..=block).filter(|d| block.is_multiple_of(*d)).collect();
    let lanes = rng.one_in(2).then(|| rng.pick(&divisors));
    let narrower: Vec<String> = (*MANT_BITS.start()..mant_bits)
        .filter(|_| rng.one_in(2))
        .map(|m| m.to_string())
        .collect();
    let modes = (rng.one_in(3) && !narrower.is_empty()).then(|| {
        format!("{},{mant_bits}", narrower.join(","))
            .parse()
            .expect("widths in range")
    });
    (block, mant_bits, lanes, modes)
}

fn sample_rounding(rng: &mut crate::unit::Sampler) -> BfpRounding {
    rng.pick(&[BfpRounding::Rne, BfpRounding::Rz, BfpRounding::Sr])
}

impl crate::unit::Unit for BfpQuantParams {
    const COMMAND: &'static str = "bfp-quant";
    const SUMMARY: &'static str =
        "Binary32 to block floating point (HBFP): one shared exponent, n m-bit mantissas";
    const ABOUT: &'static str = "Converts blocks of n binary32 values (L per beat) to one \
shared exponent floor(log2 max|x|) - (m-2) and n m-bit two's-complement mantissas clamped to \
the symmetric range, rounding RNE, RZ or stochastically (an `rnd` input); NaN and infinity set \
`inv`. With --modes, a `mode` input picks a narrower mantissa at run time.";
    const DOCS: &'static str = "docs/bfp.md";
    const EXAMPLES: &'static [(&'static str, &'static str)] = &[
        (
            "--block 16 --mant 4",
            "HBFP4 blocks of 16, all elements in one beat",
        ),
        (
            "--block 32 --mant 6 --lanes 4 --rounding sr",
            "HBFP6, 4 elements a beat, stochastic rounding",
        ),
        (
            "--block 16 --mant 6 --modes 4,6",
            "HBFP4 or HBFP6 chosen at run time",
        ),
    ];

    /// The default (16 elements per beat, RNE), small blocks in the other rounding
    /// modes, and serial beats with run-time widths (PDR closes those first).
    fn proof_set() -> Vec<Self> {
        let d = BfpQuantParams::default();
        let widths = |s: &str| Some(s.parse().expect("a list of widths"));
        vec![
            d,
            BfpQuantParams {
                block: 4,
                rounding: BfpRounding::Rz,
                mant_bits: 6,
                ..d
            },
            BfpQuantParams {
                block: 2,
                rounding: BfpRounding::Sr,
                rnd_bits: 4,
                ..d
            },
            BfpQuantParams {
                block: 4,
                lanes: Some(1),
                mant_bits: 8,
                rounding: BfpRounding::Sr,
                rnd_bits: 3,
                modes: widths("2,5,8"),
                ..d
            },
            BfpQuantParams {
                block: 6,
                lanes: Some(3),
                rounding: BfpRounding::Rz,
                modes: widths("3,4"),
                ..d
            },
        ]
    }

    fn sample(rng: &mut crate::unit::Sampler) -> Self {
        crate::unit::sample_valid(rng, |rng| {
            let (block, mant_bits, lanes, modes) = sample_shape(rng, 16);
            BfpQuantParams {
                block,
                mant_bits,
                exp_bits: rng.int(EXP_BITS),
                rounding: sample_rounding(rng),
                rnd_bits: rng.int(RND_BITS),
                lanes,
                modes,
            }
        })
    }
}

impl crate::unit::Unit for BfpAddParams {
    const COMMAND: &'static str = "bfp-add";
    const SUMMARY: &'static str =
        "Shared-exponent block adder: align, add, renormalise and clamp two HBFP blocks";
    const ABOUT: &'static str = "Adds two HBFP blocks of the same size: the block with the \
smaller exponent is shifted right with the chosen rounding (RNE, RZ or stochastic with an `rnd` \
input), the elements are added exactly, and the sum is renormalised to a common exponent so \
every element fits m bits, then clamped to the symmetric range. Latency 1.";
    const DOCS: &'static str = "docs/bfp.md";
    const EXAMPLES: &'static [(&'static str, &'static str)] = &[
        ("--block 16 --mant 4", "HBFP4 blocks of 16, RNE"),
        (
            "--block 8 --mant 6 --rounding sr --rnd-bits 4",
            "HBFP6, stochastic rounding",
        ),
    ];

    /// The default (HBFP4, 16 elements, RNE) and small blocks in each rounding mode.
    fn proof_set() -> Vec<Self> {
        let d = BfpAddParams::default();
        vec![
            d,
            BfpAddParams {
                block: 4,
                mant_bits: 6,
                rounding: BfpRounding::Rz,
                ..d
            },
            BfpAddParams {
                block: 2,
                exp_bits: 4,
                rounding: BfpRounding::Sr,
                rnd_bits: 3,
                ..d
            },
        ]
    }

    fn sample(rng: &mut crate::unit::Sampler) -> Self {
        crate::unit::sample_valid(rng, |rng| BfpAddParams {
            block: rng.int(1..=16),
            mant_bits: rng.int(MANT_BITS),
            exp_bits: rng.int(ADD_EXP_BITS),
            rounding: sample_rounding(rng),
            rnd_bits: rng.int(RND_BITS),
        })
    }
}

impl crate::unit::Unit for BfpDotParams {
    const COMMAND: &'static str = "bfp-dot";
    const SUMMARY: &'static str = "HBFP block dot product with binary32 accumulation across blocks";
    const ABOUT: &'static str = "Multiplies two HBFP block streams: exact integer products and \
adder tree (L lanes a beat), exponent E_a + E_b, one rounding to binary32 per block and \
binary32 accumulation (RNE, no subnormals) with `clear`; sticky `uf` and `of`. With --modes, a \
`mode` input picks a narrower mantissa at run time.";
    const DOCS: &'static str = "docs/bfp.md";
    const EXAMPLES: &'static [(&'static str, &'static str)] = &[
        (
            "--block 16 --mant 4",
            "HBFP4 blocks of 16, one block a cycle",
        ),
        (
            "--block 32 --mant 6 --lanes 8",
            "HBFP6 blocks of 32, 8 products a cycle",
        ),
        (
            "--block 16 --mant 6 --modes 4,6",
            "HBFP4 or HBFP6 chosen at run time",
        ),
    ];

    /// The default (HBFP4, 16 elements per beat). Serial beats with run-time widths
    /// (`gen prove bfp-dot --block 4 --lanes 2 --mant 6 --modes 4,6`) take another minute
    /// and are left out to keep CI short.
    fn proof_set() -> Vec<Self> {
        vec![BfpDotParams::default()]
    }

    fn sample(rng: &mut crate::unit::Sampler) -> Self {
        crate::unit::sample_valid(rng, |rng| {
            let (block, mant_bits, lanes, modes) = sample_shape(rng, 8);
            BfpDotParams {
                block,
                mant_bits,
                exp_bits: rng.int(DOT_EXP_BITS),
                lanes,
                modes,
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const HBFP4: BfpFormat = BfpFormat {
        mant_bits: 4,
        exp_bits: 10,
    };

    fn q(x: &[f32], mode: BfpRounding) -> Block {
        let bits: Vec<u32> = x.iter().map(|v| v.to_bits()).collect();
        quantize(&HBFP4, &bits, mode, &[], 0).block
    }

    #[test]
    fn spec_worked_cases() {
        assert_eq!(
            q(&[1.5, -0.3, 0.05, 0.9], BfpRounding::Rne),
            Block {
                exp: -2,
                q: vec![6, -1, 0, 4]
            }
        );
        assert_eq!(q(&[1.5, -0.3, 0.05, 0.9], BfpRounding::Rz).q[3], 3);
        assert_eq!(
            q(&[1.0, 0.3], BfpRounding::Rne),
            Block {
                exp: -2,
                q: vec![4, 1]
            }
        );
        assert_eq!(q(&[1.5, 0.375, 0.625], BfpRounding::Rne).q, vec![6, 2, 2]);
        let w = q(&[0.5, 0.5, -1.0, 0.25], BfpRounding::Rne);
        assert_eq!(
            w,
            Block {
                exp: -2,
                q: vec![2, 2, -4, 1]
            }
        );
        let x = q(&[1.5, -0.3, 0.05, 0.9], BfpRounding::Rne);
        assert_eq!(dot(&x, &w), (14, -4));
        let mut acc = DotAccumulator::default();
        acc.step(true, &x, &w);
        assert_eq!(f32::from_bits(acc.acc), 0.875);
        // Clamp: 1.99 / 2^-2 = 7.96 rounds to 8 and clamps to 7.
        assert_eq!(
            q(&[1.99, 0.5], BfpRounding::Rne),
            Block {
                exp: -2,
                q: vec![7, 2]
            }
        );
    }

    #[test]
    fn zeros_subnormals_and_specials() {
        let all_zero = quantize(&HBFP4, &[0, 0x8000_0000, 1], BfpRounding::Rne, &[], 0);
        assert_eq!(
            all_zero,
            Quantized {
                block: Block {
                    exp: -512,
                    q: vec![0, 0, 0]
                },
                inv: false
            }
        );
        let inf = quantize(
            &HBFP4,
            &[f32::NEG_INFINITY.to_bits(), 1.0f32.to_bits()],
            BfpRounding::Rne,
            &[],
            0,
        );
        assert!(inf.inv);
        assert_eq!(
            inf.block,
            Block {
                exp: 125,
                q: vec![-7, 0]
            }
        );
        let nan = quantize(&HBFP4, &[f32::NAN.to_bits()], BfpRounding::Rz, &[], 0);
        assert!(nan.inv && nan.block.q == vec![7]);
    }

    #[test]
    fn stochastic_rounding_uses_the_random_bits() {
        // 0.9 / 2^-2 = 3.6: with 8 random bits, r < 0.4 * 256 keeps 3, larger rounds up.
        let bits = [1.5f32.to_bits(), 0.9f32.to_bits()];
        let at = |r: u64| quantize(&HBFP4, &bits, BfpRounding::Sr, &[0, r], 8).block.q[1];
        assert_eq!((at(0), at(102), at(103), at(255)), (3, 3, 4, 4));
        // Signed SR in the adder is a floor after adding the random bits.
        assert_eq!(shift_round(-3, 1, BfpRounding::Sr, 0, 4), -2);
        assert_eq!(shift_round(-3, 1, BfpRounding::Sr, 8, 4), -1);
        assert_eq!(shift_round(-3, 1, BfpRounding::Rne, 0, 0), -2);
        assert_eq!(shift_round(-3, 1, BfpRounding::Rz, 0, 0), -1);
    }

    #[test]
    fn block_adder_aligns_and_renormalises() {
        let a = Block {
            exp: 0,
            q: vec![6, -7, 1],
        };
        let b = Block {
            exp: -1,
            q: vec![3, -1, 7],
        };
        // b aligned: [1.5 -> 2, -0.5 -> 0, 3.5 -> 4]; sums [8, -7, 5]; 8 > 7: shift once.
        let s = add(&HBFP4, &a, &b, BfpRounding::Rne, &[], 0);
        assert_eq!(
            s,
            Block {
                exp: 1,
                q: vec![4, -4, 2]
            }
        );
        let same = add(&HBFP4, &b, &b, BfpRounding::Rz, &[], 0);
        assert_eq!(
            same,
            Block {
                exp: 0,
                q: vec![3, -1, 7]
            }
        );
    }

    #[test]
    fn cycle_model_collects_lanes_then_converts() {
        let p = BfpQuantParams {
            block: 4,
            lanes: Some(2),
            ..BfpQuantParams::default()
        };
        assert_eq!(p.module_name(), "bfp_quant_n4_m4_e10_rne_l2");
        let mut m = BfpQuant::new(p).unwrap();
        let x = [1.5f32, -0.3, 0.05, 0.9].map(f32::to_bits);
        let beat = |v: bool, a: u32, b: u32| [0, v as u64, u64::from(a) | u64::from(b) << 32];
        let mut o = [0u64; 4];
        m.step(&beat(true, x[0], x[1]), &mut o);
        m.step(&beat(false, 0, 0), &mut o); // an idle beat inside the block
        m.step(&beat(true, x[2], x[3]), &mut o);
        assert_eq!(o[3], 0);
        m.step(&beat(false, 0, 0), &mut o);
        // e = -2 in 10 bits; q = [6, -1, 0, 4] in 4-bit fields.
        assert_eq!(o, [0x3fe, 0x40f6, 0, 1]);
        m.step(&beat(false, 0, 0), &mut o);
        assert_eq!(
            o,
            [0x3fe, 0x40f6, 0, 0],
            "outputs hold, out_valid for one cycle"
        );
    }

    /// Pack signed m-bit elements into one field word, element 0 lowest.
    fn pack(q: &[i64], m: u32) -> u64 {
        q.iter().enumerate().fold(0, |acc, (i, v)| {
            acc | (int::to_bits((*v).into(), m) as u64) << (m * i as u32)
        })
    }

    #[test]
    fn dot_cycle_model_pipelines_blocks_in_lanes() {
        let p = BfpDotParams {
            block: 4,
            lanes: Some(2),
            ..BfpDotParams::default()
        };
        assert_eq!(p.module_name(), "bfp_dot_n4_m4_e10_l2");
        assert_eq!(p.sum_width(), 10);
        let mut m = BfpDot::new(p).unwrap();
        // SPEC.md: x = [1.5, -0.3, 0.05, 0.9] -> q = [6, -1, 0, 4], weights
        // [0.5, 0.5, -1.0, 0.25] -> q = [2, 2, -4, 1], both E_s = -2: 14 * 2^-4 = 0.875.
        let (qa, qb) = ([6, -1, 0, 4], [2, 2, -4, 1]);
        let e = int::to_bits(-2, 10) as u64;
        // Beat layout: rst, in_valid, clear, ea, qa, eb, qb.
        let beat = |v: bool, clear: bool, half: usize| {
            let lo = 2 * half;
            [
                0,
                v as u64,
                clear as u64,
                e,
                pack(&qa[lo..lo + 2], 4),
                e,
                pack(&qb[lo..lo + 2], 4),
            ]
        };
        let mut o = [0u64; 4];
        m.step(&beat(true, false, 0), &mut o);
        m.step(&beat(true, true, 1), &mut o); // last beat: clear starts a new dot product
        for _ in 0..3 {
            assert_eq!(o[3], 0);
            m.step(&beat(false, false, 0), &mut o);
        }
        assert_eq!(
            (f32::from_bits(o[0] as u32), o[1], o[2], o[3]),
            (0.875, 0, 0, 1)
        );
        // The same block again without clear accumulates: 1.75.
        m.step(&beat(true, false, 0), &mut o);
        m.step(&beat(true, false, 1), &mut o);
        for _ in 0..3 {
            m.step(&beat(false, false, 0), &mut o);
        }
        assert_eq!((f32::from_bits(o[0] as u32), o[3]), (1.75, 1));
        m.step(&beat(false, false, 0), &mut o);
        assert_eq!((f32::from_bits(o[0] as u32), o[3]), (1.75, 0), "acc holds");
    }

    #[test]
    fn dot_flags_flush_and_saturate() {
        let (tiny, big) = (block_to_binary32(1, -130), block_to_binary32(127, 126));
        assert_eq!((tiny.bits, tiny.underflow), (0, true));
        assert_eq!((big.bits as u32, big.overflow), (f32::MAX.to_bits(), true));
        let mut acc = DotAccumulator::default();
        acc.add(true, tiny);
        assert_eq!((acc.acc, acc.uf, acc.of), (0, true, false));
        acc.add(false, big);
        assert_eq!((acc.acc, acc.uf, acc.of), (f32::MAX.to_bits(), true, true));
        acc.add(true, block_to_binary32(-3, 0));
        assert_eq!(
            (f32::from_bits(acc.acc), acc.uf, acc.of),
            (-3.0, false, false)
        );
    }

    #[test]
    fn dot_modes_read_the_low_bits() {
        let p = BfpDotParams {
            block: 2,
            mant_bits: 6,
            modes: Some("4,6".parse().unwrap()),
            ..BfpDotParams::default()
        };
        assert_eq!(p.module_name(), "bfp_dot_n2_m6_e10_modes4_6");
        assert_eq!((p.width_for_mode(0), p.width_for_mode(1)), (4, 6));
        let mut m = BfpDot::new(p).unwrap();
        // Fields 0b10_0111 (= -25 in 6 bits, 7 in 4 bits) and 0b00_1111 (15; -1 in 4 bits).
        let beat =
            |v: bool, mode: u64| [0, v as u64, 1, 0, 0b001111_100111, 0, 0b000001_000001, mode];
        let mut o = [0u64; 4];
        m.step(&beat(true, 0), &mut o);
        m.step(&beat(true, 1), &mut o);
        m.step(&beat(false, 0), &mut o);
        m.step(&beat(false, 0), &mut o);
        assert_eq!(f32::from_bits(o[0] as u32), 7.0 - 1.0);
        m.step(&beat(false, 0), &mut o);
        assert_eq!(f32::from_bits(o[0] as u32), -25.0 + 15.0);
    }

    #[test]
    fn modes_parse_validate_and_name() {
        let m: Modes = "6,4".parse().unwrap();
        assert_eq!(
            (
                m.list(),
                m.select_bits(),
                m.width(0),
                m.width(1),
                m.width(3)
            ),
            (vec![4, 6], 1, 4, 6, 6)
        );
        assert_eq!(serde_json::to_string(&m).unwrap(), "[4,6]");
        assert!("4,9".parse::<Modes>().is_err() && "4,x".parse::<Modes>().is_err());
        let p = BfpQuantParams {
            mant_bits: 6,
            modes: Some(m),
            ..BfpQuantParams::default()
        };
        assert_eq!(p.module_name(), "bfp_quant_n16_m6_e10_rne_modes4_6");
        assert!(p.validate().is_ok());
        let bad = BfpQuantParams {
            mant_bits: 8,
            modes: Some(m),
            ..BfpQuantParams::default()
        }
        .validate()
        .unwrap_err();
        assert_eq!(bad.param, "--modes");
    }

    #[test]
    fn lanes_must_divide_the_block() {
        let e = BfpQuantParams {
            block: 12,
            lanes: Some(5),
            ..BfpQuantParams::default()
        }
        .validate()
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid value '5' for '--lanes': allowed a divisor of --block 12: 1, 2, 3, 4, 6, 12"
        );
    }

    fn block_values() -> impl Strategy<Value = Vec<f32>> {
        prop::collection::vec(
            (-30i32..30, -1.0f32..1.0).prop_map(|(e, v)| v * 2f32.powi(e)),
            1..16,
        )
    }

    proptest! {
        /// RNE error is at most half a step unless the value clamps at the top.
        #[test]
        fn rne_error_is_half_a_step(x in block_values(), m in 2u32..=8) {
            let f = BfpFormat { mant_bits: m, exp_bits: 10 };
            let bits: Vec<u32> = x.iter().map(|v| v.to_bits()).collect();
            let b = quantize(&f, &bits, BfpRounding::Rne, &[], 0).block;
            let step = 2f64.powi(b.exp);
            for (v, q) in x.iter().zip(&b.q) {
                prop_assert!(q.abs() <= f.qmax());
                let v = f64::from(*v);
                let err = (v - *q as f64 * step).abs();
                let clamped = v.abs() > (f.qmax() as f64 + 0.5) * step;
                prop_assert!(clamped || err <= step / 2.0, "{} -> {} * 2^{}", v, q, b.exp);
            }
        }

        /// The dot product is exact and fits its documented width.
        #[test]
        fn dot_is_exact(x in block_values(), w in block_values(), m in 2u32..=8) {
            let f = BfpFormat { mant_bits: m, exp_bits: 10 };
            let n = x.len().min(w.len());
            let qa = quantize(&f, &x[..n].iter().map(|v| v.to_bits()).collect::<Vec<_>>(), BfpRounding::Rne, &[], 0).block;
            let qb = quantize(&f, &w[..n].iter().map(|v| v.to_bits()).collect::<Vec<_>>(), BfpRounding::Rne, &[], 0).block;
            let (sum, exp) = dot(&qa, &qb);
            let want: f64 = qa.q.iter().zip(&qb.q).map(|(a, b)| (*a * *b) as f64).sum::<f64>() * 2f64.powi(exp);
            prop_assert_eq!(sum as f64 * 2f64.powi(exp), want);
            prop_assert!(int::fits(sum.into(), dot_width(m, n as u32), true));
        }

        /// The accumulator agrees with f32 arithmetic in the normal range.
        #[test]
        fn accumulator_matches_f32(blocks in prop::collection::vec((block_values(), block_values()), 1..8)) {
            let mut acc = DotAccumulator::default();
            let mut want = 0f32;
            for (i, (x, w)) in blocks.iter().enumerate() {
                let n = x.len().min(w.len());
                let qa = q(&x[..n], BfpRounding::Rne);
                let qb = q(&w[..n], BfpRounding::Rne);
                let (sum, exp) = dot(&qa, &qb);
                let v = (sum as f64 * 2f64.powi(exp)) as f32;
                want = if i == 0 { v } else { want + v };
                acc.step(i == 0, &qa, &qb);
                prop_assume!(want == 0.0 || want.abs() >= f32::MIN_POSITIVE);
                prop_assume!(v == 0.0 || v.abs() >= f32::MIN_POSITIVE);
                let w = if want == 0.0 { 0f32 } else { want };
                prop_assert_eq!(acc.acc, w.to_bits());
            }
        }
    }
}
