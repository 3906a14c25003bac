//! Small floating-point formats without subnormals, NaN or infinity (docs/fpacc.md and
//! docs/bfp.md): the accumulators of `fpacc` and `bfp_dot` and the conversions into
//! them.
//!
//! A format has `exp_bits` exponent bits with a `bias`, and `man_bits` stored mantissa
//! bits; bits are `sign | biased exponent | mantissa`. Exponent field 0 is zero (no
//! subnormals). Whether the all-ones exponent field holds finite values is a property of
//! the format: the narrow formats of docs/fpacc.md use it (E4M7 with bias 10 reaches
//! 63.75, as its worked case needs), while [`FloatFormat::BINARY32`] keeps it reserved
//! so that its bits are valid IEEE binary32 encodings.
//!
//! Rounding ([`FloatFormat::round`]) takes an exact value, rounds it to the format's
//! precision as if the exponent were unbounded, then checks the range: above the largest
//! finite value it saturates there and reports overflow; below the smallest normal
//! `2^(1 - bias)` it becomes zero and reports underflow. Zero is always `+0`.

use serde::{Deserialize, Serialize};

/// How a value is rounded to fewer bits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Rounding {
    /// Round to nearest, ties to even.
    Rne,
    /// Round toward zero (truncate the magnitude).
    Rz,
}

impl Rounding {
    /// The mode as the docs and the Verilog comments write it: `RNE` or `RZ`.
    pub fn name(self) -> &'static str {
        match self {
            Rounding::Rne => "RNE",
            Rounding::Rz => "RZ",
        }
    }
}

/// Stochastic rounding's rule, the one every stochastic unit uses (`bfp_quant`,
/// `bfp_add`, `mx_quant`, `fpacc --rounding sr`; docs/bfp.md): a magnitude whose low
/// `drop` bits `rest` are discarded rounds away from zero iff the top `rnd_bits` bits of
/// the discarded fraction (`rest / 2^drop`, truncated to `rnd_bits` bits), plus the random
/// word `rnd` (`rnd_bits` bits), reach `2^rnd_bits`. Bits of the fraction below its top
/// `rnd_bits` never count. For a uniform `rnd` the probability of rounding up is the
/// truncated fraction, so the expected result is the value truncated to `rnd_bits` more
/// bits. `rest < 2^drop` and `drop <= 127` are the caller's.
pub fn sr_round_up(rest: u128, drop: u32, rnd: u64, rnd_bits: u32) -> bool {
    let top = if drop >= rnd_bits {
        rest >> (drop - rnd_bits)
    } else {
        rest << (rnd_bits - drop) // below 2^rnd_bits: exact
    };
    top + u128::from(rnd) >= 1u128 << rnd_bits
}

/// How one rounding decides: a deterministic mode, or stochastic rounding
/// ([`sr_round_up`]) with its random word `rnd` of `bits` bits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RoundWith {
    Mode(Rounding),
    Sr { rnd: u64, bits: u32 },
}

/// An exact value `(-1)^neg * sig * 2^exp`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Exact {
    pub neg: bool,
    pub sig: u128,
    pub exp: i32,
}

impl Exact {
    pub const ZERO: Exact = Exact {
        neg: false,
        sig: 0,
        exp: 0,
    };

    /// `value * 2^exp` for a signed integer `value`.
    pub fn from_int(value: i128, exp: i32) -> Exact {
        Exact {
            neg: value < 0,
            sig: value.unsigned_abs(),
            exp,
        }
    }

    /// The exact sum of two values whose significands have at most 64 bits (every
    /// operand here: format values and exact integer products). Bits more than 100
    /// places below the larger operand's leading bit are kept only as a sticky bit,
    /// which decides every rounding here exactly as the full sum would.
    pub fn sum(a: Exact, b: Exact) -> Exact {
        if a.sig == 0 {
            return b;
        }
        if b.sig == 0 {
            return a;
        }
        // Order by the position of the most significant bit.
        let top = |x: &Exact| x.exp + 127 - x.sig.leading_zeros() as i32;
        let (hi, lo) = if top(&a) >= top(&b) { (a, b) } else { (b, a) };
        // Bring both to a common exponent, keeping at most 100 bits below hi's top bit;
        // anything further down only matters as a sticky bit of its sign, which is enough
        // for every rounding mode here.
        let floor = top(&hi) - 100;
        let hi = Self::rescale(hi, floor);
        let lo = Self::rescale(lo, floor);
        let e = hi.exp.min(lo.exp);
        let (hs, ls) = (hi.sig << (hi.exp - e), lo.sig << (lo.exp - e));
        let signed = |neg: bool, s: u128| if neg { -(s as i128) } else { s as i128 };
        Exact::from_int(signed(hi.neg, hs) + signed(lo.neg, ls), e)
    }

    /// The same value with exponent at least `floor`, the dropped bits folded into a
    /// sticky least significant bit.
    fn rescale(x: Exact, floor: i32) -> Exact {
        if x.exp >= floor {
            return x;
        }
        let shift = (floor - x.exp) as u32;
        let (kept, lost) = if shift >= 128 {
            (0, x.sig != 0)
        } else {
            (x.sig >> shift, x.sig & ((1u128 << shift) - 1) != 0)
        };
        // Sticky: one extra bit position below the kept bits.
        Exact {
            neg: x.neg,
            sig: (kept << 1) | lost as u128,
            exp: floor - 1,
        }
    }

    /// The value as `f64` (exact for the sizes the tests use).
    pub fn to_f64(self) -> f64 {
        let v = self.sig as f64 * 2f64.powi(self.exp);
        if self.neg {
            -v
        } else {
            v
        }
    }
}

/// A rounded value and what happened on the way.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Rounded {
    /// `sign | biased exponent | mantissa`.
    pub bits: u64,
    /// The value was nonzero and flushed to zero.
    pub underflow: bool,
    /// The value was saturated to the largest finite magnitude.
    pub overflow: bool,
}

/// A floating-point format without subnormals (see the module docs).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct FloatFormat {
    pub exp_bits: u32,
    pub man_bits: u32,
    pub bias: i32,
    /// The all-ones exponent field is reserved (as in IEEE 754) rather than finite.
    pub reserve_top_exponent: bool,
}

impl FloatFormat {
    /// IEEE binary32 without subnormals: bits are valid binary32 encodings.
    pub const BINARY32: FloatFormat = FloatFormat {
        exp_bits: 8,
        man_bits: 23,
        bias: 127,
        reserve_top_exponent: true,
    };

    /// `E`exp`M`man with `bias` and every exponent field finite (no reserved top field).
    pub const fn finite(exp_bits: u32, man_bits: u32, bias: i32) -> FloatFormat {
        FloatFormat {
            exp_bits,
            man_bits,
            bias,
            reserve_top_exponent: false,
        }
    }

    /// Total width in bits.
    pub fn width(&self) -> u32 {
        1 + self.exp_bits + self.man_bits
    }

    /// Largest usable biased exponent field.
    pub fn max_field(&self) -> i32 {
        (1 << self.exp_bits) - 1 - self.reserve_top_exponent as i32
    }

    /// Unbiased exponent of the smallest normal value.
    pub fn min_exp(&self) -> i32 {
        1 - self.bias
    }

    /// Unbiased exponent of the largest finite value.
    pub fn max_exp(&self) -> i32 {
        self.max_field() - self.bias
    }

    fn pack(&self, neg: bool, field: i32, man: u64) -> u64 {
        ((neg as u64) << (self.exp_bits + self.man_bits)) | ((field as u64) << self.man_bits) | man
    }

    /// The largest finite magnitude, with sign `neg`.
    pub fn max_finite(&self, neg: bool) -> u64 {
        self.pack(neg, self.max_field(), (1u64 << self.man_bits) - 1)
    }

    /// The exact value of `bits`.
    pub fn decode(&self, bits: u64) -> Exact {
        let neg = (bits >> (self.exp_bits + self.man_bits)) & 1 == 1;
        let field = ((bits >> self.man_bits) & ((1 << self.exp_bits) - 1)) as i32;
        if field == 0 {
            return Exact::ZERO;
        }
        let man = bits & ((1u64 << self.man_bits) - 1);
        Exact {
            neg,
            sig: u128::from(man | (1u64 << self.man_bits)),
            exp: field - self.bias - self.man_bits as i32,
        }
    }

    /// Round an exact value into this format (see the module docs).
    pub fn round(&self, x: Exact, mode: Rounding) -> Rounded {
        self.round_with(x, RoundWith::Mode(mode))
    }

    /// [`FloatFormat::round`] with a mode or with stochastic rounding: the magnitude is
    /// rounded to the format's precision by [`sr_round_up`] (as if the exponent were
    /// unbounded), then the same range checks apply.
    pub fn round_with(&self, x: Exact, how: RoundWith) -> Rounded {
        let plain = |bits| Rounded {
            bits,
            underflow: false,
            overflow: false,
        };
        if x.sig == 0 {
            return plain(0);
        }
        let top = 127 - x.sig.leading_zeros() as i32; // position of the leading one
        let drop = top - self.man_bits as i32;
        // `top <= 127`, so fewer than 128 bits are ever dropped.
        let mut sig = if drop <= 0 {
            x.sig << (-drop) as u32
        } else {
            let kept = x.sig >> drop;
            let rest = x.sig & ((1u128 << drop) - 1);
            let half = 1u128 << (drop - 1);
            let up = match how {
                RoundWith::Mode(Rounding::Rz) => false,
                RoundWith::Mode(Rounding::Rne) => rest > half || (rest == half && kept & 1 == 1),
                RoundWith::Sr { rnd, bits } => sr_round_up(rest, drop as u32, rnd, bits),
            };
            kept + up as u128
        };
        let mut exp = x.exp + top; // unbiased exponent of the leading one
        if sig >> (self.man_bits + 1) != 0 {
            sig >>= 1; // rounding carried into a new leading bit
            exp += 1;
        }
        if exp > self.max_exp() {
            return Rounded {
                bits: self.max_finite(x.neg),
                underflow: false,
                overflow: true,
            };
        }
        if exp < self.min_exp() {
            return Rounded {
                bits: 0,
                underflow: true,
                overflow: false,
            };
        }
        let man = (sig as u64) & ((1u64 << self.man_bits) - 1);
        plain(self.pack(x.neg, exp + self.bias, man))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const ACC12: FloatFormat = FloatFormat {
        exp_bits: 4,
        man_bits: 7,
        bias: 10,
        reserve_top_exponent: false,
    };

    /// Exact decomposition of a normal f64.
    fn val(x: f64) -> Exact {
        let bits = x.to_bits();
        let field = ((bits >> 52) & 0x7ff) as i32;
        let man = bits & ((1 << 52) - 1);
        Exact {
            neg: x < 0.0,
            sig: u128::from(man | (1 << 52)),
            exp: field - 1075,
        }
    }

    fn add(f: &FloatFormat, a: u64, b: u64, mode: Rounding) -> Rounded {
        f.round(Exact::sum(f.decode(a), f.decode(b)), mode)
    }

    #[test]
    fn spec_worked_cases_acc12() {
        let f = ACC12;
        let one = f.round(val(1.0), Rounding::Rne);
        let tiny = f.round(val(2f64.powi(-8)), Rounding::Rne);
        assert!(!tiny.underflow);
        // 1.0 + 2^-8, 256 times without chunks: each add is a tie and stays even.
        let mut acc = one.bits;
        for _ in 0..256 {
            acc = add(&f, acc, tiny.bits, Rounding::Rne).bits;
        }
        assert_eq!(f.decode(acc).to_f64(), 1.0);
        // With chunks of 16: 16 * 2^-8 = 2^-4 per chunk, 16 chunks add 1.0.
        let mut outer = one.bits;
        for _ in 0..16 {
            let mut inner = 0;
            for _ in 0..16 {
                inner = add(&f, inner, tiny.bits, Rounding::Rne).bits;
            }
            outer = add(&f, outer, inner, Rounding::Rne).bits;
        }
        assert_eq!(f.decode(outer).to_f64(), 2.0);
        // 63.75 + 1 saturates at 63.75, the largest finite value.
        let big = f.round(val(63.75), Rounding::Rne);
        assert_eq!((big.bits, big.overflow), (f.max_finite(false), false));
        let r = add(&f, big.bits, one.bits, Rounding::Rne);
        assert_eq!((f.decode(r.bits).to_f64(), r.overflow), (63.75, true));
        // 2^-10 alone flushes to zero.
        let r = f.round(val(2f64.powi(-10)), Rounding::Rne);
        assert_eq!((r.bits, r.underflow), (0, true));
    }

    #[test]
    fn binary32_limits() {
        let f = FloatFormat::BINARY32;
        assert_eq!(f.max_finite(false), f32::MAX.to_bits() as u64);
        let r = add(
            &f,
            f32::MAX.to_bits() as u64,
            f32::MAX.to_bits() as u64,
            Rounding::Rne,
        );
        assert_eq!((r.bits, r.overflow), (f32::MAX.to_bits() as u64, true));
        let r = f.round(val(f64::from(f32::MIN_POSITIVE) / 2.0), Rounding::Rne);
        assert_eq!((r.bits, r.underflow), (0, true));
        // Cancellation gives +0.
        assert_eq!(
            add(
                &f,
                1.5f32.to_bits() as u64,
                (-1.5f32).to_bits() as u64,
                Rounding::Rne
            )
            .bits,
            0
        );
    }

    fn normal_f32() -> impl Strategy<Value = f32> {
        (any::<bool>(), -60i32..60, 0u32..(1 << 23)).prop_map(|(neg, e, m)| {
            let v = f32::from_bits(((e + 127) as u32) << 23 | m);
            if neg {
                -v
            } else {
                v
            }
        })
    }

    proptest! {
        /// In the normal range, binary32 addition with RNE is IEEE addition.
        #[test]
        fn binary32_add_matches_f32(a in normal_f32(), b in normal_f32()) {
            let f = FloatFormat::BINARY32;
            let r = add(&f, a.to_bits() as u64, b.to_bits() as u64, Rounding::Rne);
            let want = a + b;
            prop_assume!(want == 0.0 || want.abs() >= f32::MIN_POSITIVE);
            let want = if want == 0.0 { 0.0f32 } else { want };
            prop_assert_eq!(r.bits as u32, want.to_bits(), "{} + {}", a, b);
        }

        /// Rounding an integer times a power of two into binary32 is Rust's conversion.
        #[test]
        fn binary32_from_int_matches_f32(v in -(1i64 << 40)..(1i64 << 40), e in -40i32..40) {
            let f = FloatFormat::BINARY32;
            let r = f.round(Exact::from_int(v.into(), e), Rounding::Rne);
            let want = (v as f64 * 2f64.powi(e)) as f32; // f64 is exact here; one rounding to f32
            prop_assert_eq!(r.bits as u32, want.to_bits());
        }

        /// Toward zero never increases the magnitude and stays within one ulp.
        #[test]
        fn rz_truncates(v in 1i64..(1i64 << 50), e in -30i32..30) {
            let f = FloatFormat::BINARY32;
            let rz = f.decode(f.round(Exact::from_int(v.into(), e), Rounding::Rz).bits).to_f64();
            let exact = v as f64 * 2f64.powi(e);
            prop_assert!(rz <= exact && exact - rz < rz * 2f64.powi(-22));
        }
    }
}
