//! OCP Microscaling (MX) formats (docs/mx.md): blocks of `k` elements sharing one
//! power-of-two scale `2^X` stored as an E8M0 byte `X + 127`, the elements in a small
//! float (E4M3, E5M2, E3M2, E2M3, E2M1) or INT8.
//!
//! This module is the arithmetic every MX unit shares: the element types ([`Elem`]),
//! the block conversion from binary32 ([`quantize`]), the way back ([`dequantize`]) and
//! the exact block dot product ([`dot`]). Every element value is an integer multiple of
//! its type's quantum `2^lsb` ([`Elem::lsb_exp`]), so an element is handled here as that
//! integer ([`Elem::decode`]) and products and sums are exact integers.
//!
//! Choices the OCP specification leaves to an implementation, made here (docs/mx.md):
//! - the scale is `floor(log2(amax)) - emax_elem`, clamped to [-127, 127]; an all-zero
//!   block (binary32 subnormals count as zero) has scale byte 0; a block holding a NaN
//!   or an infinity has the NaN scale byte 0xFF and zero elements;
//! - elements saturate to the largest finite magnitude, keep their subnormals and are
//!   never NaN; INT8 saturates symmetrically to ±127/64 (code -128, value -2, is read
//!   but never produced);
//! - zero is always +0.

mod dequant;
mod dot;
mod quant;

pub use dot::{block_value, MxDot, MxDotParams, ELEM_A, ELEM_B};

use serde::{Deserialize, Serialize};

use crate::float::{Exact, FloatFormat, Rounded, Rounding};

pub use dequant::{dequantize_beat, MxDequant, MxDequantParams, DEQUANT_LANES, QUIET_NAN};
pub use quant::{MxQuant, MxQuantParams, BLOCK, ELEM, ROUNDING};

/// The element type names and what they are, for every `--elem` flag.
pub(crate) const ELEM_CHOICES: &[(&str, &str)] = &[
    (
        "int8",
        "INT8: two's complement, 6 fraction bits (value code/64)",
    ),
    ("e4m3", "FP8 E4M3: bias 7, no infinities, largest 448"),
    ("e5m2", "FP8 E5M2: bias 15, IEEE-like, largest 57344"),
    ("e3m2", "FP6 E3M2: bias 3, largest 28"),
    ("e2m3", "FP6 E2M3: bias 1, largest 7.5"),
    ("e2m1", "FP4 E2M1: bias 1, largest 6"),
];

/// The scale byte of a block holding a NaN or an infinity.
pub const SCALE_NAN: u32 = 0xff;
/// The scale byte's bias: `X = byte - 127`.
pub const SCALE_BIAS: i32 = 127;

/// An MX element type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Elem {
    /// Two's complement, 6 fraction bits: value `code / 64`.
    Int8,
    /// FP8 E4M3, bias 7, no infinities, NaN `S.1111.111`, largest 448.
    E4m3,
    /// FP8 E5M2, bias 15, IEEE-like (field 31 is infinity or NaN), largest 57344.
    E5m2,
    /// FP6 E3M2, bias 3, every code finite, largest 28.
    E3m2,
    /// FP6 E2M3, bias 1, every code finite, largest 7.5.
    E2m3,
    /// FP4 E2M1, bias 1, every code finite, largest 6.
    E2m1,
}

impl Elem {
    pub const ALL: [Elem; 6] = [
        Elem::Int8,
        Elem::E4m3,
        Elem::E5m2,
        Elem::E3m2,
        Elem::E2m3,
        Elem::E2m1,
    ];

    /// The flag value and module-name tag: `int8`, `e4m3`, ...
    pub fn name(self) -> &'static str {
        match self {
            Elem::Int8 => "int8",
            Elem::E4m3 => "e4m3",
            Elem::E5m2 => "e5m2",
            Elem::E3m2 => "e3m2",
            Elem::E2m3 => "e2m3",
            Elem::E2m1 => "e2m1",
        }
    }

    /// The type named `name` ([`Elem::name`]).
    pub fn from_name(name: &str) -> Option<Elem> {
        Elem::ALL.into_iter().find(|e| e.name() == name)
    }

    /// `(exponent bits, mantissa bits, bias)` of a float type; `None` for INT8.
    pub fn float_shape(self) -> Option<(u32, u32, i32)> {
        match self {
            Elem::Int8 => None,
            Elem::E4m3 => Some((4, 3, 7)),
            Elem::E5m2 => Some((5, 2, 15)),
            Elem::E3m2 => Some((3, 2, 3)),
            Elem::E2m3 => Some((2, 3, 1)),
            Elem::E2m1 => Some((2, 1, 1)),
        }
    }

    /// Code width in bits.
    pub fn width(self) -> u32 {
        match self.float_shape() {
            None => 8,
            Some((e, m, _)) => 1 + e + m,
        }
    }

    /// `emax_elem`: the exponent of the largest binade (0 for INT8, whose largest
    /// magnitude is below 2).
    pub fn emax(self) -> i32 {
        match self {
            Elem::Int8 => 0,
            Elem::E4m3 => 8,
            Elem::E5m2 => 15,
            Elem::E3m2 => 4,
            Elem::E2m3 | Elem::E2m1 => 2,
        }
    }

    /// The quantum: every value is an integer multiple of `2^lsb_exp`.
    pub fn lsb_exp(self) -> i32 {
        match self.float_shape() {
            None => -6,
            Some((_, m, bias)) => 1 - bias - m as i32,
        }
    }

    /// The largest finite magnitude in quanta (E4M3 448 * 2^9, INT8 127).
    pub fn max_int(self) -> u64 {
        match self.float_shape() {
            None => 127,
            Some((_, m, _)) => {
                // The largest binade is emax; its largest significand is all ones except
                // for E4M3, whose all-ones code is NaN.
                let top_man = if self == Elem::E4m3 {
                    (1u64 << m) - 2
                } else {
                    (1u64 << m) - 1
                };
                ((1u64 << m) | top_man) << (self.emax() - m as i32 - self.lsb_exp())
            }
        }
    }

    /// Bit width of the signed integer that holds every decoded element (INT8's -128
    /// included).
    pub fn int_bits(self) -> u32 {
        match self {
            Elem::Int8 => 8,
            _ => 65 - self.max_int().leading_zeros(),
        }
    }

    /// The element's value in quanta, or `None` for a NaN or infinity code (E4M3
    /// `S.1111.111`, E5M2 exponent field 31).
    pub fn decode(self, code: u64) -> Option<i64> {
        let code = code & ((1 << self.width()) - 1);
        let Some((e, m, _)) = self.float_shape() else {
            return Some(crate::int::from_bits(code.into(), 8, true) as i64);
        };
        let neg = code >> (e + m) == 1;
        let field = (code >> m) & ((1 << e) - 1);
        let man = code & ((1 << m) - 1);
        let all_ones = field == (1 << e) - 1;
        if (self == Elem::E4m3 && all_ones && man == (1 << m) - 1)
            || (self == Elem::E5m2 && all_ones)
        {
            return None;
        }
        // Subnormals (field 0) sit in the first binade's quanta: man * 2^lsb.
        let mag = if field == 0 {
            man
        } else {
            ((1 << m) | man) << (field - 1)
        } as i64;
        Some(if neg { -mag } else { mag })
    }

    /// The code of a value on the element grid: `mag` quanta with sign `neg`,
    /// `mag <= max_int()`. Zero is `+0`.
    pub fn encode(self, neg: bool, mag: u64) -> u64 {
        debug_assert!(mag <= self.max_int());
        let Some((e, m, _)) = self.float_shape() else {
            let v = if neg { -(mag as i64) } else { mag as i64 };
            return crate::int::to_bits(v.into(), 8) as u64;
        };
        if mag == 0 {
            return 0;
        }
        let sign = u64::from(neg) << (e + m);
        if mag < 1 << m {
            return sign | mag; // subnormal
        }
        // mag = (2^m + man) * 2^(field - 1): the leading one sets the field.
        let top = 63 - mag.leading_zeros(); // = m + field - 1
        let field = u64::from(top - m + 1);
        let man = (mag >> (top - m)) & ((1 << m) - 1);
        sign | (field << m) | man
    }

    /// The quantum of a magnitude whose leading one is at `2^top` (in quanta): 1 in the
    /// subnormal and first binades, doubling with every binade above.
    fn step(self, top: i32) -> i32 {
        match self.float_shape() {
            None => 0,
            Some((_, m, _)) => (top - m as i32).max(0),
        }
    }

    /// Round `(-1)^neg * sig * 2^exp` (a value already divided by the block's scale)
    /// onto the element grid and saturate: the element's code.
    pub fn quantize(self, x: Exact, mode: MxRounding, rnd: u64, rnd_bits: u32) -> u64 {
        if x.sig == 0 {
            return 0;
        }
        // In quanta: sig * 2^(exp - lsb). Find the binade of the value before rounding;
        // a carry into the next binade lands on a value of that binade (or saturates).
        let shift = x.exp - self.lsb_exp(); // value in quanta = sig * 2^shift
        let top = 127 - x.sig.leading_zeros() as i32 + shift; // leading one, in quanta
        let step = self.step(top);
        // Quanta of the value's binade to drop: `sig * 2^shift / 2^step`.
        let drop = step - shift;
        let kept = round_shift(x.sig, drop, mode, rnd, rnd_bits);
        let mag = if kept >> 64 != 0 || step >= 64 {
            u128::from(u64::MAX)
        } else {
            kept << step
        };
        let mag = mag.min(u128::from(self.max_int())) as u64;
        self.encode(x.neg, mag)
    }
}

/// Rounding of the elements.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MxRounding {
    /// Round to nearest, ties to even.
    Rne,
    /// Round to nearest, ties away from zero (microxcaling's default).
    Away,
    /// Stochastic: the magnitude cut to `rnd_bits` bits below the element's quantum
    /// (truncating), `rnd` added there, the fraction dropped.
    Sr,
}

/// `v * 2^-drop` rounded (a magnitude), `drop` any sign.
fn round_shift(v: u128, drop: i32, mode: MxRounding, rnd: u64, rnd_bits: u32) -> u128 {
    if drop <= 0 {
        // Only huge values get here; anything past 2^64 quanta saturates anyway.
        return if drop < -64 || v >> (64 + drop) != 0 {
            u128::from(u64::MAX) << 1
        } else {
            v << (-drop)
        };
    }
    if drop >= 127 {
        return 0; // far below half a quantum (and SR cannot carry from truncated zeros)
    }
    let s = drop as u32;
    let (kept, rest, half) = (v >> s, v & ((1 << s) - 1), 1u128 << (s - 1));
    match mode {
        MxRounding::Rne => kept + u128::from(rest > half || (rest == half && kept & 1 == 1)),
        MxRounding::Away => kept + u128::from(rest >= half),
        MxRounding::Sr => {
            let frac = if s >= rnd_bits {
                v >> (s - rnd_bits)
            } else {
                v << (rnd_bits - s)
            };
            (frac + u128::from(rnd)) >> rnd_bits
        }
    }
}

/// A converted block: the scale byte and one code per element.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MxBlock {
    pub scale: u32,
    pub codes: Vec<u64>,
}

/// The scale exponent `X` of a block whose largest magnitude has exponent `amax_exp`
/// (`floor(log2(amax))`), clamped to [-127, 127].
pub fn scale_exp(elem: Elem, amax_exp: i32) -> i32 {
    (amax_exp - elem.emax()).clamp(-SCALE_BIAS, SCALE_BIAS)
}

/// Convert a block of binary32 values (bits) to MX. `rnd` holds one random word per
/// element, used with [`MxRounding::Sr`] only.
pub fn quantize(elem: Elem, x: &[u32], mode: MxRounding, rnd: &[u64], rnd_bits: u32) -> MxBlock {
    let mut codes = vec![0; x.len()];
    let scale = quantize_into(elem, x, mode, rnd, rnd_bits, &mut codes);
    MxBlock { scale, codes }
}

/// [`quantize`] into a caller's buffer (one code per element of `x`, `codes.len() ==
/// x.len()`), returning the scale byte: the same results without an allocation per
/// block, for array callers.
///
/// Each element is rounded as [`Elem::quantize`] defines it, on a 64-bit path
/// ([`Grid`]) that takes the binary32 significand as it is; values off that path (none
/// that a binary32 block produces with `rnd` words of at most `rnd_bits <= 32` bits) go
/// through [`Elem::quantize`] itself. The tests check the two on every binary32
/// exponent, scale and rounding.
pub fn quantize_into(
    elem: Elem,
    x: &[u32],
    mode: MxRounding,
    rnd: &[u64],
    rnd_bits: u32,
    codes: &mut [u64],
) -> u32 {
    assert_eq!(codes.len(), x.len(), "one code per element");
    // The largest exponent field: 255 (NaN or infinity) wins, 0 (zero or a subnormal,
    // read as zero) alone means an all-zero block.
    let top_field = x.iter().map(|&b| (b >> 23) & 0xff).max().unwrap_or(0);
    if top_field == 0 || top_field == 255 {
        codes.fill(0);
        return if top_field == 0 { 0 } else { SCALE_NAN };
    }
    // floor(log2 |v|) of a normal binary32 value is its unbiased exponent.
    let s = scale_exp(elem, top_field as i32 - 127);
    let grid = Grid::new(elem);
    let sr = mode == MxRounding::Sr;
    for (i, (&b, code)) in x.iter().zip(codes.iter_mut()).enumerate() {
        let field = ((b >> 23) & 0xff) as i32;
        if field == 0 {
            *code = 0;
            continue;
        }
        let r = rnd.get(i).copied().unwrap_or(0);
        let neg = b >> 31 == 1;
        let sig = u64::from(b & 0x7f_ffff | 0x80_0000);
        // The value divided by the scale, in quanta: sig * 2^shift.
        let exp = field - 150 - s;
        let shift = exp - grid.lsb;
        *code = if sr && (rnd_bits > 32 || r >> rnd_bits != 0) {
            None
        } else {
            grid.quantize(neg, sig, shift, mode, r, rnd_bits)
        }
        .unwrap_or_else(|| {
            let v = Exact {
                neg,
                sig: sig.into(),
                exp,
            };
            elem.quantize(v, mode, r, rnd_bits)
        });
    }
    (s + SCALE_BIAS) as u32
}

/// An element type's grid as constants for [`quantize_into`]'s 64-bit rounding.
#[derive(Clone, Copy, Debug)]
struct Grid {
    /// [`Elem::lsb_exp`].
    lsb: i32,
    /// Mantissa bits of a float type; INT8 has one binade of quanta, so 64 (every step 0).
    man: i32,
    /// Sign position of a float type; `None` for INT8 (two's complement).
    sign: Option<u32>,
    /// [`Elem::max_int`].
    max: u64,
}

impl Grid {
    fn new(elem: Elem) -> Grid {
        let (man, sign) = match elem.float_shape() {
            None => (64, None),
            Some((e, m, _)) => (m as i32, Some(e + m)),
        };
        Grid {
            lsb: elem.lsb_exp(),
            man,
            sign,
            max: elem.max_int(),
        }
    }

    /// [`Elem::quantize`] of `(-1)^neg * sig * 2^shift` quanta for a non-zero `sig <
    /// 2^32`, or `None` off this path (a value at or above `2^40` quanta, which
    /// saturates, or with nothing to drop) where [`Elem::quantize`] decides. With
    /// [`MxRounding::Sr`], `rnd < 2^rnd_bits` and `rnd_bits <= 32`.
    #[inline]
    fn quantize(
        &self,
        neg: bool,
        sig: u64,
        shift: i32,
        mode: MxRounding,
        rnd: u64,
        rnd_bits: u32,
    ) -> Option<u64> {
        debug_assert!(sig != 0 && sig >> 32 == 0);
        let top = 63 - sig.leading_zeros() as i32 + shift;
        if top >= 40 {
            return None;
        }
        // Elem::step: the binade's quantum.
        let step = (top - self.man).max(0);
        let drop = step - shift;
        if drop <= 0 {
            return None;
        }
        // Past 63 dropped bits, sig < 2^32 is below half a quantum, and SR's kept
        // fraction (rnd_bits <= 32 bits below the quantum) truncates to zero.
        let kept = if drop >= 64 {
            0
        } else {
            let d = drop as u32;
            let kept = sig >> d;
            match mode {
                MxRounding::Rne | MxRounding::Away => {
                    let rest = sig & ((1 << d) - 1);
                    let half = 1u64 << (d - 1);
                    // Bitwise rather than short-circuit: no branch on the data.
                    let up = match mode {
                        MxRounding::Rne => (rest > half) | ((rest == half) & (kept & 1 == 1)),
                        _ => rest >= half,
                    };
                    kept + u64::from(up)
                }
                MxRounding::Sr => {
                    let frac = if d >= rnd_bits {
                        sig >> (d - rnd_bits)
                    } else {
                        sig << (rnd_bits - d)
                    };
                    (frac + rnd) >> rnd_bits
                }
            }
        };
        // kept < 2^33 and step < 40: no overflow before saturating.
        let mag = (kept << step).min(self.max);
        Some(match self.sign {
            None => {
                let v = if neg { mag.wrapping_neg() } else { mag };
                v & 0xff
            }
            Some(sign) => {
                // Elem::encode: a leading one at 2^t sets the field to t - man + 1 and
                // keeps the man bits below it; subnormals (t < man) are the magnitude.
                let t = (63 - (mag | 1).leading_zeros() as i32 - self.man).max(0);
                let code = ((t as u64) << self.man) + (mag >> t);
                code | u64::from(neg && mag != 0) << sign
            }
        })
    }
}

/// One element back to binary32: `element * 2^X` rounded (RNE) into binary32 without
/// subnormals (flush with `underflow`, saturate with `overflow`). `None` when the scale
/// is the NaN byte or the element a NaN or infinity code.
pub fn dequantize(elem: Elem, scale: u32, code: u64) -> Option<Rounded> {
    if scale == SCALE_NAN {
        return None;
    }
    let q = elem.decode(code)?;
    let x = scale as i32 - SCALE_BIAS;
    Some(FloatFormat::BINARY32.round(Exact::from_int(q.into(), x + elem.lsb_exp()), Rounding::Rne))
}

/// The exact dot product of two blocks' elements, in units of
/// `2^(lsb_a + lsb_b)`; `None` when an element is a NaN or infinity code.
pub fn dot_exact(ea: Elem, qa: &[u64], eb: Elem, qb: &[u64]) -> Option<i128> {
    qa.iter().zip(qb).try_fold(0i128, |s, (&a, &b)| {
        Some(s + i128::from(ea.decode(a)?) * i128::from(eb.decode(b)?))
    })
}

/// The value of two blocks' dot product, `S * 2^(Xa + Xb)`, as an exact value; `None`
/// when either scale is the NaN byte or an element is NaN or infinity.
pub fn dot(ea: Elem, xa: u32, qa: &[u64], eb: Elem, xb: u32, qb: &[u64]) -> Option<Exact> {
    if xa == SCALE_NAN || xb == SCALE_NAN {
        return None;
    }
    let s = dot_exact(ea, qa, eb, qb)?;
    let exp = xa as i32 + xb as i32 - 2 * SCALE_BIAS + ea.lsb_exp() + eb.lsb_exp();
    Some(Exact::from_int(s, exp))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The binary32 bits `x` as an exact value, or `None` for NaN and infinity; subnormals
    /// are zero.
    fn binary32(x: u32) -> Option<Exact> {
        let (field, man) = ((x >> 23) & 0xff, x & 0x7f_ffff);
        match field {
            0 => Some(Exact::ZERO),
            255 => None,
            _ => Some(Exact {
                neg: x >> 31 == 1,
                sig: u128::from(man | 0x80_0000),
                exp: field as i32 - 150,
            }),
        }
    }

    /// The block conversion as it was before [`quantize_into`]'s 64-bit path: every
    /// value as an [`Exact`], every element through [`Elem::quantize`]. The reference
    /// the fast path is checked against.
    fn quantize_reference(
        elem: Elem,
        x: &[u32],
        mode: MxRounding,
        rnd: &[u64],
        rnd_bits: u32,
    ) -> MxBlock {
        let values: Option<Vec<Exact>> = x.iter().map(|&b| binary32(b)).collect();
        let Some(values) = values else {
            return MxBlock {
                scale: SCALE_NAN,
                codes: vec![0; x.len()],
            };
        };
        let amax_exp = values
            .iter()
            .filter(|v| v.sig != 0)
            .map(|v| v.exp + 23)
            .max();
        let Some(amax_exp) = amax_exp else {
            return MxBlock {
                scale: 0,
                codes: vec![0; x.len()],
            };
        };
        let s = scale_exp(elem, amax_exp);
        let codes = values
            .iter()
            .enumerate()
            .map(|(i, v)| {
                let r = rnd.get(i).copied().unwrap_or(0);
                elem.quantize(
                    Exact {
                        exp: v.exp - s,
                        ..*v
                    },
                    mode,
                    r,
                    rnd_bits,
                )
            })
            .collect();
        MxBlock {
            scale: (s + SCALE_BIAS) as u32,
            codes,
        }
    }

    /// xorshift64*: reproducible test data without a dependency.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
        }
    }

    /// Mantissa fields that put every rounding case under every dropped-bit count:
    /// exact ties (kept bit odd and even), one below and above a tie, all ones, zero.
    fn mantissas(rng: &mut Rng) -> Vec<u32> {
        let mut m = vec![0, 1, 0x7f_ffff, 0x40_0000, 0x3f_ffff, 0x40_0001];
        for d in 0..23 {
            let tie = 1u32 << d;
            for v in [
                tie,
                tie - 1,
                tie + 1,
                tie | tie << 1,
                (tie | tie << 1) - 1,
                !tie,
            ] {
                m.push(v & 0x7f_ffff);
            }
        }
        m.extend((0..16).map(|_| rng.next() as u32 & 0x7f_ffff));
        m
    }

    fn modes(rng: &mut Rng) -> Vec<(MxRounding, u32, Vec<u64>)> {
        let mut v = vec![(MxRounding::Rne, 0, vec![]), (MxRounding::Away, 0, vec![])];
        for bits in [1, 3, 8, 16] {
            let words = (0..8).map(|_| rng.next() >> (64 - bits)).collect();
            v.push((MxRounding::Sr, bits, words));
        }
        // All-ones and zero random words, and words too wide for rnd_bits (off the
        // 64-bit path: the reference decides).
        v.push((MxRounding::Sr, 8, vec![0xff; 8]));
        v.push((MxRounding::Sr, 8, vec![0; 8]));
        v.push((
            MxRounding::Sr,
            4,
            (0..8).map(|_| rng.next() & 0xfff).collect(),
        ));
        v
    }

    /// The 64-bit path equals the reference on every element type and rounding, every
    /// block exponent (scale clamps at both ends included), element exponents from the
    /// block's down to 40 binades below it, 63 to 100 below it and zero (subnormals),
    /// both signs and the mantissas of [`mantissas`]; then random blocks of every class
    /// (NaNs and infinities anywhere, subnormals) and length.
    #[test]
    fn fast_path_equals_reference() {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        let mans = mantissas(&mut rng);
        let mut checked = 0u64;
        for elem in Elem::ALL {
            for (mode, rnd_bits, words) in modes(&mut rng) {
                for top in 1..=254u32 {
                    let max_man = rng.next() as u32 & 0x7f_ffff;
                    // Every element binade down to 40 below the block's (past that every
                    // type rounds to zero), then far below: where 63 and 64 bits drop.
                    let far = [63, 64, 65, 100].map(|d| top.saturating_sub(d));
                    for field in (top.saturating_sub(40)..=top).chain(far).chain([0]) {
                        for chunk in mans.chunks(7) {
                            let mut x = vec![top << 23 | max_man];
                            for &m in chunk {
                                let sign = (rng.next() as u32 & 1) << 31;
                                x.push(sign | field << 23 | m);
                            }
                            let want = quantize_reference(elem, &x, mode, &words, rnd_bits);
                            let got = quantize(elem, &x, mode, &words, rnd_bits);
                            assert_eq!(got, want, "{elem:?} {mode:?} sr{rnd_bits} {x:08x?}");
                            checked += x.len() as u64;
                        }
                    }
                }
            }
        }
        // Random bit patterns of every class (NaNs, infinities, subnormals) in blocks of
        // 1 to 64.
        for _ in 0..20_000 {
            let elem = Elem::ALL[rng.next() as usize % 6];
            let k = 1 + rng.next() as usize % 64;
            let x: Vec<u32> = (0..k)
                .map(|_| match rng.next() % 8 {
                    0 => 0x7f80_0000 | (rng.next() as u32 & 0x8000_0001),
                    1 => rng.next() as u32 & 0x807f_ffff,
                    _ => rng.next() as u32,
                })
                .collect();
            let (mode, rnd_bits) = match rng.next() % 3 {
                0 => (MxRounding::Rne, 0),
                1 => (MxRounding::Away, 0),
                _ => (MxRounding::Sr, 1 + rng.next() as u32 % 16),
            };
            let words: Vec<u64> = (0..k)
                .map(|_| rng.next() >> (64 - rnd_bits.max(1)))
                .collect();
            let want = quantize_reference(elem, &x, mode, &words, rnd_bits);
            assert_eq!(quantize(elem, &x, mode, &words, rnd_bits), want, "{x:08x?}");
            checked += k as u64;
        }
        assert!(checked > 100_000_000, "{checked}");
    }

    fn bits(v: &[f32], k: usize) -> Vec<u32> {
        let mut x: Vec<u32> = v.iter().map(|f| f.to_bits()).collect();
        x.resize(k, 0);
        x
    }

    fn values(e: Elem, b: &MxBlock) -> Vec<f64> {
        b.codes
            .iter()
            .map(|&c| e.decode(c).unwrap() as f64 * 2f64.powi(e.lsb_exp()))
            .collect()
    }

    #[test]
    fn shapes() {
        let max = |e: Elem| e.max_int() as f64 * 2f64.powi(e.lsb_exp());
        let want = [127.0 / 64.0, 448.0, 57344.0, 28.0, 7.5, 6.0];
        for (e, w) in Elem::ALL.into_iter().zip(want) {
            assert_eq!(max(e), w, "{e:?}");
            assert_eq!(Elem::from_name(e.name()), Some(e));
            // Every code decodes and encodes back (zero and NaNs aside).
            for code in 0..1u64 << e.width() {
                let Some(q) = e.decode(code) else { continue };
                if q == 0 || (e == Elem::Int8 && q == -128) {
                    continue;
                }
                assert_eq!(e.encode(q < 0, q.unsigned_abs()), code, "{e:?} {code:#x}");
            }
            assert!(e.int_bits() >= 65 - e.max_int().leading_zeros());
        }
        assert_eq!(Elem::E4m3.decode(0x7f), None);
        assert_eq!(Elem::E4m3.decode(0x7e), Some(448 << 9));
        assert_eq!(Elem::E5m2.decode(0x7c), None);
        assert_eq!(Elem::E2m1.decode(0b0001), Some(1)); // 0.5, the one subnormal
    }

    /// The worked cases of docs/mx.md.
    #[test]
    fn worked_cases() {
        let x = bits(&[1.0, 0.3, -2.6, 5.9, 0.25, 0.75, 2.5], 32);
        let b = quantize(Elem::E2m1, &x, MxRounding::Rne, &[], 0);
        assert_eq!(b.scale, 127);
        assert_eq!(
            values(Elem::E2m1, &b)[..7],
            [1.0, 0.5, -3.0, 6.0, 0.0, 1.0, 2.0]
        );
        let b = quantize(Elem::E2m1, &x, MxRounding::Away, &[], 0);
        assert_eq!(
            values(Elem::E2m1, &b)[..7],
            [1.0, 0.5, -3.0, 6.0, 0.5, 1.0, 3.0]
        );

        let b = quantize(Elem::Int8, &bits(&[1.0, 0.3], 32), MxRounding::Rne, &[], 0);
        assert_eq!((b.scale, b.codes[0], b.codes[1]), (127, 64, 19));

        let b = quantize(
            Elem::E5m2,
            &bits(&[127.9999, 1.0], 32),
            MxRounding::Rne,
            &[],
            0,
        );
        assert_eq!(b.scale, 118);
        let v = values(Elem::E5m2, &b);
        assert_eq!((v[0], v[1]), (57344.0, 512.0));
        let back = |c| f32::from_bits(dequantize(Elem::E5m2, b.scale, c).unwrap().bits as u32);
        assert_eq!((back(b.codes[0]), back(b.codes[1])), (112.0, 1.0));

        let a = quantize(
            Elem::E2m1,
            &bits(&[1.0, 0.3, -2.6, 5.9], 4),
            MxRounding::Rne,
            &[],
            0,
        );
        let b = quantize(
            Elem::E2m1,
            &bits(&[0.5, -1.0, 1.0, 0.24], 4),
            MxRounding::Rne,
            &[],
            0,
        );
        assert_eq!((a.scale, b.scale), (127, 125));
        assert_eq!(values(Elem::E2m1, &b), [2.0, -4.0, 4.0, 1.0]);
        let d = dot(Elem::E2m1, a.scale, &a.codes, Elem::E2m1, b.scale, &b.codes).unwrap();
        assert_eq!(d.to_f64(), -1.5);
    }

    #[test]
    fn special_blocks() {
        let b = quantize(Elem::E4m3, &[0, 1, 0x8000_0000], MxRounding::Rne, &[], 0);
        assert_eq!((b.scale, b.codes.clone()), (0, vec![0, 0, 0]));
        for bad in [0x7f80_0000, 0xff80_0000, 0x7fc0_0001] {
            let b = quantize(
                Elem::E4m3,
                &[1.0f32.to_bits(), bad],
                MxRounding::Rne,
                &[],
                0,
            );
            assert_eq!((b.scale, b.codes.clone()), (SCALE_NAN, vec![0, 0]));
            assert_eq!(dequantize(Elem::E4m3, b.scale, 0), None);
        }
        // The scale clamps at -127: the smallest normal binary32 in E2M1 lands on
        // 2^-126 / 2^-127 = 2.
        let b = quantize(Elem::E2m1, &[0x0080_0000], MxRounding::Rne, &[], 0);
        assert_eq!((b.scale, values(Elem::E2m1, &b)[0]), (0, 2.0));
        // and at +127: f32::MAX in INT8 would want X = 127 exactly.
        let b = quantize(Elem::Int8, &[f32::MAX.to_bits()], MxRounding::Rne, &[], 0);
        assert_eq!((b.scale, b.codes[0]), (254, 127));
        // Ties: 2.5 in E2M1 (X = 0 from 5.9 beside it) is between 2 and 3.
        let x = bits(&[5.9, 2.5, -2.5, 0.25, 0.75], 5);
        let b = quantize(Elem::E2m1, &x, MxRounding::Rne, &[], 0);
        assert_eq!(values(Elem::E2m1, &b)[1..], [2.0, -2.0, 0.0, 1.0]);
        // SR with all-ones random bits rounds every inexact magnitude up, zeros down.
        let b = quantize(Elem::E2m1, &x, MxRounding::Sr, &[0xff; 5], 8);
        assert_eq!(values(Elem::E2m1, &b), [6.0, 3.0, -3.0, 0.5, 1.0]);
        let b = quantize(Elem::E2m1, &x, MxRounding::Sr, &[0; 5], 8);
        assert_eq!(values(Elem::E2m1, &b), [4.0, 2.0, -2.0, 0.0, 0.5]);
    }
}
