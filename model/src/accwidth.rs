//! Integer accumulator sizing (docs/mac.md; `gen accwidth`): how wide must the
//! accumulator of a dot product be so that it can never overflow?
//!
//! Two answers, both exact integer arithmetic:
//! - for a dot product of length K with N-bit activations and M-bit weights (signed, or
//!   unsigned for mixed operands, [`worst_case_k_mixed`]), the worst case over all
//!   activations and weights;
//! - for a given weight vector, the worst case over all activations.
//!
//! Every operand range contains zero, so each product's extremes have opposite signs (or
//! are zero) and no partial sum of a dot product leaves the range of the full sum's
//! extremes: the width that holds the final worst case holds every step, in any order.
//! The narrowest accumulator reported is never below [`MIN_ACC_BITS`], the narrowest the
//! MAC generator builds: an all-zero weight vector, whose sums are all 0, gets that width.
//!
//! Beside the exact figures, the bounds of A2Q (Colbert et al., "A2Q: Accumulator-Aware
//! Quantization with Guaranteed Overflow Avoidance", ICCV 2023), with `s = 1` for signed
//! activations and 0 for unsigned ones, evaluated exactly (no floating point):
//! - the data-type bound `P >= alpha + phi(alpha) + 1` with
//!   `alpha = log2(K) + N + M - 1 - s` and `phi(alpha) = log2(1 + 2^-alpha)`. With
//!   `T = 2^alpha = K * 2^(N+M-1-s)`, an integer, the bound is `P >= 1 + log2(T + 1)`, so
//!   the narrowest width that meets it is `P = 1 + ceil_log2(T + 1)`: the least P with
//!   `2^(P-1) >= T + 1` ([`a2q_width_bound`], big integers). It is never below the exact
//!   minimum: with signed activations the largest sum is `K * 2^(N-1) * 2^(M-1) = T`
//!   (both operands at their minimum), which needs `2^(P-1) - 1 >= T`, so the bound is
//!   the exact minimum; with unsigned ones no sum exceeds `K * (2^N - 1) * 2^(M-1) < T`
//!   in magnitude.
//! - the weight bound `||w||_1 <= (2^(P-1) - 1) * 2^(s - N)` that A2Q trains the weights
//!   to meet, a dyadic rational kept as numerator `2^(P-1) - 1` over `2^(N-s)`
//!   ([`a2q_l1_bound`]); it prints as an exact decimal and compares with an integer L1
//!   norm by cross-multiplication. Any weights within it never overflow P bits, since
//!   `|x| <= 2^(N-s)`.
//!
//! Mixed operands (`gen mac --in-a M --in-b N`, weights `a`, activations `b`): the exact
//! worst cases take each operand's own signedness. A2Q states its bounds for signed
//! weights; for unsigned M-bit weights the data-type bound here is the same argument
//! with the weights' magnitude bound `2^M` in place of `2^(M-1)`: `T = K * 2^(N+M-s-t)`
//! with `t = 1` for signed weights and 0 for unsigned ones ([`a2q_width_bound_mixed`]),
//! an upper bound (not the exact minimum, since `2^M - 1 < 2^M`). The weight bound is on
//! `||w||_1` times the activations' magnitude bound, so it is the activation side's
//! alone and holds for weights of either signedness unchanged.

use num_bigint::BigUint;

/// The narrowest accumulator the tool reports and the MAC generator builds.
pub const MIN_ACC_BITS: u32 = *crate::mac::ACC_BITS.start();

/// The value range of an integer operand.
pub fn operand_range(bits: u32, signed: bool) -> (i128, i128) {
    (
        crate::int::min_value(bits, signed),
        crate::int::max_value(bits, signed),
    )
}

/// The extremes a dot product's sum can take.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Worst {
    pub min: i128,
    pub max: i128,
}

impl Worst {
    /// The fewest bits of a two's-complement register that hold both extremes (1 for a
    /// sum that is always 0; at most 128).
    pub fn signed_width(&self) -> u32 {
        // x >= 0 needs its bits plus a sign bit; x < 0 needs the bits of !x = -x - 1 plus
        // a sign bit.
        let width = |x: i128| 129 - if x >= 0 { x } else { !x }.leading_zeros();
        width(self.min).max(width(self.max))
    }

    /// The narrowest accumulator that cannot overflow: [`Worst::signed_width`], and never
    /// below [`MIN_ACC_BITS`].
    pub fn accumulator_width(&self) -> u32 {
        self.signed_width().max(MIN_ACC_BITS)
    }

    /// The narrowest unsigned accumulator that cannot overflow, for sums that are never
    /// negative (both operands unsigned, where `gen mac` builds an unsigned
    /// accumulator); never below [`MIN_ACC_BITS`]. `None` when a sum can be negative.
    pub fn unsigned_accumulator_width(&self) -> Option<u32> {
        (self.min >= 0).then(|| (128 - self.max.leading_zeros()).max(MIN_ACC_BITS))
    }
}

/// Extremes of `w * x` over `x` in `[x_lo, x_hi]` (a range containing zero); `None` on
/// `i128` overflow.
fn product_extremes(w: i128, (x_lo, x_hi): (i128, i128)) -> Option<(i128, i128)> {
    let (a, b) = (w.checked_mul(x_lo)?, w.checked_mul(x_hi)?);
    Some((a.min(b), a.max(b)))
}

/// Worst case of a length-`k` dot product of `act_bits`-bit activations (signed or
/// not) and `weight_bits`-bit signed weights (widths 2..=32), over all activations and
/// weights.
pub fn worst_case_k(k: u64, act_bits: u32, act_signed: bool, weight_bits: u32) -> Worst {
    worst_case_k_mixed(k, act_bits, act_signed, weight_bits, true)
}

/// [`worst_case_k`] with weights of either signedness (mixed operands).
pub fn worst_case_k_mixed(
    k: u64,
    act_bits: u32,
    act_signed: bool,
    weight_bits: u32,
    weight_signed: bool,
) -> Worst {
    let x = operand_range(act_bits, act_signed);
    let (w_lo, w_hi) = operand_range(weight_bits, weight_signed);
    // With widths up to 32, |product| <= 2^63 and K < 2^64: every sum fits i128.
    let (lo1, hi1) = product_extremes(w_lo, x).expect("32x32-bit product fits i128");
    let (lo2, hi2) = product_extremes(w_hi, x).expect("32x32-bit product fits i128");
    let k = i128::from(k);
    Worst {
        min: k
            .checked_mul(lo1.min(lo2))
            .expect("K * 2^63 fits i128 for widths up to 32"),
        max: k
            .checked_mul(hi1.max(hi2))
            .expect("K * 2^63 fits i128 for widths up to 32"),
    }
}

/// Worst case of the dot product of `weights` with any `act_bits`-bit activations;
/// `None` if a sum leaves `i128` (more than 2^30 weights of 64 bits).
pub fn worst_case_weights(weights: &[i64], act_bits: u32, act_signed: bool) -> Option<Worst> {
    let x = operand_range(act_bits, act_signed);
    weights
        .iter()
        .try_fold(Worst { min: 0, max: 0 }, |acc, &w| {
            let (lo, hi) = product_extremes(w.into(), x)?;
            Some(Worst {
                min: acc.min.checked_add(lo)?,
                max: acc.max.checked_add(hi)?,
            })
        })
}

/// A2Q's data-type bound for a length-`K` dot product, exactly: `P >= 1 + log2(T + 1)`
/// with `T = 2^alpha = K * 2^shift`, `shift = N + M - 1 - s`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct A2qWidth {
    pub k: u64,
    pub shift: u32,
    /// The narrowest width that meets the bound, `1 + ceil_log2(T + 1)`.
    pub bits: u64,
}

/// The least `e` with `2^e >= x`, for `x >= 1`.
pub fn ceil_log2(x: &BigUint) -> u64 {
    assert!(*x >= BigUint::from(1u32), "ceil_log2 of 0");
    (x - 1u32).bits()
}

/// A2Q's data-type bound on the accumulator width of a length-`k` dot product (see the
/// module docs), in big integers.
pub fn a2q_width_bound(k: u64, act_bits: u32, act_signed: bool, weight_bits: u32) -> A2qWidth {
    a2q_width_bound_mixed(k, act_bits, act_signed, weight_bits, true)
}

/// [`a2q_width_bound`] extended to weights of either signedness (see the module docs):
/// `shift = N + M - s - t`, `t = 1` for signed weights.
pub fn a2q_width_bound_mixed(
    k: u64,
    act_bits: u32,
    act_signed: bool,
    weight_bits: u32,
    weight_signed: bool,
) -> A2qWidth {
    let shift = act_bits + weight_bits - u32::from(act_signed) - u32::from(weight_signed);
    let t = BigUint::from(k) << shift;
    A2qWidth {
        k,
        shift,
        bits: 1 + ceil_log2(&(t + 1u32)),
    }
}

/// A2Q's bound on the weights' L1 norm for a `P`-bit signed accumulator and `N`-bit
/// activations: `||w||_1 <= numerator / 2^shift` with `numerator = 2^(P-1) - 1` and
/// `shift = N - s`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct A2qL1 {
    pub acc_bits: u32,
    pub numerator: BigUint,
    pub shift: u32,
}

impl A2qL1 {
    /// True when an L1 norm meets the bound: `norm * 2^shift <= numerator`.
    pub fn admits(&self, norm: &BigUint) -> bool {
        (norm << self.shift) <= self.numerator
    }

    /// The largest integer norm that meets the bound.
    pub fn floor(&self) -> BigUint {
        &self.numerator >> self.shift
    }

    /// The bound as an exact decimal (a dyadic rational has a finite expansion: the
    /// fraction `f / 2^shift` is `f * 5^shift / 10^shift`), trailing zeros dropped.
    pub fn decimal(&self) -> String {
        let whole = self.floor();
        let frac = &self.numerator - (&whole << self.shift);
        if frac == BigUint::from(0u32) {
            return whole.to_string();
        }
        let digits = (frac * BigUint::from(5u32).pow(self.shift)).to_string();
        let padded = format!("{digits:0>width$}", width = self.shift as usize);
        format!("{whole}.{}", padded.trim_end_matches('0'))
    }
}

/// A2Q's bound on the weights' L1 norm for a `acc_bits`-bit signed accumulator.
pub fn a2q_l1_bound(acc_bits: u32, act_bits: u32, act_signed: bool) -> A2qL1 {
    A2qL1 {
        acc_bits,
        numerator: (BigUint::from(1u32) << (acc_bits - 1)) - 1u32,
        shift: act_bits - u32::from(act_signed),
    }
}

/// The L1 norm of a weight vector, exactly.
pub fn l1_norm(weights: &[i64]) -> BigUint {
    weights
        .iter()
        .map(|w| BigUint::from(w.unsigned_abs()))
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every vector of `k` values in `lo..=hi`.
    fn vectors(k: usize, lo: i128, hi: i128) -> Vec<Vec<i128>> {
        let mut out = vec![vec![]];
        for _ in 0..k {
            out = out
                .into_iter()
                .flat_map(|v| {
                    (lo..=hi).map(move |x| {
                        let mut v = v.clone();
                        v.push(x);
                        v
                    })
                })
                .collect();
        }
        out
    }

    /// Brute force over every weight and activation vector of small shapes: the exact
    /// worst cases are attained and never exceeded, by any partial sum either.
    #[test]
    fn worst_cases_match_brute_force() {
        for k in 1..=3usize {
            for act_bits in 2..=3 {
                for act_signed in [false, true] {
                    for (weight_bits, weight_signed) in
                        [(2, true), (3, true), (2, false), (3, false)]
                    {
                        let (xl, xh) = operand_range(act_bits, act_signed);
                        let (wl, wh) = operand_range(weight_bits, weight_signed);
                        let acts = vectors(k, xl, xh);
                        let mut all = Worst { min: 0, max: 0 };
                        for w in vectors(k, wl, wh) {
                            let w64: Vec<i64> = w.iter().map(|v| *v as i64).collect();
                            let want = worst_case_weights(&w64, act_bits, act_signed).unwrap();
                            let mut seen = Worst { min: 0, max: 0 };
                            for x in &acts {
                                let mut s = 0;
                                for (wi, xi) in w.iter().zip(x) {
                                    s += wi * xi;
                                    assert!(want.min <= s && s <= want.max, "{w:?} {x:?}");
                                }
                                seen.min = seen.min.min(s);
                                seen.max = seen.max.max(s);
                            }
                            assert_eq!(seen, want, "{w:?} {act_bits} {act_signed}");
                            all.min = all.min.min(seen.min);
                            all.max = all.max.max(seen.max);
                        }
                        let k_case = worst_case_k_mixed(
                            k as u64,
                            act_bits,
                            act_signed,
                            weight_bits,
                            weight_signed,
                        );
                        assert_eq!(all, k_case, "k {k} N {act_bits} M {weight_bits}");
                        if weight_signed {
                            let plain = worst_case_k(k as u64, act_bits, act_signed, weight_bits);
                            assert_eq!(plain, k_case);
                        }
                        // A2Q's data-type bound is never below the exact width.
                        let bound = a2q_width_bound_mixed(
                            k as u64,
                            act_bits,
                            act_signed,
                            weight_bits,
                            weight_signed,
                        );
                        assert!(u64::from(k_case.accumulator_width()) <= bound.bits);
                        // Both unsigned: every sum is >= 0, and the unsigned width is
                        // the least that holds the largest.
                        match k_case.unsigned_accumulator_width() {
                            Some(u) => {
                                assert!(!act_signed && !weight_signed);
                                assert!(
                                    all.max < 1 << u
                                        && (u == MIN_ACC_BITS || all.max >= 1 << (u - 1))
                                );
                            }
                            None => assert!(act_signed || weight_signed),
                        }
                    }
                }
            }
        }
    }

    /// The least P whose two's-complement range holds `[lo, hi]`, by scanning P upwards
    /// in big integers (independent of `int::fits`).
    fn scan_width(lo: i128, hi: i128) -> u64 {
        use num_bigint::BigInt;
        (1u64..)
            .find(|&p| {
                let half = BigInt::from(1) << (p - 1);
                -&half <= BigInt::from(lo) && BigInt::from(hi) < half
            })
            .unwrap()
    }

    /// Over a grid of widths up to 32x32 and K up to 2^40: A2Q's data-type bound is its
    /// definition (the least P with 2^(P-1) >= K * 2^(N+M-1-s) + 1, checked against
    /// both neighbours), it is never below the exact minimum, and it is the exact
    /// minimum for signed activations. The exact minimum is checked against a scan.
    #[test]
    fn a2q_width_bound_is_exact_and_an_upper_bound() {
        let widths = [2, 3, 4, 5, 7, 8, 9, 12, 16, 17, 23, 24, 25, 31, 32];
        let ks = [
            1u64,
            2,
            3,
            5,
            255,
            256,
            257,
            1000,
            1024,
            4096,
            (1 << 20) - 1,
            1 << 20,
            (1 << 20) + 1,
            1 << 40,
        ];
        let mut checked = 0;
        for &n in &widths {
            for &m in &widths {
                for signed in [false, true] {
                    for &k in &ks {
                        let worst = worst_case_k(k, n, signed, m);
                        let exact = scan_width(worst.min, worst.max);
                        assert_eq!(u64::from(worst.signed_width()), exact);
                        let b = a2q_width_bound(k, n, signed, m);
                        let t1 = (BigUint::from(k) << (n + m - 1 - u32::from(signed))) + 1u32;
                        let one = BigUint::from(1u32);
                        assert!((&one << (b.bits - 1)) >= t1, "{k} {n} {m} {signed}");
                        assert!((&one << (b.bits - 2)) < t1, "{k} {n} {m} {signed}");
                        assert!(b.bits >= exact, "{k} {n} {m} {signed}");
                        if signed {
                            assert_eq!(b.bits, exact, "{k} {n} {m}");
                        }
                        checked += 1;
                    }
                }
            }
        }
        assert_eq!(checked, 15 * 15 * 2 * 14);
        // Unsigned weights: the bound with their magnitude 2^M, never below the exact
        // width.
        for &n in &widths {
            for &m in &widths {
                for signed in [false, true] {
                    for &k in &ks {
                        let worst = worst_case_k_mixed(k, n, signed, m, false);
                        let exact = scan_width(worst.min, worst.max);
                        assert_eq!(u64::from(worst.signed_width()), exact);
                        let b = a2q_width_bound_mixed(k, n, signed, m, false);
                        let t1 = (BigUint::from(k) << (n + m - u32::from(signed))) + 1u32;
                        let one = BigUint::from(1u32);
                        assert!((&one << (b.bits - 1)) >= t1, "{k} {n} {m} {signed}");
                        assert!((&one << (b.bits - 2)) < t1, "{k} {n} {m} {signed}");
                        assert!(b.bits >= exact, "{k} {n} {m} {signed}");
                    }
                }
            }
        }
        // The case: f64 gave 57 (1 + 2^-56 rounds to 1).
        assert_eq!(a2q_width_bound(1024, 24, true, 24).bits, 58);
        assert_eq!(worst_case_k(1024, 24, true, 24).signed_width(), 58);
    }

    #[test]
    fn ceil_log2_is_the_least_power() {
        for x in 1u32..=70000 {
            let e = ceil_log2(&BigUint::from(x));
            assert!(1u64 << e >= u64::from(x) && (e == 0 || 1u64 << (e - 1) < u64::from(x)));
        }
    }

    /// Weights within A2Q's L1 bound never overflow the accumulator (brute force over
    /// activations); for signed activations the largest admitted integer norm plus one
    /// can.
    #[test]
    fn a2q_l1_bound_holds() {
        for (acc_bits, act_bits, act_signed) in [(6, 3, false), (6, 3, true), (8, 4, false)] {
            let bound = a2q_l1_bound(acc_bits, act_bits, act_signed);
            let (xl, xh) = operand_range(act_bits, act_signed);
            for w in vectors(3, -6, 6) {
                let w64: Vec<i64> = w.iter().map(|v| *v as i64).collect();
                if !bound.admits(&l1_norm(&w64)) {
                    continue;
                }
                for x in vectors(3, xl, xh) {
                    let s: i128 = w.iter().zip(&x).map(|(a, b)| a * b).sum();
                    assert!(crate::int::fits(s, acc_bits, true), "{w:?} {x:?}");
                }
            }
        }
        for acc_bits in 2..=64 {
            for act_bits in 2..=32 {
                for signed in [false, true] {
                    let bound = a2q_l1_bound(acc_bits, act_bits, signed);
                    let b = i64::try_from(bound.floor()).unwrap();
                    assert!(bound.admits(&l1_norm(&[b])));
                    assert!(!bound.admits(&l1_norm(&[b + 1])));
                    for w in [b, -b] {
                        let worst = worst_case_weights(&[w], act_bits, signed).unwrap();
                        assert!(worst.signed_width() <= acc_bits, "{acc_bits} {act_bits}");
                    }
                    if signed {
                        let worst = worst_case_weights(&[-(b + 1)], act_bits, signed).unwrap();
                        assert!(worst.signed_width() > acc_bits, "{acc_bits} {act_bits}");
                    }
                }
            }
        }
    }

    #[test]
    fn l1_bound_prints_exactly() {
        assert_eq!(a2q_l1_bound(8, 4, true).decimal(), "15.875");
        assert_eq!(a2q_l1_bound(16, 8, false).decimal(), "127.99609375");
        assert_eq!(a2q_l1_bound(9, 8, true).decimal(), "1.9921875");
        assert_eq!(a2q_l1_bound(8, 2, true).decimal(), "63.5");
        assert_eq!(
            a2q_l1_bound(33, 32, false).decimal(),
            "0.99999999976716935634613037109375"
        );
        assert_eq!(
            a2q_l1_bound(2, 32, false).decimal(),
            "0.00000000023283064365386962890625"
        );
        // Every bound with a short expansion agrees with f64 (exact there).
        for p in 2..=40 {
            for n in 2..=10 {
                let b = a2q_l1_bound(p, n, false);
                let f = ((1u64 << (p - 1)) - 1) as f64 / (1u64 << n) as f64;
                assert_eq!(b.decimal().parse::<f64>().unwrap(), f, "{p} {n}");
            }
        }
    }

    #[test]
    fn familiar_figures() {
        // int8 x int8, K = 1: [-128*127, 128*128] needs 16 bits; K = 4096 adds 12.
        assert_eq!(worst_case_k(1, 8, true, 8).signed_width(), 16);
        assert_eq!(worst_case_k(4096, 8, true, 8).signed_width(), 28);
        // uint8 activations: [0, 255] * [-128, 127] = [-32640, 32385]: 16 bits.
        assert_eq!(worst_case_k(1, 8, false, 8).signed_width(), 16);
        assert_eq!(a2q_l1_bound(16, 8, false).floor(), BigUint::from(127u32));
        // All-zero weights: every sum is 0; the tool's narrowest accumulator.
        let zero = worst_case_weights(&[0, 0, 0], 8, true).unwrap();
        assert_eq!(
            (zero.signed_width(), zero.accumulator_width()),
            (1, MIN_ACC_BITS)
        );
        assert_eq!(MIN_ACC_BITS, 2);
        // The widest registers.
        let widest = Worst {
            min: i128::MIN,
            max: i128::MAX,
        };
        assert_eq!(widest.signed_width(), 128);
        assert_eq!(Worst { min: -1, max: 0 }.signed_width(), 1);
        assert_eq!(Worst { min: 0, max: 1 }.signed_width(), 2);
        assert_eq!(
            Worst {
                min: -(1 << 126),
                max: 1 << 126
            }
            .signed_width(),
            128
        );
        // The widest products: i64::MIN weights against 32-bit activations.
        let w = worst_case_weights(&[i64::MIN; 4], 32, false).unwrap();
        assert_eq!(w.min, 4 * i128::from(i64::MIN) * ((1 << 32) - 1));
    }
}
